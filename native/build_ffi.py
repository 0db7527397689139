"""cffi builder for `scl._ffi` (out-of-line API mode).

The cdef is generated from the public header native/include/scl.h, so the
binding cannot drift from the C API: declarations are kept, preprocessor
lines, comments and attributes are dropped, and the opaque lock types
(`typedef struct scl_mutex scl_mutex_t;`) become partial structs
(`{ ...; }`) whose real size the C compiler fills in from scl_types.h.
That lets `ffi.new("scl_mutex_t *")` allocate a lock of the right size.

setup.py names this module in `cffi_modules`; `python native/build_ffi.py`
runs that same build (setup.py build_ext --inplace).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from cffi import FFI

NATIVE = Path(__file__).resolve().parent
HEADER = NATIVE / "include" / "scl.h"

# Types scl.h takes from system headers.  `...` leaves their exact size and
# field offsets to the compiler.
PRELUDE = """
typedef int... pid_t;
typedef int... clockid_t;
typedef int... time_t;
struct timespec { time_t tv_sec; long tv_nsec; ...; };
#define CLOCK_REALTIME ...
#define CLOCK_MONOTONIC ...
"""


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def _drop_cplusplus_blocks(lines: list[str]) -> list[str]:
    """Remove `#ifdef __cplusplus ... #endif` (the extern "C" wrapper)."""
    out, depth, skipping_at = [], 0, None
    for line in lines:
        s = line.strip()
        if s.startswith("#if"):
            depth += 1
            if skipping_at is None and "__cplusplus" in s:
                skipping_at = depth
                continue
        elif s.startswith("#endif"):
            depth -= 1
            if skipping_at is not None and depth < skipping_at:
                skipping_at = None
                continue
        if skipping_at is None:
            out.append(line)
    return out


def _remove_balanced(text: str, keyword: str) -> str:
    """Delete every `keyword(( ... ))` with balanced parentheses."""
    while True:
        i = text.find(keyword)
        if i < 0:
            return text
        j = text.find("(", i)
        depth = 0
        for k in range(j, len(text)):
            depth += {"(": 1, ")": -1}.get(text[k], 0)
            if depth == 0:
                break
        text = text[:i] + text[k + 1:]


def _remove_function_bodies(text: str) -> str:
    """`static inline` helpers cannot go into a cdef: drop them entirely."""
    while True:
        m = re.search(r"\bstatic\s+(?:__)?inline\b", text)
        if not m:
            return text
        start = text.find("{", m.end())
        depth = 0
        for k in range(start, len(text)):
            depth += {"{": 1, "}": -1}.get(text[k], 0)
            if depth == 0:
                break
        text = text[:m.start()] + text[k + 1:]


def cdef_from_header(header_text: str) -> str:
    """The cdef for scl.h's declarations (without PRELUDE)."""
    text = _strip_comments(header_text).replace("\\\n", " ")
    kept = []
    for line in _drop_cplusplus_blocks(text.splitlines()):
        s = line.strip()
        if s.startswith("#"):
            m = re.match(r"#\s*define\s+(SCL_\w+)\s+(-?\d+)[uUlL]*\s*$", s)
            if m:
                kept.append(f"#define {m.group(1)} {m.group(2)}")
            continue
        kept.append(line)
    body = "\n".join(kept)
    for kw in ("__attribute__", "_Static_assert", "static_assert", "_Alignas"):
        body = _remove_balanced(body, kw)
    body = _remove_function_bodies(body)
    body = re.sub(r"\b(?:extern|__restrict|restrict|__inline)\b", "", body)
    body = re.sub(r";\s*;", ";", body)

    defined = set(re.findall(r"\bstruct\s+(\w+)\s*\{", body))

    def open_struct(m: re.Match) -> str:
        tag, name = m.group(1), m.group(2)
        if tag in defined:
            return m.group(0)
        return f"typedef struct {tag} {{ ...; }} {name};"

    body = re.sub(r"typedef\s+struct\s+(\w+)\s+(\w+)\s*;", open_struct, body)
    return re.sub(r"\n\s*\n+", "\n", body).strip() + "\n"


def declared_functions(header_text: str) -> set[str]:
    """Names of the functions a header declares (for the sync test)."""
    cdef = cdef_from_header(header_text)
    cdef = re.sub(r"\{[^{}]*\}", "{}", cdef)     # struct bodies hold no functions
    return set(re.findall(r"\b(scl_\w+)\s*\(", cdef))


def _library_sources() -> list[str]:
    sources = sorted((NATIVE / "src").glob("*.c"))
    if not sources:
        raise RuntimeError(f"no C sources in {NATIVE / 'src'}: the SCL library is not there yet")
    # setuptools wants paths relative to the setup.py directory when it can.
    cwd = Path.cwd().resolve()
    return [os.path.relpath(p, cwd) if p.is_relative_to(cwd) else str(p) for p in sources]


ffibuilder = FFI()
ffibuilder.cdef(PRELUDE + cdef_from_header(HEADER.read_text()))
ffibuilder.set_source(
    "scl._ffi",
    '#include <time.h>\n#include "scl.h"\n',
    sources=_library_sources(),
    include_dirs=[str(NATIVE / "include"), str(NATIVE / "src")],
    extra_compile_args=["-O2", "-pthread"],
    libraries=["pthread"],
)

if __name__ == "__main__":
    # Same build as the package's, objects kept under build/.
    import subprocess
    import sys
    sys.exit(subprocess.call([sys.executable, "setup.py", "-q", "build_ext", "--inplace"],
                             cwd=NATIVE.parent))
