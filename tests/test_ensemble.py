"""Exact ensemble averages over random twin networks (issue 13): limits, enumeration, Monte Carlo.

The ensemble route (population/ensemble.py) gives the expected pair counts of the gap model of
builder/networks.py in closed form. Checked here against (a) exhaustive enumeration of every
network of a tiny crystal with its probability, (b) the untwinned limit p -> 0, (c) the analytic
p = 1/2 limit (independent layers) from a plain double sum, (d) the mean of the builder's own
random realisations (Monte Carlo, within 3 standard errors at every Q, residual ~ 1/sqrt(n)).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nanotwin_core.builder import (
    apply_boundaries,
    build_crystal,
    draw_network,
    expand_laws,
    node_contents,
    select_prism,
)
from nanotwin_core.builder.boundaries import Boundary
from nanotwin_core.builder.networks import domain_sizes_by_law, gap_levels
from nanotwin_core.builder.shapes import description_from_nodes
from nanotwin_core.errors import NanotwinError
from nanotwin_core.population.ensemble import (
    TwinNetworkModel,
    ensemble_histograms,
    ensemble_pair_table,
    twin_network_model,
)
from nanotwin_core.scattering import (
    build_pair_table,
    compute_histograms,
    compute_pdf,
    debye_intensity,
    exact_debye,
)
from nanotwin_core.scattering.form_factors import form_factor
from nanotwin_core.scattering.lattice_route import rehistogram
from nanotwin_core.scattering.types import PairHistograms
from nanotwin_core.structures.library import get_structure

A, B, C = "1/2<110>{110}", "1/2<110>{001}", "1/2<001>{110}"
C1 = "1/2[001](110)"  # one member of C


@pytest.fixture(scope="module")
def gamma():
    return get_structure("CsPbBr3-gamma")


@pytest.fixture(scope="module")
def tiny(gamma):
    return select_prism(gamma, 1.9, 2.4)  # 2 x 2 x 2 cells, 160 atoms


def _variant_hists(sel, boundaries, weight=1.0, sampling=None):
    """(weight, histograms) of one network for each first-domain variant (weights averaged)."""
    own = sel.ownership
    out = []
    for t0 in own.class_offsets:
        ids, contents, _, _ = node_contents(sel, boundaries, t0)
        table = build_pair_table(description_from_nodes(own, sel.nodes, ids, contents))
        out.append((weight / own.n_classes, rehistogram(table, sampling=sampling)))
    return out


def _variant_average(sel, boundaries, q):
    """Mean over the first domain's variants of the exact-distance pattern of one network."""
    return debye_intensity(PairHistograms.combine(_variant_hists(sel, boundaries, sampling="exact")), q)


@pytest.mark.parametrize(("laws", "p"), [
    ([C1], [0.3]),
    ([A], [0.45, 0.2]),
    ([B, C1], [0.25, 0.6]),
])
def test_ensemble_equals_the_enumeration_of_every_network(gamma, tiny, laws, p) -> None:
    q = np.linspace(0.5, 4.0, 40)
    model = twin_network_model(tiny.ownership, laws, gamma)
    p = np.array(p)
    ens_hist = rehistogram(ensemble_pair_table(tiny, model, p))
    ens = debye_intensity(ens_hist, q)
    frac = tiny.node_frac()
    gaps = [(g, lev) for g, grp in enumerate(model.groups)
            for lev in gap_levels(frac, grp.plane, grp.level_step)]
    assert 2 <= len(gaps) <= 6
    items = []
    for on in itertools.product((0, 1), repeat=len(gaps)):
        w = np.prod([p[g] if x else 1 - p[g] for (g, _), x in zip(gaps, on, strict=True)])
        bl = [Boundary(model.groups[g].members[0], lev, model.groups[g].law)
              for (g, lev), x in zip(gaps, on, strict=True) if x]
        items.extend(_variant_hists(tiny, bl, w))
    ref_hist = PairHistograms.combine(items)
    ref = debye_intensity(ref_hist, q)
    np.testing.assert_allclose(ens, ref, rtol=1e-10, atol=1e-10 * ref.max())
    # G(r) of the ensemble: the same histograms through the PDF transform
    r, g_ens = compute_pdf(ens_hist, qmax=12.0, rmax=12.0)
    _, g_ref = compute_pdf(ref_hist, qmax=12.0, rmax=12.0)
    np.testing.assert_allclose(g_ens, g_ref, atol=1e-9 * np.abs(g_ref).max())


def test_pair_probabilities_follow_the_convolution_of_gap_shifts(gamma, tiny) -> None:
    """Several members per group (chosen at random) and several groups on one plane."""
    base = twin_network_model(tiny.ownership, [A, C], gamma)
    alg = base.algebra
    model = TwinNetworkModel(base.ownership, base.laws, base.groups[:2], base.eta[:2],
                             [np.array([1, 2]), np.array([3])], alg)
    p = np.array([0.3, 0.15])
    u = np.array([[0, 0, 0], [1, 0, 0], [-2, 1, 0], [3, -2, 5], [0, 4, 1]])
    got = model.pair_probabilities(u, p)
    n = alg.order
    for row, uu in zip(got, u, strict=True):
        dist = np.zeros(n)
        dist[0] = 1.0
        for g in range(2):
            step = np.zeros(n)
            step[0] += 1 - p[g]
            for cls in model.member_classes[g]:
                step[cls] += p[g] / len(model.member_classes[g])
            if uu @ model.eta[g] < 0:
                step = step[alg.neg]
            for _ in range(abs(int(uu @ model.eta[g]))):
                new = np.zeros(n)
                for a in range(n):
                    for b in range(n):
                        new[alg.add[a, b]] += dist[a] * step[b]
                dist = new
        np.testing.assert_allclose(row, dist, atol=1e-14)
    assert np.allclose(got.sum(axis=1), 1.0)


def test_small_twin_density_gives_the_untwinned_crystal(gamma) -> None:
    q = np.linspace(0.5, 6.0, 120)
    kw = dict(size_ab_nm=3.8, size_c_nm=3.5)
    ens = debye_intensity(ensemble_histograms(gamma, [A, B, C], 1e12, sampling="exact", **kw), q)
    sel = select_prism(gamma, 3.8, 3.5)
    ref = _variant_average(sel, [], q)
    np.testing.assert_allclose(ens, ref, rtol=1e-10)
    # the variants of a single domain differ only by their surface termination
    plain = debye_intensity(compute_histograms(apply_boundaries(sel, []), sampling="exact"), q)
    assert 0 < np.max(np.abs(plain - ref)) / ref.max() < 0.02


def test_half_density_is_the_independent_layer_limit(gamma, tiny) -> None:
    """p = 1/2 for one 1/2[001](110) family: the variant of every (110) layer is independent and
    uniform over {V, V + t}. Then I = I[E rho] + sum_L (E I[rho_L] - I[E rho_L]): the crystal of
    half-occupied copies of both variants, corrected inside each layer (plain double sums)."""
    q = np.linspace(0.6, 4.0, 30)
    model = twin_network_model(tiny.ownership, [C1], gamma)
    grp = model.groups[0]
    d_nm = 2 * grp.spacing_A / 10  # p = spacing / D = 1/2
    ens = debye_intensity(ensemble_histograms(gamma, [C1], d_nm, size_ab_nm=1.9, size_c_nm=2.4,
                                              sampling="exact"), q)
    own = tiny.ownership
    t = expand_laws([C1], gamma)[0][1].shift_frac
    ref = np.zeros(len(q))
    for v in own.class_offsets:
        pair = [apply_boundaries(tiny, [], base_shift=v), apply_boundaries(tiny, [], base_shift=v + t)]
        nodes, ids = pair[0].lattice.occupied_nodes()
        layer = np.repeat(nodes @ model.eta[0], [len(pair[0].lattice.contents[i]) for i in ids])
        both = _stack(pair, 0.5)
        ref += exact_debye(both, q)
        for lay in np.unique(layer):
            sub = [_subset(c, layer == lay) for c in pair]
            ref += 0.5 * (exact_debye(sub[0], q) + exact_debye(sub[1], q)) - exact_debye(_stack(sub, 0.5), q)
    ref /= own.n_classes
    np.testing.assert_allclose(ens, ref, rtol=1e-10)


def _subset(crystal, mask):
    from nanotwin_core.crystal import Crystal

    return Crystal(crystal.positions[mask], crystal.elements[mask], adp_groups=crystal.adp_groups[mask],
                   occupancy=crystal.occupancy[mask])


def _stack(crystals, occupancy):
    from nanotwin_core.crystal import Crystal

    return Crystal(np.vstack([c.positions for c in crystals]), np.concatenate([c.elements for c in crystals]),
                   adp_groups=np.concatenate([c.adp_groups for c in crystals]),
                   occupancy=np.full(sum(c.n_atoms for c in crystals), occupancy))


def test_ensemble_refuses_deterministic_boundaries_and_bad_sizes(gamma) -> None:
    with pytest.raises(NanotwinError, match="deterministic"):
        ensemble_histograms(gamma, [C], 3.0, size_ab_nm=3, size_c_nm=3, boundaries=1)
    with pytest.raises(NanotwinError, match="domain size"):
        ensemble_histograms(gamma, [C], None, size_ab_nm=3, size_c_nm=3)
    with pytest.raises(NanotwinError, match="below its layer spacing"):
        ensemble_histograms(gamma, [C], 0.4, size_ab_nm=3, size_c_nm=3)
    with pytest.raises(NanotwinError, match="needs twin laws"):
        ensemble_histograms(gamma, [], 3.0, size_ab_nm=3, size_c_nm=3)
    with pytest.raises(NanotwinError, match="coherent"):
        ensemble_histograms(gamma, ["1/2<100>{001}"], 3.0, size_ab_nm=3, size_c_nm=3)


def test_domain_sizes_per_law() -> None:
    assert domain_sizes_by_law(3, [A, C]) == {A: 3.0, C: 3.0}
    got = domain_sizes_by_law(f"{A}=3, 1/2[001](110)=6", [A, "1/2[001](110)"])
    assert got == {A: 3.0, "1/2[001](110)": 6.0}
    assert domain_sizes_by_law({"1/2<1,1,0>{1,1,0}": 2}, [A]) == {A: 2.0}
    assert domain_sizes_by_law("1/2<1,1,0>{1,1,0}=2.5", [A]) == {A: 2.5}
    with pytest.raises(NanotwinError, match="no domain size"):
        domain_sizes_by_law(f"{A}=3", [A, C])
    with pytest.raises(NanotwinError, match="not one of the twin laws"):
        domain_sizes_by_law(f"{B}=3", [A])
    with pytest.raises(NanotwinError, match="> 0"):
        domain_sizes_by_law(-1, [A])


# ----------------------------------------------------------------------------- Monte Carlo
def _pair_basis(sel, q):
    """W[k, l, u] (Q): the pattern of one node pair of contents k, l at node offset u (B = 0)."""
    own = sel.ownership
    nb = own.node_basis_frac @ own.cell
    span = sel.nodes.max(axis=0) - sel.nodes.min(axis=0)
    us = np.stack(np.meshgrid(*[np.arange(-s, s + 1) for s in span], indexing="ij"), axis=-1).reshape(-1, 3)
    n = own.n_classes
    f = {e: form_factor(e, q, anomalous_dispersion=False).real for e in ("Cs", "Pb", "Br")}
    out = np.zeros((n, n, len(us), len(q)))
    for k, l in itertools.product(range(n), repeat=2):
        ck, cl = own.contents[k], own.contents[l]
        xk, xl = ck.frac @ own.cell, cl.frac @ own.cell
        for i, j in itertools.product(range(len(ck)), range(len(cl))):
            r = np.linalg.norm(us @ nb + xl[j] - xk[i], axis=1)
            x = r[:, None] * q[None, :]
            sinc = np.where(x > 0, np.sin(x) / np.where(x > 0, x, 1.0), 1.0)
            out[k, l] += f[str(ck.elements[i])] * f[str(cl.elements[j])] * sinc
    return out, span


def _table_pattern(table, basis, span):
    """The pattern of a pair table through the basis: ordered pairs counted twice, self once."""
    idx = np.ravel_multi_index(tuple((table.entry_u + span).T), tuple(2 * span + 1))
    rows = basis[table.entry_k, table.entry_l, idx]
    self_entry = (table.entry_k == table.entry_l) & ~table.entry_u.any(axis=1)
    factor = np.where(self_entry, 1.0, 2.0) * table.entry_count
    return factor @ rows


def _realisations(gamma, sel, laws, domain_nm, basis, span, n):
    members = [(law.label, m) for law, m in expand_laws(laws, gamma)]
    sizes = domain_sizes_by_law(domain_nm, laws)
    out = []
    for seed in range(n):
        blist, t0 = draw_network(sel, members, sizes, np.random.default_rng(seed))
        ids, contents, _, _ = node_contents(sel, blist, t0)
        table = build_pair_table(description_from_nodes(sel.ownership, sel.nodes, ids, contents))
        out.append(_table_pattern(table, basis, span))
    return np.array(out)


def _monte_carlo(gamma, laws, domain_nm, size, n):
    sel = select_prism(gamma, *size)
    q = np.arange(1.0, 2.6, 0.02)
    basis, span = _pair_basis(sel, q)
    pats = _realisations(gamma, sel, laws, domain_nm, basis, span, n)
    model = twin_network_model(sel.ownership, laws, gamma)

    def ensemble(d):
        return _table_pattern(ensemble_pair_table(sel, model, model.gap_probabilities(d)), basis, span)

    return pats, ensemble


def _check_convergence(pats, ens, wrong):
    n = len(pats)
    se = pats.std(axis=0, ddof=1) / np.sqrt(n)
    z = (pats.mean(axis=0) - ens) / se
    assert np.all(np.abs(z) < 3), np.abs(z).max()
    # a wrong model (another domain size) leaves the band: the test has power
    assert np.abs((pats.mean(axis=0) - wrong) / se).max() > 3
    # the residual shrinks as 1/sqrt(m): the mean square residual of the means of batches of m
    # realisations is var/m (var: the per-Q variance of one realisation, averaged over Q)
    var = pats.var(axis=0, ddof=1).mean()
    sizes = [m for m in (5, 10, 20, 50, 100, 200) if 4 * m <= n]  # at least four batches each
    ms = np.array([np.mean((pats[: n // m * m].reshape(n // m, m, -1).mean(axis=1) - ens) ** 2)
                   for m in sizes])
    ratio = ms * np.array(sizes) / var
    assert np.all((ratio > 0.5) & (ratio < 2.0)), ratio
    slope = np.polyfit(np.log(sizes), 0.5 * np.log(ms), 1)[0]
    assert -0.65 < slope < -0.35


@pytest.mark.parametrize("laws", [[A], [A, B], [A, B, C]], ids=["one law", "one coset", "mixed"])
def test_mean_of_realisations_converges_to_the_ensemble(gamma, laws) -> None:
    pats, ensemble = _monte_carlo(gamma, laws, 1.5, (2.8, 2.4), 200)
    _check_convergence(pats, ensemble(1.5), ensemble(2.0))


def test_builder_realisations_are_the_monte_carlo_draws(gamma) -> None:
    sel = select_prism(gamma, 2.8, 2.4)
    members = [(law.label, m) for law, m in expand_laws([A, B, C], gamma)]
    for seed in (3, 4):
        c = build_crystal(gamma, size_ab_nm=2.8, size_c_nm=2.4, twins=[A, B, C], domain_size_nm=1.5,
                          seed=seed)
        sizes = domain_sizes_by_law(1.5, [A, B, C])
        blist, t0 = draw_network(sel, members, sizes, np.random.default_rng(seed))
        ids, _, _, _ = node_contents(sel, blist, t0)
        np.testing.assert_array_equal(description_from_nodes(sel.ownership, sel.nodes, ids).content_map,
                                      c.lattice.content_map)
        assert c.info["n_boundaries"] == len(blist)
        np.testing.assert_allclose(c.info["first_variant_shift"], t0)


@pytest.mark.slow
@pytest.mark.parametrize("laws", [[A], [A, B], [A, B, C]], ids=["one law", "one coset", "mixed"])
def test_mean_of_realisations_converges_to_the_ensemble_bigger(gamma, laws) -> None:
    pats, ensemble = _monte_carlo(gamma, laws, 2.0, (4.6, 4.7), 800)
    _check_convergence(pats, ensemble(2.0), ensemble(2.5))
