"""The checks of chapter 02 spot the likely mistakes and say so (the right answers and the
stubs are tested for every chapter in ``test_course_tools.py``)."""

from __future__ import annotations

import pytest
import torch

from course_utils import checks


# ---------------------------------------------------------------- Exercise 2.1
def _pixels(x_sign: float, y_sign: float, scale: str = "min", swap: bool = False):
    """An NDC -> pixel conversion, right for (-1, -1, "min"), wrong otherwise."""

    def convert(xy: torch.Tensor, H: int, W: int) -> torch.Tensor:
        if swap:
            H, W = W, H
        sx = sy = {"min": min(H, W), "max": max(H, W)}.get(scale, 0) / 2
        if scale == "per-axis":
            sx, sy = W / 2, H / 2
        return torch.stack([W / 2 + x_sign * xy[:, 0] * sx, H / 2 + y_sign * xy[:, 1] * sy], 1)

    return convert


def test_ndc_to_screen_check_accepts_the_right_conversion():
    assert checks.check_ndc_to_screen(_pixels(-1, -1)) is True


@pytest.mark.parametrize(
    "answer, expected_words",
    [
        (_pixels(1, 1), "both axes flip"),
        (_pixels(-1, 1), "your y goes the wrong way"),
        (_pixels(1, -1), "your x goes the wrong way"),
        (_pixels(-1, -1, "per-axis"), "set by the *shorter* side"),
        (_pixels(-1, -1, "max"), "not the max"),
        (_pixels(-1, -1, swap=True), "swapped"),
        (lambda xy, H, W: None, "should be a torch.Tensor"),
        (lambda xy, H, W: xy[:, 0], "should have shape (20, 2)"),
        (lambda xy, H, W: 1 / 0, "ZeroDivisionError"),
    ],
)
def test_ndc_to_screen_check_names_the_mistake(answer, expected_words, capsys):
    assert checks.check_ndc_to_screen(answer) is False
    out = capsys.readouterr().out
    assert out.startswith("❌ Exercise 2.1") and expected_words in out


# ---------------------------------------------------------------- Exercise 2.2
def _gradient(verts, direction, colour_a, colour_b):
    s = verts @ direction
    t = (s - s.min()) / (s.max() - s.min())
    return (1 - t)[:, None] * colour_a + t[:, None] * colour_b


def test_gradient_check_accepts_any_positive_scale_of_the_direction():
    assert checks.check_gradient_colours(_gradient) is True
    unit = lambda v, d, a, b: _gradient(v, d / d.norm(), a, b)  # noqa: E731
    assert checks.check_gradient_colours(unit) is True


@pytest.mark.parametrize(
    "answer, expected_words",
    [
        (lambda v, d, a, b: _gradient(v, d, b, a), "runs backwards"),
        (lambda v, d, a, b: (1 - v @ d)[:, None] * a + (v @ d)[:, None] * b, "rescale"),
        (lambda v, d, a, b: (v @ d - (v @ d).min()) / (v @ d).max(), "(V, 3)"),
        (lambda v, d, a, b: _gradient(v, d.abs(), a, b), "backwards"),
        (lambda v, d, a, b: _gradient(v, d, a, b).T, "should have shape"),
    ],
)
def test_gradient_check_names_the_mistake(answer, expected_words, capsys):
    assert checks.check_gradient_colours(answer) is False
    out = capsys.readouterr().out
    assert out.startswith("❌ Exercise 2.2") and expected_words in out


# ---------------------------------------------------------------- Exercise 2.3
def _relative(R1, T1, R2, T2):
    R = R1.T @ R2
    return R, T2 - T1 @ R


@pytest.mark.parametrize(
    "answer, expected_words",
    [
        (lambda R1, T1, R2, T2: (R2 @ R1.T, T2 - T1 @ R2 @ R1.T), "column-vector"),
        (lambda R1, T1, R2, T2: (R2.T @ R1, T2 - T1 @ R2.T @ R1), "the inverse"),
        (lambda R1, T1, R2, T2: (R1.T @ R2, T1 @ R1.T @ R2 - T2), "wrong sign"),
        (lambda R1, T1, R2, T2: (R1.T @ R2, T2 - T1), "take it through R_rel"),
        (lambda R1, T1, R2, T2: (R1.T @ R2, T2 + T1 @ R1.T @ R2), "undone"),
        (lambda R1, T1, R2, T2: R1.T @ R2, "end with `return R_rel, T_rel`"),
        (lambda R1, T1, R2, T2: (R1, T1), "R_rel for the same camera twice is wrong"),
    ],
)
def test_relative_transform_check_names_the_mistake(answer, expected_words, capsys):
    assert checks.check_relative_camera_transform(answer) is False
    out = capsys.readouterr().out
    assert out.startswith("❌ Exercise 2.3") and expected_words in out


def test_relative_transform_check_accepts_the_transform3d_answer():
    from course_utils.p3d import transforms

    def via_transform3d(R1, T1, R2, T2):
        first = transforms.Transform3d().rotate(R1).translate(*T1.tolist())
        second = transforms.Transform3d().rotate(R2).translate(*T2.tolist())
        matrix = first.inverse().compose(second).get_matrix()[0]
        return matrix[:3, :3], matrix[3, :3]

    assert checks.check_relative_camera_transform(via_transform3d) is True
    assert checks.check_relative_camera_transform(_relative) is True
