"""The `scl bench` table and plot."""
from __future__ import annotations

from pathlib import Path

from scl.bench_metrics import SCL_LOCKS

SCENARIO_TITLES = {
    "a": "(a) 2 thr / 2 CPU, CS 1us vs 3us",
    "b": "(b) 4 thr / 2 CPU, CS 1/1/3/3us",
    "c": "(c) 2 thr, CS 2us, nice 0 vs 5 (ideal 0.754:0.246)",
    "d": "(d) 3 thr, CS 2us, one exits at half time",
    "e": "(e) uncontended lock+unlock latency",
    "f": "(f) contended throughput, 2 thr, tiny CS",
}


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
        out.append(SCENARIO_TITLES[scenario])
        if scenario in "abcd":
            head = f"  {'lock':<8} {'hold ms per thread':<26} {'Jain(hold)':>10} {'share err':>9} " \
                   f"{'util':>6} {'CPU ms per thread':<26} {'Jain(CPU)':>9}"
            out.append(head)
            for r in group:
                m = r["metrics"]
                util = f"{m['utilisation']:.1%}"
                if scenario == "d":
                    util = f"{m['utilisation_before']:.0%}->{m['utilisation_after']:.0%}"
                out.append(f"  {r['lock']:<8} {_fmt_list(m['hold_ms']):<26} {m['jain_hold']:>10.3f} "
                           f"{m['share_error']:>9.3f} {util:>6} {_fmt_list(m['cpu_ms']):<26} "
                           f"{m['jain_cpu']:>9.3f}")
        elif scenario == "e":
            for r in group:
                out.append(f"  {r['lock']:<8} {r['metrics']['latency_ns']:8.1f} ns per lock+unlock")
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
    """Bar charts: hold share per thread per lock (a-d), latency (e), throughput (f)."""
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
        if scenario in "abcd":
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
        elif scenario == "e":
            ax.bar(locks, [r["metrics"]["latency_ns"] for r in group], color=colors)
            ax.set_ylabel("ns per lock+unlock (lower is better)")
        else:
            ax.bar(locks, [r["metrics"]["throughput_per_s"] / 1e6 for r in group], color=colors)
            ax.set_ylabel("M acquisitions/s (higher is better)")
        ax.set_xticks(range(len(locks)), locks, rotation=30)
        ax.set_title(SCENARIO_TITLES[scenario], fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
