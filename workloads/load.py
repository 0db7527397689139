"""Offered load of a trace, and rescaling inter-arrival times to a target load.

Offered load on N cores = total service time / (arrival span x N), where the
span runs from the first to the last arrival.  Rescaling multiplies every
inter-arrival time by one factor, so the order and the relative gaps of the
trace are kept and only its rate changes.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from workloads.invocation import Invocation


def offered_load(invocations: Sequence[Invocation], cores: int) -> float:
    if len(invocations) < 2:
        raise ValueError("the offered load needs at least two invocations")
    span = max(i.arrival_s for i in invocations) - min(i.arrival_s for i in invocations)
    if span <= 0:
        raise ValueError("all invocations arrive at the same instant; the load is undefined")
    return sum(i.duration_s for i in invocations) / (span * cores)


def rescale_to_load(invocations: Sequence[Invocation], load: float, cores: int) -> list[Invocation]:
    """Arrivals stretched or squeezed so the offered load is `load` x `cores`; first arrival at 0."""
    if load <= 0:
        raise ValueError(f"target load must be positive, got {load}")
    ordered = sorted(invocations, key=lambda i: i.arrival_s)
    factor = offered_load(ordered, cores) / load
    first = ordered[0].arrival_s
    return [replace(i, arrival_s=(i.arrival_s - first) * factor) for i in ordered]


def limit(invocations: Sequence[Invocation], count: int | None) -> list[Invocation]:
    """The first `count` invocations by arrival (all when count is None)."""
    ordered = sorted(invocations, key=lambda i: i.arrival_s)
    return ordered if count is None else ordered[:count]
