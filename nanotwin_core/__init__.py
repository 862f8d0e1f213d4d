"""nanotwin core: structures, twinned nanocrystals, Debye scattering, populations, refinement.

This package never imports Qt; the GUI lives in ``nanotwin_app``.
"""

from nanotwin_core._version import __version__

__all__ = ["__version__"]
