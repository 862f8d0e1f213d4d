"""Data series without a cluster: which files, series values, sequential starts, the outputs
(CSV table, --json fits, one project, figure) and a bad file in the middle of a series."""

from __future__ import annotations

import csv
import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from nanotwin_core import actions
from nanotwin_core.cli import main
from nanotwin_core.errors import InputFileError, NanotwinError
from nanotwin_core.io.project import open_project
from nanotwin_core.model import FitSpec, Model, PopulationSpec
from nanotwin_core.series import (
    ReadOptions,
    SeriesItem,
    check_value_spec,
    natural_key,
    read_series_list,
    run_series,
    series_from_patterns,
    series_value,
)
from nanotwin_core.series_output import is_series_project, series_from_project

MODEL = ["--structure", "PbS-rocksalt", "--shape", "sphere"]
SIZES = (2.0, 2.3, 2.6)


@pytest.fixture(scope="module")
def patterns(tmp_path_factory) -> Path:
    """PbS sphere populations at three sizes (T_300K, T_350K, T_1000K) and a bad file."""
    folder = tmp_path_factory.mktemp("series")
    for d, t in zip(SIZES, (300, 350, 1000), strict=True):
        assert main(["simulate", *MODEL, "--population", f"D={d},sD=0.1", "--q", "1.5:5:0.01",
                     "--adp", "Pb=1.2,S=1.0", "--out", str(folder / f"T_{t}K.xye"), "--quiet"]) == 0
    (folder / "T_320K.xye").write_text("# temperature = 320\nnot numbers\n")
    return folder


def test_files_in_natural_order_and_a_glob_without_match_refused(tmp_path) -> None:
    for name in ("a_10.xye", "a_2.xye", "a_1.xye", "b.txt"):
        (tmp_path / name).write_text("1 1\n")
    items = series_from_patterns([str(tmp_path / "a_*.xye"), str(tmp_path / "a_2.xye")])
    assert [Path(i.path).name for i in items] == ["a_1.xye", "a_2.xye", "a_10.xye"]  # no repeat
    assert sorted(["x10", "x9", "x100"], key=natural_key) == ["x9", "x10", "x100"]
    with pytest.raises(NanotwinError, match="no file matches"):
        series_from_patterns([str(tmp_path / "none_*.xye")])


def test_series_list_values_comments_and_errors(tmp_path) -> None:
    (tmp_path / "sub").mkdir()
    listing = tmp_path / "sub" / "list.txt"
    listing.write_text("# file  temperature\nrun1.xye 298\n\n/abs/run2.xye\t310.5  # hot\nrun3.xye\n")
    items = read_series_list(listing)
    assert [(Path(i.path).name, i.value) for i in items] == [("run1.xye", 298.0), ("run2.xye", 310.5),
                                                             ("run3.xye", None)]
    assert items[0].path == str(tmp_path / "sub" / "run1.xye") and items[1].path == "/abs/run2.xye"
    listing.write_text("run1.xye 298\nrun2.xye hot\n")
    with pytest.raises(InputFileError, match=r"line 2: the series value 'hot' is not a number"):
        read_series_list(listing)
    listing.write_text("# nothing\n")
    with pytest.raises(InputFileError, match="no pattern files"):
        read_series_list(listing)


def test_a_file_error_survives_pickle() -> None:
    """What crosses between processes (Dask workers, multiprocessing) keeps its path and line."""
    back = pickle.loads(pickle.dumps(InputFileError("run.xye", "not a number", 7)))
    assert isinstance(back, InputFileError) and str(back) == "run.xye, line 7: not a number"
    assert (back.path, back.problem, back.line) == ("run.xye", "not a number", 7)


def test_series_values_from_names_and_headers() -> None:
    assert series_value("/d/CsPbBr3_T350K_01.xye", r"T(\d+)K", []) == 350.0
    assert series_value("/d/run_12.5s.xye", r"[\d.]+(?=s)", []) == 12.5
    header = ["# sample CsPbBr3", "# Temperature: 410.0", "# wavelength = 0.5"]
    assert series_value("x.xye", "header:temperature", header) == 410.0
    with pytest.raises(NanotwinError, match="x.xye: no header line 'pressure = VALUE'"):
        series_value("x.xye", "header:pressure", header)
    with pytest.raises(NanotwinError, match="does not match"):
        series_value("/d/run.xye", r"T(\d+)K", [])
    with pytest.raises(NanotwinError, match="not a regular expression"):
        check_value_spec("T(\\d+")


def _model() -> Model:
    model = Model(structure="PbS-rocksalt", shape="sphere", population=PopulationSpec(D=2.3, sD=0.1))
    model.fit = FitSpec(refine=["scale", "adp", "size"], background_order=None)
    return model.validate()


def test_sequential_fits_start_from_the_previous_result(patterns, monkeypatch) -> None:
    starts = []
    real = actions.fit_model

    def spy(*args, **kwargs):
        starts.append(kwargs.get("start"))
        return real(*args, **kwargs)

    monkeypatch.setattr(actions, "fit_model", spy)
    items = [SeriesItem(str(patterns / n)) for n in ("T_300K.xye", "T_320K.xye", "T_350K.xye")]
    result = run_series(_model(), items, mode="sequential", read=ReadOptions(x_kind="q"),
                        value_spec=r"T_(\d+)K")
    assert [f.status.split(":")[0] for f in result.fits] == ["ok", "failed", "ok"]
    assert [f.value for f in result.fits] == [300.0, 320.0, 350.0]  # the failed file's value from its name
    assert starts[0] is None and starts[1] == result.fits[0].values  # the bad file is skipped over
    assert len(result.databases) == 1  # built once for the whole series
    np.testing.assert_allclose([result.fits[i].summary["parameters"]["D_nm"]["value"] for i in (0, 2)],
                               [2.0, 2.3], atol=2e-3)


def test_cli_series_reports_a_bad_file_and_writes_every_output(patterns, tmp_path, capsys) -> None:
    out = tmp_path / "series.h5"
    code = main(["fit", "--data", str(patterns / "T_*K.xye"), "--x", "q", *MODEL, "--population",
                 "D=2.3,sD=0.1", "--refine", "scale,adp,size", "--series-value", r"T_(\d+)K",
                 "--out", str(out), "--json", str(tmp_path / "s.json"), "--plot", "D_nm,B_Pb,rwp", "--quiet"])
    captured = capsys.readouterr()
    assert code == 1  # one file failed; the outputs are still written
    assert "T_320K.xye" in captured.err and "failed" in captured.err
    rows = list(csv.DictReader((tmp_path / "series.csv").read_text().splitlines()))
    assert [Path(r["file"]).name for r in rows] == ["T_300K.xye", "T_320K.xye", "T_350K.xye", "T_1000K.xye"]
    assert [r["value"] for r in rows] == ["300", "320", "350", "1000"]
    assert rows[1]["status"].startswith("failed: ") and rows[1]["D_nm"] == ""
    fitted = [float(r["D_nm"]) for r in rows if r["status"] == "ok"]
    np.testing.assert_allclose(fitted, SIZES, atol=2e-3)
    assert all(float(r["D_nm_esd"]) > 0 for r in rows if r["status"] == "ok")
    doc = json.loads((tmp_path / "s.json").read_text())
    assert [f["status"].split(":")[0] for f in doc["fits"]] == ["ok", "failed", "ok", "ok"]
    assert doc["fits"][0]["value"] == 300 and "parameters" in doc["fits"][0] and doc["mode"] == "sequential"
    assert (tmp_path / "series.png").read_bytes()[:4] == b"\x89PNG"
    project = open_project(out)
    assert is_series_project(project)
    back = series_from_project(project)
    assert [f.status for f in back.fits] == [
        r["status"] for r in rows]
    np.testing.assert_array_equal(back.fits[0].observed["y"], np.loadtxt(patterns / "T_300K.xye")[:, 1])
    assert "y_calc" in back.fits[0].curves and back.databases
    # a second run replaces nanotwin's own outputs without --force, and reuses the sums
    assert main(["fit", "--data", str(patterns / "T_300K.xye"), str(patterns / "T_350K.xye"), "--x", "q",
                 *MODEL, "--population", "D=2.3,sD=0.1", "--refine", "scale,adp,size", "--reuse", str(out),
                 "--out", str(tmp_path / "again.h5"), "--table", str(tmp_path / "series.csv"),
                 "--quiet"]) == 0


def test_cli_series_checks_the_model_against_the_first_file(patterns, tmp_path, capsys, monkeypatch) -> None:
    """As one fit, a series says before any database when the model's reflections and the data's
    peaks disagree (cubic CsPbBr3 against PbS patterns); the right model is quiet."""
    def stop(*_a, **_k):
        raise NanotwinError("stopped before the fits (test)")

    monkeypatch.setattr("nanotwin_core.cli.fit_series.run_series", stop)
    common = ["fit", "--data", str(patterns / "T_3*0K.xye"), "--x", "q", "--shape", "sphere", "--population",
              "D=2.3,sD=0.1", "--out", str(tmp_path / "s.h5"), "--quiet"]
    assert main([*common, "--structure", "CsPbBr3-alpha"]) == 2
    err = capsys.readouterr().err
    assert "warning" in err and "reflection" in err and "stopped before the fits" in err
    assert main([*common, "--structure", "PbS-rocksalt"]) == 2
    assert "reflection" not in capsys.readouterr().err


def test_series_options_refused_for_one_file_and_foreign_outputs_kept(patterns, tmp_path, capsys) -> None:
    one = ["fit", "--data", str(patterns / "T_300K.xye"), "--x", "q", *MODEL, "--population", "D=2,sD=0.1",
           "--out", str(tmp_path / "o.h5")]
    assert main([*one, "--plot", "D_nm"]) == 2
    assert "--plot: for a data series" in capsys.readouterr().err
    mine = tmp_path / "mine.csv"
    mine.write_text("my,own,table\n")
    assert main(["fit", "--data", str(patterns / "T_3*K.xye"), "--x", "q", *MODEL, "--population",
                 "D=2,sD=0.1", "--out", str(tmp_path / "o.h5"), "--table", str(mine)]) == 2
    assert "exists and is not a series table" in capsys.readouterr().err
    assert mine.read_text() == "my,own,table\n"
