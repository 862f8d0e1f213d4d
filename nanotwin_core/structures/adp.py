"""Isotropic B per ADP group: what a user gives (by group or element) resolved against a structure.

A user names B values (Å^2) per ADP group (Pb, Cs, X_ax, X_eq, ...) or per element (Br); a
group's value wins over its element's, and groups left unnamed take the structure's own B (the
CIF's or the library's). A name that is neither a group nor an element of the structure is a
mistake (a typo such as ``X_axx`` would silently mean B = 0): it is refused, listing the groups.
A surface-shell group ``<group>_surf`` (``builder/surface_shell.py``) takes its core group's
value unless named itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from nanotwin_core.errors import NanotwinError
from nanotwin_core.structures.elements import element_of

SURFACE_SUFFIX = "_surf"


def core_group(group: str) -> str | None:
    """The core group of a surface-shell group ('X_ax_surf' -> 'X_ax'), else None."""
    return group[: -len(SURFACE_SUFFIX)] if group.endswith(SURFACE_SUFFIX) else None


def with_surface_groups(groups: Mapping[str, str], defaults: Mapping[str, float]
                        ) -> tuple[dict[str, str], dict[str, float]]:
    """``groups`` ({group: element}) and ``defaults`` ({group: B}) plus every ``<group>_surf``
    (same element, the core group's B)."""
    out_groups, out_defaults = dict(groups), dict(defaults)
    for group, element in groups.items():
        if core_group(group) is None:
            out_groups.setdefault(group + SURFACE_SUFFIX, element)
            if group in defaults:
                out_defaults.setdefault(group + SURFACE_SUFFIX, defaults[group])
    return out_groups, out_defaults


def adp_groups_of(groups: Iterable[str], elements: Iterable[str]) -> dict[str, str]:
    """{ADP group: element} from parallel sequences of groups and element (or ion) symbols."""
    return {str(g): element_of(e) for g, e in zip(groups, elements, strict=True)}


def structure_adp_groups(structure) -> dict[str, str]:
    """{ADP group: element} of a structure's sites."""
    return adp_groups_of([s.adp_group for s in structure.sites], [s.element for s in structure.sites])


def structure_b(structure) -> dict[str, float]:
    """The structure's own B (Å^2) per ADP group (the sites' ``b_iso``)."""
    return {s.adp_group: float(s.b_iso) for s in structure.sites}


def check_adp_names(adp: Mapping[str, float] | None, groups: Mapping[str, str], where: str = "") -> None:
    """NanotwinError unless every name of ``adp`` is an ADP group or an element of ``groups``."""
    if not adp:
        return
    elements = set(groups.values())
    unknown = [k for k in adp if k not in groups and k not in elements]
    if unknown:
        place = f" of {where}" if where else ""
        raise NanotwinError(
            f"unknown ADP group {', '.join(repr(k) for k in unknown)}; the ADP groups{place} are "
            f"{', '.join(sorted(groups))} (or name an element: {', '.join(sorted(elements))})")
    for name, b in adp.items():
        if not float(b) >= 0:
            raise NanotwinError(f"B of {name} must be >= 0 Å^2, got {b}")


def resolve_adp(adp: Mapping[str, float] | None, groups: Mapping[str, str],
                defaults: Mapping[str, float] | None = None, *, fallback: float = 0.0,
                where: str = "") -> dict[str, float]:
    """B (Å^2) of every ADP group: ``adp[group]``, else (surface groups) ``adp[core group]``, else
    ``adp[element]``, else ``defaults[group]`` (the structure's B), else ``fallback``. Unknown
    names in ``adp`` raise (``check_adp_names``)."""
    adp = dict(adp or {})
    check_adp_names(adp, groups, where)
    defaults = defaults or {}
    out = {}
    for group, element in groups.items():
        core = core_group(group)
        if group in adp:
            out[group] = float(adp[group])
        elif core is not None and core in adp:
            out[group] = float(adp[core])
        elif element in adp:
            out[group] = float(adp[element])
        else:
            out[group] = float(defaults.get(group, fallback))
    return out
