"""The one registry of SFS policies: the CLIs, the FaaS host and the privilege checks read it.

A new policy is one module here (a :class:`sfs.policies.base.Policy`
subclass, see docs/sfs.md "Writing a policy") plus one line in ``_REGISTRY``.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class PolicyInfo:
    name: str
    target: str          # "module:Class" of a Policy, or "module:function" of a simulator
    realtime: bool       # promotes processes to SCHED_FIFO: needs CAP_SYS_NICE
    summary: str
    simulated: bool = False  # not run on processes: simulate(invocations, services, cores)
    tenant_aware: bool = False  # takes shares=ShareSource

    def load(self):
        module, _, attr = self.target.partition(":")
        return getattr(importlib.import_module(module), attr)


_REGISTRY = {info.name: info for info in (
    PolicyInfo("sfs", "sfs.policies.sfs:SfsPolicy", True,
               "FILTER under SCHED_FIFO for an adaptive slice, then CFS"),
    PolicyInfo("sfs-tenant", "sfs.policies.sfs_tenant:SfsTenantPolicy", True,
               "sfs with FILTER time split among tenants by their shares", tenant_aware=True),
    PolicyInfo("sfs-predict", "sfs.policies.sfs_predict:SfsPredictPolicy", True,
               "sfs with FILTER ordered by a Gittins index over each function's recent CPU times"),
    PolicyInfo("cfs", "sfs.policies.cfs:CfsPolicy", False, "plain Linux CFS (only accounting)"),
    PolicyInfo("fifo", "sfs.policies.fifo:FifoPolicy", True, "run to completion under SCHED_FIFO, FCFS"),
    PolicyInfo("srtf-oracle", "sfs.policies.srtf_oracle:simulate", False,
               "preemptive SRTF, simulated: the lower bound", simulated=True),
    PolicyInfo("ps-sim", "sfs.policies.ps_sim:simulate", False,
               "processor sharing, simulated: what a size-blind policy reaches", simulated=True),
)}


def names(*, runnable: bool = False) -> list[str]:
    """Every policy name; with runnable=True only those that run processes (not simulated)."""
    return [n for n, info in _REGISTRY.items() if not (runnable and info.simulated)]


def info(name: str) -> PolicyInfo:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown policy {name!r} (choose from {', '.join(_REGISTRY)})") from None


def needs_realtime(name: str) -> bool:
    return info(name).realtime


def make_policy(name: str, shares=None):
    """A fresh Policy instance for the scheduler engine (`shares`: a ShareSource for tenant-aware ones)."""
    entry = info(name)
    if entry.simulated:
        raise ValueError(f"policy {name!r} is simulated, not run by the scheduler")
    cls = entry.load()
    return cls(shares=shares) if entry.tenant_aware else cls()


__all__ = ["PolicyInfo", "names", "info", "needs_realtime", "make_policy"]
