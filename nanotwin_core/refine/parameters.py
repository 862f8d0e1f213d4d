"""Refinable parameters with bounds and simple constraints.

A constraint is either ``"fixed"`` or ``"=OTHER"`` (equal to another parameter); no expressions.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace

from nanotwin_core.errors import NanotwinError

__all__ = ["Parameter", "ParameterSet"]


@dataclass
class Parameter:
    """One model parameter.

    Attributes
    ----------
    name : unique name (e.g. "scale", "B_Pb", "Dab_nm").
    value : current value.
    refine : True = refined (unless constrained).
    min, max : bounds (inclusive).
    esd : estimated standard deviation after a fit (None before, or at a bound).
    constraint : None, "fixed" or "=OTHER".
    step : finite-difference step (absolute); None = automatic.
    linear : True for linear coefficients solved inside every evaluation (set by the engine).
    at_bound : None, "min" or "max" after a fit.
    """

    name: str
    value: float
    refine: bool = False
    min: float = -math.inf
    max: float = math.inf
    esd: float | None = None
    constraint: str | None = None
    step: float | None = None
    linear: bool = False
    at_bound: str | None = None

    def __post_init__(self) -> None:
        self.value = float(self.value)
        if self.min > self.max:
            raise NanotwinError(f"parameter {self.name}: min {self.min} > max {self.max}")
        if self.constraint is not None and self.constraint != "fixed" and not self.constraint.startswith("="):
            raise NanotwinError(
                f"parameter {self.name}: constraint must be 'fixed' or '=OTHER', not {self.constraint!r}"
            )

    @property
    def master(self) -> str | None:
        """Name of the parameter this one equals, or None."""
        if self.constraint and self.constraint.startswith("="):
            return self.constraint[1:].strip()
        return None

    @property
    def is_free(self) -> bool:
        """Refined and not constrained: an independent variable of the fit."""
        return self.refine and self.constraint is None


class ParameterSet:
    """An ordered collection of :class:`Parameter` with constraint resolution."""

    def __init__(self, params: list[Parameter] | None = None) -> None:
        self._p: dict[str, Parameter] = {}
        for p in params or []:
            self.append(p)

    def append(self, p: Parameter) -> Parameter:
        """Add a ready-made parameter (its name must be new) and return it."""
        if p.name in self._p:
            raise NanotwinError(f"duplicate parameter name {p.name!r}")
        self._p[p.name] = p
        return p

    def add(
        self,
        name: str,
        value: float,
        refine: bool = False,
        min: float = -math.inf,  # noqa: A002 - matches Parameter
        max: float = math.inf,  # noqa: A002
        constraint: str | None = None,
        step: float | None = None,
    ) -> Parameter:
        """Add a parameter and return it."""
        return self.append(Parameter(name, value, refine, min, max, constraint=constraint, step=step))

    def __getitem__(self, name: str) -> Parameter:
        try:
            return self._p[name]
        except KeyError:
            raise NanotwinError(f"unknown parameter {name!r}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._p

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self._p.values())

    def __len__(self) -> int:
        return len(self._p)

    @property
    def names(self) -> list[str]:
        """All names in order."""
        return list(self._p)

    def fix(self, name: str) -> None:
        """Hold a parameter at its value."""
        self[name].constraint = "fixed"

    def constrain(self, name: str, other: str) -> None:
        """Make ``name`` equal to ``other`` (which must exist)."""
        self[other]
        self[name].constraint = f"={other}"
        self.resolve()

    def free_names(self) -> list[str]:
        """Names of the independent refined parameters, in order."""
        return [p.name for p in self._p.values() if p.is_free]

    def refined_names(self) -> list[str]:
        """Alias of :meth:`free_names`."""
        return self.free_names()

    def resolve(self) -> None:
        """Set every ``=OTHER`` parameter to its master's value (chains allowed, cycles refused)."""
        for p in self._p.values():
            seen = {p.name}
            q = p
            while q.master is not None:
                if q.master not in self._p:
                    raise NanotwinError(f"parameter {p.name} is constrained to unknown {q.master!r}")
                if q.master in seen:
                    raise NanotwinError(f"constraint cycle through {p.name!r}")
                seen.add(q.master)
                q = self._p[q.master]
            if q is not p:
                p.value = q.value

    def values(self) -> dict[str, float]:
        """Name -> value with constraints applied."""
        self.resolve()
        return {n: p.value for n, p in self._p.items()}

    def get_vector(self, names: list[str]) -> list[float]:
        """Values of ``names``."""
        return [self._p[n].value for n in names]

    def set_vector(self, names: list[str], vals: object) -> None:
        """Set ``names`` to ``vals`` and resolve constraints."""
        for n, v in zip(names, vals, strict=True):  # type: ignore[call-overload]
            self._p[n].value = float(v)
        self.resolve()

    def copy(self) -> ParameterSet:
        """A deep copy."""
        return ParameterSet([replace(p) for p in self._p.values()])
