"""Real data through the window's widgets (slow): PbS quantum dots in toluene with the toluene
blank, imported through the import dialog, modelled in the model dock and refined in the
refinement dock, land on the labelled size and agree with ``nanotwin fit`` to within one esd."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from app_helpers import dispose, real_window
from PySide6.QtWidgets import QApplication

from nanotwin_core.cli.main import main as cli_main

WALK = Path(__file__).resolve().parents[1] / "docs" / "make_window_figures.py"
LABEL_NM = 5.03


def walkthrough():
    spec = importlib.util.spec_from_file_location("make_window_figures", WALK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_window_fit_of_pbs_in_toluene_equals_the_cli(shared_data, qtbot, tmp_path):
    walk = walkthrough()
    app = QApplication.instance()
    window = real_window(tmp_path)
    try:
        assert walk.import_through_dialog(window, app, walk.SAMPLE, walk.BLANK, walk.Q_RANGE)
        assert window.workspace.data.wavelength == 0.564162  # from the file name
        walk.set_model(window, **walk.START)
        walk.refine(window, app)
        fit = window.workspace.fit
        assert fit is not None and fit.status == "pending"
        pop = fit.summary["populations"][0]
    finally:
        dispose(window, qtbot)
    out = tmp_path / "cli.json"
    code = cli_main(["fit", "--data", str(walk.SAMPLE), "--blank", str(walk.BLANK),
                     "--structure", "PbS-rocksalt", "--shape", "sphere", "--population", "D=5.0,sD=0.15",
                     "--refine", "scale,background,adp,size", "--range", "1.75:14",
                     "--out", str(tmp_path / "cli.h5"), "--json", str(out), "--quiet"])
    assert code == 0
    cli = json.loads(out.read_text())["populations"][0]
    window_d, cli_d = pop["mean_D_vol_nm"], cli["mean_D_vol_nm"]
    assert abs(window_d - LABEL_NM) < 0.03 * LABEL_NM
    assert abs(window_d - cli_d) <= cli["esd"]["mean_D_vol_nm"]
    assert pop["mean_D_nm"] == pytest.approx(cli["mean_D_nm"], abs=cli["esd"]["mean_D_nm"])
