"""What a local run measured, per node and phase; the targets; the plot.

A phase is the time between two decisions.  Its steady window skips the
start: `warmup_s` for the first phase (groups filling up, the SFS slice
adapting), two agent cycles after a re-allocation (the convergence the
targets allow).  Shares are fractions of the node's tenants' total.
"""
from __future__ import annotations

import math
import os
import statistics
from dataclasses import dataclass
from pathlib import Path

from .measure import convergence_time, max_error, share_series, window_shares

TOLERANCE = 0.05
MAX_SHORT_SLOWDOWN = 1.2
CONVERGE_CYCLES = 2


@dataclass
class TenantRow:
    tenant: str
    allocated: float
    cpu: float
    lock: float | None
    short_p50: float | None

    def to_json(self) -> dict:
        def clean(v):
            return None if v is None or (isinstance(v, float) and math.isnan(v)) else round(v, 4)
        return {"tenant": self.tenant, "allocated_share": round(self.allocated, 4),
                "measured_cpu_share": clean(self.cpu), "measured_lock_share": clean(self.lock),
                "short_p50_slowdown": clean(self.short_p50)}


@dataclass
class Phase:
    start: float
    end: float
    steady_from: float
    rows: list[TenantRow]


def phases(node, run) -> list[Phase]:
    config = run.config
    out = []
    bounds = node.targets + [(config.seconds, None)]
    for (start, targets), (end, _) in zip(bounds, bounds[1:]):
        if not targets:
            continue
        skip = config.warmup_s if start == 0 else CONVERGE_CYCLES * config.cycle_s
        steady = min(start + skip, end)
        cpu = window_shares(node.samples_cpu, steady, end)
        lock = window_shares(node.samples_lock, steady, end) if node.samples_lock else {}
        rows = [TenantRow(t, a, cpu.get(t, math.nan), lock.get(t) if node.samples_lock else None,
                          short_p50(node.records, t, steady, end, config.load.short_s))
                for t, a in sorted(targets.items())]
        out.append(Phase(start, end, steady, rows))
    return out


def short_p50(records, tenant: str, start: float, end: float, short_s: float) -> float | None:
    """Median slowdown (turnaround / CPU time) of the tenant's short invocations arriving in
    [start, end) that ran to completion (one killed at the end of the run used less CPU than
    its service time and is left out)."""
    slow = [(e - a) / cpu for t, service, a, e, cpu in records
            if t == tenant and service == short_s and start <= a < end and cpu >= 0.9 * service]
    return statistics.median(slow) if slow else None


def churn_convergence(node, run) -> list[tuple[float, float | None]]:
    """(decision time, seconds to converge) for every re-allocation after the first."""
    width = run.config.cycle_s
    out = []
    for at, targets in node.targets[1:]:
        if targets:
            out.append((at, convergence_time(node.samples_cpu, at, targets, width, TOLERANCE)))
    return out


def steady_window_noise(node, run) -> float | None:
    """The worst error of the one-cycle window shares inside the first phase's steady window:
    how far single cycles stray with no change at all, the floor under which the
    convergence test cannot tell convergence from noise.  None without such a window."""
    node_phases = phases(node, run)
    if not node_phases:
        return None
    first = node_phases[0]
    width = run.config.cycle_s
    targets = {row.tenant: row.allocated for row in first.rows}
    errors = [max_error(shares, targets) for t, shares in share_series(node.samples_cpu, width)
              if t - width >= first.steady_from - 1e-9 and t <= first.end + 1e-9
              and all(name in shares for name in targets)]
    return max(errors, default=None)


def convergence_marks(node, run) -> list[tuple[float, str]]:
    """(x, label) for the plot: where the shares over a one-cycle window came within the
    tolerance after each re-allocation and stayed there (at the end of the run: never)."""
    return [(run.config.seconds, "never converged") if took is None else (at + took, f"converged +{took:.1f} s")
            for at, took in churn_convergence(node, run)]


def to_json(run) -> dict:
    nodes = []
    for node in run.nodes:
        node_phases = phases(node, run)
        last = node_phases[-1].rows if node_phases else []
        entry = {"node": node.name, "tenants": [row.to_json() for row in last]}
        if len(node_phases) > 1:
            entry["earlier_phases"] = [{"start_s": round(p.start, 2), "end_s": round(p.end, 2),
                                        "tenants": [row.to_json() for row in p.rows]} for p in node_phases[:-1]]
            entry["convergence_s"] = [None if c is None else round(c, 2) for _, c in churn_convergence(node, run)]
            noise = steady_window_noise(node, run)
            entry["steady_cycle_window_worst_error"] = None if noise is None else round(noise, 4)
        nodes.append(entry)
    return {"nodes": nodes}


def targets(run, leftovers: list[str]) -> list[tuple[str, bool, str]]:
    """(target, met, detail) for every figure of the acceptance run."""
    checks = []
    cpu_err, lock_err, slow = [], [], []
    for node in run.nodes:
        for phase in phases(node, run):
            for row in phase.rows:
                cpu_err.append(abs(row.cpu - row.allocated) if not math.isnan(row.cpu) else math.inf)
                if row.lock is not None:
                    lock_err.append(abs(row.lock - row.allocated))
                if row.short_p50 is not None:
                    slow.append(row.short_p50)
    worst = max(cpu_err, default=math.inf)
    checks.append((f"|cpu share - allocated| <= {TOLERANCE}", worst <= TOLERANCE, f"worst {worst:.3f}"))
    if lock_err:
        worst = max(lock_err)
        checks.append((f"|lock share - allocated| <= {TOLERANCE}", worst <= TOLERANCE, f"worst {worst:.3f}"))
    worst = max(slow, default=math.inf)
    checks.append((f"short p50 slowdown <= {MAX_SHORT_SLOWDOWN}", worst <= MAX_SHORT_SLOWDOWN, f"worst {worst:.2f}"))
    limit = CONVERGE_CYCLES * run.config.cycle_s
    conv = [c for node in run.nodes for _, c in churn_convergence(node, run)]
    if conv:
        slowest = max((math.inf if c is None else c) for c in conv)
        checks.append((f"converged within {CONVERGE_CYCLES} cycles ({limit:g} s)", slowest <= limit,
                       "never" if math.isinf(slowest) else f"slowest {slowest:.2f} s"))
    checks.append(("no FIFO task and no cgroup left behind", not leftovers,
                   "; ".join(leftovers) if leftovers else "none"))
    return checks


def plot(run, path: Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    width = run.config.cycle_s
    fig, axes = plt.subplots(len(run.nodes), 1, figsize=(9, 3 * len(run.nodes)), sharex=True, squeeze=False)
    for ax, node in zip(axes[:, 0], run.nodes):
        colours = {}
        for t in sorted({t for _, s in node.targets for t in s}):
            cpu = [(x, s[t]) for x, s in share_series(node.samples_cpu, width) if t in s]
            line, = ax.plot([x for x, _ in cpu], [v for _, v in cpu], lw=1.2, label=f"{t} cpu")
            colours[t] = line.get_color()
            lock = [(x, s[t]) for x, s in share_series(node.samples_lock, width) if t in s]
            if lock:
                ax.plot([x for x, _ in lock], [v for _, v in lock], lw=0.8, ls="--", color=colours[t],
                        label=f"{t} lock")
        bounds = node.targets + [(run.config.seconds, None)]
        for (a, targets), (b, _) in zip(bounds, bounds[1:]):
            for t, share in targets.items():
                ax.hlines(share, a, b, colors=colours.get(t, "k"), linestyles=":", lw=1.5)
        for event in run.events:
            ax.axvline(event.at, color="grey", lw=0.8)
            ax.text(event.at, 0.98, f" {event.tenant} {event.kind}s", fontsize=8, va="top",
                    transform=ax.get_xaxis_transform())
        for x, label in convergence_marks(node, run):
            ax.axvline(x, color="green", lw=0.8, ls="--")
            ax.text(x, 0.88, f" {label}", fontsize=8, va="top", color="green",
                    transform=ax.get_xaxis_transform())
        ax.set_ylabel(f"{node.name} share")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=3, loc="upper right")
    axes[-1, 0].set_xlabel(f"seconds (shares over a {width:g} s window; dotted: allocated)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def leftovers(run) -> list[str]:
    """Groups of this run still present, processes it ran still alive under FIFO/RR."""
    from sharekit.cgroups import CGROUP_ROOT
    found = []
    prefix = f"sharekit-e2e-{os.getpid()}-"
    for top in [CGROUP_ROOT / c for c in ("cpu", "cpuacct", "memory")] + [CGROUP_ROOT, CGROUP_ROOT / "unified"]:
        if top.is_dir():
            found += [f"cgroup {p}" for p in top.iterdir() if p.name.startswith(prefix)]
    from .node_run import process_start
    for node in run.nodes:
        for pid, started in [item for seen in node.seen.values() for item in seen.items()]:
            try:
                if started and process_start(pid) == started and \
                        os.sched_getscheduler(pid) in (os.SCHED_FIFO, os.SCHED_RR):
                    found.append(f"real-time pid {pid}")
            except OSError:
                pass
    return found
