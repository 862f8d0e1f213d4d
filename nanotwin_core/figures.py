"""Publication figures with matplotlib's Agg backend (headless PNG, SVG, PDF, TIFF).

- ``demo_figure``: a demo's patterns and its superstructure zoom;
- ``pattern_figure``: a pattern for a paper (observed with error bars, calculated curves and
  their parts, the difference offset below or in its own panel, hkl tick rows per phase, an
  optional zoom panel) at a chosen size (mm or px), DPI and font size; the window's File > Export
  figure and ``nanotwin fit/simulate --figure`` draw through it (``figure_content`` builds the
  content of a fit or a simulation);
- ``size_distribution_figure``: number- and volume-weighted size distributions.

Every figure is written atomically and carries ``FIGURE_MARK`` in its metadata.
"""

from __future__ import annotations

import html
import os
import re
import textwrap
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from nanotwin_core.errors import NanotwinError
from nanotwin_core.io.atomic import default_file_mode


def pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def demo_figure(result, path: str | Path, *, dpi: int = 130) -> Path:
    """Two panels: the whole pattern (sqrt intensity) and the superstructure zoom.

    Curves are normalised to the strongest peak of the first model so that the zoom compares
    absolute superstructure heights; the file is written atomically.
    """
    plt = pyplot()
    demo = result.demo
    q = result.q
    ref = max(float(np.max(next(iter(result.intensities.values())))), 1e-300)
    fig, (ax_all, ax_zoom) = plt.subplots(
        1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [1.4, 1.0]}, layout="constrained"
    )
    lo, hi = demo.zoom
    sel = (q >= lo) & (q <= hi)
    for label, intensity in result.intensities.items():
        y = intensity / ref
        ax_all.plot(q, y, lw=0.9, label=label)
        ax_zoom.plot(q[sel], y[sel], lw=1.1, label=label)
    ax_all.set_yscale("function", functions=(_sqrt, np.square))
    ax_all.set_xlabel("Q (1/Å)")
    ax_all.set_ylabel("I / max")
    ax_all.axvspan(lo, hi, color="0.9", zorder=0)
    ax_all.set_title(demo.title, fontsize=10)
    # the weak superstructure peaks set the zoom's scale, not the fundamentals at its edges
    centre = (q >= lo + 0.15 * (hi - lo)) & (q <= hi - 0.15 * (hi - lo))
    if np.any(centre):
        top = max(float(np.max(i[centre])) for i in result.intensities.values()) / ref
        ax_zoom.set_ylim(0, 1.3 * top)
    ax_zoom.set_xlabel("Q (1/Å)")
    ax_zoom.set_title(f"superstructure region {lo}-{hi} 1/Å", fontsize=10)
    ax_zoom.legend(fontsize=8, loc="upper left")
    return save_figure(fig, path, dpi=dpi)


def _sqrt(y):
    return np.sqrt(np.clip(y, 0.0, None))


FIGURE_MARK = "nanotwin figure"  # in the metadata of every saved figure (safe to replace it)


def save_figure(fig, path: str | Path, *, dpi: int = 130, fmt: str | None = None) -> Path:
    """Save a figure atomically (temporary file, then rename) with the mode of a new file (0644
    under the usual umask); the format is ``fmt`` or follows the suffix. Its metadata (Creator;
    TIFF: the Software tag) carries ``FIGURE_MARK``."""
    plt = pyplot()
    path = Path(path)
    fmt = fmt or FORMATS.get(path.suffix.lower().lstrip("."), "png")
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    extra = ({"pil_kwargs": {"tiffinfo": {305: FIGURE_MARK}, "compression": "tiff_lzw"}} if fmt == "tiff"
             else {"metadata": {"Creator": FIGURE_MARK}})
    try:
        fig.savefig(tmp, dpi=dpi, format=fmt, **extra)
        os.chmod(tmp, default_file_mode())
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        if tmp.exists():
            tmp.unlink()
    return path


def size_distribution_figure(populations, path: str | Path, *, dpi: int = 130) -> Path | None:
    """Number- and volume-weighted size distributions of a fit's ``populations`` entries: a
    histogram per one-size population, number and volume maps over (D_ab, L_c) per prism
    population (as the paper's Fig. 6b). None (nothing written) where no entry is a
    distribution (single crystals)."""
    from nanotwin_core.population.distributions import LogNormal
    from nanotwin_core.population.size_maps import distribution_of, size_histogram, size_map

    dists = [(e.get("name", "population"), distribution_of(e)) for e in populations]
    dists = [(n, d) for n, d in dists if d is not None]
    if not dists:
        return None
    plt = pyplot()
    fig, axes = plt.subplots(len(dists), 2, figsize=(9, 3.4 * len(dists)), squeeze=False,
                             layout="constrained")
    for (name, dist), (ax_n, ax_v) in zip(dists, axes, strict=True):
        if isinstance(dist, LogNormal):
            h = size_histogram(dist)
            for ax, w, label in ((ax_n, h.number, "number"), (ax_v, h.volume, "volume")):
                ax.stairs(w / np.diff(h.edges_nm), h.edges_nm, fill=True, alpha=0.6)
                ax.set_xlabel("D (nm)")
                ax.set_ylabel(f"{label} fraction per nm")
                ax.set_title(f"{name}: {label}-weighted", fontsize=9)
        else:
            m = size_map(dist)
            for ax, w, label in ((ax_n, m.number, "number"), (ax_v, m.volume, "volume")):
                mesh = ax.pcolormesh(m.dab_edges_nm, m.lc_edges_nm, w.T, cmap="viridis", shading="flat")
                fig.colorbar(mesh, ax=ax, label=f"{label} fraction per cell")
                ax.set_xlabel("D_ab (nm)")
                ax.set_ylabel("L_c (nm)")
                ax.set_title(f"{name}: {label}-weighted", fontsize=9)
    return save_figure(fig, path, dpi=dpi)


# ================================================================ pattern figures for papers
# Colour-blind-safe colours (Okabe & Ito 2008; Tol's "muted" scheme for kept overlays), shared
# with the window's pattern panel so a figure looks like the screen.
OBSERVED_COLOUR = "#000000"
CALC_COLOURS = ("#D55E00", "#0072B2", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
OVERLAY_COLOURS = ("#332288", "#882255", "#999933", "#AA4499", "#44AA99", "#DDCC77", "#117733",
                   "#88CCEE", "#CC6677")
BACKGROUND_COLOUR = "#8c8c8c"
DIFF_COLOUR = "#505050"
TICK_COLOURS = {"fundamental": "#303030", "R": "#D55E00", "M": "#0072B2", "X": "#009E73",
                "superstructure": "#CC79A7"}
DIFF_GAP = 0.05  # gap between the pattern's lowest point and the offset difference (fraction of span)
FORMATS = {"png": "png", "svg": "svg", "pdf": "pdf", "tif": "tiff", "tiff": "tiff"}
MM_PER_INCH = 25.4
Y_LABELS = {"linear": "I ({unit})", "sqrt": "√I ({unit})", "log": "log₁₀ I ({unit})"}
X_LABELS = {"Q": "Q (1/Å)", "2theta": "2θ (°)", "d": "d (Å)"}

# rich-text tags of the window's captions; anything else in angle brackets is text ("1/2<001>{110}")
_TAG = re.compile(r"</?(?:b|i|u|em|strong|p|span|font|sub|sup|div|small|big|br)\b[^<>]*>", re.IGNORECASE)


def plain_text(text: str) -> str:
    """``text`` without HTML markup (formatting tags dropped, entities decoded, whitespace
    folded; a twin law's "<001>" stays) and with matplotlib's mathtext switched off (``$``
    escaped): what a figure may print."""
    text = html.unescape(_TAG.sub(" ", str(text)))
    return " ".join(text.split()).replace("$", r"\$")


def y_label(scale: str, unit: str) -> str:
    """Intensity axis label: 'I (counts)', '√I (e.u.)', ... for scale 'linear', 'sqrt', 'log'."""
    return Y_LABELS[scale].format(unit=unit)


@dataclass
class FigureCurve:
    """One curve of a pattern figure, on the figure's axes (x in its unit, y on its scale).

    ``kind``: "observed" (points, optional ``sigma`` bars), "calculated", "component",
    "background" or "overlay" (dashed). ``key``: the curve's id in SVG files (default: label)."""

    label: str
    x: np.ndarray
    y: np.ndarray
    kind: str = "calculated"
    sigma: np.ndarray | None = None
    colour: str | None = None
    key: str | None = None


@dataclass
class FigureTicks:
    """One row of reflection ticks (x positions in the figure's unit) with its label."""

    label: str
    x: np.ndarray
    colour: str = TICK_COLOURS["fundamental"]


@dataclass
class PatternFigureSpec:
    """What a pattern figure shows. ``difference_of``: label of the calculated curve the
    observed one is compared with (observed - calculated, drawn offset below the pattern or in a
    panel of its own); ``zoom``: an x range drawn as a second panel (None: none)."""

    curves: list[FigureCurve]
    x_label: str
    y_label: str
    ticks: list[FigureTicks] = field(default_factory=list)
    difference_of: str | None = None
    offset_difference: bool = True
    title: str = ""
    zoom: tuple[float, float] | None = None
    zoom_title: str = ""
    zoom_y: tuple[float, float] | None = None


@dataclass
class FigureLayout:
    """Size, resolution and type size of a figure: ``width`` x ``height`` in ``unit`` ("mm" or
    "px"), ``dpi`` dots per inch (PNG/TIFF pixels; the PDF/SVG nominal resolution), ``font_pt``."""

    width: float = 160.0
    height: float = 100.0
    unit: str = "mm"
    dpi: int = 300
    font_pt: float = 8.0
    legend: bool = True

    def inches(self) -> tuple[float, float]:
        """(width, height) in inches, rounded to whole pixels at ``dpi`` (a pixel size gets exactly
        that many pixels; a size in mm the nearest whole number)."""
        if not (self.width > 0 and self.height > 0 and self.dpi > 0 and self.font_pt > 0):
            raise NanotwinError("figure size, DPI and font size must be > 0")
        if self.unit not in ("mm", "px"):
            raise NanotwinError(f"figure size unit must be 'mm' or 'px', not {self.unit!r}")
        per_unit = self.dpi / MM_PER_INCH if self.unit == "mm" else 1.0
        # +0.25 px: the renderer truncates the size to whole pixels
        return tuple((round(v * per_unit) + 0.25) / self.dpi for v in (self.width, self.height))


def figure_format(path: str | Path) -> str:
    """The matplotlib format of ``path``'s suffix (PNG, SVG, PDF or TIFF), NanotwinError otherwise."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise NanotwinError(f"{Path(path).name}: figures are written as PNG, SVG, PDF or TIFF "
                            f"(.png, .svg, .pdf, .tif), not {suffix or 'a name without suffix'}")
    return FORMATS[suffix]


def difference_curve(observed: FigureCurve, calculated: FigureCurve) -> tuple[np.ndarray, np.ndarray]:
    """(x, observed - calculated) on the observed points the calculated curve covers (linear
    interpolation in x; either may run in decreasing x, as d does)."""
    xc, yc = np.asarray(calculated.x, float), np.asarray(calculated.y, float)
    ok = np.isfinite(xc) & np.isfinite(yc)
    xc, yc = xc[ok], yc[ok]
    order = np.argsort(xc)
    xc, yc = xc[order], yc[order]
    xo, yo = np.asarray(observed.x, float), np.asarray(observed.y, float)
    if len(xc) < 2:
        return xo[:0], yo[:0]
    inside = np.isfinite(xo) & np.isfinite(yo) & (xo >= xc[0]) & (xo <= xc[-1])
    return xo[inside], yo[inside] - np.interp(xo[inside], xc, yc)


def pattern_figure(spec: PatternFigureSpec, path: str | Path, layout: FigureLayout | None = None) -> Path:
    """Draw ``spec`` (main pattern, difference, tick rows, optional zoom panel) and write it to
    ``path`` atomically; the format follows the suffix (PNG, SVG, PDF, TIFF). Text stays text in
    SVG and PDF (TrueType fonts); SVG lines carry ids ``main/LABEL`` and ``zoom/LABEL``."""
    import matplotlib

    layout = layout or FigureLayout()
    fmt = figure_format(path)
    with matplotlib.rc_context({"font.size": layout.font_pt, "svg.fonttype": "none", "pdf.fonttype": 42,
                                "axes.titlesize": layout.font_pt, "legend.fontsize": 0.85 * layout.font_pt}):
        fig = _draw_pattern(spec, layout)
        return save_figure(fig, path, dpi=layout.dpi, fmt=fmt)


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def power_of_ten(top: float) -> int:
    """The power of ten k that brings a largest |y| ``top`` to 1-9999 (0 for 0.01 <= top < 10^4):
    an axis shows y / 10^k and says "10^k" in its label, never "1e6" over the axis."""
    if not top > 0 or 1e-2 <= top < 1e4:
        return 0
    return int(np.floor(np.log10(top)))


def largest(curves: list[FigureCurve]) -> float:
    """The largest finite |y| of ``curves`` (0 without any)."""
    tops = [float(np.max(np.abs(y[np.isfinite(y)]))) for y in (np.asarray(c.y, float) for c in curves)
            if np.isfinite(y).any()]
    return max(tops, default=0.0)


def scaled_label(label: str, power: int) -> str:
    """'I (counts)' -> 'I (10⁶ counts)' for ``power`` 6 (the label as is for 0)."""
    if power == 0:
        return label
    tens = "10" + str(power).translate(_SUPERSCRIPT)
    return label.replace("(", f"({tens} ", 1) if "(" in label else f"{label} / {tens}"


def _scaled_spec(spec: PatternFigureSpec) -> PatternFigureSpec:
    power = power_of_ten(largest(spec.curves))
    if power == 0:
        return spec
    f = 10.0 ** -power
    curves = [replace(c, y=np.asarray(c.y, float) * f,
                      sigma=None if c.sigma is None else np.asarray(c.sigma, float) * f) for c in spec.curves]
    zoom_y = None if spec.zoom_y is None else (spec.zoom_y[0] * f, spec.zoom_y[1] * f)
    return replace(spec, curves=curves, y_label=scaled_label(spec.y_label, power), zoom_y=zoom_y)


def _draw_pattern(spec: PatternFigureSpec, layout: FigureLayout):
    plt = pyplot()
    spec = _scaled_spec(spec)
    fig = plt.figure(figsize=layout.inches(), layout="constrained")
    by_label = {c.label: c for c in spec.curves}
    observed = next((c for c in spec.curves if c.kind == "observed"), None)
    reference = by_label.get(spec.difference_of) if spec.difference_of else None
    diff = difference_curve(observed, reference) if observed is not None and reference is not None else None
    separate_diff = diff is not None and len(diff[0]) and not spec.offset_difference
    rows = [4.0] + ([1.2] if separate_diff else []) + ([0.25 + 0.22 * len(spec.ticks)] if spec.ticks else [])
    columns = (3, 2) if spec.zoom is not None else (1,)
    grid = fig.add_gridspec(len(rows), len(columns), height_ratios=rows, width_ratios=columns)
    panels = [("main", 0)] + ([("zoom", 1)] if spec.zoom is not None else [])
    for where, col in panels:
        ax = fig.add_subplot(grid[0, col])
        lower = [fig.add_subplot(grid[i, col], sharex=ax) for i in range(1, len(rows))]
        offset = _draw_curves(ax, spec.curves, where)
        if diff is not None and len(diff[0]):
            target = lower[0] if separate_diff else ax
            shift = 0.0 if separate_diff else offset(diff[1])
            (line,) = target.plot(diff[0], diff[1] + shift, "-", color=DIFF_COLOUR, lw=0.8,
                                  label="difference (obs − calc)")
            line.set_gid(f"{where}/difference")
            target.axhline(shift, color=DIFF_COLOUR, lw=0.5, ls=":")
            if separate_diff:
                target.set_ylabel("obs − calc")
        if spec.ticks:
            _draw_ticks(lower[-1], spec.ticks, labels=(where == "main"))
        bottom = lower[-1] if lower else ax
        bottom.set_xlabel(spec.x_label)
        for a in [ax, *lower[:-1]] if lower else []:
            a.tick_params(labelbottom=False)
        if where == "main":
            ax.set_ylabel(spec.y_label)
            if layout.legend and ax.get_legend_handles_labels()[0]:
                ax.legend(loc="best", frameon=False)
            if spec.zoom is not None:
                ax.axvspan(*sorted(spec.zoom), color=(1.0, 0.78, 0.0, 0.15), lw=0)
            if spec.title:
                ax.set_title(_wrapped(spec.title, layout, 0.6 if spec.zoom is not None else 1.0), loc="left")
        else:
            ax.set_xlim(*sorted(spec.zoom))
            if spec.zoom_y is not None:
                ax.set_ylim(*spec.zoom_y)
            if spec.zoom_title:
                ax.set_title(_wrapped(spec.zoom_title, layout, 0.4), loc="left")
    return fig


def _wrapped(text: str, layout: FigureLayout, fraction: float) -> str:
    """``text`` as plain text wrapped to ``fraction`` of the figure's width."""
    chars = int(fraction * layout.inches()[0] * 72 / (0.55 * layout.font_pt))
    return textwrap.fill(plain_text(text), max(chars, 20))


def _draw_curves(ax, curves: list[FigureCurve], where: str):
    """Plot the curves; returns ``offset(d)``: the shift that puts a difference curve ``d`` below
    everything drawn (GSAS-II style)."""
    lows, highs = [], []
    n_calc = n_overlay = 0
    for c in curves:
        x, y = np.asarray(c.x, float), np.asarray(c.y, float)
        label = plain_text(c.label)
        if c.kind == "observed":
            if c.sigma is not None:
                eb = ax.errorbar(x, y, yerr=np.asarray(c.sigma, float), fmt="none", ecolor="0.65",
                                 elinewidth=0.5, zorder=1)
                eb.lines[2][0].set_gid(f"{where}/{c.key or c.label}/error bars")
            (line,) = ax.plot(x, y, "o", ms=1.6, color=c.colour or OBSERVED_COLOUR, label=label, zorder=2)
        elif c.kind == "background":
            (line,) = ax.plot(x, y, "--", lw=0.8, color=c.colour or BACKGROUND_COLOUR, label=label, zorder=2)
        elif c.kind == "overlay":
            colour = c.colour or OVERLAY_COLOURS[n_overlay % len(OVERLAY_COLOURS)]
            n_overlay += 1
            (line,) = ax.plot(x, y, "--", lw=0.9, color=colour, label=label, zorder=2)
        else:
            colour = c.colour or CALC_COLOURS[n_calc % len(CALC_COLOURS)]
            n_calc += 1
            width = 1.0 if c.kind == "calculated" else 0.8
            (line,) = ax.plot(x, y, "-", lw=width, color=colour, label=label, zorder=3)
        line.set_gid(f"{where}/{c.key or c.label}")
        finite = y[np.isfinite(y)]
        if finite.size:
            lows.append(float(finite.min()))
            highs.append(float(finite.max()))
    low, high = (min(lows), max(highs)) if lows else (0.0, 1.0)
    span = (high - low) or 1.0

    def offset(d: np.ndarray) -> float:
        top = float(np.nanmax(d)) if np.isfinite(d).any() else 0.0
        return low - top - DIFF_GAP * span

    return offset


def _draw_ticks(ax, rows: list[FigureTicks], *, labels: bool) -> None:
    """One row of '|' marks per entry, top to bottom, labelled at the left inside the axes."""
    for i, row in enumerate(rows):
        x = np.asarray(row.x, float)
        x = x[np.isfinite(x)]
        ax.plot(x, np.full(len(x), -i), "|", ms=7, mew=0.8, color=row.colour, gid=f"ticks/{row.label}")
        if labels:
            ax.annotate(plain_text(row.label), (-0.01, -i), xycoords=("axes fraction", "data"),
                        ha="right", va="center", color=row.colour, fontsize="small")
    ax.set_ylim(-len(rows) + 0.4, 0.6)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
