"""``nanotwin structures``: the built-in structures with space group, cell and source."""

from __future__ import annotations

import argparse
import json

from nanotwin_core.structures.library import structure_table


class CLICommand:
    """list the built-in structures"""

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        rows = structure_table()
        if args.json:
            print(json.dumps(rows, indent=2))
            return 0
        headers = ("name", "space group", "cell (Å, °)", "source")
        keys = ("name", "spacegroup", "cell", "source")
        widths = [max(len(h), *(len(str(r[k])) for r in rows)) for h, k in zip(headers, keys, strict=True)]
        widths[-1] = 0
        print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
        for r in rows:
            print("  ".join(str(r[k]).ljust(w) for k, w in zip(keys, widths, strict=True)).rstrip())
        return 0
