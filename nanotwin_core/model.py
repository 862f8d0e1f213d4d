"""The model a user simulates or fits: the one description of a calculation or a fit.

Structure, shape, sizes or population, twins, ADPs, radiation, exclusions, mixture components,
instrument and fit settings. The command line builds it from options or TOML, the window edits
it, projects store it (``Model.to_dict``, JSON- and TOML-safe), demos produce it; the entry points
in ``nanotwin_core.actions`` compute with it. ``Model.from_dict`` reads every dict an earlier
version wrote (flat radiation keys, no instrument or fit). TOML layout::

    [structure]
    name = "CsPbBr3-gamma"        # or: cif = "my.cif" (a CIF or a pymatgen .json)
    tilt = [8.0, 6.0]             # optional: gamma CsPbX3 from the tilt model, AB[, C] degrees
    [shape]
    kind = "prism"                # a registered shape: prism | cuboid | sphere | hex_platelet
    size_ab_nm = 8.0              # prism: single crystal sizes (nm) ...
    size_c_nm = 10.0              # ... or a [population] table instead
    [population]                  # prisms: bivariate log-normal, number-based (nm)
    Dab = 8.19
    sab = 0.24
    Lc = 9.79
    sc = 0.20
    # spheres/cuboids: D = 5.0, sD = 0.2
    [twins]
    laws = ["1/2<001>{110}"]
    boundaries = 1                # or domain_size_nm = 3.0 (or a table: law = nm)
    seeds = [1, 2, 3, 4]          # realisations, or: ensemble = true (exact average, no seeds)
    coherent_element = "Pb"
    allow_incoherent = false
    [adp]                         # B in Å^2 per ADP group or element
    Pb = 2.99
    X_ax = 1.72
    [radiation]
    kind = "xray"                 # xray | neutron
    wavelength = 0.565468         # Å (or energy_kev); anomalous dispersion on unless anomalous = false
    [exclude]
    pairs = ["Cs:Cs"]             # element pairs left out of the Debye sum
    [surface]                     # optional: builder/terminations.py, builder/surface_shell.py
    termination = "CsX"           # stoichiometric | CsX | PbX2 | a rule "S:full,neutral:Pb"
    shell_A = 3.0                 # surface shell (Å; or layers = 1): groups <group>_surf
    [occupancy]                   # occupancy factor (0-1) per ADP/occupancy group or element
    S_surf = 0.85
    [small_angle]                 # optional low-Q terms (scattering/small_angle.py)
    chain_beads = 6.0             # linear chains of N stacked crystals (spacing: size along c ...)
    chain_gap_A = 0.0             # ... plus this gap in Å (ligands between the crystals)
    ligand_shell_A = 15.0         # organic ligand shell thickness (Å) ...
    ligand_density = 0.33         # ... and its electron density (e/Å^3)
    [instrument]                  # 2theta data
    polarization = "sync"         # none | lab | sync | sync:F | mono:2THETA_M
    caglioti = [0.0, 0.0, 0.003]  # U, V, W in deg^2 (pseudo-Voigt resolution)
    zero = 0.0                    # zero shift in degrees (start value when refined)
    # kalpha2 = 0.5               # lab tubes: the K-alpha2 line, I(Ka2)/I(Ka1) (lambda2: the tube's)
    [texture]                     # optional March-Dollase fibre texture (Bragg-Brentano; not with
    axis = [1, 1, 0]              # twins or components): the (hkl) planes in the sample surface
    ratio = 0.7                   # r: 1 random, < 1 hkl enhanced (start value when refined)
    [fit]
    refine = ["scale", "background", "adp", "size"]
    background_order = 4          # Chebyshev order
    q_range = [1.0, 6.0]          # 1/Å (or tth_range = [MIN, MAX] in degrees)
    blank = "capillary.xye"       # solvent/capillary pattern, scaled as a background
    max_nfev = 200
    [[component]]                 # optional: a mixture of populations (see ComponentSpec)
    name = "twinned"
    fraction = 0.3                # number fraction (start value, fixed unless fractions are refined)
    laws = ["1/2<001>{110}"]
    domain_size_nm = 2.0
    seeds = [1, 2, 3, 4]
    [[component]]
    name = "untwinned"
    fraction = 0.7
    laws = []

Relative ``cif`` and ``blank`` paths in a TOML file are relative to the file.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path

import tomli_w

from nanotwin_core.builder.networks import domain_sizes_by_law
from nanotwin_core.builder.shape_kinds import get_shape, shape_names
from nanotwin_core.builder.terminations import parse_termination
from nanotwin_core.errors import InputFileError, NanotwinError
from nanotwin_core.model_parts import (
    REFINABLE,
    ComponentSpec,
    FitSpec,
    Instrument,
    PopulationSpec,
    TextureSpec,
)
from nanotwin_core.scattering.radiation import Radiation, XRay, make_radiation, radiation_from_dict
from nanotwin_core.structures.adp import structure_adp_groups, structure_b, with_surface_groups
from nanotwin_core.structures.files import resolve_structure
from nanotwin_core.structures.structure import Structure

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["REFINABLE", "ComponentSpec", "FitSpec", "Instrument", "Model", "PopulationSpec", "TextureSpec",
           "read_model_toml", "write_model_toml"]

# fields to_dict writes as tables of their own
_OWN_TABLES = ("population", "components", "instrument", "fit", "radiation", "texture")
# flat keys an older model dict used for its radiation (still read, and still written)
_RADIATION_KEYS = ("wavelength", "energy_kev", "anomalous")


@dataclass
class Model:
    """Everything needed to build crystals, compute their pattern and fit it (module doc)."""

    structure: str | None = "CsPbBr3-gamma"
    cif: str | None = None
    tilt: list[float] | None = None
    shape: str = "prism"
    size_ab_nm: float | None = None
    size_c_nm: float | None = None
    size_nm: float | None = None
    population: PopulationSpec | None = None
    twins: list[str] = field(default_factory=list)
    boundaries: int | None = None
    domain_size_nm: float | dict[str, float] | None = None
    seeds: list[int] = field(default_factory=lambda: [0])
    ensemble: bool = False
    coherent_element: str = "Pb"
    allow_incoherent: bool = False
    adp: dict[str, float] = field(default_factory=dict)
    radiation: Radiation = field(default_factory=XRay)
    exclude: list[str] = field(default_factory=list)
    components: list[ComponentSpec] = field(default_factory=list)
    instrument: Instrument = field(default_factory=Instrument)
    fit: FitSpec = field(default_factory=FitSpec)
    termination: str | None = None
    surface_shell_A: float | None = None
    surface_layers: int | None = None
    occupancy: dict[str, float] = field(default_factory=dict)
    chain_beads: float | None = None
    chain_gap_A: float | None = None
    ligand_shell_A: float | None = None
    ligand_density: float | None = None
    texture: TextureSpec | None = None

    # ------------------------------------------------------------------ checks
    def validate(self) -> Model:
        kind = get_shape(self.shape)
        if not self.structure and not self.cif:
            raise NanotwinError("a model needs a structure name or a CIF file")
        if self.tilt is not None:
            if self.cif:
                raise NanotwinError("tilt generates a gamma structure from a built-in name; not with a CIF")
            if len(self.tilt) not in (1, 2):
                raise NanotwinError(f"tilt must be [AB] or [AB, C] in degrees, got {self.tilt!r}")
            self.tilt = [float(t) for t in self.tilt]
        if self.population is not None:
            self.population.validate(self.shape)
        else:
            kind.check_sizes(self.sizes())
        for name in ("size_ab_nm", "size_c_nm", "size_nm"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise NanotwinError(f"{name} must be > 0, got {value}")
        if self.domain_size_nm is not None and self.twins:
            domain_sizes_by_law(self.domain_size_nm, self.twins)
        elif isinstance(self.domain_size_nm, (int, float)) and not self.domain_size_nm > 0:
            raise NanotwinError(f"domain_size_nm must be > 0, got {self.domain_size_nm}")
        if self.ensemble and (not self.twins or self.domain_size_nm is None or self.boundaries is not None):
            raise NanotwinError("ensemble averages random twin networks: it needs twin laws and a domain "
                                "size; a fixed number of boundaries (one deterministic crystal) is not an "
                                "ensemble")
        if self.boundaries is not None and self.boundaries < 0:
            raise NanotwinError("boundaries must be >= 0")
        if not isinstance(self.radiation, Radiation):
            raise NanotwinError(f"radiation must be a Radiation (XRay, Neutron), got {self.radiation!r}")
        for b_name, b in self.adp.items():
            if b < 0:
                raise NanotwinError(f"B of {b_name} must be >= 0 Å^2")
        for pair in self.exclude:
            if pair.count(":") != 1 or not all(p.strip() for p in pair.split(":")):
                raise NanotwinError(f"excluded pairs look like A:B, got {pair!r}")
        if not self.seeds:
            raise NanotwinError("seeds must not be empty")
        names = [c.name for c in self.components]
        if len(set(names)) != len(names):
            raise NanotwinError("component names must be unique")
        for comp in self.components:
            comp.validate(self.shape)
        if self.components and not sum(c.fraction for c in self.components) > 0:
            raise NanotwinError("component fractions must not all be 0")
        self.instrument.validate()
        self.fit.validate()
        self._validate_texture()
        self._validate_surface()
        return self

    def _validate_texture(self) -> None:
        if self.texture is None:
            return
        if not isinstance(self.texture, TextureSpec):
            raise NanotwinError(f"texture must be a TextureSpec, got {self.texture!r}")
        self.texture.validate()
        if self.twins or self.components or self.ensemble:
            raise NanotwinError("texture is not available for twinned crystals, twin ensembles or mixtures "
                                "yet: remove the texture or the twins/components")

    def _validate_surface(self) -> None:
        parse_termination(self.termination)
        if self.ensemble and (self.surface_options() or self.occupancy):
            raise NanotwinError("ensemble averages networks of whole formula units: not with a termination, "
                                "a surface shell or occupancies")
        if self.surface_shell_A is not None and self.surface_layers is not None:
            raise NanotwinError("give the surface shell in Å or in layers, not both")
        if self.surface_shell_A is not None and not self.surface_shell_A > 0:
            raise NanotwinError(f"surface shell thickness must be > 0 Å, got {self.surface_shell_A}")
        if self.surface_layers is not None:
            if isinstance(self.surface_layers, bool) or int(self.surface_layers) != self.surface_layers \
                    or self.surface_layers < 1:
                raise NanotwinError(f"surface layers must be a whole number >= 1, got "
                                    f"{self.surface_layers!r}")
            self.surface_layers = int(self.surface_layers)
        for group, value in self.occupancy.items():
            if not 0 <= value <= 1:
                raise NanotwinError(f"occupancy of {group} must lie in [0, 1], got {value}")
        if self.chain_beads is not None and not self.chain_beads >= 1:
            raise NanotwinError(f"chain_beads (crystals per chain) must be >= 1, got {self.chain_beads}")
        if self.chain_gap_A is not None and not self.chain_gap_A >= 0:
            raise NanotwinError(f"chain_gap_A (Å between stacked crystals) must be >= 0, got "
                                f"{self.chain_gap_A}")
        if (self.ligand_shell_A is None) != (self.ligand_density is None):
            raise NanotwinError("a ligand shell needs both ligand_shell_A (Å) and ligand_density (e/Å^3)")
        if self.ligand_shell_A is not None and not (self.ligand_shell_A > 0 and self.ligand_density >= 0):
            raise NanotwinError("ligand_shell_A must be > 0 Å and ligand_density >= 0")

    # ------------------------------------------------------------------ derived
    def sizes(self) -> dict[str, float | None]:
        """The single-crystal sizes (nm) by Model attribute (None where unset)."""
        return {"size_ab_nm": self.size_ab_nm, "size_c_nm": self.size_c_nm, "size_nm": self.size_nm}

    def load_structure(self) -> Structure:
        """The model's ``Structure`` (CIF / pymatgen JSON, built-in name, or name + tilt)."""
        return resolve_structure(self.structure, self.cif, self.tilt)

    def phases(self, structure: Structure | None = None) -> list[tuple[str, Structure]]:
        """(name, Structure) of every phase: the model's structure (``structure`` where the caller
        already holds it, e.g. an imported CIF), then each mixture component with a structure of
        its own (a structure listed once)."""
        main = structure if structure is not None else self.load_structure()
        out = [(main.name, main)]
        for comp in self.components:
            if comp.structure or comp.cif:
                s = resolve_structure(comp.structure, comp.cif, None)
                if all(s != other for _n, other in out):
                    out.append((s.name, s))
        return out

    @property
    def has_surface_shell(self) -> bool:
        """True when the crystals carry surface-shell groups (``<group>_surf``)."""
        return self.surface_shell_A is not None or self.surface_layers is not None

    def adp_groups(self, structure: Structure) -> tuple[dict[str, str], dict[str, float]]:
        """({ADP group: element}, {group: the structure's B}) of the model's crystals: the
        structure's groups, plus their surface groups when the model has a surface shell."""
        groups, b = structure_adp_groups(structure), structure_b(structure)
        return with_surface_groups(groups, b) if self.has_surface_shell else (groups, b)

    def surface_options(self) -> dict:
        """The builder keywords of the surface (``build_crystal(termination=, surface_shell_A=,
        surface_layers=)``), only those set."""
        opts = {"termination": self.termination, "surface_shell_A": self.surface_shell_A,
                "surface_layers": self.surface_layers}
        return {k: v for k, v in opts.items() if v is not None}

    def excluded_pairs(self) -> list[tuple[str, str]]:
        """``exclude`` as element pairs, e.g. [("Cs", "Cs")]."""
        return [tuple(p.strip() for p in pair.split(":")) for pair in self.exclude]  # type: ignore[misc]

    # ------------------------------------------------------------------ dicts
    def to_dict(self) -> dict:
        """Plain dict without None values (TOML has no null); radiation as flat keys."""
        d: dict = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None or f.name in _OWN_TABLES:
                continue
            d[f.name] = list(value) if isinstance(value, tuple) else value
        d["adp"] = dict(self.adp)
        if self.occupancy:
            d["occupancy"] = dict(self.occupancy)
        else:
            d.pop("occupancy", None)
        rad = self.radiation.to_dict()
        d["radiation"] = rad.pop("kind")
        d.update(rad)
        if self.population is not None:
            d["population"] = self.population.to_dict()
        if self.components:
            d["components"] = [c.to_dict() for c in self.components]
        if not self.instrument.is_default:
            d["instrument"] = self.instrument.to_dict()
        if not self.fit.is_default:
            d["fit"] = self.fit.to_dict()
        if self.texture is not None:
            d["texture"] = self.texture.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Model:
        """Inverse of ``to_dict``; reads the flat radiation keys of earlier versions too."""
        d = dict(d)
        pop = d.pop("population", None)
        comps = d.pop("components", None) or []
        instrument = d.pop("instrument", None)
        fit = d.pop("fit", None)
        texture = d.pop("texture", None)
        rad = d.pop("radiation", "xray")
        flat = {k: d.pop(k) for k in _RADIATION_KEYS if k in d}
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise NanotwinError(f"unknown model keys: {', '.join(sorted(unknown))}")
        if d.get("cif") and "structure" not in d:  # a CIF model has no structure name (None is not stored)
            d["structure"] = None
        if isinstance(rad, Radiation):
            radiation = rad
        elif isinstance(rad, dict):
            radiation = radiation_from_dict({**rad, **flat})
        else:
            params = {k: v for k, v in flat.items() if v is not None}
            if str(rad) == "neutron":  # earlier neutron models carried the X-ray keys too
                params = {k: v for k, v in params.items() if k == "wavelength"}
            radiation = make_radiation(str(rad), **params)
        model = cls(**d, radiation=radiation)
        if pop is not None:
            model.population = pop if isinstance(pop, PopulationSpec) else PopulationSpec.from_dict(pop)
        model.components = [c if isinstance(c, ComponentSpec) else ComponentSpec.from_dict(c) for c in comps]
        if instrument is not None:
            model.instrument = (instrument if isinstance(instrument, Instrument)
                                else Instrument.from_dict(instrument))
        if fit is not None:
            model.fit = fit if isinstance(fit, FitSpec) else FitSpec.from_dict(fit)
        if texture is not None:
            model.texture = texture if isinstance(texture, TextureSpec) else TextureSpec.from_dict(texture)
        return model


# ============================================================================ TOML files
_TOML_SECTIONS = {
    "structure": {"name": "structure", "cif": "cif", "tilt": "tilt"},
    "shape": {"kind": "shape", "size_ab_nm": "size_ab_nm", "size_c_nm": "size_c_nm", "size_nm": "size_nm"},
    "twins": {"laws": "twins", "boundaries": "boundaries", "domain_size_nm": "domain_size_nm",
              "seeds": "seeds", "ensemble": "ensemble", "coherent_element": "coherent_element",
              "allow_incoherent": "allow_incoherent"},
    "exclude": {"pairs": "exclude"},
    "surface": {"termination": "termination", "shell_A": "surface_shell_A", "layers": "surface_layers"},
    "small_angle": {"chain_beads": "chain_beads", "chain_gap_A": "chain_gap_A",
                    "ligand_shell_A": "ligand_shell_A", "ligand_density": "ligand_density"},
}
_TABLES = ("adp", "occupancy", "population", "radiation", "instrument", "fit", "component", "texture")


def read_model_toml(path: str | Path) -> Model:
    """Read a TOML model file; errors name the file, the line (for syntax) and the key."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise InputFileError(path, exc.strerror or str(exc)) from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        raise InputFileError(path, f"TOML syntax: {exc}", line=line) from None
    try:
        model = _model_from_toml(path, doc)
        return model.validate()
    except InputFileError:
        raise
    except NanotwinError as exc:
        raise InputFileError(path, str(exc)) from None
    except TypeError as exc:
        raise InputFileError(path, f"bad value: {exc}") from None


def _model_from_toml(path: Path, doc: dict) -> Model:
    kwargs: dict = {}
    for section, value in doc.items():
        if not isinstance(value, (dict, list)):
            raise InputFileError(path, f"{section} = ... must be a [{section}] table")
        if section in ("adp", "occupancy"):
            kwargs[section] = {str(k): _number(path, f"{section}.{k}", v) for k, v in value.items()}
        elif section == "population":
            kwargs["population"] = PopulationSpec.from_dict(
                {k: _number(path, f"population.{k}", v) for k, v in value.items()})
        elif section == "radiation":
            rad = dict(value)
            try:
                kwargs["radiation"] = radiation_from_dict(rad)
            except NanotwinError as exc:
                raise InputFileError(path, f"[radiation]: {exc}") from None
        elif section == "instrument":
            kwargs["instrument"] = Instrument.from_dict(value)
        elif section == "texture":
            try:
                kwargs["texture"] = TextureSpec.from_dict(value)
            except (NanotwinError, TypeError) as exc:
                raise InputFileError(path, f"[texture]: {exc}") from None
        elif section == "fit":
            fit = FitSpec.from_dict(value)
            if fit.blank and not Path(fit.blank).is_absolute():
                fit.blank = str((path.parent / fit.blank).resolve())
            kwargs["fit"] = fit
        elif section == "component":
            if not isinstance(value, list):
                raise InputFileError(path, "[[component]] must be an array of tables")
            try:
                kwargs["components"] = [ComponentSpec.from_dict(_component_table(path, c)) for c in value]
            except (NanotwinError, TypeError) as exc:
                raise InputFileError(path, f"[[component]]: {exc}") from None
        elif section in _TOML_SECTIONS:
            mapping = _TOML_SECTIONS[section]
            for key, v in value.items():
                if key not in mapping:
                    raise InputFileError(path, f"unknown key {key!r} in [{section}]; known: "
                                               f"{', '.join(mapping)}")
                kwargs[mapping[key]] = v
        else:
            raise InputFileError(path, f"unknown section [{section}]; known: "
                                       f"{', '.join([*_TOML_SECTIONS, *_TABLES])}")
    if isinstance(kwargs.get("tilt"), (int, float)):
        kwargs["tilt"] = [kwargs["tilt"]]
    if "shape" in kwargs and kwargs["shape"] not in shape_names():
        raise InputFileError(path, f"[shape] kind must be one of {', '.join(shape_names())}, "
                                   f"got {kwargs['shape']!r}")
    if "cif" in kwargs and "structure" not in kwargs:
        kwargs["structure"] = None
        cif = Path(kwargs["cif"])
        if not cif.is_absolute():
            kwargs["cif"] = str((path.parent / cif).resolve())
    return Model(**kwargs)


def write_model_toml(model: Model, path: str | Path) -> Path:
    """Write a model as TOML (atomic: temporary file, then rename)."""
    d = model.to_dict()
    doc: dict = {}
    for section, mapping in _TOML_SECTIONS.items():
        part = {key: d[attr] for key, attr in mapping.items() if attr in d}
        if part:
            doc[section] = part
    if model.adp:
        doc["adp"] = dict(model.adp)
    if model.occupancy:
        doc["occupancy"] = dict(model.occupancy)
    if "population" in d:
        doc["population"] = d["population"]
    doc["radiation"] = model.radiation.to_dict()
    if "instrument" in d:
        doc["instrument"] = d["instrument"]
    if "fit" in d:
        doc["fit"] = d["fit"]
    if "texture" in d:
        doc["texture"] = d["texture"]
    if model.components:
        comps = []
        for c in d["components"]:
            c = dict(c)
            if "twins" in c:
                c["laws"] = c.pop("twins")
            comps.append(c)
        doc["component"] = comps
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(tomli_w.dumps(doc))
    os.replace(tmp, path)
    return path


def _number(path: Path, key: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputFileError(path, f"{key} must be a number, got {value!r}")
    return float(value)


def _component_table(path: Path, table: dict) -> dict:
    """A [[component]] table with its numbers checked (population as an inline table)."""
    table = dict(table)
    if "fraction" in table:
        table["fraction"] = _number(path, "component.fraction", table["fraction"])
    if "domain_size_nm" in table:
        table["domain_size_nm"] = _number(path, "component.domain_size_nm", table["domain_size_nm"])
    if "population" in table:
        table["population"] = {k: _number(path, f"component.population.{k}", v)
                               for k, v in table["population"].items()}
    return table
