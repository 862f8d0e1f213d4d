"""nanotwin desktop application (PySide6, pyqtgraph, vispy)."""
