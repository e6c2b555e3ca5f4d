FROM busybox
COPY --from=nosuchstage /x /y
