"""Real data from defaults: `nanotwin fit` on the shared PbS files with `--population auto` and no
range (the whole file, which once returned its start values with exit 0).

Labels are the authors' volume-weighted DSE sizes (file names). Measured on this code (shared
2-core machine): synchrotron 3.17 nm -> 3.173 nm (+0.1 %), 7.57 nm -> 7.536 nm (-0.4 %), 5.03 nm
in toluene with its blank -> 5.045 nm (+0.3 %); lab Cu Ka1 3.17 nm -> 2.98 nm (-6.0 % from the
synchrotron fit), lab 5.03 nm in toluene -> 4.42 nm (-12 %): the lab patterns' (220) is ~30 %
stronger than any isotropic powder's, a texture the Debye model cannot describe, and their peaks
are broader in a model-free survey too (3.04 against 3.29 nm, 4.77 against 5.15 nm), so the
5 % agreement of issue 12 does not hold (an xfail that fails the day it does). The three
synchrotron files and the lab 3.17 nm pair run by default (~27 s together on a shared 2-core
machine); the lab/synchrotron comparisons are marked slow.
"""

from __future__ import annotations

import json

import pytest

from nanotwin_core.cli import main

SYNCHROTRON = {
    3.17: ("synchrotron/PbS_synchr_wl0p49547592A_3p17nm.xye", None),
    7.57: ("synchrotron/PbS_synchr_wl0p49547592A_7p57nm.xye", None),
    5.03: ("synchrotron/PbS_synchr_wl0p564162A_5p03nm_toluene.xye", "synchrotron/solvent_Toluene.xye"),
}
LAB = {3.17: "lab_CuKa1/PbS_lab_wl1p5406_3p17nm_1.xy", 5.03: "lab_CuKa1/PbS_lab_wl1p5406_5p03nm_toluene.xy"}


def _fit_from_defaults(root, tmp_path, name: str, blank: str | None = None) -> tuple[int, dict]:
    """`nanotwin fit` with nothing but the data, the structure, the shape and --population auto."""
    out = tmp_path / (name.replace("/", "_") + ".json")
    args = ["fit", "--data", str(root / name), "--structure", "PbS-rocksalt", "--shape", "sphere",
            "--population", "auto", "--out", str(out.with_suffix(".h5")), "--json", str(out), "--quiet"]
    if blank:
        args += ["--blank", str(root / blank)]
    code = main(args)
    return code, json.loads(out.read_text())


@pytest.fixture(scope="module")
def synchrotron_317(shared_data, tmp_path_factory) -> dict:
    code, summary = _fit_from_defaults(shared_data / "waxts_pbs_qd", tmp_path_factory.mktemp("s317"),
                                       *SYNCHROTRON[3.17])
    assert code == 0
    return summary


def _volume_mean(summary: dict) -> float:
    return summary["populations"][0]["mean_D_vol_nm"]


def _check_synchrotron(summary: dict, label: float) -> None:
    assert summary["status"] == "ok"
    assert abs(_volume_mean(summary) - label) / label < 0.03
    assert summary["populations"][0]["esd"]["mean_D_vol_nm"] > 0
    lo, hi = summary["model"]["fit"]["q_range"]
    assert 1.6 < lo < 1.83 < hi  # above the ligand halo, from the first reflection's half maximum
    assert not any(d["severity"] == "error" for d in summary["diagnostics"])


def test_whole_file_from_defaults_gives_the_label_317(synchrotron_317) -> None:
    _check_synchrotron(synchrotron_317, 3.17)


@pytest.mark.parametrize("label", [7.57, 5.03])
def test_whole_file_from_defaults_gives_the_label(shared_data, tmp_path, label) -> None:
    code, summary = _fit_from_defaults(shared_data / "waxts_pbs_qd", tmp_path, *SYNCHROTRON[label])
    assert code == 0
    _check_synchrotron(summary, label)


def test_lab_and_synchrotron_317(shared_data, tmp_path, synchrotron_317) -> None:
    """The lab pattern of the 3.17 nm sample gives a smaller size (measured -6.0 %): within 8 %,
    a fit that worked, and the texture named (its (220) lies above the model's)."""
    code, lab = _fit_from_defaults(shared_data / "waxts_pbs_qd", tmp_path, LAB[3.17])
    assert code == 0 and lab["status"] == "ok"
    assert lab["sigma_source"] == "poisson_estimate"
    assert abs(_volume_mean(lab) / _volume_mean(synchrotron_317) - 1) < 0.08
    assert any(d["code"] == "intensity_misfit" for d in lab["diagnostics"])


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="the lab patterns are textured ((220) 30 % too strong) and their "
                   "peaks broader in a model-free survey: 3.17 nm -> -6.0 %, 5.03 nm -> -12 %")
@pytest.mark.parametrize("label", [3.17, 5.03])
def test_lab_and_synchrotron_agree_within_5_percent(shared_data, tmp_path, label) -> None:
    root = shared_data / "waxts_pbs_qd"
    _, synchrotron = _fit_from_defaults(root, tmp_path, *SYNCHROTRON[label])
    _, lab = _fit_from_defaults(root, tmp_path, LAB[label])
    assert abs(_volume_mean(lab) / _volume_mean(synchrotron) - 1) < 0.05
