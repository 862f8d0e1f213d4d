"""Put a calculated pattern on the scale of measured data before any fit: the weighted linear
least squares y ~ s I(Q) + b (s >= 0, b free) over the Q range both cover, so that a model and
its data can be looked at on one intensity axis (the window shows a build against loaded data
this way; a fit refines scale and background properly afterwards)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import lsq_linear

from nanotwin_core.errors import NanotwinError
from nanotwin_core.phases import phase_reflections
from nanotwin_core.structures.structure import Structure

__all__ = ["WIDE_ANGLE_FRACTION", "ScaledPattern", "scale_to_data", "wide_angle_q_min"]

# below this fraction of the first reflection's Q, small-angle scattering (the particle's form
# factor, a beam stop) dominates measured data and the Debye sum alike: no common scale there
WIDE_ANGLE_FRACTION = 0.8


@dataclass(frozen=True)
class ScaledPattern:
    """``scale`` x model + ``offset``: the factors and the scaled model on its own grid; ``n_points``:
    data points used."""

    scale: float
    offset: float
    intensity: np.ndarray
    n_points: int


def wide_angle_q_min(structure: Structure) -> float:
    """Q (1/Å) from which a pattern is wide-angle scattering: ``WIDE_ANGLE_FRACTION`` of the
    structure's first reflection."""
    shortest = min(structure.cell.a, structure.cell.b, structure.cell.c)
    first = phase_reflections(structure, 8 * np.pi / shortest)  # indices up to 4: some are allowed
    return WIDE_ANGLE_FRACTION * (first[0].q if first else 0.0)


def scale_to_data(q_model: np.ndarray, i_model: np.ndarray, q_data: np.ndarray, y_data: np.ndarray,
                  sigma: np.ndarray | None = None, *, mask: np.ndarray | None = None,
                  q_range: tuple[float, float] | None = None) -> ScaledPattern:
    """Scale and offset that bring ``i_model`` (on ``q_model``, 1/Å) closest to ``y_data`` (on
    ``q_data``) in the weighted least-squares sense (weights 1/sigma^2, 1 without sigma), over
    the data points inside the model's Q range, ``q_range`` (1/Å, e.g. from ``wide_angle_q_min``
    or a fit range) and ``mask``; the scale is kept >= 0.

    NanotwinError when fewer than 3 data points lie inside the model's range.
    """
    q_model, i_model = np.asarray(q_model, float), np.asarray(i_model, float)
    q_data, y_data = np.asarray(q_data, float), np.asarray(y_data, float)
    order = np.argsort(q_model)
    qm, im = q_model[order], i_model[order]
    use = (q_data >= qm[0]) & (q_data <= qm[-1]) & np.isfinite(y_data)
    if mask is not None:
        use &= np.asarray(mask, bool)
    if q_range is not None:
        use &= (q_data >= q_range[0]) & (q_data <= q_range[1])
    if use.sum() < 3:
        raise NanotwinError("the model and the data share fewer than 3 points in Q: nothing to scale to")
    at_data = np.interp(q_data[use], qm, im)
    w = 1.0 / (np.ones(int(use.sum())) if sigma is None else np.asarray(sigma, float)[use])
    norm = float(np.max(np.abs(at_data))) or 1.0  # conditioning: the model may be 1e8 above the data
    design = np.column_stack([at_data / norm, np.ones_like(at_data)]) * w[:, None]
    sol = lsq_linear(design, y_data[use] * w, bounds=([0.0, -np.inf], [np.inf, np.inf]))
    scale, offset = float(sol.x[0] / norm), float(sol.x[1])
    return ScaledPattern(scale, offset, scale * i_model + offset, int(use.sum()))
