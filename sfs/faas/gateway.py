"""The HTTP gateway (aiohttp): OpenLambda-style POST /run/<function>, plus listing, health and metrics.

Admission: at most `max_running` sandboxes run at once; up to `max_queue`
more requests wait for a slot; beyond that a request is refused with 503 and
Retry-After before anything runs.  Every accepted request gets exactly one
response and exactly one line in the results file, whatever happens to its
sandbox (the record is written when the scheduler's record for the process
arrives, or by the host alone when no process was started).  The line is
written and flushed before the response is sent.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import time
from collections import OrderedDict
from dataclasses import dataclass

from aiohttp import web

from sfs.faas.auth import Tenants
from sfs.faas.functions import NAME_RE, TENANT_RE, FunctionSpec
from sfs.faas.metrics import Metrics
from sfs.faas.records import HostRecord, ResultsWriter
from sfs.faas.sandbox import Outcome, SandboxError, SandboxManager
from workloads.functions._params import ParameterError
from workloads.invocation import Invocation

log = logging.getLogger(__name__)
RECORD_WAIT_S = 5.0
RECENT_RECORDS = 10000      # records GET /invocations/ID can still show


class BadEvent(ValueError):
    pass


def _reject_constant(name: str):
    raise BadEvent(f"non-finite number {name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise BadEvent(f"number {text[:40]} is out of range")
    return value


def parse_event(body: bytes) -> dict:
    """The request body as an event: a JSON object with finite numbers, nested less than Python recurses."""
    if not body.strip():
        return {}
    try:
        event = json.loads(body, parse_constant=_reject_constant, parse_float=_finite_float)
    except BadEvent:
        raise
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError, and integers past the digit limit
        raise BadEvent(f"malformed JSON body: {exc}") from None
    except RecursionError:
        raise BadEvent("JSON nested too deeply") from None
    if not isinstance(event, dict):
        raise BadEvent("the JSON body must be an object")
    return event


@dataclass
class GatewayConfig:
    max_body: int = 1 << 20
    max_running: int = 64
    max_queue: int = 256
    retry_after_s: int = 1
    tenant_header: bool = True
    max_tenants: int = 64
    read_timeout_s: float = 30.0   # for a request's headers (keep-alive timer) and for its body


def _json_error(status: int, error: str, **extra) -> web.Response:
    return web.json_response({"error": error, **extra}, status=status)


@web.middleware
async def _json_errors(request: web.Request, handler):
    """aiohttp's own 404/405/413 pages become JSON like the rest of the API."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.content_type == "application/json" or exc.status < 400:
            raise
        body = {"error": exc.reason}
        if exc.status == 405:
            body["allowed"] = sorted(getattr(exc, "allowed_methods", ()) or ())
        if exc.status == 413:
            body["limit_bytes"] = request.app["gateway"].config.max_body
        resp = web.json_response(body, status=exc.status)
        for header in ("Allow", "Retry-After"):
            if header in exc.headers:
                resp.headers[header] = exc.headers[header]
        return resp


def _only_tenant(text: str, tenant: str) -> str:
    """The exposition's samples labelled with `tenant` (and the families' HELP/TYPE lines)."""
    label = f'tenant="{tenant}"'
    return "\n".join(line for line in text.splitlines() if line.startswith("#") or label in line) + "\n"


class Gateway:
    def __init__(self, specs: dict[str, FunctionSpec], sandboxes: SandboxManager, policy, results: ResultsWriter,
                 config: GatewayConfig | None = None, auth: Tenants | None = None):
        self.specs, self.sandboxes, self.policy, self.results = specs, sandboxes, policy, results
        # None: the open mode (loopback only, X-Tenant trusted).  Else every request needs a token.
        self.auth = auth
        self.recent: OrderedDict[str, dict] = OrderedDict()  # invocation id -> record, for GET /invocations/ID
        self.config = config or GatewayConfig()
        self.metrics = Metrics()
        self.running = 0
        self.queued = 0
        self._slots = asyncio.Semaphore(self.config.max_running)
        self._ids = itertools.count(1)
        self._id_prefix = f"{os.getpid():x}{int(time.time()) & 0xFFFFFF:06x}"
        self._sched_records: dict[str, dict] = {}
        self._record_waiters: dict[str, asyncio.Future] = {}
        self._pending_records: set[asyncio.Task] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.rt_priority = 0  # set by serve once the loop runs at it
        self.rt_restored = 0
        self._rt_guard: asyncio.Task | None = None
        self._watch: asyncio.Task | None = None
        self._tenants = {spec.tenant for spec in specs.values()}
        if auth is not None:
            self._tenants |= set(auth.tenants)

    # -- scheduler records (arrive on the scheduler thread) -------------------
    def on_scheduler_record(self, record: dict) -> None:
        self._loop.call_soon_threadsafe(self._deliver_record, record)

    def _deliver_record(self, record: dict) -> None:
        waiter = self._record_waiters.pop(record["invocation_id"], None)
        if waiter is not None and not waiter.done():
            waiter.set_result(record)
        else:
            self._sched_records[record["invocation_id"]] = record

    def _expect_record(self, invocation_id: str) -> asyncio.Future:
        fut = self._loop.create_future()
        early = self._sched_records.pop(invocation_id, None)
        if early is not None:
            fut.set_result(early)
        else:
            self._record_waiters[invocation_id] = fut
        return fut

    # -- app --------------------------------------------------------------
    def app(self) -> web.Application:
        middlewares = [_json_errors] + ([self._authenticate] if self.auth is not None else [])
        app = web.Application(client_max_size=self.config.max_body, middlewares=middlewares)
        app["gateway"] = self
        app.router.add_post("/run/{name:.*}", self.run)
        app.router.add_get("/functions", self.functions)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.prometheus)
        app.router.add_get("/invocations/{id}", self.invocation)
        app.on_startup.append(self._on_startup)
        app.on_cleanup.append(self._on_cleanup)
        return app

    async def _on_startup(self, app) -> None:
        self._loop = asyncio.get_running_loop()
        self._watch = asyncio.ensure_future(self.sandboxes.watch())
        if self.rt_priority > 0:
            self._rt_guard = asyncio.ensure_future(self._keep_rt())

    async def _on_cleanup(self, app) -> None:
        if self._watch is not None:
            self._watch.cancel()
        if self._rt_guard is not None:
            self._rt_guard.cancel()

    async def _keep_rt(self) -> None:
        """Restore the arrival path's RT priority if another process demoted it."""
        from sfs.faas import realtime
        while True:
            await asyncio.sleep(0.1)
            if realtime.ensure(self.rt_priority):
                self.rt_restored += 1
            for zygote in list(self.sandboxes.zygotes.values()):
                if zygote.alive and realtime.ensure(self.rt_priority, zygote.proc.pid):
                    self.rt_restored += 1

    # -- who is asking -------------------------------------------------------
    @web.middleware
    async def _authenticate(self, request: web.Request, handler):
        """Every request carries a valid Bearer token, or gets 401 before anything else is looked at."""
        principal = self.auth.authenticate(request.headers.get("Authorization"))
        if principal is None:
            self.metrics.reject("unauthenticated")
            return web.json_response({"error": "missing or invalid bearer token"}, status=401,
                                     headers={"WWW-Authenticate": 'Bearer realm="sfs"'})
        request["principal"] = principal
        return await handler(request)

    @staticmethod
    def _may_see(request: web.Request, tenant: str) -> bool:
        principal = request.get("principal")
        return principal is None or principal.admin or principal.name == tenant

    def _unknown_function(self, name: str) -> web.Response:
        # The same answer for a function that does not exist and one of another tenant.
        return self._refuse(404, "unknown_function", f"unknown function {name!r}", function=name)

    async def functions(self, request: web.Request) -> web.Response:
        return web.json_response({"functions": [
            {"name": s.name, "tenant": s.tenant, "description": s.description, **s.interface()}
            for s in self.specs.values() if self._may_see(request, s.tenant)]})

    async def invocation(self, request: web.Request) -> web.Response:
        record = self.recent.get(request.match_info["id"])
        if record is None or not self._may_see(request, record["tenant"]):
            return _json_error(404, "unknown invocation", invocation_id=request.match_info["id"])
        return web.json_response(record)

    async def healthz(self, request: web.Request) -> web.Response:
        dead = [n for n, z in self.sandboxes.zygotes.items() if not z.alive]
        return web.json_response({"status": "ok" if not dead else "degraded", "policy": self.policy.name,
                                  "functions": len(self.specs), "warm": len(self.sandboxes.zygotes) - len(dead),
                                  "running": self.running, "queued": self.queued, "records": self.results.count,
                                  "rt_priority": self.rt_priority, "rt_restored": self.rt_restored,
                                  "cgroup_parent": self.sandboxes.tenants.parent if self.sandboxes.tenants.enabled
                                  else None},
                                 status=200)

    async def prometheus(self, request: web.Request) -> web.Response:
        text = self.metrics.render(self.running, self.queued, self.sandboxes.tenants.usage())
        principal = request.get("principal")
        if principal is not None and not principal.admin:
            text = _only_tenant(text, principal.name)
        return web.Response(text=text, content_type="text/plain", charset="utf-8",
                            headers={"X-Content-Type-Options": "nosniff"})

    def _refuse(self, status: int, reason: str, error: str, **extra) -> web.Response:
        self.metrics.reject(reason)
        return _json_error(status, error, **extra)

    async def run(self, request: web.Request) -> web.Response:
        t_received = time.monotonic()
        name = request.match_info["name"]
        if not NAME_RE.match(name) or name not in self.specs:
            return self._unknown_function(name)
        spec = self.specs[name]
        principal = request.get("principal")
        if not self._may_see(request, spec.tenant):
            return self._unknown_function(name)
        tenant = spec.tenant if principal is None or principal.admin else principal.name
        header = request.headers.get("X-Tenant")
        if header is not None and self.config.tenant_header:
            if not TENANT_RE.match(header):
                return self._refuse(400, "bad_tenant", f"invalid X-Tenant {header!r}: use 1-64 of [A-Za-z0-9_.-]")
            if principal is not None and not principal.admin and header != principal.name:
                return self._refuse(403, "foreign_tenant", f"X-Tenant {header!r}: a token of tenant "
                                    f"{principal.name!r} acts for that tenant only")
            if principal is not None and header not in self._tenants:
                return self._refuse(400, "bad_tenant", f"X-Tenant {header!r}: no such tenant")
            if header not in self._tenants and len(self._tenants) >= self.config.max_tenants:
                # Each tenant costs a cgroup: clients must not be able to make unbounded numbers.
                return self._refuse(400, "tenant_limit", f"X-Tenant {header!r}: this server already has "
                                    f"{self.config.max_tenants} tenants (--max-tenants)")
            tenant = header
            self._tenants.add(tenant)
        try:  # 413 past client_max_size (raised by aiohttp)
            body = await asyncio.wait_for(request.read(), self.config.read_timeout_s)
        except asyncio.TimeoutError:
            return self._refuse(408, "read_timeout", f"request body not received within "
                                f"{self.config.read_timeout_s:g} s")
        try:
            event = spec.validate(parse_event(body))
        except BadEvent as exc:
            return self._refuse(400, "bad_json", str(exc))
        except ParameterError as exc:
            return self._refuse(400, "bad_event", str(exc), field=exc.field)
        if self.running >= self.config.max_running and self.queued >= self.config.max_queue:
            resp = self._refuse(503, "overloaded", "server at capacity; retry later",
                                running=self.running, queued=self.queued)
            resp.headers["Retry-After"] = str(self.config.retry_after_s)
            return resp
        # The scheduler's one invocation type.  The service time of a live call is not known
        # ahead (0); arrival is in seconds since the server started, like the records.
        invocation = Invocation(f"{self._id_prefix}-{next(self._ids)}", name, tenant,
                                arrival_s=t_received - self.results.t0, duration_s=0.0, real_function=name)
        # From here on the request is accepted: exactly one response and one record.
        self.queued += 1
        t_queued = time.monotonic()
        try:
            await self._slots.acquire()
        finally:
            self.queued -= 1
        t_slot = time.monotonic()
        self.running += 1
        try:
            try:
                outcome = await self.sandboxes.invoke(invocation, json.dumps(event).encode(), t_received)
            except SandboxError as exc:
                outcome = Outcome(False, reason="crash", error=f"sandbox unavailable: {exc}")
            except Exception as exc:  # a host fault still owes this request its response and record
                log.exception("invocation %s failed in the host", invocation.id)
                outcome = Outcome(False, reason="crash", error=f"host error: {type(exc).__name__}: {exc}")
        finally:
            self.running -= 1
            self._slots.release()
        status = 200 if outcome.ok else (504 if outcome.reason == "timeout" else 500)
        headers = {"X-Invocation-Id": invocation.id, "X-Tenant": tenant}
        if outcome.ok:
            headers["X-Exec-Ms"] = f"{(outcome.exec_end - outcome.exec_start) * 1e3:.3f}"
            headers["X-CPU-Ms"] = f"{outcome.cpu_s * 1e3:.3f}"
            resp = web.Response(body=json.dumps(outcome.result).encode(), content_type="application/json",
                                headers=headers)
        else:
            resp = web.json_response({"error": outcome.error, "reason": outcome.reason,
                                      "invocation_id": invocation.id, "function": name}, status=status,
                                     headers=headers)
        # Gateway time = everything but waiting for a slot and the sandbox run itself
        # (released -> answer and exit seen).
        t_done = time.monotonic()
        sandbox_s = (outcome.exited - outcome.released) if outcome.exited else 0.0
        gateway_ms = max(0.0, (t_done - t_received) - (t_slot - t_queued) - sandbox_s) * 1e3
        resp.headers["X-Gateway-Ms"] = f"{gateway_ms:.3f}"
        if outcome.timings:  # where the gateway time went, in ms since the request arrived
            marks = dict(outcome.timings, t_exited=outcome.exited, t_done=t_done)
            resp.headers["X-Gateway-Timings"] = " ".join(
                f"{k[2:]}={(v - t_received) * 1e3:.2f}" for k, v in marks.items() if v)
        # The record is written and flushed before the response goes out: a client that
        # got an answer finds its record even if the server is SIGKILLed right after.
        task = asyncio.ensure_future(self._write_record(invocation, outcome, status, gateway_ms, t_received))
        self._pending_records.add(task)
        task.add_done_callback(self._pending_records.discard)
        await asyncio.shield(task)
        return resp

    async def _write_record(self, invocation: Invocation, outcome: Outcome, status: int,
                            gateway_ms: float, t_received: float) -> None:
        record = None
        if outcome.completion is not None:
            try:
                await outcome.completion
            except Exception as exc:  # the answer was sent; the record says what went wrong after
                log.warning("exit of %s not collected: %s", invocation.id, exc)
        if outcome.admitted:
            fut = self._expect_record(invocation.id)
            try:
                record = await asyncio.wait_for(fut, RECORD_WAIT_S)
            except asyncio.TimeoutError:
                self._record_waiters.pop(invocation.id, None)
                log.warning("no scheduler record for %s after %.0f s; writing the host's", invocation.id,
                            RECORD_WAIT_S)
        if record is None:  # no process ran, or the scheduler's record never came: the host's own
            end = outcome.ended or outcome.exited or time.monotonic()
            record = {"invocation_id": invocation.id, "function": invocation.function, "tenant": invocation.tenant,
                      "arrival_s": t_received, "start_s": outcome.released or end, "end_s": end,
                      "cpu_s": outcome.cpu_s, "cfs_s": outcome.cpu_s, "pid": outcome.pid}
        record = HostRecord.from_scheduler(record, status="ok" if outcome.ok else "error", reason=outcome.reason,
                                           error=outcome.error, http_status=status,
                                           gateway_ms=round(gateway_ms, 3))
        row = self.results.write(record)
        self.metrics.record(row)
        self.recent[invocation.id] = row
        while len(self.recent) > RECENT_RECORDS:
            self.recent.popitem(last=False)

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait for running invocations and their records (for shutdown)."""
        deadline = time.monotonic() + timeout
        while (self.running or self.queued) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if self._pending_records:
            await asyncio.wait(list(self._pending_records), timeout=max(0.1, deadline - time.monotonic()))
