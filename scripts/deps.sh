#!/bin/bash
# Install what hako needs on Debian 12 (as root):
#   deps.sh         to build and test (the test kit too: the VM, registries, clang, buildah)
#   deps.sh --run   to build and run hako and hako-runtime only (scripts/demo.sh)
set -euo pipefail
PKGS=(cmake ninja-build g++ pkg-config nlohmann-json3-dev libfmt-dev libcli11-dev libseccomp-dev
      libssl-dev libarchive-dev libacl1-dev libzstd-dev liblz4-dev busybox-static
      libboost-dev libtomlplusplus-dev zlib1g-dev  # registries: Boost.Beast/Asio, registries.conf (TOML), gzip
      nasm xz-utils)  # building ISA-L's static archive (below)
if [ "${1:-}" != --run ]; then
    PKGS+=(libgtest-dev iproute2 procps
           nftables util-linux  # the network tests: nft to check for leftovers, nsenter/unshare for client machines
           qemu-system-x86 linux-image-amd64 cpio  # the cgroup v2 VM tests
           docker-registry skopeo apache2-utils python3 openssl curl zstd  # the registry tests' servers and reference client
           clang-16 libclang-rt-16-dev  # fuzzing (libFuzzer) in .ci/run
           buildah bzip2)  # hako build's reference builder (differential tests, benchmark); ADD's tests
fi
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${db:Status-Status}\n' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
done
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# ISA-L (igzip, gzip layers at 2-3x zlib's speed): Debian 12 ships it only as
# a shared library and hako links statically, so its archive is built from
# Debian's own source package (apt-get source, through a deb-src list of our
# own) into /usr/local/lib/libisal.a and /usr/local/include/isa-l/.
ISAL_VERSION=2.30.0-5
build_isal() {
    [ "$(cat /usr/local/lib/libisal.a.stamp 2>/dev/null)" = "$ISAL_VERSION" ] && return 0
    local src
    src=$(mktemp -d)
    mkdir -p "$src/lists/partial"
    echo "deb-src http://deb.debian.org/debian bookworm main" >"$src/sources.list"
    local apt=(-o Dir::Etc::SourceList="$src/sources.list" -o Dir::Etc::SourceParts=/dev/null
               -o Dir::State::Lists="$src/lists" -o Debug::NoLocking=1)
    if ! ( cd "$src" && apt-get "${apt[@]}" update -qq && apt-get "${apt[@]}" source --download-only -qq "libisal=$ISAL_VERSION" &&
           tar xf libisal_*.orig.tar.xz && cd libisal-*/ && make -f Makefile.unx -j"$(nproc)" lib &&
           install -D -m 0644 bin/isa-l.a /usr/local/lib/libisal.a &&
           install -d /usr/local/include/isa-l && install -m 0644 include/*.h /usr/local/include/isa-l/ ) >>"$log" 2>&1; then
        rm -rf "$src"
        cat "$log" >&2
        echo "deps.sh: building ISA-L $ISAL_VERSION from Debian's source failed" >&2
        exit 1
    fi
    rm -rf "$src"
    echo "$ISAL_VERSION" >/usr/local/lib/libisal.a.stamp
}
if [ ${#missing[@]} -eq 0 ]; then
    build_isal
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# docker-registry's package starts a service listening on all interfaces: no
# service starts while installing (policy-rc.d), and none is left enabled.
# The tests run their own registries on 127.0.0.1 with their own configs.
had_policy=0
[ -e /usr/sbin/policy-rc.d ] && had_policy=1
[ $had_policy = 1 ] || { printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; }
rc=0
{ apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1 || rc=$?
[ $had_policy = 1 ] || rm -f /usr/sbin/policy-rc.d
if [ $rc != 0 ]; then
    cat "$log" >&2
    echo "deps.sh: apt-get install ${missing[*]} failed" >&2
    exit 1
fi
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl disable --now docker-registry >/dev/null 2>&1 || true
fi
build_isal
