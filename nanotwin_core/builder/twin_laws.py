"""Twin laws in the k<uvw>{hkl} notation (SCIENCE.md section 2).

``"1/2<110>{110}"`` is a family: slip directions <uvw> (with magnitude k) in slip planes {hkl},
both expanded with the structure's point group (rotation parts of gemmi's space-group
operations), keeping the pairs with h u + k v + l w = 0. ``"1/2[1-10](110)"`` is one member.
k is a fraction ("1/2") or a decimal ("0.5"); indices are single digits ("1-10") or separated
by spaces or commas ("1 -1 0", "1,-1,0").

The shift of a member is k (u a + v b + w c), i.e. ``k * uvw`` in fractional units of the parent
cell. Two members of one plane whose shifts differ by a parent-lattice vector act identically
(a node's content depends on its shift modulo the parent lattice), so a family keeps one of
them (the first in a fixed order): e.g. 1/2<110>{001} in Pbnm reduces to 1/2[110](001).
Planes are normalised so that the first non-zero index is positive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from nanotwin_core.builder.point_group import expand_directions_planes, norm_plane
from nanotwin_core.builder.point_group import point_group_rotations as point_group_rotations
from nanotwin_core.builder.rotation_laws import RotationLaw, is_rotation_text, parse_rotation_law
from nanotwin_core.errors import NanotwinError
from nanotwin_core.structures.structure import Structure

_LAW_RE = re.compile(r"^\s*([0-9./]*)\s*([<\[])([^>\]]*)([>\]])\s*([({])([^)}]*)([)}])\s*$")


@dataclass(frozen=True)
class TwinMember:
    """One direction/plane pair: shift k[uvw] (fractional, parent cell) on plane (hkl)."""

    k: Fraction
    direction: tuple[int, int, int]
    plane: tuple[int, int, int]

    @property
    def shift_frac(self) -> np.ndarray:
        """The shift k*(u, v, w) in fractional units of the parent cell."""
        return float(self.k) * np.array(self.direction, dtype=float)

    @property
    def label(self) -> str:
        return f"{_fmt_k(self.k)}[{_fmt_idx(self.direction)}]({_fmt_idx(self.plane)})"

    def __str__(self) -> str:
        return self.label


@dataclass(frozen=True)
class TwinLaw:
    """A parsed law: a family (``family=True``, <uvw>{hkl}) or a single member ([uvw](hkl))."""

    k: Fraction
    direction: tuple[int, int, int]
    plane: tuple[int, int, int]
    family: bool = True
    text: str = ""

    @property
    def label(self) -> str:
        if self.family:
            return f"{_fmt_k(self.k)}<{_fmt_idx(self.direction)}>{{{_fmt_idx(self.plane)}}}"
        return f"{_fmt_k(self.k)}[{_fmt_idx(self.direction)}]({_fmt_idx(self.plane)})"

    def __str__(self) -> str:
        return self.label

    def members(self, structure: Structure | None = None) -> list[TwinMember]:
        """The direction/plane pairs of the law (a family is expanded with the point group)."""
        if not self.family:
            return [TwinMember(self.k, self.direction, norm_plane(self.plane))]
        dirs, planes = expand_directions_planes(self.direction, self.plane, structure)
        out: list[TwinMember] = []
        keys: set[tuple] = set()
        for h in planes:
            for u in dirs:
                if int(np.dot(h, u)) != 0:
                    continue
                m = TwinMember(self.k, tuple(int(x) for x in u), tuple(int(x) for x in h))
                s = m.shift_frac
                s = s - np.floor(s + 1e-9)
                key = (m.plane, tuple(np.round(s, 9)))
                if key in keys:
                    continue
                keys.add(key)
                out.append(m)
        if not out:
            raise NanotwinError(f"twin law {self.label}: no direction of <uvw> lies in a plane of {{hkl}} "
                                "(need h u + k v + l w = 0)")
        return out


def _fmt_k(k: Fraction) -> str:
    return str(k.numerator) if k.denominator == 1 else f"{k.numerator}/{k.denominator}"


def _fmt_idx(v) -> str:
    return "".join(str(int(x)) for x in v)


def _parse_k(text: str, law: str) -> Fraction:
    if text == "":
        raise NanotwinError(
            f"twin law {law!r} has no shift fraction k: write k<uvw>{{hkl}}, e.g. 1/2<001>{{110}} (without k "
            "the shift would be a whole lattice vector and the boundary would change nothing)"
        )
    try:
        k = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise NanotwinError(f"twin law {law!r}: magnitude {text!r} is not a number or fraction") from None
    if k == 0:
        raise NanotwinError(f"twin law {law!r}: magnitude must not be 0")
    return k.limit_denominator(1000)


def _parse_indices(text: str, law: str) -> tuple[int, int, int]:
    t = text.strip()
    parts = re.split(r"[\s,]+", t) if re.search(r"[\s,]", t) else re.findall(r"-?\d", t)
    if "".join(parts).replace("-", "") != re.sub(r"[\s,\-]", "", t) or len(parts) != 3:
        raise NanotwinError(f"twin law {law!r}: cannot read three indices from {text!r}")
    try:
        idx = tuple(int(p) for p in parts)
    except ValueError:
        raise NanotwinError(f"twin law {law!r}: cannot read three indices from {text!r}") from None
    return idx  # type: ignore[return-value]


def parse_twin_law(text: str | TwinLaw | RotationLaw) -> TwinLaw | RotationLaw:
    """Parse "k<uvw>{hkl}" (a family) or "k[uvw](hkl)" (one member); rotation and reflection
    laws "R90<uvw>{hkl}", "m{hkl}" (and their members) give a ``RotationLaw``.

    Raises
    ------
    NanotwinError
        With the offending text, for malformed laws, zero directions or planes.
    """
    if isinstance(text, (TwinLaw, RotationLaw)):
        return text
    if is_rotation_text(text):
        return parse_rotation_law(text, _parse_indices)
    m = _LAW_RE.match(str(text))
    if not m:
        raise NanotwinError(f"twin law {text!r} not understood: write k<uvw>{{hkl}} (e.g. 1/2<110>{{110}}) "
                            "or k[uvw](hkl) (e.g. 1/2[1-10](110))")
    k_txt, o1, uvw, c1, o2, hkl, c2 = m.groups()
    family = o1 == "<"
    if (o1, c1) not in (("<", ">"), ("[", "]")) or (o2, c2) not in (("{", "}"), ("(", ")")) or \
            (family != (o2 == "{")):
        raise NanotwinError(f"twin law {text!r}: use <uvw>{{hkl}} for a family or [uvw](hkl) for one member")
    k = _parse_k(k_txt, str(text))
    u = _parse_indices(uvw, str(text))
    h = _parse_indices(hkl, str(text))
    if not any(u):
        raise NanotwinError(f"twin law {text!r}: the direction is zero")
    if not any(h):
        raise NanotwinError(f"twin law {text!r}: the plane is zero")
    if not family and int(np.dot(u, h)) != 0:
        raise NanotwinError(
            f"twin law {text!r}: the direction does not lie in the plane (h u + k v + l w != 0)"
        )
    return TwinLaw(k=k, direction=u, plane=h, family=family, text=str(text))


def expand_laws(laws, structure: Structure) -> list[tuple[TwinLaw | RotationLaw, TwinMember]]:
    """Parse and expand several laws: (law, member) pairs in order."""
    out = []
    for law in laws:
        law = parse_twin_law(law)
        out.extend((law, m) for m in law.members(structure))
    return out
