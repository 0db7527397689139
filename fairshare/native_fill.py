"""The C core of progressive filling (fairshare/native/fill.c), used when the
cffi extension `fairshare._fill` is built (`make install`).

The Python loops in filling.py and online.py stay the reference: the C code
repeats them step for step, with the same float expressions, so allocations
are identical (tests/fairshare/test_fs_native.py compares the two on random
instances for every criterion and selection rule).  These functions return
False when they do not apply (extension missing, FAIRSHARE_PURE_PYTHON=1 in
the environment, a rule the C code does not implement, a fill that logs its
placements) and the caller then runs the Python loop."""
from __future__ import annotations

import os

import numpy as np

try:
    from ._fill import ffi, lib
except ImportError:  # not built: the Python loops run instead
    ffi = lib = None

# Selection rules with a C implementation (pooled criteria).
RULES = {"residual": 0, "bestfit": 1, "rrr": 2, "random": 3}


def enabled() -> bool:
    return lib is not None and os.environ.get("FAIRSHARE_PURE_PYTHON", "") in ("", "0")


def _ptr(ctype: str, a: np.ndarray):
    return ffi.cast(ctype, ffi.from_buffer(a))


def _writable(state) -> bool:
    """The C code updates these arrays in place: they must be the state's own
    contiguous buffers of the expected types."""
    return all(a.flags.c_contiguous and a.flags.writeable for a in (state.free, state.x_server, state.x)) \
        and state.free.dtype == np.float64 and state.x_server.dtype == np.int64 and state.x.dtype == np.int64


class _Call:
    """The two C structs for one fill, and the numpy buffers they point into
    (kept referenced here for as long as the call runs)."""

    def __init__(self, problem, state):
        self.keep = [np.ascontiguousarray(problem.demand, dtype=np.float64),
                     np.ascontiguousarray(state._inv, dtype=np.float64),
                     np.ascontiguousarray(state._big, dtype=np.float64),
                     np.ascontiguousarray(problem.eligible, dtype=np.bool_).view(np.uint8),
                     np.ascontiguousarray(problem.weight, dtype=np.float64),
                     np.ascontiguousarray(state.limit, dtype=np.int64)]
        demand, inv, big, elig, weight, limit = self.keep
        self.changed = np.zeros(problem.n_servers, dtype=np.uint8)
        self.problem = ffi.new("struct fs_problem *", {
            "n_frameworks": problem.n_frameworks, "n_servers": problem.n_servers,
            "n_resources": len(problem.total), "demand": _ptr("double *", demand), "inv": _ptr("double *", inv),
            "big": _ptr("double *", big), "elig": _ptr("unsigned char *", elig),
            "weight": _ptr("double *", weight), "room_max": state.room_max})
        self.state = ffi.new("struct fs_state *", {
            "free": _ptr("double *", state.free), "x_server": _ptr("int64_t *", state.x_server),
            "x": _ptr("int64_t *", state.x), "limit": _ptr("int64_t *", limit),
            "changed": _ptr("unsigned char *", self.changed)})

    def finish(self, rc: int, state) -> bool:
        # The C code only ever placed what the Python loop would have; tell
        # the state's own caches which servers changed, in either case.
        state.note_changed(np.flatnonzero(self.changed))
        if rc == -1:
            raise MemoryError("fairshare: out of memory in the C fill")
        if rc != 0:
            raise RuntimeError(f"fairshare: the C fill refused its arguments (code {rc})")
        return True


def _rooms(state):
    """The room matrix (frameworks x servers, int64) as the Python loop would
    first see it, and the pointer to it: the state's cache if it has one,
    else NULL and the C code computes fit_counts(free) itself (the same
    divisions, without numpy's temporaries) when the Python loop would."""
    if state.has_rows:
        rows = np.ascontiguousarray(state.cols.T, dtype=np.int64)
        return rows, _ptr("int64_t *", rows)
    return None, ffi.NULL


class RoundRobinOrders:
    """The round-robin rule's per-framework server orders for one C fill.

    RandomRoundRobin draws a framework's order from its numpy generator the
    first time the fill needs it, so the draws depend on the fill's course;
    the C code calls back (`fs_rrr_order_py`) at those same points and the
    rule's own `_order` draws, which keeps every allocation equal to the
    Python loop's.  Cursors live in one int64 array during the call and go
    back to the rule at the end."""

    def __init__(self, sel, n_frameworks: int):
        self.sel = sel
        self.cursor = np.zeros(n_frameworks, dtype=np.int64)
        self.error: BaseException | None = None
        self.handle = ffi.new_handle(self)
        self.struct = ffi.new("struct fs_rrr *", {"order_of": lib.fs_rrr_order_py, "handle": self.handle,
                                                  "cursor": _ptr("int64_t *", self.cursor)})

    def order_of(self, n: int, out, length) -> int:
        try:
            order = self.sel._order(n)
            if order.dtype != np.int64 or not order.flags.c_contiguous:
                order = self.sel.order[n] = np.ascontiguousarray(order, dtype=np.int64)
            self.cursor[n] = self.sel.cursor[n]
            length[0] = len(order)
            out[0] = _ptr("int64_t *", order) if len(order) else ffi.NULL
            return 0
        except BaseException as e:  # re-raised by fill_pooled once the C code has returned
            self.error = e
            return -1

    def finish(self) -> None:
        for n in self.sel.order:
            self.sel.cursor[n] = int(self.cursor[n])


class RandomDraws:
    """The random rule's state for one C fill: Python's Mersenne Twister
    (random.Random.getstate()) and the per-framework candidate lists.

    RandomFit draws with `random.Random._randbelow`; the C code advances a
    copy of that generator exactly as it would (fill.c, fs_mt_below), so the
    draws are the Python loop's.  Batches of more than one task are rare
    (single tasks are the rule when frameworks sit at near-equal shares) and
    run the rule's own `place` through a callback, with the generator synced
    into Python before and back out after.  At the end the generator and the
    candidate lists go back to the rule object."""

    def __init__(self, sel, problem, state):
        self.sel, self.S, self.free = sel, problem.n_servers, state.free
        version, internal, self.gauss = sel.py_rng.getstate()
        self.version = version
        self.mt = np.array(internal, dtype=np.uint32)
        # Rows touched only for frameworks that draw (np.empty: untouched pages).
        self.cand = np.empty((problem.n_frameworks, problem.n_servers), dtype=np.int32)
        self.ncand = np.full(problem.n_frameworks, -1, dtype=np.int64)
        for n, (arr, size) in sel._cand.items():
            self.cand[n, :size] = arr[:size]
            self.ncand[n] = size
        self.error: BaseException | None = None
        self.handle = ffi.new_handle(self)
        self.struct = ffi.new("struct fs_random *", {
            "mt": _ptr("uint32_t *", self.mt), "cand": _ptr("int32_t *", self.cand),
            "ncand": _ptr("int64_t *", self.ncand), "place": lib.fs_random_place_py, "handle": self.handle})

    @staticmethod
    def applies(sel, problem) -> bool:
        # Below this size the rule picks from the room matrix (another stream).
        # (A rule told `fits_only_on` has `within` set: fill_pooled declines that for every rule.)
        return problem.n_servers >= sel.state_pick_min_servers

    def _to_python(self) -> None:
        self.sel.py_rng.setstate((self.version, tuple(self.mt.tolist()), self.gauss))

    def place(self, n: int, count: int, fit, placed) -> int:
        try:
            self._to_python()
            fit_a = np.frombuffer(ffi.buffer(fit, self.S * 8), dtype=np.int64).copy()
            got = self.sel.place(n, count, fit_a, self.free)
            np.frombuffer(ffi.buffer(placed, self.S * 8), dtype=np.int64)[:] = got
            _, internal, self.gauss = self.sel.py_rng.getstate()
            self.mt[:] = internal
            return 0
        except BaseException as e:  # re-raised by fill_pooled once the C code has returned
            self.error = e
            return -1

    def finish(self) -> None:
        self._to_python()
        for n in np.flatnonzero(self.ncand >= 0).tolist():
            size = int(self.ncand[n])
            self.sel._cand[n] = [self.cand[n, :size].copy(), size]


if ffi is not None:
    @ffi.def_extern()
    def fs_rrr_order_py(handle, n, out, length):
        return ffi.from_handle(handle).order_of(int(n), out, length)

    @ffi.def_extern()
    def fs_random_place_py(handle, n, count, fit, placed):
        return ffi.from_handle(handle).place(int(n), int(count), fit, placed)


def fill_pooled(problem, unit: np.ndarray, sel, state, act: np.ndarray) -> bool:
    """filling._fill_pooled with the residual, best-fit, round-robin or
    random rule; False if not applicable."""
    rule = RULES.get(getattr(sel, "name", None))
    n_res = len(problem.total)
    if not enabled() or rule is None or state.log is not None or not _writable(state) or problem.n_servers == 0 \
            or (rule == RULES["bestfit"] and n_res >= 8) or getattr(sel, "within", None) is not None \
            or (rule == RULES["random"] and not RandomDraws.applies(sel, problem)):
        return False
    call = _Call(problem, state)
    unit = np.ascontiguousarray(unit, dtype=np.float64)
    active = np.ascontiguousarray(act, dtype=np.bool_).view(np.uint8)
    rows_a, rows = _rooms(state)
    total = shape_b = pivot = ffi.NULL
    keep = [rows_a]
    if rule == RULES["bestfit"]:
        d = problem.demand
        piv = np.argmax(d > 0, axis=1).astype(np.int64)
        b = d / problem.total
        sb = np.ascontiguousarray(b / b[np.arange(len(b)), piv][:, None])
        tot = np.ascontiguousarray(problem.total, dtype=np.float64)
        keep += [piv, sb, tot]
        total, shape_b, pivot = _ptr("double *", tot), _ptr("double *", sb), _ptr("int64_t *", piv)
    orders = RoundRobinOrders(sel, problem.n_frameworks) if rule == RULES["rrr"] else None
    draws = RandomDraws(sel, problem, state) if rule == RULES["random"] else None
    rc = lib.fs_fill_pooled(call.problem, call.state, _ptr("double *", unit), _ptr("unsigned char *", active),
                            rule, rows, total, shape_b, pivot, ffi.NULL if orders is None else orders.struct,
                            ffi.NULL if draws is None else draws.struct)
    del keep
    for helper in (orders, draws):
        if helper is not None:
            helper.finish()  # the rule object gets its state back
            if helper.error is not None:
                call.finish(0, state)  # the state's caches learn what was placed
                raise helper.error
    if rc == -3:
        return False  # nothing placed: the Python loop runs (see fill.h)
    return call.finish(rc, state)


def fill_server_specific(problem, crit, state, act: np.ndarray) -> bool:
    """filling._fill_server_specific (PS-DSF, rPS-DSF); False if not applicable."""
    if not enabled() or state.log is not None or not _writable(state) or problem.n_servers == 0:
        return False
    call = _Call(problem, state)
    active = np.ascontiguousarray(act, dtype=np.bool_).view(np.uint8)
    if crit.residual:
        (rows_a, rows), gamma = _rooms(state), None
    else:
        rows_a, rows, gamma = None, ffi.NULL, np.ascontiguousarray(state.gamma_full, dtype=np.int64)
    rc = lib.fs_fill_server_specific(call.problem, call.state, _ptr("unsigned char *", active), int(crit.residual),
                                     rows, ffi.NULL if gamma is None else _ptr("int64_t *", gamma))
    del rows_a
    return call.finish(rc, state)


def place_floors(problem, free: np.ndarray, start: np.ndarray, by_class: np.ndarray, order: np.ndarray,
                 targets: np.ndarray, class_eligible: np.ndarray, placed: np.ndarray, X: np.ndarray) -> bool:
    """exact._place_floors in C (free, placed and X updated); False if the
    extension is not available."""
    if not enabled() or not all(a.flags.c_contiguous and a.flags.writeable for a in (free, placed, X)):
        return False
    # fs_place_floors reads the sizes and demands only.
    demand = np.ascontiguousarray(problem.demand, dtype=np.float64)
    prob = ffi.new("struct fs_problem *", {
        "n_frameworks": problem.n_frameworks, "n_servers": problem.n_servers, "n_resources": demand.shape[1],
        "demand": _ptr("double *", demand)})
    args = [np.ascontiguousarray(a, dtype=np.int64) for a in (start, by_class, order, targets)]
    elig = np.ascontiguousarray(class_eligible, dtype=np.bool_).view(np.uint8)
    cursor = np.ascontiguousarray(np.broadcast_to(args[0][:-1], targets.shape))
    lib.fs_place_floors(prob, _ptr("double *", free), _ptr("int64_t *", args[0]), targets.shape[1],
                        _ptr("int64_t *", args[1]), _ptr("int64_t *", args[2]), _ptr("int64_t *", args[3]),
                        _ptr("unsigned char *", elig), _ptr("int64_t *", placed), _ptr("int64_t *", X),
                        _ptr("int64_t *", cursor))
    return True


def fit_counts_by_server(problem, call: _Call, free: np.ndarray) -> np.ndarray:
    """problem.fit_counts(free).T as a contiguous int64 array, computed in
    that layout (the same counts bit for bit, tested)."""
    free = np.ascontiguousarray(free, dtype=np.float64)
    cols = np.empty((problem.n_servers, problem.n_frameworks), dtype=np.int64)
    lib.fs_fit_counts_by_server(call.problem, _ptr("double *", free), _ptr("int64_t *", cols))
    return cols


class OfferRounds:
    """online.offer_cycle's visits in C, one round per `run(order)`; the
    caller keeps the round loop and its random server order.  `open_` and
    `share` (pooled criteria) are the caller's arrays, updated in place.
    `static_gamma` (PS-DSF) makes the share x / (weight gamma) with gamma on
    full capacity.  Each server's candidate frameworks (room there and open)
    live in `cand` across the rounds of the cycle (fill.c: they only shrink)."""

    def __init__(self, problem, state, open_: np.ndarray, share: np.ndarray | None, unit: np.ndarray | None,
                 static_gamma: bool, fill_server: bool):
        self.state = state
        self.call = _Call(problem, state)
        if state.has_rows:
            self.cols = np.ascontiguousarray(state.cols, dtype=np.int64)
        else:
            self.cols = fit_counts_by_server(problem, self.call, state.free)
        gamma = None
        if static_gamma:
            # gamma = fit_counts(capacity), server-major; with nothing placed
            # the rooms are that very matrix (the cycle does not write it).
            same = not state.has_rows and np.array_equal(state.free, problem.capacity)
            gamma = self.cols if same else fit_counts_by_server(problem, self.call, problem.capacity)
        # Untouched pages until a server's first visit builds its list.
        F, S = problem.n_frameworks, problem.n_servers
        self.cand = np.empty((S, F), dtype=np.int32)
        self.ncand = np.full(S, -1, dtype=np.int64)
        self.scratch = np.empty(max(1, F))
        self.lists = ffi.new("struct fs_offer_lists *", {
            "cand": _ptr("int32_t *", self.cand), "ncand": _ptr("int64_t *", self.ncand),
            "scratch": _ptr("double *", self.scratch)})
        self.keep = [open_.view(np.uint8), share, None if unit is None else np.ascontiguousarray(unit, np.float64),
                     gamma]
        self.args = [_ptr("int64_t *", self.cols), _ptr("unsigned char *", self.keep[0])] \
            + [ffi.NULL if a is None else _ptr(t, a) for t, a in zip(("double *", "double *", "int64_t *"),
                                                                   self.keep[1:])]
        self.fill_server = int(fill_server)

    @staticmethod
    def applies(state, open_: np.ndarray, share: np.ndarray | None) -> bool:
        return enabled() and state.log is None and _writable(state) and open_.flags.c_contiguous \
            and (share is None or (share.flags.c_contiguous and share.dtype == np.float64))

    def run(self, order: list[int]) -> bool:
        o = np.asarray(order, dtype=np.int64)
        rc = lib.fs_offer_round(self.call.problem, self.call.state, *self.args, _ptr("int64_t *", o), len(o),
                                self.fill_server, self.lists)
        if rc < 0:
            raise RuntimeError(f"fairshare: the C offer round refused its arguments (code {rc})")
        return rc > 0

    def finish(self) -> None:
        self.call.finish(0, self.state)
