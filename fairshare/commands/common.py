"""Helpers shared by the subcommands."""
from __future__ import annotations

import math
from typing import Any, Sequence

from sharekit.cli import UsageError

from ..errors import ProblemError
from ..model import Problem, load_problem


def read_problem(path: str) -> Problem:
    try:
        return load_problem(path)
    except ProblemError as exc:
        raise UsageError(str(exc)) from None


def policy_runner(name: str):
    from ..policies import get_policy
    try:
        return get_policy(name)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def fmt(v: Any, digits: int = 3) -> str:
    if isinstance(v, float):
        if math.isinf(v):
            return "-inf" if v < 0 else "inf"
        if math.isnan(v):
            return "-"
        return f"{v:.{digits}f}"
    return str(v)


def table(header: Sequence[str], rows: Sequence[Sequence[Any]], digits: int = 3) -> str:
    cells = [[str(h) for h in header]] + [[fmt(c, digits) for c in r] for r in rows]
    widths = [max(len(r[k]) for r in cells) for k in range(len(header))]
    lines = []
    for j, r in enumerate(cells):
        lines.append("  ".join(c.ljust(w) if k == 0 else c.rjust(w) for k, (c, w) in enumerate(zip(r, widths))))
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def pct(v: float) -> str:
    return f"{100 * v:.2f}%"
