"""Pure numpy helpers of the pattern panel: x-axis conversions (Q, 2θ, d), intensity scales, the
superstructure zoom's intensity range, overlay keys and matching observed to calculated points."""

from __future__ import annotations

import numpy as np

from nanotwin_core.errors import NanotwinError
from nanotwin_core.geometry import d_from_q, q_from_two_theta, two_theta_from_q
from nanotwin_core.refine.scale_to_data import scale_to_data, wide_angle_q_min

BUILD_POINTS = 4000  # a build against data computes on at most this many of the data's points
SUPER_TOLERANCE = 0.02  # 1/Å: a superstructure peak is read within this of its pseudocubic position
ZOOM_HEADROOM = 0.08  # fraction of the range added above the highest superstructure peak


def q_to_axis(q: np.ndarray, axis: str, wavelength: float) -> np.ndarray:
    """Convert Q (1/Å) to the x axis unit ('Q', '2theta' degrees, 'd' Å); NaN where undefined."""
    q = np.asarray(q, dtype=float)
    if axis == "Q":
        return q
    if axis == "d":
        return d_from_q(q)
    if axis == "2theta":
        return np.where(q >= 0, two_theta_from_q(q, wavelength, beyond="nan"), np.nan)
    raise ValueError(f"unknown x axis {axis!r}")


def axis_to_q(x: np.ndarray | float, axis: str, wavelength: float) -> np.ndarray:
    """Inverse of :func:`q_to_axis`."""
    x = np.asarray(x, dtype=float)
    if axis == "Q":
        return x
    if axis == "d":
        return 2 * np.pi / np.maximum(x, 1e-9)
    if axis == "2theta":
        return q_from_two_theta(x, wavelength)
    raise ValueError(f"unknown x axis {axis!r}")


def superstructure_y_range(
    curves: list[tuple[np.ndarray, np.ndarray]],
    positions: list[float] | None,
    q_window: tuple[float, float],
    tolerance: float = SUPER_TOLERANCE,
) -> tuple[float, float] | None:
    """Intensity range (in the curves' own units) that shows the superstructure peaks in a window.

    ``curves``: (Q in 1/Å, y already on the plotted scale). The top is the highest y within
    ``tolerance`` of a superstructure reflection (``positions``, Q in 1/Å) inside ``q_window``
    (plus ``ZOOM_HEADROOM``), the bottom the lowest y in the window, so fundamentals in the window
    run off the top instead of flattening the superstructure. None when there is nothing to fit
    (no superstructure position in the window or no finite point in it).
    """
    if not positions or not curves:
        return None
    lo, hi = sorted(float(v) for v in q_window)
    positions = [q for q in positions if lo <= q <= hi]
    if not positions:
        return None
    tops, bottoms = [], []
    for q, y in curves:
        q, y = np.asarray(q, float), np.asarray(y, float)
        ok = np.isfinite(q) & np.isfinite(y)
        inside = ok & (q >= lo) & (q <= hi)
        if not inside.any():
            continue
        bottoms.append(float(y[inside].min()))
        step = float(np.median(np.diff(q[inside]))) if inside.sum() > 1 else 0.0
        tol = max(tolerance, 1.5 * abs(step))
        for qs in positions:
            near = inside & (np.abs(q - qs) <= tol)
            if near.any():
                tops.append(float(y[near].max()))
    if not tops or not bottoms:
        return None
    bottom, top = min(bottoms), max(tops)
    span = top - bottom
    if not span > 0:
        span = abs(top) * 0.1 or 1.0
    return bottom - 0.02 * span, top + ZOOM_HEADROOM * span


def scale_intensity(y: np.ndarray, scale: str, floor: float | None = None) -> np.ndarray:
    """Intensity on a 'linear', 'sqrt' or 'log' (log10, floored) scale."""
    y = np.asarray(y, dtype=float)
    if scale == "linear":
        return y
    if scale == "sqrt":
        return np.sqrt(np.clip(y, 0, None))
    if scale == "log":
        positive = y[y > 0]
        lo = floor if floor is not None else (positive.max() * 1e-6 if positive.size else 1.0)
        return np.log10(np.clip(y, lo, None))
    raise ValueError(f"unknown intensity scale {scale!r}")


def overlay_key(name: str, label: str) -> str:
    """Key (and list text) of curve ``label`` of overlay ``name``."""
    return f"[{name}] {label}"


def is_background(label: str) -> bool:
    return "background" in label.lower()


def match_points(q_obs: np.ndarray, q_calc: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Index into ``q_calc`` of each observed point and a mask of the observed points that a
    calculated point sits on (|dQ| <= 1e-9 relative); mask None when fewer than half of the
    calculated points sit on data points (then the curves are on different grids)."""
    if not len(q_calc) or not len(q_obs):
        return np.zeros(len(q_obs), int), None
    order = np.argsort(q_calc)
    qs = q_calc[order]
    pos = np.clip(np.searchsorted(qs, q_obs), 1, max(len(qs) - 1, 1))
    left = np.clip(pos - 1, 0, len(qs) - 1)
    right = np.clip(pos, 0, len(qs) - 1)
    nearest = np.where(np.abs(qs[left] - q_obs) <= np.abs(qs[right] - q_obs), left, right)
    ok = np.abs(qs[nearest] - q_obs) <= 1e-9 * np.maximum(1.0, np.abs(q_obs))
    if ok.sum() < 0.5 * len(q_calc):
        return order[nearest], None
    return order[nearest], ok


def calc_at_data(q_obs: np.ndarray, q_calc: np.ndarray, y_calc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mask of the observed points the calculated curve covers, its values there): taken point
    by point where both are on one grid, else interpolated at the observed Q."""
    idx, ok = match_points(q_obs, q_calc)
    if ok is not None:
        return ok, y_calc[idx[ok]]
    order = np.argsort(q_calc)
    inside = (q_obs >= q_calc[order[0]]) & (q_obs <= q_calc[order[-1]])
    return inside, np.interp(q_obs[inside], q_calc[order], y_calc[order])


def build_grid(data, q_range: tuple[float, float] | None) -> tuple[np.ndarray, str] | None:
    """The points a build computes on when data are loaded: the data's x (2theta or Q) whose Q
    lies in ``q_range`` (1/Å; see ``scaling_q_range``), thinned to ``BUILD_POINTS``; None
    without data."""
    if data is None:
        return None
    x = data.x
    if q_range is not None:
        q = data.q()
        inside = (q >= q_range[0]) & (q <= q_range[1])
        x = x[inside] if inside.sum() >= 2 else x
    step = max(1, int(np.ceil(len(x) / BUILD_POINTS)))
    return x[::step].copy(), data.x_kind


def scaling_q_range(fit, data, structure) -> tuple[float, float]:
    """The Q range (1/Å) a build is scaled to its data over: the model's fit range where it has
    one, else from the wide-angle start of its structure (``scale_to_data.wide_angle_q_min``)."""
    rng = fit.tth_range if data.x_kind == "tth" else fit.q_range
    if rng is None:
        return wide_angle_q_min(structure), np.inf
    if data.x_kind == "q":
        return float(rng[0]), float(rng[1])
    top = np.inf if not np.isfinite(rng[1]) else float(q_from_two_theta(min(rng[1], 179.9), data.wavelength))
    return float(q_from_two_theta(rng[0], data.wavelength)), top


def scaled_to_data(curves: dict, q_data: np.ndarray, y_data: np.ndarray, sigma: np.ndarray,
                   q_range: tuple[float, float] | None = None) -> tuple[dict, str]:
    """Every calculated curve put on the data's scale over ``q_range`` (the core's linear solve,
    scale >= 0 and an offset), and a caption note; curves that share no range with the data are
    left as they are."""
    out, factors = {}, []
    for label, (q, y) in curves.items():
        try:
            s = scale_to_data(q, y, q_data, y_data, sigma, q_range=q_range)
        except NanotwinError:
            out[label] = (q, y)
            continue
        out[label] = (q, s.intensity)
        factors.append(f"{label}: {s.scale:.4g} I + {s.offset:.4g}")
    where = "" if q_range is None else f" over Q = {q_range[0]:.3g}–{q_range[1]:.3g} 1/Å"
    note = (f"Calculated curves scaled to the data{where} (weighted linear least squares; "
            + "; ".join(factors) + ").") if factors else ""
    return out, note
