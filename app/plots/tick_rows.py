"""The hkl tick rows under the pattern panel's plots: one row per class (fundamental, R, M, X) of
the pseudocubic reflections, hover for hkl, Q and d."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from nanotwin_app.plots.ticks import TICK_CLASSES, pseudocubic_ticks

TICK_COLOURS = {"fundamental": "#404040", "R": "#d62728", "M": "#1f77b4", "X": "#2ca02c"}
TICK_ROW = {name: -i for i, name in enumerate(TICK_CLASSES)}
ROWS_Y_RANGE = (-3.6, 0.6)


def draw_tick_rows(plots, a_p: float | None, q_max: float,
                   to_axis: Callable[[np.ndarray], np.ndarray]) -> dict[str, pg.ScatterPlotItem]:
    """Draw the rows of pseudocubic cell ``a_p`` (Å; None: none) up to ``q_max`` (1/Å) in every
    plot of ``plots`` (the first gets the class labels); ``to_axis`` maps Q to the x axis. Returns
    the first plot's items by class."""
    items: dict[str, pg.ScatterPlotItem] = {}
    for plot in plots:
        plot.clear()
    if a_p is None:
        return items
    ticks = pseudocubic_ticks(a_p, q_max)
    for klass in TICK_CLASSES:
        sel = [t for t in ticks if t.klass == klass]
        if not sel:
            continue
        x = to_axis(np.array([t.q for t in sel]))
        ok = np.isfinite(x)
        name = "" if klass == "fundamental" else klass + " "
        data = [f"{name}({t.hkl})  Q = {t.q:.3f} 1/Å, d = {t.d:.3f} Å"
                for t, good in zip(sel, ok, strict=True) if good]
        for plot in plots:
            item = pg.ScatterPlotItem(
                x=x[ok], y=np.full(int(ok.sum()), TICK_ROW[klass], float), data=data, symbol="|", size=14,
                pen=pg.mkPen(TICK_COLOURS[klass], width=2), brush=pg.mkBrush(TICK_COLOURS[klass]),
                hoverable=True, tip=_tick_tip,
            )
            plot.addItem(item)
            items.setdefault(klass, item)
        label = pg.TextItem("F" if klass == "fundamental" else klass, color=TICK_COLOURS[klass],
                            anchor=(1, 0.5))
        plots[0].addItem(label, ignoreBounds=True)
        label.setPos(float(np.nanmin(x)) if ok.any() else 0.0, TICK_ROW[klass])
    for plot in plots:
        plot.setYRange(*ROWS_Y_RANGE, padding=0)
    return items


def _tick_tip(x: float = 0.0, y: float = 0.0, data: object = None) -> str:
    return str(data)
