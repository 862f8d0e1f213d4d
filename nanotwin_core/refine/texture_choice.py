"""``--texture auto``: a fibre texture where the data ask for one, about the axis they point to.

First the model is fitted without a texture. When one reflection family's peaks hold clearly
more intensity than that fit gives them (``strongest_family``: more than ``MIN_EXCESS`` above
the fit in the family's peak region), the texture is fitted about that family's direction only
(the (220) peaks give 110); without such a family
the low-index plane normals 100, 110 and 111 (``TEXTURE_AXES``; in a cubic phase every other
axis is equivalent to one of them) are each tried. Every textured fit starts at
``DEFAULT_TEXTURE_RATIO`` with the ratio refined. The fit with the lowest Rwp is kept (the same
data and weights: the lowest chi^2), the untextured one included, and a texture only when it
lowers chi^2 significantly (``significant``); the notes say what each gave,
so the choice can be checked. A ratio that returns to 1 means that axis explains nothing (r = 1
is a stationary point of a cubic pattern: its esd is then huge). One textured fit instead of
three when the data name the family: a textured size database costs ~10x a plain one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from nanotwin_core.errors import NanotwinError
from nanotwin_core.model import Model
from nanotwin_core.model_parts import DEFAULT_TEXTURE_RATIO, TextureSpec
from nanotwin_core.reflections import reflections
from nanotwin_core.scattering.texture import hkl_text

TEXTURE_AXES = ((1, 0, 0), (1, 1, 0), (1, 1, 1))
MIN_EXCESS = 0.05  # relative intensity above the untextured fit that names a family
MAX_HALF_WINDOW = 0.15  # 1/Å: the widest half-window of a family's peak region
AUTO_TEXTURE = "auto"


def texture_option(text: str, command: str | None) -> TextureSpec | None:
    """--texture HKL[:R] as a TextureSpec; "auto" (nanotwin fit only) gives None: the fit tries
    the axes (``fit_texture_axes``)."""
    if text.strip().lower() != AUTO_TEXTURE:
        return TextureSpec.parse(text)
    if command != "fit":
        raise NanotwinError("--texture auto fits the axes 100, 110 and 111: it is for nanotwin fit")
    return None


def fit_texture_axes(model: Model, fit_one: Callable[[Model], tuple],
                     axes: Sequence[tuple[int, int, int]] = TEXTURE_AXES) -> tuple[object, object, list[str]]:
    """(problem, result, notes) of the best of ``fit_one(model)`` without a texture and with a
    texture about the hinted axis (else each of ``axes``); ``fit_one`` returns (problem,
    FitResult) (e.g. ``actions.fit_model``)."""
    plain_refine = [r for r in model.fit.refine if r != "texture"]
    problem, result = fit_one(replace(model, texture=None, fit=replace(model.fit, refine=plain_refine)))
    tried = [(result.rwp, "none", None, problem, result)]
    q = np.asarray(problem.q_data, float)[np.asarray(problem.mask, bool)]
    hint = strongest_family(problem.structure, q, result.y_obs, result.y_calc)
    for axis in [hint[1]] if hint is not None else axes:
        trial = replace(model, texture=TextureSpec(tuple(axis), DEFAULT_TEXTURE_RATIO),
                        fit=replace(model.fit, refine=[*plain_refine, "texture"]))
        problem, result = fit_one(trial)
        ratio = next(p.value for p in result.params if p.name == "texture")
        tried.append((result.rwp, hkl_text(axis), ratio, problem, result))
    usable = [t for t in tried if not t[4].failed] or tried  # a failed fit is no result, however low its Rwp
    best = min(usable, key=lambda t: t[0])
    if best[1] != "none" and not tried[0][4].failed and not significant(tried[0][4], best[4]):
        best = tried[0]  # one more parameter always lowers chi^2 a little: that is not a texture
    said = ", ".join(f"{label}: Rwp {rwp:.4f}" + ("" if ratio is None else f" (r = {ratio:.3g})")
                     for rwp, label, ratio, _p, _r in tried)
    why = (f"the ({hkl_text(hint[0])}) peaks of the untextured fit are too strong: axis {hkl_text(hint[1])}; "
           if hint is not None else "")
    kept = "no texture" if best[1] == "none" else best[1]
    return best[3], best[4], [f"texture auto: {why}tried {said}; kept {kept}"]


HKL = tuple[int, int, int]


def strongest_family(structure, q: np.ndarray, y_obs: np.ndarray, y_calc: np.ndarray, *,
                     min_excess: float = MIN_EXCESS) -> tuple[HKL, HKL] | None:
    """(hkl, lowest-index direction) of the reflection family whose peak region holds the most
    intensity above an untextured fit, relative to the fit there, or None below ``min_excess``.

    Each family's region is its Q (1/Å) +- half the gap to the nearest other family (at most
    ``MAX_HALF_WINDOW``), so overlapping peaks share the gap between them fairly."""
    order = np.argsort(q)
    q, y_obs, y_calc = q[order], np.asarray(y_obs, float)[order], np.asarray(y_calc, float)[order]
    families = reflections(structure, float(q[-1]), q_min=float(q[0]), classify=False)
    if not families:
        return None
    centres = np.array([f.q for f in families])
    best, best_excess = None, min_excess
    for k, fam in enumerate(families):
        gaps = np.abs(np.delete(centres, k) - fam.q)
        half = min(MAX_HALF_WINDOW, 0.5 * float(gaps.min())) if gaps.size else MAX_HALF_WINDOW
        inside = np.abs(q - fam.q) <= half
        calc = float(np.sum(y_calc[inside]))
        if inside.sum() < 3 or not calc > 0:
            continue
        excess = float(np.sum(y_obs[inside] - y_calc[inside])) / calc
        if excess > best_excess:
            best, best_excess = fam, excess
    if best is None:
        return None
    g = math.gcd(*(abs(v) for v in best.hkl))
    return tuple(best.hkl), tuple(abs(v) // g for v in best.hkl)  # type: ignore[return-value]


def significant(plain, textured, sigmas: float = 3.0) -> bool:
    """Whether the textured fit lowers chi^2 by more than ``sigmas``^2 x its reduced chi^2 (the
    drop one extra parameter gives by chance is ~1 reduced chi^2; the textured fit's reduced chi^2
    scales it when the residuals are not noise alone)."""
    reduced = textured.chi2 / max(textured.n_points - textured.n_params, 1)
    return plain.chi2 - textured.chi2 > sigmas**2 * reduced


def texture_axis_hint(structure, q_peak: float, tol: float = 0.06) -> tuple[tuple[int, int, int],
                                                                         tuple[int, int, int]] | None:
    """(hkl of the reflection family nearest ``q_peak`` (1/Å, within ``tol``), its lowest-index
    direction) or None: the axis to try (``--texture``) when that family's peaks are too strong."""
    near = reflections(structure, q_peak + tol, q_min=max(0.0, q_peak - tol), classify=False)
    if not near:
        return None
    best = max(near, key=lambda r: r.f_squared * r.multiplicity / (1.0 + abs(r.q - q_peak) / 0.01))
    g = math.gcd(*(abs(v) for v in best.hkl))
    return best.hkl, tuple(abs(v) // g for v in best.hkl)  # type: ignore[return-value]
