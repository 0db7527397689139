#!/usr/bin/env bash
# Make the eBPF tools (sfs trace, scl trace) runnable: tracefs mounted, kernel
# headers where bcc looks for them, and Debian's bcc importable from the venv.
#
#   scripts/setup-bpf.sh [VENV]      (default VENV: .venv)
#
# Idempotent; `make install` runs it every time.  Without root it changes
# only the venv and says what is still missing.  Never fails the build: the
# rest of the kit works without bcc.
set -uo pipefail

venv=${1:-.venv}
say() { echo "setup-bpf: $*" >&2; }
is_root() { [ "$(id -u)" -eq 0 ]; }
missing=()

# --- tracefs: bcc reads tracepoint formats and attaches uprobes through it.
tracing=/sys/kernel/tracing
if [ -e "$tracing/events" ]; then
    :
elif is_root; then
    mount -t tracefs nodev "$tracing" 2>/dev/null \
        && say "mounted tracefs on $tracing" \
        || { say "could not mount tracefs on $tracing"; missing+=("tracefs"); }
else
    missing+=("tracefs (mount -t tracefs nodev $tracing, as root)")
fi

# --- kernel headers: bcc compiles its C against /lib/modules/$(uname -r)/build.
# Use the running kernel's headers when the distribution has them, otherwise
# the newest installed linux-headers-*-amd64 (and its -common twin).  Those
# suffice for tracepoints and uprobes, whose argument layouts bcc reads from
# tracefs; kernel structs would have the wrong layout, so the tools use none.
release=$(uname -r)
moddir=/lib/modules/$release
pick_headers() {
    local arch
    if [ -d "/usr/src/linux-headers-$release" ]; then
        echo "/usr/src/linux-headers-$release"; return
    fi
    arch=$(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -n1)
    [ -n "$arch" ] && echo "$arch"
}
if [ -e "$moddir/build/include" ] || [ -e "$moddir/build/Makefile" ]; then
    :
else
    arch_dir=$(pick_headers)
    if [ -z "$arch_dir" ]; then
        missing+=("kernel headers (apt-get install linux-headers-amd64)")
    elif ! is_root; then
        missing+=("headers link $moddir/build -> $arch_dir (run as root)")
    else
        common_dir=${arch_dir%-amd64}-common
        mkdir -p "$moddir"
        ln -sfn "$arch_dir" "$moddir/build"
        [ -d "$common_dir" ] && ln -sfn "$common_dir" "$moddir/source"
        say "linked $moddir/build -> $arch_dir"
    fi
fi
if [ -L "$moddir/build" ]; then
    target=$(readlink "$moddir/build")
    case "$target" in
        *"$release") ;;
        *) say "notice: kernel headers ${target##*/linux-headers-} are not the running kernel's ($release); fine for tracepoints and uprobes, not for kernel structs" ;;
    esac
fi

# --- bcc in the venv: a directory holding only a link to Debian's bcc
# package, put on the venv's path by a .pth file, so the rest of
# dist-packages (other versions of numpy & co.) stays out of the venv.
bcc_src=/usr/lib/python3/dist-packages/bcc
if [ ! -d "$bcc_src" ]; then
    missing+=("bcc (apt-get install python3-bpfcc)")
elif [ ! -x "$venv/bin/python" ]; then
    missing+=("venv $venv (run make install)")
else
    site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    shim=$(cd "$venv" && pwd)/system-bcc
    mkdir -p "$shim"
    ln -sfn "$bcc_src" "$shim/bcc"
    pth="$site/sharekit-system-bcc.pth"
    [ "$(cat "$pth" 2>/dev/null)" = "$shim" ] || echo "$shim" > "$pth"
    if ! "$venv/bin/python" -c 'import bcc' 2>/dev/null; then
        missing+=("bcc importable from $venv (import bcc fails: $("$venv/bin/python" -c 'import bcc' 2>&1 | tail -n1))")
    fi
fi

if [ ${#missing[@]} -gt 0 ]; then
    for m in "${missing[@]}"; do say "missing: $m"; done
    say "the eBPF tools (sfs trace, scl trace) will say what they need; the rest of the kit is unaffected"
fi
exit 0
