"""pyqtgraph pattern panel, superstructure zoom and tick rows."""
