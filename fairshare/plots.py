"""PNG plots for `fairshare simulate` (matplotlib, Agg backend)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_results(results, out: Path) -> list[Path]:
    plt = _plt()
    out.mkdir(parents=True, exist_ok=True)
    files = []
    scale, unit = (3600.0, "h")
    # Utilisation over time, one panel per resource, one line per policy.
    res = results[0].resources
    fig, axes = plt.subplots(len(res) + 1, 1, figsize=(9, 2.2 * (len(res) + 1)), sharex=True)
    for ax, (k, r) in zip(np.atleast_1d(axes), enumerate(res)):
        for sim in results:
            ax.step(sim.times / scale, 100 * sim.utilisation[:, k], where="post", label=sim.policy, lw=0.9)
        ax.set_ylabel(f"{r} used %")
        ax.grid(alpha=0.3)
    for sim in results:
        axes[-1].step(sim.times / scale, sim.running, where="post", lw=0.9, label=sim.policy)
    axes[-1].set_ylabel("tasks running")
    axes[-1].grid(alpha=0.3)
    np.atleast_1d(axes)[0].legend(fontsize=8, ncol=4)
    np.atleast_1d(axes)[-1].set_xlabel(f"time ({unit})")
    fig.suptitle("Utilisation and running tasks over time")
    fig.tight_layout()
    files.append(out / "utilisation.png")
    fig.savefig(files[-1], dpi=110)
    plt.close(fig)
    # Dominant shares of the largest frameworks, first policy and last policy.
    fig, axes = plt.subplots(len(results), 1, figsize=(9, 2.6 * len(results)), sharex=True)
    for ax, sim in zip(np.atleast_1d(axes), results):
        for k, name in enumerate(sim.tracked):
            ax.step(sim.times / scale, sim.shares[:, k], where="post", lw=0.9, label=name[:28])
        ax.set_ylabel("weighted dom. share")
        ax.set_title(sim.policy, fontsize=9)
        ax.grid(alpha=0.3)
    np.atleast_1d(axes)[0].legend(fontsize=6, ncol=2)
    np.atleast_1d(axes)[-1].set_xlabel(f"time ({unit})")
    fig.tight_layout()
    files.append(out / "dominant_shares.png")
    fig.savefig(files[-1], dpi=110)
    plt.close(fig)
    # JCT CDF.
    fig, ax = plt.subplots(figsize=(7, 4))
    for sim in results:
        j = np.sort(np.array(list(sim.jct.values())))
        if len(j):
            ax.step(j, np.arange(1, len(j) + 1) / len(j), where="post", label=sim.policy)
    ax.set_xscale("log")
    ax.set_xlabel("job completion time (s)")
    ax.set_ylabel("CDF")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    files.append(out / "jct_cdf.png")
    fig.savefig(files[-1], dpi=110)
    plt.close(fig)
    return files
