"""Checks for the exercises of chapter 03 (point clouds and surfaces)."""

from __future__ import annotations

import math

import torch

from course_utils.checks._core import CheckFailed, call, expect_close, run_check

__all__ = [
    "check_area_weighted_sampling",
    "check_depth_to_view_points",
    "check_torus_implicit",
    "check_torus_points",
]


def _close(got: object, expected: torch.Tensor, atol: float = 1e-4) -> bool:
    """Whether ``got`` is a tensor of ``expected``'s shape and values (no exception)."""
    if not torch.is_tensor(got) or tuple(got.shape) != tuple(expected.shape):
        return False
    got = got.detach().cpu().to(expected.dtype)
    return bool(torch.allclose(got, expected, atol=atol, rtol=1e-4))


# ---------------------------------------------------------------- Exercise 3.1
def _view_points(depth: torch.Tensor, fov: float, x_sign=1.0, y_sign=1.0, half_pixel=0.5,
                 scale="min", angle=None) -> torch.Tensor:  # fmt: skip
    """The view-space points of every pixel, right with the defaults, wrong otherwise."""
    height, width = depth.shape
    short = {"min": min(height, width), "max": max(height, width)}[scale]
    cols = torch.arange(width, dtype=depth.dtype) + half_pixel
    rows = torch.arange(height, dtype=depth.dtype) + half_pixel
    x = x_sign * (width - 2 * cols) / short
    y = y_sign * (height - 2 * rows) / short
    x, y = torch.meshgrid(x, y, indexing="xy")
    tan = math.tan(math.radians(fov) / 2) if angle is None else angle
    return torch.stack([x * depth * tan, y * depth * tan, depth], dim=-1)


def _depth_hint(got: object, depth: torch.Tensor, fov: float) -> str:
    mistakes = [
        (_view_points(depth, fov, x_sign=-1.0), "your x goes the wrong way: NDC +X (and view +X) "
         "is the camera's *left*, and column 0 is the image's left edge, so x decreases with "
         "the column"),
        (_view_points(depth, fov, y_sign=-1.0), "your y goes the wrong way: row 0 is the *top* "
         "of the image, where view +Y points"),
        (_view_points(depth, fov, -1.0, -1.0), "both x and y are flipped: +X is left, +Y is up; "
         "columns grow to the right and rows downwards"),
        (_view_points(depth, fov, half_pixel=0.0), "you used the pixels' corners: PyTorch3D uses "
         "pixel *centres*, column j is at j + 0.5"),
        (_view_points(depth, fov, scale="max"), "the *shorter* image side spans [-1, 1] in NDC: "
         "divide by min(H, W)"),
        (_view_points(depth, fov, angle=math.tan(math.radians(fov))), "use tan(fov / 2): the "
         "field of view spans both sides of the optical axis"),
        (_view_points(depth, fov, angle=math.tan(fov / 2)), "math.tan takes radians: convert "
         "the field of view with math.radians(fov)"),
    ]  # fmt: skip
    for wrong, hint in mistakes:
        if _close(got, wrong):
            return hint
    return (
        "pixel (i, j) has NDC x = (W - 1 - 2j) / min(H, W), y = (H - 1 - 2i) / min(H, W); "
        "then x_view = x * z * tan(fov/2), y_view = y * z * tan(fov/2), z_view = z"
    )


def check_depth_to_view_points(depth_to_view_points) -> bool:
    """Exercise 3.1: ``depth_to_view_points(depth (H, W), fov) -> (H, W, 3)`` view points."""
    from course_utils.p3d import renderer

    def attempt() -> str:
        generator = torch.Generator().manual_seed(31)
        for (height, width), fov in (((4, 4), 60.0), ((3, 5), 50.0), ((6, 2), 75.0)):
            depth = 1.5 + 2 * torch.rand(height, width, generator=generator)
            cameras = renderer.FoVPerspectiveCameras(fov=fov)
            # The library's unprojection, from the pixel centres in NDC.
            short = min(height, width)
            cols, rows = torch.arange(width), torch.arange(height)
            x = (width - 1 - 2 * cols) / short
            y = (height - 1 - 2 * rows) / short
            xy = torch.stack(torch.meshgrid(x, y, indexing="xy"), dim=-1).float()
            xy_depth = torch.cat([xy, depth[..., None]], dim=-1).reshape(1, -1, 3)
            expected = cameras.unproject_points(xy_depth, world_coordinates=False)
            expected = expected.reshape(height, width, 3)
            got = call(depth_to_view_points, depth.clone(), fov)
            expect_close(
                got,
                expected,
                f"the view points of an image of H={height}, W={width} (fov {fov:g}°)",
                _depth_hint(got, depth, fov),
            )
        return "right for a square, a wide and a tall image (as cameras.unproject_points)."

    return run_check("Exercise 3.1 (depth to view points)", attempt)


# ---------------------------------------------------------------- Exercise 3.2
def _torus_distance(points: torch.Tensor, R: float, r: float) -> torch.Tensor:  # noqa: N803
    """Signed distance to the flat torus around +Y (ring radius R, tube radius r)."""
    ring = points[..., [0, 2]].norm(dim=-1)
    return torch.stack([ring - R, points[..., 1]], dim=-1).norm(dim=-1) - r


def check_torus_points(torus_points) -> bool:
    """Exercise 3.2: ``torus_points(u, v, R, r) -> (..., 3)`` points of the flat torus."""
    from course_utils import surfaces

    def attempt() -> str:
        generator = torch.Generator().manual_seed(32)
        for R, r, shape in ((0.7, 0.25, (50,)), (2.0, 0.5, (4, 6))):  # noqa: N806
            u = torch.rand(shape, generator=generator)
            v = torch.rand(shape, generator=generator)
            expected = surfaces.torus_surface(u, v, R=R, r=r)
            got = call(torus_points, u.clone(), v.clone(), R, r)
            hint = (
                "x = (R + r cos θ) cos φ, y = r sin θ, z = (R + r cos θ) sin φ with φ = 2πu "
                "(around the ring) and θ = 2πv (around the tube)"
            )
            if torch.is_tensor(got) and got.shape == expected.shape:
                points = got.detach().cpu().float()
                radians = surfaces.torus_surface(u / (2 * math.pi), v / (2 * math.pi), R=R, r=r)
                if _close(points[..., [0, 2, 1]], expected):
                    hint = "your torus stands up (around Z): here it lies flat, around +Y"
                elif _close(points, surfaces.torus_surface(u, v, R=r, r=R)):
                    hint = "you swapped R and r: R is the big ring, r the tube"
                elif _close(points, radians):
                    hint = "u and v run over [0, 1]: the angles are 2π u and 2π v"
                elif _torus_distance(points, R, r).abs().max() < 1e-3:
                    hint = (
                        "your points are on the torus, but not at the expected (u, v): use "
                        "φ = 2πu around the ring and θ = 2πv around the tube, as in the formula"
                    )
            expect_close(got, expected, f"the torus points (R={R}, r={r}, shape {shape})", hint)
        return "every (u, v) lands where the parametrisation says, for two tori."

    return run_check("Exercise 3.2 (torus parametrisation)", attempt)


# ---------------------------------------------------------------- Exercise 3.3
def check_torus_implicit(torus_implicit) -> bool:
    """Exercise 3.3: ``torus_implicit(points (M, 3), R, r) -> (M,)``, < 0 inside the tube,
    0 on the surface, > 0 outside (any function with that zero set and those signs)."""
    from course_utils import surfaces

    def attempt() -> str:
        generator = torch.Generator().manual_seed(33)
        for R, r in ((0.7, 0.25), (1.5, 0.6)):  # noqa: N806
            u, v = torch.rand(2, 200, generator=generator)
            on = surfaces.torus_surface(u, v, R=R, r=r)
            core = surfaces.torus_surface(u, v, R=R, r=0.0)  # the centre line of the tube
            inside = core + (on - core) * 0.5
            outside = core + (on - core) * 1.6
            special = torch.tensor([[0.0, 0.0, 0.0], [0.0, 3 * r, 0.0], [0.0, 0.0, 3 * R]])
            cases = [
                ("on the surface", on, "zero"),
                ("inside the tube", inside, "negative"),
                ("outside the tube", outside, "positive"),
                ("the centre of the hole, above it and far out", special, "positive"),
            ]
            for where, points, sign in cases:
                got = call(torus_implicit, points.clone(), R, r)
                if not torch.is_tensor(got):
                    raise CheckFailed(
                        f"expected a torch.Tensor of shape ({len(points)},), got "
                        f"{type(got).__name__}",
                        "return one value per point (did you forget the `return`?)",
                    )
                if tuple(got.shape) != (len(points),):
                    raise CheckFailed(
                        f"expected shape ({len(points)},) (one value per point), got "
                        f"{tuple(got.shape)}",
                        "reduce the last dimension: e.g. .norm(dim=-1) or a sum over dim=-1",
                    )
                values = got.detach().cpu().float()
                stands_up = _torus_distance(points[:, [0, 2, 1]], R, r)
                hint = (
                    "the distance from a point to the tube's centre circle is "
                    "sqrt((sqrt(x² + z²) - R)² + y²); subtract r"
                )
                if bool((values * _torus_distance(points, R, r) < 0).all()) and sign != "zero":
                    hint = "your signs are reversed: the inside must be negative"
                elif _close(values, stands_up):
                    hint = "your torus stands up (around Z): here it lies flat, around +Y"
                if sign == "zero" and values.abs().max() > 1e-3:
                    raise CheckFailed(
                        f"R={R}, r={r}: points {where} should give 0, got values up to "
                        f"{values.abs().max():.4g}",
                        hint,
                    )
                wrong = values >= 0 if sign == "negative" else values <= 0
                if sign != "zero" and bool(wrong.any()):
                    raise CheckFailed(
                        f"R={R}, r={r}: points {where} should give {sign} values; "
                        f"{int(wrong.sum())} of {len(points)} do not",
                        hint,
                    )
        return "zero on the torus, negative inside the tube, positive outside, for two tori."

    return run_check("Exercise 3.3 (torus implicit function)", attempt)


# ---------------------------------------------------------------- Exercise 3.4
def _two_triangles() -> tuple[torch.Tensor, torch.Tensor]:
    """A small triangle in the plane z = 0 (area 0.5) and a big one in z = 1 (area 4.5)."""
    verts = torch.tensor(
        [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0],
         [0.0, 0.0, 1.0], [3.0, 0.0, 1.0], [0.0, 3.0, 1.0]]
    )  # fmt: skip
    return verts, torch.tensor([[0, 1, 2], [3, 4, 5]])


def check_area_weighted_sampling(sample_surface) -> bool:
    """Exercise 3.4: ``sample_surface(verts (V, 3), faces (F, 3), num_samples) -> (S, 3)``
    uniform (area-weighted) points on the surface."""

    def attempt() -> str:
        verts, faces = _two_triangles()
        num = 20_000
        with torch.random.fork_rng():
            torch.manual_seed(34)
            got = call(sample_surface, verts.clone(), faces.clone(), num)
        if not torch.is_tensor(got) or tuple(got.shape) != (num, 3):
            shape = tuple(got.shape) if torch.is_tensor(got) else type(got).__name__
            raise CheckFailed(
                f"expected a ({num}, 3) tensor of points, got {shape}",
                "return w0 * v0 + w1 * v1 + w2 * v2 for the chosen faces, one row per sample",
            )
        points = got.detach().cpu().float()
        on_small = (points[:, 2].abs() < 1e-4) & (points[:, :2].min(dim=1).values > -1e-4)
        on_small &= points[:, :2].sum(dim=1) < 1 + 1e-4
        on_big = ((points[:, 2] - 1).abs() < 1e-4) & (points[:, :2].min(dim=1).values > -1e-4)
        on_big &= points[:, :2].sum(dim=1) < 3 + 1e-4
        off = ~(on_small | on_big)
        if off.any():
            raise CheckFailed(
                f"{int(off.sum())} of {num} points are not on the triangles (e.g. "
                f"{points[off][0].tolist()})",
                "the weights must be >= 0 and add up to 1: w0 = 1 - sqrt(u), "
                "w1 = sqrt(u) (1 - v), w2 = sqrt(u) v",
            )
        share = on_big.float().mean().item()
        sigma = math.sqrt(0.9 * 0.1 / num)
        if abs(share - 0.9) > 5 * sigma:
            hint = "choose faces with probability proportional to their area: torch.multinomial"
            if abs(share - 0.5) < 0.03:
                hint = (
                    "both triangles get the same number of points: weight the choice of face by "
                    "its area (torch.multinomial(areas, num_samples, replacement=True))"
                )
            raise CheckFailed(
                f"the big triangle has 9 times the area of the small one, so it should get 90% "
                f"of the points; it got {100 * share:.1f}%",
                hint,
            )
        # Inside the big triangle: the fraction of points in the corner region w0 > 1/2
        # (the triangle shrunk by half towards v0) is 1/4 for uniform points.
        big = points[on_big]
        w0 = 1 - big[:, :2].sum(dim=1) / 3
        fraction = (w0 > 0.5).float().mean().item()
        sigma = math.sqrt(0.25 * 0.75 / len(big))
        if abs(fraction - 0.25) > 5 * sigma:
            hint = "uniform points need w0 = 1 - sqrt(u): without the square root they crowd"
            if abs(fraction - 0.5) < 0.03:
                hint += " near one corner (half of them are in its quarter of the triangle)"
            else:
                hint += " in some part of the triangle"
            raise CheckFailed(
                f"the points are not uniform inside a triangle: {100 * fraction:.1f}% lie in "
                "the quarter of it nearest to a corner (expected 25%)",
                hint,
            )
        for corner in (1, 2):  # the other two corners' quarters, too
            w = big[:, corner - 1] / 3
            fraction = (w > 0.5).float().mean().item()
            if abs(fraction - 0.25) > 5 * sigma:
                raise CheckFailed(
                    f"{100 * fraction:.1f}% of the points lie in the quarter of the triangle "
                    f"nearest to corner {corner} (expected 25%)",
                    "w1 = sqrt(u) (1 - v) and w2 = sqrt(u) v share sqrt(u) evenly",
                )
        return (
            f"90% of the points on the triangle with 90% of the area ({100 * share:.1f}%), "
            "uniform inside it."
        )

    return run_check("Exercise 3.4 (area-weighted sampling)", attempt)
