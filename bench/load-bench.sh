#!/bin/bash
# load-bench.sh [N] [RUNS] - listing N (default 1000) running containers:
#
#   hako-runtime list / list -q / state ID     N containers created and started by hako-runtime
#   runc list / state ID                       the same N under runc (the anchor)
#   hako ps / ps -a -q / inspect NAME          N `hako run -d --network none` containers
#
# and how long it took to start them all. Goal (issue 15): `hako-runtime list`
# and `hako ps` under 50 ms with 1,000 running containers. Everything runs in a
# private mount and network namespace with a temp dir, removed at exit (every
# container deleted first). Needs root; installs hyperfine and runc when missing.
set -euo pipefail
N=${1:-1000}
RUNS=${2:-20}
here=$(cd "$(dirname "$0")/.." && pwd)
HAKO=${HAKO:-$here/build/hako}
RUNTIME=${HAKO_RUNTIME:-$here/build/hako-runtime}
[ "$(id -u)" = 0 ] || { echo "load-bench: run as root" >&2; exit 2; }
[ -x "$HAKO" ] && [ -x "$RUNTIME" ] || { echo "load-bench: build first (cmake --build build)" >&2; exit 2; }

if [ -z "${HAKO_BENCH_INNER:-}" ]; then
    missing=()
    for p in hyperfine runc; do
        dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    exec env HAKO_BENCH_INNER=1 unshare --mount --net --propagation private -- bash "$0" "$@"
fi

W=$(mktemp -d /tmp/hako-load.XXXXXX)
cleanup() {
    set +e
    "$HAKO" --root "$W/hako" ps -a -q 2>/dev/null | xargs -r -n 100 "$HAKO" --root "$W/hako" rm -f >/dev/null 2>&1
    for rt in "$RUNTIME --root $W/rt" "runc --root $W/runc"; do
        $rt list -q 2>/dev/null | xargs -r -P 4 -n 20 sh -c "for id; do $rt delete -f \$id; done" _ >/dev/null 2>&1
    done
    findmnt -rn -o TARGET | grep "^$W" | sort -r | xargs -r -n1 umount -l 2>/dev/null
    rm -rf --one-file-system "$W"
}
trap cleanup EXIT
ip link set lo up
export HAKO_RUNROOT=$W/run

H() { "$HAKO" --root "$W/hako" "$@"; }
H run --rm --network none busybox true  # makes the built-in busybox image
layer=$(ls -d "$W"/hako/layers/[0-9a-f]*)
mkdir -p "$W/bundle"
cp -a "$layer" "$W/bundle/rootfs"
(cd "$W/bundle" && "$RUNTIME" spec)
sed -i -e 's/"terminal": true/"terminal": false/' -e 's/"sh"/"sleep", "100000"/' "$W/bundle/config.json"

# N containers, 4 at a time: start_all LABEL COMMAND (`{}`: the container's name)
start_all() {
    local t0 t1
    t0=$(date +%s%N)
    seq -f "c%g" "$N" | xargs -P 4 -I{} sh -c "$2 >/dev/null"
    t1=$(date +%s%N)
    echo "| $1 | $N | $(( (t1 - t0) / 1000000 )) ms |"
}
echo "## starting $N containers (4 at a time)"
echo "| what | containers | took |"
echo "|---|---|---|"
start_all "hako-runtime run -d" "$RUNTIME --root $W/rt run -d --bundle $W/bundle {}"
start_all "runc run -d" "runc --root $W/runc run -d --bundle $W/bundle {}"
start_all "hako run -d --network none" "$HAKO --root $W/hako run -d --network none --name {} busybox sleep 100000"
[ "$("$RUNTIME" --root "$W/rt" list -q | wc -l)" = "$N" ] || { echo "load-bench: not $N hako-runtime containers" >&2; exit 1; }
[ "$(H ps -q | wc -l)" = "$N" ] || { echo "load-bench: not $N running hako containers" >&2; exit 1; }

echo
echo "## listing $N running containers - $RUNS runs each (goal: under 50 ms)"
hyperfine -N --warmup 2 --runs "$RUNS" --export-markdown "$W/list.md" \
    -n "hako-runtime list" "$RUNTIME --root $W/rt list" \
    -n "hako-runtime list -q" "$RUNTIME --root $W/rt list -q" \
    -n "runc list" "runc --root $W/runc list" \
    -n "runc list -q" "runc --root $W/runc list -q" \
    -n "hako-runtime state c500" "$RUNTIME --root $W/rt state c$((N / 2))" \
    -n "runc state c500" "runc --root $W/runc state c$((N / 2))" \
    -n "hako ps" "$HAKO --root $W/hako ps" \
    -n "hako ps -a -q" "$HAKO --root $W/hako ps -a -q" \
    -n "hako inspect c500" "$HAKO --root $W/hako inspect c$((N / 2))" \
    >/dev/null
cat "$W/list.md"
