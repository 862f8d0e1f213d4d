"""The vispy scene of one crystal: atoms as markers, boundary planes (cut to the clip slab like the
atoms), the unit cell at the crystal's corner with its a, b, c edges labelled, an a, b, c axes
gizmo, on a dark or a light background (atom colours follow: ``palettes``). ``render_image``
renders offscreen at 1-4 times the canvas size for exports.

Atoms are drawn two ways: below ``adapters.SPHERICAL_LIMIT`` drawn atoms as vispy ``Markers``
with shaded spheres (``self.markers``), above it as light point sprites (``self.sprites``,
:mod:`nanotwin_app.viewer3d.sprites`), which keep 100,000 atoms interactive under software GL
(``benchmarks/bench_viewer.py``). ``set_marker_mode`` forces one or the other.

PbX6 octahedra (``set_octahedra_visible``) are one translucent vispy ``Mesh`` (8 triangles per
Pb that has six halide neighbours, coloured like its Pb); they follow the clip slab, not the
element toggles (hide every element to see the polyhedra alone), and are drawn only while at
most ``OCTAHEDRA_LIMIT`` of them are in view, which keeps the view interactive under software GL
(llvmpipe, 800 x 600 offscreen renders: 540 octahedra + 3,600 spheres 70 ms/frame, 2,700 octahedra
+ 16,000 sprites 74 ms, 5,928 octahedra + 33,800 sprites 70 ms); clip a slab to see them in
larger crystals.

``CrystalCanvas`` is not a QWidget: it owns a ``SceneCanvas`` and the window embeds
``canvas.native`` (vispy's ex02_control_vispy_from_qt pattern). It reads a core ``Crystal``
through the pure functions of :mod:`nanotwin_app.viewer3d.adapters` and never changes it.
"""

from __future__ import annotations

import time

import numpy as np
from nanotwin_app.viewer3d import adapters, palettes
from nanotwin_app.viewer3d.sprites import AtomSprites
from vispy import scene
from vispy.color import Color

FOREGROUND = {"dark": (0.92, 0.92, 0.92, 1.0), "light": (0.15, 0.15, 0.15, 1.0)}  # cell, labels
AXIS_COLOURS = ((0.90, 0.30, 0.25, 1.0), (0.30, 0.75, 0.35, 1.0), (0.35, 0.55, 0.95, 1.0))  # a, b, c
SIZE_SCALE = 0.6  # marker diameter = 2 r x this: atoms touch less and the lattice stays readable
MARKER_MODES = ("auto", "spheres", "sprites")
OCTAHEDRA_LIMIT = 4000  # octahedra drawn at most (32,000 translucent triangles, > 10 frames/s)
OCTAHEDRA_ALPHA = 0.35


class CrystalCanvas:
    """A SceneCanvas with atoms, twin boundary planes and an axes gizmo."""

    def __init__(self, size: tuple[int, int] = (800, 600), background: str = "dark") -> None:
        import vispy

        vispy.use("pyside6")
        self.background = background
        self.canvas = scene.SceneCanvas(keys="interactive", size=size, show=False,
                                        bgcolor=palettes.BACKGROUNDS[background])
        self.view = self.canvas.central_widget.add_view()
        self.view.camera = scene.TurntableCamera(fov=30, elevation=20, azimuth=30)
        self.markers = scene.visuals.Markers(parent=self.view.scene, scaling="scene")
        self.markers.antialias = 0.5
        self.sprites = AtomSprites(parent=self.view.scene)
        self.sprites.visible = False
        self.marker_mode = "auto"
        self.planes = scene.visuals.Mesh(parent=self.view.scene, color=(0.95, 0.85, 0.3, 0.25))
        self.planes.set_gl_state("translucent", depth_test=True, cull_face=False)
        self.planes.order = 10
        self.planes.visible = False
        self.octahedra_mesh = scene.visuals.Mesh(parent=self.view.scene)
        self.octahedra_mesh.set_gl_state("translucent", depth_test=True, cull_face=False)
        self.octahedra_mesh.order = 5
        self.octahedra_mesh.visible = False
        self.show_octahedra = False
        self.octahedra_note = ""  # why octahedra are not drawn ("" when they are, or are off)
        self._octahedra: adapters.Octahedra | None = None  # of the whole crystal, computed on demand
        self._octahedra_shown: adapters.Octahedra | None = None
        # axes gizmo: its own small view in the lower-left corner sharing the camera rotation
        self.gizmo_view = scene.widgets.ViewBox(parent=self.canvas.scene)
        self.gizmo_view.interactive = False
        self.gizmo_view.camera = scene.TurntableCamera(fov=0, elevation=20, azimuth=30)
        self.gizmo_view.camera.interactive = False
        self.gizmo_view.camera.center = (0.0, 0.0, 0.0)
        self.gizmo_view.camera.scale_factor = 2.6
        self.axes = scene.visuals.Line(parent=self.gizmo_view.scene, connect="segments", width=2,
                                       pos=np.zeros((6, 3), np.float32),
                                       color=np.repeat(np.array(AXIS_COLOURS), 2, axis=0))
        self.axis_labels = scene.visuals.Text(["a", "b", "c"], parent=self.gizmo_view.scene, font_size=10,
                                              color=FOREGROUND[background], bold=True,
                                              pos=np.zeros((3, 3), np.float32))
        self.cell_lines = scene.visuals.Line(parent=self.view.scene, connect="segments", width=1.5,
                                             pos=np.zeros((2, 3), np.float32), color=FOREGROUND[background])
        self.cell_lines.order = 20
        self.cell_labels = scene.visuals.Text(["a", "b", "c"], parent=self.view.scene, font_size=12,
                                              bold=True, color=FOREGROUND[background],
                                              pos=np.zeros((3, 3), np.float32))
        self.show_cell = True
        self.view.camera.events.transform_change.connect(self._sync_gizmo)
        self.canvas.events.resize.connect(self._place_gizmo)
        self._place_gizmo()

        self.crystal = None
        self.plane_polygons: list[np.ndarray] = []  # the boundary polygons drawn (clipped)
        self.colour_mode = "domain"
        self.hidden_elements: set[str] = set()
        self.clip: tuple[np.ndarray, float, float] | None = None  # normal, centre, thickness
        self.show_boundaries = True
        self._rgba = np.zeros((0, 4), np.float32)
        self._sizes = np.zeros(0, np.float32)
        self.legend: list[tuple[str, tuple[float, float, float]]] = []
        self.visible_mask = np.zeros(0, dtype=bool)
        self._update_cell()

    # ---------------------------------------------------------------- gizmo
    def _place_gizmo(self, event=None) -> None:
        h = self.canvas.size[1]
        self.gizmo_view.pos = (0, max(h - 90, 0))
        self.gizmo_view.size = (90, 90)

    def _sync_gizmo(self, event=None) -> None:
        cam, giz = self.view.camera, self.gizmo_view.camera
        giz.elevation, giz.azimuth, giz.roll = cam.elevation, cam.azimuth, cam.roll

    def _update_cell(self) -> None:
        """The unit cell at the crystal's corner and the gizmo's a, b, c (x, y, z without a cell)."""
        cell = getattr(self.crystal, "cell", None) if self.crystal is not None else None
        have = cell is not None and self.crystal.n_atoms > 0
        basis = np.asarray(cell, float) if have else np.eye(3)
        names = ["a", "b", "c"] if have else ["x", "y", "z"]
        units = basis / np.linalg.norm(basis, axis=1, keepdims=True)
        tips = np.repeat(units, 2, axis=0) * np.array([0.0, 1.0] * 3)[:, None]
        self.axes.set_data(pos=tips.astype(np.float32), color=np.repeat(np.array(AXIS_COLOURS), 2, axis=0))
        self.axis_labels.text = names
        self.axis_labels.pos = (units * 1.25).astype(np.float32)
        self.cell_lines.visible = self.cell_labels.visible = have and self.show_cell
        if have:
            origin = adapters.cell_origin(self.crystal)
            self.cell_lines.set_data(pos=adapters.cell_edges(basis, origin).astype(np.float32))
            self.cell_labels.pos = (origin + 1.15 * basis).astype(np.float32)

    def set_cell_visible(self, visible: bool) -> None:
        """Show or hide the unit cell outline and its labels."""
        self.show_cell = bool(visible)
        self._update_cell()
        self.canvas.update()

    def set_background(self, background: str) -> None:
        """"dark" or "light": the canvas colour, and atom colours readable on it."""
        if background not in palettes.BACKGROUNDS:
            raise ValueError(f"unknown background {background!r}; known: {', '.join(palettes.BACKGROUNDS)}")
        self.background = background
        self.canvas.bgcolor = palettes.BACKGROUNDS[background]
        self.cell_lines.set_data(color=FOREGROUND[background])
        for label in (self.cell_labels, self.axis_labels):
            label.color = FOREGROUND[background]
        if self.crystal is not None:
            self._recolour()
            self._upload()
        self.canvas.update()

    # ---------------------------------------------------------------- data
    def set_crystal(self, crystal, *, reset_view: bool = True) -> None:
        """Show ``crystal`` (or nothing for None)."""
        self.crystal = crystal
        self._octahedra = None
        if crystal is None:
            self._rgba = np.zeros((0, 4), np.float32)
            self._sizes = np.zeros(0, np.float32)
            self.legend = []
        else:
            self._sizes = adapters.atom_sizes(crystal.elements, SIZE_SCALE)
            self.hidden_elements &= set(np.unique(crystal.elements).tolist())
            self._recolour()
        self._update_planes()
        self._update_cell()
        self._upload()
        if reset_view:
            self.reset_view()

    def set_colour_mode(self, mode: str) -> None:
        """Colour atoms by 'domain', 'variant', 'element' or 'adp group'."""
        if mode not in adapters.COLOUR_MODES:
            raise ValueError(f"unknown colour mode {mode!r}")
        self.colour_mode = mode
        if self.crystal is not None:
            self._recolour()
            self._upload()

    def set_element_visible(self, element: str, visible: bool) -> None:
        """Show or hide every atom of ``element``."""
        if visible:
            self.hidden_elements.discard(element)
        else:
            self.hidden_elements.add(element)
        self._upload()

    def set_clip(self, normal: np.ndarray | None, centre: float = 0.0, thickness: float = 6.0) -> None:
        """Keep only atoms within a slab of ``thickness`` Å around position.normal = centre."""
        self.clip = None if normal is None else (np.asarray(normal, float), float(centre), float(thickness))
        self._update_planes()
        self._upload()

    def set_marker_mode(self, mode: str) -> None:
        """'auto' (shaded spheres below ``adapters.SPHERICAL_LIMIT`` atoms, sprites above),
        'spheres' or 'sprites'."""
        if mode not in MARKER_MODES:
            raise ValueError(f"unknown marker mode {mode!r}; known: {', '.join(MARKER_MODES)}")
        self.marker_mode = mode
        self._upload()

    def uses_sprites(self, n_drawn: int) -> bool:
        """True when ``n_drawn`` atoms are drawn as sprites in the current marker mode."""
        if self.marker_mode == "auto":
            return n_drawn >= adapters.SPHERICAL_LIMIT
        return self.marker_mode == "sprites"

    def set_octahedra_visible(self, visible: bool) -> None:
        """Show or hide the translucent PbX6 octahedra (see ``octahedra_note`` for why none show)."""
        self.show_octahedra = bool(visible)
        self._update_octahedra()
        self.canvas.update()

    @property
    def n_octahedra(self) -> int:
        """Number of octahedra drawn."""
        shown = self._octahedra_shown
        return len(shown) if shown is not None and self.octahedra_mesh.visible else 0

    def set_boundaries_visible(self, visible: bool) -> None:
        """Show or hide the translucent twin boundary planes."""
        self.show_boundaries = visible
        self._update_planes()

    # ---------------------------------------------------------------- drawing
    def _recolour(self) -> None:
        col = adapters.colour_atoms(self.crystal, self.colour_mode, self.background)
        self._rgba, self.legend = col.rgba, col.legend

    def _upload(self) -> None:
        if self.crystal is None or self.crystal.n_atoms == 0:
            self.visible_mask = np.zeros(0, dtype=bool)
            self.markers.set_data(np.zeros((1, 3), np.float32), size=0.0, edge_width=0,
                                  face_color=(0, 0, 0, 0))
            self.markers.visible = False
            self.sprites.visible = False
            self._update_octahedra()
            self.canvas.update()
            return
        mask = adapters.element_mask(self.crystal.elements, self.hidden_elements)
        if self.clip is not None:
            normal, centre, thick = self.clip
            mask &= adapters.clip_mask(self.crystal.positions, normal, centre, thick)
        self.visible_mask = mask
        self._update_octahedra()
        n = int(mask.sum())
        sprites = self.uses_sprites(n)
        self.markers.visible = n > 0 and not sprites
        self.sprites.visible = n > 0 and sprites
        if n == 0:
            self.canvas.update()
            return
        positions = self.crystal.positions[mask].astype(np.float32)
        if sprites:
            self.sprites.set_data(positions, self._rgba[mask], self._sizes[mask])
        else:
            self.markers.spherical = True
            self.markers.set_data(positions, size=self._sizes[mask], edge_width=0,
                                  face_color=self._rgba[mask])
        self.canvas.update()

    def _update_octahedra(self) -> None:
        self._octahedra_shown = None
        self.octahedra_note = ""
        if not self.show_octahedra or self.crystal is None or self.crystal.n_atoms == 0:
            self.octahedra_mesh.visible = False
            return
        if self._octahedra is None:
            self._octahedra = adapters.octahedra(self.crystal)
        octa = self._octahedra
        if self.clip is not None and len(octa):
            normal, centre, thick = self.clip
            inside = adapters.clip_mask(self.crystal.positions[octa.centres], normal, centre, thick)
            octa = octa.subset(inside)
        if len(octa) == 0:
            self.octahedra_note = "no Pb with six halide neighbours in view"
        elif len(octa) > OCTAHEDRA_LIMIT:
            self.octahedra_note = (f"{len(octa):,} octahedra: above the limit of {OCTAHEDRA_LIMIT:,} that "
                                   "stay interactive; clip a slab to see them")
        if self.octahedra_note:
            self.octahedra_mesh.visible = False
            return
        verts = octa.vertices.reshape(-1, 3)
        rgb = np.repeat(self._rgba[octa.centres, :3], 8, axis=0)
        colours = adapters.octahedra_colours(rgb, verts[octa.faces], alpha=OCTAHEDRA_ALPHA)
        self.octahedra_mesh.set_data(vertices=verts.astype(np.float32), faces=octa.faces.astype(np.uint32),
                                     face_colors=colours)
        self.octahedra_mesh.visible = True
        self._octahedra_shown = octa

    def _update_planes(self) -> None:
        polys = adapters.boundary_polygons(self.crystal) if self.crystal is not None else []
        polys = adapters.clipped_polygons(polys, self.clip)  # a slab shows the planes' part inside it
        self.plane_polygons = polys
        if not polys or not self.show_boundaries:
            self.planes.visible = False
            self.canvas.update()
            return
        verts, faces = adapters.triangulate(polys)
        self.planes.set_data(vertices=verts, faces=faces, color=Color((0.98, 0.85, 0.25, 0.28)).rgba)
        self.planes.visible = True
        self.canvas.update()

    @property
    def face_colours(self) -> np.ndarray:
        """RGBA of the atoms currently drawn (the visible ones), as uploaded."""
        return self._rgba[self.visible_mask] if len(self.visible_mask) else np.zeros((0, 4), np.float32)

    @property
    def n_drawn(self) -> int:
        """Number of atoms currently drawn."""
        return int(self.visible_mask.sum())

    def reset_view(self) -> None:
        """Frame the whole crystal."""
        cam = self.view.camera
        cam.elevation, cam.azimuth, cam.roll = 20.0, 30.0, 0.0
        if self.crystal is not None and self.crystal.n_atoms:
            p = self.crystal.positions
            lo, hi = p.min(axis=0), p.max(axis=0)
            cam.center = tuple((lo + hi) / 2)
            cam.scale_factor = float(np.linalg.norm(hi - lo)) * 1.1 or 10.0
        self._sync_gizmo()
        self.canvas.update()

    def render_image(self, scale: int = 1) -> np.ndarray:
        """Render the scene offscreen at ``scale`` (1-4) times the canvas size: (h, w, 4) uint8."""
        if scale not in (1, 2, 3, 4):
            raise ValueError(f"render scale must be 1, 2, 3 or 4, not {scale!r}")
        w, h = self.canvas.size
        return self.canvas.render(size=(w * scale, h * scale))

    def time_frames(self, n: int = 10) -> float:
        """Mean seconds per rendered frame over ``n`` renders (after one warm-up)."""
        self.canvas.render()
        t0 = time.perf_counter()
        for _ in range(n):
            self.canvas.render()
        return (time.perf_counter() - t0) / n

    def close(self) -> None:
        """Release the canvas."""
        self.canvas.close()
