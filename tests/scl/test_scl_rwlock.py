"""scl.RWLock: readers share, writers exclude everybody."""
from __future__ import annotations

import threading
import time

import pytest

import scl


def test_readers_share_and_writers_exclude(run_threads):
    rw = scl.RWLock(period_ms=2)
    state = {"readers": 0, "writers": 0, "max_readers": 0, "bad": 0, "writes": 0}
    guard = threading.Lock()          # protects the bookkeeping only

    def reader():
        for _ in range(100):
            with rw.read():
                with guard:
                    state["readers"] += 1
                    state["max_readers"] = max(state["max_readers"], state["readers"])
                    if state["writers"]:
                        state["bad"] += 1
                time.sleep(0.0002)
                with guard:
                    state["readers"] -= 1

    def writer():
        for _ in range(50):
            with rw.write():
                with guard:
                    state["writers"] += 1
                    if state["writers"] != 1 or state["readers"]:
                        state["bad"] += 1
                time.sleep(0.0002)
                with guard:
                    state["writers"] -= 1
                    state["writes"] += 1

    run_threads([reader, reader, reader, writer, writer])
    assert state["bad"] == 0
    assert state["writes"] == 100
    assert state["max_readers"] >= 2, "readers never overlapped"


def test_try_and_timed_acquire():
    rw = scl.RWLock()
    assert rw.acquire_read()
    assert rw.acquire_read(blocking=False)   # readers share
    blocked = []

    def try_write():
        blocked.append(rw.acquire_write(timeout=0.05))

    t = threading.Thread(target=try_write)
    t.start()
    t.join(10)
    assert blocked == [False]
    rw.release()
    rw.release()
    assert rw.acquire_write(timeout=5)
    rw.release()


def test_release_unheld_raises():
    rw = scl.RWLock()
    with pytest.raises(scl.NotOwnerError):
        rw.release()


@pytest.mark.parametrize("kwargs", [{"period_ms": 0}, {"read_weight": 0},
                                    {"write_weight": -1}, {"read_weight": float("inf")}])
def test_invalid_rwlock_arguments(kwargs):
    with pytest.raises(ValueError):
        scl.RWLock(**kwargs)


def test_rwlock_stats_count_acquisitions():
    rw = scl.RWLock()
    for _ in range(7):
        with rw.read():
            pass
    for _ in range(3):
        with rw.write():
            pass
    st = scl.stats(rw)
    by_role = {t.role: t for t in st.threads}
    assert by_role["readers"].acquisitions == 7
    assert by_role["writers"].acquisitions == 3
    assert st.hold_s <= st.elapsed_s
