"""Meshes -> voxel occupancy grids, and voxel grids -> meshes of cubes.

Chapter 04 fits voxel grids to a shape and chapter 05 trains networks to predict them; both
need the ground-truth grid of a mesh: which cells of a regular grid lie *inside* it.

**The grid.** ``resolution`` cells per axis fill the box ``bounds`` exactly (no cell sticks
out). The occupancy tensor has PyTorch3D's voxel layout ``(N, D, H, W)``:
``occupancy[n, k, j, i]`` is the cell at **x** index ``i`` (width), **y** index ``j``
(height) and **z** index ``k`` (depth). Its centre is::

    x_i = lo_x + (i + 0.5) (hi_x - lo_x) / W      (likewise y_j with H, z_k with D)

This is the convention of ``ops.cubify(..., align="corner")``, whose cubes fill
[-1, 1]³ with the same axis order: with the default ``bounds=(-1, 1)``,
``ops.cubify(voxelize(mesh).float(), 0.5, align="corner")`` lies on top of the mesh, and
:func:`voxels_to_mesh` does the same for any ``bounds``. (``cubify``'s default,
``align="topleft"``, puts cube *corners* at ``2 i / (S - 1) - 1`` instead: the cubes are
shifted and slightly stretched relative to the cells.)

**Inside or outside?** A closed surface whose faces point outwards has *winding number* 1
around a point inside it and 0 outside. Along a ray from the point, the winding number is
the signed count of surface crossings: +1 where the ray leaves the solid (the face's
normal points along the ray), -1 where it enters. This module counts crossings along the
three grid axes, in both directions, for every cell at once:

1. for the rays parallel to axis ``a``, project every triangle onto the plane of the other
   two axes and find the ray columns (cell centres) inside its projection — only those in
   the triangle's bounding box are tested, in chunks;
2. each hit gives a depth (the triangle's height above the column, interpolated with
   barycentric weights) and a sign (the normal's component along ``a``); a histogram of the
   depths per column and a cumulative sum give, for every cell, the signed count of
   crossings below and above its centre;
3. the six counts (±x, ±y, ±z) are averaged; a cell is occupied where the mean is at least
   one half (at least half of the rays say "inside").

For a closed, consistently wound mesh the six counts are the same integer, and the result
is exact (up to cells whose centre lies on the surface). The average over directions is a
coarse version of the *generalized winding number* (the average over *all* directions,
see chapter 01): a small hole only spoils the rays that pass through it, so a slightly open
mesh still voxelizes well, and overlapping closed parts (a handle pushed into a mug) count
as inside. Rays that hit an edge or a vertex exactly are counted once, by the "top-left"
tie rule rasterizers use: the test of a shared edge is computed the same way (vertex with
the smaller index first) by both triangles, so exactly one of them claims the hit.
The sign of the count is ignored (``|mean| >= 0.5``), so meshes wound inside-out work too.

Cost: about ``F + (number of ray hits)`` tests per axis, i.e. milliseconds for a few
thousand faces at 32³, and memory bounded by chunking.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

__all__ = ["normalize_bounds", "voxel_centres", "voxel_size", "voxelize", "voxels_to_mesh"]

#: bounds of the grid: ``(lo, hi)`` with numbers (a cube) or 3-vectors in x, y, z order
Bounds = tuple[float, float] | tuple[Sequence[float], Sequence[float]] | torch.Tensor

_PAIRS_PER_CHUNK = 1 << 20  # (face, column) tests evaluated at once


def normalize_bounds(
    bounds: Any = (-1.0, 1.0), device: torch.device | str | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(lo, hi)``, each a float64 ``(3,)`` tensor in x, y, z order.

    Args:
        bounds: ``(lo, hi)`` as two numbers (the cube ``[lo, hi]³``), two 3-sequences or
            tensors (``lo_xyz``, ``hi_xyz``), or a ``(2, 3)`` tensor.
        device: where to put the tensors.

    Raises:
        ValueError: unless ``lo < hi`` on every axis.
    """
    try:
        lo, hi = bounds
    except (TypeError, ValueError):
        raise ValueError(f"bounds must be a pair (lo, hi), got {bounds!r}") from None
    lo = torch.as_tensor(lo, dtype=torch.float64).to(device).flatten().expand(3).clone()
    hi = torch.as_tensor(hi, dtype=torch.float64).to(device).flatten().expand(3).clone()
    if not bool((lo < hi).all()):
        raise ValueError(
            f"bounds need lo < hi on every axis, got lo={lo.tolist()}, hi={hi.tolist()}"
        )
    return lo, hi


def _grid_shape(resolution: int | Sequence[int]) -> tuple[int, int, int]:
    """``(D, H, W)`` from one number or a ``(D, H, W)`` triple."""
    shape = (resolution,) * 3 if isinstance(resolution, int) else tuple(resolution)
    if len(shape) != 3 or not all(isinstance(s, int) and s > 0 for s in shape):
        raise ValueError(f"resolution must be a positive int or (D, H, W), got {resolution!r}")
    return shape  # type: ignore[return-value]


def voxel_size(resolution: int | Sequence[int] = 32, bounds: Any = (-1.0, 1.0)) -> torch.Tensor:
    """``(3,)`` edge lengths (x, y, z) of one cell, float64.

    Example:
        >>> voxel_size(32, (-1, 1))
        tensor([0.0625, 0.0625, 0.0625], dtype=torch.float64)
    """
    D, H, W = _grid_shape(resolution)
    lo, hi = normalize_bounds(bounds)
    return (hi - lo) / torch.tensor([W, H, D], dtype=torch.float64)


def _axis_centres(lo: float, hi: float, size: int, device: Any) -> torch.Tensor:
    """``(size,)`` float64 centres of ``size`` cells filling ``[lo, hi]``."""
    i = torch.arange(size, dtype=torch.float64, device=device)
    return lo + (i + 0.5) * ((hi - lo) / size)


def voxel_centres(
    resolution: int | Sequence[int] = 32,
    bounds: Any = (-1.0, 1.0),
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """World coordinates of the cell centres.

    Args:
        resolution: cells per axis, or ``(D, H, W)``.
        bounds: the box the grid fills (see :func:`normalize_bounds`).
        device: where to put the result.

    Returns:
        ``(D, H, W, 3)`` float32: ``centres[k, j, i] = (x_i, y_j, z_k)``, the layout of the
        occupancy grids of :func:`voxelize`.

    Example:
        >>> centres = voxel_centres(4, (-1, 1))
        >>> centres.shape
        torch.Size([4, 4, 4, 3])
        >>> centres[0, 0, 3].tolist()  # i = 3 is the last x cell: x = 0.75
        [0.75, -0.75, -0.75]
    """
    D, H, W = _grid_shape(resolution)
    lo, hi = normalize_bounds(bounds, device)
    x = _axis_centres(float(lo[0]), float(hi[0]), W, device)
    y = _axis_centres(float(lo[1]), float(hi[1]), H, device)
    z = _axis_centres(float(lo[2]), float(hi[2]), D, device)
    zz, yy, xx = torch.meshgrid(z, y, x, indexing="ij")
    return torch.stack([xx, yy, zz], dim=-1).float()


def _work_dtype(device: torch.device) -> torch.dtype:
    return torch.float32 if device.type == "mps" else torch.float64  # MPS has no float64


def _edge_tests(
    corners: torch.Tensor, faces: torch.Tensor, p: torch.Tensor, orient: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Which (face, column) pairs are hits, and their barycentric weights.

    Args:
        corners: ``(T, 3, 2)`` projected corners of the tested faces.
        faces: ``(T, 3)`` their vertex indices (for the canonical edge order).
        p: ``(T, 2)`` the column of each test.
        orient: ``(T,)`` +1 / -1, the sign of the projected triangle's area.

    Returns:
        ``hit`` ``(T,)`` bool and ``weights`` ``(T, 3)`` (the weight of vertex k is the
        edge function of the edge opposite it, made positive inside).
    """
    tests, ties = [], []
    for k in range(3):  # the edge opposite corner k goes from corner k+1 to corner k+2
        start, end = (k + 1) % 3, (k + 2) % 3
        forward = faces[:, start] < faces[:, end]  # canonical order: smaller index first
        a = torch.where(forward[:, None], corners[:, start], corners[:, end])
        b = torch.where(forward[:, None], corners[:, end], corners[:, start])
        canonical = (b[:, 0] - a[:, 0]) * (p[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (
            p[:, 0] - a[:, 0]
        )
        direction = torch.where(forward, orient, -orient)  # +1: edge runs a -> b counter-clockwise
        tests.append(direction * canonical)  # > 0 inside the (counter-clockwise) triangle
        dx = direction * (b[:, 0] - a[:, 0])
        dy = direction * (b[:, 1] - a[:, 1])
        ties.append((dy > 0) | ((dy == 0) & (dx < 0)))  # "top-left" edges keep their points
    weights = torch.stack(tests, dim=1)  # (T, 3)
    keep = torch.stack(ties, dim=1)
    hit = ((weights > 0) | ((weights == 0) & keep)).all(dim=1)
    return hit, weights


def _signed_crossings(
    verts: torch.Tensor,
    faces: torch.Tensor,
    shape_xyz: tuple[int, int, int],
    lo: torch.Tensor,
    hi: torch.Tensor,
    axis: int,
) -> torch.Tensor:
    """Winding numbers along the rays parallel to ``axis``, both directions summed.

    Args:
        verts: ``(V, 3)`` vertices (float64, or float32 on MPS).
        faces: ``(F, 3)`` int64.
        shape_xyz: cells along x, y, z.
        lo, hi: ``(3,)`` the grid's box.
        axis: 0, 1, 2 for rays along x, y, z.

    Returns:
        ``(S_u, S_v, S_a)`` with ``(u, v, a) = (axis+1, axis+2, axis) mod 3``: the winding
        number of the ray towards ``+a`` plus that of the ray towards ``-a``, per cell.
    """
    u, v = (axis + 1) % 3, (axis + 2) % 3  # (u, v, axis) is a right-handed frame
    su, sv, sa = shape_xyz[u], shape_xyz[v], shape_xyz[axis]
    step = (hi - lo) / torch.tensor(shape_xyz, dtype=hi.dtype, device=hi.device)
    tri = verts[faces]  # (F, 3, 3)
    uv = tri[..., [u, v]]  # (F, 3, 2)
    e1, e2 = uv[:, 1] - uv[:, 0], uv[:, 2] - uv[:, 0]
    area2 = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]  # twice the projected area: normal[axis]
    # Columns (cell centres in the u, v plane) inside each triangle's bounding box, with a
    # margin: a column exactly on an edge must reach the exact tests of both triangles.
    low = ((uv.amin(dim=1) - lo[[u, v]]) / step[[u, v]] - 0.5 - 1e-3).ceil().clamp(min=0)
    high = ((uv.amax(dim=1) - lo[[u, v]]) / step[[u, v]] - 0.5 + 1e-3).floor()
    high = torch.minimum(high, torch.tensor([su - 1, sv - 1], dtype=high.dtype, device=high.device))
    counts = (high - low + 1).clamp(min=0).long()  # (F, 2) columns along u and along v
    per_face = counts[:, 0] * counts[:, 1] * (area2 != 0)  # faces parallel to the ray: none
    low = low.long()

    centres_u, centres_v, centres_a = (
        _axis_centres(float(lo[k]), float(hi[k]), shape_xyz[k], verts.device).to(verts.dtype)
        for k in (u, v, axis)
    )
    histogram = torch.zeros((su * sv * (sa + 1),), dtype=verts.dtype, device=verts.device)
    face_ids = per_face.nonzero()[:, 0]
    # Chunks of whole faces with at most about _PAIRS_PER_CHUNK tests each.
    cumulative = per_face[face_ids].cumsum(0)
    chunk_of_face = torch.div(cumulative - 1, _PAIRS_PER_CHUNK, rounding_mode="floor")
    for chunk in torch.unique(chunk_of_face).tolist():
        ids = face_ids[chunk_of_face == chunk]
        n = per_face[ids]
        face = torch.repeat_interleave(ids, n)  # one row per (face, column) test
        first = torch.cumsum(n, 0) - n
        local = torch.arange(len(face), device=face.device) - torch.repeat_interleave(first, n)
        nv = counts[face, 1]
        iu = low[face, 0] + torch.div(local, nv, rounding_mode="floor")
        iv = low[face, 1] + local % nv
        p = torch.stack([centres_u[iu], centres_v[iv]], dim=1)  # the same for every face
        orient = area2[face].sign()
        hit, weights = _edge_tests(uv[face], faces[face], p, orient)
        face, iu, iv, weights, orient = face[hit], iu[hit], iv[hit], weights[hit], orient[hit]
        depth = (weights * tri[face, :, axis]).sum(1) / weights.sum(1)
        slot = torch.searchsorted(centres_a, depth)  # how many centres lie below: 0 .. sa
        histogram.index_add_(0, (iu * sv + iv) * (sa + 1) + slot, orient)
    histogram = histogram.view(su, sv, sa + 1)
    below = histogram.cumsum(dim=2)[..., :sa]  # signed crossings below each centre
    total = histogram.sum(dim=2, keepdim=True)
    # Towards +a the ray meets the crossings above (leaving: normal along +a, +1);
    # towards -a those below, with the opposite sign.
    return (total - below) - below


def _winding_estimate(
    verts: torch.Tensor,
    faces: torch.Tensor,
    shape: tuple[int, int, int],
    lo: torch.Tensor,
    hi: torch.Tensor,
) -> torch.Tensor:
    """``(D, H, W)`` mean of the six axis-ray winding numbers of every cell."""
    D, H, W = shape
    shape_xyz = (W, H, D)
    total = torch.zeros((D, H, W), dtype=verts.dtype, device=verts.device)
    for axis in range(3):
        u, v = (axis + 1) % 3, (axis + 2) % 3
        counts = _signed_crossings(verts, faces, shape_xyz, lo, hi, axis)  # (S_u, S_v, S_a)
        order = (u, v, axis)
        total += counts.permute(order.index(2), order.index(1), order.index(0))  # -> (z, y, x)
    return total / 6


@torch.no_grad()
def voxelize(
    meshes: Any,
    resolution: int | Sequence[int] = 32,
    bounds: Any = (-1.0, 1.0),
    thresh: float = 0.5,
) -> torch.Tensor:
    """Occupancy grids of meshes: which cells have their centre inside the surface.

    Args:
        meshes: a ``Meshes`` batch of N meshes, or one mesh as a pair ``(verts, faces)`` of
            ``(V, 3)`` float and ``(F, 3)`` int tensors (N = 1).
        resolution: cells per axis, or ``(D, H, W)``.
        bounds: the box the grid fills, ``(lo, hi)`` (see :func:`normalize_bounds`); parts of
            the mesh outside it are simply not in the grid.
        thresh: a cell is occupied where the mean of its six axis-ray winding numbers is at
            least this (in absolute value); 0.5: at least half of the rays say inside.

    Returns:
        ``(N, D, H, W)`` bool occupancy on the meshes' device: ``[n, k, j, i]`` is the
        cell at x index ``i``, y index ``j``, z index ``k`` (centres: :func:`voxel_centres`).
        Use ``.float()`` for losses and ``ops.cubify``. Not differentiable.

    Example:
        >>> import math
        >>> from course_utils.p3d import utils
        >>> grid = voxelize(utils.ico_sphere(3), resolution=16)  # the unit sphere in [-1, 1]³
        >>> grid.shape, grid.dtype
        (torch.Size([1, 16, 16, 16]), torch.bool)
        >>> round(grid.float().mean().item(), 3), round(math.pi / 6, 3)  # share of the box
        (0.531, 0.524)
    """
    if isinstance(meshes, (tuple, list)):
        if len(meshes) != 2 or not all(torch.is_tensor(t) for t in meshes):
            raise ValueError("voxelize((verts, faces), ...) takes a pair of tensors")
        verts, faces = meshes
        if verts.dim() != 2 or verts.shape[1] != 3 or faces.dim() != 2 or faces.shape[1] != 3:
            raise ValueError(
                f"expected verts (V, 3) and faces (F, 3), got {tuple(verts.shape)} and "
                f"{tuple(faces.shape)}"
            )
        pairs = [(verts, faces)]
        device = verts.device
    elif hasattr(meshes, "verts_list") and hasattr(meshes, "faces_list"):
        pairs = list(zip(meshes.verts_list(), meshes.faces_list()))
        device = meshes.device
    else:
        raise ValueError(
            f"voxelize takes Meshes or a (verts, faces) pair, got {type(meshes).__name__}"
        )
    shape = _grid_shape(resolution)
    lo, hi = normalize_bounds(bounds, device)
    dtype = _work_dtype(torch.device(device))
    lo, hi = lo.to(dtype), hi.to(dtype)
    grids = []
    for verts, mesh_faces in pairs:
        if len(mesh_faces) == 0:
            grids.append(torch.zeros(shape, dtype=torch.bool, device=device))
            continue
        winding = _winding_estimate(verts.detach().to(dtype), mesh_faces.long(), shape, lo, hi)
        grids.append(winding.abs() >= thresh)
    return torch.stack(grids) if grids else torch.zeros((0, *shape), dtype=torch.bool)


def voxels_to_mesh(voxels: torch.Tensor, bounds: Any = (-1.0, 1.0), thresh: float = 0.5) -> Any:
    """Meshes of cubes for occupancy grids, in the world coordinates of :func:`voxelize`.

    ``ops.cubify(voxels, thresh, align="corner")`` builds the cubes in [-1, 1]³ (same axis
    order as :func:`voxelize`); this maps them into ``bounds``, so the result lies on top of
    the mesh the grid was made from.

    Args:
        voxels: ``(N, D, H, W)`` occupancies (bool, 0/1 or probabilities).
        bounds: the box the grid fills.
        thresh: cells with ``voxels >= thresh`` are occupied.

    Returns:
        ``Meshes`` of N meshes (empty meshes for empty grids).
    """
    from course_utils.p3d import ops, structures

    if not torch.is_tensor(voxels) or voxels.dim() != 4:
        shape = tuple(voxels.shape) if torch.is_tensor(voxels) else type(voxels).__name__
        raise ValueError(f"voxels must be (N, D, H, W), got {shape}")
    lo, hi = normalize_bounds(bounds, voxels.device)
    cubes = ops.cubify(voxels.float(), thresh, align="corner")
    scale, offset = ((hi - lo) / 2).float(), ((hi + lo) / 2).float()
    verts = [v * scale + offset if len(v) else v for v in cubes.verts_list()]
    return structures.Meshes(verts=verts, faces=cubes.faces_list())
