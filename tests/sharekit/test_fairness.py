"""The shared measures: the CFS weight table and Jain's index."""
import math

import pytest

from sharekit.fairness import NICE_WEIGHTS, jain, nice_to_weight


def test_cfs_table_landmarks():
    assert nice_to_weight(0) == 1024
    assert nice_to_weight(5) == 335 and nice_to_weight(-20) == 88761 and nice_to_weight(19) == 15
    assert len(NICE_WEIGHTS) == 40 and list(NICE_WEIGHTS) == sorted(NICE_WEIGHTS, reverse=True)


@pytest.mark.parametrize("nice", [-21, 20, 1.5, "0", True])
def test_nice_out_of_range_is_refused(nice):
    with pytest.raises(ValueError):
        nice_to_weight(nice)


def test_jain_unweighted():
    assert jain([1, 1, 1, 1]) == pytest.approx(1.0)
    assert jain([1, 0, 0, 0]) == pytest.approx(0.25)
    assert jain([1, 1, 0, 0]) == pytest.approx(0.5)
    assert jain([]) == 1.0 and jain([0, 0]) == 1.0


def test_jain_weighted_is_one_for_proportional_amounts():
    assert jain([3, 1], [3, 1]) == pytest.approx(1.0)
    assert jain([1, 1], [3, 1]) == pytest.approx((1 / 3 + 1) ** 2 / (2 * (1 / 9 + 1)))


@pytest.mark.parametrize("weights", [[1], [1, 0], [1, math.nan], [1, -2]])
def test_jain_rejects_bad_weights(weights):
    with pytest.raises(ValueError):
        jain([1, 2], weights)
