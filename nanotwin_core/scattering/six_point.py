"""Six-point Lagrange spreading of distances onto a uniform r grid (fast databases, textures).

A distance r goes onto the nodes k0 - 2 ... k0 + 3 around x = r / dr (k0 = floor(x)) with the
Lagrange weights of ``lagrange6``: they keep the moments 0-5 of every distance, so a sum of any
smooth function of r (sinc(Q r), j_l(Q r)) errs by its interpolation error between grid points,
at most ~(Q dr)^6 / 720 per pair. Array columns are shifted by ``OFFSET`` so that the points
below r = 0 exist; ``fold_negative`` folds them onto +r (the functions summed are even in r).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from nanotwin_core import numba_setup  # noqa: F401 - sets numba's cache folder before the kernels

OFFSET = 3  # columns below r = 0


@njit(inline="always")
def lagrange6(t: float, w: np.ndarray) -> None:  # pragma: no cover - numba
    """Six-point Lagrange weights at nodes -2..3 for a point at t in [0, 1)."""
    a = t + 2.0
    b = t + 1.0
    c = t
    d = t - 1.0
    e = t - 2.0
    f = t - 3.0
    w[0] = -b * c * d * e * f / 120.0
    w[1] = a * c * d * e * f / 24.0
    w[2] = -a * b * d * e * f / 12.0
    w[3] = a * b * c * e * f / 12.0
    w[4] = -a * b * c * d * f / 24.0
    w[5] = a * b * c * d * e / 120.0


def fold_negative(hist: np.ndarray) -> np.ndarray:
    """Columns -> counts on r_k = k dr (k >= 0): points below r = 0 fold onto +r (last axis)."""
    out = hist[..., OFFSET:].copy()
    for j in range(1, OFFSET + 1):
        out[..., j] += hist[..., OFFSET - j]
    return out
