"""The DRF paper's example and Ex.1-Ex.3 of docs/fairshare-notes.md §5, every criterion.

Deterministic rows (bfdrf, psdsf, rpsdsf) must match exactly.  Random rows are
means over seeds 0-19; the reference used Python random.Random(seed), as we
do, so the means agree exactly today, but the assertion is the +-15% band the
reference asks for (a different but valid random stream would still pass)."""
import math

import numpy as np
import pytest

from fairshare.policies import get_policy

DETERMINISTIC = {
    # file: {policy: (x per user, cpu util, mem util)}
    "ex1.yaml": {"bfdrf": ([10, 10], 0.8571, 0.8571), "psdsf": ([10, 10], 0.8571, 0.8571),
                 "rpsdsf": ([10, 10], 0.8571, 0.8571)},
    "ex2.yaml": {"bfdrf": ([3, 5, 3], 0.5071, 0.3929), "psdsf": ([5, 10, 2], 0.8571, 0.5714),
                 "rpsdsf": ([5, 10, 2], 0.8571, 0.5714)},
    "ex3.json": {"bfdrf": ([4, 4, 21], 0.6607, 0.7321), "psdsf": ([8, 8, 16], 0.8571, 1.0),
                 "rpsdsf": ([8, 8, 16], 0.8571, 1.0)},
}

RANDOM = {
    "ex1.yaml": {"drf": [5.8, 5.8], "tsf": [5.8, 5.8], "psdsf_rr": [7.8, 7.8], "rpsdsf_rr": [7.8, 7.8]},
    "ex2.yaml": {"drf": [2.95, 5.15, 2.25], "tsf": [3.45, 5.85, 1.15],
                 "psdsf_rr": [3.9, 7.8, 1.45], "rpsdsf_rr": [3.9, 7.8, 1.45]},
    "ex3.json": {"drf": [2.75, 5.2, 15.6], "tsf": [3.9, 5.7, 11.9],
                 "psdsf_rr": [5.25, 7.8, 16.5], "rpsdsf_rr": [5.25, 7.8, 16.5]},
}

# Sum of log x from the reference tables, on the mean x for random rows.
SUM_LOG = {("ex1.yaml", "psdsf"): 4.605, ("ex2.yaml", "psdsf"): 4.605, ("ex3.json", "psdsf"): 6.931,
           ("ex3.json", "bfdrf"): 5.817, ("ex2.yaml", "bfdrf"): 3.807}


@pytest.mark.parametrize("policy", ["drf", "drfh", "bfdrf", "tsf", "psdsf", "rpsdsf", "psdsf_rr", "rpsdsf_rr",
                                    "drf_rr", "tsf_rr", "drf_mesos", "psdsf_mesos", "maxmin", "maxmin_fluid"])
def test_drf_paper_example(example, policy):
    """<9 CPU, 18 GB>, A <1,4>, B <3,1>: 3 and 2 tasks, both dominant shares 2/3."""
    alloc = get_policy(policy)(example("drf-paper.json"), 0)
    assert np.allclose(alloc.counts, [3, 2], atol=1e-6)
    assert np.allclose(alloc.dominant_shares(), [2 / 3, 2 / 3], atol=1e-6)
    assert alloc.utilisation()["cpu"] == pytest.approx(1.0)
    assert alloc.utilisation()["mem"] == pytest.approx(14 / 18)


@pytest.mark.parametrize("fname,policy", [(f, p) for f, rows in DETERMINISTIC.items() for p in rows])
def test_deterministic_rows_exact(example, fname, policy):
    want, cpu, mem = DETERMINISTIC[fname][policy]
    for seed in (0, 7):  # deterministic rules ignore the seed
        alloc = get_policy(policy)(example(fname), seed)
        assert alloc.is_feasible()
        assert alloc.counts.tolist() == want
        util = alloc.utilisation()
        assert util["cpu"] == pytest.approx(cpu, abs=5e-5)
        assert util["mem"] == pytest.approx(mem, abs=5e-5)
    if (fname, policy) in SUM_LOG:
        assert alloc.sum_log() == pytest.approx(SUM_LOG[(fname, policy)], abs=5e-4)


@pytest.mark.parametrize("fname,policy", [(f, p) for f, rows in RANDOM.items() for p in rows])
def test_random_rows_mean_over_20_seeds(example, fname, policy):
    problem = example(fname)
    runs = [get_policy(policy)(problem, seed) for seed in range(20)]
    assert all(a.is_feasible() for a in runs)
    mean = np.mean([a.counts for a in runs], axis=0)
    want = np.array(RANDOM[fname][policy])
    assert np.all(np.abs(mean - want) <= 0.15 * want), (mean, want)
    # Different seeds must actually explore different placements somewhere.
    if fname != "ex1.yaml" or policy in ("drf", "tsf"):
        assert len({tuple(a.x.ravel()) for a in runs}) > 1


def test_server_specific_beats_pooled_on_efficiency(example):
    """The point of the examples: server-specific criteria are the most efficient."""
    for fname in ("ex1.yaml", "ex2.yaml", "ex3.json"):
        p = example(fname)
        ps = get_policy("psdsf")(p, 0).sum_tasks()
        for other in ("drf", "tsf", "bfdrf", "psdsf_rr"):
            assert ps >= get_policy(other)(p, 0).sum_tasks()


def test_psdsf_equals_rpsdsf_on_examples(example):
    for fname in ("ex1.yaml", "ex2.yaml", "ex3.json"):
        p = example(fname)
        assert np.array_equal(get_policy("psdsf")(p, 0).x, get_policy("rpsdsf")(p, 0).x)


def test_weight_doubles_share_entitlement(example):
    """Ex.3: u2 has weight 2, so its weighted DRF share counts half."""
    p = example("ex3.json")
    alloc = get_policy("maxmin_fluid")(p, 0)
    ds = alloc.dominant_shares()
    # u0 and u1 are at one weighted level, u2 (weight 2) at twice it or capped by its pool.
    assert ds[0] == pytest.approx(ds[1], rel=1e-6)
    assert ds[2] / 2 >= ds[0] - 1e-9
    assert not math.isinf(alloc.sum_log())
