"""The refinement dock's size view: the fitted populations' number- and volume-weighted means
with esds side by side, and their distributions drawn (a histogram for one size, a (D_ab, L_c)
map for prisms, as the paper's Fig. 6b), computed by the core (``population.size_maps``)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from nanotwin_core.population.distributions import LogNormal
from nanotwin_core.population.size_maps import distribution_of, size_histogram, size_map
from nanotwin_core.refine.report import format_esd

WEIGHTINGS = ("number", "volume")
NUMBER_COLOUR, VOLUME_COLOUR = (31, 119, 180, 150), (214, 39, 40, 150)
# (label, number-weighted key, volume-weighted key) of a population entry
MEAN_ROWS = (("&lt;D&gt;", "mean_D_nm", "mean_D_vol_nm"), ("&lt;D_ab&gt;", "Dab_nm", "Dab_vol_nm"),
             ("&lt;L_c&gt;", "Lc_nm", "Lc_vol_nm"), ("&lt;D_eq&gt;", "D_eq_nm", "D_eq_vol_nm"))


def means_html(entry: dict) -> str:
    """A small table: each mean number-weighted and volume-weighted, value(esd) in nm."""
    esd = entry.get("esd") or {}
    rows = []
    for label, num, vol in MEAN_ROWS:
        if entry.get(num) is None and entry.get(vol) is None:
            continue
        cells = [format_esd(float(entry[k]), esd.get(k)) if entry.get(k) is not None else "–"
                 for k in (num, vol)]
        rows.append(f"<tr><td>{label}</td><td align='right'>{cells[0]}</td>"
                    f"<td align='right'>{cells[1]}</td></tr>")
    if not rows:
        return ""
    head = "<tr><th></th><th>number-weighted (nm)</th><th>volume-weighted (nm)</th></tr>"
    return f"<table cellspacing='4'>{head}{''.join(rows)}</table>"


class SizeView(QWidget):
    """Means and distribution of the shown fit's populations (hidden without a distribution)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.population_combo = QComboBox()
        self.weighting_combo = QComboBox()
        self.weighting_combo.addItems(list(WEIGHTINGS))
        self.weighting_combo.setToolTip("Prism maps: number- or volume-weighted fractions per cell")
        row.addWidget(QLabel("population"))
        row.addWidget(self.population_combo, 1)
        row.addWidget(self.weighting_combo)
        layout.addLayout(row)
        self.means_label = QLabel()
        self.means_label.setWordWrap(True)
        layout.addWidget(self.means_label)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setMinimumHeight(180)
        layout.addWidget(self.plot)
        self.entries: list[dict] = []
        self.image: pg.ImageItem | None = None  # the drawn map (prisms)
        self.population_combo.currentIndexChanged.connect(self.redraw)
        self.weighting_combo.currentIndexChanged.connect(self.redraw)

    def show_populations(self, populations: list[dict]) -> None:
        """Show a fit summary's ``populations`` entries (an empty list hides the view)."""
        self.entries = [e for e in populations if isinstance(e, dict)]
        self.population_combo.blockSignals(True)
        self.population_combo.clear()
        self.population_combo.addItems([str(e.get("name", "population")) for e in self.entries])
        self.population_combo.blockSignals(False)
        self.setVisible(bool(self.entries))
        self.redraw()

    def entry(self) -> dict | None:
        i = self.population_combo.currentIndex()
        return self.entries[i] if 0 <= i < len(self.entries) else None

    def redraw(self, *_args) -> None:
        """Draw the chosen population: number and volume histograms, or the chosen map."""
        self.plot.clear()
        entry = self.entry()
        self.means_label.setText(means_html(entry) if entry else "")
        dist = distribution_of(entry) if entry else None
        self.plot.setVisible(dist is not None)
        self.weighting_combo.setVisible(dist is not None and not isinstance(dist, LogNormal))
        if dist is None:
            return
        if isinstance(dist, LogNormal):
            h = size_histogram(dist)
            self.plot.addLegend(offset=(-5, 5))
            for weights, colour, name in ((h.number, NUMBER_COLOUR, "number"),
                                          (h.volume, VOLUME_COLOUR, "volume")):
                self.plot.plot(h.edges_nm, weights / np.diff(h.edges_nm), stepMode="center", fillLevel=0,
                               brush=colour, pen=pg.mkPen(colour[:3], width=1), name=f"{name}-weighted")
            self.plot.setLabel("bottom", "D (nm)")
            self.plot.setLabel("left", "fraction per nm")
            return
        m = size_map(dist)
        weights = m.volume if self.weighting_combo.currentText() == "volume" else m.number
        image = pg.ImageItem(weights, colorMap=pg.colormap.get("viridis"))
        x0, y0 = m.dab_edges_nm[0], m.lc_edges_nm[0]
        image.setRect(x0, y0, m.dab_edges_nm[-1] - x0, m.lc_edges_nm[-1] - y0)
        self.plot.addItem(image)
        self.plot.setLabel("bottom", "D_ab (nm)")
        self.plot.setLabel("left", "L_c (nm)")
        self.image = image
