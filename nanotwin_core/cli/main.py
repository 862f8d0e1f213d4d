"""The ``nanotwin`` command: one module per subcommand, each a ``CLICommand`` (as in ASE's CLI).

A command module defines ``CLICommand`` with a one-line docstring (its help), ``add_arguments
(parser)`` and ``run(args) -> exit code``; it parses options into core objects and calls the core.
Every user error (a bad name or value, an unreadable file, a refused output) prints one line
``nanotwin: error: ...`` on stderr and exits with code 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from nanotwin_core._version import __version__
from nanotwin_core.cli.options import EXIT_USAGE, Parser
from nanotwin_core.errors import Cancelled, NanotwinError

EXIT_INTERRUPTED = 130

COMMANDS = (
    ("structures", "nanotwin_core.cli.structures"),
    ("build", "nanotwin_core.cli.build"),
    ("simulate", "nanotwin_core.cli.simulate"),
    ("fit", "nanotwin_core.cli.fit"),
    ("calibrate", "nanotwin_core.cli.calibrate"),
    ("population", "nanotwin_core.cli.population"),
    ("superstructure", "nanotwin_core.cli.superstructure"),
    ("demo", "nanotwin_core.cli.demo"),
    ("gui", "nanotwin_core.cli.gui"),
)


def make_parser() -> argparse.ArgumentParser:
    """The parser of every command (each command module adds its own options)."""
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show the full traceback of an error instead of one line")
    p = Parser(prog="nanotwin", parents=[debug],
               description="Twinned nanocrystals, Debye scattering powder patterns and PDFs, refinement.")
    p.add_argument("--version", action="version", version=f"nanotwin {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name, module_name in COMMANDS:
        command = importlib.import_module(module_name).CLICommand
        help_text = (command.__doc__ or "").strip().splitlines()[0]
        cp = sub.add_parser(name, help=help_text, description=help_text, parents=[debug])
        command.add_arguments(cp)
        cp.set_defaults(run=command.run)
    return p


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, NanotwinError):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    if isinstance(exc, MemoryError):
        return f"out of memory ({exc or 'no detail'}); ask for a smaller crystal, population or grid"
    return f"{exc} (nanotwin --debug ... shows where)"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nanotwin`` console script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = make_parser()
    args = parser.parse_args(argv)
    if args.command is None:  # `nanotwin` alone opens the window
        args = parser.parse_args([*argv, "gui"])
    debug = getattr(args, "debug", False)
    try:
        return int(args.run(args) or 0)
    except (NanotwinError, ValueError, OSError, MemoryError) as exc:
        if debug:
            raise
        print(f"nanotwin: error: {' '.join(_one_line(exc).split())}", file=sys.stderr)
        return EXIT_USAGE
    except Cancelled:
        print("nanotwin: cancelled", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print("nanotwin: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
