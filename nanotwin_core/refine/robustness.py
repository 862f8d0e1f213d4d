"""How much do the results depend on choices a careful user could have made differently?

``robustness_refits(problem, result)`` refits the model with neighbouring choices:

- the Chebyshev background order one lower and one higher;
- the start of the fitted range 5 % lower and higher, its end 10 % lower and higher (less
  where the data end, or where the shift would need another size database: the shifts stay
  within the Q range the fit's database covers, so nothing is rebuilt);

each from the fit's own values. The spread of a quantity is half the range of its values over
the fit and the refits that did not fail; where the esd is less than a third of the spread
(``ESD_SPREAD_RATIO``), the esd (counting noise only) understates the uncertainty and a warning
says so.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field, replace

import numpy as np

from nanotwin_core.refine.dse_fit import FitSettings, database_q_range, population_summary, prepare_fit
from nanotwin_core.refine.report import format_esd

__all__ = ["ESD_SPREAD_RATIO", "RobustnessReport", "neighbour_choices", "robustness_refits"]

ESD_SPREAD_RATIO = 3.0  # a spread above this many esds: the esd understates the uncertainty
START_SHIFTS = (0.05, 0.03, 0.02, 0.01)  # relative shifts of the range start tried, largest first
END_SHIFTS = (0.10, 0.05, 0.03, 0.02)  # and of its end
SIZE_KEYS = ("mean_D_nm", "sD", "mean_D_vol_nm", "Dab_nm", "sab", "Lc_nm", "sc", "D_eq_nm", "D_eq_vol_nm",
             "Dab_vol_nm", "Lc_vol_nm")


@dataclass
class RobustnessReport:
    """``refits``: [{choice, status, values}]; ``values``/``esd``/``spread``: per quantity (the
    fit's value and esd, half the range over the fit and the refits); ``warnings``: esds far
    below the spread."""

    refits: list[dict]
    values: dict[str, float]
    esd: dict[str, float | None]
    spread: dict[str, float]
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The ``robustness`` entry of ``nanotwin fit --json``."""
        return {"refits": self.refits, "values": self.values, "esd": self.esd, "spread": self.spread,
                "warnings": list(self.warnings)}

    def markdown(self) -> str:
        """A report section: each quantity value(esd) and its spread, the refits, the warnings."""
        lines = ["", "## Robustness", "", "| quantity | value(esd) | spread over the refits |",
                 "|---|---|---|"]
        for key, value in self.values.items():
            lines.append(f"| {key} | {format_esd(value, self.esd.get(key))} | {self.spread[key]:.3g} |")
        lines += ["", "| refit | status | " + " | ".join(self.values) + " |",
                  "|---|---|" + "---|" * len(self.values)]
        for refit in self.refits:
            got = refit["values"]
            cells = " | ".join(f"{got[k]:.4g}" if k in got else "-" for k in self.values)
            lines.append(f"| {refit['choice']} | {refit['status']} | {cells} |")
        lines += [""] + [f"- warning: {w}" for w in self.warnings]
        return "\n".join(lines).rstrip() + "\n"


def _quantities(problem, result) -> tuple[dict[str, float], dict[str, float | None]]:
    """Refined nonlinear parameters and the first population's sizes: values and esds."""
    values: dict[str, float] = {}
    esd: dict[str, float | None] = {}
    linear = set(result.linear_names)
    for p in result.params:
        if p.is_free and p.name not in linear:
            values[p.name], esd[p.name] = float(p.value), p.esd
    pops = population_summary(problem, result)
    if pops:
        first = pops[0]
        for key in SIZE_KEYS:
            if first.get(key) is not None and key not in values:
                values[key], esd[key] = float(first[key]), (first.get("esd") or {}).get(key)
    return values, esd


def _shifted(value: float, fractions, sign: int, same_db: Callable[[float], bool]) -> float | None:
    for frac in fractions:
        candidate = value * (1 + sign * frac)
        if same_db(candidate):
            return candidate
    return None


def neighbour_choices(problem) -> list[tuple[str, object]]:
    """(description, model) of every neighbouring choice (module doc), from the fitted model."""
    model = problem.model
    q_fit = problem.q_data[problem.mask]
    q_min, q_max = float(q_fit.min()), float(q_fit.max())
    q_top = float(np.max(problem.q_data))
    refine, x_kind = problem.settings.refine, problem.data.x_kind
    db_range = database_q_range(q_min, q_max, refine, x_kind)
    out = []
    order = problem.settings.background_order
    if order is not None:
        for new in (order - 1, order + 1):
            if new >= 0:
                fit = replace(model.fit, background_order=new)
                out.append((f"background order {new}", replace(model, fit=fit)))

    def ranged(text: str, lo: float, hi: float):
        return (text, replace(model, fit=replace(model.fit, q_range=(lo, hi), tth_range=None)))

    for sign in (-1, 1):
        lo = _shifted(q_min, START_SHIFTS, sign,
                      lambda v: database_q_range(v, q_max, refine, x_kind) == db_range)
        if lo is not None:
            out.append(ranged(f"range start {lo:.4g} 1/Å", lo, q_max))
        hi = _shifted(q_max, END_SHIFTS, sign,
                      lambda v: v <= q_top and database_q_range(q_min, v, refine, x_kind) == db_range)
        if hi is not None:
            out.append(ranged(f"range end {hi:.4g} 1/Å", q_min, hi))
    return out


def robustness_refits(
    problem,
    result,
    *,
    structure=None,
    databases: MutableMapping | None = None,
    progress: Callable[[float, str], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> RobustnessReport:
    """Refit with every neighbouring choice (module doc) and measure the spread. ``structure``:
    the fit's structure when it is not the model's own (as given to the fit); ``databases``:
    the size-database cache of the fit (the refits reuse its databases)."""
    values, esd = _quantities(problem, result)
    fitted = {p.name: p.value for p in result.params}
    start = problem.model
    if start.population is not None and problem.population_kind is not None:
        start_pop = (replace(start.population, Dab=fitted["Dab_nm"], sab=fitted["sab"], Lc=fitted["Lc_nm"],
                             sc=fitted["sc"]) if problem.population_kind == "bivariate"
                     else replace(start.population, D=fitted["D_nm"], sD=fitted["sD"]))
    else:
        start_pop = start.population
    b_fitted = {k[2:]: v for k, v in fitted.items() if k.startswith("B_")}
    choices = neighbour_choices(problem)
    refits, samples = [], {k: [v] for k, v in values.items()}
    for i, (text, model) in enumerate(choices):
        model = replace(model, population=start_pop, adp={**model.adp, **b_fitted})
        settings = FitSettings.from_model(model, problem.settings.blank)
        new_problem = prepare_fit(model, problem.data, settings, structure=structure, databases=databases,
                                  cancel=cancel)
        res = new_problem.run(cancel=cancel)
        got, _esd = _quantities(new_problem, res)
        refits.append({"choice": text, "status": res.status, "values": got})
        if not res.failed:
            for k, v in got.items():
                if k in samples:
                    samples[k].append(v)
        if progress is not None:
            progress((i + 1) / len(choices), text)
    spread = {k: float((max(v) - min(v)) / 2) for k, v in samples.items()}
    warnings = []
    for k, s in spread.items():
        e = esd.get(k)
        if e is not None and e > 0 and s > ESD_SPREAD_RATIO * e:
            warnings.append(f"the esd of {k} ({e:.2g}) is far below its spread over neighbouring choices "
                            f"({s:.2g}): quote the spread as its uncertainty")
    return RobustnessReport(refits, values, esd, spread, warnings)
