"""``nanotwin demo``: the paper's scenarios headless (patterns, a PNG, the R/M/X table)."""

from __future__ import annotations

import argparse
from pathlib import Path

from nanotwin_core import demos
from nanotwin_core.cli.outputs import OutputFiles
from nanotwin_core.cli.progress import StepBar
from nanotwin_core.errors import NanotwinError
from nanotwin_core.io.atomic import atomic_write_text
from nanotwin_core.superstructure import BRAGG_SENTENCE, DIFFUSE_SENTENCE, HEIGHTS_SENTENCE


class CLICommand:
    """run a built-in demo headless (patterns + PNG)"""

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("name", nargs="?", help="demo name (see --list)")
        parser.add_argument("--list", action="store_true", help="list the demos")
        parser.add_argument("--out", metavar="DIR", help="output folder [nanotwin-demo-NAME]")
        parser.add_argument("--table", action="store_true",
                            help="also print (and write) the superstructure table: Bragg and diffuse parts "
                                 "and at-position heights of R, M, X relative to the untwinned crystal "
                                 "(demos of tilted structures)")
        parser.add_argument("--quiet", action="store_true", help="no progress bars")
        parser.add_argument("--force", action="store_true",
                            help="replace files in --out that nanotwin did not write")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        if args.list or not args.name:
            for name, demo in demos.DEMOS.items():
                print(f"{name:24s} {demo.title}")
            return 0
        demo = demos.get_demo(args.name)
        out = Path(args.out or f"nanotwin-demo-{args.name}")
        if out.exists() and not out.is_dir():
            raise NanotwinError(f"--out {out}: is a file; give a folder for the demo's patterns and figure")
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise NanotwinError(f"--out {out}: cannot make the folder ({exc.strerror or exc})") from None
        outputs = OutputFiles(force=args.force)  # refuse, before computing, to replace a user's file
        for path in demos.demo_files(demo, out):
            outputs.plan("--out", str(path), "figure" if path.suffix == ".png" else "pattern")
        if args.table:
            outputs.plan("--out", str(out / f"{args.name}_superstructure.txt"), "report")
        with StepBar(f"demo {args.name}", quiet=args.quiet) as steps:
            result = demos.run_demo(args.name, out, progress=steps)
        for path in result.files:
            print(f"wrote {path}")
        if args.table:
            with StepBar("superstructure table", quiet=args.quiet) as steps:
                rows = demos.superstructure_table(args.name, progress=steps)
            text = demos.format_superstructure_table(rows)
            notes = "\n".join((BRAGG_SENTENCE, DIFFUSE_SENTENCE, HEIGHTS_SENTENCE))
            atomic_write_text(out / f"{args.name}_superstructure.txt",
                              f"# nanotwin superstructure table: {demo.title}; window 1.5-2.2 1/A\n"
                              + "".join(f"# {line}\n" for line in notes.splitlines()) + text + "\n")
            print(text)
            print(notes)
        return 0
