#!/bin/bash
# Install what hako needs to build and test on Debian 12 (as root).
set -euo pipefail
PKGS=(cmake ninja-build g++ pkg-config nlohmann-json3-dev libfmt-dev libcli11-dev libseccomp-dev
      libgtest-dev libssl-dev libarchive-dev libacl1-dev libzstd-dev liblz4-dev busybox-static iproute2 procps
      nftables util-linux  # the network tests: nft to check for leftovers, nsenter/unshare for client machines
      qemu-system-x86 linux-image-amd64 cpio)  # the last three: the cgroup v2 VM tests
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${db:Status-Status}\n' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
log=$(mktemp)
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "deps.sh: apt-get install ${missing[*]} failed" >&2
    exit 1
fi
rm -f "$log"
