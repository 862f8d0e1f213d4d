"""The parts of a ``Model``: size population, mixture component, instrument, fit settings.

Plain dataclasses with ``validate``, ``to_dict`` (JSON/TOML safe: no None values) and
``from_dict``; ``nanotwin_core.model`` assembles them (and re-exports them).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields

from nanotwin_core.builder.shape_kinds import get_shape
from nanotwin_core.errors import NanotwinError
from nanotwin_core.scattering.lab_sources import kalpha2_wavelength
from nanotwin_core.scattering.polarization import polarization_fraction
from nanotwin_core.scattering.texture import check_ratio, hkl_text

#: what ``--refine`` / ``[fit] refine`` may name (each is a parameter provider of the fit)
REFINABLE = ("scale", "background", "adp", "size", "expansion", "fractions", "twin", "zero", "cell", "tilt",
             "twin_density", "occupancy", "chain", "chain_gap", "ligand", "texture")
DEFAULT_REFINE = ("scale", "background", "adp", "size")
DEFAULT_BACKGROUND_ORDER = 4
DEFAULT_TEXTURE_RATIO = 0.8  # March-Dollase start: hkl enhanced (TextureSpec)


def _plain(d: dict) -> dict:
    """``d`` without None values, tuples as lists (TOML has no null and no tuple)."""
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items() if v is not None}


def _known_keys(cls, d: dict, what: str) -> dict:
    unknown = set(d) - {f.name for f in fields(cls)}
    if unknown:
        raise NanotwinError(f"unknown {what} keys: {', '.join(sorted(unknown))}; "
                            f"known: {', '.join(f.name for f in fields(cls))}")
    return dict(d)


def _whole(value, what: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value \
            or not lo <= int(value) <= hi:
        raise NanotwinError(f"{what} must be a whole number {lo}-{hi}, got {value!r}")
    return int(value)


def _finite_numbers(value, count: int, what: str) -> tuple[float, ...]:
    """``value`` as ``count`` finite floats; NanotwinError "``what``, got ..." otherwise."""
    try:
        out = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        raise NanotwinError(f"{what}, got {value!r}") from None
    if len(out) != count or not all(math.isfinite(v) for v in out):
        raise NanotwinError(f"{what}, got {value!r}")
    return out


def _number_pair(value, what: str) -> tuple[float, float] | None:
    if value is None:
        return None
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise NanotwinError(f"{what} must be two numbers [MIN, MAX], got {value!r}") from None
    if not hi > lo:
        raise NanotwinError(f"{what}: MAX must be larger than MIN, got {value!r}")
    return lo, hi


@dataclass
class PopulationSpec:
    """A log-normal size population (number-based means in nm, relative dispersions).

    Bivariate shapes (prisms): over (D_ab, L_c) with ``Dab``, ``sab``, ``Lc``, ``sc`` and an
    optional ``correlation`` of the logs; one-size shapes (spheres, cuboids): ``D``, ``sD``.
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
        keys = get_shape(shape).population_keys
        missing = [k for k in keys if getattr(self, k) is None]
        if missing:
            raise NanotwinError(f"a {shape} population needs {', '.join(keys)} "
                                f"(missing {', '.join(missing)})")
        for key in keys:
            value = getattr(self, key)
            if not value > 0:
                raise NanotwinError(f"population {key} must be > 0, got {value}")
        if not -1 < self.correlation < 1:
            raise NanotwinError("population correlation must lie in (-1, 1)")

    def to_dict(self) -> dict:
        return _plain(asdict(self))

    @classmethod
    def from_dict(cls, d: dict) -> PopulationSpec:
        return cls(**_known_keys(cls, d, "population"))

    @classmethod
    def parse(cls, text: str) -> PopulationSpec:
        """'Dab=8.19,sab=0.24,Lc=9.79,sc=0.20' or 'D=5.0,sD=0.2'."""
        known = {f.name for f in fields(cls)}
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

    Every field left None is taken from the enclosing ``Model`` (structure, twins, sizes).
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
            d["population"] = self.population.to_dict()
        return _plain(d)

    @classmethod
    def from_dict(cls, d: dict) -> ComponentSpec:
        d = dict(d)
        pop = d.pop("population", None)
        if "laws" in d:
            d["twins"] = d.pop("laws")
        comp = cls(**_known_keys(cls, d, "component"))
        if pop is not None:
            comp.population = pop if isinstance(pop, PopulationSpec) else PopulationSpec.from_dict(pop)
        return comp


@dataclass
class Instrument:
    """How the diffractometer shapes a 2theta pattern (SCIENCE.md section 5).

    ``polarization``: "none", "lab" (f = 0.5), "sync" (f = 0.95) or "sync:F";
    ``caglioti``: (U, V, W) in deg^2, pseudo-Voigt resolution FWHM^2 = U tan^2 t + V tan t + W
    (None: no convolution); ``zero``: zero shift of 2theta in degrees (observed = true + zero;
    the start value when ``zero`` is refined); ``lorentzian``: (X, Y) in degrees, a Lorentzian
    FWHM = X / cos t + Y tan t (GSAS-II's order, in degrees not centidegrees): given, the
    Caglioti terms are the Gaussian FWHM and the two combine as Thompson-Cox-Hastings; None:
    one pseudo-Voigt of mixing 0.5 and Caglioti FWHM; ``kalpha2``: the ratio I(K-alpha2)/I(K-alpha1)
    of a tube's doublet (GSAS-II's I(L2)/I(L1); None: one wavelength), the data's wavelength being
    K-alpha1, at ``lambda2`` (Å; None: the K-alpha2 of that tube, ``scattering.lab_sources``).
    Q data ignore them all.
    """

    polarization: str = "none"
    caglioti: tuple[float, float, float] | None = None
    zero: float = 0.0
    lorentzian: tuple[float, float] | None = None
    kalpha2: float | None = None
    lambda2: float | None = None

    def validate(self) -> Instrument:
        polarization_fraction(self.polarization)
        if self.caglioti is not None:
            cag = _finite_numbers(self.caglioti, 3, "caglioti must be three numbers U, V, W (deg^2)")
            if cag[2] <= 0 and cag[0] <= 0:
                raise NanotwinError(f"caglioti U={cag[0]:g}, W={cag[2]:g}: the FWHM would be 0 or imaginary")
            self.caglioti = cag  # type: ignore[assignment]
        if self.lorentzian is not None:
            lor = _finite_numbers(self.lorentzian, 2, "lorentzian must be two numbers X, Y (degrees)")
            if self.caglioti is None:
                raise NanotwinError("lorentzian X, Y need the Gaussian caglioti U, V, W as well")
            self.lorentzian = lor  # type: ignore[assignment]
        if not (math.isfinite(float(self.zero)) and abs(float(self.zero)) <= 0.5):
            raise NanotwinError(f"zero shift must lie in [-0.5, 0.5] degrees, got {self.zero!r}")
        self.zero = float(self.zero)
        if self.kalpha2 is not None:
            ratio = _finite_numbers([self.kalpha2], 1, "kalpha2 must be a ratio I(K-alpha2)/I(K-alpha1)")[0]
            if not 0 < ratio <= 1:
                raise NanotwinError(f"kalpha2 ratio must lie in (0, 1], got {ratio:g}")
            self.kalpha2 = ratio
        if self.lambda2 is not None:
            if self.kalpha2 is None:
                raise NanotwinError("lambda2 is the K-alpha2 wavelength: give the kalpha2 ratio as well")
            lam2 = _finite_numbers([self.lambda2], 1, "lambda2 must be a wavelength in Å")[0]
            if not lam2 > 0:
                raise NanotwinError(f"lambda2 must be > 0 Å, got {lam2:g}")
            self.lambda2 = lam2
        return self

    def kalpha2_wavelength(self, wavelength: float) -> float | None:
        """lambda2 (Å) of the doublet for data at ``wavelength`` (K-alpha1, Å); None without one."""
        if self.kalpha2 is None:
            return None
        lam2 = self.lambda2 if self.lambda2 is not None else kalpha2_wavelength(wavelength)
        if not lam2 > wavelength:
            raise NanotwinError(f"K-alpha2 at {lam2:g} Å must be longer than the data's K-alpha1 "
                                f"{wavelength:g} Å")
        return lam2

    @property
    def is_default(self) -> bool:
        return self == Instrument()

    def to_dict(self) -> dict:
        return _plain(asdict(self))

    @classmethod
    def from_dict(cls, d: dict) -> Instrument:
        d = _known_keys(cls, d, "instrument")
        for key in ("caglioti", "lorentzian"):
            if d.get(key) is not None:
                d[key] = tuple(d[key])
        return cls(**d)


@dataclass
class FitSpec:
    """What a fit refines and where (SCIENCE.md section 5).

    ``refine``: names from ``REFINABLE``; ``background_order``: Chebyshev order N (None: 4 when
    the background is refined, none otherwise); ``q_range`` (1/Å) or ``tth_range`` (degrees):
    the fitted range (None: the whole pattern); ``blank``: path of a solvent/capillary pattern
    scaled as a background (read when the fit runs); ``max_nfev``: largest number of model
    evaluations; ``constraints``: {parameter: "=OTHER" or "fixed"} applied to the fit's
    parameters (e.g. {"B_S_surf": "=B_S"}).
    """

    refine: list[str] = field(default_factory=lambda: list(DEFAULT_REFINE))
    background_order: int | None = None
    q_range: tuple[float, float] | None = None
    tth_range: tuple[float, float] | None = None
    blank: str | None = None
    max_nfev: int = 200
    constraints: dict[str, str] = field(default_factory=dict)

    def validate(self) -> FitSpec:
        self.refine = [str(r).strip() for r in self.refine if str(r).strip()]
        unknown = [r for r in self.refine if r not in REFINABLE]
        if unknown:
            raise NanotwinError(f"refine: unknown {', '.join(unknown)}; choose from {', '.join(REFINABLE)}")
        if self.background_order is not None:
            self.background_order = _whole(self.background_order, "background order", 0, 30)
        self.q_range = _number_pair(self.q_range, "q_range")
        self.tth_range = _number_pair(self.tth_range, "tth_range")
        if self.q_range is not None and self.tth_range is not None:
            raise NanotwinError("give a Q range or a 2theta range, not both")
        self.max_nfev = _whole(self.max_nfev, "max_nfev", 1, 10**7)
        for name, rule in self.constraints.items():
            rule = str(rule).strip()
            if rule != "fixed" and not (rule.startswith("=") and rule[1:].strip()):
                raise NanotwinError(f"constraint of {name} must be 'fixed' or '=OTHER', got {rule!r}")
        return self

    @property
    def effective_background_order(self) -> int | None:
        """The Chebyshev order used: the one given, else 4 when "background" is refined."""
        if self.background_order is not None:
            return self.background_order
        return DEFAULT_BACKGROUND_ORDER if "background" in self.refine else None

    @property
    def is_default(self) -> bool:
        return self == FitSpec()

    def to_dict(self) -> dict:
        d = _plain(asdict(self))
        if not self.constraints:
            d.pop("constraints")
        return d

    @classmethod
    def from_dict(cls, d: dict) -> FitSpec:
        d = _known_keys(cls, d, "fit")
        for key in ("q_range", "tth_range"):
            if d.get(key) is not None:
                d[key] = tuple(d[key])
        if "refine" in d:
            d["refine"] = list(d["refine"])
        return cls(**d)


@dataclass
class TextureSpec:
    """A March-Dollase fibre texture (``scattering/texture.py``): the (hkl) planes whose normal
    ``axis`` is spread about the sample normal with ``ratio`` r (1 random, < 1 the planes lie in the
    surface and hkl is enhanced, > 1 they stand across it). Bragg-Brentano (symmetric reflection)
    geometry; the start value when ``texture`` is refined. The default ratio is ``DEFAULT_TEXTURE_RATIO``
    (0.8, hkl enhanced), not 1: in a cubic crystal the pattern changes as (r - 1)^2 near r = 1
    (the first-order term of W is P_2, which has no cubic invariant), so a fit started at 1 has
    no gradient to follow."""

    axis: tuple[int, int, int] = (1, 1, 0)
    ratio: float = DEFAULT_TEXTURE_RATIO

    def validate(self) -> TextureSpec:
        axis = tuple(self.axis)
        if (len(axis) != 3 or any(isinstance(v, bool) or not isinstance(v, (int, float)) or int(v) != v
                                  for v in axis) or not any(axis)):
            raise NanotwinError(f"texture axis must be three whole numbers h, k, l (not all 0), got "
                                f"{self.axis!r}")
        self.axis = tuple(int(v) for v in axis)  # type: ignore[assignment]
        ratio = check_ratio(self.ratio)
        self.ratio = ratio
        return self

    @property
    def label(self) -> str:
        """'110' (or '1,-1,0' when an index is negative or has two digits)."""
        return hkl_text(self.axis)

    def to_dict(self) -> dict:
        return {"axis": list(self.axis), "ratio": float(self.ratio)}

    @classmethod
    def from_dict(cls, d: dict) -> TextureSpec:
        d = _known_keys(cls, d, "texture")
        if "axis" in d:
            d["axis"] = tuple(d["axis"]) if isinstance(d["axis"], (list, tuple)) else d["axis"]
        return cls(**d).validate()

    @classmethod
    def parse(cls, text: str) -> TextureSpec:
        """'110', '110:0.7', '1,1,0:0.7' or '1 -1 0:1.3' (axis hkl, then the ratio; default 0.8)."""
        axis_text, _sep, ratio_text = str(text).strip().partition(":")
        axis_text = axis_text.strip()
        parts = axis_text.replace(",", " ").split()
        if len(parts) == 1 and len(parts[0]) == 3 and parts[0].isdigit():
            parts = list(parts[0])
        bad = NanotwinError(f"--texture expects HKL[:RATIO], e.g. 110:0.7 or 1,1,0:0.7, got {text!r}")
        try:
            axis = tuple(int(v) for v in parts)
            ratio = float(ratio_text) if ratio_text.strip() else DEFAULT_TEXTURE_RATIO
        except ValueError:
            raise bad from None
        if len(axis) != 3:
            raise bad
        return cls(axis=axis, ratio=ratio).validate()  # type: ignore[arg-type]


def twin_states(
    laws: Sequence[str],
    domain_sizes_nm: Sequence[float],
    seeds: Sequence[int],
    *,
    split_seeds: bool = False,
    untwinned: bool = True,
    fraction: float = 1.0,
) -> list:
    """Mixture components spanning a twin density: one twinned state per domain size.

    Parameters
    ----------
    laws : twin laws, e.g. ("1/2<110>{110}", "1/2<110>{001}", "1/2<001>{110}").
    domain_sizes_nm : mean twin-domain sizes of the states (nm), e.g. (6, 3, 2).
    seeds : builder seeds; a state averages them (``split_seeds=False``) or every seed is its own
        state (``split_seeds=True``; more columns, worse conditioned).
    untwinned : also add an untwinned state (named "untwinned").
    fraction : start number fraction of each state (normalised by the fit).

    Returns
    -------
    list of ``ComponentSpec`` sharing the model's sizes (``Model.components``), named
    ``d<size>nm`` or ``d<size>nm_s<seed>`` (dots as "p"); refine with ``--refine twin``.
    """
    out = []
    for d in domain_sizes_nm:
        tag = f"d{float(d):g}nm".replace(".", "p")
        if split_seeds:
            groups = [(f"{tag}_s{s}", [int(s)]) for s in seeds]
        else:
            groups = [(tag, [int(s) for s in seeds])]
        for name, sd in groups:
            out.append(ComponentSpec(name=name, fraction=fraction, twins=list(laws), domain_size_nm=float(d),
                                     seeds=sd))
    if untwinned:
        out.append(ComponentSpec(name="untwinned", fraction=fraction, twins=[]))
    return out
