#!/bin/bash
# Install what hako needs to build and test on Debian 12 (as root).
set -euo pipefail
PKGS=(cmake ninja-build g++ pkg-config nlohmann-json3-dev libfmt-dev libcli11-dev libseccomp-dev
      libgtest-dev libssl-dev libarchive-dev libacl1-dev libzstd-dev liblz4-dev busybox-static iproute2 procps
      nftables util-linux  # the network tests: nft to check for leftovers, nsenter/unshare for client machines
      qemu-system-x86 linux-image-amd64 cpio  # the cgroup v2 VM tests
      libboost-dev libtomlplusplus-dev zlib1g-dev  # registries: Boost.Beast/Asio, registries.conf (TOML), gzip
      docker-registry skopeo apache2-utils python3 openssl curl zstd  # the registry tests' servers and reference client
      clang-16 libclang-rt-16-dev)  # fuzzing (libFuzzer) in .ci/run
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${db:Status-Status}\n' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
log=$(mktemp)
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
rm -f "$log"
