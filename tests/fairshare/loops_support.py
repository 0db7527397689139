"""Shared by the tests that compare the C fill with the Python loops."""
import numpy as np

from fairshare.criteria import CRITERIA
from fairshare.online import Reallocator


def both_loops(monkeypatch, run):
    """run() under the pure-Python loops, then under the C fill: (reference, C)."""
    monkeypatch.setenv("FAIRSHARE_PURE_PYTHON", "1")
    ref = run()
    monkeypatch.setenv("FAIRSHARE_PURE_PYTHON", "0")
    return ref, run()


def event_snapshots(problem, crit: str, events, active, selection=None, seed: int = 0) -> np.ndarray:
    """The re-allocator's matrix after start-up and after each (kind, framework) event."""
    r = Reallocator(problem, CRITERIA[crit], selection=selection, seed=seed, active=active)
    snaps = [r.state.x_server.copy()]
    for kind, n in events:
        getattr(r, kind)(n)
        snaps.append(r.state.x_server.copy())
    return np.stack(snaps)
