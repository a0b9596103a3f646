"""Surfaces three ways: parametric maps, implicit functions meshed by marching cubes, grids.

**Parametric** surfaces map two numbers ``(u, v)`` in [0, 1]² to a point in 3D. Sampling
``(u, v)`` gives points directly, but *uniform* ``(u, v)`` is not uniform on the surface
(on the sphere below, the points crowd at the poles). :func:`sphere_surface`,
:func:`torus_surface` and :func:`trefoil_tube_surface` are the course's examples.

**Implicit** surfaces are the zero set ``{x : f(x) = level}`` of a function ``f`` on 3D
space. Evaluating ``f`` on a regular grid (:func:`grid_points`, :func:`evaluate_on_grid`)
and running **marching cubes** (:func:`marching_cubes`, via PyMCubes) gives a triangle
mesh: in every grid cell whose corners have values on both sides of the level, triangles
are placed where ``f`` crosses the level (found by linear interpolation along the cell's
edges). The finer the grid, the closer the mesh is to the true surface, at a memory cost
that grows as ``n³``.

Conventions:

* the grid's axis 0 is X, axis 1 is Y, axis 2 is Z: ``volume[i, j, k]`` is ``f`` at the
  point ``(x_i, y_j, z_k)``, as ``torch.meshgrid(xs, ys, zs, indexing="ij")`` builds it;
* a grid of ``n`` points per axis covers ``[lower, upper]`` *including both ends*:
  ``x_i = lower + i (upper - lower) / (n - 1)``;
* **inside** is where ``f < level`` (``inside="below"``, the signed-distance convention,
  e.g. ``|x| - r`` for a ball) or where ``f > level`` (``inside="above"``, e.g. an
  occupancy or density); the returned faces are counter-clockwise seen from outside, so
  their normals point **out of** the inside;
* marching cubes only closes surfaces that stay inside the grid: leave a margin (or pad
  the grid with "outside" values, as :func:`mesh_voxels` does).

Marching cubes runs in NumPy (PyMCubes), so the meshes it returns carry no gradient.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import torch

#: ``(lower, upper)`` corners of a box, each three numbers, or one number ``s`` for the cube
#: ``[-s, s]³``.
Bounds = float | tuple[Sequence[float], Sequence[float]]
#: ``n`` points on every axis, or ``(nx, ny, nz)``.
Resolution = int | Sequence[int]


# ------------------------------------------------------------------ grids
def _bounds(bounds: Bounds) -> tuple[np.ndarray, np.ndarray]:
    """``(lower, upper)`` as float64 arrays of shape (3,), checked."""
    if isinstance(bounds, (int, float)):
        lower, upper = -float(bounds) * np.ones(3), float(bounds) * np.ones(3)
    else:
        try:
            lower, upper = (np.asarray(b, dtype=np.float64).reshape(3) for b in bounds)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"bounds must be a number s (the cube [-s, s]^3) or (lower, upper), each three "
                f"numbers; got {bounds!r}"
            ) from error
    if not (upper > lower).all():
        raise ValueError(f"bounds: every upper must exceed its lower; got {lower} and {upper}")
    return lower, upper


def _resolution(resolution: Resolution) -> tuple[int, int, int]:
    sizes = (resolution,) * 3 if isinstance(resolution, int) else tuple(resolution)
    if len(sizes) != 3 or not all(isinstance(n, int) and n >= 2 for n in sizes):
        raise ValueError(f"resolution must be an int >= 2 or three of them, got {resolution!r}")
    return sizes  # type: ignore[return-value]


def grid_points(
    bounds: Bounds,
    resolution: Resolution,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """The points of a regular grid over a box, built with ``torch.meshgrid``.

    Args:
        bounds: the box (see :data:`Bounds`); the grid includes both faces of the box.
        resolution: points per axis, ``n`` or ``(nx, ny, nz)``.
        device, dtype: of the result.

    Returns:
        ``(nx, ny, nz, 3)``: ``[i, j, k]`` is the point ``(x_i, y_j, z_k)``.

    Example:
        >>> grid_points(1.0, (2, 3, 2))[1, 2, 0].tolist()
        [1.0, 1.0, -1.0]
    """
    lower, upper = _bounds(bounds)
    sizes = _resolution(resolution)
    axes = [
        torch.linspace(lo, hi, n, device=device, dtype=dtype)
        for lo, hi, n in zip(lower.tolist(), upper.tolist(), sizes)
    ]
    return torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1)


def evaluate_on_grid(
    fn: Callable[[torch.Tensor], torch.Tensor],
    bounds: Bounds,
    resolution: Resolution,
    device: str | torch.device = "cpu",
    chunk_size: int = 262_144,
) -> torch.Tensor:
    """Evaluate an implicit function on every point of a grid, in chunks of points.

    Args:
        fn: maps ``(M, 3)`` points to ``(M,)`` values.
        bounds, resolution: the grid (see :func:`grid_points`).
        device: where the points are made and ``fn`` runs.
        chunk_size: points per call of ``fn`` (bounds the memory of its intermediates).

    Returns:
        ``(nx, ny, nz)`` values, ``[i, j, k]`` at point ``(x_i, y_j, z_k)``.
    """
    points = grid_points(bounds, resolution, device=device).reshape(-1, 3)
    with torch.no_grad():
        values = [fn(chunk) for chunk in points.split(chunk_size)]
    for value, chunk in zip(values, points.split(chunk_size)):
        if not torch.is_tensor(value) or value.shape != chunk.shape[:1]:
            shape = tuple(value.shape) if torch.is_tensor(value) else type(value).__name__
            raise ValueError(f"fn must map (M, 3) points to (M,) values; got {shape}")
    return torch.cat(values).reshape(*_resolution(resolution))


# ------------------------------------------------------------------ marching cubes
def marching_cubes(
    volume: torch.Tensor | np.ndarray,
    bounds: Bounds,
    level: float = 0.0,
    inside: Literal["below", "above"] = "below",
    device: str | torch.device | None = None,
) -> Any:
    """Mesh the level set of a grid of values with marching cubes (PyMCubes).

    PyMCubes returns vertices in *index* coordinates of the array (a vertex at ``(2.5, 0,
    7)`` lies between grid points 2 and 3 of axis 0); they are mapped to world coordinates
    with the grid spacing, axis by axis: ``x = lower_x + i (upper_x - lower_x) / (nx - 1)``.
    PyMCubes orients its triangles outwards from the region *above* the level; for
    ``inside="below"`` they are flipped, so the normals always point out of the inside.

    Args:
        volume: ``(nx, ny, nz)`` values, ``volume[i, j, k]`` at ``(x_i, y_j, z_k)``.
        bounds: the box the grid covers, both ends included (see :data:`Bounds`).
        level: the iso-value of the surface.
        inside: ``"below"``: the solid is where ``volume < level`` (signed distances);
            ``"above"``: where ``volume > level`` (occupancies, densities).
        device: of the returned mesh (default: the volume's, CPU for NumPy arrays).

    Returns:
        A ``Meshes`` with one mesh in world coordinates.

    Raises:
        ValueError: a volume that is not 3D or smaller than 2 on an axis, non-finite
            values, a bad ``inside``, or no surface (every value on one side of the level).

    Example:
        >>> ball = grid_points(1.0, 16).norm(dim=-1) - 0.8  # signed distance to a ball
        >>> mesh = marching_cubes(ball, bounds=1.0)
        >>> radii = mesh.verts_packed().norm(dim=1)
        >>> bool((radii - 0.8).abs().max() < 0.02)
        True
    """
    import mcubes

    if inside not in ("below", "above"):
        raise ValueError(f'inside must be "below" or "above", got {inside!r}')
    if device is None:
        device = volume.device if torch.is_tensor(volume) else "cpu"
    array = volume.detach().cpu().double().numpy() if torch.is_tensor(volume) else volume
    array = np.ascontiguousarray(array, dtype=np.float64)
    if array.ndim != 3 or min(array.shape) < 2:
        raise ValueError(f"volume must be (nx, ny, nz) with every n >= 2, got {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError("volume has NaN or infinite values")
    if not (array.min() < level < array.max()):
        raise ValueError(
            f"no surface: the volume's values lie in [{array.min():.4g}, {array.max():.4g}], "
            f"all on one side of level={level:g} (check the level, the function or the bounds)"
        )
    lower, upper = _bounds(bounds)
    verts, faces = mcubes.marching_cubes(array, float(level))
    spacing = (upper - lower) / (np.asarray(array.shape) - 1)
    verts = lower + verts * spacing  # index space -> world, axis by axis
    faces = faces.astype(np.int64)
    if inside == "below":
        faces = faces[:, [0, 2, 1]]  # PyMCubes faces point away from "above"; flip them
    from course_utils.p3d import structures

    return structures.Meshes(
        verts=[torch.from_numpy(verts).float().to(device)],
        faces=[torch.from_numpy(np.ascontiguousarray(faces)).to(device)],
    )


def mesh_implicit(
    fn: Callable[[torch.Tensor], torch.Tensor],
    bounds: Bounds,
    resolution: Resolution,
    level: float = 0.0,
    inside: Literal["below", "above"] = "below",
    device: str | torch.device = "cpu",
) -> Any:
    """Evaluate ``fn`` on a grid and mesh its level set: :func:`evaluate_on_grid` then
    :func:`marching_cubes` (same arguments). Returns a ``Meshes`` in world coordinates."""
    volume = evaluate_on_grid(fn, bounds, resolution, device=device)
    return marching_cubes(volume, bounds, level=level, inside=inside, device=device)


def mesh_voxels(
    occupancy: torch.Tensor | np.ndarray,
    bounds: Bounds,
    smooth: bool = True,
    method: str = "auto",
    device: str | torch.device | None = None,
) -> Any:
    """Mesh a binary voxel grid (True = solid), optionally smoothed first.

    A binary grid meshed as it is gives a blocky "staircase" surface at level 0.5.
    ``mcubes.smooth`` replaces it by a smooth function whose zero level follows the
    voxels (positive inside), which marching cubes turns into a smooth mesh.
    The grid is padded by one empty voxel on every side first, so a solid touching the
    border still gets a closed surface.

    Args:
        occupancy: ``(nx, ny, nz)`` bool (or 0/1) voxels; ``[i, j, k]`` is the voxel whose
            centre is ``(x_i, y_j, z_k)``.
        bounds: the centres of the first and last voxels on each axis (see :data:`Bounds`).
        smooth: smooth with ``mcubes.smooth`` (True) or mesh the 0.5 level as it is.
        method: ``mcubes.smooth``'s method: ``"auto"``, ``"constrained"`` (detailed, slower)
            or ``"gaussian"`` (fast, blurrier).
        device: of the returned mesh.

    Returns:
        A ``Meshes`` in world coordinates, normals pointing out of the solid.
    """
    import mcubes

    if device is None:
        device = occupancy.device if torch.is_tensor(occupancy) else "cpu"
    array = occupancy.detach().cpu().numpy() if torch.is_tensor(occupancy) else occupancy
    array = np.asarray(array)
    if array.ndim != 3:
        raise ValueError(f"occupancy must be (nx, ny, nz), got shape {array.shape}")
    binary = np.pad(array.astype(bool), 1)
    lower, upper = _bounds(bounds)
    spacing = (upper - lower) / np.maximum(np.asarray(array.shape) - 1, 1)
    padded_bounds = (lower - spacing, upper + spacing)
    if smooth:
        values = mcubes.smooth(binary, method=method)  # > 0 inside, 0 on the surface
        return marching_cubes(values, padded_bounds, 0.0, inside="above", device=device)
    return marching_cubes(binary.astype(np.float64), padded_bounds, 0.5, "above", device=device)


# ------------------------------------------------------------------ parametric surfaces
def sphere_surface(u: torch.Tensor, v: torch.Tensor, radius: float = 1.0) -> torch.Tensor:
    """The sphere by longitude and latitude: ``(u, v)`` in [0, 1]² -> ``(..., 3)`` points.

    ``phi = 2 pi u`` goes around the +Y axis and ``theta = pi v`` from the north pole (+Y)
    to the south pole::

        (x, y, z) = radius (sin theta cos phi, cos theta, sin theta sin phi)

    Uniform ``(u, v)`` crowds the poles: a band of latitude ``dv`` has area proportional to
    ``sin theta``, but receives as many samples near a pole as at the equator.
    """
    phi, theta = 2 * math.pi * u, math.pi * v
    return radius * torch.stack(
        [torch.sin(theta) * torch.cos(phi), torch.cos(theta), torch.sin(theta) * torch.sin(phi)],
        dim=-1,
    )


def torus_surface(
    u: torch.Tensor,
    v: torch.Tensor,
    R: float = 0.7,  # noqa: N803 - the usual name of the ring radius
    r: float = 0.25,
) -> torch.Tensor:
    """A torus lying flat (around the +Y axis): ``(u, v)`` in [0, 1]² -> ``(..., 3)`` points.

    ``phi = 2 pi u`` goes around the big ring (radius ``R``, in the XZ plane) and
    ``theta = 2 pi v`` around the tube (radius ``r``)::

        (x, y, z) = ((R + r cos theta) cos phi,  r sin theta,  (R + r cos theta) sin phi)
    """
    phi, theta = 2 * math.pi * u, 2 * math.pi * v
    ring = R + r * torch.cos(theta)
    return torch.stack([ring * torch.cos(phi), r * torch.sin(theta), ring * torch.sin(phi)], -1)


def torus_sdf(
    points: torch.Tensor,
    R: float = 0.7,  # noqa: N803 - the usual name of the ring radius
    r: float = 0.25,
) -> torch.Tensor:
    """Signed distance from ``(..., 3)`` points to the torus of :func:`torus_surface`.

    The nearest point of the tube's centre circle (radius ``R`` in the XZ plane) is at
    horizontal distance ``sqrt(x² + z²) - R`` and height ``y``; the surface is ``r``
    further::

        f(x, y, z) = sqrt((sqrt(x² + z²) - R)² + y²) - r      (< 0 inside the tube)

    Example:
        >>> torus_sdf(torch.tensor([[0.7, 0.0, 0.0], [0.0, 0.0, 0.0]]), R=0.7, r=0.25)
        tensor([-0.2500,  0.4500])
    """
    ring = points[..., [0, 2]].norm(dim=-1) - R
    return torch.stack([ring, points[..., 1]], dim=-1).norm(dim=-1) - r


def trefoil_curve(t: torch.Tensor, scale: float = 0.3) -> tuple[torch.Tensor, ...]:
    """The trefoil knot ``c(t) = scale (sin t + 2 sin 2t, cos t - 2 cos 2t, -sin 3t)``.

    Args:
        t: angles in radians, any shape.
        scale: size factor (0.3 makes the knot about 1.6 units across).

    Returns:
        ``(c, dc, ddc)``: the point, its first and second derivatives w.r.t. ``t``, each
        ``(..., 3)``.
    """
    c = torch.stack(
        [
            torch.sin(t) + 2 * torch.sin(2 * t),
            torch.cos(t) - 2 * torch.cos(2 * t),
            -torch.sin(3 * t),
        ],
        dim=-1,
    )
    dc = torch.stack(
        [
            torch.cos(t) + 4 * torch.cos(2 * t),
            -torch.sin(t) + 4 * torch.sin(2 * t),
            -3 * torch.cos(3 * t),
        ],
        dim=-1,
    )
    ddc = torch.stack(
        [
            -torch.sin(t) - 8 * torch.sin(2 * t),
            -torch.cos(t) + 8 * torch.cos(2 * t),
            9 * torch.sin(3 * t),
        ],
        dim=-1,
    )
    return scale * c, scale * dc, scale * ddc


def trefoil_tube_surface(
    u: torch.Tensor, v: torch.Tensor, radius: float = 0.1, scale: float = 0.3
) -> torch.Tensor:
    """A tube of radius ``radius`` around the trefoil knot: ``(u, v)`` -> ``(..., 3)``.

    ``u`` runs along the knot (``t = 2 pi u``) and ``v`` around the tube. At each point of
    the curve the Frenet frame gives two unit vectors across it: the normal ``N`` (towards
    the centre of curvature) and the binormal ``B = T x N``; the tube's circle is
    ``c(t) + radius (cos(2 pi v) N + sin(2 pi v) B)``. (The trefoil's curvature never
    vanishes, so ``N`` is defined everywhere; the radius must stay below the smallest
    radius of curvature, about 0.39 at ``scale=0.3``, and half the closest approach of
    two strands.)
    """
    c, dc, ddc = trefoil_curve(2 * math.pi * u, scale)
    tangent = dc / dc.norm(dim=-1, keepdim=True)
    normal = ddc - (ddc * tangent).sum(dim=-1, keepdim=True) * tangent
    normal = normal / normal.norm(dim=-1, keepdim=True)
    binormal = torch.linalg.cross(tangent, normal, dim=-1)
    angle = (2 * math.pi * v)[..., None]
    return c + radius * (torch.cos(angle) * normal + torch.sin(angle) * binormal)


def sample_parametric(
    surface: Callable[..., torch.Tensor],
    num_samples: int,
    generator: torch.Generator | None = None,
    device: str | torch.device = "cpu",
    **kwargs: Any,
) -> torch.Tensor:
    """Points of a parametric surface at uniformly random ``(u, v)`` in [0, 1)².

    Uniform in the parameters is *not* uniform on the surface: where the map stretches
    the ``(u, v)`` square a lot, the points are sparse (compare
    ``sample_points_from_meshes``, which is uniform by area).

    Args:
        surface: ``surface(u, v, **kwargs) -> (..., 3)``, e.g. :func:`torus_surface`.
        num_samples: number of points.
        generator: a seeded ``torch.Generator`` for repeatable samples.
        device: where to sample.
        **kwargs: passed to ``surface`` (radii ...).

    Returns:
        ``(num_samples, 3)`` points.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> points = sample_parametric(sphere_surface, 100, generator=g, radius=2.0)
        >>> points.shape, round(float(points.norm(dim=1).mean()), 4)
        (torch.Size([100, 3]), 2.0)
    """
    uv = torch.rand(2, num_samples, generator=generator).to(device)
    return surface(uv[0], uv[1], **kwargs)
