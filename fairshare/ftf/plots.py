"""PNG plots for GPU finish-time fairness runs: rho CDF, GPU utilisation
over time, JCT CDF (matplotlib, Agg backend)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def plot_gpu_results(results, out: Path) -> list[Path]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    out.mkdir(parents=True, exist_ok=True)
    files = []

    def cdf(name, values_of, xlabel, log=False, vline=None):
        fig, ax = plt.subplots(figsize=(6, 4))
        for r in results:
            v = np.sort(np.array(list(values_of(r))))
            if len(v):
                ax.step(v, np.arange(1, len(v) + 1) / len(v), where="post", label=r.policy)
        if vline is not None:
            ax.axvline(vline, color="grey", ls=":", lw=1)
        if log:
            ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("fraction of jobs")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        files.append(out / name)

    cdf("rho_cdf.png", lambda r: r.rho.values(), "finish-time fairness rho (log)", log=True, vline=1.0)
    cdf("jct_cdf.png", lambda r: np.array(list(r.jct.values())) / 3600.0, "job completion time (h, log)", log=True)
    fig, ax = plt.subplots(figsize=(9, 3.5))
    for r in results:
        ax.step(r.times / 3600.0, 100 * r.utilisation, where="post", lw=0.9, label=r.policy)
    ax.set_xlabel("time (h)")
    ax.set_ylabel("GPUs in use %")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "gpu_utilisation.png", dpi=110)
    plt.close(fig)
    files.append(out / "gpu_utilisation.png")
    return files
