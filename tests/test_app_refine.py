"""The refinement dock (offscreen, no GL): a fit through the dock equals the core's entry point
(``actions.fit_model``), Set up, Stop, Accept/Revert, table constraints."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest
from app_helpers import dispose
from nanotwin_app import jobs
from nanotwin_app.main_window import MainWindow
from PySide6.QtCore import QSettings

from nanotwin_core.actions import fit_model, fit_parts
from nanotwin_core.io.data import PatternData
from nanotwin_core.model import FitSpec, Model, PopulationSpec
from nanotwin_core.refine import size_database as sdb
from nanotwin_core.refine.dse_fit import DSEFitProblem

TRUE_B = {"Pb": 1.3, "S": 0.9}
MODEL = Model(structure="PbS-rocksalt", shape="sphere", size_nm=3.0)


@pytest.fixture(scope="module")
def simulated() -> PatternData:
    """A 3 nm PbS sphere by the all-pairs route (the fit uses the lattice route), Poisson noise."""
    from nanotwin_core.builder import build_crystal
    from nanotwin_core.scattering import compute_histograms, debye_intensity
    from nanotwin_core.structures.library import get_structure

    crystal = build_crystal(get_structure("PbS-rocksalt"), shape="sphere", size_nm=3.0).without_lattice()
    q = np.arange(1.0, 8.0, 0.005)
    truth = debye_intensity(compute_histograms(crystal, route="all_pairs"), q, b_iso=TRUE_B)
    truth = truth * 1e5 / truth.max() + 200.0
    y = np.random.default_rng(1).poisson(truth).astype(float)
    return PatternData(q, y, np.sqrt(np.maximum(y, 1.0)), x_kind="q", path="simulated.xye")


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings, use_gl=False, warm_up=False, headless=True)
    yield w
    dispose(w, qtbot)


def single_crystal_setup(window, data) -> None:
    """The model of a 3 nm PbS sphere; what to refine and the background chosen in the dock."""
    window.workspace.set_model(MODEL)
    window.workspace.set_data(data)
    options = window.refine_dock_widget.fit_options
    options.choice_checks["size"].setChecked(False)
    options.background_spin.setValue(2)
    assert window.workspace.model.fit == FitSpec(refine=["scale", "background", "adp"], background_order=2)


def set_up(window, qtbot) -> None:
    window.refine_dock_widget.setup_button.click()
    qtbot.waitUntil(lambda: not window.fits.running(), timeout=60_000)


def wait_fit(window, qtbot, timeout=60_000) -> None:
    qtbot.waitUntil(lambda: not window.fits.running(), timeout=timeout)


def test_run_needs_data_and_says_why(window):
    dock = window.refine_dock_widget
    assert not dock.run_button.isEnabled()
    assert "Load data first" in dock.run_button.toolTip()
    assert window.fits.start() is None


def test_fit_through_the_dock_equals_the_core(window, qtbot, simulated):
    single_crystal_setup(window, simulated)
    dock = window.refine_dock_widget
    assert dock.run_button.isEnabled() and not dock.rows()
    set_up(window, qtbot)
    names = [r["name"] for r in dock.rows()]
    assert names == ["B_Pb", "B_S", "expansion", "scale", "bkg_0", "bkg_1", "bkg_2"]
    with qtbot.waitSignal(window.workspace.fit_changed, timeout=60_000):
        dock.run_button.click()
    wait_fit(window, qtbot)
    fit = window.workspace.fit
    assert fit is not None and fit.status == "pending"

    # the core's entry point on its own, with the same model
    problem, result = fit_model(window.workspace.model, simulated)
    y_core = fit_parts(problem, {p.name: p.value for p in result.params}).total
    m = problem.mask
    q_plot, y_plot = window.pattern_panel.curves["fit: calculated"].getData()
    np.testing.assert_allclose(q_plot, simulated.x[m])
    np.testing.assert_allclose(y_plot, y_core[m], rtol=1e-7)
    assert fit.rwp == pytest.approx(result.rwp, rel=1e-7)
    assert f"{100 * result.rwp:.3f} %" in dock.figures_label.text()
    assert f"GoF = {result.gof:.3f}" in dock.figures_label.text()
    # physics: the B values used to simulate are recovered within 3 esd
    rows = {r["name"]: r for r in dock.rows()}
    for el, b in TRUE_B.items():
        row = rows[f"B_{el}"]
        assert abs(row["value"] - b) < 3 * row["esd"], (el, row["value"], row["esd"])
    assert 0.9 < fit.gof < 1.15
    # correlation matrix view: every refined parameter, unit diagonal
    names = fit.cov_names
    assert dock.corr_table.rowCount() == len(names) >= 5
    assert all(dock.corr_table.item(i, i).text() == "+1.00" for i in range(len(names)))
    assert window.workspace.dirty


def test_accept_revert_and_report(window, qtbot, simulated, tmp_path, monkeypatch):
    single_crystal_setup(window, simulated)
    dock = window.refine_dock_widget
    set_up(window, qtbot)
    start = {r["name"]: r["value"] for r in dock.rows()}
    dock.run_button.click()
    wait_fit(window, qtbot)
    assert dock.accept_button.isEnabled() and dock.revert_button.isEnabled()
    dock.revert_button.click()
    assert window.workspace.fit is None
    assert {r["name"]: r["value"] for r in dock.rows()} == start
    assert "fit: calculated" not in window.pattern_panel.curves
    # again, then accept: the refined values become the start values of the next run
    dock.run_button.click()
    wait_fit(window, qtbot)
    refined = {r["name"]: r["value"] for r in dock.rows()}
    assert refined["B_Pb"] != start["B_Pb"]
    dock.accept_button.click()
    assert window.workspace.fit.status == "accepted"
    assert not dock.revert_button.isEnabled()
    assert {r["name"]: r["value"] for r in dock.rows()} == refined
    # ... and the model's: Build shows, and the project keeps, the refined crystal
    assert window.workspace.model.adp == {"Pb": refined["B_Pb"], "S": refined["B_S"]}
    assert "model's" in dock.status_label.text() and "Notes" not in dock.status_label.text()
    # the size database is reused by the next run on the same model and data, from the accepted values
    (database,) = window.workspace.size_databases.values()
    monkeypatch.setattr(sdb, "build_size_database", lambda *a, **k: pytest.fail("database rebuilt"))
    job = window.fits.start()
    assert job is not None
    wait_fit(window, qtbot)
    assert list(window.workspace.size_databases.values()) == [database]
    assert window.workspace.fit.rwp <= 1.0001 * window.workspace.fit_previous.rwp
    monkeypatch.setattr(window, "ask_save_path", lambda *a, **k: str(tmp_path / "report.md"))
    dock.report_button.click()
    text = (tmp_path / "report.md").read_text()
    b_pb = next(r for r in window.workspace.fit.rows if r["name"] == "B_Pb")
    from nanotwin_core.refine.report import format_esd

    assert "| B_Pb | " + format_esd(b_pb["value"], b_pb["esd"]) in text
    assert "Rwp" in text and "GoF" in text


def test_fixed_and_equal_constraints_from_the_table(window, qtbot, simulated):
    single_crystal_setup(window, simulated)
    dock = window.refine_dock_widget
    set_up(window, qtbot)
    names = [r["name"] for r in dock.rows()]
    combo_s = dock.table.cellWidget(names.index("B_S"), 6)
    combo_s.setCurrentText("= B_Pb")
    dock.run_button.click()
    wait_fit(window, qtbot)
    rows = {r["name"]: r for r in window.workspace.fit.rows}
    assert rows["B_S"]["constraint"] == "=B_Pb"
    assert rows["B_S"]["value"] == rows["B_Pb"]["value"]
    # one B for both: between the true values, and a worse fit than two free B
    assert 0.9 < rows["B_Pb"]["value"] < 1.3
    # fixed: held at the table's value
    dock.revert_button.click()
    combo = dock.table.cellWidget(names.index("B_Pb"), 6)
    combo.setCurrentText("fixed")
    dock.table.item(names.index("B_Pb"), 1).setText("1.5")
    dock.table.cellWidget(names.index("B_S"), 6).setCurrentText("free")
    dock.run_button.click()
    wait_fit(window, qtbot)
    rows = {r["name"]: r for r in window.workspace.fit.rows}
    assert rows["B_Pb"]["value"] == 1.5 and rows["B_Pb"]["esd"] is None
    assert rows["B_S"]["esd"] is not None


def test_stop_during_iterations_within_a_second(window, qtbot, simulated, monkeypatch):
    single_crystal_setup(window, simulated)
    slow_basis = DSEFitProblem.basis

    def basis(self, values):
        time.sleep(0.05)  # a slow model: the fit takes many seconds
        return slow_basis(self, values)

    monkeypatch.setattr(DSEFitProblem, "basis", basis)
    dock = window.refine_dock_widget
    dock.run_button.click()
    assert window.fits.running() and dock.stop_button.isEnabled() and not dock.run_button.isEnabled()
    qtbot.waitUntil(lambda: "iteration" in dock.figures_label.text(), timeout=30_000)
    assert "fit: calculated (running)" in window.pattern_panel.curves  # the live curve
    t0 = time.perf_counter()
    dock.stop_button.click()
    qtbot.waitUntil(lambda: not window.fits.running(), timeout=2000)
    assert time.perf_counter() - t0 < 1.0
    assert window.workspace.fit is None
    assert "stopped" in dock.status_label.text()
    assert dock.run_button.isEnabled()


def test_stop_while_the_size_database_builds(window, qtbot, simulated):
    single_crystal_setup(window, simulated)
    dock = window.refine_dock_widget
    window.model_dock_widget.population_check.setChecked(True)  # a log-normal population: many sizes
    assert window.workspace.model.population == PopulationSpec(D=3.0, sD=0.2)
    # a broader, larger population, whose database takes longer than the 1.5 s waited below: the
    # whole fit of D = 3 nm, sD = 0.2 now ends in ~0.6 s (its grid bounded at sD = s + 0.15)
    window.workspace.set_model(replace(window.workspace.model, population=PopulationSpec(D=4.0, sD=0.3)))
    dock.run_button.click()
    qtbot.wait(1500)
    assert window.fits.running()
    t0 = time.perf_counter()
    dock.stop_button.click()
    qtbot.waitUntil(lambda: not window.fits.running(), timeout=2000)
    assert time.perf_counter() - t0 < 1.0
    assert window.workspace.fit is None
    assert not window.workspace.size_databases


def test_live_reports_are_throttled(simulated):
    """Reports reach the window at most every ITERATION_INTERVAL_S, the last figures are right."""
    model = Model(structure="PbS-rocksalt", shape="sphere", size_nm=3.0,
                  fit=FitSpec(refine=["scale", "background", "adp"], background_order=2))
    times, reports = [], []

    def progress(value, _message=None):
        if isinstance(value, jobs.FitProgress):
            times.append(time.perf_counter())
            reports.append(value)

    out = jobs.run_refinement(jobs.FitRequest(model, simulated), progress=progress)
    assert reports
    assert np.all(np.diff(times) >= jobs.ITERATION_INTERVAL_S * 0.95)
    first = reports[0]
    w = 1 / simulated.sigma[first.mask] ** 2
    yo, yc = simulated.y[first.mask], first.y_calc[first.mask]
    assert first.rwp == pytest.approx(np.sqrt(np.sum(w * (yo - yc) ** 2) / np.sum(w * yo**2)), rel=1e-9)
    assert out.summary["rwp"] <= first.rwp


def test_twin_density_parameter_reaches_the_table() -> None:
    """--refine twin_density in the window: the set-up table carries domain_nm with its bounds."""
    laws = ["1/2<110>{110}", "1/2<110>{001}"]
    model = Model(structure="CsPbBr3-gamma", size_ab_nm=3.0, size_c_nm=3.0, twins=laws, domain_size_nm=2.0,
                  ensemble=True, fit=FitSpec(refine=["scale", "twin_density"]))
    q = np.arange(1.0, 3.0, 0.01)
    data = PatternData(q, np.ones_like(q), np.ones_like(q), x_kind="q", path="flat.xye")
    rows = {r["name"]: r for r in jobs.set_up_fit(jobs.FitRequest(model, data)).rows}
    row = rows["domain_nm"]
    assert row["refine"] and row["value"] == 2.0
    assert row["min"] == pytest.approx(1.5) and row["max"] == pytest.approx(2.7)
