"""Marching cubes (scaling, axis order, orientation), grids and parametric surfaces."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from course_utils import surfaces


def signed_volume(mesh) -> float:
    """Volume enclosed by a closed mesh (divergence theorem): > 0 when the faces point out."""
    v0, v1, v2 = mesh.verts_packed()[mesh.faces_packed()].double().unbind(1)
    return float((v0 * torch.linalg.cross(v1, v2, dim=1)).sum() / 6)


def ball_sdf(p: torch.Tensor) -> torch.Tensor:
    return p.norm(dim=1) - 0.8


def box_sdf(half, centre):
    half, centre = torch.tensor(half), torch.tensor(centre)

    def sdf(p: torch.Tensor) -> torch.Tensor:
        q = (p - centre).abs() - half
        return q.clamp(min=0).norm(dim=1) + q.max(dim=1).values.clamp(max=0)

    return sdf


# ---------------------------------------------------------------- grids
def test_grid_points_follow_meshgrid_ij_and_include_both_ends():
    grid = surfaces.grid_points(((0.0, -1.0, 2.0), (1.0, 1.0, 3.0)), (3, 5, 2))
    assert grid.shape == (3, 5, 2, 3)
    torch.testing.assert_close(grid[0, 0, 0], torch.tensor([0.0, -1.0, 2.0]))
    torch.testing.assert_close(grid[-1, -1, -1], torch.tensor([1.0, 1.0, 3.0]))
    torch.testing.assert_close(grid[1, 3, 1], torch.tensor([0.5, 0.5, 3.0]))
    # axis 0 moves x only, axis 1 y only, axis 2 z only
    assert torch.equal(grid[1, 0, 0, 1:], grid[0, 0, 0, 1:])
    assert torch.equal(grid[0, 1, 0, [0, 2]], grid[0, 0, 0, [0, 2]])


def test_evaluate_on_grid_in_chunks_equals_one_call():
    def fn(p):
        return p[:, 0] * 2 + p[:, 1] ** 2 - p[:, 2]

    whole = fn(surfaces.grid_points(1.0, (7, 6, 5)).reshape(-1, 3)).reshape(7, 6, 5)
    chunked = surfaces.evaluate_on_grid(fn, 1.0, (7, 6, 5), chunk_size=11)
    torch.testing.assert_close(chunked, whole)


@pytest.mark.parametrize(
    "bounds, resolution, match",
    [
        (((1.0, 0, 0), (0.0, 1, 1)), 8, "upper must exceed"),
        (((0, 0), (1, 1)), 8, "bounds must be"),
        (1.0, 1, "resolution"),
        (1.0, (8, 8), "resolution"),
    ],
)
def test_bad_grids_are_refused(bounds, resolution, match):
    with pytest.raises(ValueError, match=match):
        surfaces.grid_points(bounds, resolution)


def test_evaluate_on_grid_needs_one_value_per_point():
    with pytest.raises(ValueError, match=r"\(M,\) values"):
        surfaces.evaluate_on_grid(lambda p: p, 1.0, 4)


# ---------------------------------------------------------------- marching cubes
@pytest.mark.parametrize("n", [16, 32, 64])
def test_sphere_radii_converge_with_the_grid(n):
    mesh = surfaces.mesh_implicit(ball_sdf, bounds=1.0, resolution=n)
    spacing = 2.0 / (n - 1)
    error = (mesh.verts_packed().norm(dim=1) - 0.8).abs().max().item()
    assert error < 0.25 * spacing**2  # linear interpolation of a smooth function: O(h^2)
    assert signed_volume(mesh) == pytest.approx(4 / 3 * math.pi * 0.8**3, rel=3 * spacing**2)


def test_anisotropic_box_keeps_the_axis_order_and_the_offset():
    half, centre = (0.2, 0.45, 0.7), (0.1, -0.2, 0.3)
    bounds = ((-0.3, -0.8, -0.6), (0.5, 0.4, 1.2))
    resolution = (33, 49, 73)  # a different spacing on every axis, too
    mesh = surfaces.mesh_implicit(box_sdf(half, centre), bounds, resolution)
    box = mesh.get_bounding_boxes()[0]  # (3, 2): min, max per axis
    expected = torch.tensor([[c - h, c + h] for c, h in zip(centre, half)])
    torch.testing.assert_close(box, expected, atol=1e-4, rtol=0)  # the faces are grid-aligned
    assert signed_volume(mesh) == pytest.approx(8 * math.prod(half), rel=0.01)  # edges chamfered


def test_voxels_on_an_anisotropic_grid_keep_the_axis_order():
    occupancy = torch.zeros(10, 20, 30, dtype=torch.bool)
    occupancy[2:8, 3:17, 4:26] = True  # touches no border; 6 x 14 x 22 voxels
    bounds = ((0.0, 0.0, 0.0), (0.9, 1.9, 2.9))  # voxel centres every 0.1
    blocky = surfaces.mesh_voxels(occupancy, bounds, smooth=False)
    expected = torch.tensor([[0.15, 0.75], [0.25, 1.65], [0.35, 2.55]])  # half a voxel out
    torch.testing.assert_close(blocky.get_bounding_boxes()[0], expected, atol=1e-5, rtol=0)
    assert signed_volume(blocky) > 0
    smooth = surfaces.mesh_voxels(occupancy, bounds, smooth=True)
    torch.testing.assert_close(smooth.get_bounding_boxes()[0], expected, atol=0.05, rtol=0)
    assert signed_volume(smooth) == pytest.approx(0.6 * 1.4 * 2.2, rel=0.1)


def test_voxels_touching_the_border_still_give_a_closed_surface():
    occupancy = np.ones((4, 4, 4), dtype=bool)
    mesh = surfaces.mesh_voxels(occupancy, bounds=((0, 0, 0), (3, 3, 3)), smooth=False)
    edges = mesh.faces_packed_to_edges_packed().flatten()
    assert torch.bincount(edges).eq(2).all()  # every edge shared by two faces: closed
    torch.testing.assert_close(
        mesh.get_bounding_boxes()[0], torch.tensor([[-0.5, 3.5]] * 3), atol=1e-5, rtol=0
    )


def outward_fraction(mesh, core) -> float:
    """Fraction of faces whose normal points away from the nearest point of the core."""
    centres = mesh.verts_packed()[mesh.faces_packed()].mean(dim=1)
    return float(
        ((mesh.faces_normals_packed() * (centres - core(centres))).sum(1) > 0).float().mean()
    )


def torus_sdf(p: torch.Tensor, R: float = 0.6, r: float = 0.2) -> torch.Tensor:  # noqa: N803
    ring = p[:, [0, 2]].norm(dim=1)
    return torch.stack([ring - R, p[:, 1]], dim=1).norm(dim=1) - r


def torus_core(p: torch.Tensor, R: float = 0.6) -> torch.Tensor:  # noqa: N803
    """The nearest point of the torus' core circle (radius R in the XZ plane)."""
    flat = p * torch.tensor([1.0, 0.0, 1.0])
    return R * flat / flat.norm(dim=1, keepdim=True)


@pytest.mark.parametrize("inside", ["below", "above"])
def test_normals_point_out_for_both_conventions(inside):
    sign = 1.0 if inside == "below" else -1.0  # "above": the same solid as -sdf > 0
    ball = surfaces.mesh_implicit(lambda p: sign * ball_sdf(p), 1.0, 24, inside=inside)
    assert outward_fraction(ball, lambda c: torch.zeros_like(c)) == 1.0
    assert signed_volume(ball) > 0
    torus = surfaces.mesh_implicit(lambda p: sign * torus_sdf(p), 1.0, 40, inside=inside)
    assert outward_fraction(torus, torus_core) == 1.0
    assert signed_volume(torus) == pytest.approx(2 * math.pi**2 * 0.6 * 0.2**2, rel=0.02)


def test_the_wrong_convention_turns_the_faces_inwards():
    mesh = surfaces.mesh_implicit(ball_sdf, 1.0, 24, inside="above")
    assert outward_fraction(mesh, lambda c: torch.zeros_like(c)) == 0.0


def test_marching_cubes_takes_numpy_and_a_level():
    values = surfaces.grid_points(1.0, 32).norm(dim=-1).numpy()  # distance to the origin
    mesh = surfaces.marching_cubes(values, bounds=1.0, level=0.5)
    assert mesh.verts_packed().dtype == torch.float32
    torch.testing.assert_close(
        mesh.verts_packed().norm(dim=1), torch.full((mesh.verts_packed().shape[0],), 0.5),
        atol=2e-3, rtol=0,
    )  # fmt: skip


@pytest.mark.parametrize(
    "volume, kwargs, match",
    [
        (torch.ones(8, 8, 8), {}, "no surface"),
        (torch.randn(8, 8), {}, r"\(nx, ny, nz\)"),
        (torch.full((4, 4, 4), float("nan")), {}, "NaN"),
        (torch.randn(8, 8, 8), {"inside": "in"}, "inside"),
    ],
)
def test_marching_cubes_refuses_bad_input(volume, kwargs, match):
    with pytest.raises(ValueError, match=match):
        surfaces.marching_cubes(volume, bounds=1.0, **kwargs)


# ---------------------------------------------------------------- parametric surfaces
def uv_grid(n: int = 40) -> tuple[torch.Tensor, torch.Tensor]:
    u, v = torch.meshgrid(torch.linspace(0, 1, n), torch.linspace(0, 1, n), indexing="ij")
    return u.flatten(), v.flatten()


def test_sphere_surface_points_are_on_the_sphere_with_y_up():
    u, v = uv_grid()
    points = surfaces.sphere_surface(u, v, radius=1.5)
    torch.testing.assert_close(points.norm(dim=1), torch.full_like(u, 1.5))
    torch.testing.assert_close(
        surfaces.sphere_surface(u[:1], torch.zeros(1)), torch.tensor([[0.0, 1, 0]])
    )


def test_torus_surface_is_the_zero_set_of_the_torus_sdf():
    u, v = uv_grid()
    points = surfaces.torus_surface(u, v, R=0.6, r=0.2)
    assert torus_sdf(points).abs().max() < 1e-6
    assert points[:, 1].abs().max() == pytest.approx(0.2, abs=1e-3)  # flat: its axis is +Y


def test_trefoil_tube_is_a_tube_around_the_knot():
    u, v = uv_grid(60)
    points = surfaces.trefoil_tube_surface(u, v, radius=0.1)
    centre, tangent, _ = surfaces.trefoil_curve(2 * math.pi * u)
    offset = points - centre
    torch.testing.assert_close(offset.norm(dim=1), torch.full_like(u, 0.1))
    across = (offset * tangent).sum(dim=1) / tangent.norm(dim=1)
    assert across.abs().max() < 1e-5  # the circle is perpendicular to the curve
    # A circle, not a line: around the tube the offsets point in all directions.
    ring = offset.reshape(60, 60, 3)[7]  # one u, all v
    assert (ring @ ring[0]).min() < -0.009


def test_sample_parametric_is_repeatable_with_a_generator():
    a = surfaces.sample_parametric(
        surfaces.torus_surface, 500, generator=torch.Generator().manual_seed(3)
    )
    b = surfaces.sample_parametric(
        surfaces.torus_surface, 500, generator=torch.Generator().manual_seed(3)
    )
    assert a.shape == (500, 3) and torch.equal(a, b)
    assert torus_sdf(a, R=0.7, r=0.25).abs().max() < 1e-5  # the default torus
