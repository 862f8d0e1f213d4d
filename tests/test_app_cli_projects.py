"""Projects written by ``nanotwin fit`` open in the window with their whole model, and saving them
again keeps it (#11 defect 4, "One model"): for every model option, the model of the project the
CLI wrote, opened in the window and saved again, equals the original (``Model.to_dict()``).

The CLI runs in-process (``nanotwin_core.cli.main``) on small simulated patterns (2-2.5 nm
crystals, a few model evaluations), so each project takes a second or two.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from app_helpers import dispose, open_and_wait, save_and_wait
from nanotwin_app.main_window import MainWindow
from PySide6.QtCore import QSettings

from nanotwin_core import cli
from nanotwin_core.io.project import open_project
from nanotwin_core.model import Model
from nanotwin_core.structures.cif import write_cif
from nanotwin_core.structures.library import get_structure

MIXTURE_TOML = """
[structure]
name = "CsPbBr3-gamma"
tilt = [8.0, 6.0]
[shape]
kind = "prism"
size_ab_nm = 2.5
size_c_nm = 2.5
[twins]
laws = ["1/2<001>{110}"]
boundaries = 1
seeds = [1, 2]
allow_incoherent = false
[adp]
Pb = 2.0
[radiation]
kind = "neutron"
wavelength = 1.5
[exclude]
pairs = ["Cs:Cs"]
[[component]]
name = "twinned"
fraction = 0.4
[[component]]
name = "untwinned"
fraction = 0.6
laws = []
"""


def run_cli(*args: str) -> None:
    assert cli.main([*args]) == 0, args


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Simulated patterns (Q and 2theta), a blank, a CIF and a model file, by the CLI itself."""
    d = tmp_path_factory.mktemp("cli_projects")
    write_cif(get_structure("PbS-rocksalt"), d / "pbs.cif")
    run_cli("simulate", "--structure", "PbS-rocksalt", "--shape", "sphere", "--size", "2", "--q", "1:6:0.01",
            "--out", str(d / "pbs_q.xye"))
    run_cli("simulate", "--cif", str(d / "pbs.cif"), "--shape", "sphere", "--size", "2", "--tth",
            "10:50:0.05", "--wavelength", "0.7", "--out", str(d / "pbs_tth.xye"))
    run_cli("simulate", "--structure", "PbS-rocksalt", "--shape", "sphere", "--size", "1", "--tth",
            "10:50:0.05", "--wavelength", "0.7", "--out", str(d / "blank.xye"))
    run_cli("simulate", "--structure", "CsPbBr3-gamma", "--size-ab", "2.5", "--size-c", "2.5", "--q",
            "1:5:0.01", "--radiation", "neutron", "--out", str(d / "br_q.xye"))
    (d / "mix.toml").write_text(MIXTURE_TOML)
    return d


CASES = {
    # structure name, sphere size, ADPs, exclusions, energy, no anomalous terms, Q range, background
    # order, refine list, evaluations, seed, coherent element, (default sync) polarization
    "options": ["--structure", "PbS-rocksalt", "--shape", "sphere", "--size", "2", "--data", "pbs_q.xye",
                "--adp", "Pb=1.1,S=0.8", "--exclude", "S:S", "--energy", "20", "--no-anomalous",
                "--range", "1.2:5.5", "--background", "chebyshev:2", "--max-nfev", "4",
                "--refine", "scale,background,adp", "--coherent-element", "Pb", "--seed", "3"],
    # a CIF (relative path), a size population (dispersion), 2theta data, wavelength, lab polarization,
    # Caglioti resolution, 2theta range, blank
    "cif_population_instrument": [
        "--cif", "pbs.cif", "--shape", "sphere", "--population", "D=2,sD=0.1", "--data", "pbs_tth.xye",
        "--wavelength", "0.7", "--polarization", "lab", "--caglioti", "0,0,0.01", "--tth-range", "12:45",
        "--blank", "blank.xye", "--max-nfev", "3"],
    # a model file: tilt, prism sizes, twins, boundaries, seeds, ADPs, neutrons, exclusions and a
    # mixture of a twinned and an untwinned component, fractions refined
    "model_file_mixture": ["--model", "mix.toml", "--data", "br_q.xye", "--x", "q",
                           "--refine", "scale,background,fractions", "--max-nfev", "3"],
    # surfaces and the small-angle terms (#16): termination, shell, occupancies, constraints,
    # chains and a ligand shell
    "surface": ["--structure", "PbS-rocksalt", "--shape", "sphere", "--size", "2", "--data", "pbs_q.xye",
                "--termination", "S:full", "--surface-shell", "3", "--occupancy", "S_surf=0.9",
                "--chain", "2", "--ligand", "8,0.3", "--refine", "scale,occupancy",
                "--constrain", "B_Pb_surf=B_Pb", "--max-nfev", "3"],
}


@pytest.fixture
def window(qtbot, tmp_path):
    w = MainWindow(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), use_gl=False,
                   warm_up=False, headless=True)
    yield w
    dispose(w, qtbot)


def round_trip(window, qtbot, written, tmp_path) -> dict:
    """Open ``written`` in the window, save it elsewhere; the saved project's model dict."""
    assert open_and_wait(window, written, qtbot)
    saved = tmp_path / "saved" / "again.h5"
    saved.parent.mkdir()
    assert save_and_wait(window, saved, qtbot)
    return open_project(saved).model


@pytest.mark.parametrize("case", CASES)
def test_cli_project_keeps_its_model_through_the_window(case, files, window, qtbot, tmp_path, monkeypatch):
    monkeypatch.chdir(files)
    out = files / f"{case}.h5"  # beside its CIF, as a user runs it
    # the cases stop at a few evaluations on purpose (speed): a fit that has not converged by then
    # exits 3 with its project written and marked failed
    assert cli.main(["fit", *CASES[case], "--quiet", "--out", str(out)]) in (0, 3)
    original = open_project(out).model
    monkeypatch.chdir(tmp_path)  # the window opens it from elsewhere (a relative CIF path still resolves)
    again = round_trip(window, qtbot, out, tmp_path)
    assert again == original
    model = window.workspace.model
    assert model.to_dict() == original == Model.from_dict(original).to_dict()
    dock, options = window.model_dock_widget, window.refine_dock_widget.fit_options
    assert window.workspace.fit is not None  # the CLI's fit is shown too
    if case == "options":
        assert dock.structure_combo.currentText() == "PbS-rocksalt"
        assert not dock.anomalous_check.isChecked()
        assert dock.wavelength_spin.value() == pytest.approx(model.radiation.beam_wavelength, abs=1e-6)
        hidden = dock.hidden_label.text()
        assert "excluded pairs S:S" in hidden and "B Pb 1.1, S 0.8" in hidden
        assert (options.qmin_spin.value(), options.qmax_spin.value()) == (1.2, 5.5)
        assert options.background_spin.value() == 2 and options.max_nfev_spin.value() == 4
        refined = [n for n, c in options.choice_checks.items() if c.isChecked()]
        assert refined == ["scale", "background", "adp"]
    elif case == "surface":
        hidden = dock.hidden_label.text()
        for text in ("termination S:full", "surface shell 3 Å", "occupancy S_surf 0.9", "chains of 2",
                     "ligand shell 8 Å"):
            assert text in hidden
        assert model.fit.constraints == {"B_Pb_surf": "=B_Pb"}
    elif case == "cif_population_instrument":
        assert dock.structure_combo.currentText().startswith("(imported)")
        assert window.workspace.imported_structure is not None
        assert dock.population_check.isChecked() and dock.size.value() == 2.0
        assert dock.dispersion_spins[0].value() == pytest.approx(0.1)
        assert options.range_unit.currentText().startswith("2θ")
        assert (options.qmin_spin.value(), options.qmax_spin.value()) == (12.0, 45.0)
        assert options.polarization_combo.currentText() == "lab"
        assert options.caglioti_edit.text() == "0, 0, 0.01" and options.blank_label.text() == "blank.xye"
    else:
        assert dock.radiation_combo.currentText() == "neutron"
        assert [dock.twin_list.item(i).text() for i in range(dock.twin_list.count())] == ["1/2<001>{110}"]
        assert dock.seeds_edit.text() == "1,2"
        hidden = dock.hidden_label.text()
        assert "tilt 8°, 6°" in hidden and "mixture of twinned (0.4), untwinned (0.6)" in hidden
        assert "fit: population twinned" in window.pattern_panel.curves  # the core's split, per component


def test_pymatgen_json_model_keeps_its_model(shared_data, window, qtbot, tmp_path, monkeypatch):
    """A structure from a Materials Project (pymatgen) JSON file."""
    src = shared_data / "structures" / "delta_CsPbI3_mp-540839_smact" / "mp-540839_CsPbI3_oxi.json"
    monkeypatch.chdir(tmp_path)
    run_cli("simulate", "--cif", str(src), "--size-ab", "2", "--size-c", "2", "--q", "1:4:0.01",
            "--out", "delta.xye")
    run_cli("fit", "--cif", str(src), "--size-ab", "2", "--size-c", "2", "--data", "delta.xye",
            "--refine", "scale,background", "--max-nfev", "3", "--quiet", "--out", "delta.h5")
    original = open_project(tmp_path / "delta.h5").model
    assert Path(original["cif"]).resolve() == src.resolve()  # absolute (../shared may be a link)
    assert round_trip(window, qtbot, tmp_path / "delta.h5", tmp_path) == original
    assert sorted({s.element for s in window.workspace.imported_structure.sites}) == ["Cs", "I", "Pb"]
