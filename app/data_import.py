"""Measured data in the window: the import (dialog, per-folder memory, what it sets in the model)
and one wavelength for the data and the model.

``DataImport.import_file`` asks the core what the file says (``guess_import``), proposes it with
what was chosen last time in the same folder, lets the user confirm it (``window.ask_import``:
the ``ImportDialog``; a headless window takes the proposal), reads the file on the confirmed
axis (``read_pattern_as``) and puts the instrument, blank and fit range into the model and the
wavelength into the model's radiation and the pattern panel.

One wavelength: 2θ data, the model's radiation and the pattern panel's 2θ axis share it. The
user changing it in the pattern panel or the model dock moves the data on the Q axis (their
Q is recomputed), so data and model are always compared on one Q axis. A 2θ file with no
wavelength, loaded without the dialog, gets the panel's and a warning above the plots that stays
until the user sets the wavelength.
"""

from __future__ import annotations

import hashlib
from dataclasses import fields, replace
from pathlib import Path
from typing import TYPE_CHECKING

from nanotwin_app.import_dialog import ImportChoice, initial_choice
from PySide6.QtCore import QObject

from nanotwin_core.errors import NanotwinError
from nanotwin_core.io.import_guess import guess_import, read_pattern_as
from nanotwin_core.scattering.radiation import Radiation

if TYPE_CHECKING:
    from nanotwin_app.main_window import MainWindow

SETTINGS_GROUP = "import_by_folder"
NO_WAVELENGTH_NOTICE = ("{name}: the file states no wavelength; its 2θ axis is put on Q with λ = {wl:.8g} Å. "
                        "Set the measurement's wavelength in λ above (the data move with it).")


def radiation_at(radiation: Radiation, wavelength: float | None) -> Radiation:
    """``radiation`` at ``wavelength`` (Å): replaces the one it had (an energy too); None keeps it."""
    if wavelength is None:
        return radiation
    names = {f.name for f in fields(radiation)}
    if "wavelength" not in names:
        return radiation
    changes = {"wavelength": float(wavelength)}
    if "energy_kev" in names:
        changes["energy_kev"] = None
    return replace(radiation, **changes)


def folder_key(folder: str | Path) -> str:
    """The QSettings key of a folder's import choices (a hash: paths hold '/' group separators)."""
    return f"{SETTINGS_GROUP}/{hashlib.sha1(str(Path(folder).resolve()).encode()).hexdigest()[:16]}"


class DataImport(QObject):
    """Imports data files for the window and keeps data, model and panel on one wavelength."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.workspace = window.workspace
        self.panel = window.pattern_panel
        self.unanswered = False  # the loaded 2θ data's wavelength was nobody's answer yet
        self.panel.wavelength_edited.connect(self.wavelength_edited)
        self.workspace.model_changed.connect(self._model_changed)
        self.workspace.data_changed.connect(self._data_replaced)

    # ---------------------------------------------------------------- per-folder memory
    def remembered(self, folder: str | Path) -> ImportChoice | None:
        """What was confirmed last time for a file of ``folder`` (None: nothing)."""
        text = self.window.qsettings.value(folder_key(folder))
        return ImportChoice.from_json(str(text)) if text else None

    def remember(self, folder: str | Path, choice: ImportChoice) -> None:
        self.window.qsettings.setValue(folder_key(folder), choice.to_json())

    # ---------------------------------------------------------------- import
    def import_file(self, path: str | Path) -> bool:
        """Import a pattern file (False, with a message, if it cannot be read or the user cancels)."""
        path = Path(path)
        window = self.window
        try:
            guess = guess_import(path)
        except (NanotwinError, OSError) as exc:
            window.notify("Import data", str(exc), "warning")
            return False
        proposal = initial_choice(guess, self.remembered(path.parent), self.workspace.model.instrument)
        choice = window.ask_import(guess, proposal)
        if choice is None:
            return False
        unanswered = choice.x_kind == "tth" and choice.wavelength is None
        wavelength = self.panel.wavelength if unanswered else choice.wavelength
        try:
            data = read_pattern_as(path, choice.x_kind, wavelength)
            instrument = choice.instrument()
        except (NanotwinError, OSError) as exc:
            window.notify("Import data", str(exc), "warning")
            return False
        if unanswered:
            data.notes.append(f"no wavelength in the file: λ = {wavelength:.8g} Å assumed (the window's)")
        self.remember(path.parent, choice)
        self._show(data, choice, instrument, unanswered)
        tth_reason = choice.x_kind == "tth" and choice.polarization_reason
        said = f"; {choice.polarization_reason}" if tth_reason else ""
        window.statusBar().showMessage(f"Loaded {path.name}: {len(data)} points{said}", 10000)
        return True

    def _show(self, data, choice: ImportChoice, instrument, unanswered: bool) -> None:
        ws = self.workspace
        if ws.fit is not None:  # a fit belongs to the data it was made on
            ws.fit_previous = None
            ws.set_fit(None)
        model = ws.model
        key, other = ("tth_range", "q_range") if data.x_kind == "tth" else ("q_range", "tth_range")
        fit = replace(model.fit, blank=choice.blank, **{key: choice.fit_range, other: None})
        if data.wavelength is not None:
            self.panel.set_wavelength(data.wavelength)
        ws.set_data(data)
        self.unanswered = unanswered
        self._show_notice()
        ws.set_model(replace(model, fit=fit, instrument=instrument,
                             radiation=radiation_at(model.radiation, data.wavelength)))

    # ---------------------------------------------------------------- one wavelength
    def wavelength_edited(self, wavelength: float) -> None:
        """The user set λ in the pattern panel: 2θ data move to the Q of ``wavelength``, the model's
        radiation takes it, and the 'no wavelength' warning is answered."""
        self.unanswered = False
        self._show_notice()
        self._move_data(wavelength)
        ws = self.workspace
        if ws.data is not None and ws.data.x_kind == "tth":
            ws.set_model(replace(ws.model, radiation=radiation_at(ws.model.radiation, wavelength)))

    def keep_data_wavelength(self, model):
        """``model`` at the wavelength of loaded 2θ data (a demo's model replacing the workspace's
        must not move the data), else as it is."""
        data = self.workspace.data
        if data is None or data.x_kind != "tth" or data.wavelength is None:
            return model
        return replace(model, radiation=radiation_at(model.radiation, data.wavelength))

    def _model_changed(self) -> None:
        """The model dock set another wavelength: the data follow it."""
        wl = self.workspace.model.radiation.beam_wavelength
        data = self.workspace.data
        if wl is None or data is None or data.x_kind != "tth" or self.workspace.loading:
            return
        if data.wavelength is None or abs(wl - data.wavelength) > 1e-12:
            self.unanswered = False
            self._show_notice()
            self.panel.set_wavelength(wl)
            self._move_data(wl)

    def _move_data(self, wavelength: float) -> None:
        data = self.workspace.data
        if data is None or data.x_kind != "tth" or data.wavelength == wavelength:
            return
        notes = [n for n in data.notes if not n.startswith("wavelength set in the window")]
        self.workspace.set_data(replace(data, wavelength=float(wavelength),
                                        notes=[*notes, f"wavelength set in the window: {wavelength:.8g} Å"]))
        self.workspace.set_dirty(True)

    def _data_replaced(self) -> None:
        data = self.workspace.data
        if data is None or data.x_kind != "tth":
            self.unanswered = False
        self._show_notice()

    def _show_notice(self) -> None:
        data = self.workspace.data
        if self.unanswered and data is not None:
            self.panel.set_notice(NO_WAVELENGTH_NOTICE.format(name=Path(data.path or "data").name,
                                                              wl=data.wavelength or self.panel.wavelength))
        else:
            self.panel.set_notice("")
