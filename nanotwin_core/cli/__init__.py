"""The ``nanotwin`` command line: ``main`` is the console script (``nanotwin_core.cli:main``)."""

from nanotwin_core.cli.main import COMMANDS, main, make_parser

__all__ = ["COMMANDS", "main", "make_parser"]
