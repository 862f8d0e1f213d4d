"""``nanotwin population``: number- and volume-weighted statistics of a log-normal population."""

from __future__ import annotations

import argparse
import json

from nanotwin_core.model import PopulationSpec
from nanotwin_core.population.table import format_population_table, population_statistics


class CLICommand:
    """size statistics of a log-normal population (Table 2)"""

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("spec", metavar="SPEC",
                            help='"Dab=8.19,sab=0.24,Lc=9.79,sc=0.20" (prisms) or "D=5.0,sD=0.2" '
                                 "(spheres, cuboids)")
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        spec = PopulationSpec.parse(args.spec)
        stats = population_statistics(spec)
        if args.json:
            print(json.dumps({"spec": args.spec, **stats}, indent=2, sort_keys=True))
        else:
            print(format_population_table(spec, stats))
        return 0
