"""GPU servers and gang-scheduled training jobs, from the Alibaba 2023 GPU
trace or a synthetic generator.

Pod -> job mapping (Alibaba): a pod holding whole GPUs (gpu_milli = 1000) is
one data-parallel training job; pods created in the same second with the same
request (GPU count, gpu_spec, CPU, memory) are one job whose GPU count is
their sum (a gang).  Pods sharing a GPU (gpu_milli < 1000) are inference-like
and left out.  Duration = deletion - scheduled time, clipped to
[min_duration, max_duration]; work = duration at packed placement.  A job's
GPU type is its first gpu_spec alternative when it has one.

Placement sensitivity: the trace records no throughput, so it is modelled.
A job whose GPUs span servers runs 1/slowdown as fast, with
slowdown = 1 + sensitivity * (SPREAD_BASE[model] - 1): the base factor per
GPU model (assumed: NVLink-class 8-GPU boxes lose most when split, PCIe
cards least) and a per-job sensitivity in [0.5, 1.5] drawn from a hash of
the job name (models differ in communication intensity, as in Themis' VGG
vs ResNet).  Across models the largest factor applies.
"""
from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

SPREAD_BASE = {"V100M32": 1.6, "V100M16": 1.5, "G2": 1.4, "G3": 1.4, "P100": 1.25, "T4": 1.2, "A10": 1.2}
DEFAULT_SPREAD = 1.3


@dataclass(frozen=True)
class GpuServer:
    name: str
    gpus: int
    model: str


@dataclass(frozen=True)
class GpuJob:
    name: str
    arrival: float
    gpus: int
    duration: float          # seconds at packed placement (its total work / gpus)
    model: str = ""          # GPU type from the trace, "" if unconstrained
    sensitivity: float = 1.0

    def slowdown(self, models) -> float:
        """Run-time factor on GPUs of `models` spanning more than one server."""
        base = max((SPREAD_BASE.get(m, DEFAULT_SPREAD) for m in models), default=DEFAULT_SPREAD)
        return 1.0 + self.sensitivity * (base - 1.0)

    @property
    def work(self) -> float:
        """GPU-seconds at packed placement."""
        return self.gpus * self.duration


def _sensitivity(name: str) -> float:
    h = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big")
    return 0.5 + h / 2.0 ** 64


def validate(servers, jobs) -> None:
    """Every job must fit the cluster as a whole; names unique; numbers sane."""
    if not servers or any(s.gpus <= 0 for s in servers):
        raise ValueError("every GPU server needs at least one GPU")
    total = sum(s.gpus for s in servers)
    seen = set()
    for j in jobs:
        if j.name in seen:
            raise ValueError(f"job {j.name!r} is listed twice")
        seen.add(j.name)
        if not (j.gpus >= 1 and j.gpus <= total):
            raise ValueError(f"job {j.name!r}: needs {j.gpus} GPUs, the cluster has {total}")
        if not (math.isfinite(j.duration) and j.duration > 0 and math.isfinite(j.arrival) and j.arrival >= 0):
            raise ValueError(f"job {j.name!r}: duration and arrival must be finite, duration positive")


def alibaba_gpu_cluster(n_gpus: int = 32, nodes=None) -> list[GpuServer]:
    """Trace nodes with >= 4 GPUs, one model after another (round robin over the
    models, most GPUs first) until `n_gpus` GPUs: a small heterogeneous slice."""
    from workloads.alibaba import read_nodes
    nodes = nodes if nodes is not None else read_nodes()
    by_model = defaultdict(list)
    for n in nodes:
        if n.gpu >= 4 and n.model:
            by_model[n.model].append(n)
    models = sorted(by_model, key=lambda m: (-max(n.gpu for n in by_model[m]), -len(by_model[m]), m))
    queues = {m: sorted(by_model[m], key=lambda n: (-n.gpu, n.name)) for m in models}
    out, total = [], 0
    while total < n_gpus and any(queues.values()):
        for m in models:
            if queues[m] and total < n_gpus:
                n = queues[m].pop(0)
                out.append(GpuServer(n.name, n.gpu, n.model))
                total += n.gpu
    return out


def alibaba_gpu_jobs(n_jobs: int = 120, servers=None, load: float = 1.5, multi_fraction: float = 0.5,
                     min_duration: float = 120.0, max_duration: float = 6 * 3600.0, pods=None) -> list[GpuJob]:
    """`n_jobs` training jobs from the trace, in trace order.

    The trace's jobs are 98% single-GPU; placement only matters for gangs, so
    up to `multi_fraction` of the sample are multi-GPU jobs (all of them, in
    order, if fewer) and the rest single-GPU jobs spaced evenly through the
    trace.  Arrival times keep their order and relative spacing, rescaled so
    that the offered work over the arrival span is `load` times the cluster."""
    from workloads.alibaba import read_pods
    pods = pods if pods is not None else read_pods("gpuspec33")
    total_gpus = sum(s.gpus for s in servers) if servers else 32
    groups = defaultdict(list)
    for p in pods:
        if p.num_gpu >= 1 and p.gpu_milli >= 1000:
            groups[(p.creation, p.num_gpu, p.gpu_spec, p.cpu, p.mem)].append(p)
    jobs = []
    for key, members in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[1][0].name)):
        g = min(sum(p.num_gpu for p in members), total_gpus)
        p0 = members[0]
        start = p0.scheduled if p0.scheduled is not None else p0.creation
        end = p0.deletion if p0.deletion is not None else start + min_duration
        dur = float(np.clip(end - start, min_duration, max_duration))
        name = p0.name if len(members) == 1 else f"{p0.name}+{len(members) - 1}"
        jobs.append(GpuJob(name, float(p0.creation), g, dur, p0.gpu_spec[0] if p0.gpu_spec else "",
                           _sensitivity(name)))
    multi = [j for j in jobs if j.gpus > 1][:int(round(multi_fraction * n_jobs))]
    single = [j for j in jobs if j.gpus == 1]
    need = n_jobs - len(multi)
    step = max(1, len(single) // max(need, 1))
    chosen = sorted(multi + single[::step][:need], key=lambda j: (j.arrival, j.name))
    return rescale_arrivals(chosen, total_gpus, load)


def rescale_arrivals(jobs, total_gpus: int, load: float) -> list[GpuJob]:
    if not jobs:
        return []
    t0 = jobs[0].arrival
    span = jobs[-1].arrival - t0
    target = sum(j.work for j in jobs) / (total_gpus * load)
    scale = target / span if span > 0 else 0.0
    return [GpuJob(j.name, (j.arrival - t0) * scale, j.gpus, j.duration, j.model, j.sensitivity) for j in jobs]


def synthetic_gpu_cluster(n_gpus: int = 32) -> list[GpuServer]:
    """8-GPU V100M32, G2 and V100M16 servers and 4-GPU T4 servers in turn,
    until at least `n_gpus` GPUs."""
    shapes = [("V100M32", 8), ("G2", 8), ("V100M16", 8), ("T4", 4)]
    out, total = [], 0
    while total < n_gpus:
        model, gpus = shapes[len(out) % len(shapes)]
        out.append(GpuServer(f"gpu{len(out)}", gpus, model))
        total += gpus
    return out


def synthetic_gpu_jobs(n_jobs: int = 120, servers=None, seed: int = 0, load: float = 1.5) -> list[GpuJob]:
    """GPU counts 1/2/4/8 (50/20/20/10%), log-normal durations (median 30 min)."""
    rng = np.random.default_rng(seed)
    servers = servers or synthetic_gpu_cluster()
    total = sum(s.gpus for s in servers)
    largest = max(s.gpus for s in servers)
    jobs, t = [], 0.0
    for k in range(n_jobs):
        t += rng.exponential(1.0)
        g = int(min(rng.choice([1, 2, 4, 8], p=[0.5, 0.2, 0.2, 0.1]), largest))
        dur = float(np.clip(rng.lognormal(math.log(1800), 1.0), 120, 8 * 3600))
        name = f"job{k:04d}"
        jobs.append(GpuJob(name, t, g, dur, "", float(rng.uniform(0.5, 1.5))))
    return rescale_arrivals(jobs, total, load)
