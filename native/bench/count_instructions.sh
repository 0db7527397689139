#!/bin/bash
# Instructions on the uncontended lock and unlock paths: glibc's, libscl's
# native API and the interposer's.
#
#   bench/count_instructions.sh BUILD_DIR
#
# glibc: executed instructions per call, counted by callgrind on a loop of
# uncontended lock+unlock pairs (deterministic, unlike times on a shared
# machine).  SCL: the straight-line path from the function's entry to its
# first return or tail jump in the binary, which is the quiet path: it is
# laid out so that no branch is taken on it.  (Under valgrind every
# operation is ~50x slower, so quiet mode samples every section and
# callgrind would count the statistics path instead of the fast one.)
set -e
build=${1:-build}
n=100000

straight() {  # library, function: instructions up to the first ret / tail jmp
    objdump -d --no-show-raw-insn "$1" | awk -v fn="<$2>:" '
        $2 == fn { on = 1; next }
        on && /^$/ { exit }
        on && NF >= 2 { count++; if ($2 == "ret" || $2 == "jmp") { print count; exit } }'
}

echo "instructions per uncontended call"
if command -v valgrind > /dev/null; then
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
    valgrind --tool=callgrind --callgrind-out-file="$out/glibc" "$build/uncontended" pthread $n \
        > /dev/null 2>&1
    callgrind_annotate --inclusive=no "$out/glibc" 2> /dev/null | awk -v n="$n" '
        /^-- (Auto|User)-annotated/ { exit }
        /pthread_mutex_lock@@GLIBC/ { ir = $1; gsub(",", "", ir); lock += ir }
        /pthread_mutex_unlock/ { ir = $1; gsub(",", "", ir); unlock += ir }
        END { printf "  glibc       lock %3.0f  unlock %3.0f  (callgrind, %d pairs)\n",
                     lock / n, unlock / n, n }'
else
    echo "  glibc       (valgrind not installed: not counted)"
fi
lib="$build/libscl.so.0.1"
pre="$build/libscl-preload.so"
printf "  native      lock %3d  unlock %3d  (straight-line quiet path)\n" \
    "$(straight "$lib" scl_mutex_lock)" "$(straight "$lib" scl_mutex_unlock)"
# the interposer's lock is a tagged-pointer test and a tail jump into its
# private copy of scl_mutex_lock; its unlock inlines the release
printf "  interposer  lock %3d  unlock %3d  (straight-line quiet path)\n" \
    "$(( $(straight "$pre" pthread_mutex_lock) + $(straight "$pre" scl_mutex_lock) ))" \
    "$(straight "$pre" pthread_mutex_unlock)"
