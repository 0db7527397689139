"""The cffi binding must declare exactly what scl.h declares."""
from __future__ import annotations

import importlib.util

import cffi

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _builder_module():
    spec = importlib.util.spec_from_file_location("build_ffi_under_test", REPO / "native" / "build_ffi.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_header_function_is_in_the_extension():
    from scl._lib import lib
    builder = _builder_module()
    declared = builder.declared_functions((REPO / "native" / "include" / "scl.h").read_text())
    assert {"scl_mutex_lock", "scl_mutex_unlock", "scl_cond_wait", "scl_rwlock_wrlock",
            "scl_mutex_stats", "scl_nice_to_weight"} <= declared
    missing = sorted(name for name in declared if not hasattr(lib, name))
    assert not missing, f"declared in scl.h but not in scl._ffi: {missing}"


def test_generated_cdef_parses_and_opaque_types_are_sized():
    from scl._lib import ffi
    builder = _builder_module()
    cdef = builder.cdef_from_header((REPO / "native" / "include" / "scl.h").read_text())
    cffi.FFI().cdef(builder.PRELUDE + cdef)        # raises on anything cffi cannot parse
    for ctype in ("scl_mutex_t", "scl_cond_t", "scl_rwlock_t"):
        assert ffi.sizeof(ctype) > 0


def test_cdef_generator_handles_attributes_inline_and_cplusplus():
    builder = _builder_module()
    header = """
    #ifdef __cplusplus
    extern "C" {
    #endif
    #define SCL_X 3
    typedef struct scl_thing scl_thing_t;   /* opaque */
    __attribute__((noinline)) void scl_hook(const void *p, int a);
    static inline int scl_helper(int x) { if (x) { return 1; } return 0; }
    int scl_use(scl_thing_t *t);
    #ifdef __cplusplus
    }
    #endif
    """
    cdef = builder.cdef_from_header(header)
    assert "extern" not in cdef and "__attribute__" not in cdef and "scl_helper" not in cdef
    assert "typedef struct scl_thing { ...; } scl_thing_t;" in cdef
    assert builder.declared_functions(header) == {"scl_hook", "scl_use"}
    cffi.FFI().cdef(cdef)
