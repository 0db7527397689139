"""Named policies: what `--policy NAME` means.

* `<criterion>`: offline discrete progressive filling with the criterion's
  default server choice (drf, drfh, bfdrf, tsf, psdsf, rpsdsf);
* `<criterion>:<selection>`: a pooled criterion with another server-selection
  rule (random, rrr, bestfit, residual), e.g. `tsf:bestfit`;
* `<criterion>_rr`: online offer cycle, one task per server per turn;
* `<criterion>_mesos`: online offer cycle, each visited server filled;
* `maxmin`, `pf`: exact fluid references rounded to integers (floor, then
  greedy fill); `maxmin_fluid`, `pf_fluid`: the fractional solutions.
"""
from __future__ import annotations

from typing import Callable

from .allocation import Allocation
from .criteria import CRITERIA
from .model import Problem
from .selection import SELECTIONS

Runner = Callable[[Problem, int], Allocation]

REFERENCES = ("maxmin", "pf", "maxmin_fluid", "pf_fluid")


def policy_names(include_combinations: bool = False) -> list[str]:
    names = list(CRITERIA)
    names += [f"{c}_rr" for c in CRITERIA] + [f"{c}_mesos" for c in CRITERIA]
    if include_combinations:
        names += [f"{c}:{s}" for c, cls in CRITERIA.items() if not cls.server_specific for s in SELECTIONS]
    return names + list(REFERENCES)


def describe(name: str) -> str:
    if name in CRITERIA:
        return CRITERIA[name].summary
    if name.endswith("_rr"):
        return f"online offer cycle with {name[:-3]} shares, one task per server per turn"
    if name.endswith("_mesos"):
        return f"online offer cycle with {name[:-6]} shares, each visited server filled"
    return {"maxmin": "exact lexicographic max-min (fluid LP, DRF shares), floored then greedily filled",
            "pf": "exact proportional fairness max sum w log x (fluid), floored then greedily filled",
            "maxmin_fluid": "exact lexicographic max-min of the fluid relaxation (fractional tasks)",
            "pf_fluid": "exact proportional fairness of the fluid relaxation (fractional tasks)"}.get(name, "")


def get_policy(name: str) -> Runner:
    """Return run(problem, seed) -> Allocation, or raise ValueError naming the choices."""
    from .filling import progressive_fill
    from .online import offer_cycle
    if name in CRITERIA:
        return lambda p, seed=0: progressive_fill(p, CRITERIA[name], seed=seed, name=name)
    if ":" in name:
        crit, sel = name.split(":", 1)
        if crit in CRITERIA and sel in SELECTIONS and not CRITERIA[crit].server_specific:
            return lambda p, seed=0: progressive_fill(p, CRITERIA[crit], sel, seed=seed, name=name)
    for suffix, fill in (("_rr", False), ("_mesos", True)):
        if name.endswith(suffix) and name[:-len(suffix)] in CRITERIA:
            crit = CRITERIA[name[:-len(suffix)]]
            return lambda p, seed=0: offer_cycle(p, crit, seed=seed, fill_server=fill, name=name)
    if name in REFERENCES:
        return _exact_runner(name)
    raise ValueError(f"unknown policy {name!r}; run 'fairshare policies' for the list "
                     f"(e.g. {', '.join(policy_names()[:6])}, ...)")


def _exact_runner(name: str) -> Runner:
    # Imported here: the exact references load scipy (about 0.5 s of start-up
    # that no heuristic policy needs).
    from .exact import FluidLP, maxmin_fluid, pf_fluid, round_down_fill
    if name == "maxmin_fluid":
        return lambda p, seed=0: maxmin_fluid(p)
    if name == "pf_fluid":
        return lambda p, seed=0: pf_fluid(p)
    objective = maxmin_fluid if name == "maxmin" else pf_fluid

    def run_exact(p, seed=0):
        lp = FluidLP(p)
        return round_down_fill(objective(p, lp=lp), lp, name=name)
    return run_exact
