"""Cgroups for tenants: one interface over cgroup v1 and v2.

    fs.py        small file operations, errors, name checks
    backend.py   CgroupV1 / CgroupV2 behind CgroupBackend; backend_for(root)
    rtbudget.py  v1 RT bandwidth (CONFIG_RT_GROUP_SCHED), opt-in per group
    tenant.py    TenantCgroup and the clean-up of groups a dead owner left

``SHAREKIT_CGROUP_ROOT`` moves the whole tree (tests use a fake tree in a
temporary directory).
"""
from .backend import CgroupBackend, CgroupUsage, CgroupV1, CgroupV2, backend_for, detect_version, weight_to_shares
from .fs import CgroupError
from .rtbudget import TENANT_RT_PERIOD_US
from .tenant import (CGROUP_ROOT, DEFAULT_PARENT, TenantCgroup, evacuate_parent, remove_empty_parent,
                     stale_parents)

__all__ = ["CGROUP_ROOT", "DEFAULT_PARENT", "TENANT_RT_PERIOD_US", "CgroupBackend", "CgroupError", "CgroupUsage",
           "CgroupV1", "CgroupV2", "TenantCgroup", "backend_for", "detect_version", "evacuate_parent",
           "remove_empty_parent", "stale_parents", "weight_to_shares"]
