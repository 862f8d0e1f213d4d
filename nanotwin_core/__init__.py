"""nanotwin core: structures, twinned nanocrystals, Debye scattering, populations, refinement.

This package never imports Qt; the GUI lives in ``nanotwin_app``. numba's cache folder and
threading are set up by ``nanotwin_core.numba_setup`` (imported by the kernel modules).
"""

from nanotwin_core._version import __version__

__all__ = ["__version__"]
