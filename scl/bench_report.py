"""The `scl bench` table and plot."""
from __future__ import annotations

from pathlib import Path

from scl.bench_scenarios import SCENARIOS, SCL_LOCKS


def _fmt_list(values, fmt="{:.0f}") -> str:
    return "/".join(fmt.format(v) for v in values)


def _verdicts(results: list[dict]) -> str:
    parts = []
    for v in results:
        word = "n/a" if v["pass"] is None else ("PASS" if v["pass"] else "MISS")
        parts.append(f"{v['target']}: {word}")
    return "; ".join(parts)


def table(rows: list[dict]) -> str:
    """Plain-text table, one block per scenario."""
    out = []
    by_scenario: dict[str, list[dict]] = {}
    for row in rows:
        by_scenario.setdefault(row["scenario"], []).append(row)
    for scenario, group in by_scenario.items():
        sc = SCENARIOS[scenario]
        out.append(sc.title)
        if sc.kind == "fairness":
            head = f"  {'lock':<8} {'hold ms per thread':<26} {'Jain(hold)':>10} {'share err':>9} " \
                   f"{'util':>6} {'CPU ms per thread':<26} {'Jain(CPU)':>9}"
            out.append(head)
            for r in group:
                m = r["metrics"]
                util = f"{m['utilisation']:.1%}"
                if sc.has_exit:
                    util = f"{m['utilisation_before']:.0%}->{m['utilisation_after']:.0%}"
                out.append(f"  {r['lock']:<8} {_fmt_list(m['hold_ms']):<26} {m['jain_hold']:>10.3f} "
                           f"{m['share_error']:>9.3f} {util:>6} {_fmt_list(m['cpu_ms']):<26} "
                           f"{m['jain_cpu']:>9.3f}")
        elif sc.kind == "latency":
            for r in group:
                m = r["metrics"]
                lo, hi = m["glibc_ratio_range"]
                out.append(f"  {r['lock']:<8} {m['latency_ns']:8.1f} ns per lock+unlock, glibc "
                           f"{m['glibc_ns']:.1f} ns: ratio {m['glibc_ratio']:.2f} "
                           f"(median of {m['pairs']} pairs, {lo:.2f}..{hi:.2f})")
        else:
            for r in group:
                out.append(f"  {r['lock']:<8} {r['metrics']['throughput_per_s'] / 1e6:8.2f} M acquisitions/s")
        for r in group:
            if not r["metrics"]["exclusion_ok"]:
                out.append(f"  !! {r['lock']}: MUTUAL EXCLUSION VIOLATED")
            if r["targets"]:
                out.append(f"  targets {r['lock']}: {_verdicts(r['targets'])}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def plot(rows: list[dict], path: Path) -> Path:
    """Bar charts: hold share per thread per lock (fairness), ratio to glibc (latency),
    throughput."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenarios = list(dict.fromkeys(r["scenario"] for r in rows))
    ncols = min(3, len(scenarios))
    nrows = -(-len(scenarios) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 4.4 * nrows), squeeze=False)
    for ax in axes.flat[len(scenarios):]:
        ax.set_visible(False)
    for ax, scenario in zip(axes.flat, scenarios):
        group = [r for r in rows if r["scenario"] == scenario]
        locks = [r["lock"] for r in group]
        colors = ["tab:green" if lock in SCL_LOCKS else "tab:gray" for lock in locks]
        kind = SCENARIOS[scenario].kind
        if kind == "fairness":
            nthreads = len(group[0]["metrics"]["hold_share"])
            width = 0.8 / nthreads
            for i in range(nthreads):
                xs = [k + (i - (nthreads - 1) / 2) * width for k in range(len(group))]
                shares = [r["metrics"]["hold_share"][i] for r in group]
                cs = group[0]["raw"]["threads"][i]["cs_ns"] / 1000
                nice = group[0]["raw"]["threads"][i]["nice"]
                ax.bar(xs, shares, width, label=f"thr {i}: {cs:g}us nice {nice}")
                ideal = group[0]["metrics"]["ideal_share"][i]
                ax.plot(xs, [ideal] * len(xs), "k_", markersize=12)
            ax.set_ylabel("share of lock hold time (black ticks: ideal)")
            ax.set_ylim(0, 1.15)
            ax.legend(fontsize=7, loc="upper left", ncol=2)
        elif kind == "latency":
            ax.bar(locks, [r["metrics"]["glibc_ratio"] for r in group], color=colors)
            ax.axhline(1.0, color="k", linewidth=0.8)
            ax.set_ylabel("lock+unlock time / glibc's (lower is better)")
        else:
            ax.bar(locks, [r["metrics"]["throughput_per_s"] / 1e6 for r in group], color=colors)
            ax.set_ylabel("M acquisitions/s (higher is better)")
        ax.set_xticks(range(len(locks)), locks, rotation=30)
        ax.set_title(SCENARIOS[scenario].title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
