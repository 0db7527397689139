"""Multi-resource fair share, the worked examples: every criterion on Ex.1-Ex.3.

The expected figures are those of docs/fairshare-notes.md §5 (computed for
the kit, since MASCOTS'18 prints no per-example numbers); the paper's claim
is qualitative: server-specific criteria (PS-DSF, rPS-DSF) are the most
efficient, and an online offer cycle gives part of that back.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from experiments.base import Context, Result, Row, figure, fragment, grouped_bars, save

TITLE = "Multi-resource fair share: worked examples (MASCOTS'18 and references)"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "problems"
# notes §5: mean tasks per framework (random rows: over seeds 0-19)
EXPECTED = {
    "ex1.yaml": {"drf": [5.8, 5.8], "bfdrf": [10, 10], "tsf": [5.8, 5.8], "psdsf": [10, 10],
                 "rpsdsf": [10, 10], "psdsf_rr": [7.8, 7.8]},
    "ex2.yaml": {"drf": [2.95, 5.15, 2.25], "bfdrf": [3, 5, 3], "tsf": [3.45, 5.85, 1.15],
                 "psdsf": [5, 10, 2], "rpsdsf": [5, 10, 2], "psdsf_rr": [3.9, 7.8, 1.45]},
    "ex3.json": {"drf": [2.75, 5.2, 15.6], "bfdrf": [4, 4, 21], "tsf": [3.9, 5.7, 11.9],
                 "psdsf": [8, 8, 16], "rpsdsf": [8, 8, 16], "psdsf_rr": [5.25, 7.8, 16.5]},
}
RANDOM = {"drf", "tsf", "psdsf_rr"}
SEEDS = range(20)


def _mean_counts(problem, policy: str) -> np.ndarray:
    from fairshare import allocate
    seeds = SEEDS if policy in RANDOM else [0]
    return np.mean([allocate(problem, policy, seed).counts for seed in seeds], axis=0)


def run(ctx: Context) -> Result:
    from fairshare import load_problem
    table, csv_rows, matches, total = [], [], 0, 0
    sums: dict[str, dict[str, float]] = {}
    for fname, rows in ctx.bar(EXPECTED.items(), total=len(EXPECTED), desc="examples"):
        problem = load_problem(EXAMPLES / fname)
        sums[fname] = {}
        for policy, want in rows.items():
            got = _mean_counts(problem, policy)
            exact = np.allclose(got, want, atol=1e-9)
            # notes §5: deterministic rows exactly, random rows (seed means) statistically, within 15%
            ok = exact or (policy in RANDOM and np.allclose(got, want, rtol=0.15))
            matches += ok
            total += 1
            sums[fname][policy] = float(got.sum())
            shown = ", ".join(f"{v:g}" for v in got)
            table.append((fname.split(".")[0], policy, ", ".join(f"{v:g}" for v in want), shown,
                          f"{got.sum():g}", "exact" if exact else "within 15%" if ok else "**no**"))
            csv_rows.append((fname, policy, *got.tolist()))
    ctx.write_csv("worked_examples.csv", ["example", "policy", "x0", "x1", "x2"], csv_rows)
    plot = _plot(ctx.dir / "sum_tasks.png", sums)
    server_specific_best = all(s["psdsf"] >= max(v for k, v in s.items()) - 1e-9 for s in sums.values())
    online_loses = all(s["psdsf_rr"] < s["psdsf"] for s in sums.values())
    cond = "Ex.1-Ex.3 of docs/fairshare-notes.md §5; random variants: mean of seeds 0-19"
    rows = [
        Row("Every variant gives the tasks of the worked-examples table",
            "notes §5 table (computed for the kit)",
            f"{matches} of {total} rows match (deterministic exactly, random seed means within 15%)",
            cond, "reproduced" if matches == total else "partly"),
        Row("Server-specific criteria (PS-DSF, rPS-DSF) are the most efficient",
            "MASCOTS'18 §V (qualitative, no per-example figure)",
            "; ".join(f"{f.split('.')[0]}: psdsf Σx {s['psdsf']:g} vs drf {s['drf']:g}, tsf {s['tsf']:g}"
                      for f, s in sums.items()),
            cond, "reproduced" if server_specific_best else "not reproduced"),
        Row("An online offer cycle gives back part of PS-DSF's gain",
            "MASCOTS'18 (qualitative)",
            "; ".join(f"{f.split('.')[0]}: Σx {s['psdsf_rr']:g} online vs {s['psdsf']:g} offline"
                      for f, s in sums.items()),
            cond, "reproduced" if online_loses else "not reproduced"),
    ]
    return Result(rows, fragment(f"{cond}. Pure computation; the machine does not matter.",
                                 ["example", "policy", "expected x", "ours", "Σx", "match"], table,
                                 [("tasks placed per criterion", plot)]))


def _plot(path: Path, sums: dict[str, dict[str, float]]) -> Path:
    policies = list(next(iter(sums.values())))
    fig, ax = figure(7, 3.2)
    grouped_bars(ax, policies, {fname.split(".")[0]: [s[p] for p in policies] for fname, s in sums.items()})
    ax.set_ylabel("tasks placed (Σx)")
    ax.legend()
    return save(fig, path)
