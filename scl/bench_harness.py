"""Run the lockbench C harness for one lock and one workload.

The harness binaries are built by `make install` against the installed
library and live in `scl config --bench-dir` (no source tree needed):
  lockbench-pthread  plain pthread program: locks mutex, spin, ticket; the
                     same binary runs under LD_PRELOAD=libscl-preload.so
  lockbench-scl      linked against libscl.so: adds the u-SCL lock
The workloads come from scl/bench_scenarios.py.
"""
from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from scl.bench_scenarios import SCENARIOS
from scl.paths import native_paths

# lock name on the command line -> (binary variant, --lock argument, needs preload)
LOCKS = {
    "mutex": ("pthread", "mutex", False),
    "spin": ("pthread", "spin", False),
    "ticket": ("pthread", "ticket", False),
    "uscl": ("scl", "uscl", False),
    "preload": ("pthread", "mutex", True),
}


class BenchError(RuntimeError):
    """Finding or running the harness failed."""


def binary(variant: str) -> Path:
    """The installed harness binary of one variant."""
    if variant not in ("pthread", "scl"):
        raise ValueError(f"unknown harness variant {variant!r}")
    path = native_paths().bench_dir / f"lockbench-{variant}"
    if not os.access(path, os.X_OK):
        raise BenchError(f"harness {path} not installed; run `make install` in the repository root")
    return path


@dataclass
class Harness:
    """Binaries for the locks asked for."""
    binaries: dict[str, Path]
    preload_lib: Path | None

    @classmethod
    def for_locks(cls, locks: list[str]) -> "Harness":
        variants = {LOCKS[name][0] for name in locks}
        preload = native_paths().preload if "preload" in locks else None
        return cls({v: binary(v) for v in sorted(variants)}, preload)

    def run(self, lock: str, scenario: str, duration_s: float,
            slice_us: int | None = None) -> dict:
        """One run of one lock in one scenario; the harness's JSON as a dict."""
        variant, lock_arg, preload = LOCKS[lock]
        cmd = [str(self.binaries[variant]), "--lock", lock_arg, *SCENARIOS[scenario].harness_args(),
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
