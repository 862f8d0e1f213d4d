"""``--texture auto``: fit a fibre texture about each low-index axis and keep the best.

The axes tried are the plane normals 100, 110 and 111 (``TEXTURE_AXES``; in a cubic phase every
other axis is equivalent to one of them), each started at ``DEFAULT_TEXTURE_RATIO`` with the
ratio refined. The fit with the lowest Rwp (the same data and weights: the lowest chi^2) is kept;
the notes say what each axis gave, so the choice can be checked. A ratio that returns to 1 means
that axis explains nothing (r = 1 is a stationary point of a cubic pattern: its esd is then huge).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace

from nanotwin_core.errors import NanotwinError
from nanotwin_core.model import Model
from nanotwin_core.model_parts import DEFAULT_TEXTURE_RATIO, TextureSpec
from nanotwin_core.reflections import reflections
from nanotwin_core.scattering.texture import hkl_text

TEXTURE_AXES = ((1, 0, 0), (1, 1, 0), (1, 1, 1))
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
    """(problem, result, notes) of the best of ``fit_one(model with a texture about axis)`` over
    ``axes``; ``fit_one`` returns (problem, FitResult) (e.g. ``actions.fit_model``)."""
    refine = list(model.fit.refine) + ([] if "texture" in model.fit.refine else ["texture"])
    tried = []
    for axis in axes:
        trial = replace(model, texture=TextureSpec(tuple(axis), DEFAULT_TEXTURE_RATIO),
                        fit=replace(model.fit, refine=refine))
        problem, result = fit_one(trial)
        ratio = next(p.value for p in result.params if p.name == "texture")
        tried.append((result.rwp, hkl_text(axis), ratio, problem, result))
    best = min(tried, key=lambda t: t[0])
    said = ", ".join(f"{label}: Rwp {rwp:.4f} (r = {ratio:.3g})" for rwp, label, ratio, _p, _r in tried)
    return best[3], best[4], [f"texture auto: tried {said}; kept {best[1]}"]


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
