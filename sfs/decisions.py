"""The SFS policy's decisions as pure functions, so they can be tested without processes."""
from __future__ import annotations

import enum
import math

from sharekit.fairness import NICE_WEIGHTS


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


NICE_MIN, NICE_MAX = -20, 19   # NICE_WEIGHTS[nice - NICE_MIN] is nice's CFS weight


def nice_for_weight(weight: float) -> int:
    """The nice value whose CFS weight is closest to `weight` (on a log scale)."""
    return min(range(NICE_MIN, NICE_MAX + 1),
               key=lambda nice: abs(math.log(NICE_WEIGHTS[nice - NICE_MIN] / weight)))


def joins_turns(attained_s: float, recent_median_s: float | None, min_s: float) -> bool:
    """Whether a task leaving FILTER waits in CFS for its turn (in_turn_nices) or shares.

    In turn only once it has run longer than half the recent calls and at
    least `min_s`: probably long, one of the calls that sharing makes all end
    late.  The floor matters early and after bursts: the first calls to
    complete are the short ones, so the median of completions starts low,
    and a burst cuts slices short; a short call put at the end of the line
    would wait for every long call before it.  Nothing known yet: share, as
    plain CFS does.
    """
    return recent_median_s is not None and attained_s >= max(recent_median_s, min_s)


def in_turn_nices(count: int, lanes: int) -> list[int]:
    """Nice values for `count` demoted tasks served in turn, `lanes` (cores) at a time.

    Under plain CFS every demoted task shares the CPU left over by FILTER, so
    each waits for all the others: n calls of similar length all end near
    the end.  Served in turn, the first ones end early and nobody ends later.
    The first `lanes` tasks (in service order) get the weight the whole group
    would have at nice 0 and the others nice 19, so the group takes no more and
    no less CPU than before against everything else on the machine, and CFS
    still gives the others the cycles the first ones leave (work-conserving:
    one asleep costs no idle core).
    """
    if count <= lanes:
        return [0] * count
    tail = NICE_WEIGHTS[NICE_MAX - NICE_MIN]
    lead = nice_for_weight((count * NICE_WEIGHTS[-NICE_MIN] - (count - lanes) * tail) / lanes)
    return [lead] * lanes + [NICE_MAX] * (count - lanes)
