"""Publication figures with matplotlib's Agg backend (headless PNG, SVG, PDF)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def demo_figure(result, path: str | Path, *, dpi: int = 130) -> Path:
    """Two panels: the whole pattern (sqrt intensity) and the superstructure zoom.

    Curves are normalised to the strongest peak of the first model so that the zoom compares
    absolute superstructure heights; the file is written atomically.
    """
    plt = pyplot()
    demo = result.demo
    q = result.q
    ref = max(float(np.max(next(iter(result.intensities.values())))), 1e-300)
    fig, (ax_all, ax_zoom) = plt.subplots(
        1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [1.4, 1.0]}, layout="constrained"
    )
    lo, hi = demo.zoom
    sel = (q >= lo) & (q <= hi)
    for label, intensity in result.intensities.items():
        y = intensity / ref
        ax_all.plot(q, y, lw=0.9, label=label)
        ax_zoom.plot(q[sel], y[sel], lw=1.1, label=label)
    ax_all.set_yscale("function", functions=(_sqrt, np.square))
    ax_all.set_xlabel("Q (1/Å)")
    ax_all.set_ylabel("I / max")
    ax_all.axvspan(lo, hi, color="0.9", zorder=0)
    ax_all.set_title(demo.title, fontsize=10)
    # the weak superstructure peaks set the zoom's scale, not the fundamentals at its edges
    centre = (q >= lo + 0.15 * (hi - lo)) & (q <= hi - 0.15 * (hi - lo))
    if np.any(centre):
        top = max(float(np.max(i[centre])) for i in result.intensities.values()) / ref
        ax_zoom.set_ylim(0, 1.3 * top)
    ax_zoom.set_xlabel("Q (1/Å)")
    ax_zoom.set_title(f"superstructure region {lo}-{hi} 1/Å", fontsize=10)
    ax_zoom.legend(fontsize=8, loc="upper left")
    return save_figure(fig, path, dpi=dpi)


def _sqrt(y):
    return np.sqrt(np.clip(y, 0.0, None))


FIGURE_MARK = "nanotwin figure"  # in the metadata of every saved figure (safe to replace it)


def save_figure(fig, path: str | Path, *, dpi: int = 130) -> Path:
    """Save a figure atomically (temporary file, then rename); the format follows the suffix.
    Its metadata (Creator) carries ``FIGURE_MARK``."""
    plt = pyplot()
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        fig.savefig(tmp, dpi=dpi, format=path.suffix.lstrip(".") or "png", metadata={"Creator": FIGURE_MARK})
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        if tmp.exists():
            tmp.unlink()
    return path


def size_distribution_figure(populations, path: str | Path, *, dpi: int = 130) -> Path | None:
    """Number- and volume-weighted size distributions of a fit's ``populations`` entries: a
    histogram per one-size population, number and volume maps over (D_ab, L_c) per prism
    population (as the paper's Fig. 6b). None (nothing written) where no entry is a
    distribution (single crystals)."""
    from nanotwin_core.population.distributions import LogNormal
    from nanotwin_core.population.size_maps import distribution_of, size_histogram, size_map

    dists = [(e.get("name", "population"), distribution_of(e)) for e in populations]
    dists = [(n, d) for n, d in dists if d is not None]
    if not dists:
        return None
    plt = pyplot()
    fig, axes = plt.subplots(len(dists), 2, figsize=(9, 3.4 * len(dists)), squeeze=False,
                             layout="constrained")
    for (name, dist), (ax_n, ax_v) in zip(dists, axes, strict=True):
        if isinstance(dist, LogNormal):
            h = size_histogram(dist)
            for ax, w, label in ((ax_n, h.number, "number"), (ax_v, h.volume, "volume")):
                ax.stairs(w / np.diff(h.edges_nm), h.edges_nm, fill=True, alpha=0.6)
                ax.set_xlabel("D (nm)")
                ax.set_ylabel(f"{label} fraction per nm")
                ax.set_title(f"{name}: {label}-weighted", fontsize=9)
        else:
            m = size_map(dist)
            for ax, w, label in ((ax_n, m.number, "number"), (ax_v, m.volume, "volume")):
                mesh = ax.pcolormesh(m.dab_edges_nm, m.lc_edges_nm, w.T, cmap="viridis", shading="flat")
                fig.colorbar(mesh, ax=ax, label=f"{label} fraction per cell")
                ax.set_xlabel("D_ab (nm)")
                ax.set_ylabel("L_c (nm)")
                ax.set_title(f"{name}: {label}-weighted", fontsize=9)
    return save_figure(fig, path, dpi=dpi)
