#!/bin/bash
# Install, build hako and hako-runtime, and run a container: `hako run` of the built-in busybox
# image (made from Debian's busybox-static), printing from inside itself.
set -euo pipefail
cd "$(dirname "$0")/.."
# (only what building and running need: the test kit comes with .ci/run)
./scripts/deps.sh --run
cmake -S . -B build -G Ninja >/dev/null
cmake --build build --target hako hako-runtime >/dev/null
exec ./build/hako run --rm busybox sh -c 'echo hello from $(hostname), pid $$; ps'
