"""Fit reports: value(esd) notation, a Markdown summary and the ``--json`` dict of INTERFACES.md."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from nanotwin_core.population.distributions import BivariateLogNormal
from nanotwin_core.population.statistics import prism_statistics, sphere_statistics
from nanotwin_core.refine.engine import FitResult

__all__ = ["format_esd", "result_json", "markdown_report", "population_entry", "population_markdown"]


def format_esd(value: float, esd: float | None) -> str:
    """Crystallographic value(esd) notation, e.g. ``format_esd(2.987, 0.034) == "2.99(3)"``.

    The esd keeps two significant digits when its leading two digits are <= 19 (the "19 rule"),
    one otherwise; the value is rounded to the same decimal place.  Without an esd (None, 0 or
    not finite) the value is printed with 6 significant digits.
    """
    if esd is None or not math.isfinite(esd) or esd <= 0 or not math.isfinite(value):
        return f"{value:.6g}"
    exp = math.floor(math.log10(esd))
    lead2 = round(esd / 10 ** (exp - 1))  # two leading digits, 10..100
    if lead2 >= 100:  # rounding carried over (e.g. 0.0999 -> 100)
        exp += 1
        lead2 = round(esd / 10 ** (exp - 1))
    ndig = 2 if lead2 <= 19 else 1
    place = exp - ndig + 1  # decimal exponent of the last digit kept
    e_int = round(esd / 10**place)
    v = round(value / 10**place) * 10**place
    if place < 0:
        return f"{v:.{-place}f}({e_int})"
    return f"{v:.0f}({e_int * 10**place:d})"


def result_json(
    result: FitResult,
    populations: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The ``nanotwin fit --json`` dict (INTERFACES.md); ``populations`` filled by the caller.

    Keys: gof, rwp, rexp, n_points, n_params, sigma_source, parameters {NAME: {value, esd,
    refined}}, and where given populations (list) and population (its first entry's means);
    ``status`` ("ok" or "failed: <why>") and ``diagnostics`` [{code, severity, message,
    parameters}] (``refine.diagnostics``).
    """
    params: dict[str, dict[str, Any]] = {}
    for p in result.params:
        params[p.name] = {
            "value": float(p.value),
            "esd": None if p.esd is None else float(p.esd),
            "refined": bool(p.refine and p.constraint != "fixed"),
        }
        if p.at_bound:
            params[p.name]["at_bound"] = p.at_bound
        if p.master:
            params[p.name]["constraint"] = f"={p.master}"
    out: dict[str, Any] = {
        "gof": float(result.gof),
        "rwp": float(result.rwp),
        "rexp": float(result.rexp),
        "n_points": int(result.n_points),
        "n_params": int(result.n_params),
        "sigma_source": result.sigma_source,
        "parameters": params,
        "status": result.status,
        "diagnostics": [d.to_dict() for d in result.diagnostics],
    }
    if populations:
        pops = [dict(p) for p in populations]
        out["populations"] = pops
        first = pops[0]
        out["population"] = {
            "mean_D_nm": first.get("Dab_nm", first.get("mean_D_nm")),
            "mean_L_nm": first.get("Lc_nm", first.get("mean_L_nm")),
            "D_eq_nm": first.get("D_eq_nm"),
        }
    return out


def markdown_report(result: FitResult, title: str = "Refinement", data_note: str | None = None) -> str:
    """A Markdown summary: figures of merit, parameters value(esd), notes, strong correlations."""
    lines = [f"# {title}", ""]
    if data_note:
        lines += [data_note, ""]
    if result.failed:
        lines += [f"**The fit {result.status}**", ""]
    absolute = "" if result.sigma_is_absolute else " (sigma estimated: not absolute)"
    lines += [
        "| figure of merit | value |",
        "|---|---|",
        f"| Rwp | {100 * result.rwp:.3f} % |",
        f"| Rexp | {100 * result.rexp:.3f} %{absolute} |",
        f"| GoF | {result.gof:.3f}{absolute} |",
        f"| chi^2 | {result.chi2:.6g} |",
        f"| N points | {result.n_points} |",
        f"| P refined | {result.n_params} |",
        f"| sigma source | {result.sigma_source} |",
        "",
        "| parameter | value(esd) | status |",
        "|---|---|---|",
    ]
    for p in result.params:
        if p.master:
            status = f"= {p.master}"
        elif not p.refine or p.constraint == "fixed":
            status = "fixed"
        elif p.at_bound:
            status = f"at {p.at_bound} bound ({p.min if p.at_bound == 'min' else p.max:g})"
        else:
            status = "refined" + (" (linear)" if p.linear else "")
        lines.append(f"| {p.name} | {format_esd(p.value, p.esd)} | {status} |")
    lines.append("")
    if result.correlation is not None and len(result.cov_names) > 1:
        c = np.asarray(result.correlation)
        pairs = [
            (abs(c[i, j]), result.cov_names[i], result.cov_names[j], c[i, j])
            for i in range(c.shape[0])
            for j in range(i + 1, c.shape[0])
            if abs(c[i, j]) >= 0.8
        ]
        if pairs:
            lines += ["Strong correlations (|r| >= 0.8):", ""]
            lines += [f"- {a} / {b}: {v:+.3f}" for _, a, b, v in sorted(pairs, reverse=True)]
            lines.append("")
    if not result.success:
        lines += [f"Warning: the minimiser did not report convergence ({result.message}).", ""]
    if result.diagnostics:
        lines += ["Diagnostics:", ""]
        lines += [f"- {d.severity}: {d.message}" for d in result.diagnostics]
        lines.append("")
    for m in result.messages:
        lines.append(f"- {m}")
    return "\n".join(lines).rstrip() + "\n"


def population_entry(
    name: str,
    dist: Any,
    fraction: float = 1.0,
    esd: Mapping[str, float | None] | None = None,
    weighting: str = "number",
) -> dict[str, Any]:
    """One ``populations`` entry of the ``--json`` dict for a population.

    Prisms (a ``BivariateLogNormal``): Dab_nm, sab, Lc_nm, sc, D_eq_nm, s_eq, aspect (Table 2,
    under ``weighting``); spheres/cubes (a ``LogNormal``): mean_D_nm and sD.  ``esd`` maps the
    same keys to esds (e.g. from the fit of the size parameters).
    """
    out: dict[str, Any] = {"name": name, "fraction": float(fraction), "weighting": weighting}
    if isinstance(dist, BivariateLogNormal):
        st = prism_statistics(dist, weighting)
        out.update(
            Dab_nm=st.d_ab,
            sab=st.s_ab,
            Lc_nm=st.l_c,
            sc=st.s_c,
            D_eq_nm=st.d_eq,
            s_eq=st.s_eq,
            aspect=st.aspect,
        )
    else:
        ss = sphere_statistics(dist, weighting)
        out.update(mean_D_nm=ss.mean, sD=ss.rel_sigma, D_eq_nm=None)
    out["esd"] = {k: v for k, v in (esd or {}).items()}
    return out


POPULATION_KEYS = ("fraction", "Dab_nm", "sab", "Lc_nm", "sc", "mean_D_nm", "sD", "D_eq_nm", "s_eq", "aspect",
                   "Dab_vol_nm", "Lc_vol_nm", "D_eq_vol_nm", "mean_D_vol_nm")


def population_markdown(populations: Sequence[Mapping[str, Any]]) -> str:
    """The size-population section of a fit report: value(esd) per quantity and population."""
    lines = ["", "## Size population", "", "| population | quantity | value |", "|---|---|---|"]
    for pop in populations:
        esd = pop.get("esd", {}) or {}
        name = pop.get("name", "")
        for key in POPULATION_KEYS:
            if pop.get(key) is not None:
                lines.append(f"| {name} | {key} | {format_esd(pop[key], esd.get(key))} |")
        lines.append(f"| {name} | weighting | {pop.get('weighting')} |")
    return "\n".join(lines) + "\n"
