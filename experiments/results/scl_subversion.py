"""Scheduler subversion by locks, and u-SCL's fix (SCL, EuroSys'20).

The toy cases of the paper, run by `scl bench`: (a) two threads with 1 us
and 3 us critical sections, (b) four threads 1/1/3/3 us, (c) nice 0 vs 5,
(d) one of three threads exits.  Each under a pthread mutex, a spinlock, a
ticket lock, u-SCL, and the unmodified pthread harness with the kit's
LD_PRELOAD interposer.
"""
from __future__ import annotations

import json
import subprocess
import sys

from experiments.base import Context, Result, Row, figure, fragment, grouped_bars, machine_conditions, save

TITLE = "Scheduler-cooperative locks: the subversion cases (SCL, EuroSys'20)"
LOCKS = ("mutex", "spin", "ticket", "uscl", "preload")
SCENARIOS = ("a", "b", "c", "d")


def run(ctx: Context) -> Result:
    duration, repeat = (1.0, 1) if ctx.quick else (2.0, 3)
    out = ctx.dir / "bench"
    cmd = [sys.executable, "-m", "scl.cli", "bench", "--scenarios", ",".join(SCENARIOS),
           "--locks", ",".join(LOCKS), "--duration", str(duration), "--repeat", str(repeat),
           "--out", str(out), "--json", "--no-plot"]
    with ctx.bar(total=1, desc=f"scl bench ({len(LOCKS) * len(SCENARIOS) * repeat} runs of {duration:g} s)") as bar:
        proc = subprocess.run(cmd, capture_output=True, text=True)
        bar.update(1)
    if proc.returncode != 0:
        raise RuntimeError(f"scl bench failed: {proc.stderr.strip()[-500:]}")
    report = json.loads((out / "results.json").read_text())
    by = {(r["scenario"], r["lock"]): r["metrics"] for r in report["runs"]}
    header = ["case", "lock", "hold share per thread", "Jain(hold/weight)", "lock utilisation"]
    rows, csv_rows = [], []
    for s in SCENARIOS:
        for lock in LOCKS:
            m = by.get((s, lock))
            if m is None:
                continue
            util = m.get("utilisation_after" if s == "d" else "utilisation")
            shares = ", ".join(f"{x:.2f}" for x in m["hold_share"])
            rows.append((s, lock, shares, f"{m['jain_hold']:.3f}", f"{100 * util:.0f}%"))
            csv_rows.append((s, lock, m["jain_hold"], util, *m["hold_share"]))
    ctx.write_csv("subversion.csv", ["case", "lock", "jain_hold", "utilisation", "shares..."], csv_rows)
    plot = _plot(ctx, by)
    cond = (f"{machine_conditions()}; {duration:g} s per run, median of {repeat}; threads pinned as the "
            f"harness does (docs/scl.md)")
    mutex_a, uscl_a = by[("a", "mutex")], by[("a", "uscl")]
    uscl_fair = all(by[(s, "uscl")]["jain_hold"] >= 0.99 for s in "abc")
    preload_fair = all(by[(s, "preload")]["jain_hold"] >= 0.99 for s in "abc")
    ratio = max(mutex_a["hold_share"]) / max(min(mutex_a["hold_share"]), 1e-9)
    d_after = by[("d", "uscl")]["utilisation_after"]
    result_rows = [
        Row("A pthread mutex lets the thread with longer critical sections hold the lock longer "
            "(scheduler subversion)",
            "SCL Fig. 1/toy case: the 3 us thread dominates (per-figure numbers not checked)",
            f"case (a) mutex hold shares {', '.join(f'{x:.2f}' for x in mutex_a['hold_share'])} "
            f"({ratio:.1f}x), Jain {mutex_a['jain_hold']:.3f}",
            cond, "reproduced" if ratio > 1.3 else "not reproduced"),
        Row("u-SCL gives each thread lock opportunity in proportion to its CPU weight",
            "SCL abstract: allocations proportional to CPU share; Jain near 1 in the toy cases",
            "u-SCL Jain(hold) " + ", ".join(f"({s}) {by[(s, 'uscl')]['jain_hold']:.3f}" for s in "abc")
            + "; unmodified program + interposer " +
            ", ".join(f"({s}) {by[(s, 'preload')]['jain_hold']:.3f}" for s in "abc"),
            cond, "reproduced" if uscl_fair and preload_fair else "partly"),
        Row("u-SCL keeps the lock busy: utilisation near the mutex's or better",
            "SCL: 'minimal overhead'; the public u-SCL drops to 65% after a thread exits (notes)",
            f"(a) u-SCL {100 * uscl_a['utilisation']:.0f}% vs mutex {100 * mutex_a['utilisation']:.0f}%; "
            f"(d) after one of three exits {100 * d_after:.0f}%",
            cond, "reproduced" if uscl_a["utilisation"] >= mutex_a["utilisation"] and d_after >= 0.9 else "partly",
            "" if uscl_a["utilisation"] >= mutex_a["utilisation"] and d_after >= 0.9 else
            "a slice hand-over waits for the next owner to get a CPU, so utilisation falls when the "
            "machine is busy (see the load in the conditions)"),
    ]
    return Result(result_rows, fragment(f"{cond}.", header, rows, [("Jain(hold) per case and lock", plot)]))


def _plot(ctx: Context, by: dict):
    fig, ax = figure(8, 3.2)
    grouped_bars(ax, ["(a) 1 vs 3 us", "(b) 1/1/3/3 us", "(c) nice 0 vs 5", "(d) one exits"],
                 {lock: [by.get((s, lock), {}).get("jain_hold", 0) for s in SCENARIOS] for lock in LOCKS})
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("Jain(hold / weight)")
    ax.legend(ncol=5, fontsize=8, loc="lower center")
    return save(fig, ctx.dir / "jain.png")
