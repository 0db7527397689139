"""Multi-task job files for `fairshare jobs` (untrusted input).

    {"servers": ["s1", "s2"],
     "jobs": [{"name": "j1", "tasks": {"s1": 3.0, "s2": 1.0}, "weight": 1}]}

A task's number is its processing time on that server.  Every error names
the file and the offending job or server.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ProblemError


@dataclass
class JobsProblem:
    servers: list
    jobs: list
    p: np.ndarray          # servers x jobs processing times (0 = no task)
    weight: np.ndarray

    @property
    def rate(self) -> np.ndarray:
        """cost_j = weight_j * C_j / (largest task time of j): weighted slowdown."""
        return self.weight / self.p.max(axis=0)


def _number(v, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ProblemError(f"{what}: not a number: {v!r}")
    v = float(v)
    if math.isnan(v) or math.isinf(v):
        raise ProblemError(f"{what}: not a finite number: {v!r}")
    return v


def parse_jobs(data, source: str = "<input>") -> JobsProblem:
    if not isinstance(data, dict):
        raise ProblemError(f"{source}: top level must be an object with 'servers' and 'jobs'")
    servers, jobs = data.get("servers"), data.get("jobs")
    if not isinstance(servers, list) or not servers:
        raise ProblemError(f"{source}: 'servers' must be a non-empty list of names")
    if not isinstance(jobs, list) or not jobs:
        raise ProblemError(f"{source}: 'jobs' must be a non-empty list")
    index = {}
    for n, s in enumerate(servers):
        if not isinstance(s, str) or not s:
            raise ProblemError(f"{source}: servers[{n}]: a server name must be a non-empty string")
        if s in index:
            raise ProblemError(f"{source}: server {s!r} is listed twice")
        index[s] = n
    p = np.zeros((len(servers), len(jobs)))
    weight = np.ones(len(jobs))
    names = []
    for j, job in enumerate(jobs):
        if not isinstance(job, dict):
            raise ProblemError(f"{source}: jobs[{j}]: must be an object")
        name = job.get("name")
        if not isinstance(name, str) or not name:
            raise ProblemError(f"{source}: jobs[{j}]: 'name' must be a non-empty string")
        if name in names:
            raise ProblemError(f"{source}: job {name!r} is listed twice")
        names.append(name)
        unknown = set(job) - {"name", "tasks", "weight"}
        if unknown:
            raise ProblemError(f"{source}: job {name!r}: unknown field(s) {', '.join(sorted(unknown))}")
        tasks = job.get("tasks")
        if not isinstance(tasks, dict) or not tasks:
            raise ProblemError(f"{source}: job {name!r} has no task ('tasks' must map servers to times)")
        for s, t in tasks.items():
            if s not in index:
                raise ProblemError(f"{source}: job {name!r}: unknown server {s!r}")
            t = _number(t, f"{source}: job {name!r} on server {s!r}")
            if t < 0:
                raise ProblemError(f"{source}: job {name!r} on server {s!r}: negative time {t:g}")
            p[index[s], j] = t
        if p[:, j].max() <= 0:
            raise ProblemError(f"{source}: job {name!r} has no task with a positive time")
        w = _number(job.get("weight", 1), f"{source}: job {name!r}: weight")
        if w <= 0:
            raise ProblemError(f"{source}: job {name!r}: weight must be positive, got {w:g}")
        weight[j] = w
    return JobsProblem(list(servers), names, p, weight)


def load_jobs(path: str | Path) -> JobsProblem:
    path = Path(path)
    try:
        return parse_jobs(json.loads(path.read_text()), str(path))
    except OSError as exc:
        raise ProblemError(f"{path}: cannot read: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ProblemError(f"{path}:{exc.lineno}: malformed JSON: {exc.msg}") from None
    except UnicodeDecodeError:
        raise ProblemError(f"{path}: not UTF-8 text") from None


def random_jobs(n_jobs: int, n_servers: int, seed: int = 0, density: float = 0.3) -> JobsProblem:
    """Random instance: each job has tasks on about `density` of the servers (at least one)."""
    rng = np.random.default_rng(seed)
    p = np.where(rng.random((n_servers, n_jobs)) < density, rng.integers(1, 20, (n_servers, n_jobs)), 0)
    for j in np.flatnonzero(p.sum(axis=0) == 0):
        p[rng.integers(0, n_servers), j] = rng.integers(1, 20)
    return JobsProblem([f"s{i}" for i in range(n_servers)], [f"j{j}" for j in range(n_jobs)],
                       p.astype(float), np.ones(n_jobs))
