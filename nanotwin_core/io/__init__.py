"""io package: extended XYZ (``xyz``), patterns (``data``), projects (``project``)."""

from nanotwin_core.io.xyz import read_xyz, write_xyz

__all__ = ["read_xyz", "write_xyz"]
