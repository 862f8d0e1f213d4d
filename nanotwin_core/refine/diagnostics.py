"""After every fit: did it work, and if not, why and what to do. Never a silent failure.

``diagnose_result(result)`` looks at a ``FitResult`` (duck-typed: this module imports no fit
code) and returns ``Diagnostic``s, each naming a cause and a remedy:

- ``model_absent`` (error): every scale of the model went to its bound 0, so the fitted curve is
  the background alone and nothing of the model is determined;
- ``not_moved`` (error when no refined parameter moved and the normal matrix is singular, a
  warning for single parameters): a parameter ended exactly at its start value;
- ``not_converged`` (error): the minimiser stopped at its evaluation limit;
- ``linear_at_bound`` (warning): a non-negative linear term (a blank's scale, a mixture
  fraction) ended at 0; the unbounded solve says what sign the data wanted;
- ``singular`` (warning): the normal matrix is singular or nearly so (condition number above
  ``NEAR_SINGULAR``): the parameters of its weakest direction are not determined separately;
- ``at_limit`` (warning): a nonlinear parameter ended at one of its limits;
- ``gof_high`` (warning): GoF above ``GOF_FAR`` (the residuals are that many times the noise);
- ``low_q_excess`` / ``intensity_misfit`` (warning, powder fits): a hump of data above the
  model at the low-Q end, below the first reflection (a halo the model lacks) or on the
  model's own peaks (wrong relative intensities: texture);
- ``residual_structure`` (warning): Durbin-Watson d below ``DW_CORRELATED`` (neighbouring
  residuals correlated: the misfit is systematic, and the esds, which assume independent noise,
  are too small).

``low_q_excess`` finds data above the model at the low-Q end of a powder fit (small-angle or
amorphous scattering the model does not describe). ``fit_status`` is "ok" or "failed: <the
first error>".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import uniform_filter1d

from nanotwin_core.scattering.texture import hkl_text

__all__ = ["DW_CORRELATED", "Diagnostic", "GOF_FAR", "LowQExcess", "NEAR_SINGULAR", "diagnose_result",
           "durbin_watson", "fit_status", "low_q_excess", "low_q_excess_diagnostic", "misfit_region"]

GOF_FAR = 5.0  # GoF above this: residuals far above the counting noise
DW_CORRELATED = 1.0  # Durbin-Watson d below this: neighbouring residuals correlated by > 0.5
NEAR_SINGULAR = 1e10  # condition number of the scaled normal matrix above this: near-singular
LOW_Q_SHARE = 0.5  # low-Q excess: a hump of the residual holding more than this share of chi^2


@dataclass(frozen=True)
class Diagnostic:
    """One finding: ``code`` (stable name), ``severity`` ("error": the fit's numbers are not a
    result; "warning": they are, with the caveat said), ``message`` (cause and remedy, one line),
    ``parameters`` it concerns."""

    code: str
    severity: str
    message: str
    parameters: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        """JSON form: code, severity, message, parameters."""
        return {"code": self.code, "severity": self.severity, "message": self.message,
                "parameters": list(self.parameters)}

    def __str__(self) -> str:
        return f"{self.severity}: {self.message}"


def fit_status(diagnostics: Sequence[Diagnostic]) -> str:
    """"ok", or "failed: <message of the first error>"."""
    for d in diagnostics:
        if d.severity == "error":
            return f"failed: {d.message}"
    return "ok"


def durbin_watson(residuals: np.ndarray) -> float:
    """Durbin-Watson d = sum (r_i - r_{i-1})^2 / sum r_i^2: about 2 for independent residuals,
    near 0 when neighbours follow each other (their correlation is about 1 - d/2)."""
    r = np.asarray(residuals, float)
    den = float(np.sum(r * r))
    return float(np.sum(np.diff(r) ** 2) / den) if den > 0 and r.size > 1 else 2.0


def _moved(value: float, start: float) -> bool:
    return abs(value - start) > 1e-9 * max(1.0, abs(start))


def _is_model_scale(name: str) -> bool:
    return name == "scale" or name.startswith("scale_")


NEGLIGIBLE_SHARE = 1e-3  # the model's share of the fitted intensity below which it is absent


def _model_share(result, scale_names: list[str]) -> float | None:
    """Fraction of the fitted intensity (sum over the points) made by the model's scale columns;
    None when it cannot be told (no scale refined, no components)."""
    comps = getattr(result, "components", None)
    names = list(result.linear_names)
    if not scale_names or comps is None or np.ndim(comps) != 2 or np.shape(comps)[1] != len(names):
        return None
    total = float(np.sum(np.abs(comps)))
    if not total > 0:
        return None
    model = sum(float(np.sum(np.abs(comps[:, names.index(n)]))) for n in scale_names)
    return model / total


def diagnose_result(result, *, max_nfev: int | None = None) -> list[Diagnostic]:
    """The diagnostics of a finished fit (module doc). ``result`` is a ``FitResult``."""
    out: list[Diagnostic] = []
    params = result.params
    linear = set(result.linear_names)
    free = [p for p in params if p.is_free]
    free_nonlinear = [p for p in free if p.name not in linear]
    scales = [p for p in free if p.name in linear and _is_model_scale(p.name)]
    unbounded = dict(getattr(result, "linear_unbounded", {}) or {})
    singular = getattr(result, "condition", None) is not None and not result.condition < NEAR_SINGULAR
    weak = tuple(getattr(result, "weak_names", ()) or ())

    if scales and all(p.value == 0.0 for p in scales):
        want = ", ".join(f"{p.name} = {unbounded[p.name]:.3g}" for p in scales if p.name in unbounded)
        out.append(Diagnostic(
            "model_absent", "error",
            "the model's scale went to its bound 0" + (f" (unbounded: {want})" if want else "")
            + ": the fitted curve is the background alone, so no parameter of the model is "
            "determined; the model pattern does not resemble the data over the fitted range (check "
            "the structure and the wavelength, and fit a range where the model's peaks are: "
            "small-angle, solvent or ligand scattering may dominate the range)",
            tuple(p.name for p in scales)))

    share = _model_share(result, [p.name for p in scales])
    if share is not None and share < NEGLIGIBLE_SHARE and not any(d.code == "model_absent" for d in out):
        out.append(Diagnostic(
            "model_negligible", "error",
            f"the model makes {100 * share:.2g} % of the fitted curve: the background carries the fit "
            "and the model's parameters are not determined by the data; the model pattern does not "
            "resemble the data over the fitted range (check the structure, the wavelength and the "
            "range)", tuple(p.name for p in scales)))

    start = dict(getattr(result, "start_values", {}) or {})
    unmoved = [p.name for p in free_nonlinear
               if p.name in start and not _moved(p.value, start[p.name]) and not p.at_bound]
    if free_nonlinear and len(unmoved) == len(free_nonlinear) and (singular or any(
            d.code == "model_absent" for d in out)):
        out.append(Diagnostic(
            "not_moved", "error",
            f"no refined parameter moved from its start ({', '.join(unmoved)}): the data gave the "
            "minimiser no direction, so the numbers reported are the start values, not a result",
            tuple(unmoved)))
    elif unmoved:
        out.append(Diagnostic(
            "not_moved", "warning",
            f"{', '.join(unmoved)} did not move from the start value: the data do not constrain "
            + ("it" if len(unmoved) == 1 else "them") + " (or the start is already the optimum); "
            "fix what the data cannot determine", tuple(unmoved)))

    if getattr(result, "stopped_at_limit", False):
        limit = f" ({max_nfev})" if max_nfev else ""
        out.append(Diagnostic(
            "not_converged", "error",
            f"the minimiser stopped at its evaluation limit{limit} after {result.nfev} evaluations "
            "without converging: the values are not a minimum; raise --max-nfev or start closer",
            ()))

    for p in free:
        if p.name in linear and not _is_model_scale(p.name) and p.at_bound == "min" and p.value == 0.0:
            hint = f" (unbounded: {unbounded[p.name]:.3g})" if p.name in unbounded else ""
            out.append(Diagnostic(
                "linear_at_bound", "warning",
                f"{p.name} was driven to its bound 0{hint}: the data want less of this term than "
                "none (a blank measured differently, or a component the data do not show); its "
                "esd is not defined", (p.name,)))
        elif p.name in linear and _is_model_scale(p.name) and p.value == 0.0 and len(scales) > 1 \
                and not all(s.value == 0.0 for s in scales):
            out.append(Diagnostic(
                "linear_at_bound", "warning",
                f"{p.name} was driven to its bound 0: the data show none of this component", (p.name,)))

    for p in free_nonlinear:
        if p.at_bound:
            limit = p.min if p.at_bound == "min" else p.max
            out.append(Diagnostic(
                "at_limit", "warning",
                f"{p.name} ended at its {'lower' if p.at_bound == 'min' else 'upper'} limit {limit:.6g}: "
                "the limit, not the data, stopped it (no esd); widen the limit or start nearer",
                (p.name,)))

    if singular:
        cond = result.condition
        what = f"{', '.join(weak)} are" if len(weak) > 1 else (f"{weak[0]} is" if weak else "some are")
        out.append(Diagnostic(
            "singular", "warning",
            ("the normal matrix is singular" if not math.isfinite(cond) or cond > 1e14 else
             f"the normal matrix is nearly singular (condition {cond:.2g})")
            + f": {what} not determined separately by the data (esds from a pseudo-inverse); fix one "
            "of them or constrain them", weak))

    gof = float(result.gof)
    if math.isfinite(gof) and gof > GOF_FAR:
        noise = "the counting noise" if result.sigma_source == "file" else "the estimated noise sqrt(I)"
        out.append(Diagnostic(
            "gof_high", "warning",
            f"GoF {gof:.3g}: the residuals are {gof:.3g} times {noise}: the model misses systematic "
            "features of the data (see the residual checks), or the sigmas are too small; the esds "
            "are scaled by GoF but do not cover model errors (compare with --robustness)", ()))

    r = (np.asarray(result.y_obs) - np.asarray(result.y_calc)) / np.asarray(result.sigma)
    d = durbin_watson(r)
    if d < DW_CORRELATED and gof > 1.5:
        out.append(Diagnostic(
            "residual_structure", "warning",
            f"the residuals are systematic, not noise (Durbin-Watson d = {d:.3g}: neighbouring "
            f"residuals correlate by {1 - d / 2:.2f}): the esds, which assume independent errors, are "
            "too small", ()))
    return out


@dataclass(frozen=True)
class LowQExcess:
    """Data above the model at the low-x end: a hump of the smoothed residual from ``x_start``
    to ``x_end`` (highest at ``x_peak``) holding ``chi2_share`` of chi^2."""

    x_start: float
    x_peak: float
    x_end: float
    chi2_share: float


def low_q_excess(x: np.ndarray, y_obs: np.ndarray, y_calc: np.ndarray,
                 sigma: np.ndarray) -> LowQExcess | None:
    """The hump of data above the model at the low-x end of a fit, or None.

    The weighted residual is smoothed by a running mean over 1 % of the points; among its
    positive runs that start in the lowest third of the points, the one holding the most chi^2
    is an excess when it holds more than ``LOW_Q_SHARE`` of all chi^2 (a misfit of peaks
    alternates in sign and spreads; scattering the model lacks is one hump). It ends where the
    smoothed residual falls below a quarter of the hump's height: the place to start a fit.
    """
    x = np.asarray(x, float)
    order = np.argsort(x)
    x = x[order]
    r = ((np.asarray(y_obs, float) - np.asarray(y_calc, float)) / np.asarray(sigma, float))[order]
    n = r.size
    total = float(np.sum(r * r))
    if n < 50 or not total > 0:
        return None
    smooth = uniform_filter1d(r, max(5, n // 100), mode="nearest")
    positive = smooth > 0
    # runs of positive smoothed residual: [start, stop) index pairs
    edges = np.flatnonzero(np.diff(np.concatenate([[0], positive.astype(np.int8), [0]])))
    runs = [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True) if a < n // 3]
    if not runs:
        return None
    start, stop = max(runs, key=lambda ab: float(np.sum(r[ab[0]:ab[1]] ** 2)))
    share = float(np.sum(r[start:stop] ** 2)) / total
    if share <= LOW_Q_SHARE:
        return None
    top = start + int(np.argmax(smooth[start:stop]))
    low = np.flatnonzero(smooth[top:stop] < 0.25 * smooth[top])
    end = top + int(low[0]) if low.size else stop - 1
    return LowQExcess(float(x[start]), float(x[top]), float(x[end]), share)


def low_q_excess_diagnostic(excess: LowQExcess, *, has_blank: bool, first_reflection: float | None = None,
                            x_name: str = "Q", x_unit: str = "1/Å", strong_family=None,
                            texture_axis: str | None = None) -> Diagnostic:
    """The warning for a ``LowQExcess``: what the data are and what to do. An excess that peaks
    at or above the model's first strong reflection (``first_reflection``, 1/Å) lies on the
    model's own peaks: their intensities are wrong, not a halo missing. ``strong_family``:
    (hkl, lowest-index axis) of the reflection under the excess (``texture_axis_hint``), named
    with the ``--texture`` to try; ``texture_axis``: the model's texture axis when it has one."""
    where = f"{x_name} = {excess.x_start:.3g}-{excess.x_end:.3g} {x_unit}"
    if first_reflection is not None and excess.x_peak >= 0.97 * first_reflection:
        if strong_family is None:
            cause = "preferred orientation of the crystallites in the sample, or a wrong structure"
            remedy = "measure a rotated capillary, or compare with --robustness"
        else:
            hkl, axis = (hkl_text(v) for v in strong_family)
            cause = (f"the ({hkl}) peaks are too strong for a random powder: preferred orientation of the "
                     "crystallites in the sample, or a wrong structure")
            if texture_axis is None:
                remedy = (f"fit a fibre texture (--texture {axis} --refine ...,texture), measure a rotated "
                          "capillary, or compare with --robustness")
            else:
                other = "" if axis == texture_axis else f" or try --texture {axis}"
                remedy = (f"the texture about {texture_axis} does not account for it: refine its ratio "
                          f"(--refine ...,texture){other}, or measure a rotated capillary")
        return Diagnostic(
            "intensity_misfit", "warning",
            f"the data lie above the model's peaks at {where} (most at {excess.x_peak:.3g} {x_unit}), "
            f"{excess.chi2_share:.0%} of chi^2: the model's relative intensities are wrong there "
            f"({cause}); sizes from such a fit are biased: {remedy}", ())
    remedy = ("check the blank and its scale" if has_blank else "or add a blank (--blank FILE)")
    return Diagnostic(
        "low_q_excess", "warning",
        f"the data below {x_name} = {excess.x_end:.3g} {x_unit} lie above the model (most at "
        f"{excess.x_peak:.3g} {x_unit}) and hold {excess.chi2_share:.0%} of chi^2: small-angle or "
        f"amorphous (solvent, ligand, capillary) scattering that the model does not describe; fit from "
        f"{x_name} >= {excess.x_end:.3g} {x_unit} {remedy}", ())


def misfit_region(x: np.ndarray, y_obs: np.ndarray, y_calc: np.ndarray, sigma: np.ndarray,
                  bins: int = 10) -> tuple[float, float, float]:
    """(x_lo, x_hi, share): the tenth of the fitted x range holding the largest share of chi^2."""
    x = np.asarray(x, float)
    r2 = ((np.asarray(y_obs, float) - np.asarray(y_calc, float)) / np.asarray(sigma, float)) ** 2
    edges = np.linspace(x.min(), x.max(), bins + 1)
    idx = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, bins - 1)
    sums = np.bincount(idx, weights=r2, minlength=bins)
    b = int(np.argmax(sums))
    total = float(sums.sum())
    return float(edges[b]), float(edges[b + 1]), float(sums[b] / total) if total > 0 else 0.0
