"""Shares from cumulative counters: windows, time series, convergence.

A node's samples are ``(t, {tenant: cumulative seconds})`` taken at a fixed
interval: CPU seconds from the tenant groups' kernel accounting, or lock hold
seconds from the interposer's statistics.  A share over a window is each
tenant's increase divided by the increase of all tenants present in both
end samples, so a tenant that has left simply drops out.
"""
from __future__ import annotations

import bisect
import math
from typing import Mapping, Sequence

Sample = tuple[float, Mapping[str, float]]


def _at(samples: Sequence[Sample], t: float) -> Sample:
    """The first sample at or after t (the last one if none)."""
    times = [s[0] for s in samples]
    k = min(bisect.bisect_left(times, t - 1e-9), len(samples) - 1)
    return samples[k]


def window_shares(samples: Sequence[Sample], start: float, end: float) -> dict[str, float]:
    """Each tenant's fraction of the total increase between `start` and `end`."""
    if len(samples) < 2:
        return {}
    (t0, first), (t1, last) = _at(samples, start), _at(samples, end)
    if t1 <= t0:
        return {}
    # A tenant missing from the first sample had used nothing yet: its group
    # did not exist, or its lock thread had not yet reached the statistics
    # file (rewritten every 100 ms) when a slow start-up let the window open.
    used = {t: last[t] - first.get(t, 0.0) for t in last}
    total = sum(v for v in used.values() if v > 0)
    if total <= 0:
        return {t: math.nan for t in used}
    return {t: max(v, 0.0) / total for t, v in used.items()}


def share_series(samples: Sequence[Sample], width: float) -> list[tuple[float, dict[str, float]]]:
    """Shares over a sliding window of `width` seconds, one point per sample."""
    out = []
    for t, _ in samples:
        if t - width >= samples[0][0] - 1e-9:
            out.append((t, window_shares(samples, t - width, t)))
    return out


def max_error(shares: Mapping[str, float], targets: Mapping[str, float]) -> float:
    errors = [abs(shares.get(t, 0.0) - v) for t, v in targets.items()]
    return max(errors, default=math.nan)


def convergence_time(samples: Sequence[Sample], since: float, targets: Mapping[str, float],
                     width: float, tolerance: float) -> float | None:
    """Seconds from `since` until the shares over a `width` window first stay within
    `tolerance` of `targets` for the rest of the run; None if they never do."""
    points = [(t, s) for t, s in share_series(samples, width) if t - width >= since - 1e-9]
    settled = None
    for t, shares in points:
        if all(t_ in shares for t_ in targets) and max_error(shares, targets) <= tolerance:
            if settled is None:
                settled = t
        else:
            settled = None
    return None if settled is None else settled - since
