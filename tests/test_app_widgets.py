"""Qt widgets offscreen (no GL): main window, menus, pattern panel, workers, drag and drop."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import numpy as np
import pytest
from app_helpers import fake_result
from nanotwin_app import jobs
from nanotwin_app.docks.model_inputs import TwinLawValidator, format_seeds, hidden_parts, parse_seeds
from nanotwin_app.main_window import MainWindow
from nanotwin_app.plots.panel_export import export_curves, export_figure
from nanotwin_app.plots.pattern_panel import PatternPanel
from nanotwin_app.tasks import WARMUP_MESSAGE, CoreJob, JobRunner
from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QMenu

from nanotwin_core.cli.outputs import written_by_nanotwin
from nanotwin_core.errors import Cancelled, NanotwinError

Q = np.linspace(0.5, 6.0, 800)
REAL_BUILD_AND_COMPUTE = jobs.build_and_compute  # the window fixture replaces it with a fake


@pytest.fixture
def window(fake_main_window):
    return fake_main_window


def write_xye(path):
    lines = ["# axis: Q (1/A)", "# wavelength = 0.5654", *(f"{q:.4f} {10 + np.sin(q):.5f} 0.1" for q in Q)]
    path.write_text("\n".join(lines) + "\n")
    return path


def all_actions(menu: QMenu):
    for act in menu.actions():
        if act.menu() is not None:
            yield from all_actions(act.menu())
        elif not act.isSeparator():
            yield act


# ------------------------------------------------------------------ pattern panel
def test_pattern_panel_shows_given_curves(qtbot):
    panel = PatternPanel()
    qtbot.addWidget(panel)
    curves = {"untwinned": (Q, 1 + Q**2), "twinned": (Q, 2 + Q)}
    panel.set_patterns(curves, caption="hello")
    assert set(panel.curves) == set(curves)
    for label, (q, y) in curves.items():
        x_plot, y_plot = panel.curves[label].getData()
        np.testing.assert_array_equal(x_plot, q)
        np.testing.assert_array_equal(y_plot, y)
    panel.set_y_scale("sqrt")
    np.testing.assert_allclose(panel.curves["twinned"].getData()[1], np.sqrt(2 + Q))
    panel.set_x_axis("d")
    np.testing.assert_allclose(panel.curves["twinned"].getData()[0], 2 * np.pi / Q)
    panel.set_x_axis("2theta")
    panel.set_y_scale("log")
    assert np.all(np.isfinite(panel.curves["untwinned"].getData()[1]))


def test_legend_shows_twin_laws_verbatim(qtbot):
    panel = PatternPanel()
    qtbot.addWidget(panel)
    panel.set_patterns({"one 1/2<001>{110} boundary": (Q, 1 + Q)})
    (_, label), = panel.legend.items
    assert label.text == "one 1/2&lt;001&gt;{110} boundary"  # rich text shows it as typed


def test_long_curve_names_are_elided_in_the_middle_not_scrolled(qtbot):
    panel = PatternPanel()
    qtbot.addWidget(panel)
    name = "mixed-coset network (4 variants) of 3 nm domains, ensemble of 8 seeds"
    panel.set_patterns({name: (Q, 1 + Q)})
    panel.show()
    qtbot.wait(20)
    listed = panel.curve_list
    assert listed.textElideMode() == Qt.TextElideMode.ElideMiddle
    assert listed.horizontalScrollBar().maximum() == 0  # nothing to scroll: the name is elided
    item = listed.item(0)
    assert item.toolTip() == name and item.text() == name  # the full name, as tooltip too


def test_zoom_region_moves_zoom_plot(qtbot):
    panel = PatternPanel()
    qtbot.addWidget(panel)
    panel.set_patterns({"a": (Q, 1 + Q)})
    lo, hi = panel.zoom_plot.getViewBox().viewRange()[0]
    assert (lo, hi) == pytest.approx((1.5, 2.2), abs=1e-6)
    panel.region.setRegion((1.6, 2.0))
    assert panel.zoom_plot.getViewBox().viewRange()[0] == pytest.approx([1.6, 2.0], abs=1e-6)
    panel.zoom_plot.setXRange(1.7, 2.1, padding=0)
    assert panel.region.getRegion() == pytest.approx((1.7, 2.1), abs=1e-6)
    # the zoom window follows a change of axis (kept in Q)
    panel.set_x_axis("d")
    lo, hi = panel.region.getRegion()
    assert (lo, hi) == pytest.approx((2 * np.pi / 2.1, 2 * np.pi / 1.7), rel=1e-6)


def test_tick_rows_and_export(qtbot, tmp_path):
    panel = PatternPanel()
    qtbot.addWidget(panel)
    panel.set_patterns({"a": (Q, 1 + Q), "b": (Q, 2 + Q)})
    panel.set_pseudocubic(5.87)
    assert set(panel.tick_items) == {"fundamental", "R", "M", "X"}
    pts = panel.tick_items["R"].points()
    assert pts[0].data().startswith("R (1/2 1/2 1/2)")
    assert panel.tick_items["R"].opts["hoverable"]
    written = export_curves(panel, tmp_path / "p.xye")
    assert [p.name for p in written] == ["p_a.xye", "p_b.xye"]  # named after the curves
    from nanotwin_core.io.data import read_pattern

    back = read_pattern(written[1])
    np.testing.assert_allclose(back.y, 2 + Q, rtol=1e-6)
    csv = export_curves(panel, tmp_path / "p.csv")[0]
    lines = csv.read_text().splitlines()
    names = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    assert lines[names] == '"Q (1/A)","a","b"'
    table = np.loadtxt(csv, delimiter=",", comments="#", skiprows=names + 1)
    assert table.shape == (len(Q), 3)
    png = export_figure(panel, tmp_path / "p.png")  # drawn with matplotlib, not a screen grab
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ------------------------------------------------------------------ workers
def endless(progress=None, cancel=None):
    """A fake long computation as a generator (every yield is a cancel point)."""
    i = 0
    while True:
        time.sleep(0.01)
        i += 1
        yield i / (i + 1)


def core_style(progress=None, cancel=None):
    """A fake core call: polls cancel() and raises Cancelled."""
    for _ in range(10_000):
        if cancel():
            raise Cancelled("stop")
        progress(0.5)
        time.sleep(0.01)
    return "done"


@pytest.mark.parametrize("fn", [endless, core_style])
def test_worker_cancels_within_a_second(qtbot, fn):
    runner = JobRunner()
    job = CoreJob(fn)
    returned = []
    job.returned.connect(returned.append)
    with qtbot.waitSignal(job.yielded, timeout=2000, check_params_cb=lambda v: v is not None):
        runner.start(job)
    assert runner.is_running(job)
    t0 = time.perf_counter()
    with qtbot.waitSignals([job.aborted, job.finished], timeout=1000):
        runner.cancel(job)
    assert time.perf_counter() - t0 < 1.0
    assert not returned and not runner.is_running(job)
    assert runner.shutdown(1000)


def test_worker_returns_and_reports_errors(qtbot):
    runner = JobRunner()
    job = CoreJob(lambda x, progress=None, cancel=None: x * 2, 21)
    with qtbot.waitSignal(job.returned, timeout=2000) as blocker:
        runner.start(job)
    assert blocker.args == [42]
    main_thread = threading.get_ident()
    seen = {}

    def boom(progress=None, cancel=None):
        seen["thread"] = threading.get_ident()
        raise NanotwinError("bad input")

    bad = CoreJob(boom)
    with qtbot.waitSignal(bad.errored, timeout=2000) as blocker:
        runner.start(bad)
    assert isinstance(blocker.args[0], NanotwinError) and "bad input" in str(blocker.args[0])
    assert seen["thread"] != main_thread
    runner.shutdown(1000)


def test_a_cancelled_queued_job_never_runs(qtbot):
    """A job cancelled while it waits for a thread ends without running."""
    runner = JobRunner(max_threads=1)
    first = CoreJob(endless)
    ran = []
    second = CoreJob(lambda progress=None, cancel=None: ran.append("second"))
    with qtbot.waitSignal(first.yielded, timeout=2000, check_params_cb=lambda v: v is not None):
        runner.start(first)
        runner.start(second)
    assert runner.pool.activeThreadCount() == 1
    runner.cancel(second)
    with qtbot.waitSignals([first.aborted, second.aborted, second.finished], timeout=2000):
        runner.cancel(first)
    assert runner.shutdown(2000)
    assert ran == [] and not runner.running


# ------------------------------------------------------------------ main window
def test_main_window_constructs_with_menus(window):
    titles = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert titles == ["File", "View", "Model", "Demos", "Help"]
    assert window.open_project_action.isEnabled() and window.save_action.isEnabled()
    from nanotwin_core.demos import DEMOS

    assert set(window.demo_actions) == set(DEMOS)


def test_every_enabled_action_runs(window, qtbot, tmp_path, monkeypatch):
    data = write_xye(tmp_path / "data.xye")
    saves = iter(range(1000))

    def save_path(caption, filters, suggested=""):
        suffix = ".csv" if "CSV" in filters and "pattern" not in suggested else ""
        suffix = suffix or "." + (suggested.rsplit(".", 1)[-1] if suggested else "png")
        return str(tmp_path / f"out{next(saves)}{suffix}")

    monkeypatch.setattr(window, "ask_open_path", lambda caption, filters: str(data))
    monkeypatch.setattr(window, "ask_save_path", save_path)
    monkeypatch.setattr(window, "ask_discard", lambda: True)
    # something to export first
    with qtbot.waitSignal(window.demo_finished, timeout=5000):
        window.run_demo("cspbbr3-298k")
    triggered = 0
    for menu_action in window.menuBar().actions():
        for act in all_actions(menu_action.menu()):
            if not act.isEnabled() or act.text().replace("&", "") == "Quit":
                continue
            act.trigger()
            qtbot.wait(5)
            triggered += 1
    qtbot.waitUntil(lambda: not window.runner.running, timeout=5000)
    assert triggered >= 15
    assert list(tmp_path.glob("out*"))
    assert window.workspace.patterns.curves


def test_demo_result_reaches_viewer_and_panel(window, qtbot):
    with qtbot.waitSignal(window.demo_finished, timeout=5000) as blocker:
        window.demo_actions["cspbbr3-298k"].trigger()
    assert blocker.args == [True]
    assert window.workspace.crystal is not None
    assert window.viewer.crystal is window.workspace.crystal
    assert set(window.pattern_panel.curves) == {"untwinned", "twinned"}
    assert window.pattern_panel.caption_label.full_text == "a caption"  # elided to one line
    assert window.atoms_label.text() == "atoms: 135"
    assert "1,234" in window.pairs_label.text()
    assert not window.workspace.dirty


def test_build_marks_dirty_and_close_asks(window, qtbot, monkeypatch):
    with qtbot.waitSignal(window.runner.busy_changed, timeout=5000, check_params_cb=lambda b: not b):
        window.model_dock_widget.build_button.click()
    assert window.workspace.dirty
    asked = []
    monkeypatch.setattr(window, "ask_discard", lambda: asked.append(1) or False)
    assert not window.close()
    assert asked
    window.workspace.set_dirty(False)
    monkeypatch.setattr(window, "ask_discard", lambda: pytest.fail("asked with nothing unsaved"))
    assert window.close()


def test_drop_xye_loads_it(window, tmp_path):
    path = write_xye(tmp_path / "measured.xye")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    enter = QDragEnterEvent(QPointF(10, 10).toPoint(), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dragEnterEvent(enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    window.dropEvent(drop)
    assert window.workspace.data is not None
    assert len(window.workspace.data) == len(Q)
    x, y = window.pattern_panel.data_curve.getData()
    np.testing.assert_allclose(x, Q, atol=1e-4)
    assert window.recent_files()[0].endswith("measured.xye")


def test_unsupported_file_gives_message(window, tmp_path):
    path = tmp_path / "thing.foo"
    path.write_text("x")
    assert not window.open_file(path)
    assert "cannot open" in window.statusBar().currentMessage()


def test_twin_law_validator_and_members(window):
    dock = window.model_dock_widget
    v = TwinLawValidator()
    assert v.validate("1/2<001>{110}", 0)[0] == v.State.Acceptable
    assert v.validate("1/2<00", 0)[0] == v.State.Intermediate
    assert v.validate("hello", 0)[0] == v.State.Invalid
    dock.twin_edit.setText("1/2<001>{110}")
    assert dock.add_twin_from_edit()
    assert dock.twin_list.count() == 1
    assert "member" in dock.members_label.text()
    assert window.workspace.model.twins == ["1/2<001>{110}"]
    assert window.workspace.model.boundaries == 1
    dock.twin_edit.setText("1/2<0")
    assert not dock.add_twin_from_edit()
    dock.remove_selected_twin()
    assert window.workspace.model.twins == [] and window.workspace.model.boundaries is None
    assert "live updates for crystals up to" in dock.live_label.text()


def test_seeds_and_hidden_parts_text():
    from nanotwin_core.model import ComponentSpec, Model

    assert parse_seeds("1-4") == [1, 2, 3, 4] and format_seeds([1, 2, 3, 4]) == "1-4"
    assert parse_seeds("1, 2,5") == [1, 2, 5] and format_seeds([1, 5]) == "1,5" and format_seeds([0]) == "0"
    for bad in ("", "a", "-1", "3-x"):
        with pytest.raises(NanotwinError):
            parse_seeds(bad)
    assert hidden_parts(Model(size_ab_nm=5, size_c_nm=5)) == []
    model = Model(size_ab_nm=5, size_c_nm=5, tilt=[8.0], exclude=["Cs:Cs"], adp={"Pb": 2.0},
                  components=[ComponentSpec("a", 0.3), ComponentSpec("b", 0.7, twins=[])],
                  coherent_element="Cs")
    assert hidden_parts(model) == ["tilt 8°", "B Pb 2", "excluded pairs Cs:Cs", "mixture of a (0.3), b (0.7)",
                                   "coherent element Cs"]


def test_run_gui_screenshot(qtbot, tmp_path, monkeypatch):
    from argparse import Namespace

    from nanotwin_app.main import run_gui

    monkeypatch.setattr(jobs, "run_demo", lambda name, progress=None, cancel=None: fake_result())
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    shot = tmp_path / "shots" / "window.png"
    code = run_gui(Namespace(file=None, demo="cspbbr3-298k", screenshot=str(shot)), settings=settings)
    assert code == 0
    assert shot.stat().st_size > 10_000
    assert written_by_nanotwin(shot, "figure")  # a later --screenshot may replace it without --force
    assert not list(shot.parent.glob(".*tmp*"))
    assert run_gui(Namespace(file=None, demo="no-such-demo", screenshot=str(shot)), settings=settings) == 2


def test_warm_up_says_so(qtbot, tmp_path):
    """The real warm-up (not mocked): a status message, then the kernels' ready message."""
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings, use_gl=False, warm_up=True, headless=True)
    qtbot.addWidget(w)
    assert w.statusBar().currentMessage() == WARMUP_MESSAGE
    qtbot.waitUntil(lambda: w.statusBar().currentMessage().startswith("Numerical kernels ready"),
                    timeout=120_000)
    qtbot.waitUntil(lambda: not w.runner.running, timeout=5000)  # ``finished`` follows ``returned``
    w.runner.shutdown(1000)


def test_live_rebuilds_last_request_wins(window, qtbot, monkeypatch):
    calls = []

    def slow_build(model, structure=None, *, n_threads=None, progress=None, cancel=None, **kw):
        calls.append((model.domain_size_nm, n_threads))
        for _ in range(200):
            if cancel():
                raise Cancelled("superseded")
            time.sleep(0.005)
        return fake_result()

    monkeypatch.setattr(jobs, "build_and_compute", slow_build)
    ws = window.workspace
    ws.set_model(replace(ws.model, twins=["1/2<001>{110}"], domain_size_nm=3.0, boundaries=None))
    first = window.build_model(live=True)
    assert first is not None
    qtbot.waitUntil(lambda: len(calls) == 1, timeout=5000)  # running
    ws.set_model(replace(ws.model, domain_size_nm=2.0))
    assert window.build_model(live=True) is None  # queued; the running one is cancelled
    qtbot.waitUntil(lambda: len(calls) == 2 and not window.runner.running, timeout=5000)
    assert calls == [(3.0, 1), (2.0, 1)]
    assert window.workspace.crystal is not None
    # too big for live updates (the core's estimate from the structure): refused with a message
    ws.set_model(replace(ws.model, size_ab_nm=40.0, size_c_nm=40.0))
    assert window.build_model(live=True) is None
    assert "live updates stop" in window.statusBar().currentMessage()


def test_model_dock_refinement_button_shows_the_dock(window):
    window.refine_dock.hide()
    assert window.refine_dock.isHidden()
    window.model_dock_widget.refine_requested.emit()
    assert not window.refine_dock.isHidden()


def test_demo_puts_its_model_in_the_dock(window, qtbot):
    from nanotwin_core.demos import get_demo

    with qtbot.waitSignal(window.demo_finished, timeout=5000):
        window.run_demo("cspbbr3-410k")
    spec = jobs.demo_view_model(get_demo("cspbbr3-410k"))
    assert spec is get_demo("cspbbr3-410k").models[-1]  # the mixed-coset network
    dock = window.model_dock_widget
    assert [dock.twin_list.item(i).text() for i in range(dock.twin_list.count())] == list(spec.twins)
    assert window.workspace.model == spec.to_model(get_demo("cspbbr3-410k").wavelength)
    assert dock.size_ab.value() == spec.size_ab_nm and not window.workspace.dirty


def test_open_materials_project_json_imports_the_structure(window, shared_data):
    path = shared_data / "structures" / "delta_CsPbI3_mp-540839_smact" / "mp-540839_CsPbI3_oxi.json"
    assert window.open_file(path)
    structure = window.workspace.imported_structure
    assert structure is not None
    assert sorted({s.element for s in structure.sites}) == ["Cs", "I", "Pb"]


def test_exporting_a_pattern_does_not_mark_the_project_saved(window, qtbot, tmp_path, monkeypatch):
    with qtbot.waitSignal(window.demo_finished, timeout=5000):
        window.run_demo("cspbbr3-298k")
    window.workspace.set_dirty(True)
    monkeypatch.setattr(window, "ask_save_path", lambda *a, **k: str(tmp_path / "p.xye"))
    window.exports.pattern_dialog()
    assert len(list(tmp_path.glob("p_*.xye"))) == 2  # one file per calculated curve
    assert window.workspace.dirty


def test_model_dock_edits_one_field_and_keeps_the_rest(window):
    """Each widget writes its own field; what the dock does not show stays as it came."""
    from nanotwin_core.model import ComponentSpec, FitSpec, Instrument, Model, PopulationSpec
    from nanotwin_core.scattering.radiation import XRay

    start = Model(structure="CsPbBr3-gamma", tilt=[8.0, 6.0], size_ab_nm=3.0, size_c_nm=4.0, adp={"Pb": 2.0},
                  exclude=["Cs:Cs"], radiation=XRay(energy_kev=21.9),
                  components=[ComponentSpec("a", 0.4), ComponentSpec("b", 0.6, twins=[])],
                  instrument=Instrument(polarization="lab", caglioti=(0.0, 0.0, 0.01)),
                  fit=FitSpec(refine=["scale", "adp"], q_range=(1.0, 5.0), max_nfev=7))
    ws, dock = window.workspace, window.model_dock_widget
    ws.set_model(start)
    assert ws.model is start  # showing it wrote nothing back
    hidden = {k: v for k, v in start.to_dict().items()
              if k in ("tilt", "adp", "exclude", "components", "instrument", "fit", "energy_kev")}
    dock.size_c.setValue(5.0)
    dock.shape_combo.setCurrentText("sphere")
    dock.size.setValue(2.5)
    dock.population_check.setChecked(True)
    dock.dispersion_spins[0].setValue(0.15)
    dock.seeds_edit.setText("2,5")
    dock.seeds_edit.editingFinished.emit()
    m = ws.model
    assert (m.shape, m.size_ab_nm, m.size_c_nm, m.size_nm) == ("sphere", None, None, None)
    assert m.population == PopulationSpec(D=2.5, sD=0.15) and m.seeds == [2, 5]
    assert {k: v for k, v in m.to_dict().items() if k in hidden} == hidden
    assert m.radiation == XRay(energy_kev=21.9)  # the shown wavelength was not edited: the energy stays
    dock.anomalous_check.setChecked(False)
    assert ws.model.radiation == XRay(energy_kev=21.9, anomalous=False)
    dock.radiation_combo.setCurrentText("neutron")
    dock.radiation_combo.setCurrentText("xray")
    assert ws.model.radiation == XRay(wavelength=ws.model.radiation.wavelength, anomalous=True)


def test_live_limit_counts_the_structures_atoms(window, monkeypatch):
    """#11 defect 7: the live-update limit uses the core's atom estimate of the model's structure.
    An 11 nm PbS sphere has ~26,700 atoms (8 per 5.94 Å cell); the old estimate (5 atoms per
    5.9 Å CsPbX3 cell) said ~17,000 and started a live build."""
    from nanotwin_core.model import Model

    monkeypatch.setattr(jobs, "build_and_compute", lambda *a, **k: pytest.fail("a live build started"))
    window.workspace.set_model(Model(structure="PbS-rocksalt", shape="sphere", size_nm=11.0))
    assert window.build_model(live=True) is None
    message = window.statusBar().currentMessage()
    assert "live updates stop" in message and "~26,68" in message


def test_model_dock_offers_the_ensemble_average(window):
    """"ensemble average" next to "one realisation": with a domain size it sets model.ensemble; the
    build's curve is the average (legend says so), the 3D crystal one realisation."""
    ws, dock = window.workspace, window.model_dock_widget
    dock.twin_edit.setText("1/2<110>{110}")
    assert dock.add_twin_from_edit()
    assert not dock.ensemble_check.isEnabled()  # boundaries: one deterministic crystal
    dock.by_size.setChecked(True)
    dock.domain_spin.setValue(2.0)
    assert dock.ensemble_check.isEnabled()
    dock.ensemble_check.setChecked(True)
    assert ws.model.ensemble and ws.model.domain_size_nm == 2.0
    dock.size_ab.setValue(3.0)
    dock.size_c.setValue(3.0)
    result = REAL_BUILD_AND_COMPUTE(ws.model, q_range=(1.0, 3.0, 0.02), compare_untwinned=True)
    labels = list(result.curves)
    assert labels[0] == "untwinned" and "ensemble average; 3D view: one realisation" in labels[1]
    assert result.crystal.info["n_boundaries"] >= 0 and result.info["ensemble"]
    dock.by_count.setChecked(True)  # back to a number of boundaries: no ensemble
    assert not ws.model.ensemble and ws.model.boundaries == 1
    dock.remove_selected_twin()
    assert ws.model.twins == [] and not ws.model.ensemble
