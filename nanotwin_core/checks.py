"""Small checks of user-given numbers, shared by the core (one message style)."""

from __future__ import annotations

import math

from nanotwin_core.errors import NanotwinError


def positive_number(value, name: str, unit: str = "") -> float:
    """``value`` as a finite float > 0, else NanotwinError naming ``name`` and its unit."""
    in_unit = f" in {unit}" if unit else ""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise NanotwinError(f"{name} is not a number{in_unit}: {value!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise NanotwinError(f"{name} must be > 0{in_unit}, got {value!r}")
    return v
