"""A G(r) fit of a window/CLI Model (nanotwin_core.actions.fit_pdf_model): recovers the scale and
B values of a G(r) made by the same model with known values."""

from __future__ import annotations

import numpy as np
import pytest

from nanotwin_core.actions import fit_pdf_model, pdf_model_of
from nanotwin_core.errors import NanotwinError
from nanotwin_core.io.data import PDFData
from nanotwin_core.model import Model
from nanotwin_core.refine.pdf_fit import PDFFitSettings, make_parameters

MODEL = Model(structure="PbS-rocksalt", shape="sphere", size_nm=2.0)


def test_fit_pdf_model_recovers_scale_and_b():
    settings = PDFFitSettings(rmin=1.5, rmax=12.0, qmin=0.0, qmax=20.0, refine=("scale", "adp"))
    pdf_model, start_b = pdf_model_of(MODEL, refine=settings.refine, qmin=0.0, qmax=20.0)
    truth = make_parameters(pdf_model, settings, start_b).values()
    truth.update(B_Pb=0.9, B_S=1.6)
    r = np.arange(0.0, 15.0, 0.01)
    g = 1.7 * pdf_model(r, truth)
    data = PDFData(r, g, meta={"qmin": "0.0", "qmax": "20.0"})
    out = fit_pdf_model(MODEL, data, PDFFitSettings(rmin=1.5, rmax=12.0, refine=("scale", "adp")))
    values = out.result.params.values()
    assert out.qmax == 20.0  # from the header
    assert values["scale"] == pytest.approx(1.7, rel=1e-4)
    assert values["B_Pb"] == pytest.approx(0.9, rel=1e-3) and values["B_S"] == pytest.approx(1.6, rel=1e-3)
    assert out.rw < 1e-4


def test_size_refinement_needs_a_sphere():
    with pytest.raises(NanotwinError, match="sphere"):
        pdf_model_of(Model(structure="PbS-rocksalt", shape="cuboid", size_nm=2.0), refine=("scale", "size"),
                     qmin=0.0, qmax=20.0)


def test_range_resolved_fits_equal_one_fit_per_range():
    from nanotwin_core.actions import fit_pdf_model_ranges

    settings = PDFFitSettings(refine=("scale", "adp"))
    pdf_model, start_b = pdf_model_of(MODEL, refine=settings.refine, qmin=0.0, qmax=20.0)
    truth = make_parameters(pdf_model, settings, start_b).values()
    truth.update(B_Pb=0.9, B_S=1.6)
    r = np.arange(0.0, 15.0, 0.01)
    data = PDFData(r, 1.7 * pdf_model(r, truth), meta={"qmin": "0.0", "qmax": "20.0"})
    _model, fits, qmin, qmax = fit_pdf_model_ranges(MODEL, data, settings, [(1.5, 6.0), (6.0, 12.0)])
    assert [(f.rmin, f.rmax) for f in fits] == [(1.5, 6.0), (6.0, 12.0)] and (qmin, qmax) == (0.0, 20.0)
    for f in fits:
        one = fit_pdf_model(MODEL, data, PDFFitSettings(rmin=f.rmin, rmax=f.rmax, refine=("scale", "adp")))
        assert f.result.params.values()["B_Pb"] == pytest.approx(one.result.params.values()["B_Pb"], rel=1e-6)
        assert f.rw == pytest.approx(one.rw, rel=1e-6, abs=1e-9)
