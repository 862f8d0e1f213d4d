"""The pattern panel: calculated curves, a linked superstructure zoom and hkl tick rows.

Overview + detail as in pyqtgraph's ``examples/crosshair.py``: a ``LinearRegionItem`` on the
main plot sets the zoom plot's x range, and panning the zoom plot moves the region back.
Curves are kept in Q (1/Å); the x axis shows Q, 2theta or d, the y axis linear, sqrt or log.

The zoom plot's intensity axis fits the superstructure peaks (R, M, X positions of the tick rows,
see :func:`superstructure_y_range`), not the fundamentals (110), (111), (200) that share the
window and would flatten them; the "fit superstructure" box switches back to showing everything.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from nanotwin_app.plots.ticks import TICK_CLASSES, pseudocubic_ticks
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

X_AXES = {"Q": "Q (1/Å)", "2theta": "2θ (°)", "d": "d (Å)"}
Y_SCALES = ("linear", "sqrt", "log")
ZOOM_Q = (1.5, 2.2)
CURVE_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
TICK_COLOURS = {"fundamental": "#404040", "R": "#d62728", "M": "#1f77b4", "X": "#2ca02c"}
TICK_ROW = {name: -i for i, name in enumerate(TICK_CLASSES)}
SUPER_TOLERANCE = 0.02  # 1/Å: a superstructure peak is read within this of its pseudocubic position
ZOOM_HEADROOM = 0.08  # fraction of the range added above the highest superstructure peak


def q_to_axis(q: np.ndarray, axis: str, wavelength: float) -> np.ndarray:
    """Convert Q (1/Å) to the x axis unit ('Q', '2theta' degrees, 'd' Å); NaN where undefined."""
    q = np.asarray(q, dtype=float)
    if axis == "Q":
        return q
    if axis == "d":
        with np.errstate(divide="ignore"):
            return np.where(q > 0, 2 * np.pi / np.where(q > 0, q, 1.0), np.nan)
    if axis == "2theta":
        s = q * wavelength / (4 * np.pi)
        ok = (s >= 0) & (s <= 1)
        return np.where(ok, 2 * np.degrees(np.arcsin(np.clip(s, 0, 1))), np.nan)
    raise ValueError(f"unknown x axis {axis!r}")


def axis_to_q(x: np.ndarray | float, axis: str, wavelength: float) -> np.ndarray:
    """Inverse of :func:`q_to_axis`."""
    x = np.asarray(x, dtype=float)
    if axis == "Q":
        return x
    if axis == "d":
        return 2 * np.pi / np.maximum(x, 1e-9)
    if axis == "2theta":
        return 4 * np.pi * np.sin(np.radians(x) / 2) / wavelength
    raise ValueError(f"unknown x axis {axis!r}")


def superstructure_y_range(
    curves: list[tuple[np.ndarray, np.ndarray]],
    a_p: float | None,
    q_window: tuple[float, float],
    tolerance: float = SUPER_TOLERANCE,
) -> tuple[float, float] | None:
    """Intensity range (in the curves' own units) that shows the superstructure peaks in a window.

    ``curves``: (Q in 1/Å, y already on the plotted scale). The top is the highest y within
    ``tolerance`` of an R, M or X position of the pseudocubic cell ``a_p`` (Å) inside ``q_window``
    (plus ``ZOOM_HEADROOM``), the bottom the lowest y in the window, so fundamentals in the window
    run off the top instead of flattening the superstructure. None when there is nothing to fit
    (no cell, no superstructure position or no finite point in the window).
    """
    if a_p is None or not curves:
        return None
    lo, hi = sorted(float(v) for v in q_window)
    positions = [t.q for t in pseudocubic_ticks(a_p, hi, q_min=lo) if t.klass != "fundamental"]
    if not positions:
        return None
    tops, bottoms = [], []
    for q, y in curves:
        q, y = np.asarray(q, float), np.asarray(y, float)
        ok = np.isfinite(q) & np.isfinite(y)
        inside = ok & (q >= lo) & (q <= hi)
        if not inside.any():
            continue
        bottoms.append(float(y[inside].min()))
        step = float(np.median(np.diff(q[inside]))) if inside.sum() > 1 else 0.0
        tol = max(tolerance, 1.5 * abs(step))
        for qs in positions:
            near = inside & (np.abs(q - qs) <= tol)
            if near.any():
                tops.append(float(y[near].max()))
    if not tops or not bottoms:
        return None
    bottom, top = min(bottoms), max(tops)
    span = top - bottom
    if not span > 0:
        span = abs(top) * 0.1 or 1.0
    return bottom - 0.02 * span, top + ZOOM_HEADROOM * span


def scale_intensity(y: np.ndarray, scale: str, floor: float | None = None) -> np.ndarray:
    """Intensity on a 'linear', 'sqrt' or 'log' (log10, floored) scale."""
    y = np.asarray(y, dtype=float)
    if scale == "linear":
        return y
    if scale == "sqrt":
        return np.sqrt(np.clip(y, 0, None))
    if scale == "log":
        positive = y[y > 0]
        lo = floor if floor is not None else (positive.max() * 1e-6 if positive.size else 1.0)
        return np.log10(np.clip(y, lo, None))
    raise ValueError(f"unknown intensity scale {scale!r}")


class PatternPanel(QWidget):
    """Overlaid calculated curves (and measured data), the zoom plot and the tick rows."""

    message = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.patterns: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.data: tuple[np.ndarray, np.ndarray, str] | None = None
        self.a_p: float | None = None
        self.zoom_q = ZOOM_Q
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.zoom_curves: dict[str, pg.PlotDataItem] = {}
        self.data_curve: pg.PlotDataItem | None = None
        self.tick_items: dict[str, pg.ScatterPlotItem] = {}

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("x"))
        self.x_combo = QComboBox()
        for key, label in X_AXES.items():
            self.x_combo.addItem(label, key)
        bar.addWidget(self.x_combo)
        bar.addWidget(QLabel("λ (Å)"))
        self.wavelength_spin = QDoubleSpinBox()
        self.wavelength_spin.setDecimals(5)
        self.wavelength_spin.setRange(0.05, 5.0)
        self.wavelength_spin.setValue(0.565468)
        self.wavelength_spin.setToolTip("Wavelength for the 2θ axis (the paper's synchrotron: 0.565468 Å)")
        bar.addWidget(self.wavelength_spin)
        bar.addWidget(QLabel("intensity"))
        self.y_combo = QComboBox()
        self.y_combo.addItems(list(Y_SCALES))
        bar.addWidget(self.y_combo)
        self.ticks_check = QCheckBox("hkl ticks")
        self.ticks_check.setChecked(True)
        self.ticks_check.setToolTip(
            "Pseudocubic reflections: fundamentals (black), superstructure R (red), M (blue), X (green)"
        )
        bar.addWidget(self.ticks_check)
        self.zoom_fit_check = QCheckBox("zoom: fit superstructure")
        self.zoom_fit_check.setChecked(True)
        self.zoom_fit_check.setToolTip(
            "Scale the zoom plot's intensity axis to the R, M, X superstructure peaks; untick to show "
            "everything in the window, fundamentals included"
        )
        bar.addWidget(self.zoom_fit_check)
        bar.addStretch(1)
        layout.addLayout(bar)
        self.caption_label = QLabel()
        self.caption_label.setWordWrap(True)
        self.caption_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.caption_label)

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        layout.addWidget(self.graphics, 1)
        self.main_plot = self.graphics.addPlot(row=0, col=0)
        self.zoom_plot = self.graphics.addPlot(row=0, col=1)
        self.tick_plot = self.graphics.addPlot(row=1, col=0)
        self.zoom_tick_plot = self.graphics.addPlot(row=1, col=1)
        self.graphics.ci.layout.setColumnStretchFactor(0, 3)
        self.graphics.ci.layout.setColumnStretchFactor(1, 2)
        self.legend = self.main_plot.addLegend(offset=(-10, 10))
        self.main_plot.showGrid(x=True, y=True, alpha=0.2)
        self.zoom_plot.showGrid(x=True, y=True, alpha=0.2)
        self.zoom_plot.setTitle("superstructure region")
        for plot in (self.tick_plot, self.zoom_tick_plot):
            plot.setMaximumHeight(80)
            plot.hideAxis("left")
            plot.setMouseEnabled(x=True, y=False)
            plot.setYRange(-3.6, 0.6, padding=0)
            plot.getAxis("bottom").setStyle(showValues=False)
        self.tick_plot.setXLink(self.main_plot)
        self.zoom_tick_plot.setXLink(self.zoom_plot)
        self.zoom_plot.getViewBox().setAutoVisible(y=True)
        self.main_plot.getViewBox().setAutoVisible(y=True)

        self.region = pg.LinearRegionItem(values=self.zoom_q, brush=(255, 200, 0, 50))
        self.region.setZValue(10)
        self.main_plot.addItem(self.region, ignoreBounds=True)
        self.region.sigRegionChanged.connect(self._region_changed)
        self.zoom_plot.sigXRangeChanged.connect(self._zoom_range_changed)

        self.x_combo.currentIndexChanged.connect(self.redraw)
        self.y_combo.currentIndexChanged.connect(self.redraw)
        self.wavelength_spin.valueChanged.connect(self._wavelength_changed)
        self.ticks_check.toggled.connect(self._draw_ticks)
        self.zoom_fit_check.toggled.connect(self._autoscale_zoom)
        self._apply_labels()
        self._region_changed()

    # ---------------------------------------------------------------- properties
    @property
    def x_axis(self) -> str:
        """'Q', '2theta' or 'd'."""
        return str(self.x_combo.currentData())

    @property
    def y_scale(self) -> str:
        """'linear', 'sqrt' or 'log'."""
        return self.y_combo.currentText()

    @property
    def wavelength(self) -> float:
        """Wavelength (Å) used for the 2theta axis."""
        return float(self.wavelength_spin.value())

    # ---------------------------------------------------------------- public
    def set_patterns(self, patterns: dict[str, tuple[np.ndarray, np.ndarray]], caption: str = "") -> None:
        """Show calculated curves ``label -> (Q, I)`` (replacing the previous ones)."""
        self.patterns = {
            k: (np.asarray(q, float).copy(), np.asarray(i, float).copy()) for k, (q, i) in patterns.items()
        }
        self.caption_label.setText(caption)
        self.caption_label.setVisible(bool(caption))
        self.redraw()
        self.main_plot.enableAutoRange()

    def set_data(self, q: np.ndarray | None, y: np.ndarray | None = None, label: str = "data") -> None:
        """Show (or with None clear) a measured pattern given on Q (1/Å)."""
        self.data = None if q is None else (np.asarray(q, float), np.asarray(y, float), label)
        self.redraw()

    def set_pseudocubic(self, a_p: float | None) -> None:
        """Draw tick rows for the pseudocubic cell ``a_p`` (Å); None clears them."""
        self.a_p = a_p
        self._draw_ticks()
        self._autoscale_zoom()

    def set_x_axis(self, axis: str) -> None:
        """Switch the x axis to 'Q', '2theta' or 'd'."""
        idx = self.x_combo.findData(axis)
        if idx < 0:
            raise ValueError(f"unknown x axis {axis!r}")
        self.x_combo.setCurrentIndex(idx)

    def set_y_scale(self, scale: str) -> None:
        """Switch the intensity scale to 'linear', 'sqrt' or 'log'."""
        if scale not in Y_SCALES:
            raise ValueError(f"unknown intensity scale {scale!r}")
        self.y_combo.setCurrentText(scale)

    def set_zoom_q(self, lo: float, hi: float) -> None:
        """Move the zoom window to [lo, hi] in Q (1/Å)."""
        x = np.sort(q_to_axis(np.array([lo, hi]), self.x_axis, self.wavelength))
        if np.all(np.isfinite(x)):
            self.region.setRegion((float(x[0]), float(x[1])))

    def redraw(self) -> None:
        """Redraw every curve in the current axis and scale."""
        zoom_q = self.zoom_q
        for plot in (self.main_plot, self.zoom_plot):
            for item in list(plot.listDataItems()):
                plot.removeItem(item)
        self.legend.clear()
        self.curves.clear()
        self.zoom_curves.clear()
        self.data_curve = None
        floor = self._log_floor()
        for i, (label, (q, y)) in enumerate(self.patterns.items()):
            pen = pg.mkPen(CURVE_COLOURS[i % len(CURVE_COLOURS)], width=1.5)
            x = q_to_axis(q, self.x_axis, self.wavelength)
            ys = scale_intensity(y, self.y_scale, floor)
            # legend labels are rich text: "1/2<001>{110}" must not read as a tag
            self.curves[label] = self.main_plot.plot(x, ys, pen=pen, name=html.escape(label),
                                                     connect="finite")
            self.zoom_curves[label] = self.zoom_plot.plot(x, ys, pen=pen, connect="finite")
        if self.data is not None:
            q, y, label = self.data
            x = q_to_axis(q, self.x_axis, self.wavelength)
            ys = scale_intensity(y, self.y_scale, floor)
            kw = dict(pen=None, symbol="o", symbolSize=3, symbolBrush=(80, 80, 80), symbolPen=None)
            self.data_curve = self.main_plot.plot(x, ys, name=html.escape(label), **kw)
            self.zoom_plot.plot(x, ys, **kw)
        self._apply_labels()
        self._draw_ticks()
        self.zoom_q = zoom_q
        self.set_zoom_q(*zoom_q)
        self._region_changed()

    def export_table(self, path: str | Path) -> list[Path]:
        """Write the curves: ``.csv`` = all curves in columns; ``.xye``/``.xy`` = one file per curve."""
        path = Path(path)
        if not self.patterns:
            raise ValueError("no calculated pattern to export")
        header = [f"nanotwin pattern panel export; x axis: Q (1/A); wavelength for 2theta: {self.wavelength}"]
        if path.suffix.lower() == ".csv":
            labels = list(self.patterns)
            q0 = self.patterns[labels[0]][0]
            cols = [q0]
            for label in labels:
                q, y = self.patterns[label]
                cols.append(y if len(q) == len(q0) and np.allclose(q, q0) else np.interp(q0, q, y))
            lines = ["# " + h for h in header]
            lines.append(",".join(['"Q (1/A)"'] + [f'"{lab}"' for lab in labels]))
            arr = np.column_stack(cols)
            lines += [",".join(f"{v:.8g}" for v in row) for row in arr]
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            return [path]
        from nanotwin_core.io.data import write_pattern

        out = []
        for i, (label, (q, y)) in enumerate(self.patterns.items()):
            target = path if len(self.patterns) == 1 else path.with_name(f"{path.stem}_{i + 1}{path.suffix}")
            lines = [*header, f"model: {label}", "axis: Q (1/A)", "columns: Q I"]
            write_pattern(target, q, y, header_lines=lines)
            out.append(target)
        return out

    def export_png(self, path: str | Path) -> None:
        """Save the panel as PNG (SVG through pyqtgraph is broken with current Qt)."""
        if not self.grab().save(str(path)):
            raise OSError(f"could not write {path}")

    # ---------------------------------------------------------------- private
    def _log_floor(self) -> float | None:
        if self.y_scale != "log":
            return None
        peaks = [np.max(y) for _q, y in self.patterns.values() if len(y)]
        return max(peaks) * 1e-6 if peaks and max(peaks) > 0 else None

    def _apply_labels(self) -> None:
        xlabel = X_AXES[self.x_axis]
        ylabel = {"linear": "I", "sqrt": "√I", "log": "log₁₀ I"}[self.y_scale]
        self.main_plot.setLabel("left", ylabel)
        self.main_plot.setLabel("bottom", xlabel)
        self.zoom_plot.setLabel("bottom", xlabel)

    def _wavelength_changed(self) -> None:
        if self.x_axis == "2theta":
            self.redraw()

    def _region_changed(self) -> None:
        lo, hi = self.region.getRegion()
        self.zoom_plot.setXRange(lo, hi, padding=0)
        q = np.sort(axis_to_q(np.array([lo, hi]), self.x_axis, self.wavelength))
        self.zoom_q = (float(q[0]), float(q[1]))
        self._autoscale_zoom()

    def zoom_y_range(self) -> tuple[float, float] | None:
        """The zoom plot's intensity range that fits the superstructure peaks (plotted scale), or
        None where it cannot be told (no pseudocubic cell, no curve in the window)."""
        floor = self._log_floor()
        curves = [(q, scale_intensity(y, self.y_scale, floor)) for q, y in self.patterns.values()]
        if self.data is not None:
            curves.append((self.data[0], scale_intensity(self.data[1], self.y_scale, floor)))
        return superstructure_y_range(curves, self.a_p, self.zoom_q)

    def _autoscale_zoom(self, *_args) -> None:
        vb = self.zoom_plot.getViewBox()
        rng = self.zoom_y_range() if self.zoom_fit_check.isChecked() else None
        if rng is None:
            vb.enableAutoRange(axis=pg.ViewBox.YAxis, enable=True)
            return
        vb.enableAutoRange(axis=pg.ViewBox.YAxis, enable=False)
        self.zoom_plot.setYRange(*rng, padding=0)

    def _zoom_range_changed(self, _vb=None, rng=None) -> None:
        lo, hi = self.zoom_plot.getViewBox().viewRange()[0]
        cur = self.region.getRegion()
        if abs(cur[0] - lo) > 1e-9 or abs(cur[1] - hi) > 1e-9:
            self.region.setRegion((lo, hi))

    def _draw_ticks(self) -> None:
        for plot in (self.tick_plot, self.zoom_tick_plot):
            plot.clear()
        self.tick_items.clear()
        if self.a_p is None or not self.ticks_check.isChecked():
            return
        qs = [q for q, _y in self.patterns.values() if len(q)]
        if self.data is not None:
            qs.append(self.data[0])
        q_max = max((float(np.nanmax(q)) for q in qs), default=6.0)
        ticks = pseudocubic_ticks(self.a_p, q_max)
        for klass in TICK_CLASSES:
            sel = [t for t in ticks if t.klass == klass]
            if not sel:
                continue
            x = q_to_axis(np.array([t.q for t in sel]), self.x_axis, self.wavelength)
            ok = np.isfinite(x)
            data = [
                f"{'' if klass == 'fundamental' else klass + ' '}({t.hkl})  "
                f"Q = {t.q:.3f} 1/Å, d = {t.d:.3f} Å"
                for t, good in zip(sel, ok, strict=True)
                if good
            ]
            for plot in (self.tick_plot, self.zoom_tick_plot):
                item = pg.ScatterPlotItem(
                    x=x[ok],
                    y=np.full(int(ok.sum()), TICK_ROW[klass], float),
                    data=data,
                    symbol="|",
                    size=14,
                    pen=pg.mkPen(TICK_COLOURS[klass], width=2),
                    brush=pg.mkBrush(TICK_COLOURS[klass]),
                    hoverable=True,
                    tip=_tick_tip,
                )
                plot.addItem(item)
                if plot is self.tick_plot:
                    self.tick_items[klass] = item
            label = pg.TextItem("F" if klass == "fundamental" else klass, color=TICK_COLOURS[klass],
                                anchor=(1, 0.5))
            self.tick_plot.addItem(label, ignoreBounds=True)
            label.setPos(float(np.nanmin(x)) if ok.any() else 0.0, TICK_ROW[klass])
        self.tick_plot.setYRange(-3.6, 0.6, padding=0)
        self.zoom_tick_plot.setYRange(-3.6, 0.6, padding=0)


def _tick_tip(x: float = 0.0, y: float = 0.0, data: object = None) -> str:
    return str(data)
