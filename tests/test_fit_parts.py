"""Defect 2 of issue 11: a fitted curve split into each population, background and blank.

The ``fit`` command stored comps[:, 1:] @ coeffs[1:] as "background": with two mixture
components and no background that is the second component. ``fit_parts`` is the one split.
"""

from __future__ import annotations

import numpy as np
import pytest

from nanotwin_core.actions import compute_pattern, fit_model, fit_parts
from nanotwin_core.cli import main
from nanotwin_core.io.data import PatternData, write_pattern
from nanotwin_core.io.project import open_project
from nanotwin_core.model import ComponentSpec, FitSpec, Model, write_model_toml

Q = np.arange(1.5, 5.0, 0.005)


def mixture(**fit) -> Model:
    """Two single-crystal phases (2 nm spheres of PbS and of cubic CsPbBr3) in one mixture."""
    return Model(structure="PbS-rocksalt", shape="sphere", size_nm=2.0,
                 components=[ComponentSpec("pbs", 0.6),
                             ComponentSpec("cubic", 0.4, structure="CsPbBr3-alpha")],
                 fit=FitSpec(**fit)).validate()


@pytest.fixture(scope="module")
def data() -> PatternData:
    model = mixture()
    parts = [compute_pattern(Model.from_dict({**model.to_dict(), "components": [c.to_dict()]}), Q).intensity
             for c in model.components]
    truth = 0.6 * parts[0] / parts[0].max() + 0.4 * parts[1] / parts[1].max()
    y = 1e5 * truth + 300.0 * (1.0 + Q / 5.0)
    return PatternData(Q, y, np.sqrt(y), x_kind="q", path="mix.xye")


def test_parts_add_up_and_name_each_population(data) -> None:
    model = mixture(refine=["scale", "fractions", "background"], background_order=2)
    problem, result = fit_model(model, data)
    values = {p.name: p.value for p in result.params}
    parts = fit_parts(problem, values)
    assert set(parts.populations) == {"pbs", "cubic"} and parts.blank is None
    assert np.allclose(parts.total, problem.basis(values) @ [values[n] for n in problem.linear_names])
    bkg_cols = [k for k, n in enumerate(problem.linear_names) if n.startswith("bkg_")]
    assert np.allclose(parts.background, problem.basis(values)[:, bkg_cols] @
                       [values[problem.linear_names[k]] for k in bkg_cols])
    m = parts.mask
    assert np.allclose(parts.total[m], result.y_calc)
    # fixed fractions: one scale column, still split by component
    problem2, result2 = fit_model(mixture(refine=["scale"], background_order=2), data)
    values2 = {p.name: p.value for p in result2.params}
    split = fit_parts(problem2, values2)
    assert np.allclose(split.populations["pbs"] + split.populations["cubic"] + split.background, split.total)
    assert split.populations["cubic"].max() > 0.1 * split.total.max()


def test_fit_command_stores_no_component_as_background(tmp_path, data) -> None:
    """Two components, fractions refined, no background: the stored background is zero and each
    population is stored on its own (the old code stored the second component as background)."""
    write_model_toml(mixture(), tmp_path / "mix.toml")
    write_pattern(tmp_path / "mix.xye", data.x, data.y, data.sigma, header_lines=["columns: Q I sigma"])
    code = main(["fit", "--data", str(tmp_path / "mix.xye"), "--x", "q", "--model",
                 str(tmp_path / "mix.toml"), "--refine", "scale,fractions", "--out", str(tmp_path / "fit.h5"),
                 "--quiet"])
    assert code == 0
    fit = open_project(tmp_path / "fit.h5").cache["fit"]
    assert np.all(fit["background"] == 0.0)
    assert np.allclose(fit["pop_pbs"] + fit["pop_cubic"], fit["y_calc"])
    assert fit["pop_cubic"].max() > 0.1 * fit["y_calc"].max()


def test_fit_command_takes_fit_and_instrument_from_the_model_file(tmp_path, data) -> None:
    """[fit] and [instrument] of a model file are the fit's settings unless an option overrides
    them, and the project stores the model with them."""
    write_model_toml(mixture(refine=["scale", "fractions"], q_range=(2.0, 4.5), max_nfev=30),
                     tmp_path / "mix.toml")
    write_pattern(tmp_path / "mix.xye", data.x, data.y, data.sigma, header_lines=["columns: Q I sigma"])
    code = main(["fit", "--data", str(tmp_path / "mix.xye"), "--x", "q", "--model",
                 str(tmp_path / "mix.toml"), "--out", str(tmp_path / "fit.h5"), "--quiet"])
    assert code == 0
    project = open_project(tmp_path / "fit.h5")
    stored = Model.from_dict(project.model)
    assert stored.fit.refine == ["scale", "fractions"] and stored.fit.q_range == (2.0, 4.5)
    assert stored.fit.max_nfev == 30 and stored.instrument.polarization == "none"
    x = project.cache["fit"]["x"][project.cache["fit"]["mask"].astype(bool)]
    assert x.min() >= 2.0 and x.max() <= 4.5
