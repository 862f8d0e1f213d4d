"""A fit's per-size Debye sums are saved with the project and reused after reopening it."""

from __future__ import annotations

import numpy as np
import pytest
from app_helpers import dispose, open_and_wait, save_and_wait
from nanotwin_app.main_window import MainWindow
from PySide6.QtCore import QSettings

from nanotwin_core.io.data import PatternData
from nanotwin_core.model import Model, PopulationSpec
from nanotwin_core.refine import size_database as sdb


@pytest.fixture(scope="module")
def simulated() -> PatternData:
    """A 2.5 nm PbS sphere with Poisson noise (Q data)."""
    from nanotwin_core.builder import build_crystal
    from nanotwin_core.scattering import compute_histograms, debye_intensity
    from nanotwin_core.structures.library import get_structure

    crystal = build_crystal(get_structure("PbS-rocksalt"), shape="sphere", size_nm=2.5)
    q = np.arange(1.5, 7.0, 0.01)
    truth = debye_intensity(compute_histograms(crystal), q, b_iso={"Pb": 1.3, "S": 0.9})
    y = np.random.default_rng(3).poisson(truth * 1e5 / truth.max() + 200.0).astype(float)
    return PatternData(q, y, np.sqrt(np.maximum(y, 1.0)), x_kind="q", path="simulated.xye")


def _window(tmp_path, name: str) -> MainWindow:
    settings = QSettings(str(tmp_path / name), QSettings.Format.IniFormat)
    return MainWindow(settings, use_gl=False, warm_up=False, headless=True)


def _fit(window, qtbot) -> None:
    window.refine_dock_widget.run_button.click()
    qtbot.waitUntil(lambda: not window.fits.running(), timeout=120_000)
    assert window.workspace.fit is not None


def test_population_fit_sums_survive_the_project(qtbot, tmp_path, simulated, monkeypatch):
    first = _window(tmp_path, "a.ini")
    try:
        ws = first.workspace
        ws.set_model(Model(structure="PbS-rocksalt", shape="sphere",
                           population=PopulationSpec(D=2.5, sD=0.2)))
        ws.set_data(simulated)
        _fit(first, qtbot)
        assert len(ws.size_databases) == 1
        rwp = ws.fit.rwp
        assert save_and_wait(first, tmp_path / "p.h5", qtbot)
    finally:
        dispose(first, qtbot)

    def forbidden(*args, **kwargs):
        raise AssertionError("the size database was recomputed")

    monkeypatch.setattr(sdb, "build_size_database", forbidden)
    second = _window(tmp_path, "b.ini")
    try:
        assert open_and_wait(second, tmp_path / "p.h5", qtbot)
        assert len(second.workspace.size_databases) == 1
        _fit(second, qtbot)  # a new fit from the reopened project: the stored sums are used
        assert second.workspace.fit.rwp == pytest.approx(rwp, rel=1e-6)
    finally:
        dispose(second, qtbot)
