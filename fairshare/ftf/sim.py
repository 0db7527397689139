"""Lease-based round simulator for gang-scheduled GPU jobs.

Time advances in rounds of one lease.  At every round boundary all leases
expire and the policy hands out the cluster's GPUs afresh (non-preemptive
policies simply give running jobs their GPUs back).  A grant is a set of
GPUs (per server) for a window [offset, offset + fraction) of the lease; a
job advances at speed 1 on one server and 1/slowdown when its GPUs span
servers.  Jobs arriving inside a round wait for the next boundary, and GPUs
a job frees inside a round stay idle until it ends: both hold for every
policy alike.  Preemption and migration are free (as in the Themis and Gavel
simulators).

rho_j = T_shared / T_independent.  T_shared = completion - arrival.
T_independent is the job alone on 1/N of the cluster, N the time-averaged
number of active jobs over the job's lifetime (Themis' "N contending
apps"): duration_j * max(1, G_j * N / total GPUs), i.e. it runs at full
speed when its gang fits its 1/N share and time-shares that share
otherwise.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .jobs import GpuJob, GpuServer, validate


@dataclass(frozen=True)
class Grant:
    job: int
    gpus: tuple             # ((server index, count), ...)
    fraction: float = 1.0   # share of the lease the grant lasts
    offset: float = 0.0     # where in the lease it starts (fraction of the lease)

    @property
    def servers(self) -> tuple:
        return tuple(s for s, _ in self.gpus)


@dataclass
class View:
    """What a policy sees at a round boundary."""
    now: float
    lease: float
    servers: list
    jobs: list
    active: np.ndarray           # job indices, arrival order
    remaining: np.ndarray        # seconds of packed run left, per job
    attained: np.ndarray         # GPU-seconds received so far
    rounds_run: np.ndarray       # rounds with a grant
    rounds_active: np.ndarray    # rounds active
    contention: np.ndarray       # time-averaged active jobs over each job's life so far
    previous: dict               # job -> Grant of the last round

    @property
    def total_gpus(self) -> int:
        return sum(s.gpus for s in self.servers)

    def t_independent(self, j: int) -> float:
        job = self.jobs[j]
        n = max(self.contention[j], 1.0)
        return job.duration * max(1.0, job.gpus * n / self.total_gpus)

    def rho_now(self, j: int) -> float:
        """rho if the job ran packed from now on without interruption."""
        job = self.jobs[j]
        return (self.now - job.arrival + self.remaining[j]) / self.t_independent(j)

    def speed(self, j: int, gpus) -> float:
        if len(gpus) <= 1:
            return 1.0
        return 1.0 / self.jobs[j].slowdown({self.servers[s].model for s, _ in gpus})


def place(job_gpus: int, free: np.ndarray, order=None):
    """Packed on the best-fitting server if one holds the gang, else spread
    over the servers with the most free GPUs; None when it does not fit."""
    fits = np.flatnonzero(free >= job_gpus)
    if len(fits):
        s = int(fits[np.argmin(free[fits] * 1000 + fits)])  # best fit, ties: lowest index
        return ((s, job_gpus),)
    if free.sum() < job_gpus:
        return None
    out, need = [], job_gpus
    for s in sorted(range(len(free)), key=lambda s: (-free[s], s)):
        take = int(min(free[s], need))
        if take:
            out.append((s, take))
            need -= take
        if need == 0:
            break
    return tuple(out)


def take(free: np.ndarray, gpus) -> None:
    for s, c in gpus:
        free[s] -= c
        assert free[s] >= 0, "grant exceeds free GPUs"


class Policy:
    """One allocation rule: `allocate(view)` returns this round's grants."""
    name = "policy"

    def allocate(self, view: View) -> list[Grant]:
        raise NotImplementedError


@dataclass
class GpuSimResult:
    policy: str
    jobs: list
    total_gpus: int
    times: np.ndarray = field(default_factory=lambda: np.array([]))
    utilisation: np.ndarray = field(default_factory=lambda: np.array([]))
    finish: dict = field(default_factory=dict)      # job -> completion time
    rho: dict = field(default_factory=dict)
    busy: float = 0.0                                # GPU-seconds in use
    first_arrival: float = 0.0
    rounds: int = 0
    wall: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def jct(self) -> dict:
        arr = {j.name: j.arrival for j in self.jobs}
        return {n: t - arr[n] for n, t in self.finish.items()}

    def summary(self) -> dict:
        r = np.array(list(self.rho.values())) if self.rho else np.array([math.nan])
        jct = np.array(list(self.jct.values())) if self.finish else np.array([math.nan])
        end = max(self.finish.values()) if self.finish else self.first_arrival
        makespan = end - self.first_arrival
        jain = float(r.sum() ** 2 / (len(r) * (r ** 2).sum())) if self.rho else math.nan
        return {"policy": self.policy, "jobs": len(self.jobs), "jobs_finished": len(self.finish),
                "max_rho": float(np.max(r)), "mean_rho": float(np.mean(r)), "jain_rho": jain,
                "unfair_fraction": float(np.mean(r > 1.0)) if self.rho else math.nan,
                "gpu_utilisation": float(self.busy) / (self.total_gpus * makespan) if makespan > 0 else math.nan,
                "makespan": float(makespan), "mean_jct": float(np.mean(jct)), "rounds": self.rounds,
                **self.extra}


class GpuSimulator:
    def __init__(self, servers: list[GpuServer], jobs: list[GpuJob], policy: Policy, lease: float = 300.0,
                 max_rounds: int = 100_000):
        validate(servers, jobs)
        if not (lease > 0 and math.isfinite(lease)):
            raise ValueError(f"lease must be a positive number of seconds, got {lease}")
        self.servers, self.jobs, self.policy = servers, sorted(jobs, key=lambda j: (j.arrival, j.name)), policy
        self.lease, self.max_rounds = lease, max_rounds

    def run(self) -> GpuSimResult:
        jobs, L = self.jobs, self.lease
        J = len(jobs)
        cap = np.array([s.gpus for s in self.servers])
        total = int(cap.sum())
        res = GpuSimResult(self.policy.name, jobs, total, first_arrival=jobs[0].arrival if jobs else 0.0)
        remaining = np.array([j.duration for j in jobs], dtype=float)
        attained, rounds_run, rounds_active = np.zeros(J), np.zeros(J), np.zeros(J)
        life, n_integral = np.zeros(J), np.zeros(J)
        done = np.zeros(J, dtype=bool)
        arrival = np.array([j.arrival for j in jobs])
        previous: dict = {}
        now = math.floor(arrival.min() / L) * L if J else 0.0
        times, utils = [], []
        while not done.all() and res.rounds < self.max_rounds:
            active = np.flatnonzero((arrival <= now) & ~done)
            if not len(active):
                now = math.ceil(arrival[~done].min() / L) * L
                continue
            contention = np.where(life > 0, n_integral / np.maximum(life, 1e-12), len(active))
            view = View(now, L, self.servers, jobs, active, remaining.copy(), attained.copy(), rounds_run.copy(),
                        rounds_active.copy(), contention, previous)
            grants = self.policy.allocate(view)
            self._check(grants, active, cap)
            for g in grants:
                assert sum(c for _, c in g.gpus) == jobs[g.job].gpus, f"grant to {jobs[g.job].name} is not its gang"
            busy = 0.0
            previous = {}
            for g in grants:
                speed = view.speed(g.job, g.gpus)
                n = sum(c for _, c in g.gpus)
                run = min(g.fraction * L, remaining[g.job] / speed)
                remaining[g.job] -= run * speed
                attained[g.job] += run * n
                busy += run * n
                rounds_run[g.job] += 1
                previous[g.job] = g
                if remaining[g.job] <= 1e-9 * jobs[g.job].duration and not done[g.job]:
                    remaining[g.job] = 0.0
                    done[g.job] = True
                    end = float(now + g.offset * L + run)
                    res.finish[jobs[g.job].name] = end
            rounds_active[active] += 1
            # Lifetime contention, up to each job's end inside this round.
            for j in active:
                span = (res.finish[jobs[j].name] - max(now, arrival[j])) if done[j] else L
                life[j] += span
                n_integral[j] += span * len(active)
            for j in active:
                if done[j] and jobs[j].name not in res.rho:
                    n = n_integral[j] / life[j] if life[j] > 0 else len(active)
                    t_ind = jobs[j].duration * max(1.0, jobs[j].gpus * max(n, 1.0) / total)
                    res.rho[jobs[j].name] = (res.finish[jobs[j].name] - arrival[j]) / t_ind
            res.busy += busy
            times.append(now)
            utils.append(busy / (total * L))
            res.rounds += 1
            now += L
        res.times, res.utilisation = np.array(times), np.array(utils)
        return res

    @staticmethod
    def _check(grants, active, cap) -> None:
        """Grants go to active jobs with exactly their gang, at most one
        full-lease grant per job, and no GPU is used twice at any time."""
        act = set(int(j) for j in active)
        used = np.zeros((len(cap), 2))  # GPU-fractions of the lease, at times just after 0 and just before 1
        seen = set()
        for g in grants:
            assert g.job in act, f"grant to inactive job {g.job}"
            assert g.job not in seen, f"two grants to job {g.job}"
            seen.add(g.job)
            assert 0 < g.fraction <= 1 + 1e-12 and 0 <= g.offset and g.offset + g.fraction <= 1 + 1e-9
            for s, c in g.gpus:
                if g.offset < 1e-12:
                    used[s, 0] += c
                if g.offset + g.fraction > 1 - 1e-9:
                    used[s, 1] += c
        assert (used <= cap[:, None]).all(), "GPUs over-committed"
