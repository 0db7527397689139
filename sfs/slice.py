"""The adaptive FILTER slice T.

Two rules, both over a sliding window and in float seconds (no whole-ms
truncation), both with a floor (default 6 ms) and a ceiling:

- ``iat`` (default, the published rule): T = mean inter-arrival time of the
  last `window` arrivals x cores.  At offered load L, mean IAT x cores =
  mean service / L, so T tracks how long each core may give one newcomer.
- ``percentile``: T = the p-th percentile (default 80) of the CPU times of
  the last `window` completed invocations: the slice lets that share of
  recent invocations finish inside FILTER.

Until `min_samples` observations exist the start value is used.

The ``iat`` rule also waits until its window spans ``min_span_s`` of time
(default 0.5 s).  Real traces deliver bursts of simultaneous calls (the
Azure 2021 sample opens with 21 arrivals in 17 ms and later has 16 at one
instant: timer triggers).  Over such a window the mean gap is ~1 ms and T
would collapse to the floor: every short invocation of the burst would be
demoted after 6 ms or bypassed after 3 x 6 ms, i.e. handed to CFS, which is
what made sfs no better than cfs on that trace.  A burst says nothing about
the long-run rate the rule estimates, so T keeps its previous value until
the window covers enough time.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from sharekit.stats import quantile


@dataclass
class SliceConfig:
    rule: str = "iat"            # "iat" or "percentile"
    initial_s: float = 0.25
    floor_s: float = 0.006
    ceiling_s: float = 10.0
    window: int = 100
    min_samples: int = 8
    percentile: float = 80.0
    min_span_s: float = 0.5      # iat: the window must cover this long before T follows it

    def __post_init__(self) -> None:
        if self.rule not in ("iat", "percentile"):
            raise ValueError(f"unknown slice rule {self.rule!r} (choose iat or percentile)")
        if not 0 < self.floor_s <= self.ceiling_s:
            raise ValueError("need 0 < floor_s <= ceiling_s")
        if self.window < 2 or self.min_samples < 2:
            raise ValueError("window and min_samples must be at least 2")
        if not 0 < self.percentile <= 100:
            raise ValueError("percentile must be in (0, 100]")
        if self.min_span_s < 0:
            raise ValueError("min_span_s must not be negative")


class AdaptiveSlice:
    def __init__(self, config: SliceConfig, cores: int) -> None:
        self.config = config
        self.cores = cores
        self._arrivals: deque[float] = deque(maxlen=config.window)
        self._durations: deque[float] = deque(maxlen=config.window)
        self._value = self._clamp(config.initial_s)

    def _clamp(self, value: float) -> float:
        return min(max(value, self.config.floor_s), self.config.ceiling_s)

    @property
    def value(self) -> float:
        return self._value

    def recent_median(self) -> float | None:
        """The median CPU time of the last `window` completions; None before the first."""
        if not self._durations:
            return None
        return quantile(self._durations, 0.5)

    def on_arrival(self, t: float) -> None:
        self._arrivals.append(t)
        if self.config.rule == "iat" and len(self._arrivals) >= self.config.min_samples:
            span = self._arrivals[-1] - self._arrivals[0]
            if span < self.config.min_span_s:
                return  # a burst: no estimate of the rate yet
            mean_iat = span / (len(self._arrivals) - 1)
            self._value = self._clamp(mean_iat * self.cores)

    def on_completion(self, cpu_s: float) -> None:
        self._durations.append(cpu_s)
        if self.config.rule == "percentile" and len(self._durations) >= self.config.min_samples:
            self._value = self._clamp(quantile(self._durations, self.config.percentile / 100.0))
