"""Problems and online workloads built from the Alibaba GPU trace or synthetic generators.

Grouping rule for the Alibaba trace (pods -> frameworks), documented in
docs/fairshare.md:
  key = (qos, gpu_spec, ceil(cpu cores), ceil(mem GiB), gpu rounded up to 0.05)
and, for the online simulator, additionally the creation-time window
floor(creation_time / window) (default one day).  The key values are the
framework's per-task demand vector, so every pod of the group fits in it.
`gpu_spec` alternatives become a label selector on the node label `model`;
GPU milli-shares are fractional gpu demands (a 0.46-GPU pod demands 0.5 gpu:
the model pools GPUs per node and ignores per-device packing).
Weights by QoS: Guaranteed 4, LS 2, Burstable 1, BE 1.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from .errors import DemandError
from .model import Constraints, Framework, Problem, Server

QOS_WEIGHT = {"Guaranteed": 4.0, "LS": 2.0, "Burstable": 1.0, "BE": 1.0}


@dataclass
class Job:
    """A framework in the online simulator: arrives, runs its tasks, leaves."""
    name: str
    arrival: float
    demand: dict
    weight: float = 1.0
    constraints: Constraints = field(default_factory=Constraints)
    durations: list = field(default_factory=list)

    def framework(self) -> Framework:
        return Framework(self.name, self.demand, self.weight, len(self.durations), self.constraints)


def alibaba_servers(nodes) -> list[Server]:
    return [Server(n.name, {"cpu": n.cpu, "mem": n.mem, "gpu": float(n.gpu)}, {"model": n.model or "none"})
            for n in nodes]


def _pod_key(pod):
    gpu = math.ceil(pod.gpu * 20 - 1e-9) / 20 if pod.gpu > 0 else 0.0
    return (pod.qos, pod.gpu_spec, math.ceil(pod.cpu - 1e-9), max(1, math.ceil(pod.mem - 1e-9)), gpu)


def _demand(key) -> dict:
    _, _, cpu, mem, gpu = key
    d = {"cpu": float(cpu), "mem": float(mem)}
    if gpu > 0:
        d["gpu"] = float(gpu)
    return d


def _constraints(spec) -> Constraints:
    return Constraints(labels={"model": tuple(spec)}) if spec else Constraints()


def _fits_somewhere(key, servers) -> bool:
    d = _demand(key)
    spec = set(key[1])
    for s in servers:
        if spec and s.labels.get("model") not in spec:
            continue
        if all(s.capacity.get(r, 0) >= v for r, v in d.items()):
            return True
    return False


def alibaba_problem(n_frameworks: int = 100, variant: str = "gpuspec33", elastic: bool = True) -> Problem:
    """The 1,523 trace nodes with the `n_frameworks` largest pod groups as frameworks.

    `elastic=True` leaves max_tasks unset (frameworks take all they can get,
    the stress case for allocators); otherwise max_tasks = pods in the group."""
    from workloads.alibaba import read_nodes, read_pods
    servers = alibaba_servers(read_nodes())
    groups: dict = defaultdict(int)
    for pod in read_pods(variant):
        groups[_pod_key(pod)] += 1
    ranked = sorted(groups.items(), key=lambda kv: (-kv[1], str(kv[0])))
    frameworks = []
    for key, count in ranked:
        if len(frameworks) == n_frameworks:
            break
        if not _fits_somewhere(key, servers):
            continue
        qos, spec = key[0], key[1]
        name = f"{qos}-{'|'.join(spec) or 'any'}-c{key[2]}-m{key[3]}-g{key[4]:g}"
        frameworks.append(Framework(name, _demand(key), QOS_WEIGHT.get(qos, 1.0),
                                    None if elastic else count, _constraints(spec)))
    return Problem(servers, frameworks, {"cpu": "cores", "mem": "GiB", "gpu": "GPUs"})


def alibaba_jobs(window: float = 86400.0, variant: str = "gpuspec33", max_pods: int | None = None,
                 max_duration: float | None = None):
    """(servers, jobs, dropped) for the online simulator; jobs sorted by arrival."""
    from workloads.alibaba import read_nodes, read_pods
    servers = alibaba_servers(read_nodes())
    pods = read_pods(variant)
    if max_pods is not None:
        pods = pods[:max_pods]
    groups: dict = defaultdict(list)
    for pod in pods:
        groups[(_pod_key(pod), int(pod.creation // window))].append(pod)
    jobs, dropped = [], 0
    for (key, win), members in groups.items():
        if not _fits_somewhere(key, servers):
            dropped += len(members)
            continue
        durations = []
        for p in members:
            start = p.scheduled if p.scheduled is not None else p.creation
            end = p.deletion if p.deletion is not None else start + 1
            dur = max(1.0, end - start)
            durations.append(min(dur, max_duration) if max_duration else dur)
        qos, spec = key[0], key[1]
        name = f"{qos}-{'|'.join(spec) or 'any'}-c{key[2]}-m{key[3]}-g{key[4]:g}@{win}"
        jobs.append(Job(name, min(p.creation for p in members), _demand(key), QOS_WEIGHT.get(qos, 1.0),
                        _constraints(spec), durations))
    jobs.sort(key=lambda j: (j.arrival, j.name))
    return servers, jobs, dropped


def synthetic_servers(n_servers: int, n_resources: int = 4, seed: int = 0, n_types: int = 12) -> list[Server]:
    """Heterogeneous servers drawn from `n_types` shapes, labelled by type and rack."""
    rng = np.random.default_rng(seed)
    names = ["cpu", "mem", "gpu", "net", "disk", "fpga"][:n_resources]
    types = rng.choice([8, 16, 32, 64, 96], size=(n_types, n_resources)).astype(float)
    if n_resources >= 3:
        types[:, 2] = rng.choice([0, 2, 4, 8], size=n_types)
        types[types[:, 2] == 0, 2] = 0
    which = rng.integers(0, n_types, size=n_servers)
    servers = []
    for i in range(n_servers):
        cap = {r: float(v) for r, v in zip(names, types[which[i]]) if v > 0 or r != "gpu"}
        servers.append(Server(f"s{i:05d}", cap, {"type": f"t{which[i]}", "rack": f"r{i % 50}"}))
    return servers


def synthetic_problem(n_servers: int = 10_000, n_frameworks: int = 1_000, n_resources: int = 4,
                      constrained: float = 0.3, seed: int = 0) -> Problem:
    """The bench's synthetic instance: 30% of frameworks restricted to a few server types."""
    rng = np.random.default_rng(seed + 1)
    servers = synthetic_servers(n_servers, n_resources, seed)
    names = list(dict.fromkeys(r for s in servers for r in s.capacity))
    types = sorted({s.labels["type"] for s in servers})
    frameworks = []
    for n in range(n_frameworks):
        d = {r: float(rng.choice([0.5, 1, 2, 4])) for r in names}
        if "gpu" in d:
            d["gpu"] = float(rng.choice([0, 0, 1, 2]))
            if d["gpu"] == 0:
                del d["gpu"]
        cons = Constraints()
        if rng.random() < constrained:
            allowed = tuple(rng.choice(types, size=min(3, len(types)), replace=False))
            cons = Constraints(labels={"type": allowed})
        frameworks.append(Framework(f"f{n:04d}", d, float(rng.choice([1, 1, 2, 4])), None, cons))
    try:
        return Problem(servers, frameworks)
    except DemandError:
        # A constrained GPU framework landed only on GPU-less types: drop its GPU need.
        for k, f in enumerate(frameworks):
            if "gpu" in f.demand and not f.constraints.empty:
                frameworks[k] = Framework(f.name, {r: v for r, v in f.demand.items() if r != "gpu"},
                                          f.weight, f.max_tasks, f.constraints)
        return Problem(servers, frameworks)


def synthetic_jobs(n_servers: int = 200, n_jobs: int = 400, seed: int = 0, mean_interarrival: float = 30.0,
                   mean_tasks: float = 20.0, mean_duration: float = 300.0, constrained: float = 0.3):
    """(servers, jobs, 0): Poisson arrivals, geometric task counts, exponential durations."""
    rng = np.random.default_rng(seed)
    servers = synthetic_servers(n_servers, 3, seed)
    types = sorted({s.labels["type"] for s in servers})
    gpu_types = sorted({s.labels["type"] for s in servers if s.capacity.get("gpu", 0) > 0})
    t = 0.0
    jobs = []
    for j in range(n_jobs):
        t += rng.exponential(mean_interarrival)
        d = {"cpu": float(rng.choice([1, 2, 4])), "mem": float(rng.choice([2, 4, 8, 16]))}
        pool = types
        if gpu_types and rng.random() < 0.4:
            d["gpu"] = float(rng.choice([0.5, 1, 2]))
            pool = gpu_types
        cons = Constraints()
        if rng.random() < constrained:
            cons = Constraints(labels={"type": tuple(rng.choice(pool, size=min(2, len(pool)), replace=False))})
        k = int(rng.geometric(1.0 / mean_tasks))
        jobs.append(Job(f"job{j:04d}", t, d, float(rng.choice([1, 1, 2])), cons,
                        list(rng.exponential(mean_duration, size=k) + 1.0)))
    # Drop jobs that cannot run anywhere (e.g. a 2-GPU task pinned to 1-GPU types).
    kept = [j for j in jobs if _job_fits(j, servers)]
    return servers, kept, sum(len(j.durations) for j in jobs if j not in kept)


def _job_fits(job, servers) -> bool:
    return any(job.constraints.admits(s) and all(s.capacity.get(r, 0) >= v for r, v in job.demand.items())
               for s in servers)
