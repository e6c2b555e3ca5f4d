# Stages: ARG before FROM, COPY --from by name and by index, --target.
ARG BASE=busybox
ARG GREETING=global
FROM $BASE AS builder
ARG GREETING
RUN mkdir /out && echo "built $GREETING" > /out/artifact && echo extra > /out/extra

FROM builder AS tester
RUN echo tested > /out/tested

FROM scratch AS unused
COPY --from=builder /out/extra /never

FROM busybox
COPY --from=builder /out/artifact /artifact
COPY --from=1 /out/tested /tested
COPY --from=busybox /bin/busybox /bin/busybox-copy
CMD ["cat", "/artifact"]
