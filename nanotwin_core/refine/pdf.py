"""Pair distribution function fits: Rw and range-resolved refinements (SCIENCE.md section 6)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from nanotwin_core.errors import NanotwinError
from nanotwin_core.io.data import PDFData
from nanotwin_core.refine.engine import FitResult, Refinement
from nanotwin_core.refine.parameters import ParameterSet

__all__ = ["pdf_rw", "RangeFit", "range_resolved", "with_live_curve"]


def pdf_rw(
    r: np.ndarray,
    g_obs: np.ndarray,
    g_calc: np.ndarray,
    rmin: float | None = None,
    rmax: float | None = None,
    sigma: np.ndarray | None = None,
) -> float:
    """Rw = sqrt(sum w (Gobs - Gcalc)^2 / sum w Gobs^2) over rmin <= r <= rmax; w = 1/sigma^2 or 1."""
    r = np.asarray(r, float)
    keep = np.ones(r.shape, bool)
    if rmin is not None:
        keep &= r >= rmin
    if rmax is not None:
        keep &= r <= rmax
    if not keep.any():
        raise NanotwinError(f"no points in r range [{rmin}, {rmax}]")
    go = np.asarray(g_obs, float)[keep]
    gc = np.asarray(g_calc, float)[keep]
    w = np.ones(go.shape) if sigma is None else 1.0 / np.asarray(sigma, float)[keep] ** 2
    return math.sqrt(float(np.sum(w * (go - gc) ** 2) / np.sum(w * go * go)))


@dataclass
class RangeFit:
    """One range of a range-resolved fit: (rmin, rmax), the fit result and its Rw."""

    rmin: float
    rmax: float
    result: FitResult
    rw: float


def with_live_curve(ref: Refinement, r: np.ndarray,
                    curve_callback: Callable[[np.ndarray, np.ndarray], None] | None) -> Refinement:
    """``ref`` whose callback also hands ``curve_callback(r, y_calc)`` its current curve (r in Å,
    the fitted points), before the callback's own report. Unchanged without a curve callback."""
    if curve_callback is None:
        return ref
    callback = ref.callback

    def step(values: dict[str, float], rw: float) -> None:
        y_calc = ref.y_calc
        if y_calc is not None and len(y_calc) == len(r):
            curve_callback(r, y_calc)  # first: the callback's report can then carry this curve
        if callback is not None:
            callback(values, rw)

    ref.callback = step
    return ref


def range_resolved(
    data: PDFData,
    ranges: Sequence[tuple[float, float]],
    make_basis: Callable[[np.ndarray], Callable[[dict[str, float]], np.ndarray]],
    make_params: Callable[[], ParameterSet],
    linear_names: Sequence[str],
    nonneg: bool | Sequence[bool] = True,
    max_nfev: int | None = None,
    start_grid: Callable[[float, float], dict[str, Sequence[float]]] | None = None,
    curve_callback: Callable[[np.ndarray, np.ndarray], None] | None = None,
    **fit_kwargs: object,
) -> list[RangeFit]:
    """Run one independent refinement per r range (as in the paper's Fig. 4f).

    Parameters
    ----------
    data : the measured G(r).
    ranges : (rmin, rmax) pairs in Å.
    make_basis : ``make_basis(r) -> basis`` builds the model callable for the points r of a range.
    make_params : fresh start parameters for each range.
    linear_names, nonneg : as in :class:`Refinement`.
    max_nfev : largest number of model evaluations per range (None: scipy's default).
    start_grid : ``start_grid(rmin, rmax) -> {name: values}``: a coarse grid search of start values
        per range before the least squares (e.g. the expansion, whose minimum is narrow at high r).
    curve_callback : ``curve_callback(r, g_calc)`` with the range's r (Å) and the current calculated
        G(r), each time the refinement reports (with ``callback``: a live curve).
    fit_kwargs : passed to :class:`Refinement` (callback, cancel).
    """
    out = []
    for rmin, rmax in ranges:
        d = data.restricted(rmin, rmax)
        if d.r.size < 2:
            raise NanotwinError(f"fewer than 2 points of G(r) in [{rmin}, {rmax}] Å")
        sigma = d.dg if d.dg is not None and np.all(d.dg > 0) else np.ones(d.r.size)
        src = "file" if sigma is d.dg else "unit_weights"
        ref = with_live_curve(Refinement(
            make_basis(d.r), make_params(), d.g, sigma, linear_names, nonneg, sigma_source=src, **fit_kwargs
        ), d.r, curve_callback)  # type: ignore[arg-type]
        grid = start_grid(rmin, rmax) if start_grid is not None else None
        if grid:
            ref.global_start(grid)
        res = ref.run(max_nfev=max_nfev)
        out.append(
            RangeFit(rmin, rmax, res, pdf_rw(d.r, d.g, res.y_calc, sigma=None if src != "file" else sigma))
        )
    return out
