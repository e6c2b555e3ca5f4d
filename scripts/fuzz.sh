#!/bin/bash
# fuzz.sh [SECONDS] - every fuzz target (tests/fuzz/fuzz_*.cpp) under
# libFuzzer with ASan and UBSan (Debian's clang 16), SECONDS each (default
# 60), from a copy of its seed corpus (tests/fuzz/corpus/NAME). A crash, a
# leak or a timeout (10 s an input) fails the target; its artifact is kept in
# $HAKO_FUZZ_ARTIFACTS (default build-fuzz/artifacts). One line per target,
# then "N passed, N failed"; the exit status is 1 if any failed.
#   HAKO_FUZZ_TARGETS="dns template": only those.
set -euo pipefail
secs=${1:-60}
here=$(cd "$(dirname "$0")/.." && pwd)
out=${HAKO_FUZZ_BUILD:-$here/build-fuzz}
art=${HAKO_FUZZ_ARTIFACTS:-$out/artifacts}
targets=${HAKO_FUZZ_TARGETS:-$(cd "$here/tests/fuzz" && ls fuzz_*.cpp | sed -e 's/^fuzz_//' -e 's/\.cpp$//' | grep -vx main)}
command -v clang++-16 >/dev/null || { echo "fuzz.sh: clang-16 is missing (apt-get install clang-16 libclang-rt-16-dev)" >&2; exit 2; }
# (clang 16 with libstdc++ 12: std::expected wants a newer concepts macro)
if ! { CC=clang-16 CXX=clang++-16 CXXFLAGS="-U__cpp_concepts -D__cpp_concepts=202002L -Wno-builtin-macro-redefined" \
         cmake -S "$here" -B "$out" -G Ninja -DHAKO_FUZZ=ON -DHAKO_STATIC=OFF -DBUILD_TESTING=ON >/dev/null &&
       cmake --build "$out" --target $(for t in $targets; do printf 'fuzz_%s ' "$t"; done) >"$out.log" 2>&1; }; then
    tail -n 30 "$out.log" >&2
    echo "fuzz.sh: building the fuzz targets failed (log: $out.log)" >&2
    exit 2
fi
mkdir -p "$art"
passed=0 failed=0
for t in $targets; do
    corpus=$(mktemp -d)
    cp "$here/tests/fuzz/corpus/$t/"* "$corpus/" 2>/dev/null || true
    log=$out/fuzz-$t.log
    # (fuzz_layer makes every mount read-only but these and its scratch /mnt)
    if HAKO_FUZZ_WRITABLE="$corpus:$art:$out" "$out/tests/fuzz_$t" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -detect_leaks=1 \
           -artifact_prefix="$art/$t-" "$corpus" >"$log" 2>&1; then
        runs=$(grep -Eo 'Done [0-9]+ runs' "$log" | grep -Eo '[0-9]+' || echo "?")
        printf '%-12s ok      %10s runs in %s s\n' "$t" "$runs" "$secs"
        passed=$((passed + 1))
    else
        printf '%-12s FAILED  (%s; artifact under %s)\n' "$t" "$(grep -m1 -E 'ERROR: |SUMMARY: ' "$log" || echo "see $log")" "$art"
        failed=$((failed + 1))
    fi
    rm -rf "$corpus"
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
