"""Checks for the exercises of chapter 00 (set-up and tour)."""

from __future__ import annotations

import torch

from course_utils.checks._core import call, expect_close, run_check

__all__ = ["check_face_areas", "check_world_to_view"]


def _test_meshes() -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    """Meshes with known face areas: a right triangle (area 3), an icosphere, random faces."""
    from course_utils.p3d import utils

    generator = torch.Generator().manual_seed(0)
    sphere = utils.ico_sphere(1)
    random_verts = torch.rand(10, 3, generator=generator) * 4 - 2
    random_faces = torch.randint(0, 10, (15, 3), generator=generator)
    return [
        (
            "a right triangle",
            torch.tensor([[0.0, 0, 0], [2, 0, 0], [0, 3, 0]]),
            torch.tensor([[0, 1, 2]]),
        ),
        ("ico_sphere(1)", sphere.verts_packed(), sphere.faces_packed()),
        ("random triangles", random_verts, random_faces),
    ]


def check_face_areas(face_areas) -> bool:
    """Exercise 0.1: ``face_areas(verts (V, 3), faces (F, 3)) -> (F,)`` triangle areas."""
    from course_utils.p3d import structures

    def attempt() -> str:
        for name, verts, faces in _test_meshes():
            expected = structures.Meshes(verts=[verts], faces=[faces]).faces_areas_packed()
            got = call(face_areas, verts.clone(), faces.clone())
            hint = "the area is half the length of the cross product of two edges"
            if torch.is_tensor(got) and got.shape == (faces.shape[0], 3):
                hint = "you returned a vector per face: take its length with .norm(dim=1)"
            elif torch.is_tensor(got) and got.shape == expected.shape:
                if torch.allclose(got.detach().float(), 2 * expected, atol=1e-4):
                    hint = "your areas are twice too big: |cross| is the parallelogram's area"
            expect_close(got, expected, f"the areas of {name}", hint)
        return "right on a triangle, an icosphere and random faces."

    return run_check("Exercise 0.1 (face areas)", attempt)


def check_world_to_view(world_to_view) -> bool:
    """Exercise 0.2: ``world_to_view(points (P, 3), R (3, 3), T (3,)) -> (P, 3)`` view points."""
    from course_utils.p3d import renderer

    def attempt() -> str:
        points = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.3, -0.2, 0.5], [0, 1, 1]])
        for dist, elev, azim in ((2.7, 25.0, 35.0), (3.0, -40.0, 200.0)):
            R, T = renderer.look_at_view_transform(dist=dist, elev=elev, azim=azim)
            cameras = renderer.FoVPerspectiveCameras(R=R, T=T)
            expected = cameras.get_world_to_view_transform().transform_points(points)
            got = call(world_to_view, points.clone(), R[0].clone(), T[0].clone())
            hint = "PyTorch3D uses row vectors: X_view = X_world @ R + T"
            if torch.is_tensor(got) and got.shape == points.shape:
                column_style = points @ R[0].T + T[0]
                if torch.allclose(got.detach().float(), column_style, atol=1e-4):
                    hint = "that is R @ x (column vectors); PyTorch3D multiplies x @ R"
            expect_close(got, expected, f"the view coordinates (elev={elev}, azim={azim})", hint)
        return "your points match cameras.get_world_to_view_transform()."

    return run_check("Exercise 0.2 (world to view)", attempt)
