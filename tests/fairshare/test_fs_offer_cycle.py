"""The offer cycles' C rounds (fairshare/native/fill.c, fs_offer_round)
equal the Python loop of online.offer_cycle, and the C room matrix equals
Problem.fit_counts.

test_fs_native.py compares every cycle on its small instances; here the
instances have many rounds ending with most servers full (the C code's
per-server candidate lists shrink and its room checks run on demand there),
near ties (an earlier framework within the tie margin of the lowest share
but without room), and starts from running tasks (the first rooms come from
fit_counts, later ones from the refresh formula)."""
import numpy as np
import pytest

from fairshare import native_fill
from fairshare.criteria import CRITERIA
from fairshare.filling import FillState, progressive_fill
from fairshare.model import Framework, Problem, Server
from fairshare.online import offer_cycle
from fairshare.policies import get_policy
from fairshare.workload import synthetic_problem

pytestmark = pytest.mark.skipif(native_fill.lib is None, reason="fairshare._fill is not built (make install)")


def near_tie_problem(seed: int, n_servers: int, n_frameworks: int) -> Problem:
    """Demands and weights scaled by the same factor: every DRF share unit is
    the same number mathematically, a few ulps apart in floats, so shares sit
    within the 1e-12 tie margin of each other without being equal and the
    tie rule (lowest index among near-equal shares with room) decides."""
    rng = np.random.default_rng(seed)
    servers = [Server(f"s{i}", {"cpu": float(rng.integers(4, 40)), "mem": float(rng.integers(8, 80))})
               for i in range(n_servers)]
    frameworks = []
    for n in range(n_frameworks):
        k = float(rng.choice([0.1, 0.3, 1, 3, 7, 2.5]))
        frameworks.append(Framework(f"f{n}", {"cpu": 1.0 * k, "mem": 2.0 * k}, k))
    return Problem(servers, frameworks)


def make(kind, seed, servers, frameworks):
    if kind == "near_tie":
        return near_tie_problem(seed, servers, frameworks)
    return synthetic_problem(servers, frameworks, 4, 0.3, seed)


def both_ways(monkeypatch, run):
    """(pure Python result, C result) of run()."""
    out = []
    for pure in ("1", "0"):
        monkeypatch.setenv("FAIRSHARE_PURE_PYTHON", pure)
        out.append(run())
    return tuple(out)


INSTANCES = [("synthetic", 7, 400, 60), ("synthetic", 8, 60, 300), ("near_tie", 1, 30, 12), ("near_tie", 4, 30, 12)]
CYCLES = [f"{c}{cycle}" for c in CRITERIA for cycle in ("_rr", "_mesos")]


@pytest.mark.parametrize("inst", INSTANCES, ids=lambda t: f"{t[0]}{t[1]}-{t[2]}x{t[3]}")
@pytest.mark.parametrize("policy", CYCLES)
def test_c_offer_cycle_equals_python(monkeypatch, inst, policy):
    p = make(*inst)
    ref, got = both_ways(monkeypatch, lambda: get_policy(policy)(p, 5).x)
    assert ref.sum() > 0
    assert np.array_equal(ref, got), f"{policy}: C and Python allocations differ"


@pytest.mark.parametrize("crit", ["drf", "psdsf", "rpsdsf"])
@pytest.mark.parametrize("fill_server", [False, True])
def test_c_offer_cycle_from_a_partial_allocation(monkeypatch, crit, fill_server):
    p = synthetic_problem(200, 40, 4, 0.3, 13)
    start = progressive_fill(p, CRITERIA["drfh"], active=np.arange(40) % 3 == 0).x // 2
    active = np.arange(40) % 4 != 1
    ref, got = both_ways(monkeypatch, lambda: offer_cycle(p, CRITERIA[crit], seed=2, fill_server=fill_server,
                                                          initial=start, active=active).x)
    assert (ref > start).any()
    assert np.array_equal(ref, got)


@pytest.mark.parametrize("inst", INSTANCES + [("synthetic", 9, 1, 5)], ids=lambda t: f"{t[0]}{t[1]}-{t[2]}x{t[3]}")
def test_c_fit_counts_by_server_equal_fit_counts(inst):
    """The offer cycle's server-major room matrix is fit_counts transposed,
    on full capacity and on a partly used cluster (rooms near boundaries,
    zero and huge rooms)."""
    p = make(*inst)
    used = progressive_fill(p, CRITERIA["drfh"]).x // 2
    assert used.any()
    call = native_fill._Call(p, FillState(p))
    for free in (p.capacity, p.capacity - used.T @ p.demand, p.capacity * 1e12, p.capacity * 0):
        assert np.array_equal(native_fill.fit_counts_by_server(p, call, free), p.fit_counts(free).T)
