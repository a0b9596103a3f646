"""3D reconstruction metrics: Chamfer distance, F-score at a distance threshold, voxel IoU.

Used to evaluate the single-view models of chapter 05 (and anywhere a predicted shape is
compared with a ground truth). Every function takes a batch, works on any device and
goes through :mod:`course_utils.p3d`, so it runs on real PyTorch3D and on the built-in
backend alike.

Which metric says what:

* **Chamfer distance** (:func:`chamfer`): the mean *squared* distance from each point to
  its nearest neighbour in the other set, both ways, summed (PyTorch3D's convention). One
  number, smooth, but dominated by outliers and in squared units.
* **F-score@τ** (:func:`f_score`, Tatarchenko et al., "What do single-view 3D
  reconstruction networks learn?", CVPR 2019): precision is the fraction of predicted
  points within distance τ (plain, not squared) of the ground truth, recall the fraction
  of ground-truth points within τ of the prediction, and F = 2PR / (P + R). It reads as
  "what share of the shape is right to within τ", is robust to outliers and separates
  "predicted junk" (low precision) from "missed parts" (low recall).
* **Voxel IoU** (:func:`voxel_iou`): |pred ∩ target| / |pred ∪ target| of occupancy grids.

All fractions are returned in [0, 1]; multiply by 100 for percentages.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from course_utils.p3d import loss as p3d_loss
from course_utils.p3d import ops as p3d_ops

__all__ = ["FScore", "chamfer", "f_score", "voxel_iou"]


class FScore(NamedTuple):
    """Precision, recall and F-score, each a tensor of shape ``(N,)`` (or ``()``), in [0, 1]."""

    precision: torch.Tensor
    recall: torch.Tensor
    f_score: torch.Tensor


def _as_batch(points: torch.Tensor, name: str) -> tuple[torch.Tensor, bool]:
    """``(N, P, D)`` view of ``(P, D)`` or ``(N, P, D)`` points, and whether it was batched."""
    if not torch.is_tensor(points) or points.dim() not in (2, 3):
        shape = tuple(points.shape) if torch.is_tensor(points) else type(points).__name__
        raise ValueError(f"{name} must be a tensor of shape (P, D) or (N, P, D), got {shape}")
    return (points, True) if points.dim() == 3 else (points[None], False)


def _check_pair(x: torch.Tensor, y: torch.Tensor, x_name: str, y_name: str) -> None:
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"{x_name} and {y_name} hold {x.shape[0]} and {y.shape[0]} clouds")
    if x.shape[2] != y.shape[2]:
        raise ValueError(
            f"{x_name} and {y_name} have points of dimension {x.shape[2]} and {y.shape[2]}"
        )


def chamfer(
    x: torch.Tensor,
    y: torch.Tensor,
    x_lengths: torch.Tensor | None = None,
    y_lengths: torch.Tensor | None = None,
    batch_reduction: str | None = "mean",
) -> torch.Tensor:
    """Chamfer distance, PyTorch3D's convention: mean squared NN distance both ways, summed.

    ``CD(X, Y) = mean_{x in X} min_y |x - y|² + mean_{y in Y} min_x |x - y|²``.

    Args:
        x: ``(N, P1, D)`` (or ``(P1, D)``) points.
        y: ``(N, P2, D)`` (or ``(P2, D)``) points.
        x_lengths: optional ``(N,)`` number of real points per cloud of ``x``.
        y_lengths: optional ``(N,)`` the same for ``y``.
        batch_reduction: ``"mean"`` (default) or ``"sum"`` over the batch, or None for one
            value per cloud.

    Returns:
        A scalar, or ``(N,)`` with ``batch_reduction=None``; a scalar for unbatched input.
        Differentiable w.r.t. ``x`` and ``y`` (usable as a loss).

    Example:
        >>> import torch
        >>> x = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
        >>> chamfer(x, x)
        tensor(0.)
        >>> chamfer(x, x + torch.tensor([0.0, 0.0, 0.1]))  # 0.1² each way
        tensor(0.0200)
    """
    x, batched = _as_batch(x, "x")
    y, _ = _as_batch(y, "y")
    _check_pair(x, y, "x", "y")
    value, _ = p3d_loss.chamfer_distance(
        x, y, x_lengths=x_lengths, y_lengths=y_lengths, batch_reduction=batch_reduction
    )
    return value if batched or value.dim() == 0 else value[0]


def _share_within(
    source: torch.Tensor,
    target: torch.Tensor,
    source_lengths: torch.Tensor,
    target_lengths: torch.Tensor,
    threshold: float,
) -> torch.Tensor:
    """``(N,)`` fraction of the real points of ``source`` within ``threshold`` of ``target``."""
    N, P, _ = source.shape
    squared = p3d_ops.knn_points(
        source, target, lengths1=source_lengths, lengths2=target_lengths, K=1
    ).dists[..., 0]  # (N, P) squared distances
    real = torch.arange(P, device=source.device)[None] < source_lengths[:, None]
    real &= (target_lengths > 0)[:, None]  # nothing is near an empty cloud
    hits = ((squared < threshold**2) & real).sum(1)
    return hits.to(source.dtype) / source_lengths.clamp(min=1).to(source.dtype)


def f_score(
    pred_points: torch.Tensor,
    gt_points: torch.Tensor,
    threshold: float,
    pred_lengths: torch.Tensor | None = None,
    gt_lengths: torch.Tensor | None = None,
) -> FScore:
    """Precision, recall and F-score at distance ``threshold`` (Tatarchenko et al. 2019).

    precision = share of predicted points whose nearest ground-truth point is closer than
    ``threshold`` (a plain Euclidean distance, not squared); recall = share of ground-truth
    points closer than ``threshold`` to the prediction; F = 2 P R / (P + R), 0 when both
    are 0. An empty cloud scores 0.

    Args:
        pred_points: ``(N, P1, D)`` (or ``(P1, D)``) predicted points, e.g. sampled from a
            predicted mesh.
        gt_points: ``(N, P2, D)`` (or ``(P2, D)``) ground-truth points.
        threshold: the distance τ, in the units of the points.
        pred_lengths: optional ``(N,)`` number of real points per predicted cloud.
        gt_lengths: optional ``(N,)`` the same for the ground truth.

    Returns:
        ``FScore(precision, recall, f_score)``: tensors of shape ``(N,)`` (``()`` for
        unbatched input), fractions in [0, 1] (multiply by 100 for percent).

    Raises:
        ValueError: for a non-positive ``threshold`` or inputs of the wrong shape.

    Example:
        >>> import torch
        >>> gt = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
        >>> pred = torch.tensor([[0.0, 0.0, 0.05]])  # one point, near gt[0] only
        >>> f_score(pred, gt, threshold=0.1)
        FScore(precision=tensor(1.), recall=tensor(0.5000), f_score=tensor(0.6667))
    """
    if not threshold > 0:
        raise ValueError(f"threshold must be positive, got {threshold!r}")
    pred, batched = _as_batch(pred_points, "pred_points")
    gt, _ = _as_batch(gt_points, "gt_points")
    _check_pair(pred, gt, "pred_points", "gt_points")
    N = pred.shape[0]
    if pred_lengths is None:
        pred_lengths = torch.full((N,), pred.shape[1], dtype=torch.int64, device=pred.device)
    if gt_lengths is None:
        gt_lengths = torch.full((N,), gt.shape[1], dtype=torch.int64, device=gt.device)
    with torch.no_grad():
        precision = _share_within(pred, gt, pred_lengths, gt_lengths, threshold)
        recall = _share_within(gt, pred, gt_lengths, pred_lengths, threshold)
        total = precision + recall
        f = torch.where(total > 0, 2 * precision * recall / total.clamp(min=1e-12), total)
    if not batched:
        precision, recall, f = precision[0], recall[0], f[0]
    return FScore(precision=precision, recall=recall, f_score=f)


def voxel_iou(pred: torch.Tensor, target: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """Intersection over union of occupancy grids.

    Both grids are binarised with ``>= threshold`` (boolean grids are used as they are):
    ``pred`` usually holds predicted probabilities, ``target`` 0/1 occupancies.

    Args:
        pred: ``(N, D, H, W)`` (or ``(D, H, W)``) predicted occupancy.
        target: same shape, ground-truth occupancy.
        threshold: occupancy threshold.

    Returns:
        ``(N,)`` (``()`` for an unbatched grid) ``|pred ∩ target| / |pred ∪ target|`` in
        [0, 1]; 1 where both grids are empty (they agree perfectly).

    Example:
        >>> import torch
        >>> target = torch.zeros(1, 2, 2)
        >>> target[0, 0] = 1.0  # 2 occupied voxels
        >>> pred = torch.tensor([[[0.9, 0.2], [0.7, 0.1]]])  # 2 occupied, 1 of them right
        >>> voxel_iou(pred, target)
        tensor(0.3333)
    """
    if not torch.is_tensor(pred) or not torch.is_tensor(target):
        raise ValueError("pred and target must be tensors")
    if pred.shape != target.shape:
        raise ValueError(
            f"pred and target shapes differ: {tuple(pred.shape)} vs {tuple(target.shape)}"
        )
    if pred.dim() not in (3, 4):
        raise ValueError(f"grids must be (D, H, W) or (N, D, H, W), got {tuple(pred.shape)}")
    batched = pred.dim() == 4
    if not batched:
        pred, target = pred[None], target[None]

    def occupied(grid: torch.Tensor) -> torch.Tensor:
        return grid if grid.dtype == torch.bool else grid >= threshold

    p, t = occupied(pred).flatten(1), occupied(target).flatten(1)
    intersection = (p & t).sum(1)
    union = (p | t).sum(1)
    dtype = pred.dtype if pred.dtype.is_floating_point else torch.float32
    iou = torch.where(
        union > 0,
        intersection.to(dtype) / union.clamp(min=1).to(dtype),
        torch.ones((), dtype=dtype, device=pred.device),
    )
    return iou if batched else iou[0]
