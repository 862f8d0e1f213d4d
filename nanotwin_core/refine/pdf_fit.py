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
- Weights (``weights``): "fq" (default), each type pair's partial weighted in Q by
  Re(f_a(Q) f_b*(Q)) / |<f(Q)>|^2, the Faber-Ziman normalisation of ``simulate --pdf`` and of
  data reduced by PDFgetX3 (with the radiation's f', f'' when it has an energy); "constant", the
  factors at Q = 0 (X-rays ~Z), PDFgui's and srreal's convention. A model fitted to its own
  ``simulate --pdf`` G(r) (same weights) returns Rw < 1e-3 and its parameters.
- The spherical shape function gamma0(r) = 1 - 3r/(2D) + r^3/(2D^3) (r < D) of PDFgui's
  ``spdiameter`` multiplies G0.
- Small-angle baseline: the Debye sum of a finite crystal holds its small-angle scattering (the
  peak of F(Q) below ~2 pi/D), which measured G(r) lack (never measured, or removed in the
  reduction): its share of G0 is 4 pi rho0 r gamma0(r), subtracted for every crystal in data
  fits (``baseline``), with gamma0 the characteristic function of the uniform sphere of the
  crystal's radius of gyration (D = sqrt(20/3) Rg) and rho0 = N / its volume: the
  -4 pi rho0 r gamma0(r) baseline of PDFgui's spherical particles, for any Qmin (a header Qmin
  of 0.1 1/Å once left that scattering in the model: Rw 0.63 on the Pt nanoparticles of the
  shared data, against 0.13 with Qmin 1; with the baseline both give 0.10). The Faber-Ziman
  weights of the partials add up to 1 at every Q, so the baseline is one term of weight 1.
- Termination: F(Q) = sine transform of G0 (per partial, weighted, for "fq") is kept only for
  Qmin <= Q < Qmax (srreal) and transformed back.
- The Q resolution envelope exp(-(Qdamp r)^2 / 2) multiplies the terminated G(r), as in
  ``simulate --pdf`` (it damps the measured G(r)).
- Twin networks (``pdf_twins.py``): members at Chebyshev nodes of the twin density 1/D, mixed by
  barycentric Lagrange weights at ``domain_nm`` (refined as "twin_density").
- Scale: linear, solved inside every evaluation (variable projection, ``Refinement``).

Rw = sqrt(sum w (Gobs - Gcalc)^2 / sum w Gobs^2) over [rmin, rmax], w = 1/dG^2 or 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from nanotwin_core.errors import NanotwinError
from nanotwin_core.io.data import PDFData
from nanotwin_core.refine.engine import FitResult, Refinement
from nanotwin_core.refine.parameters import Parameter, ParameterSet
from nanotwin_core.refine.pdf import RangeFit, pdf_rw, range_resolved, with_live_curve
from nanotwin_core.refine.pdf_model import PDFModel, SizeMember, model_from_crystal, sphere_ladder
from nanotwin_core.refine.pdf_terms import (
    gaussian_sum,
    gaussian_sum_reference,
    pair_terms,
    sphere_envelope,
    terminate,
)
from nanotwin_core.refine.report import markdown_report, result_json
from nanotwin_core.structures.adp import structure_b

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
    "model_from_crystal",
    "structure_b",
]

MAX_LADDER_MOVES = 2  # times a fit's sphere ladder may move to where the fitted size left it
PDF_REFINABLE = ("scale", "adp", "expansion", "qdamp", "qbroad", "delta1", "delta2", "size", "spdiameter",
                 "twin_density")


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
    radiation : the scattering factors' radiation ("xray", "neutron" or a Radiation).
    domain_nm : start shared domain size (nm) of a twin-density model (None: the nodes' middle).
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
    radiation: object = "xray"
    domain_nm: float | None = None
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
    if model.domain_nodes is not None:
        lo, hi = 1.0 / model.domain_nodes[-1], 1.0 / model.domain_nodes[0]
        start = settings.domain_nm if settings.domain_nm is not None else model.domain_start
        ps.append(Parameter("domain_nm", min(max(start, lo), hi), "twin_density" in ref, lo, hi))
    elif "twin_density" in ref:
        raise NanotwinError("refining the twin density needs an ensemble of twin networks (--twin, "
                            "--domain-size, --ensemble)")
    elif len(model.members) > 1:
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
    curve_callback: Callable[[np.ndarray, np.ndarray], None] | None = None,
) -> PDFFitOutcome:
    """Refine ``model`` against ``data`` over [settings.rmin, settings.rmax] (one range);
    ``curve_callback(r, g_calc)``: the current curve at every report (see ``range_resolved``)."""
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
        with_live_curve(ref, d.r, curve_callback)
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
                         radiation=model.radiation, weights=model.weights, baseline=model.baseline,
                         ladder=model.ladder)
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
