"""The model a user simulates or fits: structure, shape, sizes or population, twins, ADPs.

One plain description shared by the command line, TOML model files, the GUI workspace and
project files (``Model.to_dict`` is JSON- and TOML-safe). TOML layout::

    [structure]
    name = "CsPbBr3-gamma"        # or: cif = "my.cif"
    [shape]
    kind = "prism"                # prism | cuboid | sphere
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
    boundaries = 1                # or domain_size_nm = 3.0
    seeds = [1, 2, 3, 4]
    coherent_element = "Pb"
    [adp]                         # B in Å^2 per ADP group or element
    Pb = 2.99
    X_ax = 1.72
    [radiation]
    kind = "xray"                 # xray | neutron
    wavelength = 0.565468         # Å (or energy_kev); anomalous dispersion on unless anomalous = false
    [exclude]
    pairs = ["Cs:Cs"]
    [[component]]                 # optional: a mixture of populations (see ComponentSpec)
    name = "twinned"
    fraction = 0.3                # number fraction (start value, fixed unless --refine fractions)
    laws = ["1/2<001>{110}"]
    domain_size_nm = 2.0
    seeds = [1, 2, 3, 4]
    [[component]]
    name = "untwinned"
    fraction = 0.7
    laws = []
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nanotwin_core.errors import InputFileError, NanotwinError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SHAPES = ("prism", "cuboid", "sphere")


@dataclass
class PopulationSpec:
    """A log-normal size population (number-based means in nm, relative dispersions).

    Prisms: bivariate over (D_ab, L_c) with ``Dab``, ``sab``, ``Lc``, ``sc`` and an optional
    ``correlation`` of the logs; spheres and cuboids: univariate ``D``, ``sD``.
    """

    Dab: float | None = None
    sab: float | None = None
    Lc: float | None = None
    sc: float | None = None
    D: float | None = None
    sD: float | None = None
    correlation: float = 0.0

    @property
    def bivariate(self) -> bool:
        return self.Dab is not None

    def validate(self, shape: str) -> None:
        if shape == "prism":
            missing = [k for k in ("Dab", "sab", "Lc", "sc") if getattr(self, k) is None]
            if missing:
                raise NanotwinError(
                    f"a prism population needs Dab, sab, Lc, sc (missing {', '.join(missing)})"
                )
            values = {k: getattr(self, k) for k in ("Dab", "sab", "Lc", "sc")}
        else:
            missing = [k for k in ("D", "sD") if getattr(self, k) is None]
            if missing:
                raise NanotwinError(f"a {shape} population needs D and sD (missing {', '.join(missing)})")
            values = {"D": self.D, "sD": self.sD}
        for key, value in values.items():
            if not value > 0:
                raise NanotwinError(f"population {key} must be > 0, got {value}")
        if not -1 < self.correlation < 1:
            raise NanotwinError("population correlation must lie in (-1, 1)")

    @classmethod
    def parse(cls, text: str) -> PopulationSpec:
        """'Dab=8.19,sab=0.24,Lc=9.79,sc=0.20' or 'D=5.0,sD=0.2'."""
        known = {"Dab", "sab", "Lc", "sc", "D", "sD", "correlation"}
        values: dict[str, float] = {}
        for item in text.split(","):
            key, sep, value = item.strip().partition("=")
            key = key.strip()
            if not sep or key not in known:
                raise NanotwinError(
                    f"--population expects NAME=VALUE with NAME in {', '.join(sorted(known))}, got {item!r}"
                )
            try:
                values[key] = float(value)
            except ValueError:
                raise NanotwinError(f"--population: {key} is not a number: {value!r}") from None
        return cls(**values)


@dataclass
class ComponentSpec:
    """One population of a mixture (twinned / untwinned, or another phase).

    Every field left None is taken from the enclosing :class:`Model` (structure, twins, sizes).
    ``fraction`` is the number fraction of crystals (the start value when fractions are refined,
    fixed otherwise; fractions are normalised to sum 1). ``population`` given = this component
    has its own size parameters (suffixed ``_<name>`` in the fit); None = it shares the model's
    size distribution (twinned and untwinned crystals of the same sizes). ``twins = []`` means
    untwinned; None inherits the model's twin laws.
    """

    name: str
    fraction: float = 1.0
    structure: str | None = None
    cif: str | None = None
    twins: list[str] | None = None
    boundaries: int | None = None
    domain_size_nm: float | None = None
    seeds: list[int] | None = None
    population: PopulationSpec | None = None

    def validate(self, shape: str) -> None:
        if not self.name or not str(self.name).replace("_", "").replace("-", "").isalnum():
            raise NanotwinError(f"component names are letters, digits, _ or -, got {self.name!r}")
        if not self.fraction >= 0:
            raise NanotwinError(f"component {self.name}: fraction must be >= 0, got {self.fraction}")
        if self.domain_size_nm is not None and not self.domain_size_nm > 0:
            raise NanotwinError(f"component {self.name}: domain_size_nm must be > 0")
        if self.seeds is not None and not self.seeds:
            raise NanotwinError(f"component {self.name}: seeds must not be empty")
        if self.population is not None:
            self.population.validate(shape)

    def to_dict(self) -> dict:
        d = asdict(self)
        if self.population is not None:
            d["population"] = {k: v for k, v in asdict(self.population).items() if v is not None}
        return {k: v for k, v in d.items() if v is not None}

    @classmethod
    def from_dict(cls, d: dict) -> ComponentSpec:
        d = dict(d)
        pop = d.pop("population", None)
        if "laws" in d:
            d["twins"] = d.pop("laws")
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise NanotwinError(f"unknown component keys: {', '.join(sorted(unknown))}")
        comp = cls(**d)
        if pop is not None:
            comp.population = pop if isinstance(pop, PopulationSpec) else PopulationSpec(**pop)
        return comp


@dataclass
class Model:
    """Everything needed to build crystals and compute their pattern."""

    structure: str | None = "CsPbBr3-gamma"
    cif: str | None = None
    shape: str = "prism"
    size_ab_nm: float | None = None
    size_c_nm: float | None = None
    size_nm: float | None = None
    population: PopulationSpec | None = None
    twins: list[str] = field(default_factory=list)
    boundaries: int | None = None
    domain_size_nm: float | None = None
    seeds: list[int] = field(default_factory=lambda: [0])
    coherent_element: str = "Pb"
    allow_incoherent: bool = False
    adp: dict[str, float] = field(default_factory=dict)
    radiation: str = "xray"
    wavelength: float | None = None
    energy_kev: float | None = None
    anomalous: bool = True
    exclude: list[str] = field(default_factory=list)
    components: list[ComponentSpec] = field(default_factory=list)

    def validate(self) -> Model:
        if self.shape not in SHAPES:
            raise NanotwinError(f"shape must be one of {', '.join(SHAPES)}, got {self.shape!r}")
        if not self.structure and not self.cif:
            raise NanotwinError("a model needs a structure name or a CIF file")
        if self.population is not None:
            self.population.validate(self.shape)
        elif self.shape == "prism":
            if self.size_ab_nm is None or self.size_c_nm is None:
                raise NanotwinError("a prism needs size_ab_nm and size_c_nm (or a population)")
        elif self.size_nm is None:
            raise NanotwinError(f"a {self.shape} needs size_nm (or a population)")
        for name in ("size_ab_nm", "size_c_nm", "size_nm", "domain_size_nm", "wavelength", "energy_kev"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise NanotwinError(f"{name} must be > 0, got {value}")
        if self.boundaries is not None and self.boundaries < 0:
            raise NanotwinError("boundaries must be >= 0")
        if self.radiation not in ("xray", "neutron"):
            raise NanotwinError(f"radiation must be xray or neutron, got {self.radiation!r}")
        for b_name, b in self.adp.items():
            if b < 0:
                raise NanotwinError(f"B of {b_name} must be >= 0 Å^2")
        for pair in self.exclude:
            if pair.count(":") != 1:
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
        return self

    def to_dict(self) -> dict:
        """Plain dict without None values (TOML has no null)."""
        d = asdict(self)
        if self.population is not None:
            d["population"] = {k: v for k, v in asdict(self.population).items() if v is not None}
        if self.components:
            d["components"] = [c.to_dict() for c in self.components]
        else:
            d.pop("components")
        return {k: v for k, v in d.items() if v is not None}

    @classmethod
    def from_dict(cls, d: dict) -> Model:
        d = dict(d)
        pop = d.pop("population", None)
        comps = d.pop("components", None) or []
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise NanotwinError(f"unknown model keys: {', '.join(sorted(unknown))}")
        model = cls(**d)
        if pop is not None:
            model.population = PopulationSpec(**pop)
        model.components = [c if isinstance(c, ComponentSpec) else ComponentSpec.from_dict(c) for c in comps]
        return model


_TOML_SECTIONS = {
    "structure": {"name": "structure", "cif": "cif"},
    "shape": {"kind": "shape", "size_ab_nm": "size_ab_nm", "size_c_nm": "size_c_nm", "size_nm": "size_nm"},
    "twins": {"laws": "twins", "boundaries": "boundaries", "domain_size_nm": "domain_size_nm",
              "seeds": "seeds", "coherent_element": "coherent_element",
              "allow_incoherent": "allow_incoherent"},
    "radiation": {"kind": "radiation", "wavelength": "wavelength", "energy_kev": "energy_kev",
                  "anomalous": "anomalous"},
    "exclude": {"pairs": "exclude"},
}


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
    kwargs: dict = {}
    for section, value in doc.items():
        if section == "adp":
            kwargs["adp"] = {str(k): _number(path, f"adp.{k}", v) for k, v in value.items()}
        elif section == "population":
            try:
                kwargs["population"] = PopulationSpec(**{k: _number(path, f"population.{k}", v)
                                                          for k, v in value.items()})
            except TypeError as exc:
                raise InputFileError(path, f"[population]: {exc}") from None
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
                                       f"{', '.join([*_TOML_SECTIONS, 'adp', 'population', 'component'])}")
    if "cif" in kwargs and "structure" not in kwargs:
        kwargs["structure"] = None
        cif = Path(kwargs["cif"])
        if not cif.is_absolute():
            kwargs["cif"] = str((path.parent / cif).resolve())
    try:
        return Model(**kwargs).validate()
    except NanotwinError as exc:
        raise InputFileError(path, str(exc)) from None
    except TypeError as exc:
        raise InputFileError(path, f"bad value: {exc}") from None


def write_model_toml(model: Model, path: str | Path) -> Path:
    """Write a model as TOML (atomic: temporary file, then rename)."""
    import os

    import tomli_w

    d = model.to_dict()
    doc: dict = {}
    for section, mapping in _TOML_SECTIONS.items():
        part = {key: d[attr] for key, attr in mapping.items() if attr in d}
        if part:
            doc[section] = part
    if model.adp:
        doc["adp"] = dict(model.adp)
    if "population" in d:
        doc["population"] = d["population"]
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
