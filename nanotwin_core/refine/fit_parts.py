"""Split a fitted powder curve into its parts: each population, the background, the blank.

The model is y = sum_j c_j A_j (variable projection, ``DSEFitProblem.basis``): the population
column(s) first (one per mixture component when fractions are refined, else one column holding
sum_i x_i I_i), then the Chebyshev terms ``bkg_k`` and the ``blank``. Both front ends (the
``fit`` command's project and the window) take their curves from :func:`fit_parts`, so a mixture's
second component is never mistaken for background.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from nanotwin_core.errors import NanotwinError


@dataclass
class FitParts:
    """A fitted curve and its parts on the data grid (zero outside the fitted points).

    ``populations``: {name: curve}, one per mixture component ("model" without components);
    ``background``: the Chebyshev polynomial (zeros without one); ``blank``: the scaled blank
    (None without one). ``total`` = sum of populations + background + blank.
    """

    x: np.ndarray
    total: np.ndarray
    populations: dict[str, np.ndarray]
    background: np.ndarray
    blank: np.ndarray | None
    mask: np.ndarray

    def arrays(self) -> dict[str, np.ndarray]:
        """Plain arrays for a project cache entry (``pop_<name>`` per population)."""
        out = {"x": self.x, "y_calc": self.total, "background": self.background,
               "mask": self.mask.astype(np.int8)}
        if self.blank is not None:
            out["blank"] = self.blank
        for name, curve in self.populations.items():
            out[f"pop_{name}"] = curve
        return out


def fit_parts(problem, values: Mapping[str, float]) -> FitParts:
    """The parts of ``problem``'s curve for parameter ``values`` (linear coefficients included,
    e.g. ``{p.name: p.value for p in result.params}``)."""
    missing = [n for n in problem.linear_names if n not in values]
    if missing:
        raise NanotwinError(f"fit_parts needs the linear coefficients too (missing {', '.join(missing)})")
    cols = problem.basis(dict(values))
    coeff = {n: float(values[n]) for n in problem.linear_names}
    names = list(problem.linear_names)
    populations: dict[str, np.ndarray] = {}
    if problem.components and problem.settings.fractions_refined:
        for comp in problem.components:
            k = names.index(f"scale_{comp.name}")
            populations[comp.name] = cols[:, k] * coeff[names[k]]
    elif problem.components:
        scale = coeff["scale"]
        for comp in problem.components:
            populations[comp.name] = scale * comp.fraction * problem.component_pattern(dict(values), comp)
    else:
        populations["model"] = cols[:, names.index("scale")] * coeff["scale"]
    background = np.zeros(len(problem.x))
    for k, name in enumerate(names):
        if name.startswith("bkg_"):
            background += cols[:, k] * coeff[name]
    blank = cols[:, names.index("blank")] * coeff["blank"] if "blank" in names else None
    total = sum(populations.values()) + background + (blank if blank is not None else 0.0)
    return FitParts(x=np.asarray(problem.x), total=np.asarray(total), populations=populations,
                    background=background, blank=blank, mask=np.asarray(problem.mask, bool).copy())
