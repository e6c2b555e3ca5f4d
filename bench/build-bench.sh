#!/bin/bash
# build-bench.sh [RUNS] - `hako build` against `buildah bud --layers` (Debian's
# buildah, the reference builder; overlay storage, --isolation chroot) on one
# 10-step, two-stage Dockerfile with a 50 MB context (COPY of it, RUN steps,
# COPY --from), from the same busybox base in both stores:
#
#   cold    a fresh store (the base image only): every step built
#   cached  the same build again: every step a cache hit
#
# Each is the median of RUNS (default 5) runs. Goals (issue 14): hako >= 2x
# faster cold and >= 20x faster cached. RUN steps use the host network in
# both (buildah's chroot default; hako --network host), inside a private
# network and mount namespace of the benchmark's own; everything lives in a
# temp dir (removed at exit). Needs root; installs buildah when missing.
set -euo pipefail
RUNS=${1:-5}
here=$(cd "$(dirname "$0")/.." && pwd)
HAKO=${HAKO:-$here/build/hako}
[ "$(id -u)" = 0 ] || { echo "build-bench: run as root" >&2; exit 2; }
[ -x "$HAKO" ] || { echo "build-bench: build first (cmake --build build)" >&2; exit 2; }
if [ -z "${HAKO_BENCH_INNER:-}" ]; then
    command -v buildah >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah >/dev/null
    exec env HAKO_BENCH_INNER=1 unshare --mount --net --propagation private -- bash "$0" "$@"
fi
W=$(mktemp -d /tmp/hako-build-bench.XXXXXX)
bah() { env TMPDIR="$W/tmp" buildah --root "$W/bah" --runroot "$W/bah-run" --storage-driver overlay "$@"; }
cleanup() {
    bah rm -a >/dev/null 2>&1 || true
    bah rmi -a -f >/dev/null 2>&1 || true
    findmnt -rn -o TARGET | grep "^$W" | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf --one-file-system "$W"
}
trap cleanup EXIT
ip link set lo up
mkdir -p "$W/tmp" "$W/ctx/data"

# The context: 50 MB in 200 files of random data, and a small file.
for i in $(seq 1 200); do head -c 262144 /dev/urandom >"$W/ctx/data/f$i.bin"; done
echo small >"$W/ctx/small.txt"
cat >"$W/ctx/Dockerfile" <<'DF'
FROM busybox AS base
ENV APP=/app
WORKDIR /app
COPY data/ /app/data/
RUN find /app/data -type f | wc -l > /app/count
RUN echo built > /app/built && rm -f /bin/vi
FROM busybox
COPY --from=base /app/count /count
COPY small.txt /small.txt
RUN cat /count
CMD ["cat", "/count"]
DF

# The same base in both stores: hako's built-in busybox, saved, pulled by buildah.
H0() { "$HAKO" --root "$W/hako0" "$@"; }
H0 run --rm --network none busybox true
H0 save -o "$W/busybox.tar" busybox
bah pull -q "docker-archive:$W/busybox.tar" >/dev/null
bah tag localhost/busybox docker.io/library/busybox:latest

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
hako_cold=() hako_cached=() bah_cold=() bah_cached=()
for r in $(seq 1 "$RUNS"); do
    # hako: a fresh store with only the base (a copy of hako0's)
    rm -rf "$W/hako"; cp -a "$W/hako0" "$W/hako"
    t0=$(now); "$HAKO" --root "$W/hako" build -q --network host -t bench "$W/ctx" >/dev/null 2>&1; t1=$(now)
    "$HAKO" --root "$W/hako" build -q --network host -t bench "$W/ctx" >/dev/null 2>&1; t2=$(now)
    hako_cold+=("$(echo "$t1 - $t0" | bc)") hako_cached+=("$(echo "$t2 - $t1" | bc)")
    # buildah: its cache emptied (every image but the base removed)
    bah rmi -f bench >/dev/null 2>&1 || true
    bah images -q -a --filter dangling=true | xargs -r env TMPDIR="$W/tmp" buildah --root "$W/bah" --runroot "$W/bah-run" --storage-driver overlay rmi -f >/dev/null 2>&1 || true
    t0=$(now); bah bud -q --isolation chroot --pull=never --layers -t bench "$W/ctx" >/dev/null 2>&1; t1=$(now)
    bah bud -q --isolation chroot --pull=never --layers -t bench "$W/ctx" >/dev/null 2>&1; t2=$(now)
    bah_cold+=("$(echo "$t1 - $t0" | bc)") bah_cached+=("$(echo "$t2 - $t1" | bc)")
done
hc=$(printf '%s\n' "${hako_cold[@]}" | median) hk=$(printf '%s\n' "${hako_cached[@]}" | median)
bc_=$(printf '%s\n' "${bah_cold[@]}" | median) bk=$(printf '%s\n' "${bah_cached[@]}" | median)
# the images are the same: the one RUN that prints, through both
[ "$("$HAKO" --root "$W/hako" run --rm --network none bench)" = 200 ] || { echo "build-bench: hako's image is wrong" >&2; exit 1; }
echo "## hako build vs buildah bud --layers (10 steps, 2 stages, 50 MB context) - median of $RUNS"
echo
echo "| build | hako | buildah | buildah / hako |"
echo "|---|---|---|---|"
printf '| cold | %.3f s | %.3f s | %.1fx |\n' "$hc" "$bc_" "$(echo "$bc_ / $hc" | bc -l)"
printf '| cached | %.3f s | %.3f s | %.1fx |\n' "$hk" "$bk" "$(echo "$bk / $hk" | bc -l)"
