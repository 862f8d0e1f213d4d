"""The hkl tick rows under the pattern panel's plots: one row per phase of the model (its
reflections from its cell and space group, ``nanotwin_core.phases``), labelled with the phase's
name, and, for a superstructure only, one row per superstructure class R, M, X. Where ticks
crowd (high Q) they turn into a density strip: shaded bins whose darkness counts reflections.
Hover a tick for hkl, Q, d and multiplicity.

A phase given by a pseudocubic cell a_p alone (the teaching dock's tilted CsPbX3) gets the
doubled-perovskite ticks of ``ticks.pseudocubic_ticks``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyqtgraph as pg
from nanotwin_app.plots.ticks import pseudocubic_ticks

from nanotwin_core.figures import TICK_COLOURS
from nanotwin_core.phases import phase_reflections, superstructure_zoom
from nanotwin_core.structures.structure import Structure

SUPER_ORDER = ("R", "M", "X", "superstructure")
CROWDED_GAP = 1 / 500  # ticks closer than this fraction of the axis span are crowded
STRIP_BINS = 250  # bins of the density strip over the axis span
Q_CACHE_STEP = 0.5  # 1/Å: tick lists are computed up to q_max rounded up to this (cached)
ROW_HEIGHT_PX = 12  # compact rows: the main plot keeps most of the panel's height
LABEL_POINTS = 7.5  # row labels fit a row
AXIS_HEIGHT_PX = 40  # the x axis (values and label) drawn under the rows


@dataclass
class PhaseTicks:
    """The ticks of one phase: Q (1/Å) per reflection, hover text, class, and its superstructure
    zoom window (1/Å, None where it has no superstructure)."""

    name: str
    q: np.ndarray
    text: list[str]
    klass: list[str]
    zoom: tuple[float, float] | None = None

    @property
    def classes(self) -> list[str]:
        """The superstructure classes present, in row order."""
        return [k for k in SUPER_ORDER if k in self.klass]


def structure_ticks(name: str, structure: Structure, q_max: float) -> PhaseTicks:
    """Ticks of a structure up to ``q_max`` (1/Å), from the core's reflections."""
    full = _structure_ticks(name, structure, math.ceil(q_max / Q_CACHE_STEP) * Q_CACHE_STEP)
    n = int(np.searchsorted(full.q, q_max, side="right"))
    return PhaseTicks(name, full.q[:n], full.text[:n], full.klass[:n], full.zoom)


@lru_cache(maxsize=16)
def _structure_ticks(name: str, structure: Structure, q_top: float) -> PhaseTicks:
    refl = phase_reflections(structure, q_top)
    text = [f"{name} {r.label}  Q = {r.q:.4f} 1/Å, d = {r.d:.4f} Å, m = {r.multiplicity}"
            + ("" if r.klass == "fundamental" else f"  [{r.klass}]") for r in refl]
    return PhaseTicks(name, np.array([r.q for r in refl]), text, [r.klass for r in refl],
                      superstructure_zoom(structure))


def pseudocubic_phase(a_p: float, q_max: float) -> PhaseTicks:
    """Ticks of a doubled perovskite of pseudocubic cell ``a_p`` (Å); its zoom runs from the
    pseudocubic (110) to (200), as ``phases.superstructure_zoom`` gives for a structure."""
    ticks = pseudocubic_ticks(a_p, q_max)
    text = [("" if t.klass == "fundamental" else t.klass + " ")
            + f"({t.hkl})  Q = {t.q:.3f} 1/Å, d = {t.d:.3f} Å"
            for t in ticks]
    zoom = (2 * np.pi * np.sqrt(2) / a_p * 0.98, 4 * np.pi / a_p * 1.02)
    return PhaseTicks(f"a_p = {a_p:.3f} Å", np.array([t.q for t in ticks]), text, [t.klass for t in ticks],
                      zoom)


def phase_ticks(phases: list[tuple[str, Structure]], a_p: float | None, q_max: float) -> list[PhaseTicks]:
    """The ticks of ``phases`` ((name, Structure) each), else of the pseudocubic cell ``a_p``."""
    if phases:
        return [structure_ticks(name, s, q_max) for name, s in phases]
    return [pseudocubic_phase(a_p, q_max)] if a_p is not None else []


def superstructure_positions(phases: list[PhaseTicks]) -> list[float]:
    """Q (1/Å) of every superstructure reflection of ``phases``."""
    return [float(q) for p in phases for q, k in zip(p.q, p.klass, strict=True) if k != "fundamental"]


def first_phase_items(phases: list[PhaseTicks], items: dict) -> dict:
    """The first phase's single-tick rows by class ("fundamental" for its row of all reflections)."""
    first = phases[0].name if phases else None
    return {("fundamental" if k == "all" else k): item for (name, k), item in items.items()
            if name == first and not k.endswith("strip")}


def crowded_from(x: np.ndarray, min_gap: float, window: int = 9) -> int:
    """Index (into sorted ``x``) after the last place where neighbours stand apart: from there on
    most gaps (averaged over ``window`` gaps) are below ``min_gap`` and the ticks are drawn as a
    density strip; len(x) when the end is not crowded."""
    if len(x) < 3:
        return len(x)
    crowded = (np.diff(x) < min_gap).astype(float)
    window = min(window, len(crowded))  # a longer kernel would make "same" return the kernel's length
    local = np.convolve(crowded, np.ones(window) / window, mode="same")
    apart = np.flatnonzero(local < 0.5)
    if not len(apart):
        return 0
    return len(x) if apart[-1] == len(crowded) - 1 else int(apart[-1]) + 1


def row_layout(phases: list[PhaseTicks]) -> list[tuple[int, str, int]]:
    """(phase index, class, row) of every row, top to bottom: a phase's row of all its
    reflections ("all"), then its superstructure classes."""
    rows = []
    for i, phase in enumerate(phases):
        rows.append((i, "all", -len(rows)))
        rows += [(i, k, -len(rows) - j) for j, k in enumerate(phase.classes)]
    return rows


def draw_phase_rows(plot, phases: list[PhaseTicks], to_axis: Callable[[np.ndarray], np.ndarray],
                    span: tuple[float, float] | None, *, labels: bool = True) -> dict[tuple, object]:
    """Draw the rows of ``phases`` in ``plot``; ``to_axis`` maps Q to the x axis; ticks closer
    than ``CROWDED_GAP`` of ``span`` (the x range shown) become a density strip (``span`` None:
    never, as in the zoom plot). Returns the items by (phase name, class): a ScatterPlotItem of
    single ticks, a BarGraphItem (class + " strip") of the strip."""
    plot.clear()
    items: dict[tuple[str, str], object] = {}
    rows = row_layout(phases)
    for i, klass, y in rows:
        phase = phases[i]
        sel = np.arange(len(phase.q)) if klass == "all" else np.flatnonzero(np.array(phase.klass) == klass)
        x = to_axis(phase.q[sel])
        ok = np.isfinite(x)
        sel, x = sel[ok], x[ok]
        order = np.argsort(x)
        sel, x = sel[order], x[order]
        width = None if span is None else (abs(span[1] - span[0]) or 1.0)
        cut = len(x) if width is None else crowded_from(x, CROWDED_GAP * width)
        colour = TICK_COLOURS["fundamental" if klass == "all" else klass]
        items[(phase.name, klass)] = tick = pg.ScatterPlotItem(
            x=x[:cut], y=np.full(cut, y, float), data=[phase.text[j] for j in sel[:cut]], symbol="|",
            size=10, pen=pg.mkPen(colour, width=1.5), brush=pg.mkBrush(colour), hoverable=True,
            tip=_tick_tip)
        plot.addItem(tick)
        if cut < len(x):
            items[(phase.name, klass + " strip")] = strip = _density_strip(x[cut:], width / STRIP_BINS, y,
                                                                           colour)
            plot.addItem(strip)
        if labels:
            label = pg.TextItem(phase.name if klass == "all" else klass, color=colour,
                                anchor=(0, 0.5), fill=pg.mkBrush(255, 255, 255, 220))
            font = label.textItem.font()
            font.setPointSizeF(LABEL_POINTS)
            label.setFont(font)
            plot.addItem(label, ignoreBounds=True)
            label.setPos(min(span) if span is not None else 0.0, y)
            label.setZValue(10)
    plot.setYRange(-len(rows) + 0.4, 0.6, padding=0)
    height = ROW_HEIGHT_PX * max(len(rows), 1) + AXIS_HEIGHT_PX
    plot.setMinimumHeight(height)
    plot.setMaximumHeight(height)
    return items


def _density_strip(x: np.ndarray, bin_width: float, y: float, colour: str) -> pg.BarGraphItem:
    """Bins of ``bin_width`` along x whose opacity grows with the number of reflections in them."""
    edges = np.arange(x.min(), x.max() + bin_width, bin_width)
    counts, edges = np.histogram(x, bins=edges if len(edges) > 1 else 1)
    keep = counts > 0
    alpha = 60 + 195 * np.sqrt(counts[keep] / counts.max())
    c = pg.mkColor(colour)
    brushes = [pg.mkBrush(c.red(), c.green(), c.blue(), int(a)) for a in alpha]
    return pg.BarGraphItem(x0=edges[:-1][keep], x1=edges[1:][keep], y0=np.full(keep.sum(), y - 0.3),
                           height=0.6, brushes=brushes, pens=[pg.mkPen(None)] * int(keep.sum()))


def _tick_tip(x: float = 0.0, y: float = 0.0, data: object = None) -> str:
    return str(data)
