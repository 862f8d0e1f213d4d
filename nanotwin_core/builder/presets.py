"""The paper's twin models (Bertolotti et al., ACS Nano 2017) as named presets.

A preset = a built-in structure name + twin laws + placement (a number of boundaries or a mean
domain size) + default prism size; ``build_preset`` builds one crystal from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nanotwin_core.builder.twins import build_crystal
from nanotwin_core.crystal import Crystal
from nanotwin_core.errors import NanotwinError
from nanotwin_core.structures.structure import Structure


@dataclass(frozen=True)
class TwinPreset:
    """A named twin model. Sizes in nm."""

    name: str
    structure: str
    twins: tuple[str, ...]
    boundaries: int | None = None
    domain_size_nm: float | None = None
    size_ab_nm: float = 9.0
    size_c_nm: float = 10.0
    description: str = ""
    expected_variants: int = 2
    extra: dict = field(default_factory=dict, compare=False)

    def build_kwargs(self) -> dict:
        """Keyword arguments for ``build_crystal`` (without the structure)."""
        return {"shape": "prism", "size_ab_nm": self.size_ab_nm, "size_c_nm": self.size_c_nm,
                "twins": self.twins, "boundaries": self.boundaries, "domain_size_nm": self.domain_size_nm}


_PRESETS: dict[str, TwinPreset] = {
    p.name: p
    for p in (
        TwinPreset(
            name="CsPbCl3-2D-110",
            structure="CsPbCl3-gamma",
            twins=("1/2<110>{110}",),
            domain_size_nm=2.0,
            size_ab_nm=6.0,
            size_c_nm=8.0,
            description="CsPbCl3 (Fig. 3e-g): a 2D network of 1/2<110>{110} boundaries (planes (110) and "
                        "(1-10)); 2 variants (t1 = (1/2,1/2,0)) -> R and M fade, X stays.",
        ),
        TwinPreset(
            name="CsPbBr3-298K",
            structure="CsPbBr3-gamma",
            twins=("1/2<001>{110}",),
            boundaries=1,
            description="CsPbBr3 at 298 K (Fig. 4a-b): one 1/2<001>{110} boundary through the centre; "
                        "2 variants (t2 = (0,0,1/2)) -> R and X fade, M stays: apparent tetragonal.",
        ),
        TwinPreset(
            name="CsPbBr3-410K-paper",
            structure="CsPbBr3-gamma-410K",
            twins=("1/2<110>{110}", "1/2<110>{001}"),
            domain_size_nm=3.0,
            description="CsPbBr3 at 410 K as the paper's text reads it (Fig. 4c-d): a 3D network of "
                        "1/2<110>{110} + 1/2<110>{001} boundaries; only t1 shifts, 2 variants, so the X "
                        "reflections stay as strong as in the untwinned crystal.",
        ),
        TwinPreset(
            name="CsPbBr3-410K-cubic",
            structure="CsPbBr3-gamma-410K",
            twins=("1/2<110>{110}", "1/2<110>{001}", "1/2<001>{110}"),
            domain_size_nm=3.0,
            expected_variants=4,
            description="CsPbBr3 at 410 K, apparent cubic: the paper's network plus 1/2<001>{110}; both "
                        "cosets (t1, t2), 4 variants: R, M and X all fade.",
        ),
    )
}


def list_twin_presets() -> list[str]:
    """Names of the built-in twin presets."""
    return list(_PRESETS)


def twin_preset(name: str) -> TwinPreset:
    """The preset called ``name`` (NanotwinError listing the known names otherwise)."""
    try:
        return _PRESETS[name]
    except KeyError:
        raise NanotwinError(f"unknown twin preset {name!r}; known: {', '.join(_PRESETS)}") from None


def build_preset(
    name: str, *, structure: Structure | str | None = None, seed: int = 0, **overrides
) -> Crystal:
    """Build one crystal of a preset; ``structure`` and keyword overrides replace the preset's."""
    preset = twin_preset(name)
    kwargs = preset.build_kwargs()
    kwargs.update(overrides)
    crystal = build_crystal(structure if structure is not None else preset.structure, seed=seed, **kwargs)
    crystal.info["preset"] = preset.name
    return crystal
