"""The 3D view as an image file: the offscreen render (1-4 times the view's size) with the colour
legend drawn under it, its entries wrapped between entries (never inside one), the type scaled
with the render. Written atomically (a temporary file, then renamed) with the mode of a new file."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from nanotwin_app.viewer3d.palettes import BACKGROUNDS
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter

from nanotwin_core.io.atomic import default_file_mode

LEGEND_POINTS = 9.0  # type size of the legend at scale 1
TEXT_COLOURS = {"dark": "#ebebeb", "light": "#202020"}


def legend_lines(labels: list[str], width: float, text_width, swatch: float, gap: float) -> list[list[int]]:
    """Indices of ``labels`` per line when they are laid out left to right in ``width`` px, each
    entry a swatch, its label (``text_width(label)`` px) and a gap; a line breaks between entries
    only (an entry wider than the line gets a line of its own)."""
    lines: list[list[int]] = [[]]
    x = 0.0
    for i, label in enumerate(labels):
        w = swatch + text_width(label) + gap
        if lines[-1] and x + w > width:
            lines.append([])
            x = 0.0
        lines[-1].append(i)
        x += w
    return lines if lines[0] else []


def with_legend(image: np.ndarray, legend: list[tuple[str, tuple[float, float, float]]], *,
                background: str = "dark", scale: int = 1) -> QImage:
    """``image`` (h, w, 4 uint8, as vispy renders) with ``legend`` (label, rgb 0-1) drawn under it."""
    h, w = image.shape[:2]
    render = QImage(np.ascontiguousarray(image).data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()
    font = QFont()
    font.setPointSizeF(LEGEND_POINTS * scale)
    metrics = QFontMetricsF(font)
    line_h = metrics.height() * 1.4
    swatch, gap, margin = metrics.height() * 1.1, metrics.height() * 1.2, metrics.height() * 0.6
    labels = [label for label, _rgb in legend]
    lines = legend_lines(labels, w - 2 * margin, metrics.horizontalAdvance, swatch, gap)
    extra = int(np.ceil(len(lines) * line_h + 2 * margin)) if lines else 0
    out = QImage(w, h + extra, QImage.Format.Format_RGBA8888)
    out.fill(QColor.fromRgbF(*BACKGROUNDS[background]))
    painter = QPainter(out)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.drawImage(0, 0, render)
    painter.setFont(font)
    for row, indices in enumerate(lines):
        x, y = margin, h + margin + row * line_h
        for i in indices:
            label, rgb = legend[i]
            painter.fillRect(QRectF(x, y + (line_h - swatch) / 2, swatch * 0.8, swatch * 0.8),
                             QColor.fromRgbF(*rgb))
            painter.setPen(QColor(TEXT_COLOURS[background]))
            text_w = metrics.horizontalAdvance(label)
            painter.drawText(QRectF(x + swatch, y, text_w + 2, line_h),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, label)
            x += swatch + text_w + gap
    painter.end()
    return out


def save_image(image: QImage, path: str | Path) -> Path:
    """Write ``image`` to ``path`` (format by suffix) atomically; OSError when it cannot be."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        if not image.save(str(tmp), path.suffix.lstrip(".").upper() or "PNG"):
            raise OSError(f"could not write {path}")
        os.chmod(tmp, default_file_mode())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
