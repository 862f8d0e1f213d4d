"""A light point-sprite visual for large crystals: one GL point per atom, a disc with a darker rim.

vispy's ``Markers`` visual draws every symbol through one large fragment shader (symbol choice,
antialiasing with ``exp``, edge colours, blending) and, with ``scaling="scene"``, maps each
vertex through the inverse camera transform several times. Under software GL (Mesa llvmpipe) that
costs 0.35-0.6 s per frame for 100,000 atoms (``benchmarks/bench_viewer.py``). This visual
keeps what a crystal needs and nothing else:

- vertex shader: one 4 x 4 matrix (visual -> render, computed per draw) per atom; the diameter in
  pixels is the atom's diameter times a pixels-per-unit factor (computed once per draw at the
  crystal's centre) divided by the atom's clip w, which is perspective-correct;
- fragment shader: discard outside the disc, colour darkened towards the rim (a cheap depth
  cue, no lighting, no depth writes, no blending).

Atoms are opaque and drawn with the depth test, so the nearest atom wins as with ``Markers``.
"""

from __future__ import annotations

import numpy as np
from vispy import scene
from vispy.gloo import VertexBuffer
from vispy.visuals import Visual

_VERTEX = """
uniform mat4 u_mvp;        // visual -> render, one projective matrix (set per draw)
uniform float u_px;        // framebuffer pixels per visual unit, times the clip w (set per draw)
uniform float u_max_size;  // largest point size (px) the GL allows
attribute vec3 a_position;
attribute vec4 a_color;
attribute float a_size;    // diameter, visual units (Å)
varying vec4 v_color;

void main() {
    gl_Position = u_mvp * vec4(a_position, 1.0);
    float size = a_size * u_px / gl_Position.w;
    v_color = a_color;
    gl_PointSize = clamp(size, 1.0, u_max_size);
}
"""

_FRAGMENT = """
uniform float u_rim;  // 0: flat discs; 0.4: rim at 60 % brightness
varying vec4 v_color;

void main() {
    vec2 c = 2.0 * gl_PointCoord - 1.0;
    float r2 = dot(c, c);
    if (r2 > 1.0) discard;
    gl_FragColor = vec4(v_color.rgb * (1.0 - u_rim * r2), 1.0);
}
"""

MAX_POINT_SIZE = 255.0  # px: llvmpipe's limit; large enough for any crystal that needs sprites


class AtomSpritesVisual(Visual):
    """Opaque discs of per-atom diameter (visual units) and colour, drawn as GL points."""

    def __init__(self, rim: float = 0.4) -> None:
        Visual.__init__(self, vcode=_VERTEX, fcode=_FRAGMENT)
        self._vbo = VertexBuffer(np.zeros(0, dtype=self._dtype()))
        self._n = 0
        self._centre = np.zeros(3)
        self._bounds = np.zeros((2, 3))
        self.shared_program.bind(self._vbo)
        self.shared_program["u_rim"] = float(rim)
        self.shared_program["u_max_size"] = MAX_POINT_SIZE
        self.shared_program["u_px"] = 1.0
        self.set_gl_state(depth_test=True, blend=False, cull_face=False)
        self._draw_mode = "points"
        self.freeze()

    @staticmethod
    def _dtype() -> np.dtype:
        return np.dtype([("a_position", np.float32, 3), ("a_color", np.float32, 4), ("a_size", np.float32)])

    @property
    def n_points(self) -> int:
        """Number of atoms uploaded."""
        return self._n

    @property
    def rim(self) -> float:
        """Rim darkening, 0 (flat) to 1."""
        return float(self.shared_program["u_rim"])

    def set_data(self, positions: np.ndarray, colours: np.ndarray, sizes: np.ndarray) -> None:
        """Upload atoms: positions (N, 3), RGBA colours (N, 4) in 0-1, diameters (N,), visual units."""
        positions = np.asarray(positions, np.float32).reshape(-1, 3)
        n = len(positions)
        data = np.zeros(n, dtype=self._dtype())
        data["a_position"] = positions
        data["a_color"] = np.broadcast_to(np.asarray(colours, np.float32), (n, 4))
        data["a_size"] = np.broadcast_to(np.asarray(sizes, np.float32), (n,))
        self._vbo.set_data(data)
        self.shared_program.bind(self._vbo)
        self._n = n
        self._centre = positions.mean(axis=0).astype(float) if n else np.zeros(3)
        self._bounds = (np.array([positions.min(axis=0), positions.max(axis=0)], float) if n
                        else np.zeros((2, 3)))
        self.update()

    def _prepare_transforms(self, view) -> None:
        pass  # no shader transform chain: one matrix, set in _prepare_draw

    def _prepare_draw(self, view) -> bool:
        if self._n == 0:
            return False
        view.view_program["u_mvp"] = projective_matrix(view.get_transform("visual", "render"))
        view.view_program["u_px"] = pixels_per_unit(view.get_transform("visual", "framebuffer"), self._centre)
        return True

    def _compute_bounds(self, axis: int, view):
        if self._n == 0:
            return None
        return tuple(self._bounds[:, axis])


def projective_matrix(transform) -> np.ndarray:
    """The 4 x 4 matrix M of a chain of linear (projective) transforms: ``transform.map(p) = p @ M``
    for homogeneous row vectors p (vispy's convention; the GLSL side reads it as ``M * p``)."""
    return np.asarray(transform.map(np.eye(4)), np.float32).reshape(4, 4)


def pixels_per_unit(transform, point: np.ndarray) -> float:
    """Framebuffer pixels per visual unit at ``point``, times its clip w (so that dividing by an
    atom's own w gives its perspective-correct size): the length of one visual unit along the
    screen's x direction, mapped forward."""
    fwd = transform
    c = np.asarray(fwd.map(np.append(np.asarray(point, float), 1.0)), float).ravel()
    if not np.isfinite(c).all() or c[3] == 0:
        return 1.0
    cn = c / c[3]
    a = np.asarray(fwd.imap(cn), float).ravel()
    b = np.asarray(fwd.imap(cn + np.array([1.0, 0.0, 0.0, 0.0])), float).ravel()
    if a[3] == 0 or b[3] == 0:
        return 1.0
    step = float(np.linalg.norm(b[:3] / b[3] - a[:3] / a[3]))  # visual units per framebuffer pixel
    if not np.isfinite(step) or step == 0:
        return 1.0
    return c[3] / step


AtomSprites = scene.visuals.create_visual_node(AtomSpritesVisual)
