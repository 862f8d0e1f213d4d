"""Exports of the pattern panel, drawn from its curves (never a screen grab):

- ``export_figure``: a figure for a paper through the core's ``figures.pattern_figure``
  (matplotlib): the chosen curves on the panel's x axis and intensity scale, the difference
  offset below the pattern or in its own panel, the hkl tick rows, the zoom panel, at a size in
  mm or px, a DPI and a font size; PNG, SVG, PDF or TIFF; plain-text titles;
- ``export_curves``: the chosen curves as one table (x, observed, sigma, each calculated curve,
  background, difference, overlays: columns named after the curves) or one ``.xye`` file per
  curve, through ``nanotwin_core.io.pattern_table`` (header with model, wavelength and date;
  mode 0644).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from nanotwin_app.plots.pattern_panel import DATA_KEY, DIFF_KEY, DIFF_LABEL, PatternPanel
from nanotwin_app.plots.plot_math import q_to_axis
from nanotwin_app.plots.tick_rows import TICK_COLOURS, row_layout
from PySide6.QtGui import QTextDocumentFragment

from nanotwin_core.figures import (
    X_LABELS,
    FigureCurve,
    FigureLayout,
    FigureTicks,
    PatternFigureSpec,
    pattern_figure,
)
from nanotwin_core.io.pattern_table import export_header, write_curve_files, write_pattern_table

TABLE_SUFFIXES = (".csv", ".txt", ".dat", ".tsv")


@dataclass
class FigureChoice:
    """What File > Export figure draws: the curves (keys; None: the visible ones), the difference
    offset below the pattern (else in its own panel), the tick rows, the zoom panel, the size."""

    keys: Sequence[str] | None = None
    offset_difference: bool = True
    ticks: bool = True
    zoom: bool = True
    layout: FigureLayout | None = None


def plain_caption(text: str) -> str:
    """A rich-text caption of the panel as plain text (entities decoded, tags dropped)."""
    return QTextDocumentFragment.fromHtml(text).toPlainText() if text else ""


def chosen_keys(panel: PatternPanel, keys: Sequence[str] | None) -> list[str]:
    """``keys`` in drawing order (None: the visible curves); unknown keys raise ValueError."""
    if keys is None:
        return [k for k in panel.curve_keys() if panel.is_curve_visible(k)]
    unknown = [k for k in keys if k not in panel.items]
    if unknown:
        raise ValueError(f"no curve {', '.join(map(repr, unknown))} in the pattern panel")
    return [k for k in panel.curve_keys() if k in keys]


def figure_spec(panel: PatternPanel, choice: FigureChoice | None = None) -> PatternFigureSpec:
    """The panel's chosen curves as a core figure spec (its x axis and intensity scale)."""
    choice = choice or FigureChoice()
    keys = chosen_keys(panel, choice.keys)
    curves = []
    reference = None
    for key in keys:
        if key == DIFF_KEY:
            reference = panel.difference_label()
            continue
        if key == DATA_KEY:
            q, y, name = panel.data
            ys, sigma = panel.scaled(q, y), None
            if panel.sigma is not None and panel.y_scale == "linear":
                sigma = panel.sigma
            curves.append(FigureCurve(f"observed ({name})", panel.to_axis(q), ys, "observed", sigma=sigma,
                                      key=DATA_KEY))
            continue
        q, y = panel.curve_data(key)
        kind = ("overlay" if key.startswith("[") else "background" if "background" in key.lower()
                else "calculated")
        curves.append(FigureCurve(key, panel.to_axis(q), panel.scaled(q, y), kind,
                                  colour=panel.curve_colour(panel.items[key][0]), key=key))
    if reference is not None and (DATA_KEY not in keys or reference not in keys):
        reference = None  # the difference needs the observed and the calculated curves drawn
    rows = []
    if choice.ticks and panel.ticks_check.isChecked():
        for i, klass, _y in row_layout(panel.phase_ticks):
            phase = panel.phase_ticks[i]
            sel = np.ones(len(phase.q), bool) if klass == "all" else np.array(phase.klass) == klass
            rows.append(FigureTicks(phase.name if klass == "all" else f"{phase.name} {klass}",
                                    panel.to_axis(phase.q[sel]),
                                    TICK_COLOURS["fundamental" if klass == "all" else klass]))
    zoom = None
    if choice.zoom and panel.zoom_plot.isVisible():
        zoom = tuple(sorted(panel.region.getRegion()))
    return PatternFigureSpec(
        curves=curves, x_label=X_LABELS[panel.x_axis], y_label=panel.intensity_label(power=0), ticks=rows,
        difference_of=reference, offset_difference=choice.offset_difference,
        title=plain_caption(panel.caption),
        zoom=zoom, zoom_title=panel.zoom_title() if zoom else "",
        zoom_y=tuple(panel.zoom_plot.getViewBox().viewRange()[1]) if zoom else None)


def export_figure(panel: PatternPanel, path: str | Path, choice: FigureChoice | None = None) -> Path:
    """Write the panel's figure (format by suffix: .png, .svg, .pdf, .tif); returns the path."""
    choice = choice or FigureChoice()
    return pattern_figure(figure_spec(panel, choice), path, choice.layout)


def export_curves(panel: PatternPanel, path: str | Path, keys: Sequence[str] | None = None, *,
                  model: str = "") -> list[Path]:
    """Write the chosen curves (None: the visible ones): ``.csv``/``.txt``/``.dat``/``.tsv`` =
    one table, anything else (``.xye``, ``.xy``) = one file per curve. The x axis is the panel's
    2θ when it shows 2θ, else Q. Returns the paths written."""
    path = Path(path)
    keys = chosen_keys(panel, keys)
    if not keys:
        raise ValueError("no curve to export")
    axis = "2theta" if panel.x_axis == "2theta" else "Q"
    kind = "tth" if axis == "2theta" else "q"
    header = export_header(model, panel.wavelength, kind)
    curves: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray | None]] = {}
    for key in keys:
        if key == DATA_KEY:
            q, y, _name = panel.data
            curves["observed"] = (q, y, panel.sigma)
        elif key == DIFF_KEY:
            q, d = panel.difference()
            curves[DIFF_LABEL] = (q, d, None)
        else:
            q, y = panel.curve_data(key)
            curves[key] = (q, y, None)
    to_axis = {k: (q_to_axis(q, axis, panel.wavelength), y, s) for k, (q, y, s) in curves.items()}
    if path.suffix.lower() not in TABLE_SUFFIXES:
        return write_curve_files(path, kind, to_axis, header)
    x = to_axis["observed"][0] if "observed" in to_axis else to_axis[next(iter(to_axis))][0]
    columns = {}
    for name, (cx, y, s) in to_axis.items():
        columns[name] = (cx, y)
        if s is not None:
            columns["sigma"] = (cx, s)
    return [write_pattern_table(path, kind, x, columns, header)]
