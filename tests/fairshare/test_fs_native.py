"""The C fill (fairshare/native/fill.c) equals the Python loops it replaces.

The Python loops are the reference (test_fs_batching.py checks them against
task-by-task filling); here every criterion, every selection rule and the
online re-allocator run both ways on seeded random instances and the
allocation matrices must be equal element for element."""
import numpy as np
import pytest

from fairshare import native_fill
from fairshare.criteria import CRITERIA
from fairshare.filling import FillState, make_selection, progressive_fill
from fairshare.model import Constraints, Framework, Problem, Server
from fairshare.policies import get_policy
from fairshare.workload import synthetic_problem
from loops_support import both_loops, event_snapshots

pytestmark = pytest.mark.skipif(native_fill.lib is None, reason="fairshare._fill is not built (make install)")


def mixed_problem(seed: int, n_servers: int, n_frameworks: int) -> Problem:
    """Uneven servers, fractional and zero demands, weights, task caps,
    label constraints and a few large servers (long batches)."""
    rng = np.random.default_rng(seed)
    servers = []
    for i in range(n_servers):
        cap = {"cpu": float(rng.integers(1, 64)), "mem": float(rng.choice([0.5, 3, 16, 64, 256])),
               "gpu": float(rng.choice([0, 0, 1, 4]))}
        if rng.random() < 0.05:
            cap = {k: v * 40 for k, v in cap.items()}
        servers.append(Server(f"s{i}", cap, {"t": str(i % 3)}))
    frameworks = []
    for n in range(n_frameworks):
        d = {"cpu": float(rng.choice([0.1, 0.5, 1, 3])), "mem": float(rng.choice([0.25, 1, 2.5]))}
        if rng.random() < 0.2:
            d["gpu"] = 1.0
        cons = Constraints(labels={"t": ("0", "2")}) if rng.random() < 0.3 else Constraints()
        cap = int(rng.integers(1, 200)) if rng.random() < 0.2 else None
        frameworks.append(Framework(f"f{n}", d, float(rng.choice([1, 1, 2, 3.5])), cap, cons))
    return Problem(servers, frameworks)


def tied_problem(seed: int, n_servers: int, n_frameworks: int) -> Problem:
    """Water-level ties: a few server shapes repeated in shuffled order and
    frameworks sharing a handful of demands with equal weights, so hundreds
    of servers tie for the most room and frameworks at equal shares take
    turns on them (the lazy argmax walks past the entries others lowered);
    some task caps and label constraints."""
    rng = np.random.default_rng(seed)
    shapes = [{"cpu": 32.0, "mem": 64.0}, {"cpu": 16.0, "mem": 128.0}, {"cpu": 64.0, "mem": 32.0}]
    servers = [Server(f"s{i}", dict(shapes[int(k)]), {"t": str(i % 2)})
               for i, k in enumerate(rng.integers(0, len(shapes), n_servers))]
    demands = [{"cpu": 1.0, "mem": 2.0}, {"cpu": 2.0, "mem": 1.0}, {"cpu": 1.0, "mem": 1.0}, {"cpu": 0.5, "mem": 3.0}]
    frameworks = []
    for n in range(n_frameworks):
        cons = Constraints(labels={"t": ("1",)}) if n % 7 == 3 else Constraints()
        cap = 40 if n % 11 == 5 else None
        frameworks.append(Framework(f"f{n}", dict(demands[n % len(demands)]), 1.0, cap, cons))
    return Problem(servers, frameworks)


def pivot_problem(seed: int, n_servers: int, n_frameworks: int) -> Problem:
    """Frameworks whose first needed resource (best fit's pivot) differs:
    some need no cpu, some only gpu and mem; servers without a gpu (a zero
    pivot amount for the gpu frameworks)."""
    rng = np.random.default_rng(seed)
    servers = [Server(f"s{i}", {"cpu": float(rng.integers(4, 64)), "mem": float(rng.integers(8, 256)),
                                "gpu": float(rng.choice([0, 0, 2, 8]))}, {}) for i in range(n_servers)]
    needs = [("cpu", "mem"), ("mem",), ("mem", "gpu"), ("gpu",), ("cpu", "gpu")]
    frameworks = []
    for n in range(n_frameworks):
        d = {r: float(rng.choice([0.5, 1, 2, 4])) for r in needs[n % len(needs)]}
        frameworks.append(Framework(f"f{n}", d, float(rng.choice([1, 2])), None, Constraints()))
    return Problem(servers, frameworks)


INSTANCES = [("mixed", s, 12, 6) for s in range(4)] + [("mixed", s, 150, 40) for s in range(4, 7)] \
    + [("synthetic", 7, 400, 60), ("synthetic", 8, 60, 300), ("mixed", 9, 1, 5), ("tied", 10, 300, 80),
       ("tied", 11, 70, 200), ("pivot", 12, 200, 40)]


def make(kind, seed, servers, frameworks):
    if kind == "synthetic":
        return synthetic_problem(servers, frameworks, 4, 0.3, seed)
    if kind == "tied":
        return tied_problem(seed, servers, frameworks)
    if kind == "pivot":
        return pivot_problem(seed, servers, frameworks)
    return mixed_problem(seed, servers, frameworks)


# Every policy that reaches the C code: server-specific criteria, and pooled
# criteria with each rule it implements.  The `random` rule reaches the C code
# only from RandomFit.state_pick_min_servers servers on, larger than these
# instances: test_fs_random_native.py covers it.
POLICIES = [c for c, cls in CRITERIA.items() if cls.server_specific] \
    + [f"{c}:{s}" for c, cls in CRITERIA.items() if not cls.server_specific for s in native_fill.RULES
       if s != "random"]
# The offer cycles visit every server every round: in Python that is slow
# enough to keep them to the smaller instances.
CYCLES = [f"{c}{cycle}" for c in CRITERIA for cycle in ("_rr", "_mesos")]


@pytest.mark.parametrize("inst", INSTANCES, ids=lambda t: f"{t[0]}{t[1]}-{t[2]}x{t[3]}")
@pytest.mark.parametrize("policy", POLICIES)
def test_c_fill_equals_python(monkeypatch, inst, policy):
    assert_same_policy(monkeypatch, inst, policy, 3)


def assert_same_policy(monkeypatch, inst, policy, seed):
    p = make(*inst)
    ref, got = both_loops(monkeypatch, lambda: get_policy(policy)(p, seed).x)
    assert ref.sum() > 0
    assert np.array_equal(ref, got), f"{policy}: C and Python allocations differ"


@pytest.mark.parametrize("inst", [i for i in INSTANCES if i[2] <= 12], ids=lambda t: f"{t[0]}{t[1]}-{t[2]}x{t[3]}")
@pytest.mark.parametrize("policy", CYCLES)
def test_c_offer_cycle_equals_python(monkeypatch, inst, policy):
    assert_same_policy(monkeypatch, inst, policy, 5)


@pytest.mark.parametrize("crit", ["drfh", "bfdrf", "psdsf", "rpsdsf"])
def test_c_fill_from_a_partial_allocation(monkeypatch, crit):
    """Filling from running tasks with some frameworks inactive (a re-fill)."""
    p = mixed_problem(11, 80, 30)
    start = progressive_fill(p, CRITERIA[crit], active=np.arange(30) % 3 == 0).x // 2
    active = np.arange(30) % 4 != 1
    ref, got = both_loops(monkeypatch, lambda: progressive_fill(p, CRITERIA[crit], initial=start, active=active).x)
    assert np.array_equal(ref, got)


@pytest.mark.parametrize("crit", ["drfh", "bfdrf", "psdsf", "rpsdsf"])
def test_c_fill_online_events(monkeypatch, crit):
    """Arrivals and departures through the re-allocator, which keeps one
    state (and its room cache) across events: same placements both ways."""
    p = mixed_problem(12, 60, 25)
    events = (("arrive", 21), ("leave", 3), ("arrive", 22), ("leave", 10), ("leave", 21))
    ref, got = both_loops(monkeypatch, lambda: event_snapshots(p, crit, events, np.arange(25) < 20))
    assert np.array_equal(ref, got)


@pytest.mark.parametrize("policy", [p for p in POLICIES if p != "psdsf"])  # PS-DSF keeps no room cache
def test_c_fill_rooms_rounded_as_python(monkeypatch, policy):
    """1.3999999999 / 0.1 and 1.3999999999 * (1 / 0.1) floor (after + 1e-9)
    to different task counts, 13 and 14.  The Python loop's room cache
    starts from the division (Problem.fit_counts) when it is built and
    refreshes by the multiplication, and a batch before the cache exists
    uses the multiplication (FillState.room_row): the C code must read each
    room the way the Python loop would at that step.  A lone framework
    takes the odd server in one batch; with others, single picks come first."""
    for frameworks in (1, 3):
        p = Problem([Server("odd", {"cpu": 1.3999999999, "mem": 64.0}), Server("b", {"cpu": 0.8, "mem": 16.0})],
                    [Framework(f"f{k}", {"cpu": 0.1, "mem": 1.0 + k}, 1.0, None, Constraints())
                     for k in range(frameworks)])
        ref, got = both_loops(monkeypatch, lambda: get_policy(policy)(p, 0).x)
        assert np.array_equal(ref, got), f"{policy} with {frameworks} framework(s): {ref.tolist()} != {got.tolist()}"


def test_c_best_fit_leaves_overflowing_shapes_to_python(monkeypatch):
    """A pivot demand so small against the cluster total that best fit's
    shape ratios could overflow: the C code declines before touching the
    state, and the Python loop's allocation is the result."""
    p = Problem([Server("a", {"cpu": 4.0, "mem": 8.0}), Server("b", {"cpu": 2.0, "mem": 2.0})],
                [Framework("tiny", {"cpu": 1e-300, "mem": 1.0}, 1.0, 3, Constraints()),
                 Framework("g", {"cpu": 1.0, "mem": 1.0}, 1.0, None, Constraints())])
    monkeypatch.setenv("FAIRSHARE_PURE_PYTHON", "0")
    state = FillState(p)
    assert not native_fill.fill_pooled(p, CRITERIA["bfdrf"](p).unit(), make_selection(p, "bestfit"), state,
                                       np.ones(2, dtype=bool))
    assert state.x.sum() == 0 and np.array_equal(state.free, p.capacity)
    ref, got = both_loops(monkeypatch, lambda: progressive_fill(p, CRITERIA["bfdrf"]).x)
    assert np.array_equal(ref, got) and got.sum() > 0


def test_pure_python_switch(monkeypatch):
    monkeypatch.setenv("FAIRSHARE_PURE_PYTHON", "1")
    assert not native_fill.enabled()
    monkeypatch.setenv("FAIRSHARE_PURE_PYTHON", "0")
    assert native_fill.enabled()


def test_psdsf_passes_a_server_with_only_a_sliver_of_room():
    """PS-DSF's cursor test (free >= demand - 1e-9) passes the 1.3999999999-cpu
    server after 13 tasks of 0.1 cpu although no whole task fits (room 0): the fill
    must pass it and end, in both loops, with the same matrix (it once re-queued the
    framework forever).  In child processes, so a regression fails instead of hanging."""
    import json
    import os
    import subprocess
    import sys
    code = ("import json; from fairshare.model import Framework, Problem, Server; "
            "from fairshare.policies import get_policy; "
            "p = Problem([Server('odd', {'cpu': 1.3999999999, 'mem': 64.0}), Server('b', {'cpu': 0.8, 'mem': 16.0})], "
            "[Framework(f'f{k}', {'cpu': 0.1, 'mem': 1.0 + k}, 1.0) for k in range(3)]); "
            "print(json.dumps(get_policy('psdsf')(p, 0).x.tolist()))")
    results = []
    for pure in ("1", "0"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                             env={**os.environ, "FAIRSHARE_PURE_PYTHON": pure})
        assert out.returncode == 0, out.stderr
        results.append(np.array(json.loads(out.stdout)))
    ref, got = results
    assert np.array_equal(ref, got)
    # Whole tasks of 0.1 cpu: 13 fit in 1.3999999999 cpu and 8 in 0.8 (memory never binds).
    assert ref[:, 0].sum() == 13 and ref[:, 1].sum() == 8
