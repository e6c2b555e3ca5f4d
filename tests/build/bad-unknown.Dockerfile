FROM busybox
RUN true
FROBNICATE now
