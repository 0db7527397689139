"""Randomised round robin's single-task pick (`pick_one_state`) equals its
batch rule (`place(n, 1, room row)`): same servers, same cursor moves, so
whole fills give equal matrices with and without it.  These are the Python
loop's two paths (FAIRSHARE_PURE_PYTHON=1); test_fs_native.py compares the
C loop with that reference."""
import numpy as np
import pytest

from fairshare import native_fill
from fairshare.criteria import CRITERIA
from fairshare.filling import FillState, fill, make_selection, progressive_fill
from fairshare.model import Constraints, Framework, Problem, Server
from fairshare.selection.round_robin import RandomRoundRobin
from fairshare.workload import synthetic_problem
from loops_support import both_loops, event_snapshots


def tight_problem(seed: int, n_servers: int, n_frameworks: int) -> Problem:
    """Servers with room for one or two tasks of most frameworks, so servers run
    full, cursors wrap past full positions, and the last server with room for
    one task is often the only one left (place()'s cursor-keeping branch)."""
    rng = np.random.default_rng(seed)
    servers = [Server(f"s{i}", {"cpu": float(rng.choice([1, 2, 3])), "mem": float(rng.choice([2, 4]))},
                      {"t": str(i % 2)}) for i in range(n_servers)]
    frameworks = [Framework(f"f{n}", {"cpu": float(rng.choice([1, 1.5])), "mem": 1.0}, float(rng.choice([1, 2])),
                            int(rng.integers(1, 6)) if n % 3 == 0 else None,
                            Constraints(labels={"t": ("1",)}) if n % 4 == 1 and n_servers > 1 else Constraints())
                  for n in range(n_frameworks)]
    return Problem(servers, frameworks)


INSTANCES = [("tight", s, 30, 12) for s in range(6)] + [("tight", 6, 1, 3), ("tight", 7, 200, 40),
                                                       ("synthetic", 8, 300, 60), ("synthetic", 9, 50, 200)]


def make(kind, seed, servers, frameworks):
    if kind == "synthetic":
        return synthetic_problem(servers, frameworks, 4, 0.3, seed)
    return tight_problem(seed, servers, frameworks)


@pytest.mark.parametrize("inst", INSTANCES, ids=lambda t: f"{t[0]}{t[1]}-{t[2]}x{t[3]}")
@pytest.mark.parametrize("crit", ["drf", "drfh", "tsf"])
def test_single_task_picks_equal_the_batch_rule(monkeypatch, inst, crit):
    monkeypatch.setenv("FAIRSHARE_PURE_PYTHON", "1")
    p = make(*inst)
    picks = []
    real = RandomRoundRobin.pick_one_state

    def counted(self, n, state):
        i = real(self, n, state)
        picks.append(i)
        return i
    monkeypatch.setattr(RandomRoundRobin, "pick_one_state", counted)
    got = progressive_fill(p, CRITERIA[crit], "rrr", seed=4).x
    monkeypatch.setattr(RandomRoundRobin, "pick_one_state", None)
    ref = progressive_fill(p, CRITERIA[crit], "rrr", seed=4).x
    assert ref.sum() > 0 and picks, "the single-task path was not exercised"
    assert np.array_equal(ref, got)


def test_from_a_partial_allocation(monkeypatch):
    monkeypatch.setenv("FAIRSHARE_PURE_PYTHON", "1")
    p = tight_problem(11, 80, 30)
    start = progressive_fill(p, CRITERIA["drf"], "rrr", seed=1, active=np.arange(30) % 3 == 0).x // 2
    active = np.arange(30) % 4 != 1
    got = progressive_fill(p, CRITERIA["drf"], "rrr", seed=2, initial=start, active=active).x
    monkeypatch.setattr(RandomRoundRobin, "pick_one_state", None)
    ref = progressive_fill(p, CRITERIA["drf"], "rrr", seed=2, initial=start, active=active).x
    assert np.array_equal(ref, got)


def test_room_checks_agree_with_the_room_row():
    """room_one (Python floats) and first_with_room (one numpy pass) say what
    room_row says, also for free amounts a hair below and above a whole task."""
    p = tight_problem(3, 40, 12)
    state = FillState(p)
    rng = np.random.default_rng(0)
    for _ in range(20):
        d = p.demand[rng.integers(0, p.n_frameworks)]
        k = rng.integers(0, 3, size=(p.n_servers, 1))
        state.free[:] = np.minimum(p.capacity, k * d + rng.choice([-2e-9, -1e-12, 0.0, 1e-12], size=(p.n_servers, 1)))
        state.free[:] = np.maximum(state.free, 0.0)
        for n in range(p.n_frameworks):
            servers = np.flatnonzero(p.eligible[n])
            room = state.room_row(n, servers)
            assert [state.room_one(n, int(i)) for i in servers] == room.tolist()
            hits = np.flatnonzero(room >= 1)
            assert state.first_with_room(n, servers) == (int(hits[0]) if len(hits) else -1)


# -- the C loop (fairshare/native/fill.c) against the Python reference ----------

needs_c = pytest.mark.skipif(native_fill.lib is None, reason="fairshare._fill is not built (make install)")


@needs_c
@pytest.mark.parametrize("inst", INSTANCES, ids=lambda t: f"{t[0]}{t[1]}-{t[2]}x{t[3]}")
@pytest.mark.parametrize("crit", ["drf", "drfh", "tsf", "bfdrf"])
def test_c_round_robin_equals_python(monkeypatch, inst, crit):
    """Orders drawn at the same points of the fill (so from the same stream
    positions), the same single picks, batches and cursor moves."""
    p = make(*inst)
    ref, got = both_loops(monkeypatch, lambda: progressive_fill(p, CRITERIA[crit], "rrr", seed=4).x)
    assert ref.sum() > 0
    assert np.array_equal(ref, got)


@needs_c
def test_c_round_robin_leaves_the_rule_as_python_does(monkeypatch):
    """The same orders drawn for the same frameworks and the same cursors at
    the end (a caller could go on with the rule object)."""
    p = tight_problem(5, 60, 20)

    def run():
        sel = make_selection(p, "rrr", seed=9)
        state = FillState(p)
        fill(p, CRITERIA["drf"](p), state, np.ones(p.n_frameworks, dtype=bool), sel)
        return state.x_server, {n: o.tolist() for n, o in sel.order.items()}, dict(sel.cursor)

    (x_ref, orders_ref, cur_ref), (x_got, orders_got, cur_got) = both_loops(monkeypatch, run)
    assert np.array_equal(x_ref, x_got)
    assert orders_ref == orders_got and cur_ref == cur_got and len(orders_ref) == p.n_frameworks


@needs_c
def test_c_round_robin_online_events(monkeypatch):
    """The re-allocator keeps a room cache across events, which the C batches read."""
    p = tight_problem(12, 60, 25)
    events = (("arrive", 21), ("leave", 3), ("arrive", 22), ("leave", 10), ("leave", 21))
    ref, got = both_loops(monkeypatch, lambda: event_snapshots(p, "drf", events, np.arange(25) < 20, "rrr", 3))
    assert ref[-1].sum() > 0
    assert np.array_equal(ref, got)


@needs_c
def test_c_round_robin_passes_on_a_failed_draw(monkeypatch):
    """An exception while drawing an order (in the callback from C) ends the
    fill with that exception, and the state's caches know what was placed."""
    p = tight_problem(2, 30, 12)
    monkeypatch.setenv("FAIRSHARE_PURE_PYTHON", "0")
    sel = make_selection(p, "rrr", seed=1)
    real, calls = sel._order, []

    def failing(n):
        calls.append(n)
        if len(calls) == 5:
            raise MemoryError("no room for an order")
        return real(n)
    sel._order = failing
    state = FillState(p)
    with pytest.raises(MemoryError, match="no room for an order"):
        fill(p, CRITERIA["drf"](p), state, np.ones(p.n_frameworks, dtype=bool), sel)
    assert state.x.sum() > 0  # four frameworks had their turn before the fifth draw
    assert np.allclose(state.free, p.capacity - state.x_server.T @ p.demand)
    assert set(state.changed_since(0).tolist()) == set(np.flatnonzero(state.x_server.sum(axis=0)).tolist())
