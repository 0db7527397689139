"""Weighted fairness seen from Python.

Python threads can only show lock fairness when the critical section gives
the GIL away, so these sections sleep; margins are wide for a busy machine.
"""
from __future__ import annotations

import time

import scl


def test_explicit_weights_split_hold_time_3_to_1(run_threads):
    lock = scl.Mutex(slice_ms=1.0, weight_source="explicit")
    holds = {}

    def worker(name, weight):
        def body():
            with scl.thread_weight(weight):
                end = time.monotonic() + 0.8
                held = 0.0
                while time.monotonic() < end:
                    with lock:
                        t0 = time.monotonic()
                        time.sleep(0.0005)
                        held += time.monotonic() - t0
                holds[name] = held
        return body

    run_threads([worker("heavy", 3.0), worker("light", 1.0)])
    share = holds["heavy"] / (holds["heavy"] + holds["light"])
    assert 0.6 <= share <= 0.9, holds
    weights = sorted(t.weight for t in scl.stats(lock).threads)
    assert weights == [1.0, 3.0]
