"""From a random grammar draw to a training example: mesh, voxels, surface points and views.

For each shape (index ``k`` of a dataset with seed ``s``), :func:`generate_shapes` does:

1. **Assemble.** The category is ``categories[k % len(categories)]`` (so categories are
   balanced and interleaved), and its grammar (:mod:`~course_utils.datasets.categories`)
   draws the primitives from ``np.random.default_rng([s, k])``: shape ``k`` is the same
   whatever the dataset size.
2. **Normalise.** Parts thinner than :data:`MIN_THICKNESS` (1.6 voxels) are thickened, so
   that the 32³ grid sees every part (a 1.7 m floor lamp gets a sturdy pole). The union
   of the primitives' meshes is moved so that its bounding box is centred at the origin
   and scaled so that the box's diagonal is 1. The shape then lies inside the cube
   [-0.5, 0.5]³ (no side of a box can be longer than its diagonal).
3. **Voxelise** exactly: a voxel is occupied when its *centre* is inside at least one
   primitive (the primitives' analytic inside tests; no mesh voxelizer). The grid is
   ``voxels[z, y, x]`` (the ``(D, H, W)`` order of ``ops.cubify``) with 32 cells per axis;
   cell ``i`` along an axis has its centre at ``-0.5 + (i + 0.5) / 32``. So::

       ops.cubify(voxels[None], 0.5, align="corner").scale_verts(0.5)

   is the voxel solid drawn on top of the shape (``align="corner"`` puts the cubes in
   [-1, 1]³; half of that is [-0.5, 0.5]³).
4. **Sample the outer surface.** Points are drawn uniformly (area-weighted, as in
   ``ops.sample_points_from_meshes``) on all primitives' surfaces, and every point that is
   *strictly inside another primitive* is thrown away: a leg's top, buried in the seat, is
   not part of the chair's surface. Sampling repeats until there are enough points. Each
   point keeps the outward normal of the face it was drawn on.
5. **Render** each view with the course's renderer (``MeshRenderer`` with a
   ``MeshRasterizer`` and a ``HardPhongShader``), many shapes per batch: a camera at
   distance :data:`CAMERA_DIST` looking at the origin from a random azimuth (uniform in
   [0, 360)) and elevation (uniform in :data:`ELEVATION_RANGE`), field of view
   :data:`FOV` degrees, so the shape's bounding sphere (radius 0.5) just fits; one random
   colour per part; a random directional light (ambient + diffuse + specular); white
   background, as in the R2N2 renderings. The mask is the rasterizer's coverage (alpha).
   Colours and light are bounded so that no object pixel is pure white: the mask equals
   "the pixels that are not white".

Everything is drawn from generators seeded by ``(seed, shape index[, view index])``, so the
same arguments give identical arrays (on the same device and library versions).
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from course_utils.datasets.categories import CATEGORIES, PART_NAMES, build_shape
from course_utils.datasets.primitives import Primitive

__all__ = [
    "VOXEL_SIZE",
    "FOV",
    "CAMERA_DIST",
    "ELEVATION_RANGE",
    "ShapeGeometry",
    "build_geometry",
    "voxel_centres",
    "voxelize",
    "inside_any",
    "union_mesh",
    "sample_outer_surface",
    "render_views",
    "generate_shapes",
]

VOXEL_SIZE = 32  #: cells per axis of the occupancy grid
FOV = 30.0  #: vertical field of view of the cameras, degrees
CAMERA_DIST = 2.0  #: camera distance from the origin: 0.5 / sin(FOV / 2) = 1.93 fits the shape
ELEVATION_RANGE = (10.0, 40.0)  #: camera elevation, degrees (looking slightly down)
HIDDEN_MARGIN = 1e-4  #: "strictly inside": deeper than this (normalised units)
#: Thinnest side / diameter / wall of a part (normalised units): 1.6 voxels, so that every
#: part covers at least one voxel centre wherever it lies (a disc of radius r always holds
#: a point of a grid of spacing h when r >= h / sqrt(2)).
MIN_THICKNESS = 1.6 / VOXEL_SIZE
MAX_COLOUR_VALUE = 0.85  #: brightest part colour (HSV value); keeps objects off pure white
MAX_SPECULAR = 0.12


@dataclass
class ShapeGeometry:
    """One normalised shape (float arrays in the normalised object frame).

    Attributes:
        category: index into :data:`~course_utils.datasets.categories.CATEGORIES`.
        primitives: the solids, in *raw* units (see ``centre``/``scale``).
        centre, scale: ``normalised = (raw - centre) / scale``: the raw bounding-box centre
            ``(3,)`` and diagonal.
        verts: ``(V, 3)`` float32, the union of the primitives' meshes, normalised.
        faces: ``(F, 3)`` int64.
        vert_parts: ``(V,)`` int64, the part of each vertex (for colours).
        voxels: ``(32, 32, 32)`` bool, ``voxels[z, y, x]``.
        points, normals: ``(P, 3)`` float32, outer-surface samples and their unit normals.
    """

    category: int
    primitives: list[Primitive]
    centre: np.ndarray
    scale: float
    verts: np.ndarray
    faces: np.ndarray
    vert_parts: np.ndarray
    voxels: np.ndarray
    points: np.ndarray
    normals: np.ndarray

    def to_raw(self, points: np.ndarray) -> np.ndarray:
        """Normalised points ``(N, 3)`` -> the primitives' raw frame."""
        return np.asarray(points, dtype=np.float64) * self.scale + self.centre


# ------------------------------------------------------------------ geometry
def union_mesh(prims: Sequence[Primitive]) -> tuple[np.ndarray, ...]:
    """Concatenate the primitives' meshes (no boolean union: hidden faces stay).

    Returns:
        ``verts (V, 3)``, ``faces (F, 3)``, and the primitive of each vertex ``(V,)`` and
        of each face ``(F,)``.
    """
    verts, faces, vert_prim, face_prim = [], [], [], []
    offset = 0
    for k, prim in enumerate(prims):
        v, f = prim.mesh()
        verts.append(v)
        faces.append(f + offset)
        vert_prim.append(np.full(len(v), k))
        face_prim.append(np.full(len(f), k))
        offset += len(v)
    return tuple(np.concatenate(a) for a in (verts, faces, vert_prim, face_prim))


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cross product of ``(N, 3)`` arrays (``np.cross`` is slow on small arrays)."""
    return np.stack(
        [
            a[:, 1] * b[:, 2] - a[:, 2] * b[:, 1],
            a[:, 2] * b[:, 0] - a[:, 0] * b[:, 2],
            a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0],
        ],
        axis=1,
    )


def inside_any(
    prims: Sequence[Primitive],
    points: np.ndarray,
    margin: float = 0.0,
    exclude: np.ndarray | None = None,
) -> np.ndarray:
    """``(N,)`` bool: is each raw point ``(N, 3)`` inside any primitive (``margin`` deep)?

    Args:
        prims: the primitives.
        points: raw-frame points.
        margin: depth below the surface that counts as inside (0: on the surface counts).
        exclude: ``(N,)`` int, for each point a primitive index *not* to test (the one the
            point was sampled on), or None.
    """
    inside = np.zeros(len(points), dtype=bool)
    for k, prim in enumerate(prims):
        low, high = prim.bounds()
        candidate = ~inside
        for axis in range(3):  # cheaper than np.all over a (N, 3) comparison
            candidate &= (points[:, axis] >= low[axis]) & (points[:, axis] <= high[axis])
        if exclude is not None:
            candidate &= exclude != k
        if candidate.any():
            inside[candidate] = prim.contains(points[candidate], margin)
    return inside


def voxel_centres(size: int = VOXEL_SIZE) -> np.ndarray:
    """``(size,)`` coordinates of the cell centres along one axis: ``-0.5 + (i + 0.5) / size``."""
    return -0.5 + (np.arange(size) + 0.5) / size


def voxelize(
    prims: Sequence[Primitive], centre: np.ndarray, scale: float, size: int = VOXEL_SIZE
) -> np.ndarray:
    """Exact occupancy at the voxel centres: ``(size, size, size)`` bool, ``[z, y, x]``.

    Each primitive only tests the centres inside its own bounding box.
    """
    grid = np.zeros((size, size, size), dtype=bool)
    axis = voxel_centres(size)
    for prim in prims:
        low, high = prim.bounds()
        low, high = (low - centre) / scale, (high - centre) / scale  # normalised box
        first = np.clip(np.ceil((low + 0.5) * size - 0.5), 0, size - 1).astype(int)
        last = np.clip(np.floor((high + 0.5) * size - 0.5), 0, size - 1).astype(int)
        if np.any(last < first):
            continue
        xs, ys, zs = (axis[first[a] : last[a] + 1] for a in range(3))
        z, y, x = np.meshgrid(zs, ys, xs, indexing="ij")
        points = np.stack([x, y, z], axis=-1).reshape(-1, 3) * scale + centre
        inside = prim.contains(points).reshape(z.shape)
        grid[first[2] : last[2] + 1, first[1] : last[1] + 1, first[0] : last[0] + 1] |= inside
    return grid


def sample_outer_surface(
    prims: Sequence[Primitive],
    verts: np.ndarray,
    faces: np.ndarray,
    face_prim: np.ndarray,
    num: int,
    rng: np.random.Generator,
    margin: float,
) -> tuple[np.ndarray, np.ndarray]:
    """``num`` points uniformly on the outer surface of a union of primitives, with normals.

    Points are drawn area-weighted on all faces (barycentric ``(1 - sqrt(u),
    sqrt(u) (1 - v), sqrt(u) v)``), then those strictly inside another primitive (deeper
    than ``margin``) are dropped; this repeats until ``num`` points are kept. Since the
    draw is uniform over all surfaces, what is kept is uniform over the visible ones.

    Args:
        prims: the primitives; ``verts``/``faces``/``face_prim``: their union mesh in the
            same (raw) frame and the primitive of each face.
        num: number of points.
        rng: the random generator.
        margin: how deep inside another primitive a point must be to be dropped.

    Returns:
        ``points (num, 3)`` and unit outward ``normals (num, 3)``, float64.
    """
    v0, v1, v2 = verts[faces[:, 0]], verts[faces[:, 1]], verts[faces[:, 2]]
    cross = _cross(v1 - v0, v2 - v1)
    double_area = np.linalg.norm(cross, axis=1)
    face_normals = cross / np.maximum(double_area, 1e-30)[:, None]
    cdf = np.cumsum(double_area)
    kept_points, kept_normals = [], []
    have, visible_fraction = 0, 0.5
    for _ in range(50):
        draw = int((num - have) / max(visible_fraction, 0.05) * 1.2) + 64
        face = np.minimum(
            np.searchsorted(cdf, rng.random(draw) * cdf[-1], side="right"), len(faces) - 1
        )
        su, v = np.sqrt(rng.random(draw)), rng.random(draw)
        w0, w1, w2 = 1 - su, su * (1 - v), su * v
        points = w0[:, None] * v0[face] + w1[:, None] * v1[face] + w2[:, None] * v2[face]
        visible = ~inside_any(prims, points, margin, exclude=face_prim[face])
        visible_fraction = max(visible.mean(), 1e-3)
        kept_points.append(points[visible])
        kept_normals.append(face_normals[face[visible]])
        have += int(visible.sum())
        if have >= num:
            break
    else:  # pragma: no cover - a union always has a visible surface
        raise RuntimeError("could not sample the outer surface (is every part hidden?)")
    return np.concatenate(kept_points)[:num], np.concatenate(kept_normals)[:num]


def build_geometry(
    category: int,
    rng: np.random.Generator,
    points_per_shape: int,
    voxel_size: int = VOXEL_SIZE,
    categories: Sequence[str] = CATEGORIES,
) -> ShapeGeometry:
    """Draw one shape and compute its normalised mesh, exact voxels and outer-surface points.

    Args:
        category: index into ``categories``.
        rng: the shape's random generator (the grammar, then the surface samples).
        points_per_shape: number of surface points.
        voxel_size: cells per axis of the occupancy grid.
        categories: the category names ``category`` indexes.

    Returns:
        A :class:`ShapeGeometry` (its ``category`` indexes ``CATEGORIES``).
    """
    prims = build_shape(categories[category], rng)
    for _ in range(2):  # thicken thin parts (twice: thickening can grow the box a little)
        verts = np.concatenate([p.mesh()[0] for p in prims])
        scale = float(np.linalg.norm(verts.max(axis=0) - verts.min(axis=0)))
        for prim in prims:
            prim.thicken(MIN_THICKNESS * scale)
    verts, faces, vert_prim, face_prim = union_mesh(prims)
    low, high = verts.min(axis=0), verts.max(axis=0)
    centre = (low + high) / 2
    scale = float(np.linalg.norm(high - low))
    points, normals = sample_outer_surface(
        prims, verts, faces, face_prim, points_per_shape, rng, HIDDEN_MARGIN * scale
    )
    parts = np.array([p.part for p in prims])
    return ShapeGeometry(
        category=CATEGORIES.index(categories[category]),
        primitives=prims,
        centre=centre,
        scale=scale,
        verts=((verts - centre) / scale).astype(np.float32),
        faces=faces.astype(np.int64),
        vert_parts=parts[vert_prim],
        voxels=voxelize(prims, centre, scale, voxel_size),
        points=((points - centre) / scale).astype(np.float32),
        normals=normals.astype(np.float32),
    )


# ------------------------------------------------------------------ views
@dataclass
class ViewParams:
    """Random choices of one view: camera angles (degrees), part colours, light."""

    azim: float
    elev: float
    colours: np.ndarray  # (num_parts, 3)
    light_direction: np.ndarray  # (3,) towards the light
    ambient: float
    diffuse: float
    specular: float


def _direction(azim_deg: float, elev_deg: float) -> np.ndarray:
    """Unit vector towards azimuth/elevation, as ``look_at_view_transform`` places cameras."""
    a, e = math.radians(azim_deg), math.radians(elev_deg)
    return np.array([math.cos(e) * math.sin(a), math.sin(e), math.cos(e) * math.cos(a)])


def draw_view(rng: np.random.Generator, num_parts: int) -> ViewParams:
    """Random camera angles, part colours and lighting for one view."""
    azim = float(rng.uniform(0.0, 360.0))
    elev = float(rng.uniform(*ELEVATION_RANGE))
    colours = np.empty((num_parts, 3))
    for p in range(num_parts):
        hue, sat = rng.uniform(0, 1), rng.uniform(0.25, 0.85)
        value = rng.uniform(0.35, MAX_COLOUR_VALUE)
        colours[p] = colorsys.hsv_to_rgb(hue, sat, value)
        if p > 0 and rng.random() < 0.3:  # some parts share the first part's colour
            colours[p] = colours[0]
    light = _direction(azim + rng.uniform(-70, 70), rng.uniform(15, 75))
    ambient = float(rng.uniform(0.3, 0.55))
    diffuse = float(1.0 - ambient - rng.uniform(0.0, 0.1))
    specular = float(rng.uniform(0.0, MAX_SPECULAR))
    return ViewParams(azim, elev, colours, light, ambient, diffuse, specular)


def render_views(
    geometries: Sequence[ShapeGeometry],
    views: Sequence[ViewParams],
    image_size: int,
    device: str | torch.device = "cpu",
) -> dict[str, np.ndarray]:
    """Render ``geometries[i]`` as seen in ``views[i]``, all in one batch.

    Returns:
        ``images`` ``(B, S, S, 3)`` uint8 (white background), ``masks`` ``(B, S, S)``
        bool, ``R`` ``(B, 3, 3)`` and ``T`` ``(B, 3)`` float32 (PyTorch3D's world-to-view
        convention, ``X_view = X_world @ R + T``), ``fov`` ``(B,)`` float32 (degrees).
    """
    from course_utils.p3d import renderer, structures

    device = torch.device(device)
    verts = [torch.from_numpy(g.verts).to(device) for g in geometries]
    faces = [torch.from_numpy(g.faces).to(device) for g in geometries]
    colours = [
        torch.from_numpy(v.colours[g.vert_parts]).float().to(device)
        for g, v in zip(geometries, views)
    ]
    meshes = structures.Meshes(
        verts=verts, faces=faces, textures=renderer.TexturesVertex(verts_features=colours)
    )
    R, T = renderer.look_at_view_transform(
        dist=CAMERA_DIST,
        elev=[v.elev for v in views],
        azim=[v.azim for v in views],
        device=device,
    )
    cameras = renderer.FoVPerspectiveCameras(R=R, T=T, fov=FOV, device=device)

    def per_view(values: list[float]) -> torch.Tensor:
        return torch.tensor(values, dtype=torch.float32, device=device)[:, None].expand(-1, 3)

    lights = renderer.DirectionalLights(
        ambient_color=per_view([v.ambient for v in views]),
        diffuse_color=per_view([v.diffuse for v in views]),
        specular_color=per_view([v.specular for v in views]),
        direction=torch.tensor(
            np.stack([v.light_direction for v in views]), dtype=torch.float32, device=device
        ),
        device=device,
    )
    mesh_renderer = renderer.MeshRenderer(
        rasterizer=renderer.MeshRasterizer(
            cameras=cameras,
            raster_settings=renderer.RasterizationSettings(
                image_size=image_size, cull_backfaces=True
            ),
        ),
        shader=renderer.HardPhongShader(
            device=device,
            cameras=cameras,
            lights=lights,
            blend_params=renderer.BlendParams(background_color=(1.0, 1.0, 1.0)),
        ),
    )
    with torch.no_grad():
        rgba = mesh_renderer(meshes).cpu()
    mask = rgba[..., 3] > 0.5
    rgb = torch.where(mask[..., None], rgba[..., :3].clamp(0, 1), torch.ones(3))
    return {
        "images": (rgb * 255).round().to(torch.uint8).numpy(),
        "masks": mask.numpy(),
        "R": R.float().cpu().numpy(),
        "T": T.float().cpu().numpy(),
        "fov": np.full(len(views), FOV, dtype=np.float32),
    }


# ------------------------------------------------------------------ everything
@contextmanager
def _torch_threads(threads: int | None) -> Iterator[None]:
    """Temporarily set PyTorch's number of CPU threads (None: unchanged)."""
    if threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def generate_shapes(
    num_shapes: int,
    views_per_shape: int = 1,
    image_size: int = 128,
    points_per_shape: int = 5000,
    seed: int = 0,
    categories: Sequence[str] | None = None,
    indices: Sequence[int] | None = None,
    render_batch: int = 48,
    device: str | torch.device = "cpu",
    progress: bool = True,
    threads: int | None = 1,
) -> Iterator[dict[str, np.ndarray]]:
    """Generate shapes one by one (rendering their views in batches): a generator.

    Args:
        num_shapes: size of the dataset (shape indices ``0 .. num_shapes - 1``).
        views_per_shape: V rendered views per shape.
        image_size: S for S x S images.
        points_per_shape: P outer-surface points per shape.
        seed: the dataset seed.
        categories: category names to use (default: all of ``CATEGORIES``); shape ``k``
            is of category ``categories[k % len(categories)]``.
        indices: generate only these shape indices (default: all), e.g. to rebuild one.
        render_batch: shapes' views rendered together (more is faster, uses more memory).
        device: where to render ("cpu" keeps the output identical across machines
            with and without a GPU).
        progress: show a ``tqdm`` progress bar.
        threads: PyTorch CPU threads while rendering (None: leave the setting alone). One
            is the default because the renderer's many small tensor operations lose more
            to thread start-up and waiting than they gain (measured: 7 ms of CPU per 128²
            view on one thread, 24 ms on two).

    Yields:
        One dict per shape, in index order, of NumPy arrays: ``shape_id`` and
        ``category`` (int64 scalars); ``verts (V, 3)`` float32; ``faces (F, 3)`` int64;
        ``vert_parts (V,)`` int64; ``voxels (32, 32, 32)`` bool ``[z, y, x]``;
        ``points``/``normals`` ``(P, 3)`` float32; ``images (V, S, S, 3)`` uint8;
        ``masks (V, S, S)`` bool; ``R (V, 3, 3)``, ``T (V, 3)``, ``fov (V,)``,
        ``azim (V,)``, ``elev (V,)`` float32.

    Example:
        >>> shape = next(generate_shapes(1, image_size=32, points_per_shape=100, progress=False))
        >>> shape["images"].shape, shape["voxels"].shape, shape["points"].shape
        ((1, 32, 32, 3), (32, 32, 32), (100, 3))
    """
    from tqdm.auto import tqdm

    names = list(CATEGORIES if categories is None else categories)
    unknown = [c for c in names if c not in CATEGORIES]
    if unknown or not names:
        raise ValueError(f"unknown categories {unknown or names}; choose from {CATEGORIES}")
    indices = list(range(num_shapes)) if indices is None else [int(i) for i in indices]
    bar = tqdm(total=len(indices), desc="generating shapes", unit="shape", disable=not progress)
    chunk = max(1, render_batch // max(views_per_shape, 1))
    try:
        for start in range(0, len(indices), chunk):
            batch = indices[start : start + chunk]
            geometries, views = [], []
            for k in batch:
                rng = np.random.default_rng([seed, k])
                geometry = build_geometry(k % len(names), rng, points_per_shape, categories=names)
                geometries.append(geometry)
                num_parts = len(PART_NAMES[CATEGORIES[geometry.category]])
                views.append(
                    [
                        draw_view(np.random.default_rng([seed, k, 1 + v]), num_parts)
                        for v in range(views_per_shape)
                    ]
                )
            flat_geometries = [g for g, vs in zip(geometries, views) for _ in vs]
            flat_views = [v for vs in views for v in vs]
            with _torch_threads(threads if torch.device(device).type == "cpu" else None):
                rendered = render_views(flat_geometries, flat_views, image_size, device)
            for j, (k, geometry) in enumerate(zip(batch, geometries)):
                rows = slice(j * views_per_shape, (j + 1) * views_per_shape)
                yield {
                    "shape_id": np.int64(k),
                    "category": np.int64(geometry.category),
                    "verts": geometry.verts,
                    "faces": geometry.faces,
                    "vert_parts": geometry.vert_parts.astype(np.int64),
                    "voxels": geometry.voxels,
                    "points": geometry.points,
                    "normals": geometry.normals,
                    "images": rendered["images"][rows],
                    "masks": rendered["masks"][rows],
                    "R": rendered["R"][rows],
                    "T": rendered["T"][rows],
                    "fov": rendered["fov"][rows],
                    "azim": np.array([v.azim for v in views[j]], dtype=np.float32),
                    "elev": np.array([v.elev for v in views[j]], dtype=np.float32),
                }
                bar.update(1)
    finally:
        bar.close()
