"""A row naming a chosen file with Choose… and Clear buttons (the blank of a fit)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton


class PathRow(QHBoxLayout):
    """``label`` shows the file's name (tooltip: its path), ``choose`` and ``clear`` buttons."""

    def __init__(self, path: str | None = None) -> None:
        super().__init__()
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.choose = QPushButton("Choose…")
        self.clear = QPushButton("Clear")
        self.addWidget(self.label, 1)
        self.addWidget(self.choose)
        self.addWidget(self.clear)
        self.show_path(path)

    def show_path(self, path: str | None) -> None:
        """Name ``path`` (None: "none")."""
        self.label.setText(Path(path).name if path else "none")
        self.label.setToolTip(path or "")
