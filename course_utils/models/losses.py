"""Training losses of the single-view models, one per output representation.

* **Voxels** — :func:`voxel_bce_loss`: binary cross-entropy per voxel, the occupied voxels
  weighted ``pos_weight`` times more. Most voxels are empty, so an unweighted loss is
  happy to predict "empty" a little too often and thin parts vanish. Weighting has a price
  worth knowing: with weight ``w`` the loss is minimised by ``p = w q / (w q + 1 - q)``
  for a voxel that is occupied with probability ``q``, so thresholding ``p`` at 0.5 calls
  a voxel occupied once ``q > 1 / (1 + w)`` — a small ``w`` (1.5-3) thickens the shape
  slightly, a large one inflates it.
* **Points** — :func:`point_chamfer_loss`: the chamfer distance (PyTorch3D's
  ``chamfer_distance``: mean squared nearest-neighbour distance, both ways) between the
  predicted points and a random subset of the ground-truth surface points.
* **Meshes** — :func:`mesh_loss`: chamfer between points sampled on the predicted mesh
  (``sample_points_from_meshes``, differentiable w.r.t. the vertices) and the ground
  truth, plus regularisers that keep the surface well behaved: Laplacian smoothing (no
  spikes), edge length (no long stretched triangles) and normal consistency (neighbouring
  faces agree, no folds).
* **Implicit** — :func:`implicit_loss`: binary cross-entropy of the occupancy logits at
  query points. Queries (:func:`sample_queries`) are half uniform in the box around the
  shape (they teach "far away is empty") and half near the surface (ground-truth surface
  points plus Gaussian noise — where the decision is hard and the mesh will be extracted).

  **Labels come from the ground-truth voxels** (:func:`occupancy_at`): the 32³ grid is
  interpolated trilinearly at the query and the query is *inside* when the value is
  ≥ 0.5. This is exactly the surface that marching cubes extracts from the ground-truth
  voxels at level 0.5, so the implicit model learns the same target as the voxel models
  (and can be compared with them fairly); it is deterministic and cheap (one
  ``grid_sample``). The price: details finer than a voxel (1/32 of the box) are lost.
  The alternative, the sign of ``(query - nearest surface point) · normal`` from the
  dataset's points and normals, is sharper but noisy where the surface samples are sparse
  and wrong near thin parts seen from both sides.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812

from course_utils.p3d import loss as p3d_loss
from course_utils.p3d import ops as p3d_ops

__all__ = [
    "voxel_bce_loss",
    "point_chamfer_loss",
    "mesh_loss",
    "implicit_loss",
    "occupancy_at",
    "sample_queries",
    "subsample_points",
]


def voxel_bce_loss(
    logits: torch.Tensor, target: torch.Tensor, pos_weight: float = 2.0
) -> torch.Tensor:
    """Binary cross-entropy of voxel logits, occupied voxels weighted ``pos_weight``.

    Args:
        logits: ``(B, D, H, W)`` predicted occupancy logits.
        target: ``(B, D, H, W)`` ground-truth occupancy in {0, 1} (or soft, in [0, 1]).
        pos_weight: weight of the occupied voxels' term (1 = plain BCE).

    Returns:
        The mean over all voxels (a scalar).

    Example:
        >>> target = torch.tensor([[[[1.0, 0.0]]]])
        >>> float(voxel_bce_loss(torch.tensor([[[[20.0, -20.0]]]]), target)) < 1e-6
        True
    """
    if logits.shape != target.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and target {tuple(target.shape)} differ")
    weight = torch.as_tensor(pos_weight, dtype=logits.dtype, device=logits.device)
    return F.binary_cross_entropy_with_logits(logits, target.to(logits.dtype), pos_weight=weight)


def subsample_points(
    points: torch.Tensor, num: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``num`` random points (without replacement) of each cloud of ``(B, P, 3)``.

    Returns ``points`` itself when ``num >= P``. The same random columns are taken for
    every cloud (the clouds are themselves random samples, so this is still uniform).
    """
    P = points.shape[1]
    if num >= P:
        return points
    idx = torch.randperm(P, generator=generator)[:num].to(points.device)
    return points[:, idx]


def point_chamfer_loss(pred_points: torch.Tensor, gt_points: torch.Tensor) -> torch.Tensor:
    """Chamfer distance between ``(B, N, 3)`` predictions and ``(B, P, 3)`` ground truth.

    PyTorch3D's ``chamfer_distance`` (squared distances, mean over points, summed over
    the two directions, mean over the batch).

    Example:
        >>> x = torch.zeros(1, 4, 3)
        >>> float(point_chamfer_loss(x, x + 0.1))  # 3 * 0.1² each way
        0.06...
    """
    value, _ = p3d_loss.chamfer_distance(pred_points, gt_points)
    return value


def mesh_loss(
    meshes: Any,
    gt_points: torch.Tensor,
    num_samples: int = 2048,
    w_chamfer: float = 1.0,
    w_laplacian: float = 0.1,
    w_edge: float = 0.1,
    w_normal: float = 0.01,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Chamfer to the ground truth plus the mesh regularisers, weighted and summed.

    Args:
        meshes: a ``Meshes`` batch of B predicted meshes.
        gt_points: ``(B, P, 3)`` ground-truth surface points.
        num_samples: points sampled on each predicted mesh for the chamfer term.
        w_chamfer, w_laplacian, w_edge, w_normal: weights of chamfer,
            ``mesh_laplacian_smoothing`` (uniform), ``mesh_edge_loss`` and
            ``mesh_normal_consistency``; a weight of 0 skips that term.

    Returns:
        ``(total, parts)``: the weighted sum and the unweighted terms by name.
    """
    samples = p3d_ops.sample_points_from_meshes(meshes, num_samples)
    parts = {"chamfer": point_chamfer_loss(samples, gt_points)}
    if w_laplacian:
        parts["laplacian"] = p3d_loss.mesh_laplacian_smoothing(meshes, method="uniform")
    if w_edge:
        parts["edge"] = p3d_loss.mesh_edge_loss(meshes)
    if w_normal:
        parts["normal"] = p3d_loss.mesh_normal_consistency(meshes)
    weights = {"chamfer": w_chamfer, "laplacian": w_laplacian, "edge": w_edge, "normal": w_normal}
    total = sum(weights[name] * value for name, value in parts.items())
    return total, parts  # type: ignore[return-value]


def occupancy_at(voxels: torch.Tensor, points: torch.Tensor, extent: float = 0.5) -> torch.Tensor:
    """Trilinear interpolation of voxel grids at query points.

    Args:
        voxels: ``(B, D, H, W)`` occupancies, axes (z, y, x), the grid filling
            [-extent, extent]³ (the course dataset's convention).
        points: ``(B, Q, 3)`` world ``(x, y, z)`` points.
        extent: half the side of the grid's box.

    Returns:
        ``(B, Q)`` interpolated values; outside the grid the values fade to 0 (empty)
        over the last half voxel.

    Example:
        >>> grid = torch.zeros(1, 2, 2, 2)
        >>> grid[0, :, :, 1] = 1.0  # the x > 0 half is full
        >>> occupancy_at(grid, torch.tensor([[[0.25, 0.0, 0.0], [-0.25, 0.1, 0.0]]]))
        tensor([[1., 0.]])
    """
    if voxels.dim() != 4 or points.dim() != 3 or voxels.shape[0] != points.shape[0]:
        raise ValueError(
            f"voxels must be (B, D, H, W) and points (B, Q, 3) with the same B; got "
            f"{tuple(voxels.shape)} and {tuple(points.shape)}"
        )
    grid = (points / extent).view(points.shape[0], -1, 1, 1, 3)  # (x, y, z) in [-1, 1]
    values = F.grid_sample(
        voxels[:, None].to(points.dtype), grid, mode="bilinear", padding_mode="zeros",
        align_corners=False,
    )  # fmt: skip
    return values.view(points.shape[0], -1)


def sample_queries(
    gt_points: torch.Tensor,
    num_uniform: int = 512,
    num_near: int = 512,
    sigma: float = 0.02,
    extent: float = 0.55,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Query points for an implicit decoder: uniform in a box plus near the surface.

    Args:
        gt_points: ``(B, P, 3)`` ground-truth surface points.
        num_uniform: points uniform in ``[-extent, extent]³`` per shape.
        num_near: surface points (drawn with replacement) plus ``N(0, sigma²)`` noise.
        sigma: standard deviation of the noise (world units).
        extent: half the side of the box (a little larger than the shapes' box, 0.5).
        generator: for repeatable queries (on the CPU; the result is moved to the device).

    Returns:
        ``(B, num_uniform + num_near, 3)`` points.
    """
    B, P, _ = gt_points.shape
    uniform = (torch.rand(B, num_uniform, 3, generator=generator) * 2 - 1) * extent
    idx = torch.randint(P, (B, num_near), generator=generator)
    noise = torch.randn(B, num_near, 3, generator=generator) * sigma
    near = torch.gather(gt_points.cpu(), 1, idx[..., None].expand(-1, -1, 3)) + noise
    return torch.cat([uniform, near.to(uniform.dtype)], dim=1).to(gt_points.device)


def implicit_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of ``(B, Q)`` occupancy logits against ``(B, Q)`` 0/1 labels."""
    return F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))
