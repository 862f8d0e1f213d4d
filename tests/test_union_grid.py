"""Size grids cut to the union of the distributions a fit may explore."""

from __future__ import annotations

import itertools

import numpy as np

from nanotwin_core.population.distributions import BivariateLogNormal
from nanotwin_core.population.grid import SizeGrid, intensity_fraction_out, union_grid
from nanotwin_core.structures.library import get_structure

CELL = get_structure("CsPbBr3-gamma").cell


def _box(scale_lo=0.75, scale_hi=1.25):
    return [BivariateLogNormal(8.19 * fd, sa, 9.79 * fl, sc)
            for fd, fl, sa, sc in itertools.product((scale_lo, scale_hi), (scale_lo, scale_hi),
                                                    (0.03, 0.36), (0.03, 0.32))]


def test_union_grid_holds_every_distribution_in_the_box() -> None:
    tol = 1e-3
    grid = union_grid(_box(), CELL, 20.0, tol=tol)
    # an independent reference: a plain wide rectangle (n up to 120) summed by brute force
    wide = SizeGrid(grid.step_ab, grid.step_c, 1, 120, 1, 120, 20.0)
    inside = np.zeros(wide.shape, bool)
    rows, cols = np.nonzero(grid.keep)
    inside[grid.n_ab[rows] - 1, grid.n_c[cols] - 1] = True
    rng = np.random.default_rng(1)
    for _ in range(25):  # distributions anywhere inside the box, not only its corners
        d = BivariateLogNormal(8.19 * rng.uniform(0.75, 1.25), rng.uniform(0.03, 0.36),
                               9.79 * rng.uniform(0.75, 1.25), rng.uniform(0.03, 0.32))
        w = wide.intensity_weights(d)
        out = 1.0 - w[inside].sum() / w.sum()
        assert out < 2 * tol
        assert abs(intensity_fraction_out(grid, d) - out) < 1e-9
    # the mask skips a good part of the rectangle: the heavy large-D, large-L corner
    cost_rect = grid.atoms().sum()
    cost_kept = grid.atoms()[grid.keep].sum()
    assert cost_kept < 0.6 * cost_rect
    assert not grid.keep[-1, -1]


def test_masked_grid_points_and_weights_line_up() -> None:
    grid = union_grid(_box(), CELL, 20.0)
    d = BivariateLogNormal(8.19, 0.24, 9.79, 0.20)
    points = grid.points()
    w = grid.point_weights(d)
    assert len(points) == len(w) == int(grid.keep.sum())
    full = grid.weights(d)
    for (nab, nc), wi in zip(points[::37], w[::37], strict=True):
        assert full[nab - grid.nab_min, nc - grid.nc_min] == wi
    assert np.all(full[~grid.keep] == 0)
