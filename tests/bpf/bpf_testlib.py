"""Helpers of the eBPF tool tests (a uniquely named module: every test
directory has its own conftest.py, so tests import from here)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from ebpf import prereq


def bpf_unavailable(events: tuple[str, ...] = ()) -> str | None:
    if os.geteuid() != 0:
        return "not root: loading BPF programs needs root"
    return prereq.unavailable_reason(events)


def needs_bpf(events: tuple[str, ...] = ()):
    reason = bpf_unavailable(events)
    return pytest.mark.skipif(reason is not None, reason=f"BPF unavailable: {reason}")


class Gated:
    """A child process that waits for a line on stdin before its work."""

    def __init__(self, argv, ready_line_on_stderr: bool = False, **kw):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, **kw)
        if ready_line_on_stderr:
            line = self.proc.stderr.readline()
            assert line.startswith("ready"), f"workload did not start: {line!r} {self.proc.stderr.read()}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def go(self) -> None:
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def output_json(self, timeout: float = 30) -> dict:
        out, err = self.proc.communicate(timeout=timeout)
        assert self.proc.returncode == 0, f"workload failed ({self.proc.returncode}): {err}"
        return json.loads(out)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def python_child(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def wait_for(predicate, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
