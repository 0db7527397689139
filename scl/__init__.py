"""Scheduler-cooperative locks (u-SCL mutex, RW-SCL) for Python and C.

    import scl
    lock = scl.Mutex(slice_ms=2.0)
    with lock:
        ...
    print(scl.stats(lock).jain_hold)

Names that need the compiled extension load on first use, so `scl config`
and `scl bench` work (and explain what is missing) before it is built.
"""
from __future__ import annotations

import importlib

_LAZY = {
    "Mutex": "scl.locks", "RWLock": "scl.locks", "WEIGHT_SOURCES": "scl.locks",
    "Condition": "scl.condition",
    "stats": "scl.lockstats", "reset_stats": "scl.lockstats", "LockStats": "scl.lockstats",
    "ThreadStats": "scl.lockstats", "jain_weighted": "scl.lockstats",
    "LockError": "scl.errors", "NotOwnerError": "scl.errors", "OwnerDied": "scl.errors",
    "NotRecoverable": "scl.errors",
    "set_thread_weight": "scl.weights", "get_thread_weight": "scl.weights",
    "clear_thread_weight": "scl.weights", "nice_to_weight": "scl.weights",
    "thread_weight": "scl.weights",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'scl' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
