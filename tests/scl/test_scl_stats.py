"""scl.stats / scl.reset_stats."""
from __future__ import annotations

import threading
import time

import pytest

import scl


def test_single_thread_counts_are_exact():
    lock = scl.Mutex()
    for _ in range(50):
        with lock:
            pass
    st = scl.stats(lock)
    me = threading.get_native_id()
    mine = [t for t in st.threads if t.tid == me]
    assert len(mine) == 1
    rec = mine[0]
    assert rec.acquisitions == 50
    assert rec.active
    assert rec.weight == 1024.0        # nice 0 under the default weight source
    assert 0 <= rec.hold_s <= st.elapsed_s
    assert rec.hold_s <= rec.opportunity_s + 1e-9
    assert st.hold_s == pytest.approx(sum(t.hold_s for t in st.threads), abs=1e-6)


def test_hold_time_measures_critical_sections():
    lock = scl.Mutex()
    for _ in range(5):
        with lock:
            time.sleep(0.01)
    st = scl.stats(lock)
    assert 0.045 <= st.hold_s <= st.elapsed_s
    assert 0 < st.utilisation <= 1.0


def test_two_threads_counts_and_jain(run_threads):
    lock = scl.Mutex(slice_ms=0.2)
    counts = {"a": 40, "b": 25}

    def worker(n):
        def body():
            for _ in range(n):
                with lock:
                    time.sleep(0.0002)
        return body

    run_threads([worker(counts["a"]), worker(counts["b"])])
    st = scl.stats(lock)
    assert sorted(t.acquisitions for t in st.threads) == sorted(counts.values())
    assert all(t.hold_s <= st.elapsed_s for t in st.threads)
    assert all(t.wait_s >= 0 for t in st.threads)
    assert 0.5 - 1e-9 <= st.jain_hold <= 1.0 + 1e-9       # n = 2: Jain in [1/2, 1]
    assert 0.5 - 1e-9 <= st.jain_opportunity <= 1.0 + 1e-9
    assert st.hold_s <= st.elapsed_s


def test_thread_exit_marks_record_inactive():
    lock = scl.Mutex()

    def worker():
        for _ in range(5):
            with lock:
                pass

    t = threading.Thread(target=worker)
    t.start()
    t.join(10)
    # join() returns before the OS thread has run its TLS destructors: poll.
    deadline = time.monotonic() + 5
    while True:
        st = scl.stats(lock)
        if not st.threads[0].active or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert len(st.threads) == 1
    assert st.threads[0].tid != threading.get_native_id()
    assert st.threads[0].acquisitions == 5
    assert st.threads[0].active is False


def test_reset_stats_zeroes_counters():
    lock = scl.Mutex()
    for _ in range(10):
        with lock:
            pass
    scl.reset_stats(lock)
    st = scl.stats(lock)
    assert sum(t.acquisitions for t in st.threads) == 0
    assert st.hold_s == 0
    with lock:
        pass
    assert sum(t.acquisitions for t in scl.stats(lock).threads) == 1


def test_stats_rejects_other_objects():
    with pytest.raises(TypeError):
        scl.stats(threading.Lock())
    with pytest.raises(TypeError):
        scl.reset_stats(scl.RWLock())


def test_jain_weighted_helper():
    assert scl.jain_weighted([1, 1], [1, 1]) == pytest.approx(1.0)
    assert scl.jain_weighted([3, 1], [3, 1]) == pytest.approx(1.0)
    assert scl.jain_weighted([1, 0], [1, 1]) == pytest.approx(0.5)
    assert scl.jain_weighted([], []) == 1.0
