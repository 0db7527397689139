"""`fairshare` command line: allocate, compare, simulate, bench, policies."""
from __future__ import annotations

from typing import Sequence

from sharekit.cli import dispatch

COMMANDS = {
    "allocate": ("fairshare.commands.allocate", "allocate a problem file with one policy"),
    "compare": ("fairshare.commands.compare", "run every policy and the exact references side by side"),
    "simulate": ("fairshare.commands.simulate", "online simulation on the Alibaba trace or a synthetic workload"),
    "bench": ("fairshare.commands.bench", "allocation time, memory and gap to max-min on large instances"),
    "policies": ("fairshare.commands.policies", "list policy names"),
    "ray-run": ("fairshare.commands.ray_run", "run the allocator and a node agent per node on a Ray cluster"),
    "ray-e2e": ("fairshare.commands.ray_e2e", "allocated vs measured shares per node on a Ray cluster"),
    "ray-bench": ("fairshare.commands.ray_bench", "task throughput through the allocator vs plain ray.remote"),
    "ray-cluster": ("fairshare.commands.ray_cluster", "a Ray cluster of several nodes on this machine (loopback)"),
    "status": ("fairshare.commands.status", "decision, applied weights and measured shares on a Ray cluster"),
}


def main(argv: Sequence[str] | None = None) -> int:
    return dispatch("fairshare", "Cluster-level multi-resource fair share.", COMMANDS, argv)


if __name__ == "__main__":
    raise SystemExit(main())
