"""scl.Condition with the semantics of threading.Condition."""
from __future__ import annotations

import threading
import time

import pytest

import scl



def wait_until_waiting(cond, state, n, timeout=10.0):
    """Block until `n` waiters have registered in state["waiting"] under `cond`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with cond:
            if state["waiting"] == n:
                return
        time.sleep(0.01)

def test_wait_times_out_and_reacquires():
    cond = scl.Condition()
    with cond:
        start = time.monotonic()
        assert cond.wait(timeout=0.05) is False
        assert time.monotonic() - start >= 0.045
        assert cond._lock.held_by_me()
    assert not cond._lock.locked()


def test_notify_wakes_a_waiter():
    lock = scl.Mutex()
    cond = scl.Condition(lock)
    items = []
    ready = threading.Event()

    def consumer():
        with cond:
            ready.set()
            assert cond.wait_for(lambda: items, timeout=10)
            items.append("consumed")

    t = threading.Thread(target=consumer)
    t.start()
    assert ready.wait(10)
    with cond:
        items.append("item")
        cond.notify()
    t.join(10)
    assert items == ["item", "consumed"]


def test_notify_all_wakes_every_waiter(run_threads):
    cond = scl.Condition()
    state = {"go": False, "woken": 0, "waiting": 0}

    def waiter():
        with cond:
            state["waiting"] += 1
            cond.wait_for(lambda: state["go"], timeout=10)
            state["woken"] += 1

    threads = [threading.Thread(target=waiter) for _ in range(3)]
    for t in threads:
        t.start()
    wait_until_waiting(cond, state, 3)
    with cond:
        state["go"] = True
        cond.notify_all()
    for t in threads:
        t.join(10)
        assert not t.is_alive()
    assert state["woken"] == 3


def test_notify_n_wakes_at_most_n():
    cond = scl.Condition()
    state = {"waiting": 0, "woken": 0}

    def waiter():
        with cond:
            state["waiting"] += 1
            if cond.wait(timeout=1.0):
                state["woken"] += 1

    threads = [threading.Thread(target=waiter) for _ in range(3)]
    for t in threads:
        t.start()
    wait_until_waiting(cond, state, 3)
    time.sleep(0.05)
    with cond:
        cond.notify(2)
    for t in threads:
        t.join(10)
    assert 1 <= state["woken"] <= 2


def test_wait_for_returns_predicate_value_on_timeout():
    cond = scl.Condition()
    with cond:
        assert cond.wait_for(lambda: 0, timeout=0.02) == 0
        assert cond.wait_for(lambda: "yes", timeout=0.02) == "yes"


def test_wait_and_notify_without_the_lock_raise():
    cond = scl.Condition()
    with pytest.raises(RuntimeError):
        cond.wait(0.01)
    with pytest.raises(RuntimeError):
        cond.notify()
    with pytest.raises(RuntimeError):
        cond.notify_all()


def test_condition_needs_an_scl_mutex():
    with pytest.raises(TypeError):
        scl.Condition(threading.Lock())
