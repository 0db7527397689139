"""Benchmarks of the kit on Ray: task throughput against plain ray.remote,
and the allocation cycle at scale (allocator time, decision size, broadcast).

Timings depend on the machine's load; the commands print their targets with
PASS/MISS so that a run on a quiet machine can confirm or refute them.
"""
from __future__ import annotations

import json
import time
from typing import Any

import numpy as np

from ..model import Framework, Problem, Server
from .controller import Controller
from .measure import connect


def _noop(x: int) -> int:
    return x


def throughput(address: str | None, tasks: int = 1000, depth: int = 2, rounds: int = 5) -> dict[str, Any]:
    """Tasks per second of `tasks` short tasks through the kit and through plain
    ray.remote, in `rounds` alternating pairs (plain, then kit) so that both
    halves of a pair see the same background load; the verdict is the median
    of the pairs' ratios, the spread their range."""
    ray = connect(address)
    plain_fn = ray.remote(_noop)
    ray.get([plain_fn.remote(i) for i in range(100)])  # start the workers
    kit = Controller(depth=depth)
    kit.register("bench", 1.0, {"cpu": 1.0})   # stays between rounds: its workers stay warm
    try:
        kit.wait_ready(sum(1 for n in ray.nodes() if n.get("Alive")), timeout=120)
        for h in [kit.submit("bench", _noop, i) for i in range(100)]:
            h.result(timeout=120)
        kit_rates, plain_rates = [], []
        for _ in range(rounds):
            start = time.perf_counter()
            ray.get([plain_fn.remote(i) for i in range(tasks)])
            plain_rates.append(tasks / (time.perf_counter() - start))
            start = time.perf_counter()
            for h in [kit.submit("bench", _noop, i) for i in range(tasks)]:
                h.result(timeout=300)
            kit_rates.append(tasks / (time.perf_counter() - start))
    finally:
        kit.close()
    ratios = [k / p for k, p in zip(kit_rates, plain_rates)]
    return {"tasks": tasks, "depth": depth, "rounds": rounds,
            "kit_per_s": float(np.median(kit_rates)), "plain_per_s": float(np.median(plain_rates)),
            "ratio": float(np.median(ratios)), "ratio_min": min(ratios), "ratio_max": max(ratios),
            "ratios": ratios, "kit_rounds": kit_rates, "plain_rounds": plain_rates}


def apply_cost(address: str | None, tenants: int = 100, calls: int = 50) -> dict[str, Any]:
    """Per-agent cost of one decision: its size, the agent's apply time, the call's round trip."""
    ray = connect(address)
    from .controller import find_agents
    kit = Controller(cycle_s=3600.0)  # no cycles of its own beyond the first
    try:
        kit.wait_ready(1, timeout=120)
        agents = find_agents(ray)
        nid, agent = next(iter(agents.items()))
        rng = np.random.default_rng(0)
        slices = [{f"t{k:03d}": {"cpu": float(v)} for k, v in enumerate(rng.integers(1, 100, tenants))}
                  for _ in range(2)]
        size = len(json.dumps(slices[0], separators=(",", ":")))
        ray.get(agent.apply.remote(10_000, slices[0]))   # create the groups once
        round_trips, applies = [], []
        for i in range(calls):
            start = time.perf_counter()
            reply = ray.get(agent.apply.remote(10_001 + i, slices[i % 2]))
            round_trips.append(time.perf_counter() - start)
            applies.append(reply["apply_seconds"])
        heartbeats = []
        for _ in range(calls):
            start = time.perf_counter()
            ray.get(agent.apply.remote(10_000 + calls, slices[(calls - 1) % 2]))
            heartbeats.append(time.perf_counter() - start)
        # Driver-side cost of issuing one call: what a broadcast pays per agent
        # (the calls themselves proceed in parallel on their nodes).
        start = time.perf_counter()
        refs = [agent.apply.remote(10_000 + calls, slices[(calls - 1) % 2]) for _ in range(calls)]
        submit_s = (time.perf_counter() - start) / calls
        ray.get(refs)
    finally:
        kit.close()
    return {"tenants": tenants, "decision_bytes": size,
            "apply_p50_s": float(np.median(applies)), "round_trip_p50_s": float(np.median(round_trips)),
            "heartbeat_p50_s": float(np.median(heartbeats)), "submit_per_call_s": submit_s}


def scale(nodes: int = 1000, tenants: int = 100, policy: str = "drf", seed: int = 0) -> dict[str, Any]:
    """One allocation cycle's driver-side work for `nodes` x `tenants`: allocate
    (demand-capped, as each cycle does) and build every agent's decision slice."""
    from .. import allocate
    rng = np.random.default_rng(seed)
    servers = [Server(f"n{i:04d}", {"cpu": float(rng.choice([8, 16, 32])), "memory": float(rng.choice([32, 64]))})
               for i in range(nodes)]
    frameworks = [Framework(f"t{k:03d}", {"cpu": float(rng.choice([0.5, 1, 2])), "memory": float(rng.choice([1, 2, 4]))},
                            float(rng.integers(1, 4)), int(rng.integers(50, 800))) for k in range(tenants)]
    start = time.perf_counter()
    alloc = allocate(Problem(servers, frameworks), policy)
    allocate_s = time.perf_counter() - start
    start = time.perf_counter()
    per_server = alloc.per_server()
    names = [f.name for f in frameworks]
    slices = {s: {t: dict(per_server[s].get(t, {"cpu": 0.0, "memory": 0.0})) for t in names} for s in per_server}
    encoded = [json.dumps(v, separators=(",", ":")) for v in slices.values()]
    build_s = time.perf_counter() - start
    sizes = [len(e) for e in encoded]
    return {"nodes": nodes, "tenants": tenants, "policy": policy, "allocate_s": allocate_s,
            "build_slices_s": build_s, "decision_bytes_per_agent_p50": int(np.median(sizes)),
            "decision_bytes_total": int(sum(sizes)),
            "tasks_allocated": int(alloc.counts.sum())}
