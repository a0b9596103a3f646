"""The checks of chapter 06 spot the likely mistakes and say so (the right answers and the
stubs are tested for every chapter in ``test_course_tools.py``)."""

from __future__ import annotations

import pytest
import torch

from course_utils import checks
from course_utils.p3d import renderer


# ---------------------------------------------------------------- Exercise 6.1
def _silhouette(sign: float = -1.0, mask: bool = True, combine: str = "product"):
    """A soft silhouette, right for the defaults, with one mistake otherwise."""

    def alpha(dists: torch.Tensor, pix_to_face: torch.Tensor, sigma: float) -> torch.Tensor:
        prob = torch.sigmoid(sign * dists / sigma)
        if mask:
            prob = prob * (pix_to_face >= 0)
        if combine == "sum":
            return prob.sum(dim=-1)
        if combine == "max":
            return prob.max(dim=-1).values
        if combine == "none":
            return torch.prod(1 - prob, dim=-1)
        if combine == "keepdim":
            return 1 - torch.prod(1 - prob, dim=-1, keepdim=True)
        return 1 - torch.prod(1 - prob, dim=-1)

    return alpha


def test_soft_silhouette_check_accepts_the_library_blend():
    assert checks.check_soft_silhouette(_silhouette()) is True

    def library(dists, pix_to_face, sigma):
        fragments = renderer.mesh.rasterizer.Fragments(
            pix_to_face=pix_to_face,
            zbuf=torch.ones_like(dists),
            bary_coords=torch.zeros(*dists.shape, 3),
            dists=dists,
        )
        colors = torch.zeros(*dists.shape, 3)
        blend = renderer.BlendParams(sigma=sigma)
        return renderer.sigmoid_alpha_blend(colors, fragments, blend)[..., 3]

    assert checks.check_soft_silhouette(library) is True


@pytest.mark.parametrize(
    "answer, expected_words",
    [
        (_silhouette(mask=False), "pix_to_face >= 0"),
        (_silhouette(sign=1.0), "sign is flipped"),
        (_silhouette(combine="none"), "alpha is 1 minus it"),
        (_silhouette(combine="sum"), "can exceed 1"),
        (_silhouette(combine="max"), "largest probability alone"),
        (_silhouette(combine="keepdim"), "drop the last axis"),
        (
            lambda d, p, s: 1 - torch.prod(1 - torch.sigmoid(-d / s) * (p >= 0), dim=-1) * 0.5,
            "1 - prod",
        ),
    ],
)
def test_soft_silhouette_check_names_the_mistake(answer, expected_words, capsys):
    assert checks.check_soft_silhouette(answer) is False
    out = capsys.readouterr().out
    assert out.startswith("❌ Exercise 6.1") and expected_words in out


# ---------------------------------------------------------------- Exercise 6.2
def _iou_loss(pooled: bool = False, union_twice: bool = False, threshold: bool = False):
    def loss(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        p = (predicted > 0.5).float() if threshold else predicted
        intersection = (p * target).flatten(1).sum(1)
        union = (p + target).flatten(1).sum(1)
        if not union_twice:
            union = union - intersection
        if pooled:
            return 1 - intersection.sum() / union.sum()
        return 1 - (intersection / union).mean()

    return loss


def test_soft_iou_check_accepts_the_solution():
    assert checks.check_soft_iou_loss(_iou_loss()) is True


@pytest.mark.parametrize(
    "answer, expected_words",
    [
        (lambda p, t: 1 - _iou_loss()(p, t), "that is the IoU itself"),
        (_iou_loss(pooled=True), "you pooled the pixels of all views"),
        (_iou_loss(union_twice=True), "subtract the intersection once"),
        (_iou_loss(threshold=True), "don't threshold"),
        (lambda p, t: _iou_loss()(p, t).detach(), "no gradient"),
        (
            lambda p, t: 1 - ((p * t).flatten(1).sum(1) / (p + t - p * t).flatten(1).sum(1)),
            "one number",
        ),
    ],
)
def test_soft_iou_check_names_the_mistake(answer, expected_words, capsys):
    assert checks.check_soft_iou_loss(answer) is False
    out = capsys.readouterr().out
    assert out.startswith("❌ Exercise 6.2") and expected_words in out


# ---------------------------------------------------------------- Exercise 6.3
def _camera_step(sign: float = -1.0, mean: bool = False, zero_grad: bool = True, step: bool = True):
    def camera_step(position, target, render_silhouette, optimizer):
        if zero_grad:
            optimizer.zero_grad()
        R = renderer.look_at_rotation(position[None])
        T = sign * (position[None] @ R[0])
        error = (render_silhouette(R, T) - target) ** 2
        loss = error.mean() if mean else error.sum()
        loss.backward()
        if step:
            optimizer.step()
        return loss.item()

    return camera_step


def test_camera_step_check_accepts_the_solution():
    assert checks.check_camera_step(_camera_step()) is True


@pytest.mark.parametrize(
    "answer, expected_words",
    [
        (_camera_step(sign=1.0), "T has the wrong sign"),
        (_camera_step(mean=True), "not the mean"),
        (_camera_step(zero_grad=False), "optimizer.zero_grad()"),
        (_camera_step(step=False), "the camera did not move"),
        (lambda *args: torch.tensor([_camera_step()(*args)]), "expected the loss as a float"),
    ],
)
def test_camera_step_check_names_the_mistake(answer, expected_words, capsys):
    assert checks.check_camera_step(answer) is False
    out = capsys.readouterr().out
    assert out.startswith("❌ Exercise 6.3") and expected_words in out
