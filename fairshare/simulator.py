"""Online simulator: frameworks (jobs) arrive with tasks of given durations,
run, and leave; the cluster is re-allocated on every event.

Re-allocation is incremental: running tasks are never moved or preempted, so
each event only hands out free capacity, by progressive filling from the
current allocation.  A framework that fit nowhere stays parked until a task
ends on a server it may use (it cannot fit anywhere before that), which
keeps each event cheap on the 1,523-node trace.

Policies: any pooled criterion (optionally `criterion:selection`), psdsf,
rpsdsf, or `themis` (lease-based finish-time fairness, see themis.py).
Metrics per event: utilisation per resource, tasks running, weighted
dominant share per framework, Jain index over active frameworks; per job:
completion time (JCT) and Themis' rho = JCT / T_ideal.
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

import numpy as np

from .criteria import CRITERIA
from .filling import FillState, fill, make_selection
from .model import Problem
from . import themis


@dataclass
class SimResult:
    policy: str
    times: np.ndarray
    utilisation: np.ndarray          # events x resources
    running: np.ndarray              # tasks running after each event
    jain: np.ndarray
    shares: np.ndarray               # events x tracked frameworks (weighted dominant share)
    tracked: list
    resources: list
    jct: dict = field(default_factory=dict)       # job -> completion time
    rho: dict = field(default_factory=dict)       # job -> JCT / T_ideal
    unfinished: int = 0
    events: int = 0
    allocations: int = 0
    start_times: list = field(default_factory=list)  # time of every allocation that started tasks

    def summary(self) -> dict:
        j = np.array(list(self.jct.values())) if self.jct else np.array([np.nan])
        r = np.array(list(self.rho.values())) if self.rho else np.array([np.nan])
        dt = np.diff(self.times, append=self.times[-1]) if len(self.times) else np.array([])
        span = dt.sum() if len(dt) and dt.sum() > 0 else 1.0
        util = {res: float((self.utilisation[:, k] * dt).sum() / span) if len(dt) else 0.0
                for k, res in enumerate(self.resources)}
        return {"policy": self.policy, "jobs_done": len(self.jct), "unfinished": self.unfinished,
                "events": self.events, "mean_jct": float(np.nanmean(j)), "p50_jct": float(np.nanmedian(j)),
                "p95_jct": float(np.nanpercentile(j, 95)) if self.jct else math.nan,
                "mean_rho": float(np.nanmean(r)), "max_rho": float(np.nanmax(r)),
                "mean_jain": float(np.nanmean(self.jain)) if len(self.jain) else math.nan,
                "max_running": int(self.running.max()) if len(self.running) else 0,
                **{f"util_{k}": v for k, v in util.items()}}


class Simulator:
    def __init__(self, servers, jobs, policy: str = "drf", seed: int = 0, compress: float = 1.0,
                 lease: float = 300.0, knob: float = 0.2, track: int = 8):
        self.jobs = jobs
        self.problem = Problem(servers, [j.framework() for j in jobs])
        self.policy = policy
        # Arrivals are compressed (divided by `compress`), durations are not:
        # the trace is sparse (8,152 pods over 149 days), compressing its
        # arrival process is how we raise the offered load.
        self.compress = compress
        self.lease = lease
        self.knob = knob
        base = "drf" if policy == "themis" else policy.split(":")[0]
        if base not in CRITERIA:
            raise ValueError(f"simulator policy {policy!r}: use a criterion ({', '.join(CRITERIA)}), "
                             "criterion:selection, or themis")
        self.crit = CRITERIA[base](self.problem)
        sel_name = policy.split(":")[1] if ":" in policy else self.crit.default_selection
        self.sel = None if self.crit.server_specific else make_selection(self.problem, sel_name, seed)
        from .criteria import DRF
        self.unit = DRF(self.problem).unit() * self.problem.weight  # unweighted dominant share per task
        self.crit_unit = None if self.crit.server_specific else self.crit.unit()
        sizes = np.array([len(j.durations) for j in jobs])
        self.tracked = list(np.argsort(-sizes, kind="stable")[:track])

    def run(self, max_events: int | None = None, progress: bool = False) -> SimResult:
        p = self.problem
        F = p.n_frameworks
        ts = 1.0
        arrivals = [(j.arrival / self.compress, n) for n, j in enumerate(self.jobs)]
        arrivals.sort()
        queue = [sorted((d / ts for d in j.durations), reverse=True) for j in self.jobs]  # pop() = shortest
        pending = np.zeros(F, dtype=np.int64)
        active = np.zeros(F, dtype=bool)
        parked = np.zeros(F, dtype=bool)
        state = FillState(p, limit=np.zeros(F, dtype=np.int64), log=[])
        work_left = np.array([sum(q) for q in queue])
        t_ideal = np.zeros(F)
        arrival_t = np.array([j.arrival / self.compress for j in self.jobs])
        done_tasks = np.zeros(F, dtype=np.int64)
        total_tasks = np.array([len(q) for q in queue])
        completions: list = []
        seq = 0
        a_idx = 0
        times, utils, running, jains, shares = [], [], [], [], []
        res = SimResult(self.policy, np.array([]), np.zeros((0, len(p.resources))), np.array([]), np.array([]),
                        np.zeros((0, len(self.tracked))), [self.jobs[n].name for n in self.tracked],
                        list(p.resources))
        next_tick = math.inf
        bar = None
        if progress:
            from tqdm import tqdm
            bar = tqdm(total=len(arrivals) + int(total_tasks.sum()), unit="ev", desc=f"simulate {self.policy}")
        events = 0
        while a_idx < len(arrivals) or completions or (math.isfinite(next_tick) and (active & (pending > 0)).any()):
            t_next = min(arrivals[a_idx][0] if a_idx < len(arrivals) else math.inf,
                         completions[0][0] if completions else math.inf)
            if self.policy == "themis" and next_tick < t_next:
                t_next = next_tick
            if not math.isfinite(t_next):
                break
            now = t_next
            freed = []
            while completions and completions[0][0] <= now:
                _, _, n, i = heapq.heappop(completions)
                state.release(n, i)
                done_tasks[n] += 1
                freed.append(i)
                if bar:
                    bar.update(1)
                if done_tasks[n] == total_tasks[n]:
                    active[n] = False
                    jct = now - arrival_t[n]
                    res.jct[self.jobs[n].name] = jct * ts
                    res.rho[self.jobs[n].name] = jct / t_ideal[n] if t_ideal[n] > 0 else math.nan
            while a_idx < len(arrivals) and arrivals[a_idx][0] <= now:
                n = arrivals[a_idx][1]
                a_idx += 1
                active[n] = True
                pending[n] = total_tasks[n]
                if bar:
                    bar.update(1)
            if freed:
                parked &= ~p.eligible[:, np.unique(freed)].any(axis=1)
            contenders = int(active.sum())
            for n in np.flatnonzero(active & (t_ideal == 0)):
                t_ideal[n] = themis.ideal_time(work_left[n], int(total_tasks[n]), self.unit[n], contenders)
            allocate_now = self.policy != "themis" or now >= next_tick
            if allocate_now:
                want = active & (pending > 0) & ~parked
                if want.any():
                    state.limit = state.x + pending
                    state.log.clear()
                    if self.policy == "themis":
                        cand = np.flatnonzero(want)
                        rhos = np.array([themis.rho(now, arrival_t[n], work_left[n], int(state.x[n]), t_ideal[n])
                                         for n in cand])
                        bid = np.zeros(F, dtype=bool)
                        bid[themis.bidders(cand, rhos, self.knob)] = True
                        fill(p, self.crit, state, bid, self.sel, self.crit_unit)
                    fill(p, self.crit, state, want, self.sel, self.crit_unit)
                    res.allocations += 1
                    if state.log:
                        res.start_times.append(now)
                    for n, i, c in state.log:
                        pending[n] -= c
                        for _ in range(c):
                            d = queue[n].pop()
                            work_left[n] -= d
                            seq += 1
                            heapq.heappush(completions, (now + d, seq, n, i))
                    parked |= want & (pending > 0)
                if self.policy == "themis":
                    next_tick = (math.floor(now / self.lease) + 1) * self.lease if (active & (pending > 0)).any() \
                        else math.inf
            elif self.policy == "themis" and not math.isfinite(next_tick) and (active & (pending > 0)).any():
                next_tick = (math.floor(now / self.lease) + 1) * self.lease
            if self.policy == "themis" and (active & (pending > 0)).any() and not math.isfinite(next_tick):
                next_tick = (math.floor(now / self.lease) + 1) * self.lease
            events += 1
            times.append(now * ts)
            used = 1.0 - state.free.sum(axis=0) / p.total
            utils.append(used)
            running.append(int(state.x.sum()))
            s = state.x * self.unit / p.weight
            act_s = s[active]
            jains.append(float(act_s.sum() ** 2 / (len(act_s) * (act_s ** 2).sum()))
                         if len(act_s) and (act_s ** 2).sum() > 0 else math.nan)
            shares.append(s[self.tracked])
            if max_events is not None and events >= max_events:
                break
        if bar:
            bar.close()
        res.times = np.array(times)
        res.utilisation = np.array(utils) if utils else np.zeros((0, len(p.resources)))
        res.running = np.array(running)
        res.jain = np.array(jains)
        res.shares = np.array(shares) if shares else np.zeros((0, len(self.tracked)))
        res.unfinished = int(F - len(res.jct))
        res.events = events
        return res
