"""Fairness and efficiency metrics of one harness run, and the targets."""
from __future__ import annotations

from dataclasses import dataclass

from sharekit.fairness import jain, nice_to_weight

SCL_LOCKS = ("uscl", "preload")   # the locks the targets apply to


def share_error(values: list[float], weights: list[float]) -> float:
    """max_i |v_i / sum v - w_i / sum w|."""
    tv, tw = sum(values), sum(weights)
    if tv <= 0:
        return 1.0
    return max(abs(v / tv - w / tw) for v, w in zip(values, weights))


def metrics(run: dict) -> dict:
    """Derived numbers for one run (all times in ms unless named otherwise)."""
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
    scenario = run["scenario"]
    if scenario == "e":
        m["latency_ns"] = run["latency_ns"]
    elif scenario == "f":
        m["throughput_per_s"] = run["acquisitions_per_s"]
    else:
        m["utilisation"] = sum(hold) / wall_ns
        if scenario == "d":
            before = [t["hold_before_ns"] for t in threads]
            after = [t["hold_after_ns"] for t in threads]
            split = run["split_ns"]
            m["utilisation_before"] = sum(before) / split
            m["utilisation_after"] = sum(after) / (wall_ns - split)
            # Fairness while all three were there.
            m["jain_hold"] = jain(before, weights)
            m["share_error"] = share_error(before, weights)
        else:
            m["jain_hold"] = jain(hold, weights)
            m["share_error"] = share_error(hold, weights)
    if "scl_stats" in run:
        m["scl_jain_opportunity"] = run["scl_stats"]["jain_opportunity"]
        m["scl_slices"] = run["scl_stats"]["slices"]
    return m


# The number each scenario is mainly about, for picking the median run.
MAIN_METRIC = {"a": "jain_hold", "b": "jain_hold", "c": "jain_hold",
               "d": "utilisation_after", "e": "latency_ns", "f": "throughput_per_s"}


def median_run(runs: list[dict]) -> dict:
    """The run whose main metric is the median (the lower middle for even counts)."""
    key = MAIN_METRIC[runs[0]["scenario"]]
    ordered = sorted(runs, key=lambda r: r["metrics"][key])
    return ordered[(len(ordered) - 1) // 2]


@dataclass(frozen=True)
class Target:
    scenario: str
    metric: str
    op: str            # ">=" or "<="
    threshold: float   # absolute, or a factor of the pthread mutex's value
    relative_to_mutex: bool = False

    def describe(self) -> str:
        ref = "x mutex" if self.relative_to_mutex else ""
        return f"{self.metric} {self.op} {self.threshold:g}{ref}"


TARGETS = (
    Target("a", "jain_hold", ">=", 0.99),
    Target("a", "utilisation", ">=", 0.90),
    Target("b", "jain_hold", ">=", 0.99),
    Target("c", "jain_hold", ">=", 0.99),
    Target("c", "share_error", "<=", 0.02),
    Target("d", "utilisation_after", ">=", 0.90),
    Target("e", "latency_ns", "<=", 2.0, relative_to_mutex=True),
    Target("f", "throughput_per_s", ">=", 0.9, relative_to_mutex=True),
)


def check_targets(scenario: str, lock: str, m: dict, mutex_m: dict | None) -> list[dict]:
    """Verdicts of the targets that apply to `lock` in `scenario`."""
    if lock not in SCL_LOCKS:
        return []
    verdicts = []
    for t in TARGETS:
        if t.scenario != scenario:
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
