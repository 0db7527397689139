"""Cluster model: resources, servers, frameworks, and the array view allocators use.

A `Problem` is immutable once built.  Allocators work on its numpy view:
`capacity` (servers x resources), `demand` (frameworks x resources),
`eligible` (frameworks x servers, bool), `weight`, `max_tasks`.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from .errors import (CapacityError, ConstraintError, DemandError, DuplicateNameError,
                     ProblemError, UnknownResourceError, WeightError)

UNLIMITED = np.iinfo(np.int64).max // 4  # stands for "no cap" in max_tasks arrays
# Task counts are integers that must stay exact in float64 arithmetic (shares,
# sums over servers), so no framework may be able to hold more than 2^53
# tasks in the cluster unless its max_tasks caps it below that; per-server
# room is clamped to this value.
TASK_LIMIT = 2 ** 53
# Working memory per framework-server pair while allocating: eligibility (1),
# placement (8), the room matrix in both layouts (4 + 4), the static gamma (4),
# the float ratio temporaries of one chunk (amortised) and numpy headroom.
BYTES_PER_PAIR = 32


def available_memory() -> int:
    """Bytes the allocator may use: what the kernel reports as available
    (MemAvailable, the figure psutil.virtual_memory().available gives on
    Linux).  Read directly: importing psutil pulls in socket, subprocess and
    shutil, about 30 ms of every command's start-up."""
    try:
        with open("/proc/meminfo", "rb") as fh:
            for line in fh:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    import psutil
    return int(psutil.virtual_memory().available)


def check_size(n_frameworks: int, n_servers: int, available: int | None = None) -> None:
    """Refuse, in one line, a problem whose frameworks x servers working
    arrays would not fit in memory (instead of a MemoryError half-way)."""
    need = n_frameworks * n_servers * BYTES_PER_PAIR
    avail = available_memory() if available is None else available
    if need > avail:
        pairs = avail // BYTES_PER_PAIR
        raise ProblemError(
            f"problem too large: {n_frameworks:,} frameworks x {n_servers:,} servers needs about "
            f"{need / 2**30:,.1f} GiB ({BYTES_PER_PAIR} bytes per framework-server pair) but "
            f"{avail / 2**30:,.1f} GiB is available: the limit is about {pairs:,} pairs, "
            f"e.g. {max(1, pairs // max(1, n_servers)):,} frameworks on {n_servers:,} servers")


@dataclass(frozen=True)
class Server:
    name: str
    capacity: Mapping[str, float]
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Constraints:
    """Eligible servers: in `servers` (if given) AND matching every label selector.

    A selector value may be a string or a list of alternatives (any-of)."""
    servers: tuple[str, ...] | None = None
    labels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def admits(self, server: Server) -> bool:
        if self.servers is not None and server.name not in self.servers:
            return False
        return all(server.labels.get(k) in allowed for k, allowed in self.labels.items())

    @property
    def empty(self) -> bool:
        return self.servers is None and not self.labels


@dataclass(frozen=True)
class Framework:
    name: str
    demand: Mapping[str, float]
    weight: float = 1.0
    max_tasks: int | None = None
    constraints: Constraints = field(default_factory=Constraints)


def _number(value: Any, where: str, exc: type[ProblemError]) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise exc(f"{where}: expected a finite number, got {value!r}")
    return float(value)


class Problem:
    """Validated servers and frameworks plus their array view."""

    def __init__(self, servers: Iterable[Server], frameworks: Iterable[Framework],
                 units: Mapping[str, str] | None = None):
        self.servers = list(servers)
        self.frameworks = list(frameworks)
        self.units = dict(units or {})
        self._check_names()
        check_size(len(self.frameworks), len(self.servers))
        tables = self._bulk_tables()
        if tables is None:
            # Something is off (or merely unusual): the per-field pass names
            # the first offending field, in file order.
            self.resources = self._collect_resources()
            tables = self.resources, *self._tables_by_field()
        self.resources, self.capacity, self.demand = tables
        self.weight = np.array([f.weight for f in self.frameworks], dtype=float)
        self.max_tasks = np.array([UNLIMITED if f.max_tasks is None else f.max_tasks
                                   for f in self.frameworks], dtype=np.int64)
        self.eligible = self._eligibility()
        with np.errstate(over="ignore"):  # an overflowing total is reported below
            self.total = self.capacity.sum(axis=0)
        for r, t in zip(self.resources, self.total):
            if not math.isfinite(t):
                raise CapacityError(f"resource {r!r}: total capacity over all servers overflows the float range "
                                    f"(largest {np.finfo(float).max:.3g}); express it in coarser units")
        self._check_fit()

    # -- validation -------------------------------------------------------------
    def _check_names(self) -> None:
        for kind, items in (("server", self.servers), ("framework", self.frameworks)):
            seen: set[str] = set()
            for it in items:
                if not isinstance(it.name, str) or not it.name:
                    raise ProblemError(f"{kind} name must be a non-empty string, got {it.name!r}")
                if it.name in seen:
                    raise DuplicateNameError(f"duplicate {kind} name {it.name!r}")
                seen.add(it.name)
        if not self.servers:
            raise ProblemError("problem has no servers")
        if not self.frameworks:
            raise ProblemError("problem has no frameworks")

    def _bulk_tables(self) -> tuple[list[str], np.ndarray, np.ndarray] | None:
        """Resources, capacity and demand tables with every check of
        `_collect_resources` done over whole arrays; None when any check
        fails or a value is not a plain int/float (the caller then runs the
        per-field checks, which raise the one-line error)."""
        resources = list(dict.fromkeys(r for s in self.servers for r in s.capacity))
        col = {r: k for k, r in enumerate(resources)}
        capacity = _table(self.servers, "capacity", col)
        demand = _table(self.frameworks, "demand", col)
        if capacity is None or demand is None:
            return None
        weights = [f.weight for f in self.frameworks]
        if not all(type(w) is float or type(w) is int for w in weights):
            return None
        if not all(m is None or (type(m) is int and m >= 0) for m in (f.max_tasks for f in self.frameworks)):
            return None
        with np.errstate(over="ignore", invalid="ignore"):
            w = np.array(weights, dtype=float)
            ok = (np.isfinite(capacity).all() and np.isfinite(demand).all() and np.isfinite(w).all()
                  and (capacity >= 0).all() and (demand >= 0).all() and (w > 0).all()
                  and (capacity > 0).any(axis=1).all()      # no server without capacity
                  and (capacity > 0).any(axis=0).all()      # no resource with zero total
                  and (demand > 0).any(axis=1).all())       # every framework needs something
        return (resources, capacity, demand) if ok else None

    def _tables_by_field(self) -> tuple[np.ndarray, np.ndarray]:
        r_index = {r: k for k, r in enumerate(self.resources)}
        capacity = np.zeros((len(self.servers), len(self.resources)))
        for i, s in enumerate(self.servers):
            for r, v in s.capacity.items():
                capacity[i, r_index[r]] = v
        demand = np.zeros((len(self.frameworks), len(self.resources)))
        for n, f in enumerate(self.frameworks):
            for r, v in f.demand.items():
                if r not in r_index:
                    raise UnknownResourceError(
                        f"framework {f.name!r}: unknown resource {r!r} (servers declare {', '.join(self.resources)})")
                demand[n, r_index[r]] = v
        return capacity, demand

    def _collect_resources(self) -> list[str]:
        resources: list[str] = []
        for s in self.servers:
            if not s.capacity:
                raise CapacityError(f"server {s.name!r}: empty capacity")
            for r, v in s.capacity.items():
                v = _number(v, f"server {s.name!r} capacity {r!r}", CapacityError)
                if v < 0:
                    raise CapacityError(f"server {s.name!r}: negative capacity {v:g} for {r!r}")
                if r not in resources:
                    resources.append(r)
            if all(float(v) == 0 for v in s.capacity.values()):
                raise CapacityError(f"server {s.name!r}: every capacity is zero")
        for r in resources:
            if sum(float(s.capacity.get(r, 0)) for s in self.servers) <= 0:
                raise CapacityError(f"resource {r!r}: zero total capacity over all servers")
        for f in self.frameworks:
            for r, v in f.demand.items():
                v = _number(v, f"framework {f.name!r} demand {r!r}", DemandError)
                if v < 0:
                    raise DemandError(f"framework {f.name!r}: negative demand {v:g} for {r!r}")
            if not f.demand or all(float(v) == 0 for v in f.demand.values()):
                raise DemandError(f"framework {f.name!r}: demand must be positive in at least one resource")
            w = _number(f.weight, f"framework {f.name!r} weight", WeightError)
            if w <= 0:
                raise WeightError(f"framework {f.name!r}: weight must be > 0, got {w:g}")
            if f.max_tasks is not None and (isinstance(f.max_tasks, bool) or not isinstance(f.max_tasks, int)
                                            or f.max_tasks < 0):
                raise WeightError(f"framework {f.name!r}: max_tasks must be a non-negative integer or null, "
                                  f"got {f.max_tasks!r}")
        return resources

    def _eligibility(self) -> np.ndarray:
        index = {s.name: i for i, s in enumerate(self.servers)}
        elig = np.ones((len(self.frameworks), len(self.servers)), dtype=bool)
        # Label values as small integer codes per key, so a selector is a
        # table lookup per server instead of an object-array isin.
        label_cols: dict[str, tuple[np.ndarray, dict]] = {}
        for n, f in enumerate(self.frameworks):
            c = f.constraints
            if c.empty:
                continue
            if c.servers is not None:
                unknown = [s for s in c.servers if s not in index]
                if unknown:
                    raise ConstraintError(f"framework {f.name!r}: constraint names unknown server(s) "
                                          f"{', '.join(map(repr, unknown))}")
            row = elig[n]
            if c.servers is not None:
                listed = np.zeros(len(self.servers), dtype=bool)
                listed[[index[name] for name in c.servers]] = True
                row &= listed
            for key, allowed in c.labels.items():
                if key not in label_cols:
                    values: dict = {}
                    codes = np.array([values.setdefault(s.labels.get(key), len(values)) for s in self.servers])
                    label_cols[key] = codes, values
                codes, values = label_cols[key]
                ok = np.zeros(len(values), dtype=bool)
                ok[[values[a] for a in allowed if a in values]] = True
                row &= ok[codes]
            if not elig[n].any():
                raise ConstraintError(f"framework {f.name!r}: placement constraint selects no server")
        return elig

    def _check_fit(self) -> None:
        """Every framework fits some eligible server, and no count overflows.

        Works in framework chunks (no frameworks x servers float matrix)."""
        idx = np.arange(self.n_frameworks)
        fits = self.fits_any(self.capacity, idx)
        for n in np.flatnonzero(~fits).tolist():
            f = self.frameworks[n]
            raise DemandError(f"framework {f.name!r}: demand {dict(f.demand)} fits no eligible server")
        # Largest per-server ratio from the largest capacity per resource
        # (F x R work): if that is finite and S times it stays below 2^53, no
        # server's ratio or framework's total can overflow; only the rest are
        # computed server by server.
        pos = self.demand > 0
        with np.errstate(over="ignore", divide="ignore"):
            bound = np.where(pos, self.capacity.max(axis=0) / np.where(pos, self.demand, 1.0), np.inf).min(axis=1)
        check = np.flatnonzero(~np.isfinite(bound) | (bound * self.n_servers > TASK_LIMIT))
        chunk = max(1, 2_000_000 // max(1, self.n_servers))
        for a in range(0, len(check), chunk):
            fidx = check[a:a + chunk]
            g = self._ratios(self.capacity, fidx)
            bad = ~np.isfinite(g)
            if bad.any():
                k, i = map(int, np.argwhere(bad)[0])
                f = self.frameworks[int(fidx[k])]
                raise DemandError(
                    f"framework {f.name!r}: server {self.servers[i].name!r} capacity over its demand "
                    f"{dict(f.demand)} overflows the float range; express resources in coarser units")
            g = np.floor(np.maximum(g, 0) + 1e-9)
            g[~self.eligible[fidx]] = 0
            for k, n in enumerate(fidx.tolist()):
                f = self.frameworks[n]
                if self.max_tasks[n] > TASK_LIMIT and float(g[k].sum()) > TASK_LIMIT:
                    raise DemandError(
                        f"framework {f.name!r}: the cluster holds {float(g[k].sum()):.3g} tasks of demand "
                        f"{dict(f.demand)}, more than 2^53 (the largest task count kept exact); set max_tasks "
                        "or express resources in coarser units")

    # -- array helpers ----------------------------------------------------------
    def _ratios(self, free: np.ndarray, fidx: np.ndarray) -> np.ndarray:
        """min_r free[i, r] / demand[n, r] over the resources n needs (float,
        unclamped, not masked by eligibility); inf marks overflow."""
        d = self.demand[fidx]
        g = np.full((d.shape[0], free.shape[0]), np.inf)
        ratio = np.empty_like(g)
        # One whole-block division per resource; a resource n does not need
        # divides by 0 into inf or nan (0/0), and fmin ignores nan while inf
        # never wins, so such a resource cannot lower g.  The quotients are
        # the same per-element divisions as free / need[pos], bit for bit.
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            for r in range(d.shape[1]):
                need = d[:, r]
                if need.any():
                    np.divide(np.ascontiguousarray(free[:, r])[None, :], need[:, None], out=ratio)
                    np.fmin(g, ratio, out=g)
        return g

    def fit_counts(self, free: np.ndarray, frameworks: np.ndarray | slice | None = None,
                   servers: np.ndarray | slice | None = None, dtype=np.int64) -> np.ndarray:
        """gamma[n, i] = tasks of n that fit in free[i] (0 where ineligible),
        at most TASK_LIMIT, as `dtype` (the caller checked that a narrower
        type holds every count).

        Works in framework chunks so a 1,000 x 10,000 x 4 problem never builds
        a dense 3-D temporary bigger than a few tens of MB."""
        fidx = np.arange(self.n_frameworks)[frameworks if frameworks is not None else slice(None)]
        fidx = np.atleast_1d(fidx)
        fr = free if servers is None else free[servers]
        elig = self.eligible[fidx] if servers is None else self.eligible[fidx][:, servers]
        out = np.zeros((len(fidx), fr.shape[0]), dtype=dtype)
        chunk = max(1, 2_000_000 // max(1, fr.shape[0] * fr.shape[1]))
        for a in range(0, len(fidx), chunk):
            g = self._ratios(fr, fidx[a:a + chunk])
            np.maximum(g, 0, out=g)
            g += 1e-9
            np.floor(g, out=g)
            np.minimum(g, TASK_LIMIT, out=g)
            out[a:a + chunk] = g
        out[~elig] = 0
        return out

    def fit_row(self, free: np.ndarray, n: int, servers: np.ndarray | None = None) -> np.ndarray:
        """fit_counts for one framework (on `servers`, default all), without
        the chunking overhead.  Element-wise arithmetic, so a server's count
        does not depend on which other servers are asked about."""
        g = np.floor(self._ratio_row(free, n, servers))
        g = np.clip(g, 0, TASK_LIMIT).astype(np.int64)
        g[~(self.eligible[n] if servers is None else self.eligible[n, servers])] = 0
        return g

    def fits_row(self, free: np.ndarray, n: int, servers: np.ndarray | None = None) -> np.ndarray:
        """fit_row(free, n, servers) > 0, without the rounding: floor(v) > 0
        exactly when v >= 1, so the answer is the same bit for bit."""
        ok = self._ratio_row(free, n, servers) >= 1.0
        ok &= self.eligible[n] if servers is None else self.eligible[n, servers]
        return ok

    def _ratio_row(self, free: np.ndarray, n: int, servers: np.ndarray | None) -> np.ndarray:
        d = self.demand[n]
        pos = d > 0
        fr = free if servers is None else free[servers]
        with np.errstate(over="ignore"):
            g = (fr[:, pos] / d[pos]).min(axis=1)
        g += 1e-9
        return g

    def fits_any(self, free: np.ndarray, frameworks: np.ndarray, servers: np.ndarray | None = None) -> np.ndarray:
        """For each framework index: does one task fit on some eligible server
        (among `servers`, default all)?"""
        out = np.zeros(len(frameworks), dtype=bool)
        if servers is not None:
            free = free[servers]
        chunk = max(1, 2_000_000 // max(1, free.size))
        for a in range(0, len(frameworks), chunk):
            idx = frameworks[a:a + chunk]
            # Resource by resource into one 2-D mask: no 3-D temporary.
            ok = self.eligible[idx] if servers is None else self.eligible[idx][:, servers]
            low = self.demand[idx] - 1e-9
            for r in range(free.shape[1]):
                ok &= np.ascontiguousarray(free[:, r])[None, :] >= low[:, r, None]
            out[a:a + chunk] = ok.any(axis=1)
        return out

    def restricted(self, servers: np.ndarray) -> "Problem":
        """The same frameworks on a subset of the servers (in their order),
        keeping the whole cluster's totals so shares stay cluster-wide.  No
        re-validation: for allocators that fill only part of the cluster."""
        q = object.__new__(Problem)
        q.__dict__.update(self.__dict__)
        q.servers = [self.servers[i] for i in servers.tolist()]
        q.capacity = self.capacity[servers]
        q.eligible = self.eligible[:, servers]
        return q

    @property
    def n_frameworks(self) -> int:
        return len(self.frameworks)

    @property
    def n_servers(self) -> int:
        return len(self.servers)

    def describe(self) -> str:
        return (f"{len(self.servers)} servers, {len(self.frameworks)} frameworks, "
                f"resources {', '.join(self.resources)}")

    def to_dict(self) -> dict:
        out_s = [{"name": s.name, "capacity": dict(s.capacity), **({"labels": dict(s.labels)} if s.labels else {})}
                 for s in self.servers]
        out_f = []
        for f in self.frameworks:
            d: dict[str, Any] = {"name": f.name, "weight": f.weight, "demand": dict(f.demand),
                                 "max_tasks": f.max_tasks}
            c = f.constraints
            if not c.empty:
                d["constraints"] = {}
                if c.servers is not None:
                    d["constraints"]["servers"] = list(c.servers)
                if c.labels:
                    d["constraints"]["labels"] = {k: list(v) for k, v in c.labels.items()}
            out_f.append(d)
        return {"servers": out_s, "frameworks": out_f}


def _table(items: list, attr: str, col: Mapping[str, int]) -> np.ndarray | None:
    """items x resources array of the `attr` mappings (0 where absent), built
    per group of items declaring the same resources in the same order (a
    handful of groups: server shapes, demand kinds); None on an unknown
    resource or a value that is not a plain int/float."""
    groups: dict[tuple, list[int]] = {}
    for i, it in enumerate(items):
        groups.setdefault(tuple(getattr(it, attr)), []).append(i)
    out = np.zeros((len(items), len(col)))
    for keys, rows in groups.items():
        if not all(k in col for k in keys):
            return None
        values = [tuple(getattr(items[i], attr).values()) for i in rows]
        if not all(type(v) is float or type(v) is int for row in values for v in row):
            return None
        try:
            block = np.array(values, dtype=float).reshape(len(rows), len(keys))
        except OverflowError:  # an int beyond the float range
            return None
        out[np.ix_(rows, [col[k] for k in keys])] = block
    return out


# -- parsing ------------------------------------------------------------------------
def _labels(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not _is_mapping(value):
        raise ProblemError(f"{where}: labels must be a mapping, got {type(value).__name__}")
    return {str(k): str(v) for k, v in value.items()}


def _constraints(value: Any, where: str) -> Constraints:
    if value is None:
        return Constraints()
    if not _is_mapping(value):
        raise ConstraintError(f"{where}: constraints must be a mapping")
    extra = set(value) - {"servers", "labels"}
    if extra:
        raise ConstraintError(f"{where}: unknown constraint key(s) {', '.join(sorted(extra))}")
    servers = value.get("servers")
    if servers is not None:
        if isinstance(servers, str) or not isinstance(servers, (list, tuple)):
            raise ConstraintError(f"{where}: constraints.servers must be a list of server names")
        servers = tuple(str(s) for s in servers)
    labels: dict[str, tuple[str, ...]] = {}
    for k, v in (value.get("labels") or {}).items():
        alts = tuple(str(a) for a in v) if isinstance(v, (list, tuple)) else (str(v),)
        if not alts:
            raise ConstraintError(f"{where}: label selector {k!r} has no allowed value")
        labels[str(k)] = alts
    return Constraints(servers=servers, labels=labels)


def _is_mapping(value: Any) -> bool:
    # dict first: the abstract-class check costs about a microsecond a call.
    return type(value) is dict or isinstance(value, Mapping)


def _mapping(value: Any, where: str, exc: type[ProblemError]) -> dict[str, float]:
    if not _is_mapping(value):
        raise exc(f"{where}: expected a mapping resource -> amount, got {value!r}")
    try:
        amounts = {str(k): float(v) for k, v in value.items() if type(v) is float or type(v) is int}
    except OverflowError:  # an int beyond the float range: named below
        amounts = {}
    # All plain numbers, none lost to a key collision, and a finite sum
    # (an inf or nan anywhere makes the sum inf or nan): valid as they are.
    if len(amounts) == len(value) and math.isfinite(sum(amounts.values())):
        return amounts
    return {str(k): _number(v, f"{where} {k!r}", exc) for k, v in value.items()}


def problem_from_dict(data: Any, source: str = "problem") -> Problem:
    if not isinstance(data, Mapping):
        raise ProblemError(f"{source}: top level must be a mapping with 'servers' and 'frameworks'")
    extra = set(data) - {"servers", "frameworks", "resources"}
    if extra:
        raise ProblemError(f"{source}: unknown top-level key(s) {', '.join(sorted(extra))}")
    servers, frameworks = [], []
    for k, s in enumerate(data.get("servers") or []):
        where = f"{source}: servers[{k}]"
        if not _is_mapping(s) or "name" not in s or "capacity" not in s:
            raise ProblemError(f"{where}: needs 'name' and 'capacity'")
        where = f"{source}: server {s['name']!r}"
        bad = set(s) - {"name", "capacity", "labels"}
        if bad:
            raise ProblemError(f"{where}: unknown key(s) {', '.join(sorted(bad))}")
        servers.append(Server(str(s["name"]), _mapping(s["capacity"], f"{where} capacity", CapacityError),
                              _labels(s.get("labels"), where)))
    for k, f in enumerate(data.get("frameworks") or []):
        where = f"{source}: frameworks[{k}]"
        if not _is_mapping(f) or "name" not in f or "demand" not in f:
            raise ProblemError(f"{where}: needs 'name' and 'demand'")
        where = f"{source}: framework {f['name']!r}"
        bad = set(f) - {"name", "demand", "weight", "max_tasks", "constraints"}
        if bad:
            raise ProblemError(f"{where}: unknown key(s) {', '.join(sorted(bad))}")
        weight = f.get("weight", 1)
        frameworks.append(Framework(str(f["name"]), _mapping(f["demand"], f"{where} demand", DemandError),
                                    weight if weight is not None else 1, f.get("max_tasks"),
                                    _constraints(f.get("constraints"), where)))
    units = data.get("resources") or {}
    if not isinstance(units, Mapping):
        raise ProblemError(f"{source}: 'resources' must map resource name -> unit")
    try:
        return Problem(servers, frameworks, units)
    except ProblemError as exc:
        if str(exc).startswith(source):
            raise
        raise type(exc)(f"{source}: {exc}") from None


def load_problem(path: str | Path) -> Problem:
    """Read a problem file (.json, .yaml or .yml)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ProblemError(f"{path}: cannot read: {exc.strerror}") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            raise ProblemError(f"{path}:{where} invalid YAML: {getattr(exc, 'problem', exc)}") from None
    elif path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ProblemError(f"{path}: line {exc.lineno}: invalid JSON: {exc.msg}") from None
    else:
        raise ProblemError(f"{path}: unknown problem file type (use .json, .yaml or .yml)")
    return problem_from_dict(data, str(path))
