"""The random rule in the C fill (fairshare/native/fill.c, FS_RULE_RANDOM)
equals the Python loop: the same Mersenne Twister draws as
random.Random._randbelow, the same candidate lists and rebuilds, batches
through the rule's own Python code, and the rule object left as the Python
loop leaves it.  The C path applies from RandomFit.state_pick_min_servers
servers on (below that the rule picks from the room matrix), so these
instances are at least that large."""
import random

import numpy as np
import pytest

from fairshare import native_fill
from fairshare.criteria import CRITERIA
from fairshare.filling import FillState, fill, make_selection, progressive_fill
from fairshare.model import Constraints, Framework, Problem, Server
from fairshare.selection.random_fit import RandomFit
from fairshare.workload import synthetic_problem
from loops_support import both_loops, event_snapshots

pytestmark = pytest.mark.skipif(native_fill.lib is None, reason="fairshare._fill is not built (make install)")

BIG = RandomFit.state_pick_min_servers


def test_draws_are_pythons():
    rng = random.Random(11)
    rng.random()  # start mid-block
    state = np.array(rng.getstate()[1], dtype=np.uint32)
    ptr = native_fill.ffi.cast("uint32_t *", native_fill.ffi.from_buffer(state))
    sizes = [1, 2, 3, 5, 7, 64, 1000, 10_001, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1] * 150  # past a 624-word refill
    assert [native_fill.lib.fs_mt_below(ptr, n) for n in sizes] == [rng._randbelow(n) for n in sizes]
    assert tuple(state.tolist()) == rng.getstate()[1]


def batchy_problem(seed: int) -> Problem:
    """Few frameworks on many servers: long batches (RandomFit.place through the
    callback), a task cap, a label constraint, and one framework whose batch is
    large enough for the multinomial rounds (numpy's stream, outside the C code)."""
    rng = np.random.default_rng(seed)
    servers = [Server(f"s{i}", {"cpu": float(rng.choice([2, 4, 8, 400])), "mem": float(rng.choice([4, 16, 800]))},
                      {"t": str(i % 3)}) for i in range(BIG + 50)]
    frameworks = [Framework("a", {"cpu": 1.0, "mem": 1.0}),
                  Framework("b", {"cpu": 0.5, "mem": 2.0}, 2.0, 700),
                  Framework("c", {"cpu": 1.5, "mem": 0.5}, 1.0, None, Constraints(labels={"t": ("1",)}))]
    return Problem(servers, frameworks)


def noisy_problem(seed: int) -> Problem:
    """Tenths of a unit-sized server: after nine 0.1-cpu tasks the free cpu is
    0.09999999999999987, a whole task only within the fit tests' 1e-9."""
    rng = np.random.default_rng(seed)
    servers = [Server(f"s{i}", {"cpu": 1.0, "mem": float(rng.choice([1.0, 0.9]))}) for i in range(BIG + 10)]
    frameworks = [Framework(f"f{k}", {"cpu": d, "mem": m}) for k, (d, m) in
                  enumerate([(0.1, 0.1), (0.3, 0.1), (0.1, 0.3), (0.7, 0.2), (0.2, 0.7), (0.1, 0.2)] * 4)]
    return Problem(servers, frameworks)


INSTANCES = [("synthetic", BIG + 99, 40, 0), ("synthetic", BIG + 500, 300, 1), ("batchy", 0, 0, 2),
             ("noisy", 0, 0, 3)]


def make(kind, servers, frameworks, seed):
    if kind == "batchy":
        return batchy_problem(seed)
    if kind == "noisy":
        return noisy_problem(seed)
    return synthetic_problem(servers, frameworks, 4, 0.3, seed)


@pytest.mark.parametrize("inst", INSTANCES, ids=lambda t: f"{t[0]}{t[3]}")
@pytest.mark.parametrize("crit", ["drf", "tsf", "drfh", "bfdrf"])
def test_c_random_rule_equals_python(monkeypatch, inst, crit):
    p = make(*inst)
    ref, got = both_loops(monkeypatch, lambda: progressive_fill(p, CRITERIA[crit], "random", seed=6).x)
    assert ref.sum() > 0
    assert np.array_equal(ref, got)


def test_batches_run_the_rules_own_code_with_the_stream_synced(monkeypatch):
    p = batchy_problem(3)
    calls = []
    real = RandomFit.place

    def counted(self, n, count, fit, free):
        calls.append(count)
        return real(self, n, count, fit, free)
    monkeypatch.setattr(RandomFit, "place", counted)
    ref, got = both_loops(monkeypatch, lambda: progressive_fill(p, CRITERIA["drf"], "random", seed=2).x)
    assert np.array_equal(ref, got)
    c_calls = calls[len(calls) // 2:]
    assert calls[:len(calls) // 2] == c_calls and max(c_calls) >= 64 * 100  # multinomial rounds reached


def test_rule_object_left_as_python_leaves_it(monkeypatch):
    p = synthetic_problem(BIG + 200, 80, 4, 0.3, 4)

    def run():
        sel = make_selection(p, "random", seed=8)
        state = FillState(p)
        fill(p, CRITERIA["drf"](p), state, np.ones(p.n_frameworks, dtype=bool), sel)
        cand = {n: (arr[:size].tolist(), size) for n, (arr, size) in sel._cand.items()}
        return state.x_server, sel.py_rng.getstate(), cand

    (x_ref, rng_ref, cand_ref), (x_got, rng_got, cand_got) = both_loops(monkeypatch, run)
    assert np.array_equal(x_ref, x_got)
    assert rng_ref == rng_got
    assert cand_ref == cand_got and len(cand_ref) == p.n_frameworks


def test_small_clusters_stay_in_python(monkeypatch):
    """Below state_pick_min_servers the rule draws from the room matrix: the C code declines."""
    p = synthetic_problem(BIG - 1, 10, 4, 0.3, 0)
    monkeypatch.setenv("FAIRSHARE_PURE_PYTHON", "0")
    state = FillState(p)
    assert not native_fill.fill_pooled(p, CRITERIA["drf"](p).unit(), make_selection(p, "random"), state,
                                       np.ones(p.n_frameworks, dtype=bool))
    assert state.x.sum() == 0


def test_online_events_with_the_random_rule(monkeypatch):
    p = synthetic_problem(BIG + 30, 30, 4, 0.3, 5)
    events = (("arrive", 26), ("leave", 3), ("arrive", 27), ("leave", 10))
    ref, got = both_loops(monkeypatch, lambda: event_snapshots(p, "drf", events, np.arange(30) < 25, "random", 2))
    assert ref[-1].sum() > 0
    assert np.array_equal(ref, got)


def test_a_failing_batch_ends_the_fill_with_its_exception(monkeypatch):
    p = batchy_problem(1)
    monkeypatch.setenv("FAIRSHARE_PURE_PYTHON", "0")

    def failing(self, n, count, fit, free):
        raise MemoryError("no room for a batch")
    monkeypatch.setattr(RandomFit, "place", failing)
    state = FillState(p)
    with pytest.raises(MemoryError, match="no room for a batch"):
        fill(p, CRITERIA["drf"](p), state, np.ones(p.n_frameworks, dtype=bool), make_selection(p, "random", 1))
    assert np.allclose(state.free, p.capacity - state.x_server.T @ p.demand)


@pytest.mark.parametrize("pure", ["1", "0"])
def test_servers_within_the_rebuilds_tolerance_only_end_the_fill(pure):
    """Servers of 7.999999997 cpu hold one 4-cpu task by fits_one (free >= demand - 1e-9)
    and two by the rebuild's relative test (fit_row).  Once every server had one task, the
    pick drew 32 misses, rebuilt the same 2,100 servers and drew again, forever, in both
    loops.  In a child process, so a regression fails instead of hanging."""
    import json
    import os
    import subprocess
    import sys
    code = ("import json; from fairshare.model import Framework, Problem, Server; "
            "from fairshare.policies import get_policy; "
            f"p = Problem([Server(f's{{i}}', {{'cpu': 7.999999997, 'mem': 64.0}}) for i in range({BIG + 99})], "
            "[Framework(f'f{k}', {'cpu': 4.0, 'mem': 1.0}) for k in range(2)]); "
            "print(json.dumps(get_policy('drf')(p, 0).x.sum(axis=1).tolist()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "FAIRSHARE_PURE_PYTHON": pure})
    assert out.returncode == 0, out.stderr
    counts = json.loads(out.stdout)
    # One task on every server by the single picks, then the last framework standing
    # fills the servers' second room (the batch's room row) in one step.
    assert sum(counts) == 2 * (BIG + 99) and min(counts) > 0
