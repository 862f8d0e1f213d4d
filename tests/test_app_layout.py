"""The window at 1280 x 720 and 1920 x 1080 (issue #15): every dock's primary controls inside the
window and visible without scrolling, the main plot most of the pattern panel, the refinement
dock when data come, View > Reset layout, Help > User guide inside the window, and a demo that
asks before closing loaded data."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from app_helpers import fake_result
from app_helpers import write_q_xye as write_xye
from nanotwin_app import jobs
from nanotwin_app.main_window import MainWindow, initial_size
from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QAbstractScrollArea, QWidget

SCRIPT = Path(__file__).resolve().parents[1] / "docs" / "make_window_figures.py"
MAIN_PLOT_SHARE = 0.45  # the main plot takes at least this share of the pattern panel's height
SCREENS = [(1280, 720), (1920, 1080)]


@pytest.fixture
def window(fake_main_window):
    return fake_main_window


def shown_without_scrolling(widget: QWidget, window: QWidget) -> bool:
    """True when ``widget`` is visible, lies inside ``window`` and inside the viewport of every
    scroll area around it (nothing to scroll to see it)."""
    if not widget.isVisible() or widget.width() <= 0 or widget.height() <= 0:
        return False
    if not window.rect().contains(QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())):
        return False
    parent = widget.parentWidget()
    while parent is not None and parent is not window:
        if isinstance(parent, QAbstractScrollArea):
            viewport = parent.viewport()
            if not viewport.rect().contains(QRect(widget.mapTo(viewport, QPoint(0, 0)), widget.size())):
                return False
        parent = parent.parentWidget()
    return True


def at_size(window: MainWindow, qtbot, size: tuple[int, int]) -> None:
    window.show()
    window.resize(*size)
    qtbot.wait(30)
    window.size_docks()
    qtbot.wait(60)


def test_the_first_size_follows_the_screen():
    assert initial_size(1280, 690) == (1280, 690)  # a projector: all of it
    assert initial_size(3840, 2100) == (1500, 950)  # a 4K screen: the preferred size


@pytest.mark.parametrize("size", SCREENS)
def test_primary_controls_are_visible_without_scrolling(window, qtbot, tmp_path, size):
    with qtbot.waitSignal(window.demo_finished, timeout=5000):
        window.run_demo("cspbbr3-298k")
    assert window.refine_dock.isHidden()  # no data, no refinement dock
    assert window.files.load_data(write_xye(tmp_path / "data.xye"))
    assert not window.refine_dock.isHidden()  # data came: the refinement dock with them
    at_size(window, qtbot, size)
    assert window.size().width() == size[0] and window.size().height() == size[1]
    refine = window.refine_dock_widget
    window.refine_dock.raise_()
    qtbot.wait(30)
    primary = {"Build": window.model_dock_widget.build_button, "Run": refine.run_button,
               "Stop": refine.stop_button, "Rwp/GoF": refine.figures_label}
    for name, widget in primary.items():
        assert shown_without_scrolling(widget, window), name
    window.teaching_dock.toggleViewAction().trigger()  # View > Teaching
    qtbot.wait(60)
    teach = window.teaching_dock_widget
    for name, widget in {"tilt slider": teach.tilt_slider, "domain slider": teach.domain_slider,
                         "tilt label": teach.tilt_label, "heights": teach.heights_label}.items():
        assert shown_without_scrolling(widget, window), name
    if size[0] >= 1920:  # room for the model dock's content: no horizontal scrolling
        assert not window.dock_scrolls["model_dock"].horizontalScrollBar().isVisible()
    panel = window.pattern_panel
    share = panel.main_plot.sceneBoundingRect().height() / panel.height()
    assert share >= MAIN_PLOT_SHARE, f"main plot {100 * share:.0f} % of the panel"
    shot = tmp_path / f"window_{size[0]}x{size[1]}.png"
    assert window.grab().save(str(shot))
    from PIL import Image

    with Image.open(shot) as image:
        assert image.size == size


def test_reset_layout_brings_the_docks_back(window, qtbot, tmp_path):
    at_size(window, qtbot, (1280, 720))
    window.model_dock.hide()
    window.pattern_dock.setFloating(True)
    window.teaching_dock.show()
    texts = {a.text(): a for a in window.menuBar().actions()[1].menu().actions()}
    texts["Reset layout"].trigger()
    qtbot.wait(30)
    assert not window.model_dock.isHidden() and not window.pattern_dock.isFloating()
    assert window.teaching_dock.isHidden() and window.refine_dock.isHidden()  # no data loaded
    assert window.files.load_data(write_xye(tmp_path / "data.xye"))
    window.refine_dock.hide()
    window.reset_layout()
    assert not window.refine_dock.isHidden()  # data loaded: the refinement dock is part of it


def test_help_shows_the_guide_and_tutorial_with_images(window, qtbot):
    texts = {a.text(): a for a in window.menuBar().actions()[-1].menu().actions()}
    texts["User guide"].trigger()
    help_window = window.help_window
    assert help_window is not None and help_window.isVisible()
    browser = help_window.browser
    assert "Twin laws" in browser.toPlainText()
    images = dict(browser.images())
    for name in ("img/law_001_110.png", "img/window_cspbbr3-410k.png"):
        assert not images[name].isNull(), name  # the guide's pictures load from the package
    texts["Tutorial"].trigger()
    assert "Table 2" in browser.toPlainText() or "Fig" in browser.toPlainText()
    assert any(not image.isNull() for _n, image in browser.images())
    help_window.close()


@pytest.mark.parametrize(("answer", "kept"), [("keep", True), ("close", False)])
def test_a_demo_asks_about_loaded_data(window, qtbot, tmp_path, monkeypatch, answer, kept):
    assert window.files.load_data(write_xye(tmp_path / "data.xye"))
    asked = []
    monkeypatch.setattr(window, "ask_keep_data", lambda demo: asked.append(demo) or answer)
    with qtbot.waitSignal(window.demo_finished, timeout=5000):
        window.run_demo("cspbbr3-410k")
    assert asked == ["cspbbr3-410k"]
    assert (window.workspace.data is not None) == kept
    assert (window.pattern_panel.data is not None) == kept


def test_a_demo_cancelled_at_the_question_does_not_run(window, tmp_path, monkeypatch):
    assert window.files.load_data(write_xye(tmp_path / "data.xye"))
    monkeypatch.setattr(window, "ask_keep_data", lambda demo: None)
    assert window.run_demo("cspbbr3-410k") is None
    assert window.workspace.data is not None and window.workspace.crystal is None


def test_the_screenshot_script_takes_the_window_at_its_first_size(tmp_path, monkeypatch):
    """docs/make_window_figures.py's demo shots (the README's pictures): the whole window, at the
    size it opens with on this screen."""
    spec = importlib.util.spec_from_file_location("make_window_figures", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    monkeypatch.setattr(jobs, "run_demo", lambda name, progress=None, cancel=None: fake_result())
    (shot,) = script.demo_shots(tmp_path, ("cspbbr3-298k",))
    assert shot == tmp_path / "window_cspbbr3-298k.png"
    room = QGuiApplication.primaryScreen().availableGeometry()
    from PIL import Image

    with Image.open(shot) as image:
        assert image.size == initial_size(room.width(), room.height())
