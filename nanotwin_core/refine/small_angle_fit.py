"""Chains and ligand shells in a fit (``scattering/small_angle.py``): parameters and the term.

- ``chain_beads`` (N, 1-500): crystals per chain (``--refine chain``); spacing = the crystal's
  size along c (the number-mean L_c of prisms and platelets or D of cuboids and spheres at the
  current size parameters, or the single crystal's realised size) plus ``chain_gap_A`` (Å, 0-100,
  ligands between the crystals; ``--refine chain_gap``; 0 unless given). One spacing for the
  whole population (the decoupling approximation's monodisperse structure factor).
- ``ligand_shell_A`` (Å, 0.5-60) and ``ligand_density`` (e/Å^3, 0-2) (``--refine ligand``): the
  shell around every crystal of the population, each crystal taken as its equal-volume sphere
  (atoms x the structure's volume per atom) holding Z = sum of its atoms' f(0) (occupancies
  included).

The population's Debye intensity plus the ligand term is multiplied by the chain factor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nanotwin_core.refine.parameter_providers import FitSetup, ParameterProvider, register_provider
from nanotwin_core.refine.parameters import Parameter
from nanotwin_core.scattering.debye import occupancy_factors
from nanotwin_core.scattering.radiation import Radiation
from nanotwin_core.scattering.small_angle import chain_factor, ligand_shell_intensity

__all__ = ["CrystalTable", "LigandProvider", "ModelValueProvider", "add_low_q_terms",
           "chain_spacing_nm", "model_low_q_values"]

CHAIN_START = 2.0
LIGAND_START = (15.0, 0.33)  # Å, e/Å^3 (oleic acid / oleylamine: about 0.3 e/Å^3)


class ModelValueProvider(ParameterProvider):
    """One parameter named as a Model field (``chain_beads``, ``chain_gap_A``), present when the
    model gives it or its keyword is refined (then from ``start``), within [lo, hi]."""

    def __init__(self, keyword: str, field: str, start: float, lo: float, hi: float) -> None:
        self.keywords = (keyword,)
        self.field, self.start, self.bounds = field, start, (lo, hi)

    def parameters(self, setup: FitSetup) -> list[Parameter]:
        free = setup.refined(self.keywords)
        value = getattr(setup.model, self.field)
        if value is None and not free:
            return []
        return [Parameter(self.field, self.start if value is None else value, free, *self.bounds)]


class LigandProvider(ParameterProvider):
    """``ligand_shell_A`` and ``ligand_density`` when the model has a shell or ``ligand`` is refined."""

    keywords = ("ligand",)

    def parameters(self, setup: FitSetup) -> list[Parameter]:
        free = setup.refined(self.keywords)
        model = setup.model
        if model.ligand_shell_A is None and not free:
            return []
        t, rho = (model.ligand_shell_A, model.ligand_density) if model.ligand_shell_A is not None \
            else LIGAND_START
        return [Parameter("ligand_shell_A", t, free, 0.5, 60.0),
                Parameter("ligand_density", rho, free, 0.0, 2.0)]


register_provider("chain", ModelValueProvider("chain", "chain_beads", CHAIN_START, 1.0, 500.0))
register_provider("chain_gap", ModelValueProvider("chain_gap", "chain_gap_A", 0.0, 0.0, 100.0))
register_provider("ligand", LigandProvider())


@dataclass
class CrystalTable:
    """One crystal as the low-Q terms see a size database: its types, occupancy sums per type
    (1, T), atoms (1,) and size along c (1, 1) in nm."""

    types: list
    self_sums: np.ndarray
    n_atoms: np.ndarray
    sizes_nm: np.ndarray

    @classmethod
    def of(cls, hist, crystal) -> CrystalTable:
        """From a crystal's pair histograms and its realised sizes (``info``)."""
        info = crystal.info
        size_c = info.get("L_c_nm", info.get("size_nm", info.get("D_eq_nm")))
        return cls(list(hist.types), np.asarray(hist.occupancy_sums, float).reshape(1, -1),
                   np.array([float(crystal.n_atoms)]), np.array([[float(size_c)]]))


def model_low_q_values(model) -> dict[str, float]:
    """The low-Q parameters a model sets (``chain_beads``, ``ligand_shell_A``, ``ligand_density``)."""
    out = {"chain_beads": model.chain_beads, "chain_gap_A": model.chain_gap_A,
           "ligand_shell_A": model.ligand_shell_A, "ligand_density": model.ligand_density}
    return {k: float(v) for k, v in out.items() if v is not None}


def chain_spacing_nm(database, values: dict[str, float], kind: str | None, suffix: str = "") -> float:
    """The chain spacing (nm): the size along c (module doc)."""
    if kind == "bivariate":
        return float(values["Lc_nm" + suffix])
    if kind is not None:
        return float(values["D_nm" + suffix])
    return float(np.asarray(database.sizes_nm, float)[0, -1])


def _crystal_table(database, weights: np.ndarray):
    """(sizes in use, atoms per crystal, self sums per crystal) of a database."""
    w = np.asarray(weights, float).ravel()
    used = np.flatnonzero(w)
    n_atoms = np.atleast_1d(np.asarray(database.n_atoms, float))
    self_sums = np.atleast_2d(np.asarray(database.self_sums, float))
    return used, w[used], n_atoms[used], self_sums[used]


def add_low_q_terms(intensity: np.ndarray, q: np.ndarray, *, database, weights: np.ndarray,
                    values: dict[str, float], radiation: Radiation, occupancy: dict[str, float],
                    structure, kind: str | None, suffix: str = "") -> np.ndarray:
    """``intensity`` (the population's Debye intensity at ``q``) with the ligand shell added and
    the chain factor applied, where ``values`` hold their parameters; unchanged otherwise."""
    out = intensity
    if "ligand_shell_A" in values:
        atom_volume_A3 = structure.cell.volume / sum(structure.composition().values())
        _, w, n_atoms, self_sums = _crystal_table(database, weights)
        f0 = np.array([radiation.form_factor(t.element, np.zeros(1))[0].real for t in database.types])
        electrons = self_sums @ (f0 * occupancy_factors(list(database.types), occupancy))
        radius = (3.0 * n_atoms * atom_volume_A3 / (4.0 * np.pi)) ** (1 / 3)
        shell = ligand_shell_intensity(q, radius, electrons, values["ligand_shell_A"],
                                       values["ligand_density"])
        out = out + w @ shell
    if "chain_beads" in values:
        spacing_A = 10.0 * chain_spacing_nm(database, values, kind, suffix) + values.get("chain_gap_A", 0.0)
        out = out * chain_factor(q, spacing_A, values["chain_beads"])
    return out
