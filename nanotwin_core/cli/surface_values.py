"""Value parsers of the surface options: --occupancy and --constrain (fit)."""

from __future__ import annotations

from nanotwin_core.cli.options import parse_keyvals
from nanotwin_core.errors import NanotwinError


def parse_occupancy(text: str | None) -> dict[str, float]:
    """'S_surf=0.85,Pb=1' -> {'S_surf': 0.85, 'Pb': 1.0} (occupancy factors, each in [0, 1])."""
    if not text:
        return {}
    out = parse_keyvals(",".join(item for item in text.split(",") if item.strip()), "--occupancy")
    for name, value in out.items():
        if not 0 <= value <= 1:
            raise NanotwinError(f"--occupancy: {name} must lie in [0, 1], got {value:g}")
    return out


def parse_constraints(text: str | None) -> dict[str, str]:
    """'B_S_surf=B_S,occ_Pb_surf=fixed' -> {'B_S_surf': '=B_S', 'occ_Pb_surf': 'fixed'}."""
    out: dict[str, str] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        name, sep, other = (part.strip() for part in item.partition("="))
        if not sep or not name or not other:
            raise NanotwinError(f"--constrain expects NAME=OTHER or NAME=fixed, got {item!r}")
        out[name] = "fixed" if other == "fixed" else f"={other}"
    return out
