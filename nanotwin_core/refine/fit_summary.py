"""Summaries of a fitted DSE model: populations with esds, mixture fractions, crystal masses.

``population_summary`` gives the ``populations`` list of ``nanotwin fit --json`` (sizes of every
population with esds, volume-weighted means propagated from the covariance); ``mixture_summary``
the number and mass fractions of a mixture and its mean twin-domain size, with esds from the full
covariance (linear and nonlinear) by a numeric gradient.
"""

from __future__ import annotations

import re

import numpy as np
import periodictable

from nanotwin_core.builder.shape_kinds import get_shape
from nanotwin_core.population.statistics import prism_statistics, sphere_statistics
from nanotwin_core.refine.report import population_entry

__all__ = ["crystal_masses_da", "mixture_summary", "population_summary", "propagate_all"]


def crystal_masses_da(database) -> np.ndarray:
    """Mass of every crystal of a size database (Da), from its per-type occupancy sums."""
    masses = []
    for t in database.types:
        symbol = re.match(r"[A-Z][a-z]?", str(t.element))
        masses.append(float(periodictable.elements.symbol(symbol.group(0)).mass) if symbol else 0.0)
    return np.asarray(database.self_sums, float) @ np.asarray(masses)


def _mixture_values(problem, values: dict[str, float]) -> dict[str, float]:
    """Number and mass fractions and the mean twin-domain size for parameter values."""
    comps = problem.components
    if problem.settings.fractions_refined:
        c = np.array([values[f"scale_{k.name}"] for k in comps])
    else:
        c = np.array([k.fraction for k in comps])
    total = c.sum()
    x = c / total if total > 0 else np.full(len(comps), np.nan)
    m = np.array([problem.mean_mass_da(values, k) for k in comps]) * x
    mf = m / m.sum() if m.sum() > 0 else np.full(len(comps), np.nan)
    out = {f"x_{k.name}": float(v) for k, v in zip(comps, x, strict=True)}
    out.update({f"m_{k.name}": float(v) for k, v in zip(comps, mf, strict=True)})
    tw = [(xi, k.domain_size_nm) for xi, k in zip(x, comps, strict=True) if k.domain_size_nm is not None]
    if tw and sum(xi for xi, _ in tw) > 0:
        out["mean_domain_size_nm"] = float(sum(xi * d for xi, d in tw) / sum(xi for xi, _ in tw))
        out["twinned_fraction"] = float(sum(xi for k, xi in zip(comps, x, strict=True) if k.twinned))
    return out


def propagate_all(problem, result, fn) -> dict[str, tuple[float, float | None]]:
    """Values of ``fn(values) -> dict`` with esds from the full covariance (numeric gradient)."""
    values = {p.name: p.value for p in result.params}
    base = fn(values)
    cov_names = list(getattr(result, "cov_names", []) or [])
    if result.covariance is None or not cov_names:
        return {k: (v, None) for k, v in base.items()}
    grads = {k: np.zeros(len(cov_names)) for k in base}
    for j, n in enumerate(cov_names):
        h = 1e-6 * max(abs(values[n]), 1e-12 if n.startswith("scale") else 1e-3)
        up = fn({**values, n: values[n] + h})
        dn = fn({**values, n: values[n] - h})
        for k in base:
            grads[k][j] = (up[k] - dn[k]) / (2 * h)
    cov = np.asarray(result.covariance)
    return {k: (float(base[k]), float(np.sqrt(max(grads[k] @ cov @ grads[k], 0.0)))) for k in base}


def mixture_summary(problem, result) -> dict:
    """Fractions of a mixture fit with esds (the ``mixture`` entry the --json may carry).

    Returns a dict: ``names``; ``number_fractions`` (crystal number fractions, from the scale
    coefficients, which are proportional to the crystal numbers since every component column is
    the number-weighted mean pattern of one crystal); ``mass_fractions``; ``mean_mass_da``
    (number-mean crystal mass per component, Da); ``refined`` (fractions refined or fixed);
    for twin states ``mean_domain_size_nm`` (number-fraction weighted mean over the twinned
    states, nm) and ``twinned_fraction``; ``esd`` with the same keys (None where fixed).
    """
    if not problem.components:
        return {}
    prop = propagate_all(problem, result, lambda v: _mixture_values(problem, v))
    names = [c.name for c in problem.components]
    values = {p.name: p.value for p in result.params}
    refined = problem.settings.fractions_refined
    out = {
        "names": names,
        "refined": refined,
        "number_fractions": [prop[f"x_{n}"][0] for n in names],
        "mass_fractions": [prop[f"m_{n}"][0] for n in names],
        "mean_mass_da": [problem.mean_mass_da(values, c) for c in problem.components],
        "domain_size_nm": [c.domain_size_nm for c in problem.components],
        "esd": {
            "number_fractions": [prop[f"x_{n}"][1] if refined else None for n in names],
            "mass_fractions": [prop[f"m_{n}"][1] for n in names],
        },
    }
    for key in ("mean_domain_size_nm", "twinned_fraction"):
        if key in prop:
            out[key] = prop[key][0]
            out["esd"][key] = prop[key][1] if refined else None
    return out


def population_summary(problem, result) -> list[dict]:
    """The ``populations`` list of the --json dict, with esds of the size parameters."""
    values = {p.name: p.value for p in result.params}
    esd = {p.name: p.esd for p in result.params}
    if problem.components:
        return _mixture_populations(problem, result, values, esd)
    dist = problem.distribution(values)
    if dist is None:
        return [_single_crystal_entry(problem, problem.database, "crystal", 1.0)]
    if problem.population_kind == "bivariate":
        keys = {"Dab_nm": "Dab_nm", "sab": "sab", "Lc_nm": "Lc_nm", "sc": "sc"}
    else:
        keys = {"D_nm": "mean_D_nm", "sD": "sD"}
    entry = population_entry("population", dist, 1.0, esd={v: esd.get(k) for k, v in keys.items()})
    # volume-weighted means (what peak widths measure most directly), with propagated esds
    derived = _derived_sizes(problem, values)
    for key, (value, sigma) in _propagate(problem, result, values, derived).items():
        entry[key] = value
        entry["esd"][key] = sigma
    entry["grid"] = {"n_sizes": int(problem.database.n_sizes),
                     "intensity_fraction_out": float(problem.grid_out),
                     "build_seconds": float(problem.database.seconds)}
    return [entry]


def _single_crystal_entry(problem, database, name: str, fraction: float) -> dict:
    """A ``populations`` entry of one crystal: its realised sizes (nm)."""
    info = database.sizes_nm[0]
    entry = {"name": name, "fraction": fraction, "weighting": "single crystal", "esd": {}}
    if get_shape(problem.model.shape).bivariate:
        d_ab, l_c = float(info[0]), float(info[1])
        entry.update(Dab_nm=d_ab, Lc_nm=l_c, D_eq_nm=(1.5 * d_ab**2 * l_c) ** (1 / 3), aspect=l_c / d_ab)
    else:
        entry.update(mean_D_nm=float(info[0]))
    return entry


def _mixture_populations(problem, result, values: dict, esd: dict) -> list[dict]:
    """One ``populations`` entry per mixture component: number ``fraction`` (with esd),
    ``mass_fraction``, sizes (shared ones repeat), twin description."""
    mix = mixture_summary(problem, result)
    out = []
    for i, comp in enumerate(problem.components):
        dist = problem.component_distribution(values, comp)
        frac = mix["number_fractions"][i]
        if dist is None:
            entry = _single_crystal_entry(problem, comp.database, comp.name, frac)
        else:
            sfx = comp.suffix
            if comp.kind == "bivariate":
                keys = {"Dab_nm": "Dab_nm", "sab": "sab", "Lc_nm": "Lc_nm", "sc": "sc"}
            else:
                keys = {"D_nm": "mean_D_nm", "sD": "sD"}
            entry = population_entry(comp.name, dist, frac,
                                     esd={v: esd.get(k + sfx) for k, v in keys.items()})
            entry["grid"] = {"n_sizes": int(comp.database.n_sizes),
                             "intensity_fraction_out": float(comp.grid_out),
                             "build_seconds": float(comp.database.seconds)}
            entry["shares_sizes"] = sfx == ""
            derived = propagate_all(problem, result, lambda v, c=comp: _weighted_sizes(
                c.kind, problem.component_distribution(v, c)))
            for key, (value, sigma) in derived.items():
                entry[key] = value
                entry["esd"][key] = sigma
        entry["esd"]["fraction"] = mix["esd"]["number_fractions"][i]
        entry["fraction_refined"] = mix["refined"]
        entry["mass_fraction"] = mix["mass_fractions"][i]
        entry["esd"]["mass_fraction"] = mix["esd"]["mass_fractions"][i]
        entry["mean_mass_da"] = mix["mean_mass_da"][i]
        entry["twinned"] = comp.twinned
        entry["domain_size_nm"] = comp.domain_size_nm
        entry["structure"] = getattr(comp.structure, "name", None)
        out.append(entry)
    return out


def _weighted_sizes(kind: str | None, dist) -> dict[str, float]:
    """Volume-weighted means (and the number-based D_eq of prisms) of a size distribution."""
    if kind == "bivariate":
        st = prism_statistics(dist, "number")
        return {"Dab_vol_nm": st.d_ab_vol, "Lc_vol_nm": st.l_c_vol, "D_eq_vol_nm": st.d_eq_vol,
                "D_eq_nm": st.d_eq}
    return {"mean_D_vol_nm": sphere_statistics(dist, "number").mean_vol}


def _derived_sizes(problem, values: dict[str, float]) -> dict[str, float]:
    return _weighted_sizes(problem.population_kind, problem.distribution(values))


def _propagate(problem, result, values: dict[str, float], derived: dict[str, float]):
    """Derived sizes with esds from the covariance of the size parameters (numeric gradient)."""
    names = [n for n in ("Dab_nm", "sab", "Lc_nm", "sc", "D_nm", "sD") if n in values]
    cov_names = list(getattr(result, "cov_names", []) or [])
    out = {k: (float(v), None) for k, v in derived.items()}
    if result.covariance is None or not all(n in cov_names for n in names):
        return out
    idx = [cov_names.index(n) for n in names]
    cov = np.asarray(result.covariance)[np.ix_(idx, idx)]
    grads = {k: np.zeros(len(names)) for k in derived}
    for j, n in enumerate(names):
        h = 1e-6 * max(abs(values[n]), 1e-3)
        up = _derived_sizes(problem, {**values, n: values[n] + h})
        dn = _derived_sizes(problem, {**values, n: values[n] - h})
        for k in derived:
            grads[k][j] = (up[k] - dn[k]) / (2 * h)
    return {k: (float(derived[k]), float(np.sqrt(max(grads[k] @ cov @ grads[k], 0.0)))) for k in derived}
