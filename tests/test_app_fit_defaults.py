"""The window as the command line (issue 12): a fit that failed says so in the refinement dock
(not numbers to trust), the model-versus-data check speaks before a fit, and "From the data"
chooses the fitted range and start sizes as ``nanotwin fit --population auto`` without a range
does, giving the same sizes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nanotwin_core.actions import compute_pattern
from nanotwin_core.cli import main as cli_main
from nanotwin_core.io.data import PatternData
from nanotwin_core.io.import_guess import read_pattern_guessed
from nanotwin_core.model import FitSpec, Model
from nanotwin_core.model_parts import PopulationSpec

SYNCHROTRON_757 = "waxts_pbs_qd/synchrotron/PbS_synchr_wl0p49547592A_7p57nm.xye"


def wait_fit(window, qtbot, timeout=120_000) -> None:
    qtbot.waitUntil(lambda: not window.fits.running(), timeout=timeout)


def test_a_failed_fit_says_so_in_the_dock(headless_window, qtbot) -> None:
    """Flat data and a PbS model: the background carries the fit; the dock shows FAILED."""
    window = headless_window
    q = np.arange(1.0, 5.0, 0.01)
    y = 1000.0 + np.random.default_rng(1).normal(0.0, 30.0, q.size)
    window.workspace.set_model(Model(structure="PbS-rocksalt", shape="sphere", size_nm=2.0,
                                     fit=FitSpec(refine=["scale", "adp"], background_order=0)))
    window.workspace.set_data(PatternData(q, y, np.full(q.size, 30.0), x_kind="q", path="flat.xye"))
    dock = window.refine_dock_widget
    dock.run_button.click()
    wait_fit(window, qtbot)
    fit = window.workspace.fit
    assert fit is not None and fit.summary["status"].startswith("failed")
    assert "FIT FAILED" in dock.figures_label.text()
    assert not dock.notes_label.isHidden() and dock.notes_label.text().startswith("• FAILED: ")
    assert "FAILED" in dock.status_label.text()


def test_set_up_says_when_the_data_have_peaks_the_model_lacks(headless_window, qtbot) -> None:
    """A strong peak at 2.6 1/Å, where rock-salt PbS has no reflection: Set up names it (the
    command line's warning before any database)."""
    window = headless_window
    q = np.arange(1.0, 5.0, 0.005)
    y = 1000.0 + 4000.0 * np.exp(-0.5 * ((q - 2.6) / 0.02) ** 2)
    y += np.random.default_rng(2).normal(0.0, 10.0, q.size)
    window.workspace.set_model(Model(structure="PbS-rocksalt", shape="sphere", size_nm=2.0,
                                     fit=FitSpec(refine=["scale"], background_order=0)))
    window.workspace.set_data(PatternData(q, y, np.full(q.size, 10.0), x_kind="q", path="peak.xye"))
    window.refine_dock_widget.setup_button.click()
    wait_fit(window, qtbot)
    text = window.refine_dock_widget.status_label.text()
    assert "Notes:" in text and "2.6" in text, text


def test_from_the_data_fits_as_the_command_line(headless_window, qtbot, shared_data, tmp_path) -> None:
    path = shared_data / SYNCHROTRON_757
    window = headless_window
    window.workspace.set_data(read_pattern_guessed(path))
    window.workspace.set_model(Model(structure="PbS-rocksalt", shape="sphere", size_nm=7.0))
    dock = window.refine_dock_widget
    dock.defaults_button.click()
    wait_fit(window, qtbot)
    model = window.workspace.model
    assert model.population is not None and model.fit.q_range is not None
    said = dock.status_label.text()
    assert said.startswith("From the data: Q ") and ", start D=" in said
    dock.run_button.click()
    wait_fit(window, qtbot)
    fit = window.workspace.fit
    assert fit is not None and fit.summary["status"] == "ok"
    pop = fit.summary["populations"][0]
    out = tmp_path / "cli.json"
    assert cli_main(["fit", "--data", str(path), "--structure", "PbS-rocksalt", "--shape", "sphere",
                     "--population", "auto", "--out", str(tmp_path / "cli.h5"), "--json", str(out),
                     "--quiet"]) == 0
    cli = json.loads(out.read_text())
    assert cli["model"]["fit"]["q_range"] == pytest.approx(list(model.fit.q_range))
    ref = cli["populations"][0]
    assert abs(pop["mean_D_vol_nm"] - 7.57) < 0.03 * 7.57
    assert abs(pop["mean_D_vol_nm"] - ref["mean_D_vol_nm"]) <= ref["esd"]["mean_D_vol_nm"]


def test_a_size_box_the_fit_left_moves_as_on_the_command_line(headless_window, qtbot) -> None:
    """Start D 1.9 nm for 2.6 nm spheres (beyond the box's +25 %): the window's fit moves the box
    and repeats, as ``nanotwin fit`` does, keeping the table's fixed background order."""
    window = headless_window
    q = np.arange(1.5, 5.0, 0.01)
    truth = Model(structure="PbS-rocksalt", shape="sphere", population=PopulationSpec(D=2.6, sD=0.12))
    y = 1e4 * compute_pattern(truth, q).intensity / compute_pattern(truth, q).intensity.max() + 100.0
    window.workspace.set_model(Model(structure="PbS-rocksalt", shape="sphere",
                                     population=PopulationSpec(D=1.9, sD=0.12),
                                     fit=FitSpec(refine=["scale", "size", "background"], background_order=0)))
    window.workspace.set_data(PatternData(q, y, np.sqrt(y), x_kind="q", path="spheres.xye"))
    window.refine_dock_widget.run_button.click()
    wait_fit(window, qtbot)
    fit = window.workspace.fit
    assert fit is not None and fit.summary["status"] == "ok"
    d = fit.summary["parameters"]["D_nm"]
    assert abs(d["value"] - 2.6) < 0.02 * 2.6
    assert any("box" in m or "moved" in m for m in fit.summary["messages"]), fit.summary["messages"]
