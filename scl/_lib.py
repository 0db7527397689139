"""The compiled binding, imported on first use with a clear error when missing."""
from __future__ import annotations

try:
    from scl._ffi import ffi, lib  # noqa: F401  (re-exported)
except ImportError as exc:  # pragma: no cover - depends on the build state
    raise ImportError(
        "scl's C extension (scl/_ffi) is not built or does not load "
        f"({exc}); run `make install` in the repository root") from exc
