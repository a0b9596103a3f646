"""Evaluate single-view reconstructions: F1@τ, Chamfer, voxel IoU, baselines, pictures.

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

**Baselines**, in the same table (they tell whether a network does more than recognise):

* **mean shape** (:class:`MeanShapeBaseline`): the average of the training set's voxel
  grids, thresholded at the level (0.1 … 0.9) that maximises the mean IoU over the
  training shapes, meshed by marching cubes — one shape predicted for every image;
* **retrieval** (:class:`RetrievalBaseline`): the training shape whose image is nearest
  to the input image, either in **pixel** space (images resized to 32², Euclidean
  distance) or in the trained **encoder's latent** space. Its ground-truth surface points
  and voxels are the prediction.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812
from torch.utils.data import DataLoader, Dataset

from course_utils.p3d import ops, structures

__all__ = [
    "TAUS",
    "ShapePrediction",
    "occupancy_to_mesh",
    "predictions_from_model",
    "point_metrics",
    "evaluate_predictor",
    "evaluate_model",
    "MeanShapeBaseline",
    "RetrievalBaseline",
    "summarize",
    "format_table",
    "format_category_table",
    "plot_f1_vs_tau",
    "qualitative_grid",
    "evaluate_checkpoint",
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


# ------------------------------------------------------------------ baselines
def _pixel_features(images: torch.Tensor, size: int = 32) -> torch.Tensor:
    """``(B, 3, S, S)`` -> ``(B, 3 size²)``: the image resized (antialiased) and flattened."""
    small = F.interpolate(images.float(), size=(size, size), mode="bilinear",
                          align_corners=False, antialias=True)  # fmt: skip
    return small.flatten(1)


class MeanShapeBaseline:
    """Predict the same shape for every image: the thresholded mean training voxel grid.

    ``fit`` averages the training set's ``(32, 32, 32)`` grids into ``mean`` (the share of
    training shapes occupying each voxel) and picks the threshold in 0.1 … 0.9 that
    maximises the mean IoU with the training shapes; the grid ``mean >= threshold`` is
    meshed by marching cubes and 5,000 points are sampled on it once.

    Example:
        >>> from course_utils.models import ToyShapes
        >>> baseline = MeanShapeBaseline().fit(ToyShapes(4, image_size=16, points_per_shape=50))
        >>> baseline.mean.shape, 0.0 < baseline.threshold < 1.0
        (torch.Size([32, 32, 32]), True)
    """

    name = "mean shape"

    def __init__(self, num_points: int = NUM_POINTS, seed: int = 0) -> None:
        self.num_points, self.seed = num_points, seed
        self.mean: torch.Tensor | None = None
        self.threshold = 0.5
        self.prediction: ShapePrediction | None = None

    def fit(
        self, train_data: Dataset, batch_size: int = 64, progress: bool = False
    ) -> MeanShapeBaseline:
        from tqdm.auto import tqdm

        from course_utils.metrics import voxel_iou

        loader = DataLoader(train_data, batch_size=batch_size, collate_fn=_collate_for(train_data))
        grids = [
            batch["voxels"].bool()
            for batch in tqdm(loader, desc="mean shape", leave=False, disable=not progress)
        ]
        voxels = torch.cat(grids)
        self.mean = voxels.float().mean(0)
        best = -1.0
        for threshold in [i / 10 for i in range(1, 10)]:
            guess = (self.mean >= threshold).expand_as(voxels)
            iou = float(voxel_iou(guess, voxels).mean())
            if iou > best:
                best, self.threshold = iou, threshold
        occupancy = (self.mean >= self.threshold).float()
        mesh = occupancy_to_mesh(occupancy)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            points = _sample(mesh, self.num_points)
        self.prediction = ShapePrediction(points, occupancy, mesh)
        return self

    def __call__(self, batch: dict[str, Any]) -> list[ShapePrediction]:
        if self.prediction is None:
            raise RuntimeError("call fit(train_data) first")
        return [self.prediction] * len(batch["image"])


class RetrievalBaseline:
    """Nearest-neighbour retrieval: return the training shape whose image is closest.

    Args:
        train_data: the training set (the shapes that can be returned).
        model: with ``feature="latent"``, the trained model whose encoder embeds images.
        feature: ``"pixels"`` (images resized to 32², Euclidean distance) or ``"latent"``
            (the encoder's latent vectors, Euclidean distance).

    The retrieved item's own surface points and voxels are the prediction.
    """

    def __init__(
        self,
        train_data: Dataset,
        model: Any = None,
        feature: str = "pixels",
        batch_size: int = 64,
        progress: bool = False,
    ) -> None:
        from tqdm.auto import tqdm

        if feature not in ("pixels", "latent"):
            raise ValueError(f'feature must be "pixels" or "latent", got {feature!r}')
        if feature == "latent" and model is None:
            raise ValueError('feature="latent" needs the trained model')
        self.train_data, self.model, self.feature = train_data, model, feature
        self.name = f"retrieval ({feature})"
        loader = DataLoader(train_data, batch_size=batch_size, collate_fn=_collate_for(train_data))
        feats = [
            self.features(batch["image"])
            for batch in tqdm(loader, desc=self.name, leave=False, disable=not progress)
        ]
        self.bank = torch.cat(feats)  # (N_train, D)

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, S, S)`` -> ``(B, D)`` features on the CPU."""
        if self.feature == "pixels":
            return _pixel_features(images)
        self.model.eval()
        return self.model.encode(images.to(self.model.device)).float().cpu()

    def nearest(self, images: torch.Tensor) -> torch.Tensor:
        """``(B,)`` indices of the nearest training items."""
        return torch.cdist(self.features(images), self.bank).argmin(dim=1)

    def __call__(self, batch: dict[str, Any]) -> list[ShapePrediction]:
        predictions = []
        for index in self.nearest(batch["image"]).tolist():
            item = self.train_data[index]
            predictions.append(ShapePrediction(item["points"].float(), item["voxels"].float()))
        return predictions


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


def plot_f1_vs_tau(
    summaries: dict[str, dict[str, Any]], taus: Sequence[float] = TAUS, ax: Any = None
) -> Any:
    """F1 (%) against the threshold τ, one line per method; returns the figure."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 4))
    else:
        fig = ax.figure
    for i, (name, summary) in enumerate(summaries.items()):
        values = [100 * summary["all"][f"f1@{t:g}"] for t in taus]
        style = "-o" if i == 0 else "--."
        ax.plot(list(taus), values, style, label=name)
    ax.set_xlabel("threshold τ (bounding-box diagonal = 1)")
    ax.set_ylabel("F1 (%)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def qualitative_grid(
    model: Any,
    data: Dataset,
    indices: Sequence[int] = (0, 1, 2, 3),
    image_size: int = 128,
    azim: float = 30.0,
    elev: float = 20.0,
) -> Any:
    """Rows of *input image | ground truth | prediction*; returns the matplotlib figure.

    The ground truth (the exact mesh) and the prediction (mesh, marching-cubes mesh of a
    grid, or point cloud) are rendered from the same fixed viewpoint and distance with
    :func:`course_utils.rendering.render`, so their sizes can be compared.
    """
    from course_utils.rendering import image_grid, render

    items = [data[i] for i in indices]
    images = torch.stack([item["image"] for item in items])
    predictions = predictions_from_model(model, images)
    view = {"azim": azim, "elev": elev, "dist": 1.5, "at": (0.0, 0.0, 0.0),
            "image_size": image_size}  # fmt: skip
    tiles, titles = [], []
    blank = torch.ones(image_size, image_size, 3)
    for item, pred in zip(items, predictions):
        gt = structures.Meshes(verts=[item["verts"].float()], faces=[item["faces"].long()])
        if pred.mesh is not None:
            shown = render(pred.mesh, **view)[0]
        elif pred.points.shape[0] > 0:
            cloud = structures.Pointclouds(points=[pred.points])
            shown = render(cloud, point_radius=0.015, **view)[0]
        else:
            shown = blank
        tiles += [item["image"].permute(1, 2, 0), render(gt, **view)[0], shown]
        titles += ["input", "ground truth", f"prediction ({model.kind})"]
    return image_grid(tiles, titles=titles, cols=3, size=2.5)


# ------------------------------------------------------------------ the whole evaluation
def _category_names(data: Any) -> Sequence[str] | None:
    names = getattr(data, "category_names", None)
    if names is not None:
        return list(names)
    try:
        from course_utils.datasets import CATEGORIES
    except ImportError:
        return None
    return list(CATEGORIES)


def _json_safe(value: Any) -> Any:
    """NaN -> None (JSON has no NaN), recursively."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def evaluate_checkpoint(
    checkpoint: str | Path,
    test_data: Dataset,
    train_data: Dataset | None = None,
    out_dir: str | Path | None = None,
    baselines: bool = True,
    batch_size: int = 32,
    progress: bool = True,
    figures: bool = True,
) -> dict[str, Any]:
    """Evaluate a checkpoint and the baselines; write ``metrics.json``/``metrics.csv``.

    Args:
        checkpoint: a ``last.pt`` written by :func:`course_utils.training.train`.
        test_data: the evaluation set.
        train_data: the training set, for the baselines (None: no baselines).
        out_dir: where the files go (default: the checkpoint's folder): ``metrics.json``
            (summaries and the printed tables), ``metrics.csv`` (one row per method and
            category), ``f1_vs_tau.png`` and ``qualitative.png``.
        baselines: also evaluate the mean-shape and retrieval baselines.
        figures: write the two figures.

    Returns:
        ``{"summaries": {method: summary}, "table": str, "category_table": str,
        "files": [paths]}``.
    """
    from course_utils.training import load_model

    model, state = load_model(checkpoint)
    out = Path(out_dir) if out_dir is not None else Path(checkpoint).resolve().parent
    out.mkdir(parents=True, exist_ok=True)
    names = _category_names(test_data)
    label = f"{state['config']['model']['decoder']} (model)"
    results = {label: evaluate_model(model, test_data, batch_size=batch_size, progress=progress)}
    if baselines and train_data is not None:
        predictors: list[Any] = [
            MeanShapeBaseline().fit(train_data, progress=progress),
            RetrievalBaseline(train_data, feature="pixels", progress=progress),
            RetrievalBaseline(train_data, model=model, feature="latent", progress=progress),
        ]
        for predictor in predictors:
            results[predictor.name] = evaluate_predictor(
                predictor, test_data, batch_size=batch_size, progress=progress, desc=predictor.name
            )
    summaries = {name: summarize(records, names) for name, records in results.items()}
    table, category_table = format_table(summaries), format_category_table(summaries)
    files = [out / "metrics.json", out / "metrics.csv"]
    report = {"checkpoint": str(checkpoint), "epochs": state["epoch"], "summaries": summaries,
              "table": table, "category_table": category_table}  # fmt: skip
    files[0].write_text(json.dumps(_json_safe(report), indent=2))
    with open(files[1], "w", newline="") as handle:
        writer = csv.writer(handle)
        metrics = list(next(iter(summaries.values()))["all"])
        writer.writerow(["method", "category", "count", *metrics])
        for name, summary in summaries.items():
            writer.writerow([name, "all", summary["count"], *summary["all"].values()])
            for cat, values in summary["categories"].items():
                count = summary["category_counts"][cat]
                writer.writerow([name, cat, count, *values.values()])
    if figures:
        import matplotlib.pyplot as plt

        fig = plot_f1_vs_tau(summaries)
        fig.savefig(out / "f1_vs_tau.png", dpi=100)
        plt.close(fig)
        count = min(4, len(test_data))  # type: ignore[arg-type]
        fig = qualitative_grid(model, test_data, indices=list(range(count)))
        fig.savefig(out / "qualitative.png", dpi=80)
        plt.close(fig)
        files += [out / "f1_vs_tau.png", out / "qualitative.png"]
    return {"summaries": summaries, "table": table, "category_table": category_table,
            "files": files}  # fmt: skip
