"""Chamfer distance between two batches of point clouds (``pytorch3d.loss.chamfer``).

What it measures
----------------
For clouds X and Y, every point of X looks up its nearest neighbour in Y and every point
of Y its nearest neighbour in X::

    CD(X, Y) = 1/|X| sum_{x in X} min_{y in Y} |x - y|²  +  1/|Y| sum_{y in Y} min_{x in X} |y - x|²

The first term ("accuracy") is small when every point of X lies near Y; the second
("completeness") when every point of Y is covered by X. Both are needed: X = a single
point in the middle of Y has a small first term only. Unlike a point-by-point L2 loss it
needs no correspondence between the clouds, so it compares a prediction with a ground
truth sampled independently.

Why squared distances by default (``norm=2``): the squared distance is smooth, its
gradient ``2 (x - y)`` pulls each point straight towards its neighbour and vanishes as it
arrives, and it needs no square root (whose gradient is infinite at 0). The price is
that the value is in squared units and large errors weigh quadratically.

Optional normal term: ``1 - |cos(n_x, n_y)|`` between the normal of each point and that of
its nearest neighbour (``abs_cosine=False`` keeps the sign: opposite normals then cost 2).

The nearest neighbours come from :func:`~course_utils.p3d.builtin.ops.knn.knn_points`,
which is chunked, so 10⁵-point clouds fit in memory; gradients flow to both clouds (and to
the normals) through the distances of the chosen neighbours.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from course_utils.p3d.builtin.ops.knn import knn_gather, knn_points
from course_utils.p3d.builtin.structures.pointclouds import Pointclouds

__all__ = ["chamfer_distance"]

#: A loss term: a tensor, or a ``(x -> y, y -> x)`` pair of per-point tensors.
LossTerm = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


def _validate_chamfer_reduction_inputs(
    batch_reduction: str | None, point_reduction: str | None
) -> None:
    """Check the requested reductions (the same rules and messages as PyTorch3D)."""
    if batch_reduction is not None and batch_reduction not in ["mean", "sum"]:
        raise ValueError('batch_reduction must be one of ["mean", "sum"] or None')
    if point_reduction is not None and point_reduction not in ["mean", "sum", "max"]:
        raise ValueError('point_reduction must be one of ["mean", "sum", "max"] or None')
    if point_reduction is None and batch_reduction is not None:
        raise ValueError("Batch reduction must be None if point_reduction is None")


def _handle_pointcloud_input(
    points: torch.Tensor | Pointclouds,
    lengths: torch.Tensor | None,
    normals: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Padded points ``(N, P, D)``, lengths ``(N,)`` and normals ``(N, P, D)`` or None.

    A ``Pointclouds`` gives its own padded points, lengths and normals (the arguments are
    then ignored, as in PyTorch3D).
    """
    if isinstance(points, Pointclouds):
        return points.points_padded(), points.num_points_per_cloud(), points.normals_padded()
    if not torch.is_tensor(points):
        raise ValueError(
            "The input pointclouds should be either Pointclouds objects or torch.Tensor of "
            f"shape (minibatch, num_points, 3); got {type(points).__name__}"
        )
    if points.ndim != 3:
        raise ValueError(f"Expected points to be of shape (N, P, D), got {tuple(points.shape)}")
    if lengths is not None:
        if not torch.is_tensor(lengths) or lengths.ndim != 1 or lengths.shape[0] != len(points):
            raise ValueError(f"Expected lengths to be of shape (N,) = ({len(points)},)")
        if lengths.numel() > 0 and int(lengths.max()) > points.shape[1]:
            raise ValueError(
                f"A length value was too long: {int(lengths.max())} > P = {points.shape[1]}"
            )
    else:
        lengths = torch.full(
            (points.shape[0],), points.shape[1], dtype=torch.int64, device=points.device
        )
    if normals is not None and normals.ndim != 3:
        raise ValueError(f"Expected normals to be of shape (N, P, 3), got {tuple(normals.shape)}")
    return points, lengths, normals


def _single_direction(
    x: torch.Tensor,
    y: torch.Tensor,
    x_lengths: torch.Tensor,
    y_lengths: torch.Tensor,
    x_normals: torch.Tensor | None,
    y_normals: torch.Tensor | None,
    weights: torch.Tensor | None,
    point_reduction: str | None,
    norm: int,
    abs_cosine: bool,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The x -> y half of the chamfer distance, reduced over points (not over the batch).

    Returns ``(cham_x, cham_norm_x)``: ``(N,)`` tensors after a point reduction, ``(N, P1)``
    per-point terms when ``point_reduction`` is None; ``cham_norm_x`` is None without
    normals.
    """
    N, P1, D = x.shape
    if y.shape[0] != N or y.shape[2] != D:
        raise ValueError(
            f"y does not have the correct shape: x is {tuple(x.shape)}, y is {tuple(y.shape)}; "
            "they need the same batch size N and point dimension D"
        )
    return_normals = x_normals is not None and y_normals is not None
    if weights is not None:
        if weights.dim() == 0 or weights.size(0) != N or weights.numel() != N:
            raise ValueError(f"weights must be of shape (N,) = ({N},)")
        if not bool((weights >= 0).all()):
            raise ValueError("weights cannot be negative.")
        if float(weights.sum()) == 0.0:
            # PyTorch3D's convention: a zero loss that is still connected to x.
            zero = (x.sum((1, 2)) * weights.view(N, 1)) * 0.0
            return zero, zero

    x_pad = torch.arange(P1, device=x.device)[None] >= x_lengths[:, None]  # (N, P1)
    x_nn = knn_points(x, y, lengths1=x_lengths, lengths2=y_lengths, norm=norm, K=1)
    cham_x = x_nn.dists[..., 0].masked_fill(x_pad, 0.0)  # (N, P1)
    if weights is not None:
        cham_x = cham_x * weights.view(N, 1)

    cham_norm_x = None
    if return_normals:
        near = knn_gather(y_normals, x_nn.idx, y_lengths)[..., 0, :]  # (N, P1, D)
        cosine = F.cosine_similarity(x_normals, near, dim=2, eps=1e-6)
        cham_norm_x = 1 - (cosine.abs() if abs_cosine else cosine)
        cham_norm_x = cham_norm_x.masked_fill(x_pad, 0.0)
        if weights is not None:
            cham_norm_x = cham_norm_x * weights.view(N, 1)

    if point_reduction == "max":
        cham_x = cham_x.max(1).values  # (N,)
    elif point_reduction is not None:
        count = x_lengths.clamp(min=1) if point_reduction == "mean" else None
        cham_x = cham_x.sum(1) if count is None else cham_x.sum(1) / count
        if cham_norm_x is not None:
            cham_norm_x = cham_norm_x.sum(1) if count is None else cham_norm_x.sum(1) / count
    return cham_x, cham_norm_x


def _batch_reduce(
    term: torch.Tensor | None, weights: torch.Tensor | None, batch_reduction: str | None
) -> torch.Tensor | None:
    """Sum or (weighted) mean over the batch of an ``(N,)`` term."""
    if term is None or batch_reduction is None:
        return term
    N = term.shape[0]
    total = term.sum()
    if batch_reduction == "sum":
        return total
    if weights is None:
        return total / max(N, 1)
    weight_sum = weights.sum()
    return total if float(weight_sum) == 0.0 else total / weight_sum


def chamfer_distance(
    x: torch.Tensor | Pointclouds,
    y: torch.Tensor | Pointclouds,
    x_lengths: torch.Tensor | None = None,
    y_lengths: torch.Tensor | None = None,
    x_normals: torch.Tensor | None = None,
    y_normals: torch.Tensor | None = None,
    weights: torch.Tensor | None = None,
    batch_reduction: str | None = "mean",
    point_reduction: str | None = "mean",
    norm: int = 2,
    single_directional: bool = False,
    abs_cosine: bool = True,
) -> tuple[LossTerm, LossTerm | None]:
    """Chamfer distance between two batches of point clouds (PyTorch3D's ``chamfer_distance``).

    Args:
        x: ``(N, P1, D)`` tensor or a ``Pointclouds`` of N clouds (then its padded points,
            lengths and normals are used).
        y: ``(N, P2, D)`` tensor or a ``Pointclouds``, the same N and D.
        x_lengths: optional ``(N,)`` int64 number of real points per cloud of ``x``;
            padded points take no part in the loss.
        y_lengths: optional ``(N,)`` int64, the same for ``y``.
        x_normals: optional ``(N, P1, D)`` normals of ``x``.
        y_normals: optional ``(N, P2, D)`` normals of ``y``; the normal term is computed
            when both are given.
        weights: optional ``(N,)`` non-negative weights of the clouds in the batch; the
            batch mean is then a weighted mean.
        batch_reduction: ``"mean"`` (default), ``"sum"`` or None (one value per cloud).
        point_reduction: ``"mean"`` (default), ``"sum"``, ``"max"`` (the largest
            nearest-neighbour distance: the Hausdorff distance; no normals allowed) or None
            (per-point terms; then ``batch_reduction`` must be None).
        norm: 2 for squared Euclidean distances (default), 1 for L1 distances.
        single_directional: only the x -> y term.
        abs_cosine: the normal term is ``1 - |cos|`` (True, orientation ignored) or
            ``1 - cos`` (False).

    Returns:
        ``(loss, loss_normals)``. With a point reduction, ``loss`` is the sum of the x -> y
        and y -> x terms (their maximum for ``"max"``): a scalar after a batch reduction,
        ``(N,)`` without. With ``point_reduction=None`` it is the pair of per-point terms
        ``((N, P1), (N, P2))`` (just ``(N, P1)`` when ``single_directional``).
        ``loss_normals`` has the same layout, or is None without normals.

    Raises:
        ValueError: bad reductions, norm, shapes, lengths or weights (PyTorch3D's checks).

    Example:
        >>> import torch
        >>> x = torch.tensor([[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]])
        >>> y = x + torch.tensor([0.0, 0.5, 0.0])  # every point moved by 0.5
        >>> loss, _ = chamfer_distance(x, y)
        >>> loss  # 0.5² from x to y plus 0.5² from y to x
        tensor(0.5000)
    """
    _validate_chamfer_reduction_inputs(batch_reduction, point_reduction)
    if norm not in (1, 2):
        raise ValueError(f"Support for 1 or 2 norm; got norm={norm!r}")
    if point_reduction == "max" and (x_normals is not None or y_normals is not None):
        raise ValueError('Normals must be None if point_reduction is "max"')
    x, x_lengths, x_normals = _handle_pointcloud_input(x, x_lengths, x_normals)
    y, y_lengths, y_normals = _handle_pointcloud_input(y, y_lengths, y_normals)
    if point_reduction == "max" and x_normals is not None and y_normals is not None:
        raise ValueError(
            'Normals must be None if point_reduction is "max" (Pointclouds with normals)'
        )

    options = dict(
        weights=weights, point_reduction=point_reduction, norm=norm, abs_cosine=abs_cosine
    )
    cham_x, norm_x = _single_direction(x, y, x_lengths, y_lengths, x_normals, y_normals, **options)
    if single_directional:
        loss, loss_normals = cham_x, norm_x
    else:
        cham_y, norm_y = _single_direction(
            y, x, y_lengths, x_lengths, y_normals, x_normals, **options
        )
        if point_reduction is None:
            return (cham_x, cham_y), (None if norm_x is None else (norm_x, norm_y))
        if point_reduction == "max":
            loss, loss_normals = torch.maximum(cham_x, cham_y), None
        else:
            loss = cham_x + cham_y
            loss_normals = None if norm_x is None else norm_x + norm_y
    return (
        _batch_reduce(loss, weights, batch_reduction),
        _batch_reduce(loss_normals, weights, batch_reduction),
    )
