"""Fake cgroup trees and names shared by the agent tests."""
import os
from pathlib import Path


def fake_v1(root: Path, rt: bool = False) -> Path:
    for c in ("cpu", "cpuacct", "memory"):
        (root / c).mkdir(parents=True)
        (root / c / "cgroup.procs").write_text("")
    (root / "cpu" / "cpu.shares").write_text("1024\n")
    if rt:
        (root / "cpu" / "cpu.rt_runtime_us").write_text("950000\n")
    return root


def fake_v2(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "cgroup.controllers").write_text("cpu memory\n")
    (root / "cgroup.subtree_control").write_text("")
    return root


def parent_name(label: str) -> str:
    return f"sharekit-{label}-{os.getpid()}"
