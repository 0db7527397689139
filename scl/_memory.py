"""Storage for C lock objects: aligned private memory or shared memory.

cffi's ffi.new() guarantees only malloc alignment, while the lock structs
may ask for cache-line alignment, so we over-allocate and align by hand.
Process-shared locks live in an anonymous MAP_SHARED mapping, which a
fork()ed child (multiprocessing's default start method on Linux) inherits at
the same address.
"""
from __future__ import annotations

import mmap

from scl._lib import ffi


class LockMemory:
    """Owns the bytes behind one C object of type `ctype`; `.ptr` points at it."""

    def __init__(self, ctype: str, shared: bool = False):
        size, align = ffi.sizeof(ctype), ffi.alignof(ctype)
        if shared:
            # Page-aligned, zero-filled, shared with children after fork().
            self._buffer = mmap.mmap(-1, max(size, mmap.PAGESIZE))
            base = ffi.from_buffer(self._buffer)
            self.ptr = ffi.cast(ctype + " *", base)
        else:
            self._buffer = ffi.new("char[]", size + align)
            address = int(ffi.cast("uintptr_t", self._buffer))
            self.ptr = ffi.cast(ctype + " *", self._buffer + (-address % align))
        self.shared = shared
