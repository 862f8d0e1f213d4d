"""The paper's scenarios as data: which models, which comparison, which caption.

A demo is a list of models (structure, prism size, twin laws, density, seeds or ensemble) compared
on one Q grid, with a zoom on the superstructure region (1.5-2.2 1/Å). ``run_demo`` computes every
pattern (random networks: the exact average over every network of the domain size, the ensemble
route, or realisations averaged over their seeds by adding their pair histograms) and writes one
``.xye`` per model plus a PNG figure; the GUI shows the same ``DemoResult``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nanotwin_core.builder import build_crystal, find_ownership
from nanotwin_core.errors import Cancelled, NanotwinError
from nanotwin_core.io.data import write_pattern
from nanotwin_core.model import Model
from nanotwin_core.population.ensemble import ensemble_histograms
from nanotwin_core.scattering import PairHistograms, compute_histograms, debye_intensity
from nanotwin_core.scattering.radiation import XRay
from nanotwin_core.structures.adp import structure_b
from nanotwin_core.structures.library import get_structure
from nanotwin_core.subcell import find_subcell
from nanotwin_core.superstructure import format_rows, superstructure_rows

PAPER_WAVELENGTH = 0.565468  # Å, the paper's CsPbCl3 / CsPbBr3 synchrotron data (~21.9 keV)
ZOOM_RANGE = (1.5, 2.2)  # 1/Å, where the superstructure reflections live


@dataclass(frozen=True)
class ModelSpec:
    """One model of a demo: a prism of a built-in structure, optionally twinned."""

    label: str
    structure: str
    size_ab_nm: float = 9.0
    size_c_nm: float = 10.0
    twins: tuple[str, ...] = ()
    boundaries: int | None = None
    domain_size_nm: float | None = None
    seeds: tuple[int, ...] = (0,)
    ensemble: bool = False  # the exact average over every random network (no seeds)

    @property
    def twinned(self) -> bool:
        return bool(self.twins)

    def measure_model(self) -> dict:
        """The model keywords of ``superstructure.model_measure``."""
        return {"twins": self.twins, "boundaries": self.boundaries, "domain_size_nm": self.domain_size_nm,
                "seeds": self.seeds, "ensemble": self.ensemble}

    def to_model(self, wavelength: float = PAPER_WAVELENGTH) -> Model:
        """This demo model as a core ``Model`` (a prism, X-rays at ``wavelength`` Å)."""
        return Model(structure=self.structure, shape="prism", size_ab_nm=self.size_ab_nm,
                     size_c_nm=self.size_c_nm, twins=list(self.twins), boundaries=self.boundaries,
                     domain_size_nm=self.domain_size_nm, seeds=list(self.seeds), ensemble=self.ensemble,
                     radiation=XRay(wavelength=wavelength)).validate()


@dataclass(frozen=True)
class Demo:
    """A comparison of models that makes one point of the paper."""

    name: str
    title: str
    caption: str
    models: tuple[ModelSpec, ...]
    q_range: tuple[float, float, float] = (0.5, 6.0, 0.002)
    zoom: tuple[float, float] = ZOOM_RANGE
    wavelength: float = PAPER_WAVELENGTH


@dataclass
class DemoResult:
    """Patterns of a demo: ``intensities[label]`` on ``q`` (1/Å), per-model info."""

    demo: Demo
    q: np.ndarray
    intensities: dict[str, np.ndarray]
    info: dict[str, dict] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)


_GAMMA_BR = "CsPbBr3-gamma"
_LAW_001 = "1/2<001>{110}"
_LAW_110_110 = "1/2<110>{110}"
_LAW_110_001 = "1/2<110>{001}"
_ROT_C = "R90<110>{001}"
_ROT_AB = "R90<001>{110}"

DEMOS: dict[str, Demo] = {
    d.name: d
    for d in (
        Demo(
            name="cspbbr3-298k",
            title="CsPbBr3 at 298 K: one 1/2<001>{110} twin boundary looks tetragonal",
            caption=(
                "One coherent 1/2<001>{110} boundary through the centre of a 9 x 10 nm prism "
                "flips the R and X superstructure reflections of one half of the crystal and "
                "keeps the M reflections: the R peak near 1.79 1/Å fades, the M peaks stay, "
                "and the pattern reads as tetragonal (paper Fig. 4a-b). The ensemble curve "
                "averages every random network of 20 nm domains, about one boundary per crystal."
            ),
            models=(
                ModelSpec("untwinned gamma", _GAMMA_BR),
                ModelSpec("1/2<001>{110} ensemble, ~1 boundary per crystal", _GAMMA_BR, twins=(_LAW_001,),
                          domain_size_nm=20.0, ensemble=True),
                ModelSpec("one 1/2<001>{110} boundary", _GAMMA_BR, twins=(_LAW_001,), boundaries=1),
            ),
        ),
        Demo(
            name="cspbbr3-410k",
            title="CsPbBr3 at 410 K: which twin network looks cubic",
            caption=(
                "The paper's text combines 1/2<110>{110} and 1/2<110>{001} boundaries: both shift "
                "by the same coset, give 2 variants and leave the X reflections (Cs "
                "off-centring) untouched. Mixing in 1/2<001>{110} (4 variants) is needed to "
                "fade the whole superstructure and read as cubic (paper Fig. 4c-d). Curves: the "
                "exact average over every random network of 3 nm domains (ensemble route)."
            ),
            models=(
                ModelSpec("untwinned gamma", _GAMMA_BR),
                ModelSpec("1/2<110> network (paper text, 2 variants)", _GAMMA_BR,
                          twins=(_LAW_110_110, _LAW_110_001), domain_size_nm=3.0, ensemble=True),
                ModelSpec("mixed-coset network (4 variants)", _GAMMA_BR,
                          twins=(_LAW_110_110, _LAW_110_001, _LAW_001), domain_size_nm=3.0, ensemble=True),
            ),
        ),
        Demo(
            name="cspbbr3-410k-rotations",
            title="CsPbBr3 at 410 K: 90° domains (rotation twins) against translation twins",
            caption=(
                "90° domains (paper Fig. 3i): R90<110>{001} turns the c axis into the plane, "
                "R90<001>{110} turns a and b about c. With 3 nm domains they take most of the Bragg "
                "part (the whole crystal's order), yet the pattern keeps broadened superstructure "
                "peaks at their positions: each turned domain is an ordered orthorhombic domain whose "
                "reflections lie at other reciprocal points than its neighbour's, so nothing cancels. "
                "Only antiphase (translation) boundaries move the intensity off the positions and "
                "read as cubic. Rotation curves: the mean of four random networks (the ensemble "
                "route holds translation twins only); translation: the exact ensemble."
            ),
            models=(
                ModelSpec("untwinned gamma", _GAMMA_BR),
                ModelSpec("90° domains, c turned (R90<110>{001})", _GAMMA_BR, twins=(_ROT_C,),
                          domain_size_nm=3.0, seeds=(0, 1, 2, 3)),
                ModelSpec("90° domains, c and a turned (+ R90<001>{110})", _GAMMA_BR, twins=(_ROT_C, _ROT_AB),
                          domain_size_nm=3.0, seeds=(0, 1, 2, 3)),
                ModelSpec("mixed-coset translation network (ensemble)", _GAMMA_BR,
                          twins=(_LAW_110_110, _LAW_110_001, _LAW_001), domain_size_nm=3.0, ensemble=True),
            ),
        ),
        Demo(
            name="cspbcl3-2d-network",
            title="CsPbCl3: a 2D network of 1/2<110>{110} boundaries",
            caption=(
                "Orthorhombic CsPbCl3 subdomains hinged by a dense 2D network of 1/2<110>{110} "
                "boundaries (the exact average over every random network of 2 nm domains): the R "
                "and M superstructure peaks fade towards an apparently cubic pattern (paper Fig. 3e-g)."
            ),
            models=(
                ModelSpec("untwinned gamma", "CsPbCl3-gamma", size_ab_nm=6.0, size_c_nm=8.0),
                ModelSpec("2D 1/2<110>{110} network", "CsPbCl3-gamma", size_ab_nm=6.0, size_c_nm=8.0,
                          twins=(_LAW_110_110,), domain_size_nm=2.0, ensemble=True),
                ModelSpec("cubic (alpha)", "CsPbCl3-alpha", size_ab_nm=6.0, size_c_nm=8.0),
            ),
        ),
        Demo(
            name="polymorphs",
            title="Superstructure region of the CsPbBr3 polymorphs",
            caption=(
                "alpha (Pm-3m) has no superstructure peaks, beta (P4/mbm, in-plane tilt) has M, "
                "gamma (Pbnm, a-a-c+) has R, M and X: the 1.5-2.2 1/Å window tells them apart "
                "(paper Fig. 2b-d)."
            ),
            models=(
                ModelSpec("alpha", "CsPbBr3-alpha"),
                ModelSpec("beta", "CsPbBr3-beta"),
                ModelSpec("gamma", _GAMMA_BR),
            ),
        ),
        Demo(
            name="cspbi3-phases",
            title="CsPbI3: gamma vs alpha vs delta",
            caption=(
                "The paper's red CsPbI3 nanocrystals are gamma (orthorhombic perovskite), not "
                "alpha and not the yellow delta phase (paper Fig. 5)."
            ),
            models=(
                ModelSpec("gamma", "CsPbI3-gamma"),
                ModelSpec("alpha", "CsPbI3-alpha"),
                ModelSpec("delta", "CsPbI3-delta"),
            ),
        ),
        Demo(
            name="domain-size-series",
            title="CsPbBr3: superstructure fades as mixed-coset twin domains shrink",
            caption=(
                "Mixed-coset networks (1/2<110>{110} + 1/2<110>{001} + 1/2<001>{110}) with mean "
                "domain sizes 6, 3, 2 and 1.5 nm (exact averages over every network): the R, M and X "
                "peaks broaden into diffuse humps while (110) and (200) stay."
            ),
            models=(
                ModelSpec("untwinned", _GAMMA_BR),
                *(
                    ModelSpec(f"domains {d:g} nm", _GAMMA_BR,
                              twins=(_LAW_110_110, _LAW_110_001, _LAW_001), domain_size_nm=d,
                              ensemble=True)
                    for d in (6.0, 3.0, 2.0, 1.5)
                ),
            ),
        ),
    )
}

DEFAULT_DEMO = "cspbbr3-298k"


def get_demo(name: str) -> Demo:
    """The demo called ``name`` (NanotwinError listing the names otherwise)."""
    try:
        return DEMOS[name]
    except KeyError:
        raise NanotwinError(f"unknown demo {name!r}; known: {', '.join(DEMOS)}") from None


#: B (Å^2) per ADP group from a structure's sites (the name demos always used)
default_adp = structure_b


def model_histograms(spec: ModelSpec, *, cancel: Callable[[], bool] | None = None):
    """Pair histograms of a model: the ensemble average, or averaged over its seeds (histograms
    add linearly)."""
    structure = get_structure(spec.structure)
    if spec.ensemble:
        hist = ensemble_histograms(structure, spec.twins, spec.domain_size_nm, shape="prism",
                                   size_ab_nm=spec.size_ab_nm, size_c_nm=spec.size_c_nm, cancel=cancel)
        crystal = build_model_crystal(structure, spec, spec.seeds[0], cancel)  # sizes for the header
        info = {k: v for k, v in crystal.info.items() if k not in ("boundaries", "seed")}
        info.update(n_atoms=crystal.n_atoms, seeds=[], ensemble=True, n_pairs=float(hist.n_pairs),
                    groups=hist.meta.get("groups", []))
        return structure, hist, info
    parts = []
    info: dict = {}
    seeds = spec.seeds if spec.twinned else spec.seeds[:1]
    for seed in seeds:
        crystal = build_model_crystal(structure, spec, seed, cancel)
        parts.append(compute_histograms(crystal, cancel=cancel))
        info = {k: v for k, v in crystal.info.items() if k != "boundaries"}
        info["n_atoms"] = crystal.n_atoms
    hist = parts[0] if len(parts) == 1 else PairHistograms.combine([(1.0 / len(parts), h) for h in parts])
    info["seeds"] = list(seeds)
    info["n_pairs"] = float(sum(h.n_pairs for h in parts))  # pairs counted over every seed
    return structure, hist, info


def build_model_crystal(structure, spec: ModelSpec, seed: int, cancel: Callable[[], bool] | None = None):
    """One crystal of a demo model (one seed of its boundary network)."""
    if cancel is not None and cancel():
        raise Cancelled("demo cancelled")
    return build_crystal(
        structure, shape="prism", size_ab_nm=spec.size_ab_nm, size_c_nm=spec.size_c_nm,
        twins=spec.twins, boundaries=spec.boundaries, domain_size_nm=spec.domain_size_nm,
        seed=seed, **_same_termination(structure, spec),
    )


def _same_termination(structure, spec: ModelSpec) -> dict:
    """Untwinned perovskites are built on the Pb sublattice too, so twinned and untwinned crystals
    of a comparison share their surface termination."""
    if spec.twinned:
        return {}
    try:
        find_ownership(structure)
    except NanotwinError:  # no coherent sublattice (e.g. delta-CsPbI3): whole cells
        return {}
    return {"lattice": "sublattice"}


def compute_demo(
    demo: Demo,
    *,
    progress: Callable[[str], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> DemoResult:
    """Build every model of a demo and compute its pattern on the demo's Q grid."""
    lo, hi, step = demo.q_range
    q = np.arange(lo, hi + step / 2, step)
    radiation = XRay(wavelength=demo.wavelength)
    result = DemoResult(demo=demo, q=q, intensities={})
    for spec in demo.models:
        if progress:
            progress(f"{demo.name}: {spec.label}")
        structure, hist, info = model_histograms(spec, cancel=cancel)
        result.intensities[spec.label] = debye_intensity(
            hist, q, b_iso=default_adp(structure), radiation=radiation
        )
        result.info[spec.label] = info
    return result


def run_demo(
    name: str,
    out_dir: str | Path,
    *,
    progress: Callable[[str], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> DemoResult:
    """Run a demo headless: one ``.xye`` per model and a PNG figure in ``out_dir``."""
    from nanotwin_core.figures import demo_figure
    demo = get_demo(name)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result = compute_demo(demo, progress=progress, cancel=cancel)
    *pattern_paths, png = demo_files(demo, out)
    for path, spec in zip(pattern_paths, demo.models, strict=True):
        info = result.info[spec.label]
        header = [
            f"nanotwin demo {demo.name}: {spec.label}",
            f"structure: {spec.structure}; twins: {', '.join(spec.twins) or 'none'}; "
            + ("ensemble average over every random network (no seeds)" if spec.ensemble
               else f"seeds: {info.get('seeds')}"),
            f"realised sizes: D_ab = {info.get('D_ab_nm', float('nan')):.3f} nm, "
            f"L_c = {info.get('L_c_nm', float('nan')):.3f} nm; atoms: {info.get('n_atoms')}",
            f"wavelength: {demo.wavelength} A (anomalous dispersion on)",
            "axis: Q (1/A)",
            "columns: Q I",
        ]
        write_pattern(path, result.q, result.intensities[spec.label], header_lines=header)
        result.files.append(path)
    demo_figure(result, png)
    result.files.append(png)
    return result


def demo_files(demo: Demo, out_dir: str | Path) -> list[Path]:
    """The files :func:`run_demo` writes in ``out_dir``: one ``.xye`` per model, then the PNG."""
    out = Path(out_dir)
    patterns = [out / f"{i + 1:02d}_{_slug(spec.label)}.xye" for i, spec in enumerate(demo.models)]
    return [*patterns, out / f"{demo.name}.png"]


def _slug(text: str) -> str:
    keep = [ch.lower() if ch.isalnum() else "-" for ch in text]
    slug = "".join(keep)
    while "--" in slug:
        slug = slug.replace("--", "-")
    return slug.strip("-")


def superstructure_table(
    demo: Demo | str,
    *,
    progress: Callable[[str], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> list[dict]:
    """Bragg, diffuse and at-position superstructure of every model of the demo's first structure
    and size, relative to the untwinned crystal (``superstructure.superstructure_rows``: rows with
    ``label``, ``bragg``, ``diffuse``, ``at_positions`` per class R, M, X, ``I110``, ``I200``).

    The first model's structure must have superstructure classes (a doubled subcell: gamma has
    R, M, X; beta M).
    """
    demo = get_demo(demo) if isinstance(demo, str) else demo
    reference = demo.models[0]
    structure = get_structure(reference.structure)
    sub = find_subcell(structure)
    if sub is None or not sub.doubled or sub.n_classes == 1:
        raise NanotwinError(f"demo {demo.name}: its first model ({reference.structure}) has no "
                            "superstructure classes; the superstructure table compares twinned with "
                            "untwinned tilted crystals")
    models = [(spec.label, spec.measure_model()) for spec in demo.models
              if spec.structure == reference.structure
              and (spec.size_ab_nm, spec.size_c_nm) == (reference.size_ab_nm, reference.size_c_nm)]
    return superstructure_rows(structure, models, size_ab_nm=reference.size_ab_nm,
                               size_c_nm=reference.size_c_nm, b_iso=default_adp(structure),
                               radiation=XRay(wavelength=demo.wavelength), progress=progress, cancel=cancel)


def format_superstructure_table(rows: list[dict]) -> str:
    """The table of :func:`superstructure_table` as aligned text (``superstructure.format_rows``)."""
    return format_rows(rows)
