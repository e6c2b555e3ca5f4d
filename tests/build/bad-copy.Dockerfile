FROM busybox
COPY missing-file /x
