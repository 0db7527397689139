"""Cost independent of magnitudes, and honest errors at the edges.

A framework that can take a million (or a billion) tasks on a server is
placed in a handful of steps, capacities and demands at the ends of the
float range either give the right answer or a one-line error naming the
limit, and a problem too large for memory is refused before allocating."""
import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

from fairshare.criteria import CRITERIA
from fairshare.errors import CapacityError, DemandError, ProblemError
from fairshare.filling import FillState
from fairshare.model import Framework, Problem, Server, available_memory, check_size, problem_from_dict
from fairshare.policies import get_policy

SELECTION_POLICIES = ["drf:random", "drf:rrr", "drf:bestfit", "drf:residual"]


def one_server(capacity, demand=None, max_tasks=None, servers=1):
    return problem_from_dict({
        "servers": [{"name": f"s{i}", "capacity": {"cpu": capacity, "mem": capacity}} for i in range(servers)],
        "frameworks": [{"name": "f", "demand": demand or {"cpu": 1, "mem": 1}, "max_tasks": max_tasks}]})


@pytest.fixture
def count_placements(monkeypatch):
    calls = []
    orig = FillState.place

    def place(self, problem, n, i, count):
        calls.append(count)
        return orig(self, problem, n, i, count)
    monkeypatch.setattr(FillState, "place", place)
    return calls


@pytest.mark.parametrize("policy", list(CRITERIA) + SELECTION_POLICIES)
@pytest.mark.parametrize("capacity", [1e5, 1e9])
def test_huge_room_is_placed_in_one_step(policy, capacity, count_placements):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy overflow/cast warnings either
        alloc = get_policy(policy)(one_server(capacity), 0)
    assert alloc.counts.tolist() == [capacity]
    assert len(count_placements) <= 2, count_placements


@pytest.mark.parametrize("policy", list(CRITERIA) + SELECTION_POLICIES)
def test_huge_room_on_several_servers_costs_a_few_steps(policy, count_placements):
    p = problem_from_dict({
        "servers": [{"name": f"s{i}", "capacity": {"cpu": 1e6 * (i + 1), "mem": 2e6}} for i in range(3)],
        "frameworks": [{"name": "a", "demand": {"cpu": 1, "mem": 1}, "max_tasks": 5 * 10**6}]})
    alloc = get_policy(policy)(p, 0)
    assert alloc.is_feasible()
    assert alloc.counts.tolist() == [5 * 10**6]
    assert len(count_placements) <= 10, count_placements[:20]


def test_capacity_at_the_float_limit_is_refused_in_one_line():
    with pytest.raises(DemandError, match=r"more than 2\^53") as err:
        one_server(1e308)
    assert "\n" not in str(err.value) and "'f'" in str(err.value)
    with pytest.raises(CapacityError, match="overflows the float range"):
        problem_from_dict({"servers": [{"name": "a", "capacity": {"cpu": 1e308}},
                                       {"name": "b", "capacity": {"cpu": 1e308}}],
                           "frameworks": [{"name": "f", "demand": {"cpu": 1}, "max_tasks": 3}]})


def test_capacity_at_the_float_limit_with_a_task_cap_is_allocated():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for policy in list(CRITERIA) + SELECTION_POLICIES:
            alloc = get_policy(policy)(one_server(1e308, max_tasks=7), 0)
            assert alloc.counts.tolist() == [7], policy


def test_tiny_demand_is_an_error_naming_the_limit_not_a_misfit():
    with pytest.raises(DemandError) as err:
        one_server(1e5, {"cpu": 1e-300, "mem": 1e-300})
    msg = str(err.value)
    assert "fits no" not in msg and ("float range" in msg or "2^53" in msg) and "\n" not in msg
    # a tiny demand that does fit a sane count is allocated exactly
    alloc = get_policy("drf")(one_server(1e-290, {"cpu": 1e-300, "mem": 1e-300}), 0)
    assert alloc.counts[0] == pytest.approx(1e10, rel=1e-9)


def test_too_large_problem_names_the_memory_limit():
    with pytest.raises(ProblemError, match="problem too large") as err:
        check_size(200_000, 200_000, available=24 * 2**30)
    msg = str(err.value)
    assert "200,000 frameworks x 200,000 servers" in msg and "limit is about" in msg and "\n" not in msg
    check_size(1_000, 10_000, available=24 * 2**30)  # the bench instance fits


def test_available_memory_is_what_psutil_reports():
    """Read from /proc/meminfo without importing psutil; the two readings
    are moments apart on a shared machine, so equal within 5%."""
    import psutil
    ours, theirs = available_memory(), psutil.virtual_memory().available
    assert ours > 0
    assert abs(ours - theirs) <= 0.05 * theirs


def test_too_large_problem_is_refused_before_allocating():
    servers = [Server(f"s{i}", {"cpu": 1.0}) for i in range(200_000)]
    frameworks = [Framework(f"f{n}", {"cpu": 1.0}) for n in range(200_000)]
    with pytest.raises(ProblemError, match="problem too large"):
        Problem(servers, frameworks)


def test_cli_reports_the_edge_in_one_line(tmp_path):
    path = tmp_path / "edge.json"
    path.write_text(json.dumps({"servers": [{"name": "s", "capacity": {"cpu": 1e308}}],
                                "frameworks": [{"name": "f", "demand": {"cpu": 1}}]}))
    out = subprocess.run([sys.executable, "-m", "fairshare.cli", "allocate", str(path)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert "Traceback" not in out.stderr and "Warning" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "2^53" in out.stderr


def test_counts_stay_exact_near_the_task_limit():
    p = one_server(2.0 ** 52, {"cpu": 1, "mem": 1})
    state = FillState(p)
    assert int(state.room_one(0, 0)) == 2 ** 52
    assert get_policy("psdsf")(p, 0).x.dtype == np.int64


def test_random_rule_spreads_a_huge_batch_uniformly_in_few_steps(count_placements):
    """Bulk rounds: exact counts, every server inside its room, and the
    spread close to uniform (the per-server draws are binomial: 4e6 tasks
    over 3 equal servers deviate by about 0.1%)."""
    p = problem_from_dict({
        "servers": [{"name": f"s{i}", "capacity": {"cpu": 2e6, "mem": 2e6}} for i in range(3)],
        "frameworks": [{"name": "a", "demand": {"cpu": 1, "mem": 1}, "max_tasks": 3 * 10**6}]})
    alloc = get_policy("drf:random")(p, 0)
    assert alloc.counts.tolist() == [3 * 10**6]
    assert alloc.is_feasible()
    assert np.allclose(alloc.x[0], 10**6, rtol=0.01)
    assert len(count_placements) <= 3
