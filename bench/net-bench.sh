#!/bin/bash
# net-bench.sh [RUNS] - what hako's networking costs, side by side with
# podman (netavark), in one run (iperf3 from Debian; start-ups timed with
# bash's clock, the commands interleaved round by round):
#
#   hako run --rm --network none busybox true        the baseline
#   hako run --rm --network benchnet busybox true    a user network (warm: it stays up 1 s after
#                                                    its last container, so back-to-back runs find it)
#   ... the same, cold (the network comes up and goes for each run)
#   podman run --rm --network benchnet busybox true  netavark's bridge, the same image
#   hako run --rm -p 8080:80 ... against -p 8080-8089:80-89 (ten ports)
#   TCP through a published port, from a client namespace (iperf3 -c HOST:5201
#   DNATed to a container), against the same transfer over a plain veth
#   pair between two namespaces
#
# Goals (issue 10): a network adds at most 3 ms (median) to --network none;
# hako at least 10x faster than podman; ten ports at most 2 ms more than one;
# throughput through a published port at least 90% of the plain veth's.
#
# Everything runs in a private network and mount namespace (the "host":
# its bridges, rules and sysctls die with it), private /run and /var/lib
# tmpfs, and a temp dir removed at exit; traffic only between namespaces
# made here (198.18.0.0/24). crun refuses this host's hybrid cgroup layout,
# so /sys/fs/cgroup/unified/cgroup.controllers is masked (as hako-bench.sh
# does). Needs root; installs what is missing with apt-get.
set -euo pipefail
RUNS=${1:-30}
here=$(cd "$(dirname "$0")/.." && pwd)
HAKO=${HAKO:-$here/build/hako}
[ "$(id -u)" = 0 ] || { echo "net-bench: run as root" >&2; exit 2; }
[ -x "$HAKO" ] || { echo "net-bench: build first (cmake --build build)" >&2; exit 2; }

if [ -z "${HAKO_BENCH_INNER:-}" ]; then
    missing=()
    for p in bc iperf3 podman crun conmon netavark aardvark-dns iptables busybox-static iproute2; do
        dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    exec env HAKO_BENCH_INNER=1 unshare --mount --net --propagation private -- bash "$0" "$@"
fi

W=$(mktemp -d /tmp/hako-net-bench.XXXXXX)
cleanup() {
    set +e
    [ -f "$W/srv.pid" ] && kill "$(cat "$W/srv.pid")" 2>/dev/null
    "$HAKO" --root "$W/hako" ps -a -q 2>/dev/null | xargs -r "$HAKO" --root "$W/hako" rm -f >/dev/null 2>&1
    [ -n "${CONTAINERS_CONF:-}" ] && podman system reset -f >/dev/null 2>&1
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do ip netns pids "$ns" | xargs -r kill 2>/dev/null; ip netns del "$ns"; done
    findmnt -rn -o TARGET | grep "^$W" | sort -r | xargs -r -n1 umount -l 2>/dev/null
    rm -rf --one-file-system "$W"
}
trap cleanup EXIT
ip link set lo up
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs -o mode=755 tmpfs /var/lib
mkdir -p /run/netns
echo "nameserver 198.18.0.2" > "$W/resolv.conf"  # (no upstream: nothing here resolves outside names)
mount --bind "$W/resolv.conf" /etc/resolv.conf
if [ -f /sys/fs/cgroup/unified/cgroup.controllers ] && [ -n "$(cat /sys/fs/cgroup/unified/cgroup.controllers)" ]; then
    : > "$W/empty"
    mount --bind "$W/empty" /sys/fs/cgroup/unified/cgroup.controllers
fi
export HAKO_RUNROOT=$W/run
H() { "$HAKO" --root "$W/hako" "$@"; }
H run --rm --network none busybox true  # makes the built-in busybox image
H network create --subnet 198.18.10.0/24 benchnet >/dev/null
layer=$(ls -d "$W"/hako/layers/[0-9a-f]*)

# podman: the same tree, imported; netavark's bridge network
. "$here/bench/lib.sh"
podman_env "$W" "" "network_backend = \"netavark\"
network_config_dir = \"$W/podman-networks\""
tar -C "$layer" -cf "$W/busybox.tar" .
podman import --change 'CMD ["/bin/sh"]' "$W/busybox.tar" localhost/busybox:bench >/dev/null 2>&1
podman network create --subnet 198.18.11.0/24 benchnet >/dev/null
podman run --rm --runtime crun --network benchnet localhost/busybox:bench true ||
    { echo "net-bench: podman run with a network fails here" >&2; exit 1; }

# interleave N NAME CMD [NAME CMD...]: each command once per round, round
# after round (so a slower minute of this machine falls on all of them),
# timed with bash's clock; then a table of medians, means and minimums (ms).
interleave() {
    local n=$1; shift
    local -a names=() cmds=()
    while [ $# -gt 0 ]; do names+=("$1"); cmds+=("$2"); shift 2; done
    for ((k = 0; k < ${#cmds[@]}; k++)); do : > "$W/t.$k"; eval "${cmds[$k]}" >/dev/null 2>&1; done  # warm-up
    for ((i = 0; i < n; i++)); do
        for ((k = 0; k < ${#cmds[@]}; k++)); do
            local t0=$EPOCHREALTIME
            eval "${cmds[$k]}" >/dev/null 2>&1 || { echo "net-bench: failed: ${cmds[$k]}" >&2; exit 1; }
            local t1=$EPOCHREALTIME
            echo "(${t1/./} - ${t0/./}) / 1000" | bc -l >> "$W/t.$k"
        done
    done
    echo "| command | median [ms] | mean [ms] | min [ms] |"
    echo "|---|---:|---:|---:|"
    for ((k = 0; k < ${#cmds[@]}; k++)); do
        sort -n "$W/t.$k" | awk -v name="${names[$k]}" '{v[NR]=$1; s+=$1}
            END {m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2;
                 printf "| %s | %.2f | %.2f | %.2f |\n", name, m, s/NR, v[1]; print m > "/dev/stderr"}' 2>"$W/median.$k"
    done
}
med() { cat "$W/median.$1"; }

echo "## start-up with a network - $RUNS rounds (podman: every fourth round)"
interleave "$RUNS" \
    "hako --network none" "$HAKO --root $W/hako run --rm --network none busybox true" \
    "hako --network benchnet" "$HAKO --root $W/hako run --rm --network benchnet busybox true" \
    "hako (the default bridge)" "$HAKO --root $W/hako run --rm busybox true"
none=$(med 0); net=$(med 1)
cp "$W/t.1" "$W/t.hako"
interleave $((RUNS / 4 + 1)) \
    "podman --network benchnet (netavark)" "podman run --rm --runtime crun --network benchnet localhost/busybox:bench true"
pod=$(med 0)
echo
echo "hako --network benchnet adds $(echo "$net - $none" | bc) ms (median) to --network none (goal: <= 3 ms);"
echo "podman (netavark) takes $(echo "scale=1; $pod / $net" | bc)x as long as hako (goal: >= 10x)"

echo
echo "## a cold network (it comes up and goes for each run) - 10 runs"
interleave 10 "hako --network benchnet, cold" "sleep 1.3; $HAKO --root $W/hako run --rm --network benchnet busybox true"
echo "(each includes a 1.3 s sleep, so that the network is down when it starts: subtract 1300)"

echo
echo "## published ports - $RUNS rounds"
interleave "$RUNS" \
    "hako -p 8080:80" "$HAKO --root $W/hako run --rm -p 8080:80 busybox true" \
    "hako -p 8080-8089:80-89 (10 ports)" "$HAKO --root $W/hako run --rm -p 8080-8089:80-89 busybox true"
one=$(med 0); ten=$(med 1)
interleave $((RUNS / 4 + 1)) \
    "podman -p 8080:80" "podman run --rm --runtime crun --network benchnet -p 8080:80 localhost/busybox:bench true" \
    "podman -p 8080-8089:80-89" "podman run --rm --runtime crun --network benchnet -p 8080-8089:80-89 localhost/busybox:bench true"
echo
echo "ten ports cost $(echo "$ten - $one" | bc) ms more than one (goal: <= 2 ms)"

echo
ROUNDS=${HAKO_BENCH_ROUNDS:-8}
echo "## TCP throughput (iperf3): $ROUNDS rounds of 2 s each way, the two paths alternating (medians)"
# The client machine: a namespace on a veth pair with this host.
ip netns add client
ip link add bench-up type veth peer name eth0 netns client
ip addr add 198.18.0.1/24 dev bench-up && ip link set bench-up up
ip netns exec client sh -c 'ip link set lo up; ip addr add 198.18.0.2/24 dev eth0; ip link set eth0 up; ip route add default via 198.18.0.1'
# Through a published port: iperf3 in a container's network namespace.
H run -d --name srv -p 5201:5201 --network benchnet busybox sleep 600 >/dev/null
pid=$(H inspect srv | sed -n 's/.*"Pid": \([0-9]*\).*/\1/p')
nsenter --net=/proc/$pid/ns/net iperf3 -s -D -I "$W/srv.pid"  # (not in the container: killed at exit)
# The same over a plain veth pair between two namespaces.
ip netns add a; ip netns add b
ip link add va netns a type veth peer name vb netns b
ip netns exec a sh -c 'ip link set lo up; ip addr add 198.18.1.1/24 dev va; ip link set va up'
ip netns exec b sh -c 'ip link set lo up; ip addr add 198.18.1.2/24 dev vb; ip link set vb up'
ip netns exec a iperf3 -s -D
sleep 0.5
gbits() { awk '/receiver/ {for (i = 1; i <= NF; i++) if ($i ~ /bits\/sec/) {v = $(i-1); u = $i}}
                END {if (u ~ /^M/) v /= 1000; printf "%.2f\n", v}'; }
: > "$W/published"; : > "$W/plain"; : > "$W/ratio"
for i in $(seq "$ROUNDS"); do
    p=$(ip netns exec client iperf3 -c 198.18.0.1 -t 2 -f g | gbits)
    v=$(ip netns exec b iperf3 -c 198.18.1.1 -t 2 -f g | gbits)
    echo "$p" >> "$W/published"; echo "$v" >> "$W/plain"; echo "$p / $v" | bc -l >> "$W/ratio"
done
# The ceiling of this path: the same hops (client veth, routing, bridge,
# container veth) with no firewall at all, straight to the container's address.
ctr=$(H inspect srv | sed -n 's/.*"IPAddress": "\(198[^"]*\)".*/\1/p' | head -1)
nft list ruleset > "$W/ruleset.nft" && nft flush ruleset
: > "$W/bare"; : > "$W/bare-ratio"
for i in $(seq "$ROUNDS"); do
    p=$(ip netns exec client iperf3 -c "$ctr" -t 2 -f g | gbits)
    v=$(ip netns exec b iperf3 -c 198.18.1.1 -t 2 -f g | gbits)
    echo "$p" >> "$W/bare"; echo "$p / $v" | bc -l >> "$W/bare-ratio"
done
nft -f "$W/ruleset.nft"
median_of() { sort -n "$1" | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
echo "| path | median Gbit/s | each round | median ratio to the plain veth of its round |"
echo "|---|---|---|---|"
echo "| client namespace -> host:5201 (published, DNAT) -> container | $(median_of "$W/published") | $(tr '\n' ' ' < "$W/published")| $(printf '%.2f' "$(median_of "$W/ratio")") |"
echo "| the same hops, no firewall at all (the path's ceiling) | $(median_of "$W/bare") | $(tr '\n' ' ' < "$W/bare")| $(printf '%.2f' "$(median_of "$W/bare-ratio")") |"
echo "| plain veth pair, namespace to namespace | $(median_of "$W/plain") | $(tr '\n' ' ' < "$W/plain")| 1 |"
echo
echo "through a published port: $(echo "100 * $(median_of "$W/ratio")" | bc -l | cut -c1-4)% of the plain veth (goal: >= 90%)"
