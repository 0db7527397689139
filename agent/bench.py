"""Node agent figures, each printed with its target and PASS/MISS.

    sudo python -m agent.bench [--changes 8] [--interval 1.0] [--moves 200]

  apply latency     decision file rewritten -> new weights in the cgroups:
                    target <= one cycle (the interval) + 10%
  SIGKILL clean-up  agent killed -> none of its groups left: target <= 2 s
  placement         TenantPlacement.promoting (synchronous pid move to the cpu
                    root) on v1 with RT group scheduling: p50 <= 100 us

Figures depend on the machine's load; say how busy it was when quoting them.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sharekit.cgroups import CGROUP_ROOT, backend_for

from .loop import AgentLoop
from .node import NodeAgent, plan_weights
from .placement import TenantPlacement


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def apply_latency(workdir: Path, changes: int, interval: float) -> list[float]:
    decision = workdir / "decision.json"
    decision.write_text(json.dumps({"n0": {"a": {"cpu": 1}, "b": {"cpu": 1}}}))
    node = NodeAgent("n0", parent=f"sharekit-bench-{os.getpid()}")
    loop = AgentLoop(node, str(decision), interval_s=interval, publish_path=workdir / "n0.json").start()
    latencies = []
    try:
        deadline = time.monotonic() + 10 * interval + 10
        while node.tenants() != ["a", "b"] and time.monotonic() < deadline:
            time.sleep(0.01)
        for i in range(changes):
            per_server = {"n0": {"a": {"cpu": 1 + i % 3}, "b": {"cpu": 1.0}}}
            want = plan_weights(per_server, "n0")
            decision.write_text(json.dumps(per_server))
            start = time.monotonic()
            while node.weights() != want and time.monotonic() - start < 10 * interval + 10:
                time.sleep(0.002)
            latencies.append(time.monotonic() - start)
            time.sleep(random.uniform(0.1, 0.9) * interval)   # land at random points of the cycle
    finally:
        loop.stop()
    return latencies


def sigkill_cleanup(workdir: Path) -> float:
    parent = f"sharekit-bench-kill-{os.getpid()}"
    decision = workdir / "kill.json"
    decision.write_text(json.dumps({"n0": {"a": {"cpu": 1}}}))
    published = workdir / "kill-n0.json"
    agent = subprocess.Popen([sys.executable, "-m", "fairshare.cli", "agent", "--node", "n0", "--decision",
                              str(decision), "--interval", "0.2", "--parent", parent, "--publish", str(published)],
                             stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not published.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.5)   # the watchdog is started before the first publication; let it reach its poll
        if not list(CGROUP_ROOT.glob(f"*/{parent}")):
            raise RuntimeError(f"the agent made no group {parent}")
        start = time.monotonic()
        agent.send_signal(signal.SIGKILL)
        agent.wait()
        while list(CGROUP_ROOT.glob(f"*/{parent}")) and time.monotonic() - start < 30:
            time.sleep(0.005)
        return time.monotonic() - start
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()


def promote_cost(moves: int) -> list[float] | None:
    backend = backend_for()
    if not (backend.version == 1 and backend.rt_group_scheduling):
        return None
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        with NodeAgent("n0", parent=f"sharekit-bench-place-{os.getpid()}") as node:
            node.set_weights({"a": 100})
            node.group("a").add(child.pid)
            placement = TenantPlacement(node)
            costs = []
            try:
                for _ in range(moves):
                    placement.demoted(child.pid, "a")
                    placement.flush(10)
                    start = time.perf_counter()
                    placement.promoting(child.pid, "a")
                    costs.append(time.perf_counter() - start)
            finally:
                placement.close()
            return costs
    finally:
        child.kill()
        child.wait()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m agent.bench", description=__doc__.splitlines()[0])
    ap.add_argument("--changes", type=int, default=8, help="decision changes to time (default 8)")
    ap.add_argument("--interval", type=float, default=1.0, help="agent cycle in seconds (default 1.0)")
    ap.add_argument("--moves", type=int, default=200, help="promotions to time (default 200)")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("agent bench: needs root (it creates cgroups)", file=sys.stderr)
        return 2
    missed = 0
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("SHAREKIT_RUN_DIR", str(Path(tmp) / "run"))
        lat = apply_latency(Path(tmp), args.changes, args.interval)
        ok = max(lat) <= args.interval * 1.1
        missed += not ok
        print(f"apply latency     max {max(lat):.3f} s  mean {statistics.mean(lat):.3f} s  over {len(lat)} changes"
              f"   target <= {args.interval * 1.1:.2f} s   {_verdict(ok)}")
        took = sigkill_cleanup(Path(tmp))
        missed += took > 2.0
        print(f"SIGKILL clean-up  {took:.3f} s until no group is left   target <= 2 s   {_verdict(took <= 2.0)}")
    costs = promote_cost(args.moves)
    if costs is None:
        print("placement         no RT group scheduling here: nothing moves (not measured)")
    else:
        costs.sort()
        p50, p99 = costs[len(costs) // 2] * 1e6, costs[int(len(costs) * 0.99)] * 1e6
        missed += p50 > 100
        print(f"placement         promoting() p50 {p50:.0f} us  p99 {p99:.0f} us  max {costs[-1] * 1e6:.0f} us"
              f"   target p50 <= 100 us   {_verdict(p50 <= 100)}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
