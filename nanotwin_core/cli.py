"""The ``nanotwin`` command: parses arguments and calls the core packages, nothing else.

Every user error (bad name, size <= 0, unreadable file, crystal too large) prints one line
``nanotwin: error: ...`` and exits with code 2, without a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from nanotwin_core._version import __version__
from nanotwin_core.errors import Cancelled, NanotwinError

EXIT_USAGE = 2


# ----------------------------------------------------------------------------- parsing helpers
class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump): ``nanotwin build: error: ...``."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _nonneg_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


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


def parse_adp(text: str | None) -> dict[str, float]:
    """'Pb=2.99,Cs=8.9' -> {'Pb': 2.99, 'Cs': 8.9} (B in Å^2)."""
    out: dict[str, float] = {}
    if not text:
        return out
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise NanotwinError(f"--adp expects GROUP=B pairs, got {item!r}")
        try:
            b = float(value)
        except ValueError:
            raise NanotwinError(f"--adp: B of {name.strip()} is not a number: {value!r}") from None
        if b < 0:
            raise NanotwinError(f"--adp: B of {name.strip()} must be >= 0 Å^2")
        out[name.strip()] = b
    return out


def parse_keyvals(text: str, what: str) -> dict[str, float]:
    """'Dab=8.19,sab=0.24' -> dict of floats."""
    out: dict[str, float] = {}
    for item in text.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep:
            raise NanotwinError(f"{what} expects NAME=VALUE pairs, got {item!r}")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise NanotwinError(f"{what}: {name.strip()} is not a number: {value!r}") from None
    return out


# ----------------------------------------------------------------------------- argument groups
def add_model_options(p: argparse.ArgumentParser, *, population: bool = True) -> None:
    g = p.add_argument_group("model")
    src = g.add_mutually_exclusive_group()
    src.add_argument("--structure", metavar="NAME", help="built-in structure (see `nanotwin structures`)")
    src.add_argument("--cif", metavar="FILE", help="structure from a CIF file (or a pymatgen/Materials "
                     "Project structure .json)")
    g.add_argument("--tilt", metavar="AB[,C]",
                   help="gamma CsPbX3 from the tilt model: a-a- tilt AB and c+ tilt C in degrees (C omitted: "
                        "the library's ratio); rigid octahedra, Pb-X kept")
    g.add_argument("--shape", choices=("prism", "cuboid", "sphere"), default="prism")
    g.add_argument("--size-ab", type=_positive_float, metavar="NM",
                   help="prism base diameter D_ab in nm (nearest whole number of cells)")
    g.add_argument("--size-c", type=_positive_float, metavar="NM", help="prism length L_c in nm")
    g.add_argument("--size", type=_positive_float, metavar="NM", help="cuboid edge or sphere diameter in nm")
    g.add_argument("--twin", action="append", default=[], metavar="LAW",
                   help='twin law, e.g. "1/2<001>{110}" or "1/2[-110](110)" (repeatable)')
    dens = g.add_mutually_exclusive_group()
    dens.add_argument("--boundaries", type=_nonneg_int, metavar="N", help="number of twin boundaries per law")
    dens.add_argument("--domain-size", type=_positive_float, metavar="NM", help="mean twin-domain size in nm")
    g.add_argument("--seed", type=int, default=0, help="random seed for boundary placement [0]")
    g.add_argument("--coherent-element", default="Pb", metavar="EL",
                   help="element whose sublattice twin shifts must preserve [Pb]")
    g.add_argument("--allow-incoherent", action="store_true",
                   help="accept twin shifts that break the coherent sublattice (warns)")
    g.add_argument("--exclude", action="append", default=[], metavar="A:B",
                   help="element pair left out of the Debye sum (repeatable)")
    if population:
        g.add_argument("--population", metavar="SPEC",
                       help='size population instead of one crystal: "Dab=8.19,sab=0.24,Lc=9.79,sc=0.20" '
                            '(prisms) or "D=5.0,sD=0.2" (spheres, cuboids); sizes in nm')


def add_grid_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("grid and radiation")
    grid = g.add_mutually_exclusive_group()
    grid.add_argument("--q", metavar="QMIN:QMAX:QSTEP", help="uniform Q grid in 1/Å")
    grid.add_argument("--tth", metavar="MIN:MAX:STEP", help="2theta grid in degrees (needs --wavelength)")
    rad = g.add_mutually_exclusive_group()
    rad.add_argument("--wavelength", type=_positive_float, metavar="Å",
                     help="wavelength in Å (switches on anomalous dispersion)")
    rad.add_argument("--energy", type=_positive_float, metavar="KEV", help="photon energy in keV")
    g.add_argument("--no-anomalous", action="store_true", help="f' = f'' = 0")
    g.add_argument("--radiation", choices=("xray", "neutron"), default="xray")
    g.add_argument("--adp", metavar="GROUP=B,...",
                   help="isotropic B (Å^2) per ADP group (Pb, Cs, X_ax, X_eq, ...) or element")
    g.add_argument("--polarization", default="none", metavar="none|lab|sync[:F]",
                   help="polarization correction for 2theta output [none]")
    g.add_argument("--threads", type=int, default=None, help="numba threads [all cores]")


# ----------------------------------------------------------------------------- commands
def cmd_structures(args: argparse.Namespace) -> int:
    from nanotwin_core.structures.library import structure_table

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


def load_structure(args: argparse.Namespace):
    """The structure named by --structure, read from --cif (CIF or pymatgen JSON), or made by --tilt."""
    from nanotwin_core.structures.files import resolve_structure

    if getattr(args, "cif", None) and getattr(args, "tilt", None):
        raise NanotwinError("--tilt generates a gamma structure from a built-in name; not with --cif")
    if not getattr(args, "cif", None) and not getattr(args, "structure", None):
        raise NanotwinError("give a structure: --structure NAME (see `nanotwin structures`) or --cif FILE")
    tilt = _parse_tilt(args.tilt) if getattr(args, "tilt", None) else None
    return resolve_structure(getattr(args, "structure", None), getattr(args, "cif", None), tilt)


def build_from_args(args: argparse.Namespace):
    """One crystal from the MODEL options."""
    from nanotwin_core.builder import build_crystal

    structure = load_structure(args)
    if args.shape == "prism":
        if args.size is not None and (args.size_ab is None and args.size_c is None):
            size_ab = size_c = args.size
        else:
            size_ab, size_c = args.size_ab, args.size_c
        if size_ab is None or size_c is None:
            raise NanotwinError("a prism needs --size-ab NM and --size-c NM")
        kwargs = dict(size_ab_nm=size_ab, size_c_nm=size_c)
    else:
        if args.size is None:
            raise NanotwinError(f"a {args.shape} needs --size NM")
        kwargs = dict(size_nm=args.size)
    if args.twin and args.boundaries is None and args.domain_size is None:
        args.boundaries = 1
    return build_crystal(
        structure,
        shape=args.shape,
        twins=tuple(args.twin),
        boundaries=args.boundaries,
        domain_size_nm=args.domain_size,
        seed=args.seed,
        coherent_element=args.coherent_element,
        allow_incoherent=args.allow_incoherent,
        **kwargs,
    )


def _describe(crystal) -> str:
    info = crystal.info
    comp = crystal.composition()
    formula = " ".join(f"{el}{comp[el]:g}" for el in sorted(comp))
    parts = [f"{crystal.n_atoms} atoms ({formula})"]
    if "D_ab_nm" in info:
        parts.append(f"D_ab = {info['D_ab_nm']:.3f} nm, L_c = {info['L_c_nm']:.3f} nm")
    elif "size_nm" in info:
        parts.append(f"size = {info['size_nm']:.3f} nm")
    if info.get("n_variants", 1) > 1 or info.get("n_boundaries"):
        parts.append(f"{info.get('n_boundaries', 0)} boundaries, {info.get('n_domains', 1)} domains, "
                     f"{info.get('n_variants', 1)} variants")
    return "; ".join(parts)


def cmd_build(args: argparse.Namespace) -> int:
    from nanotwin_core.io.xyz import write_xyz

    if getattr(args, "population", None):
        raise NanotwinError("build makes one crystal: --population is for simulate and fit")
    crystal = build_from_args(args)
    write_xyz(crystal, args.out)
    print(f"wrote {args.out}: {_describe(crystal)}")
    return 0


def _q_grid(args: argparse.Namespace):
    """(q, x, x_kind, wavelength) from the GRID options."""
    import numpy as np

    from nanotwin_core.scattering.form_factors import wavelength_from_energy

    wavelength = args.wavelength
    if wavelength is None and args.energy is not None:
        wavelength = wavelength_from_energy(args.energy)
    if args.tth:
        lo, hi, step = parse_range(args.tth, 3, "--tth")
        if wavelength is None:
            raise NanotwinError("--tth needs --wavelength (or --energy)")
        if not 0 < lo and hi < 180:
            raise NanotwinError("--tth range must lie inside (0, 180) degrees")
        x = np.arange(lo, hi + step * 0.5, step)
        q = 4 * np.pi * np.sin(np.radians(x) / 2) / wavelength
        return q, x, "tth", wavelength
    lo, hi, step = parse_range(args.q or "0.5:20:0.005", 3, "--q")
    if lo <= 0:
        raise NanotwinError("--q: QMIN must be > 0 1/Å")
    q = np.arange(lo, hi + step * 0.5, step)
    return q, q, "q", wavelength


def cmd_simulate(args: argparse.Namespace) -> int:
    import numpy as np

    from nanotwin_core.io.data import write_pattern
    from nanotwin_core.scattering import compute_histograms, debye_intensity
    from nanotwin_core.scattering.radiation import XRay
    from nanotwin_core.structures.adp import adp_groups_of, check_adp_names

    q, x, x_kind, wavelength = _q_grid(args)
    radiation = radiation_from_args(args)
    energy = radiation.anomalous_energy if isinstance(radiation, XRay) else None
    adp = parse_adp(args.adp)
    if args.xyz:
        from nanotwin_core.io.xyz import read_xyz

        crystal = read_xyz(args.xyz)
        source = f"xyz {args.xyz}"
    elif args.population:
        return _simulate_population(args, q, x, x_kind, wavelength, energy)
    else:
        crystal = build_from_args(args)
        source = _describe(crystal)
    check_adp_names(adp, adp_groups_of(crystal.adp_groups, crystal.elements))
    t0 = time.perf_counter()
    hist = compute_histograms(crystal, n_threads=args.threads)
    intensity = debye_intensity(hist, q, b_iso=adp, radiation=radiation)
    if x_kind == "tth" and args.polarization != "none":
        from nanotwin_core.scattering import polarization_factor

        intensity = intensity * polarization_factor(x, args.polarization)
    elapsed = time.perf_counter() - t0
    header = [
        f"nanotwin {__version__} simulate",
        f"model: {source}",
        f"axis: {'2theta (degrees)' if x_kind == 'tth' else 'Q (1/A)'}",
        f"wavelength: {wavelength:.8g} A" if wavelength else "wavelength: none",
        "anomalous: " + ("off" if args.no_anomalous or energy is None else f"on at {energy:.5g} keV")
        + (" (no wavelength or energy given: f' = f'' = 0)" if energy is None and not args.no_anomalous
           else ""),
        f"radiation: {radiation.kind}",
        f"adp (B, A^2): {json.dumps(adp) if adp else 'B = 0 for every group'}",
        f"polarization: {args.polarization}",
        f"atoms: {crystal.n_atoms}; pairs: {int(hist.n_pairs)}; time: {elapsed:.3f} s",
        f"columns: {'2theta' if x_kind == 'tth' else 'Q'} I",
    ]
    write_pattern(args.out, x, intensity, header_lines=header)
    print(f"wrote {args.out}: {len(x)} points, {crystal.n_atoms} atoms, {elapsed:.3f} s")
    if args.pdf:
        from nanotwin_core.io.data import write_gr
        from nanotwin_core.scattering import compute_pdf

        if args.qmax is None or args.rmax is None:
            raise NanotwinError("--pdf needs --qmax Q and --rmax R")
        r, g = compute_pdf(
            hist, qmin=args.qmin, qmax=args.qmax, rmax=args.rmax, rstep=args.rstep,
            qdamp=args.qdamp, lorch=args.lorch, b_iso=adp, radiation=radiation,
        )
        write_gr(args.pdf, r, g, header_lines=header[:2] + [
            f"qmin: {args.qmin} qmax: {args.qmax} qdamp: {args.qdamp} lorch: {args.lorch}",
            "columns: r (A) G(r) (1/A^2)",
        ])
        print(f"wrote {args.pdf}: {len(r)} points")
    del np
    return 0


def _simulate_population(args: argparse.Namespace, q, x, x_kind: str, wavelength, energy) -> int:
    """simulate --population: the number-weighted mean pattern of a log-normal size population.

    The per-size patterns come from the same size database the fits use (one DSE per whole
    crystal, the grid cut by intensity weight); the header states the grid and what it leaves out.
    """
    from nanotwin_core.actions import compute_pattern
    from nanotwin_core.io.data import write_pattern

    if args.pdf:
        raise NanotwinError("--pdf with --population is not supported: give one crystal for G(r)")
    model = model_from_args(args)
    model.instrument.polarization = args.polarization
    tty = sys.stdout.isatty()

    def show_progress(fraction: float, message: str) -> None:
        if tty:
            print(f"\r  building size database: {fraction:5.1%} {message:30s}", end="", flush=True)

    pattern = compute_pattern(model, x, x_kind=x_kind, wavelength=wavelength, progress=show_progress)
    if tty:
        print()
    info = pattern.info
    first = info["populations"][0]
    sizes = ", ".join(f"{k}={first[k]:.4g}" for k in ("Dab_nm", "sab", "Lc_nm", "sc", "mean_D_nm", "sD",
                                                      "D_eq_nm") if isinstance(first.get(k), float))
    header = [
        f"nanotwin {__version__} simulate (population)",
        f"model: {json.dumps(model.to_dict(), sort_keys=True)}",
        f"axis: {'2theta (degrees)' if x_kind == 'tth' else 'Q (1/A)'}",
        f"wavelength: {wavelength:.8g} A" if wavelength else "wavelength: none",
        "anomalous: " + ("off" if args.no_anomalous or energy is None else f"on at {energy:.5g} keV"),
        f"radiation: {model.radiation.kind}",
        f"polarization: {args.polarization}",
        f"population (number-based, nm): {sizes}",
        f"size grid: {info['n_sizes']} crystals; intensity fraction left out "
        f"{info['intensity_fraction_out']:.2e}; time: {info['seconds']:.2f} s",
        "intensity: number-weighted mean per crystal (electrons^2 units)",
        f"columns: {'2theta' if x_kind == 'tth' else 'Q'} I",
    ]
    for message in pattern.messages:
        header.append(f"note: {message}")
    write_pattern(args.out, x, pattern.intensity, header_lines=header)
    print(f"wrote {args.out}: {len(x)} points, {info['n_sizes']} crystal sizes, {info['seconds']:.2f} s")
    return 0


def cmd_population(args: argparse.Namespace) -> int:
    """Table 2 of the paper from population parameters: number- and volume-weighted statistics."""
    from nanotwin_core.model import PopulationSpec
    from nanotwin_core.population.distributions import BivariateLogNormal, LogNormal
    from nanotwin_core.population.statistics import prism_statistics, sphere_statistics

    spec = PopulationSpec.parse(args.spec)
    spec.validate("prism" if spec.bivariate else "sphere")
    rows = {}
    if spec.bivariate:
        dist = BivariateLogNormal(spec.Dab, spec.sab, spec.Lc, spec.sc, spec.correlation)
        for weighting in ("number", "volume"):
            rows[weighting] = prism_statistics(dist, weighting).as_dict()
        n, v = rows["number"], rows["volume"]

        def row(label: str, mean: str, rel: str | None) -> str:
            cells = [f"{w[mean]:9.2f}" + (f", {w[rel]:.2f}" if rel else "      ") for w in (n, v)]
            return f"{label:34s}{cells[0]}{cells[1]:>17s}"

        lines = [
            f"{'':34s}{'number-based':>16s}{'volume-weighted':>18s}",
            row("<D_ab> (nm), sigma_ab/<D_ab>", "d_ab", "s_ab"),
            row("<L_c> (nm), sigma_c/<L_c>", "l_c", "s_c"),
            row("aspect ratio <L_c>/<D_ab>", "aspect", None),
            row("<D_eq> (nm), sigma/<D_eq>", "d_eq", "s_eq"),
        ]
    else:
        dist = LogNormal(spec.D, spec.sD)
        for weighting in ("number", "volume"):
            st = sphere_statistics(dist, weighting)
            rows[weighting] = {"mean": st.mean, "rel_sigma": st.rel_sigma, "mean_vol": st.mean_vol}
        n, v = rows["number"], rows["volume"]
        lines = [
            f"{'':26s}{'number-based':>16s}{'volume-weighted':>18s}",
            f"{'<D> (nm), sigma/<D>':26s}{n['mean']:9.2f}, {n['rel_sigma']:.2f}"
            f"{v['mean']:11.2f}, {v['rel_sigma']:.2f}",
        ]
    if args.json:
        print(json.dumps({"spec": args.spec, **rows}, indent=2, sort_keys=True))
    else:
        print("\n".join(lines))
    return 0


def model_from_args(args: argparse.Namespace):
    """A ``Model`` from --model FILE.toml, --demo NAME or the MODEL options."""
    from nanotwin_core.model import Model, PopulationSpec, read_model_toml

    if getattr(args, "model", None):
        model = read_model_toml(args.model)
    elif getattr(args, "demo", None):
        from nanotwin_core.demos import get_demo

        model = get_demo(args.demo).models[-1].to_model()
    else:
        if not args.structure and not args.cif:
            raise NanotwinError(
                "give a model: --structure NAME, --cif FILE, --model FILE.toml or --demo NAME"
            )
        model = Model(
            structure=args.structure, cif=args.cif, shape=args.shape, size_ab_nm=args.size_ab,
            size_c_nm=args.size_c, size_nm=args.size,
            population=PopulationSpec.parse(args.population) if args.population else None,
            twins=list(args.twin), boundaries=args.boundaries, domain_size_nm=args.domain_size,
            seeds=[args.seed], coherent_element=args.coherent_element,
            allow_incoherent=args.allow_incoherent, exclude=list(args.exclude),
            tilt=_parse_tilt(args.tilt) if getattr(args, "tilt", None) else None,
        )
        if model.cif:
            model.structure = None
        if model.shape == "prism" and model.population is None and args.size is not None:
            model.size_ab_nm = model.size_ab_nm or args.size
            model.size_c_nm = model.size_c_nm or args.size
    if args.twin and model.twins and model.boundaries is None and model.domain_size_nm is None:
        model.boundaries = 1
    model.adp.update(parse_adp(args.adp))
    model.radiation = radiation_from_args(args, model.radiation)
    if getattr(args, "twin_states", None):
        from nanotwin_core.refine.dse_fit import twin_states

        if not model.twins:
            raise NanotwinError("--twin-states needs the twin laws (--twin LAW)")
        sizes = [float(v) for v in parse_keyvals(
            ",".join(f"d{i}={v}" for i, v in enumerate(args.twin_states.split(","))), "--twin-states"
        ).values()]
        model.components = twin_states(model.twins, sizes, _parse_seeds(args.twin_seeds or "1-4"))
    return model.validate()


def radiation_from_args(args: argparse.Namespace, base=None):
    """The Radiation of --radiation, --wavelength/--energy, --no-anomalous (``base``: a model
    file's radiation, whose values the options override)."""
    from nanotwin_core.scattering.radiation import make_radiation

    params = {} if base is None else {k: v for k, v in base.to_dict().items() if k != "kind"}
    kind = args.radiation if base is None or args.radiation != "xray" else base.kind
    if args.wavelength:
        params.pop("energy_kev", None)
        params["wavelength"] = args.wavelength
    if getattr(args, "energy", None):
        params.pop("wavelength", None)
        params["energy_kev"] = args.energy
    if kind == "xray":
        params["anomalous"] = not args.no_anomalous and params.get("anomalous", True)
    else:
        params = {k: v for k, v in params.items() if k == "wavelength"}
    return make_radiation(kind, **params)


def _parse_tilt(text: str) -> list[float]:
    """--tilt AB[,C] (degrees) -> [AB] or [AB, C]."""
    try:
        angles = [float(v) for v in text.split(",")]
    except ValueError:
        raise NanotwinError(f"--tilt must look like AB or AB,C (degrees), got {text!r}") from None
    if len(angles) not in (1, 2):
        raise NanotwinError(f"--tilt must look like AB or AB,C (degrees), got {text!r}")
    return angles


def _parse_seeds(text: str) -> list[int]:
    """'1-8' or '1,2,5' -> list of ints."""
    try:
        if "-" in text:
            lo, hi = (int(v) for v in text.split("-", 1))
            return list(range(lo, hi + 1))
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise NanotwinError(f"seeds must look like 1-8 or 1,2,5, got {text!r}") from None


POWDER_REFINE = "scale,background,adp,size"
PDF_REFINE = "scale,adp,expansion,delta2"


def cmd_fit(args: argparse.Namespace) -> int:
    from nanotwin_core.actions import fit_model, fit_parts
    from nanotwin_core.io.data import read_pattern
    from nanotwin_core.io.project import Project, save_project
    from nanotwin_core.model import FitSpec, Instrument
    from nanotwin_core.refine.dse_fit import population_summary
    from nanotwin_core.refine.report import markdown_report, result_json
    from nanotwin_core.scattering.form_factors import wavelength_from_energy

    if Path(args.data).suffix.lower() == ".gr":
        return _cmd_fit_pdf(args)
    if args.xyz or args.rrange:
        raise NanotwinError("--xyz and --rrange are for PDF fits (a .gr data file)")
    model = model_from_args(args)
    wavelength = args.wavelength or (wavelength_from_energy(args.energy) if args.energy else None)
    data = read_pattern(args.data, x_kind=args.x, wavelength=wavelength)
    order = None
    if args.background:
        kind, _, n = args.background.partition(":")
        if kind != "chebyshev" or not n.isdigit():
            raise NanotwinError(f"--background must look like chebyshev:N, got {args.background!r}")
        order = int(n)
    refine = tuple(r.strip() for r in (args.refine or POWDER_REFINE).split(",") if r.strip())
    caglioti = None
    if args.caglioti:
        values = parse_keyvals(",".join(f"{k}={v}" for k, v in zip("UVW", args.caglioti.split(","),
                                                                    strict=False)), "--caglioti")
        if len(values) != 3:
            raise NanotwinError("--caglioti needs three numbers U,V,W (deg^2)")
        caglioti = (values["U"], values["V"], values["W"])
    model.instrument = Instrument(polarization=args.polarization, caglioti=caglioti)
    model.fit = FitSpec(
        refine=list(refine), background_order=order,
        q_range=parse_range(args.range, 2, "--range") if args.range else None,
        tth_range=parse_range(args.tth_range, 2, "--tth-range") if args.tth_range else None,
        blank=str(Path(args.blank).resolve()) if args.blank else None, max_nfev=args.max_nfev,
    )
    model.validate()
    t0 = time.perf_counter()

    def show_progress(fraction: float, message: str) -> None:
        if not args.quiet:
            print(f"\r  building size database: {fraction:5.1%} {message:30s}", end="", flush=True)

    def show_iteration(values: dict, rwp: float) -> None:
        if not args.quiet:
            print(f"\r  iteration: Rwp = {rwp:.5f}" + " " * 30, end="", flush=True)

    databases: dict = {}
    if args.reuse:
        from nanotwin_core.io.project import open_project, size_databases_from_project

        databases = size_databases_from_project(open_project(args.reuse))
    reused = set(databases)
    problem, result = fit_model(model, data, blank_x_kind=args.x, progress=show_progress,
                                callback=show_iteration, databases=databases)
    elapsed = time.perf_counter() - t0
    if not args.quiet:
        print()
    populations = population_summary(problem, result)
    summary = result_json(result, populations)
    summary["model"] = model.to_dict()
    summary["data"] = {"path": str(args.data), "x_kind": data.x_kind, "wavelength": data.wavelength}
    summary["seconds"] = elapsed
    if problem.is_mixture:
        from nanotwin_core.refine.dse_fit import mixture_summary

        summary["mixture"] = mixture_summary(problem, result)
    if not data.sigma_is_absolute:
        summary["note"] = "the data carry no sigma: GoF and Rexp are not absolute"
    parts = fit_parts(problem, {p.name: p.value for p in result.params})
    project = Project(
        model=model.to_dict(),
        data={"observed": {"x": data.x, "y": data.y, "sigma": data.sigma_used}},
        data_meta={"observed": {"path": str(args.data), "x_kind": data.x_kind,
                                "wavelength": data.wavelength, "sigma_source": data.sigma_source}},
        cache={"fit": parts.arrays()},
        cache_meta={"fit": {"columns": problem.linear_names}},
        results={"fit": summary},
        history=[{"command": "fit", "refine": list(refine), "gof": summary["gof"]}],
    )
    from nanotwin_core.io.project import size_database_to_cache

    used = [db for db in [problem.database, *(c.database for c in problem.components)]
            if hasattr(db, "to_arrays")]  # cell/tilt fits keep pair tables, not per-size sums
    for i_db, db in enumerate({id(d): d for d in used}.values()):
        project.cache[f"sizedb_{i_db}"], project.cache_meta[f"sizedb_{i_db}"] = size_database_to_cache(db)
    if reused & {db.info.get("key") for db in used}:
        print(f"  size database reused from {args.reuse}")
    save_project(project, args.out)
    pop = summary["population"]
    print(f"GoF = {result.gof:.3f}  Rwp = {result.rwp:.4f}  Rexp = {result.rexp:.4f}  "
          f"N = {result.n_points}  P = {result.n_params}  ({elapsed:.1f} s)")
    from nanotwin_core.refine.report import format_esd

    for prm in result.params:
        if prm.refine and not prm.linear:
            print(f"  {prm.name:12s} {format_esd(prm.value, prm.esd)}"
                  + (f"  (at {prm.at_bound} bound)" if prm.at_bound else ""))
    first = populations[0]
    for key, label in (("mean_D_vol_nm", "volume-weighted mean D"), ("D_eq_vol_nm", "volume-weighted D_eq")):
        if first.get(key) is not None:
            print(f"  {label}: {format_esd(first[key], first['esd'].get(key))} nm")
    if pop.get("mean_D_nm") is not None:
        print(f"  mean size {pop['mean_D_nm']:.3f} nm" + (f", L_c {pop['mean_L_nm']:.3f} nm" if pop.get(
            "mean_L_nm") else "") + (f", D_eq {pop['D_eq_nm']:.3f} nm" if pop.get("D_eq_nm") else ""))
    for msg in result.messages:
        print(f"  note: {msg}")
    _write_fit_outputs(args, summary, lambda: markdown_report(
        result, title=f"nanotwin fit of {Path(args.data).name}", data_note=summary.get("note"),
    ) + _population_markdown(populations))
    return 0


def _parse_rranges(items: Sequence[str] | None) -> list[tuple[float, float]]:
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


def _cmd_fit_pdf(args: argparse.Namespace) -> int:
    """fit --data FILE.gr: a PDF refinement (one per --rrange) with the DSE model."""
    import numpy as np

    from nanotwin_core.io.data import read_gr
    from nanotwin_core.io.project import Project, save_project
    from nanotwin_core.refine.pdf_fit import (
        PDFFitSettings,
        fit_pdf,
        fit_pdf_ranges,
        model_from_crystal,
        pdf_fit_json,
        pdf_markdown,
        realised_size,
        sphere_ladder,
        structure_b,
        window_from_data,
    )
    from nanotwin_core.refine.report import format_esd

    if args.model or args.demo or args.population or args.twin:
        raise NanotwinError("PDF fits take --structure/--cif with --shape/--size, or --xyz "
                            "(no --model, --demo, --population or --twin yet)")
    data = read_gr(args.data)
    refine = tuple(r.strip() for r in (args.refine or PDF_REFINE).split(",") if r.strip())
    ranges = _parse_rranges(args.rrange) or [(1.0, 20.0)]
    settings = PDFFitSettings(
        rmin=ranges[0][0], rmax=ranges[0][1], qmin=args.qmin, qmax=args.qmax,
        qdamp=args.qdamp, qbroad=args.qbroad, delta2=args.delta2, spdiameter=args.spdiameter,
        refine=refine, adp=parse_adp(args.adp), radiation=args.radiation, max_nfev=args.max_nfev,
    ).check()
    qmin, qmax = window_from_data(data, settings)
    start_b: dict[str, float] = {}
    t0 = time.perf_counter()
    if args.xyz:
        from nanotwin_core.io.xyz import read_xyz

        model = model_from_crystal(read_xyz(args.xyz), qmin=qmin, qmax=qmax, radiation=args.radiation,
                                   n_threads=None)
        source = {"xyz": str(args.xyz)}
    else:
        structure = load_structure(args)
        start_b = structure_b(structure)
        elements = {s.element for s in structure.sites}
        coherent = args.coherent_element if args.coherent_element in elements else structure.sites[0].element
        if "size" in refine:
            if args.shape != "sphere" or args.size is None:
                raise NanotwinError("--refine size in a PDF fit needs --shape sphere --size NM")
            from nanotwin_core.refine.pdf_fit import PDFModel

            model = PDFModel(sphere_ladder(structure, args.size, coherent_element=coherent),
                             qmin=qmin, qmax=qmax, radiation=args.radiation)
        else:
            args.coherent_element = coherent
            model = model_from_crystal(build_from_args(args), qmin=qmin, qmax=qmax, radiation=args.radiation)
        source = {"structure": structure.name, "shape": args.shape, "size_nm": args.size}
    if not args.quiet:
        print(f"  PDF model ready ({time.perf_counter() - t0:.1f} s); fitting {len(ranges)} r range(s)")
    if len(ranges) == 1:
        out = fit_pdf(data, model, settings, start_b=start_b)
        fits = [(ranges[0], out.result, out.rw)]
    else:
        fits = [((f.rmin, f.rmax), f.result, f.rw)
                for f in fit_pdf_ranges(data, model, settings, ranges, start_b=start_b)]
    elapsed = time.perf_counter() - t0
    entries, curves = [], {}
    for (lo, hi), res, rw in fits:
        vals = res.params.values()
        entry = pdf_fit_json(res, rw, rmin=lo, rmax=hi, qmin=qmin, qmax=qmax,
                             size_nm=realised_size(model, vals))
        entries.append(entry)
        curves[f"fit_{lo:g}_{hi:g}"] = {"r": data.r[(data.r >= lo) & (data.r <= hi)], "g_calc": res.y_calc}
    summary = dict(entries[0])
    summary["model"] = source
    summary["data"] = {"path": str(args.data), "kind": "pdf"}
    summary["seconds"] = elapsed
    if len(entries) > 1:
        summary["ranges"] = entries
    sigma = data.dg if data.dg is not None else np.ones(data.r.size)
    project = Project(
        model={"pdf": source, "refine": list(refine)},
        data={"observed": {"x": data.r, "y": data.g, "sigma": sigma}},
        data_meta={"observed": {"path": str(args.data), "x_kind": "r", "kind": "pdf",
                                "sigma_source": "file" if data.dg is not None else "unit_weights"}},
        cache=curves,
        cache_meta={k: {"kind": "pdf_fit"} for k in curves},
        results={"fit": summary},
        history=[{"command": "fit", "kind": "pdf", "refine": list(refine), "rw": [e["rw"] for e in entries]}],
    )
    save_project(project, args.out)
    for e, ((lo, hi), res, rw) in zip(entries, fits, strict=True):
        print(f"r = {lo:g}-{hi:g} Å: Rw = {rw:.4f}  N = {res.n_points}  P = {res.n_params}"
              f"  ({elapsed:.1f} s)")
        for prm in res.params:
            if prm.refine and prm.constraint is None:
                print(f"  {prm.name:12s} {format_esd(prm.value, prm.esd)}"
                      + (f"  (at {prm.at_bound} bound)" if prm.at_bound else ""))
        if e.get("population"):
            print(f"  sphere diameter {e['population']['D_eq_nm']:.3f} nm")
    for msg in fits[0][1].messages:
        print(f"  note: {msg}")
    _write_fit_outputs(args, summary, lambda: pdf_markdown(
        entries, [f[1] for f in fits], title=f"nanotwin PDF fit of {Path(args.data).name}"))
    return 0


def _population_markdown(populations: list[dict]) -> str:
    from nanotwin_core.refine.report import format_esd

    lines = ["", "## Size population", "", "| quantity | value |", "|---|---|"]
    for pop in populations:
        esd = pop.get("esd", {})
        for key in ("Dab_nm", "sab", "Lc_nm", "sc", "mean_D_nm", "sD", "D_eq_nm", "s_eq", "aspect"):
            if pop.get(key) is not None:
                lines.append(f"| {key} | {format_esd(pop[key], esd.get(key))} |")
        lines.append(f"| weighting | {pop.get('weighting')} |")
    return "\n".join(lines) + "\n"


def _json_default(value):
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _write_fit_outputs(args: argparse.Namespace, summary: dict, report: Callable[[], str]) -> None:
    """Say where the project went; write --json and --report (the report made only if asked)."""
    print(f"wrote {args.out}")
    if args.json:
        _write_text(args.json, json.dumps(summary, indent=2, default=_json_default))
        print(f"wrote {args.json}")
    if args.report:
        _write_text(args.report, report())
        print(f"wrote {args.report}")


def _write_text(path: str, text: str) -> None:
    import os

    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, target)


def cmd_demo(args: argparse.Namespace) -> int:
    from nanotwin_core import demos

    if args.list or not args.name:
        for name, demo in demos.DEMOS.items():
            print(f"{name:24s} {demo.title}")
        return 0
    out = Path(args.out or f"nanotwin-demo-{args.name}")
    result = demos.run_demo(args.name, out, progress=lambda msg: print(msg, flush=True))
    for path in result.files:
        print(f"wrote {path}")
    if args.table:
        rows = demos.superstructure_table(args.name, progress=lambda msg: print(msg, flush=True))
        text = demos.format_superstructure_table(rows)
        (out / f"{args.name}_superstructure.txt").write_text(
            "# superstructure heights (I - I0 at the R, M, X positions) and integrated (110), (200),\n"
            f"# relative to the first model; {demos.get_demo(args.name).title}\n{text}\n", encoding="utf-8")
        print(text)
    return 0


def cmd_gui(args: argparse.Namespace) -> int:
    try:
        from nanotwin_app.main import run_gui
    except ImportError as exc:
        if "nanotwin_app.main" not in str(exc) and "run_gui" not in str(exc):
            raise NanotwinError(f"the GUI cannot start: {exc}") from exc
        raise NanotwinError(
            "the graphical workbench is not part of this version yet; "
            "use `nanotwin demo --list` for the headless demos"
        ) from None
    return run_gui(args)


# ----------------------------------------------------------------------------- main
def make_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="nanotwin",
        description="Twinned nanocrystals, Debye scattering powder patterns and PDFs, refinement.",
    )
    p.add_argument("--version", action="version", version=f"nanotwin {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    s = sub.add_parser("structures", help="list the built-in structures")
    s.add_argument("--json", action="store_true", help="print JSON instead of a table")
    s.set_defaults(func=cmd_structures)

    b = sub.add_parser("build", help="build one nanocrystal and write extended XYZ")
    add_model_options(b)
    b.add_argument("--out", required=True, metavar="FILE.xyz")
    b.set_defaults(func=cmd_build)

    sim = sub.add_parser("simulate", help="powder pattern (and PDF) by the Debye scattering equation")
    add_model_options(sim)
    sim.add_argument("--xyz", metavar="FILE", help="atoms from an XYZ file instead of a model")
    add_grid_options(sim)
    sim.add_argument("--out", required=True, metavar="FILE.xye")
    pdf = sim.add_argument_group("pair distribution function")
    pdf.add_argument("--pdf", metavar="FILE.gr", help="also write G(r)")
    pdf.add_argument("--qmin", type=float, default=0.0, help="lower Q limit of the transform [0] 1/Å")
    pdf.add_argument("--qmax", type=_positive_float, help="upper Q limit of the transform, 1/Å")
    pdf.add_argument("--rmax", type=_positive_float, help="largest r, Å")
    pdf.add_argument("--rstep", type=_positive_float, default=0.01, help="r step [0.01] Å")
    pdf.add_argument("--qdamp", type=float, default=0.0, help="Gaussian envelope exp(-(r qdamp)^2/2) [0] 1/Å")
    pdf.add_argument("--lorch", action="store_true", help="Lorch modification function")
    sim.set_defaults(func=cmd_simulate)

    ft = sub.add_parser("fit", help="refine a model against a measured pattern")
    add_model_options(ft)
    src = ft.add_argument_group("model source (instead of the MODEL options)")
    src.add_argument("--model", metavar="FILE.toml", help="model file (see README)")
    src.add_argument("--demo", metavar="NAME", help="start from a demo's model")
    dat = ft.add_argument_group("data")
    dat.add_argument("--data", required=True, metavar="FILE",
                     help=".xye/.xy/.dat/.chi pattern, or a .gr G(r) for a PDF fit")
    dat.add_argument("--x", choices=("tth", "q"), help="what the first column is, for files without a header")
    rad = dat.add_mutually_exclusive_group()
    rad.add_argument("--wavelength", type=_positive_float, metavar="Å", help="wavelength in Å")
    rad.add_argument("--energy", type=_positive_float, metavar="KEV", help="photon energy in keV")
    dat.add_argument("--no-anomalous", action="store_true", help="f' = f'' = 0")
    dat.add_argument("--radiation", choices=("xray", "neutron"), default="xray")
    dat.add_argument("--blank", metavar="FILE", help="solvent/capillary pattern, scaled as a background")
    rng = dat.add_mutually_exclusive_group()
    rng.add_argument("--range", metavar="QMIN:QMAX", help="fitted Q range (1/Å)")
    rng.add_argument("--tth-range", metavar="MIN:MAX", help="fitted 2theta range (degrees)")
    par = ft.add_argument_group("refinement")
    par.add_argument("--refine", default=None,
                     help="what to refine: scale,background,adp,size,expansion,zero,fractions,twin,cell,tilt "
                          f"[{POWDER_REFINE}]; cell = a_A, b_A, c_A (+-3 %%) and tilt = tilt_ab_deg, "
                          "tilt_c_deg (gamma CsPbX3, 0-25 degrees) for a single crystal (no --population "
                          "or mixture; not together), re-histogramming its stored pair table; "
                          "PDF fits: scale,adp,expansion,qdamp,qbroad,delta1,delta2,"
                          f"size,spdiameter [{PDF_REFINE}]")
    par.add_argument("--twin-states", metavar="NM,NM,...",
                     help="twin density as a mixture of states with these mean domain sizes (nm) "
                          "plus the untwinned crystal; use with --twin and --refine twin")
    par.add_argument("--twin-seeds", metavar="1-8", help="seeds of every twinned state [1-4]")
    par.add_argument("--background", metavar="chebyshev:N",
                     help="Chebyshev background of order N [chebyshev:4]")
    par.add_argument("--adp", metavar="GROUP=B,...", help="start B (Å^2) per ADP group or element")
    par.add_argument("--polarization", default="sync", metavar="none|lab|sync[:F]",
                     help="polarization correction for 2theta data [sync]")
    par.add_argument("--caglioti", metavar="U,V,W", help="instrument resolution (deg^2), pseudo-Voigt")
    par.add_argument("--max-nfev", type=int, default=200, help="largest number of model evaluations [200]")
    pdf = ft.add_argument_group("PDF fits (--data FILE.gr)")
    pdf.add_argument("--xyz", metavar="FILE", help="model atoms from an XYZ file instead of a structure")
    pdf.add_argument("--rrange", action="append", metavar="RMIN:RMAX",
                     help="fitted r range in Å [1:20]; repeat it or give a comma list for "
                          "range-resolved fits (one refinement per range)")
    pdf.add_argument("--qmin", type=float, default=None,
                     help="lower Q of the data's transform, 1/Å [header, else 0]; removes the "
                          "small-angle scattering of the model as in the data")
    pdf.add_argument("--qmax", type=_positive_float, default=None,
                     help="upper Q of the data's transform (termination ripples), 1/Å [header]")
    pdf.add_argument("--qdamp", type=float, default=0.0,
                     help="Q resolution envelope exp(-(qdamp r)^2/2), start value [0] 1/Å")
    pdf.add_argument("--qbroad", type=float, default=0.0,
                     help="peak broadening sigma^2 (1 + qbroad^2 r^2), start value [0] 1/Å")
    pdf.add_argument("--delta2", type=float, default=0.0,
                     help="correlated motion sigma^2 (1 - delta2/r^2), start value [0] Å^2")
    pdf.add_argument("--spdiameter", type=_positive_float, default=None,
                     help="spherical envelope diameter (PDFgui), Å [none]")
    out = ft.add_argument_group("output")
    out.add_argument("--out", required=True, metavar="PROJECT.h5",
                     help="project file with data, model, fit and the per-size Debye sums (reusable)")
    out.add_argument("--reuse", metavar="PROJECT.h5",
                     help="reuse the per-size Debye sums stored in a project of an earlier fit with the same "
                          "model, sizes and range (nothing is recomputed)")
    out.add_argument("--report", metavar="FILE.md", help="Markdown report")
    out.add_argument("--json", metavar="FILE", help="figures of merit, parameters and sizes as JSON")
    out.add_argument("--quiet", action="store_true", help="no progress lines")
    ft.set_defaults(func=cmd_fit)

    pp = sub.add_parser("population", help="size statistics of a log-normal population (Table 2)")
    pp.add_argument("spec", metavar="SPEC",
                    help='"Dab=8.19,sab=0.24,Lc=9.79,sc=0.20" (prisms) or "D=5.0,sD=0.2" (spheres, cuboids)')
    pp.add_argument("--json", action="store_true", help="print JSON instead of a table")
    pp.set_defaults(func=cmd_population)

    d = sub.add_parser("demo", help="run a built-in demo headless (patterns + PNG)")
    d.add_argument("name", nargs="?", help="demo name (see --list)")
    d.add_argument("--list", action="store_true", help="list the demos")
    d.add_argument("--out", metavar="DIR", help="output folder [nanotwin-demo-NAME]")
    d.add_argument("--table", action="store_true",
                   help="also print (and write) the superstructure R/M/X table relative to the untwinned "
                        "crystal (gamma demos; builds each crystal at zero tilt too)")
    d.set_defaults(func=cmd_demo)

    g = sub.add_parser("gui", help="open the graphical workbench")
    g.add_argument("file", nargs="?", help="project, data, CIF or XYZ file to open")
    g.add_argument("--demo", metavar="NAME", help="demo to open")
    g.add_argument("--screenshot", metavar="PNG", help="run the demo, save a PNG of the window, exit")
    g.set_defaults(func=cmd_gui)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nanotwin`` console script."""
    parser = make_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["gui"])
    try:
        return int(args.func(args) or 0)
    except NanotwinError as exc:
        print(f"nanotwin: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        print(f"nanotwin: error: {exc.filename or ''}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    except MemoryError:
        print("nanotwin: error: out of memory; try a smaller crystal", file=sys.stderr)
        return EXIT_USAGE
    except Cancelled:
        print("nanotwin: cancelled", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("nanotwin: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
