"""Refinement: instrument, background, parameters, variable-projection least squares, reports."""

from nanotwin_core.refine import occupancy, small_angle_fit  # noqa: F401 - register their parameter providers
from nanotwin_core.refine.background import blank_on_grid, chebyshev_basis, load_blank
from nanotwin_core.refine.engine import FitResult, Refinement, figures_of_merit, fit, solve_linear
from nanotwin_core.refine.instrument import (
    CU_KA1,
    CU_KA2,
    InstrumentProfile,
    caglioti_fwhm,
    capillary_transmission,
    convolution_matrix,
    polarization,
    pseudo_voigt,
    tch_fwhm_eta,
)
from nanotwin_core.refine.parameters import Parameter, ParameterSet
from nanotwin_core.refine.pdf import RangeFit, pdf_rw, range_resolved
from nanotwin_core.refine.report import format_esd, markdown_report, population_entry, result_json

__all__ = [
    "CU_KA1",
    "CU_KA2",
    "FitResult",
    "InstrumentProfile",
    "Parameter",
    "ParameterSet",
    "RangeFit",
    "Refinement",
    "blank_on_grid",
    "caglioti_fwhm",
    "capillary_transmission",
    "chebyshev_basis",
    "convolution_matrix",
    "figures_of_merit",
    "fit",
    "format_esd",
    "load_blank",
    "markdown_report",
    "pdf_rw",
    "polarization",
    "population_entry",
    "pseudo_voigt",
    "range_resolved",
    "result_json",
    "solve_linear",
    "tch_fwhm_eta",
]
