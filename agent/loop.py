"""The agent loop: fetch the decision every cycle, apply changes, publish them.

    loop = AgentLoop(NodeAgent("node0"), "decision.json", interval_s=1.0)
    loop.start()          # a daemon thread; or loop.run(stop_event) in the foreground
    ...
    loop.stop()           # stops the thread, removes the groups, withdraws the shares

One cycle (`step`):
  * fetch the decision (file or loopback URL);
  * if it parses and this server's weights differ from the applied ones,
    apply them and publish version + 1 (running work stays in its groups;
    only the weights change, so nothing restarts);
  * if no valid decision arrived for longer than `stale_after_s` (the
    allocator died or its file is broken), keep the last decision until
    then, and afterwards give every current tenant the default weight and
    publish that once.  A valid decision later is applied as usual.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sharekit.cgroups import CgroupError
from sharekit.shares import PublishedShares, default_path, publish

from .decision import DecisionError, DecisionSource
from .node import DEFAULT_WEIGHT, NodeAgent, plan_weights

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CycleResult:
    event: str                    # "applied", "unchanged", "kept", "reset", "error" (cgroup write failed)
    version: int
    weights: dict[str, int]
    message: str = ""


class AgentLoop:
    def __init__(self, node: NodeAgent, source: DecisionSource | str, interval_s: float = 1.0,
                 stale_after_s: float = 10.0, publish_path: str | os.PathLike | None = None,
                 clock=time.monotonic) -> None:
        if not interval_s > 0:
            raise ValueError(f"interval must be > 0 seconds, got {interval_s!r}")
        if not stale_after_s >= 0:
            raise ValueError(f"stale-after must be >= 0 seconds, got {stale_after_s!r}")
        self.node = node
        self.source = source if isinstance(source, DecisionSource) else DecisionSource(source, interval_s)
        self.interval_s = interval_s
        self.stale_after_s = stale_after_s
        self.publish_path = Path(publish_path) if publish_path is not None else default_path(node.server)
        if node.guard is not None:
            node.guard.shares_path = self.publish_path  # the watchdog withdraws them too
        self.clock = clock
        self.version = 0
        self.applied: dict[str, int] | None = None
        self.last_valid = clock()
        self.reset_done = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one cycle ------------------------------------------------------------
    def step(self) -> CycleResult:
        try:
            weights = plan_weights(self.source.fetch(), self.node.server, self.node.resource)
        except (DecisionError, KeyError, ValueError) as exc:
            return self._no_decision(str(exc).strip('"'))
        self.last_valid, self.reset_done = self.clock(), False
        if weights == self.applied:
            return CycleResult("unchanged", self.version, weights)
        return self._apply(weights, "applied", f"decision from {self.source}")

    def _no_decision(self, why: str) -> CycleResult:
        stale_for = self.clock() - self.last_valid
        if stale_for <= self.stale_after_s or self.reset_done:
            return CycleResult("kept", self.version, dict(self.applied or {}), why)
        even = {tenant: DEFAULT_WEIGHT for tenant in self.node.tenants()}
        result = self._apply(even, "reset", f"no valid decision for {stale_for:.1f} s ({why}): default weights")
        self.reset_done = result.event == "reset"   # a failed reset is retried next cycle
        return result

    def _apply(self, weights: dict[str, int], event: str, message: str) -> CycleResult:
        try:
            self.node.set_weights(weights)
        except CgroupError as exc:
            # Possibly half applied: `applied` stays stale, so the next cycle retries.
            self.applied = None
            return CycleResult("error", self.version, dict(weights), f"not applied: {exc}")
        self.applied = dict(weights)
        self.version += 1
        publish(self.publish_path, self.node.snapshot(self.version))
        return CycleResult(event, self.version, dict(weights), message)

    # -- running --------------------------------------------------------------
    def run(self, stop: threading.Event | None = None, count: int | None = None, on_cycle=None) -> None:
        """Cycle every interval until `stop` is set (or `count` cycles ran)."""
        stop = stop or self._stop
        done = 0
        while not stop.is_set() and (count is None or done < count):
            started = self.clock()
            result = self.step()
            if on_cycle is not None:
                on_cycle(result)
            elif result.event in ("applied", "reset"):
                log.info("version %d %s: %s", result.version, result.event, result.message)
            elif result.event in ("kept", "error"):
                log.warning("keeping version %d: %s", result.version, result.message)
            done += 1
            if count is None or done < count:
                stop.wait(max(0.0, self.interval_s - (self.clock() - started)))

    def start(self) -> "AgentLoop":
        """Run the loop in a daemon thread (the embedded form)."""
        if self._thread is not None:
            raise RuntimeError("the agent loop is already running")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run_logged, name=f"agent-{self.node.server}", daemon=True)
        self._thread.start()
        return self

    def _run_logged(self) -> None:
        try:
            self.run(self._stop)
        except Exception:  # noqa: BLE001 - a dead loop must say why
            log.exception("agent loop for %s stopped", self.node.server)

    def stop(self) -> None:
        """Stop cycling, remove the tenant groups and withdraw the published shares."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        try:
            self.node.close()
        finally:
            try:
                self.publish_path.unlink()
            except FileNotFoundError:
                pass

    def current(self) -> PublishedShares:
        return self.node.snapshot(self.version)

    def __enter__(self) -> "AgentLoop":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
