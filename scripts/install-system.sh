#!/usr/bin/env bash
# Debian packages the kit needs.  Idempotent: installs only what is missing,
# and runs `apt-get update` once, only when something must be installed.
# Without root it installs nothing and says which packages are missing.
set -euo pipefail

packages=(
    build-essential     # gcc, make: the native library and the C tests
    pkg-config          # scl.pc
    libtsan2 libasan8   # ThreadSanitizer and AddressSanitizer runtimes for the C tests
    python3-bpfcc       # bcc, for the eBPF tools (see scripts/setup-bpf.sh)
    linux-headers-amd64 # headers bcc compiles against (tracepoints, uprobes)
    libkyotocabinet-dev # a real embedded key-value store with its own locks (experiments, workloads/locks/kvstore.c)
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "install-system: not root, so not installing: ${missing[*]}" >&2
    echo "install-system: the eBPF tools and some tests need them; the rest works without." >&2
    exit 0
fi
if ! command -v apt-get >/dev/null; then
    echo "install-system: no apt-get; install by hand: ${missing[*]}" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
