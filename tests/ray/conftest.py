"""One loopback Ray cluster (3 nodes x 1 CPU) per test module, always shut down.

Every node of the cluster shares this machine's cgroup tree; the allocator's
cgroup parents carry this test run's pid, and whatever a killed agent could
not remove is removed here after the cluster is gone.
"""
from __future__ import annotations

import os

import pytest

# Before Ray is imported: every driver and node of the cluster on 127.0.0.1.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
ray = pytest.importorskip("ray", reason="the ray extra is not installed (make install)")

from fairshare.ray.controller import node_parent  # noqa: E402
from sharekit import shares  # noqa: E402
from sharekit.cgroups import remove_empty_parent  # noqa: E402

TAG = f"-t{os.getpid()}"

pytestmark = pytest.mark.root


@pytest.fixture(scope="session")
def cgroup_tag() -> str:
    return TAG


@pytest.fixture(scope="module")
def cluster():
    if os.geteuid() != 0:
        pytest.skip("needs root (tenant cgroups)")
    from fairshare.ray.loopback import LoopbackCluster
    seen: set[str] = set()
    with LoopbackCluster(nodes=3) as c:
        try:
            ray.init(address=c.address, namespace="sharekit", log_to_driver=False, logging_level="WARNING")
            seen.update(n["NodeID"] for n in ray.nodes())
            c.seen = seen
            yield c
        finally:
            seen.update(n["NodeID"] for n in ray.nodes())
            ray.shutdown()
    for nid in seen:
        remove_empty_parent(node_parent(nid, TAG))
        try:
            shares.default_path(nid).unlink()
        except FileNotFoundError:
            pass
