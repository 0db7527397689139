"""What every reproduced result is made of: its rows in the report and its fragment.

A result is one module in `experiments/results/` with a `TITLE` and a
`run(ctx) -> Result`.  It writes its own CSV data and PNG plots into
`ctx.dir`, and returns the rows of the report's summary table plus a
Markdown fragment (conditions first) that the report embeds.
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

VERDICTS = ("reproduced", "partly", "not reproduced", "not run")


@dataclass(frozen=True)
class Row:
    """One claim of a paper next to our figure."""
    claim: str
    paper: str          # the published figure, with the figure or table it comes from
    ours: str
    conditions: str
    verdict: str
    note: str = ""      # one sentence on any difference

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict {self.verdict!r} is not one of {', '.join(VERDICTS)}")


@dataclass
class Result:
    rows: list[Row]
    fragment: str                       # Markdown; image links are relative to the result's folder
    files: list[Path] = field(default_factory=list)


@dataclass
class Context:
    name: str
    dir: Path
    quick: bool
    progress: bool = True

    def bar(self, iterable: Iterable | None = None, total: int | None = None, desc: str = ""):
        from tqdm import tqdm
        return tqdm(iterable, total=total, desc=f"{self.name}: {desc}" if desc else self.name,
                    unit="step", leave=False, disable=not self.progress)

    def write_csv(self, filename: str, header: Sequence[str], rows: Iterable[Sequence]) -> Path:
        path = self.dir / filename
        with open(path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(rows)
        return path


def machine_conditions() -> str:
    """Cores, kernel and load, for the fragments' condition lines."""
    load1, _, _ = os.getloadavg()
    return f"{os.cpu_count()} cores, Linux {os.uname().release}, load average {load1:.1f} at start"


def markdown_table(header: Sequence[str], rows: Iterable[Sequence]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


__all__ = ["Row", "Result", "Context", "VERDICTS", "machine_conditions", "markdown_table"]
