"""The checks of chapter 03 spot the likely mistakes and say so (the right answers and the
stubs are tested for every chapter in ``test_course_tools.py``)."""

from __future__ import annotations

import math

import pytest
import torch

from course_utils import checks, surfaces


# ---------------------------------------------------------------- Exercise 3.1
def _lift(x_sign=1.0, y_sign=1.0, offset=0.5, scale="min", tan=None):
    """A depth -> view-points function, right with the defaults, wrong otherwise."""

    def lift(depth: torch.Tensor, fov: float) -> torch.Tensor:
        height, width = depth.shape
        short = {"min": min(height, width), "max": max(height, width)}[scale]
        x = x_sign * (width - 2 * (torch.arange(width) + offset)) / short
        y = y_sign * (height - 2 * (torch.arange(height) + offset)) / short
        x, y = x[None, :].expand(height, width), y[:, None].expand(height, width)
        factor = math.tan(math.radians(fov) / 2) if tan is None else tan(fov)
        return torch.stack([x * depth * factor, y * depth * factor, depth], dim=-1)

    return lift


def test_depth_check_accepts_the_right_answer():
    assert checks.check_depth_to_view_points(_lift()) is True


@pytest.mark.parametrize(
    "answer, expected_words",
    [
        (_lift(x_sign=-1.0), "your x goes the wrong way"),
        (_lift(y_sign=-1.0), "your y goes the wrong way"),
        (_lift(-1.0, -1.0), "both x and y are flipped"),
        (_lift(offset=0.0), "pixel *centres*"),
        (_lift(scale="max"), "*shorter* image side"),
        (_lift(tan=lambda fov: math.tan(math.radians(fov))), "tan(fov / 2)"),
        (_lift(tan=lambda fov: math.tan(fov / 2)), "radians"),
        (lambda depth, fov: depth, "should have shape"),
        (lambda depth, fov: None, "should be a torch.Tensor"),
    ],
)
def test_depth_check_names_the_mistake(answer, expected_words, capsys):
    assert checks.check_depth_to_view_points(answer) is False
    out = capsys.readouterr().out
    assert out.startswith("❌ Exercise 3.1") and expected_words in out


# ---------------------------------------------------------------- Exercise 3.2
def test_torus_points_check_accepts_the_library_torus():
    assert checks.check_torus_points(lambda u, v, R, r: surfaces.torus_surface(u, v, R, r))


@pytest.mark.parametrize(
    "answer, expected_words",
    [
        (lambda u, v, R, r: surfaces.torus_surface(u, v, R, r)[..., [0, 2, 1]], "stands up"),
        (lambda u, v, R, r: surfaces.torus_surface(u, v, r, R), "swapped R and r"),
        (lambda u, v, R, r: surfaces.torus_surface(v, u, R, r), "not at the expected (u, v)"),
        (
            lambda u, v, R, r: surfaces.torus_surface(u / (2 * math.pi), v / (2 * math.pi), R, r),
            "2π u and 2π v",
        ),
        (lambda u, v, R, r: torch.zeros(3), "should have shape"),
    ],
)
def test_torus_points_check_names_the_mistake(answer, expected_words, capsys):
    assert checks.check_torus_points(answer) is False
    out = capsys.readouterr().out
    assert out.startswith("❌ Exercise 3.2") and expected_words in out


# ---------------------------------------------------------------- Exercise 3.3
def test_torus_implicit_check_accepts_any_function_with_the_right_zero_set():
    assert checks.check_torus_implicit(lambda p, R, r: surfaces.torus_sdf(p, R, r))
    # the polynomial form (not a distance, same zero set and signs) is right too
    squared = lambda p, R, r: (p[:, [0, 2]].norm(dim=1) - R) ** 2 + p[:, 1] ** 2 - r**2  # noqa: E731
    assert checks.check_torus_implicit(squared)


@pytest.mark.parametrize(
    "answer, expected_words",
    [
        (lambda p, R, r: -surfaces.torus_sdf(p, R, r), "signs are reversed"),
        (lambda p, R, r: surfaces.torus_sdf(p[:, [0, 2, 1]], R, r), "stands up"),
        (lambda p, R, r: p.norm(dim=1) - R, "should give 0"),
        (lambda p, R, r: surfaces.torus_sdf(p, R, r)[:, None], "one value per point"),
    ],
)
def test_torus_implicit_check_names_the_mistake(answer, expected_words, capsys):
    assert checks.check_torus_implicit(answer) is False
    out = capsys.readouterr().out
    assert out.startswith("❌ Exercise 3.3") and expected_words in out


# ---------------------------------------------------------------- Exercise 3.4
def _sampler(by_area=True, root=True, fold=False):
    """Surface sampling, right with the defaults, wrong otherwise."""

    def sample(verts, faces, num_samples):
        v0, v1, v2 = verts[faces].unbind(dim=1)
        areas = torch.linalg.cross(v1 - v0, v2 - v0, dim=1).norm(dim=1)
        weights = areas if by_area else torch.ones_like(areas)
        face = torch.multinomial(weights, num_samples, replacement=True)
        u, v = torch.rand(2, num_samples)
        if fold:  # u, v as two barycentrics without folding the square: half land outside
            w0, w1, w2 = 1 - u - v, u, v
        else:
            s = u.sqrt() if root else u
            w0, w1, w2 = 1 - s, s * (1 - v), s * v
        return w0[:, None] * v0[face] + w1[:, None] * v1[face] + w2[:, None] * v2[face]

    return sample


def test_sampling_check_accepts_the_right_answer_and_the_library():
    assert checks.check_area_weighted_sampling(_sampler())

    def library(verts, faces, num_samples):
        from course_utils.p3d import ops, structures

        mesh = structures.Meshes(verts=[verts], faces=[faces])
        return ops.sample_points_from_meshes(mesh, num_samples)[0]

    assert checks.check_area_weighted_sampling(library)


def test_sampling_check_leaves_the_learners_random_state_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    checks.check_area_weighted_sampling(_sampler())
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize(
    "answer, expected_words",
    [
        (_sampler(by_area=False), "the same number of points"),
        (_sampler(root=False), "without the square root they crowd near one corner"),
        (_sampler(fold=True), "not on the triangles"),
        (lambda verts, faces, n: verts[faces].mean(dim=1), "tensor of points"),
    ],
)
def test_sampling_check_names_the_mistake(answer, expected_words, capsys):
    assert checks.check_area_weighted_sampling(answer) is False
    out = capsys.readouterr().out
    assert out.startswith("❌ Exercise 3.4") and expected_words in out
