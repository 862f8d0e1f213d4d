"""nanotwin core: structures, twinned nanocrystals, Debye scattering, populations, refinement.

This package never imports Qt; the GUI lives in ``nanotwin_app``.
"""

import os as _os

from nanotwin_core._version import __version__


def _default_numba_cache_dir() -> None:
    """Point numba's on-disk cache at a user cache folder unless the user chose one.

    An installed or bundled copy's package folder may be read-only; numba would then
    silently compile every kernel again at each start. This must run before numba is imported.
    """
    if "NUMBA_CACHE_DIR" in _os.environ:
        return
    try:
        import platformdirs

        base = platformdirs.user_cache_dir("nanotwin")
    except ImportError:  # platformdirs is a dependency; keep the fallback harmless
        base = _os.path.join(_os.path.expanduser("~"), ".cache", "nanotwin")
    _os.environ["NUMBA_CACHE_DIR"] = _os.path.join(base, "numba")


_default_numba_cache_dir()

__all__ = ["__version__"]
