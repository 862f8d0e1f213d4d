"""Exported patterns: one table of named columns, or one ``.xye`` file per curve.

A table holds x and one column per curve (observed, sigma, calculated, each component,
background, difference, overlays...), named after the curves, with ``#`` header lines saying
the model, the wavelength and the date; ``.csv`` is comma-separated with quoted names, any
other suffix (``.txt``, ``.dat``, ``.tsv``) tab-separated. A curve that does not cover a point
(a fit's excluded points) has ``nan`` there. Per-curve files are ``STEM_CURVE.xye`` (readable by
``read_pattern``: the header says the axis and the wavelength). Every file is written
atomically with the mode of a new file (0644 under the usual umask).
"""

from __future__ import annotations

import datetime
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from nanotwin_core._version import __version__
from nanotwin_core.errors import NanotwinError
from nanotwin_core.io.atomic import atomic_write_text
from nanotwin_core.io.data import write_pattern

__all__ = ["curve_file_name", "export_header", "write_curve_files", "write_pattern_table"]

AXIS_HEADERS = {"q": "axis: Q (1/A)", "tth": "axis: 2theta (degrees)", "d": "axis: d (A)"}
COLUMN_NAMES = {"q": "Q (1/A)", "tth": "2theta (deg)", "d": "d (A)"}


def export_header(model: str, wavelength: float | None, x_kind: str, *, when: datetime.datetime | None = None,
                  extra: Iterable[str] = ()) -> list[str]:
    """Header lines of an export: program, model, wavelength (Å), date (ISO 8601) and axis."""
    if x_kind not in AXIS_HEADERS:
        raise NanotwinError(f"unknown x axis {x_kind!r}; known: {', '.join(AXIS_HEADERS)}")
    when = when or datetime.datetime.now().astimezone()
    return [f"nanotwin {__version__} pattern export",
            f"model: {model or 'none'}",
            f"wavelength: {wavelength:.8g} A" if wavelength else "wavelength: none",
            f"date: {when.isoformat(timespec='seconds')}",
            AXIS_HEADERS[x_kind], *extra]


def curve_file_name(stem: str, label: str, suffix: str = ".xye") -> str:
    """``STEM_LABEL.suffix`` with the label reduced to letters, digits, '-', '_' and '.'."""
    part = re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("._") or "curve"
    return f"{stem}_{part}{suffix}"


def _column(x: np.ndarray, curve_x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``y`` on ``x``: as is on the same points, else interpolated inside the curve's range (nan
    outside; a curve with gaps, such as a fit's fitted points, keeps them as nan)."""
    curve_x, y = np.asarray(curve_x, float), np.asarray(y, float)
    if curve_x.shape == x.shape and np.array_equal(curve_x, x):
        return y
    out = np.full(x.shape, np.nan)
    where = {v: i for i, v in enumerate(x.tolist())}
    index = [where.get(v) for v in curve_x.tolist()]
    if all(i is not None for i in index):  # a subset of the points (a fit's fitted points)
        out[index] = y
        return out
    order = np.argsort(curve_x)
    cx, cy = curve_x[order], y[order]
    inside = (x >= cx[0]) & (x <= cx[-1])
    out[inside] = np.interp(x[inside], cx, cy)
    return out


def write_pattern_table(path: str | os.PathLike[str], x_kind: str, x: np.ndarray,
                        columns: Mapping[str, tuple[np.ndarray, np.ndarray]],
                        header_lines: Iterable[str]) -> Path:
    """One table: x (``x_kind`` "q", "tth" or "d") and a column per entry of ``columns`` (name ->
    (its x, its y)). Returns the path written."""
    path = Path(path)
    x = np.asarray(x, float)
    if not columns:
        raise NanotwinError(f"{path.name}: no curve to write")
    names = [COLUMN_NAMES[x_kind], *columns]
    if len(set(names)) != len(names):
        raise NanotwinError(f"{path.name}: two columns named alike: {', '.join(names)}")
    block = np.column_stack([x, *(_column(x, cx, cy) for cx, cy in columns.values())])
    comma = path.suffix.lower() == ".csv"
    sep = "," if comma else "\t"
    lines = [f"# {h}" for h in header_lines]
    lines.append(sep.join('"' + n.replace('"', "'") + '"' if comma else n.replace("\t", " ") for n in names))
    lines += [sep.join("nan" if not np.isfinite(v) else f"{v:.10g}" for v in row) for row in block]
    atomic_write_text(path, "\n".join(lines) + "\n", make_parents=True)
    return path


def write_curve_files(path: str | os.PathLike[str], x_kind: str,
                      curves: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray | None]],
                      header_lines: Iterable[str]) -> list[Path]:
    """One ``.xye``-style file per curve (label -> (x, y, sigma or None)) beside ``path``, named
    ``curve_file_name(path's stem, label, path's suffix)``. Returns the paths written."""
    path = Path(path)
    header = list(header_lines)
    suffix = path.suffix or ".xye"
    names = {label: path.with_name(curve_file_name(path.stem, label, suffix)) for label in curves}
    if len(set(names.values())) != len(names):
        raise NanotwinError(f"{path.name}: two curves give the same file name; export them as one table")
    written = []
    for label, (x, y, sigma) in curves.items():
        x, y = np.asarray(x, float), np.asarray(y, float)
        ok = np.isfinite(x) & np.isfinite(y) & (np.isfinite(sigma) if sigma is not None else True)
        cols = "x I sigma" if sigma is not None else "x I"
        write_pattern(names[label], x[ok], y[ok], None if sigma is None else np.asarray(sigma, float)[ok],
                      header_lines=[*header, f"curve: {label}", f"columns: {cols}"])
        written.append(names[label])
    return written
