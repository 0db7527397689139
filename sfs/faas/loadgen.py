"""Open-loop HTTP load against `sfs serve`: calibration, trace mapping, sending, summary.

Open loop: request k is sent at t0 + arrival_k whatever happened to earlier
requests, and its latency is measured from that scheduled time, so a slow
server cannot slow the client down and hide its own delay (no coordinated
omission).  `send_lag` records how late the client itself was.

Mapping a trace onto the library (`map_trace`): every (function, size) pair
of the library is calibrated first, by running it alone on the server and
taking the median CPU time the server reports (X-CPU-Ms).  Each trace
invocation goes to the pair whose calibrated service time is closest to its
duration on a log scale; among pairs within a factor 1.5 of that best match
the choice is made by a stable hash of the trace's function id, so one trace
function always maps to the same library function and different trace
functions spread over the library.  Durations beyond the slowest pair are
clamped to it (counted in the summary).
"""
from __future__ import annotations

import asyncio
import csv
import hashlib
import importlib
import json
import math
import statistics
import urllib.request
from dataclasses import dataclass, field

from sfs.records import ClassSummary, by_class, duration_class
from sharekit.stats import quantile

SIZES = ("small", "medium", "large")
NEAR_FACTOR = 1.5


@dataclass(frozen=True)
class Variant:
    function: str
    size: str
    service_s: float
    event: dict = field(compare=False, hash=False)


@dataclass
class Request:
    index: int
    trace_id: str
    trace_function: str
    variant: Variant
    arrival_s: float
    clamped: bool = False


@dataclass
class Response:
    request: Request
    status: int = 0                # 0: no response (lost)
    sent_s: float = math.nan       # relative to t0
    done_s: float = math.nan
    invocation_id: str = ""
    cpu_ms: float = math.nan
    exec_ms: float = math.nan
    gateway_ms: float = math.nan
    error: str = ""

    @property
    def latency_s(self) -> float:
        return self.done_s - self.request.arrival_s

    @property
    def slowdown(self) -> float:
        return self.latency_s / self.request.variant.service_s


def _get_json(url: str, timeout: float = 30) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


def _post(url: str, event: dict, timeout: float = 120) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=json.dumps(event).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        resp.read()
        return resp.status, dict(resp.headers)


def library_events(names) -> dict[tuple[str, str], dict]:
    """(function, size) -> event, for served functions whose module this client can import."""
    out = {}
    for name in names:
        try:
            module = importlib.import_module(f"workloads.functions.{name}")
        except ImportError:
            continue
        make = getattr(module, "make_event", None)
        if make is None:
            continue
        for size in SIZES:
            try:
                out[(name, size)] = make(size)
            except (KeyError, ValueError):
                pass
    return out


def calibrate(url: str, repeats: int = 3, progress=None, only: set[str] | None = None) -> list[Variant]:
    """Median server-side CPU time of every (function, size), each run alone."""
    listing = _get_json(f"{url}/functions")["functions"]
    names = [f["name"] for f in listing if only is None or f["name"] in only]
    events = library_events(names)
    if not events:
        raise ValueError(f"{url} serves no function of the bundled library to calibrate")
    variants = []
    for (name, size), event in sorted(events.items()):
        samples = []
        for _ in range(repeats):
            status, headers = _post(f"{url}/run/{name}", event)
            if status != 200:
                raise RuntimeError(f"calibration of {name}/{size} failed with HTTP {status}")
            samples.append(float(headers["X-CPU-Ms"]) / 1e3)
        variants.append(Variant(name, size, statistics.median(samples), event))
        if progress is not None:
            progress.update(1)
    return sorted(variants, key=lambda v: v.service_s)


def _stable_hash(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def pick_variant(variants: list[Variant], duration_s: float, key: str) -> tuple[Variant, bool]:
    best = min(variants, key=lambda v: abs(math.log(v.service_s / max(duration_s, 1e-6))))
    clamped = duration_s > variants[-1].service_s * NEAR_FACTOR or duration_s < variants[0].service_s / NEAR_FACTOR
    near = [v for v in variants
            if abs(math.log(v.service_s / max(duration_s, 1e-6))) <= abs(math.log(best.service_s / max(duration_s, 1e-6))) + math.log(NEAR_FACTOR)]
    near.sort(key=lambda v: (v.function, v.size))
    return near[_stable_hash(key) % len(near)], clamped


def map_trace(invocations, variants: list[Variant]) -> list[Request]:
    out = []
    for k, inv in enumerate(sorted(invocations, key=lambda i: i.arrival_s)):
        variant, clamped = pick_variant(variants, inv.duration_s, inv.function)
        out.append(Request(k, str(inv.id), inv.function, variant, inv.arrival_s, clamped))
    if out:
        first = out[0].arrival_s
        for r in out:
            r.arrival_s -= first
    return out


def offered_load(requests: list[Request], cores: int) -> float:
    span = requests[-1].arrival_s - requests[0].arrival_s if len(requests) > 1 else 0.0
    return sum(r.variant.service_s for r in requests) / (span * cores) if span > 0 else math.inf


def rescale(requests: list[Request], factor: float) -> None:
    for r in requests:
        r.arrival_s *= factor


def to_rate(requests: list[Request], rate: float) -> None:
    """Stretch arrivals so the mean rate is `rate` requests/s."""
    if len(requests) > 1 and requests[-1].arrival_s > 0:
        rescale(requests, (len(requests) - 1) / rate / requests[-1].arrival_s)


def window_load(requests: list[Request], cores: int, window_s: float) -> float:
    """Calibrated demand of the requests arriving within the window, per core-second of it."""
    return sum(r.variant.service_s for r in requests if r.arrival_s <= window_s) / (window_s * cores)


def fit_load(requests: list[Request], load: float, cores: int, window_s: float) -> None:
    """Stretch arrivals so that what arrives within `window_s` offers `load` x `cores`.

    Traces are bursty and not stationary, so the load of the whole trace says
    little about the part that fits in the window; this solves for the window
    itself (bisection: stretching only ever pushes requests out of it).
    """
    if len(requests) < 2 or requests[-1].arrival_s <= 0:
        return
    base = [r.arrival_s for r in requests]
    low, high = 1e-6, 1e6  # stretch factors; load falls as the factor grows
    for _ in range(100):
        mid = math.sqrt(low * high)
        for r, a in zip(requests, base):
            r.arrival_s = a * mid
        if window_load(requests, cores, window_s) > load:
            low = mid
        else:
            high = mid
    for r, a in zip(requests, base):
        r.arrival_s = a * high


def to_load(requests: list[Request], load: float, cores: int) -> None:
    """Stretch arrivals so the calibrated demand is `load` x `cores`."""
    if len(requests) > 1 and requests[-1].arrival_s > 0:
        rescale(requests, offered_load(requests, cores) / load)


async def send_all(url: str, requests: list[Request], timeout_s: float = 120.0, progress=None,
                   tenant_header: bool = False, rt_priority: int = 0, stats: dict | None = None) -> list[Response]:
    """Send each request at its arrival time (open loop); wait at most timeout_s after the last.

    With `rt_priority` the client checks before each send that it still runs
    at that SCHED_FIFO priority and restores it if another process demoted it
    (counted in stats["rt_restored"]).
    """
    import aiohttp

    from sfs.faas import realtime
    stats = stats if stats is not None else {}
    stats.setdefault("rt_restored", 0)
    loop = asyncio.get_running_loop()
    responses = [Response(r) for r in requests]
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    client_timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with aiohttp.ClientSession(connector=connector, timeout=client_timeout) as session:
        t0 = loop.time() + 0.2

        async def one(resp: Response) -> None:
            req = resp.request
            resp.sent_s = loop.time() - t0
            headers = {"X-Tenant": req.trace_function[:32]} if tenant_header else {}
            try:
                async with session.post(f"{url}/run/{req.variant.function}", json=req.variant.event,
                                        headers=headers) as http:
                    body = await http.read()
                    resp.done_s = loop.time() - t0
                    resp.status = http.status
                    resp.invocation_id = http.headers.get("X-Invocation-Id", "")
                    for attr, header in (("cpu_ms", "X-CPU-Ms"), ("exec_ms", "X-Exec-Ms"),
                                         ("gateway_ms", "X-Gateway-Ms")):
                        if header in http.headers:
                            setattr(resp, attr, float(http.headers[header]))
                    if http.status != 200:
                        try:
                            resp.error = json.loads(body).get("reason") or json.loads(body).get("error", "")
                        except (ValueError, AttributeError):
                            resp.error = body[:100].decode(errors="replace")
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                resp.error = f"{type(exc).__name__}: {exc}"[:200]
            finally:
                if progress is not None:
                    progress.update(1)

        tasks = []
        for resp in responses:
            delay = t0 + resp.request.arrival_s - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if rt_priority and realtime.ensure(rt_priority):
                stats["rt_restored"] += 1
            tasks.append(asyncio.ensure_future(one(resp)))
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s + 5)
        for task in tasks:
            task.cancel()
    return responses


def summarize(responses: list[Response]) -> dict:
    ok = [r for r in responses if r.status == 200]
    classes = {}
    for name, rows in by_class(ok, lambda r: r.request.variant.service_s).items():
        lat = [r.latency_s * 1e3 for r in rows]
        slow = ClassSummary.of(name, [r.slowdown for r in rows])
        classes[name] = {"count": len(rows), "latency_p50_ms": quantile(lat, 0.5), "latency_p99_ms": quantile(lat, 0.99),
                         "slowdown_p50": slow.p50, "slowdown_p99": slow.p99, "slowdown_mean": slow.mean}
    statuses: dict[str, int] = {}
    for r in responses:
        statuses[str(r.status or "none")] = statuses.get(str(r.status or "none"), 0) + 1
    gateway = [r.gateway_ms for r in ok if not math.isnan(r.gateway_ms)]
    lag = [(r.sent_s - r.request.arrival_s) * 1e3 for r in responses if not math.isnan(r.sent_s)]
    return {"sent": sum(1 for r in responses if not math.isnan(r.sent_s)), "requests": len(responses),
            "lost": sum(1 for r in responses if r.status == 0), "statuses": statuses,
            "errors": len(responses) - len(ok), "classes": classes,
            "gateway_p50_ms": quantile(gateway, 0.5), "gateway_p99_ms": quantile(gateway, 0.99),
            "send_lag_p99_ms": quantile(lag, 0.99), "clamped": sum(r.request.clamped for r in responses)}


def format_summary(summary: dict, title: str = "") -> str:
    lines = [title] if title else []
    lines.append(f"{'class':<7} {'count':>5} {'lat p50 ms':>10} {'lat p99 ms':>10} {'slow p50':>8} {'slow p99':>8} {'slow mean':>9}")
    for name, c in summary["classes"].items():
        lines.append(f"{name:<7} {c['count']:>5} {c['latency_p50_ms']:>10.1f} {c['latency_p99_ms']:>10.1f} "
                     f"{c['slowdown_p50']:>8.2f} {c['slowdown_p99']:>8.2f} {c['slowdown_mean']:>9.2f}")
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(summary["statuses"].items()))
    lines.append(f"requests {summary['requests']}, sent {summary['sent']}, lost {summary['lost']} "
                 f"(HTTP {statuses}); gateway overhead p50 {summary['gateway_p50_ms']:.2f} ms, "
                 f"p99 {summary['gateway_p99_ms']:.2f} ms; client send lag p99 {summary['send_lag_p99_ms']:.2f} ms"
                 + (f"; {summary['clamped']} durations clamped to the library's range" if summary["clamped"] else ""))
    return "\n".join(lines)


CSV_COLUMNS = ["index", "trace_id", "trace_function", "function", "size", "service_ms", "class", "scheduled_s",
               "sent_s", "done_s", "latency_ms", "slowdown", "status", "error", "invocation_id", "server_cpu_ms",
               "server_exec_ms", "gateway_ms"]


def write_csv(path, responses: list[Response]) -> None:
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(CSV_COLUMNS)
        for r in responses:
            q = r.request
            out.writerow([q.index, q.trace_id, q.trace_function, q.variant.function, q.variant.size,
                          f"{q.variant.service_s * 1e3:.3f}", duration_class(q.variant.service_s),
                          f"{q.arrival_s:.6f}", f"{r.sent_s:.6f}", f"{r.done_s:.6f}",
                          f"{r.latency_s * 1e3:.3f}" if r.status else "", f"{r.slowdown:.4f}" if r.status else "",
                          r.status, r.error, r.invocation_id, _num(r.cpu_ms), _num(r.exec_ms), _num(r.gateway_ms)])


def _num(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.3f}"
