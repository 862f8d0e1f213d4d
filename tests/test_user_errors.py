"""Defects 5 and 6 of issue 11 (the core's side): user mistakes are NanotwinErrors naming the
problem, refused before any long computation.

Unknown ADP group names were silently B = 0 (``--adp Pbb=3,X_axx=2`` exited 0); an energy of
0.001 keV ended in a traceback (a plain ValueError from the form-factor tables).
"""

from __future__ import annotations

import numpy as np
import pytest

from nanotwin_core.actions import compute_pattern
from nanotwin_core.cli import main
from nanotwin_core.errors import NanotwinError
from nanotwin_core.io.data import PatternData
from nanotwin_core.model import Model
from nanotwin_core.refine.dse_fit import FitSettings, prepare_fit
from nanotwin_core.scattering.form_factors import anomalous, f0
from nanotwin_core.scattering.radiation import XRay
from nanotwin_core.structures.structure import Cell

SIM = ["simulate", "--structure", "CsPbBr3-gamma", "--size-ab", "2", "--size-c", "2", "--q", "1:2:0.01"]


@pytest.mark.parametrize(("extra", "needle"), [
    (["--adp", "Pbb=3,X_axx=2"], "X_ax, X_eq"),
    (["--energy", "0.001"], "keV"),
])
def test_simulate_refuses_in_one_line(tmp_path, capsys, extra, needle) -> None:
    code = main([*SIM, *extra, "--out", str(tmp_path / "x.xye")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and needle in err, err
    assert not (tmp_path / "x.xye").exists()


def test_unknown_adp_group_refused_by_fits_and_patterns() -> None:
    model = Model(structure="CsPbBr3-gamma", shape="prism", size_ab_nm=2.0, size_c_nm=2.0, adp={"X_axx": 2.0})
    data = PatternData(np.linspace(1, 3, 50), np.ones(50), x_kind="q")
    with pytest.raises(NanotwinError, match="Cs, Pb, X_ax, X_eq"):
        prepare_fit(model, data, FitSettings())
    with pytest.raises(NanotwinError, match="X_axx"):
        compute_pattern(model, np.linspace(1, 3, 50))
    ok = Model(structure="CsPbBr3-gamma", shape="prism", size_ab_nm=2.0, size_c_nm=2.0,
               adp={"Br": 2.0, "Pb": 1.0})
    got = compute_pattern(ok, np.linspace(1, 3, 50))
    assert got.b_iso == {"Cs": pytest.approx(got.b_iso["Cs"]), "Pb": 1.0, "X_ax": 2.0, "X_eq": 2.0}


@pytest.mark.parametrize("call", [
    lambda: XRay(energy_kev=0.001),
    lambda: anomalous("Br", 0.0),
    lambda: f0("Xx", np.ones(2)),
    lambda: Cell(-1.0, 2.0, 3.0),
])
def test_core_input_errors_are_nanotwin_errors(call) -> None:
    with pytest.raises(NanotwinError):
        call()
