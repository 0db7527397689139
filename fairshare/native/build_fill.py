"""cffi builder for `fairshare._fill` (out-of-line API mode), the C core of
progressive filling (fill.c).

The cdef is fill.h itself minus comments and include guards, so the binding
cannot drift from the C declarations, plus the two Python callbacks.  setup.py names this module in
`cffi_modules`; `make install` rebuilds it when fill.c, fill.h or this file
change.  -ffp-contract=off keeps every multiply and add separately rounded,
as numpy computes them: the C results must equal the Python reference bit
for bit."""
from __future__ import annotations

import os
import re
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
HEADER = HERE / "fill.h"


def cdef_from_header(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    keep = []
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("#define") and len(s.split()) == 3:
            keep.append(s)  # integer constants
        elif s and not s.startswith("#"):
            keep.append(line)
    return "\n".join(keep)


def _relative(path: Path) -> str:
    """setuptools wants sources relative to the setup.py directory."""
    cwd = Path.cwd().resolve()
    return os.path.relpath(path, cwd) if path.is_relative_to(cwd) else str(path)


ffibuilder = FFI()
ffibuilder.cdef(cdef_from_header(HEADER.read_text()))
# The round-robin rule's orders come from the caller's numpy random stream
# (struct fs_rrr, native_fill.RoundRobinOrders).
ffibuilder.cdef('extern "Python" int fs_rrr_order_py(void *, int64_t, const int64_t **, int64_t *);')
# ... and the random rule's batches run its own Python code (struct fs_random, native_fill.RandomDraws).
ffibuilder.cdef('extern "Python" int fs_random_place_py(void *, int64_t, int64_t, const int64_t *, int64_t *);')
ffibuilder.set_source(
    "fairshare._fill",
    '#include "fill.h"',
    sources=[_relative(HERE / "fill.c")],
    include_dirs=[str(HERE)],
    extra_compile_args=["-O2", "-ffp-contract=off", "-fno-fast-math", "-std=gnu11"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=False)
