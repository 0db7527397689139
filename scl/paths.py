"""Where the native build lives: scl/_native/{lib,include} inside the package.

`make install` (native/Makefile's install target with PREFIX=<repo>/scl/_native)
puts libscl.so, libscl-preload.so, the headers, scl.pc and the lockbench
harness binaries (libexec/scl) there.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
NATIVE_PREFIX = PACKAGE_DIR / "_native"


class NativeBuildMissing(RuntimeError):
    """The C library has not been built and installed into the package."""


@dataclass(frozen=True)
class NativePaths:
    prefix: Path

    @property
    def libdir(self) -> Path:
        return self.prefix / "lib"

    @property
    def includedir(self) -> Path:
        return self.prefix / "include"

    @property
    def pc_path(self) -> Path:
        return self.libdir / "pkgconfig"

    @property
    def library(self) -> Path:
        return self.libdir / "libscl.so"

    @property
    def preload(self) -> Path:
        return self.libdir / "libscl-preload.so"

    @property
    def bench_dir(self) -> Path:
        """The lockbench harness binaries (lockbench-pthread, lockbench-scl)."""
        return self.prefix / "libexec" / "scl"

    @property
    def header(self) -> Path:
        return self.includedir / "scl.h"

    def cflags(self) -> list[str]:
        return [f"-I{self.includedir}", "-pthread"]

    def libs(self) -> list[str]:
        # The rpath lets programs run without LD_LIBRARY_PATH.
        return [f"-L{self.libdir}", f"-Wl,-rpath,{self.libdir}", "-lscl", "-pthread"]

    def missing(self) -> list[Path]:
        wanted = [self.library, self.preload, self.header, self.pc_path / "scl.pc"]
        return [p for p in wanted if not p.exists()]


def native_paths(require: bool = True) -> NativePaths:
    """Paths of the installed native build; NativeBuildMissing when absent."""
    paths = NativePaths(NATIVE_PREFIX)
    if require:
        missing = paths.missing()
        if missing:
            raise NativeBuildMissing(
                f"the native SCL build is missing ({', '.join(str(p) for p in missing)}); "
                "run `make install` in the repository root")
    return paths
