"""Fixtures of the eBPF tool tests.

The tests load real BPF programs; they are skipped, with the reason, only
when BPF cannot be used here (not root, no tracefs, bcc not importable, no
kernel headers).  Compiling a program takes 1-3 s, so the scheduler tracer
is compiled once per module and re-pointed at each test's processes.
"""
from __future__ import annotations

import pytest

from bpf_testlib import Gated


@pytest.fixture
def gated():
    """Factory of Gated children, all killed at the end of the test."""
    children = []

    def start(argv, **kw):
        child = Gated(argv, **kw)
        children.append(child)
        return child

    yield start
    for child in children:
        child.kill()
