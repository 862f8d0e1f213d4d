"""Refinable-parameter providers: who puts which parameters and linear columns into a fit.

``prepare_fit`` builds the database, then asks every registered provider, in order, for its
nonlinear ``parameters`` and its ``linear`` terms (columns solved in every evaluation by
variable projection). A provider answers to the ``--refine`` names in its ``keywords``: the
parameters it makes are refined when one of them is asked for, held at their start values
otherwise. The model reads the parameters by name (``B_<group>``, size names, ``expansion``,
``zero``, the structure database's own); a new parameter is a provider here, its
``register_provider`` call and its keyword in ``model_parts.REFINABLE`` (docs/internals.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from nanotwin_core.refine.background import blank_on_grid, chebyshev_basis
from nanotwin_core.refine.parameters import Parameter
from nanotwin_core.refine.size_grids import size_parameters
from nanotwin_core.scattering.texture import fit_ratio_bounds

__all__ = ["FitSetup", "LinearTerm", "PROVIDERS", "ParameterProvider", "register_provider"]


@dataclass
class FitSetup:
    """What the providers see while ``prepare_fit`` builds a problem.

    ``components``: the mixture's ``FitComponent``s (empty without a mixture); ``population_kind``:
    "bivariate", "univariate" or None (single crystal); ``structural``: "cell", "tilt" or None;
    ``b_start``: start B (Å^2) per ADP group; ``groups``: the ADP groups of the database(s);
    ``messages``: notes for the report (providers may add).
    """

    model: object
    settings: object
    data: object
    x: np.ndarray
    mask: np.ndarray
    database: object
    components: list
    population_kind: str | None
    structural: str | None
    b_start: dict[str, float]
    groups: list[str]
    messages: list[str] = field(default_factory=list)

    def refined(self, keywords: Sequence[str]) -> bool:
        """True when ``--refine`` names one of ``keywords``."""
        return any(k in self.settings.refine for k in keywords)


@dataclass
class LinearTerm:
    """A linear coefficient: its name, whether it is kept >= 0, and its column on the data grid
    (None: a population column the model computes in every evaluation)."""

    name: str
    nonneg: bool
    column: np.ndarray | None = None


class ParameterProvider:
    """Base of the providers: ``keywords`` it answers to, ``parameters`` and ``linear`` terms."""

    keywords: tuple[str, ...] = ()

    def parameters(self, setup: FitSetup) -> list[Parameter]:
        return []

    def linear(self, setup: FitSetup) -> list[LinearTerm]:
        return []


class AdpProvider(ParameterProvider):
    """``B_<group>`` (Å^2, 0-40) for every ADP group of the database(s)."""

    keywords = ("adp",)

    def parameters(self, setup: FitSetup) -> list[Parameter]:
        free = setup.refined(self.keywords)
        return [Parameter(f"B_{g}", setup.b_start.get(g, 1.0), free, 0.0, 40.0) for g in setup.groups]


class SizeProvider(ParameterProvider):
    """The log-normal size parameters of the model's population and of components with their own."""

    keywords = ("size",)

    def parameters(self, setup: FitSetup) -> list[Parameter]:
        free = setup.refined(self.keywords)
        model, comps = setup.model, setup.components
        out: list[Parameter] = []
        shared_used = not comps or any(c.suffix == "" for c in comps)
        if model.population is not None and shared_used:
            out += size_parameters(model.population, setup.population_kind, "", free)
        elif free and not any(c.kind is not None for c in comps):
            setup.messages.append("size not refined: the model is a single crystal (give --population)")
        for comp, spec in zip(comps, model.components, strict=True):
            if comp.suffix:
                out += size_parameters(spec.population, comp.kind, comp.suffix, free)
        return out


class StructureProvider(ParameterProvider):
    """Cell lengths or tilt angles of a single crystal (the structure database's own parameters)."""

    keywords = ("cell", "tilt")

    def parameters(self, setup: FitSetup) -> list[Parameter]:
        return list(setup.database.parameters()) if setup.structural else []


class ExpansionProvider(ParameterProvider):
    """``expansion``: every distance times (1 + e), e within +-5 %."""

    keywords = ("expansion",)

    def parameters(self, setup: FitSetup) -> list[Parameter]:
        return [Parameter("expansion", 0.0, setup.refined(self.keywords), -0.05, 0.05)]


class ZeroProvider(ParameterProvider):
    """``zero``: the 2theta zero shift (degrees, within +-0.5) of 2theta data."""

    keywords = ("zero",)

    def parameters(self, setup: FitSetup) -> list[Parameter]:
        if setup.data.x_kind != "tth":
            return []
        return [Parameter("zero", setup.settings.zero, setup.refined(self.keywords), -0.5, 0.5)]


class TwinDensityProvider(ParameterProvider):
    """``domain_nm``: the shared mean twin-domain size (nm) of a twin-density database
    (``refine/twin_density.py``), within the range its nodes cover."""

    keywords = ("twin_density",)

    def parameters(self, setup: FitSetup) -> list[Parameter]:
        db = setup.database
        if not hasattr(db, "domain_sizes"):
            return []
        return [Parameter("domain_nm", db.domain_nm, True, *db.bounds_nm)]


class TextureProvider(ParameterProvider):
    """``texture``: the March-Dollase ratio r of the model's fibre texture (``fit_ratio_bounds``,
    0.5-2 unless the start lies outside)."""

    keywords = ("texture",)

    def parameters(self, setup: FitSetup) -> list[Parameter]:
        texture = setup.model.texture
        if texture is None:
            if setup.refined(self.keywords):
                setup.messages.append("texture not refined: the model has no texture (give --texture HKL)")
            return []
        free = setup.refined(self.keywords)
        return [Parameter("texture", texture.ratio, free, *fit_ratio_bounds(texture.ratio))]


class ScaleProvider(ParameterProvider):
    """``scale``, or one ``scale_<name>`` per mixture component when fractions are refined."""

    keywords = ("scale", "fractions", "twin")

    def linear(self, setup: FitSetup) -> list[LinearTerm]:
        if setup.components and setup.settings.fractions_refined:
            return [LinearTerm(f"scale_{c.name}", True) for c in setup.components]
        if setup.settings.fractions_refined:
            setup.messages.append("fractions/twin not refined: the model has no components (a mixture)")
        return [LinearTerm("scale", True)]


class BackgroundProvider(ParameterProvider):
    """Chebyshev terms ``bkg_0..bkg_N`` over the fitted x range."""

    keywords = ("background",)

    def linear(self, setup: FitSetup) -> list[LinearTerm]:
        order = setup.settings.background_order
        if order is None:
            return []
        xs = setup.x[setup.mask]
        cheb = chebyshev_basis(setup.x, order, xs.min(), xs.max())
        return [LinearTerm(f"bkg_{k}", False, cheb[:, k]) for k in range(cheb.shape[1])]


class BlankProvider(ParameterProvider):
    """``blank``: a scaled solvent/capillary pattern (when the fit has one)."""

    def linear(self, setup: FitSetup) -> list[LinearTerm]:
        blank = setup.settings.blank
        if blank is None:
            return []
        column = blank_on_grid(blank, setup.x, setup.data.x_kind, setup.data.wavelength)
        return [LinearTerm("blank", True, column)]


PROVIDERS: dict[str, ParameterProvider] = {}  # in the order parameters and columns are made


def register_provider(name: str, provider: ParameterProvider) -> ParameterProvider:
    """Add a provider (after the existing ones)."""
    PROVIDERS[name] = provider
    return provider


for _name, _provider in (("adp", AdpProvider()), ("size", SizeProvider()), ("structure", StructureProvider()),
                         ("twin_density", TwinDensityProvider()),
                         ("expansion", ExpansionProvider()), ("zero", ZeroProvider()),
                         ("texture", TextureProvider()),
                         ("scale", ScaleProvider()), ("background", BackgroundProvider()),
                         ("blank", BlankProvider())):
    register_provider(_name, _provider)


def provider_keywords() -> tuple[str, ...]:
    """Every ``--refine`` name some provider answers to."""
    return tuple(k for p in PROVIDERS.values() for k in p.keywords)
