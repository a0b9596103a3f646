"""The course's 3D metrics (``course_utils.metrics``): Chamfer, F-score@τ, voxel IoU.

Known answers: identical sets, shifted sets, subsets (precision/recall asymmetry), the
plain (not squared) distance threshold, and hand-counted voxel grids.
"""

from __future__ import annotations

import itertools

import pytest
import torch

from course_utils.metrics import FScore, chamfer, f_score, voxel_iou
from course_utils.p3d import loss


def lattice(side: int = 4, spacing: float = 1.0) -> torch.Tensor:
    """``(side³, 3)`` points of a cubic lattice: nearest neighbours ``spacing`` apart."""
    pts = torch.tensor(list(itertools.product(range(side), repeat=3)), dtype=torch.float32)
    return pts * spacing


# ---------------------------------------------------------------- chamfer
def test_chamfer_identical_and_shifted():
    x = lattice()
    assert float(chamfer(x, x)) == 0.0
    shift = torch.tensor([0.1, 0.2, -0.1])
    value = chamfer(x, x + shift)
    assert value.dim() == 0
    assert value.item() == pytest.approx(2 * float((shift**2).sum()), rel=1e-5)


def test_chamfer_is_pytorch3d_chamfer_distance_and_batches():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 40, 3, generator=g)
    y = torch.randn(3, 30, 3, generator=g)
    expected, _ = loss.chamfer_distance(x, y)
    torch.testing.assert_close(chamfer(x, y), expected)
    per_cloud = chamfer(x, y, batch_reduction=None)
    assert per_cloud.shape == (3,)
    torch.testing.assert_close(per_cloud.mean(), expected)
    with pytest.raises(ValueError):
        chamfer(x, y[:2])


def test_chamfer_is_differentiable():
    x = lattice(3)
    y = (x + 0.1).requires_grad_(True)
    chamfer(x, y).backward()
    assert y.grad is not None and y.grad.abs().sum() > 0


# ---------------------------------------------------------------- f_score
def test_f_score_of_identical_sets_is_one():
    x = lattice()
    result = f_score(x, x, threshold=0.01)
    assert isinstance(result, FScore)
    assert result.precision.item() == 1.0
    assert result.recall.item() == 1.0
    assert result.f_score.item() == 1.0


def test_f_score_of_sets_shifted_beyond_the_threshold_is_zero():
    x = lattice(spacing=1.0)
    shifted = x + torch.tensor([0.3, 0.0, 0.0])  # every point 0.3 from its copy, 0.7 from others
    result = f_score(shifted, x, threshold=0.25)
    assert result.precision.item() == 0.0
    assert result.recall.item() == 0.0
    assert result.f_score.item() == 0.0
    # within a larger threshold everything matches again
    assert f_score(shifted, x, threshold=0.35).f_score.item() == 1.0


def test_f_score_threshold_is_a_plain_distance_not_a_squared_one():
    x = lattice()
    shifted = x + torch.tensor([0.0, 0.0, 0.3])  # distance 0.3, squared 0.09
    assert f_score(shifted, x, threshold=0.2).f_score.item() == 0.0  # 0.09 < 0.2 but 0.3 > 0.2
    assert f_score(shifted, x, threshold=0.31).f_score.item() == 1.0


def test_f_score_precision_recall_asymmetry_on_a_subset():
    gt = lattice()  # 64 points
    part = gt[:16]  # a quarter of the shape, exactly right
    result = f_score(part, gt, threshold=0.1)
    assert result.precision.item() == 1.0  # everything predicted is correct
    assert result.recall.item() == pytest.approx(0.25)  # a quarter of the truth is covered
    assert result.f_score.item() == pytest.approx(2 * 0.25 / 1.25)
    swapped = f_score(gt, part, threshold=0.1)  # predicting too much: precision suffers
    assert swapped.precision.item() == pytest.approx(0.25)
    assert swapped.recall.item() == 1.0


def test_f_score_batched_with_lengths():
    gt = lattice()[None].expand(2, -1, -1)
    pred = torch.zeros(2, 64, 3)
    pred[0] = gt[0]
    pred[1, :16] = gt[1, :16]
    pred[1, 16:] = 1000.0  # padding: must be ignored
    result = f_score(pred, gt, threshold=0.1, pred_lengths=torch.tensor([64, 16]))
    assert result.precision.shape == (2,)
    torch.testing.assert_close(result.precision, torch.tensor([1.0, 1.0]))
    torch.testing.assert_close(result.recall, torch.tensor([1.0, 0.25]))
    # an empty prediction scores 0, not a division by zero
    empty = f_score(pred, gt, threshold=0.1, pred_lengths=torch.tensor([64, 0]))
    torch.testing.assert_close(empty.f_score, torch.tensor([1.0, 0.0]))
    assert empty.recall[1].item() == 0.0


def test_f_score_bad_input():
    x = lattice()
    with pytest.raises(ValueError):
        f_score(x, x, threshold=0.0)
    with pytest.raises(ValueError):
        f_score(x[None].expand(2, -1, -1), x[None], threshold=0.1)
    with pytest.raises(ValueError):
        f_score(x[0], x, threshold=0.1)


# ---------------------------------------------------------------- voxel_iou
def test_voxel_iou_known_grids():
    target = torch.zeros(4, 4, 4)
    target[:2] = 1.0  # 32 voxels
    assert voxel_iou(target, target).item() == 1.0
    assert voxel_iou(1.0 - target, target).item() == 0.0  # the complement
    half = torch.zeros(4, 4, 4)
    half[:1] = 0.9  # 16 voxels, all inside the target
    assert voxel_iou(half, target).item() == pytest.approx(16 / 32)
    shifted = torch.zeros(4, 4, 4)
    shifted[1:3] = 1.0  # 32 voxels, 16 shared: IoU = 16 / 48
    assert voxel_iou(shifted, target).item() == pytest.approx(16 / 48)


def test_voxel_iou_threshold_batch_and_empty():
    target = torch.zeros(2, 3, 3, 3, dtype=torch.bool)
    target[0, 0, 0, 0] = True
    probs = torch.zeros(2, 3, 3, 3)
    probs[0, 0, 0, 0] = 0.6
    probs[0, 1, 1, 1] = 0.4  # below 0.5, above 0.3
    iou = voxel_iou(probs, target)
    assert iou.shape == (2,)
    torch.testing.assert_close(iou, torch.tensor([1.0, 1.0]))  # second: both empty
    torch.testing.assert_close(voxel_iou(probs, target, threshold=0.3), torch.tensor([0.5, 1.0]))
    with pytest.raises(ValueError):
        voxel_iou(probs, target[:1])
