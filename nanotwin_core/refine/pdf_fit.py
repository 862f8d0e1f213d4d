"""PDF refinements: a measured G(r) against a Debye-scattering model (SCIENCE.md section 6).

The model is a finite set of atoms (a crystal from ``build_crystal`` or an XYZ cluster), reduced
to pair histograms once (the project's histogram route). G(r) follows the conventions of PDFgui
(diffpy.pdffit2) and diffpy.srreal's DebyePDFCalculator:

- Every pair (i, j) is a Gaussian of width sigma_ij at its distance d_ij, divided by d_ij (the
  Debye form, as srreal; the sine transform of the Debye F(Q) with constant scattering factors):
  G0(r) = 1/(N <f>^2) sum_{i != j} o_i o_j f_i f_j [g(r - d_ij) - g(r + d_ij)] / d_ij.
  Scattering factors are constant, f(Q = 0) (X-rays: ~Z), as PDFgui and srreal use.
- Peak width (PDFgui/pdffit2 and srreal's "jeong" model): sigma_ij^2 = (U_i + U_j) *
  (1 - delta1/d - delta2/d^2 + Qbroad^2 d^2), U = B / (8 pi^2); a pair whose factor is <= 0 is
  left out (as pdffit2). Widths are floored at the r step (B = 0 would be a delta function).
- Expansion e rescales every stored distance by (1 + e) (no recount).
- Envelopes on G0: the Q resolution exp(-(Qdamp r)^2 / 2) and, optionally, the spherical
  shape function gamma0(r) = 1 - 3r/(2D) + r^3/(2D^3) (r < D) of PDFgui's ``spdiameter``.
- Small-angle baseline: the Debye sum of a finite crystal holds its small-angle scattering (the
  peak of F(Q) below ~2 pi/D), which measured G(r) lack (never measured, or removed in the
  reduction): its share of G0 is 4 pi rho0 r gamma0(r), subtracted for every crystal in data
  fits (``baseline``), with gamma0 the characteristic function of the uniform sphere of the
  crystal's radius of gyration (D = sqrt(20/3) Rg) and rho0 = N / its volume: the
  -4 pi rho0 r gamma0(r) baseline of PDFgui's spherical particles, for any Qmin (a header Qmin
  of 0.1 1/Å once left that scattering in the model: Rw 0.63 on the Pt nanoparticles of the
  shared data, against 0.13 with Qmin 1; with the baseline both give 0.10).
- Termination: F(Q) = sine transform of G is kept only for Qmin <= Q < Qmax (srreal) and
  transformed back (pdffit2 cuts at Qmax the same way, after the envelopes).
- Scale: linear, solved inside every evaluation (variable projection, ``Refinement``).

Rw = sqrt(sum w (Gobs - Gcalc)^2 / sum w Gobs^2) over [rmin, rmax], w = 1/dG^2 or 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.interpolate import make_interp_spline

from nanotwin_core.builder import build_crystal
from nanotwin_core.builder.ownership import find_ownership
from nanotwin_core.crystal import Crystal
from nanotwin_core.errors import NanotwinError
from nanotwin_core.io.data import PDFData
from nanotwin_core.refine.engine import FitResult, Refinement
from nanotwin_core.refine.parameters import Parameter, ParameterSet
from nanotwin_core.refine.pdf import RangeFit, pdf_rw, range_resolved
from nanotwin_core.refine.pdf_terms import (
    PairTerms,
    gaussian_sum,
    gaussian_sum_reference,
    pair_terms,
    sphere_envelope,
    terminate,
)
from nanotwin_core.refine.report import markdown_report, result_json
from nanotwin_core.scattering import compute_histograms
from nanotwin_core.scattering.types import PairHistograms
from nanotwin_core.structures.adp import structure_b
from nanotwin_core.structures.library import get_structure

__all__ = [
    "PDF_REFINABLE",
    "PDFFitSettings",
    "PDFModel",
    "PDFFitOutcome",
    "SizeMember",
    "pair_terms",
    "gaussian_sum",
    "gaussian_sum_reference",
    "terminate",
    "sphere_envelope",
    "sphere_ladder",
    "fit_pdf",
    "fit_pdf_ranges",
    "structure_b",
]

MAX_LADDER_MOVES = 2  # times a fit's sphere ladder may move to where the fitted size left it
PDF_REFINABLE = ("scale", "adp", "expansion", "qdamp", "qbroad", "delta1", "delta2", "size", "spdiameter")
_U_PER_B = 1.0 / (8.0 * math.pi**2)


@dataclass
class SizeMember:
    """One crystal of a size ladder: realised diameter (nm) and its pair histograms."""

    size_nm: float
    hist: PairHistograms
    n_atoms: int = 0


class PDFModel:
    """G(r) of one crystal (or a ladder of sizes) for any set of PDF parameters.

    Parameters
    ----------
    members : one or more ``SizeMember`` (sorted by size); with several, the parameter ``D_nm``
        interpolates linearly (atom-weighted mixture of the two neighbouring sizes).
    qmin, qmax : the termination window of the data, 1/Å.
    rstep : internal r step in Å [0.01]; the output is interpolated where the data grid differs.
    radiation : "xray" or "neutron" (scattering-factor weights).
    baseline : subtract each crystal's small-angle baseline 4 pi rho0 r gamma0(r) (module doc), as
        measured G(r) need (data fits: ``actions.pdf_model_of``) [False: the pure Debye G(r), whose
        small-angle scattering only the termination at Qmin removes].
    ladder : ``ladder(size_nm) -> members`` builds a ladder around another size: a fit whose
        ``D_nm`` ends at an end of the ladder moves it there (``fit_pdf``, at most
        ``MAX_LADDER_MOVES`` times).
    """

    def __init__(
        self,
        members: Sequence[SizeMember],
        *,
        qmin: float = 0.0,
        qmax: float = 25.0,
        rstep: float = 0.01,
        radiation: str = "xray",
        baseline: bool = False,
        ladder: Callable[[float], Sequence[SizeMember]] | None = None,
    ) -> None:
        if not members:
            raise NanotwinError("a PDF model needs at least one crystal")
        if not qmax > max(qmin, 0.0):
            raise NanotwinError(f"qmax must exceed qmin (got {qmin}, {qmax}) 1/Å")
        if not rstep > 0:
            raise NanotwinError("rstep must be > 0 Å")
        self.members = sorted(members, key=lambda m: m.size_nm)
        self.qmin = float(max(qmin, 0.0))
        self.baseline = bool(baseline)
        self.radiation = radiation
        self.ladder = ladder
        self.qmax = float(qmax)
        self.rstep = float(rstep)
        self.terms = [pair_terms(m.hist, radiation) for m in self.members]
        groups: list[str] = []
        for t in self.terms:
            for g in t.groups:
                if g not in groups:
                    groups.append(g)
        self.adp_groups = groups
        self.group_elements = {g: el for t in self.terms for g, el in zip(t.groups, t.elements, strict=True)}

    @property
    def sizes_nm(self) -> list[float]:
        """Realised diameters (nm) of the ladder."""
        return [m.size_nm for m in self.members]

    def _b_of(self, group: str, values: Mapping[str, float]) -> float:
        for key in (f"B_{group}", f"B_{self.group_elements.get(group, group)}"):
            if key in values:
                return float(values[key])
        return 0.0

    def _g0(self, terms: PairTerms, values: Mapping[str, float], n_grid: int) -> np.ndarray:
        e = float(values.get("expansion", 0.0))
        if not 1.0 + e > 0:
            raise NanotwinError(f"expansion must be > -1, got {e}")
        d = terms.d0 * (1.0 + e)
        u = np.array([self._b_of(g, values) for g in terms.groups]) * _U_PER_B
        u_pair = u[terms.ta] + u[terms.tb]
        corr = (
            1.0
            - float(values.get("delta1", 0.0)) / d
            - float(values.get("delta2", 0.0)) / d**2
            + (float(values.get("qbroad", 0.0)) * d) ** 2
        )
        s2 = u_pair * corr
        sigma = np.where(corr > 0, np.sqrt(np.maximum(s2, self.rstep**2)), 0.0)
        return gaussian_sum(d, terms.amp, sigma, self.rstep, n_grid)

    def _weights(self, values: Mapping[str, float]) -> list[tuple[float, int]]:
        if len(self.members) == 1:
            return [(1.0, 0)]
        sizes = self.sizes_nm
        dn = float(values.get("D_nm", sizes[0]))
        if dn <= sizes[0]:
            return [(1.0, 0)]
        if dn >= sizes[-1]:
            return [(1.0, len(sizes) - 1)]
        i = int(np.searchsorted(sizes, dn) - 1)
        t = (dn - sizes[i]) / (sizes[i + 1] - sizes[i])
        return [(1.0 - t, i), (t, i + 1)]

    def grid_size(self, r_top: float, values: Mapping[str, float]) -> int:
        """Number of internal grid points for output up to r_top (Å): 4x the support, power of 2."""
        e = max(float(values.get("expansion", 0.0)), 0.0)
        ripples = 6 * 2.0 * math.pi / self.qmax
        support = max(max(t.r_max for t in self.terms) * (1.0 + e) + 3.0, r_top + ripples)
        n = int(math.ceil(4.0 * support / self.rstep))
        return 1 << max(10, (n - 1).bit_length())

    def g_internal(self, values: Mapping[str, float], r_top: float) -> tuple[np.ndarray, np.ndarray]:
        """(r, G) on the internal grid r_n = n rstep up to at least r_top (Å)."""
        n_grid = self.grid_size(r_top, values)
        g0 = np.zeros(n_grid)
        r = np.arange(n_grid) * self.rstep
        expansion = float(values.get("expansion", 0.0))
        for w, i in self._weights(values):
            if w:
                g0 += w * self._g0(self.terms[i], values, n_grid)
                if self.baseline:
                    g0 -= w * self.terms[i].baseline(r, expansion)
        qdamp = float(values.get("qdamp", 0.0))
        if qdamp:
            g0 *= np.exp(-0.5 * (qdamp * r) ** 2)
        sp = values.get("spdiameter")
        if sp is not None and float(sp) > 0:
            g0 *= sphere_envelope(r, float(sp))
        return r, terminate(g0, self.rstep, self.qmin, self.qmax)

    def __call__(self, r: np.ndarray, values: Mapping[str, float]) -> np.ndarray:
        """G(r) (1/Å^2, unit scale) at the points r (Å)."""
        r = np.asarray(r, float)
        if r.size == 0:
            return np.zeros(0)
        if np.any(r < 0):
            raise NanotwinError("r must be >= 0 Å")
        rg, g = self.g_internal(values, float(r.max()))
        idx = r / self.rstep
        k = np.rint(idx).astype(np.int64)
        if np.all(np.abs(idx - k) < 1e-6):
            return g[k]
        hi = int(math.ceil(r.max() / self.rstep)) + 4
        lo = max(int(math.floor(r.min() / self.rstep)) - 4, 0)
        return make_interp_spline(rg[lo:hi], g[lo:hi], k=3)(r)


def sphere_ladder(
    structure,
    size_nm: float,
    *,
    window: float = 0.25,
    coherent_element: str | None = None,
    n_threads: int | None = None,
) -> list[SizeMember]:
    """Spheres of every distinct atom count with diameters within size_nm * (1 +- window) (nm)."""
    if isinstance(structure, str):
        structure = get_structure(structure)
    if not size_nm > 0 or not 0 <= window < 1:
        raise NanotwinError(f"need size_nm > 0 and 0 <= window < 1 (got {size_nm}, {window})")
    el = coherent_element or _default_coherent(structure)
    own = find_ownership(structure, el)
    bc = own.node_basis
    r_hi = size_nm * (1 + window) * 5.0  # Å
    span = np.ceil(r_hi * np.linalg.norm(np.linalg.inv(bc), axis=0)) + 1
    axes = [np.arange(-int(n), int(n) + 1) for n in span]
    nodes = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    radii = np.unique(np.round(np.linalg.norm(nodes @ bc, axis=1), 6))
    lo = size_nm * (1 - window) * 5.0
    shells = radii[(radii >= lo) & (radii <= r_hi)]
    if shells.size == 0:
        shells = radii[np.argmin(np.abs(radii - size_nm * 5.0))][None]
    seen: dict[int, SizeMember] = {}
    for rad in shells:
        c = build_crystal(structure, shape="sphere", size_nm=float(rad) / 5.0 + 1e-6, coherent_element=el)
        if c.n_atoms not in seen:
            seen[c.n_atoms] = SizeMember(float(c.info.get("D_eq_nm", rad / 5.0)),
                                         compute_histograms(c, n_threads=n_threads), c.n_atoms)
    return sorted(seen.values(), key=lambda m: m.size_nm)


def _default_coherent(structure) -> str:
    """The coherent element for spheres: Pb where present, else the heaviest cation-like element."""
    els = [s.element for s in structure.sites]
    if "Pb" in els:
        return "Pb"
    return els[0]


# ----------------------------------------------------------------------------- fitting
@dataclass
class PDFFitSettings:
    """What a PDF fit refines and with which fixed values.

    rmin, rmax : fitted r range (Å) [1.0, 20.0].
    qmin, qmax : termination window (1/Å); None = from the data header (qmin 0 if absent).
    qdamp, qbroad : start values (1/Å) [0, 0]; delta1 (Å), delta2 (Å^2) start values [0, 0].
    spdiameter : spherical envelope diameter (Å), None = no envelope.
    refine : subset of PDF_REFINABLE ("adp" = one B per ADP group).
    adp : start B (Å^2) per ADP group or element (default: the structure's, else 0.5).
    expansion : start value of the isotropic expansion [0].
    rstep : internal r step (Å) [0.01].
    max_nfev : largest number of model evaluations of the least squares [200].
    """

    rmin: float = 1.0
    rmax: float = 20.0
    qmin: float | None = None
    qmax: float | None = None
    qdamp: float = 0.0
    qbroad: float = 0.0
    delta1: float = 0.0
    delta2: float = 0.0
    spdiameter: float | None = None
    refine: tuple[str, ...] = ("scale", "adp", "expansion", "delta2")
    adp: dict[str, float] = field(default_factory=dict)
    expansion: float = 0.0
    rstep: float = 0.01
    radiation: str = "xray"
    max_nfev: int | None = 200

    def check(self) -> PDFFitSettings:
        """Validate names and ranges; returns self."""
        bad = [r for r in self.refine if r not in PDF_REFINABLE]
        if bad:
            raise NanotwinError(
                f"cannot refine {', '.join(bad)} in a PDF fit; choose from {', '.join(PDF_REFINABLE)}"
            )
        if not self.rmax > self.rmin >= 0:
            raise NanotwinError(f"the r range needs 0 <= rmin < rmax (got {self.rmin}, {self.rmax}) Å")
        if "spdiameter" in self.refine and not self.spdiameter:
            raise NanotwinError("refining spdiameter needs a start value (Å)")
        return self


def window_from_data(data: PDFData, settings: PDFFitSettings) -> tuple[float, float]:
    """(qmin, qmax) of the settings, else of the data header; qmax is required."""
    qmax = settings.qmax if settings.qmax is not None else data.qmax
    if qmax is None:
        raise NanotwinError(
            f"{data.path or 'the data'}: no Qmax in the header; give it (--qmax Q, 1/Å)"
        )
    qmin = settings.qmin if settings.qmin is not None else (data.qmin or 0.0)
    return float(qmin), float(qmax)


def make_parameters(model: PDFModel, settings: PDFFitSettings, start_b: Mapping[str, float]) -> ParameterSet:
    """The parameter set of a PDF fit (scale is linear and added by the engine)."""
    ref = set(settings.refine)
    ps = ParameterSet()
    for g in model.adp_groups:
        b0 = settings.adp.get(g, settings.adp.get(model.group_elements.get(g, g), start_b.get(g, 0.5)))
        ps.append(Parameter(f"B_{g}", float(b0), "adp" in ref, 0.0, 40.0))
    ps.append(Parameter("expansion", settings.expansion, "expansion" in ref, -0.1, 0.1))
    ps.append(Parameter("qdamp", settings.qdamp, "qdamp" in ref, 0.0, 0.5))
    ps.append(Parameter("qbroad", settings.qbroad, "qbroad" in ref, 0.0, 0.5))
    ps.append(Parameter("delta1", settings.delta1, "delta1" in ref, 0.0, 10.0))
    ps.append(Parameter("delta2", settings.delta2, "delta2" in ref, 0.0, 50.0))
    if settings.spdiameter:
        ps.append(Parameter("spdiameter", settings.spdiameter, "spdiameter" in ref, 2.0, 1e4))
    if len(model.members) > 1:
        sizes = model.sizes_nm
        mid = sizes[len(sizes) // 2]
        ps.append(Parameter("D_nm", mid, "size" in ref, sizes[0], sizes[-1]))
    elif "size" in ref:
        raise NanotwinError(
            "refining the size needs a sphere ladder (a structure and --size), not one crystal"
        )
    return ps


@dataclass
class PDFFitOutcome:
    """A PDF fit: the engine result, Rw, the fitted r, and the model curve on the full data grid."""

    result: FitResult
    rw: float
    r: np.ndarray
    g_obs: np.ndarray
    g_calc: np.ndarray
    model: PDFModel
    settings: PDFFitSettings
    qmin: float
    qmax: float
    r_full: np.ndarray
    g_calc_full: np.ndarray
    info: dict = field(default_factory=dict)


def _basis_for(model: PDFModel, r: np.ndarray) -> Callable[[dict[str, float]], np.ndarray]:
    def basis(values: dict[str, float]) -> np.ndarray:
        return model(r, values)[:, None]

    return basis


def _sigma(d: PDFData) -> tuple[np.ndarray, str]:
    if d.dg is not None and np.all(np.isfinite(d.dg)) and np.all(d.dg > 0):
        return np.asarray(d.dg, float), "file"
    return np.ones(d.r.size), "unit_weights"


def fit_pdf(
    data: PDFData,
    model: PDFModel,
    settings: PDFFitSettings,
    *,
    start_b: Mapping[str, float] | None = None,
    callback: Callable[[dict[str, float], float], None] | None = None,
    cancel: object = None,
) -> PDFFitOutcome:
    """Refine ``model`` against ``data`` over [settings.rmin, settings.rmax] (one range)."""
    settings.check()
    d = data.restricted(settings.rmin, settings.rmax)
    if d.r.size < 3:
        raise NanotwinError(f"fewer than 3 points of G(r) in [{settings.rmin}, {settings.rmax}] Å")
    sigma, src = _sigma(d)
    notes = []
    for round_ in range(MAX_LADDER_MOVES + 1):
        params = make_parameters(model, settings, start_b or {})
        if "scale" not in settings.refine:
            params.append(Parameter("scale", 1.0, False))
        ref = Refinement(_basis_for(model, d.r), params, d.g, sigma, ["scale"], True, sigma_source=src,
                         callback=callback, cancel=cancel)
        grid = start_grid(model, settings, d.r.min(), d.r.max())
        if grid:
            ref.global_start(grid)
        res = ref.run(max_nfev=settings.max_nfev)
        size = res.params["D_nm"] if "D_nm" in res.params else None
        if round_ == MAX_LADDER_MOVES or model.ladder is None or size is None or not size.is_free \
                or not size.at_bound:
            break
        notes.append(f"the sphere ladder moved: D_nm ended at its {size.at_bound} end {size.value:.4g} nm; "
                     "spheres around it were built and the fit repeated")
        model = PDFModel(model.ladder(size.value), qmin=model.qmin, qmax=model.qmax, rstep=model.rstep,
                         radiation=model.radiation, baseline=model.baseline, ladder=model.ladder)
    res.messages.extend(notes)
    _tidy_messages(res)
    rw = pdf_rw(d.r, d.g, res.y_calc, sigma=sigma if src == "file" else None)
    vals = res.params.values()
    g_full = vals["scale"] * model(data.r[data.r >= 0], vals)
    return PDFFitOutcome(res, rw, d.r, d.g, res.y_calc, model, settings, model.qmin, model.qmax,
                         data.r[data.r >= 0], g_full)


def fit_pdf_ranges(
    data: PDFData,
    model: PDFModel,
    settings: PDFFitSettings,
    ranges: Sequence[tuple[float, float]],
    *,
    start_b: Mapping[str, float] | None = None,
    **fit_kwargs: object,
) -> list[RangeFit]:
    """Range-resolved fit: one independent refinement per (rmin, rmax) via ``range_resolved``."""
    settings.check()
    for lo, hi in ranges:
        if not hi > lo >= 0:
            raise NanotwinError(f"bad r range {lo}:{hi} Å")

    def make_params() -> ParameterSet:
        ps = make_parameters(model, settings, start_b or {})
        if "scale" not in settings.refine:
            ps.append(Parameter("scale", 1.0, False))
        return ps

    fits = range_resolved(data, list(ranges), lambda r: _basis_for(model, r), make_params, ["scale"], True,
                          max_nfev=settings.max_nfev,
                          start_grid=lambda lo, hi: start_grid(model, settings, lo, hi), **fit_kwargs)
    for f in fits:
        _tidy_messages(f.result)
    return fits


def start_grid(model: PDFModel, settings: PDFFitSettings, rmin: float, rmax: float) -> dict[str, list[float]]:
    """Coarse start values searched before the least squares: the expansion (a peak at r moves by
    e r, so steps of 0.04 Å / rmax over +-3 %) and the ladder sizes. Empty when neither is refined."""
    grid: dict[str, list[float]] = {}
    if "expansion" in settings.refine:
        step = min(0.005, 0.04 / max(rmax, 1.0))
        n = int(math.ceil(0.03 / step))
        grid["expansion"] = [settings.expansion + k * step for k in range(-n, n + 1)
                             if -0.1 < settings.expansion + k * step < 0.1]
    if "size" in settings.refine and len(model.members) > 1:
        grid["D_nm"] = list(model.sizes_nm)
    if len(grid) == 2:  # at most ~400 combinations
        thin = int(math.ceil(len(grid["expansion"]) * len(grid["D_nm"]) / 400))
        grid["expansion"] = grid["expansion"][::thin]
    return grid


def _tidy_messages(res: FitResult) -> None:
    if res.sigma_source != "file":
        res.messages = [m for m in res.messages if not m.startswith("sigma estimated")]
        res.messages.append("the data carry no dG: unit weights, so GoF and Rexp are not absolute")
    res.messages.append("G(r) points are correlated (oversampled r grid): esds are lower bounds")


def model_from_crystal(
    crystal: Crystal, *, qmin: float, qmax: float, rstep: float = 0.01, radiation: str = "xray",
    n_threads: int | None = None, baseline: bool = False,
) -> PDFModel:
    """A one-crystal PDFModel (histograms computed here; ``baseline`` as ``PDFModel``)."""
    hist = compute_histograms(crystal, n_threads=n_threads)
    size = float(crystal.info.get("D_eq_nm", crystal.info.get("size_nm", 0.0)) or 0.0)
    return PDFModel([SizeMember(size, hist, crystal.n_atoms)], qmin=qmin, qmax=qmax, rstep=rstep,
                    radiation=radiation, baseline=baseline)


# ----------------------------------------------------------------------------- reports
def pdf_fit_json(
    result: FitResult,
    rw: float,
    *,
    rmin: float,
    rmax: float,
    qmin: float,
    qmax: float,
    size_nm: float | None = None,
) -> dict:
    """The ``--json`` dict of a PDF fit: INTERFACES.md's fit keys (``rwp`` = Rw) plus rw, rmin,
    rmax, qmin, qmax and, for spheres, ``population`` with the realised diameter (nm)."""
    out = result_json(result)
    out["rw"] = float(rw)
    out["rwp"] = float(rw)
    out.update(kind="pdf", rmin=float(rmin), rmax=float(rmax), qmin=float(qmin), qmax=float(qmax))
    if size_nm:
        esd = result.params["D_nm"].esd if "D_nm" in result.params else None
        pop = {"name": "sphere", "fraction": 1.0, "mean_D_nm": float(size_nm), "sD": 0.0,
               "D_eq_nm": float(size_nm), "weighting": "number", "esd": {"mean_D_nm": esd, "D_eq_nm": esd}}
        out["populations"] = [pop]
        out["population"] = {"mean_D_nm": float(size_nm), "mean_L_nm": None, "D_eq_nm": float(size_nm)}
    out["messages"] = list(result.messages)
    return out


def pdf_markdown(entries: Sequence[dict], results: Sequence[FitResult], title: str) -> str:
    """A Markdown report of one or more (range-resolved) PDF fits; ``entries`` from ``pdf_fit_json``."""
    parts = [f"# {title}", ""]
    for e, res in zip(entries, results, strict=True):
        head = f"r = {e['rmin']:g}-{e['rmax']:g} Å: Rw = {e['rw']:.4f}"
        body = markdown_report(res, title=head, data_note=(
            f"Qmin = {e['qmin']:g} 1/Å, Qmax = {e['qmax']:g} 1/Å; Rw = sqrt(sum w (Gobs - Gcalc)^2 / "
            "sum w Gobs^2); the Rwp row below is Rw."))
        parts.append(body.replace("# " + head, "## " + head, 1))
    return "\n".join(parts).rstrip() + "\n"


def realised_size(model: PDFModel, values: Mapping[str, float]) -> float | None:
    """The sphere diameter (nm) of the fitted model: D_nm on a ladder, else the crystal's size."""
    if len(model.members) > 1:
        return float(values.get("D_nm", model.sizes_nm[0]))
    return model.members[0].size_nm or None
