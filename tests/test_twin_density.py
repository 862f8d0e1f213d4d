"""A continuous twin density (refine/twin_density.py): interpolation, derivative, fits.

The twin-density database interpolates ensemble sums between Chebyshev nodes of 1/D; checked
against exact ensembles at off-node sizes, its derivative against finite differences of exact
ensembles, and a fit of a synthetic population pattern made from the builder's own random
realisations (Poisson noise) recovers the domain size and the sizes within 3 esd.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from nanotwin_core.actions import fit_model
from nanotwin_core.builder import draw_network, expand_laws, node_contents
from nanotwin_core.builder.networks import domain_sizes_by_law
from nanotwin_core.builder.shape_kinds import get_shape
from nanotwin_core.builder.shapes import description_from_nodes
from nanotwin_core.errors import NanotwinError
from nanotwin_core.io.data import PatternData
from nanotwin_core.model import FitSpec, Model, PopulationSpec
from nanotwin_core.population.grid import prism_steps_nm
from nanotwin_core.refine.dse_fit import FitSettings, prepare_fit
from nanotwin_core.refine.fast_database import build_fast_database
from nanotwin_core.refine.fit_parts import fit_parts
from nanotwin_core.refine.parameters import Parameter, ParameterSet
from nanotwin_core.refine.twin_density import (
    TwinDensityDatabase,
    build_twin_density_database,
    cached_twin_density_database,
    chebyshev_nodes,
    grown_domain_size,
    lagrange_weights,
)
from nanotwin_core.scattering import build_pair_table, debye_intensity, rehistogram
from nanotwin_core.scattering.lattice_route import pair_table_from_counts
from nanotwin_core.structures.library import get_structure

LAWS = ("1/2<110>{110}", "1/2<110>{001}", "1/2<001>{110}")
PER_LAW = {LAWS[0]: 3.0, LAWS[1]: 1.5, LAWS[2]: 3.0}  # 1.5 nm along every normal


@pytest.fixture(scope="module")
def gamma():
    return get_structure("CsPbBr3-gamma")


@pytest.fixture(scope="module")
def small(gamma):
    units = prism_steps_nm(gamma.cell)
    sizes = [(3, 3), (5, 4), (7, 6)]
    db = build_twin_density_database(gamma, "prism", sizes, units, (0.5, 6.1), twins=LAWS,
                                     domain_size_nm=PER_LAW)
    return db, sizes, units


def _exact(gamma, sizes, units, d_nm):
    per_law = {law: r * d_nm for law, r in {LAWS[0]: 1.0, LAWS[1]: 0.5, LAWS[2]: 1.0}.items()}
    return build_fast_database(gamma, "prism", sizes, units, (0.5, 6.1), twins=LAWS, domain_size_nm=per_law)


def test_lagrange_weights_interpolate_polynomials() -> None:
    nodes = chebyshev_nodes(0.2, 0.5, 6)
    assert np.all(np.diff(nodes) > 0) and nodes[0] > 0.2 and nodes[-1] < 0.5
    for x in (0.2, 0.31, 0.5, nodes[2]):
        w = lagrange_weights(nodes, x)
        assert w.sum() == pytest.approx(1.0)
        for deg in range(6):
            assert w @ nodes**deg == pytest.approx(x**deg, rel=1e-12)


def test_interpolated_patterns_equal_exact_ensembles(gamma, small) -> None:
    db, sizes, units = small
    assert db.bounds_nm == pytest.approx((2.25, 4.05))
    assert db.domain_sizes(2.0) == pytest.approx({LAWS[0]: 2.0, LAWS[1]: 1.0, LAWS[2]: 2.0})
    q = np.linspace(0.6, 6.0, 1500)
    w = np.array([0.2, 0.5, 0.3])
    for d in (2.3, 2.8, 3.3, 4.0):
        db.update({"domain_nm": d})
        got = db.intensity(w, q, b_iso=1.0)
        ref = _exact(gamma, sizes, units, d).intensity(w, q, b_iso=1.0)
        assert np.max(np.abs(got - ref)) < 3e-6 * ref.max()
    with pytest.raises(NanotwinError, match="outside"):
        db.update({"domain_nm": 5.0})
        db.intensity(w, q, b_iso=1.0)
    db.update({"domain_nm": 3.0})


def test_domain_size_derivative_is_smooth_and_exact(gamma, small) -> None:
    db, sizes, units = small
    q = np.linspace(0.6, 6.0, 800)
    w = np.array([0.2, 0.5, 0.3])

    def model(d):
        db.update({"domain_nm": d})
        return db.intensity(w, q, b_iso=1.0)

    d, h = 2.9, 0.1
    exact = (_exact(gamma, sizes, units, d + h).intensity(w, q, b_iso=1.0)
             - _exact(gamma, sizes, units, d - h).intensity(w, q, b_iso=1.0)) / (2 * h)
    central = (model(d + h) - model(d - h)) / (2 * h)
    # the interpolation error (5e-7 of max(I), largest at low Q) over 2h: 1e-3 of the slope
    assert np.max(np.abs(central - exact)) < 2e-3 * np.max(np.abs(exact))
    # the forward step a fit's Jacobian takes (1e-6 of the range) sees the same smooth slope
    step = 1e-6 * (db.bounds_nm[1] - db.bounds_nm[0])
    forward = (model(d + step) - model(d)) / step
    assert np.max(np.abs(forward - central)) < 3e-3 * np.max(np.abs(central))
    db.update({"domain_nm": 3.0})


def test_storage_and_cache(gamma, small) -> None:
    db, sizes, units = small
    arrays, meta = db.to_arrays()
    back = TwinDensityDatabase.from_arrays(arrays, meta)
    q = np.linspace(0.6, 6.0, 300)
    w = np.array([0.2, 0.5, 0.3])
    np.testing.assert_allclose(back.intensity(w, q, b_iso=1.0), db.intensity(w, q, b_iso=1.0), rtol=1e-12)
    arrays["sinc"] = arrays["sinc"][:, :2]
    with pytest.raises(NanotwinError, match="inconsistent"):
        TwinDensityDatabase.from_arrays(arrays, meta)
    cache: dict = {}
    a = cached_twin_density_database(cache, gamma, "prism", sizes, units, (0.5, 6.1), twins=LAWS,
                                     domain_size_nm=PER_LAW, n_nodes=3)
    a.update({"domain_nm": 3.5})
    again = cached_twin_density_database(cache, gamma, "prism", sizes, units, (0.5, 6.1), twins=LAWS,
                                         domain_size_nm=PER_LAW, n_nodes=3)
    assert again is a and again.domain_nm == 3.0 and len(cache) == 1


# ----------------------------------------------------------------------------- fits
def _realisation_pattern(gamma, counts, units, d_nm, seeds, q, b_iso):
    """Mean pattern of ``seeds`` builder realisations of one prism size (pair tables averaged)."""
    sizes_nm = get_shape("prism").sizes_of_counts(tuple(counts), tuple(units))
    sel = get_shape("prism").select(gamma, sizes_nm)
    own = sel.ownership
    members = [(law.label, m) for law, m in expand_laws(LAWS, gamma)]
    sizes = domain_sizes_by_law(d_nm, LAWS)
    rows, weights = [], []
    for seed in seeds:
        blist, t0 = draw_network(sel, members, sizes, np.random.default_rng(seed))
        ids, contents, _, _ = node_contents(sel, blist, t0)
        t = build_pair_table(description_from_nodes(own, sel.nodes, ids, contents))
        rows.append(np.column_stack([t.entry_k, t.entry_l, t.entry_u]))
        weights.append(t.entry_count / len(seeds))
    rows = np.vstack(rows)
    lo = rows.min(axis=0)
    dims = rows.max(axis=0) - lo + 1
    code, inverse = np.unique(np.ravel_multi_index(tuple((rows - lo).T), tuple(dims)), return_inverse=True)
    keys = np.column_stack(np.unravel_index(code, tuple(dims))) + lo
    count = np.bincount(inverse.ravel(), weights=np.concatenate(weights))
    table = pair_table_from_counts(own.cell, own.node_basis_frac, own.contents,
                                   np.full(own.n_classes, len(sel.nodes) / own.n_classes),
                                   keys[:, 0], keys[:, 1], keys[:, 2:], count)
    return debye_intensity(rehistogram(table), q, b_iso=b_iso)


def _synthetic_fit(gamma, pop, d_nm, n_seeds, counts_max, q, noise_seed=0):
    truth = Model(structure="CsPbBr3-gamma", population=pop, twins=list(LAWS), domain_size_nm=d_nm,
                  ensemble=True)
    grid_only = PatternData(q, np.ones_like(q), np.ones_like(q), x_kind="q")
    problem = prepare_fit(truth, grid_only, FitSettings(refine=("scale",), background_order=None))
    values = {p.name: p.value for p in problem.params}
    weights = problem.size_weights(values)
    b_iso = {k[2:]: v for k, v in values.items() if k.startswith("B_")}
    units = prism_steps_nm(gamma.cell)
    y = np.zeros(len(q))
    for n, w in zip(problem.database.counts, weights, strict=True):
        if w > 1e-5:
            y += w * _realisation_pattern(gamma, n, units, d_nm, range(1, n_seeds + 1), q, b_iso)
    y *= counts_max / y.max()
    rng = np.random.default_rng(noise_seed)
    yo = rng.poisson(y).astype(float)
    data = PatternData(q, yo, np.sqrt(np.maximum(yo, 1.0)), x_kind="q")
    start = Model(structure="CsPbBr3-gamma",
                  population=PopulationSpec(Dab=pop.Dab * 1.08, sab=pop.sab, Lc=pop.Lc * 0.93, sc=pop.sc),
                  twins=list(LAWS), domain_size_nm=d_nm * 1.15, ensemble=True)
    settings = FitSettings(refine=("scale", "size", "twin_density"), background_order=None)
    fit = prepare_fit(start, data, settings)
    result = fit.run()
    got = {p.name: (p.value, p.esd) for p in result.params}
    truth_values = {"domain_nm": d_nm, "Dab_nm": pop.Dab, "sab": pop.sab, "Lc_nm": pop.Lc, "sc": pop.sc}
    return result, got, truth_values


def _check_recovered(result, got, truth_values):
    assert result.gof < 1.3
    assert any("twin-domain size" in m for m in result.messages)
    for name, value in truth_values.items():
        v, esd = got[name]
        assert esd is not None and 0 < esd < 0.1 * abs(value), (name, v, esd)
        assert abs(v - value) < 3 * esd, (name, v, esd, value)


def test_fit_recovers_domain_size_and_sizes_from_realisations(gamma) -> None:
    pop = PopulationSpec(Dab=4.5, sab=0.12, Lc=5.5, sc=0.12)
    result, got, truth = _synthetic_fit(gamma, pop, 1.6, 12, 2e4, np.arange(1.0, 3.3, 0.005))
    _check_recovered(result, got, truth)


@pytest.mark.slow
def test_fit_recovers_domain_size_and_sizes_bigger(gamma) -> None:
    # counts and realisations per size chosen so that the realisations' own scatter (the mean of a
    # finite number of random networks per size) stays below the Poisson noise
    pop = PopulationSpec(Dab=5.5, sab=0.15, Lc=6.5, sc=0.15)
    for noise_seed in (1, 2):
        result, got, truth = _synthetic_fit(gamma, pop, 2.0, 32, 2e4, np.arange(0.8, 4.0, 0.004), noise_seed)
        _check_recovered(result, got, truth)


def test_fit_moves_the_domain_box_where_the_domain_size_ends(gamma) -> None:
    """A start domain size 1.5 x the true one puts the truth below the twin-density box (0.75-1.35
    x the start): the first fit stops at the box's lower limit; fit_model rebuilds the box there
    and recovers the truth (it stayed at the limit before the box could move)."""
    pop = PopulationSpec(Dab=4.0, sab=0.1, Lc=4.5, sc=0.1)
    q = np.arange(1.0, 2.6, 0.01)
    truth = Model(structure="CsPbBr3-gamma", population=pop, twins=[LAWS[0]], domain_size_nm=1.6,
                  ensemble=True)
    problem = prepare_fit(truth, PatternData(q, np.ones_like(q), np.ones_like(q), x_kind="q"),
                          FitSettings(refine=("scale",), background_order=None))
    y = fit_parts(problem, {**{p.name: p.value for p in problem.params}, "scale": 1.0}).total
    y = 2e4 * y / y.max()
    data = PatternData(q, y, np.sqrt(y), x_kind="q")
    start = replace(truth, domain_size_nm=2.4,
                    fit=FitSpec(refine=["scale", "twin_density"], background_order=None))
    cache: dict = {}
    _, result = fit_model(start, data, databases=cache)
    d = result.params["domain_nm"]
    assert any("twin-domain box moved" in m for m in result.messages)
    assert d.at_bound is None and d.value == pytest.approx(1.6, rel=2e-3)
    _, unmoved = fit_model(start, data, grow=False, databases=cache)
    assert unmoved.params["domain_nm"].at_bound == "min"  # where every fit stopped before: 1.8 nm


def test_the_domain_box_moves_from_the_range_it_was_built_with(small) -> None:
    """A box built on 0.5-2 x the start (not the default 0.75-1.35): the start it came from is
    lo / 0.5, and the new start puts the old lower limit at the new box's upper end."""
    db, _, _ = small
    wide = replace(db, nu_interval=np.array([1 / 6.0, 1 / 1.5]))  # 1.5-6 nm = 0.5-2 x 3 nm
    limit = Parameter("domain_nm", 1.5, True, 1.5, 6.0)
    limit.at_bound = "min"
    model = Model(structure="CsPbBr3-gamma", twins=list(LAWS), domain_size_nm=PER_LAW, ensemble=True)
    new, note = grown_domain_size(model, wide, ParameterSet([limit]), (0.5, 2.0))
    assert new == pytest.approx({law: v * 0.25 for law, v in PER_LAW.items()})  # 0.75 nm from 3 nm
    assert "min limit 1.5" in note
    limit.at_bound = None
    assert grown_domain_size(model, wide, ParameterSet([limit]), (0.5, 2.0)) is None
