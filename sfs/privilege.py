"""Can this process use SCHED_FIFO?  CAP_SYS_NICE, and EPERM from RT group scheduling."""
from __future__ import annotations

import os

CAP_SYS_NICE = 23


class PrivilegeError(RuntimeError):
    """SCHED_FIFO is not available to this process; the message says why and what to do."""


def effective_capabilities(status_text: str | None = None) -> int:
    """The CapEff bit mask of this process (from /proc/self/status unless given)."""
    if status_text is None:
        with open("/proc/self/status") as f:
            status_text = f.read()
    for line in status_text.splitlines():
        if line.startswith("CapEff:"):
            return int(line.split()[1], 16)
    raise RuntimeError("no CapEff line in /proc/self/status")


def has_cap_sys_nice(status_text: str | None = None) -> bool:
    return bool(effective_capabilities(status_text) >> CAP_SYS_NICE & 1)


def require_realtime(policy: str, status_text: str | None = None) -> None:
    """Raise PrivilegeError unless `policy` can run here (those that never use SCHED_FIFO always can)."""
    from sfs.policies import needs_realtime
    if not needs_realtime(policy):
        return
    if not has_cap_sys_nice(status_text):
        raise PrivilegeError(
            f"policy {policy!r} needs SCHED_FIFO, which needs CAP_SYS_NICE (uid {os.geteuid()} "
            "does not have it): run as root or grant CAP_SYS_NICE, or use --policy cfs")


def explain_eperm(what: str) -> PrivilegeError:
    """EPERM despite CAP_SYS_NICE: usually cgroup v2 with CONFIG_RT_GROUP_SCHED."""
    return PrivilegeError(
        f"{what}: sched_setscheduler(SCHED_FIFO) returned EPERM. Without CAP_SYS_NICE this is "
        "expected; with it, the task is probably in a non-root cgroup of a kernel with RT group "
        "scheduling (cgroup v2 + CONFIG_RT_GROUP_SCHED) and no RT runtime: run the scheduler "
        "and its functions in the root cpu cgroup or give the cgroup cpu.rt_runtime_us")
