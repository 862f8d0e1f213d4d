"""The a-a-c+ octahedral tilt model of the gamma (Pbnm) CsPbX3 perovskites, and a tilt meter.

``tilted_gamma`` builds a gamma structure in the paper's frame (Pbnm, c long, X_ax along c,
the site labels, ADP groups and B values of the library's ``CsPbX3-gamma``) from rigid, regular
PbX6 octahedra; ``tilt_angles`` measures the two tilt angles of any Pbnm perovskite from its
Pb-X-Pb angles, so the same numbers describe generated and measured structures.

Geometry (orthonormal frame x, y, z along the orthorhombic a, b, c)
-------------------------------------------------------------------
Pb sits at 4b (1/2, 0, 0). At zero tilt its six Pb-X bonds point along the pseudocubic axes
e1 = (1, 1, 0)/sqrt2, e2 = (-1, 1, 0)/sqrt2, e3 = (0, 0, 1), with length d = a_p/2. The
reference octahedron (on Pb0 = (1/2, 0, 0)) is turned by

    R = R_z(phi_c) R_y(theta),      bonds u_k = d R e_k,

first by the a-a- tilt theta about the orthorhombic b axis (pseudocubic [110], i.e. equal
out-of-phase tilts about pseudocubic [100] and [010]), then by the c+ tilt phi_c about c. The
other octahedra follow from the Pbnm operations: the octahedron on (0, 1/2, 0) is W R W with
W = diag(1, -1, -1) (the 2_1 axis x+1/2, -y+1/2, -z), and the mirror z -> 1/2 - z gives the one
above. Corner sharing fixes the cell:

- X_ax = Pb0 + u3 must lie on the mirror z = 1/4: c/4 = u3_z = d cos(theta).
- X_eq = Pb0 + u1 must equal (0, 1/2, 0) + W u2 (its partner on the in-plane neighbour):
  u1 - W u2 = (a/2, b/2, 0). With W u = (u_x, -u_y, -u_z) this reads u1_z + u2_z = 0,
  a = 2 (u1_x - u2_x), b = 2 (u1_y + u2_y). u1 + u2 = sqrt2 d R y-hat has no z component only
  if R keeps b in the ab plane: hence the order R_z R_y (R_y R_z would break corner sharing).
  Writing R e1, R e2 out: u1_x - u2_x = sqrt2 d cos(theta) cos(phi_c),
  u1_y + u2_y = sqrt2 d cos(phi_c).

So, with a_p = 2 d (O'Keeffe & Hyde, Acta Cryst. B33 (1977) 3802, for a-a-c+):

    a = sqrt2 a_p cos(theta) cos(phi_c),   b = sqrt2 a_p cos(phi_c),   c = 2 a_p cos(theta)

and, in reverse, cos(theta) = a/b, cos(phi_c) = sqrt2 a/c for rigid octahedra. The bridging
angles are Pb-X_ax-Pb = 180 - 2 theta and
cos(Pb-X_eq-Pb) = [sin^2(theta) - cos(2 phi_c) (1 + cos^2(theta))] / 2
(180 - 2 phi_c for a pure c+ tilt, arccos(-cos^2 theta) for a pure a-a- tilt); ``tilt_angles``
inverts these two relations. The total rotation angle Phi of R obeys
cos(Phi) = [cos(theta) cos(phi_c) + cos(theta) + cos(phi_c) - 1] / 2.

Signs: positive angles turn the octahedra the way the library's gamma structures are turned
(Materials Project coordinates), so ``tilted_gamma`` at the library's measured angles is close to
the library structure. Cs sits at its ideal site (0, 0, 3/4) (the pseudocubic cube centre),
optionally displaced in the ab plane (``cs_offset``, Å).

Bond length: ``keep="bond"`` (default) keeps Pb-X = a_p/2 at every tilt (rigid octahedra, the
cell shrinks as cos); ``keep="volume"`` keeps the cell volume at 4 a_p^3 (regular octahedra whose
Pb-X grows as (cos theta cos phi_c)^(-2/3)). Either way the octahedra stay regular.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy.optimize import brentq

from nanotwin_core.errors import NanotwinError
from nanotwin_core.structures.library import get_structure
from nanotwin_core.structures.structure import Cell, Site, Structure

HALIDES = ("Cl", "Br", "I")
KEEP_CHOICES = ("bond", "volume")
# Two Pb neighbours of a bridging X closer to opposite than this (degrees) make a corner share.
_MIN_BRIDGE_ANGLE = 120.0
_AXIS_FRACTION = 0.7  # a Pb-Pb bridge this aligned with the long axis is apical


def _rot_y(t: float) -> np.ndarray:
    c, s = math.cos(t), math.sin(t)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _rot_z(t: float) -> np.ndarray:
    c, s = math.cos(t), math.sin(t)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def octahedron_rotation(tilt_ab_deg: float, tilt_c_deg: float) -> np.ndarray:
    """Rotation matrix of the octahedron on Pb (1/2, 0, 0): R_z(-phi_c) R_y(-theta) (degrees in).

    The minus signs make positive angles match the sense of the library's gamma structures.
    """
    return _rot_z(-math.radians(tilt_c_deg)) @ _rot_y(-math.radians(tilt_ab_deg))


def total_rotation_deg(tilt_ab_deg: float, tilt_c_deg: float) -> float:
    """Rotation angle (degrees) of the octahedron R = R_z(phi_c) R_y(theta) about its own axis."""
    ct, cp = math.cos(math.radians(tilt_ab_deg)), math.cos(math.radians(tilt_c_deg))
    return math.degrees(math.acos(max(-1.0, min(1.0, (ct * cp + ct + cp - 1.0) / 2.0))))


def bond_length(a_p: float, tilt_ab_deg: float, tilt_c_deg: float, keep: str = "bond") -> float:
    """Pb-X distance (Å) of the model: a_p/2, or a_p/2 (cos theta cos phi_c)^(-2/3) for keep="volume"."""
    if keep not in KEEP_CHOICES:
        raise NanotwinError(f"keep must be one of {', '.join(KEEP_CHOICES)}, got {keep!r}")
    d = a_p / 2.0
    if keep == "volume":
        d /= (math.cos(math.radians(tilt_ab_deg)) * math.cos(math.radians(tilt_c_deg))) ** (2.0 / 3.0)
    return d


def tilted_cell(a_p: float, tilt_ab_deg: float, tilt_c_deg: float, keep: str = "bond") -> Cell:
    """Pbnm cell (Å) of rigid octahedra: a = sqrt2 a_p' ct cp, b = sqrt2 a_p' cp, c = 2 a_p' ct,
    with a_p' = 2 x ``bond_length`` (= a_p for keep="bond")."""
    ap = 2.0 * bond_length(a_p, tilt_ab_deg, tilt_c_deg, keep)
    ct, cp = math.cos(math.radians(tilt_ab_deg)), math.cos(math.radians(tilt_c_deg))
    return Cell(math.sqrt(2) * ap * ct * cp, math.sqrt(2) * ap * cp, 2.0 * ap * ct)


def _check_halide(halide: str) -> str:
    for x in HALIDES:
        if halide.lower() == x.lower():
            return x
    raise NanotwinError(f"halide must be one of {', '.join(HALIDES)}, got {halide!r}")


def _check_angle(name: str, value: float) -> float:
    v = float(value)
    if not math.isfinite(v) or not abs(v) < 45.0:
        raise NanotwinError(f"{name} must be in (-45, 45) degrees, got {value}")
    return v


def tilted_gamma(
    halide: str,
    tilt_ab_deg: float,
    tilt_c_deg: float | None = None,
    a_p: float | None = None,
    b_iso: dict[str, float] | None = None,
    *,
    keep: str = "bond",
    cs_offset: tuple[float, float] = (0.0, 0.0),
    name: str | None = None,
) -> Structure:
    """A gamma (Pbnm, c long) CsPbX3 structure of rigid regular octahedra with a-a-c+ tilts.

    Parameters
    ----------
    halide : "Cl", "Br" or "I".
    tilt_ab_deg : the a-a- tilt theta, degrees: rotation about the orthorhombic b axis
        (pseudocubic [110]); Pb-X_ax-Pb = 180 - 2 theta.
    tilt_c_deg : the c+ tilt phi_c about c, degrees. None keeps the ratio phi_c/theta of the
        library's ``CsPbX3-gamma`` (see ``library_tilts``).
    a_p : pseudocubic parameter at zero tilt, Å (Pb-X = a_p/2). None: twice the mean Pb-X
        distance of the library's gamma structure.
    b_iso : B (Å^2) per ADP group (Pb, Cs, X_ax, X_eq); missing groups take the library values.
    keep : "bond" keeps Pb-X = a_p/2 (the cell shrinks with tilt); "volume" keeps the cell
        volume 4 a_p^3 (Pb-X grows).
    cs_offset : Cs displacement (Å) along a and b from its ideal site (0, 0, 3/4).
    name : structure name; default "CsPbX3-gamma-tilt".
    """
    x = _check_halide(halide)
    theta = _check_angle("tilt_ab_deg", tilt_ab_deg)
    if tilt_c_deg is None:
        lib_ab, lib_c = library_tilts(x)
        phi = theta * lib_c / lib_ab
    else:
        phi = _check_angle("tilt_c_deg", tilt_c_deg)
    if a_p is None:
        a_p = 2.0 * library_bond_length(x)
    if not (math.isfinite(a_p) and a_p > 0):
        raise NanotwinError(f"a_p must be a positive length in Å, got {a_p}")
    dx, dy = (float(v) for v in cs_offset)

    cell = tilted_cell(a_p, theta, phi, keep)
    d = bond_length(a_p, theta, phi, keep)
    rot = octahedron_rotation(theta, phi)
    lengths = np.array([cell.a, cell.b, cell.c])
    pb = np.array([0.5, 0.0, 0.0])
    u1 = d * rot @ (np.array([1.0, 1.0, 0.0]) / math.sqrt(2))
    u3 = d * rot @ np.array([0.0, 0.0, 1.0])
    x_eq = _wrap(pb + u1 / lengths)
    x_ax = _wrap(pb + u3 / lengths)
    x_ax[2] = 0.25  # exact: c = 4 u3_z
    cs = _wrap(np.array([dx / cell.a, dy / cell.b, 0.75]))

    ref = {s.adp_group: s.b_iso for s in get_structure(f"CsPb{x}3-gamma").sites}
    if b_iso:
        unknown = set(b_iso) - set(ref)
        if unknown:
            raise NanotwinError(f"unknown ADP group(s) {sorted(unknown)}; groups: {sorted(ref)}")
        ref.update({k: float(v) for k, v in b_iso.items()})
    sites = (
        Site("Pb", "Pb", tuple(pb), b_iso=ref["Pb"], adp_group="Pb"),
        Site("Cs", "Cs", tuple(cs), b_iso=ref["Cs"], adp_group="Cs"),
        Site("Xax", x, tuple(x_ax), b_iso=ref["X_ax"], adp_group="X_ax"),
        Site("Xeq", x, tuple(x_eq), b_iso=ref["X_eq"], adp_group="X_eq"),
    )
    return Structure(
        name or f"CsPb{x}3-gamma-tilt", cell, "P b n m", sites,
        source="generated: rigid-octahedra a-a-c+ tilt model (nanotwin_core.structures.tilt)",
        notes=(f"a-a- tilt {theta:.3f}°, c+ tilt {phi:.3f}°, a_p = {a_p:.4f} Å, Pb-{x} = {d:.4f} Å "
               f"(keep={keep}), Cs offset ({dx:.3f}, {dy:.3f}) Å; regular octahedra"),
        metadata={"tilt_ab_deg": theta, "tilt_c_deg": phi, "a_p": float(a_p), "pb_x": d, "keep": keep,
                  "cs_offset": (dx, dy)},
    )


def _wrap(p: np.ndarray) -> np.ndarray:
    p = p - np.floor(p)
    p[np.isclose(p, 1.0, atol=1e-12)] = 0.0
    return p


@dataclass(frozen=True)
class BridgeGeometry:
    """Corner-sharing geometry of a perovskite: per bridging X, the two Pb-X distances (Å),
    the Pb-X-Pb angle (degrees) and whether the bridge is apical (along the long axis)."""

    distances: np.ndarray  # (n_x, 2) Å
    angles: np.ndarray  # (n_x,) degrees
    apical: np.ndarray  # (n_x,) bool

    @property
    def mean_bond(self) -> float:
        """Mean Pb-X distance (Å)."""
        return float(self.distances.mean())


def bridge_geometry(structure: Structure, b_site: str = "Pb", anion: str | None = None) -> BridgeGeometry:
    """Pb-X-Pb bridges of a corner-sharing perovskite (any setting; apical = along the longest axis).

    ``anion`` defaults to the one halide (or O, F) present. Raises NanotwinError when an X is not
    bridged by two roughly opposite B-site atoms.
    """
    t = structure.expand()
    elements = {str(e) for e in t.elements}
    if b_site not in elements:
        raise NanotwinError(f"{structure.name}: no {b_site} atoms")
    if anion is None:
        found = [e for e in ("Cl", "Br", "I", "F", "O") if e in elements]
        if len(found) != 1:
            raise NanotwinError(f"{structure.name}: cannot tell the anion (found {found}); pass anion=")
        anion = found[0]
    m = structure.cell.matrix
    long_axis = m[int(np.argmax(np.linalg.norm(m, axis=1)))]
    long_axis = long_axis / np.linalg.norm(long_axis)
    shifts = np.array([[i, j, k] for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)], float)
    b_frac = t.frac[t.elements == b_site]
    images = ((b_frac[None, :, :] + shifts[:, None, :]).reshape(-1, 3)) @ m
    dists, angles, apical = [], [], []
    for xf in t.frac[t.elements == anion]:
        v = images - xf @ m
        r = np.linalg.norm(v, axis=1)
        i, j = np.argsort(r)[:2]
        cosang = float(v[i] @ v[j] / (r[i] * r[j]))
        ang = math.degrees(math.acos(max(-1.0, min(1.0, cosang))))
        if ang < _MIN_BRIDGE_ANGLE:
            raise NanotwinError(
                f"{structure.name}: {anion} at {np.round(xf, 4).tolist()} is not a corner-sharing bridge "
                f"(its two nearest {b_site} make {ang:.1f}°); not a corner-sharing perovskite"
            )
        pbpb = v[j] - v[i]
        dists.append((r[i], r[j]))
        angles.append(ang)
        apical.append(abs(pbpb @ long_axis) > _AXIS_FRACTION * np.linalg.norm(pbpb))
    return BridgeGeometry(np.array(dists), np.array(angles), np.array(apical, dtype=bool))


def tilt_angles(structure: Structure, b_site: str = "Pb", anion: str | None = None) -> tuple[float, float]:
    """(phi_ab, phi_c) in degrees: the a-a- and c+ tilts of a Pbnm perovskite (long axis = c).

    From the mean Pb-X_ax-Pb angle A and the mean Pb-X_eq-Pb angle E, inverting the rigid-
    octahedra relations of this module: phi_ab = (180 - A)/2 and
    cos(2 phi_c) = [sin^2(phi_ab) - 2 cos E] / (1 + cos^2(phi_ab)). Exact for regular rigid
    octahedra; for real (distorted) structures the effective tilts that give the same angles.
    """
    g = bridge_geometry(structure, b_site, anion)
    n_ax, n_eq = int(g.apical.sum()), int((~g.apical).sum())
    if n_ax == 0 or n_eq != 2 * n_ax:
        raise NanotwinError(
            f"{structure.name}: expected twice as many equatorial as apical bridges, got {n_eq} and {n_ax}"
        )
    theta = (180.0 - float(g.angles[g.apical].mean())) / 2.0
    e = math.radians(float(g.angles[~g.apical].mean()))
    st2, ct2 = math.sin(math.radians(theta)) ** 2, math.cos(math.radians(theta)) ** 2
    cos2phi = (st2 - 2.0 * math.cos(e)) / (1.0 + ct2)
    phi = math.degrees(math.acos(max(-1.0, min(1.0, cos2phi)))) / 2.0
    return theta, phi


@cache
def library_tilts(halide: str) -> tuple[float, float]:
    """(phi_ab, phi_c) in degrees measured on the library's ``CsPbX3-gamma``."""
    return tilt_angles(get_structure(f"CsPb{_check_halide(halide)}3-gamma"))


@cache
def library_bond_length(halide: str) -> float:
    """Mean Pb-X distance (Å) of the library's ``CsPbX3-gamma``."""
    return bridge_geometry(get_structure(f"CsPb{_check_halide(halide)}3-gamma")).mean_bond


def tilts_for_slider(tilt_deg: float, halide: str = "Br") -> tuple[float, float]:
    """Map one teaching angle to (phi_ab, phi_c), degrees.

    ``tilt_deg`` is the total rotation angle of each octahedron (``total_rotation_deg``); the
    ratio phi_c/phi_ab is that of the library's ``CsPbX3-gamma``, so the library's own tilt is
    reached at ``total_rotation_deg(*library_tilts(halide))``.
    """
    total = float(tilt_deg)
    if not math.isfinite(total) or not 0.0 <= total < 45.0:
        raise NanotwinError(f"tilt angle must be in [0, 45) degrees, got {tilt_deg}")
    if total == 0.0:
        return 0.0, 0.0
    lib_ab, lib_c = library_tilts(halide)
    ratio = lib_c / lib_ab
    theta = brentq(lambda t: total_rotation_deg(t, ratio * t) - total, 0.0, total, xtol=1e-12)
    return float(theta), float(ratio * theta)
