# Independent stages build at once: each waits (10 s at most) for the other's mark in a shared cache mount.
FROM busybox AS a
RUN --mount=type=cache,target=/sync,id=sync touch /sync/a && i=0 && while [ ! -e /sync/b ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done && test -e /sync/b && echo together > /a

FROM busybox AS b
RUN --mount=type=cache,target=/sync,id=sync touch /sync/b && i=0 && while [ ! -e /sync/a ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done && test -e /sync/a && echo together > /b

FROM busybox
COPY --from=a /a /a
COPY --from=b /b /b
