"""scl.Mutex from Python threads."""
from __future__ import annotations

import threading
import time

import pytest

import scl


def test_mutual_exclusion_across_threads(run_threads):
    lock = scl.Mutex(slice_ms=0.5)
    state = {"owner": None, "count": 0, "violations": 0}

    def worker():
        me = threading.get_ident()
        for i in range(300):
            with lock:
                if state["owner"] is not None:
                    state["violations"] += 1
                state["owner"] = me
                value = state["count"]
                if i % 10 == 0:
                    time.sleep(0)          # let the GIL go while holding the lock
                state["count"] = value + 1
                if state["owner"] != me:
                    state["violations"] += 1
                state["owner"] = None

    run_threads([worker] * 4)
    assert state["violations"] == 0
    assert state["count"] == 4 * 300


def test_acquire_release_and_locked():
    lock = scl.Mutex()
    assert not lock.locked()
    assert lock.acquire() is True
    assert lock.locked()
    lock.release()
    assert not lock.locked()


def test_timeout_returns_false_while_held_elsewhere():
    lock = scl.Mutex()
    held, done = threading.Event(), threading.Event()

    def holder():
        with lock:
            held.set()
            done.wait(10)

    t = threading.Thread(target=holder)
    t.start()
    try:
        assert held.wait(10)
        start = time.monotonic()
        assert lock.acquire(timeout=0.1) is False
        waited = time.monotonic() - start
        assert waited >= 0.09
        assert lock.acquire(blocking=False) is False
    finally:
        done.set()
        t.join(10)
    assert lock.acquire(timeout=5) is True
    lock.release()


def test_release_not_held_raises_runtime_error():
    lock = scl.Mutex()
    with pytest.raises(RuntimeError) as info:
        lock.release()
    assert isinstance(info.value, scl.NotOwnerError)
    assert isinstance(info.value, scl.LockError)
    assert info.value.errno == 1      # EPERM


def test_release_from_another_thread_raises_and_keeps_owner():
    lock = scl.Mutex()
    lock.acquire()
    caught = []

    def intruder():
        try:
            lock.release()
        except scl.NotOwnerError as exc:
            caught.append(exc)

    t = threading.Thread(target=intruder)
    t.start()
    t.join(10)
    assert caught, "releasing another thread's lock must raise"
    assert lock.held_by_me()
    lock.release()


def test_recursive_acquire_is_an_error_not_a_deadlock():
    lock = scl.Mutex()
    with lock:
        with pytest.raises(scl.LockError) as info:
            lock.acquire()
        assert info.value.errno == 35     # EDEADLK
    assert not lock.locked()


def test_context_manager_releases_on_exception():
    lock = scl.Mutex()
    with pytest.raises(KeyError):
        with lock:
            raise KeyError("boom")
    assert lock.acquire(blocking=False)
    lock.release()


@pytest.mark.parametrize("kwargs", [
    {"slice_ms": 0}, {"slice_ms": -1}, {"idle_ms": float("nan")},
    {"weight_source": "fair"}, {"credit_cap_ms": -2},
])
def test_invalid_construction_raises_value_error(kwargs):
    with pytest.raises(ValueError):
        scl.Mutex(**kwargs)


def test_timeout_argument_rules_follow_threading():
    lock = scl.Mutex()
    with pytest.raises(ValueError):
        lock.acquire(blocking=False, timeout=1)
    with pytest.raises(ValueError):
        lock.acquire(timeout=-5)


@pytest.mark.timeout(30)
def test_gil_is_released_while_waiting():
    """A thread blocked in acquire() must not stop other Python threads.

    If the C call kept the GIL, the main thread's loop below could never run
    again and the test would hang (turned into a failure by the timeout)."""
    lock = scl.Mutex()
    lock.acquire()
    entering, acquired = threading.Event(), threading.Event()

    def waiter():
        entering.set()
        with lock:
            acquired.set()

    t = threading.Thread(target=waiter)
    t.start()
    assert entering.wait(10)
    time.sleep(0.05)                   # the waiter is now inside scl_mutex_lock
    spins, end = 0, time.monotonic() + 0.2
    while time.monotonic() < end:
        spins += 1                     # pure Python work needing the GIL
    assert spins > 1000
    assert not acquired.is_set(), "the waiter got a lock that is held"
    lock.release()
    assert acquired.wait(10)
    t.join(10)


@pytest.mark.parametrize("source", ["nice", "explicit", "cgroup"])
def test_every_weight_source_works(source):
    lock = scl.Mutex(weight_source=source)
    for _ in range(20):
        with lock:
            pass
    st = scl.stats(lock)
    assert st.threads and st.threads[0].weight > 0
