# docker's ENTRYPOINT/CMD interplay: a new ENTRYPOINT resets the base's CMD; shell form wraps in SHELL.
FROM busybox
SHELL ["/bin/sh", "-c"]
ENTRYPOINT echo entry
