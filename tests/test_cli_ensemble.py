"""Command line and model files: --ensemble, per-law --domain-size, --refine twin_density."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nanotwin_core.cli import main
from nanotwin_core.io.data import read_pattern
from nanotwin_core.model import Model, PopulationSpec, read_model_toml, write_model_toml
from nanotwin_core.population.ensemble import ensemble_histograms
from nanotwin_core.refine import fast_database as fdb
from nanotwin_core.refine import size_database as sdb
from nanotwin_core.refine import twin_density as tdb
from nanotwin_core.scattering import debye_intensity
from nanotwin_core.structures.library import get_structure

A, C = "1/2<110>{110}", "1/2<001>{110}"
CRYSTAL = ["--structure", "CsPbBr3-gamma", "--size-ab", "3.8", "--size-c", "3.5", "--twin", A, "--twin", C]


def test_simulate_ensemble_is_the_exact_average(tmp_path) -> None:
    out = tmp_path / "e.xye"
    assert main(["simulate", *CRYSTAL, "--domain-size", f"{A}=2.5,{C}=5", "--ensemble", "--q", "1:3:0.01",
                 "--adp", "Pb=1,Cs=2,Br=2", "--out", str(out), "--pdf", str(tmp_path / "e.gr"),
                 "--qmax", "10", "--rmax", "15", "--quiet"]) == 0
    got = read_pattern(out)
    hist = ensemble_histograms(get_structure("CsPbBr3-gamma"), [A, C], {A: 2.5, C: 5.0}, size_ab_nm=3.8,
                               size_c_nm=3.5)
    ref = debye_intensity(hist, got.x, b_iso={"Pb": 1, "Cs": 2, "Br": 2})
    np.testing.assert_allclose(got.y, ref, rtol=1e-6)
    assert "ensemble average over random twin networks" in "\n".join(got.header)
    assert (tmp_path / "e.gr").exists()


@pytest.mark.parametrize(("extra", "needle"), [
    (["--domain-size", "2", "--ensemble"], "one realisation"),
])
def test_build_refuses_the_ensemble(tmp_path, capsys, extra, needle) -> None:
    assert main(["build", *CRYSTAL, *extra, "--out", str(tmp_path / "x.xyz")]) == 2
    assert needle in capsys.readouterr().err


@pytest.mark.parametrize(("extra", "needle"), [
    (["--boundaries", "1", "--ensemble"], "deterministic"),
    (["--ensemble"], "domain size"),
    (["--domain-size", "1/2<110>{001}=2"], "not one of the twin laws"),
    (["--domain-size", f"{A}=2"], "no domain size for"),
])
def test_simulate_refusals(tmp_path, capsys, extra, needle) -> None:
    assert main(["simulate", *CRYSTAL, *extra, "--q", "1:2:0.01", "--out", str(tmp_path / "x.xye")]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    with pytest.raises(SystemExit) as exc:  # argparse refuses the value itself
        main(["simulate", *CRYSTAL, "--domain-size", f"{A}=-2,{C}=3", "--q", "1:2:0.01",
              "--out", str(tmp_path / "x.xye")])
    assert exc.value.code == 2 and "> 0" in capsys.readouterr().err


def test_model_file_keeps_the_ensemble_and_per_law_sizes(tmp_path) -> None:
    m = Model(structure="CsPbBr3-gamma", population=PopulationSpec(Dab=8.19, sab=0.24, Lc=9.79, sc=0.20),
              twins=[A, C], domain_size_nm={A: 3.0, C: 6.0}, ensemble=True).validate()
    path = write_model_toml(m, tmp_path / "m.toml")
    back = read_model_toml(path)
    assert back == m and back.ensemble and back.domain_size_nm == {A: 3.0, C: 6.0}
    assert Model.from_dict(json.loads(json.dumps(m.to_dict()))) == m
    with pytest.raises(Exception, match="deterministic"):
        Model(structure="CsPbBr3-gamma", size_ab_nm=4, size_c_nm=4, twins=[A], boundaries=1,
              ensemble=True).validate()


def test_fit_refines_the_twin_density_and_reuses_the_project(tmp_path, monkeypatch) -> None:
    clean = tmp_path / "clean.xye"
    laws = ["--twin", A, "--twin", "1/2<110>{001}"]
    common = ["--structure", "CsPbBr3-gamma", "--size-ab", "5", "--size-c", "5", *laws, "--ensemble",
              "--adp", "Pb=1,Cs=2,Br=2"]
    assert main(["simulate", *common, "--domain-size", "1.6", "--q", "1:3.5:0.005", "--out", str(clean),
                 "--quiet"]) == 0
    d = read_pattern(clean)
    rng = np.random.default_rng(3)
    counts = rng.poisson(d.y / d.y.max() * 5e4).astype(float)
    data = tmp_path / "noisy.xye"
    np.savetxt(data, np.column_stack([d.x, counts, np.sqrt(np.maximum(counts, 1))]), header="Q I sigma")
    fit = ["fit", "--data", str(data), "--x", "q", *common, "--domain-size", "1.9", "--refine",
           "scale,twin_density", "--background", "chebyshev:0", "--quiet"]
    assert main([*fit, "--out", str(tmp_path / "a.h5"), "--json", str(tmp_path / "a.json")]) == 0
    res = json.loads((tmp_path / "a.json").read_text())
    value, esd = res["parameters"]["domain_nm"]["value"], res["parameters"]["domain_nm"]["esd"]
    assert abs(value - 1.6) < 3 * esd and esd < 0.05

    def forbidden(*args, **kwargs):
        raise AssertionError("the twin-density database was recomputed")

    for module, name in ((tdb, "build_twin_density_database"), (fdb, "build_fast_database"),
                         (sdb, "build_size_database")):
        monkeypatch.setattr(module, name, forbidden)
    assert main([*fit, "--reuse", str(tmp_path / "a.h5"), "--out", str(tmp_path / "b.h5"),
                 "--json", str(tmp_path / "b.json")]) == 0
    again = json.loads((tmp_path / "b.json").read_text())
    assert again["parameters"]["domain_nm"]["value"] == pytest.approx(value, rel=1e-9)
