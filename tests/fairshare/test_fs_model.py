import json

import numpy as np
import pytest

from fairshare.errors import (CapacityError, ConstraintError, DemandError, DuplicateNameError, ProblemError,
                              UnknownResourceError, WeightError)
from fairshare.model import load_problem, problem_from_dict


def base():
    return {"servers": [{"name": "s1", "capacity": {"cpu": 9, "mem": 18}, "labels": {"zone": "a"}},
                        {"name": "s2", "capacity": {"cpu": 4, "mem": 4}, "labels": {"zone": "b"}}],
            "frameworks": [{"name": "A", "weight": 1, "demand": {"cpu": 1, "mem": 4}, "max_tasks": None,
                            "constraints": {"servers": ["s1"], "labels": {"zone": "a"}}},
                           {"name": "B", "demand": {"cpu": 3, "mem": 1}}]}


def test_issue_format_parses_and_builds_arrays():
    p = problem_from_dict(base())
    assert p.resources == ["cpu", "mem"]
    assert p.capacity.tolist() == [[9, 18], [4, 4]]
    assert p.eligible.tolist() == [[True, False], [True, True]]
    assert p.fit_counts(p.capacity).tolist() == [[4, 0], [3, 1]]


@pytest.mark.parametrize("mutate,exc,words", [
    (lambda d: d["servers"][0]["capacity"].update(cpu=-1), CapacityError, ["s1", "cpu", "negative"]),
    (lambda d: d["servers"][1]["capacity"].update(cpu=0, mem=0), CapacityError, ["s2", "zero"]),
    (lambda d: d["frameworks"][1]["demand"].update(gpu=1), UnknownResourceError, ["B", "gpu"]),
    (lambda d: d["frameworks"][1].update(name="A"), DuplicateNameError, ["A"]),
    (lambda d: d["servers"][1].update(name="s1"), DuplicateNameError, ["s1"]),
    (lambda d: d["frameworks"][0].update(weight=0), WeightError, ["A", "weight"]),
    (lambda d: d["frameworks"][0].update(weight="heavy"), WeightError, ["A", "weight"]),
    (lambda d: d["frameworks"][0].update(max_tasks=-2), WeightError, ["A", "max_tasks"]),
    (lambda d: d["frameworks"][0]["constraints"].update(labels={"zone": "c"}), ConstraintError, ["A", "no server"]),
    (lambda d: d["frameworks"][0]["constraints"].update(servers=["s9"]), ConstraintError, ["A", "s9"]),
    (lambda d: d["frameworks"][1]["demand"].update(cpu=20), DemandError, ["B", "fits no eligible server"]),
    # fits s1, but A may only use s2
    (lambda d: (d["frameworks"][0].update(constraints={"servers": ["s2"]}), d["frameworks"][0]["demand"].update(cpu=5)),
     DemandError, ["A", "fits no"]),
    (lambda d: d["frameworks"][0]["demand"].update(cpu=0, mem=0), DemandError, ["A", "positive"]),
    (lambda d: d["frameworks"][0].update(colour="red"), ProblemError, ["A", "colour"]),
])
def test_validation_errors_name_the_culprit(mutate, exc, words):
    d = base()
    mutate(d)
    with pytest.raises(exc) as err:
        problem_from_dict(d)
    assert isinstance(err.value, ValueError)
    for w in words:
        assert w in str(err.value)


def test_label_selector_alternatives():
    d = base()
    d["frameworks"][1]["constraints"] = {"labels": {"zone": ["a", "b"]}}
    assert problem_from_dict(d).eligible[1].all()


def test_yaml_and_json_files(tmp_path):
    import yaml
    (tmp_path / "p.json").write_text(json.dumps(base()))
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(base()))
    a, b = load_problem(tmp_path / "p.json"), load_problem(tmp_path / "p.yaml")
    assert np.array_equal(a.demand, b.demand) and np.array_equal(a.eligible, b.eligible)
    (tmp_path / "bad.json").write_text('{"servers": [\n  {"name": }]}')
    with pytest.raises(ProblemError, match="line 2"):
        load_problem(tmp_path / "bad.json")
    (tmp_path / "p.txt").write_text("{}")
    with pytest.raises(ProblemError, match="file type"):
        load_problem(tmp_path / "p.txt")


def test_round_trip_to_dict():
    p = problem_from_dict(base())
    q = problem_from_dict(p.to_dict())
    assert np.array_equal(p.eligible, q.eligible) and np.array_equal(p.capacity, q.capacity)


def test_bulk_tables_equal_the_per_field_tables():
    # Servers of several shapes (some without gpu), demands in several key orders.
    from fairshare.workload import synthetic_problem
    p = synthetic_problem(300, 40, 4, 0.3, 3)
    d = p.to_dict()
    d["frameworks"][0]["demand"] = dict(reversed(list(d["frameworks"][0]["demand"].items())))
    q = problem_from_dict(d)
    resources, capacity, demand = q._bulk_tables()
    assert resources == q._collect_resources()
    by_field = q._tables_by_field()
    assert np.array_equal(capacity, by_field[0]) and np.array_equal(demand, by_field[1])
    assert np.array_equal(q.capacity, p.capacity) and np.array_equal(q.demand[1:], p.demand[1:])


def test_values_the_bulk_path_does_not_take_still_build_the_same_problem():
    from fairshare.model import Framework, Problem, Server
    servers = [Server("a", {"cpu": np.float64(4), "mem": 8}), Server("b", {"cpu": 2, "mem": np.float64(2)})]
    frameworks = [Framework("f", {"cpu": 1, "mem": np.float64(1)}, weight=np.float64(2))]
    p = Problem(servers, frameworks)
    assert p._bulk_tables() is None
    assert p.capacity.tolist() == [[4, 8], [2, 2]] and p.demand.tolist() == [[1, 1]]
    assert p.weight.tolist() == [2.0]


@pytest.mark.parametrize("value,exc,words", [
    (True, CapacityError, ["s1", "capacity", "'cpu'", "finite number"]),
    ("9", CapacityError, ["s1", "'cpu'", "finite number"]),
    (float("nan"), CapacityError, ["s1", "'cpu'", "nan"]),
    (float("-inf"), CapacityError, ["s1", "'cpu'", "inf"]),
])
def test_bad_amounts_are_named_whichever_path_meets_them(value, exc, words):
    d = base()
    d["servers"][0]["capacity"]["cpu"] = value
    with pytest.raises(exc) as info:
        problem_from_dict(d)
    assert "\n" not in str(info.value) and all(w in str(info.value) for w in words)
