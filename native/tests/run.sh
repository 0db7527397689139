#!/bin/bash
# Runs the C unit tests under ThreadSanitizer and AddressSanitizer+UBSan,
# then the interposer test, and prints the combined "N passed, M failed".
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
total_pass=0; total_fail=0; status=0

run() {  # label, command...
    local label=$1; shift
    local out
    out=$(SCL_TEST_LABEL=$label "$@" 2>&1); local rc=$?
    echo "$out"
    local line
    line=$(echo "$out" | grep -E "^$label: [0-9]+ passed, [0-9]+ failed" | tail -1)
    if [ -z "$line" ]; then
        echo "$label: runner did not finish (exit $rc)"
        total_fail=$((total_fail + 1)); status=1; return
    fi
    local p f
    p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
    [ "$rc" -ne 0 ] && status=1
    [ "$f" -ne 0 ] && status=1
}

export TSAN_OPTIONS="halt_on_error=1 die_after_fork=0 report_signal_unsafe=0 ${TSAN_OPTIONS:-}"
export ASAN_OPTIONS="detect_leaks=1 ${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1 halt_on_error=1 ${UBSAN_OPTIONS:-}"
run tsan "$build/tsan/scl_tests"
run asan "$build/asan/scl_tests"
run preload env SCL_PRELOAD_STATS=1 LD_PRELOAD="$(cd "$build" && pwd)/libscl-preload.so" \
    "$build/preload_prog"
# The same program on glibc and on the interposer: every line (one call's
# result) must be the same.  A hang counts as a failure (timeout).
conformance() {
    local prog=$1 lib glibc scl same differ
    lib="$(cd "$build" && pwd)/libscl-preload.so"
    glibc=$(timeout 120 "$prog" 2>&1) || { echo "conformance: glibc run failed"; glibc=""; }
    scl=$(timeout 120 env LD_PRELOAD="$lib" "$prog" 2>&1) || echo "conformance: interposer run failed (exit $?)"
    if [ -z "$glibc" ]; then
        total_fail=$((total_fail + 1)); status=1; return
    fi
    same=$(paste -d '\n' <(echo "$glibc") <(echo "$scl") | paste - - -d '\t' | awk -F '\t' '$1 == $2' | wc -l)
    differ=$(( $(echo "$glibc" | wc -l) - same ))
    diff <(echo "$glibc") <(echo "$scl") | sed -n 's/^[<>]/  &/p'
    echo "conformance: $same passed, $differ failed"
    total_pass=$((total_pass + same)); total_fail=$((total_fail + differ))
    [ "$differ" -ne 0 ] && status=1
}
conformance "$build/conformance"

echo "$total_pass passed, $total_fail failed"
exit $status
