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


def figure(width: float = 7.0, height: float = 3.2, ncols: int = 1):
    """A matplotlib figure for a fragment (headless backend)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt.subplots(1, ncols, figsize=(width, height))


def save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def grouped_bars(ax, groups: Sequence[str], series: dict[str, Sequence[float]]) -> None:
    """One bar per (group, series), the series side by side within each group."""
    import numpy as np
    width = 0.8 / max(1, len(series))
    for k, (label, values) in enumerate(series.items()):
        ax.bar(np.arange(len(groups)) + k * width, values, width, label=label)
    ax.set_xticks(np.arange(len(groups)) + width * (len(series) - 1) / 2, list(groups))


def fragment(conditions: str, header: Sequence[str], rows: Iterable[Sequence],
             images: Iterable[tuple[str, Path]] = ()) -> str:
    """A result's Markdown: its conditions, its table, then its plots (captioned, linked by name)."""
    parts = [f"Conditions: {conditions}", "", markdown_table(header, rows), ""]
    parts += [f"![{caption}]({path.name})" for caption, path in images]
    return "\n".join(parts + [""])
