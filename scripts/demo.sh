#!/bin/bash
# Install, build, and run a container: `hako run` of the built-in busybox
# image (made from Debian's busybox-static), printing from inside itself.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
cmake -S . -B build -G Ninja >/dev/null
cmake --build build >/dev/null
exec ./build/hako run --rm busybox sh -c 'echo hello from $(hostname), pid $$; ps'
