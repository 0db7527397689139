"""The SFS policy's decisions as pure functions, so they can be tested without processes."""
from __future__ import annotations

import enum


class SliceDecision(enum.Enum):
    DEMOTE = "demote"   # the slice is spent: on to CFS
    YIELD = "yield"     # asleep on its core: give the core away, keep the rest of the budget
    REARM = "rearm"     # running (or preempted): check again later


DEMOTE, YIELD, REARM = SliceDecision.DEMOTE, SliceDecision.YIELD, SliceDecision.REARM
SLICE_SLACK_S = 0.0005  # a slice this close to spent is spent: re-arming for less is not worth a wake-up


def should_bypass(now: float, enqueued_at: float, slice_s: float, factor: float, *,
                  aged: bool = False, resumed: bool = False) -> bool:
    """Overload bypass: a fresh arrival queued longer than factor x T goes straight to CFS.

    Aged (re-filtered) and resumed (woken after blocking, with budget left)
    invocations are never bypassed: they already waited their turn once.
    """
    return not aged and not resumed and now - enqueued_at > factor * slice_s


def on_slice_check(budget_s: float, used_s: float, progressed_s: float, wall_s: float,
                   blocked: bool) -> SliceDecision:
    """What to do when a FILTER invocation's timer fires.

    budget_s/used_s: CPU budget of this slice and CPU used in it so far;
    progressed_s/wall_s: CPU used and wall time since the previous check;
    blocked: /proc says it sleeps (S or D).  Spent -> DEMOTE to CFS.
    Sleeping and not using its core -> YIELD the core, keeping the rest of
    the budget.  Otherwise (it was preempted or is about to finish) -> REARM
    for what is left.
    """
    if budget_s - used_s <= SLICE_SLACK_S:
        return DEMOTE
    if blocked and progressed_s < 0.5 * wall_s:
        return YIELD
    return REARM


def aging_due(now: float, cfs_since: float, aging_s: float) -> bool:
    """Starvation guard: a CFS resident older than aging_s gets a fresh FILTER slice."""
    return now - cfs_since >= aging_s
