"""GPU policy names for `fairshare simulate --model gpu`."""
from __future__ import annotations

import time

from .baselines import DRF, LAS, GavelFTF
from .sim import GpuSimulator
from .themis import Themis

GPU_POLICIES = ("themis", "drf", "las", "gavel-ftf")


def make_policy(name: str, knob: float = 0.2):
    if name == "themis":
        return Themis(knob)
    if name == "drf":
        return DRF()
    if name == "las":
        return LAS()
    if name == "gavel-ftf":
        return GavelFTF()
    raise ValueError(f"GPU policy {name!r}: use one of {', '.join(GPU_POLICIES)} (criteria such as psdsf "
                     "run with --model tasks)")


def run_policies(servers, jobs, names, lease: float = 300.0, knob: float = 0.2) -> list:
    """One GpuSimResult per policy name, with its wall time; Themis adds its
    auction count and mean withheld fraction to the summary."""
    results = []
    for name in names:
        policy = make_policy(name, knob)
        sim = GpuSimulator(servers, jobs, policy, lease=lease)
        t0 = time.perf_counter()
        res = sim.run()
        res.wall = time.perf_counter() - t0
        if isinstance(policy, Themis):
            res.extra = {"auctions": policy.auctions,
                         "mean_withheld": float(sum(policy.withheld) / max(len(policy.withheld), 1))}
        results.append(res)
    return results
