#!/bin/bash
# hako-bench.sh [RUNS] - how much `hako` adds to the runtime, and how it
# compares with podman, on one busybox image (hyperfine, from Debian):
#
#   hako run --rm busybox true                       (image store, overlayfs, spec, the default
#                                                    bridge network, run, cleanup)
#   hako run --rm --network none busybox true        (the same without networking)
#   hako-runtime run --bundle B ID                   (the same busybox tree as a prepared bundle)
#   podman run --rm --runtime crun busybox true      (the same tree, `podman import`ed)
#
# and import speed: `hako import` of a ~100 MB gzip layer against `tar -xzf`
# of it. Goals (issue 5): hako <= 1.5x hako-runtime, >= 10x faster than
# podman; import >= 80% of tar's speed.
#
# Everything runs in a private mount and network namespace with private /run and
# /var/lib tmpfs and a temp dir (removed at exit). crun refuses this host's
# hybrid cgroup layout, so /sys/fs/cgroup/unified/cgroup.controllers is
# masked there (as ../shared/clients/podman-smoke.sh does) - for podman only
# in effect; hako runs the same either way. Needs root; installs hyperfine
# and podman with apt-get when missing.
set -euo pipefail
RUNS=${1:-30}
here=$(cd "$(dirname "$0")/.." && pwd)
HAKO=${HAKO:-$here/build/hako}
RUNTIME=${HAKO_RUNTIME:-$here/build/hako-runtime}
[ "$(id -u)" = 0 ] || { echo "hako-bench: run as root" >&2; exit 2; }
[ -x "$HAKO" ] && [ -x "$RUNTIME" ] || { echo "hako-bench: build first (cmake --build build)" >&2; exit 2; }

if [ -z "${HAKO_BENCH_INNER:-}" ]; then
    missing=()
    for p in hyperfine podman crun conmon busybox-static; do
        dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    # (a network namespace too: hako's default bridge, its rules and sysctls stay in it)
    exec env HAKO_BENCH_INNER=1 unshare --mount --net --propagation private -- bash "$0" "$@"
fi

W=$(mktemp -d /tmp/hako-bench.XXXXXX)
cleanup() {
    "$HAKO" --root "$W/hako" ps -a -q 2>/dev/null | xargs -r "$HAKO" --root "$W/hako" rm -f >/dev/null 2>&1 || true
    [ -n "${CONTAINERS_CONF:-}" ] && podman system reset -f >/dev/null 2>&1 || true
    findmnt -rn -o TARGET | grep "^$W" | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf --one-file-system "$W"
}
trap cleanup EXIT
ip link set lo up
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs -o mode=755 tmpfs /var/lib
if [ -f /sys/fs/cgroup/unified/cgroup.controllers ] && [ -n "$(cat /sys/fs/cgroup/unified/cgroup.controllers)" ]; then
    : > "$W/empty"
    mount --bind "$W/empty" /sys/fs/cgroup/unified/cgroup.controllers
fi

H() { "$HAKO" --root "$W/hako" "$@"; }
H run --rm busybox true  # makes the built-in busybox image
layer=$(ls -d "$W"/hako/layers/[0-9a-f]*)

# hako-runtime: the same tree as a bundle
mkdir -p "$W/bundle"
cp -a "$layer" "$W/bundle/rootfs"
(cd "$W/bundle" && "$RUNTIME" spec)
sed -i -e 's/"terminal": true/"terminal": false/' -e 's/"sh"/"true"/' "$W/bundle/config.json"

# podman: the same tree, imported
. "$here/bench/lib.sh"
podman_env "$W" 'netns = "none"'
tar -C "$layer" -cf "$W/busybox.tar" .
podman import --change 'CMD ["/bin/sh"]' "$W/busybox.tar" localhost/busybox:bench >/dev/null 2>&1

podman run --rm --runtime crun --network none localhost/busybox:bench true || { echo "hako-bench: podman run fails here" >&2; exit 1; }
echo "## hako run against hako-runtime and podman (crun) - $RUNS runs each"
hyperfine -N --warmup 3 --runs "$RUNS" --export-markdown "$W/run.md" \
    -n "hako run --rm busybox true" "$HAKO --root $W/hako run --rm busybox true" \
    -n "hako run --rm --network none busybox true" "$HAKO --root $W/hako run --rm --network none busybox true" \
    -n "hako-runtime run (bundle)" "$RUNTIME --root $W/rt run --bundle $W/bundle bench" \
    -n "podman run --rm --runtime crun" "podman run --rm --runtime crun --network none localhost/busybox:bench true" \
    >/dev/null
cat "$W/run.md"

echo
echo "## the daily commands (issue 13) - $RUNS runs each"
# a detached container with a monitor each, ten of them, for ps/inspect
for i in $(seq 10); do H run -d --network none --name "d$i" busybox sleep 600 >/dev/null; done
for i in $(seq 10); do podman run -d --runtime crun --network none --name "d$i" localhost/busybox:bench sleep 600 >/dev/null; done
hyperfine -N --warmup 3 --runs "$RUNS" --export-markdown "$W/daily.md" \
    -n "hako run -d + rm -f" "sh -c '$HAKO --root $W/hako run -d --network none --name x busybox sleep 600 >/dev/null && $HAKO --root $W/hako rm -f x >/dev/null'" \
    -n "podman run -d + rm -f" "sh -c 'podman run -d --runtime crun --network none --name x localhost/busybox:bench sleep 600 >/dev/null && podman rm -f -t 0 x >/dev/null'" \
    -n "hako ps -a --format '{{.Names}} {{.Status}}' (10)" "$HAKO --root $W/hako ps -a --format '{{.Names}} {{.Status}}'" \
    -n "podman ps -a --format '{{.Names}} {{.Status}}' (10)" "podman ps -a --format '{{.Names}} {{.Status}}'" \
    -n "hako inspect -f '{{.State.Status}}' d1" "$HAKO --root $W/hako inspect -f '{{.State.Status}}' d1" \
    -n "podman inspect -f '{{.State.Status}}' d1" "podman inspect -f '{{.State.Status}}' d1" \
    >/dev/null
cat "$W/daily.md"
# what a detached container's watcher costs: hako's monitor against podman's conmon
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hpid=$(H inspect -f '{{.State.Pid}}' d1); hmon=$(awk '/^PPid/ {print $2}' "/proc/$hpid/status")
ppid=$(podman inspect -f '{{.State.Pid}}' d1); pmon=$(awk '/^PPid/ {print $2}' "/proc/$ppid/status")
echo
echo "| watcher of a detached container | RSS (kB) |"
echo "|---|---|"
echo "| hako monitor | $(rss "$hmon") |"
echo "| podman's conmon | $(rss "$pmon") |"
podman rm -f -t 0 $(seq -f 'd%g' 10) >/dev/null 2>&1 || true

echo
echo "## import of a ~100 MB gzip layer"
mkdir -p "$W/big"
head -c 50000000 /dev/urandom > "$W/big/random"
for i in $(seq 25); do cp -a "$layer/bin/busybox" "$W/big/busybox.$i"; done
cp -a "$layer" "$W/big/tree"
tar -C "$W/big" -czf "$W/big.tar.gz" .
echo "layer: $(du -sm "$W/big" | cut -f1) MB of files, $(($(stat -c %s "$W/big.tar.gz") / 1000000)) MB gzip"
hyperfine -N --warmup 1 --runs 5 --export-markdown "$W/import.md" \
    --prepare "sh -c 'rm -rf $W/x $W/imp; mkdir $W/x'" \
    -n "tar -xzf" "tar -C $W/x -xzf $W/big.tar.gz" \
    -n "hako import" "$HAKO --root $W/imp import $W/big.tar.gz big" \
    >/dev/null
cat "$W/import.md"
