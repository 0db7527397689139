"""Reader for the Alibaba cluster-trace-gpu-v2023 CSVs in workloads/data/alibaba.

Units are converted on read: CPU milli-cores -> cores, memory MiB -> GiB,
GPU milli-share -> fractional GPUs (gpus = num_gpu * gpu_milli / 1000 for
one-GPU pods, num_gpu otherwise).  `gpu_spec` alternatives are split on '|'
and de-duplicated (one row lists V100M32 twice).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data" / "alibaba"
NODE_FILE = "alibaba-gpu-2023-openb_node_list_all_node.csv"
POD_FILES = {"default": "alibaba-gpu-2023-openb_pod_list_default.csv",
             "gpuspec33": "alibaba-gpu-2023-openb_pod_list_gpuspec33.csv"}


class TraceFormatError(ValueError):
    """A trace row is malformed; the message names file, line and column."""


@dataclass(frozen=True)
class Node:
    name: str
    cpu: float      # cores
    mem: float      # GiB
    gpu: int        # whole GPUs
    model: str      # GPU model, "" for CPU-only nodes


@dataclass(frozen=True)
class Pod:
    name: str
    cpu: float
    mem: float
    num_gpu: int
    gpu_milli: int
    gpu_spec: tuple[str, ...]
    qos: str
    phase: str
    creation: float
    deletion: float | None
    scheduled: float | None

    @property
    def gpu(self) -> float:
        """GPUs requested, fractional for shared single-GPU pods."""
        if self.num_gpu == 1:
            return self.gpu_milli / 1000.0
        return float(self.num_gpu)


def _rows(path: Path, required: list[str]):
    try:
        fh = path.open(newline="")
    except OSError as exc:
        raise TraceFormatError(f"{path}: cannot read: {exc.strerror}") from None
    with fh:
        reader = csv.DictReader(fh)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise TraceFormatError(f"{path}: missing column(s) {', '.join(missing)}")
        for row in reader:
            yield reader.line_num, row


def _num(row, col, path, line, kind=float, optional=False):
    v = row[col]
    if v in ("", None):
        if optional:
            return None
        raise TraceFormatError(f"{path}:{line}: column {col!r} is empty")
    try:
        return kind(float(v)) if kind is int else kind(v)
    except ValueError:
        raise TraceFormatError(f"{path}:{line}: column {col!r}: not a number: {v!r}") from None


def read_nodes(path: str | Path | None = None) -> list[Node]:
    path = Path(path) if path else DATA_DIR / NODE_FILE
    out = []
    for line, row in _rows(path, ["sn", "cpu_milli", "memory_mib", "gpu", "model"]):
        out.append(Node(row["sn"], _num(row, "cpu_milli", path, line) / 1000.0,
                        _num(row, "memory_mib", path, line) / 1024.0, _num(row, "gpu", path, line, int),
                        row["model"] or ""))
    return out


def read_pods(variant: str = "gpuspec33", path: str | Path | None = None) -> list[Pod]:
    if path is None:
        if variant not in POD_FILES:
            raise TraceFormatError(f"unknown pod list variant {variant!r} (choose from {', '.join(POD_FILES)})")
        path = DATA_DIR / POD_FILES[variant]
    path = Path(path)
    cols = ["name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli", "gpu_spec", "qos", "pod_phase",
            "creation_time", "deletion_time", "scheduled_time"]
    out = []
    for line, row in _rows(path, cols):
        spec = tuple(sorted(set(s for s in (row["gpu_spec"] or "").split("|") if s)))
        out.append(Pod(row["name"], _num(row, "cpu_milli", path, line) / 1000.0,
                       _num(row, "memory_mib", path, line) / 1024.0, _num(row, "num_gpu", path, line, int),
                       _num(row, "gpu_milli", path, line, int), spec, row["qos"], row["pod_phase"],
                       _num(row, "creation_time", path, line), _num(row, "deletion_time", path, line, optional=True),
                       _num(row, "scheduled_time", path, line, optional=True)))
    return out
