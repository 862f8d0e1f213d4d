"""The Teaching dock: two live sliders that show what octahedral tilts and twin domains do.

- Octahedral tilt: the total rotation of every PbX6 octahedron of a gamma (Pbnm, a-a-c+) CsPbX3
  crystal, 0-20 degrees; the library's own tilt is marked.
- Twin density: the mean domain size (nm) of a random network of a chosen set of twin laws
  (the mixed-coset network of the "domain-size-series" demo by default), or no twins.

The computation is the core's (``nanotwin_core.teaching.compute_teaching``): every change
rebuilds the crystal and recomputes its pattern in a job of the window's runner on one numba
thread. Requests are throttled: the last request wins; a job left behind by a newer request is
cancelled at its next cancel point (or, if it ends first, its result is dropped), except while a
slider is being dragged, when intermediate results are shown as a preview. The result goes to
the workspace (pattern panel, 3D view, status bar) with the core's overlays (zero tilt and, when
twinned, untwinned at the same tilt), and the dock shows, per superstructure class R, M, X, the
Bragg and diffuse parts (twinned) and the heights at the reflection positions, each with one
sentence saying what it measures.
"""

from __future__ import annotations

import traceback

from nanotwin_app.tasks import CoreJob, JobRunner
from PySide6.QtCore import QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPolygonF
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QStyle,
    QStyleOptionSlider,
    QVBoxLayout,
    QWidget,
)

from nanotwin_core.errors import NanotwinError
from nanotwin_core.teaching import (
    CLASSES,
    DEFAULT_SIZE_NM,
    DOMAIN_SIZES_NM,
    HALIDES,
    LAW_SETS,
    LIVE_MAX_ATOMS,
    PAPER_WAVELENGTH,
    SIZE_RANGE_NM,
    SUPER_WINDOW,
    TILT_MAX_DEG,
    TeachingCache,
    TeachingRequest,
    TeachingResult,
    compute_teaching,
    library_tilt_deg,
)

TILT_STEPS_PER_DEG = 10  # slider resolution 0.1 degree
THROTTLE_MS = 40  # requests closer than this are merged


HEIGHTS_SENTENCE = ("Superstructure heights relative to the untwinned crystal at the same tilt "
                    "(1 = as strong, 0 = gone): the peak I − I0 at the exact R, M, X positions in "
                    "1.5–2.2 1/Å, I0 the crystal at zero tilt (what a peak-height reader sees: spilled "
                    "R and M intensity lands on X positions).")


def relative_heights(res: TeachingResult) -> dict[str, float]:
    """Heights relative to the untwinned crystal at the same tilt (1 for an untwinned crystal
    where its class has a peak)."""
    return res.relative() or {k: 1.0 for k in CLASSES if res.heights[k] > 0}


def format_heights(res: TeachingResult) -> str:
    """The superstructure measures as rich text for the dock: heights relative to the untwinned
    crystal (bold), the absolute ones, then (twinned crystals) the Bragg and diffuse parts."""
    rel = relative_heights(res)
    lines = ["<b>" + " &nbsp; ".join(f"{k} {rel[k]:.2f}" if k in rel else f"{k} –" for k in CLASSES) + "</b>",
             "<span style='color:#555'>absolute (e.u.): "
             + " &nbsp; ".join(f"{k} {res.heights[k]:.3g}" for k in CLASSES) + "</span>"]
    if res.bragg is not None:
        lines += ["<b>Bragg</b> (the long-range order each class keeps, relative to untwinned): "
                  + " &nbsp; ".join(f"{k} {res.bragg[k]:.2f}" for k in CLASSES if k in res.bragg),
                  "<b>diffuse</b> (class intensity the boundaries spread into broad humps, same units): "
                  + " &nbsp; ".join(f"{k} {res.diffuse[k]:.2f}" for k in CLASSES if k in res.diffuse)]
    return "<br>".join(lines)


def fixed_order(res: TeachingResult) -> dict:
    """The result's curves in a fixed order, the live crystal first, then zero tilt, then the
    untwinned reference: each keeps its colour when the untwinned reference comes and goes."""
    live = {res.live_label: res.curves[res.live_label]}
    zero = {k: v for k, v in res.curves.items() if k.startswith("zero tilt")}
    return live | zero | {k: v for k, v in res.curves.items() if k not in live and k not in zero}


class MarkedSlider(QSlider):
    """A horizontal slider with a red triangle at one value (``mark``; None: no mark)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.mark: int | None = None
        self.setMinimumHeight(30)

    def set_mark(self, value: int | None) -> None:
        """Mark ``value`` (slider units)."""
        self.mark = value
        self.update()

    def mark_x(self) -> float | None:
        """Pixel x of the mark in the slider's groove (None without a mark)."""
        if self.mark is None:
            return None
        opt = QStyleOptionSlider()
        self.initStyleOption(opt)
        groove = self.style().subControlRect(QStyle.ComplexControl.CC_Slider, opt,
                                             QStyle.SubControl.SC_SliderGroove, self)
        handle = self.style().subControlRect(QStyle.ComplexControl.CC_Slider, opt,
                                             QStyle.SubControl.SC_SliderHandle, self)
        span = max(groove.width() - handle.width(), 1)
        pos = QStyle.sliderPositionFromValue(self.minimum(), self.maximum(), int(self.mark), span)
        return groove.x() + handle.width() / 2 + pos

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        """Draw the slider, then the mark."""
        super().paintEvent(event)
        x = self.mark_x()
        if x is None:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setBrush(QColor("#d62728"))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawPolygon(QPolygonF([QPointF(x - 5, 0), QPointF(x + 5, 0), QPointF(x, 7)]))
        painter.end()


class TeachingDock(QWidget):
    """Sliders for octahedral tilt and twin domain size, recomputed live in a worker."""

    result_shown = Signal(object)  # the TeachingResult put on screen
    failed = Signal(str)

    def __init__(self, workspace=None, pattern_panel=None, runner: JobRunner | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.pattern_panel = pattern_panel
        self.cache = TeachingCache()
        self.runner = runner if runner is not None else JobRunner(self)
        self.task: CoreJob | None = None
        self._task_request: TeachingRequest | None = None
        self.serial = 0
        self._pending = False
        self.last_result: TeachingResult | None = None
        self.dropped = 0  # stale results not shown (for the tests and the curious)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(THROTTLE_MS)
        self._timer.timeout.connect(self._launch)

        layout = QVBoxLayout(self)
        intro = QLabel(
            "Move a slider: the crystal is rebuilt and its pattern recomputed live. As the tilt goes to "
            "zero the superstructure peaks (R, M, X) in the zoom vanish. As the twin domains shrink "
            "their Bragg part falls and the intensity spreads into broad diffuse humps (it is "
            "redistributed, not destroyed), against the zero-tilt and untwinned references."
        )
        intro.setWordWrap(True)

        crystal_box = QGroupBox("Crystal")
        form = QFormLayout(crystal_box)
        self.halide_combo = QComboBox()
        for x in HALIDES:
            self.halide_combo.addItem(f"CsPb{x}3 (gamma)", x)
        self.halide_combo.setCurrentIndex(HALIDES.index("Br"))
        form.addRow("Compound", self.halide_combo)
        self.size_spin = QDoubleSpinBox()
        self.size_spin.setRange(*SIZE_RANGE_NM)
        self.size_spin.setSingleStep(0.5)
        self.size_spin.setDecimals(1)
        self.size_spin.setSuffix(" nm")
        self.size_spin.setValue(DEFAULT_SIZE_NM)
        self.size_spin.setToolTip("Prism edge D_ab = L_c (whole Pbnm cells)")
        form.addRow("Prism size", self.size_spin)
        self.limit_label = QLabel(f"Live sliders use crystals up to {LIVE_MAX_ATOMS:,} atoms "
                                  "(one update 0.05-0.2 s on one thread).")
        self.limit_label.setWordWrap(True)
        form.addRow(self.limit_label)

        tilt_box = QGroupBox("Octahedral tilt (a⁻a⁻c⁺)")
        tl = QVBoxLayout(tilt_box)
        self.tilt_slider = MarkedSlider()
        self.tilt_slider.setRange(0, int(TILT_MAX_DEG * TILT_STEPS_PER_DEG))
        self.tilt_slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.tilt_slider.setTickInterval(5 * TILT_STEPS_PER_DEG)
        self.tilt_slider.setToolTip("Total rotation of each PbX6 octahedron (degrees); the ratio of the "
                                    "a⁻a⁻ and c⁺ tilts is the library structure's")
        tl.addWidget(self.tilt_slider)
        row = QHBoxLayout()
        self.tilt_label = QLabel()
        row.addWidget(self.tilt_label, 1)
        self.library_button = QPushButton("library value")
        self.library_button.setToolTip("Set the tilt of the library's gamma structure")
        row.addWidget(self.library_button)
        tl.addLayout(row)
        self.library_label = QLabel()
        self.library_label.setWordWrap(True)
        tl.addWidget(self.library_label)
        layout.addWidget(tilt_box)

        twin_box = QGroupBox("Twin density")
        tw = QFormLayout(twin_box)
        self.laws_combo = QComboBox()
        self.laws_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.laws_combo.setMinimumContentsLength(14)  # long names elide: the dock fits 300 px
        for name, laws in LAW_SETS.items():
            self.laws_combo.addItem(name, laws)
            self.laws_combo.setItemData(self.laws_combo.count() - 1, ", ".join(laws),
                                        Qt.ItemDataRole.ToolTipRole)
        tw.addRow("Twin laws", self.laws_combo)
        self.domain_slider = QSlider(Qt.Orientation.Horizontal)
        self.domain_slider.setRange(0, len(DOMAIN_SIZES_NM) - 1)
        self.domain_slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.domain_slider.setPageStep(1)
        self.domain_slider.setToolTip("Left: no twins; right: smaller domains (a denser network)")
        tw.addRow("Domains", self.domain_slider)
        self.domain_label = QLabel()
        tw.addRow("", self.domain_label)
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 9999)
        self.seed_spin.setValue(1)
        self.seed_spin.setToolTip("Seed of the random network")
        tw.addRow("Seed", self.seed_spin)

        self.show_button = QPushButton("Show this model")
        self.show_button.setToolTip("Compute the sliders' model now (moving a slider does it too)")
        heights_box = QGroupBox("Superstructure heights")
        hl = QVBoxLayout(heights_box)
        self.heights_sentence = QLabel(HEIGHTS_SENTENCE)
        self.heights_sentence.setWordWrap(True)
        hl.addWidget(self.heights_sentence)
        self.heights_label = QLabel("R –  M –  X –")
        self.heights_label.setTextFormat(Qt.TextFormat.RichText)
        self.heights_label.setWordWrap(True)
        self.heights_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        hl.addWidget(self.heights_label)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        # the sliders first: they are what the dock is for, and must show without scrolling
        for widget in (tilt_box, twin_box, heights_box, self.show_button, self.status_label, crystal_box,
                       intro):
            layout.addWidget(widget)
        layout.addStretch(1)

        self.set_tilt(round(library_tilt_deg("Br"), 1))
        self._update_labels()  # after set_tilt: the label says where the slider sits
        self.tilt_slider.valueChanged.connect(self._changed)
        self.domain_slider.valueChanged.connect(self._changed)
        self.halide_combo.currentIndexChanged.connect(self._changed)
        self.laws_combo.currentIndexChanged.connect(self._changed)
        self.seed_spin.valueChanged.connect(self._changed)
        self.size_spin.valueChanged.connect(self._changed)
        self.library_button.clicked.connect(lambda: self.set_tilt(round(library_tilt_deg(self.halide), 1)))
        self.show_button.clicked.connect(self.request_update)
        self.tilt_slider.sliderReleased.connect(self.request_update)
        self.domain_slider.sliderReleased.connect(self.request_update)

    # ---------------------------------------------------------------- state
    @property
    def halide(self) -> str:
        return str(self.halide_combo.currentData())

    @property
    def tilt_deg(self) -> float:
        """The tilt slider's total octahedron rotation (degrees)."""
        return self.tilt_slider.value() / TILT_STEPS_PER_DEG

    @property
    def domain_size_nm(self) -> float | None:
        """The domain slider's mean domain size (nm), None for no twins."""
        return DOMAIN_SIZES_NM[self.domain_slider.value()]

    def set_tilt(self, tilt_deg: float) -> None:
        """Move the tilt slider to ``tilt_deg`` (degrees, rounded to 0.1)."""
        self.tilt_slider.setValue(int(round(float(tilt_deg) * TILT_STEPS_PER_DEG)))

    def set_domain_size(self, size_nm: float | None) -> None:
        """Move the domain slider to ``size_nm`` (one of DOMAIN_SIZES_NM; None: no twins)."""
        self.domain_slider.setValue(DOMAIN_SIZES_NM.index(size_nm))

    def request(self) -> TeachingRequest:
        """The sliders' current state as a request."""
        wavelength = self.pattern_panel.wavelength if self.pattern_panel is not None else PAPER_WAVELENGTH
        return TeachingRequest(
            halide=self.halide, tilt_deg=self.tilt_deg, size_nm=float(self.size_spin.value()),
            laws=tuple(self.laws_combo.currentData()), domain_size_nm=self.domain_size_nm,
            seed=int(self.seed_spin.value()), wavelength=float(wavelength), serial=self.serial,
        )

    def busy(self) -> bool:
        """True while an update is queued, running or not yet delivered to the GUI thread."""
        # self.task is cleared by the finished signal, which comes after the result signal
        return self._timer.isActive() or self._pending or self.task is not None

    # ---------------------------------------------------------------- requests
    def _changed(self, *_args) -> None:
        self._update_labels()
        self.request_update()

    def request_update(self) -> None:
        """Ask for the current state to be computed (merged with requests close in time)."""
        self.serial += 1
        if self.task is not None and not self._dragging():
            self.runner.cancel(self.task)  # stale: stop it at its next cancel point
        if not self._timer.isActive():
            self._timer.start()

    def _dragging(self) -> bool:
        return self.tilt_slider.isSliderDown() or self.domain_slider.isSliderDown()

    def _launch(self) -> None:
        if self.task is not None:  # running, or its finished signal not delivered yet
            self._pending = True  # run the newest request when this job stops
            return
        self._pending = False
        req = self.request()
        task = CoreJob(compute_teaching, req, self.cache, name="teaching update")
        task.returned.connect(self._on_result)
        task.errored.connect(self._on_error)
        task.finished.connect(lambda t=task: self._on_finished(t))
        self.task, self._task_request = task, req
        self.status_label.setText("computing…")
        self.runner.start(task)

    def _on_finished(self, task: CoreJob) -> None:
        if task is self.task:
            self.task = None
        if self._pending or (self._task_request is not None and self._task_request.serial != self.serial
                             and not self._timer.isActive()):  # a newer request is waiting
            self._pending = False
            self._launch()

    def _on_error(self, exc: Exception) -> None:
        if not isinstance(exc, NanotwinError):
            traceback.print_exception(exc)
        message = str(exc) or type(exc).__name__
        self.status_label.setText(f"Cannot compute: {message}")
        self.failed.emit(message)

    def _on_result(self, res: TeachingResult) -> None:
        if res.request.serial != self.serial and not self._dragging():
            self.dropped += 1
            return
        self.show_result(res)

    # ---------------------------------------------------------------- display
    def show_result(self, res: TeachingResult) -> None:
        """Put a result on screen: workspace (pattern, crystal, stats), zoom, heights."""
        self.last_result = res
        ws, panel = self.workspace, self.pattern_panel
        if panel is not None:
            panel.set_pseudocubic(res.a_p)
        if ws is not None:
            ws.a_p = res.a_p
            ws.set_crystal(res.crystal)
            ws.set_histograms({})
            caption = (f"<b>Teaching</b>: {res.live_label}; overlays: the same crystal at zero tilt"
                       + (" and untwinned at the same tilt" if res.request.twinned else "") + ".")
            ws.set_patterns(fixed_order(res), caption=caption, title="Teaching")
            ws.set_stats(res.n_pairs, res.seconds)
        elif panel is not None:
            panel.set_patterns(fixed_order(res), caption=res.live_label)
        if panel is not None:  # keep the zoom on the superstructure window
            lo, hi = SUPER_WINDOW
            if abs(panel.zoom_q[0] - lo) > 0.3 or abs(panel.zoom_q[1] - hi) > 0.3:
                panel.set_zoom_q(lo, hi)
        self.heights_label.setText(format_heights(res))
        self.status_label.setText(
            f"{res.crystal.n_atoms:,} atoms, {res.n_pairs:,} pairs; update {1e3 * res.seconds:.0f} ms ("
            + ", ".join(f"{k} {1e3 * v:.0f}" for k, v in res.timings.items()) + ")")
        self.result_shown.emit(res)

    def _update_labels(self) -> None:
        lib = library_tilt_deg(self.halide)
        self.tilt_label.setText(f"tilt {self.tilt_deg:.1f}° (library {lib:.1f}°)")
        self.library_label.setText(
            f"The red mark is the library's CsPb{self.halide}3-gamma ({lib:.1f}° total octahedron "
            "rotation); 0° is the untilted (cubic) perovskite arrangement.")
        self.tilt_slider.set_mark(int(round(lib * TILT_STEPS_PER_DEG)))
        ds = self.domain_size_nm
        self.domain_label.setText("no twins" if ds is None else f"mean domain size {ds:g} nm")

    def shutdown(self) -> None:
        """Stop requesting updates and cancel the running one (the window's runner waits for it)."""
        self._timer.stop()
        self._pending = False
        self.runner.cancel(self.task)
