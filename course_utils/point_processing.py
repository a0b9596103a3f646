"""Cleaning a point cloud and turning it into a mesh (chapter 08), in PyTorch and with Open3D.

A cloud lifted from one depth map has three problems: stray points (depth errors at the
silhouette, "flying pixels"), no normals, and no surface. This module fixes them twice:

* **with the course's own code**, built on ``knn_points``:

  - :func:`statistical_outlier_removal` — drop points whose mean distance to their k
    nearest neighbours is far above the cloud's average (Open3D's
    ``remove_statistical_outlier``, Rusu et al. 2008);
  - :func:`estimate_normals` — PCA of each point's neighbourhood: the normal is the
    eigenvector of the covariance with the smallest eigenvalue, flipped to face the
    camera (a surface seen in a photo faces the camera);
  - :func:`poisson_reconstruct` — a *spectral* Poisson solver ("Shape As Points", Peng et
    al. 2021): splat the oriented normals on a periodic grid to get a vector field
    ``V``; the indicator function ``χ`` of the solid satisfies ``∇²χ = ∇·V``, which the
    FFT turns into a division per frequency; pymcubes meshes the level of ``χ`` at the
    points;

* **with Open3D** (:func:`open3d_pipeline`, optional): the same three steps with Open3D's
  screened Poisson reconstruction (Kazhdan & Hoppe 2013) and density trimming, to compare.

Shapes: clouds are ``(P, 3)`` tensors; meshes are ``(V, 3)`` float vertices and ``(F, 3)``
int64 faces, the faces' normals pointing out of the solid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

__all__ = [
    "knn_mean_distance",
    "statistical_outlier_removal",
    "estimate_normals",
    "splat_trilinear",
    "sample_trilinear",
    "poisson_indicator",
    "poisson_reconstruct",
    "PoissonResult",
    "trim_by_density",
    "relative_density",
    "open3d_status",
    "open3d_pipeline",
]


# ------------------------------------------------------------------ neighbours
def knn_mean_distance(points: torch.Tensor, k: int = 16) -> torch.Tensor:
    """``(P,)`` mean Euclidean distance of every point to its ``k`` nearest other points."""
    from course_utils.p3d import ops

    if points.dim() != 2 or points.shape[1] != 3:
        raise ValueError(f"points must be (P, 3), got {tuple(points.shape)}")
    k = min(k, points.shape[0] - 1)
    if k < 1:
        raise ValueError("need at least two points")
    knn = ops.knn_points(points[None], points[None], K=k + 1)  # the first is the point itself
    return knn.dists[0, :, 1:].clamp(min=0).sqrt().mean(dim=1)


def statistical_outlier_removal(
    points: torch.Tensor, k: int = 16, std_ratio: float = 2.0
) -> torch.Tensor:
    """Keep-mask of a statistical outlier removal (Open3D's ``remove_statistical_outlier``).

    For each point, ``d`` = mean distance to its ``k`` nearest neighbours. A point is an
    outlier when ``d > mean(d) + std_ratio * std(d)``: isolated points have far
    neighbours, points on the surface have near ones.

    Args:
        points: ``(P, 3)``.
        k: neighbours per point (Open3D's ``nb_neighbors``).
        std_ratio: how many standard deviations above the mean a point may lie.

    Returns:
        ``(P,)`` bool, True for the points to keep.
    """
    d = knn_mean_distance(points, k)
    return d <= d.mean() + std_ratio * d.std()


def estimate_normals(
    points: torch.Tensor, k: int = 16, camera_centre: torch.Tensor | None = None
) -> torch.Tensor:
    """``(P, 3)`` unit normals by PCA of each point's ``k`` nearest neighbours.

    The covariance of a point's neighbourhood is flat along the surface's normal: its
    eigenvector with the smallest eigenvalue (``torch.linalg.eigh`` sorts them
    ascending). PCA gives a direction without a sign; with ``camera_centre`` ``(3,)`` each
    normal is flipped to point towards the camera (Open3D's
    ``orient_normals_towards_camera_location``).
    """
    from course_utils.p3d import ops

    k = min(k, points.shape[0])
    knn = ops.knn_points(points[None], points[None], K=k, return_nn=True)
    neighbours = knn.knn[0]  # (P, k, 3), the point itself included
    centred = neighbours - neighbours.mean(dim=1, keepdim=True)
    covariance = centred.transpose(1, 2) @ centred / k  # (P, 3, 3)
    normals = torch.linalg.eigh(covariance).eigenvectors[..., 0]  # smallest eigenvalue
    if camera_centre is not None:
        towards = camera_centre.to(points) - points
        normals = torch.where((normals * towards).sum(-1, keepdim=True) < 0, -normals, normals)
    return torch.nn.functional.normalize(normals, dim=-1)


# ------------------------------------------------------------------ grids
def _corners(coords: torch.Tensor, resolution: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The 8 grid corners around each point (periodic) and their trilinear weights.

    ``coords`` ``(P, 3)`` are in grid units (``[0, R)``); returns flat indices ``(P, 8)``
    into an ``R³`` grid (axis order x, y, z -> index ``(x R + y) R + z``) and weights
    ``(P, 8)`` that sum to 1.
    """
    base = coords.floor()
    frac = coords - base
    base = base.long()
    offsets = torch.tensor(
        [[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)], device=coords.device
    )  # (8, 3)
    idx = (base[:, None, :] + offsets[None]) % resolution  # (P, 8, 3)
    w = torch.where(offsets[None].bool(), frac[:, None, :], 1 - frac[:, None, :]).prod(-1)
    flat = (idx[..., 0] * resolution + idx[..., 1]) * resolution + idx[..., 2]
    return flat, w


def splat_trilinear(coords: torch.Tensor, values: torch.Tensor, resolution: int) -> torch.Tensor:
    """Spread ``values`` ``(P, C)`` at ``coords`` ``(P, 3)`` (grid units) on a periodic
    ``(C, R, R, R)`` grid with trilinear weights (the adjoint of :func:`sample_trilinear`)."""
    flat, w = _corners(coords, resolution)
    grid = values.new_zeros(values.shape[1], resolution**3)
    contrib = (w[:, :, None] * values[:, None, :]).reshape(-1, values.shape[1])  # (P*8, C)
    grid.index_add_(1, flat.reshape(-1), contrib.T)
    return grid.reshape(values.shape[1], resolution, resolution, resolution)


def sample_trilinear(grid: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """Trilinear values ``(P,)`` of a periodic ``(R, R, R)`` grid at ``coords`` (grid units)."""
    flat, w = _corners(coords, grid.shape[0])
    return (grid.reshape(-1)[flat] * w).sum(-1)


# ------------------------------------------------------------------ Poisson
def poisson_indicator(
    coords: torch.Tensor, normals: torch.Tensor, resolution: int, sigma: float = 1.0
) -> torch.Tensor:
    """Solve ``∇²χ = ∇·V`` spectrally on a periodic ``R³`` grid ("Shape As Points").

    ``V`` is the normals splatted on the grid. In Fourier space a derivative along x is a
    multiplication by ``2πi f_x`` (``f`` in cycles per grid length), so

        χ̂(f) = (2πi f · V̂(f)) / (-4π² |f|²) = -i (f · V̂(f)) / (2π |f|²),

    with ``χ̂(0) = 0`` (the mean is free). A Gaussian low-pass ``exp(-2 (π σ |f| / R)²)``
    (``σ`` in voxels) smooths the splatting's noise. With outward normals, χ increases
    from inside to outside: the solid is where ``χ`` is *below* its value on the surface.

    Args:
        coords: ``(P, 3)`` points in grid units, in ``[0, R)``.
        normals: ``(P, 3)`` oriented unit normals.
        resolution: ``R``.
        sigma: smoothing, in voxels.

    Returns:
        ``(R, R, R)`` real grid of χ, axis order (x, y, z).
    """
    R = resolution
    field = splat_trilinear(coords, normals, R)  # (3, R, R, R)
    spectrum = torch.fft.fftn(field, dim=(1, 2, 3))
    f = torch.fft.fftfreq(R, d=1.0 / R, device=coords.device, dtype=coords.dtype)  # cycles
    fx, fy, fz = torch.meshgrid(f, f, f, indexing="ij")
    freq = torch.stack([fx, fy, fz])  # (3, R, R, R)
    squared = (freq**2).sum(0)
    divergence = (freq * spectrum).sum(0)  # f · V̂ (the 2πi goes in the next line)
    chi_hat = -1j * divergence / (2 * math.pi * squared.clamp(min=1e-12))
    chi_hat = chi_hat * torch.exp(-2 * (math.pi * sigma * squared.sqrt() / R) ** 2)
    chi_hat[0, 0, 0] = 0
    return torch.fft.ifftn(chi_hat, dim=(0, 1, 2)).real * R  # R: grid units per unit length


def _blur(grid: torch.Tensor, sigma: float = 1.5) -> torch.Tensor:
    """Gaussian blur (``sigma`` in voxels) of a periodic ``(R, R, R)`` grid, by FFT."""
    R = grid.shape[0]
    f = torch.fft.fftfreq(R, device=grid.device, dtype=grid.dtype)  # cycles per voxel
    squared = f[:, None, None] ** 2 + f[None, :, None] ** 2 + f[None, None, :] ** 2
    gain = torch.exp(-2 * math.pi**2 * sigma**2 * squared)
    return torch.fft.ifftn(torch.fft.fftn(grid) * gain).real


@dataclass
class PoissonResult:
    """A Poisson mesh: ``verts`` ``(V, 3)``, ``faces`` ``(F, 3)`` (normals outwards),
    ``density`` ``(V,)`` (the points' density near each vertex, blurred, relative to the
    cloud's typical density: about 1 on the points, near 0 where the mesh was
    extrapolated far from any point), the indicator grid ``chi`` ``(R, R, R)`` and the
    ``level`` of χ that was meshed."""

    verts: torch.Tensor
    faces: torch.Tensor
    density: torch.Tensor
    chi: torch.Tensor
    level: float = 0.0


def poisson_reconstruct(
    points: torch.Tensor,
    normals: torch.Tensor,
    resolution: int = 64,
    sigma: float = 1.0,
    margin: float = 0.25,
) -> PoissonResult:
    """Mesh oriented points with the spectral Poisson solver and pymcubes.

    The cloud's bounding box is scaled into the middle of a periodic ``R³`` grid (a
    ``margin`` of the box's largest side on every side, so the periodic copies do not
    touch), :func:`poisson_indicator` gives χ, and marching cubes meshes the level of χ
    averaged over the input points (where the surface should be).

    Args:
        points: ``(P, 3)``; normals: ``(P, 3)`` unit, pointing out of the solid.
        resolution: grid size ``R`` (a voxel is ``(1 + 2 margin) * side / R``).
        sigma: low-pass width in voxels.
        margin: empty space around the box, as a fraction of its largest side.

    Returns:
        A :class:`PoissonResult` in the points' coordinates.
    """
    import mcubes

    if points.shape != normals.shape or points.dim() != 2 or points.shape[1] != 3:
        raise ValueError(
            f"points and normals must both be (P, 3), got {tuple(points.shape)} and "
            f"{tuple(normals.shape)}"
        )
    points, normals = points.double(), normals.double()
    lo, hi = points.min(0).values, points.max(0).values
    side = float((hi - lo).max().clamp(min=1e-9))
    centre = (lo + hi) / 2
    scale = resolution / (side * (1 + 2 * margin))  # grid units per scene unit
    coords = (points - centre) * scale + resolution / 2
    chi = poisson_indicator(coords, normals, resolution, sigma)
    level = float(sample_trilinear(chi, coords).mean())
    density_grid = _blur(splat_trilinear(coords, torch.ones_like(points[:, :1]), resolution)[0])
    # relative density: 1 is the cloud's typical density, ~0 far from every point
    density_grid = density_grid / sample_trilinear(density_grid, coords).mean().clamp(min=1e-12)
    array = chi.cpu().numpy()
    verts, faces = mcubes.marching_cubes(array, level)
    faces = faces[:, [0, 2, 1]].astype(np.int64)  # the solid is below the level: flip
    grid_verts = torch.from_numpy(verts).to(points)
    density = sample_trilinear(density_grid, grid_verts)
    world = (grid_verts - resolution / 2) / scale + centre
    return PoissonResult(
        verts=world.float(),
        faces=torch.from_numpy(np.ascontiguousarray(faces)),
        density=density.float(),
        chi=chi.float(),
        level=level,
    )


def relative_density(
    points: torch.Tensor, queries: torch.Tensor, resolution: int = 64, margin: float = 0.25
) -> torch.Tensor:
    """``(Q,)`` density of ``points`` ``(P, 3)`` at ``queries`` ``(Q, 3)``, relative to the
    cloud's typical density (1 on the points, about 0 far from them).

    The same grid, splatting and blur as :func:`poisson_reconstruct`'s ``density``, for a
    mesh that came from elsewhere (Open3D's): both meshes are then trimmed by one rule.
    """
    points, queries = points.double(), queries.double()
    lo, hi = points.min(0).values, points.max(0).values
    side = float((hi - lo).max().clamp(min=1e-9))
    scale = resolution / (side * (1 + 2 * margin))
    centre = (lo + hi) / 2

    def grid_coords(x: torch.Tensor) -> torch.Tensor:
        return ((x - centre) * scale + resolution / 2).clamp(0, resolution - 1e-6)

    coords = grid_coords(points)
    grid = _blur(splat_trilinear(coords, torch.ones_like(points[:, :1]), resolution)[0])
    typical = sample_trilinear(grid, coords).mean().clamp(min=1e-12)
    return (sample_trilinear(grid, grid_coords(queries)) / typical).float()


def trim_by_density(
    verts: torch.Tensor,
    faces: torch.Tensor,
    density: torch.Tensor,
    quantile: float | None = 0.1,
    threshold: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Remove the vertices of low density (and their faces).

    Poisson closes every surface, also behind the object where the photo saw nothing; the
    density says where the mesh is supported by points. A vertex goes when its density is
    below ``threshold`` (when given; for :func:`poisson_reconstruct`'s relative density,
    e.g. 0.2) or else below the density's ``quantile`` (Open3D's usual recipe: its
    densities are octree depths, with no absolute scale). Returns ``(verts, faces)``
    re-indexed (unused vertices dropped).
    """
    if threshold is None:
        if quantile is None:
            raise ValueError("give a quantile or a threshold")
        threshold = float(torch.quantile(density.float(), quantile))
    keep = density >= threshold
    face_keep = keep[faces].all(dim=1)
    faces = faces[face_keep]
    used = torch.zeros(len(verts), dtype=torch.bool)
    used[faces.reshape(-1)] = True
    remap = torch.cumsum(used.long(), 0) - 1
    return verts[used], remap[faces]


# ------------------------------------------------------------------ Open3D
def open3d_status() -> tuple[Any, str]:
    """``(open3d module or None, message)``: Open3D is optional; say why it is missing.

    Catches ``OSError`` as well as ``ImportError``: on Linux the wheel imports but needs
    system libraries (``libusb-1.0-0``, ``libgomp1``), and a missing one raises at import.
    """
    try:
        import open3d as o3d
    except ImportError:
        return None, "Open3D is not installed (pip install 'learning-3d-vision[chapter08]')"
    except OSError as error:
        return None, f"Open3D is installed but cannot load a system library ({error})"
    return o3d, f"Open3D {o3d.__version__}"


def open3d_pipeline(
    points: torch.Tensor,
    camera_centre: torch.Tensor,
    colours: torch.Tensor | None = None,
    k: int = 16,
    std_ratio: float = 2.0,
    depth: int = 7,
    trim_quantile: float | None = None,
    trim_threshold: float = 0.4,
) -> dict[str, torch.Tensor]:
    """Outlier removal, normals towards the camera, screened Poisson and trimming, with Open3D.

    Args:
        points: ``(P, 3)``; colours: optional ``(P, 3)`` in [0, 1] (carried to the mesh).
        camera_centre: ``(3,)`` where the photo was taken from.
        k, std_ratio: the outlier removal's neighbours and threshold (as
            :func:`statistical_outlier_removal`).
        depth: the Poisson octree depth (a ``2**depth`` grid).
        trim_quantile: when given, vertices whose Open3D density is below this quantile
            are removed (Open3D's usual recipe; the right quantile depends on the shape).
        trim_threshold: otherwise (default), vertices whose :func:`relative_density` of
            the kept points is below this are removed: the same rule as the built-in
            solver's mesh, so the two surfaces are compared, not two trimming rules.

    Returns:
        ``{"keep": (P,) bool, "normals": (P', 3), "verts", "faces", "density",
        "trimmed_verts", "trimmed_faces"}`` as tensors (faces int64).

    Raises:
        ImportError: Open3D is not available (:func:`open3d_status` says why).
    """
    o3d, message = open3d_status()
    if o3d is None:
        raise ImportError(message)
    cloud = o3d.geometry.PointCloud()
    cloud.points = o3d.utility.Vector3dVector(points.detach().double().cpu().numpy())
    if colours is not None:
        cloud.colors = o3d.utility.Vector3dVector(colours.detach().double().cpu().numpy())
    cloud, kept = cloud.remove_statistical_outlier(nb_neighbors=k, std_ratio=std_ratio)
    cloud.estimate_normals(o3d.geometry.KDTreeSearchParamKNN(knn=k))
    cloud.orient_normals_towards_camera_location(camera_centre.double().cpu().numpy())
    with o3d.utility.VerbosityContextManager(o3d.utility.VerbosityLevel.Error):
        mesh, densities = o3d.geometry.TriangleMesh.create_from_point_cloud_poisson(
            cloud, depth=depth
        )
    verts = torch.from_numpy(np.asarray(mesh.vertices)).float()
    faces = torch.from_numpy(np.asarray(mesh.triangles)).long()
    density = torch.from_numpy(np.asarray(densities)).float()
    keep = torch.zeros(len(points), dtype=torch.bool)
    keep[torch.as_tensor(np.asarray(kept), dtype=torch.long)] = True
    if trim_quantile is not None:
        trimmed_verts, trimmed_faces = trim_by_density(verts, faces, density, trim_quantile)
    else:
        kept_points = torch.from_numpy(np.asarray(cloud.points))
        support = relative_density(kept_points, verts, resolution=2**depth)
        trimmed_verts, trimmed_faces = trim_by_density(
            verts, faces, support, threshold=trim_threshold
        )
    return {
        "keep": keep,
        "normals": torch.from_numpy(np.asarray(cloud.normals)).float(),
        "verts": verts,
        "faces": faces,
        "density": density,
        "trimmed_verts": trimmed_verts,
        "trimmed_faces": trimmed_faces,
    }
