"""What authentication and sandbox namespaces add to a request: `sfs overhead`.

Starts two `sfs serve` processes on loopback, serving one trivial function:
- *bare*: no --tenants, --no-namespaces;
- *secured*: --tenants (a Bearer token per request) and the per-invocation
  user, mount, pid and network namespaces.
Then sends the same sequential requests to each, alternating in rounds so
that machine noise falls on both alike, over one keep-alive connection per
server.  Reports client latency and the server's X-Gateway-Ms at p50 and p99
for both, and the difference at p50 against the target (< 1 ms).
"""
from __future__ import annotations

import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sharekit.cli import UsageError

TARGET_ADDED_P50_MS = 1.0
NOOP = '''"""Returns its input: the cheapest possible function."""
TENANT = "bench"
PARAMETERS = {"k": {"type": "integer", "default": 0}}


def handler(event):
    return event
'''


def add_arguments(parser) -> None:
    parser.add_argument("--requests", type=int, default=400, help="requests per configuration (default 400)")
    parser.add_argument("--rounds", type=int, default=4, help="alternations between the two servers (default 4)")
    parser.add_argument("-j", "--json", action="store_true", help="print the figures as JSON")


def _start(workdir: Path, functions: Path, extra: list[str]) -> tuple[subprocess.Popen, int]:
    cmd = [sys.executable, "-c", "import sys; from sfs.cli import main; sys.exit(main())", "serve", "--port", "0",
           "--policy", "cfs", "--functions", str(functions), *extra]
    log = open(workdir / f"serve-{len(list(workdir.iterdir()))}.log", "w")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if "listening on" in line:
            return proc, int(line.split("listening on ")[1].split()[0].rsplit(":", 1)[1])
    proc.kill()
    proc.wait()
    raise UsageError(f"sfs serve did not start (see {log.name})")


def _send(conn: http.client.HTTPConnection, headers: dict, k: int) -> tuple[float, float]:
    body = json.dumps({"k": k}).encode()
    t0 = time.perf_counter()
    conn.request("POST", "/run/noop", body=body, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    took = (time.perf_counter() - t0) * 1e3
    if resp.status != 200 or json.loads(data) != {"k": k}:
        raise RuntimeError(f"unexpected answer {resp.status}: {data[:200]!r}")
    return took, float(resp.headers["X-Gateway-Ms"])


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(args) -> int:
    if os.geteuid() != 0:
        raise UsageError("needs root: the namespaces, uids and cgroups of the sandboxes")
    if not 10 <= args.requests <= 100_000 or not 1 <= args.rounds <= 100:
        raise UsageError("--requests must be in 10..100000 and --rounds in 1..100")
    from sfs.faas.auth import TenantEntry, Tenants, digest, new_token
    token = new_token()
    with tempfile.TemporaryDirectory(prefix="sfs-overhead-") as tmp:
        work = Path(tmp)
        os.chmod(work, 0o755)
        functions = work / "functions"
        functions.mkdir(mode=0o755)
        (functions / "noop.py").write_text(NOOP)
        os.chmod(functions / "noop.py", 0o644)
        Tenants(None, {"bench": TenantEntry(digest(token), 1, [])}).save(work / "tenants.json")
        logs = work / "logs"
        logs.mkdir()
        configs = {"bare": (["--no-namespaces"], {}),
                   "secured": (["--tenants", str(work / "tenants.json")], {"Authorization": f"Bearer {token}"})}
        procs, conns, latency, gateway = {}, {}, {}, {}
        try:
            for name, (extra, _) in configs.items():
                procs[name], port = _start(logs, functions, extra)
                conns[name] = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                latency[name], gateway[name] = [], []
            for name, (_, headers) in configs.items():  # warm both: templates, spares, connections
                for k in range(20):
                    _send(conns[name], headers, k)
            per_round = max(1, args.requests // args.rounds)
            for _ in range(args.rounds):
                for name, (_, headers) in configs.items():
                    for k in range(per_round):
                        took, gw = _send(conns[name], headers, k)
                        latency[name].append(took)
                        gateway[name].append(gw)
        finally:
            for conn in conns.values():
                conn.close()
            for proc in procs.values():
                proc.send_signal(signal.SIGTERM)
            for proc in procs.values():
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    figures = {name: {"requests": len(latency[name]),
                      "latency_p50_ms": statistics.median(latency[name]),
                      "latency_p99_ms": _quantile(latency[name], 0.99),
                      "gateway_p50_ms": statistics.median(gateway[name]),
                      "gateway_p99_ms": _quantile(gateway[name], 0.99)} for name in configs}
    added = {key: figures["secured"][key] - figures["bare"][key]
             for key in ("latency_p50_ms", "latency_p99_ms", "gateway_p50_ms", "gateway_p99_ms")}
    verdict = "PASS" if added["latency_p50_ms"] < TARGET_ADDED_P50_MS else "MISS"
    if args.json:
        print(json.dumps({"configs": figures, "added": added, "target_added_p50_ms": TARGET_ADDED_P50_MS,
                          "verdict": verdict}, indent=2))
        return 0
    print(f"{'config':<8} {'n':>5} {'latency p50':>12} {'p99':>8} {'gateway p50':>12} {'p99':>8}   (ms)")
    for name, f in figures.items():
        print(f"{name:<8} {f['requests']:>5} {f['latency_p50_ms']:>12.3f} {f['latency_p99_ms']:>8.3f} "
              f"{f['gateway_p50_ms']:>12.3f} {f['gateway_p99_ms']:>8.3f}")
    print(f"{'added':<8} {'':>5} {added['latency_p50_ms']:>12.3f} {added['latency_p99_ms']:>8.3f} "
          f"{added['gateway_p50_ms']:>12.3f} {added['gateway_p99_ms']:>8.3f}")
    print(f"added latency at p50 {added['latency_p50_ms']:.3f} ms, target < {TARGET_ADDED_P50_MS:g} ms: {verdict}")
    return 0
