"""Checks for the exercises of chapter 08 (from one photo to a 3D file)."""

from __future__ import annotations

import math

import torch

from course_utils.checks._core import CheckFailed, call, expect_close, run_check

__all__ = ["check_outlier_mask", "check_pca_normals"]


def _plane_with_outliers() -> tuple[torch.Tensor, torch.Tensor]:
    """1,000 points on the z = 0 square (denser towards x = 0) and 12 above it (the last 12)."""
    gen = torch.Generator().manual_seed(8)
    xy = torch.rand(1000, 2, generator=gen)
    xy[:, 0] = xy[:, 0] ** 2  # uneven density: the threshold matters
    surface = torch.cat([xy, torch.zeros(1000, 1)], dim=1)
    far = torch.rand(12, 3, generator=gen) * torch.tensor([1.0, 1.0, 0.3])
    far = far + torch.tensor([0.0, 0.0, 0.1])
    truth = torch.ones(1012, dtype=torch.bool)
    truth[1000:] = False
    return torch.cat([surface, far]), truth


def check_outlier_mask(outlier_mask) -> bool:
    """Exercise 8.1: ``outlier_mask(points (P, 3), k, std_ratio) -> (P,) bool`` keep-mask."""
    from course_utils.point_processing import statistical_outlier_removal

    def attempt() -> str:
        points, _ = _plane_with_outliers()
        got = call(outlier_mask, points, 8, 2.0)
        expected = statistical_outlier_removal(points, 8, 2.0)
        if not torch.is_tensor(got) or got.dtype != torch.bool or got.shape != expected.shape:
            shape = tuple(got.shape) if torch.is_tensor(got) else type(got).__name__
            raise CheckFailed(
                f"expected a bool tensor of shape {tuple(expected.shape)}, got {shape}",
                "return the comparison itself, e.g. `return d <= threshold`",
            )
        if got[1000:].any():
            raise CheckFailed(
                f"{int(got[1000:].sum())} of the 12 points far above the plane were kept",
                "True means *keep*: keep the points whose mean distance is at most "
                "mean + std_ratio * std; and knn_points's dists are *squared*: take the "
                "square root before averaging",
            )
        if not torch.equal(got, expected):
            wrong = int((got != expected).sum())
            raise CheckFailed(
                f"{wrong} of 1012 points decided differently",
                "knn_points's dists are *squared*: take the square root before averaging; "
                "each point finds itself first (distance 0): ask for K = k + 1 and drop it; "
                "the threshold is mean(d) + std_ratio * std(d) over all points",
            )
        return "the 12 planted outliers go, the plane's points stay"

    return run_check("Exercise 8.1 (statistical outlier removal)", attempt)


def check_pca_normals(pca_normals) -> bool:
    """Exercise 8.2: ``pca_normals(points (P, 3), k, camera_centre (3,)) -> (P, 3)``."""
    from course_utils.point_processing import estimate_normals

    def attempt() -> str:
        gen = torch.Generator().manual_seed(82)
        angle = math.radians(35)
        u = torch.tensor([math.cos(angle), 0.0, math.sin(angle)])
        v = torch.tensor([0.0, 1.0, 0.0])
        uv = torch.rand(400, 2, generator=gen) * 2 - 1
        plane = uv[:, :1] * u + uv[:, 1:] * v
        normal = torch.linalg.cross(u, v)
        for camera in (2 * normal, -2 * normal):
            got = call(pca_normals, plane, 10, camera)
            expected = normal.expand(400, 3) * (1 if camera @ normal > 0 else -1)
            hint = (
                "the normal is the eigenvector of the *smallest* eigenvalue "
                "(torch.linalg.eigh sorts them ascending: column 0), then flip the normals "
                "whose dot product with (camera_centre - point) is negative"
            )
            if torch.is_tensor(got) and got.shape == expected.shape:
                if torch.allclose(got.detach().abs(), expected.abs(), atol=1e-3):
                    hint = "right direction, wrong sign: they must face the camera"
            expect_close(got, expected, "the plane's normals", hint, atol=1e-3)
        # a curved surface: compare with the library on a sphere seen from +Z
        normals = torch.nn.functional.normalize(torch.randn(800, 3, generator=gen), dim=1)
        sphere = normals[normals[:, 2] > 0.2] * 0.5
        camera = torch.tensor([0.0, 0.0, 3.0])
        got = call(pca_normals, sphere, 12, camera)
        hint = "use each point's k nearest neighbours, itself included"
        expect_close(got, estimate_normals(sphere, 12, camera), "the sphere's normals", hint,
                     atol=1e-3)  # fmt: skip
        return "planes and spheres get normals that face the camera"

    return run_check("Exercise 8.2 (PCA normals)", attempt)
