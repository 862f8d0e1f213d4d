"""Crystal shapes as small typed objects found by name in a registry.

A ``ShapeKind`` says everything the rest of the engine needs to know about a shape, so no
other module tests its name:

- ``sizes``: its size parameters (the ``Model`` attributes, e.g. ``size_ab_nm``, units, meaning);
- ``select`` / ``build``: the node selection on the coherent sublattice (what twins cut) and the
  untwinned crystal;
- ``grid_units``: the size step(s) in nm of a population grid and the atoms per step^k, so a
  size grid of whole counts n maps to sizes n x unit;
- ``volume_nm3``: the volume of the requested sizes (atom estimates).

A shape with two size parameters is *bivariate*: its populations are bivariate log-normals
over (D_ab, L_c) with ``Dab``, ``sab``, ``Lc``, ``sc``; one size parameter: a log-normal with
``D``, ``sD``. Adding a shape = one module with its builder and a ``register_shape`` call
(docs/internals.md, ``hex_platelet.py`` is the example).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from nanotwin_core.builder.ownership import find_ownership
from nanotwin_core.builder.shapes import (
    build_cuboid,
    build_prism,
    build_sphere,
    select_cuboid,
    select_prism,
    select_sphere,
)
from nanotwin_core.builder.sizes import DEFAULT_MAX_ATOMS, ab_unit_nm, c_unit_nm, check_size, prism_counts
from nanotwin_core.crystal import Crystal
from nanotwin_core.errors import NanotwinError
from nanotwin_core.structures.structure import Structure

BIVARIATE_KEYS = ("Dab", "sab", "Lc", "sc")
UNIVARIATE_KEYS = ("D", "sD")


@dataclass(frozen=True)
class SizeParameter:
    """One size of a shape: the ``Model`` attribute that holds it, a label, its unit, its meaning."""

    attr: str
    label: str
    unit: str
    description: str


@dataclass(frozen=True)
class ShapeKind:
    """A crystal shape (see the module doc). Callables take sizes as {attr: value in nm}."""

    name: str
    description: str
    sizes: tuple[SizeParameter, ...]
    select: Callable[..., object]  # (structure, sizes, *, coherent_element, max_atoms) -> NodeSelection
    build: Callable[..., Crystal]  # (structure, sizes, *, coherent_element, max_atoms, lattice) -> Crystal
    grid_units: Callable[[Structure], tuple[tuple[float, ...], float]]
    volume_nm3: Callable[[Structure, Mapping[str, float]], float]  # realised (whole cells where built so)
    extent_nm: Callable[[Structure, Mapping[str, float]], float]  # largest atom distance, about
    # True: the builder realises every size as whole ``grid_units`` steps (prisms: whole cells), so
    # a single crystal's grid counts are its crystal; False: the builder takes the size in nm as
    # given, and a single crystal's fit uses that size itself (``refine.size_grids.size_grid``)
    whole_steps: bool = False

    @property
    def bivariate(self) -> bool:
        """True: two sizes (D_ab, L_c) and a bivariate population; False: one size D."""
        return len(self.sizes) == 2

    @property
    def size_attrs(self) -> tuple[str, ...]:
        """The Model attributes holding this shape's sizes (nm)."""
        return tuple(p.attr for p in self.sizes)

    @property
    def population_keys(self) -> tuple[str, ...]:
        """The ``PopulationSpec`` keys of this shape's populations."""
        return BIVARIATE_KEYS if self.bivariate else UNIVARIATE_KEYS

    def check_sizes(self, sizes: Mapping[str, float | None]) -> dict[str, float]:
        """The sizes (nm) this shape needs, each a number > 0 (NanotwinError naming the missing)."""
        missing = [a for a in self.size_attrs if sizes.get(a) is None]
        if missing:
            raise NanotwinError(f"a {self.name} needs {' and '.join(self.size_attrs)} (nm); "
                                f"missing {', '.join(missing)}")
        return {attr: check_size(sizes[attr], attr) for attr in self.size_attrs}

    def counts(self, sizes: Mapping[str, float], units: tuple[float, ...]) -> tuple[int, ...]:
        """The whole grid counts n (>= 1) nearest to ``sizes`` (nm) for grid ``units`` (nm)."""
        return tuple(max(1, round(float(sizes[a]) / u)) for a, u in zip(self.size_attrs, units, strict=True))

    def sizes_of_counts(self, counts: tuple[int, ...], units: tuple[float, ...]) -> dict[str, float]:
        """Sizes (nm) of grid counts: n x unit for every size parameter."""
        return {a: int(n) * float(u) for a, n, u in zip(self.size_attrs, counts, units, strict=True)}

    def estimate_atoms(self, structure: Structure, sizes: Mapping[str, float]) -> float:
        """Atoms of a crystal of ``sizes`` (nm): volume x the structure's atom density."""
        density = float(sum(structure.composition().values())) / structure.cell.volume  # atoms / Å^3
        return self.volume_nm3(structure, sizes) * 1000.0 * density


SHAPE_KINDS: dict[str, ShapeKind] = {}


def register_shape(kind: ShapeKind) -> ShapeKind:
    """Make a shape known by its name (``get_shape``, ``Model.shape``, the CLI's --shape)."""
    SHAPE_KINDS[kind.name] = kind
    return kind


def get_shape(name: str) -> ShapeKind:
    """The shape called ``name`` (NanotwinError listing the known shapes)."""
    try:
        return SHAPE_KINDS[name]
    except KeyError:
        raise NanotwinError(f"unknown shape {name!r}; choose one of {', '.join(SHAPE_KINDS)}") from None


def shape_names() -> tuple[str, ...]:
    """Names of the registered shapes, in registration order."""
    return tuple(SHAPE_KINDS)


# ----------------------------------------------------------------------------- grid units
def cell_grid_units(structure: Structure) -> tuple[tuple[float, float], float]:
    """((D_ab step, L_c step) in nm, atoms per cell): prism-like grids of whole cells."""
    m = structure.cell.matrix
    return (ab_unit_nm(m), c_unit_nm(m)), float(sum(structure.composition().values()))


def node_grid_units(structure: Structure, volume_factor: float = 1.0) -> tuple[tuple[float], float]:
    """((node edge in nm,), atoms per edge^3 x ``volume_factor``) of the coherent Pb sublattice
    (whole cells without one): grids of one size D = n x edge with atoms ~ factor x n^3."""
    try:
        own = find_ownership(structure)
    except NanotwinError:  # no coherent sublattice: whole unit cells
        node_vol, per_node = structure.cell.volume, float(sum(structure.composition().values()))
    else:
        node_vol, per_node = float(own.node_volume), float(own.atoms_per_node)
    return (node_vol ** (1 / 3) / 10.0,), per_node * volume_factor


# ----------------------------------------------------------------------------- built-in shapes
def _prism_volume_nm3(structure: Structure, sizes: Mapping[str, float]) -> float:
    """Volume (nm^3) of the prism of whole cells nearest to ``sizes``."""
    n_ab, n_c = prism_counts(structure.cell.matrix, sizes["size_ab_nm"], sizes["size_c_nm"])
    return n_ab * n_ab * n_c * structure.cell.volume / 1000.0


def _prism_diagonal_nm(structure: Structure, sizes: Mapping[str, float]) -> float:
    """Body diagonal (nm) of the prism of whole cells nearest to ``sizes``."""
    m = structure.cell.matrix
    n_ab, n_c = prism_counts(m, sizes["size_ab_nm"], sizes["size_c_nm"])
    return float(np.linalg.norm(n_ab * (m[0] + m[1]) + n_c * m[2])) / 10.0


PRISM = register_shape(ShapeKind(
    name="prism",
    description="n_ab x n_ab x n_c unit cells (DebUsSy's bivariate growth): base diameter D_ab = "
                "n_ab sqrt(4ab/pi), length L_c = n_c c",
    sizes=(SizeParameter("size_ab_nm", "D_ab", "nm", "diameter of the circle with the base's area"),
           SizeParameter("size_c_nm", "L_c", "nm", "length along c")),
    select=lambda s, sizes, *, coherent_element="Pb", max_atoms=DEFAULT_MAX_ATOMS: select_prism(
        s, sizes["size_ab_nm"], sizes["size_c_nm"], coherent_element=coherent_element, max_atoms=max_atoms),
    build=lambda s, sizes, *, coherent_element="Pb", max_atoms=DEFAULT_MAX_ATOMS, lattice=None: build_prism(
        s, sizes["size_ab_nm"], sizes["size_c_nm"], lattice=lattice or "cell",
        coherent_element=coherent_element, max_atoms=max_atoms),
    grid_units=cell_grid_units,
    volume_nm3=lambda s, sizes: _prism_volume_nm3(s, sizes),
    extent_nm=lambda s, sizes: _prism_diagonal_nm(s, sizes),
    whole_steps=True,
))

def one_size_shape(name: str, description: str, size: SizeParameter, select_fn, build_fn,
                   volume_factor: float, extent_factor: float) -> ShapeKind:
    """A shape of one size D on the coherent sublattice (``select_fn(structure, D, ...)``,
    ``build_fn(structure, D, ...)``): volume ``volume_factor`` D^3, extent ``extent_factor`` D."""
    attr = size.attr
    return ShapeKind(
        name=name, description=description, sizes=(size,),
        select=lambda s, sizes, *, coherent_element="Pb", max_atoms=DEFAULT_MAX_ATOMS: select_fn(
            s, sizes[attr], coherent_element=coherent_element, max_atoms=max_atoms),
        build=lambda s, sizes, *, coherent_element="Pb", max_atoms=DEFAULT_MAX_ATOMS, lattice=None: build_fn(
            s, sizes[attr], coherent_element=coherent_element, max_atoms=max_atoms),
        grid_units=lambda s: node_grid_units(s, volume_factor),
        volume_nm3=lambda s, sizes: volume_factor * sizes[attr] ** 3,
        extent_nm=lambda s, sizes: extent_factor * sizes[attr],
    )


CUBOID = register_shape(one_size_shape(
    "cuboid", "pseudocubic {100} facets, edge D (nearest whole number of formula units per edge)",
    SizeParameter("size_nm", "D", "nm", "edge length"), select_cuboid, build_cuboid, 1.0, math.sqrt(3.0)))

SPHERE = register_shape(one_size_shape(
    "sphere", "every formula unit whose Pb lies within D/2 of a central Pb",
    SizeParameter("size_nm", "D", "nm", "diameter"), select_sphere, build_sphere, math.pi / 6, 1.0))
