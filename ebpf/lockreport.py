"""Figures of a lock trace: per-thread hold, wait and opportunity, shares and Jain.

`scl trace` prints them and `python -m ebpf.accuracy` checks them against the
traced program's own measurement, so both use this one computation.
"""
from __future__ import annotations

from collections import defaultdict

import psutil

from sharekit.fairness import jain, nice_to_weight


def thread_nice(tid: int) -> int | None:
    """Nice value of a live thread; None when it is gone."""
    try:
        return psutil.Process(tid).nice()   # a thread id names its /proc entry too
    except psutil.Error:
        return None


def thread_name(tid: int) -> str:
    try:
        return psutil.Process(tid).name()
    except psutil.Error:
        return "?"


class LockReport:
    """Per-interval and whole-run figures from cumulative LockTracer snapshots."""

    def __init__(self, overhead_ns: int, threshold: float) -> None:
        self.overhead_ns = overhead_ns
        self.threshold = threshold
        self.previous = None
        self.first = None
        self.weights: dict[int, tuple[int, int]] = {}   # tid -> (nice, weight), last seen
        self.comms: dict[int, str] = {}

    def _weight(self, tid: int) -> tuple[int | None, int]:
        nice = thread_nice(tid)
        if nice is not None:
            self.weights[tid] = (nice, nice_to_weight(nice))
            self.comms[tid] = thread_name(tid)
        return self.weights.get(tid, (None, nice_to_weight(0)))

    def remember(self, snap) -> None:
        """Read weights and names of threads not seen yet, while they are alive."""
        for t in snap.threads.values():
            if t.tid not in self.weights:
                self._weight(t.tid)

    def figures(self, now_snap, before_snap) -> dict:
        c = self.overhead_ns
        per_lock = defaultdict(list)
        for key, t in now_snap.threads.items():
            b = before_snap.threads.get(key) if before_snap else None
            acq = t.acquisitions - (b.acquisitions if b else 0)
            hold = t.hold_ns - (b.hold_ns if b else 0)
            wait = t.wait_ns - (b.wait_ns if b else 0)
            own_free = t.own_slice_free_ns - (b.own_slice_free_ns if b else 0)
            if acq < 0 or hold < 0:   # the lock's slot was reset (stats reset, thread re-joined)
                b, acq, hold, wait, own_free = None, t.acquisitions, t.hold_ns, t.wait_ns, t.own_slice_free_ns
            if acq <= 0 and hold <= 0 and wait <= 0:
                continue
            nice, weight = self._weight(t.tid)
            if t.lock_weight:
                weight = t.lock_weight
            opportunity = None
            if t.opportunity_ns is not None:
                opportunity = max(0, t.opportunity_ns - (b.opportunity_ns if b and b.opportunity_ns is not None
                                                         else 0))
            per_lock[t.lock].append({
                "tid": t.tid, "pid": t.tgid, "comm": self.comms.get(t.tid, "?"),
                "lock": f"{t.lock:#x}", "acquisitions": acq,
                "hold_ns": max(0, hold - c * acq), "wait_ns": max(0, wait - c * acq),
                "own_slice_free_ns": own_free, "nice": nice, "weight": weight,
                "slices": t.slices - (b.slices if b else 0), "opportunity_ns": opportunity,
                "samples": None if t.samples is None else t.samples - (b.samples if b and b.samples else 0)})
        threads, locks = [], []
        for lock, rows in per_lock.items():
            ls = now_snap.locks.get(lock)
            lb = before_snap.locks.get(lock) if before_snap else None
            free = (ls.free_ns - (lb.free_ns if lb else 0)) if ls else 0
            handovers = (ls.handovers - (lb.handovers if lb else 0)) if ls else 0
            total_acq = sum(r["acquisitions"] for r in rows)
            if handovers == 0:
                free += c * total_acq   # the probe time removed from holds was free time
            total_hold = sum(r["hold_ns"] for r in rows)
            total_weight = sum(r["weight"] for r in rows)
            for r in rows:
                if r["opportunity_ns"] is None:
                    r["opportunity_ns"] = r["hold_ns"] + r["own_slice_free_ns"] + free
                r["share"] = r["hold_ns"] / total_hold if total_hold else 0.0
                r["weight_share"] = r["weight"] / total_weight if total_weight else 0.0
            gap = max(abs(r["share"] - r["weight_share"]) for r in rows) if len(rows) > 1 else 0.0
            locks.append({
                "lock": f"{lock:#x}", "threads": len(rows), "acquisitions": total_acq, "hold_ns": total_hold,
                "free_ns": free, "slice_handovers": handovers,
                "jain_opportunity": jain([r["opportunity_ns"] for r in rows], [r["weight"] for r in rows]),
                "jain_hold": jain([r["hold_ns"] for r in rows], [r["weight"] for r in rows]),
                "max_share_gap": gap,
                "verdict": ("single thread" if len(rows) < 2 else
                            "SUBVERSION" if gap > self.threshold else "ok")})
            threads.extend(sorted(rows, key=lambda r: -r["hold_ns"]))
        locks.sort(key=lambda l: -l["hold_ns"])
        return {"threads": threads, "locks": locks}
