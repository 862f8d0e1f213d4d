"""Exports of the pattern panel: the curves as .xye/.csv tables, the plots as SVG/PDF figures
redrawn with matplotlib (pyqtgraph 0.14's SVG exporter is broken with current Qt); PNG is the
panel's own screen grab (``PatternPanel.export_png``)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from nanotwin_app.plots.pattern_panel import (
    DATA_KEY,
    DIFF_COLOUR,
    DIFF_KEY,
    DIFF_LABEL,
    PatternPanel,
)
from nanotwin_app.plots.plot_math import overlay_key
from nanotwin_app.plots.tick_rows import TICK_COLOURS, row_layout
from PySide6.QtCore import Qt

from nanotwin_core.io.data import write_pattern


def export_table(panel: PatternPanel, path: str | Path) -> list[Path]:
    """Write the curves: ``.csv`` = all curves in columns (overlays included); ``.xye``/``.xy`` =
    one file per calculated curve."""
    path = Path(path)
    if not panel.patterns:
        raise ValueError("no calculated pattern to export")
    header = [f"nanotwin pattern panel export; x axis: Q (1/A); wavelength for 2theta: {panel.wavelength}"]
    if path.suffix.lower() == ".csv":
        table = dict(panel.patterns)
        for name, curves in panel.overlays.items():
            table.update({overlay_key(name, label): qy for label, qy in curves.items()})
        labels = list(table)
        q0 = table[labels[0]][0]
        cols = [q0]
        for label in labels:
            q, y = table[label]
            if len(q) == len(q0) and np.allclose(q, q0):
                cols.append(y)
            else:
                order = np.argsort(q)
                cols.append(np.interp(q0, q[order], y[order], left=np.nan, right=np.nan))
        lines = ["# " + h for h in header]
        lines.append(",".join(['"Q (1/A)"'] + ['"' + lab.replace('"', "'") + '"' for lab in labels]))
        arr = np.column_stack(cols)
        lines += [",".join(f"{v:.8g}" for v in row) for row in arr]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return [path]
    out = []
    for i, (label, (q, y)) in enumerate(panel.patterns.items()):
        target = path if len(panel.patterns) == 1 else path.with_name(f"{path.stem}_{i + 1}{path.suffix}")
        lines = [*header, f"model: {label}", "axis: Q (1/A)", "columns: Q I"]
        write_pattern(target, q, y, header_lines=lines)
        out.append(target)
    return out


def export_figure(panel: PatternPanel, path: str | Path) -> Path:
    """Save the plots: ``.png`` as on screen, ``.svg`` or ``.pdf`` redrawn with matplotlib
    (pyqtgraph 0.14's SVG exporter is broken with current Qt). Only visible curves are drawn;
    SVG lines carry ids ``main/KEY`` and ``zoom/KEY``. Returns the path written."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt == "png":
        panel.export_png(path)
        return path
    if fmt not in ("svg", "pdf"):
        raise ValueError(f"figures are written as PNG, SVG or PDF, not {path.suffix or 'no suffix'}")

    fig = matplotlib_figure(panel)
    tmp = path.with_name(path.name + ".part")
    try:
        with matplotlib.rc_context({"svg.fonttype": "none", "pdf.fonttype": 42}):
            fig.savefig(tmp, format=fmt)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def matplotlib_figure(panel: PatternPanel) -> Figure:
    """A matplotlib ``Figure`` of the visible curves: main plot, zoom plot and tick rows."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 5.2), layout="constrained")
    grid = fig.add_gridspec(2, 2, width_ratios=(3, 2), height_ratios=(6, 1))
    ax_main, ax_zoom = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1])
    ax_ticks = fig.add_subplot(grid[1, 0], sharex=ax_main)
    ax_zticks = fig.add_subplot(grid[1, 1], sharex=ax_zoom)
    for key, items in panel.items.items():
        if key in panel.hidden or not items:
            continue
        x, y = items[0].getData()
        if x is None or not len(x):
            continue
        opts = items[0].opts
        for ax, where in ((ax_main, "main"), (ax_zoom, "zoom")):
            if key == DATA_KEY:
                if panel.error_bars:
                    b = panel.error_bars[0].opts
                    eb = ax.errorbar(b["x"], b["y"], yerr=np.vstack([b["bottom"], b["top"]]), fmt="none",
                                     ecolor="0.6", elinewidth=0.6, zorder=1)
                    eb.lines[2][0].set_gid(f"{where}/{key}/error bars")
                (line,) = ax.plot(x, y, "o", ms=1.8, color="0.3", label=plain_label(panel, key), zorder=2)
            else:
                pen = opts["pen"]
                colour = pen.color().name() if hasattr(pen, "color") else "k"
                style = {Qt.PenStyle.DashLine: "--", Qt.PenStyle.DotLine: ":",
                         Qt.PenStyle.DashDotLine: "-."}.get(pen.style(), "-")
                (line,) = ax.plot(x, y, style, color=colour, lw=1.0, label=plain_label(panel, key),
                                  zorder=3)
            line.set_gid(f"{where}/{key}")
        if key == DIFF_KEY and panel.difference_offset is not None:
            for ax in (ax_main, ax_zoom):
                ax.axhline(panel.difference_offset, color=DIFF_COLOUR, lw=0.6, ls=":")
    xlabel = {"Q": "Q (1/Å)", "2theta": "2θ (°)", "d": "d (Å)"}[panel.x_axis]
    ylabel = {"linear": "I", "sqrt": "√I", "log": "log₁₀ I"}[panel.y_scale]
    ax_main.set_ylabel(ylabel)
    if ax_main.get_legend_handles_labels()[0]:
        ax_main.legend(fontsize=7, loc="upper right", frameon=False)
    lo, hi = sorted(panel.region.getRegion())
    ax_zoom.set_xlim(lo, hi)
    zoom_y = panel.zoom_plot.getViewBox().viewRange()[1]
    ax_zoom.set_ylim(*zoom_y)
    ax_zoom.set_title("superstructure region", fontsize=9)
    ax_main.axvspan(lo, hi, color=(1.0, 0.78, 0.0, 0.15), lw=0)
    rows = row_layout(panel.phase_ticks) if panel.ticks_check.isChecked() else []
    for ax in (ax_ticks, ax_zticks):
        ax.set_yticks([])
        ax.set_ylim(-max(len(rows), 1) + 0.4, 0.6)
        ax.set_xlabel(xlabel)
    for ax in (ax_main, ax_zoom):
        ax.tick_params(labelbottom=False)
    for (name, klass), item in panel.phase_items.items():
        if klass.endswith("strip"):
            continue
        x, y = item.getData()
        colour = TICK_COLOURS["fundamental" if klass == "all" else klass]
        for ax in (ax_ticks, ax_zticks):
            ax.plot(x, y, "|", ms=9, color=colour)
        ax_ticks.annotate(name if klass == "all" else klass, (0, y[0] if len(y) else 0), fontsize=7,
                          color=colour, xycoords=("axes fraction", "data"), ha="right", va="center")
    if panel.caption:
        fig.suptitle(textwrap.fill(panel.caption, 160), fontsize=8)
    return fig


def plain_label(panel: PatternPanel, key: str) -> str:
    """A curve's label as plain text (no HTML, no matplotlib mathtext)."""
    if key == DATA_KEY:
        return f"observed: {panel.data[2]}" if panel.data else "observed"
    if key == DIFF_KEY:
        return DIFF_LABEL
    return key.replace("$", r"\$")  # matplotlib mathtext

