"""Distance sampling: how exact pair distances become weights on one uniform r grid.

Default: r grid r_k = k * r_step from 0, r_step = 0.005 Å, quadratic 3-point weights.

1. All-pairs route only (it must stay at one memory write per pair): every distance d is
   counted in a fine histogram of width ``dr_fine = r_step / oversample`` (default
   0.005/2 = 0.0025 Å, nearest-lower bin) together with the sum of its offset inside the bin
   (to 1/4096 of a bin, packed in the same 64-bit word, see ``kernels_allpairs.py``). Each fine
   bin then stands for one point at the mean distance of its pairs with the exact count (0th
   moment exact, 1st to 3e-7 Å; 1/256 of a bin, 2.4e-6 Å, measured 3.7e-4 relative error at
   15 nm: the offsets need the precision). Only the spread inside a fine bin (variance <= dr_fine^2/12,
   worst case dr_fine^2/4 for a bin split between its two edges) is lost: it damps cross terms
   by ~exp(-Q^2 var/2), i.e. <= 1e-4 relative at Q = 20 1/Å and <= 2.3e-4 at Q = 30 for a
   uniform spread (measured far less, below). oversample = 2 keeps one pair-type row of the
   per-thread histogram (8 bytes per fine bin) in a 1 MB L2 cache up to 15 nm crystals: at
   15 nm the kernel ran 1.0e9 pairs/s with 2 against 0.6e9 with 4. (A plain nearest-bin count
   moves every distance by up to dr_fine/2; that first-order error measured 1.7e-4 of max(I)
   near the small-angle fringes of a 5 nm prism at oversample 8, too much.) The lattice route
   has few distances and samples each one of them directly (step 2).
2. Each distance (or fine-bin mean) x (in units of r_step) is spread onto the three nearest
   grid points with the quadratic (transposed 3-point Lagrange) weights w(-1) = t(t-1)/2,
   w(0) = 1 - t^2, w(+1) = t(t+1)/2, t = x - round(x) in [-1/2, 1/2]. They keep the 0th, 1st
   and 2nd moments of every distance exactly, so the sampled sinc sum errs only by the third
   derivative term, ~(Q r_step)^3 / 16 per pair with a sign that alternates with t. Weights at
   r = -r_step (only for d < r_step/2) are folded onto +r_step (sinc is even).

Measured against the exact Debye sum (B = 0, CsPbBr3 gamma prisms, Q = 0.5-20 1/Å,
``benchmarks/bench_dse.py``), defaults: 5 nm: max|dI|/max(I) = 1.5e-7 (lattice) / 2.1e-7
(all pairs), max relative error where I > 1e-3 max(I) = 5.3e-6 / 5.4e-6 (1.4e-5 up to
Q = 30); 15 nm: 1.2e-7 / 2.4e-7 and 1.4e-5 / 5.8e-5 (3.0e-5 / 5.8e-5 up to Q = 30). With
oversample 4 the all-pairs numbers equal the lattice ones (2.0e-5 at 15 nm), with 1 they
grow to 1.4e-6 / 2.1e-4. (r_step = 0.01 Å would still give 1.2e-6 / 3.5e-5 at 5 nm.)
Targets: 1e-4 and 1e-3.

``scheme="linear"`` (two-point, keeps 0th and 1st moments) and ``"nearest"`` exist for
comparison; ``sampling="exact"`` keeps every distinct distance with its multiplicity (no
binning at all; small crystals, tests).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nanotwin_core.errors import NanotwinError

DEFAULT_R_STEP = 0.005  # Å, step of the public r grid
DEFAULT_OVERSAMPLE = 2  # fine bins per r_step in the all-pairs counting stage
SCHEMES = ("quadratic", "linear", "nearest")
SCHEME_CODES = {"nearest": 0, "linear": 1, "quadratic": 2}


@dataclass(frozen=True)
class Sampling:
    """Distance sampling settings.

    scheme : "quadratic" (default), "linear", "nearest" or "exact" (raw distances, no grid).
    r_step : step of the public r grid in Å [0.005].
    oversample : fine counting bins per r_step in the all-pairs route [2].
    """

    scheme: str = "quadratic"
    r_step: float = DEFAULT_R_STEP
    oversample: int = DEFAULT_OVERSAMPLE

    def __post_init__(self) -> None:
        if self.scheme not in SCHEMES + ("exact",):
            raise NanotwinError(f"sampling scheme must be one of {SCHEMES + ('exact',)}, got {self.scheme!r}")
        if not self.r_step > 0:
            raise NanotwinError(f"sampling r_step must be > 0 Å, got {self.r_step}")
        if int(self.oversample) < 1:
            raise NanotwinError(f"sampling oversample must be >= 1, got {self.oversample}")

    @property
    def exact(self) -> bool:
        return self.scheme == "exact"

    @property
    def dr_fine(self) -> float:
        return self.r_step / int(self.oversample)


def resolve_sampling(sampling: Sampling | str | float | None) -> Sampling:
    """None -> defaults; "exact"/"quadratic"/...: that scheme; a float: r_step in Å."""
    if sampling is None:
        return Sampling()
    if isinstance(sampling, Sampling):
        return sampling
    if isinstance(sampling, str):
        return Sampling(scheme=sampling)
    if isinstance(sampling, (int, float)):
        return Sampling(r_step=float(sampling))
    raise NanotwinError(f"cannot use {sampling!r} as distance sampling")


def spread_points(x: np.ndarray, w: np.ndarray, n_bins: int, scheme: str) -> np.ndarray:
    """Spread points at x (in grid units) with weights w onto grid points 0..n_bins-1."""
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    out = np.zeros(n_bins + 2)
    if scheme == "nearest":
        k = np.floor(x + 0.5).astype(np.int64)
        out[: n_bins + 2] += np.bincount(k, w, minlength=n_bins + 2)[: n_bins + 2]
    elif scheme == "linear":
        k = np.floor(x).astype(np.int64)
        t = x - k
        out += np.bincount(k, w * (1.0 - t), minlength=n_bins + 2)[: n_bins + 2]
        out += np.bincount(k + 1, w * t, minlength=n_bins + 2)[: n_bins + 2]
    elif scheme == "quadratic":
        k = np.floor(x + 0.5).astype(np.int64)
        t = x - k
        # index shifted by +1 so that grid point -1 exists; folded below
        ext = np.zeros(n_bins + 3)
        ext += np.bincount(k, w * 0.5 * t * (t - 1.0), minlength=n_bins + 3)[: n_bins + 3]
        ext += np.bincount(k + 1, w * (1.0 - t * t), minlength=n_bins + 3)[: n_bins + 3]
        ext += np.bincount(k + 2, w * 0.5 * t * (t + 1.0), minlength=n_bins + 3)[: n_bins + 3]
        ext[2] += ext[0]  # r = -step folds onto +step (sinc is even)
        out += ext[1:]
    else:
        raise NanotwinError(f"unknown sampling scheme {scheme!r}")
    if np.any(out[n_bins:] != 0):
        raise RuntimeError("distance beyond the r grid (internal error)")
    return out[:n_bins]


def fine_to_grid(count: np.ndarray, tsum: np.ndarray, sampling: Sampling) -> np.ndarray:
    """Fine histograms -> sampled histograms (P, M) on r_k = k r_step.

    count (P, M_fine): pairs per fine bin (nearest-lower, width dr_fine); tsum: the sum of their
    offsets inside the bin (0..1). Each fine bin becomes one point at its mean distance.
    """
    count = np.asarray(count, dtype=np.float64)
    m = int(sampling.oversample)
    n_fine = count.shape[1]
    n_bins = n_fine // m + 3
    out = np.zeros((count.shape[0], n_bins))
    for p in range(count.shape[0]):
        nz = np.nonzero(count[p])[0]
        if len(nz):
            x = (nz + np.clip(tsum[p, nz] / count[p, nz], 0.0, 1.0)) / m
            out[p] = spread_points(x, count[p, nz], n_bins, sampling.scheme)
    return out


def n_fine_bins(r_max: float, sampling: Sampling) -> int:
    """Fine bins needed for distances up to r_max (Å), rounded up to whole r steps."""
    m = int(sampling.oversample)
    return (int(np.ceil(r_max / sampling.r_step)) + 2) * m
