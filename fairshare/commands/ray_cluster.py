"""Start a Ray cluster of NODES nodes on this machine, all on 127.0.0.1, and
keep it up until interrupted (SIGINT or SIGTERM shuts every node down).  For
trying the --ray commands on one machine; a real cluster is started with
Ray's own `ray start`."""
from __future__ import annotations

from sharekit.cli import UsageError


def add_arguments(parser):
    parser.add_argument("--nodes", type=int, default=3, help="number of nodes (default 3)")
    parser.add_argument("--cpus", type=float, default=1, help="CPUs per node (default 1)")
    parser.add_argument("--port", type=int, default=6379, help="head (GCS) port (default 6379)")


def run(args) -> int:
    if args.nodes < 1 or not args.cpus > 0 or not 0 < args.port < 65536:
        raise UsageError("--nodes must be >= 1, --cpus > 0 and --port in 1..65535")
    from ..ray.loopback import serve
    serve(args.nodes, args.port, args.cpus)
    return 0
