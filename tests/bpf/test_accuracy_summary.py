"""The verdict of `python -m ebpf.accuracy`'s paired cost series."""
from __future__ import annotations

import pytest

from ebpf.accuracy import cost_summary


def test_a_tight_series_below_the_target_passes():
    s = cost_summary([1.0, -0.5, 0.3, 0.8, -0.2, 0.4], 2.0)
    assert s["verdict"] == "PASS"
    assert s["mean_pct"] == pytest.approx(0.3)
    low, high = s["ci95_pct"]
    assert low < 0.3 < high < 2.0


def test_a_tight_series_above_the_target_misses():
    assert cost_summary([3.1, 2.9, 3.3, 3.0], 2.0)["verdict"] == "MISS"


def test_a_noisy_series_is_unresolved_and_says_how_many_pairs_it_would_take():
    s = cost_summary([34.0, -10.0, 5.0, 3.0], 2.0)
    assert s["verdict"].startswith("UNRESOLVED (about ")
    needed = int(s["verdict"].split("about ")[1].split()[0])
    assert needed > 4
    # a single pair resolves nothing
    assert cost_summary([0.1], 2.0)["verdict"].startswith("UNRESOLVED")
