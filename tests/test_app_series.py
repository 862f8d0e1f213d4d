"""File > Import series: the series window runs a series in a worker, tables and plots the fits,
links a plotted point to its pattern, cancels, and saves the project and the table."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from nanotwin_app.series_window import SeriesWindow  # noqa: E402

from nanotwin_core.cli import main  # noqa: E402
from nanotwin_core.io.project import open_project  # noqa: E402
from nanotwin_core.model import FitSpec, Model, PopulationSpec  # noqa: E402
from nanotwin_core.series import SeriesItem  # noqa: E402
from nanotwin_core.series_output import is_series_project  # noqa: E402

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("series")
    paths = []
    for d, t in ((2.0, 300), (2.4, 350)):
        path = folder / f"pbs_{t}K.xye"
        assert main(["simulate", "--structure", "PbS-rocksalt", "--shape", "sphere", "--population",
                     f"D={d},sD=0.1", "--q", "1.5:5:0.01", "--adp", "Pb=1.2,S=1.0", "--out", str(path),
                     "--quiet"]) == 0
        paths.append(str(path))
    bad = folder / "pbs_320K.xye"
    bad.write_text("no numbers\n")
    return [paths[0], str(bad), paths[1]]


def _source():
    model = Model(structure="PbS-rocksalt", shape="sphere", population=PopulationSpec(D=2.2, sD=0.1))
    model.fit = FitSpec(refine=["scale", "adp", "size"], background_order=None)
    return model.validate(), None


def test_series_window_runs_tables_plots_and_links_points(qtbot, files, tmp_path) -> None:
    w = SeriesWindow(_source)
    qtbot.addWidget(w)
    w.set_items([SeriesItem(p) for p in files])
    w.value_edit.setText(r"_(\d+)K")
    with qtbot.waitSignal(w.finished, timeout=60000):
        assert w.start() is not None
    assert w.result is not None and w.table.rowCount() == 3
    assert w.table.item(1, 2).text().startswith("failed: ") and w.table.item(0, 2).text() == "ok"
    assert w.table.item(0, 1).text() == "300"
    w.param_combo.setCurrentText("D_nm")
    x, y = w.scatter.getData()
    np.testing.assert_allclose(x, [300, 350])
    np.testing.assert_allclose(y, [2.0, 2.4], atol=3e-3)
    # a click on the second point (fit index 2) shows that pattern and selects its row
    point = w.scatter.points()[1]
    w.scatter.sigClicked.emit(w.scatter, [point], None)
    assert w.table.currentRow() == 2
    obs_x, obs_y = w.obs_curve.getData()
    np.testing.assert_array_equal(obs_y, w.result.fits[2].observed["y"])
    assert "350" in w.pattern_plot.plotItem.titleLabel.text
    w.show_fit(1)  # the failed file: its reason, no curve
    assert w.obs_curve.getData()[0] is None or len(w.obs_curve.getData()[0]) == 0
    assert is_series_project(open_project(w.save_project_to(tmp_path / "s.h5")))
    assert w.export_table_to(tmp_path / "s.csv").read_text().startswith("file,value,status")


def test_series_window_cancel_stops_and_keeps_the_last_result(qtbot, files) -> None:
    w = SeriesWindow(_source)
    qtbot.addWidget(w)
    w.set_items([SeriesItem(p) for p in files * 4])
    seen = []
    w.status.setText("")
    runner = w.start()
    runner.progressed.connect(lambda f, t: seen.append(f))
    qtbot.waitUntil(lambda: bool(seen), timeout=30000)
    with qtbot.waitSignal(w.finished, timeout=5000):
        w.cancel()
    assert "cancelled" in w.status.text() and w.result is None and not w.running()
    assert w.run_button.isEnabled() and not w.cancel_button.isEnabled()
