"""Background models: Chebyshev polynomials and a scaled blank (solvent, capillary) pattern."""

from __future__ import annotations

import os

import numpy as np
from numpy.polynomial import chebyshev

from nanotwin_core.errors import NanotwinError
from nanotwin_core.io.data import PatternData, q_from_tth, read_pattern

__all__ = ["chebyshev_basis", "blank_on_grid", "load_blank"]


def chebyshev_basis(
    x: np.ndarray, order: int, xmin: float | None = None, xmax: float | None = None
) -> np.ndarray:
    """Chebyshev polynomials T_0..T_order of x mapped from [xmin, xmax] (default: the x range) to [-1, 1].

    Returns an (n, order + 1) matrix whose columns are the linear background components.
    """
    if order < 0:
        raise NanotwinError(f"Chebyshev order must be >= 0, got {order}")
    x = np.asarray(x, float)
    lo = float(np.min(x)) if xmin is None else float(xmin)
    hi = float(np.max(x)) if xmax is None else float(xmax)
    if hi <= lo:
        raise NanotwinError("Chebyshev background needs a non-empty x range")
    t = (2 * x - (lo + hi)) / (hi - lo)
    return chebyshev.chebvander(t, order)


def load_blank(path: str | os.PathLike[str], **kwargs: object) -> PatternData:
    """Read a blank (solvent/capillary) pattern with :func:`read_pattern` (same keyword arguments)."""
    return read_pattern(path, **kwargs)  # type: ignore[arg-type]


def blank_on_grid(
    blank: PatternData, x: np.ndarray, x_kind: str, wavelength: float | None = None
) -> np.ndarray:
    """Interpolate a blank onto the data grid ``x`` (2theta in degrees or Q in 1/Å).

    Same axis kind: direct linear interpolation; different kinds go through Q (both
    wavelengths needed).  Raises :class:`NanotwinError` if the blank does not cover the data.
    """
    x = np.asarray(x, float)
    if blank.x_kind == x_kind and (
        x_kind == "q" or wavelength is None or blank.wavelength in (None, wavelength)
    ):
        bx = blank.x
        xx = x
    else:
        bx = blank.q()
        if x_kind == "q":
            xx = x
        elif wavelength is None:
            raise NanotwinError("the data wavelength is needed to put the blank on a 2theta grid")
        else:
            xx = q_from_tth(x, wavelength)
    tol = 1e-9 * max(1.0, float(np.max(np.abs(bx))))
    if xx.min() < bx[0] - tol or xx.max() > bx[-1] + tol:
        raise NanotwinError(
            f"blank {blank.path or ''} covers {bx[0]:.5g}..{bx[-1]:.5g}, "
            f"the data need {xx.min():.5g}..{xx.max():.5g}"
        )
    return np.interp(xx, bx, blank.y)
