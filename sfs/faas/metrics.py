"""Prometheus text exposition (format 0.0.4) of the host's counters, per tenant."""
from __future__ import annotations

import threading
from collections import defaultdict

SLOWDOWN_BUCKETS = (1.0, 1.1, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0, 100.0)
GATEWAY_MS_BUCKETS = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 25.0, 100.0)


def _labels(**values) -> str:
    if not values:
        return ""
    body = ",".join(f'{k}="{_escape(str(v))}"' for k, v in values.items())
    return "{" + body + "}"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class _Histogram:
    def __init__(self, buckets):
        self.buckets = buckets
        self.counts = [0] * len(buckets)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.sum += value
        self.count += 1
        for i, edge in enumerate(self.buckets):
            if value <= edge:
                self.counts[i] += 1


class Metrics:
    def __init__(self):
        self._lock = threading.Lock()
        self.invocations = defaultdict(int)            # (function, tenant, status) -> n
        self.fifo_s = defaultdict(float)               # tenant -> s
        self.cfs_s = defaultdict(float)
        self.cpu_s = defaultdict(float)
        self.slowdown = defaultdict(lambda: _Histogram(SLOWDOWN_BUCKETS))      # tenant
        self.gateway_ms = defaultdict(lambda: _Histogram(GATEWAY_MS_BUCKETS))  # tenant
        self.rejected = defaultdict(int)               # reason -> n

    def record(self, row: dict) -> None:
        tenant = row.get("tenant") or ""
        with self._lock:
            key = (row.get("function") or "", tenant, row.get("reason") or row.get("status") or "ok")
            self.invocations[key] += 1
            self.fifo_s[tenant] += row.get("fifo_s") or 0.0
            self.cfs_s[tenant] += row.get("cfs_s") or 0.0
            self.cpu_s[tenant] += row.get("cpu_s") or 0.0
            if row.get("slowdown") and row.get("status") == "ok":
                self.slowdown[tenant].observe(row["slowdown"])
            if row.get("gateway_ms") is not None:
                self.gateway_ms[tenant].observe(row["gateway_ms"])

    def reject(self, reason: str) -> None:
        with self._lock:
            self.rejected[reason] += 1

    def render(self, inflight: int, queued: int, tenant_usage: dict) -> str:
        out = []

        def family(name, kind, help_text):
            out.append(f"# HELP {name} {help_text}")
            out.append(f"# TYPE {name} {kind}")

        with self._lock:
            family("sfs_faas_invocations_total", "counter", "Invocations finished, by function, tenant and status.")
            for (function, tenant, status), n in sorted(self.invocations.items()):
                out.append(f"sfs_faas_invocations_total{_labels(function=function, tenant=tenant, status=status)} {n}")
            family("sfs_faas_rejected_total", "counter", "Requests refused before running (503, 4xx), by reason.")
            for reason, n in sorted(self.rejected.items()):
                out.append(f"sfs_faas_rejected_total{_labels(reason=reason)} {n}")
            family("sfs_faas_inflight", "gauge", "Sandboxes running now.")
            out.append(f"sfs_faas_inflight {inflight}")
            family("sfs_faas_queue_length", "gauge", "Accepted requests waiting for a sandbox slot.")
            out.append(f"sfs_faas_queue_length {queued}")
            for name, table, text in (("sfs_faas_fifo_seconds_total", self.fifo_s, "CPU seconds under SCHED_FIFO (the SFS filter)."),
                                      ("sfs_faas_cfs_seconds_total", self.cfs_s, "CPU seconds under CFS."),
                                      ("sfs_faas_cpu_seconds_total", self.cpu_s, "CPU seconds of finished sandboxes.")):
                family(name, "counter", text + " Per tenant.")
                for tenant, value in sorted(table.items()):
                    out.append(f"{name}{_labels(tenant=tenant)} {value:.6f}")
            for name, table, text in (("sfs_faas_slowdown", self.slowdown, "Turnaround / CPU time of successful invocations."),
                                      ("sfs_faas_gateway_milliseconds", self.gateway_ms, "Gateway time per request outside the sandbox.")):
                family(name, "histogram", text + " Per tenant.")
                for tenant, hist in sorted(table.items()):
                    for edge, n in zip(hist.buckets, hist.counts):
                        out.append(f"{name}_bucket{_labels(tenant=tenant, le=repr(float(edge)))} {n}")
                    out.append(f"{name}_bucket{_labels(tenant=tenant, le='+Inf')} {hist.count}")
                    out.append(f"{name}_sum{_labels(tenant=tenant)} {hist.sum:.6f}")
                    out.append(f"{name}_count{_labels(tenant=tenant)} {hist.count}")
        family("sfs_faas_tenant_cgroup_cpu_seconds", "gauge", "CPU seconds charged to the tenant's cgroup.")
        for tenant, usage in sorted(tenant_usage.items()):
            out.append(f"sfs_faas_tenant_cgroup_cpu_seconds{_labels(tenant=tenant)} {usage.cpu_seconds:.6f}")
        family("sfs_faas_tenant_cgroup_memory_bytes", "gauge", "Memory charged to the tenant's cgroup.")
        for tenant, usage in sorted(tenant_usage.items()):
            out.append(f"sfs_faas_tenant_cgroup_memory_bytes{_labels(tenant=tenant)} {usage.memory_bytes}")
        family("sfs_faas_tenant_oom_kills_total", "counter", "OOM kills in the tenant's cgroup.")
        for tenant, usage in sorted(tenant_usage.items()):
            out.append(f"sfs_faas_tenant_oom_kills_total{_labels(tenant=tenant)} {usage.oom_kills}")
        return "\n".join(out) + "\n"
