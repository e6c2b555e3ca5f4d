#!/bin/bash
# registry-bench.sh [RUNS] - pulling and pushing a ~200 MB image of 5 gzip
# layers (BIG_MB, BIG_LAYERS) over loopback, side by side:
#
#   pull: hako pull          podman pull          skopeo copy docker://… oci:DIR
#   push: hako push          podman push          (to another repository of the same
#                                                 registry: blobs mounted or skipped)
#         hako push --compression-format zstd   podman push --compression-format zstd
#                                                 (every layer compressed anew)
#
# The registry is Debian's docker-registry (distribution 2.8) on 127.0.0.1 in
# plain HTTP, in a private network and mount namespace (tmpfs /run and
# /var/lib, everything in a temp dir removed at exit); each run starts from
# an empty store. Goals (issue 11): hako <= 0.5x podman's time for both.
# Prints the median of RUNS (default 5) wall-clock times and the ratios.
set -euo pipefail
RUNS=${1:-5}
here=$(cd "$(dirname "$0")/.." && pwd)
HAKO=${HAKO:-$here/build/hako}
[ "$(id -u)" = 0 ] || { echo "registry-bench: run as root" >&2; exit 2; }
[ -x "$HAKO" ] || { echo "registry-bench: build first (cmake --build build)" >&2; exit 2; }
if [ -z "${HAKO_BENCH_INNER:-}" ]; then
    exec env HAKO_BENCH_INNER=1 unshare --mount --net --propagation private -- bash "$0" "$@"
fi
source "$here/bench/lib.sh"
ip link set lo up
mount -t tmpfs tmpfs /run
mkdir -p /var/lib/containers && mount -t tmpfs tmpfs /var/lib/containers  # (podman's blob info cache: its own)
work=$(mktemp -d /var/tmp/hako-regbench.XXXXXX)
reg=$work/registry
cleanup() {
    "$here/tests/registry/stop-registry.sh" "$reg" >/dev/null 2>&1 || true
    umount -R "$work/podman/storage" 2>/dev/null || true
    umount /var/lib/containers 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
podman_env "$work/podman"
printf '[[registry]]\nlocation = "127.0.0.1:5000"\ninsecure = true\n' > "$work/registries.conf"
export CONTAINERS_REGISTRIES_CONF=$work/registries.conf

# The image: BIG_MB MB in BIG_LAYERS gzip layers (~2x compressible), seeded once.
mkdir -p "$work/rootfs/bin" && cp /bin/busybox "$work/rootfs/bin/" && ln -s busybox "$work/rootfs/bin/sh"
BIG_MB=${BIG_MB:-200} BIG_LAYERS=${BIG_LAYERS:-5} /usr/bin/python3 "$here/tests/registry/make-layouts.py" \
    "$work/layouts" "$work/rootfs" >/dev/null
"$here/tests/registry/start-registry.sh" "$reg" plain 5000 >/dev/null
skopeo copy -q --preserve-digests --dest-tls-verify=false oci:"$work/layouts/big:latest" docker://127.0.0.1:5000/bench/big:latest
ref=127.0.0.1:5000/bench/big:latest
size=$(du -sm "$work/layouts/big/blobs" | cut -f1)

# time_of CMD...: wall-clock seconds
time_of() {
    local s e
    s=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || { echo "registry-bench: failed: $*" >&2; exit 1; }
    e=$(date +%s.%N)
    echo "$e - $s" | bc -l
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
fresh() { rm -rf "$work/hako" "$work/oci"; podman rmi -af >/dev/null 2>&1 || true; sync; }

declare -A T
for tool in hako podman skopeo; do
    for i in $(seq "$RUNS"); do
        fresh
        case $tool in
            hako) time_of "$HAKO" --root "$work/hako" pull -q "$ref" ;;
            podman) time_of podman pull -q "$ref" ;;
            skopeo) time_of skopeo copy -q --src-tls-verify=false "docker://$ref" "oci:$work/oci:big" ;;
        esac
    done | median > "$work/t-pull-$tool"
    T[pull-$tool]=$(cat "$work/t-pull-$tool")
done
# push: both from their own store, to a repository the registry does not have
fresh
"$HAKO" --root "$work/hako" pull -q "$ref" >/dev/null
podman pull -q "$ref" >/dev/null
for tool in hako podman; do
    for i in $(seq "$RUNS"); do
        dest=127.0.0.1:5000/push-$tool-$i/big:latest
        case $tool in
            hako) time_of "$HAKO" --root "$work/hako" push -q "$ref" "$dest" ;;
            podman) time_of podman push -q "$ref" "$dest" ;;
        esac
    done | median > "$work/t-push-$tool"
    T[push-$tool]=$(cat "$work/t-push-$tool")
done
# push with every layer compressed anew: zstd (podman 4.3 has no --force-compression;
# a format other than the pulled one makes it recompress too), each run to a
# registry with empty storage and podman without its blob info cache (which
# would otherwise know where the zstd blobs went last time).
empty_registry() {
    "$here/tests/registry/stop-registry.sh" "$reg" >/dev/null
    rm -rf "$reg/storage"
    "$here/tests/registry/start-registry.sh" "$reg" plain 5000 >/dev/null
    rm -rf /var/lib/containers/cache
}
for tool in hako podman; do
    for i in $(seq "$RUNS"); do
        empty_registry
        dest=127.0.0.1:5000/fresh-$tool-$i/big:latest
        case $tool in
            hako) time_of "$HAKO" --root "$work/hako" push -q --compression-format zstd "$ref" "$dest" ;;
            podman) time_of podman push -q --compression-format zstd "$ref" "$dest" ;;
        esac
    done | median > "$work/t-xpush-$tool"
    T[xpush-$tool]=$(cat "$work/t-xpush-$tool")
done

printf '\nimage: %s MB compressed in %s layers, loopback registry, median of %s runs\n' "$size" "${BIG_LAYERS:-5}" "$RUNS"
printf '%-44s %8s %8s\n' "" "seconds" "÷podman"
row() { printf '%-44s %8.2f %8.2f\n' "$1" "$2" "$(echo "$2 / $3" | bc -l)"; }
row "hako pull" "${T[pull-hako]}" "${T[pull-podman]}"
row "podman pull" "${T[pull-podman]}" "${T[pull-podman]}"
row "skopeo copy docker:// oci:" "${T[pull-skopeo]}" "${T[pull-podman]}"
row "hako push (blobs the registry has)" "${T[push-hako]}" "${T[push-podman]}"
row "podman push (the same)" "${T[push-podman]}" "${T[push-podman]}"
row "hako push --compression-format zstd" "${T[xpush-hako]}" "${T[xpush-podman]}"
row "podman push --compression-format zstd" "${T[xpush-podman]}" "${T[xpush-podman]}"
