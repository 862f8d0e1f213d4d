"""Defect 3 of issue 11: the instrument profile is convolved over a padded range, masked after.

The model used to be set to zero outside the fitted range and then convolved, so the first
fitted point held about half its intensity (0.54 at FWHM 0.1 deg, step 0.01 deg).
"""

from __future__ import annotations

import numpy as np

from nanotwin_core.io.data import PatternData
from nanotwin_core.model import Model
from nanotwin_core.refine.dse_fit import FitSettings, prepare_fit
from nanotwin_core.refine.instrument import InstrumentProfile

WAVELENGTH = 0.5654
TTH = np.arange(5.0, 40.0, 0.01)


def _column(tth_range) -> tuple[np.ndarray, np.ndarray]:
    model = Model(structure="PbS-rocksalt", shape="sphere", size_nm=2.0)
    data = PatternData(TTH, np.ones(len(TTH)), x_kind="tth", wavelength=WAVELENGTH)
    settings = FitSettings(refine=("scale",), background_order=None, tth_range=tth_range,
                           caglioti=(0.0, 0.0, 0.01))
    problem = prepare_fit(model, data, settings)
    values = {p.name: p.value for p in problem.params}
    return problem.basis(values)[:, 0], problem.mask


def test_first_fitted_point_equals_the_unmasked_convolution() -> None:
    masked, mask = _column((10.0, 30.0))
    full, _ = _column(None)
    first, last = np.flatnonzero(mask)[[0, -1]]
    assert np.isclose(masked[first], full[first], rtol=2e-3), masked[first] / full[first]
    assert np.isclose(masked[last], full[last], rtol=2e-3), masked[last] / full[last]
    assert np.allclose(masked[mask], full[mask], rtol=2e-3)
    assert np.all(masked[~mask] == 0.0)


def test_reach_mask_pads_by_the_profile_window() -> None:
    prof = InstrumentProfile(u=0.0, v=0.0, w=0.01, cutoff=20.0)  # FWHM 0.1 deg: reach 2 deg
    fitted = (TTH >= 10.0) & (TTH <= 30.0)
    reach = prof.reach_mask(TTH, fitted)
    inside = TTH[reach]
    assert np.isclose(inside.min(), 8.0, atol=0.011) and np.isclose(inside.max(), 32.0, atol=0.011)
    grid, inner = prof.padded_grid(TTH)
    assert np.array_equal(grid[inner], TTH) and grid[0] < 3.01 and grid[-1] > 41.99


def test_lorentzian_terms_reach_the_fit_as_tch() -> None:
    """An instrument with Lorentzian X, Y (e.g. from an .instprm) is convolved with the TCH profile
    of its Gaussian Caglioti and Lorentzian X / cos t + Y tan t widths; without them: pV 0.5."""
    from nanotwin_core.model_parts import Instrument
    from nanotwin_core.refine.instrument import tch_fwhm_eta

    model = Model(structure="PbS-rocksalt", shape="sphere", size_nm=2.0,
                  instrument=Instrument("sync", (0.0, 0.0, 0.01), 0.0, (0.02, 0.01)))
    data = PatternData(TTH, np.ones(len(TTH)), x_kind="tth", wavelength=WAVELENGTH)
    problem = prepare_fit(model, data, FitSettings.from_model(model))
    tth = np.array([10.0, 35.0])
    th = np.radians(tth) / 2
    want = tch_fwhm_eta(np.full(2, 0.1), 0.02 / np.cos(th) + 0.01 * np.tan(th))
    got = problem.resolution.fwhm_eta(tth)
    assert np.allclose(got[0], want[0]) and np.allclose(got[1], want[1]) and np.all(got[1] > 0.1)
    model.instrument.lorentzian = None
    plain = prepare_fit(model, data, FitSettings.from_model(model)).resolution.fwhm_eta(tth)
    assert np.allclose(plain[0], 0.1) and np.allclose(plain[1], 0.5)
