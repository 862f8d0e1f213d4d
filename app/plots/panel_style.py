"""How the pattern panel looks: colour-blind-safe curve colours (the core's, so an exported figure
looks like the screen), readable axes (black text, no "x1e+08" over the axis: a power of ten
goes into the label, "I (10⁸ counts)"), colour swatches for the curves list, the zoom's title."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPen, QPixmap, QTextDocumentFragment
from PySide6.QtWidgets import QLabel

from nanotwin_core.figures import (
    BACKGROUND_COLOUR,
    CALC_COLOURS,
    DIFF_COLOUR,
    OBSERVED_COLOUR,
    OVERLAY_COLOURS,
    TICK_COLOURS,
    power_of_ten,
    scaled_label,
    y_label,
)

__all__ = ["BACKGROUND_COLOUR", "CALC_COLOURS", "DIFF_COLOUR", "OBSERVED_COLOUR", "OVERLAY_COLOURS",
           "TICK_COLOURS", "ElidedLabel", "PowerAxis", "intensity_label", "power_of_ten", "set_title",
           "style_axes", "swatch_icon", "zoom_title"]

AXIS_PEN = "#202020"
GRID_ALPHA = 0.25
SWATCH_SIZE = (22, 12)


class PowerAxis(pg.AxisItem):
    """An axis whose tick labels are the values divided by 10^``power`` in plain decimals (the
    label says the power), never pyqtgraph's SI prefix or e-notation."""

    def __init__(self, orientation: str, **kw) -> None:
        super().__init__(orientation, **kw)
        self.power = 0
        self.enableAutoSIPrefix(False)

    def set_power(self, power: int) -> None:
        """Divide tick values by 10^``power``."""
        if power != self.power:
            self.power = int(power)
            self.picture = None
            self.update()

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph override
        """Plain decimals with as many places as the tick spacing needs."""
        f = 10.0 ** -self.power
        step = abs(spacing * scale * f) or 1.0
        places = max(0, int(np.ceil(-np.log10(step) - 1e-9)))
        return [f"{v * scale * f:.{places}f}" for v in values]


def intensity_label(scale: str, counts: bool, power: int) -> str:
    """'I (counts)', '√I (e.u.)', 'log₁₀ I (counts)', with the axis' power of ten."""
    return scaled_label(y_label(scale, "counts" if counts else "e.u."), power)


def set_title(plot: pg.PlotItem, text: str) -> None:
    """A plot's title in dark text of the application's size."""
    plot.setTitle(text, color=AXIS_PEN, size="9pt")


def style_axes(plot: pg.PlotItem) -> None:
    """Dark axis lines and tick labels in the application's font, a light grid."""
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen(AXIS_PEN))
        axis.setTextPen(pg.mkPen(AXIS_PEN))
        axis.enableAutoSIPrefix(False)
    plot.showGrid(x=True, y=True, alpha=GRID_ALPHA)


class ElidedLabel(QLabel):
    """One line of text, elided at the end to the label's width; the whole text (rich text
    allowed) is the tooltip."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.full_text = ""
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setMinimumWidth(10)

    def set_full_text(self, text: str) -> None:
        """Show ``text`` (HTML tags become plain text) on one line."""
        plain = QTextDocumentFragment.fromHtml(text).toPlainText() if text else ""
        self.full_text = plain.replace("\n", "  ")
        self.setToolTip(text)
        self._elide()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        """Elide again for the new width."""
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        self.setText(self.fontMetrics().elidedText(self.full_text, Qt.TextElideMode.ElideRight,
                                                   max(self.width() - 4, 10)))


def swatch_icon(colour: str, style: Qt.PenStyle = Qt.PenStyle.SolidLine, points: bool = False) -> QIcon:
    """A small line (or dots, for measured points) in ``colour``: the curves list's legend."""
    w, h = SWATCH_SIZE
    pix = QPixmap(w, h)
    pix.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pix)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    if points:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(colour))
        for x in (4, 11, 18):
            painter.drawEllipse(x - 2, h // 2 - 2, 4, 4)
    else:
        pen = QPen(QColor(colour), 2.5)
        pen.setStyle(style)
        painter.setPen(pen)
        painter.drawLine(1, h // 2, w - 1, h // 2)
    painter.end()
    return QIcon(pix)


def zoom_title(lo: float, hi: float, unit: str, superstructure: bool) -> str:
    """The zoom plot's title: what it is for and its range in the x axis' unit."""
    purpose = "superstructure peaks (R, M, X)" if superstructure else "zoom"
    return f"{purpose}: {lo:.3g}–{hi:.3g} {unit}"
