"""The named traces `sfs bench` runs, each at 80% offered load on the given cores.

- ``synthetic``: the CPU-bound mix of :mod:`workloads.synthetic`, Poisson arrivals.
- ``bursty``: the same mix, arrivals in bursts (mean 5 calls, 10x denser
  inside a burst than between bursts).
- ``azure2021``: the bundled Azure Functions 2021 sample (199 calls, 31
  functions) shaped by :func:`workloads.azure2021.shaped`: its arrival order,
  bursts of simultaneous calls and per-function regularity are kept,
  durations are scaled by 1/20 within [20 ms, 1 s].
- ``sfs-paper``: the first calls of the SFS paper's standalone trace (fib
  durations from the table beside it).  Not bundled (no licence): found
  through $SHAREKIT_TRACE_DIR; ``None`` when absent.

Sizes are chosen so the 80% replay spans about 60 s of arrivals (``quick``:
about 15 s), enough for a short-call p99 that is not one or two jobs.
"""
from __future__ import annotations

from workloads.invocation import Invocation
from workloads.load import limit, rescale_to_load

NAMES = ("synthetic", "bursty", "azure2021", "sfs-paper")
LOAD = 0.8
_MEAN_SYNTHETIC_S = 0.31   # mean service of the cpu-bound mix


def _span_s(quick: bool) -> float:
    return 15.0 if quick else 60.0


def bench_trace(name: str, cores: int, quick: bool = False, seed: int = 0) -> list[Invocation] | None:
    """The invocations of trace `name` at 80% load on `cores` cores (first arrival at 0)."""
    if name in ("synthetic", "bursty"):
        from workloads.synthetic import generate
        count = max(10, round(_span_s(quick) * LOAD * cores / _MEAN_SYNTHETIC_S))
        return generate(count, cores, LOAD, arrivals="poisson" if name == "synthetic" else "bursty", seed=seed)
    if name == "azure2021":
        from workloads.azure2021 import SAMPLE, read_azure2021, shaped
        invs = shaped(read_azure2021(SAMPLE))
        return rescale_to_load(limit(invs, 80 if quick else None), LOAD, cores)
    if name == "sfs-paper":
        from workloads.sfs_standalone import find_shared_trace, read_sfs_standalone
        path = find_shared_trace()
        if path is None:
            return None
        return rescale_to_load(limit(read_sfs_standalone(path), 60 if quick else 200), LOAD, cores)
    raise ValueError(f"unknown bench trace {name!r} (choose from {', '.join(NAMES)})")
