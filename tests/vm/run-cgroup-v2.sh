#!/usr/bin/env bash
# run-cgroup-v2.sh BUILD_DIR [GTEST_FILTER] - run hako's cgroup integration tests on
# pure cgroup v2, in a throw-away VM.
#
# The build machines run a cgroup v1 hybrid layout, so the v2 code paths of
# src/cgroup are only exercised here. The VM comes from ../shared/vm/run-in-vm.sh
# (relative to the project root): Debian's kernel booted with cgroup_no_v1=all,
# cgroup2 at /sys/fs/cgroup with every controller enabled for children, busybox
# applets as the only userland, software emulation (no KVM needed).
#
# What it does:
#   1. assembles a payload in a temp dir (removed on exit):
#        hako-runtime            BUILD_DIR/hako-runtime (debug info stripped)
#        hako-integration-tests  BUILD_DIR/tests/hako-integration-tests (same)
#        test-rootfs/            BUILD_DIR/test-rootfs, copied with cp -a
#        run-tests.sh            the command run in the VM (below)
#      (run-in-vm.sh adds the shared libraries the two binaries need)
#   2. boots the VM with run-in-vm.sh; in it, run-tests.sh sets
#      HAKO_TEST_RUNTIME / HAKO_TEST_ROOTFS to the payload's copies and runs
#        hako-integration-tests --gtest_filter=GTEST_FILTER
#      and then, when built and matched by the filter, hako's own tests
#      (tests/cli: hako-cli-tests, with HAKO_TEST_HAKO=/payload/hako)
#      GTEST_FILTER defaults to 'Cgroup*:*Cgroup*' (the suites of
#      tests/integration/test_cgroups*.cpp, all named Cgroup...)
#   3. prints the VM's console (the test output) and exits with the tests' exit
#      status: 0 all passed; 1 some failed, or the filter selects no test of
#      this build (checked on the host before booting); 124 the VM timed out;
#      125 the VM did not run the command (see run-in-vm.sh); 2 bad usage or a
#      missing build file; 77 (ctest: skipped) when run-in-vm.sh does not exist.
#
# Environment: HAKO_VM_MEM (MB, default 1536: a test runs a 100 MB memory hog),
# HAKO_VM_CPUS (default 2), HAKO_VM_TIMEOUT (seconds, default 600),
# HAKO_VM_RUNNER (another run-in-vm.sh). Needs root (or qemu-system-x86, a
# /boot/vmlinuz-* and busybox-static already installed: run-in-vm.sh installs
# what is missing with apt-get). Registered with ctest as `cgroup-v2-vm`
# (tests/CMakeLists.txt).
set -euo pipefail

usage() { sed -n '2,3p' "$0" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] && [ -n "$1" ] || usage
build=$(cd "$1" && pwd) || { echo "run-cgroup-v2.sh: no build dir $1" >&2; exit 2; }
filter=${2:-'Cgroup*:*Cgroup*'}

project=$(cd "$(dirname "$0")/../.." && pwd)
runner=${HAKO_VM_RUNNER:-$project/../shared/vm/run-in-vm.sh}
if [ ! -f "$runner" ]; then
    echo "run-cgroup-v2.sh: SKIPPED: $runner does not exist (no VM to run cgroup v2 tests in)"
    exit 77
fi

runtime=$build/hako-runtime
tests=$build/tests/hako-integration-tests
rootfs=$build/test-rootfs
for f in "$runtime" "$tests"; do
    [ -x "$f" ] || { echo "run-cgroup-v2.sh: $f missing; build first (cmake --build $build)" >&2; exit 2; }
done
[ -f "$rootfs/.stamp" ] || { echo "run-cgroup-v2.sh: $rootfs missing; build the test-rootfs target" >&2; exit 2; }

# A filter that selects nothing would "pass": refuse it (a stale build, renamed suites).
listed=$("$tests" --gtest_filter="$filter" --gtest_list_tests) || { echo "run-cgroup-v2.sh: $tests --gtest_list_tests failed" >&2; exit 2; }
if ! grep -q '^  ' <<<"$listed"; then
    echo "run-cgroup-v2.sh: no test in $tests matches --gtest_filter=$filter" >&2
    exit 1
fi

payload=$(mktemp -d /tmp/hako-cgroup-v2.XXXXXX)
trap 'rm -rf --one-file-system "$payload"' EXIT
trap 'exit 130' INT; trap 'exit 143' TERM HUP   # the EXIT trap cleans up then too
# mktemp's 0700 would keep a user-namespaced container's root (an unmapped
# "other" uid) out of /payload/test-rootfs.
chmod 0755 "$payload"

# The binaries without their debug info: the VM holds the whole payload in RAM
# (initramfs, then a tmpfs copy), and debug info is most of their size.
copy_bin() {
    if command -v strip >/dev/null && strip --strip-debug -o "$2" "$1" 2>/dev/null; then :
    else cp "$1" "$2"; fi
    chmod 0755 "$2"
}
copy_bin "$runtime" "$payload/hako-runtime"
copy_bin "$tests" "$payload/hako-integration-tests"
cp -a "$rootfs" "$payload/test-rootfs"
# The static helper some tests copy into a container (no-pivot, seccomp).
[ -x "$build/tests/hako-test-helper" ] && copy_bin "$build/tests/hako-test-helper" "$payload/hako-test-helper"
# hako's own tests too (tests/cli), with the same filter, when built.
cli_tests=""
if [ -x "$build/hako" ] && [ -x "$build/tests/hako-cli-tests" ] &&
   "$build/tests/hako-cli-tests" --gtest_filter="$filter" --gtest_list_tests | grep -q '^  '; then
    copy_bin "$build/hako" "$payload/hako"
    copy_bin "$build/tests/hako-cli-tests" "$payload/hako-cli-tests"
    cli_tests=1
fi

# The filter goes into a single-quoted sh word.
quoted_filter="'$(printf '%s' "$filter" | sed "s/'/'\\\\''/g")'"
cat > "$payload/run-tests.sh" <<EOF
#!/bin/sh
# Runs in the VM (busybox sh), cwd /payload.
export HAKO_TEST_RUNTIME=/payload/hako-runtime
export HAKO_TEST_ROOTFS=/payload/test-rootfs
export HAKO_TEST_HELPER=/payload/hako-test-helper
echo "=== cgroup v2: \$(cat /sys/fs/cgroup/cgroup.subtree_control); $(basename "$tests") --gtest_filter=$quoted_filter"
/payload/hako-integration-tests --gtest_color=no --gtest_filter=$quoted_filter || exit 1
if [ -n "$cli_tests" ]; then
    echo "=== hako-cli-tests --gtest_filter=$quoted_filter"
    export HAKO_TEST_HAKO=/payload/hako
    exec /payload/hako-cli-tests --gtest_color=no --gtest_filter=$quoted_filter
fi
EOF
chmod 0755 "$payload/run-tests.sh"

# The serial console's CRs and the firmware's terminal escapes are dropped.
set +e
# (hako's bridge networks need nf_tables: Debian's kernel has it as modules;
# busybox's modprobe ignores softdeps, so libcrc32c's crc32c is named first)
bash "$runner" --mem "${HAKO_VM_MEM:-1536}" --cpus "${HAKO_VM_CPUS:-2}" \
    --timeout "${HAKO_VM_TIMEOUT:-600}" \
    --modules "overlay veth bridge crc32c_generic libcrc32c nf_tables nft_chain_nat nft_nat nft_masq nft_fib_inet nft_ct" \
    "$payload" -- ./run-tests.sh 2>&1 |
    sed -u -e 's/\r$//' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1bc//g'
rc=${PIPESTATUS[0]}
set -e
echo "run-cgroup-v2.sh: exit $rc"
exit "$rc"
