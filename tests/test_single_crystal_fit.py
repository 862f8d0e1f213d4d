"""A single-crystal fit uses the crystal ``simulate`` and Build make: a model fitted to its own
pattern returns Rwp ~ 0. (It once rounded the size to whole steps of the coherent sublattice:
a 2 nm PbS sphere was fitted as a 1.87 nm one, Rwp 0.115 against its own simulated pattern.)"""

from __future__ import annotations

import numpy as np
import pytest

from nanotwin_core.actions import compute_pattern, fit_model
from nanotwin_core.io.data import PatternData
from nanotwin_core.model import FitSpec, Model


@pytest.mark.parametrize("model", [
    Model(structure="PbS-rocksalt", shape="sphere", size_nm=2.0, adp={"Pb": 1.28, "S": 1.25}),
    Model(structure="PbS-rocksalt", shape="cuboid", size_nm=1.7),
    Model(structure="CsPbBr3-gamma", shape="prism", size_ab_nm=2.1, size_c_nm=1.9),
    Model(structure="PbS-rocksalt", shape="hex_platelet", size_ab_nm=2.3, size_c_nm=1.2),
], ids=["sphere", "cuboid", "prism", "hex_platelet"])
def test_a_single_crystal_fits_its_own_pattern(model: Model) -> None:
    q = np.arange(1.0, 6.0, 0.01)
    truth = compute_pattern(model, q)
    y = 3.0 * truth.intensity
    data = PatternData(q, y, np.sqrt(y), x_kind="q", path="self.xye")
    model.fit = FitSpec(refine=["scale"], background_order=0, q_range=(1.0, 6.0))
    problem, result = fit_model(model, data, grow=False)
    assert result.rwp < 1e-5
    assert problem.database.n_atoms[0] == truth.crystal.n_atoms  # the very crystal simulated
