"""Scattering: form factors, pair histograms (all-pairs and lattice route), Debye sum, S/F/G.

Engine API (docs/internals.md): ``AtomType``, ``compute_histograms``, ``PairHistograms``,
``debye_intensity``, ``powder_pattern``; plus ``exact_debye`` (plain double-sum reference),
``intensity_2theta``, ``polarization_factor``, ``total_scattering``, ``pdf_from_intensity``,
``compute_pdf``, ``LatticePairTable``/``build_pair_table``/``rehistogram`` (re-evaluate the
distances of a stored lattice pair table for a new cell or new content offsets).
"""

from nanotwin_core.geometry import q_from_two_theta
from nanotwin_core.scattering.debye import debye_intensity, exact_debye, powder_pattern, sinc_sums
from nanotwin_core.scattering.histograms import compute_histograms
from nanotwin_core.scattering.lattice_route import LatticePairTable, build_pair_table, rehistogram
from nanotwin_core.scattering.pdf import (
    compute_pdf,
    pdf_from_fq,
    pdf_from_intensity,
    structure_factor_from_intensity,
    total_scattering,
)
from nanotwin_core.scattering.polarization import intensity_2theta, polarization_factor
from nanotwin_core.scattering.sampling import DEFAULT_R_STEP, Sampling
from nanotwin_core.scattering.types import AtomType, PairHistograms

__all__ = [
    "DEFAULT_R_STEP",
    "AtomType",
    "LatticePairTable",
    "PairHistograms",
    "Sampling",
    "build_pair_table",
    "compute_histograms",
    "compute_pdf",
    "debye_intensity",
    "exact_debye",
    "intensity_2theta",
    "pdf_from_fq",
    "pdf_from_intensity",
    "polarization_factor",
    "powder_pattern",
    "q_from_two_theta",
    "rehistogram",
    "sinc_sums",
    "structure_factor_from_intensity",
    "total_scattering",
]
