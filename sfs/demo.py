"""A short SFS vs CFS replay for `make demo`, long enough for a meaningful short-call p99.

``python -m sfs.demo`` generates the synthetic ``demo`` mix (88% short
20-200 ms calls, 10% medium, 2% long; Poisson arrivals, seed 7) for 20 s
of arrivals at 80% load on two cores: about 210 calls, about 185 of them
short, so the short p99 sits between the second and third worst short
call rather than being the single worst.  It replays them under cfs and
sfs, simulates the SRTF oracle on the CPU times measured under cfs, prints
one line per policy and writes a CDF plot of the short calls' slowdowns
(the PNG path is printed).  About 50 s on a quiet machine (the arrivals
alone take 2 x 21 s).  Needs CAP_SYS_NICE for the sfs
run; without it only cfs and the oracle run.
"""
from __future__ import annotations

import os
import sys
import tempfile

SPAN_S = 20.0
LOAD = 0.8
MEAN_SERVICE_S = 0.152  # of the demo mix
SEED = 7


def plot_cdf(path: str, short: dict[str, list[float]], title: str) -> None:
    """One step CDF per policy of the short calls' slowdowns (log x)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for policy, values in short.items():
        values = sorted(values)
        if values:
            ax.step(values, [(k + 1) / len(values) for k in range(len(values))], "--" if policy == "srtf-oracle"
                    else "-", where="post", label=policy)
    ax.set_xscale("log")
    ax.set_xlabel("slowdown (turnaround / CPU time)")
    ax.set_ylabel("CDF")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(plot_path: str | None = None) -> int:
    from sfs.privilege import has_cap_sys_nice
    from sfs.records import SHORT_S, summarize
    from sfs.replay import replay
    from workloads.synthetic import generate

    cores = list(range(min(2, os.cpu_count() or 1)))
    count = round(SPAN_S * LOAD * len(cores) / MEAN_SERVICE_S)
    invs = generate(count, len(cores), LOAD, mix="demo", seed=SEED)
    services = {i.id: i.duration_s for i in invs}
    policies = ["cfs", "sfs"] if has_cap_sys_nice() else ["cfs"]
    if "sfs" not in policies:
        print("sfs skipped: SCHED_FIFO needs CAP_SYS_NICE (run as root)", file=sys.stderr)
    n_short = sum(1 for s in services.values() if s < SHORT_S)
    print(f"SFS demo: {len(invs)} synthetic calls ({n_short} short), {invs[-1].arrival_s:.0f} s of arrivals, "
          f"80% load on cores {cores}")
    print(f"{'policy':<12} {'short p50':>9} {'short p99':>9} {'short mean':>10} {'long-ish mean':>13} {'lost':>4}")
    measured = None
    ok = True
    short: dict[str, list[float]] = {}
    for policy in policies + ["srtf-oracle"]:
        result = replay(invs, policy, cores, progress=False, services=measured)
        if policy == "cfs":
            measured = {r.invocation_id: r.cpu_s for r in result.records}
        rows = {row.name: row for row in summarize(result.records, services)}
        short[policy] = [r.slowdown for r in result.records if services[r.invocation_id] < SHORT_S]
        rest = [r.slowdown for r in result.records if services[r.invocation_id] >= SHORT_S]
        print(f"{policy:<12} {rows['short'].p50:>9.2f} {rows['short'].p99:>9.2f} {rows['short'].mean:>10.2f} "
              f"{(sum(rest) / len(rest) if rest else float('nan')):>13.2f} {result.lost:>4}")
        ok &= result.lost == 0 and result.duplicates == 0
    path = plot_path or os.path.join(tempfile.gettempdir(), "sfs-demo-cdf.png")
    plot_cdf(path, short, f"short calls ({n_short}), 80% load, {len(cores)} cores")
    print(f"slowdown CDF of the short calls: {path}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else None))
