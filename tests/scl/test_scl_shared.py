"""Process-shared robust locks: an owner that dies holding the lock."""
from __future__ import annotations

import os

import pytest

import scl


def _child_dies_holding(lock):
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            lock.acquire()
        except BaseException:  # noqa: BLE001 - the parent sees the exit code
            code = 3
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


@pytest.mark.timeout(60)
def test_owner_died_then_consistent():
    lock = scl.Mutex(shared=True)
    _child_dies_holding(lock)
    with pytest.raises(scl.OwnerDied) as info:
        lock.acquire(timeout=10)
    assert info.value.lock is lock
    assert lock.held_by_me()              # OwnerDied leaves the lock held
    lock.consistent()
    lock.release()
    assert lock.acquire(timeout=5)
    lock.release()


@pytest.mark.timeout(60)
def test_owner_died_without_consistent_is_not_recoverable():
    lock = scl.Mutex(shared=True)
    _child_dies_holding(lock)
    with pytest.raises(scl.OwnerDied):
        lock.acquire(timeout=10)
    lock.release()
    with pytest.raises(scl.NotRecoverable):
        lock.acquire(timeout=5)


@pytest.mark.timeout(60)
def test_shared_lock_excludes_across_processes():
    import mmap
    import struct
    counter = mmap.mmap(-1, 8)
    lock = scl.Mutex(shared=True)
    children = []
    for _ in range(2):
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                for _ in range(2000):
                    with lock:
                        value = struct.unpack_from("q", counter)[0]
                        struct.pack_into("q", counter, 0, value + 1)
            except BaseException:  # noqa: BLE001
                code = 3
            os._exit(code)
        children.append(pid)
    for pid in children:
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert struct.unpack_from("q", counter)[0] == 4000
