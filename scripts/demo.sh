#!/bin/bash
# Install, build, and run a container: a busybox rootfs made from Debian's
# busybox-static, and hako-runtime running a shell in it.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
cmake -S . -B build -G Ninja >/dev/null
cmake --build build >/dev/null
bundle=$(mktemp -d /tmp/hako-demo.XXXXXX)
trap 'rm -rf "$bundle"' EXIT
tests/fixtures/make-rootfs.sh "$bundle/rootfs" >/dev/null
./build/hako-runtime spec --bundle "$bundle"
# A non-interactive process: print from inside the container.
sed -i 's/"terminal": true/"terminal": false/; s/^\t\t\t"sh"$/\t\t\t"sh", "-c", "echo hello from $(hostname), pid $$; ps"/' "$bundle/config.json"
grep -q '"echo hello from' "$bundle/config.json" || { echo "demo.sh: could not set process.args in $bundle/config.json" >&2; exit 1; }
# Not exec: the EXIT trap removes the bundle afterwards. The exit status is the container's.
./build/hako-runtime run --bundle "$bundle" "demo-$$"
