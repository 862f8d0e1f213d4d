"""``nanotwin build``: one nanocrystal written as extended XYZ."""

from __future__ import annotations

import argparse

from nanotwin_core.cli.model_args import build_from_args, describe_crystal
from nanotwin_core.cli.options import add_model_options, add_output_options
from nanotwin_core.cli.outputs import OutputFiles
from nanotwin_core.io.xyz import write_xyz


class CLICommand:
    """build one nanocrystal and write extended XYZ"""

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        add_model_options(parser, max_atoms=True)
        out = parser.add_argument_group("output")
        out.add_argument("--out", required=True, metavar="FILE.xyz", help="extended XYZ file (Å)")
        add_output_options(parser, out)

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        outputs = OutputFiles(force=args.force, inputs=[("--cif", args.cif)])
        outputs.plan("--out", args.out, "xyz")
        crystal = build_from_args(args)
        with outputs:
            outputs.stage("--out", lambda path: write_xyz(crystal, path))
            outputs.commit()
        print(f"wrote {args.out}: {describe_crystal(crystal)}")
        return 0
