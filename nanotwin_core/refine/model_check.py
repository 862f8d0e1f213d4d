"""Can the model's structure give the data's peaks? A check before any Debye sum is computed.

A size database of the wrong phase takes minutes to hours and then fits nothing; the positions
of the Bragg reflections tell in milliseconds. ``check_model_against_data``:

- finds the data's peaks without any model: maxima of the negative second derivative of the
  pattern, smoothed by a Gaussian of ``CURVATURE_SCALE`` (1/Å) on a ``GRID_STEP`` grid, so a
  peak on a sloping background (the small-angle rise, a solvent halo) is found as well as one
  on a flat one; a peak counts when its curvature stands ``MIN_SN`` times above the curvature's
  noise (propagated from sigma). Peaks below ``SMALL_ANGLE_FRACTION`` x the model's first strong
  reflection are small-angle scattering (the particles' form factor), not Bragg peaks: left out.
- takes the model's reflections (every structure of the model: its own and its mixture
  components') with their powder strength m |F|^2 / Q^2 (``reflection_strength``), times
  exp(-``FALLOFF_B`` Q^2 / 8 pi^2) for the fall-off of the scattering factors and the thermal
  motion that f = Z leaves out;
- matches within a relative ``LATTICE_TOLERANCE`` (lattice parameters of nanocrystals differ by
  a few % from the bulk; the fit's expansion allows as much) and, in quadrature, the data peak's
  half width (half the run of positive curvature around it, sigma for a Gaussian peak; at least
  the smoothing scale): close reflections of small crystals merge into one peak.

Only Q up to ``Q_CHECK_MAX`` is looked at: the strong low-Q peaks decide, and a large cell's
reflections up to 20 1/Å would take seconds to list.

Two findings, each a one-line message naming the Q values and what to check:

- *unexplained*: of the data's ``STRONG_PEAKS`` strongest peaks (at least ``STRONG_SHARE`` of the
  strongest's curvature), those with no reflection of the model (any strength) nearby;
- *missing*: the model's first ``MODEL_CHECKED`` strong reflections in the data's range (at least
  ``MODEL_STRONG_SHARE`` of its strongest there; the lowest in Q, where the data are strongest)
  where the data show no peak at all.

The check warns, it never stops a fit: a wrong wavelength or axis shows the same way, and the
message says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import convolve1d, gaussian_filter1d
from scipy.signal import find_peaks

from nanotwin_core.errors import NanotwinError
from nanotwin_core.refine.auto_start import SMALL_ANGLE_FRACTION
from nanotwin_core.refine.peak_survey import STRONG_FRACTION, reflection_strength
from nanotwin_core.reflections import reflections

__all__ = ["ModelDataCheck", "check_model_against_data", "data_peaks"]

GRID_STEP = 0.004  # 1/Å
CURVATURE_SCALE = 0.03  # 1/Å: Gaussian smoothing of the second derivative
MIN_SN = 8.0  # a data peak's curvature over its noise
STRONG_PEAKS = 5  # the data's strongest peaks that must have a reflection of the model
STRONG_SHARE = 0.1  # ... of at least this share of the strongest peak's curvature
MODEL_STRONG_SHARE = 0.3  # the model's reflections the data must show (share of its strongest)
MODEL_CHECKED = 6  # ... the lowest in Q of them
LATTICE_TOLERANCE = 0.04  # relative Q mismatch still called a match
Q_CHECK_MAX = 10.0  # 1/Å
FALLOFF_B = 4.0  # Å^2: f(Q)^2 and Debye-Waller fall-off of a strength, as exp(-B Q^2 / 8 pi^2)


@dataclass
class ModelDataCheck:
    """What ``check_model_against_data`` found (Q in 1/Å).

    ``peaks``: the data's peaks, strongest first; ``unexplained``: strong data peaks no reflection
    of the model explains; ``missing``: the model's strong reflections absent from the data;
    ``messages``: one line per finding (empty: the model can give the data's peaks)."""

    peaks: list[float]
    unexplained: list[float] = field(default_factory=list)
    missing: list[float] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.messages


def _curvature_noise(sigma: np.ndarray, scale_pts: float) -> np.ndarray:
    """Standard deviation of the smoothed second derivative of independent noise ``sigma``."""
    delta = np.zeros(int(8 * scale_pts) * 2 + 1)
    delta[delta.size // 2] = 1.0
    kernel = gaussian_filter1d(delta, scale_pts, order=2, mode="constant")
    return np.sqrt(convolve1d(sigma**2, kernel**2, mode="nearest"))


def _run_length(flags: np.ndarray, i: int) -> int:
    """Length of the run of True in ``flags`` around index ``i``."""
    left = np.flatnonzero(~flags[:i])
    right = np.flatnonzero(~flags[i:])
    lo = left[-1] + 1 if left.size else 0
    hi = i + right[0] if right.size else flags.size
    return int(hi - lo)


def data_peaks(q: np.ndarray, y: np.ndarray, sigma: np.ndarray, *, q_min: float = 0.0,
               q_max: float = math.inf) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(Q (1/Å), half width (1/Å), curvature (intensity / Å^-2), curvature over its noise) of the
    data's peaks in [q_min, q_max], strongest curvature first (module doc). ``q`` increasing."""
    q = np.asarray(q, float)
    if q.size < 10 or q[-1] - q[0] < 20 * GRID_STEP:
        raise NanotwinError("too few data points to find peaks")
    grid = np.arange(q[0], q[-1], GRID_STEP)
    y_grid = np.interp(grid, q, np.asarray(y, float))
    # sigma of a grid value: the measured points in one step average down when finer than the grid
    per_step = max(1.0, GRID_STEP / float(np.median(np.diff(q))))
    s_grid = np.interp(grid, q, np.asarray(sigma, float)) / math.sqrt(per_step)
    scale_pts = CURVATURE_SCALE / GRID_STEP
    curvature = -gaussian_filter1d(y_grid, scale_pts, order=2, mode="nearest")
    noise = _curvature_noise(s_grid, scale_pts)
    idx, _ = find_peaks(curvature)
    edge = int(3 * scale_pts)  # the filter's edge effects
    idx = idx[(idx >= edge) & (idx < grid.size - edge) & (grid[idx] >= q_min) & (grid[idx] <= q_max)]
    sn = curvature[idx] / np.maximum(noise[idx], 1e-300)
    idx, sn = idx[sn >= MIN_SN], sn[sn >= MIN_SN]
    # half width: from the peak to where the curvature changes sign (+-sigma for a Gaussian)
    concave = curvature > 0
    half = np.array([_run_length(concave, i) for i in idx], float) * GRID_STEP / 2
    half = np.maximum(half, CURVATURE_SCALE)
    order = np.argsort(curvature[idx])[::-1]
    return grid[idx[order]], half[order], curvature[idx[order]], sn[order]


def _near(q: float, targets: np.ndarray, half: np.ndarray | float) -> bool:
    return bool(np.any(np.abs(targets - q) <= np.hypot(LATTICE_TOLERANCE * q, half)))


def _qs(values: Sequence[float]) -> str:
    return ", ".join(f"{v:.3g}" for v in values)


def check_model_against_data(structures: Sequence, q: np.ndarray, y: np.ndarray, sigma: np.ndarray, *,
                             label: str) -> ModelDataCheck:
    """Compare the data's peaks (``q`` 1/Å increasing, ``y``, ``sigma``) with the reflections of
    ``structures`` (module doc); ``label`` names the model in the messages."""
    q = np.asarray(q, float)
    if q.size < 10 or q[-1] - q[0] < 20 * GRID_STEP:
        return ModelDataCheck([])  # too little data to find peaks: nothing to say
    q_top = min(float(q[-1]), Q_CHECK_MAX)
    refl = [r for s in structures for r in reflections(s, q_top * (1 + LATTICE_TOLERANCE), classify=False)]
    if not refl:
        return ModelDataCheck([], messages=[f"{label}: no reflection below Q = {q_top:.3g} 1/Å: the model "
                                            "cannot give the data's peaks"])
    refl.sort(key=lambda r: r.q)
    q_refl = np.array([r.q for r in refl])
    power = np.array([reflection_strength(r) for r in refl])
    q_first = float(q_refl[np.flatnonzero(power >= STRONG_FRACTION * power.max())[0]])
    power = power * np.exp(-FALLOFF_B * q_refl**2 / (8 * math.pi**2))
    q_min = max(float(q[0]), SMALL_ANGLE_FRACTION * q_first)
    found, half, curvature, _ = data_peaks(q, y, sigma, q_min=q_min, q_max=q_top)
    out = ModelDataCheck([float(v) for v in found])
    if found.size == 0:
        return out
    strongest = found[:STRONG_PEAKS][curvature[:STRONG_PEAKS] >= STRONG_SHARE * curvature[0]]
    out.unexplained = [float(v) for v, h in zip(strongest, half, strict=False) if not _near(v, q_refl, h)]
    in_data = np.flatnonzero((q_refl >= q_min) & (q_refl <= q_top))
    if in_data.size:
        p = power[in_data]
        strong = in_data[p >= MODEL_STRONG_SHARE * p.max()][:MODEL_CHECKED]
        out.missing = sorted({round(float(v), 3) for v in q_refl[strong] if not _near(v, found, half)})
    check = "check the structure, or the wavelength and the x axis of the data"
    if len(out.unexplained) >= 2 or (out.unexplained and out.unexplained[0] == strongest[0]):
        out.messages.append(
            f"{label} against data whose strong peaks sit at Q = {_qs(strongest)} 1/Å: the model has no "
            f"reflection near Q = {_qs(out.unexplained)} 1/Å ({check})")
    if out.missing:
        out.messages.append(
            f"{label}: its strong reflections at Q = {_qs(out.missing)} 1/Å have no peak in the data "
            f"(whose peaks sit at Q = {_qs(found[:8])} 1/Å; {check})")
    return out
