#!/bin/bash
# Differential test of `hako build` against Debian's buildah (the reference
# builder, `bud --isolation chroot`): the Dockerfiles of tests/build built by
# both from the same context and base image (hako's busybox, saved and pulled
# into buildah's own store), their images compared file by file and config
# field by field (compare-images.py). Runs in a mount and network namespace
# of its own; every store is a temporary directory. Skipped (77) without buildah.
#   differential.sh HAKO_BIN SOURCE_DIR [CASE...]
set -euo pipefail
hako_bin=$1 src=$2
shift 2
cases=("$@")
# (args.Dockerfile and heredoc.Dockerfile use what buildah 1.28 lacks:
# ${v%p}-style modifiers, heredocs; they are checked by the CLI tests alone.)
[ ${#cases[@]} -gt 0 ] || cases=(basic multistage entrypoint onbuild add mounts)
command -v buildah >/dev/null || { echo "buildah is not installed: skipped"; exit 77; }
if [ -z "${HAKO_DIFF_INNER:-}" ]; then
    exec unshare --mount --net --propagation private env HAKO_DIFF_INNER=1 "$0" "$hako_bin" "$src" "${cases[@]}"
fi
ip link set lo up
t=$(mktemp -d /tmp/hako-diff.XXXXXX)
hako=("$hako_bin" --root "$t/hako" --runroot "$t/hako-run")
mkdir -p "$t/tmp"
# (TMPDIR: buildah keeps RUN --mount=type=cache dirs in $TMPDIR/buildah-cache)
bah=(env TMPDIR="$t/tmp" buildah --root "$t/bah" --runroot "$t/bah-run" --storage-driver vfs)
cleanup() {
    "${bah[@]}" rm -a >/dev/null 2>&1 || true
    "${bah[@]}" rmi -a -f >/dev/null 2>&1 || true
    rm -rf "$t"
}
trap cleanup EXIT
cp -a "$src/tests/build/context" "$t/ctx"
mkdir -p "$t/ctx/tree/inner"
echo "in the tar" >"$t/ctx/tree/inner/file"
tar -C "$t/ctx/tree" -czf "$t/ctx/archive.tar.gz" .
tar -C "$t/ctx/tree" -cJf "$t/ctx/archive.tar.xz" inner
echo "just text" >"$t/ctx/notatar.tar"
printf 's3cret-value' >"$t/token"
secret=(--secret "id=token,src=$t/token")
"${hako[@]}" run --rm --network none busybox true  # (the built-in busybox, made on first use)
"${hako[@]}" save -o "$t/busybox.tar" busybox
"${bah[@]}" pull -q "docker-archive:$t/busybox.tar" >/dev/null
"${bah[@]}" tag localhost/busybox docker.io/library/busybox:latest
failed=0
for c in "${cases[@]}"; do
    f=$src/tests/build/$c.Dockerfile
    echo "== $c.Dockerfile"
    if [ "$c" = onbuild ]; then  # the triggers run in a child's build
        printf 'FROM diff-onbuild\nCMD ["cat", "/onbuild-ran"]\n' >"$t/child.Dockerfile"
        "${hako[@]}" build -q --network none -t diff-onbuild -f "$f" "$t/ctx" >/dev/null
        "${bah[@]}" bud -q --isolation chroot --pull=never --layers --format docker -t diff-onbuild -f "$f" "$t/ctx" >/dev/null
        f=$t/child.Dockerfile
    fi
    if ! "${hako[@]}" build -q --network none "${secret[@]}" -t "diff-$c" -f "$f" "$t/ctx" >"$t/hako-$c.log" 2>&1; then
        cat "$t/hako-$c.log"; failed=1; continue
    fi
    if ! "${bah[@]}" bud -q --isolation chroot --pull=never --layers --format docker "${secret[@]}" -t "diff-$c" -f "$f" "$t/ctx" >"$t/bah-$c.log" 2>&1; then
        cat "$t/bah-$c.log"; failed=1; continue
    fi
    "${hako[@]}" save -o "$t/hako-$c.tar" "diff-$c"
    "${bah[@]}" push -q "diff-$c" "docker-archive:$t/bah-$c.tar:diff-$c:latest" >/dev/null
    python3 "$src/tests/build/compare-images.py" "$t/hako-$c.tar" "$t/bah-$c.tar" || failed=1
done
exit $failed
