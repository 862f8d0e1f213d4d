"""What the command line's pattern figures show: a fit (observed ±σ, calculated, its parts,
background, difference, hkl ticks of every phase) or a simulation (calculated curves and ticks),
as a ``figures.PatternFigureSpec`` on the data's own axis (2θ or Q).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from nanotwin_core.figures import (
    TICK_COLOURS,
    X_LABELS,
    FigureCurve,
    FigureTicks,
    PatternFigureSpec,
    y_label,
)
from nanotwin_core.geometry import two_theta_from_q
from nanotwin_core.phases import phase_reflections
from nanotwin_core.structures.structure import Structure

CALCULATED = "calculated"
SUPER_ORDER = ("R", "M", "X", "superstructure")


def axis_converter(x_kind: str, wavelength: float | None) -> Callable[[np.ndarray], np.ndarray]:
    """Q (1/Å) -> the axis of ``x_kind`` ("q" or "tth", which needs ``wavelength`` in Å; NaN
    beyond 2θ = 180°)."""
    if x_kind == "q":
        return lambda q: np.asarray(q, float)
    return lambda q: two_theta_from_q(q, wavelength, beyond="nan")


def phase_tick_rows(phases: Sequence[tuple[str, Structure]], q_min: float, q_max: float,
                    to_axis: Callable[[np.ndarray], np.ndarray]) -> list[FigureTicks]:
    """Tick rows of ``phases`` ((name, Structure) each) between ``q_min`` and ``q_max`` (1/Å): a
    row of every reflection per phase, then one per superstructure class (R, M, X) it has."""
    rows = []
    for name, structure in phases:
        refl = phase_reflections(structure, q_max, q_min=max(q_min, 0.0))
        q = np.array([r.q for r in refl])
        klass = np.array([r.klass for r in refl])
        rows.append(FigureTicks(name, to_axis(q), TICK_COLOURS["fundamental"]))
        rows += [FigureTicks(f"{name} {k}", to_axis(q[klass == k]), TICK_COLOURS[k])
                 for k in SUPER_ORDER if np.any(klass == k)]
    return rows


def fit_figure_spec(data, parts, phases: Sequence[tuple[str, Structure]], *, title: str = "",
                    offset_difference: bool = True) -> PatternFigureSpec:
    """The figure of a pattern fit: ``data`` (core PatternData), ``parts`` (``fit_parts`` of the
    result: total, each population of a mixture, blank, background, on the fitted points)."""
    x = np.asarray(data.x, float)
    m = np.asarray(parts.mask, bool)
    name = f"observed ({Path(data.path).name})" if data.path else "observed"
    curves = [FigureCurve(name, x, np.asarray(data.y, float), "observed", sigma=data.sigma_used),
              FigureCurve(CALCULATED, x[m], np.asarray(parts.total)[m])]
    if len(parts.populations) > 1:
        curves += [FigureCurve(f"population {name}", x[m], np.asarray(y)[m], "component")
                   for name, y in parts.populations.items()]
    if parts.blank is not None:
        curves.append(FigureCurve("blank", x[m], np.asarray(parts.blank)[m], "component"))
    if np.any(parts.background[m]):
        curves.append(FigureCurve("background", x[m], np.asarray(parts.background)[m], "background"))
    q = data.q()[m]
    rows = phase_tick_rows(phases, float(np.min(q)), float(np.max(q)),
                           axis_converter(data.x_kind, data.wavelength))
    return PatternFigureSpec(curves=curves, x_label=X_LABELS["2theta" if data.x_kind == "tth" else "Q"],
                             y_label=y_label("linear", "counts"), ticks=rows, difference_of=CALCULATED,
                             offset_difference=offset_difference, title=title)


def simulated_figure_spec(x: np.ndarray, x_kind: str, wavelength: float | None,
                          curves: Mapping[str, np.ndarray], phases: Sequence[tuple[str, Structure]], *,
                          q_range: tuple[float, float], title: str = "") -> PatternFigureSpec:
    """The figure of calculated patterns ``curves`` (label -> I on ``x``, electron units) with the
    ticks of ``phases`` over ``q_range`` (1/Å)."""
    x = np.asarray(x, float)
    rows = phase_tick_rows(phases, q_range[0], q_range[1], axis_converter(x_kind, wavelength))
    return PatternFigureSpec(
        curves=[FigureCurve(label, x, np.asarray(y, float)) for label, y in curves.items()],
        x_label=X_LABELS["2theta" if x_kind == "tth" else "Q"], y_label=y_label("linear", "e.u."),
        ticks=rows, title=title)
