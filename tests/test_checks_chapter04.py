"""The checks of chapter 04 spot the likely mistakes and say so (the right answers and the
stubs are tested for every chapter in ``test_course_tools.py``)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from course_utils import checks
from course_utils.p3d import ops


# ---------------------------------------------------------------- Exercise 4.1
def _bce(weight_positive: bool = True, weight_negative: bool = False, stable: bool = True):
    """A weighted BCE, right for the defaults, with one mistake otherwise."""

    def loss(logits: torch.Tensor, target: torch.Tensor, w: float) -> torch.Tensor:
        if stable:
            log_p, log_q = F.logsigmoid(logits), F.logsigmoid(-logits)
        else:
            log_p, log_q = torch.log(torch.sigmoid(logits)), torch.log(1 - torch.sigmoid(logits))
        wp = w if weight_positive else 1.0
        wn = w if weight_negative else 1.0
        return -(wp * target * log_p + wn * (1 - target) * log_q).mean()

    return loss


def test_weighted_bce_check_accepts_the_library_and_a_tensor_weight():
    assert checks.check_weighted_bce(_bce()) is True
    library = lambda x, y, w: F.binary_cross_entropy_with_logits(  # noqa: E731
        x, y, pos_weight=torch.as_tensor(w)
    )
    assert checks.check_weighted_bce(library) is True


@pytest.mark.parametrize(
    "answer, expected_words",
    [
        (_bce(stable=False), "F.logsigmoid"),
        (_bce(weight_positive=False), "unweighted"),
        (_bce(weight_positive=False, weight_negative=True), "you weighted the empty cells"),
        (_bce(weight_negative=True), "only the target = 1 term"),
        (lambda x, y, w: _bce()(x, y, w) * x.numel(), "summed"),
        (lambda x, y, w: -_bce()(x, y, w), "sign"),
        (lambda x, y, w: _bce()(x, y, w).detach(), "autograd"),
        (lambda x, y, w: torch.ones(3), "single number"),
        (lambda x, y, w: 0.5, "should be a torch.Tensor"),
    ],
)
def test_weighted_bce_check_names_the_mistake(answer, expected_words, capsys):
    assert checks.check_weighted_bce(answer) is False
    out = capsys.readouterr().out
    assert out.startswith("❌ Exercise 4.1") and expected_words in out


# ---------------------------------------------------------------- Exercise 4.2
def _nn(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return ops.knn_points(x, y, K=1).dists[..., 0]  # (N, P1) squared distances


def test_chamfer_check_accepts_a_right_answer():
    right = lambda x, y: (_nn(x, y).mean(1) + _nn(y, x).mean(1)).mean()  # noqa: E731
    assert checks.check_chamfer(right) is True


@pytest.mark.parametrize(
    "answer, expected_words",
    [
        (lambda x, y: _nn(x, y).mean(), "only x -> y"),
        (lambda x, y: _nn(y, x).mean(), "only y -> x"),
        (lambda x, y: (_nn(x, y).sqrt().mean(1) + _nn(y, x).sqrt().mean(1)).mean(), "*squared*"),
        (lambda x, y: (_nn(x, y).mean(1) + _nn(y, x).mean(1)).mean() / 2, "PyTorch3D adds them"),
        (lambda x, y: (_nn(x, y).sum(1) + _nn(y, x).sum(1)).mean(), "don't sum"),
        (lambda x, y: (_nn(x, y).mean(1) + _nn(y, x).mean(1)).sum(), "over the batch"),
        (lambda x, y: torch.cat([_nn(x, y), _nn(y, x)], 1).mean(), "two separate means"),
        (lambda x, y: _nn(x, y).mean(1) + _nn(y, x).mean(1), "one number"),
    ],
)
def test_chamfer_check_names_the_mistake(answer, expected_words, capsys):
    assert checks.check_chamfer(answer) is False
    out = capsys.readouterr().out
    assert out.startswith("❌ Exercise 4.2") and expected_words in out


# ---------------------------------------------------------------- Exercise 4.3
def _laplacian(both_ways: bool = True, divide: bool = True, squared: bool = False):
    """Uniform Laplacian smoothing, right for the defaults, with one mistake otherwise."""

    def smoothing(verts: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
        i, j = edges.unbind(1)
        if both_ways:
            i, j = torch.cat([i, j]), torch.cat([j, i])
        sums = torch.zeros_like(verts).index_add(0, i, verts[j])
        degree = torch.bincount(i, minlength=len(verts)).clamp(min=1)[:, None]
        delta = (sums / degree if divide else sums) - verts
        return (delta**2).sum(1).mean() if squared else delta.norm(dim=1).mean()

    return smoothing


def test_laplacian_check_accepts_a_right_answer():
    assert checks.check_laplacian_smoothing(_laplacian()) is True


@pytest.mark.parametrize(
    "answer, expected_words",
    [
        (_laplacian(both_ways=False), "add both"),
        (_laplacian(divide=False), "divide the sum"),
        (_laplacian(squared=True), "not its square"),
        (lambda v, e: _laplacian()(v, e) * len(v), "don't sum"),
        (lambda v, e: _laplacian()(v, e).detach(), "autograd"),
        (lambda v, e: torch.zeros(len(v)), "single number"),
    ],
)
def test_laplacian_check_names_the_mistake(answer, expected_words, capsys):
    assert checks.check_laplacian_smoothing(answer) is False
    out = capsys.readouterr().out
    assert out.startswith("❌ Exercise 4.3") and expected_words in out
