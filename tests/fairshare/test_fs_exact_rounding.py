"""The rounding of the exact references (exact.round_down_fill) places the
same tasks as its straightforward form below: per (fraction, framework,
class) step, Problem.fit_counts over the class's servers and a greedy take
in server order.  The fast form works on class-contiguous views with the
same arithmetic (in Python, and in C when the extension is built); the
matrices must be equal element for element, and the
fluid solution's per-server matrix (built on first use) must be the even
spread of each class's tasks."""
import math

import numpy as np
import pytest

from fairshare import native_fill
from fairshare.criteria import CRITERIA
from fairshare.exact import FluidLP, _largest_remainder, maxmin_fluid, pf_fluid, round_down_fill
from fairshare.filling import progressive_fill
from fairshare.model import Constraints, Framework, Problem, Server
from fairshare.workload import synthetic_problem


def reference_round_down_fill(fluid, lp):
    p = fluid.problem
    per_class = fluid.meta["per_class"]
    totals = per_class.sum(axis=1)
    X = np.zeros((p.n_frameworks, p.n_servers), dtype=np.int64)
    free = p.capacity.copy()
    members = [np.flatnonzero(lp.server_class == c) for c in range(lp.n_classes)]
    order = np.argsort(-(p.demand / p.total).max(axis=1), kind="stable")
    targets = np.zeros_like(per_class, dtype=np.int64)
    for n in order:
        targets[n] = _largest_remainder(per_class[n], min(int(math.floor(totals[n] + 1e-7)), int(p.max_tasks[n])))
    for frac in (0.5, 0.8, 0.9, 1.0):
        for n in order:
            for c in np.flatnonzero(targets[n]):
                want = int(math.floor(targets[n, c] * frac + 1e-9)) - int(X[n, members[c]].sum())
                if want <= 0:
                    continue
                fit = p.fit_counts(free, [n], members[c])[0]
                take = np.minimum(fit, np.maximum(0, want - (np.cumsum(fit) - fit)))
                X[n, members[c]] += take
                free[members[c]] -= take[:, None] * p.demand[n][None, :]
    return progressive_fill(p, CRITERIA["drf"], "residual", initial=X).x


def odd_problem(seed: int, n_servers: int, n_frameworks: int) -> Problem:
    """Few server shapes (classes of many servers), fractional demands that
    leave float residue on the servers, caps and label constraints."""
    rng = np.random.default_rng(seed)
    shapes = [{"cpu": float(rng.integers(2, 48)), "mem": float(rng.choice([3.3, 16, 64.5])),
               "gpu": float(rng.choice([0, 1, 4]))} for _ in range(4)]
    servers = [Server(f"s{i}", shapes[int(rng.integers(0, 4))], {"t": str(i % 3)}) for i in range(n_servers)]
    frameworks = []
    for n in range(n_frameworks):
        d = {"cpu": float(rng.choice([0.1, 0.3, 0.7, 1, 2.5])), "mem": float(rng.choice([0.1, 1.1, 2.2]))}
        if rng.random() < 0.2:
            d["gpu"] = 1.0
        cons = Constraints(labels={"t": ("0", "2")}) if rng.random() < 0.3 else Constraints()
        cap = int(rng.integers(0, 40)) if rng.random() < 0.2 else None
        frameworks.append(Framework(f"f{n}", d, float(rng.choice([1, 2, 3.5])), cap, cons))
    return Problem(servers, frameworks)


INSTANCES = [("odd", s, 60, 15) for s in range(3)] + [("odd", 3, 300, 40), ("synthetic", 4, 500, 60),
                                                        ("synthetic", 5, 80, 200)]


def make(kind, seed, servers, frameworks):
    if kind == "synthetic":
        return synthetic_problem(servers, frameworks, 4, 0.3, seed)
    return odd_problem(seed, servers, frameworks)


# The floors are placed by fill.c's fs_place_floors when the extension is
# built, by exact._place_floors otherwise: both must equal the reference.
WAYS = ["c", "python"]


@pytest.fixture(params=WAYS)
def way(request, monkeypatch):
    monkeypatch.setenv("FAIRSHARE_PURE_PYTHON", "1" if request.param == "python" else "0")
    if request.param == "c" and not native_fill.enabled():
        pytest.skip("fairshare._fill is not built (make install)")
    return request.param


@pytest.mark.parametrize("inst", INSTANCES, ids=lambda t: f"{t[0]}{t[1]}-{t[2]}x{t[3]}")
def test_round_down_fill_equals_reference(inst, way):
    p = make(*inst)
    lp = FluidLP(p)
    fluid = maxmin_fluid(p, lp=lp)
    got = round_down_fill(fluid, lp, name="maxmin").x
    assert got.sum() > 0
    assert np.array_equal(got, reference_round_down_fill(fluid, lp))


def test_pf_rounding_equals_reference(way):
    p = make("odd", 7, 40, 8)
    lp = FluidLP(p)
    fluid = pf_fluid(p, lp=lp)
    assert np.array_equal(round_down_fill(fluid, lp, name="pf").x, reference_round_down_fill(fluid, lp))


def test_fluid_matrix_spreads_each_class_evenly():
    p = make("odd", 8, 50, 10)
    lp = FluidLP(p)
    fluid = maxmin_fluid(p, lp=lp)
    per_class = fluid.meta["per_class"]
    x = fluid.x
    assert x.shape == (p.n_frameworks, p.n_servers)
    for c in range(lp.n_classes):
        servers = np.flatnonzero(lp.server_class == c)
        assert np.allclose(x[:, servers], (per_class[:, c] / len(servers))[:, None], rtol=1e-12, atol=0)
    assert fluid.is_feasible(1e-7)
