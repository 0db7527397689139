"""Max-min fair completion times of multi-task jobs: solvers against brute
force, the job-file reader, and `fairshare jobs`."""
import json

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from fairshare.cli import main
from fairshare.errors import ProblemError
from fairshare.jobs_problem import load_jobs, random_jobs
from fairshare.mmf_jobs import TooLargeError, brute_force, exact, lex_less, mmf_dp, perturb, replay


@st.composite
def instances(draw, max_servers=3, max_jobs=4):
    M = draw(st.integers(1, max_servers))
    J = draw(st.integers(1, max_jobs))
    p = np.array(draw(st.lists(st.lists(st.integers(0, 6), min_size=J, max_size=J), min_size=M, max_size=M)),
                 dtype=float)
    for j in range(J):
        if p[:, j].sum() == 0:
            p[draw(st.integers(0, M - 1)), j] = draw(st.integers(1, 6))
    w = np.array(draw(st.lists(st.sampled_from([1.0, 2.0, 3.0]), min_size=J, max_size=J)))
    return p, w / p.max(axis=0)


def _check_schedule(p, res):
    for i, order in enumerate(res.order):
        assert sorted(order) == [j for j in range(p.shape[1]) if p[i, j] > 0]  # every task once
    assert np.allclose(replay(p, res.order), res.completion)


@settings(max_examples=80, deadline=None)
@given(instances())
def test_mmf_dp_is_exact_for_the_worst_off_job(inst):
    p, rate = inst
    res = mmf_dp(p, rate)
    _check_schedule(p, res)
    opt = brute_force(p, rate)
    assert res.sorted_costs()[0] == pytest.approx(opt[0], rel=1e-9)
    assert not lex_less(res.sorted_costs(), opt)  # never better than the optimum


@settings(max_examples=40, deadline=None)
@given(instances(max_servers=3, max_jobs=4))
def test_exact_matches_brute_force_on_the_whole_vector(inst):
    p, rate = inst
    res = exact(p, rate)
    _check_schedule(p, res)
    assert np.allclose(res.sorted_costs(), brute_force(p, rate), rtol=1e-6)


@pytest.mark.parametrize("p, rate", [([[1.0, 1.0], [2.0, 4.0]], [0.5, 0.25]),
                                     ([[1.0, 3.0, 1.0, 6.0]], [2.0, 1 / 3, 3.0, 0.5])])
def test_exact_solves_the_instances_highs_presolve_fails_on(p, rate):
    """Instances on which HiGHS's presolve reports a solve error or infeasibility (both
    found by the property test below): exact still returns the optimum (the brute
    force's vector)."""
    p, rate = np.array(p), np.array(rate)
    res = exact(p, rate)
    _check_schedule(p, res)
    assert np.allclose(res.sorted_costs(), brute_force(p, rate), rtol=1e-6)


@settings(max_examples=40, deadline=None)
@given(instances(), st.integers(0, 5))
def test_perturb_is_a_valid_schedule_no_worse_than_mmf_dp(inst, seed):
    p, rate = inst
    res = perturb(p, rate, tries=4, seed=seed)
    _check_schedule(p, res)
    assert not lex_less(mmf_dp(p, rate).sorted_costs(), res.sorted_costs())
    assert not lex_less(res.sorted_costs(), brute_force(p, rate))


def test_alternative_bottlenecks_lookahead_picks_the_better_job():
    # s1: j1 3, j2 1, j3 2; s2: j1 1, j3 2; j3 has weight 2.  Either j2 or j3
    # must reach cost 3; fixing j3 there lets j2 finish at 1: (3, 2, 1).
    p = np.array([[3.0, 1.0, 2.0], [1.0, 0.0, 2.0]])
    rate = np.array([1.0, 1.0, 2.0]) / p.max(axis=0)
    assert list(brute_force(p, rate)) == [3.0, 2.0, 1.0]
    assert list(mmf_dp(p, rate).sorted_costs()) == [3.0, 2.0, 1.0]
    assert list(mmf_dp(p, rate, lookahead=False).sorted_costs()) == [3.0, 2.0, 2.0]


def test_exact_refuses_large_instances():
    prob = random_jobs(60, 5, seed=1)
    with pytest.raises(TooLargeError, match="too large for exact"):
        exact(prob.p, prob.rate)


def test_single_server_runs_heaviest_rate_first():
    p = np.array([[2.0, 2.0, 1.0]])
    rate = np.array([1.0, 3.0, 1.0])  # cost = weight * completion
    res = mmf_dp(p, rate)
    assert res.order[0][0] == 1
    assert np.allclose(res.sorted_costs(), brute_force(p, rate))


BAD = [
    ({"servers": ["s1"], "jobs": [{"name": "j1", "tasks": {"s1": -1}}]}, "job 'j1' on server 's1': negative"),
    ('{"servers": ["s1"], "jobs": [{"name": "j1", "tasks": {"s1": NaN}}]}', "job 'j1' on server 's1'"),
    ({"servers": ["s1"], "jobs": [{"name": "j1", "tasks": {"s9": 1}}]}, "job 'j1': unknown server 's9'"),
    ({"servers": ["s1"], "jobs": [{"name": "j1", "tasks": {}}]}, "job 'j1' has no task"),
    ({"servers": ["s1"], "jobs": [{"name": "j1", "tasks": {"s1": 0}}]}, "job 'j1' has no task"),
    ({"servers": ["s1"], "jobs": [{"name": "j1", "tasks": {"s1": "3"}}]}, "not a number"),
    ({"servers": ["s1", "s1"], "jobs": [{"name": "j1", "tasks": {"s1": 1}}]}, "server 's1' is listed twice"),
    ({"servers": ["s1"], "jobs": [{"name": "j1", "tasks": {"s1": 1}, "weight": 0}]}, "job 'j1': weight"),
    ({"servers": ["s1"], "jobs": [{"name": "j1", "tasks": {"s1": 1}, "prio": 0}]}, "unknown field"),
    ({"servers": ["s1"], "jobs": []}, "'jobs' must be a non-empty list"),
    ('{"servers": ["s1"], "jobs": [', "malformed JSON"),
]


@pytest.mark.parametrize("data,message", BAD)
def test_malformed_job_files_name_the_culprit(tmp_path, capsys, data, message):
    f = tmp_path / "bad.json"
    f.write_text(data if isinstance(data, str) else json.dumps(data))
    with pytest.raises(ProblemError, match=message.replace("(", r"\(")):
        load_jobs(f)
    assert main(["jobs", str(f)]) == 2
    err = capsys.readouterr().err
    assert "bad.json" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("policy", ["exact", "mmf-dp", "perturb"])
def test_jobs_command_json(tmp_path, capsys, policy):
    f = tmp_path / "p.json"
    f.write_text(json.dumps({"servers": ["s1", "s2"], "jobs": [
        {"name": "j1", "tasks": {"s1": 3.0, "s2": 1.0}}, {"name": "j2", "tasks": {"s1": 1.0}},
        {"name": "j3", "tasks": {"s2": 2.0, "s1": 2.0}, "weight": 2}]}))
    assert main(["jobs", str(f), "--policy", policy, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"jobs", "order"}
    assert out["order"]["s2"] == ["j3", "j1"] and sorted(out["order"]["s1"]) == ["j1", "j2", "j3"]
    # j3 (weight 2) at cost 3 lets j2 finish first: the optimum (3, 2, 1).
    assert {n: v["cost"] for n, v in out["jobs"].items()} == pytest.approx({"j1": 2.0, "j2": 1.0, "j3": 3.0})
    assert out["jobs"]["j1"]["completion"] == pytest.approx(6.0)
