"""Fairness and efficiency metrics of one harness run, and the targets."""
from __future__ import annotations

from statistics import median

from scl.bench_scenarios import SCENARIOS
from sharekit.fairness import jain, nice_to_weight


def share_error(values: list[float], weights: list[float]) -> float:
    """max_i |v_i / sum v - w_i / sum w|."""
    tv, tw = sum(values), sum(weights)
    if tv <= 0:
        return 1.0
    return max(abs(v / tv - w / tw) for v, w in zip(values, weights))


def metrics(run: dict) -> dict:
    """Derived numbers for one run (all times in ms unless named otherwise)."""
    scenario = SCENARIOS[run["scenario"]]
    threads = run["threads"]
    wall_ns = run["wall_ns"]
    weights = [float(nice_to_weight(t["nice"])) for t in threads]
    hold = [t["hold_ns"] for t in threads]
    cpu = [t["cpu_ns"] for t in threads]
    m = {
        "weights": weights,
        "hold_ms": [h / 1e6 for h in hold],
        "cpu_ms": [c / 1e6 for c in cpu],
        "acquisitions": [t["acquisitions"] for t in threads],
        "ideal_share": [w / sum(weights) for w in weights],
        "hold_share": [h / sum(hold) if sum(hold) else 0.0 for h in hold],
        "jain_cpu": jain(cpu, weights),
        "exclusion_ok": run["exclusion_violations"] == 0 and run["counter_ok"],
    }
    if scenario.kind == "latency":
        # Pairs of (glibc, lock) ns per lock+unlock, timed back to back.
        pairs = run["latency_pairs_ns"]
        ratios = [lock / ref for ref, lock in pairs if ref > 0]
        m["latency_ns"] = median([lock for _, lock in pairs])
        m["glibc_ns"] = median([ref for ref, _ in pairs])
        m["glibc_ratio"] = median(ratios)
        m["glibc_ratio_range"] = [min(ratios), max(ratios)]
        m["pairs"] = len(ratios)
    elif scenario.kind == "throughput":
        m["throughput_per_s"] = run["acquisitions_per_s"]
    else:
        m["utilisation"] = sum(hold) / wall_ns
        if scenario.has_exit:
            before = [t["hold_before_ns"] for t in threads]
            after = [t["hold_after_ns"] for t in threads]
            split = run["split_ns"]
            m["utilisation_before"] = sum(before) / split
            m["utilisation_after"] = sum(after) / (wall_ns - split)
            # Fairness while all of them were there.
            m["jain_hold"] = jain(before, weights)
            m["share_error"] = share_error(before, weights)
        else:
            m["jain_hold"] = jain(hold, weights)
            m["share_error"] = share_error(hold, weights)
    if "scl_stats" in run:
        m["scl_jain_opportunity"] = run["scl_stats"]["jain_opportunity"]
        m["scl_slices"] = run["scl_stats"]["slices"]
    return m


def median_run(runs: list[dict]) -> dict:
    """The run whose main metric is the median (the lower middle for even counts)."""
    key = SCENARIOS[runs[0]["scenario"]].main_metric
    ordered = sorted(runs, key=lambda r: r["metrics"][key])
    return ordered[(len(ordered) - 1) // 2]


def check_targets(scenario: str, lock: str, m: dict, mutex_m: dict | None) -> list[dict]:
    """Verdicts of the targets that apply to `lock` in `scenario`."""
    verdicts = []
    for t in SCENARIOS[scenario].targets:
        if lock not in t.locks:
            continue
        threshold = t.threshold
        if t.relative_to_mutex:
            if not mutex_m:
                verdicts.append({"target": t.describe(), "value": m[t.metric], "limit": None,
                                 "pass": None})
                continue
            threshold = t.threshold * mutex_m[t.metric]
        value = m[t.metric]
        ok = value >= threshold if t.op == ">=" else value <= threshold
        verdicts.append({"target": t.describe(), "value": value, "limit": threshold, "pass": ok})
    return verdicts
