"""Size statistics as in Table 2 of Bertolotti et al. (2017).

Number-based means and relative dispersions of D_ab, L_c and D_eq (diameter of the sphere of
equal volume, prism volume V = (pi/4) D_ab^2 L_c, D_eq = (6V/pi)^(1/3) = (1.5 D_ab^2 L_c)^(1/3)),
the aspect ratio <L_c>/<D_ab>, and volume-weighted (= mass-weighted within one phase) means.

Three routes, which must agree: closed form for log-normals (:func:`prism_statistics`), fine
Gauss-Hermite quadrature of the continuous density (:func:`prism_statistics_quadrature`) and
sums over a discrete size grid (:func:`grid_statistics`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
from scipy.special import ndtri

from nanotwin_core.errors import NanotwinError
from nanotwin_core.population.distributions import BivariateLogNormal, LogNormal, Mixture, norm_cdf
from nanotwin_core.population.grid import SizeGrid, SizeGrid1D

__all__ = [
    "SizeStatistics",
    "SphereStatistics",
    "prism_statistics",
    "prism_statistics_quadrature",
    "grid_statistics",
    "sphere_statistics",
    "grid_statistics_1d",
    "tail_fractions",
    "mixture_statistics",
]

_WEIGHTINGS = ("number", "volume", "mass")


@dataclass(frozen=True)
class SizeStatistics:
    """Means (nm) and relative dispersions of a prism population under one weighting.

    ``aspect`` = <L_c>/<D_ab> under the same weighting.  ``*_vol`` are the volume-weighted
    means (mass-weighted within one phase), given with every weighting for Table 2.
    """

    weighting: str
    d_ab: float
    s_ab: float
    l_c: float
    s_c: float
    d_eq: float
    s_eq: float
    aspect: float
    d_ab_vol: float
    l_c_vol: float
    d_eq_vol: float

    def as_dict(self) -> dict[str, float | str]:
        """Plain dict (JSON-able)."""
        return asdict(self)


@dataclass(frozen=True)
class SphereStatistics:
    """Number-based mean (nm), relative dispersion and volume-weighted mean of a 1D population."""

    weighting: str
    mean: float
    rel_sigma: float
    mean_vol: float


def _check_weighting(weighting: str) -> str:
    if weighting not in _WEIGHTINGS:
        raise NanotwinError(f"weighting must be one of {_WEIGHTINGS}, not {weighting!r}")
    return weighting


def _moments_stats(
    mom: Callable[[float, float], float],
    weighting: str,
) -> SizeStatistics:
    """Build statistics from a moment function mom(a, b) = E_number[D^a L^b]."""
    if weighting == "number":

        def e(a: float, b: float) -> float:
            return mom(a, b)
    else:
        v0 = mom(2, 1)

        def e(a: float, b: float) -> float:
            return mom(a + 2, b + 1) / v0

    def mean_rel(a: float, b: float) -> tuple[float, float]:
        m1 = e(a, b)
        m2 = e(2 * a, 2 * b)
        return m1, math.sqrt(max(m2 / (m1 * m1) - 1.0, 0.0))

    d, sd = mean_rel(1, 0)
    l, sl = mean_rel(0, 1)
    c = 1.5 ** (1 / 3)
    q1, sq = mean_rel(2 / 3, 1 / 3)
    v0 = mom(2, 1)
    return SizeStatistics(
        weighting=weighting,
        d_ab=d,
        s_ab=sd,
        l_c=l,
        s_c=sl,
        d_eq=c * q1,
        s_eq=sq,
        aspect=l / d,
        d_ab_vol=mom(3, 1) / v0,
        l_c_vol=mom(2, 2) / v0,
        d_eq_vol=c * mom(2 + 2 / 3, 1 + 1 / 3) / v0,
    )


def prism_statistics(dist: BivariateLogNormal, weighting: str = "number") -> SizeStatistics:
    """Closed-form statistics of a bivariate log-normal prism population.

    Parameters
    ----------
    dist : the number distribution (nm).
    weighting : "number", "volume" or "mass" (mass = volume within one phase).
    """
    return _moments_stats(dist.moment, _check_weighting(weighting))


def prism_statistics_quadrature(
    dist: BivariateLogNormal, weighting: str = "number", n_nodes: int = 80
) -> SizeStatistics:
    """Statistics by Gauss-Hermite quadrature over (ln D_ab, ln L_c): an independent check."""
    x, w = np.polynomial.hermite_e.hermegauss(n_nodes)
    w = w / w.sum()
    mu1, s1, mu2, s2 = dist.log_params()
    r = dist.rho
    # correlated standard normals: u = z1, v = r z1 + sqrt(1-r^2) z2
    z1, z2 = np.meshgrid(x, x, indexing="ij")
    ww = np.outer(w, w)
    lnd = mu1 + s1 * z1
    lnl = mu2 + s2 * (r * z1 + math.sqrt(1 - r * r) * z2)

    def mom(a: float, b: float) -> float:
        return float(np.sum(ww * np.exp(a * lnd + b * lnl)))

    return _moments_stats(mom, _check_weighting(weighting))


def grid_statistics(grid: SizeGrid, weights: np.ndarray, weighting: str = "number") -> SizeStatistics:
    """Statistics over a discrete prism grid.

    Parameters
    ----------
    grid : the size grid.
    weights : number fractions of the grid points (e.g. ``grid.weights(dist)``; renormalised).
    weighting : "number", "volume" or "mass".
    """
    _check_weighting(weighting)
    w = np.asarray(weights, float)
    if w.shape != grid.shape or w.sum() <= 0:
        raise NanotwinError("weights must have the grid's shape and a positive sum")
    d = grid.d_ab[:, None]
    l = grid.l_c[None, :]

    def mom(a: float, b: float) -> float:
        return float(np.sum(w * d**a * l**b) / w.sum())

    return _moments_stats(mom, weighting)


def sphere_statistics(dist: LogNormal, weighting: str = "number") -> SphereStatistics:
    """Mean, relative dispersion and volume-weighted mean (D^3 weights) of a 1D log-normal."""
    _check_weighting(weighting)
    t = dist if weighting == "number" else dist.tilted(3.0)
    return SphereStatistics(weighting, t.mean, t.rel_sigma, dist.moment(4) / dist.moment(3))


def grid_statistics_1d(grid: SizeGrid1D, weights: np.ndarray, weighting: str = "number") -> SphereStatistics:
    """As :func:`sphere_statistics` on a discrete 1D grid."""
    _check_weighting(weighting)
    w = np.asarray(weights, float)
    x = grid.sizes
    wv = w * x**3
    ww = w if weighting == "number" else wv
    m1 = float(np.sum(ww * x) / ww.sum())
    m2 = float(np.sum(ww * x * x) / ww.sum())
    return SphereStatistics(
        weighting, m1, math.sqrt(max(m2 / m1**2 - 1, 0.0)), float(np.sum(wv * x) / wv.sum())
    )


def tail_fractions(dist: BivariateLogNormal, quantile: float = 0.99) -> tuple[float, float]:
    """Crystals with D_ab or L_c beyond their number ``quantile``: (number fraction, volume fraction).

    Exact for independent axes (rho = 0): the volume-weighted (D^2 L tilted) marginals are
    log-normal with ln-means shifted by 2 s_ab^2 and s_c^2.
    """
    if dist.rho != 0.0:
        raise NanotwinError("tail_fractions is exact only for independent D_ab and L_c")
    z = float(ndtri(quantile))
    s1, s2 = dist.ab.s, dist.c.s
    n_in = quantile * quantile
    v_in = float(norm_cdf(z - 2 * s1)) * float(norm_cdf(z - s2))
    return 1.0 - n_in, 1.0 - v_in


def mixture_statistics(
    mix: Mixture, weighting: str = "number"
) -> list[tuple[str, float, SizeStatistics | SphereStatistics]]:
    """Per component: (name, fraction under ``weighting``, statistics of that component).

    Number fractions are the mixture's; volume fractions weight each by its mean volume, mass
    fractions by mean volume x density.
    """
    _check_weighting(weighting)
    f = mix.fractions
    out = []
    vols = []
    for comp in mix.components:
        d = comp.distribution
        v = d.moment(2, 1) * math.pi / 4 if isinstance(d, BivariateLogNormal) else d.moment(3) * math.pi / 6
        vols.append(v * (comp.density if weighting == "mass" else 1.0))
    vols_arr = np.asarray(vols)
    g = f if weighting == "number" else f * vols_arr / np.sum(f * vols_arr)
    for comp, gi in zip(mix.components, g, strict=True):
        d = comp.distribution
        st = (
            prism_statistics(d, weighting)
            if isinstance(d, BivariateLogNormal)
            else sphere_statistics(d, weighting)
        )
        out.append((comp.name, float(gi), st))
    return out
