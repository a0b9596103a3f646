"""Solid primitives with a triangle mesh AND an exact inside test: the bricks of the shape dataset.

Every shape of the course's dataset (:mod:`course_utils.datasets.shapes`) is a union of a few
simple solids: boxes, (elliptic) cylinders and cones, hollow tubes, ellipsoids and bent
tubes (torus arcs). Each primitive can answer three questions, all vectorised with NumPy:

* **its surface** — :meth:`Primitive.mesh` returns a closed triangle mesh ``(verts (V, 3),
  faces (F, 3))`` with faces wound counter-clockwise seen from outside (normals point out);
  flat sides get their own vertices so that renders show sharp edges;
* **its volume** — :meth:`Primitive.contains` tells, for any number of points, whether each
  point is inside the solid. This is an *analytic* test (a few inequalities), so the voxel
  grid of a shape is exact at the voxel centres: no mesh voxelizer is needed;
* **where it is** — :meth:`Primitive.bounds`, its axis-aligned bounding box, so a test only
  looks at points that can be inside.

Placement: each primitive is built in its own *local* frame (centred at the origin, its
axis along local +Y where it has one) and placed by a rotation ``R`` (3, 3) and a centre
``c`` (3,)::

    world = local @ R.T + c          local = (world - c) @ R

The curved primitives are meshed with enough segments (24-32 around) that the mesh and the
analytic solid differ by less than 1 % of the radius (the chord error
``r (1 - cos(pi / n))``), far below a voxel of the 32³ grid.

``contains(points, margin)`` with ``margin > 0`` tests the solid shrunk by about
``margin``: "strictly inside", used to throw away surface samples hidden inside other parts.

Example:
    >>> import numpy as np
    >>> box = Box(size=(2.0, 1.0, 1.0))
    >>> box.contains(np.array([[0.9, 0.0, 0.0], [1.1, 0.0, 0.0]])).tolist()
    [True, False]
    >>> verts, faces = box.mesh()
    >>> verts.shape, faces.shape  # 4 corners per side, so each side is flat
    ((24, 3), (12, 3))
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "Primitive",
    "Box",
    "Frustum",
    "Tube",
    "Ellipsoid",
    "TorusArc",
    "rotation_x",
    "rotation_y",
    "rotation_z",
    "rotation_to",
    "mesh_volume",
]

ArrayLike = Sequence[float] | np.ndarray


# ------------------------------------------------------------------ rotations
def rotation_x(angle: float) -> np.ndarray:
    """``(3, 3)`` rotation by ``angle`` radians about +X (right-handed: +Y turns towards +Z)."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def rotation_y(angle: float) -> np.ndarray:
    """``(3, 3)`` rotation by ``angle`` radians about +Y (+Z turns towards +X)."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def rotation_z(angle: float) -> np.ndarray:
    """``(3, 3)`` rotation by ``angle`` radians about +Z (+X turns towards +Y)."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def rotation_to(direction: ArrayLike) -> np.ndarray:
    """The ``(3, 3)`` rotation that turns local +Y into ``direction`` (the shortest turn).

    Used to lay a cylinder along any axis, e.g. a lamp's tilted arm.
    """
    d = np.asarray(direction, dtype=np.float64)
    d = d / np.linalg.norm(d)
    y = np.array([0.0, 1.0, 0.0])
    axis = np.cross(y, d)
    s, c = np.linalg.norm(axis), float(y @ d)
    if s < 1e-12:
        return np.eye(3) if c > 0 else rotation_x(math.pi)
    k = axis / s
    K = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + s * K + (1 - c) * (K @ K)  # Rodrigues' formula


# ------------------------------------------------------------------ mesh helpers
def _grid_faces(rows: int, cols: int, wrap: bool, offset: int = 0) -> np.ndarray:
    """Two triangles per cell of a ``rows x cols`` vertex grid (row-major numbering).

    Rows run along the local axis from "bottom" to "top", columns around it
    (counter-clockwise seen from +Y); ``wrap`` joins the last column to the first. The
    winding makes the normals point away from the axis.
    """
    r = np.arange(rows - 1)[:, None]
    ncols = cols if wrap else cols - 1
    c = np.arange(ncols)[None, :]
    c1 = (c + 1) % cols
    a, b = r * cols + c, r * cols + c1  # bottom row: this column, next column
    d, e = (r + 1) * cols + c, (r + 1) * cols + c1  # top row
    faces = np.stack([np.stack([a, b, e], -1), np.stack([a, e, d], -1)], axis=2)
    return faces.reshape(-1, 3) + offset


def _fan(ring_start: int, count: int, centre: int, upward: bool) -> np.ndarray:
    """A triangle fan closing a ring of ``count`` vertices (counter-clockwise seen from +Y).

    ``upward``: the cap faces +Y (a top cap); otherwise -Y (a bottom cap).
    """
    i = np.arange(count)
    ring, ring_next = ring_start + i, ring_start + (i + 1) % count
    centre_col = np.full(count, centre)
    if upward:
        return np.stack([centre_col, ring, ring_next], axis=1)
    return np.stack([centre_col, ring_next, ring], axis=1)


def _circle(count: int) -> tuple[np.ndarray, np.ndarray]:
    """``cos`` and ``sin`` of ``count`` angles, counter-clockwise seen from +Y.

    Angle ``t`` maps to the local direction ``(cos t, 0, -sin t)``: going around the axis
    anticlockwise when looked at from above.
    """
    t = 2 * math.pi * np.arange(count) / count
    return np.cos(t), -np.sin(t)


def mesh_volume(verts: np.ndarray, faces: np.ndarray) -> float:
    """Signed volume of a closed mesh (divergence theorem); > 0 when the faces point out."""
    v0, v1, v2 = verts[faces[:, 0]], verts[faces[:, 1]], verts[faces[:, 2]]
    return float(np.einsum("ij,ij->i", v0, np.cross(v1, v2)).sum() / 6.0)


# ------------------------------------------------------------------ primitives
class Primitive:
    """A solid placed in the world by ``rotation`` (3, 3) and ``centre`` (3,).

    Subclasses implement the local-frame methods :meth:`local_mesh`,
    :meth:`local_contains` and :meth:`local_bounds`; this class moves them to the world.

    Attributes:
        rotation: ``(3, 3)``, local -> world directions (``world = local @ R.T + c``).
        centre: ``(3,)``, where the local origin sits in the world.
        part: an integer naming the part the primitive belongs to (a chair's "seat",
            "legs" ...); parts get one colour each when the shape is rendered.
    """

    def __init__(
        self, centre: ArrayLike = (0, 0, 0), rotation: np.ndarray | None = None, part: int = 0
    ) -> None:
        self.centre = np.asarray(centre, dtype=np.float64).reshape(3)
        self.rotation = np.eye(3) if rotation is None else np.asarray(rotation, np.float64)
        self.part = int(part)

    # -- to implement
    def local_mesh(self) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def local_contains(self, p: np.ndarray, margin: float) -> np.ndarray:
        raise NotImplementedError

    def local_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def thicken(self, minimum: float) -> None:
        """Make every thin dimension (side, diameter, wall) at least ``minimum``, in place."""
        raise NotImplementedError

    # -- world frame
    def mesh(self) -> tuple[np.ndarray, np.ndarray]:
        """World-frame mesh: ``verts`` ``(V, 3)`` float64, ``faces`` ``(F, 3)`` int64."""
        verts, faces = self.local_mesh()
        return verts @ self.rotation.T + self.centre, faces.astype(np.int64)

    def contains(self, points: np.ndarray, margin: float = 0.0) -> np.ndarray:
        """``(N,)`` bool: which world points ``(N, 3)`` are inside (at least ``margin`` deep)."""
        points = np.asarray(points, dtype=np.float64)
        return self.local_contains((points - self.centre) @ self.rotation, margin)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """World axis-aligned bounding box ``(low (3,), high (3,))`` of the solid."""
        # The box of the rotated local box: centre +- |R| @ half-extent.
        low, high = self.local_bounds()
        middle, half = (low + high) / 2, (high - low) / 2
        centre = self.rotation @ middle + self.centre
        extent = np.abs(self.rotation) @ half
        return centre - extent, centre + extent

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(centre={np.round(self.centre, 3).tolist()}, part={self.part})"
        )


def _unit_box() -> tuple[np.ndarray, np.ndarray]:
    """The cube [-1, 1]³ with 4 vertices per side (flat sides): ``(24, 3)``, ``(12, 3)``."""
    verts, faces = [], []
    for axis in range(3):
        for sign in (-1.0, 1.0):
            n = np.zeros(3)
            n[axis] = sign
            u = np.zeros(3)
            u[(axis + 1) % 3] = 1.0
            v = np.cross(n, u)  # (u, v, n) right-handed: counter-clockwise seen from outside
            corners = [n + su * u + sv * v for su, sv in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
            base = len(verts)
            verts.extend(corners)
            faces.extend([[base, base + 1, base + 2], [base, base + 2, base + 3]])
    return np.array(verts), np.array(faces)


_UNIT_BOX_VERTS, _UNIT_BOX_FACES = _unit_box()


class Box(Primitive):
    """A box of ``size`` (x, y, z) full side lengths, centred on its local origin."""

    def __init__(self, size: ArrayLike, **placement) -> None:
        super().__init__(**placement)
        self.half = np.asarray(size, dtype=np.float64).reshape(3) / 2

    def local_mesh(self) -> tuple[np.ndarray, np.ndarray]:
        return _UNIT_BOX_VERTS * self.half, _UNIT_BOX_FACES.copy()

    def local_contains(self, p: np.ndarray, margin: float) -> np.ndarray:
        return np.all(np.abs(p) <= self.half - margin, axis=-1)

    def local_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return -self.half, self.half.copy()

    def thicken(self, minimum: float) -> None:
        self.half = np.maximum(self.half, minimum / 2)


class Frustum(Primitive):
    """A solid (elliptic) cylinder or truncated cone along local +Y.

    Args:
        height: length along local Y (from ``-height/2`` to ``+height/2``).
        radius_bottom, radius_top: radii (along local X) at the two ends; equal for a
            cylinder, ``radius_top = 0`` for a cone.
        aspect: the radius along local Z is ``aspect`` times that along X (1: circular).
        segments: vertices around the axis in the mesh.
    """

    def __init__(
        self,
        height: float,
        radius_bottom: float,
        radius_top: float | None = None,
        aspect: float = 1.0,
        segments: int = 24,
        **placement,
    ) -> None:
        super().__init__(**placement)
        self.height = float(height)
        self.rb = float(radius_bottom)
        self.rt = float(radius_bottom if radius_top is None else radius_top)
        self.aspect = float(aspect)
        self.segments = int(segments)

    def _radius(self, y: np.ndarray) -> np.ndarray:
        return self.rb + (self.rt - self.rb) * (y / self.height + 0.5)

    def local_mesh(self) -> tuple[np.ndarray, np.ndarray]:
        n, h = self.segments, self.height / 2
        cos, sin = _circle(n)
        ring = np.stack([cos, np.zeros(n), sin * self.aspect], axis=1)  # unit ring, y = 0
        bottom = ring * self.rb + [0.0, -h, 0.0]
        top = ring * self.rt + [0.0, h, 0.0]
        side = np.concatenate([bottom, top])
        faces = [_grid_faces(2, n, wrap=True)]
        verts = [side]
        # Caps have their own vertices (flat normals): ring + centre.
        base = 2 * n
        verts += [bottom, [[0.0, -h, 0.0]]]
        faces.append(_fan(base, n, base + n, upward=False))
        base += n + 1
        if self.rt > 0:
            verts += [top, [[0.0, h, 0.0]]]
            faces.append(_fan(base, n, base + n, upward=True))
        return np.concatenate(verts), np.concatenate(faces)

    def local_contains(self, p: np.ndarray, margin: float) -> np.ndarray:
        x, y, z = p[..., 0], p[..., 1], p[..., 2] / self.aspect
        slope = (self.rt - self.rb) / self.height
        side_margin = margin * math.sqrt(1 + slope**2) / min(1.0, self.aspect)
        return (np.abs(y) <= self.height / 2 - margin) & (
            np.hypot(x, z) <= self._radius(y) - side_margin
        )

    def local_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        r = max(self.rb, self.rt)
        half = np.array([r, self.height / 2, r * self.aspect])
        return -half, half

    def thicken(self, minimum: float) -> None:
        self.height = max(self.height, minimum)
        # Radii along X and Z (= aspect x radius) of at least minimum / 2; a cone keeps its tip.
        low = minimum / 2 / min(1.0, self.aspect)
        self.rb = max(self.rb, low)
        self.rt = max(self.rt, low) if self.rt > 0 else 0.0


class Tube(Primitive):
    """A hollow (open-ended) cylinder or truncated cone along local +Y: a mug's wall.

    The outer radius goes linearly from ``radius_bottom`` to ``radius_top``; the inner
    surface is ``wall`` closer to the axis (measured horizontally).
    """

    def __init__(
        self,
        height: float,
        radius_bottom: float,
        radius_top: float | None = None,
        wall: float = 0.05,
        segments: int = 32,
        **placement,
    ) -> None:
        super().__init__(**placement)
        self.height = float(height)
        self.rb = float(radius_bottom)
        self.rt = float(radius_bottom if radius_top is None else radius_top)
        self.wall = float(wall)
        self.segments = int(segments)
        if self.wall >= min(self.rb, self.rt):
            raise ValueError("Tube: the wall must be thinner than the smallest radius")

    def outer_radius(self, y: np.ndarray | float) -> np.ndarray | float:
        """Outer radius at local height ``y`` (inner radius: this minus ``wall``)."""
        return self.rb + (self.rt - self.rb) * (np.asarray(y) / self.height + 0.5)

    def local_mesh(self) -> tuple[np.ndarray, np.ndarray]:
        n, h, w = self.segments, self.height / 2, self.wall
        cos, sin = _circle(n)
        ring = np.stack([cos, np.zeros(n), sin], axis=1)

        def at(radius: float, y: float) -> np.ndarray:
            return ring * radius + [0.0, y, 0.0]

        outer = np.concatenate([at(self.rb, -h), at(self.rt, h)])
        inner = np.concatenate([at(self.rt - w, h), at(self.rb - w, -h)])  # top to bottom
        top = np.concatenate([at(self.rt, h), at(self.rt - w, h)])  # from outside in
        bottom = np.concatenate([at(self.rb - w, -h), at(self.rb, -h)])  # from inside out
        verts = np.concatenate([outer, inner, top, bottom])
        # Each band is a 2-row grid. Walking the cross-section (a rectangle) once around
        # — up the outer wall, inwards across the top, down the inner wall, outwards
        # across the bottom — keeps every band's normal on the same (outer) side.
        faces = [_grid_faces(2, n, wrap=True, offset=k * 2 * n) for k in range(4)]
        return verts, np.concatenate(faces)

    def local_contains(self, p: np.ndarray, margin: float) -> np.ndarray:
        y = p[..., 1]
        rho = np.hypot(p[..., 0], p[..., 2])
        r_out = self.outer_radius(y)
        return (
            (np.abs(y) <= self.height / 2 - margin)
            & (rho <= r_out - margin)
            & (rho >= r_out - self.wall + margin)
        )

    def local_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        r = max(self.rb, self.rt)
        half = np.array([r, self.height / 2, r])
        return -half, half

    def thicken(self, minimum: float) -> None:
        self.height = max(self.height, minimum)
        self.wall = max(self.wall, minimum)
        self.rb, self.rt = max(self.rb, 1.5 * self.wall), max(self.rt, 1.5 * self.wall)


class Ellipsoid(Primitive):
    """An ellipsoid with semi-axes ``radii`` (x, y, z), meshed as a latitude-longitude grid."""

    def __init__(self, radii: ArrayLike, rings: int = 16, segments: int = 24, **placement) -> None:
        super().__init__(**placement)
        self.radii = np.asarray(radii, dtype=np.float64).reshape(3)
        self.rings = int(rings)
        self.segments = int(segments)

    def local_mesh(self) -> tuple[np.ndarray, np.ndarray]:
        n, m = self.segments, self.rings
        cos, sin = _circle(n)
        lat = np.linspace(-math.pi / 2, math.pi / 2, m + 1)[1:-1]  # without the poles
        rows = [
            np.stack([np.cos(a) * cos, np.full(n, math.sin(a)), np.cos(a) * sin], axis=1)
            for a in lat
        ]
        grid = np.concatenate(rows)
        poles = np.array([[0.0, -1.0, 0.0], [0.0, 1.0, 0.0]])
        verts = np.concatenate([grid, poles]) * self.radii
        south, north = len(grid), len(grid) + 1
        faces = np.concatenate(
            [
                _grid_faces(m - 1, n, wrap=True),
                _fan(0, n, south, upward=False),
                _fan((m - 2) * n, n, north, upward=True),
            ]
        )
        return verts, faces

    def local_contains(self, p: np.ndarray, margin: float) -> np.ndarray:
        radii = np.maximum(self.radii - margin, 1e-12)
        return np.sum((p / radii) ** 2, axis=-1) <= 1.0

    def local_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return -self.radii, self.radii.copy()

    def thicken(self, minimum: float) -> None:
        self.radii = np.maximum(self.radii, minimum / 2)


class TorusArc(Primitive):
    """A round tube bent along an arc of a circle (a mug's handle); a full torus if ``arc=2 pi``.

    The centre line is the circle of radius ``major`` around the local Z axis (in the
    local XY plane), from angle ``-arc/2`` to ``+arc/2`` measured from +X; the tube's
    cross-section has radius ``minor``. A partial arc is closed by two flat end discs.
    """

    def __init__(
        self,
        major: float,
        minor: float,
        arc: float = 2 * math.pi,
        segments: int = 24,
        sides: int = 12,
        **placement,
    ) -> None:
        super().__init__(**placement)
        self.major, self.minor = float(major), float(minor)
        self.arc = float(min(arc, 2 * math.pi))
        self.segments, self.sides = int(segments), int(sides)

    @property
    def full(self) -> bool:
        return self.arc >= 2 * math.pi - 1e-9

    def local_mesh(self) -> tuple[np.ndarray, np.ndarray]:
        n, s = self.segments, self.sides
        rows = n if self.full else n + 1
        t = -self.arc / 2 + self.arc * np.arange(rows) / n
        phi = 2 * math.pi * np.arange(s) / s
        # Point (t, phi): along the circle by t, around the tube by phi. Radial direction
        # e = (cos t, sin t, 0); the cross-section circle spans e and -Z so that walking
        # along +t with phi increasing winds the faces outwards.
        e = np.stack([np.cos(t), np.sin(t), np.zeros_like(t)], -1)  # (rows, 3)
        z = np.array([0.0, 0.0, -1.0])
        ring = (
            np.cos(phi)[None, :, None] * e[:, None, :] + np.sin(phi)[None, :, None] * z
        )  # (rows, s, 3)
        verts = (self.major * e[:, None, :] + self.minor * ring).reshape(-1, 3)
        faces = _grid_faces(rows, s, wrap=True)
        if self.full:  # join the last row to the first
            last = (rows - 1) * s
            j = np.arange(s)
            a, b = last + j, last + (j + 1) % s
            c, d = j, (j + 1) % s
            faces = np.concatenate([faces, np.stack([a, b, d], -1), np.stack([a, d, c], -1)])
            return verts, faces
        parts_v, parts_f = [verts], [faces]
        base = len(verts)
        for row, sign in ((0, -1.0), (rows - 1, 1.0)):
            # End disc: its own ring (flat normal along +-tangent) and centre.
            parts_v += [verts[row * s : (row + 1) * s], self.major * e[row][None]]
            i = np.arange(s)
            ring_i, ring_next, centre = base + i, base + (i + 1) % s, np.full(s, base + s)
            fan = np.stack([centre, ring_i, ring_next], 1)
            parts_f.append(fan if sign > 0 else fan[:, [0, 2, 1]])
            base += s + 1
        return np.concatenate(parts_v), np.concatenate(parts_f)

    def local_contains(self, p: np.ndarray, margin: float) -> np.ndarray:
        x, y, z = p[..., 0], p[..., 1], p[..., 2]
        rho = np.hypot(x, y)
        inside = np.hypot(rho - self.major, z) <= self.minor - margin
        if self.full:
            return inside
        angle = np.abs(np.arctan2(y, x))
        return inside & (angle <= self.arc / 2 - margin / self.major)

    def local_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        r = self.major + self.minor
        half = np.array([r, r, self.minor])
        return -half, half

    def thicken(self, minimum: float) -> None:
        self.minor = max(self.minor, minimum / 2)
