"""``nanotwin superstructure``: Bragg and diffuse parts of R, M, X superstructure of one model."""

from __future__ import annotations

import argparse
import json

from nanotwin_core.cli.model_args import (
    crystal_sizes,
    default_boundaries,
    domain_size_of,
    load_structure,
    radiation_from_args,
)
from nanotwin_core.cli.options import (
    add_model_options,
    add_output_options,
    add_radiation_options,
    parse_adp,
    parse_range,
)
from nanotwin_core.cli.outputs import OutputFiles
from nanotwin_core.cli.progress import StepBar
from nanotwin_core.errors import NanotwinError
from nanotwin_core.io.atomic import atomic_write_text
from nanotwin_core.structures.adp import resolve_adp, structure_adp_groups, structure_b
from nanotwin_core.subcell import find_subcell
from nanotwin_core.superstructure import (
    BRAGG_SENTENCE,
    DIFFUSE_SENTENCE,
    HEIGHTS_SENTENCE,
    format_rows,
    superstructure_rows,
)


class CLICommand:
    """Bragg and diffuse parts of the R, M, X superstructure of a (twinned) crystal or ensemble"""

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        add_model_options(parser, population=False)
        g = parser.add_argument_group("measure")
        g.add_argument("--window", default="1.5:2.2", metavar="QMIN:QMAX",
                       help="Q window of the integrals and heights, 1/Å [1.5:2.2]")
        g.add_argument("--adp", metavar="GROUP=B,...",
                       help="isotropic B (Å^2) per ADP group or element [the structure's B values]")
        add_radiation_options(g)
        out = parser.add_argument_group("output")
        out.add_argument("--json", metavar="FILE",
                         help='also write {"bragg", "diffuse", "at_positions", "absolute", ...}')
        add_output_options(parser, out)

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        outputs = OutputFiles(force=args.force, inputs=[("--cif", args.cif)])
        outputs.plan("--json", args.json, "json")
        window = parse_range(args.window, 2, "--window")
        structure = load_structure(args)
        sub = find_subcell(structure, args.coherent_element)
        if sub is None or sub.n_classes == 1:
            raise NanotwinError(f"{structure.name} has no superstructure classes (its "
                                f"{args.coherent_element} sites span the whole cell or no lattice)")
        b_iso = resolve_adp(parse_adp(args.adp), structure_adp_groups(structure), structure_b(structure))
        model = {"twins": tuple(args.twin), "boundaries": default_boundaries(args),
                 "domain_size_nm": domain_size_of(args), "seeds": (args.seed,), "ensemble": args.ensemble}
        if args.ensemble and not args.twin:
            raise NanotwinError("--ensemble averages random twin networks: give the twin laws (--twin LAW)")
        label = _label(args, model)
        models = [("untwinned", {})] + ([(label, model)] if args.twin else [])
        with outputs, StepBar("superstructure", quiet=args.quiet) as steps:
            rows = superstructure_rows(structure, models, shape=args.shape, window=window, b_iso=b_iso,
                                       radiation=radiation_from_args(args), progress=steps,
                                       **crystal_sizes(args))
            row = rows[-1]
            doc = {k: row[k] for k in ("bragg", "diffuse", "at_positions", "at_positions_total", "absolute",
                                       "bragg_fraction") if k in row}
            doc.update(window=list(window), model=label, structure=structure.name,
                       notes={"bragg": BRAGG_SENTENCE, "diffuse": DIFFUSE_SENTENCE,
                              "at_positions": HEIGHTS_SENTENCE})
            if args.json:
                text = json.dumps(doc, indent=2)
                outputs.stage("--json", lambda path: atomic_write_text(path, text + "\n"))
            outputs.commit()
        print(format_rows(rows))
        print("\n".join((BRAGG_SENTENCE, DIFFUSE_SENTENCE, HEIGHTS_SENTENCE)))
        if args.json:
            print(f"wrote {args.json}")
        return 0


def _label(args: argparse.Namespace, model: dict) -> str:
    if not args.twin:
        return "untwinned"
    laws = " + ".join(args.twin)
    if model["ensemble"]:
        return f"{laws}, {args.domain_size} nm (ensemble)"
    if model["domain_size_nm"] is not None:
        return f"{laws}, {args.domain_size} nm (seed {args.seed})"
    return f"{laws}, {model['boundaries']} boundaries"
