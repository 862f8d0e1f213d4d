"""The --figure options of simulate and fit: size, resolution, type size, difference layout."""

from __future__ import annotations

import argparse

from nanotwin_core.cli.options import positive_float
from nanotwin_core.errors import NanotwinError


def add_figure_options(group, *, figure_help: str | None = None) -> None:
    """--figure FILE (unless ``figure_help`` is None: the command defines it itself), its size,
    resolution and type size."""
    if figure_help is not None:
        group.add_argument("--figure", metavar="FILE.pdf", help=figure_help)
    group.add_argument("--figure-size", metavar="WxH[mm|px]", default="160x100mm",
                       help="size of the --figure [160x100mm]; px gives that many pixels at --dpi")
    group.add_argument("--dpi", type=positive_float, default=300.0,
                       help="resolution of a PNG/TIFF --figure (dots per inch) [300]")
    group.add_argument("--font-size", type=positive_float, default=8.0, metavar="PT",
                       help="type size of the --figure in points [8]")
    group.add_argument("--figure-difference", choices=("offset", "panel"), default="offset",
                       help="a fit's difference curve offset below the pattern or in a panel of its own "
                            "[offset]")


def figure_layout_from_args(args: argparse.Namespace):
    """The ``figures.FigureLayout`` of --figure-size, --dpi and --font-size."""
    from nanotwin_core.figures import FigureLayout

    text = str(args.figure_size).strip().lower()
    unit = "px" if text.endswith("px") else "mm"
    dims = text.removesuffix(unit).replace(":", "x").split("x")
    try:
        width, height = (float(v) for v in dims)
    except ValueError:
        raise NanotwinError(f"--figure-size {args.figure_size}: give WIDTHxHEIGHT in mm or px, "
                            "e.g. 160x100mm or 1800x1200px") from None
    if not (width > 0 and height > 0):
        raise NanotwinError(f"--figure-size {args.figure_size}: width and height must be > 0")
    return FigureLayout(width=width, height=height, unit=unit, dpi=int(round(args.dpi)),
                        font_pt=args.font_size)
