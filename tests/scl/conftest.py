"""Shared fixtures for the SCL tests (helpers are fixtures, not imports, so
these test modules never collide with other areas' test module names)."""
from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def scl_cmd() -> list[str]:
    """How to run the `scl` CLI from this interpreter's environment."""
    script = Path(sys.executable).parent / "scl"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from scl.cli import main; sys.exit(main())"]


def _run_threads(targets, timeout: float = 30.0) -> None:
    errors: list[BaseException] = []

    def wrap(fn):
        def body():
            try:
                fn()
            except BaseException as exc:  # noqa: BLE001 - re-raised below
                errors.append(exc)
        return body

    threads = [threading.Thread(target=wrap(fn), daemon=True) for fn in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
        assert not t.is_alive(), "a worker thread hung"
    if errors:
        raise errors[0]


@pytest.fixture
def run_threads():
    """run_threads([fn, ...]): run each callable in a thread, join, re-raise the first error."""
    return _run_threads


@pytest.fixture
def native_built():
    """The installed native build (libscl.so, scl.pc, ...)."""
    from scl.paths import native_paths
    return native_paths()
