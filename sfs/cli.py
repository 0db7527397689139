"""The `sfs` command."""
from sharekit.cli import dispatch

COMMANDS = {
    "replay": ("sfs.commands.replay", "replay a trace under a policy (see --policy)"),
    "bench": ("sfs.commands.bench", "cfs vs sfs vs the SRTF oracle on every bench trace at 80% load (--http: against sfs serve)"),
    "serve": ("sfs.commands.serve", "FaaS host: HTTP gateway running functions in sandboxes under SFS"),
    "tenants": ("sfs.commands.tenants", "tenants file of sfs serve --tenants: add a tenant, print its token once"),
    "overhead": ("sfs.commands.overhead", "what tokens and sandbox namespaces add to a FaaS request, p50/p99"),
    "load": ("sfs.commands.load", "open-loop HTTP load generator driven by a trace"),
    "trace": ("sfs.commands.trace", "eBPF: run-queue latency, preemptions and FIFO vs CFS time per process"),
}


def main(argv=None) -> int:
    return dispatch("sfs", "SFS: a user-space function scheduler approximating SRTF.", COMMANDS, argv)


if __name__ == "__main__":
    raise SystemExit(main())
