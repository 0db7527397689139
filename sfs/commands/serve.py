"""FaaS host: an HTTP gateway running each invocation in a sandboxed process under SFS.

POST /run/<function> with a JSON body runs the function in a fresh process
forked from the function's warm template, as an unprivileged user, in its
tenant's cgroup, scheduled by --policy.  GET /functions, /healthz, /metrics.
"""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from pathlib import Path

from sharekit.cli import UsageError

log = logging.getLogger("sfs.faas")


def add_arguments(parser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (0 = any free port; default 8080)")
    from sfs.faas.policy import choices
    parser.add_argument("--policy", choices=choices(), default=None,
                        help="scheduling policy for the sandboxes (default: sfs-tenant when a node agent "
                             "publishes tenant shares for --node, else sfs)")
    parser.add_argument("--node", default="node0",
                        help="this node's name, whose agent-published tenant shares sfs-tenant follows (default node0)")
    parser.add_argument("--tenant-shares", metavar="SHARES",
                        help="for sfs-tenant: weights NAME=W,... or a published-shares file "
                             "(default: the file the agent publishes for --node)")
    parser.add_argument("--functions", type=Path, action="append", default=None, metavar="DIR",
                        help="folder of function modules, repeatable (default: the bundled workloads/functions)")
    parser.add_argument("--tenants", type=Path, default=None, metavar="FILE",
                        help="tenants, their token digests, weights and functions (JSON or YAML; see "
                             "`sfs tenants add`); without it the host is open to any local client")
    parser.add_argument("--results", type=Path, default=None,
                        help="append one record per invocation here (.csv or .jsonl)")
    parser.add_argument("--cores", default=None, help="cores for the scheduler, e.g. 0,1 (default: all)")
    parser.add_argument("--memory-max", type=int, default=512, metavar="MIB",
                        help="address space a sandbox may add to its template (default 512 MiB)")
    parser.add_argument("--tenant-memory-max", type=int, default=4096, metavar="MIB",
                        help="cgroup memory limit of each tenant (default 4096 MiB)")
    parser.add_argument("--timeout", type=float, default=30.0, help="wall-clock limit per invocation, s (default 30)")
    parser.add_argument("--max-running", type=int, default=64, help="sandboxes running at once (default 64)")
    parser.add_argument("--max-queue", type=int, default=256,
                        help="accepted requests waiting for a slot before 503 (default 256)")
    parser.add_argument("--read-timeout", type=float, default=30.0,
                        help="seconds a client may take to send a request's headers, and its body (default 30)")
    parser.add_argument("--max-body", type=int, default=1 << 20, help="request body limit, bytes (default 1 MiB)")
    parser.add_argument("--uid-range", default="200000-200999", metavar="FIRST-LAST",
                        help="uids (and gids) for the tenants, one each, in sorted tenant order; no existing "
                             "user or group may have one (default 200000-200999)")
    parser.add_argument("--max-pids", type=int, default=256,
                        help="processes and threads per tenant, templates included (default 256)")
    parser.add_argument("--max-open-files", type=int, default=256,
                        help="open files per sandbox (RLIMIT_NOFILE, default 256)")
    parser.add_argument("--shares", type=Path, default=None, metavar="FILE",
                        help="the node agent's published shares (default: the file the agent publishes for "
                             "--node): tenants' templates join the agent's cpu groups, and its weights win over "
                             "the tenants file's")
    parser.add_argument("--no-namespaces", action="store_true",
                        help="run sandboxes without their pid, mount, user and network namespaces (only to "
                             "measure what they cost: descendants can then escape, and /tmp is shared)")
    parser.add_argument("--tmp-mib", type=int, default=64, help="size of each invocation's private /tmp (default 64)")
    parser.add_argument("--rt-priority", type=int, default=None,
                        help="SCHED_FIFO priority of the gateway and templates (default: between the "
                             "functions and the scheduler; 0 = none)")
    parser.add_argument("--cgroup-parent", default=None,
                        help="parent of the tenant cgroups (default sharekit-faas-<pid>: two servers never "
                             "share, and so never remove, each other's tenant groups)")
    parser.add_argument("--no-cgroups", action="store_true", help="do not put sandboxes in tenant cgroups")
    parser.add_argument("--tenant-cpu-weights", action="store_true",
                        help="also give each tenant a cpu cgroup (weights); on cgroup v1 with RT group "
                             "scheduling this caps each tenant's SCHED_FIFO time at an equal share")
    parser.add_argument("--no-tenant-header", action="store_true", help="ignore X-Tenant; functions' TENANT only")
    parser.add_argument("--max-tenants", type=int, default=64,
                        help="tenants (each a cgroup) this server accepts, registered ones included (default 64)")
    parser.add_argument("--log-level", default="WARNING")


def _cores(text: str | None) -> list[int]:
    if text is None:
        return sorted(os.sched_getaffinity(0))
    try:
        cores = sorted({int(c) for c in text.split(",") if c.strip()})
    except ValueError:
        raise UsageError(f"--cores {text!r}: expected a comma-separated list of core numbers") from None
    if not cores:
        raise UsageError("--cores is empty")
    return cores


def run(args) -> int:
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    specs, auth = load_functions(args.functions, args.tenants)
    if auth is None and not _loopback(args.host):
        raise UsageError(f"--host {args.host}: without --tenants the host is open to anyone who reaches it, "
                         "so it listens on loopback only")
    from sfs.faas.identities import IdentityError, TenantIdentities
    try:
        tenants = {s.tenant for s in specs.values()} | (set(auth.tenants) if auth else set())
        identities = TenantIdentities.from_range(args.uid_range, sorted(tenants))
    except IdentityError as exc:
        raise UsageError(str(exc)) from None
    for flag in ("max_running", "max_queue", "max_body", "memory_max", "tenant_memory_max", "max_tenants",
                 "max_pids", "max_open_files", "tmp_mib"):
        if getattr(args, flag) <= 0:
            raise UsageError(f"--{flag.replace('_', '-')} must be positive")
    if not 0 < args.read_timeout <= 3600:
        raise UsageError("--read-timeout must be in (0, 3600] seconds")
    if not 0 < args.timeout <= 3600:
        raise UsageError("--timeout must be in (0, 3600] seconds")
    return asyncio.run(_serve(args, specs, _cores(args.cores), identities, auth))


def published_shares_path(args) -> Path:
    """Where this node's agent publishes its shares: --shares, else the agent's default for --node."""
    from sharekit.shares import default_path
    explicit = getattr(args, "shares", None)
    return explicit if explicit is not None else default_path(args.node)


def choose_policy(args):
    """(policy name, share source): sfs-tenant by default when the node's agent publishes shares."""
    from sfs import policies
    from sfs.policies.sfs_tenant import PublishedShares, parse_shares
    from sharekit.shares import read
    if args.tenant_shares is not None:
        if args.policy is not None and not policies.info(args.policy).tenant_aware:
            raise ValueError(f"--tenant-shares: policy {args.policy!r} does not weigh tenants (use sfs-tenant)")
        return args.policy or "sfs-tenant", parse_shares(args.tenant_shares)
    path = published_shares_path(args)
    if args.policy is None:
        published = read(path)
        return ("sfs-tenant", PublishedShares(path)) if published and published.tenants else ("sfs", None)
    return args.policy, PublishedShares(path) if policies.info(args.policy).tenant_aware else None


def _loopback(host: str) -> bool:
    import ipaddress
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def load_functions(directories, tenants_file):
    """name -> FunctionSpec from every folder, owned as the tenants file says; and the parsed file (or None).

    A function belongs to the tenant that lists it, or else to its module's
    TENANT.  The same name in two folders, a function listed by two tenants
    (checked when the file is read) or one listed that no folder has is an error.
    """
    import dataclasses

    from sfs.faas.auth import Tenants, TenantsFileError
    from sfs.faas.functions import default_functions_dir, discover
    specs = {}
    for directory in directories or [default_functions_dir()]:
        try:
            found, problems = discover(directory)
        except FileNotFoundError as exc:
            raise UsageError(str(exc)) from None
        for problem in problems:
            print(f"sfs serve: {problem}", file=sys.stderr)
        for name, spec in found.items():
            if name in specs:
                raise UsageError(f"function {name} is in both {specs[name].path.parent} and {directory}")
            specs[name] = spec
    if not specs:
        raise UsageError(f"no functions in {', '.join(map(str, directories or [default_functions_dir()]))}")
    auth = None
    if tenants_file is not None:
        try:
            auth = Tenants.load(tenants_file)
        except TenantsFileError as exc:
            raise UsageError(str(exc)) from None
        for function, owner in auth.owners().items():
            if function not in specs:
                raise UsageError(f"{tenants_file}: tenants.{owner}.functions: no function {function!r} "
                                 "in the functions folders")
            specs[function] = dataclasses.replace(specs[function], tenant=owner)
    return specs, auth


async def _serve(args, specs, cores, identities, auth) -> int:
    from aiohttp import web

    from sfs.faas import realtime
    from sfs.faas.gateway import Gateway, GatewayConfig
    from sfs.faas.policy import gateway_priority, make_policy
    from sfs.faas.records import ResultsWriter
    from sfs.faas.sandbox import SandboxManager
    from sfs.faas.agent_groups import AgentGroups
    from sharekit.cgroups import backend_for
    from sharekit.cgroups.placement import CpuPlacement, moves_needed
    from sfs.faas.containment import ContainmentError, TenantPids
    from sfs.faas.tenants import TenantGroups

    t0 = time.monotonic()
    results = ResultsWriter(args.results, t0)
    holder: dict = {}
    # The node agent's tenant groups: sandboxes account there from birth, and
    # a demoted sandbox runs in its tenant's cpu group so CFS weighs it by the
    # tenant's share (on v1 with RT group scheduling it leaves that group while
    # it runs FIFO: sharekit.cgroups.placement).
    backend = backend_for()
    agent = AgentGroups(published_shares_path(args), cpu=not moves_needed(backend))
    placement = CpuPlacement(backend, agent.cpu_group) if moves_needed(backend) and os.geteuid() == 0 else None
    try:
        name, shares = choose_policy(args)
        policy = make_policy(name, cores, lambda record: holder["gateway"].on_scheduler_record(record), shares,
                             placement)
    except (RuntimeError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    if not args.no_cgroups and os.geteuid() == 0:
        for name in TenantGroups.remove_stale() + TenantPids.remove_stale("sharekit-faas-"):
            print(f"sfs serve: removed the tenant cgroups of a server that is gone ({name})", file=sys.stderr)
    parent = args.cgroup_parent or f"sharekit-faas-{os.getpid()}"
    weights = {name: max(1, min(10000, round(entry.weight * 100))) for name, entry in auth.tenants.items()} \
        if auth else {}
    tenants = TenantGroups(parent, args.tenant_memory_max << 20,
                           enabled=not args.no_cgroups and os.geteuid() == 0, cpu_groups=args.tenant_cpu_weights,
                           weights=weights, agent=agent)
    pids = None
    if not args.no_cgroups and os.geteuid() == 0:
        try:
            pids = TenantPids(parent, args.max_pids)
        except ContainmentError as exc:
            print(f"sfs serve: no per-tenant process limit: {exc}", file=sys.stderr)
    priority = gateway_priority(policy) if args.rt_priority is None else args.rt_priority
    sandboxes = SandboxManager(specs, tenants, policy, identities=identities.of, pids=pids, agent=agent,
                               rt_priority=priority,
                               memory_max=args.memory_max << 20, timeout_s=args.timeout,
                               nofile=args.max_open_files, tmp_mib=args.tmp_mib,
                               namespaces=not args.no_namespaces)
    gateway = Gateway(specs, sandboxes, policy, results,
                      GatewayConfig(max_body=args.max_body, max_running=args.max_running,
                                    max_queue=args.max_queue, tenant_header=not args.no_tenant_header,
                                    max_tenants=args.max_tenants, read_timeout_s=args.read_timeout),
                      auth=auth)
    holder["gateway"] = gateway
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    # The scheduler thread needs the GIL promptly while functions hold the cores.
    sys.setswitchinterval(0.001)
    runner = None
    started = False
    try:
        try:
            policy.start()
        except Exception as exc:
            raise UsageError(f"cannot start policy {policy.name!r}: {exc}") from None
        started = True
        if realtime.raise_to(priority):
            gateway.rt_priority = priority
        failed = await sandboxes.warm()
        for name, error in failed.items():
            print(f"sfs serve: function {name} not warm: {error}", file=sys.stderr)
        app = gateway.app()
        # aiohttp's keep-alive timer also runs while a request's headers arrive: it is the
        # header timeout for clients that stall (the body has its own, in the gateway).
        runner = web.AppRunner(app, access_log=None, handle_signals=False, keepalive_timeout=args.read_timeout)
        await runner.setup()
        site = web.TCPSite(runner, args.host, args.port, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
        port = site._server.sockets[0].getsockname()[1]
        if args.no_namespaces:
            print("sfs serve: --no-namespaces: sandboxes share the host's pid, mount and network namespaces; "
                  "their descendants can outlive them", file=sys.stderr, flush=True)
        if auth is None:
            print("sfs serve: no --tenants: any local client may call any function as any tenant (X-Tenant); "
                  "listening on loopback only", file=sys.stderr, flush=True)
        print(f"sfs serve: listening on http://{args.host}:{port} (policy {policy.name}, "
              f"{len(specs)} functions, {len(specs) - len(failed)} warm, gateway RT priority {priority}, "
              f"tenant uids {identities.describe()}, "
              f"{'Bearer tokens of ' + str(len(auth.tenants)) + ' tenants' if auth else 'open, no tokens'})",
              flush=True)
        await stop.wait()
        print("sfs serve: stopping", flush=True)
        await site.stop()  # refuse new connections; finish what was accepted
        await gateway.drain()
    finally:
        if runner is not None:
            await runner.cleanup()
        sandboxes.close()
        if started:
            policy.stop()
        if placement is not None:
            placement.close()
        tenants.close()
        if pids is not None:
            pids.close()
        results.close()
        realtime.normal()
    print(f"sfs serve: {results.count} invocations recorded", flush=True)
    return 0
