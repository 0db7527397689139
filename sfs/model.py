"""A model of the sfs policies: their own decisions, run in 1 ms steps on ideal cores.

`sfs bench` measures the real scheduler, but on a shared machine its figures
move with the foreign load, and one run of one seed says little about a p99.
The model replays a bench trace in a second or two, so a rule can be compared
over many seeds before it is measured.  It calls the policy objects
themselves for every ordering decision (``order``, ``rank``,
``preempt_gain``, ``overtakes``, the slice T and its rule, the predictor
through ``exited``) and :mod:`sfs.decisions` for bypass, aging and the CFS
turn order.  What it models rather than runs:

- FILTER: one job per core runs; newcomers are stacked on top (at most
  ``max_preemption_depth``; a full stack sends its lowest-ranked waiting job
  to CFS); slices end exactly when spent; reorders happen at slice checks
  every ``block_check_s``.
- CFS: the cores with no FILTER job are shared by the CFS jobs in proportion
  to their CFS weights (nice 0, or ``in_turn_nices`` for the ones waiting in
  turn), at most one core each.
- Left out: syscall and launch delays, the kernel's 5% for normal tasks under
  RT load, foreign load, blocking (every job burns CPU until done).

    python -m sfs.model [--traces synthetic,bursty] [--seeds 4] [--cores 2]
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
from types import SimpleNamespace

from sfs.decisions import NICE_MIN, aging_due, in_turn_nices, should_bypass
from sfs.policies import make_policy
from sfs.scheduler import SchedulerConfig
from sfs.task import Task
from sharekit.fairness import NICE_WEIGHTS

STEP_S = 0.001
NICE_0 = NICE_WEIGHTS[-NICE_MIN]


class Job:
    """The model's state of one call; `task` is what the policy sees."""
    __slots__ = ("task", "size", "attained", "where", "core", "slice_start", "budget", "next_check",
                 "cfs_since", "end")

    def __init__(self, task: Task, size: float) -> None:
        self.task, self.size = task, size
        self.attained, self.where, self.core, self.end = 0.0, "queued", -1, math.nan


def run(invocations, policy_name: str, cores: int, config: SchedulerConfig | None = None) -> list[float]:
    """Completion time of each invocation (same order) under `policy_name` ("sfs" or "sfs-predict")."""
    config = config or SchedulerConfig()
    policy = make_policy(policy_name)
    policy.attach(SimpleNamespace(config=config, cores=list(range(cores)), stats={}))
    jobs = [Job(Task(k, inv, inv.arrival_s), inv.duration_s) for k, inv in enumerate(invocations)]
    pending = sorted(jobs, key=lambda j: j.task.arrival, reverse=True)
    stacks: dict[int, list[Job]] = {c: [] for c in range(cores)}
    queue: list[Job] = []
    cfs: list[Job] = []
    turns: list[Job] = []
    t, left = 0.0, len(jobs)

    def to_cfs(job: Job) -> None:
        if job.core >= 0:
            stacks[job.core].remove(job)
            job.core = -1
        job.where, job.cfs_since = "cfs", t
        cfs.append(job)
        if policy.waits_in_turn(job.attained):
            turns.append(job)

    def place(job: Job, core: int, budget: float | None) -> None:
        job.where, job.core, job.next_check = "filter", core, t + config.block_check_s
        if budget is not None:
            job.slice_start, job.budget = job.attained, budget
        stacks[core].append(job)

    def rank(job: Job) -> float:
        return policy.rank(job.task, job.attained)

    while left:
        while pending and pending[-1].task.arrival <= t + 1e-12:
            job = pending.pop()
            job.task.enqueued_at = t
            policy.slice.on_arrival(job.task.arrival)
            queue.append(job)
        for job in [j for j in cfs if aging_due(t, j.cfs_since, config.aging_s)]:
            cfs.remove(job)
            if job in turns:
                turns.remove(job)
            job.task.outcome.aged += 1
            job.task.enqueued_at, job.where = t, "queued"
            queue.append(job)
        for core, stack in stacks.items():       # slice ends and checks of the running jobs
            if not stack:
                continue
            top = stack[-1]
            if top.attained - top.slice_start >= top.budget - 1e-9:
                to_cfs(top)
            elif t >= top.next_check:
                top.next_check = t + config.block_check_s
                if config.preempt_after_s is not None and len(stack) > 1:
                    waiting = max(stack[:-1], key=rank)
                    if policy.overtakes(waiting.task, waiting.attained, top.task, top.attained):
                        stack.remove(waiting)
                        place(waiting, core, None)
        by_task = {id(j.task): j for j in queue}
        kept = []
        for job in [by_task[id(task)] for task in policy.order([j.task for j in queue])]:
            if should_bypass(t, job.task.enqueued_at, policy.slice.value, config.bypass_factor,
                             aged=job.task.outcome.aged > 0):
                job.task.outcome.bypassed = True
                to_cfs(job)
                continue
            core = next((c for c in stacks if not stacks[c]), None)
            if core is None and config.preempt_after_s is not None:
                best = 0.0
                for c, stack in stacks.items():
                    verdict = policy.preempt_gain(job.task, job.attained, stack[-1].task, stack[-1].attained)
                    if verdict is not None and verdict[0] > best:
                        best, core = verdict[0], c
                if core is not None and len(stacks[core]) > config.max_preemption_depth:
                    to_cfs(min(stacks[core][:-1], key=rank))
            if core is None:
                kept.append(job)
                continue
            place(job, core, policy.slice.value)
        queue = kept
        for core in [c for c in stacks if not stacks[c]]:    # an idle core steals a preempted job
            waiting = [j for s in stacks.values() for j in s[:-1]]
            if waiting:
                job = max(waiting, key=rank)
                stacks[job.core].remove(job)
                place(job, core, None)
        for stack in stacks.values():
            if stack:
                stack[-1].attained += STEP_S
        _share_cfs(cfs, turns, sum(1 for s in stacks.values() if not s), cores)
        t += STEP_S
        for job in [j for s in stacks.values() for j in s] + cfs:
            if job.attained >= job.size - 1e-9:
                if job.core >= 0:
                    stacks[job.core].remove(job)
                else:
                    cfs.remove(job)
                    if job in turns:
                        turns.remove(job)
                job.end, job.where = t, "done"
                left -= 1
                policy.exited(job.task, job.size)
    return [j.end for j in jobs]


def _share_cfs(cfs: list[Job], turns: list[Job], free_cores: int, cores: int) -> None:
    """One step of CFS on the free cores: shares by weight, at most one core per job."""
    if not cfs or not free_cores:
        return
    weights = {id(j): NICE_0 for j in cfs}
    for job, nice in zip(turns, in_turn_nices(len(turns), cores)):
        weights[id(job)] = NICE_WEIGHTS[nice - NICE_MIN]
    capacity, active = free_cores * STEP_S, list(cfs)
    while active and capacity > 1e-12:
        total = sum(weights[id(j)] for j in active)
        capped = [j for j in active if capacity * weights[id(j)] / total >= STEP_S]
        if not capped:
            for job in active:
                job.attained += capacity * weights[id(job)] / total
            return
        for job in capped:
            job.attained += STEP_S
            capacity -= STEP_S
            active.remove(job)


def summary(invocations, finish: list[float]) -> dict[str, float]:
    """Short p50/p99, medium and long mean slowdown (classes by trace duration, as `sfs bench`)."""
    from sfs.records import duration_class
    from sharekit.stats import quantile
    slow = {"short": [], "medium": [], "long": []}
    for inv, end in zip(invocations, finish):
        slow[duration_class(inv.duration_s)].append((end - inv.arrival_s) / inv.duration_s)
    return {"short p50": quantile(slow["short"], 0.5), "short p99": quantile(slow["short"], 0.99),
            "medium mean": statistics.fmean(slow["medium"]) if slow["medium"] else math.nan,
            "long mean": statistics.fmean(slow["long"]) if slow["long"] else math.nan}


def main(argv=None) -> int:
    from sfs.policies.ps_sim import ps_finish_times
    from sfs.policies.srtf_oracle import srtf_finish_times
    from workloads.bench_traces import bench_trace
    p = argparse.ArgumentParser(prog="python -m sfs.model", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--traces", default="synthetic,bursty")
    p.add_argument("--seeds", type=int, default=4, help="seeds 0..N-1 of the synthetic traces")
    p.add_argument("--cores", type=int, default=2)
    p.add_argument("--quick", action="store_true", help="the --quick sizes of sfs bench")
    args = p.parse_args(argv)
    variants = [("sfs, CFS shared", "sfs", SchedulerConfig(cfs_in_turn=False)),
                ("sfs", "sfs", SchedulerConfig()),
                ("sfs-predict", "sfs-predict", SchedulerConfig())]
    print(f"{'trace':<10} {'seed':>4} {'policy':<16} {'short p50':>9} {'short p99':>9} {'/oracle':>7} "
          f"{'medium mean':>11} {'long mean':>9} {'/ps-sim':>7}")
    for trace in args.traces.split(","):
        for seed in range(args.seeds if trace in ("synthetic", "bursty") else 1):
            invs = bench_trace(trace, args.cores, quick=args.quick, seed=seed)
            if invs is None:
                print(f"{trace}: skipped, the trace file is not here", file=sys.stderr)
                break
            arrivals, sizes = [i.arrival_s for i in invs], [i.duration_s for i in invs]
            oracle = summary(invs, srtf_finish_times(arrivals, sizes, args.cores))
            ps = summary(invs, ps_finish_times(arrivals, sizes, args.cores))
            for label, name, config in variants:
                s = summary(invs, run(invs, name, args.cores, config))
                print(f"{trace:<10} {seed:>4} {label:<16} {s['short p50']:>9.2f} {s['short p99']:>9.2f} "
                      f"{s['short p99'] / oracle['short p99']:>7.2f} {s['medium mean']:>11.2f} {s['long mean']:>9.2f} "
                      f"{s['long mean'] / ps['long mean']:>7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
