"""The whole evaluation of a trained checkpoint: the model, the baselines, files on disk.

``python -m course_utils evaluate`` calls :func:`evaluate_checkpoint`.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from course_utils.atomic import atomic_write, temporary_path, write_text_atomic
from course_utils.evaluation.baselines import MeanShapeBaseline, RetrievalBaseline
from course_utils.evaluation.plots import plot_f1_vs_tau, qualitative_grid
from course_utils.evaluation.scoring import (
    evaluate_model,
    evaluate_predictor,
    format_category_table,
    format_table,
    summarize,
)

__all__ = ["evaluate_checkpoint"]


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
    write_text_atomic(files[0], json.dumps(_json_safe(report), indent=2))
    with atomic_write(files[1], "w", newline="") as handle:
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
        with temporary_path(out / "f1_vs_tau.png") as tmp:
            fig.savefig(tmp, dpi=100, format="png")
        plt.close(fig)
        count = min(4, len(test_data))  # type: ignore[arg-type]
        fig = qualitative_grid(model, test_data, indices=list(range(count)))
        with temporary_path(out / "qualitative.png") as tmp:
            fig.savefig(tmp, dpi=80, format="png")
        plt.close(fig)
        files += [out / "f1_vs_tau.png", out / "qualitative.png"]
    return {"summaries": summaries, "table": table, "category_table": category_table,
            "files": files}  # fmt: skip
