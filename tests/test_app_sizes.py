"""The refinement dock's sizes (offscreen): number- and volume-weighted means with esds side by
side, the distributions drawn from the core's size maps, and the report's figure."""

from __future__ import annotations

import numpy as np
import pytest
from app_helpers import fake_window
from nanotwin_app.docks.size_view import SizeView
from nanotwin_app.workspace import FitRecord

from nanotwin_core.population.distributions import BivariateLogNormal
from nanotwin_core.population.size_maps import size_map

SPHERES = {"name": "population", "weighting": "number", "mean_D_nm": 3.1712, "sD": 0.2,
           "mean_D_vol_nm": 3.6345, "esd": {"mean_D_nm": 0.0213, "sD": 0.01, "mean_D_vol_nm": 0.0321}}
PRISMS = {"name": "prisms", "weighting": "number", "Dab_nm": 8.19, "sab": 0.24, "Lc_nm": 9.79, "sc": 0.2,
          "D_eq_nm": 9.8, "Dab_vol_nm": 9.3, "Lc_vol_nm": 10.4, "D_eq_vol_nm": 10.9, "esd": {}}


def test_sphere_means_side_by_side_and_histograms(qtbot):
    view = SizeView()
    qtbot.addWidget(view)
    view.show_populations([SPHERES])
    text = view.means_label.text()
    assert "3.17(2)" in text and "3.63(3)" in text
    assert text.index("number-weighted") < text.index("volume-weighted")
    curves = view.plot.getPlotItem().listDataItems()
    assert [c.name() for c in curves] == ["number-weighted", "volume-weighted"]
    x_n, _ = curves[0].getData()
    assert x_n.min() < 3.17 < x_n.max()


def test_prism_map_switches_weighting(qtbot):
    view = SizeView()
    qtbot.addWidget(view)
    view.show_populations([PRISMS])
    assert not view.weighting_combo.isHidden()
    ref = size_map(BivariateLogNormal(8.19, 0.24, 9.79, 0.2))
    np.testing.assert_allclose(view.image.image, ref.number)
    view.weighting_combo.setCurrentText("volume")
    np.testing.assert_allclose(view.image.image, ref.volume)
    view.show_populations([{"name": "crystal", "weighting": "single crystal", "mean_D_nm": 3.0}])
    assert view.plot.isHidden()


def test_dock_shows_sizes_and_report_has_the_figure(qtbot, tmp_path, monkeypatch):
    window = fake_window(qtbot, tmp_path, monkeypatch)
    dock = window.refine_dock_widget
    assert dock.sizes_box.isHidden()
    n = 10
    record = FitRecord(rows=[], summary={"rwp": 0.05, "gof": 1.2, "populations": [SPHERES]},
                       y_calc=np.zeros(n), background=np.zeros(n), mask=np.ones(n, bool), report="# Fit\n")
    window.workspace.set_fit(record)
    assert not dock.sizes_box.isHidden()
    assert "3.63(3)" in dock.size_view.means_label.text()
    target = tmp_path / "report.md"
    monkeypatch.setattr(window, "ask_save_path", lambda *a, **k: str(target))
    window.fits.export_report_dialog()
    text = target.read_text()
    assert text.startswith("# Fit") and "(report_sizes.png)" in text
    assert (tmp_path / "report_sizes.png").stat().st_size > 10_000


@pytest.mark.parametrize("entry", [SPHERES, PRISMS])
def test_means_table_names_both_weightings(entry):
    from nanotwin_app.docks.size_view import means_html

    html = means_html(entry)
    assert "number-weighted" in html and "volume-weighted" in html


def test_fit_notes_stay_with_the_fit(qtbot, tmp_path, monkeypatch):
    window = fake_window(qtbot, tmp_path, monkeypatch)
    dock = window.refine_dock_widget
    n = 4
    rows = [{"name": "D_nm", "value": 3.0, "at_bound": "lower"},
            {"name": "sD", "value": 0.1, "at_bound": None}]
    summary = {"rwp": 0.3, "gof": 150.0, "messages": ["note: normal matrix singular"]}
    record = FitRecord(rows=rows, summary=summary, y_calc=np.zeros(n), background=np.zeros(n),
                       mask=np.ones(n, bool))
    window.workspace.set_fit(record)
    text = dock.notes_label.text()
    assert not dock.notes_label.isHidden()
    assert "normal matrix singular" in text and "D_nm ended at its lower bound" in text and "sD" not in text
    dock.show_message("something else")  # a later status line leaves the notes
    assert "normal matrix singular" in dock.notes_label.text()
    clean = FitRecord(rows=[rows[1]], summary={"rwp": 0.02, "gof": 1.1}, y_calc=np.zeros(n),
                      background=np.zeros(n), mask=np.ones(n, bool))
    window.workspace.set_fit(clean)
    assert dock.notes_label.isHidden()
