"""Never a silent failure: each diagnostic fires on a case built to trigger it, and a good fit
stays quiet. Synthetic problems (two Gaussian peaks on a Chebyshev background) run in ms; one CLI
case checks exit status 3 and the marked JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nanotwin_core.cli import main
from nanotwin_core.refine import ParameterSet, Refinement, chebyshev_basis
from nanotwin_core.refine.diagnostics import durbin_watson, fit_status, low_q_excess

X = np.linspace(1.0, 6.0, 1501)
CHEB = chebyshev_basis(X, 2)
RNG = np.random.default_rng(7)


def _peak(centre: float, width: float) -> np.ndarray:
    return np.exp(-0.5 * ((X - centre) / width) ** 2)


def _data(signal: np.ndarray, noise: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    y = signal + 50.0 + 5.0 * (X - 3.0) + RNG.normal(0.0, noise, X.size)
    return y, np.full(X.size, noise)


def _refinement(y, sigma, basis, params, linear=("scale", "b0", "b1", "b2"),
                nonneg=(True, False, False, False)):
    return Refinement(basis, params, y, sigma, list(linear), list(nonneg))


def _peak_basis(v: dict[str, float]) -> np.ndarray:
    return np.column_stack([_peak(v["centre"], v["width"]), CHEB])


def _params(**extra: tuple[float, float, float]) -> ParameterSet:
    ps = ParameterSet()
    ps.add("centre", 3.02, True, 2.5, 3.5)
    ps.add("width", 0.12, True, 0.02, 1.0)
    for name, (value, lo, hi) in extra.items():
        ps.add(name, value, True, lo, hi)
    return ps


def _codes(result) -> dict[str, str]:
    return {d.code: d.severity for d in result.diagnostics}


def test_a_good_fit_is_quiet() -> None:
    y, s = _data(300.0 * _peak(3.0, 0.1))
    result = _refinement(y, s, _peak_basis, _params()).run()
    assert result.diagnostics == []
    assert result.status == "ok" and not result.failed
    assert abs(result.params["centre"].value - 3.0) < 3 * result.params["centre"].esd


def test_a_negative_scale_is_a_failure_named_as_such() -> None:
    """Data with a dip where the model has a peak: the unbounded scale is negative, the bounded
    one 0, the curve is background only and the fit failed (no parameter is determined)."""
    y, s = _data(-300.0 * _peak(3.0, 0.1))
    ps = _params()
    ps["centre"].min, ps["centre"].max = 2.95, 3.05  # the model's peak can only sit on the dip
    ps["width"].min, ps["width"].max = 0.05, 0.2
    result = _refinement(y, s, _peak_basis, ps).run()
    assert result.params["scale"].value == 0.0
    assert result.linear_unbounded["scale"] < 0
    codes = _codes(result)
    assert codes["model_absent"] == "error"
    assert result.failed and result.status.startswith("failed: the model's scale went to its bound 0")
    assert "singular" in codes  # nothing of the peak is determined at scale 0


def test_a_model_that_makes_almost_nothing_of_the_curve_is_a_failure() -> None:
    """Data without the model's peak: the scale stays just above 0 (not at its bound), the
    background carries the fit; the model's share of the curve (< 0.1 %) names the failure. A weak
    but real peak (1 % of the intensity) is not one."""
    y, s = _data(np.zeros(X.size))
    result = _refinement(y, s, _peak_basis, _params()).run()
    codes = _codes(result)
    assert result.failed and ("model_negligible" in codes or "model_absent" in codes)
    y, s = _data(0.05 * np.mean(50.0 + 5.0 * (X - 3.0)) * _peak(3.0, 0.1), noise=0.05)
    weak = _refinement(y, s, _peak_basis, _params()).run()
    assert "model_negligible" not in _codes(weak) and not weak.failed


def test_a_parameter_without_effect_did_not_move_and_makes_the_matrix_singular() -> None:
    y, s = _data(300.0 * _peak(3.0, 0.1))

    def basis(v):  # "ghost" does nothing
        return _peak_basis(v)

    result = _refinement(y, s, basis, _params(ghost=(1.0, 0.0, 2.0))).run()
    codes = _codes(result)
    assert codes["not_moved"] == "warning"
    assert "ghost" in next(d for d in result.diagnostics if d.code == "not_moved").parameters
    singular = next(d for d in result.diagnostics if d.code == "singular")
    assert singular.parameters == ("ghost",)
    assert not result.failed  # the other parameters are a result


def test_two_parameters_with_one_effect_are_named_in_the_singular_direction() -> None:
    y, s = _data(300.0 * _peak(3.0, 0.1))

    def basis(v):  # only the sum of the two shifts matters
        return np.column_stack([_peak(3.0 + v["shift_a"] + v["shift_b"], v["width"]), CHEB])

    ps = ParameterSet()
    ps.add("shift_a", 0.01, True, -0.2, 0.2)
    ps.add("shift_b", 0.01, True, -0.2, 0.2)
    ps.add("width", 0.12, True, 0.02, 1.0)
    result = _refinement(y, s, basis, ps).run()
    singular = next(d for d in result.diagnostics if d.code == "singular")
    assert set(singular.parameters) == {"shift_a", "shift_b"}
    assert result.condition > 1e10


def test_a_parameter_at_its_limit_and_a_blank_at_zero_are_warnings() -> None:
    y, s = _data(300.0 * _peak(3.0, 0.1))
    blank = _peak(5.0, 0.3)  # a component the data do not have, wanted negative by the noise

    def basis(v):
        return np.column_stack([_peak(v["centre"], v["width"]), CHEB, blank])

    ps = _params()
    ps["width"].min = 0.15  # the true 0.1 lies below the limit
    ps["width"].value = 0.2
    y = y - 20.0 * blank
    result = _refinement(y, s, basis, ps, linear=("scale", "b0", "b1", "b2", "blank"),
                         nonneg=(True, False, False, False, True)).run()
    codes = _codes(result)
    assert codes["at_limit"] == "warning" and codes["linear_at_bound"] == "warning"
    assert result.linear_unbounded["blank"] < 0
    assert not result.failed


def test_stopping_at_the_evaluation_limit_is_a_failure() -> None:
    y, s = _data(300.0 * _peak(3.0, 0.1))
    ps = _params()
    ps["centre"].value = 2.9
    result = _refinement(y, s, _peak_basis, ps).run(max_nfev=2)
    assert _codes(result)["not_converged"] == "error"
    assert fit_status(result.diagnostics).startswith("failed: the minimiser stopped")


def test_systematic_residuals_are_reported_with_the_gof() -> None:
    """A Lorentzian fitted by a Gaussian: GoF far above the noise, correlated residuals."""
    lorentz = 300.0 / (1.0 + ((X - 3.0) / 0.1) ** 2)
    y, s = _data(lorentz)
    result = _refinement(y, s, _peak_basis, _params()).run()
    codes = _codes(result)
    assert codes["gof_high"] == "warning" and codes["residual_structure"] == "warning"
    assert durbin_watson(RNG.normal(size=20000)) == pytest.approx(2.0, abs=0.05)


def test_low_q_excess_finds_a_hump_the_model_lacks() -> None:
    peaks = 300.0 * (_peak(3.0, 0.05) + _peak(4.0, 0.05))
    hump = 150.0 * _peak(1.8, 0.3)
    sigma = np.ones(X.size)
    found = low_q_excess(X, peaks + hump + RNG.normal(0, 1, X.size), peaks, sigma)
    assert found is not None and 1.8 < found.x_end < 2.6 and found.chi2_share > 0.5
    # peaks misfit in width alternate in sign: not an excess
    assert low_q_excess(X, peaks + RNG.normal(0, 1, X.size), 300.0 * (_peak(3.0, 0.055) + _peak(4.0, 0.055)),
                        sigma) is None


def test_cli_fit_that_failed_exits_3_and_marks_its_json(tmp_path, capsys) -> None:
    """A pattern the model cannot describe (minus a sphere's pattern on a constant): exit status 3,
    the project and JSON still written, status "failed: ...", the diagnostics listed."""
    from nanotwin_core.actions import compute_pattern
    from nanotwin_core.model import Model

    q = np.linspace(1.5, 5.0, 700)
    pattern = compute_pattern(Model(structure="PbS-rocksalt", shape="sphere", size_nm=1.5), q).intensity
    y = 2.0 * pattern.max() - pattern
    data = tmp_path / "dip.xye"
    rows = [f"{a} {b} {0.01 * pattern.max()}" for a, b in zip(q, y, strict=True)]
    data.write_text("# Q (1/Å) I sigma\n" + "\n".join(rows))
    out = tmp_path / "fit.json"
    code = main(["fit", "--data", str(data), "--structure", "PbS-rocksalt", "--shape", "sphere",
                 "--size", "1.5", "--refine", "scale,background,adp", "--out", str(tmp_path / "p.h5"),
                 "--json", str(out), "--quiet"])
    assert code == 3
    summary = json.loads(out.read_text())
    assert summary["status"].startswith("failed: the model's scale went to its bound 0")
    assert any(d["code"] == "model_absent" and d["severity"] == "error" for d in summary["diagnostics"])
    assert (tmp_path / "p.h5").exists()
    assert "nanotwin: error: the model's scale" in capsys.readouterr().err
