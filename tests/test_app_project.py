"""Projects in the window (offscreen, no GL): save, reopen identically, damaged files, drag and drop."""

from __future__ import annotations

from dataclasses import replace

import h5py
import numpy as np
import pytest
from app_helpers import dispose, open_and_wait, save_and_wait
from nanotwin_app import jobs
from nanotwin_app.main_window import MainWindow
from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent

from nanotwin_core.io.data import PatternData
from nanotwin_core.io.project import Project, open_project, save_project
from nanotwin_core.model import FitSpec, Model

MODEL = Model(structure="PbS-rocksalt", shape="sphere", size_nm=3.0,
              fit=FitSpec(refine=["scale", "background", "adp"], background_order=2, q_range=(1.2, 8.0)))


@pytest.fixture(scope="module")
def simulated() -> PatternData:
    """A 3 nm PbS sphere with Poisson noise (Q data)."""
    from nanotwin_core.builder import build_crystal
    from nanotwin_core.scattering import compute_histograms, debye_intensity
    from nanotwin_core.structures.library import get_structure

    crystal = build_crystal(get_structure("PbS-rocksalt"), shape="sphere", size_nm=3.0)
    q = np.arange(1.0, 8.0, 0.005)
    truth = debye_intensity(compute_histograms(crystal), q, b_iso={"Pb": 1.3, "S": 0.9})
    truth = truth * 1e5 / truth.max() + 200.0
    y = np.random.default_rng(2).poisson(truth).astype(float)
    return PatternData(q, y, np.sqrt(np.maximum(y, 1.0)), x_kind="q", path="simulated.xye")


def new_window(qtbot, tmp_path, name="settings.ini") -> MainWindow:
    settings = QSettings(str(tmp_path / name), QSettings.Format.IniFormat)
    w = MainWindow(settings, use_gl=False, warm_up=False, headless=True)
    return w


@pytest.fixture
def window(qtbot, tmp_path):
    w = new_window(qtbot, tmp_path)
    yield w
    dispose(w, qtbot)


def populate(window, qtbot, data) -> None:
    """A real build, data, options and an accepted fit."""
    ws = window.workspace
    ws.set_model(MODEL)
    ws.compare_untwinned = False
    with qtbot.waitSignal(ws.patterns_changed, timeout=60_000):
        window.build_model()
    qtbot.waitUntil(lambda: not window.runner.running, timeout=60_000)
    assert ws.histograms and ws.crystal is not None
    ws.set_data(data)
    dock = window.refine_dock_widget
    dock.run_button.click()
    qtbot.waitUntil(lambda: not window.fits.running(), timeout=60_000)
    dock.accept_button.click()
    assert ws.fit is not None and ws.fit.status == "accepted"
    window.pattern_panel.wavelength_spin.setValue(0.7093)


def forbid_computing(monkeypatch) -> None:
    def refuse(*_a, **_k):
        raise AssertionError("a reopened project must not recompute")

    monkeypatch.setattr(jobs, "build_and_compute", refuse)
    monkeypatch.setattr(jobs, "run_refinement", refuse)
    monkeypatch.setattr(jobs, "run_demo", refuse)
    import nanotwin_core.scattering as scattering

    monkeypatch.setattr(scattering, "compute_histograms", refuse)


def curves_of(panel) -> dict:
    return {k: tuple(np.asarray(a) for a in c.getData()) for k, c in panel.curves.items()}


def test_saved_project_reopens_identically(window, qtbot, tmp_path, simulated, monkeypatch):
    populate(window, qtbot, simulated)
    ws = window.workspace
    assert ws.dirty
    target = tmp_path / "my project.h5"
    monkeypatch.setattr(window, "ask_save_path", lambda *a, **k: str(target))
    window.save_action.trigger()
    assert window.projects.busy()  # written in a job, never on the GUI thread
    qtbot.waitUntil(lambda: not window.projects.busy(), timeout=30_000)
    assert target.exists() and not ws.dirty
    assert "my project.h5" in window.windowTitle()
    fit_curves = curves_of(window.pattern_panel)
    window.refine_dock_widget.show_fit_check.setChecked(False)
    model_curves = curves_of(window.pattern_panel)
    window.refine_dock_widget.show_fit_check.setChecked(True)
    assert set(fit_curves) == {"fit: calculated", "fit: background"}
    assert len(model_curves) == 1

    forbid_computing(monkeypatch)
    other = new_window(qtbot, tmp_path, "other.ini")
    monkeypatch.setattr(other, "ask_open_path", lambda *a, **k: str(target))
    with qtbot.waitSignal(other.projects.opened, timeout=30_000):
        other.open_project_action.trigger()
    assert not other.runner.running
    ow = other.workspace
    accepted = {r["name"][2:]: r["value"] for r in ws.fit.rows if r["name"].startswith("B_")}
    assert ow.model.to_dict() == ws.model.to_dict() == replace(MODEL, adp=accepted).to_dict()
    assert other.model_dock_widget.structure_combo.currentText() == "PbS-rocksalt"
    assert not ow.compare_untwinned
    for key in ("x", "y", "sigma", "mask"):
        np.testing.assert_array_equal(getattr(ow.data, key), getattr(ws.data, key))
    assert ow.data.x_kind == ws.data.x_kind and ow.data.path == ws.data.path
    assert other.pattern_panel.wavelength == pytest.approx(0.7093)
    reopened = curves_of(other.pattern_panel)
    assert reopened.keys() == fit_curves.keys()
    for k in fit_curves:
        for a, b in zip(reopened[k], fit_curves[k], strict=True):
            np.testing.assert_array_equal(a, b)
    other.refine_dock_widget.show_fit_check.setChecked(False)
    for k, (x, y) in curves_of(other.pattern_panel).items():
        np.testing.assert_array_equal(x, model_curves[k][0])
        np.testing.assert_array_equal(y, model_curves[k][1])
    # histograms and crystal: what the curves were computed from
    assert ow.histograms.keys() == ws.histograms.keys()
    for k, h in ws.histograms.items():
        np.testing.assert_array_equal(ow.histograms[k].counts, h.counts)
        assert ow.histograms[k].types == h.types
    np.testing.assert_array_equal(ow.crystal.positions, ws.crystal.positions)
    np.testing.assert_array_equal(ow.crystal.elements, ws.crystal.elements)
    assert other.atoms_label.text() == window.atoms_label.text()
    # the refinement: table, options, result, correlations, report
    assert ow.fit.status == "accepted"
    assert ow.fit.rows == ws.fit.rows
    assert other.refine_dock_widget.rows() == window.refine_dock_widget.rows()
    opts_a, opts_b = other.refine_dock_widget.options(), window.refine_dock_widget.options()
    assert opts_a == opts_b and other.refine_dock_widget.fit_options.qmin_spin.value() == pytest.approx(1.2)
    assert ow.fit.rwp == ws.fit.rwp and ow.fit.report == ws.fit.report
    np.testing.assert_array_equal(ow.fit.correlation, ws.fit.correlation)
    assert other.refine_dock_widget.figures_label.text() == window.refine_dock_widget.figures_label.text()
    assert not ow.dirty
    assert other.recent_files()[0].endswith("my project.h5")
    dispose(other, qtbot)


def test_damaged_projects_give_a_message_and_lose_nothing(window, qtbot, tmp_path, simulated, monkeypatch):
    populate(window, qtbot, simulated)
    good = tmp_path / "good.h5"
    assert save_and_wait(window, good, qtbot)
    window.workspace.set_dirty(True)  # unsaved work in the window
    before = curves_of(window.pattern_panel)
    fit, crystal, data = window.workspace.fit, window.workspace.crystal, window.workspace.data
    messages = []
    monkeypatch.setattr(window, "notify", lambda title, text, level="info": messages.append(text))

    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"this is not HDF5" * 50)
    cut = tmp_path / "cut.h5"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    damaged = tmp_path / "damaged.h5"
    damaged.write_bytes(good.read_bytes())
    with h5py.File(damaged, "a") as f:  # readable HDF5, impossible content
        idx = f["cache/crystal/element_index"]
        idx[0] = 99
    newer = tmp_path / "newer.h5"
    newer.write_bytes(good.read_bytes())
    with h5py.File(newer, "a") as f:
        f.attrs["schema_version"] = 99
    for path, words in ((junk, "not a readable HDF5"), (cut, "cut.h5"), (damaged, "out of range"),
                        (newer, "newer")):
        messages.clear()
        assert not open_and_wait(window, path, qtbot)
        assert len(messages) == 1 and path.name in messages[0] and words in messages[0], messages
        assert "Nothing was changed" in messages[0]
        assert window.workspace.fit is fit and window.workspace.crystal is crystal
        assert window.workspace.data is data and window.workspace.dirty
        after = curves_of(window.pattern_panel)
        assert after.keys() == before.keys()
        for k in before:
            np.testing.assert_array_equal(after[k][1], before[k][1])
    assert good.exists() and open_project(good).results["fit"]["status"] == "accepted"


def test_drop_h5_opens_it(window, qtbot, tmp_path, simulated):
    populate(window, qtbot, simulated)
    path = tmp_path / "dropped.h5"
    assert save_and_wait(window, path, qtbot)
    other = new_window(qtbot, tmp_path, "drop.ini")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    enter = QDragEnterEvent(QPointF(10, 10).toPoint(), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    other.dragEnterEvent(enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(other.projects.opened, timeout=30_000):
        other.dropEvent(drop)
    assert other.workspace.project_path == path
    assert other.workspace.model == window.workspace.model
    assert other.workspace.fit.rows == window.workspace.fit.rows
    assert other.recent_files()[0].endswith("dropped.h5")
    assert [a.text() for a in other.recent_menu.actions()][0] == "dropped.h5"
    dispose(other, qtbot)


def test_unsaved_fit_asks_on_close_saved_does_not(window, qtbot, tmp_path, simulated, monkeypatch):
    populate(window, qtbot, simulated)
    asked = []
    monkeypatch.setattr(window, "ask_discard", lambda: asked.append(1) or False)
    assert not window.close()
    assert asked
    assert save_and_wait(window, tmp_path / "p.h5", qtbot)
    monkeypatch.setattr(window, "ask_discard", lambda: pytest.fail("asked with nothing unsaved"))
    assert window.close()


def test_a_nanotwin_fit_project_opens(window, qtbot, tmp_path, simulated, monkeypatch):
    """A schema-1 project as ``nanotwin fit`` writes it (no window state) opens in the window."""
    y_calc = simulated.y * 0.98
    summary = {"gof": 1.7, "rwp": 0.05, "rexp": 0.03, "n_points": len(y_calc), "n_params": 4,
               "sigma_source": "file",
               "parameters": {"B_Pb": {"value": 1.2, "esd": 0.01, "refined": True},
                              "scale": {"value": 3.0, "esd": 0.1, "refined": True}}}
    project = Project(
        model={"structure": "PbS-rocksalt", "shape": "sphere", "population": {"D": 3.1, "sD": 0.2},
               "seeds": [3]},
        data={"observed": {"x": simulated.x, "y": simulated.y, "sigma": simulated.sigma}},
        data_meta={"observed": {"path": "pbs.xye", "x_kind": "q", "wavelength": None,
                                "sigma_source": "file"}},
        cache={"fit": {"x": simulated.x, "y_calc": y_calc, "background": np.full(len(y_calc), 200.0),
                       "mask": np.ones(len(y_calc), np.int8)}},
        cache_meta={"fit": {"columns": ["scale", "bkg_0"]}},
        results={"fit": summary},
        history=[{"command": "fit", "refine": ["scale", "adp"], "gof": 1.7}],
    )
    path = save_project(project, tmp_path / "cli.h5")
    with h5py.File(path, "a") as f:
        f.attrs["schema_version"] = 1
        del f["state"]
    forbid_computing(monkeypatch)
    assert open_and_wait(window, path, qtbot)
    ws = window.workspace
    m = ws.model
    assert (m.structure, m.shape, m.population.D, m.population.sD, m.seeds) == ("PbS-rocksalt", "sphere",
                                                                                3.1, 0.2, [3])
    dock = window.model_dock_widget
    assert dock.population_check.isChecked() and dock.size.value() == 3.1
    x, y = window.pattern_panel.curves["fit: calculated"].getData()
    np.testing.assert_array_equal(y, y_calc)
    rows = {r["name"]: r for r in ws.fit.rows}
    assert rows["B_Pb"]["value"] == 1.2 and rows["B_Pb"]["esd"] == 0.01
    assert "older project" in window.statusBar().currentMessage()


def test_imported_structure_is_kept(window, qtbot, tmp_path):
    """A structure read from a CIF travels inside the project (as CIF text, no file needed)."""
    from nanotwin_core.structures.library import get_structure

    st = get_structure("PbS-rocksalt")
    cif = tmp_path / "pbs.cif"
    window.workspace.set_imported_structure(st, cif)  # the file itself is not needed to reopen
    label = window.model_dock_widget.structure_combo.currentText()
    assert label.startswith("(imported)") and window.workspace.model.cif == str(cif)
    assert save_and_wait(window, tmp_path / "cif.h5", qtbot)
    other = new_window(qtbot, tmp_path, "cif.ini")
    assert open_and_wait(other, tmp_path / "cif.h5", qtbot)
    back = other.workspace.imported_structure
    assert other.workspace.model == window.workspace.model
    assert other.model_dock_widget.structure_combo.currentText() == label
    np.testing.assert_allclose([back.cell.a, back.cell.b, back.cell.c], [st.cell.a, st.cell.b, st.cell.c])
    assert sorted(s.element for s in back.sites) == sorted(s.element for s in st.sites)
    dispose(other, qtbot)
