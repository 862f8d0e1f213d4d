"""Weighted linear least squares with non-negative coefficients where asked: the linear step of
every variable-projection evaluation (``refine/engine.py``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import optimize

__all__ = ["solve_linear"]


def solve_linear(
    a: np.ndarray, y: np.ndarray, w: np.ndarray, nonneg: np.ndarray | Sequence[bool]
) -> np.ndarray:
    """Weighted linear least squares min ||w (y - a c)|| with c_k >= 0 where ``nonneg[k]``.

    Parameters
    ----------
    a : (n, m) design matrix.
    y : (n,) data.
    w : (n,) weights 1/sigma (not squared).
    nonneg : (m,) bool, True = coefficient bounded below by 0.
    """
    aw = a * w[:, None]
    bw = y * w
    norms = np.sqrt(np.einsum("ij,ij->j", aw, aw))
    norms[norms == 0] = 1.0
    asc = aw / norms
    # ||asc c - bw||^2 = ||r c - z||^2 + const with r = L^1/2 V^T, z = L^-1/2 V^T asc^T bw from the
    # eigen-decomposition V L V^T of the m x m normal matrix: both solves work on m x m (a tall
    # design costs one product, not a QR or SVD per evaluation, which multithreaded BLAS makes
    # slow on a busy machine); directions with L below 1e-13 of the largest are left out
    lam, vec = np.linalg.eigh(asc.T @ asc)
    keep = lam > 1e-13 * max(float(lam[-1]), 1e-300)
    r = np.sqrt(lam[keep])[:, None] * vec[:, keep].T
    z = (vec[:, keep].T @ (asc.T @ bw)) / np.sqrt(lam[keep])
    c, *_ = np.linalg.lstsq(r, z, rcond=None)
    nn = np.asarray(nonneg, bool)
    if np.any(nn & (c < 0)):
        lb = np.where(nn, 0.0, -np.inf)
        res = optimize.lsq_linear(r, z, bounds=(lb, np.full(lb.shape, np.inf)), method="bvls", tol=1e-14)
        c = np.where(nn, np.maximum(res.x, 0.0), res.x)
    return c / norms
