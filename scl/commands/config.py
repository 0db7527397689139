"""Print what a C build needs to use libscl (absolute paths).

  cc prog.c $(scl config --cflags --libs)
  PKG_CONFIG_PATH=$(scl config --pc-path) pkg-config --cflags --libs scl
  LD_PRELOAD=$(scl config --preload) ./unmodified-pthread-program

Several options print their values space-separated on one line, in the
order given.  Without options, every value is listed with its name.
"""
from __future__ import annotations

import argparse
import sys

from scl.paths import NativeBuildMissing, native_paths

_FIELDS = {
    "cflags": lambda p: " ".join(p.cflags()),
    "libs": lambda p: " ".join(p.libs()),
    "preload": lambda p: str(p.preload),
    "libdir": lambda p: str(p.libdir),
    "includedir": lambda p: str(p.includedir),
    "pc_path": lambda p: str(p.pc_path),
    "bench_dir": lambda p: str(p.bench_dir),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    for name, helptext in (
            ("cflags", "compiler flags (-I..., -pthread)"),
            ("libs", "linker flags with an rpath (-L... -Wl,-rpath,... -lscl)"),
            ("preload", "path of libscl-preload.so, for LD_PRELOAD"),
            ("libdir", "directory holding libscl.so"),
            ("includedir", "directory holding scl.h"),
            ("pc-path", "directory holding scl.pc, for PKG_CONFIG_PATH"),
            ("bench-dir", "directory holding the lockbench harness binaries (scl bench)")):
        parser.add_argument(f"--{name}", dest="wanted", action="append_const",
                            const=name.replace("-", "_"), help=helptext)


def run(args: argparse.Namespace) -> int:
    try:
        paths = native_paths()
    except NativeBuildMissing as exc:
        print(f"scl config: error: {exc}", file=sys.stderr)
        return 1
    if not args.wanted:
        for name, value in _FIELDS.items():
            print(f"{name.replace('_', '-'):<11} {value(paths)}")
        return 0
    print(" ".join(_FIELDS[name](paths) for name in args.wanted))
    return 0
