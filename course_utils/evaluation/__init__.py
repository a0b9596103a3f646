"""Evaluate single-view reconstructions (chapter 05), one module per concern.

* :mod:`~course_utils.evaluation.scoring` — the protocol: predictions turned into surface
  points, F1@τ / Chamfer / voxel IoU per shape, averages per category, the tables;
* :mod:`~course_utils.evaluation.baselines` — the mean-shape and retrieval baselines;
* :mod:`~course_utils.evaluation.plots` — F1 against τ, input | truth | prediction rows;
* :mod:`~course_utils.evaluation.checkpoint` — a checkpoint evaluated against the
  baselines, with ``metrics.json`` / ``metrics.csv`` and the figures written to disk.

The public names are re-exported here, so ``from course_utils.evaluation import X`` works.
"""

from course_utils.evaluation.baselines import MeanShapeBaseline, RetrievalBaseline
from course_utils.evaluation.checkpoint import evaluate_checkpoint
from course_utils.evaluation.plots import plot_f1_vs_tau, qualitative_grid
from course_utils.evaluation.scoring import (
    NUM_POINTS,
    TAUS,
    ShapePrediction,
    evaluate_model,
    evaluate_predictor,
    format_category_table,
    format_table,
    occupancy_to_mesh,
    point_metrics,
    predictions_from_model,
    summarize,
)

__all__ = [
    "TAUS",
    "NUM_POINTS",
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
