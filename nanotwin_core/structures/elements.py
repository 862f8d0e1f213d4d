"""Element and ion symbols: 'PB' -> 'Pb', 'br1-' -> 'Br1-', the element of an ion."""

from __future__ import annotations

from nanotwin_core.errors import NanotwinError


def normalise_symbol(name: str) -> str:
    """'PB' -> 'Pb', 'br1-' -> 'Br1-', 'Cs+' -> 'Cs1+' (xraydb's ion spelling)."""
    name = str(name).strip()
    if not name:
        raise NanotwinError("empty element symbol")
    letters = "".join(ch for ch in name if ch.isalpha())
    rest = name[len(letters) :]
    el = letters[:1].upper() + letters[1:].lower()
    if rest in ("+", "-"):
        rest = "1" + rest
    elif rest and rest[0] in "+-" and rest[1:].isdigit():
        rest = rest[1:] + rest[0]
    return el + rest


def element_of(name: str) -> str:
    """The element part of an element or ion symbol: 'Br1-' -> 'Br'."""
    return "".join(ch for ch in normalise_symbol(name) if ch.isalpha())
