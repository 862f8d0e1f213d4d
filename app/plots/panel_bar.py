"""The pattern panel's toolbar: x axis, wavelength (8 decimals), intensity scale, ticks, zoom
scaling, error bars and the in-plot legend (widgets set as attributes of the panel)."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel

X_AXES = {"Q": "Q (1/Å)", "2theta": "2θ (°)", "d": "d (Å)"}
Y_SCALES = ("linear", "sqrt", "log")
WAVELENGTH_DECIMALS = 8  # a synchrotron wavelength is known to 1e-8 Å (e.g. 0.49547592)


def panel_bar(panel) -> QHBoxLayout:
    """Build the toolbar's widgets on ``panel`` (``x_combo``, ``wavelength_spin``, ``y_combo``,
    ``ticks_check``, ``zoom_fit_check``, ``error_bars_check``, ``legend_check``) and return its
    layout."""
    bar = QHBoxLayout()
    bar.addWidget(QLabel("x"))
    panel.x_combo = QComboBox()
    for key, label in X_AXES.items():
        panel.x_combo.addItem(label, key)
    bar.addWidget(panel.x_combo)
    bar.addWidget(QLabel("λ (Å)"))
    panel.wavelength_spin = QDoubleSpinBox()
    panel.wavelength_spin.setDecimals(WAVELENGTH_DECIMALS)
    panel.wavelength_spin.setRange(0.05, 5.0)
    panel.wavelength_spin.setSingleStep(0.0001)
    panel.wavelength_spin.setValue(0.565468)
    panel.wavelength_spin.setToolTip("Wavelength (Å) of the 2θ axis and of loaded 2θ data: changing it "
                                    "moves 2θ data on the Q axis (the paper's synchrotron: 0.565468 Å)")
    bar.addWidget(panel.wavelength_spin)
    bar.addWidget(QLabel("intensity"))
    panel.y_combo = QComboBox()
    panel.y_combo.addItems(list(Y_SCALES))
    bar.addWidget(panel.y_combo)
    panel.ticks_check = QCheckBox("hkl ticks")
    panel.ticks_check.setChecked(True)
    panel.ticks_check.setToolTip(
        "Reflections of every phase of the model (hover: hkl, Q, d, multiplicity); a superstructure "
        "also gets rows of its R (vermillion), M (blue), X (green) reflections. Crowded ticks become "
        "a density strip."
    )
    bar.addWidget(panel.ticks_check)
    panel.zoom_fit_check = QCheckBox("zoom: fit superstructure")
    panel.zoom_fit_check.setChecked(True)
    panel.zoom_fit_check.setToolTip(
        "Scale the zoom plot's intensity axis to the R, M, X superstructure peaks; untick to show "
        "everything in the window, fundamentals included"
    )
    bar.addWidget(panel.zoom_fit_check)
    panel.error_bars_check = QCheckBox("error bars")
    panel.error_bars_check.setToolTip(
        "Draw ±σ on the measured points (σ from the file, or the Poisson estimate √max(I, 1) where "
        "the file has none)"
    )
    panel.error_bars_check.setEnabled(False)
    bar.addWidget(panel.error_bars_check)
    panel.legend_check = QCheckBox("legend")
    panel.legend_check.setToolTip("A legend inside the main plot (the curves list beside the plots is "
                                  "always the legend)")
    bar.addWidget(panel.legend_check)
    bar.addStretch(1)
    return bar
