"""From parsed MODEL and GRID options to core objects: a Structure, a Crystal, a Model, a grid.

Only argument handling lives here: every number comes from the core (builder, model, io).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from nanotwin_core.builder.shape_kinds import get_shape
from nanotwin_core.cli.options import parse_adp, parse_floats, parse_range, parse_seeds
from nanotwin_core.cli.surface_values import parse_occupancy
from nanotwin_core.errors import NanotwinError
from nanotwin_core.io.data import q_from_tth
from nanotwin_core.io.pattern_checks import check_q_reachable
from nanotwin_core.model import Model, PopulationSpec, read_model_toml

DEFAULT_Q_GRID = "0.5:20:0.005"


def parse_tilt(text: str) -> list[float]:
    """--tilt AB[,C] (degrees) -> [AB] or [AB, C]."""
    angles = parse_floats(text, "--tilt (AB or AB,C in degrees)")
    if len(angles) not in (1, 2):
        raise NanotwinError(f"--tilt must look like AB or AB,C (degrees), got {text!r}")
    return angles


def load_structure(args: argparse.Namespace):
    """The structure named by --structure, read from --cif (CIF or pymatgen JSON), or made by --tilt."""
    from nanotwin_core.structures.files import resolve_structure

    cif, name = getattr(args, "cif", None), getattr(args, "structure", None)
    tilt = getattr(args, "tilt", None)
    if cif and tilt:
        raise NanotwinError("--tilt generates a gamma structure from a built-in name; not with --cif")
    if not cif and not name:
        raise NanotwinError("give a structure: --structure NAME (see `nanotwin structures`) or --cif FILE")
    return resolve_structure(name, cif, parse_tilt(tilt) if tilt else None)


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


def crystal_sizes(args: argparse.Namespace) -> dict[str, float]:
    """The size keyword arguments of ``build_crystal`` from --size-ab/--size-c/--size (nm)."""
    if get_shape(args.shape).bivariate:
        if args.size is not None and args.size_ab is None and args.size_c is None:
            return {"size_ab_nm": args.size, "size_c_nm": args.size}
        if args.size_ab is None or args.size_c is None:
            raise NanotwinError(f"a {args.shape} needs --size-ab NM and --size-c NM")
        return {"size_ab_nm": args.size_ab, "size_c_nm": args.size_c}
    if args.size is None:
        raise NanotwinError(f"a {args.shape} needs --size NM")
    return {"size_nm": args.size}


def domain_size_of(args: argparse.Namespace) -> float | dict[str, float] | None:
    """--domain-size as a number (nm) or, for "LAW=NM,...", a dict law -> nm checked against --twin."""
    from nanotwin_core.builder.networks import domain_sizes_by_law

    value = getattr(args, "domain_size", None)
    if isinstance(value, str):
        if not args.twin:
            raise NanotwinError("--domain-size LAW=NM needs the twin laws (--twin LAW)")
        return domain_sizes_by_law(value, args.twin)
    return value


def default_boundaries(args: argparse.Namespace) -> int | None:
    """--boundaries, or 1 when twin laws are given without a boundary count or domain size."""
    if args.twin and args.boundaries is None and args.domain_size is None:
        return 1
    return args.boundaries


def build_from_args(args: argparse.Namespace):
    """One crystal from the MODEL options (refuses --population: that is many crystals)."""
    from nanotwin_core.builder import DEFAULT_MAX_ATOMS, build_crystal
    from nanotwin_core.builder.recontent import scale_occupancy

    if getattr(args, "population", None):
        raise NanotwinError(f"{args.command} makes one crystal here: --population is for simulate and fit")
    if getattr(args, "ensemble", False):
        raise NanotwinError(f"{args.command} writes one crystal, one realisation of the network (--seed): "
                            "--ensemble (the exact average over networks) is for simulate and fit")
    crystal = build_crystal(
        load_structure(args),
        shape=args.shape,
        twins=tuple(args.twin),
        boundaries=default_boundaries(args),
        domain_size_nm=domain_size_of(args),
        seed=args.seed,
        coherent_element=args.coherent_element,
        allow_incoherent=args.allow_incoherent,
        max_atoms=getattr(args, "max_atoms", None) or DEFAULT_MAX_ATOMS,
        **crystal_sizes(args), **surface_options(args),
    )
    occupancy = parse_occupancy(args.occupancy)
    return scale_occupancy(crystal, occupancy) if occupancy else crystal


def low_q_from_args(args: argparse.Namespace) -> dict[str, float]:
    """--chain N and --ligand T,RHO as ``chain_beads``, ``ligand_shell_A``, ``ligand_density``."""
    out: dict[str, float] = {}
    if getattr(args, "chain", None) is not None:
        out["chain_beads"] = float(args.chain)
    if getattr(args, "chain_gap", None) is not None:
        out["chain_gap_A"] = float(args.chain_gap)
    if getattr(args, "ligand", None):
        thickness, density = parse_floats(args.ligand, "--ligand T,RHO (Å, e/Å^3)", 2)
        out.update(ligand_shell_A=thickness, ligand_density=density)
    return out


def surface_options(args: argparse.Namespace) -> dict:
    """``build_crystal`` keywords of --termination, --surface-shell, --surface-layers (those given)."""
    opts = {"termination": args.termination, "surface_shell_A": args.surface_shell,
            "surface_layers": args.surface_layers}
    return {k: v for k, v in opts.items() if v is not None}


def ensemble_from_args(args: argparse.Namespace, progress=None):
    """(pair histograms, one-line description) of the exact average over the random twin networks
    of the MODEL options (--ensemble)."""
    from nanotwin_core.builder import DEFAULT_MAX_ATOMS
    from nanotwin_core.population.ensemble import ensemble_histograms

    if getattr(args, "population", None):
        raise NanotwinError("--population with --ensemble: the population's databases average the networks")
    if not args.twin:
        raise NanotwinError("--ensemble averages random twin networks: give the twin laws (--twin LAW)")
    if surface_options(args) or getattr(args, "occupancy", None):
        raise NanotwinError("--ensemble averages networks of whole formula units: not with --termination, "
                            "--surface-shell/--surface-layers or --occupancy")
    sizes = domain_size_of(args)
    hist = ensemble_histograms(
        load_structure(args), tuple(args.twin), sizes, shape=args.shape, boundaries=args.boundaries,
        coherent_element=args.coherent_element,
        max_atoms=getattr(args, "max_atoms", None) or DEFAULT_MAX_ATOMS,
        n_threads=getattr(args, "threads", None), progress=progress, **crystal_sizes(args))
    groups = ", ".join(f"{g['law']} ({''.join(str(x) for x in g['plane'])}) p={g['p']:.3g}"
                       for g in hist.meta["groups"])
    text = (f"ensemble average over random twin networks, domain size {json.dumps(sizes)} nm; "
            f"{hist.n_atoms:g} atoms ({hist.meta['n_nodes']} nodes); groups: {groups}")
    return hist, text


def describe_crystal(crystal) -> str:
    """One line: atoms and composition, realised sizes, boundaries and domains."""
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


def model_from_args(args: argparse.Namespace) -> Model:
    """A ``Model`` from --model FILE.toml, --demo NAME or the MODEL options, plus radiation and B."""
    from nanotwin_core.demos import get_demo

    if getattr(args, "model", None) or getattr(args, "demo", None):
        model = read_model_toml(args.model) if args.model else get_demo(args.demo).models[-1].to_model()
        if getattr(args, "population", None):  # the option overrides the file's population
            model.population = population_of(args)
    else:
        if not args.structure and not args.cif:
            raise NanotwinError(
                "give a model: --structure NAME, --cif FILE, --model FILE.toml or --demo NAME"
            )
        if not args.population:
            crystal_sizes(args)  # the size options a single crystal needs, named as on the command line
        model = Model(
            structure=None if args.cif else args.structure,
            cif=str(Path(args.cif).resolve()) if args.cif else None,  # projects reopen from any folder
            shape=args.shape,
            size_ab_nm=args.size_ab, size_c_nm=args.size_c, size_nm=args.size,
            population=population_of(args),
            twins=list(args.twin), boundaries=args.boundaries, domain_size_nm=domain_size_of(args),
            seeds=[args.seed], ensemble=bool(getattr(args, "ensemble", False)),
            coherent_element=args.coherent_element,
            allow_incoherent=args.allow_incoherent, exclude=list(args.exclude),
            tilt=parse_tilt(args.tilt) if args.tilt else None,
        )
        if get_shape(model.shape).bivariate and model.population is None and args.size is not None:
            model.size_ab_nm = model.size_ab_nm or args.size
            model.size_c_nm = model.size_c_nm or args.size
    if args.twin and model.twins and model.boundaries is None and model.domain_size_nm is None:
        if getattr(args, "ensemble", False):
            raise NanotwinError("--ensemble averages random networks of a mean domain size: give "
                                "--domain-size NM (a fixed number of boundaries is one deterministic "
                                "crystal)")
        model.boundaries = 1
    model.adp.update(parse_adp(args.adp))
    for key, value in surface_options(args).items():
        setattr(model, key, value)
    model.occupancy.update(parse_occupancy(getattr(args, "occupancy", None)))
    for key, value in low_q_from_args(args).items():
        setattr(model, key, value)
    model.radiation = radiation_from_args(args, model.radiation)
    if getattr(args, "twin_states", None):
        from nanotwin_core.refine.dse_fit import twin_states

        if not model.twins:
            raise NanotwinError("--twin-states needs the twin laws (--twin LAW)")
        sizes = parse_floats(args.twin_states, "--twin-states")
        if not all(s > 0 for s in sizes):
            raise NanotwinError(f"--twin-states: domain sizes must be > 0 nm, got {args.twin_states!r}")
        model.components = twin_states(model.twins, sizes, parse_seeds(args.twin_seeds or "1-4"))
    return model.validate()


AUTO_POPULATION = "auto"


def population_of(args: argparse.Namespace) -> PopulationSpec | None:
    """--population as a PopulationSpec (None without it). ``auto`` (nanotwin fit only) gives a
    placeholder of the shape's keys that the fit replaces with sizes read from the data before
    computing anything (``actions.data_defaults``)."""
    text = getattr(args, "population", None)
    if not text:
        return None
    if text.strip().lower() != AUTO_POPULATION:
        return PopulationSpec.parse(text)
    if getattr(args, "command", None) != "fit":
        raise NanotwinError("--population auto reads the sizes from measured data: it is for nanotwin fit")
    if get_shape(args.shape).bivariate:
        return PopulationSpec(Dab=1.0, sab=0.2, Lc=1.0, sc=0.2)
    return PopulationSpec(D=1.0, sD=0.2)


def wavelength_of(args: argparse.Namespace) -> float | None:
    """The wavelength (Å) from --wavelength or --energy, or None."""
    from nanotwin_core.scattering.form_factors import wavelength_from_energy

    if args.wavelength is not None:
        return args.wavelength
    return wavelength_from_energy(args.energy) if args.energy is not None else None


def grid_from_args(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, str, float | None]:
    """(q, x, x_kind, wavelength) from the GRID options, checked against the physics."""
    from nanotwin_core.scattering.polarization import polarization_fraction

    radiation_from_args(args)  # the beam itself first (e.g. an energy outside the X-ray tables)
    wavelength = wavelength_of(args)
    polarized = polarization_fraction(args.polarization) is not None
    if args.tth:
        lo, hi, step = parse_range(args.tth, 3, "--tth")
        if wavelength is None:
            raise NanotwinError("--tth needs --wavelength (or --energy)")
        if not (0 < lo and hi < 180):
            raise NanotwinError("--tth range must lie inside (0, 180) degrees")
        x = np.arange(lo, hi + step * 0.5, step)
        return q_from_tth(x, wavelength), x, "tth", wavelength
    if polarized:
        raise NanotwinError(
            f"--polarization {args.polarization} needs a 2theta grid (--tth MIN:MAX:STEP --wavelength L): "
            "a pattern on a Q grid is the ideal I(Q), with no angle-dependent factor"
        )
    lo, hi, step = parse_range(args.q or DEFAULT_Q_GRID, 3, "--q")
    if lo <= 0:
        raise NanotwinError("--q: QMIN must be > 0 1/Å")
    check_q_reachable(hi, wavelength, "--q")
    q = np.arange(lo, hi + step * 0.5, step)
    return q, q, "q", wavelength


def model_header(model: Model) -> str:
    """The model as one JSON line for file headers."""
    return json.dumps(model.to_dict(), sort_keys=True)
