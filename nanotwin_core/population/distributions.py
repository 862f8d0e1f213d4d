"""Size distributions of nanocrystal populations (number-based log-normals).

A log-normal with number-based mean <D> and relative dispersion r = sigma/<D> has
ln D ~ Normal(mu, s^2) with s^2 = ln(1 + r^2), mu = ln<D> - s^2/2 (so <D> = exp(mu + s^2/2),
sigma/<D> = sqrt(exp(s^2) - 1)).  Sizes are in nm.

The bivariate log-normal over (D_ab, L_c) (SCIENCE.md section 4) has the four refinable
parameters <D_ab>, sigma_ab/<D_ab>, <L_c>, sigma_c/<L_c> and an optional correlation ``rho`` of
ln D_ab and ln L_c.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import special, stats

from nanotwin_core.errors import NanotwinError

__all__ = ["LogNormal", "BivariateLogNormal", "Mixture", "MixtureComponent", "norm_cdf"]

_SQRT2 = math.sqrt(2.0)


def norm_cdf(z: np.ndarray | float) -> np.ndarray:
    """Standard normal CDF (accurate in both tails)."""
    return 0.5 * special.erfc(-np.asarray(z, dtype=float) / _SQRT2)


def _norm_mass(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """P(a < Z < b) for a standard normal Z, accurate in the upper tail too."""
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    upper = a > 0
    # for a > 0 use survival functions: Phi(-a) - Phi(-b)
    return np.where(upper, norm_cdf(-a) - norm_cdf(-b), norm_cdf(b) - norm_cdf(a))


def _log_safe(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    out = np.full(x.shape, -np.inf)
    pos = x > 0
    out[pos] = np.log(x[pos])
    return out


@dataclass(frozen=True)
class LogNormal:
    """Univariate number-based log-normal (spheres, cubes).

    Parameters
    ----------
    mean : number-based mean size <D> (nm).
    rel_sigma : relative dispersion sigma/<D> (> 0).
    """

    mean: float
    rel_sigma: float

    def __post_init__(self) -> None:
        if not (self.mean > 0 and self.rel_sigma > 0):
            raise NanotwinError(
                f"log-normal needs mean > 0 and sigma/mean > 0, got {self.mean}, {self.rel_sigma}"
            )

    @property
    def s(self) -> float:
        """Standard deviation of ln D."""
        return math.sqrt(math.log1p(self.rel_sigma**2))

    @property
    def mu(self) -> float:
        """Mean of ln D (ln nm)."""
        return math.log(self.mean) - 0.5 * self.s**2

    # scipy.stats.lognorm with shape s and scale exp(mu) (called directly: a frozen
    # distribution costs ~0.7 ms to make, and fits re-weight sizes at every evaluation)
    def pdf(self, x: np.ndarray) -> np.ndarray:
        """Number density (1/nm) at size x (nm)."""
        return stats.lognorm.pdf(np.asarray(x, float), self.s, scale=math.exp(self.mu))

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """Number fraction below size x (nm)."""
        return stats.lognorm.cdf(np.asarray(x, float), self.s, scale=math.exp(self.mu))

    def mass(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Number fraction in [lo, hi] (nm), accurate in the upper tail (survival functions above
        the median)."""
        lo, hi = np.asarray(lo, float), np.asarray(hi, float)
        scale = math.exp(self.mu)
        sf = stats.lognorm.sf(np.concatenate([lo.ravel(), hi.ravel()]), self.s, scale=scale)
        sf_lo, sf_hi = sf[: lo.size].reshape(lo.shape), sf[lo.size:].reshape(hi.shape)
        below = stats.lognorm.cdf(hi, self.s, scale=scale) - stats.lognorm.cdf(lo, self.s, scale=scale)
        return np.where(lo > scale, sf_lo - sf_hi, below)

    def ppf(self, p: np.ndarray | float) -> np.ndarray:
        """Size (nm) below which a number fraction p lies."""
        return stats.lognorm.ppf(np.asarray(p, float), self.s, scale=math.exp(self.mu))

    def moment(self, k: float) -> float:
        """Number-based raw moment E[D^k] (nm^k)."""
        return math.exp(k * self.mu + 0.5 * k * k * self.s**2)

    def tilted(self, k: float) -> LogNormal:
        """The distribution weighted by D^k (e.g. k = 3: volume-weighted for spheres)."""
        mu = self.mu + k * self.s**2
        return LogNormal(math.exp(mu + 0.5 * self.s**2), self.rel_sigma)


@dataclass(frozen=True)
class BivariateLogNormal:
    """Bivariate number-based log-normal over (D_ab, L_c) in nm.

    Parameters
    ----------
    d_ab : <D_ab> (nm), number-based mean of the base diameter.
    s_ab : sigma_ab/<D_ab>.
    l_c : <L_c> (nm), number-based mean length along c.
    s_c : sigma_c/<L_c>.
    rho : correlation of ln D_ab and ln L_c (0 = independent, as in the paper).
    """

    d_ab: float
    s_ab: float
    l_c: float
    s_c: float
    rho: float = 0.0

    def __post_init__(self) -> None:
        if not (self.d_ab > 0 and self.l_c > 0 and self.s_ab > 0 and self.s_c > 0):
            raise NanotwinError("bivariate log-normal needs positive means and dispersions")
        if not -1.0 < self.rho < 1.0:
            raise NanotwinError(f"correlation must lie in (-1, 1), got {self.rho}")

    @property
    def ab(self) -> LogNormal:
        """Marginal of D_ab."""
        return LogNormal(self.d_ab, self.s_ab)

    @property
    def c(self) -> LogNormal:
        """Marginal of L_c."""
        return LogNormal(self.l_c, self.s_c)

    def moment(self, a: float, b: float) -> float:
        """Number-based E[D_ab^a L_c^b] (nm^(a+b))."""
        m1, m2 = self.ab, self.c
        var = a * a * m1.s**2 + b * b * m2.s**2 + 2 * a * b * self.rho * m1.s * m2.s
        return math.exp(a * m1.mu + b * m2.mu + 0.5 * var)

    def log_params(self) -> tuple[float, float, float, float]:
        """(mu_ab, s_ab, mu_c, s_c) of the underlying normal in ln nm."""
        return self.ab.mu, self.ab.s, self.c.mu, self.c.s

    def tilted(self, a: float, b: float) -> BivariateLogNormal:
        """The distribution weighted by D_ab^a L_c^b (a = 2, b = 1: volume-weighted)."""
        mu1, s1, mu2, s2 = self.log_params()
        n1 = mu1 + a * s1 * s1 + b * self.rho * s1 * s2
        n2 = mu2 + b * s2 * s2 + a * self.rho * s1 * s2
        return BivariateLogNormal(
            math.exp(n1 + 0.5 * s1 * s1), self.s_ab, math.exp(n2 + 0.5 * s2 * s2), self.s_c, self.rho
        )

    def pdf(self, d: np.ndarray, l: np.ndarray) -> np.ndarray:
        """Number density (1/nm^2) at (D_ab, L_c)."""
        mu1, s1, mu2, s2 = self.log_params()
        d = np.asarray(d, float)
        l = np.asarray(l, float)
        u = (_log_safe(d) - mu1) / s1
        v = (_log_safe(l) - mu2) / s2
        r = self.rho
        q = (u * u - 2 * r * u * v + v * v) / (1 - r * r)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            dens = np.exp(-0.5 * q) / (2 * np.pi * s1 * s2 * math.sqrt(1 - r * r) * d * l)
        return np.where((d > 0) & (l > 0), dens, 0.0)

    def cell_mass(
        self, d_lo: np.ndarray, d_hi: np.ndarray, l_lo: np.ndarray, l_hi: np.ndarray, *, n_gauss: int = 12
    ) -> np.ndarray:
        """Number fraction in every cell [d_lo, d_hi] x [l_lo, l_hi] (outer product, nm).

        Returns an array (len(d_lo), len(l_lo)).  Independent axes: product of CDF differences;
        correlated: Gauss-Legendre over ln D_ab of the conditional CDF differences along L_c.
        """
        d_lo, d_hi = np.asarray(d_lo, float), np.asarray(d_hi, float)
        l_lo, l_hi = np.asarray(l_lo, float), np.asarray(l_hi, float)
        if self.rho == 0.0:
            return np.outer(self.ab.mass(d_lo, d_hi), self.c.mass(l_lo, l_hi))
        mu1, s1, mu2, s2 = self.log_params()
        u_lo = (_log_safe(d_lo) - mu1) / s1
        u_hi = (_log_safe(d_hi) - mu1) / s1
        u_lo = np.maximum(u_lo, -12.0)
        u_hi = np.minimum(np.maximum(u_hi, u_lo), 12.0)
        u_hi = np.maximum(u_hi, u_lo)
        xg, wg = np.polynomial.legendre.leggauss(n_gauss)
        half = 0.5 * (u_hi - u_lo)
        mid = 0.5 * (u_hi + u_lo)
        u = mid[:, None] + half[:, None] * xg[None, :]  # (nd, g)
        phi = np.exp(-0.5 * u * u) / math.sqrt(2 * np.pi) * wg[None, :] * half[:, None]
        sc = math.sqrt(1 - self.rho**2)
        v_lo = (_log_safe(l_lo) - mu2) / s2
        v_hi = (_log_safe(l_hi) - mu2) / s2
        a = (v_lo[None, None, :] - self.rho * u[:, :, None]) / sc
        b = (v_hi[None, None, :] - self.rho * u[:, :, None]) / sc
        return np.einsum("dg,dgl->dl", phi, _norm_mass(a, b))


@dataclass(frozen=True)
class MixtureComponent:
    """One population of a mixture: a name, a size distribution and a number fraction."""

    name: str
    distribution: LogNormal | BivariateLogNormal
    fraction: float
    density: float = 1.0  # g/cm^3, only for mass weighting between phases


@dataclass
class Mixture:
    """Several populations with fractions (normalised to sum 1 on access)."""

    components: list[MixtureComponent] = field(default_factory=list)

    def add(
        self, name: str, distribution: LogNormal | BivariateLogNormal, fraction: float, density: float = 1.0
    ) -> None:
        """Append a population."""
        if fraction < 0:
            raise NanotwinError(f"population fraction must be >= 0, got {fraction}")
        self.components.append(MixtureComponent(name, distribution, fraction, density))

    @property
    def fractions(self) -> np.ndarray:
        """Normalised fractions, in component order."""
        f = np.array([c.fraction for c in self.components], float)
        tot = f.sum()
        if tot <= 0:
            raise NanotwinError("mixture fractions sum to zero")
        return f / tot

    def __len__(self) -> int:
        return len(self.components)
