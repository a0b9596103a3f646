"""Score single-view reconstructions: F1@τ, Chamfer, voxel IoU per shape and per category.

**Protocol** (Tatarchenko et al., "What do single-view 3D reconstruction networks
learn?", CVPR 2019): every prediction is turned into points on its surface and compared
with the ground-truth surface points of the dataset (5,000 per shape, outer surface only):

* **points** models: the predicted points as they are (a point cloud has no surface to
  sample more from);
* **mesh** models: 5,000 points sampled uniformly on the predicted mesh;
* **voxel** and **implicit** models: the predicted occupancy probabilities on the 32³
  grid are meshed with **marching cubes at p = 0.5** (the grid padded with empty voxels,
  so the surface is closed), then 5,000 points are sampled. Marching cubes rather than
  ``cubify``: it places the surface *between* voxel centres where the probability crosses
  0.5, giving a smooth surface within a fraction of a voxel of the decision boundary;
  ``cubify``'s staircase of cube faces is up to half a voxel (1/64 ≈ 0.016) off and has
  extra area, which would penalise the voxel models at τ = 0.01 for the representation
  rather than for what they predicted.

Metrics per shape, then averaged over shapes (overall and per category):

* **F1@τ** for τ in :data:`TAUS` (0.01 … 0.05, in the units of a shape whose bounding box
  diagonal is 1): the harmonic mean of precision (share of predicted points within τ of
  the ground truth) and recall (share of ground-truth points within τ of the prediction),
  as :func:`course_utils.metrics.f_score` computes it;
* **Chamfer** distance in PyTorch3D's convention (:func:`course_utils.metrics.chamfer`:
  mean *squared* nearest-neighbour distance both ways, summed), reported ×1000;
* **voxel IoU** at 32³ (:func:`course_utils.metrics.voxel_iou`) — only for predictions
  that *are* occupancy grids: voxel and implicit models (the implicit function evaluated
  at the voxel centres) and both baselines. Point clouds have no inside; a mesh would
  have to be voxelised with an inside test first, which this chapter does not do, so
  those rows show "-".

An empty prediction (no voxel above 0.5, nothing to mesh) scores F1 = 0, and its Chamfer
distance is measured from a single point at the origin.

The baselines are in :mod:`course_utils.evaluation.baselines`, the figures in
:mod:`course_utils.evaluation.plots`, the whole evaluation of a checkpoint in
:mod:`course_utils.evaluation.checkpoint`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812
from torch.utils.data import DataLoader, Dataset

from course_utils.p3d import ops, structures

__all__ = [
    "TAUS",
    "NUM_POINTS",
    "ShapePrediction",
    "occupancy_to_mesh",
    "predictions_from_model",
    "point_metrics",
    "evaluate_predictor",
    "evaluate_model",
    "summarize",
    "format_table",
    "format_category_table",
]

#: The distance thresholds of the F-score (bounding-box diagonal 1).
TAUS: tuple[float, ...] = (0.01, 0.02, 0.03, 0.04, 0.05)
#: Points per shape compared (sampled from predicted meshes; the ground truth has as many).
NUM_POINTS = 5000
#: Side of the voxel grids (the course dataset's 32³) and the half side of their box.
GRID, EXTENT = 32, 0.5


@dataclass
class ShapePrediction:
    """One predicted shape, in the forms the metrics need.

    Attributes:
        points: ``(P, 3)`` points on the predicted surface (``(0, 3)``: nothing predicted).
        occupancy: ``(32, 32, 32)`` occupancy probabilities, axes (z, y, x), when the
            prediction is a grid (voxel/implicit models, baselines); else None.
        mesh: the predicted surface as a one-mesh ``Meshes`` (for pictures), if any.
    """

    points: torch.Tensor
    occupancy: torch.Tensor | None = None
    mesh: Any = None


# ------------------------------------------------------------------ predictions -> points
def occupancy_to_mesh(probabilities: torch.Tensor, level: float = 0.5) -> Any:
    """Mesh an occupancy grid with marching cubes at ``level`` (None if nothing crosses it).

    Args:
        probabilities: ``(R, R, R)`` values, axes (z, y, x), voxel centres at
            ``-0.5 + (i + 0.5) / R`` (the course dataset's convention).
        level: the iso-value (0.5 for probabilities; 0 for logits).

    Returns:
        A one-mesh ``Meshes`` in world coordinates (normals outwards), or None when no
        value is above ``level`` (an empty prediction) or all are.

    Example:
        >>> from course_utils.models import voxel_centres
        >>> ball = (voxel_centres(32).norm(dim=-1) < 0.3).float()
        >>> radii = occupancy_to_mesh(ball).verts_packed().norm(dim=1)
        >>> bool((radii - 0.3).abs().max() < 0.03)
        True
    """
    from course_utils.surfaces import marching_cubes

    R = probabilities.shape[-1]
    values = probabilities.detach().float().cpu().permute(2, 1, 0)  # (x, y, z) for surfaces
    low = float(values.min()) if values.numel() else 0.0
    padded = F.pad(values, (1, 1, 1, 1, 1, 1), value=min(low, level - 1.0))
    first = -EXTENT + 0.5 * (2 * EXTENT / R) - 2 * EXTENT / R  # centre of the padding voxel
    if not float(padded.max()) > level:
        return None
    try:
        return marching_cubes(padded, bounds=([first] * 3, [-first] * 3), level=level,
                              inside="above")  # fmt: skip
    except ValueError:
        return None


def _sample(mesh: Any, num_points: int) -> torch.Tensor:
    if mesh is None:
        return torch.zeros(0, 3)
    return ops.sample_points_from_meshes(mesh, num_points)[0].detach().cpu()


@torch.no_grad()
def predictions_from_model(
    model: Any, images: torch.Tensor, num_points: int = NUM_POINTS
) -> list[ShapePrediction]:
    """Run ``model`` on ``(B, 3, S, S)`` images and convert each output (see the module
    docstring): points as they are, meshes sampled, grids meshed by marching cubes."""
    model.eval()
    out = model(images.to(model.device))
    kind = model.kind
    if kind in ("voxels", "implicit"):
        probabilities = torch.sigmoid(out).cpu()
        predictions = []
        for grid in probabilities:
            mesh = occupancy_to_mesh(grid)
            predictions.append(ShapePrediction(_sample(mesh, num_points), grid, mesh))
        return predictions
    if kind == "points":
        return [ShapePrediction(points.cpu()) for points in out]
    if kind == "projections":  # chapter 07: the fused cloud, every pixel in the masks
        points, valid = model.decoder.fuse(out)
        return [ShapePrediction(p[v].cpu()) for p, v in zip(points, valid)]
    if kind == "mesh":
        samples = ops.sample_points_from_meshes(out, num_points).cpu()
        verts, faces = out.verts_list(), out.faces_list()
        return [
            ShapePrediction(s, None, structures.Meshes(verts=[v.cpu()], faces=[f.cpu()]))
            for s, v, f in zip(samples, verts, faces)
        ]
    raise ValueError(f"unknown model kind {kind!r}")


# ------------------------------------------------------------------ metrics
def point_metrics(
    pred: torch.Tensor, gt: torch.Tensor, taus: Sequence[float] = TAUS
) -> dict[str, float]:
    """F1, precision and recall at every τ, and the Chamfer distance, of one shape.

    The nearest-neighbour distances are computed once (``knn_points``) and thresholded
    for every τ; the results equal :func:`course_utils.metrics.f_score` and
    :func:`course_utils.metrics.chamfer` (the tests check this).

    Args:
        pred: ``(P1, 3)`` predicted points (may be empty: F1 = 0, Chamfer from the origin).
        gt: ``(P2, 3)`` ground-truth points.
        taus: distance thresholds.

    Returns:
        ``{"chamfer": ..., "f1@0.01": ..., "precision@0.01": ..., "recall@0.01": ...}``,
        F1/precision/recall as fractions in [0, 1].

    Example:
        >>> gt = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
        >>> m = point_metrics(gt + torch.tensor([0.0, 0.0, 0.02]), gt, taus=[0.01, 0.05])
        >>> m["f1@0.01"], m["f1@0.05"], round(m["chamfer"], 6)
        (0.0, 1.0, 0.0008)
    """
    empty = pred.shape[0] == 0
    if empty:
        pred = torch.zeros(1, 3, dtype=gt.dtype, device=gt.device)
    pred, gt = pred[None].float(), gt[None].float().to(pred.device)
    d_pred = ops.knn_points(pred, gt, K=1).dists[0, :, 0]  # squared distances
    d_gt = ops.knn_points(gt, pred, K=1).dists[0, :, 0]
    result = {"chamfer": float(d_pred.mean() + d_gt.mean())}
    for tau in taus:
        precision = 0.0 if empty else float((d_pred < tau**2).float().mean())
        recall = 0.0 if empty else float((d_gt < tau**2).float().mean())
        total = precision + recall
        result[f"f1@{tau:g}"] = 2 * precision * recall / total if total > 0 else 0.0
        result[f"precision@{tau:g}"] = precision
        result[f"recall@{tau:g}"] = recall
    return result


def _collate_for(data: Any) -> Callable[[list[dict[str, Any]]], dict[str, Any]]:
    from course_utils.training import _default_collate

    return _default_collate(data)


def evaluate_predictor(
    predict: Callable[[dict[str, Any]], list[ShapePrediction]],
    data: Dataset,
    taus: Sequence[float] = TAUS,
    batch_size: int = 32,
    progress: bool = True,
    desc: str = "evaluate",
) -> list[dict[str, float]]:
    """Score a predictor on every shape of ``data``.

    Args:
        predict: maps a batch (``collate_shapes`` output) to one
            :class:`ShapePrediction` per item.
        data: the evaluation set (items with ``"image"``, ``"points"``, ``"voxels"``,
            ``"category"``, ``"shape_id"``).
        taus, batch_size, progress, desc: thresholds, batching, a ``tqdm`` bar.

    Returns:
        One record per shape: ``shape_id``, ``category``, the :func:`point_metrics`
        entries and ``iou`` (NaN when the prediction is not a grid).
    """
    from tqdm.auto import tqdm

    from course_utils.metrics import voxel_iou

    loader = DataLoader(data, batch_size=batch_size, shuffle=False, collate_fn=_collate_for(data))
    records: list[dict[str, float]] = []
    for batch in tqdm(loader, desc=desc, leave=False, disable=not progress):
        predictions = predict(batch)
        for i, pred in enumerate(predictions):
            record: dict[str, float] = {
                "shape_id": int(batch["shape_id"][i]),
                "category": int(batch["category"][i]),
            }
            record.update(point_metrics(pred.points, batch["points"][i], taus))
            record["iou"] = (
                float(voxel_iou(pred.occupancy.float().cpu(), batch["voxels"][i].cpu()))
                if pred.occupancy is not None
                else math.nan
            )
            records.append(record)
    return records


def evaluate_model(
    model: Any,
    data: Dataset,
    taus: Sequence[float] = TAUS,
    batch_size: int = 32,
    num_points: int = NUM_POINTS,
    progress: bool = True,
) -> list[dict[str, float]]:
    """:func:`evaluate_predictor` for a trained :class:`~course_utils.models.SingleViewModel`."""
    return evaluate_predictor(
        lambda batch: predictions_from_model(model, batch["image"], num_points),
        data, taus, batch_size, progress, desc=f"evaluate {model.kind}",
    )  # fmt: skip


# ------------------------------------------------------------------ summaries and tables
def _mean(values: Sequence[float]) -> float:
    real = [v for v in values if not math.isnan(v)]
    return sum(real) / len(real) if real else math.nan


def summarize(
    records: Sequence[dict[str, float]], category_names: Sequence[str] | None = None
) -> dict[str, Any]:
    """Average the per-shape records, over all shapes and per category.

    Returns:
        ``{"all": {metric: mean}, "categories": {name: {metric: mean}}, "count": N,
        "category_counts": {name: n}}`` (metrics as in the records: fractions, Chamfer).
    """
    metrics = [k for k in (records[0] if records else {}) if k not in ("shape_id", "category")]
    summary: dict[str, Any] = {
        "all": {m: _mean([r[m] for r in records]) for m in metrics},
        "categories": {},
        "count": len(records),
        "category_counts": {},
    }
    for cat in sorted({int(r["category"]) for r in records}):
        name = category_names[cat] if category_names and cat < len(category_names) else str(cat)
        chosen = [r for r in records if int(r["category"]) == cat]
        summary["categories"][name] = {m: _mean([r[m] for r in chosen]) for m in metrics}
        summary["category_counts"][name] = len(chosen)
    return summary


def _cell(value: float, scale: float, digits: int) -> str:
    return "-" if math.isnan(value) else f"{value * scale:.{digits}f}"


def format_table(summaries: dict[str, dict[str, Any]], taus: Sequence[float] = TAUS) -> str:
    """A Markdown table: one row per method, F1@τ (%), Chamfer (×10³) and IoU (%).

    Args:
        summaries: ``{method name: summarize(records)}``, in the order to print.
    """
    head = ["method", *[f"F1@{t:g}" for t in taus], "CD ×10³", "IoU"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, summary in summaries.items():
        row = summary["all"]
        cells = [name, *[_cell(row[f"f1@{t:g}"], 100, 1) for t in taus]]
        cells += [_cell(row["chamfer"], 1000, 2), _cell(row["iou"], 100, 1)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def format_category_table(
    summaries: dict[str, dict[str, Any]], metric: str = "f1@0.05", scale: float = 100.0
) -> str:
    """A Markdown table of one metric (default F1@0.05, in %) per method and category."""
    categories: list[str] = []
    for summary in summaries.values():
        categories += [c for c in summary["categories"] if c not in categories]
    head = ["method", *categories, "all"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, summary in summaries.items():
        cells = [name]
        for cat in categories:
            value = summary["categories"].get(cat, {}).get(metric, math.nan)
            cells.append(_cell(value, scale, 1))
        cells.append(_cell(summary["all"][metric], scale, 1))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
