# An image with ONBUILD triggers (they run in a child's build, at its FROM).
FROM busybox
ONBUILD COPY a.txt /onbuild-copied
ONBUILD RUN echo triggered > /onbuild-ran
