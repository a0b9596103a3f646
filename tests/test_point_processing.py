"""Point-cloud processing and the spectral Poisson solver on analytic cases."""

from __future__ import annotations

import math

import pytest
import torch

from course_utils.metrics import f_score
from course_utils.point_processing import (
    estimate_normals,
    open3d_pipeline,
    open3d_status,
    poisson_reconstruct,
    sample_trilinear,
    splat_trilinear,
    statistical_outlier_removal,
    trim_by_density,
)

CENTRE = torch.tensor([0.1, -0.2, 0.05])


def sphere(n: int = 20000, radius: float = 0.3, seed: int = 0) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(seed)
    normals = torch.nn.functional.normalize(torch.randn(n, 3, generator=gen), dim=1)
    return normals * radius + CENTRE, normals


def test_poisson_on_exact_sphere_gives_the_sphere() -> None:
    points, normals = sphere()
    result = poisson_reconstruct(points, normals, resolution=48, margin=0.25)
    voxel = 0.6 * 1.5 / 48  # the box's side, with its margins, over R
    radii = (result.verts - CENTRE).norm(dim=1)
    assert (radii - 0.3).abs().max() < voxel
    assert (radii - 0.3).abs().mean() < 0.1 * voxel
    # closed, normals outwards: every face normal points away from the centre
    v, f = result.verts, result.faces
    face_normals = torch.linalg.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]], dim=1)
    outward = (face_normals * (v[f].mean(1) - CENTRE)).sum(1) > 0
    assert bool(outward.all())
    assert len(f) == 2 * (len(v) - 2)  # Euler: a closed genus-0 triangle mesh


def test_poisson_flipped_normals_still_a_sphere_and_a_cube_is_not_a_sphere() -> None:
    points, normals = sphere(radius=0.25)
    result = poisson_reconstruct(points, -normals, resolution=32)
    # inward normals make χ's inside "above" the level: the mesh is still the sphere
    assert ((result.verts - CENTRE).norm(dim=1) - 0.25).abs().max() < 0.02


def test_splat_is_the_adjoint_of_sample() -> None:
    gen = torch.Generator().manual_seed(3)
    coords = torch.rand(50, 3, generator=gen, dtype=torch.float64) * 8
    values = torch.randn(50, 1, generator=gen, dtype=torch.float64)
    grid = torch.randn(8, 8, 8, generator=gen, dtype=torch.float64)
    lhs = (splat_trilinear(coords, values, 8)[0] * grid).sum()
    rhs = (sample_trilinear(grid, coords) * values[:, 0]).sum()
    assert torch.allclose(lhs, rhs)
    # a point on a grid node puts its whole value there
    node = splat_trilinear(torch.tensor([[2.0, 3.0, 7.0]]), torch.ones(1, 1), 8)
    assert node[0, 2, 3, 7] == 1 and node.sum() == 1


def test_outlier_removal_removes_planted_outliers_and_keeps_the_rest() -> None:
    gen = torch.Generator().manual_seed(1)
    surface = torch.rand(3000, 3, generator=gen) * torch.tensor([1.0, 1.0, 0.0])  # z = 0 plane
    far = torch.rand(30, 3, generator=gen) + torch.tensor([0.0, 0.0, 0.4])  # 0.4..1.4 above it
    keep = statistical_outlier_removal(torch.cat([surface, far]), k=16, std_ratio=2.0)
    assert not keep[3000:].any()
    assert keep[:3000].float().mean() > 0.97  # the plane's own border points may go


def test_normals_of_a_plane_face_the_camera() -> None:
    gen = torch.Generator().manual_seed(2)
    uv = torch.rand(2000, 2, generator=gen) * 2 - 1
    angle = math.radians(30)
    u = torch.tensor([math.cos(angle), 0.0, math.sin(angle)])
    v = torch.tensor([0.0, 1.0, 0.0])
    normal = torch.linalg.cross(u, v)
    points = uv[:, :1] * u + uv[:, 1:] * v
    for camera in (3 * normal, -3 * normal):
        got = estimate_normals(points, k=12, camera_centre=camera)
        expected = torch.nn.functional.normalize(camera, dim=0)
        assert torch.allclose(got, expected.expand_as(got), atol=1e-4)


def test_trim_by_density_drops_low_density_vertices() -> None:
    verts = torch.rand(4, 3)
    faces = torch.tensor([[0, 1, 2], [1, 3, 2]])
    new_verts, new_faces = trim_by_density(verts, faces, torch.tensor([5.0, 5, 5, 0]), 0.25)
    assert torch.equal(new_verts, verts[:3]) and new_faces.tolist() == [[0, 1, 2]]


def test_open3d_and_builtin_poisson_agree_on_the_visible_half_of_a_sphere() -> None:
    o3d, message = open3d_status()
    if o3d is None:
        pytest.skip(message)
    points, normals = sphere(n=16000, radius=0.3)
    camera = CENTRE + torch.tensor([0.0, 0.0, 3.0])
    visible = normals[:, 2] > 0  # what a camera on +Z sees
    points = points[visible]
    result = open3d_pipeline(points, camera_centre=camera, depth=6, trim_quantile=0.1)
    # the same rule as ours: the two keep-masks agree on almost every point
    same = result["keep"] == statistical_outlier_removal(points, k=16, std_ratio=2.0)
    assert same.float().mean() > 0.99
    # Open3D's normals face the camera like ours (the rim, seen edge-on, may flip)
    ours_normals = estimate_normals(points[result["keep"]], k=16, camera_centre=camera)
    agree = (ours_normals * result["normals"]).sum(1).abs() > 0.99
    assert agree.float().mean() > 0.99
    ours = poisson_reconstruct(points, estimate_normals(points, camera_centre=camera), 48)
    verts, _ = trim_by_density(ours.verts, ours.faces, ours.density, threshold=0.2)
    tau = 0.02 * 0.6 * math.sqrt(3)  # 2 % of the bounding-box diagonal
    f_ours = float(f_score(verts, points, tau).f_score)
    f_o3d = float(f_score(result["trimmed_verts"], points, tau).f_score)
    assert f_ours > 0.9 and f_o3d > 0.9
    assert abs(f_ours - f_o3d) < 0.05
