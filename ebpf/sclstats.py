"""Read libscl's own lock statistics out of a running process: no probes.

libscl keeps, inside every mutex, per-thread acquisitions, hold, wait and
opportunity, measured with the library's own clock reads (its fast path is
unchanged by tracing), plus the lock's free time and slice hand-overs.  It
lists its live mutexes in one exported object, `scl_trace_directory`
(native/src/trace.c), whose header also gives the field offsets of the lock
layout.  This module finds that object in a process (the library's dynamic
symbol table + its load address in /proc/<pid>/maps) and reads the locks
through /proc/<pid>/mem (root, or ptrace rights over the process).

Reads are not synchronised with the program: each lock's magic is checked,
counters are aligned 64-bit words (never torn), and a thread's counters may
be one critical section apart from each other.  Weights are the ones the
lock itself uses (nice-derived by default).
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from ebpf.ulocks import LockSample, LockThreadSample, Snapshot

SYMBOL = "scl_trace_directory"
DIR_MAGIC = 0x53434C44
DIR_VERSION = 1
# field[] indices, in native/src/trace.c's order
FIELDS = ("mutex_size", "mutex_magic", "magic", "word", "slice", "last_release", "free_ns", "slices",
          "stats_start", "nslots", "slots", "slot_size", "max_slots", "slot_tid", "slot_flags", "slot_active",
          "slot_weight", "slot_acquisitions", "slot_hold_ns", "slot_wait_ns", "slot_opp_ns", "slot_free_mark",
          "slot_free_banked", "overflow_acquisitions")
_HEADER = struct.Struct("<4I32I2I")


class NotTraceable(Exception):
    """The process does not map a libscl that publishes its lock directory."""


def dynamic_symbol(path: str, name: str) -> int | None:
    """st_value of a defined symbol in an ELF64 little-endian file's .dynsym."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return None
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    want = name.encode()
    for _name, sh_type, _flags, _addr, offset, size, link, _info, _align, entsize in sections:
        if sh_type != 11 or not entsize:   # SHT_DYNSYM
            continue
        stroff = sections[link][4]
        for i in range(size // entsize):
            st_name, _info, _other, shndx, value, _size = struct.unpack_from("<IBBHQQ", data, offset + i * entsize)
            end = data.index(b"\0", stroff + st_name)
            if shndx != 0 and data[stroff + st_name:end] == want:
                return value
    return None


def _load_base(path: str) -> int:
    """Link-time address of the first byte of the file (vaddr of PT_LOAD at offset 0)."""
    with open(path, "rb") as f:
        head = f.read(64)
        phoff, = struct.unpack_from("<Q", head, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", head, 0x36)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    for i in range(phnum):
        p_type, _flags, p_offset, p_vaddr = struct.unpack_from("<IIQQ", table, i * phentsize)
        if p_type == 1 and p_offset == 0:   # PT_LOAD
            return p_vaddr
    return 0


def file_mappings(pid: int) -> dict[str, int]:
    """{path: start of its offset-0 mapping} for every file the process maps."""
    found = {}
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            parts = line.split(maxsplit=5)
            if len(parts) < 6 or int(parts[2], 16) != 0 or not parts[5].startswith("/"):
                continue
            found.setdefault(parts[5].rstrip("\n"), int(parts[0].split("-")[0], 16))
    return found


_directory_symbols: dict[tuple, int | None] = {}   # (path, inode, mtime) -> directory's link-time address


def directory_symbol(path: str) -> int | None:
    """Link-time address of the lock directory in an ELF file (libscl.so, or
    anything libscl is linked into), None if it has none.  Cached per file."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    key = (path, st.st_ino, st.st_mtime_ns)
    if key not in _directory_symbols:
        value = None
        try:
            with open(path, "rb") as f:
                quick = SYMBOL.encode() in f.read()   # most files: no, without parsing
            if quick:
                value = dynamic_symbol(path, SYMBOL)
                if value is not None:
                    value -= _load_base(path)
        except (OSError, ValueError, struct.error):
            value = None
        _directory_symbols[key] = value
    return _directory_symbols[key]


@dataclass
class _Directory:
    address: int
    fields: dict
    cap: int


class ProcessLocks:
    """The libscl mutexes of one process, read from its memory."""

    def __init__(self, pid: int, library: str | None = None):
        self.pid = pid
        self.path = library
        try:
            self.mem = os.open(f"/proc/{pid}/mem", os.O_RDONLY)   # one descriptor for every read
        except OSError as exc:   # as the maps are read first below: a gone pid is not traceable
            raise NotTraceable(f"pid {pid}: {exc.strerror}") from None
        try:
            self.directory = self._find(library)
        except BaseException:
            os.close(self.mem)
            raise

    def _find(self, library: str | None) -> _Directory:
        try:
            maps = file_mappings(self.pid)
        except OSError as exc:
            raise NotTraceable(f"pid {self.pid}: {exc.strerror}") from None
        if library is not None:
            real = os.path.realpath(library)
            maps = {p: b for p, b in maps.items() if os.path.realpath(p) == real}
        for path, base in maps.items():
            offset = directory_symbol(path)
            if offset is not None:
                self.path = path
                return self._header(base + offset, path)
        raise NotTraceable(f"pid {self.pid} maps no libscl exporting {SYMBOL}")

    def _header(self, address: int, path: str) -> _Directory:
        raw = os.pread(self.mem, _HEADER.size, address)
        if len(raw) < _HEADER.size:
            raise NotTraceable(f"pid {self.pid}: cannot read {SYMBOL} in {path}")
        values = _HEADER.unpack(raw)
        magic, version, nfields, cap = values[:4]
        if magic != DIR_MAGIC or version != DIR_VERSION or nfields < len(FIELDS):
            raise NotTraceable(f"{path}: {SYMBOL} has magic {magic:#x} version {version} with {nfields} "
                               f"fields; this tool reads version {DIR_VERSION} with {len(FIELDS)}")
        return _Directory(address, dict(zip(FIELDS, values[4:4 + len(FIELDS)])), cap)

    def lock_addresses(self) -> list[int]:
        d = self.directory
        raw = os.pread(self.mem, _HEADER.size + 8 * d.cap, d.address)
        if len(raw) < _HEADER.size + 8 * d.cap:   # the process is gone (its memory reads empty)
            raise ProcessLookupError(self.pid)
        high = min(struct.unpack_from("<I", raw, 4 * 36)[0], d.cap)
        addresses = struct.unpack_from(f"<{high}Q", raw, _HEADER.size)
        return list(dict.fromkeys(a for a in addresses if a))

    def read(self, snap: Snapshot) -> None:
        """Add this process's locks to `snap` (keys (lock, tid) as the uprobe tracer's)."""
        f = self.directory.fields
        for lock in self.lock_addresses():
            try:
                raw = os.pread(self.mem, f["mutex_size"], lock)
            except OSError:
                continue   # unmapped since (freed memory of a destroyed lock)
            if len(raw) < f["mutex_size"] or _u32(raw, f["magic"]) != f["mutex_magic"]:
                continue
            free_ns = _u64(raw, f["free_ns"])
            snap.locks[lock] = LockSample(lock, free_ns, _u64(raw, f["slices"]))
            nslots = min(_u32(raw, f["nslots"]), f["max_slots"])
            for i in range(nslots):
                base = f["slots"] + i * f["slot_size"]
                tid = struct.unpack_from("<i", raw, base + f["slot_tid"])[0]
                acquisitions = _u64(raw, base + f["slot_acquisitions"])
                active = _u32(raw, base + f["slot_flags"]) & f["slot_active"]
                if tid <= 0 or (not acquisitions and not active):
                    continue
                hold = _u64(raw, base + f["slot_hold_ns"])
                # the library's opportunity: banked + free time since it joined
                # (the free interval running right now is left to the next read)
                opportunity = (_u64(raw, base + f["slot_opp_ns"]) + _u64(raw, base + f["slot_free_banked"])
                               + (max(0, free_ns - _u64(raw, base + f["slot_free_mark"])) if active else 0))
                weight = struct.unpack_from("<d", raw, base + f["slot_weight"])[0]
                snap.threads[(lock, tid)] = LockThreadSample(
                    lock, tid, self.pid, acquisitions, 0, hold, _u64(raw, base + f["slot_wait_ns"]),
                    0, 0, 0, 0, opportunity_ns=opportunity, lock_weight=weight)

    def close(self) -> None:
        os.close(self.mem)


def _u32(raw: bytes, offset: int) -> int:
    return struct.unpack_from("<I", raw, offset)[0]


def _u64(raw: bytes, offset: int) -> int:
    return struct.unpack_from("<Q", raw, offset)[0]


class LockStatsReader:
    """The probe-free counterpart of LockTracer: same sample() -> Snapshot.

    With `pid`, that process; otherwise every process mapping `library`
    (found again at each sample, so processes started later join)."""

    overhead_ns = 0
    attached = ("the lock directory (no probes)",)

    def __init__(self, library: str | None, pid: int | None = None):
        self.library = library
        self.pid = pid
        self.procs: dict[int, ProcessLocks] = {}
        # pid -> its part of the last snapshot; an exited process keeps its
        # final figures (read at most one sample interval before it exited)
        self.last: dict[int, Snapshot] = {}
        if pid is not None:
            self.procs[pid] = ProcessLocks(pid, library)

    @property
    def source(self) -> str:
        paths = sorted({p.path for p in self.procs.values()})
        return ", ".join(paths) if paths else (self.library or "libscl")

    def _scan(self) -> None:
        real = os.path.realpath(self.library) if self.library else None
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) in self.procs or int(entry) in self.last:
                continue
            try:
                maps = file_mappings(int(entry))
                if any(directory_symbol(p) is not None and (real is None or os.path.realpath(p) == real)
                       for p in maps):
                    self.procs[int(entry)] = ProcessLocks(int(entry), self.library)
            except (OSError, NotTraceable):
                continue

    def sample(self) -> Snapshot:
        if self.pid is None:
            self._scan()
        for pid, proc in list(self.procs.items()):
            part = Snapshot()
            try:
                proc.read(part)
            except OSError:   # exited: its last figures stay
                proc.close()
                del self.procs[pid]
                continue
            self.last[pid] = part
        snap = Snapshot()
        for part in self.last.values():
            snap.threads.update(part.threads)
            snap.locks.update(part.locks)
        return snap

    def close(self) -> None:
        for proc in self.procs.values():
            proc.close()
        self.procs.clear()
