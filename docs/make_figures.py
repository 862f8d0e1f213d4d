"""Draw the guide's pictures of what each twin law does (matplotlib, headless).

    python3 docs/make_figures.py            -> docs/img/law_*.png

Each picture is a slab one pseudocubic cell thick through a 5 nm CsPbBr3-gamma prism with one
boundary of the law, seen edge-on along a direction lying in the boundary and perpendicular to
the twin shift (so both the plane and the shift lie in the picture): Pb (large) and Br (small)
coloured by twin domain. Across the boundary the Pb sublattice carries on unbroken; the Br
tilt pattern shifts.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from nanotwin_core.builder import build_crystal  # noqa: E402
from nanotwin_core.structures.library import get_structure  # noqa: E402

OUT = Path(__file__).parent / "img"
LAWS = {"law_001_110": "1/2<001>{110}", "law_110_110": "1/2<110>{110}", "law_110_001": "1/2<110>{001}"}
COLOURS = ["#0072b2", "#e69f00", "#009e73", "#cc79a7"]


def draw(name: str, law: str) -> Path:
    structure = get_structure("CsPbBr3-gamma")
    crystal = build_crystal(structure, shape="prism", size_ab_nm=5.0, size_c_nm=5.0, twins=[law],
                            boundaries=1, seed=1)
    plane = crystal.info["boundary_planes"][0]
    normal = np.asarray(plane["normal"], float)
    shift = np.asarray(plane["shift_frac"], float) @ crystal.cell
    view = np.cross(normal, shift)
    if np.linalg.norm(view) < 1e-6 * np.linalg.norm(shift):  # shift along the normal: look along c
        view = np.cross(normal, [0.0, 0.0, 1.0]) if abs(normal[2]) < 0.9 else np.array([1.0, 0, 0])
        view = np.cross(view, normal)
    view /= np.linalg.norm(view)
    u1 = normal - (normal @ view) * view
    u1 /= np.linalg.norm(u1)
    u2 = np.cross(view, u1)
    pos = crystal.positions - crystal.positions.mean(axis=0)
    depth = pos @ view
    a_p = (structure.cell.volume / 4) ** (1 / 3)
    keep = np.abs(depth) < 0.55 * a_p
    x, y = pos @ u1, pos @ u2
    fig, ax = plt.subplots(figsize=(4.2, 4.2))
    for element, size in (("Pb", 28), ("Br", 9)):
        sel = keep & (crystal.elements == element)
        colours = [COLOURS[int(d) % len(COLOURS)] for d in crystal.domain[sel]]
        ax.scatter(x[sel], y[sel], s=size, c=colours, edgecolors="k",
                   linewidths=0.3)
    ax.set_aspect("equal")
    ax.set_title(f"{plane['member']}: one boundary, coloured by domain", fontsize=9)
    ax.set_xlabel("along the boundary normal (Å)")
    ax.set_ylabel("in the boundary plane (Å)")
    fig.tight_layout()
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


if __name__ == "__main__":
    for key, law_text in LAWS.items():
        print(f"wrote {draw(key, law_text)}")
