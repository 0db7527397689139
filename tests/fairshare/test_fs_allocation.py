import json

import numpy as np

import pytest

from fairshare import allocate


def test_contract_for_node_agents(example):
    alloc = allocate(example("ex2.yaml"), "psdsf")
    per = alloc.per_server()
    assert set(per) == {"S0", "S1"}
    # u2 is pinned to S0, its two tasks of (0.5, 0.5) appear there only.
    assert per["S0"]["u2"] == {"cpu": 1.0, "mem": 1.0}
    assert "u2" not in per["S1"]
    for server, fws in per.items():
        i = [s.name for s in alloc.problem.servers].index(server)
        for r, k in zip(alloc.problem.resources, range(2)):
            assert sum(f[r] for f in fws.values()) <= alloc.problem.capacity[i, k] + 1e-9
    data = json.loads(alloc.to_json())
    assert data["tasks"] == {"u0": 5, "u1": 10, "u2": 2}
    assert data["placement"]["u2"] == {"S0": 2}
    assert set(data["utilisation"]) == {"cpu", "mem"} and set(data["shares"]) == {"u0", "u1", "u2"}


def test_max_tasks_cap_respected(example):
    p = example("ex1.yaml")
    d = p.to_dict()
    d["frameworks"][0]["max_tasks"] = 2
    from fairshare.model import problem_from_dict
    q = problem_from_dict(d)
    from fairshare.policies import policy_names
    for name in policy_names():
        a = allocate(q, name)
        assert a.counts[0] <= 2 + 1e-6, name
        assert a.is_feasible(), name


@pytest.mark.parametrize("kind", ["int", "float"])
def test_placement_lists_every_framework_servers_in_order(kind):
    """placement() from one nonzero() over the matrix equals the per-row
    listing: every framework (empty ones too), servers in index order,
    Python ints for integer matrices and floats for fluid ones."""
    from fairshare.allocation import Allocation
    from fairshare.workload import synthetic_problem
    p = synthetic_problem(40, 9, 4, 0.3, 3)
    rng = np.random.default_rng(4)
    mask = rng.random((9, 40)) < 0.3
    mask[[2, 7]] = False  # frameworks with nothing placed
    x = np.where(mask, rng.integers(1, 5, (9, 40)), 0) if kind == "int" else np.where(mask, rng.random((9, 40)), 0.0)
    got = Allocation(p, x).placement()
    names = [s.name for s in p.servers]
    want = {f.name: {names[i]: x[n, i].item() for i in range(40) if x[n, i] > 1e-12} for n, f in enumerate(p.frameworks)}
    assert got == want
    assert all(list(got[f]) == list(want[f]) for f in want)
    assert all(type(v) is (int if kind == "int" else float) for d in got.values() for v in d.values())


@pytest.mark.parametrize("policy", ["psdsf", "maxmin"])  # integer tasks, and the exact reference's
def test_utilisation_is_use_summed_over_servers(example, policy):
    alloc = allocate(example("ex2.yaml"), policy)
    p = alloc.problem
    expected = alloc.used().sum(axis=0) / p.total
    got = alloc.utilisation()
    assert list(got) == p.resources
    assert np.allclose([got[r] for r in p.resources], expected, rtol=1e-12, atol=0)
    assert 0 < max(got.values()) <= 1 + 1e-9
