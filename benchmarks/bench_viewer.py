"""Frame times of the vispy 3D viewer (app/viewer3d) with 10k, 50k and 100k atoms (prints a table).

    xvfb-run -a -s "-screen 0 1600x1000x24" python3 benchmarks/bench_viewer.py

Crystals: CsPbBr3 gamma prisms of about N atoms with a mixed-coset twin network (coloured by
domain, boundary planes shown). Three ways to draw the atoms at every size: the viewer's point
sprites (``nanotwin_app.viewer3d.sprites``, what it uses for large crystals), vispy ``Markers``
with shaded spheres (what it uses for small ones) and, for comparison, vispy ``Markers`` as flat
discs (the viewer's sprites before this benchmark). Per mode two figures, after two warm-up frames:

- "on screen": the canvas shown in a 1000 x 700 window, the camera turned by 2 degrees per frame
  (what a drag does), ``canvas.update()`` + ``app.process_events()``; frames counted by the
  canvas's draw event, so every timed iteration really drew the scene;
- "offscreen": best of three means of three ``canvas.render()`` (draw into a framebuffer and
  read the pixels back, what PNG export does).

Under Xvfb the GL is Mesa llvmpipe (software; the renderer string is printed), so these are the
slowest figures a user will see; any GPU is far faster. The viewer itself switches from spheres
to sprites above ``adapters.SPHERICAL_LIMIT`` atoms.
"""

from __future__ import annotations

import sys
import time

import numpy as np

SIZES = (10_000, 50_000, 100_000)
FRAMES = 20
CANVAS_SIZE = (1000, 700)


def test_crystal(n_atoms: int):
    """A twinned CsPbBr3 gamma prism (L_c = D_ab) of about ``n_atoms`` atoms (3 nm mixed-coset
    domains), with its boundary planes."""
    from nanotwin_core.builder import build_crystal

    laws = ("1/2<110>{110}", "1/2<110>{001}", "1/2<001>{110}")
    edge = 15.0 * (n_atoms / 84_240) ** (1 / 3)  # nm: a 15 nm prism holds 84,240 atoms
    best = None
    for _ in range(3):  # prisms are whole numbers of cells: adjust the edge twice
        c = build_crystal("CsPbBr3-gamma", shape="prism", size_ab_nm=edge, size_c_nm=edge, twins=laws,
                          domain_size_nm=3.0, seed=1, max_atoms=10 * n_atoms)
        if best is None or abs(c.n_atoms - n_atoms) < abs(best.n_atoms - n_atoms):
            best = c
        edge *= (n_atoms / c.n_atoms) ** (1 / 3)
    return best


def time_on_screen(canvas, frames: int = FRAMES) -> float:
    """Median seconds per drawn frame while the camera turns (canvas shown; the median keeps
    other jobs on the shared cores from spoiling the figure)."""
    app = canvas.canvas.app
    drawn = [0]

    def count(_event) -> None:
        drawn[0] += 1

    canvas.canvas.events.draw.connect(count)
    cam = canvas.view.camera
    for _ in range(2):  # warm-up
        cam.azimuth += 2.0
        canvas.canvas.update()
        app.process_events()
    drawn[0] = 0
    times = []
    for _ in range(frames):
        t0 = time.perf_counter()
        cam.azimuth += 2.0
        canvas.canvas.update()
        app.process_events()
        times.append(time.perf_counter() - t0)
    canvas.canvas.events.draw.disconnect(count)
    if drawn[0] < frames:
        print(f"  (only {drawn[0]} of {frames} iterations drew a frame)", file=sys.stderr)
    return float(np.median(times)) * frames / max(drawn[0], 1)


def main() -> None:
    from nanotwin_app.viewer3d.canvas import CrystalCanvas
    from PySide6.QtWidgets import QApplication

    qapp = QApplication.instance() or QApplication(sys.argv[:1])  # noqa: F841 - keeps Qt alive
    canvas = CrystalCanvas(size=CANVAS_SIZE)
    canvas.canvas.show()
    canvas.canvas.app.process_events()
    from vispy.gloo import gl

    canvas.canvas.set_current()
    print(f"GL renderer: {gl.glGetParameter(gl.GL_RENDERER)}; canvas {CANVAS_SIZE[0]} x {CANVAS_SIZE[1]} px")
    print()
    print("| atoms | markers | on screen (ms/frame) | fps | offscreen render (ms/frame) |")
    print("|---|---|---|---|---|")
    for n in SIZES:
        crystal = test_crystal(n)
        canvas.set_crystal(crystal)
        for mode in ("sprites", "spheres", "markers flat"):
            canvas.set_marker_mode("spheres" if mode == "markers flat" else mode)
            if mode == "markers flat":
                canvas.markers.spherical = False
            canvas.canvas.app.process_events()
            on = time_on_screen(canvas)
            off = min(canvas.time_frames(3) for _ in range(3))
            mode = {"sprites": "point sprites", "spheres": "shaded spheres (Markers)",
                    "markers flat": "flat discs (Markers)"}[mode]
            print(f"| {crystal.n_atoms:,} | {mode} | {1e3 * on:.0f} | {1 / on:.1f} | {1e3 * off:.0f} |",
                  flush=True)
    canvas.close()


if __name__ == "__main__":
    main()
