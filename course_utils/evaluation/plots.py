"""Figures of an evaluation: F1 against the threshold τ, and input | truth | prediction rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch.utils.data import Dataset

from course_utils.evaluation.scoring import TAUS, predictions_from_model
from course_utils.p3d import structures

__all__ = ["plot_f1_vs_tau", "qualitative_grid"]


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
