"""The central 3D panel: the vispy canvas plus its controls (colour, elements, planes, octahedra,
unit cell, background, a labelled clip slab, PNG export at 1-4 times the view's size with the
legend drawn in) and a legend that wraps between entries. The controls flow onto more rows in a
narrow window (``FlowLayout``), so they never widen it past the docks' room.

Networks of twin domains (more domains than variants) are coloured by variant unless the user
picked a colour mode: four colours that mean a total shift read better than 60 domain colours."""

from __future__ import annotations

import html
import os

import numpy as np
from nanotwin_app.flow_layout import FlowLayout
from nanotwin_app.viewer3d import adapters, image_export, palettes
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

CLIP_OFF = "no clip"
CLIP_MILLER = "Miller plane (h k l)"
LEGEND_MAX = 12
EXPORT_SCALES = {"1×": 1, "2×": 2, "3×": 3, "4×": 4}
DEFAULT_EXPORT_SCALE = "2×"


def group(*widgets: QWidget) -> QHBoxLayout:
    """Widgets that stay together on one row of a flowing bar (a label and its control)."""
    row = QHBoxLayout()
    row.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        row.addWidget(widget)
    return row


def gl_available() -> bool:
    """False on Qt platforms without OpenGL (offscreen, minimal) or when NANOTWIN_NO_GL=1."""
    if os.environ.get("NANOTWIN_NO_GL") == "1":
        return False
    return QGuiApplication.platformName() not in ("offscreen", "minimal")


class ViewerPanel(QWidget):
    """Canvas (or a placeholder where OpenGL is missing) with a control bar and a legend."""

    status = Signal(str)
    export_requested = Signal()  # "Export…" pressed: the window asks for a file

    def __init__(self, parent: QWidget | None = None, *, use_gl: bool | None = None) -> None:
        super().__init__(parent)
        self.crystal = None
        self.canvas = None
        use_gl = gl_available() if use_gl is None else use_gl
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)

        bar = FlowLayout()
        self.colour_combo = QComboBox()
        self.colour_combo.addItems(list(adapters.COLOUR_MODES))
        self.colour_combo.setToolTip("Domains: regions between boundaries; variants: distinct total shifts")
        bar.add_layout(group(QLabel("Colour by"), self.colour_combo))
        self.elements_box = QHBoxLayout()
        bar.add_layout(self.elements_box)
        self.planes_check = QCheckBox("Boundary planes")
        self.planes_check.setChecked(True)
        bar.addWidget(self.planes_check)
        self.octahedra_check = QCheckBox("Octahedra")
        self.octahedra_check.setToolTip(
            "Translucent octahedra around each Pb with six halide neighbours, coloured like the Pb; "
            "drawn up to 4,000 at a time (clip a slab in larger crystals)"
        )
        bar.addWidget(self.octahedra_check)
        self.cell_check = QCheckBox("Unit cell")
        self.cell_check.setChecked(True)
        self.cell_check.setToolTip("The parent unit cell at the crystal's corner, its edges labelled a, b, c")
        bar.addWidget(self.cell_check)
        self.reset_button = QPushButton("Reset view")
        bar.addWidget(self.reset_button)
        layout.addLayout(bar)
        bar = FlowLayout()
        self.clip_combo = QComboBox()
        self.clip_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.clip_combo.setMinimumContentsLength(8)
        self.clip_combo.addItem(CLIP_OFF)
        self.clip_combo.addItem(CLIP_MILLER)
        self.clip_combo.setToolTip("Show a slab of atoms (and of the boundary planes) along a boundary "
                                   "normal or a Miller plane")
        self.hkl_edit = QLineEdit("1 1 0")
        self.hkl_edit.setMinimumWidth(48)
        self.hkl_edit.setMaximumWidth(60)
        self.hkl_edit.setToolTip("h k l in the parent cell: normal = h a* + k b* + l c*")
        self.clip_slider = QSlider(Qt.Orientation.Horizontal)
        self.clip_slider.setRange(0, 1000)
        self.clip_slider.setValue(500)
        self.clip_slider.setMinimumWidth(60)
        self.clip_slider.setMaximumWidth(200)
        self.clip_slider.setToolTip("Slab position along the normal, from one side of the crystal to the "
                                    "other")
        self.thick_label = QLabel()
        self.thick_slider = QSlider(Qt.Orientation.Horizontal)
        self.thick_slider.setRange(2, 60)
        self.thick_slider.setValue(8)
        self.thick_slider.setMinimumWidth(50)
        self.thick_slider.setMaximumWidth(100)
        self.thick_slider.setToolTip("Slab thickness (Å)")
        bar.add_layout(group(QLabel("Clip"), self.clip_combo, self.hkl_edit))
        bar.add_layout(group(QLabel("position"), self.clip_slider))
        bar.add_layout(group(self.thick_label, self.thick_slider))
        self._show_thickness(self.thick_slider.value())
        self.background_combo = QComboBox()
        self.background_combo.addItems(list(palettes.BACKGROUNDS))
        self.background_combo.setToolTip("Background of the 3D view (light for print); atom colours "
                                         "are adjusted to stay readable on it")
        bar.add_layout(group(QLabel("Background"), self.background_combo))
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Save the 3D view as a PNG image with its legend (as File > Export "
                                      "3D view)")
        self.export_button.setEnabled(use_gl)
        self.scale_combo = QComboBox()
        self.scale_combo.addItems(list(EXPORT_SCALES))
        self.scale_combo.setCurrentText(DEFAULT_EXPORT_SCALE)
        self.scale_combo.setToolTip("Resolution of the exported image: times the view's size on screen "
                                    "(rendered offscreen)")
        bar.add_layout(group(self.export_button, self.scale_combo))
        layout.addLayout(bar)

        if use_gl:
            from nanotwin_app.viewer3d.canvas import CrystalCanvas

            self.canvas = CrystalCanvas()
            self.canvas.canvas.native.setMinimumSize(200, 150)
            layout.addWidget(self.canvas.canvas.native, 1)
        else:
            placeholder = QLabel("3D view not available here (no OpenGL context on this display)")
            placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
            layout.addWidget(placeholder, 1)
        self.legend_label = QLabel()
        self.legend_label.setTextFormat(Qt.TextFormat.RichText)
        self.legend_label.setWordWrap(True)
        layout.addWidget(self.legend_label)

        self.element_checks: dict[str, QCheckBox] = {}
        self.colour_chosen = False  # True once the user picks a colour mode (no automatic choice then)
        self.colour_combo.currentTextChanged.connect(self.set_colour_mode)
        self.cell_check.toggled.connect(self._on_cell)
        self.background_combo.currentTextChanged.connect(self.set_background)
        self.thick_slider.valueChanged.connect(self._show_thickness)
        self.planes_check.toggled.connect(self._on_planes)
        self.octahedra_check.toggled.connect(self.set_octahedra_visible)
        self.export_button.clicked.connect(self.export_requested.emit)
        self.clip_combo.currentIndexChanged.connect(self._apply_clip)
        self.hkl_edit.editingFinished.connect(self._apply_clip)
        self.clip_slider.valueChanged.connect(self._apply_clip)
        self.thick_slider.valueChanged.connect(self._apply_clip)
        self.reset_button.clicked.connect(self.reset_view)

    # ---------------------------------------------------------------- public
    def set_crystal(self, crystal) -> None:
        """Show ``crystal``: rebuild the element toggles and the clip choices."""
        self.crystal = crystal
        while self.elements_box.count():
            item = self.elements_box.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.element_checks.clear()
        if crystal is not None:
            for el in np.unique(crystal.elements):
                check = QCheckBox(str(el))
                check.setChecked(True)
                check.setToolTip(f"Show {el} atoms (Pb alone shows the coherent sublattice)")
                check.toggled.connect(lambda on, e=str(el): self.set_element_visible(e, on))
                self.elements_box.addWidget(check)
                self.element_checks[str(el)] = check
        self.clip_combo.blockSignals(True)
        self.clip_combo.clear()
        self.clip_combo.addItem(CLIP_OFF)
        self.clip_combo.addItem(CLIP_MILLER)
        if crystal is not None:
            for label, _n, _d in adapters.boundary_normals(crystal):
                self.clip_combo.addItem(f"along {label} normal")
        self.clip_combo.blockSignals(False)
        if crystal is not None and not self.colour_chosen:
            mode = "variant" if adapters.is_network(crystal) else "domain"
            self.colour_combo.blockSignals(True)
            self.colour_combo.setCurrentText(mode)
            self.colour_combo.blockSignals(False)
            if self.canvas is not None:
                self.canvas.colour_mode = mode
        if self.canvas is not None:
            self.canvas.hidden_elements.clear()
            self.canvas.clip = None
            self.canvas.set_crystal(crystal)
            if self.canvas.show_octahedra:
                self._report()
        self._update_legend()

    def set_colour_mode(self, mode: str) -> None:
        """Colour by domain, variant, element or ADP group (kept for the crystals that follow)."""
        self.colour_chosen = True
        if self.colour_combo.currentText() != mode:
            self.colour_combo.setCurrentText(mode)
            return
        if self.canvas is not None:
            self.canvas.set_colour_mode(mode)
        self._update_legend()

    def set_background(self, background: str) -> None:
        """A "dark" or "light" background (atom colours follow)."""
        if self.background_combo.currentText() != background:
            self.background_combo.setCurrentText(background)
            return
        if self.canvas is not None:
            self.canvas.set_background(background)
        self._update_legend()

    def set_element_visible(self, element: str, visible: bool) -> None:
        """Show or hide one element."""
        if self.canvas is not None:
            self.canvas.set_element_visible(element, visible)
            self._report()

    def set_octahedra_visible(self, visible: bool) -> None:
        """Show or hide the PbX6 octahedra (the status bar says why none are drawn)."""
        if self.octahedra_check.isChecked() != bool(visible):
            self.octahedra_check.setChecked(bool(visible))
            return
        if self.canvas is not None:
            self.canvas.set_octahedra_visible(visible)
            self._report()

    def reset_view(self) -> None:
        """Frame the crystal and restore the default orientation."""
        if self.canvas is not None:
            self.canvas.reset_view()

    def export_png(self, path: str, scale: int | None = None) -> bool:
        """Save the 3D view as PNG, rendered at ``scale`` (1-4; None: the scale chosen beside
        "Export…") times its size, with the legend under it; False where there is no canvas."""
        if self.canvas is None:
            return False
        scale = EXPORT_SCALES[self.scale_combo.currentText()] if scale is None else scale
        image = image_export.with_legend(self.canvas.render_image(scale), self.canvas.legend,
                                         background=self.canvas.background, scale=scale)
        image_export.save_image(image, path)
        return True

    def clip_normal(self) -> np.ndarray | None:
        """The clip normal chosen in the controls (None = no clip)."""
        if self.crystal is None:
            return None
        idx = self.clip_combo.currentIndex()
        if idx <= 0:
            return None
        if idx == 1:
            cell = self.crystal.cell
            if cell is None:
                self.status.emit("This crystal has no cell: Miller planes need one")
                return None
            try:
                return adapters.miller_normal(cell, adapters.parse_hkl(self.hkl_edit.text()))
            except ValueError as exc:
                self.status.emit(str(exc))
                return None
        normals = adapters.boundary_normals(self.crystal)
        return normals[idx - 2][1] if idx - 2 < len(normals) else None

    # ---------------------------------------------------------------- private
    def _on_cell(self, on: bool) -> None:
        if self.canvas is not None:
            self.canvas.set_cell_visible(on)

    def _show_thickness(self, value: int) -> None:
        self.thick_label.setText(f"thickness {value} Å")

    def _on_planes(self, on: bool) -> None:
        if self.canvas is not None:
            self.canvas.set_boundaries_visible(on)

    def _apply_clip(self, *_args) -> None:
        if self.crystal is None:
            return
        normal = self.clip_normal()
        if normal is None:
            if self.canvas is not None:
                self.canvas.set_clip(None)
            self._report()
            return
        lo, hi = adapters.projection_range(self.crystal.positions, normal)
        centre = lo + (hi - lo) * self.clip_slider.value() / 1000.0
        if self.canvas is not None:
            self.canvas.set_clip(normal, centre, float(self.thick_slider.value()))
        self._report()

    def _report(self) -> None:
        if self.canvas is not None and self.crystal is not None:
            text = f"{self.canvas.n_drawn:,} of {self.crystal.n_atoms:,} atoms drawn"
            if self.canvas.show_octahedra:
                text += f", {self.canvas.octahedra_note or f'{self.canvas.n_octahedra:,} octahedra'}"
            self.status.emit(text)

    def _update_legend(self) -> None:
        if self.canvas is not None:
            legend = self.canvas.legend
        elif self.crystal is not None:
            legend = adapters.colour_atoms(self.crystal, self.colour_combo.currentText(),
                                           self.background_combo.currentText()).legend
        else:
            legend = []
        self.legend_label.setText(legend_html(legend))


def legend_html(legend: list[tuple[str, tuple[float, float, float]]], limit: int = LEGEND_MAX) -> str:
    """The first ``limit`` legend entries as rich text that wraps between entries only (spaces
    inside an entry are non-breaking), then how many more there are."""
    parts = []
    for label, rgb in legend[:limit]:
        hexcol = "#" + "".join(f"{round(255 * c):02x}" for c in rgb)
        name = html.escape(label).replace(" ", "&nbsp;")
        parts.append(f"<span style='color:{hexcol}'>&#9632;</span>&nbsp;{name}")
    if len(legend) > limit:
        parts.append(f"…&nbsp;{len(legend) - limit}&nbsp;more")
    return " &nbsp; ".join(parts)
