"""Hypothesis-generated sequences of lock operations across 2-4 threads.

Every operation that obtains the lock checks and updates an owner field and
a counter while holding it (with GIL releases inside), so a second holder
shows up as a violation and a lost update as a wrong final count.
"""
from __future__ import annotations

import threading
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scl

OPS = st.sampled_from(["lock", "trylock", "timedlock", "condwait", "notify", "sleepy"])
PROGRAMS = st.lists(st.lists(OPS, min_size=1, max_size=12), min_size=2, max_size=4)


def _critical(state, me):
    if state["owner"] is not None:
        state["violations"] += 1
    state["owner"] = me
    value = state["count"]
    time.sleep(0)                       # give the GIL away inside the section
    state["count"] = value + 1
    if state["owner"] != me:
        state["violations"] += 1
    state["owner"] = None


def _run_program(lock, cond, state, ops):
    me = threading.get_ident()
    for op in ops:
        if op == "trylock":
            if not lock.acquire(blocking=False):
                continue
        elif op == "timedlock":
            if not lock.acquire(timeout=0.02):
                continue
        else:
            lock.acquire()
        try:
            if op == "condwait":
                cond.wait(timeout=0.002)
            elif op == "notify":
                cond.notify_all()
            elif op == "sleepy":
                time.sleep(0.0005)
            _critical(state, me)
            with state["tally"]:
                state["entered"] += 1
        finally:
            lock.release()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs=PROGRAMS, slice_ms=st.sampled_from([0.05, 0.5, 2.0]))
def test_random_lock_programs_keep_mutual_exclusion(programs, slice_ms):
    lock = scl.Mutex(slice_ms=slice_ms)
    cond = scl.Condition(lock)
    state = {"owner": None, "count": 0, "violations": 0, "entered": 0,
             "tally": threading.Lock()}
    errors = []

    def body(ops):
        try:
            _run_program(lock, cond, state, ops)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(ops,), daemon=True) for ops in programs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
        assert not t.is_alive(), "a thread hung"
    assert not errors, errors[0]
    assert state["violations"] == 0
    assert state["count"] == state["entered"]
    assert not lock.locked()
    st_ = scl.stats(lock)
    assert sum(t.acquisitions for t in st_.threads) >= state["entered"]
