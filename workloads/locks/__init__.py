"""Lock workloads with known behaviour, for the eBPF tracers and benchmarks.

- `subversion`: threads with different critical-section lengths under one
  pthread mutex (the scheduler-subversion toy case: 1 us vs 3 us), printing
  each thread's own hold-time measurement as JSON.
- `subversion_scl`: the same program on the kit's u-SCL mutex (needs
  `make install` to have built libscl.so; its place comes from `scl config`,
  the one place that knows where the native build lives).
- `kvstore`: insert threads against find threads on Kyoto Cabinet's
  in-memory tree database, whose operations all take one database-wide
  pthread rwlock (needs Debian's libkyotocabinet-dev); prints each thread's
  class, operations and CPU time as JSON.
- `shared_lock`: threads taking turns on one plain pthread mutex, driven
  on stdin (start, stop one thread) so a launcher can place each thread in
  a cgroup first; the node-level end-to-end run uses it under the
  LD_PRELOAD interposer.
- `rename_storm`: the rename-lock case: bully threads renaming across two
  directories of many files, victims across two empty ones; kernel lock
  contention shows in lock:contention_begin/end.

Both are C programs compiled on first use (`binary(name)`) into a build
directory next to this file (or $SHAREKIT_BUILD_DIR).  Run one with
`python -m workloads.locks NAME ARGS...`.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SOURCES = {"subversion": "subversion.c", "subversion_scl": "subversion.c", "rename_storm": "rename_storm.c",
           "kvstore": "kvstore.c", "shared_lock": "shared_lock.c"}
LIBRARIES = {"subversion_scl": ["-lscl"], "kvstore": ["-lkyotocabinet"]}
_HERE = Path(__file__).resolve().parent


class NativeLibraryMissing(RuntimeError):
    """The kit's libscl.so is not built, so SCL variants cannot be."""


def scl_native_dirs() -> tuple[Path, Path]:
    """(include dir, lib dir) of the kit's native build, as `scl config` prints them.

    Asked of the command rather than imported: this package sits below `scl`.
    """
    result = subprocess.run([sys.executable, "-m", "scl.cli", "config", "--includedir", "--libdir"],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise NativeLibraryMissing(result.stderr.strip() or "`scl config` failed: run `make install`")
    include, lib = result.stdout.split()
    return Path(include), Path(lib)


def _extra_flags(name: str) -> tuple[list[str], list[Path]]:
    """Compiler flags and extra inputs (for staleness) of a workload."""
    if name != "subversion_scl":
        return [], []
    include, lib = scl_native_dirs()
    return ([f"-I{include}", "-DUSE_SCL", f"-L{lib}", f"-Wl,-rpath,{lib}"],
            [include / "scl.h", (lib / "libscl.so").resolve()])


def build_dir() -> Path:
    explicit = os.environ.get("SHAREKIT_BUILD_DIR")
    return Path(explicit) / "locks" if explicit else _HERE / "_build"


def binary(name: str) -> Path:
    """Path of the compiled workload, (re)building it when its source is newer."""
    if name not in SOURCES:
        raise ValueError(f"unknown lock workload {name!r} (choose from {', '.join(SOURCES)})")
    source = _HERE / SOURCES[name]
    target = build_dir() / name
    flags, inputs = _extra_flags(name)
    newest = max(p.stat().st_mtime for p in [source, *inputs])
    if target.exists() and target.stat().st_mtime >= newest:
        return target
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise RuntimeError("no C compiler (cc/gcc) to build the lock workloads: apt-get install build-essential")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Build beside the target and rename, so concurrent builders never see half a file.
    fd, partial = tempfile.mkstemp(prefix=f".{name}.", dir=target.parent)
    os.close(fd)
    try:
        libs = LIBRARIES.get(name, [])
        result = subprocess.run([compiler, "-O2", "-g", "-Wall", "-pthread", *flags[:2], "-o", partial,
                                 str(source), *flags[2:], *libs], capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"building {source.name} failed:\n{result.stderr.strip()}")
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return target
