# RUN --network: none (only lo), over the build's --network.
FROM busybox
RUN --network=none ip link | grep -c ': ' > /links
RUN ip link | grep -c ': ' > /links-default
