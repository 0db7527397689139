"""Each tenant's FaaS load on a node: an open-loop short/long mix at overload.

By default every tenant offers ``overload x cores x its own share``: each
asks for ``overload`` times what it is entitled to, so every tenant stays
backlogged, what it gets is decided by the scheduler, and the node as a
whole is offered ``overload x cores``.  An unfair split still shows: under
an even split the smallest tenant would get all it asks for, more than its
share.

When the allocation changes during the run (a tenant leaves or arrives),
shares move, and a tenant must stay backlogged at the largest share it
will hold, so then (``per_share=False``) each tenant offers ``overload x
cores x the largest share it holds on the node in any phase of the run``
(the run knows its events, so it allocates every phase up front).  Offering
the node's largest share instead, as every tenant once did, made the
tenants' arrival rates equal: a small tenant then asked for several times
its share of FILTER time, so most of its short invocations waited under
CFS behind its own long ones, since SFS cannot tell a short invocation from
a long one when it arrives.

Invocations are CPU-bound (each burns its service time on its own CPU
clock), a fraction ``short_fraction`` of them ``short_s`` long and the rest
``long_s``; inter-arrival times are exponential (Poisson arrivals), seeded
per tenant so runs are repeatable.
"""
from __future__ import annotations

import random
import zlib
from dataclasses import dataclass


@dataclass(frozen=True)
class LoadConfig:
    overload: float = 1.5
    short_s: float = 0.010
    long_s: float = 0.200
    short_fraction: float = 0.8
    seed: int = 1
    per_share: bool = True

    def __post_init__(self) -> None:
        if not self.overload > 0 or not 0 < self.short_s < self.long_s or not 0 <= self.short_fraction <= 1:
            raise ValueError("need overload > 0, 0 < short_s < long_s and 0 <= short_fraction <= 1")

    @property
    def mean_service_s(self) -> float:
        return self.short_fraction * self.short_s + (1 - self.short_fraction) * self.long_s


def offered_cores(tenant: str, shares: dict[str, float], cores: float, config: LoadConfig,
                  largest: dict[str, float] | None = None) -> float:
    """Load (in cores) `tenant` offers on a node whose tenants have `shares` now; `largest`: each
    tenant's largest share on the node over the run (used when shares change; default: now)."""
    if config.per_share:
        planned = shares.get(tenant, 0.0)
    else:
        planned = max(shares.get(tenant, 0.0), (largest or {}).get(tenant, 0.0))
    return config.overload * cores * planned


def tenant_jobs(node: str, tenant: str, load_cores: float, seconds: float, config: LoadConfig) -> list[dict]:
    """Fork-server jobs ``{"i", "at", "burn"}`` for `seconds` of arrivals."""
    rng = random.Random(zlib.crc32(f"{config.seed}/{node}/{tenant}".encode()))
    rate = load_cores / config.mean_service_s
    jobs, t = [], 0.0
    if rate <= 0:
        return jobs
    while True:
        t += rng.expovariate(rate)
        if t >= seconds:
            return jobs
        burn = config.short_s if rng.random() < config.short_fraction else config.long_s
        jobs.append({"i": len(jobs), "at": round(t, 6), "burn": burn})
