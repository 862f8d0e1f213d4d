"""The window's screenshots in the README and the guide: the demos (``nanotwin gui --demo NAME
--screenshot PNG``, the window at its first size) and the guide's "Fit your own data", the window
driven through its widgets on a real file (PbS quantum dots in toluene, with the toluene blank,
from ../shared/data).

    xvfb-run -a -s "-screen 0 1600x1000x24" python3 docs/make_window_figures.py
        -> docs/img/window_*.png, docs/img/fit_*.png (window_1280x720.png: the fitted window on a
           projector's 1280 x 720, the refinement dock open)

The same steps drive ``tests/test_app_real_data.py`` (marked slow), which checks the fitted size
against the CLI's and the file's label.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT = Path(__file__).parent / "img"
DATA = REPO.parent / "shared" / "data" / "waxts_pbs_qd" / "synchrotron"
SAMPLE = DATA / "PbS_synchr_wl0p564162A_5p03nm_toluene.xye"
BLANK = DATA / "solvent_Toluene.xye"
Q_RANGE = (1.75, 14.0)  # 1/Å, as the guide's command-line fit
START = {"structure": "PbS-rocksalt", "shape": "sphere", "size_nm": 5.0, "dispersion": 0.15}


def wait(app, done, timeout_s: float = 600.0) -> None:
    """Process events until ``done()`` (RuntimeError after ``timeout_s``)."""
    t0 = time.perf_counter()
    while not done():
        app.processEvents()
        time.sleep(0.02)
        if time.perf_counter() - t0 > timeout_s:
            raise RuntimeError("the window did not finish in time")
    for _ in range(10):
        app.processEvents()


def import_through_dialog(window, app, path: Path, blank: Path, q_range: tuple[float, float],
                          shot: Path | None = None) -> bool:
    """File > Import data with the import dialog filled as a user would: blank and fit range (in
    2θ, the file's axis); the wavelength is the one the file name states."""
    from nanotwin_app.import_dialog import ImportDialog

    from nanotwin_core.geometry import two_theta_from_q

    def ask(guess, proposal):
        dialog = ImportDialog(guess, proposal, window)
        dialog.set_blank(str(blank))
        lo, hi = two_theta_from_q(np.array(q_range), float(dialog.wavelength()))
        dialog.range_min.setValue(float(lo))
        dialog.range_max.setValue(float(hi))
        dialog.show()
        for _ in range(10):
            app.processEvents()
        if shot is not None:
            dialog.grab().save(str(shot))
        choice = dialog.choice()
        dialog.close()
        return choice

    window.ask_import = ask
    return window.files.load_data(path)


def set_model(window, structure: str, shape: str, size_nm: float, dispersion: float) -> None:
    """The model dock's widgets: structure, shape, mean size and a log-normal population."""
    dock = window.model_dock_widget
    dock.structure_combo.setCurrentText(structure)
    dock.shape_combo.setCurrentText(shape)
    dock.size.setValue(size_nm)
    dock.population_check.setChecked(True)
    dock.dispersion_spins[0].setValue(dispersion)


def build(window, app) -> None:
    """Build and compute, and wait for it."""
    window.model_dock_widget.build_button.click()
    wait(app, lambda: not window.runner.is_running(window.current_job))


def refine(window, app, what=("scale", "background", "adp", "size")) -> None:
    """Tick what to refine in the refinement dock, Run, and wait for the fit."""
    dock = window.refine_dock_widget
    for name, check in dock.choice_checks.items():
        check.setChecked(name in what)
    dock.run_button.click()
    wait(app, lambda: not window.fits.running())


DEMO_SHOTS = ("cspbbr3-298k", "cspbbr3-410k")  # README and guide: window_NAME.png


def demo_shots(out: Path = OUT, demos: tuple[str, ...] = DEMO_SHOTS) -> list[Path]:
    """``nanotwin gui --demo NAME --screenshot out/window_NAME.png`` for each demo, with fresh
    settings (the first layout, not the last session's); RuntimeError when one fails."""
    from argparse import Namespace

    from nanotwin_app.main import run_gui
    from PySide6.QtCore import QSettings

    shots = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in demos:
            shot = out / f"window_{name}.png"
            settings = QSettings(str(Path(tmp) / f"{name}.ini"), QSettings.Format.IniFormat)
            if run_gui(Namespace(file=None, demo=name, screenshot=str(shot)), settings=settings) != 0:
                raise RuntimeError(f"the demo {name} did not finish; see above")
            shots.append(shot)
    return shots


def projector_shot(window, app, shot: Path) -> Path:
    """The window at 1280 x 720 (a teacher's projector) with its docks at their first sizes."""
    window.resize(1280, 720)
    for _ in range(10):
        app.processEvents()
    window.size_docks()
    for _ in range(10):
        app.processEvents()
    window.grab().save(str(shot))
    return shot


def main(out: Path = OUT) -> list[Path]:
    from nanotwin_app.main_window import MainWindow
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings, warm_up=False, headless=True)
        window.resize(1500, 950)
        window.show()
        shots = [out / "fit_import.png", out / "fit_build.png", out / "fit_result.png", out / "fit_sizes.png"]
        import_through_dialog(window, app, SAMPLE, BLANK, Q_RANGE, shots[0])
        set_model(window, **START)
        build(window, app)
        window.pattern_panel.grab().save(str(shots[1]))
        window.show_refinement()
        refine(window, app)
        scroll = window.dock_scrolls["refine_dock"]
        scroll.ensureWidgetVisible(window.refine_dock_widget.table)  # the refined values
        scroll.horizontalScrollBar().setValue(0)  # their names, at the left
        for _ in range(10):
            app.processEvents()
        window.grab().save(str(shots[2]))
        window.refine_dock_widget.sizes_box.grab().save(str(shots[3]))
        shots.append(projector_shot(window, app, out / "window_1280x720.png"))
        window.workspace.set_dirty(False)
        window.close()
    return shots


if __name__ == "__main__":
    for p in [*demo_shots(), *main()]:
        print(p)
