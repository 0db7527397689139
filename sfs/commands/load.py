"""Open-loop HTTP load generator for `sfs serve`, driven by a trace.

Reads any trace `sfs replay` reads (Azure Functions 2019 / 2021, SFS
standalone; or `synthetic` for Poisson arrivals with the cpu-bound mix),
calibrates the server's library functions, maps every trace invocation onto
the (function, size) with the nearest service time, and sends each request
at its arrival time regardless of earlier responses.  Prints a summary table
per duration class and writes one CSV row per request.

The client runs at an RT priority above the functions (when root), so a
server whose functions hold every core under SCHED_FIFO cannot starve it.
"""
from __future__ import annotations

import asyncio
import math
import os
import sys
from pathlib import Path

from sharekit.cli import UsageError

MAX_REQUESTS = 20_000


def add_arguments(parser) -> None:
    parser.add_argument("--url", required=True, help="server, e.g. http://127.0.0.1:8080")
    parser.add_argument("--trace", required=True,
                        help="trace file (Azure 2019 invocations, Azure 2021, SFS standalone) or 'synthetic'")
    parser.add_argument("--format", default="auto", choices=["auto", "azure2019", "azure2021", "sfs"])
    rate = parser.add_mutually_exclusive_group()
    rate.add_argument("--rate", type=float, help="rescale arrivals to this many requests per second")
    rate.add_argument("--load", type=float,
                      help="rescale arrivals so the --duration window offers this load per core (e.g. 0.8)")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1, help="cores behind the server (for --load)")
    parser.add_argument("--duration", type=float, default=60.0, help="send for at most this many seconds (default 60)")
    parser.add_argument("--limit", type=int, default=1000, help=f"at most this many requests (default 1000, max {MAX_REQUESTS})")
    parser.add_argument("--count", type=int, default=200, help="synthetic trace: invocations to generate (default 200)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("sfs-load.csv"), help="per-request CSV (default sfs-load.csv)")
    parser.add_argument("--calibration-repeats", type=int, default=3, help="runs per (function, size) (default 3)")
    parser.add_argument("--timeout", type=float, default=120.0, help="per-request client timeout, s (default 120)")
    parser.add_argument("--rt-priority", type=int, default=None,
                        help="SCHED_FIFO priority of the client (default 25 when root, 0 = none)")
    parser.add_argument("--tenant-from-trace", action="store_true",
                        help="send X-Tenant derived from the trace's function id (default: the function's own tenant)")
    parser.add_argument("--no-progress", action="store_true")


def _trace(args):
    if args.trace == "synthetic":
        from workloads.synthetic import generate
        return generate(max(2, args.count), max(1, args.cores), 0.8, seed=args.seed)
    path = Path(args.trace)
    if not path.is_file():
        raise UsageError(f"--trace {args.trace}: no such file")
    from workloads.invocation import TraceError
    from workloads.traces import load_trace
    try:
        return load_trace(path, args.format, seed=args.seed)
    except (TraceError, ValueError, OSError) as exc:
        raise UsageError(f"--trace {args.trace}: {exc}") from None


def _check(args) -> None:
    if not args.url.startswith(("http://", "https://")):
        raise UsageError(f"--url {args.url!r}: expected http://HOST:PORT")
    for name in ("rate", "load"):
        value = getattr(args, name)
        if value is not None and not (value > 0 and math.isfinite(value)):
            raise UsageError(f"--{name} must be a positive number")
    if not 0 < args.duration <= 3600:
        raise UsageError("--duration must be in (0, 3600] seconds")
    if not 1 <= args.limit <= MAX_REQUESTS:
        raise UsageError(f"--limit must be in 1..{MAX_REQUESTS}")
    if args.calibration_repeats < 1:
        raise UsageError("--calibration-repeats must be at least 1")


def prepare(args, url: str, variants=None, progress: bool = True):
    """Trace -> mapped, rescaled and cut requests (calibrating unless `variants` given)."""
    from sfs.faas import loadgen
    invocations = sorted(_trace(args), key=lambda i: i.arrival_s)[:args.limit]
    if len(invocations) < 2:
        raise UsageError(f"--trace {args.trace}: fewer than two invocations")
    if variants is None:
        bar = None
        if progress:
            from tqdm import tqdm
            bar = tqdm(desc="calibrating", unit="run", file=sys.stderr, leave=False)
        try:
            variants = loadgen.calibrate(url, args.calibration_repeats, progress=bar)
        except OSError as exc:
            raise UsageError(f"cannot reach {url}: {exc}") from None
        finally:
            if bar is not None:
                bar.close()
    requests = loadgen.map_trace(invocations, variants)
    if args.rate is not None:
        loadgen.to_rate(requests, args.rate)
    elif args.load is not None:
        loadgen.fit_load(requests, args.load, args.cores, args.duration)
    requests = [r for r in requests if r.arrival_s <= args.duration]
    for k, r in enumerate(requests):
        r.index = k
    return requests, variants


def run(args) -> int:
    _check(args)
    from sfs.faas import loadgen, realtime
    url = args.url.rstrip("/")
    requests, variants = prepare(args, url, progress=not args.no_progress)
    cores = max(1, args.cores)
    print(f"sfs load: {len(requests)} requests over {requests[-1].arrival_s:.1f} s (offered load "
          f"{loadgen.window_load(requests, cores, args.duration):.2f} of {cores} cores over {args.duration:g} s), "
          f"{len(variants)} calibrated (function, size) pairs", file=sys.stderr)
    priority = args.rt_priority if args.rt_priority is not None else (25 if os.geteuid() == 0 else 0)
    bar = None
    if not args.no_progress:
        from tqdm import tqdm
        bar = tqdm(total=len(requests), desc="requests", unit="req", file=sys.stderr, leave=False)
    realtime_ok = realtime.raise_to(priority)
    try:
        stats: dict = {}
        responses = asyncio.run(loadgen.send_all(url, requests, args.timeout, bar, args.tenant_from_trace,
                                                 priority if realtime_ok else 0, stats))
    finally:
        realtime.normal()
        if bar is not None:
            bar.close()
    loadgen.write_csv(args.out, responses)
    summary = loadgen.summarize(responses)
    print(loadgen.format_summary(summary, f"sfs load: {url}, trace {args.trace}"))
    print(f"per-request results: {args.out}")
    if stats.get("rt_restored"):
        print(f"warning: another process took the client off SCHED_FIFO {stats['rt_restored']} time(s); "
              "it was restored each time, but latencies around then include the client's own delay",
              file=sys.stderr)
    return 0 if summary["lost"] == 0 else 1
