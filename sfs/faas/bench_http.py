"""`sfs bench --http`: the FaaS host under cfs, then sfs, with the same open-loop load.

Workload: service times drawn (with a fixed seed) from the Azure Functions
2021 sample bundled in workloads/data (or from --trace), scaled by one
factor so that the trace's 95th percentile lands on the slowest library
function (the shape of the distribution is kept), mapped onto the
function library by calibration (see sfs.faas.loadgen), with Poisson
arrivals at 80% offered load on the server's cores.  Both policies get the
very same request list.  The client (this process) and the gateway run at
SCHED_FIFO above the functions, so neither is starved by them.

Reported per policy: short- and long-function slowdown (client latency /
calibrated service time), gateway overhead per request (server-side time
outside the sandbox, X-Gateway-Ms), and requests lost (sent without a
response, or answered without a record).  Targets: sfs short p99 <= half of
cfs short p99; gateway overhead p50 < 2 ms; 0 lost.
"""
from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sharekit.cli import UsageError
from sfs.records import duration_class
from sharekit.stats import quantile

AZURE_SAMPLE = Path(__file__).resolve().parents[2] / "workloads" / "data" / "azure" / "azure-functions-2021-sample200.csv"
LOAD = 0.8
GATEWAY_TARGET_MS = 2.0
# The client waits longer than the server's own limit, so a timed-out call
# comes back as a 504 (answered and recorded), not as a client-side loss.
SERVER_TIMEOUT_S = 60
CLIENT_TIMEOUT_S = SERVER_TIMEOUT_S + 15
CLIENT_PRIORITY = 25  # the gateway's default: above the functions, below the scheduler


class ServerProcess:
    def __init__(self, policy: str, results: Path, cores: list[int], log: Path, extra=()):
        cmd = [sys.executable, "-c", "import sys; from sfs.cli import main; sys.exit(main())", "serve",
               "--port", "0", "--policy", policy, "--results", str(results),
               "--cores", ",".join(map(str, cores)), "--max-running", "256", "--max-queue", "4096",
               "--timeout", str(SERVER_TIMEOUT_S), *extra]
        self.log = log
        self.results = results
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=open(log, "w"), text=True)
        deadline = time.monotonic() + 90
        line = ""
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line or "listening on" in line:
                break
        if "listening on" not in line:
            self.stop()
            raise RuntimeError(f"sfs serve --policy {policy} did not start:\n{log.read_text()[-2000:]}")
        self.url = line.split("listening on ")[1].split()[0]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _durations(args) -> list[float]:
    from workloads.traces import load_trace
    path = Path(args.trace) if getattr(args, "trace", None) else AZURE_SAMPLE
    try:
        return [i.duration_s for i in load_trace(path, seed=args.seed)]
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None


def duration_scale(durations: list[float], variants) -> float:
    """Shrink factor putting the trace's 95th percentile on the slowest library function.

    Azure durations run from milliseconds to minutes; the library spans about
    1 ms - 1 s.  Scaling keeps the shape of the distribution (its heavy tail,
    the share of short calls relative to the rest) inside what can be run.
    """
    p95 = quantile(durations, 0.95)
    return min(1.0, variants[-1].service_s / p95) if p95 > 0 else 1.0


def build_requests(durations: list[float], variants, cores: int, span_s: float, seed: int):
    """Poisson arrivals at LOAD x cores; services bootstrapped from `durations`, then mapped."""
    from sfs.faas import loadgen
    from workloads.invocation import Invocation
    rng = random.Random(seed)
    durations = [d * duration_scale(durations, variants) for d in durations]
    mapped_mean = sum(loadgen.pick_variant(variants, d, str(k))[0].service_s
                      for k, d in enumerate(durations)) / len(durations)
    rate = LOAD * cores / mapped_mean
    invocations, t, k = [], 0.0, 0
    while t < span_s and k < 5000:
        d = rng.choice(durations)
        invocations.append(Invocation(f"bench-{k}", f"fn-{rng.randrange(len(durations))}", "bench", t, d))
        t += rng.expovariate(rate)
        k += 1
    return loadgen.map_trace(invocations, variants)


def _records_by_id(path: Path) -> dict[str, dict]:
    from sfs.faas.records import read_results
    if not path.exists():
        return {}
    return {r["invocation_id"]: r for r in read_results(path)}


def _policy_result(responses, records: dict[str, dict]) -> dict:
    from sfs.faas import loadgen
    summary = loadgen.summarize(responses)
    answered_ids = {r.invocation_id for r in responses if r.invocation_id}
    summary["unrecorded"] = len(answered_ids - set(records))
    summary["lost_total"] = summary["lost"] + summary["unrecorded"]
    short = [r.slowdown for r in responses if r.status == 200 and duration_class(r.request.variant.service_s) == "short"]
    summary["short_slowdowns"] = short
    fifo = [float(r["fifo_s"] or 0) for r in records.values()]
    cpu = [float(r["cpu_s"] or 0) for r in records.values()]
    summary["fifo_share"] = sum(fifo) / sum(cpu) if sum(cpu) > 0 else 0.0
    server_slow = [float(r["slowdown"]) for r in records.values() if r.get("slowdown") not in ("", None)]
    summary["server_slowdown_p99"] = quantile(server_slow, 0.99)
    return summary


def _plot(results: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for policy, summary in results.items():
        values = sorted(summary["short_slowdowns"])
        if values:
            ax.step(values, [(i + 1) / len(values) for i in range(len(values))], where="post", label=policy)
    ax.set_xscale("log")
    ax.set_xlabel("slowdown of short functions (client latency / service time)")
    ax.set_ylabel("CDF")
    ax.set_title("sfs bench --http: short functions at 80% load")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run_http_bench(args) -> int:
    from sfs.faas import loadgen, realtime
    if os.geteuid() != 0:
        raise UsageError("sfs bench --http needs root (sandboxes, cgroups and the sfs policy's SCHED_FIFO)")
    ncores = getattr(args, "cores", None) or (os.cpu_count() or 1)
    if not 1 <= ncores <= (os.cpu_count() or 1):
        raise UsageError(f"--cores must be between 1 and {os.cpu_count()}")
    cores = list(range(ncores))
    quick = bool(getattr(args, "quick", False))
    span = getattr(args, "span", None) or (12.0 if quick else 40.0)
    seed = getattr(args, "seed", 0) or 0
    progress = not getattr(args, "no_progress", False)
    out_dir = Path(args.out_dir) if getattr(args, "out_dir", None) else Path(tempfile.mkdtemp(prefix="sfs-bench-http-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    plot = getattr(args, "plot", None)
    plot_path = Path("sfs-bench-http-cdf.png" if plot in (None, "sfs-bench-cdf.png") else plot)
    durations = _durations(args)
    started = time.monotonic()

    print(f"sfs bench --http: calibrating the function library on cores {cores} ...", file=sys.stderr)
    server = ServerProcess("cfs", out_dir / "calibration-records.csv", cores, out_dir / "calibration-server.log")
    try:
        variants = loadgen.calibrate(server.url, repeats=2 if quick else 3)
    finally:
        server.stop()
    requests = build_requests(durations, variants, ncores, span, seed)
    classes = {}
    for r in requests:
        name = duration_class(r.variant.service_s)
        classes[name] = classes.get(name, 0) + 1
    print(f"durations scaled by {duration_scale(durations, variants):.4f} "
          "(trace p95 -> slowest library function)", file=sys.stderr)
    print(f"machine load average before the runs: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          "(other work on the machine competes with the functions under CFS)", file=sys.stderr)
    print(f"workload: {len(requests)} requests over {requests[-1].arrival_s:.1f} s, offered load "
          f"{loadgen.offered_load(requests, ncores):.2f} on {ncores} cores; classes {classes}; "
          f"services from {Path(getattr(args, 'trace', None) or AZURE_SAMPLE).name}", file=sys.stderr)

    results = {}
    for policy in ("cfs", "sfs"):
        records_path = out_dir / f"server-{policy}.csv"
        records_path.unlink(missing_ok=True)
        server = ServerProcess(policy, records_path, cores, out_dir / f"server-{policy}.log")
        bar = None
        if progress:
            from tqdm import tqdm
            bar = tqdm(total=len(requests), desc=f"{policy:>4}", unit="req", file=sys.stderr, leave=False)
        rt_ok = realtime.raise_to(CLIENT_PRIORITY)
        stats: dict = {}
        try:
            fresh = [loadgen.Request(r.index, r.trace_id, r.trace_function, r.variant, r.arrival_s, r.clamped)
                     for r in requests]
            responses = asyncio.run(loadgen.send_all(server.url, fresh, timeout_s=CLIENT_TIMEOUT_S, progress=bar,
                                                     rt_priority=CLIENT_PRIORITY if rt_ok else 0, stats=stats))
            health = loadgen._get_json(f"{server.url}/healthz")
        finally:
            realtime.normal()
            if bar is not None:
                bar.close()
            server.stop()
        loadgen.write_csv(out_dir / f"client-{policy}.csv", responses)
        results[policy] = _policy_result(responses, _records_by_id(records_path))
        restored = stats.get("rt_restored", 0) + health.get("rt_restored", 0)
        if restored:
            print(f"warning ({policy}): another process took the client or the gateway off SCHED_FIFO "
                  f"{restored} time(s) during the run (restored each time; RT hygiene checks of other "
                  "programs on this machine do this)", file=sys.stderr)

    print()
    print(f"{'policy':<6} {'short p50':>9} {'short p99':>9} {'long p50':>8} {'long mean':>9} "
          f"{'gw p50 ms':>9} {'gw p99 ms':>9} {'FIFO CPU':>8} {'sent':>5} {'errors':>6} {'lost':>4}")
    for policy, s in results.items():
        short, long = s["classes"]["short"], s["classes"]["long"]
        print(f"{policy:<6} {short['slowdown_p50']:>9.2f} {short['slowdown_p99']:>9.2f} {long['slowdown_p50']:>8.2f} "
              f"{long['slowdown_mean']:>9.2f} {s['gateway_p50_ms']:>9.2f} {s['gateway_p99_ms']:>9.2f} "
              f"{s['fifo_share']:>8.0%} {s['sent']:>5} {s['errors'] - s['lost']:>6} {s['lost_total']:>4}")
    cfs_p99 = results["cfs"]["classes"]["short"]["slowdown_p99"]
    sfs_p99 = results["sfs"]["classes"]["short"]["slowdown_p99"]
    gateway = max(results["cfs"]["gateway_p50_ms"], results["sfs"]["gateway_p50_ms"])
    lost = sum(s["lost_total"] for s in results.values())
    checks = [
        (sfs_p99 <= cfs_p99 / 2, f"sfs short-function p99 slowdown {sfs_p99:.2f} <= half of cfs {cfs_p99:.2f}"),
        (gateway < GATEWAY_TARGET_MS, f"gateway overhead p50 {gateway:.2f} ms < {GATEWAY_TARGET_MS:g} ms"),
        (lost == 0, f"requests lost: {lost} (must be 0)"),
    ]
    print()
    for ok, text in checks:
        print(f"{'PASS' if ok else 'MISS'}  {text}")
    try:
        _plot(results, plot_path)
        print(f"plot: {plot_path}")
    except Exception as exc:  # a missing display backend must not hide the numbers
        print(f"plot not written: {exc}", file=sys.stderr)
    print(f"per-request CSVs and server records: {out_dir}; took {time.monotonic() - started:.0f} s; "
          f"load average now {os.getloadavg()[0]:.1f}")
    return 0 if lost == 0 else 1
