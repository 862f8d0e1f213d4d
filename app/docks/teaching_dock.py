"""The Teaching dock: two live sliders that show what octahedral tilts and twin domains do.

- Octahedral tilt: the total rotation of every PbX6 octahedron of a gamma (Pbnm, a-a-c+) CsPbX3
  crystal, 0-20 degrees (``nanotwin_core.structures.tilt.tilted_gamma`` with the library's ratio
  of the two tilts, ``tilts_for_slider``); the library's own tilt is marked.
- Twin density: the mean domain size (nm) of a random network of a chosen set of twin laws
  (the mixed-coset network of the "domain-size-series" demo by default), or no twins.

Every change rebuilds the crystal and recomputes its pattern in a worker on one numba thread.
Requests are throttled: the last request wins; a job left behind by a newer request is cancelled
at its next cancel point (or, if it ends first, its result is dropped), except while a slider is
being dragged, when intermediate results are shown as a preview. The result goes to the
workspace (pattern panel, 3D view, status bar) with two overlays: the same crystal at zero tilt
(every atom on its ideal perovskite site, ``nanotwin_core.superstructure.zero_tilt``) and, when
twinned, the untwinned crystal at the same tilt. The dock shows the superstructure heights: the
summed heights of I - I0 at the exact R, M and X reflection positions in 1.5-2.2 1/Å (SCIENCE.md
§2), with I0 the zero-tilt pattern.

The compute function ``compute_teaching`` is plain Python (no Qt), tested against the engine.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from nanotwin_app.workers import Task, TaskRunner
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

from nanotwin_core.errors import Cancelled

HALIDES = ("Cl", "Br", "I")
TILT_MAX_DEG = 20.0
TILT_STEPS_PER_DEG = 10  # slider resolution 0.1 degree
DOMAIN_SIZES_NM: tuple[float | None, ...] = (None, 8.0, 6.0, 5.0, 4.0, 3.0, 2.5, 2.0, 1.5)  # None: no twins
LAW_SETS: dict[str, tuple[str, ...]] = {
    "mixed-coset network (4 variants)": ("1/2<110>{110}", "1/2<110>{001}", "1/2<001>{110}"),
    "1/2<110> network (paper text, 2 variants)": ("1/2<110>{110}", "1/2<110>{001}"),
    "1/2<110>{110} only": ("1/2<110>{110}",),
    "1/2<001>{110} only": ("1/2<001>{110}",),
}
# Live sliders use crystals up to this many atoms: one update (build, histograms and Debye sums of
# the crystal and its zero-tilt twin, one numba thread) takes 80-100 ms at 2,000 atoms on a loaded
# 2-core machine, ~200 ms when a tilt change also needs the untwinned reference
# (benchmarks/bench_teaching.py).
LIVE_MAX_ATOMS = 2_000
SIZE_RANGE_NM = (3.0, 4.5)  # prism edge D_ab = L_c, whole cells: CsPbBr3 540, 960, 960, 2,000 atoms
DEFAULT_SIZE_NM = 4.5
LIVE_Q = (0.5, 6.0, 0.004)  # 1/Å: the live pattern's grid
SUPER_WINDOW = (1.5, 2.2)  # 1/Å, where the superstructure heights are read
THROTTLE_MS = 40  # requests closer than this are merged
CLASSES = ("R", "M", "X")


@dataclass(frozen=True)
class TeachingRequest:
    """One state of the sliders: what to build and compute."""

    halide: str = "Br"
    tilt_deg: float = 15.0  # total octahedron rotation, degrees
    size_nm: float = DEFAULT_SIZE_NM  # prism edge D_ab = L_c, nm
    laws: tuple[str, ...] = LAW_SETS["mixed-coset network (4 variants)"]
    domain_size_nm: float | None = None  # None: untwinned
    seed: int = 1
    wavelength: float = 0.565468  # Å, for the anomalous dispersion
    serial: int = 0  # request number (the dock drops results of older requests)

    @property
    def twinned(self) -> bool:
        return self.domain_size_nm is not None and bool(self.laws)

    def label(self) -> str:
        """Curve label of the live crystal."""
        twins = f"{self.domain_size_nm:g} nm domains" if self.twinned else "untwinned"
        return f"CsPb{self.halide}3 gamma, tilt {self.tilt_deg:.1f}°, {twins}"


@dataclass
class TeachingResult:
    """What one live update hands back: the crystal, curves and superstructure heights."""

    request: TeachingRequest
    crystal: object
    curves: dict[str, tuple[np.ndarray, np.ndarray]]
    live_label: str
    heights: dict[str, float]  # R, M, X: summed I - I0 at the exact positions in 1.5-2.2 1/Å
    untwinned_heights: dict[str, float] | None  # same tilt, no twins (None when untwinned)
    n_pairs: int
    a_p: float
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)  # stage -> seconds

    def relative(self) -> dict[str, float]:
        """Heights relative to the untwinned crystal at the same tilt (classes with a positive
        reference only; empty when untwinned)."""
        if not self.untwinned_heights:
            return {}
        return {k: self.heights[k] / v for k, v in self.untwinned_heights.items() if v > 0}


class TeachingCache:
    """Histograms that several requests share (thread-safe; a few recent entries only)."""

    def __init__(self, max_entries: int = 16) -> None:
        self._lock = threading.Lock()
        self._items: dict[tuple, object] = {}
        self.max_entries = max_entries

    def get(self, key: tuple):
        with self._lock:
            return self._items.get(key)

    def put(self, key: tuple, value) -> None:
        with self._lock:
            self._items.pop(key, None)
            self._items[key] = value
            while len(self._items) > self.max_entries:
                self._items.pop(next(iter(self._items)))


def live_q() -> np.ndarray:
    """The live pattern's Q grid (1/Å)."""
    lo, hi, step = LIVE_Q
    return np.arange(lo, hi + step / 2, step)


def teaching_structure(halide: str, tilt_deg: float):
    """The gamma structure at a total octahedron rotation ``tilt_deg`` (degrees)."""
    from nanotwin_core.structures.tilt import tilted_gamma, tilts_for_slider

    return tilted_gamma(halide, *tilts_for_slider(tilt_deg, halide))


def teaching_crystal(request: TeachingRequest, structure=None, *, twinned: bool | None = None):
    """The prism of a request (untwinned ones on the Pb sublattice, so both share the surface)."""
    from nanotwin_core.builder import build_crystal

    structure = structure if structure is not None else teaching_structure(request.halide, request.tilt_deg)
    twinned = request.twinned if twinned is None else twinned
    size = {"size_ab_nm": request.size_nm, "size_c_nm": request.size_nm}
    if twinned:
        return build_crystal(structure, shape="prism", **size, twins=request.laws,
                             domain_size_nm=request.domain_size_nm, seed=request.seed,
                             max_atoms=LIVE_MAX_ATOMS)
    return build_crystal(structure, shape="prism", **size, lattice="sublattice", max_atoms=LIVE_MAX_ATOMS)


def library_tilt_deg(halide: str) -> float:
    """Total octahedron rotation (degrees) of the library's ``CsPbX3-gamma``."""
    from nanotwin_core.structures.tilt import library_tilts, total_rotation_deg

    return total_rotation_deg(*library_tilts(halide))


def compute_teaching(
    request: TeachingRequest,
    cache: TeachingCache | None = None,
    *,
    progress: Callable | None = None,
    cancel: Callable[[], bool] | None = None,
) -> TeachingResult:
    """Build the request's crystal and compute its pattern, its zero-tilt reference and heights.

    One numba thread. The zero-tilt pattern I0 and the untwinned crystal at the same tilt are
    cached (``cache``) by (halide, tilt, size): the zero-tilt crystal does not depend on the
    twins (a twin changes which content each node takes, and every content sits on the same
    ideal sites at zero tilt), so moving the twin slider costs one crystal.
    """
    from nanotwin_app.plots.ticks import pseudocubic_a_of_structure

    from nanotwin_core.demos import default_adp
    from nanotwin_core.scattering import compute_histograms, debye_intensity
    from nanotwin_core.scattering.radiation import XRay
    from nanotwin_core.superstructure import class_heights, zero_tilt

    def check() -> None:
        if cancel is not None and cancel():
            raise Cancelled("teaching update cancelled")

    cache = cache if cache is not None else TeachingCache()
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    q = live_q()
    structure = teaching_structure(request.halide, request.tilt_deg)
    b_iso = default_adp(structure)
    radiation = XRay(wavelength=request.wavelength)

    def pattern(crystal) -> tuple[np.ndarray, float]:
        hist = compute_histograms(crystal, n_threads=1, cancel=cancel)
        return debye_intensity(hist, q, b_iso=b_iso, radiation=radiation), float(hist.n_pairs)

    t = time.perf_counter()
    crystal = teaching_crystal(request, structure)
    timings["build"] = time.perf_counter() - t
    check()
    t = time.perf_counter()
    i_live, n_pairs = pattern(crystal)
    timings["pattern"] = time.perf_counter() - t
    check()
    key = (request.halide, round(float(request.tilt_deg), 6), float(request.size_nm), request.wavelength)
    t = time.perf_counter()
    i0 = cache.get(("zero", *key))
    if i0 is None:
        i0, _ = pattern(zero_tilt(crystal))
        cache.put(("zero", *key), i0)
    timings["zero tilt"] = time.perf_counter() - t
    check()
    curves = {}
    untwinned = None
    live_label = request.label()
    if request.twinned:
        t = time.perf_counter()
        i_u = cache.get(("untwinned", *key))
        if i_u is None:
            i_u, _ = pattern(teaching_crystal(request, structure, twinned=False))
            cache.put(("untwinned", *key), i_u)
        timings["untwinned"] = time.perf_counter() - t
        curves[f"untwinned, tilt {request.tilt_deg:.1f}°"] = (q, i_u)
        untwinned = class_heights(q, i_u, i0, structure, SUPER_WINDOW).heights
    curves[f"zero tilt (ideal sites), {request.size_nm:g} nm"] = (q, i0)
    curves[live_label] = (q, i_live)
    heights = class_heights(q, i_live, i0, structure, SUPER_WINDOW).heights
    return TeachingResult(
        request=request, crystal=crystal, curves=curves, live_label=live_label, heights=dict(heights),
        untwinned_heights=None if untwinned is None else dict(untwinned), n_pairs=int(round(n_pairs)),
        a_p=float(pseudocubic_a_of_structure(structure)), seconds=time.perf_counter() - t0, timings=timings,
    )


def format_heights(res: TeachingResult) -> str:
    """The heights as rich text for the dock."""
    h = res.heights
    lines = ["<b>superstructure heights</b> (I − I0 at the exact positions, 1.5–2.2 1/Å):",
             " &nbsp; ".join(f"<b>{k}</b> {h[k]:.4g}" for k in CLASSES)]
    rel = res.relative()
    if rel:
        lines.append("relative to the untwinned crystal: "
                     + " &nbsp; ".join(f"{k} {rel[k]:.2f}" for k in CLASSES if k in rel))
    return "<br>".join(lines)


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

    def __init__(self, workspace=None, pattern_panel=None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.pattern_panel = pattern_panel
        self.cache = TeachingCache()
        self.runner = TaskRunner(self, max_threads=1)
        self.task: Task | None = None
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
            "Move a slider: the crystal is rebuilt and its pattern recomputed live. Watch the "
            "superstructure peaks (R, M, X) in the zoom fade as the tilt goes to zero or the twin "
            "domains shrink, against the zero-tilt and untwinned references."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)

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
        layout.addWidget(crystal_box)

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
        layout.addWidget(twin_box)

        self.show_button = QPushButton("Show this model")
        self.show_button.setToolTip("Compute the sliders' model now (moving a slider does it too)")
        layout.addWidget(self.show_button)
        self.heights_label = QLabel("superstructure heights: –")
        self.heights_label.setTextFormat(Qt.TextFormat.RichText)
        self.heights_label.setWordWrap(True)
        self.heights_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.heights_label)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)
        layout.addStretch(1)

        self._update_labels()
        self.set_tilt(round(library_tilt_deg("Br"), 1))
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
        wavelength = self.pattern_panel.wavelength if self.pattern_panel is not None else 0.565468
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
            self.task.cancel()  # stale: stop it at its next cancel point
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
        task = Task(compute_teaching, req, self.cache, name="teaching update")
        task.returned.connect(self._on_result)
        task.errored.connect(self._on_error)
        task.finished.connect(lambda t=task: self._on_finished(t))
        self.task, self._task_request = task, req
        self.status_label.setText("computing…")
        self.runner.start(task)

    def _on_finished(self, task: Task) -> None:
        if task is self.task:
            self.task = None
        if self._pending or (self._task_request is not None and self._task_request.serial != self.serial
                             and not self._timer.isActive()):  # a newer request is waiting
            self._pending = False
            self._launch()

    def _on_error(self, message: str) -> None:
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
            ws.set_patterns(res.curves, caption=caption, title="Teaching")
            ws.set_stats(res.n_pairs, res.seconds)
        elif panel is not None:
            panel.set_patterns(res.curves, caption=res.live_label)
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

    def shutdown(self, timeout_ms: int = 3000) -> bool:
        """Cancel the running update and wait for the worker."""
        self._timer.stop()
        self._pending = False
        return self.runner.shutdown(timeout_ms)
