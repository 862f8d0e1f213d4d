"""``nanotwin gui`` (and ``nanotwin`` alone): the window, or one line saying why it cannot open."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from nanotwin_core.cli.outputs import OutputFiles
from nanotwin_core.errors import NanotwinError

NO_DISPLAY = (
    "no display to open the window on (DISPLAY and WAYLAND_DISPLAY are not set): run it under a virtual "
    "display with `xvfb-run -a nanotwin gui ...`, save a picture of it with `nanotwin gui --demo NAME "
    "--screenshot FILE.png`, or use the headless commands (`nanotwin demo NAME --out DIR`, `nanotwin --help`)"
)


def display_missing(environ: dict[str, str] | None = None, platform: str | None = None) -> bool:
    """True on a Unix without a desktop session where Qt's platform was not chosen explicitly."""
    env = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if platform.startswith(("win", "darwin", "cygwin")):
        return False
    if env.get("QT_QPA_PLATFORM"):  # offscreen, vnc, eglfs, ...: the user chose
        return False
    return not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


class CLICommand:
    """open the graphical workbench"""

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("file", nargs="?", help="project, data, CIF or XYZ file to open")
        parser.add_argument("--demo", metavar="NAME", help="demo to open")
        parser.add_argument("--screenshot", metavar="PNG",
                            help="run the demo, save a PNG of the window, exit (works without a display)")
        parser.add_argument("--force", action="store_true",
                            help="with --screenshot: replace a PNG that nanotwin did not write")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        if display_missing() and not args.screenshot:
            raise NanotwinError(NO_DISPLAY)
        if args.file and not Path(args.file).is_file():
            raise NanotwinError(f"{args.file}: no such file")
        if args.screenshot:  # folder exists, not an input, not a user's own picture (unless --force)
            OutputFiles(force=args.force, inputs=[("FILE", args.file)]).plan(
                "--screenshot", args.screenshot, "figure")
        from nanotwin_app.main import run_gui  # Qt: loaded only to open the window

        return run_gui(args)
