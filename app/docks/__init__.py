"""Dock widgets that edit the workspace (model builder; refinement later)."""
