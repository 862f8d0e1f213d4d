"""`--tilt` (tilt model) and `--cif FILE.json` (pymatgen) in the build/simulate commands."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from nanotwin_core.cli import main
from nanotwin_core.io.xyz import read_xyz


def _pb_br_distances(path) -> np.ndarray:
    c = read_xyz(path)
    pb = c.positions[c.elements == "Pb"]
    br = c.positions[c.elements == "Br"]
    d, _ = cKDTree(br).query(pb, k=6)
    # keep Pb atoms well inside the crystal (six Br within 3.5 Å)
    inner = np.all(d < 3.5, axis=1)
    return d[inner].ravel()


def test_build_with_tilt_keeps_rigid_octahedra(tmp_path) -> None:
    # The tilt model keeps Pb-X fixed: every inner Pb has six Br at one distance, whatever the
    # tilt; the cell shrinks instead. At 0 degrees Pb-Br-Pb is straight: the Pb-Pb nearest
    # distance equals twice Pb-Br.
    for tilt in ("0", "12,8"):
        out = tmp_path / f"t{tilt}.xyz"
        assert main(["build", "--structure", "CsPbBr3-gamma", "--tilt", tilt, "--size-ab", "3",
                     "--size-c", "3", "--out", str(out)]) == 0
        d = _pb_br_distances(out)
        assert d.size > 6
        assert np.ptp(d) < 1e-6
    c0 = read_xyz(tmp_path / "t0.xyz")
    pb = c0.positions[c0.elements == "Pb"]
    dpp, _ = cKDTree(pb).query(pb, k=2)
    assert dpp[:, 1].min() == pytest.approx(2 * d.mean(), rel=1e-6)


def test_tilt_needs_a_cspbx3_name(capsys) -> None:
    assert main(["build", "--structure", "PbS-rocksalt", "--tilt", "5", "--size", "2", "--shape",
                 "sphere", "--out", "x.xyz"]) == 2
    assert "CsPbX3" in capsys.readouterr().err


def test_build_from_materials_project_json(tmp_path, shared_data) -> None:
    path = shared_data / "structures" / "delta_CsPbI3_mp-540839_smact" / "mp-540839_CsPbI3_oxi.json"
    out = tmp_path / "delta.xyz"
    assert main(["build", "--cif", str(path), "--shape", "prism", "--size-ab", "2", "--size-c", "2",
                 "--out", str(out)]) == 0
    c = read_xyz(out)
    counts = {el: int(np.sum(c.elements == el)) for el in ("Cs", "Pb", "I")}
    assert counts["Cs"] == counts["Pb"] and counts["I"] == 3 * counts["Pb"]
