"""Max-min fair completion times of multi-task jobs against brute force."""
import numpy as np
import pytest

from fairshare.mmf_jobs import brute_force, max_min_fair, weighted_completion


def _instances(n, seed):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        M, J = int(rng.integers(1, 4)), int(rng.integers(2, 5))
        p = rng.integers(0, 6, size=(M, J)).astype(float)
        for j in range(J):
            if p[:, j].sum() == 0:
                p[rng.integers(0, M), j] = 1 + rng.integers(0, 5)
        yield p


def _schedule_costs(p, result, costs=None):
    """Recompute completion times from the returned per-server orders."""
    M, J = p.shape
    C = np.zeros(J)
    for i, order in enumerate(result.order):
        assert sorted(order) == [j for j in range(J) if p[i, j] > 0]  # every task once, nothing extra
        t = 0.0
        for j in order:
            t += p[i, j]
            C[j] = max(C[j], t)
    return C


def test_first_element_exact_and_vector_never_beats_optimum():
    matches = 0
    for n, p in enumerate(_instances(40, 3)):
        res = max_min_fair(p)
        assert np.allclose(_schedule_costs(p, res), res.completion)
        opt = brute_force(p)
        got = res.sorted_costs()
        assert got[0] == pytest.approx(opt[0], abs=1e-7)  # element 1 is exact
        diff = np.flatnonzero(np.abs(got - opt) > 1e-7)
        assert len(diff) == 0 or got[diff[0]] > opt[diff[0]]  # lexicographically no better than optimal
        matches += len(diff) == 0
    # Iterative fixing is exact unless alternative bottleneck sets appear.
    assert matches >= 32, matches


def test_weighted_completion_costs():
    p = np.array([[2.0, 2.0, 1.0]])  # one server, three jobs
    costs = [weighted_completion(w) for w in (1.0, 3.0, 1.0)]
    res = max_min_fair(p, costs)
    opt = brute_force(p, costs)
    assert np.allclose(res.sorted_costs(), opt)
    # The heavy job runs first.
    assert res.order[0][0] == 1


def test_bad_input():
    with pytest.raises(ValueError, match="job 1"):
        max_min_fair([[1.0, 0.0]])
    with pytest.raises(ValueError):
        max_min_fair([[-1.0, 2.0]])
