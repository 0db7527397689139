"""The allocator on the driver, node agents on the Ray nodes, tenants' tasks between.

One `Controller` per driver.  Its dispatcher thread owns every Ray call the
kit makes and every piece of state below; `submit` and the Ray completion
callbacks only queue work for it under `_lock` and wake it.

Each cycle (default 1 s) the dispatcher
  1. reads the node table (`ray.nodes()`): joins get an agent actor, deaths
     fail or resubmit the tasks that ran there;
  2. builds the allocation problem: servers = alive Ray nodes (capacity from
     their resources, or from the problem file), frameworks = tenants with
     work, each capped at its current demand (queued + running tasks), so the
     allocation itself hands idle capacity to whoever can use it;
  3. allocates, and sends every agent its node's slice (a heartbeat too);
  4. dispatches.

Dispatch rule, per tenant: a task goes to a node where the tenant's running
amount plus the task stays within its allocation there (times `depth`, the
tasks kept in flight per allocated slot so that Ray's pipeline never runs
dry).  If no such node exists and no other tenant has work waiting, the task
may borrow any node with room (work-conserving); borrowing stops the moment
someone else waits, and the next cycle's allocation gives the capacity back.
Ray does not preempt running tasks, so a borrowed slot returns when its task
ends; short tasks make that quick.
"""
from __future__ import annotations

import collections
import concurrent.futures
import itertools
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from ..errors import ProblemError
from ..model import Framework, Problem, Server
from .node_actor import NAME_PREFIX, NAMESPACE, NodeAgentActor, actor_name
from .tenant_worker import TenantWorker

log = logging.getLogger("fairshare.ray")

# Kit resource names <-> Ray's.  Tasks and problem files speak the kit's.
RAY_RESOURCE = {"cpu": "CPU", "memory": "memory"}
RETIRE_S = 10.0   # how long a departed tenant's groups wait for its workers to leave them
_EPS = 1e-9


class TaskLostError(RuntimeError):
    """The task's worker died before it finished (the task's own code did not fail)."""

    def __init__(self, tenant: str, node: str, reason: str):
        super().__init__(f"task of tenant {tenant!r} lost on node {node[:12]}: {reason}")
        self.tenant, self.node, self.reason = tenant, node, reason


class NodeLostError(TaskLostError):
    """The node the task ran on left the cluster (died or was removed) while it ran."""


class TaskHandle(concurrent.futures.Future):
    """A submitted task: a Future of its value, plus where and how often it ran."""

    def __init__(self, tenant: str, fn: Callable, args: tuple, kwargs: dict,
                 request: dict[str, float], retries: int):
        super().__init__()
        self.tenant, self.fn, self.args, self.kwargs = tenant, fn, args, kwargs
        self.request = request
        self.retries_left = retries
        self.node: str | None = None          # node of the current (or last) attempt
        self.borrowed = False                 # the attempt runs on capacity not allocated to the tenant
        self.lost: list[TaskLostError] = []   # earlier attempts lost with their node or worker
        self.object_ref = None
        self.worker: _Worker | None = None    # the tenant worker actor of the current attempt
        self._attempt = 0
        self._dispatched = threading.Event()

    def ref(self, timeout: float | None = None):
        """The Ray ObjectRef of the current attempt; waits until the task is dispatched."""
        if not self._dispatched.wait(timeout):
            raise TimeoutError(f"task of tenant {self.tenant!r} not dispatched within {timeout} s")
        if self.object_ref is None:
            raise concurrent.futures.CancelledError(f"task of tenant {self.tenant!r} was cancelled before it ran")
        return self.object_ref

    def _withdraw(self) -> None:
        """Cancel a queued task and release anyone waiting in ref()."""
        self.cancel()
        self._dispatched.set()


@dataclass
class _Tenant:
    name: str
    weight: float = 1.0
    demand: dict[str, float] = field(default_factory=lambda: {"cpu": 1.0})
    max_tasks: int | None = None
    queue: collections.deque = field(default_factory=collections.deque)
    running: dict[str, np.ndarray] = field(default_factory=dict)   # node -> amounts in flight
    count: int = 0                                                 # tasks in flight
    last_active: float = field(default_factory=time.monotonic)
    registered: bool = False                                       # stays without work


@dataclass(eq=False)
class _Worker:
    """One tenant worker actor (see tenant_worker.py) and the kit's tasks queued at it."""
    actor: Any
    inflight: int = 0
    dead: bool = False


@dataclass
class _Node:
    node_id: str
    address: str
    capacity: dict[str, float]
    agent: Any = None
    parent: str = ""
    acked_version: int = -1
    acked_tenants: frozenset = frozenset()
    acked_at: float = 0.0
    weights: dict[str, int] = field(default_factory=dict)
    apply_seconds: float = 0.0
    pending: bool = False          # an apply call is in flight
    sent: dict | None = None       # the slice last sent
    sent_at: float = 0.0
    running: np.ndarray | None = None
    pools: dict[str, list[_Worker]] = field(default_factory=dict)   # tenant -> its workers here


def node_parent(node_id: str, tag: str = "") -> str:
    """The agent's cgroup parent on one Ray node.  Every node of a loopback
    cluster shares this machine's cgroup tree, so it must differ per node;
    `tag` tells apart the runs of different programs on one machine."""
    return f"sharekit-ray{tag}-{node_id[:16]}"


class Controller:
    """The allocator of one driver.  `with Controller(...) as kit: kit.submit(...)`."""

    def __init__(self, problem: Problem | None = None, policy: str = "drf", cycle_s: float = 1.0,
                 head_timeout_s: float = 10.0, depth: int = 2, lost_grace_s: float = 20.0,
                 stop_agents: bool = True, cgroup_tag: str = ""):
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
        if not ray.is_initialized():
            raise RuntimeError("connect to the cluster first: ray.init(address=...)")
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self._ray, self._affinity = ray, NodeAffinitySchedulingStrategy
        self.problem, self.policy, self.cycle_s = problem, policy, float(cycle_s)
        self.head_timeout_s, self.depth, self.lost_grace_s = head_timeout_s, depth, lost_grace_s
        self.stop_agents, self.cgroup_tag = stop_agents, cgroup_tag
        self.resources = list(problem.resources) if problem is not None else ["cpu"]
        self._actor = ray.remote(NodeAgentActor)
        self._worker_actor = ray.remote(TenantWorker)
        self._lock = threading.Condition()
        self._tenants: dict[str, _Tenant] = {}
        self._nodes: dict[str, _Node] = {}
        self._server_of: dict[str, str] = {}      # node id -> problem server name (problem-file mode)
        self._done: collections.deque = collections.deque()
        self._suspects: list[tuple[TaskHandle, int, float, str]] = []
        self._inflight: dict[tuple[int, int], TaskHandle] = {}
        self._ids = itertools.count()
        # Departures: a tenant's groups exist on a node only if the node acked a
        # slice with the tenant that was sent after its last departure (else
        # the agent may be removing them, killing whatever runs inside).
        self._departures = 0
        self._departed_at: dict[str, int] = {}
        # A departed tenant's workers are told to leave its groups; its groups stay
        # (in every slice, at amount 0) until they have, or `retire_s` passed, so
        # the agent never kills a worker that was about to leave.
        self._retiring: dict[str, tuple[list, float]] = {}   # tenant -> (retire refs, deadline)
        self.version = 0
        self.decision: dict[str, dict[str, dict[str, float]]] = {}   # node -> tenant -> resource -> amount
        self._decided_at: dict[int, float] = {}
        self.cycles = 0
        self.last_cycle_seconds = 0.0
        self.last_error: str | None = None
        self._wake_cycle = True
        self._closing = False
        if problem is not None:
            for f in problem.frameworks:
                self._tenants[f.name] = _Tenant(f.name, f.weight, dict(f.demand), f.max_tasks, registered=True)
        self._thread = threading.Thread(target=self._loop, name="fairshare-ray", daemon=True)
        self._thread.start()

    # -- tenants' API -----------------------------------------------------------
    def register(self, tenant: str, weight: float = 1.0, resources: Mapping[str, float] | None = None) -> None:
        """Declare a tenant (weight, per-task resources) before or without submitting."""
        request = self._request(resources or {"cpu": 1.0})
        if not weight > 0:
            raise ValueError(f"tenant {tenant!r}: weight must be > 0, got {weight!r}")
        with self._lock:
            t = self._tenants.get(tenant)
            if t is None:
                self._tenants[tenant] = _Tenant(tenant, float(weight), request, registered=True)
                self._wake_cycle = True
            else:
                t.weight, t.demand, t.registered = float(weight), request, True
            self._lock.notify_all()

    def depart(self, tenant: str) -> None:
        """The tenant leaves once its queue is empty; queued tasks are cancelled."""
        with self._lock:
            t = self._tenants.get(tenant)
            if t is None:
                return
            t.registered = False
            while t.queue:
                t.queue.popleft()._withdraw()
            self._wake_cycle = True
            self._lock.notify_all()

    def submit(self, tenant: str, fn: Callable, *args, resources: Mapping[str, float] | None = None,
               retry: int | bool = False, **kwargs) -> TaskHandle:
        """Queue fn(*args, **kwargs) for `tenant`; it runs on a node of the tenant's
        allocation inside the tenant's cgroup there.  `retry`: resubmit this many
        times (True = 3) if the node or worker is lost; the loss is recorded in
        `handle.lost` either way."""
        if not callable(fn):
            raise TypeError(f"fn must be callable, got {type(fn).__name__}")
        retries = 3 if retry is True else int(retry or 0)
        with self._lock:
            if self._closing:
                raise RuntimeError("the controller is closed")
            t = self._tenants.get(tenant)
            if t is None:
                if not isinstance(tenant, str) or not tenant:
                    raise ValueError(f"invalid tenant name {tenant!r}")
                t = self._tenants[tenant] = _Tenant(tenant)
                self._wake_cycle = True         # a new tenant gets its groups now, not in a cycle
            request = self._request(resources) if resources is not None else t.demand
            handle = TaskHandle(tenant, fn, args, kwargs, request, retries)
            t.queue.append(handle)
            t.last_active = time.monotonic()
            self._lock.notify_all()
        return handle

    def wait_ready(self, nodes: int = 1, timeout: float = 60.0) -> None:
        """Wait until `nodes` agents have applied a decision."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while sum(n.acked_version >= 0 for n in self._nodes.values()) < nodes:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{nodes} node agent(s) not ready within {timeout} s "
                                       f"(last error: {self.last_error})")
                self._lock.wait(min(left, 0.2))

    def snapshot(self) -> dict[str, Any]:
        """Current decision, per-node applied weights and in-flight tasks."""
        with self._lock:
            return {"version": self.version, "cycles": self.cycles,
                    "cycle_seconds": self.last_cycle_seconds, "error": self.last_error,
                    "decision": {n: {t: dict(r) for t, r in ts.items()} for n, ts in self.decision.items()},
                    "nodes": {nid: {"address": n.address, "capacity": n.capacity, "parent": n.parent,
                                    "server": self._server_of.get(nid, nid),
                                    "acked_version": n.acked_version, "weights": dict(n.weights),
                                    "apply_seconds": n.apply_seconds,
                                    "ack_delay_s": (n.acked_at - self._decided_at[n.acked_version]
                                                    if n.acked_version in self._decided_at else None)}
                              for nid, n in self._nodes.items()},
                    "tenants": {t.name: {"queued": len(t.queue), "running": t.count,
                                         "running_by_node": {k: float(v[0]) for k, v in t.running.items()
                                                             if v.any()}}
                                for t in self._tenants.values()}}

    def agent_states(self, timeout: float = 10.0) -> dict[str, dict]:
        with self._lock:
            agents = {nid: n.agent for nid, n in self._nodes.items() if n.agent is not None}
        refs = {nid: a.state.remote() for nid, a in agents.items()}
        out = {}
        for nid, ref in refs.items():
            try:
                out[nid] = self._ray.get(ref, timeout=timeout)
            except Exception as exc:  # a node that just died: report, do not fail the caller
                out[nid] = {"error": f"{type(exc).__name__}: {exc}"}
        return out

    def close(self) -> None:
        """Stop dispatching, cancel queued tasks, and (by default) remove the agents."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
            for t in self._tenants.values():
                while t.queue:
                    t.queue.popleft()._withdraw()
            self._lock.notify_all()
        self._thread.join(timeout=30)
        retiring = []
        with self._lock:
            for node in self._nodes.values():
                for pool in node.pools.values():
                    retiring += self._retire_workers(pool)
                node.pools.clear()
        # Out of their groups before the agents remove them (which would kill them).
        self._ray.wait(retiring, num_returns=len(retiring), timeout=10)
        if self.stop_agents:
            stop_agents(self._ray, [n.agent for n in self._nodes.values() if n.agent is not None])

    def __enter__(self) -> "Controller":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- dispatcher thread ----------------------------------------------------
    def _loop(self) -> None:
        next_cycle = time.monotonic()
        while True:
            with self._lock:
                while (not self._closing and not self._done and not self._wake_cycle
                       and time.monotonic() < next_cycle and not self._can_dispatch()):
                    self._lock.wait(max(0.0, next_cycle - time.monotonic()))
                if self._closing:
                    return
                done, self._done = list(self._done), collections.deque()
                cycle_due = self._wake_cycle or time.monotonic() >= next_cycle
                self._wake_cycle = False
            try:
                for key, payload in done:
                    if isinstance(key, tuple) and key[0] == "ack":
                        self._acked(key[1], *payload)
                    else:
                        self._finish(key, payload)
                if cycle_due:
                    next_cycle = time.monotonic() + self.cycle_s
                    self._cycle()
                self._dispatch()
            except Exception as exc:  # keep scheduling; the error is in status
                log.exception("fairshare.ray dispatcher")
                with self._lock:
                    self.last_error = f"{type(exc).__name__}: {exc}"
                time.sleep(0.1)

    def _can_dispatch(self) -> bool:
        """Under _lock: would _dispatch start anything now?  (Keeps the loop from spinning.)"""
        waiting = [t for t in self._tenants.values() if t.queue]
        return any(self._pick(t, t.queue[0].request, len(waiting) > 1) is not None for t in waiting)

    # One cycle: nodes, allocation, broadcast.
    def _cycle(self) -> None:
        start = time.perf_counter()
        alive = {n["NodeID"]: n for n in self._ray.nodes() if n.get("Alive")}
        with self._lock:
            for nid in [nid for nid in self._nodes if nid not in alive]:
                self._node_lost(nid)
            for nid, info in alive.items():
                if nid not in self._nodes:
                    self._nodes[nid] = self._join(nid, info)
            self._reap_tenants()
            decision = self._allocate()
            if decision != self.decision:
                self.version += 1
                self.decision = decision
                self._decided_at[self.version] = time.time()
                self._decided_at.pop(self.version - 64, None)
            version, decision = self.version, self.decision
            nodes = list(self._nodes.values())
            self._resolve_suspects(alive)
        self._broadcast(nodes, version, decision)
        with self._lock:
            self.cycles += 1
            self.last_cycle_seconds = time.perf_counter() - start
            self._lock.notify_all()

    def _join(self, nid: str, info: dict) -> _Node:
        res = info.get("Resources", {})
        capacity = {r: float(res.get(RAY_RESOURCE.get(r, r), 0.0)) for r in self.resources}
        node = _Node(nid, info.get("NodeManagerAddress", ""), capacity, parent=node_parent(nid, self.cgroup_tag))
        node.running = np.zeros(len(self.resources))
        name = actor_name(nid)
        try:  # a previous allocator's agent (head restart): adopt it
            node.agent = self._ray.get_actor(name, namespace=NAMESPACE)
            node.agent.set_head_timeout.remote(self.head_timeout_s)
            node.parent = self._ray.get(node.agent.state.remote(), timeout=60)["parent"]
        except ValueError:
            node.agent = self._actor.options(
                name=name, namespace=NAMESPACE, lifetime="detached", num_cpus=0, max_restarts=0,
                scheduling_strategy=self._affinity(nid, soft=False)).remote(
                nid, node.parent, self.head_timeout_s)
        if self.problem is not None:
            self._map_server(node)
        return node

    def _map_server(self, node: _Node) -> None:
        """Problem-file mode: a server labelled ray_node=<id or address>, else the next unmapped one."""
        taken = set(self._server_of.values())
        free = [s for s in self.problem.servers if s.name not in taken]
        for s in free:
            label = s.labels.get("ray_node")
            if label and (label == node.node_id or label == node.address and
                          sum(n.address == label for n in self._nodes.values()) == 0):
                self._server_of[node.node_id] = s.name
                break
        else:
            unlabelled = [s for s in free if "ray_node" not in s.labels]
            if unlabelled:
                self._server_of[node.node_id] = unlabelled[0].name
        if node.node_id in self._server_of:
            server = next(s for s in self.problem.servers if s.name == self._server_of[node.node_id])
            node.capacity = {r: float(server.capacity.get(r, 0.0)) for r in self.resources}

    def _node_lost(self, nid: str) -> None:
        """Under _lock: the node left; account for every task that ran there."""
        node = self._nodes.pop(nid)
        self._server_of.pop(nid, None)
        for key, handle in list(self._inflight.items()):
            if handle.node == nid:
                self._release(handle)
                del self._inflight[key]
                self._lose(handle, NodeLostError(handle.tenant, nid, "the node left the cluster"))
        log.warning("node %s left; %d agent(s) remain", nid[:12], len(self._nodes))
        del node

    def _reap_tenants(self) -> None:
        """Under _lock: tenants without work for two cycles depart (unless registered)."""
        idle_for = 2 * self.cycle_s
        now = time.monotonic()
        for name, t in list(self._tenants.items()):
            if t.queue or t.count:
                t.last_active = now
            elif not t.registered and now - t.last_active > idle_for:
                del self._tenants[name]
                self._departures += 1
                self._departed_at[name] = self._departures
                refs = []
                for node in self._nodes.values():
                    refs += self._retire_workers(node.pools.pop(name, []))
                    node.acked_tenants = node.acked_tenants - {name}
                if refs:
                    self._retiring[name] = (refs, now + RETIRE_S)
        for name, (refs, deadline) in list(self._retiring.items()):
            ready, _ = self._ray.wait(refs, num_returns=len(refs), timeout=0)
            if len(ready) == len(refs) or now > deadline:
                del self._retiring[name]

    def _allocate(self) -> dict[str, dict[str, dict[str, float]]]:
        """Under _lock: the demand-capped allocation, per node id."""
        from .. import allocate
        nodes = [n for n in self._nodes.values()
                 if (self.problem is None or n.node_id in self._server_of) and any(n.capacity.values())]
        active = [t for t in self._tenants.values() if t.queue or t.count or t.registered]
        names = [t.name for t in active] + [n for n in self._retiring if n not in self._tenants]
        decision: dict[str, dict[str, dict[str, float]]] = {
            n.node_id: {t: {r: 0.0 for r in self.resources} for t in names} for n in self._nodes.values()}
        wanting = [t for t in active if t.queue or t.count]
        if not nodes or not wanting:
            return decision
        # Servers keep their problem-file names and labels, so placement
        # constraints of the file still apply; frameworks keep theirs.
        node_of = {self._server_of.get(n.node_id, n.node_id): n.node_id for n in nodes}
        labels = {s.name: s.labels for s in self.problem.servers} if self.problem is not None else {}
        constraints = {f.name: f.constraints for f in self.problem.frameworks} if self.problem is not None else {}
        servers = [Server(name, self._nodes[nid].capacity, labels.get(name, {})) for name, nid in node_of.items()]
        frameworks = []
        for t in wanting:
            cap = len(t.queue) + t.count
            frameworks.append(Framework(t.name, t.demand, t.weight,
                                        cap if t.max_tasks is None else min(cap, t.max_tasks),
                                        *( [constraints[t.name]] if t.name in constraints else [])))
        try:
            alloc = allocate(Problem(servers, frameworks), self.policy)
        except ProblemError as exc:
            self.last_error = f"allocation: {exc}"
            return decision
        self.last_error = None
        for server, tenants in alloc.per_server().items():
            for tenant, amounts in tenants.items():
                decision[node_of[server]][tenant] = {r: float(amounts.get(r, 0.0)) for r in self.resources}
        return decision

    def _broadcast(self, nodes: list[_Node], version: int, decision: dict) -> None:
        """Send each agent its slice when it changed, else a heartbeat every
        head_timeout/4; never wait for the replies (they come back through
        `_acked`), so a slow or starting agent never stalls dispatching."""
        now = time.monotonic()
        for node in nodes:
            if node.agent is None or node.pending:
                continue  # one call in flight per agent; the next cycle sends the latest
            tenants = decision.get(node.node_id, {})
            if tenants == node.sent and now - node.sent_at < self.head_timeout_s / 4:
                continue
            node.pending, node.sent, node.sent_at = True, tenants, now
            ref = node.agent.apply.remote(version, tenants)

            def acked(fut, node=node, tenants=tenants, departures=self._departures):
                with self._lock:
                    self._done.append((("ack", node), (fut, tenants, departures)))
                    self._lock.notify_all()
            ref.future().add_done_callback(acked)

    def _acked(self, node: _Node, fut: concurrent.futures.Future, tenants: dict, departures: int) -> None:
        try:
            reply = fut.result()
        except Exception as exc:  # its node died (the next cycle drops it) or the call failed
            with self._lock:
                node.pending, node.sent = False, None
                self.last_error = f"agent on {node.node_id[:12]}: {type(exc).__name__}: {exc}"
            return
        with self._lock:
            node.pending = False
            if reply["version"] != node.acked_version:
                node.acked_at = time.time()
            node.acked_version = reply["version"]
            node.acked_tenants = frozenset(t for t in tenants if self._departed_at.get(t, 0) <= departures)
            node.weights = reply["weights"]
            node.apply_seconds = max(node.apply_seconds, reply["apply_seconds"])
            self._lock.notify_all()

    # Dispatch.
    def _vector(self, request: Mapping[str, float]) -> np.ndarray:
        return np.array([request.get(r, 0.0) for r in self.resources])

    def _request(self, resources: Mapping[str, float]) -> dict[str, float]:
        out = {}
        for r, v in resources.items():
            if r not in self.resources:
                raise ValueError(f"unknown resource {r!r} (this cluster allocates {', '.join(self.resources)})")
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0:
                raise ValueError(f"resource {r!r}: expected a non-negative number, got {v!r}")
            out[r] = float(v)
        if not any(out.values()):
            raise ValueError("a task must request some resource (e.g. {'cpu': 1})")
        return out

    def _pick(self, t: _Tenant, request: Mapping[str, float], others_wait: bool) -> tuple[str, bool] | None:
        """Under _lock: (node, borrowed) for the tenant's next task, or None."""
        need = self._vector(request)
        best, best_room, borrow, borrow_room = None, -1.0, None, -1.0
        for nid, node in self._nodes.items():
            if t.name not in node.acked_tenants:
                continue  # its group there does not exist yet
            if self.problem is not None and nid not in self._server_of:
                continue  # a node the problem file has no server for is not ours to use
            cap = self._vector(node.capacity) * self.depth
            node_after = node.running + need
            if (node_after > cap + _EPS).any():
                continue
            room = float(((cap - node_after) / np.where(cap > 0, cap, 1)).min())
            alloc = self._vector(self.decision.get(nid, {}).get(t.name, {})) * self.depth
            mine = t.running.get(nid)
            mine_after = need if mine is None else mine + need
            if (mine_after <= alloc + _EPS).all():
                own = float(((alloc - mine_after) / np.where(alloc > 0, alloc, 1)).min())
                if own > best_room:
                    best, best_room = nid, own
            elif room > borrow_room:
                borrow, borrow_room = nid, room
        if best is not None:
            return best, False
        if borrow is not None and not others_wait:
            return borrow, True
        return None

    def _dispatch(self) -> None:
        launch = []
        with self._lock:
            progress = True
            while progress:
                progress = False
                waiting = [t for t in self._tenants.values() if t.queue]
                # One task per tenant per pass, least-served tenant first.
                waiting.sort(key=lambda t: t.count / t.weight)
                for t in waiting:
                    handle = t.queue[0]
                    if handle.cancelled():
                        t.queue.popleft()._withdraw()
                        progress = True
                        continue
                    choice = self._pick(t, handle.request, len(waiting) > 1)
                    if choice is None:
                        continue
                    t.queue.popleft()
                    # From here on the caller can no longer cancel it (a retry keeps it running).
                    if handle._attempt == 0 and not handle.set_running_or_notify_cancel():
                        handle._dispatched.set()
                        progress = True
                        continue
                    handle.node, handle.borrowed = choice
                    handle._attempt += 1
                    handle.worker = self._worker_for(t, handle.node, handle.request, handle.borrowed)
                    self._hold(handle)
                    key = (next(self._ids), handle._attempt)
                    self._inflight[key] = handle
                    launch.append((key, handle))
                    progress = True
        for key, handle in launch:
            self._launch(key, handle)

    def _slots(self, t: _Tenant, nid: str, need: np.ndarray, borrowed: bool) -> int:
        """Under _lock: how many of the tenant's tasks may run at once on the node:
        its allocation there in tasks of this size (the node's capacity when it
        borrows, which it only does while nobody else waits), at least one."""
        node = self._nodes[nid]
        amount = self._vector(node.capacity) if borrowed else \
            self._vector(self.decision.get(nid, {}).get(t.name, {}))
        asked = need > 0
        fits = np.floor(amount[asked] / need[asked] + _EPS).min() if asked.any() else 1
        return max(1, int(fits))

    def _worker_for(self, t: _Tenant, nid: str, request: Mapping[str, float], borrowed: bool) -> _Worker:
        """Under _lock: the tenant worker on `nid` that takes the next task.

        The pool's first `slots` workers are eligible, the least loaded wins,
        and a new one starts only when every eligible one already has work:
        a pool never runs more tasks at once than it has workers, so the
        tenant runs at most `slots` tasks there whatever is queued at them."""
        pool = self._nodes[nid].pools.setdefault(t.name, [])
        pool[:] = [w for w in pool if not w.dead]
        slots = self._slots(t, nid, self._vector(request), borrowed)
        idle = min(pool[:slots], key=lambda w: w.inflight, default=None)
        if idle is not None and (idle.inflight == 0 or len(pool) >= slots):
            return idle
        worker = _Worker(self._worker_actor.options(
            num_cpus=0, max_restarts=0, max_task_retries=0,
            scheduling_strategy=self._affinity(nid, soft=False)).remote(self._nodes[nid].parent, t.name))
        pool.append(worker)
        return worker

    def _retire_workers(self, workers: list[_Worker]) -> list:
        """Tell workers to leave their group and exit (after what is queued at them)."""
        refs = []
        for worker in workers:
            worker.dead = True
            try:
                refs.append(worker.actor.retire.remote())
            except Exception:  # already gone with its node
                pass
        return refs

    def _launch(self, key, handle: TaskHandle) -> None:
        ref = handle.worker.actor.run.remote(handle.fn, handle.args, handle.kwargs)
        handle.object_ref = ref
        handle._dispatched.set()

        def done(fut, key=key):
            with self._lock:
                self._done.append((key, fut))
                self._lock.notify_all()
        ref.future().add_done_callback(done)

    def _hold(self, handle: TaskHandle) -> None:
        need = self._vector(handle.request)
        t = self._tenants[handle.tenant]
        t.running[handle.node] = t.running.get(handle.node, np.zeros(len(self.resources))) + need
        t.count += 1
        self._nodes[handle.node].running += need
        handle.worker.inflight += 1

    def _release(self, handle: TaskHandle) -> None:
        need = self._vector(handle.request)
        t = self._tenants.get(handle.tenant)
        if t is not None and handle.node in t.running:
            t.running[handle.node] = np.maximum(t.running[handle.node] - need, 0.0)
            t.count -= 1
            t.last_active = time.monotonic()
        node = self._nodes.get(handle.node)
        if node is not None:
            node.running = np.maximum(node.running - need, 0.0)
        if handle.worker is not None:
            handle.worker.inflight -= 1

    def _finish(self, key, fut: concurrent.futures.Future) -> None:
        ray = self._ray
        with self._lock:
            handle = self._inflight.pop(key, None)
            if handle is None:
                return  # already accounted for (its node was declared lost)
            self._release(handle)
        try:
            value = fut.result()
        except ray.exceptions.RayTaskError as exc:
            handle.set_exception(exc.as_instanceof_cause())
            return
        except (ray.exceptions.TaskCancelledError, concurrent.futures.CancelledError) as exc:
            handle.set_exception(exc)
            return
        except ray.exceptions.RayError as exc:
            if isinstance(exc, ray.exceptions.RayActorError):
                with self._lock:
                    handle.worker.dead = True   # never give it another task
            # The worker or its node died.  Which one shows in the node table only
            # after Ray's health checks, so decide in a later cycle.
            with self._lock:
                self._suspects.append((handle, handle._attempt, time.monotonic() + self.lost_grace_s,
                                       f"{type(exc).__name__}"))
                self._wake_cycle = True
            return
        handle.set_result(value)

    def _resolve_suspects(self, alive: Mapping[str, Any]) -> None:
        """Under _lock: failed attempts whose node died are node-lost; after the grace, worker-lost."""
        keep = []
        now = time.monotonic()
        for handle, attempt, deadline, reason in self._suspects:
            if handle.node not in alive:
                self._lose(handle, NodeLostError(handle.tenant, handle.node, f"the node left the cluster ({reason})"))
            elif now >= deadline:
                self._lose(handle, TaskLostError(handle.tenant, handle.node, f"its worker died ({reason})"))
            else:
                keep.append((handle, attempt, deadline, reason))
        self._suspects = keep

    def _lose(self, handle: TaskHandle, error: TaskLostError) -> None:
        """Under _lock: resubmit (front of its tenant's queue) or fail the task."""
        handle.lost.append(error)
        t = self._tenants.get(handle.tenant)
        if handle.retries_left > 0 and t is not None and not self._closing:
            handle.retries_left -= 1
            handle._dispatched.clear()
            t.queue.appendleft(handle)
        else:
            handle.set_exception(error)
        self._lock.notify_all()


def stop_agents(ray, agents: list) -> None:
    """Remove every agent's groups, then the actors themselves."""
    refs = [a.shutdown.remote() for a in agents]
    for agent, ref in zip(agents, refs):
        try:
            ray.get(ref, timeout=30)
        except Exception as exc:  # its node is gone: its groups went with it or are reaped on restart
            log.warning("agent shutdown: %s", exc)
        try:
            ray.kill(agent)
        except Exception:
            pass
    # ray.kill returns before the GCS has dropped the names; wait, so that a
    # new allocator right after this one never adopts an agent being killed.
    killed = {agent._actor_id for agent in agents}
    deadline = time.monotonic() + 15
    while killed & {a._actor_id for a in find_agents(ray).values()} and time.monotonic() < deadline:
        time.sleep(0.1)


def find_agents(ray) -> dict[str, Any]:
    """Every node agent of the connected cluster, by node id."""
    from ray.util import list_named_actors
    out = {}
    for entry in list_named_actors(all_namespaces=True):
        if entry.get("namespace") == NAMESPACE and entry["name"].startswith(NAME_PREFIX):
            try:
                out[entry["name"][len(NAME_PREFIX):]] = ray.get_actor(entry["name"], namespace=NAMESPACE)
            except ValueError:
                pass
    return out
