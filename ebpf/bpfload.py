"""Compiling BPF text with bcc, with the kit's defaults.

bcc is imported here, lazily, so the rest of the kit (and `--help`) works
on machines without it.  Kernel headers on this kind of machine may be an
older series than the running kernel: programs must read only tracepoint
arguments (whose layout bcc takes from tracefs) and user memory, never
kernel structs.
"""
from __future__ import annotations



def compile_text(text: str, cflags: list[str] | None = None):
    """A bcc.BPF for `text`; raises RuntimeError naming the failure."""
    from bcc import BPF  # deferred: bcc is optional for the kit
    flags = ["-Wno-macro-redefined", "-Wno-unused-value"] + list(cflags or [])
    # bcc caches compiled objects nowhere by default; compiling takes 1-3 s.
    try:
        return BPF(text=text, cflags=flags)
    except Exception as exc:
        raise RuntimeError(f"BPF program failed to load: {exc}") from exc


