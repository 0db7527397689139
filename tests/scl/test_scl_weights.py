from __future__ import annotations

import math
import threading

import pytest

import scl
from scl._lib import lib
from sharekit.fairness import NICE_WEIGHTS


def test_nice_to_weight_matches_cfs():
    assert scl.nice_to_weight(0) == 1024
    assert scl.nice_to_weight(5) == 335
    assert scl.nice_to_weight(-20) == 88761
    assert scl.nice_to_weight(19) == 15
    # The Python table must agree with the C library's copy, entry by entry.
    assert [lib.scl_nice_to_weight(n) for n in range(-20, 20)] == list(NICE_WEIGHTS)


@pytest.mark.parametrize("nice", [-21, 20, 100, 1.5, "0"])
def test_nice_to_weight_rejects_out_of_range(nice):
    with pytest.raises(ValueError):
        scl.nice_to_weight(nice)


@pytest.mark.parametrize("weight", [0, -1, math.nan, math.inf, "heavy", None])
def test_invalid_thread_weight_raises_value_error(weight):
    with pytest.raises(ValueError):
        scl.set_thread_weight(weight)


def test_thread_weight_set_get_and_context_manager():
    assert scl.get_thread_weight() is None
    scl.set_thread_weight(2.5)
    try:
        assert scl.get_thread_weight() == 2.5
        with scl.thread_weight(7):
            assert scl.get_thread_weight() == 7.0
        assert scl.get_thread_weight() == 2.5
    finally:
        scl.clear_thread_weight()
    assert scl.get_thread_weight() is None
    with scl.thread_weight(3):
        assert scl.get_thread_weight() == 3.0
    assert scl.get_thread_weight() is None


def test_thread_weight_is_per_thread():
    seen = {}
    with scl.thread_weight(9):
        t = threading.Thread(target=lambda: seen.setdefault("other", scl.get_thread_weight()))
        t.start()
        t.join()
        assert scl.get_thread_weight() == 9.0
    assert seen["other"] is None
