"""Build and run the lockbench C harness (native/bench/lockbench.c).

Two binaries are built with gcc into a cache directory, keyed by a hash of
everything they depend on so edits and library rebuilds are picked up:
  lockbench-pthread  plain pthread program: locks mutex, spin, ticket; the
                     same binary runs under LD_PRELOAD=libscl-preload.so
  lockbench-scl      linked against libscl.so: adds the u-SCL lock
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from scl.paths import PACKAGE_DIR, native_paths

SOURCE = PACKAGE_DIR.parent / "native" / "bench" / "lockbench.c"
CFLAGS = ["-O2", "-g", "-Wall", "-Wextra", "-pthread", "-std=gnu11"]

# lock name on the command line -> (binary variant, --lock argument, needs preload)
LOCKS = {
    "mutex": ("pthread", "mutex", False),
    "spin": ("pthread", "spin", False),
    "ticket": ("pthread", "ticket", False),
    "uscl": ("scl", "uscl", False),
    "preload": ("pthread", "mutex", True),
}
SCENARIOS = "abcdef"


class BenchError(RuntimeError):
    """Building or running the harness failed."""


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "sharekit" / "scl-bench"


def _digest(paths: list[Path], extra: str = "") -> str:
    h = hashlib.sha256(extra.encode())
    for p in paths:
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def build(variant: str, out_dir: Path | None = None) -> Path:
    """Compile one variant (cached); returns the binary's path."""
    if not SOURCE.exists():
        raise BenchError(f"benchmark source {SOURCE} not found (scl bench runs from a source checkout)")
    out_dir = out_dir or cache_dir()
    cmd = ["gcc", *CFLAGS]
    deps = [SOURCE]
    if variant == "scl":
        native = native_paths()
        deps += sorted(native.includedir.glob("*.h")) + [native.library]
        cmd += ["-DWITH_SCL", *native.cflags()]
        link = native.libs()
    elif variant == "pthread":
        link = ["-pthread"]
    else:
        raise ValueError(f"unknown harness variant {variant!r}")
    binary = out_dir / f"lockbench-{variant}-{_digest(deps, ' '.join(cmd + link))}"
    if binary.exists():
        return binary
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = binary.with_suffix(f".tmp{os.getpid()}")
    proc = subprocess.run([*cmd, str(SOURCE), "-o", str(tmp), *link],
                          capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise BenchError(f"compiling {SOURCE.name} ({variant}) failed:\n{proc.stderr.strip()}")
    tmp.replace(binary)
    return binary


@dataclass
class Harness:
    """Binaries for the locks asked for, built once per `scl bench` run."""
    binaries: dict[str, Path]
    preload_lib: Path | None

    @classmethod
    def for_locks(cls, locks: list[str]) -> "Harness":
        variants = {LOCKS[name][0] for name in locks}
        preload = native_paths().preload if "preload" in locks else None
        return cls({v: build(v) for v in sorted(variants)}, preload)

    def run(self, lock: str, scenario: str, duration_s: float,
            slice_us: int | None = None) -> dict:
        """One run of one lock in one scenario; the harness's JSON as a dict."""
        variant, lock_arg, preload = LOCKS[lock]
        cmd = [str(self.binaries[variant]), "--lock", lock_arg, "--scenario", scenario,
               "--duration", f"{duration_s:g}"]
        if slice_us is not None and variant == "scl":
            cmd += ["--slice-us", str(slice_us)]
        env = dict(os.environ)
        env.pop("LD_PRELOAD", None)
        if preload:
            env["LD_PRELOAD"] = str(self.preload_lib)
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env,
                                  timeout=duration_s * 5 + 30)
        except subprocess.TimeoutExpired:
            raise BenchError(f"{lock}/{scenario}: harness did not finish in time") from None
        if proc.returncode != 0:
            raise BenchError(f"{lock}/{scenario}: harness exited {proc.returncode}: "
                             f"{proc.stderr.strip()[-2000:]}")
        try:
            result = json.loads(proc.stdout)
        except json.JSONDecodeError as exc:
            raise BenchError(f"{lock}/{scenario}: harness printed invalid JSON ({exc})") from None
        result["lock"] = lock       # "preload" runs report themselves as "mutex"
        return result
