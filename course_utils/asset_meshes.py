"""The generators of the course's own meshes: a textured die, a mug and an organic blob.

Plain NumPy arrays (:class:`TexturedMesh`, :class:`ColouredMesh`), no files:
:mod:`course_utils.assets` writes them into ``data/`` and loads them back, and
:mod:`course_utils.rgbd` places them in the RGB-D scene of chapter 03.

Conventions: +Y is up, the objects sit around the origin and fit in a box about 1-1.7
units across, so ``look_at_view_transform(dist=2.7, ...)`` frames them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["SEED", "TexturedMesh", "ColouredMesh", "build_die", "build_mug", "build_blob"]

SEED = 3  # the blob's bumps; any change here changes data/blob.ply


@dataclass
class TexturedMesh:
    """A mesh with per-corner UV coordinates and its texture image (numpy, float64)."""

    verts: np.ndarray  # (V, 3)
    faces: np.ndarray  # (F, 3) int
    verts_uvs: np.ndarray  # (T, 2) in [0, 1], v up
    faces_uvs: np.ndarray  # (F, 3) int
    texture: np.ndarray  # (H, W, 3) in [0, 1], row 0 at the top (v = 1)


@dataclass
class ColouredMesh:
    """A mesh with one RGB colour per vertex (numpy, float64)."""

    verts: np.ndarray  # (V, 3)
    faces: np.ndarray  # (F, 3) int
    colours: np.ndarray  # (V, 3) in [0, 1]


# ------------------------------------------------------------------ drawing helpers
def _disc_coverage(rows: np.ndarray, cols: np.ndarray, cy: float, cx: float, radius: float):
    """Fraction of each pixel covered by a disc (a one-pixel soft edge, no aliasing)."""
    distance = np.hypot(rows - cy, cols - cx)
    return np.clip(radius - distance + 0.5, 0.0, 1.0)


def _paint(image: np.ndarray, coverage: np.ndarray, colour: tuple[float, float, float]) -> None:
    """Blend ``colour`` into ``image`` (in place) with per-pixel weights ``coverage``."""
    image[:] = image * (1 - coverage[..., None]) + np.asarray(colour) * coverage[..., None]


# ------------------------------------------------------------------ the die
# Pip positions on a 3x3 grid (row, col in {0, 1, 2}) for each number, as drawn on a tile
# seen from outside with the tile's top edge "up".
_PIPS = {
    1: [(1, 1)],
    2: [(0, 2), (2, 0)],
    3: [(0, 2), (1, 1), (2, 0)],
    4: [(0, 0), (0, 2), (2, 0), (2, 2)],
    5: [(0, 0), (0, 2), (1, 1), (2, 0), (2, 2)],
    6: [(0, 0), (1, 0), (2, 0), (0, 2), (1, 2), (2, 2)],
}

# Each side: outward normal axis, its sign, the "up" direction on it, and its number.
# Right = up x normal keeps the tile unmirrored when seen from outside.
_DIE_SIDES = [
    ((0, 0, 1), (0, 1, 0), 1),  # +Z, front (the default camera looks at this side)
    ((0, 0, -1), (0, 1, 0), 6),
    ((0, 1, 0), (0, 0, -1), 2),  # top
    ((0, -1, 0), (0, 0, 1), 5),
    ((1, 0, 0), (0, 1, 0), 3),
    ((-1, 0, 0), (0, 1, 0), 4),
]


def build_die(tile: int = 128) -> TexturedMesh:
    """A unit die (side 1, centred at the origin) with a 3x2 atlas of pip tiles."""
    atlas = np.zeros((2 * tile, 3 * tile, 3))
    rows, cols = np.mgrid[0:tile, 0:tile].astype(np.float64) + 0.5
    verts, faces, uvs, faces_uvs = [], [], [], []
    inset = 1.5 / (3 * tile)  # keep UVs off the tile borders so bilinear sampling can't bleed
    for side, (normal, up, number) in enumerate(_DIE_SIDES):
        # Texture tile: ivory with rounded-looking dark pips (the 1 is big and red).
        tile_img = np.empty((tile, tile, 3))
        tile_img[:] = (0.96, 0.93, 0.86)
        edge = np.minimum.reduce([rows, cols, tile - rows, tile - cols])
        _paint(tile_img, np.clip(1.0 - edge / 6.0, 0, 1) * 0.35, (0.55, 0.5, 0.42))
        for pr, pc in _PIPS[number]:
            cy, cx = (0.22 + 0.28 * pr) * tile, (0.22 + 0.28 * pc) * tile
            if number == 1:
                _paint(tile_img, _disc_coverage(rows, cols, cy, cx, 0.16 * tile), (0.78, 0.08, 0.1))
            else:
                _paint(
                    tile_img, _disc_coverage(rows, cols, cy, cx, 0.09 * tile), (0.12, 0.12, 0.14)
                )
        r0, c0 = (side // 3) * tile, (side % 3) * tile
        atlas[r0 : r0 + tile, c0 : c0 + tile] = tile_img

        # Geometry: the side's four corners, counter-clockwise seen from outside.
        n, u = np.asarray(normal, float), np.asarray(up, float)
        right = np.cross(u, n)
        centre = 0.5 * n
        corners = [
            centre + 0.5 * (sx * right + sy * u) for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))
        ]
        base = len(verts)
        verts.extend(corners)
        faces.extend([[base, base + 1, base + 2], [base, base + 2, base + 3]])
        # UVs: tile (row r0, col c0) spans u in [c0, c0+tile]/W, v in [1 - (r0+tile)/H, 1 - r0/H].
        u0, u1 = c0 / (3 * tile) + inset, (c0 + tile) / (3 * tile) - inset
        v1, v0 = 1 - r0 / (2 * tile) - inset, 1 - (r0 + tile) / (2 * tile) + inset
        uv_base = len(uvs)
        uvs.extend([[u0, v0], [u1, v0], [u1, v1], [u0, v1]])
        faces_uvs.extend([[uv_base, uv_base + 1, uv_base + 2], [uv_base, uv_base + 2, uv_base + 3]])
    return TexturedMesh(np.array(verts), np.array(faces), np.array(uvs), np.array(faces_uvs), atlas)


# ------------------------------------------------------------------ the mug
def _mug_profile() -> tuple[np.ndarray, np.ndarray, float, float]:
    """The mug's half cross-section as (radius, height), from the outer bottom to the inner bottom.

    Returns:
        points ``(P, 2)``, their length fraction ``s`` along the profile (the texture's
        vertical coordinate), and the fractions where the flat foot ends and where the rim
        is highest (borders in the texture).
    """
    foot = [(r, -0.5) for r in np.linspace(0.02, 0.36, 10)]  # the outer bottom
    arc_in = [
        (0.36 + 0.04 * math.sin(a), -0.46 - 0.04 * math.cos(a))
        for a in np.linspace(0, math.pi / 2, 6)[1:]
    ]
    wall = [(0.40, y) for y in np.linspace(-0.44, 0.48, 12)[1:]]
    rim = [
        (0.38 + 0.02 * math.cos(a), 0.48 + 0.02 * math.sin(a))
        for a in np.linspace(0, math.pi, 9)[1:]
    ]
    inner = [(0.36, y) for y in np.linspace(0.46, -0.40, 12)[1:]]
    arc_out = [
        (0.32 + 0.04 * math.cos(a), -0.40 - 0.04 * math.sin(a))
        for a in np.linspace(0, math.pi / 2, 6)[1:]
    ]
    bottom = [(r, -0.44) for r in np.linspace(0.32, 0.02, 12)[1:]]
    points = np.array(foot + arc_in + wall + rim + inner + arc_out + bottom)
    length = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    s = length / length[-1]
    s_foot = s[len(foot) - 1]
    s_rim = s[len(foot) + len(arc_in) + len(wall) + len(rim) // 2]
    return points, s, float(s_foot), float(s_rim)


def _mug_texture(height: int, width: int, s_rim: float, s_foot: float) -> np.ndarray:
    """Glaze outside (with a band of dots to show rotation), cream inside, bare clay foot.

    Rows follow the profile length and columns the angle; the profile (~2.6 units) and the
    circumference (~2.5 units) are about equally long, so a square map has square texels.
    """
    image = np.empty((height, width, 3))
    s = (np.arange(height) + 0.5) / height  # profile fraction of each row (row 0 = outer bottom)
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float64) + 0.5
    outside = s[:, None, None] < s_rim
    image[:] = np.where(outside, (0.13, 0.45, 0.55), (0.95, 0.92, 0.84))
    image[s < s_foot] = (0.72, 0.6, 0.47)
    band = (s > s_rim - 0.17) & (s < s_rim - 0.07)
    image[band] = (0.97, 0.95, 0.9)
    band_row = (np.flatnonzero(band).mean() + 0.5) if band.any() else height / 2
    # Twelve dots around the mug, one every 30 degrees (the one at u = 0 is drawn at both
    # ends of the map so it wraps across the seam). The red dot at u = 0.75 faces +Z, the
    # default camera; the handle is at u = 0 (+X).
    for k in range(13):
        colour = (0.85, 0.3, 0.15) if k == 9 else (0.13, 0.45, 0.55)
        _paint(image, _disc_coverage(rows, cols, band_row, k * width / 12, 0.026 * width), colour)
    return image


def _handle(segments: int = 24, sides: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """A tube swept along a C-shaped curve on the +X side; its ends sink into the wall."""
    t = np.linspace(-math.pi / 2, math.pi / 2, segments + 1)
    centre = np.stack([0.37 + 0.24 * np.cos(t), 0.24 * np.sin(t), np.zeros_like(t)], axis=1)
    tangent = np.stack([-0.24 * np.sin(t), 0.24 * np.cos(t), np.zeros_like(t)], axis=1)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    binormal = np.array([0.0, 0.0, 1.0])
    normal = np.cross(binormal, tangent)  # in the XY plane, pointing away from the curve's centre
    phi = 2 * math.pi * np.arange(sides) / sides
    ring = (
        0.045 * np.cos(phi)[None, :, None] * normal[:, None, :]
        + 0.06 * np.sin(phi)[None, :, None] * binormal[None, None, :]
    )
    verts = (centre[:, None, :] + ring).reshape(-1, 3)
    i = np.arange(segments)[:, None]
    j = np.arange(sides)[None, :]
    a, b = i * sides + j, (i + 1) * sides + j
    c, d = (i + 1) * sides + (j + 1) % sides, i * sides + (j + 1) % sides
    faces = np.stack([np.stack([a, c, b], -1), np.stack([a, d, c], -1)], axis=2).reshape(-1, 3)
    return verts, faces


def build_mug(segments: int = 48, texture_size: int = 512) -> TexturedMesh:
    """A mug: the profile revolved around +Y, closed by two fans, plus a handle."""
    profile, s, s_foot, s_rim = _mug_profile()
    count = len(profile)
    theta = 2 * math.pi * np.arange(segments) / segments
    # Revolve: angle theta = 0 points along +X (where the handle is); u = theta / 2pi.
    ring_r, ring_y = profile[:, 0][:, None], profile[:, 1][:, None]
    body = np.stack(
        [
            ring_r * np.cos(theta),
            np.broadcast_to(ring_y, (count, segments)),
            -ring_r * np.sin(theta),
        ],
        axis=-1,
    ).reshape(-1, 3)  # vertex (k, m) = k * segments + m
    k = np.arange(count - 1)[:, None]
    m = np.arange(segments)[None, :]
    a, b = k * segments + m, (k + 1) * segments + m
    c, d = (k + 1) * segments + (m + 1) % segments, k * segments + (m + 1) % segments
    body_faces = np.stack([np.stack([a, d, c], -1), np.stack([a, c, b], -1)], axis=2).reshape(-1, 3)
    # UVs get one extra column (u = 1) so the seam does not wrap the texture backwards.
    uv_u = np.arange(segments + 1) / segments
    uv_v = 1.0 - s
    body_uvs = np.stack(np.meshgrid(uv_u, uv_v, indexing="xy"), axis=-1).reshape(-1, 2)
    ua, ub = k * (segments + 1) + m, (k + 1) * (segments + 1) + m
    uc, ud = (k + 1) * (segments + 1) + m + 1, k * (segments + 1) + m + 1
    body_faces_uvs = np.stack(
        [np.stack([ua, ud, uc], -1), np.stack([ua, uc, ub], -1)], axis=2
    ).reshape(-1, 3)

    # Close the two ends (outer bottom centre, inner bottom centre) with triangle fans.
    verts = [body]
    faces = [body_faces]
    uvs = [body_uvs]
    faces_uvs = [body_faces_uvs]
    n_verts, n_uvs = len(body), len(body_uvs)
    for ring, y, flip in ((0, profile[0, 1], True), (count - 1, profile[-1, 1], False)):
        centre_v, centre_uv = n_verts, n_uvs
        verts.append(np.array([[0.0, y, 0.0]]))
        uvs.append(np.array([[0.5, 1.0 - s[ring]]]))
        rim = ring * segments + np.arange(segments)
        rim_next = ring * segments + (np.arange(segments) + 1) % segments
        rim_uv = ring * (segments + 1) + np.arange(segments)
        fan = np.stack([np.full(segments, centre_v), rim_next, rim], 1)
        fan_uv = np.stack([np.full(segments, centre_uv), rim_uv + 1, rim_uv], 1)
        if flip:
            fan, fan_uv = fan[:, [0, 2, 1]], fan_uv[:, [0, 2, 1]]
        faces.append(fan)
        faces_uvs.append(fan_uv)
        n_verts += 1
        n_uvs += 1

    h_verts, h_faces = _handle()
    faces.append(h_faces + n_verts)
    verts.append(h_verts)
    # The handle is glazed: all its corners sample one glaze texel below the band.
    uvs.append(np.array([[0.5, 1.0 - 0.5 * s_rim]]))
    faces_uvs.append(np.full_like(h_faces, n_uvs))
    texture = _mug_texture(texture_size, texture_size, s_rim=s_rim, s_foot=s_foot)
    return TexturedMesh(
        np.concatenate(verts), np.concatenate(faces), np.concatenate(uvs),
        np.concatenate(faces_uvs), texture,
    )  # fmt: skip


# ------------------------------------------------------------------ the blob
def build_blob(level: int = 4, seed: int = SEED) -> ColouredMesh:
    """An icosphere pushed out by a few smooth bumps, coloured by how far it was pushed."""
    from course_utils.p3d.builtin.utils import ico_sphere  # exact, backend-independent topology

    sphere = ico_sphere(level)
    directions = sphere.verts_packed().double().numpy()
    faces = sphere.faces_packed().numpy()
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(7, 3))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    heights = rng.uniform(0.15, 0.45, size=7)
    widths = rng.uniform(0.12, 0.35, size=7)
    cosine = directions @ centres.T  # (V, 7)
    bumps = (heights * np.exp(-(1.0 - cosine) / widths)).sum(axis=1)
    ripple = 0.03 * np.sin(5 * directions[:, 0]) * np.sin(4 * directions[:, 1] + 1.0)
    radius = 0.6 + bumps + ripple
    verts = directions * radius[:, None]
    # Colour: a warm three-stop gradient from the hollows (deep plum) to the tips (gold).
    t = (radius - radius.min()) / (radius.max() - radius.min())
    stops = np.array([[0.30, 0.10, 0.35], [0.85, 0.35, 0.35], [0.98, 0.85, 0.35]])
    low = np.clip(t * 2, 0, 1)[:, None]
    high = np.clip(t * 2 - 1, 0, 1)[:, None]
    colours = np.where(
        t[:, None] < 0.5,
        stops[0] + (stops[1] - stops[0]) * low,
        stops[1] + (stops[2] - stops[1]) * high,
    )
    return ColouredMesh(verts, faces, colours)
