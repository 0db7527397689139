"""`fairshare` command line: allocate, compare, simulate, bench, policies, jobs, agent, run, e2e."""
from __future__ import annotations

from typing import Sequence

from sharekit.cli import dispatch

COMMANDS = {
    "allocate": ("fairshare.commands.allocate", "allocate a problem file with one policy"),
    "compare": ("fairshare.commands.compare", "run every policy and the exact references side by side"),
    "simulate": ("fairshare.commands.simulate", "online simulation on the Alibaba trace or a synthetic workload"),
    "bench": ("fairshare.commands.bench", "allocation time, memory and gap to max-min on large instances"),
    "policies": ("fairshare.commands.policies", "list policy names"),
    "jobs": ("fairshare.commands.jobs", "max-min fair completion times of multi-task jobs"),
    "agent": ("fairshare.commands.agent", "node agent: follow a decision as per-tenant cgroup weights, publish them"),
    "run": ("fairshare.commands.run", "allocate a problem and run every node's tenants on this machine"),
    "e2e": ("fairshare.commands.e2e", "measure the link on a node: CPU, lock and SFS shares per tenant"),
    "ray-bench": ("fairshare.commands.ray_bench", "task throughput through the allocator vs plain ray.remote"),
    "ray-cluster": ("fairshare.commands.ray_cluster", "a Ray cluster of several nodes on this machine (loopback)"),
    "status": ("fairshare.commands.status", "decision, applied weights and measured shares on a Ray cluster"),
}


def main(argv: Sequence[str] | None = None) -> int:
    return dispatch("fairshare", "Cluster-level multi-resource fair share.", COMMANDS, argv)


if __name__ == "__main__":
    raise SystemExit(main())
