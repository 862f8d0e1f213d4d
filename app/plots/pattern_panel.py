"""The pattern panel: calculated curves, a linked superstructure zoom and hkl tick rows.

Overview + detail as in pyqtgraph's ``examples/crosshair.py``: a ``LinearRegionItem`` on the
main plot sets the zoom plot's x range, and panning the zoom plot moves the region back.
Curves are kept in Q (1/Å); the x axis shows Q, 2theta or d, the y axis linear, sqrt or log.
Measured data come with optional ±σ error bars; with a fit shown, the difference observed -
calculated is drawn offset below the pattern (GSAS-II style, on the plotted scale). The curves
list beside the plots is the legend (a colour swatch per curve, names elided in the middle, the
full name as tooltip) and shows or hides any curve in both plots; the in-plot legend is off
unless "legend" is ticked. "Keep as overlay" keeps the calculated curves (dashed, in colours of
their own) through later builds, for comparisons such as untwinned vs one boundary vs a network.
Colours are colour-blind safe and the same in exported figures (``panel_export``, matplotlib).
The intensity axis says its unit (counts once data are loaded, else electron units) and puts a
power of ten in its label instead of e-notation; the hkl tick rows under the main plot carry the
x axis, so the main plot keeps most of the panel's height.

The zoom plot's intensity axis fits the superstructure peaks (R, M, X positions of the tick rows,
see :func:`superstructure_y_range`), not the fundamentals (110), (111), (200) that share the
window and would flatten them; the "fit superstructure" box switches back to showing everything.
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from nanotwin_app.plots.panel_bar import X_AXES, Y_SCALES, panel_bar
from nanotwin_app.plots.panel_style import (
    BACKGROUND_COLOUR,
    CALC_COLOURS,
    DIFF_COLOUR,
    OBSERVED_COLOUR,
    OVERLAY_COLOURS,
    ElidedLabel,
    PowerAxis,
    intensity_label,
    power_of_ten,
    set_title,
    style_axes,
    swatch_icon,
    zoom_title,
)
from nanotwin_app.plots.plot_math import (
    axis_to_q,
    calc_at_data,
    is_background,
    overlay_key,
    q_to_axis,
    scale_intensity,
    superstructure_y_range,
)
from nanotwin_app.plots.tick_rows import (
    PhaseTicks,
    draw_phase_rows,
    first_phase_items,
    phase_ticks,
    superstructure_positions,
)
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

ZOOM_Q = (1.5, 2.2)
OVERLAY_STYLES = [Qt.PenStyle.DashLine, Qt.PenStyle.DashDotLine, Qt.PenStyle.DotLine]
DIFF_GAP = 0.05  # gap between the pattern's lowest point and the difference curve (fraction of the span)
DATA_KEY = "observed"  # curve key of the measured data
DIFF_KEY = "difference"  # curve key of observed - calculated
DIFF_LABEL = "difference (obs − calc)"
FIT_CALC_PREFIX = "fit: calculated"  # the difference is taken against the curve with this label
QWIDGETSIZE_MAX = 16_777_215  # Qt's "no maximum" for a widget's size


class PatternPanel(QWidget):
    """Overlaid calculated curves, measured data, difference, overlays, the zoom plot and tick rows.

    Every curve has a key: the calculated curves their label, overlays ``"[name] label"``,
    the measured data ``DATA_KEY`` (its error bars go with it) and the difference ``DIFF_KEY``.
    The curves list beside the plots shows or hides a key in both plots; hidden keys stay hidden
    across new patterns.
    """

    message = Signal(str)
    wavelength_edited = Signal(float)  # the user changed λ (not ``set_wavelength``)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.patterns: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.data: tuple[np.ndarray, np.ndarray, str] | None = None
        self.sigma: np.ndarray | None = None
        self.overlays: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
        self.difference_reference: str | None = None
        self.difference_offset: float | None = None
        self.hidden: set[str] = set()
        self.a_p: float | None = None  # a pseudocubic cell alone (the teaching dock's ticks)
        self.phases: list[tuple[str, object]] = []  # (name, Structure) of every phase of the model
        self.phase_ticks: list[PhaseTicks] = []  # the ticks drawn
        self.phase_items: dict[tuple[str, str], object] = {}  # (phase, class) -> tick row item
        self.caption = ""
        self.zoom_q = ZOOM_Q
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.zoom_curves: dict[str, pg.PlotDataItem] = {}
        self.data_curve: pg.PlotDataItem | None = None
        self.difference_curve: pg.PlotDataItem | None = None
        self.error_bars: list[pg.ErrorBarItem] = []
        self.items: dict[str, list] = {}  # key -> graphics items in both plots (main plot's curve first)
        self._legend_names: dict[str, str] = {}
        self._extra_items: list[tuple[pg.PlotItem, object]] = []  # non-data items removed on redraw
        self.tick_items: dict[str, pg.ScatterPlotItem] = {}

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        self._setting_wavelength = False
        layout.addLayout(panel_bar(self))
        self.notice_label = QLabel()
        self.notice_label.setWordWrap(True)
        self.notice_label.setStyleSheet("background: #fff3c4; color: #7a3b00; padding: 3px")
        self.notice_label.setVisible(False)
        layout.addWidget(self.notice_label)
        self.caption_label = ElidedLabel()  # one line; the whole caption as its tooltip
        layout.addWidget(self.caption_label)

        body = QHBoxLayout()
        layout.addLayout(body, 1)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        body.addWidget(self.graphics, 1)
        side = QVBoxLayout()
        side.addWidget(QLabel("Curves"))
        self.curve_list = QListWidget()
        self.curve_list.setToolTip("Tick to show a curve in both plots, untick to hide it")
        self.curve_list.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        # no horizontal scrolling, or the list scrolls instead of eliding long names
        self.curve_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.curve_list.setMaximumWidth(240)
        self.curve_list.setMinimumWidth(150)
        side.addWidget(self.curve_list, 1)
        self.keep_button = QPushButton("Keep as overlay")
        self.keep_button.setToolTip(
            "Keep the calculated curves under a name (dashed) to compare them with the next build, "
            "e.g. untwinned vs one boundary vs a network"
        )
        side.addWidget(self.keep_button)
        self.clear_overlays_button = QPushButton("Clear overlays")
        self.clear_overlays_button.setEnabled(False)
        side.addWidget(self.clear_overlays_button)
        body.addLayout(side)

        self.main_plot = self.graphics.addPlot(row=0, col=0, axisItems={"left": PowerAxis("left")})
        self.zoom_plot = self.graphics.addPlot(row=0, col=1, axisItems={"left": PowerAxis("left")})
        self.tick_plot = self.graphics.addPlot(row=1, col=0)
        self.zoom_tick_plot = self.graphics.addPlot(row=1, col=1)
        self.graphics.ci.layout.setColumnStretchFactor(0, 3)
        self.graphics.ci.layout.setColumnStretchFactor(1, 2)
        self.graphics.ci.layout.setRowStretchFactor(0, 1)
        self.graphics.ci.layout.setRowStretchFactor(1, 0)
        self.legend = self.main_plot.addLegend(offset=(-10, 10))
        self.legend.setVisible(False)  # the curves list is the legend; "legend" shows this one
        for plot in (self.main_plot, self.zoom_plot, self.tick_plot, self.zoom_tick_plot):
            style_axes(plot)
        for plot in (self.main_plot, self.zoom_plot):
            plot.getAxis("bottom").setStyle(showValues=False)  # the tick rows below carry the x axis
        for plot in (self.tick_plot, self.zoom_tick_plot):
            plot.showGrid(x=False, y=False)
            plot.hideAxis("left")
            plot.setMouseEnabled(x=True, y=False)
            plot.setYRange(-3.6, 0.6, padding=0)
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
        self.zoom_fit_check.toggled.connect(self._region_changed)
        self.error_bars_check.toggled.connect(self._error_bars_toggled)
        self.legend_check.toggled.connect(self.legend.setVisible)
        self.curve_list.itemChanged.connect(self._list_item_changed)
        self.legend.sigSampleClicked.connect(self._legend_clicked)
        self.keep_button.clicked.connect(self._keep_clicked)
        self.clear_overlays_button.clicked.connect(self.clear_overlays)
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
    def set_wavelength(self, wavelength: float) -> None:
        """Show ``wavelength`` (Å) without it counting as the user's edit."""
        self._setting_wavelength = True
        try:
            self.wavelength_spin.setValue(float(wavelength))
        finally:
            self._setting_wavelength = False

    def set_notice(self, text: str) -> None:
        """A warning that stays above the plots until it is answered ('' hides it)."""
        self.notice_label.setText(text)
        self.notice_label.setVisible(bool(text))

    def set_patterns(self, patterns: dict[str, tuple[np.ndarray, np.ndarray]], caption: str = "", *,
                     difference_of: str | None = None) -> None:
        """Show calculated curves ``label -> (Q in 1/Å, I)`` (replacing the previous ones; overlays
        stay). The difference curve is observed minus ``difference_of`` (default: the curve whose
        label starts with "fit: calculated", i.e. the shown fit); none without data or such a curve."""
        self.patterns = {
            k: (np.asarray(q, float).copy(), np.asarray(i, float).copy()) for k, (q, i) in patterns.items()
        }
        if difference_of is not None and difference_of not in self.patterns:
            raise ValueError(f"no calculated curve {difference_of!r} to take the difference with")
        self.difference_reference = difference_of
        self.caption = caption
        self.caption_label.set_full_text(caption)
        self.caption_label.setVisible(bool(caption))
        self.redraw()
        self.main_plot.enableAutoRange()

    def set_data(self, q: np.ndarray | None, y: np.ndarray | None = None, label: str = "data",
                 sigma: np.ndarray | None = None) -> None:
        """Show (or with None clear) a measured pattern given on Q (1/Å), with its standard
        uncertainties ``sigma`` (same units as ``y``; None: no error bars)."""
        if q is None:
            self.data, self.sigma = None, None
        else:
            q, y = np.asarray(q, float), np.asarray(y, float)
            if q.shape != y.shape:
                raise ValueError("Q and intensity of the data must have the same length")
            if sigma is not None:
                sigma = np.asarray(sigma, float)
                if sigma.shape != y.shape:
                    raise ValueError("sigma must have one value per data point")
            self.data, self.sigma = (q, y, label), sigma
        self.error_bars_check.setEnabled(self.sigma is not None)
        self.redraw()

    def set_error_bars(self, on: bool) -> None:
        """Show or hide the data's ±σ error bars."""
        self.error_bars_check.setChecked(bool(on))

    def set_pseudocubic(self, a_p: float | None) -> None:
        """Draw the tick rows of a doubled perovskite of pseudocubic cell ``a_p`` (Å) in place of
        the phases; None clears them."""
        self.a_p, self.phases = a_p, []
        self._phases_changed()

    def set_phases(self, phases: list[tuple[str, object]]) -> None:
        """Draw the tick rows of ``phases`` ((name, Structure) each); the zoom plot shows only
        where one is a superstructure, on its superstructure window."""
        self.phases, self.a_p = list(phases), None
        self._phases_changed()

    def _phases_changed(self) -> None:
        self._draw_ticks()
        zoom = next((p.zoom for p in self.phase_ticks if p.zoom is not None), None)
        if zoom is not None:
            self.set_zoom_q(*zoom)
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

    # ---------------------------------------------------------------- curves: visibility, overlays
    def curve_keys(self) -> list[str]:
        """Keys of every curve drawn, in drawing order (what the curves list shows)."""
        return list(self.items)

    def set_curve_visible(self, key: str, visible: bool) -> None:
        """Show or hide curve ``key`` in both plots (kept across new patterns)."""
        if visible:
            self.hidden.discard(key)
        else:
            self.hidden.add(key)
        for item in self.items.get(key, []):
            item.setVisible(visible)
        self._sync_list()
        self._rebuild_legend()
        self._apply_labels()
        self._autoscale_zoom()

    def is_curve_visible(self, key: str) -> bool:
        """True when ``key`` is drawn and not hidden."""
        return key in self.items and key not in self.hidden

    def keep_overlay(self, name: str | None = None) -> str | None:
        """Keep the calculated curves (backgrounds left out) as overlay ``name``; it stays through
        new patterns until :meth:`clear_overlays`. Returns the name used (made unique), or None
        when there is nothing to keep."""
        curves = {k: (q.copy(), y.copy()) for k, (q, y) in self.patterns.items() if not is_background(k)}
        if not curves:
            self.message.emit("No calculated curve to keep as an overlay")
            return None
        base = (name or "").strip() or f"overlay {len(self.overlays) + 1}"
        name, n = base, 2
        while name in self.overlays:
            name, n = f"{base} ({n})", n + 1
        self.overlays[name] = curves
        self.clear_overlays_button.setEnabled(True)
        self.redraw()
        self.message.emit(f"Kept {len(curves)} curve(s) as overlay “{name}”")
        return name

    def clear_overlays(self) -> None:
        """Remove every overlay."""
        keys = {k for k in self.items if k.startswith("[")}
        self.overlays.clear()
        self.hidden -= keys
        self.clear_overlays_button.setEnabled(False)
        self.redraw()

    def ask_overlay_name(self, default: str) -> str | None:
        """The name of a new overlay (a dialog; replaceable in tests), None to cancel."""
        text, ok = QInputDialog.getText(self, "Keep as overlay", "Name of the overlay:", text=default)
        return text if ok else None

    def difference(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(Q in 1/Å, observed - calculated) of the difference curve in intensity units, on the data
        points the calculated curve covers; None without data or a calculated reference."""
        ref = self._reference_label()
        if ref is None or self.data is None:
            return None
        qo, yo, _label = self.data
        ok, calc = calc_at_data(qo, *self.patterns[ref])
        return qo[ok], yo[ok] - calc

    # ---------------------------------------------------------------- drawing
    def redraw(self) -> None:
        """Redraw every curve in the current axis and scale."""
        zoom_q = self.zoom_q
        for plot in (self.main_plot, self.zoom_plot):
            for item in list(plot.listDataItems()):
                plot.removeItem(item)
        for plot, item in self._extra_items:
            plot.removeItem(item)
        self._extra_items.clear()
        self.legend.clear()
        self.curves.clear()
        self.zoom_curves.clear()
        self.items.clear()
        self._legend_names.clear()
        self.error_bars = []
        self.data_curve = None
        self.difference_curve = None
        self.difference_offset = None
        floor = self._log_floor()
        n = 0  # every overlay curve gets a colour of its own (all overlays together)
        for j, (name, curves) in enumerate(self.overlays.items()):
            style = OVERLAY_STYLES[j % len(OVERLAY_STYLES)]
            for label, (q, y) in curves.items():
                pen = pg.mkPen(OVERLAY_COLOURS[n % len(OVERLAY_COLOURS)], width=1.5, style=style)
                n += 1
                self._plot(overlay_key(name, label), q, scale_intensity(y, self.y_scale, floor), pen=pen)
        n = 0
        for label, (q, y) in self.patterns.items():
            if is_background(label):
                pen = pg.mkPen(BACKGROUND_COLOUR, width=1.2, style=Qt.PenStyle.DashLine)
            else:
                pen = pg.mkPen(CALC_COLOURS[n % len(CALC_COLOURS)], width=1.5)
                n += 1
            main, zoom = self._plot(label, q, scale_intensity(y, self.y_scale, floor), pen=pen)
            self.curves[label], self.zoom_curves[label] = main, zoom
        if self.data is not None:
            self._draw_data(floor)
        self._draw_difference(floor)
        for key, items in self.items.items():
            for item in items:
                item.setVisible(key not in self.hidden)
        self._rebuild_legend()
        self._sync_list()
        self._apply_labels()
        self._draw_ticks()
        self.zoom_q = zoom_q
        self.set_zoom_q(*zoom_q)
        self._region_changed()

    def _plot(self, key: str, q: np.ndarray, ys: np.ndarray, legend: str | None = None, **kw):
        """Plot one curve (Q, plotted y) in both plots under ``key``; returns the two items."""
        x = q_to_axis(q, self.x_axis, self.wavelength)
        if "symbol" not in kw:
            kw["connect"] = "finite"
        main = self.main_plot.plot(x, ys, **kw)
        zoom = self.zoom_plot.plot(x, ys, **kw)
        self.items[key] = [main, zoom]
        self._legend_names[key] = html.escape(legend or key)  # rich text: "<001>" must not read as a tag
        return main, zoom

    def _draw_data(self, floor: float | None) -> None:
        q, y, label = self.data
        ys = scale_intensity(y, self.y_scale, floor)
        kw = dict(pen=None, symbol="o", symbolSize=3, symbolBrush=OBSERVED_COLOUR, symbolPen=None)
        self.data_curve, _zoom = self._plot(DATA_KEY, q, ys, legend=label, **kw)
        if self.sigma is None or not self.error_bars_check.isChecked():
            return
        x = q_to_axis(q, self.x_axis, self.wavelength)
        top = scale_intensity(y + self.sigma, self.y_scale, floor) - ys
        bottom = ys - scale_intensity(y - self.sigma, self.y_scale, floor)
        ok = np.isfinite(x) & np.isfinite(ys) & np.isfinite(top) & np.isfinite(bottom)
        for plot in (self.main_plot, self.zoom_plot):
            bars = pg.ErrorBarItem(x=x[ok], y=ys[ok], top=top[ok], bottom=bottom[ok], beam=0,
                                   pen=pg.mkPen((120, 120, 120), width=1))
            plot.addItem(bars)
            self._extra_items.append((plot, bars))
            self.error_bars.append(bars)
            self.items[DATA_KEY].append(bars)

    def _draw_difference(self, floor: float | None) -> None:
        diff = self.difference()
        if diff is None or not len(diff[0]):
            return
        qd, _d = diff
        qo, yo, _label = self.data
        qc, yc = self.patterns[self._reference_label()]
        obs_s = scale_intensity(yo, self.y_scale, floor)
        ok, calc_at = calc_at_data(qo, qc, scale_intensity(yc, self.y_scale, floor))
        d_s = obs_s[ok] - calc_at  # observed - calculated on the plotted scale
        good = np.isfinite(d_s)
        if not good.any():
            return
        low = min(np.nanmin(obs_s[ok]), np.nanmin(calc_at))
        high = max(np.nanmax(obs_s[ok]), np.nanmax(calc_at))
        span = (high - low) or 1.0
        offset = float(low - np.nanmax(d_s[good]) - DIFF_GAP * span)
        self.difference_offset = offset
        pen = pg.mkPen(DIFF_COLOUR, width=1.2)
        self.difference_curve, _zoom = self._plot(DIFF_KEY, qd, d_s + offset, legend=DIFF_LABEL, pen=pen)
        for plot in (self.main_plot, self.zoom_plot):
            zero = pg.InfiniteLine(pos=offset, angle=0, pen=pg.mkPen(DIFF_COLOUR, width=1,
                                                                     style=Qt.PenStyle.DotLine))
            plot.addItem(zero, ignoreBounds=True)
            self._extra_items.append((plot, zero))
            self.items[DIFF_KEY].append(zero)

    def difference_label(self) -> str | None:
        """Label of the calculated curve the difference is taken against (None: no difference)."""
        return self._reference_label() if self.data is not None else None

    def curve_data(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """(Q in 1/Å, I) of a calculated curve or an overlay curve, as given (not scaled)."""
        if key in self.patterns:
            return self.patterns[key]
        for name, curves in self.overlays.items():
            for label, qy in curves.items():
                if overlay_key(name, label) == key:
                    return qy
        raise KeyError(key)

    def to_axis(self, q: np.ndarray) -> np.ndarray:
        """Q (1/Å) on the panel's x axis."""
        return q_to_axis(q, self.x_axis, self.wavelength)

    def scaled(self, q: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Intensities on the panel's scale (linear, sqrt, log with the panel's floor)."""
        return scale_intensity(y, self.y_scale, self._log_floor())

    def intensity_label(self, power: int | None = None) -> str:
        """The intensity axis label (``power`` None: the axis' own power of ten)."""
        power = self.intensity_power() if power is None else power
        return intensity_label(self.y_scale, self.data is not None, power)

    def _reference_label(self) -> str | None:
        if self.difference_reference is not None and self.difference_reference in self.patterns:
            return self.difference_reference
        return next((k for k in self.patterns if k.startswith(FIT_CALC_PREFIX)), None)

    def _rebuild_legend(self) -> None:
        self.legend.clear()
        for key, items in self.items.items():
            if key not in self.hidden and items:
                self.legend.addItem(items[0], self._legend_names[key])

    def _sync_list(self) -> None:
        self.curve_list.blockSignals(True)
        self.curve_list.clear()
        for key, items in self.items.items():
            text = {DATA_KEY: f"observed: {self.data[2]}" if self.data else DATA_KEY,
                    DIFF_KEY: DIFF_LABEL}.get(key, key)
            item = QListWidgetItem(self.curve_icon(items[0]), text)
            item.setData(Qt.ItemDataRole.UserRole, key)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked if key in self.hidden else Qt.CheckState.Checked)
            item.setToolTip(text)
            self.curve_list.addItem(item)
        self.curve_list.blockSignals(False)

    def _list_item_changed(self, item: QListWidgetItem) -> None:
        key = str(item.data(Qt.ItemDataRole.UserRole))
        self.set_curve_visible(key, item.checkState() == Qt.CheckState.Checked)

    def _legend_clicked(self, item) -> None:
        for key, items in self.items.items():
            if items and items[0] is item:
                self.set_curve_visible(key, item.isVisible())
                return

    def _error_bars_toggled(self, _on: bool) -> None:
        self.redraw()

    def _keep_clicked(self) -> None:
        name = self.ask_overlay_name(f"overlay {len(self.overlays) + 1}")
        if name is not None:
            self.keep_overlay(name)

    @staticmethod
    def curve_colour(item) -> str:
        """The colour a curve item is drawn in (its pen, or its symbols' brush for points)."""
        if item.opts.get("symbol") is not None and item.opts.get("pen") is None:
            return pg.mkBrush(item.opts["symbolBrush"]).color().name()
        return pg.mkPen(item.opts["pen"]).color().name()

    def curve_icon(self, item):
        """The curves list's swatch of a curve item."""
        points = item.opts.get("symbol") is not None and item.opts.get("pen") is None
        return swatch_icon(self.curve_colour(item), pg.mkPen(item.opts["pen"]).style(), points=points)

    # ---------------------------------------------------------------- private
    def _log_floor(self) -> float | None:
        if self.y_scale != "log":
            return None
        curves = list(self.patterns.values()) + [qy for c in self.overlays.values() for qy in c.values()]
        peaks = [np.max(y) for _q, y in curves if len(y)]
        return max(peaks) * 1e-6 if peaks and max(peaks) > 0 else None

    def intensity_power(self) -> int:
        """The power of ten of the intensity axis (largest |y| of the visible curves)."""
        tops = []
        for key, items in self.items.items():
            if key in self.hidden or not items:
                continue
            y = items[0].getData()[1]
            if y is not None and np.isfinite(y).any():
                tops.append(float(np.nanmax(np.abs(y[np.isfinite(y)]))))
        return power_of_ten(max(tops, default=0.0)) if self.y_scale != "log" else 0

    def _apply_labels(self) -> None:
        power = self.intensity_power()
        for plot in (self.main_plot, self.zoom_plot):
            plot.getAxis("left").set_power(power)
        self.main_plot.setLabel("left", self.intensity_label(power))
        self.tick_plot.setLabel("bottom", X_AXES[self.x_axis])
        self.zoom_tick_plot.setLabel("bottom", X_AXES[self.x_axis])

    def _wavelength_changed(self) -> None:
        if not self._setting_wavelength:
            self.wavelength_edited.emit(self.wavelength)
        if self.x_axis == "2theta":
            self.redraw()

    def _region_changed(self, *_args) -> None:
        lo, hi = self.region.getRegion()
        self.zoom_plot.setXRange(lo, hi, padding=0)
        q = np.sort(axis_to_q(np.array([lo, hi]), self.x_axis, self.wavelength))
        self.zoom_q = (float(q[0]), float(q[1]))
        set_title(self.zoom_plot, self.zoom_title())
        self._autoscale_zoom()

    def zoom_title(self) -> str:
        """What the zoom shows: the superstructure peaks (when the window holds some and its
        scale fits them) or a plain zoom, and its range in the x axis' unit."""
        lo, hi = sorted(self.region.getRegion())
        unit = X_AXES[self.x_axis].split("(")[-1].rstrip(")")
        q_lo, q_hi = self.zoom_q
        inside = any(q_lo <= q <= q_hi for q in superstructure_positions(self.phase_ticks))
        return zoom_title(lo, hi, unit, inside and self.zoom_fit_check.isChecked())

    def zoom_y_range(self) -> tuple[float, float] | None:
        """The zoom plot's intensity range that fits the superstructure peaks (plotted scale) of
        the visible curves, or None where it cannot be told (no pseudocubic cell, no curve in the
        window)."""
        floor = self._log_floor()
        curves = [(q, scale_intensity(y, self.y_scale, floor)) for k, (q, y) in self.patterns.items()
                  if k not in self.hidden]
        for name, overlay in self.overlays.items():
            curves += [(q, scale_intensity(y, self.y_scale, floor)) for label, (q, y) in overlay.items()
                       if overlay_key(name, label) not in self.hidden]
        if self.data is not None and DATA_KEY not in self.hidden:
            curves.append((self.data[0], scale_intensity(self.data[1], self.y_scale, floor)))
        if self.difference_curve is not None and DIFF_KEY not in self.hidden:
            x, y = self.difference_curve.getData()
            curves.append((axis_to_q(x, self.x_axis, self.wavelength), y))
        return superstructure_y_range(curves, superstructure_positions(self.phase_ticks), self.zoom_q)

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
        qs = [q for q, _y in self.patterns.values() if len(q)]
        qs += [q for c in self.overlays.values() for q, _y in c.values() if len(q)]
        if self.data is not None:
            qs.append(self.data[0])
        q_max = max((float(np.nanmax(q)) for q in qs), default=6.0)
        self.phase_ticks = phase_ticks(self.phases, self.a_p, q_max)
        self._show_zoom(any(p.zoom is not None for p in self.phase_ticks) or not self.phase_ticks)
        shown = self.phase_ticks if self.ticks_check.isChecked() else []
        to_axis = lambda q: q_to_axis(q, self.x_axis, self.wavelength)  # noqa: E731
        q_min = min((float(np.nanmin(q)) for q in qs), default=0.5)
        span = tuple(float(v) for v in np.nan_to_num(to_axis(np.array([q_min, q_max]))))
        self.phase_items = draw_phase_rows(self.tick_plot, shown, to_axis, span)
        draw_phase_rows(self.zoom_tick_plot, shown, to_axis, None, labels=False)
        self.tick_items = first_phase_items(shown, self.phase_items)

    def _show_zoom(self, on: bool) -> None:
        """Show the zoom plot (and its region) only where a phase has a superstructure."""
        if on == self.zoom_plot.isVisible():
            return
        for item in (self.zoom_plot, self.zoom_tick_plot, self.region):
            item.setVisible(on)
        for plot in (self.zoom_plot, self.zoom_tick_plot):  # hidden, a layout item keeps its width
            plot.setMaximumWidth(QWIDGETSIZE_MAX if on else 0)
            plot.setMinimumWidth(0)
        self.zoom_fit_check.setVisible(on)
        self.graphics.ci.layout.setColumnStretchFactor(1, 2 if on else 0)
        self.graphics.ci.layout.setColumnMaximumWidth(1, 1e6 if on else 0)
