"""The hexagonal platelet, a shape added through the shape registry: atoms against a hand count,
its pattern against a brute-force Debye sum, twins, and a population grid of it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nanotwin_core.actions import compute_pattern, estimate_atoms
from nanotwin_core.builder import build_crystal
from nanotwin_core.builder.hex_platelet import hexagon_radii_nm
from nanotwin_core.builder.shape_kinds import get_shape
from nanotwin_core.io.data import PatternData
from nanotwin_core.model import Model, PopulationSpec
from nanotwin_core.refine.dse_fit import FitSettings, prepare_fit
from nanotwin_core.scattering import compute_histograms, debye_intensity, exact_debye
from nanotwin_core.structures.library import get_structure

ALPHA = get_structure("CsPbBr3-alpha")  # simple cubic Pb lattice, 5 atoms per Pb


def d_ab_for_inradius(r_cells: float) -> float:
    """The D_ab (nm) whose hexagon has inradius ``r_cells`` x a."""
    inradius_nm = r_cells * ALPHA.cell.a / 10.0
    return inradius_nm / hexagon_radii_nm(1.0)[1]


@pytest.mark.parametrize(("r_cells", "per_layer"), [(1.5, 9), (2.0, 17)])
def test_atoms_per_layer_by_hand(r_cells, per_layer) -> None:
    """Pb columns of a square lattice (spacing a) inside a hexagon of inradius r, two facets
    normal to a, centred on a column. r = 1.5a: the 3 x 3 block (9). r = 2a: rows j = 0, +-1 hold
    |i| <= 2 (5 each), rows +-2 only i = 0 (|i/2 +- sqrt3| <= 2), rows +-3 none: 5 + 10 + 2 = 17.
    Two layers along c, one formula unit (5 atoms) per Pb."""
    crystal = build_crystal(ALPHA, shape="hex_platelet", size_ab_nm=d_ab_for_inradius(r_cells),
                            size_c_nm=2 * ALPHA.cell.c / 10.0)
    assert crystal.n_atoms == 2 * per_layer * 5
    assert crystal.composition() == {"Pb": 2 * per_layer, "Cs": 2 * per_layer, "Br": 6 * per_layer}
    # realised D_ab: the circle with the area of the per_layer columns
    area = per_layer * ALPHA.cell.a**2
    assert crystal.info["D_ab_nm"] == pytest.approx(math.sqrt(4 * area / math.pi) / 10.0)


def test_pattern_equals_the_brute_force_debye_sum() -> None:
    crystal = build_crystal("CsPbBr3-gamma", shape="hex_platelet", size_ab_nm=3.0, size_c_nm=2.4)
    assert crystal.lattice is not None and 200 < crystal.n_atoms < 1500
    q = np.linspace(0.5, 6.0, 300)
    b = {"Pb": 1.0, "Cs": 2.0, "X_ax": 1.5, "X_eq": 1.5}
    lattice = debye_intensity(compute_histograms(crystal, sampling="exact"), q, b_iso=b)
    brute = exact_debye(crystal, q, b_iso=b)
    assert np.allclose(lattice, brute, rtol=1e-9)
    sampled = debye_intensity(compute_histograms(crystal), q, b_iso=b)
    assert np.max(np.abs(sampled - brute) / brute) < 1e-3


def test_twinned_platelet_keeps_stoichiometry_and_envelope() -> None:
    kw = dict(shape="hex_platelet", size_ab_nm=4.0, size_c_nm=3.0)
    plain = build_crystal("CsPbBr3-gamma", lattice="sublattice", **kw)
    twinned = build_crystal("CsPbBr3-gamma", twins=["1/2<001>{110}"], boundaries=1, **kw)
    assert twinned.n_atoms == plain.n_atoms and twinned.info["n_domains"] == 2
    pb = plain.elements == "Pb"
    assert np.allclose(np.sort(twinned.positions[twinned.elements == "Pb"], axis=0),
                       np.sort(plain.positions[pb], axis=0))


def test_population_of_platelets_uses_the_registry_grid() -> None:
    """A hex_platelet population: the size database holds the platelets the builder makes for
    each grid size, and the atom estimate follows the volume."""
    pop = PopulationSpec(Dab=2.6, sab=0.1, Lc=2.4, sc=0.1)
    model = Model(structure="CsPbBr3-alpha", shape="hex_platelet", population=pop).validate()
    data = PatternData(np.linspace(1.0, 4.0, 200), np.ones(200), x_kind="q")
    problem = prepare_fit(model, data, FitSettings(refine=("scale",), background_order=None))
    db = problem.database
    kind = get_shape("hex_platelet")
    units, _ = kind.grid_units(ALPHA)
    for i in (0, db.n_sizes // 2, db.n_sizes - 1):
        sizes = kind.sizes_of_counts(tuple(db.counts[i]), units)
        assert build_crystal(ALPHA, shape="hex_platelet", **sizes).n_atoms == db.n_atoms[i]
    single = Model(structure="CsPbBr3-alpha", shape="hex_platelet", size_ab_nm=8.0, size_c_nm=3.0)
    built = build_crystal(ALPHA, shape="hex_platelet", size_ab_nm=8.0, size_c_nm=3.0).n_atoms
    assert abs(estimate_atoms(single) - built) < 0.1 * built
    assert np.all(np.isfinite(compute_pattern(single, np.linspace(1.0, 3.0, 50)).intensity))
