"""Total scattering S(Q), F(Q) and the pair distribution function G(r) (SCIENCE.md section 6).

Conventions (diffpy/PDFgetX3, Faber-Ziman, per atom):
- N = sum of occupancies; <|f|^2> = sum_a N_a o_a |f_a|^2 / N; <f> = sum_a N_a o_a f_a / N.
- S(Q) = 1 + [I(Q)/N - <|f|^2>] / |<f>|^2 (I the full Debye sum, self terms included), so
  S -> 1 at high Q; F(Q) = Q [S(Q) - 1] in 1/Å.
- G(r) = (2/pi) sum_i F(Q_i) M(Q_i) sin(Q_i r) w_i over Qmin <= Q_i <= Qmax, times
  exp(-(r Qdamp)^2 / 2); G in 1/Å^2. On a uniform grid (steps equal to 1e-3 relative, as read
  from text files) w_i is the step ("rectangle": an FFT's and DebyeCalculator's convention, the
  default for an F(Q) given) or the trapezoid weights ("trapezoid", half steps at the ends);
  ``compute_pdf`` uses the trapezoid so the transform covers exactly [Qmin, Qmax]: its grid runs
  from Qmin (from Q = 0 when Qmin = 0) to Qmax, and G(r) is the fits' model
  (``refine/pdf_model.py``) to ~1e-4 (Rw) for Qmin = 1 1/Å. A non-uniform grid: trapezoid.
  M(Q) = 1, or with ``lorch=True`` the Lorch function sin(pi Q / Qmax) / (pi Q / Qmax), which
  trades termination ripples for broader peaks.
- Weights (``weights``): "fq" (the above, with the radiation's f(Q)) or "constant": every factor
  taken at Q = 0 without anomalous terms (X-rays ~Z, neutrons b; ``ConstantFactors``), PDFgui's
  convention; the fits take the same two (``refine/pdf_model.py``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from nanotwin_core.errors import NanotwinError
from nanotwin_core.scattering.debye import debye_intensity, type_factors
from nanotwin_core.scattering.radiation import Radiation, XRay, as_radiation
from nanotwin_core.scattering.types import PairHistograms

PDF_WEIGHTS = ("fq", "constant")


@dataclass(frozen=True)
class ConstantFactors(Radiation):
    """Every scattering factor of ``base`` taken at Q = 0 without anomalous terms (X-rays ~Z,
    neutrons b), at every Q: the "constant" weights of G(r). Not a beam: not registered."""

    base: Radiation = field(default_factory=XRay)
    kind: ClassVar[str] = "constant-factors"

    def form_factor(self, symbol: str, q: np.ndarray) -> np.ndarray:
        base = XRay() if isinstance(self.base, XRay) else self.base
        f0 = complex(base.form_factor(symbol, np.zeros(1))[0].real)
        return np.full(np.shape(q), f0, dtype=np.complex128)


def pdf_radiation(radiation: Radiation | str | None, weights: str = "fq") -> Radiation:
    """The radiation whose factors weigh G(r): itself ("fq") or ``ConstantFactors`` ("constant")."""
    if weights not in PDF_WEIGHTS:
        raise NanotwinError(f"PDF weights must be one of {', '.join(PDF_WEIGHTS)}, got {weights!r}")
    rad = as_radiation(radiation)
    return rad if weights == "fq" else ConstantFactors(rad)


def composition_averages(
    composition: PairHistograms | Mapping[str, float],
    q: np.ndarray,
    *,
    radiation: Radiation | str | None = None,
) -> tuple[float, np.ndarray, np.ndarray]:
    """(N, <f> (complex, nq), <|f|^2> (nq)) from histograms or {element: occupancy-weighted count}."""
    q = np.asarray(q, dtype=np.float64)
    if isinstance(composition, PairHistograms):
        f, _ = type_factors(composition.types, q, radiation=radiation)
        w = np.asarray(composition.occupancy_sums, dtype=np.float64)
    else:
        items = [(str(k), float(v)) for k, v in composition.items() if float(v) > 0]
        if not items:
            raise NanotwinError("composition is empty")
        rad = as_radiation(radiation)
        f = np.array([rad.form_factor(el, q) for el, _ in items])
        w = np.array([v for _, v in items])
    n = float(w.sum())
    if not n > 0:
        raise NanotwinError("composition has no atoms")
    mean_f = (w[:, None] * f).sum(axis=0) / n
    mean_f2 = (w[:, None] * np.abs(f) ** 2).sum(axis=0) / n
    return n, mean_f, mean_f2


def structure_factor_from_intensity(
    q: np.ndarray,
    intensity: np.ndarray,
    composition: PairHistograms | Mapping[str, float],
    *,
    radiation: Radiation | str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(S(Q), F(Q)) of a full Debye sum I(Q) of one crystal (Faber-Ziman, per atom)."""
    q = np.asarray(q, dtype=np.float64)
    n, mean_f, mean_f2 = composition_averages(composition, q, radiation=radiation)
    s = 1.0 + (np.asarray(intensity, dtype=np.float64) / n - mean_f2) / np.abs(mean_f) ** 2
    return s, q * (s - 1.0)


def total_scattering(hist: PairHistograms, q: np.ndarray, **kwargs) -> tuple[np.ndarray, np.ndarray]:
    """(S(Q), F(Q)) from histograms; keywords as ``debye_intensity``."""
    q = np.asarray(q, dtype=np.float64)
    intensity = debye_intensity(hist, q, **kwargs)
    return structure_factor_from_intensity(q, intensity, hist, radiation=kwargs.get("radiation"))


Q_RULES = ("rectangle", "trapezoid")


def _weights(q: np.ndarray, rule: str = "rectangle") -> np.ndarray:
    if rule not in Q_RULES:
        raise NanotwinError(f"Q integration rule must be one of {', '.join(Q_RULES)}, got {rule!r}")
    if len(q) < 2:
        return np.ones_like(q)
    d = np.diff(q)
    step = (q[-1] - q[0]) / (len(q) - 1)
    if np.max(np.abs(d - step)) <= 1e-3 * abs(step):  # uniform up to rounding in a text file
        w = np.full(len(q), step)
        if rule == "trapezoid":
            w[0] = w[-1] = 0.5 * step
        return w
    w = np.zeros(len(q))
    w[:-1] += d / 2
    w[1:] += d / 2
    return w


def pdf_from_fq(
    q: np.ndarray,
    fq: np.ndarray,
    r: np.ndarray,
    *,
    qmin: float | None = None,
    qmax: float | None = None,
    qdamp: float = 0.0,
    lorch: bool = False,
    rule: str = "rectangle",
) -> np.ndarray:
    """G(r) (1/Å^2) by the sine transform of F(Q) (see module doc); r in Å. ``rule``: weights of a
    uniform grid, "rectangle" (every point one step: an FFT's and DebyeCalculator's convention,
    for F(Q) read from a file) or "trapezoid" (half steps at the ends: ``compute_pdf``)."""
    q = np.asarray(q, dtype=np.float64)
    fq = np.asarray(fq, dtype=np.float64)
    r = np.asarray(r, dtype=np.float64)
    if q.shape != fq.shape:
        raise NanotwinError("q and F(Q) must have the same length")
    w = _weights(q, rule)
    lo = -np.inf if qmin is None else qmin
    hi = q.max() if qmax is None else qmax
    sel = (q >= lo - 1e-12) & (q <= hi + 1e-12)
    if not sel.any():
        raise NanotwinError(f"no Q points between qmin={qmin} and qmax={qmax}")
    qs, fs, ws = q[sel], fq[sel], w[sel]
    if lorch:
        x = np.pi * qs / hi
        fs = fs * np.where(x == 0, 1.0, np.sin(x) / np.where(x == 0, 1.0, x))
    g = np.empty(len(r))
    a = fs * ws
    for i0 in range(0, len(r), 512):
        i1 = min(len(r), i0 + 512)
        g[i0:i1] = np.sin(np.outer(r[i0:i1], qs)) @ a
    g *= 2.0 / np.pi
    if qdamp:
        g *= np.exp(-0.5 * (r * qdamp) ** 2)
    return g


def pdf_from_intensity(
    q: np.ndarray,
    intensity: np.ndarray,
    composition: PairHistograms | Mapping[str, float],
    *,
    r: np.ndarray | None = None,
    rmin: float = 0.0,
    rmax: float = 50.0,
    rstep: float = 0.01,
    qmin: float | None = None,
    qmax: float | None = None,
    qdamp: float = 0.0,
    lorch: bool = False,
    radiation: Radiation | str | None = None,
    rule: str = "rectangle",
) -> tuple[np.ndarray, np.ndarray]:
    """(r, G(r)) from a full Debye sum I(Q) of one crystal and its composition (``rule``: see
    ``pdf_from_fq``)."""
    _, fq = structure_factor_from_intensity(q, intensity, composition, radiation=radiation)
    if r is None:
        r = _r_grid(rmin, rmax, rstep)
    return r, pdf_from_fq(q, fq, r, qmin=qmin, qmax=qmax, qdamp=qdamp, lorch=lorch, rule=rule)


def _r_grid(rmin: float, rmax: float, rstep: float) -> np.ndarray:
    if not rstep > 0 or not rmax > rmin:
        raise NanotwinError(f"need rmax > rmin and rstep > 0 (got {rmin}, {rmax}, {rstep})")
    return rmin + rstep * np.arange(int(np.floor((rmax - rmin) / rstep + 1e-9)) + 1)


def sphere_envelope(r: np.ndarray, diameter: float) -> np.ndarray:
    """PDFgui's spherical shape function gamma0(r) = 1 - 3r/(2D) + r^3/(2D^3) for r < D, else 0."""
    x = np.asarray(r, float) / diameter
    return np.where(x < 1.0, 1.0 - 1.5 * x + 0.5 * x**3, 0.0)


def radius_of_gyration_sq(hist: PairHistograms) -> float:
    """Rg^2 (Å^2) of a crystal from its pair histograms: (1/N^2) sum over atom pairs of d^2,
    occupancies as weights (N the occupancy sum)."""
    occ = np.array([t.occupancy for t in hist.types], float)
    n = float(np.sum(hist.occupancy_sums))
    total = 0.0
    for p, (a, b) in enumerate(hist.pairs):
        if hist.counts is not None:
            d = np.arange(hist.counts.shape[1]) * hist.r_step
            total += float(occ[a] * occ[b] * np.sum(hist.counts[p] * d * d))
        else:
            total += float(occ[a] * occ[b] * np.sum(hist.exact_w[p] * hist.exact_r[p] ** 2))
    return total / n**2


def particle_baseline(n_atoms: float, rg2: float, r: np.ndarray, expansion: float = 0.0) -> np.ndarray:
    """4 pi rho0 r gamma0(r): the share of a finite crystal's G(r) that its small-angle scattering
    makes, which measured G(r) lack; the particle a uniform sphere of the crystal's radius of
    gyration (D = sqrt(20/3) Rg) holding its N atoms (rho0 = N / volume), every length times
    (1 + expansion). r in Å, result in 1/Å^2."""
    diameter = math.sqrt(20.0 / 3.0 * rg2) * (1.0 + expansion)
    if not diameter > 0:
        return np.zeros(np.shape(r))
    rho0 = n_atoms / (math.pi / 6.0 * diameter**3)
    return 4.0 * math.pi * rho0 * np.asarray(r, float) * sphere_envelope(r, diameter)


def baseline_fq(n_atoms: float, rg2: float, q: np.ndarray, *, dr: float = 0.005) -> np.ndarray:
    """F(Q) of ``particle_baseline`` (its sine transform, integral of B(r) sin(Qr) dr), 1/Å."""
    diameter = math.sqrt(20.0 / 3.0 * rg2)
    if not diameter > 0:
        return np.zeros(np.shape(q))
    r = np.arange(0.0, diameter + dr, dr)
    w = np.full(r.size, dr)
    w[0] = w[-1] = 0.5 * dr
    b = particle_baseline(n_atoms, rg2, r) * w
    q = np.asarray(q, float)
    out = np.empty(q.size)
    for i0 in range(0, q.size, 512):
        out[i0:i0 + 512] = np.sin(np.outer(q[i0:i0 + 512], r)) @ b
    return out


def compute_pdf(
    hist: PairHistograms,
    *,
    qmin: float = 0.5,
    qmax: float = 25.0,
    qstep: float | None = None,
    rmin: float = 0.0,
    rmax: float = 50.0,
    rstep: float = 0.01,
    qdamp: float = 0.0,
    lorch: bool = False,
    b_iso: Mapping[str, float] | float | None = None,
    radiation: Radiation | str | None = None,
    expansion: float = 0.0,
    weights: str = "fq",
    baseline: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """(r, G(r)) of a crystal's histograms (Debye sum -> F(Q) -> sine transform).

    qmin, qmax : range of the transform in 1/Å [0.5, 25]; qmin > 0 leaves out the small-angle
        (particle shape) scattering, as measured data do.
    qstep : largest Q grid step [min(0.002, pi / (4 rmax))], the grid running from qmin to qmax: for
        C60 (Qmax 25) G(r) then matches a direct real-space sum to 2e-5 of its maximum (8e-5 with
        a 0.01 step).
    rmin, rmax, rstep : r grid in Å [0, 50, 0.01].
    qdamp : Gaussian envelope exp(-(r qdamp)^2 / 2) on G [0]; lorch : Lorch function [False].
    weights : "fq" (Faber-Ziman with f(Q)) or "constant" (factors at Q = 0, PDFgui) [fq].
    baseline : leave out the particle's small-angle scattering (``particle_baseline``, transformed
        over the same Q window), as measured G(r) lack it and data fits model it [False: the
        pure Debye G(r)].
    """
    radiation = pdf_radiation(radiation, weights)
    qmin = 0.0 if qmin is None else float(qmin)
    if not qmax > qmin:
        raise NanotwinError(f"qmax must exceed qmin (got {qmin}, {qmax})")
    if qstep is None:
        qstep = min(0.002, np.pi / (4.0 * max(rmax, 1.0)))
    q = np.linspace(qmin, qmax, int(np.ceil((qmax - qmin) / qstep - 1e-9)) + 1)  # ends on qmin and qmax
    intensity = debye_intensity(hist, q, b_iso=b_iso, radiation=radiation, expansion=expansion)
    r, g = pdf_from_intensity(
        q,
        intensity,
        hist,
        rmin=rmin,
        rmax=rmax,
        rstep=rstep,
        qmin=qmin,
        qmax=qmax,
        qdamp=qdamp,
        lorch=lorch,
        radiation=radiation,
        rule="trapezoid",
    )
    if baseline:
        rg2 = radius_of_gyration_sq(hist) * (1.0 + expansion) ** 2  # every length times (1 + e)
        fq_b = baseline_fq(float(np.sum(hist.occupancy_sums)), rg2, q)
        g = g - pdf_from_fq(q, fq_b, r, qmin=qmin, qmax=qmax, qdamp=qdamp, lorch=lorch, rule="trapezoid")
    return r, g
