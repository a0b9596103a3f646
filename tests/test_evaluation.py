"""Evaluation of single-view models (``course_utils.evaluation``): known answers.

A perfect prediction scores F1 = 100 % and Chamfer 0; a shifted one scores exactly what
the shift says; grids are meshed where the dataset's convention puts them; the baselines
do what they claim on data where the answer is known.
"""

from __future__ import annotations

import math

import pytest
import torch

from course_utils import metrics
from course_utils.evaluation import (
    TAUS,
    MeanShapeBaseline,
    RetrievalBaseline,
    ShapePrediction,
    evaluate_model,
    evaluate_predictor,
    format_category_table,
    format_table,
    occupancy_to_mesh,
    plot_f1_vs_tau,
    point_metrics,
    predictions_from_model,
    qualitative_grid,
    summarize,
)
from course_utils.models import ModelConfig, ToyShapes, build_model, voxel_centres
from course_utils.models.toy import collate_items

# Tiny models: one thread is faster than two waiting on each other (see conftest.py).
pytestmark = pytest.mark.usefixtures("one_thread")


def lattice(side: int = 6, spacing: float = 0.2) -> torch.Tensor:
    """Points of a cubic lattice, neighbours ``spacing`` apart (far more than any τ)."""
    axis = torch.arange(side, dtype=torch.float32) * spacing
    return torch.stack(torch.meshgrid(axis, axis, axis, indexing="ij"), -1).view(-1, 3)


@pytest.fixture(scope="module")
def toy() -> ToyShapes:
    return ToyShapes(6, image_size=32, points_per_shape=800)


# ------------------------------------------------------------------ point metrics
def test_a_perfect_prediction_scores_100_percent_and_zero_chamfer():
    gt = lattice()
    result = point_metrics(gt, gt)
    for tau in TAUS:
        assert result[f"f1@{tau:g}"] == 1.0
    assert result["chamfer"] == 0.0


def test_a_shifted_prediction_scores_what_the_shift_says():
    gt = lattice()
    shift = torch.tensor([0.0, 0.025, 0.0])  # 0.025: between τ = 0.02 and τ = 0.03
    result = point_metrics(gt + shift, gt)
    assert result["f1@0.01"] == result["f1@0.02"] == 0.0
    assert result["f1@0.03"] == result["f1@0.04"] == result["f1@0.05"] == 1.0
    assert result["chamfer"] == pytest.approx(2 * 0.025**2, rel=1e-4)
    # half the prediction missing: precision stays 1, recall halves, F1 = 2/3
    half = gt[gt[:, 0] < 0.5]
    partial = point_metrics(half, gt)
    assert partial["precision@0.05"] == 1.0 and partial["recall@0.05"] == pytest.approx(0.5)
    assert partial["f1@0.05"] == pytest.approx(2 / 3)


def test_point_metrics_agree_with_the_metrics_module():
    g = torch.Generator().manual_seed(0)
    pred, gt = torch.rand(700, 3, generator=g), torch.rand(500, 3, generator=g)
    result = point_metrics(pred, gt)
    for tau in TAUS:
        expected = metrics.f_score(pred, gt, threshold=tau)
        assert result[f"f1@{tau:g}"] == pytest.approx(float(expected.f_score), abs=1e-6)
        assert result[f"precision@{tau:g}"] == pytest.approx(float(expected.precision), abs=1e-6)
    assert result["chamfer"] == pytest.approx(float(metrics.chamfer(pred, gt)), rel=1e-5)


def test_an_empty_prediction_scores_zero():
    gt = lattice() - 0.5
    result = point_metrics(torch.zeros(0, 3), gt)
    assert all(result[f"f1@{tau:g}"] == 0.0 for tau in TAUS)
    assert result["chamfer"] == pytest.approx(float(metrics.chamfer(torch.zeros(1, 3), gt)))


# ------------------------------------------------------------------ grids to meshes
def test_marching_cubes_of_a_voxel_ball_lies_on_the_ball():
    ball = (voxel_centres(32).norm(dim=-1) < 0.3).float()
    mesh = occupancy_to_mesh(ball)
    radii = mesh.verts_packed().norm(dim=1)
    assert (radii - 0.3).abs().max() < 0.03  # within one voxel (1/32)
    # the dataset's axis order (z, y, x): a slab at high x stays at high x
    slab = torch.zeros(32, 32, 32)
    slab[8:24, 8:24, 26:30] = 1.0
    verts = occupancy_to_mesh(slab).verts_packed()
    assert verts[:, 0].min() > 0.25 and verts[:, 1].min() > -0.3 and verts[:, 2].min() > -0.3
    assert occupancy_to_mesh(torch.zeros(32, 32, 32)) is None


class GridOracle(torch.nn.Module):
    """A fake voxel "model" whose logits are a fixed batch of grids (±10)."""

    kind = "voxels"

    def __init__(self, grids: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("logits", 20 * grids - 10)
        self.anchor = torch.nn.Parameter(torch.zeros(1))

    @property
    def device(self) -> torch.device:
        return self.anchor.device

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.logits[: len(images)]


def test_a_voxel_model_that_predicts_the_ground_truth_scores_high(toy):
    items = [toy[i] for i in range(2)]
    batch = collate_items(items)
    oracle = GridOracle(batch["voxels"])
    records = evaluate_predictor(
        lambda b: predictions_from_model(oracle, b["image"]), [toy[0], toy[1]], progress=False
    )
    for record in records:
        assert record["iou"] == 1.0
        # what is left: the voxelisation (half a voxel, 1/64, more at bevelled edges and
        # corners) and the spacing of the 800 ground-truth samples (about 0.04)
        assert record["f1@0.05"] > 0.97 and record["f1@0.03"] > 0.75
        assert record["chamfer"] < 1.5e-3


# ------------------------------------------------------------------ baselines
def test_mean_shape_baseline_on_identical_shapes_is_perfect_and_repeats(toy):
    same = [toy[1]] * 3  # three copies of one ellipsoid
    baseline = MeanShapeBaseline().fit(same)
    assert torch.equal(baseline.mean, toy[1]["voxels"])
    records = evaluate_predictor(baseline, same, progress=False)
    assert all(r["iou"] == 1.0 and r["f1@0.05"] > 0.97 for r in records)
    # on different shapes it predicts the same shape for every input
    fitted = MeanShapeBaseline().fit(toy)
    predictions = fitted(collate_items([toy[0], toy[1]]))
    assert predictions[0] is predictions[1]
    stacked = torch.stack([toy[i]["voxels"] for i in range(len(toy))])
    torch.testing.assert_close(fitted.mean, stacked.mean(0))


def test_retrieval_baseline_finds_the_training_item_itself(toy):
    pixels = RetrievalBaseline(toy, feature="pixels")
    images = torch.stack([toy[i]["image"] for i in range(len(toy))])
    assert pixels.nearest(images).tolist() == list(range(len(toy)))
    records = evaluate_predictor(pixels, toy, progress=False)
    assert all(r["f1@0.01"] == 1.0 and r["chamfer"] == 0.0 and r["iou"] == 1.0 for r in records)
    with pytest.raises(ValueError, match="needs the trained model"):
        RetrievalBaseline(toy, feature="latent")
    torch.manual_seed(0)
    model = build_model(
        ModelConfig(decoder="points", latent_dim=8, input_size=32,
                    encoder_options={"channels": [4, 8]},
                    decoder_options={"num_points": 64, "hidden": [16]})
    ).eval()  # fmt: skip
    latent = RetrievalBaseline(toy, model=model, feature="latent")
    assert latent.bank.shape == (len(toy), 8)
    assert latent.nearest(images[:2]).tolist() == [0, 1]


# ------------------------------------------------------------------ tables and figures
def test_summaries_tables_and_plot():
    records = [
        {"shape_id": 0, "category": 0, "chamfer": 0.002, "iou": math.nan,
         **{f"f1@{t:g}": 0.5 for t in TAUS}},
        {"shape_id": 1, "category": 1, "chamfer": 0.004, "iou": math.nan,
         **{f"f1@{t:g}": 1.0 for t in TAUS}},
        {"shape_id": 2, "category": 1, "chamfer": 0.006, "iou": math.nan,
         **{f"f1@{t:g}": 0.0 for t in TAUS}},
    ]  # fmt: skip
    summary = summarize(records, category_names=["box", "ellipsoid"])
    assert summary["all"]["f1@0.05"] == pytest.approx(0.5)
    assert summary["all"]["chamfer"] == pytest.approx(0.004)
    assert summary["categories"]["ellipsoid"]["f1@0.05"] == pytest.approx(0.5)
    assert summary["category_counts"] == {"box": 1, "ellipsoid": 2}
    assert math.isnan(summary["all"]["iou"])
    table = format_table({"model": summary})
    assert "| model | 50.0 | 50.0 | 50.0 | 50.0 | 50.0 | 4.00 | - |" in table
    assert "| model | 50.0 | 50.0 | 50.0 |" in format_category_table({"model": summary})
    fig = plot_f1_vs_tau({"model": summary, "other": summary})
    assert len(fig.axes[0].lines) == 2


def test_evaluate_model_and_qualitative_grid_on_a_tiny_model(toy):
    torch.manual_seed(0)
    for decoder, options in (("mesh", {"level": 1, "hidden": [16]}),
                             ("implicit", {"hidden": 16, "num_blocks": 1})):  # fmt: skip
        model = build_model(
            ModelConfig(decoder=decoder, latent_dim=8, input_size=32,
                        encoder_options={"channels": [4, 8]}, decoder_options=options)
        ).eval()  # fmt: skip
        records = evaluate_model(model, [toy[0], toy[1]], progress=False)
        assert len(records) == 2 and {r["category"] for r in records} == {0, 1}
        assert all(0.0 <= r["f1@0.05"] <= 1.0 for r in records)
        assert all(math.isnan(r["iou"]) == (decoder == "mesh") for r in records)
    fig = qualitative_grid(model, toy, indices=[0, 1], image_size=32)
    assert len(fig.axes) == 6
    assert [ax.get_title() for ax in fig.axes[:3]] == [
        "input", "ground truth", "prediction (implicit)",
    ]  # fmt: skip


def test_shape_prediction_holds_points_and_optional_grid():
    pred = ShapePrediction(torch.zeros(5, 3))
    assert pred.occupancy is None and pred.mesh is None
