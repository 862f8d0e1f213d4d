"""Option groups and value parsers shared by the ``nanotwin`` commands.

Every parser raises ``NanotwinError`` (or argparse's ``ArgumentTypeError`` inside argparse) with
a message naming the option and the value, so the command line prints one line and exits 2.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from nanotwin_core.builder.shape_kinds import shape_names
from nanotwin_core.errors import NanotwinError

EXIT_USAGE = 2
SHAPE_CHOICES = shape_names()  # the registered shapes (builder.shape_kinds)


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump): ``nanotwin build: error: ...``."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# ---------------------------------------------------------------------------------- value types
def positive_float(text: str) -> float:
    """argparse type: a number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def nonneg_float(text: str) -> float:
    """argparse type: a number >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def domain_size_value(text: str) -> float | str:
    """argparse type of --domain-size: one size in nm (> 0) or "LAW=NM,LAW=NM" (checked against the
    laws when the model is made)."""
    if "=" in text:
        for item in text.split(","):
            if "=" in item:
                value = item.rpartition("=")[2]
                try:
                    ok = float(value) > 0
                except ValueError:
                    raise argparse.ArgumentTypeError(f"not a number of nm in {item!r}") from None
                if not ok:
                    raise argparse.ArgumentTypeError(f"domain sizes must be > 0 nm, got {item!r}")
        return text
    return positive_float(text)


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def nonneg_int(text: str) -> int:
    """argparse type: a whole number >= 0."""
    value = _whole(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1."""
    value = _whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


# ---------------------------------------------------------------------------------- text values
def parse_range(text: str, n: int, what: str) -> tuple[float, ...]:
    """Parse 'A:B' (n=2) or 'A:B:C' (n=3) into floats, with a clear message."""
    parts = text.split(":")
    if len(parts) != n:
        form = "MIN:MAX" if n == 2 else "MIN:MAX:STEP"
        raise NanotwinError(f"{what} must look like {form}, got {text!r}")
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        raise NanotwinError(f"{what}: not a number in {text!r}") from None
    if values[1] <= values[0]:
        raise NanotwinError(f"{what}: MAX must be larger than MIN in {text!r}")
    if n == 3 and values[2] <= 0:
        raise NanotwinError(f"{what}: STEP must be > 0 in {text!r}")
    return values


def parse_keyvals(text: str, what: str) -> dict[str, float]:
    """'Dab=8.19,sab=0.24' -> dict of floats."""
    out: dict[str, float] = {}
    for item in text.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep or not name.strip():
            raise NanotwinError(f"{what} expects NAME=VALUE pairs, got {item!r}")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise NanotwinError(f"{what}: {name.strip()} is not a number: {value!r}") from None
    return out


def parse_adp(text: str | None) -> dict[str, float]:
    """'Pb=2.99,Cs=8.9' -> {'Pb': 2.99, 'Cs': 8.9} (B in Å^2, each >= 0)."""
    if not text:
        return {}
    out = parse_keyvals(",".join(item for item in text.split(",") if item.strip()), "--adp")
    for name, b in out.items():
        if b < 0:
            raise NanotwinError(f"--adp: B of {name} must be >= 0 Å^2")
    return out


def parse_seeds(text: str) -> list[int]:
    """'1-8' or '1,2,5' -> list of ints."""
    try:
        if "-" in text:
            lo, hi = (int(v) for v in text.split("-", 1))
            seeds = list(range(lo, hi + 1))
        else:
            seeds = [int(v) for v in text.split(",")]
    except ValueError:
        raise NanotwinError(f"seeds must look like 1-8 or 1,2,5, got {text!r}") from None
    if not seeds:
        raise NanotwinError(f"no seeds in {text!r}")
    return seeds


def parse_floats(text: str, what: str, count: int | None = None) -> list[float]:
    """'3,2.5' -> [3.0, 2.5]; ``count`` = the exact number expected."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise NanotwinError(f"{what}: not a list of numbers: {text!r}") from None
    if count is not None and len(values) != count:
        raise NanotwinError(f"{what} needs {count} numbers separated by commas, got {text!r}")
    return values


def parse_rranges(items: Sequence[str] | None) -> list[tuple[float, float]]:
    """--rrange values ('1.5:26', repeatable or comma lists) -> [(rmin, rmax), ...] in Å."""
    out: list[tuple[float, float]] = []
    for item in items or []:
        for part in item.split(","):
            if part.strip():
                lo, hi = parse_range(part.strip(), 2, "--rrange")
                if lo < 0:
                    raise NanotwinError(f"--rrange: rmin must be >= 0 Å in {part!r}")
                out.append((lo, hi))
    return out


# ---------------------------------------------------------------------------------- option groups
def add_model_options(p: argparse.ArgumentParser, *, population: bool = True,
                      max_atoms: bool = False) -> None:
    """MODEL options (INTERFACES.md): structure, shape and sizes, twins, exclusions, population;
    ``max_atoms``: also --max-atoms (commands that build one crystal)."""
    g = p.add_argument_group("model")
    src = g.add_mutually_exclusive_group()
    src.add_argument("--structure", metavar="NAME", help="built-in structure (see `nanotwin structures`)")
    src.add_argument("--cif", metavar="FILE", help="structure from a CIF file (or a pymatgen/Materials "
                     "Project structure .json)")
    g.add_argument("--tilt", metavar="AB[,C]",
                   help="gamma CsPbX3 from the tilt model: a-a- tilt AB and c+ tilt C in degrees (C omitted: "
                        "the library's ratio); rigid octahedra, Pb-X kept")
    g.add_argument("--shape", choices=SHAPE_CHOICES, default="prism",
                   help="crystal shape; hex_platelet takes --size-ab (diameter of the circle with the "
                        "hexagon's area) and --size-c (thickness) [prism]")
    g.add_argument("--size-ab", type=positive_float, metavar="NM",
                   help="prism base diameter D_ab in nm (nearest whole number of cells)")
    g.add_argument("--size-c", type=positive_float, metavar="NM", help="prism length L_c in nm")
    g.add_argument("--size", type=positive_float, metavar="NM", help="cuboid edge or sphere diameter in nm")
    g.add_argument("--twin", action="append", default=[], metavar="LAW",
                   help='twin law, e.g. "1/2<001>{110}", "1/2[-110](110)"; rotation "R90<110>{001}" '
                        '(90° about <uvw>, plane {hkl}) or reflection "m{110}" (repeatable)')
    dens = g.add_mutually_exclusive_group()
    dens.add_argument("--boundaries", type=nonneg_int, metavar="N", help="number of twin boundaries per law")
    dens.add_argument("--domain-size", type=domain_size_value, metavar="NM",
                      help='mean twin-domain size in nm, one for every law or per law: '
                           '"1/2<110>{110}=3,1/2<001>{110}=6" (every gap between Pb layers holds a '
                           "boundary of a law with probability layer spacing / size)")
    g.add_argument("--ensemble", action="store_true",
                   help="simulate/fit the exact average over every random network of --domain-size "
                        "(no realisations, no seeds); build and the 3D view show one realisation (--seed)")
    g.add_argument("--seed", type=int, default=0, help="random seed for boundary placement [0]")
    g.add_argument("--coherent-element", default="Pb", metavar="EL",
                   help="element whose sublattice twin shifts must preserve [Pb]")
    g.add_argument("--allow-incoherent", action="store_true",
                   help="accept twin shifts that break the coherent sublattice (warns)")
    g.add_argument("--exclude", action="append", default=[], metavar="A:B",
                   help="element pair left out of the Debye sum (repeatable)")
    surf = p.add_argument_group("surface (builder/terminations.py, builder/surface_shell.py)")
    surf.add_argument("--termination", metavar="NAME|RULE",
                      help="atoms closing the facets of the core of whole Pb (coherent) nodes: "
                           "stoichiometric (whole formula units), CsX (complete PbX6 octahedra, Cs in every "
                           "surface cavity, charge neutral: Cs n^3+3n^2 Pb n^3 X 3n^3+3n^2 for an n^3 cube), "
                           "PbX2 (Cs only in closed cavities), or a rule EL:K,...[,neutral:EL] (keep EL with "
                           ">= K core neighbours, K or 'full') [stoichiometric]")
    shell = surf.add_mutually_exclusive_group()
    shell.add_argument("--surface-shell", type=positive_float, metavar="Å",
                       help="atoms within this depth of the surface form their own ADP and occupancy groups "
                            "(Pb_surf, S_surf, ...)")
    shell.add_argument("--surface-layers", type=positive_int, metavar="N",
                       help="the same, N formula-unit layers deep ((N - 1/4) x the largest lattice-plane "
                            "spacing of the coherent sublattice)")
    surf.add_argument("--occupancy", metavar="GROUP=O,...",
                      help="occupancy factor (0-1) per ADP/occupancy group or element, e.g. S_surf=0.85 "
                           "(the start value when --refine occupancy)")
    if max_atoms:
        g.add_argument("--max-atoms", type=positive_int, default=None, metavar="N",
                       help="largest single crystal built, in atoms [5,000,000]; a larger request is "
                            "refused before any memory is used")
    if population:
        low = p.add_argument_group("small angle (scattering/small_angle.py)")
        low.add_argument("--chain", type=float, metavar="N",
                         help="crystals stacked in linear chains of N along c (spacing: the size along c; "
                              "a real N mixes the two nearest lengths); the start value with --refine chain")
        low.add_argument("--chain-gap", type=nonneg_float, metavar="Å",
                         help="gap between the stacked crystals of a chain (ligands), added to the size "
                              "along c [0]; the start value with --refine chain_gap")
        low.add_argument("--ligand", metavar="T,RHO",
                         help="organic ligand shell: thickness T (Å) and electron density RHO (e/Å^3), a "
                              "low-Q term; the start values with --refine ligand")
        g.add_argument("--texture", metavar="HKL[:R]",
                       help="March-Dollase fibre texture (Bragg-Brentano): the (hkl) planes lie in the "
                            "sample surface with ratio R (1 random, < 1 hkl enhanced), e.g. 110:0.7 "
                            "or 1,1,0:0.7 [R 0.8]; the start value with --refine texture (start on the side "
                            "you expect: r = 1 is a stationary point for cubic crystals); nanotwin fit also "
                            "takes 'auto': fit the axes 100, 110 and 111 and keep the best")
        g.add_argument("--population", metavar="SPEC",
                       help='size population instead of one crystal: "Dab=8.19,sab=0.24,Lc=9.79,sc=0.20" '
                            '(prisms) or "D=5.0,sD=0.2" (spheres, cuboids); sizes in nm; nanotwin fit also '
                            'takes "auto": start sizes from the breadth of the data\'s peaks')


def add_radiation_options(g) -> None:
    """--wavelength | --energy, --no-anomalous, --radiation (to an argument group)."""
    rad = g.add_mutually_exclusive_group()
    rad.add_argument("--wavelength", type=positive_float, metavar="Å",
                     help="wavelength in Å (switches on anomalous dispersion)")
    rad.add_argument("--energy", type=positive_float, metavar="KEV", help="photon energy in keV")
    g.add_argument("--no-anomalous", action="store_true", help="f' = f'' = 0")
    g.add_argument("--radiation", choices=("xray", "neutron"), default="xray")


def add_grid_options(p: argparse.ArgumentParser) -> None:
    """GRID options (INTERFACES.md): the Q or 2theta grid, radiation, B, polarization."""
    g = p.add_argument_group("grid and radiation")
    grid = g.add_mutually_exclusive_group()
    grid.add_argument("--q", metavar="QMIN:QMAX:QSTEP", help="uniform Q grid in 1/Å")
    grid.add_argument("--tth", metavar="MIN:MAX:STEP", help="2theta grid in degrees (needs --wavelength)")
    add_radiation_options(g)
    g.add_argument("--adp", metavar="GROUP=B,...",
                   help="isotropic B (Å^2) per ADP group (Pb, Cs, X_ax, X_eq, ...) or element")
    g.add_argument("--polarization", default="none", metavar="none|lab|sync[:F]|mono:2THETA_M",
                   help="polarization factor of a 2theta grid [none]; refused on a Q grid")
    g.add_argument("--threads", type=positive_int, default=None, help="numba threads [all cores]")


def add_cluster_options(group) -> None:
    """--workers N | --scheduler ADDRESS: where independent work runs (``nanotwin_core.distributed``);
    neither: here, as without a cluster."""
    g = group.add_mutually_exclusive_group()
    g.add_argument("--workers", type=positive_int, default=None, metavar="N",
                   help="start a local Dask cluster of N worker processes for the independent work "
                        "(the crystals of a size database, the fits of an independent series)")
    g.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="run that work on the Dask cluster of this scheduler (see the guide, "
                        "'Running on a cluster')")


def add_output_options(p: argparse.ArgumentParser, group) -> None:
    """--force and --quiet, shared by every command that writes files."""
    group.add_argument("--force", action="store_true",
                       help="replace existing output files that nanotwin did not write")
    group.add_argument("--quiet", action="store_true", help="no progress bars or progress lines")
