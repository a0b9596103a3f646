"""Checks for the exercises of chapter 02 (cameras and rendering)."""

from __future__ import annotations

import torch

from course_utils.checks._core import CheckFailed, call, expect_close, run_check

__all__ = ["check_gradient_colours", "check_ndc_to_screen", "check_relative_camera_transform"]


def _close(got: object, expected: torch.Tensor, atol: float = 1e-4) -> bool:
    """Whether ``got`` is a tensor of ``expected``'s shape and values (no exception)."""
    if not torch.is_tensor(got) or tuple(got.shape) != tuple(expected.shape):
        return False
    return bool(torch.allclose(got.detach().cpu().to(expected.dtype), expected, atol=atol))


# ---------------------------------------------------------------- Exercise 2.1
def _ndc_to_screen_hint(got: object, ndc: torch.Tensor, height: int, width: int) -> str:
    """A hint for the usual mistakes of the NDC -> pixel conversion."""
    x, y = ndc.unbind(dim=1)
    half, big = min(height, width) / 2, max(height, width) / 2
    mistakes = [
        (
            torch.stack([width / 2 + x * half, height / 2 + y * half], dim=1),
            "your x and y go the wrong way: NDC has +X to the left and +Y up, pixels grow to "
            "the right and downwards, so both axes flip",
        ),
        (
            torch.stack([width / 2 - x * half, height / 2 + y * half], dim=1),
            "your y goes the wrong way: NDC +Y is up, but pixel rows are counted downwards",
        ),
        (
            torch.stack([width / 2 + x * half, height / 2 - y * half], dim=1),
            "your x goes the wrong way: NDC +X is the camera's *left*, pixels grow to the right",
        ),
        (
            torch.stack([width / 2 - x * width / 2, height / 2 - y * height / 2], dim=1),
            "you scaled x by the width and y by the height: pixels are square, so both axes use "
            "the same scale, set by the *shorter* side (it spans [-1, 1] in NDC)",
        ),
        (
            torch.stack([height / 2 - x * half, width / 2 - y * half], dim=1),
            "your image centre has width and height swapped: x is a column (0..W), y a row (0..H)",
        ),
        (
            torch.stack([width / 2 - x * big, height / 2 - y * big], dim=1),
            "the *shorter* side spans [-1, 1] in NDC, so the scale is min(H, W) / 2, not the max",
        ),
    ]
    for wrong, hint in mistakes:
        if _close(got, wrong):
            return hint
    return (
        "NDC (0, 0) is the image centre (W/2, H/2); one NDC unit is min(H, W)/2 pixels on both "
        "axes; NDC +X is left and +Y is up, pixels grow right and down"
    )


def check_ndc_to_screen(ndc_to_screen) -> bool:
    """Exercise 2.1: ``ndc_to_screen(xy_ndc (P, 2), H, W) -> (P, 2)`` pixel coordinates."""
    from course_utils.p3d import renderer

    def attempt() -> str:
        generator = torch.Generator().manual_seed(2)
        points = torch.rand(20, 3, generator=generator) * 1.6 - 0.8  # around the origin
        R, T = renderer.look_at_view_transform(dist=2.5, elev=30.0, azim=-40.0)
        cameras = renderer.FoVPerspectiveCameras(R=R, T=T, fov=70.0)
        ndc = cameras.transform_points_ndc(points)[:, :2]
        for height, width in ((256, 256), (200, 300), (480, 240)):
            expected = cameras.transform_points_screen(points, image_size=((height, width),))
            expected = expected[:, :2].detach().cpu()
            got = call(ndc_to_screen, ndc.clone(), height, width)
            hint = _ndc_to_screen_hint(got, ndc, height, width)
            expect_close(got, expected, f"the answer for an image of H={height}, W={width}", hint)
        return "right for a square, a wide and a tall image (as cameras.transform_points_screen)."

    return run_check("Exercise 2.1 (NDC to pixels)", attempt)


# ---------------------------------------------------------------- Exercise 2.2
def _gradient_cases() -> list[tuple[str, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]:
    """(name, verts, direction, colour_a, colour_b) cases with known gradients."""
    from course_utils.p3d import utils

    generator = torch.Generator().manual_seed(5)
    sphere = utils.ico_sphere(2).verts_packed()
    blue, orange = torch.tensor([0.1, 0.3, 0.9]), torch.tensor([1.0, 0.6, 0.1])
    return [
        (
            "four points along +Y",
            torch.tensor([[0.0, -1.0, 0.0], [0.3, 0.0, 0.0], [0.0, 0.5, 2.0], [0.0, 1.0, 0.0]]),
            torch.tensor([0.0, 1.0, 0.0]),
            torch.zeros(3),
            torch.ones(3),
        ),
        ("a sphere, bottom to top", sphere, torch.tensor([0.0, 1.0, 0.0]), blue, orange),
        (
            "random points along a diagonal",
            torch.rand(50, 3, generator=generator) * 3 - 1,
            torch.tensor([1.0, 1.0, 0.0]),
            orange,
            blue,
        ),
        (
            "a sphere along -2.5 Z (not a unit vector)",
            sphere * 0.7 + 0.2,
            torch.tensor([0.0, 0.0, -2.5]),
            blue,
            orange,
        ),
    ]


def _expected_gradient(verts, direction, colour_a, colour_b) -> torch.Tensor:
    s = verts @ direction
    t = (s - s.min()) / (s.max() - s.min())
    return (1 - t)[:, None] * colour_a + t[:, None] * colour_b


def check_gradient_colours(gradient_colours) -> bool:
    """Exercise 2.2: ``gradient_colours(verts (V, 3), direction, colour_a, colour_b) -> (V, 3)``.

    ``direction``, ``colour_a`` and ``colour_b`` are ``(3,)`` tensors.
    """

    def attempt() -> str:
        for name, verts, direction, colour_a, colour_b in _gradient_cases():
            expected = _expected_gradient(verts, direction, colour_a, colour_b)
            got = call(
                gradient_colours,
                verts.clone(),
                direction.clone(),
                colour_a.clone(),
                colour_b.clone(),
            )
            hint = (
                "project every vertex on the direction (verts @ direction), rescale that to "
                "t in [0, 1] with its min and max, and mix (1 - t) * colour_a + t * colour_b"
            )
            s = verts @ direction
            if torch.is_tensor(got) and tuple(got.shape) == (len(verts),):
                hint = "return one RGB colour per vertex, shape (V, 3), not the (V,) mixing weights"
            elif _close(got, _expected_gradient(verts, direction, colour_b, colour_a)):
                hint = (
                    "your gradient runs backwards: colour_a belongs where verts @ direction "
                    "is smallest"
                )
            elif _close(got, (1 - s)[:, None] * colour_a + s[:, None] * colour_b):
                hint = "rescale the projection to [0, 1] first, with its smallest and largest value"
            elif _close(got, _expected_gradient(verts, direction.abs(), colour_a, colour_b)):
                hint = "keep the direction's sign: along -Z, colour_a is at the largest z"
            expect_close(got, expected, f"the gradient on {name}", hint)
        return "right along +Y, a diagonal and -Z, for any two colours."

    return run_check("Exercise 2.2 (a colour gradient)", attempt)


# ---------------------------------------------------------------- Exercise 2.3
def _camera_pairs() -> list[tuple[str, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]:
    """(name, R1, T1, R2, T2) pairs of world-to-view transforms."""
    from course_utils.p3d import renderer

    def pose(dist, elev, azim, at=((0.0, 0.0, 0.0),)):
        R, T = renderer.look_at_view_transform(dist=dist, elev=elev, azim=azim, at=at)
        return R[0], T[0]

    return [
        ("the same camera twice", *pose(3.0, 20.0, 30.0), *pose(3.0, 20.0, 30.0)),
        ("two cameras 90° apart", *pose(3.0, 0.0, 0.0), *pose(3.0, 0.0, 90.0)),
        ("a camera stepping back", *pose(2.0, 10.0, -20.0), *pose(4.0, 10.0, -20.0)),
        (
            "two unrelated cameras",
            *pose(2.7, 35.0, 120.0, at=((0.2, -0.1, 0.3),)),
            *pose(4.0, -25.0, -60.0, at=((-0.5, 0.4, 0.0),)),
        ),
    ]


def check_relative_camera_transform(relative_camera_transform) -> bool:
    """Exercise 2.3: ``relative_camera_transform(R1, T1, R2, T2) -> (R_rel (3, 3), T_rel (3,))``."""

    def attempt() -> str:
        generator = torch.Generator().manual_seed(7)
        points = torch.rand(10, 3, generator=generator) * 2 - 1
        for name, R1, T1, R2, T2 in _camera_pairs():
            got = call(relative_camera_transform, R1.clone(), T1.clone(), R2.clone(), T2.clone())
            if not isinstance(got, (tuple, list)) or len(got) != 2:
                raise CheckFailed(
                    f"expected two tensors (R_rel, T_rel), got {type(got).__name__}",
                    "end with `return R_rel, T_rel`",
                )
            R_rel, T_rel = got
            expected_R = R1.T @ R2
            expected_T = T2 - T1 @ expected_R
            hint_R = (
                "write X_world from X_view1 (X_world = (X_view1 - T1) @ R1^T, since R1 is a "
                "rotation), then put it into X_view2 = X_world @ R2 + T2"
            )
            if _close(R_rel, R2 @ R1.T):
                hint_R = (
                    "that is the column-vector formula (x' = R x); points are rows here "
                    "(x' = x @ R), so the product reads left to right: first undo R1 (R1^T), "
                    "then apply R2"
                )
            elif _close(R_rel, R2.T @ R1) or _close(R_rel, R1 @ R2.T):
                hint_R = "that rotation takes view 2 to view 1: you computed the inverse (R_rel^T)"
            expect_close(R_rel, expected_R, f"R_rel for {name}", hint_R)
            hint_T = (
                "T_rel is what X_view2 is when X_view1 = 0: substitute "
                "X_world = (X_view1 - T1) @ R1^T into X_view2 = X_world @ R2 + T2 and collect "
                "the constant term"
            )
            if _close(T_rel, T1 @ expected_R - T2):
                hint_T = "T_rel has the wrong sign: it should start from T2, then subtract"
            elif _close(T_rel, T2 - T1):
                hint_T = (
                    "T1 is in view 1's axes: take it through R_rel before subtracting it from T2"
                )
            elif _close(T_rel, T2 + T1 @ expected_R):
                hint_T = "camera 1's translation has to be *undone*: subtract it, don't add it"
            expect_close(T_rel, expected_T, f"T_rel for {name}", hint_T)
            view1, view2 = points @ R1 + T1, points @ R2 + T2
            expect_close(view1 @ R_rel + T_rel, view2, "X_view1 @ R_rel + T_rel")
        return "X_view1 @ R_rel + T_rel gives X_view2 for every pair of cameras."

    return run_check("Exercise 2.3 (relative camera transform)", attempt)
