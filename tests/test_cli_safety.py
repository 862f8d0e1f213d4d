"""Nothing lost, nothing hidden (issue #17 items 1, 3, 4, 7; issue #11 defect 6).

Outputs are checked before any computing and never replace an input or a foreign file; every
user error is one line with exit code 2; physically wrong input is refused or warned about.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from nanotwin_core.cli import main
from nanotwin_core.cli.gui import display_missing
from nanotwin_core.cli.outputs import OutputFiles
from nanotwin_core.errors import NanotwinError
from nanotwin_core.io.project import Project, open_project, save_project

PBS = ["--structure", "PbS-rocksalt", "--shape", "sphere", "--size", "2"]
QUICK_FIT = [*PBS, "--refine", "scale", "--quiet"]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture(scope="module")
def q_data(tmp_path_factory) -> Path:
    """A small simulated PbS pattern on a Q grid (header says Q)."""
    path = tmp_path_factory.mktemp("safety") / "pbs_q.xye"
    assert main(["simulate", *PBS, "--q", "1:6:0.01", "--out", str(path), "--quiet"]) == 0
    return path


@pytest.fixture()
def work(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


# ------------------------------------------------------------------ item 1: data loss
def test_output_that_is_the_input_is_refused_and_the_data_unchanged(work, q_data, capsys) -> None:
    data = work / "run.xye"
    data.write_bytes(q_data.read_bytes())
    before = sha(data)
    assert main(["fit", "--data", "run.xye", *QUICK_FIT, "--out", "run.xye"]) == 2
    assert "also the input --data" in one_error_line(capsys.readouterr().err)
    assert sha(data) == before
    assert main(["fit", "--data", "run.xye", *QUICK_FIT, "--out", "p.h5", "--json", "./run.xye"]) == 2
    assert sha(data) == before and not (work / "p.h5").exists()


def test_foreign_files_are_replaced_only_with_force(work, q_data, capsys) -> None:
    notes = work / "notes.h5"
    notes.write_text("my notes\n")
    args = ["fit", "--data", str(q_data), *QUICK_FIT, "--out", "notes.h5"]
    assert main(args) == 2
    assert "not a nanotwin project" in one_error_line(capsys.readouterr().err)
    assert notes.read_text() == "my notes\n"
    save_project(Project(model={"old": True}), work / "old.h5")  # an earlier project: replaced freely
    assert main(["fit", "--data", str(q_data), *QUICK_FIT, "--out", "old.h5"]) == 0
    assert "old" not in open_project(work / "old.h5").model
    assert main([*args, "--force"]) == 0
    assert open_project(notes).results["fit"]["n_points"] > 100
    pattern = work / "mine.xye"
    pattern.write_text("1 2\n3 4\n")
    assert main(["simulate", *PBS, "--q", "1:2:0.1", "--out", "mine.xye"]) == 2
    assert pattern.read_text() == "1 2\n3 4\n"


# ------------------------------------------------------------------ item 4: outputs checked first
@pytest.mark.parametrize("bad", [["--out", "/nonexistent/dir/f.h5"],
                                 ["--out", "f.h5", "--report", "/nonexistent/r.md"],
                                 ["--out", "f.h5", "--json", "."]])
def test_bad_output_fails_at_once_and_writes_nothing(work, q_data, capsys, bad) -> None:
    t0 = time.perf_counter()
    assert main(["fit", "--data", str(q_data), *QUICK_FIT, *bad]) == 2
    assert time.perf_counter() - t0 < 2.0
    line = one_error_line(capsys.readouterr().err)
    assert bad[-1] in line and ".partial" not in line and "saving" not in line
    assert list(work.iterdir()) == []


def test_simulate_checks_pdf_options_before_writing(work, capsys) -> None:
    assert main(["simulate", *PBS, "--q", "1:2:0.1", "--out", "o.xye", "--pdf", "o.gr"]) == 2
    assert "--qmax" in one_error_line(capsys.readouterr().err)
    assert list(work.iterdir()) == []


def test_outputs_are_all_or_nothing(tmp_path) -> None:
    first, second = tmp_path / "a.xye", tmp_path / "b.gr"
    first.write_text("# nanotwin old\n")
    outputs = OutputFiles()
    outputs.plan("--out", str(first), "pattern")
    outputs.plan("--pdf", str(second), "gr")

    def fail(path: Path) -> None:
        path.write_text("half")
        raise OSError(28, "No space left on device", str(path))

    with pytest.raises(NanotwinError) as info, outputs:
        outputs.stage("--out", lambda path: path.write_text("new"))
        outputs.stage("--pdf", fail)
        outputs.commit()
    assert str(second) in str(info.value) and "No space left" in str(info.value)
    assert ".partial" not in str(info.value)
    assert first.read_text() == "# nanotwin old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.xye"]


# ------------------------------------------------------------------ #11 defect 6: one line, exit 2
def test_energy_too_low_is_one_line_exit_2(work) -> None:
    out = subprocess.run([sys.executable, "-m", "nanotwin_core", "simulate", "--structure", "CsPbBr3-gamma",
                          "--size-ab", "3", "--size-c", "3", "--q", "1:2:0.01", "--energy", "0.001",
                          "--out", "a.xye"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert "keV" in one_error_line(out.stderr)  # the beam is refused before the grid


def test_any_value_error_is_one_line_and_debug_shows_the_traceback(work, monkeypatch, capsys) -> None:
    from nanotwin_core.cli import population

    def broken(_args):
        raise ValueError("bad value deep inside")

    monkeypatch.setattr(population.CLICommand, "run", staticmethod(broken))
    assert main(["population", "D=5,sD=0.2"]) == 2
    assert "bad value deep inside" in one_error_line(capsys.readouterr().err)
    with pytest.raises(ValueError):
        main(["--debug", "population", "D=5,sD=0.2"])
    with pytest.raises(ValueError):
        main(["population", "D=5,sD=0.2", "--debug"])


@pytest.mark.parametrize(("args", "needle"), [
    (["fit", "--data", "DATA", *PBS, "--out", "f.h5", "--max-nfev", "0"], "--max-nfev"),
    (["fit", "--data", "DATA", "--structure", "PbS-rocksalt", "--out", "f.h5"], "--size-ab NM and --size-c"),
    (["simulate", *PBS[:4], "--population", "D=3,sD=5", "--q", "1:2:0.1", "--out", "b.xye"], "too wide"),
    (["build", "--structure", "CsPbBr3-gamma", "--size-ab", "4", "--size-c", "4", "--twin", "1/2<001>{110}",
      "--boundaries", "1000", "--out", "c.xyz"], "cannot place 1000"),
    (["build", "--structure", "CsPbBr3-gamma", "--size-ab", "4", "--size-c", "4", "--max-atoms", "100",
      "--out", "c.xyz"], "--max-atoms"),
    (["build", "--structure", "CsPbBr3-gamma", "--size-ab", "4", "--size-c", "4", "--twin", "<001>{110}",
      "--out", "c.xyz"], "no shift fraction k"),
])
def test_listed_inputs_give_one_line(work, q_data, capsys, args, needle) -> None:
    args = [str(q_data) if a == "DATA" else a for a in args]
    try:
        code = main(args)
    except SystemExit as exc:  # argparse refuses the value itself
        code = exc.code
    assert code == 2
    assert needle in one_error_line(capsys.readouterr().err)
    assert list(work.iterdir()) == []


# ------------------------------------------------------------------ item 7: physics of the input
def test_q_option_on_2theta_data_is_refused(work, capsys) -> None:
    tth = np.arange(5.0, 60.0, 0.02)
    np.savetxt(work / "tth.xy", np.column_stack([tth, 100 + np.cos(tth)]))  # no header, like the PbS files
    args = ["--data", "tth.xy", "--x", "q", "--wavelength", "0.5", *QUICK_FIT, "--out", "f.h5"]
    assert main(["fit", *args]) == 2
    assert "looks like 2theta" in one_error_line(capsys.readouterr().err)


def test_header_contradicting_x_option_warns(work, capsys) -> None:
    assert main(["simulate", *PBS, "--tth", "5:20:0.02", "--wavelength", "0.5", "--out", "t.xye"]) == 0
    capsys.readouterr()
    assert main(["fit", "--data", "t.xye", "--x", "q", *QUICK_FIT, "--out", "f.h5"]) == 0
    err = capsys.readouterr().err
    assert "warning" in err and "header says the first column is 2theta" in err


def test_wavelength_too_long_for_the_q_range_is_refused(work, capsys) -> None:
    assert main(["simulate", *PBS, "--q", "1:12:0.01", "--wavelength", "1.5406", "--out", "a.xye"]) == 2
    assert "4 pi/lambda = 8.157" in one_error_line(capsys.readouterr().err)


def test_polarization_on_a_q_grid_is_refused(work, q_data, capsys) -> None:
    assert main(["simulate", *PBS, "--q", "1:2:0.1", "--polarization", "sync", "--out", "a.xye"]) == 2
    assert "2theta grid" in one_error_line(capsys.readouterr().err)
    assert main(["fit", "--data", str(q_data), *QUICK_FIT, "--polarization", "lab", "--out", "f.h5"]) == 2
    assert "Q axis" in one_error_line(capsys.readouterr().err)


def test_blank_at_another_wavelength_warns(work, capsys) -> None:
    data, blank = "PbS_wl0p49547592A.xye", "solvent_wl0p564162A.xye"
    assert main(["simulate", *PBS, "--tth", "5:25:0.02", "--wavelength", "0.49547592", "--out", data]) == 0
    assert main(["simulate", *PBS[:4], "--size", "1", "--tth", "4:30:0.02", "--wavelength", "0.564162",
                 "--out", blank]) == 0
    capsys.readouterr()
    assert main(["fit", "--data", data, "--blank", blank, *QUICK_FIT, "--out", "f.h5"]) == 0
    err = capsys.readouterr().err
    assert "measured at lambda = 0.564162" in err and "equal Q" in err


# ------------------------------------------------------------------ item 3: no display
def test_no_display_is_one_line_and_exit_2_within_10_s(work) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    for argv in ([], ["gui"], ["gui", "--demo", "cspbbr3-410k"]):
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "nanotwin_core", *argv], capture_output=True, text=True,
                             env=env, timeout=60)
        assert time.perf_counter() - t0 < 10
        assert out.returncode == 2
        line = one_error_line(out.stderr)
        assert "no display" in line and "xvfb-run" in line and "--screenshot" in line and "demo" in line


def test_screenshot_and_demo_do_not_replace_a_users_files(work, capsys, monkeypatch) -> None:
    """#17 leftovers: ``gui --screenshot`` and ``demo --out`` refuse, before any computing, to
    replace a file nanotwin did not write; ``--force`` lets them."""
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    Path("holiday.png").write_bytes(b"\x89PNG not ours")
    assert main(["gui", "--demo", "cspbbr3-410k", "--screenshot", "holiday.png"]) == 2
    assert "exists and is not a figure written by nanotwin" in one_error_line(capsys.readouterr().err)
    assert Path("holiday.png").read_bytes() == b"\x89PNG not ours"
    Path("out").mkdir()
    Path("out/cspbbr3-410k.png").write_bytes(b"mine")
    Path("out/cspbbr3-410k_superstructure.txt").write_text("my notes\n")
    t0 = time.perf_counter()
    assert main(["demo", "cspbbr3-410k", "--out", "out", "--quiet"]) == 2
    assert time.perf_counter() - t0 < 5  # refused before computing
    assert "out/cspbbr3-410k.png: exists" in one_error_line(capsys.readouterr().err)
    Path("out/cspbbr3-410k.png").unlink()
    assert main(["demo", "cspbbr3-410k", "--out", "out", "--quiet", "--table"]) == 2
    assert "superstructure.txt: exists" in one_error_line(capsys.readouterr().err)
    assert Path("out/cspbbr3-410k_superstructure.txt").read_text() == "my notes\n"


def test_display_detection() -> None:
    assert display_missing({}, "linux")
    assert not display_missing({"DISPLAY": ":0"}, "linux")
    assert not display_missing({"WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert not display_missing({"QT_QPA_PLATFORM": "offscreen"}, "linux")  # chosen explicitly
    assert not display_missing({}, "darwin") and not display_missing({}, "win32")
