"""Voxelization: known volumes and index ranges, the axis order shared with ``cubify``,
degenerate ray hits, open meshes, and agreement with exact winding numbers."""

from __future__ import annotations

import math

import pytest
import torch

from course_utils import assets
from course_utils.p3d import ops, structures, utils
from course_utils.voxels import (
    _winding_estimate,
    normalize_bounds,
    voxel_centres,
    voxel_size,
    voxelize,
    voxels_to_mesh,
)


def box_mesh(lo: list[float], hi: list[float]) -> tuple[torch.Tensor, torch.Tensor]:
    """An axis-aligned box ``lo <= (x, y, z) <= hi``: 8 vertices, 12 outward triangles."""
    corners = torch.tensor([[i & 1, (i >> 1) & 1, (i >> 2) & 1] for i in range(8)]).float()
    verts = torch.tensor(lo) + corners * (torch.tensor(hi) - torch.tensor(lo))
    faces = torch.tensor(
        [
            [0, 4, 6], [0, 6, 2],  # -x
            [1, 3, 7], [1, 7, 5],  # +x
            [0, 1, 5], [0, 5, 4],  # -y
            [2, 6, 7], [2, 7, 3],  # +y
            [0, 2, 3], [0, 3, 1],  # -z
            [4, 5, 7], [4, 7, 6],  # +z
        ]
    )  # fmt: skip
    return verts, faces


def exact_winding_numbers(points: torch.Tensor, verts: torch.Tensor, faces: torch.Tensor):
    """(P,) generalized winding numbers by the solid angles of the triangles (chapter 01)."""
    tri = verts[faces].double()
    out = []
    for p in points.double().split(256):
        a, b, c = (tri[None] - p[:, None, None]).unbind(2)
        la, lb, lc = a.norm(dim=-1), b.norm(dim=-1), c.norm(dim=-1)
        triple = (a * torch.linalg.cross(b, c, dim=-1)).sum(-1)
        below = la * lb * lc + (a * b).sum(-1) * lc + (b * c).sum(-1) * la + (c * a).sum(-1) * lb
        out.append((2 * torch.atan2(triple, below)).sum(1) / (4 * math.pi))
    return torch.cat(out)


def test_box_mesh_is_closed_and_outward():
    verts, faces = box_mesh([-1, -2, -3], [1, 2, 3])
    mesh = structures.Meshes([verts], [faces])
    uses = torch.bincount(mesh.faces_packed_to_edges_packed().flatten())
    assert bool((uses == 2).all())
    centres = verts[faces].mean(1)
    assert bool(((mesh.faces_normals_packed() * centres).sum(1) > 0).all())


def test_voxel_centres_layout():
    centres = voxel_centres((2, 3, 4), bounds=([0, 0, 0], [4, 3, 2]))  # (D, H, W): 1-wide cells
    assert centres.shape == (2, 3, 4, 3)
    # centres[k, j, i] = (x_i, y_j, z_k): x runs along the last axis, z along the first
    assert centres[0, 0, :, 0].tolist() == [0.5, 1.5, 2.5, 3.5]
    assert centres[0, :, 0, 1].tolist() == [0.5, 1.5, 2.5]
    assert centres[:, 0, 0, 2].tolist() == [0.5, 1.5]
    assert torch.allclose(voxel_size((2, 3, 4), ([0, 0, 0], [4, 3, 2])).float(), torch.ones(3))


@pytest.mark.parametrize("resolution, radius", [(32, 0.8), (48, 0.5)])
def test_sphere_volume(resolution, radius):
    sphere = utils.ico_sphere(4)
    verts = sphere.verts_packed() * radius
    grid = voxelize((verts, sphere.faces_packed()), resolution=resolution)
    assert grid.shape == (1, resolution, resolution, resolution) and grid.dtype == torch.bool
    volume = grid.sum().item() * (2 / resolution) ** 3
    expected = 4 / 3 * math.pi * radius**3
    # A cell is in when its centre is: the error comes from the ~4πr²/h² cells the surface
    # cuts, each off by up to half a cell, and mostly cancels. 2 % is several times what
    # these resolutions give (the ico-sphere itself is 0.5 % smaller than the sphere).
    assert volume == pytest.approx(expected, rel=0.02)


def test_anisotropic_box_fills_the_expected_index_ranges():
    # Cells of 1/8 on (-1, 1) at 16³: centres at -1 + (i + 0.5) / 8.
    verts, faces = box_mesh([-0.7, -0.2, -0.9], [0.3, 0.45, 0.1])
    grid = voxelize((verts, faces), resolution=16, bounds=(-1.0, 1.0))[0]
    expected = torch.zeros(16, 16, 16, dtype=torch.bool)
    # x in (-0.7, 0.3): i = 2..9 (width, last axis); y in (-0.2, 0.45): j = 6..11 (height);
    # z in (-0.9, 0.1): k = 1..8 (depth, first axis)
    expected[1:9, 6:12, 2:10] = True
    assert torch.equal(grid, expected)


def test_non_cubic_grid_and_bounds():
    verts, faces = box_mesh([0.0, 0.0, 0.0], [1.0, 2.0, 3.0])
    # 1-unit cells over x in [-1, 2), y in [-1, 3), z in [-1, 4): W = 3, H = 4, D = 5
    grid = voxelize((verts, faces), resolution=(5, 4, 3), bounds=([-1, -1, -1], [2, 3, 4]))[0]
    assert grid.shape == (5, 4, 3)
    expected = torch.zeros(5, 4, 3, dtype=torch.bool)
    expected[1:4, 1:3, 1:2] = True  # centres 0.5 (x), 0.5..1.5 (y), 0.5..2.5 (z)
    assert torch.equal(grid, expected)


def test_rays_through_edges_and_vertices_count_once():
    # An octahedron |x| + |y| + |z| <= 0.5 on a grid whose rays pass exactly through its
    # vertices and edges (centres are multiples of 0.2, so no centre is on the surface).
    verts = torch.tensor(
        [[0.5, 0, 0], [-0.5, 0, 0], [0, 0.5, 0], [0, -0.5, 0], [0, 0, 0.5], [0, 0, -0.5]]
    )
    faces = torch.tensor(
        [[0, 2, 4], [2, 1, 4], [1, 3, 4], [3, 0, 4], [2, 0, 5], [1, 2, 5], [3, 1, 5], [0, 3, 5]]
    )
    mesh = structures.Meshes([verts], [faces])
    assert bool(((mesh.faces_normals_packed() * verts[faces].mean(1)).sum(1) > 0).all())
    grid = voxelize((verts, faces), resolution=9, bounds=(-0.9, 0.9))[0]
    centres = voxel_centres(9, (-0.9, 0.9))
    expected = centres.abs().sum(-1) < 0.5
    assert torch.equal(grid, expected)
    # Not only the majority: each of the six rays counts exactly one crossing per surface
    # layer, so their mean winding number is exactly 1 inside and 0 outside.
    lo, hi = normalize_bounds((-0.9, 0.9))
    winding = _winding_estimate(verts.double(), faces, (9, 9, 9), lo, hi)
    assert torch.equal(winding, expected.double())
    # and a box whose face diagonals run exactly through ray columns
    verts, faces = box_mesh([-0.5, -0.5, -0.5], [0.5, 0.5, 0.5])
    grid = voxelize((verts, faces), resolution=8, bounds=(-1.0, 1.0))[0]
    expected = torch.zeros(8, 8, 8, dtype=torch.bool)
    expected[2:6, 2:6, 2:6] = True
    assert torch.equal(grid, expected)


def test_inside_out_meshes_and_batches():
    sphere = utils.ico_sphere(3)
    verts, faces = sphere.verts_packed() * 0.7, sphere.faces_packed()
    out = voxelize((verts, faces), resolution=12)
    assert torch.equal(voxelize((verts, faces.flip(1)), resolution=12), out)  # wound inwards
    box_v, box_f = box_mesh([-0.3, -0.8, 0.0], [0.9, 0.1, 0.6])
    batch = structures.Meshes([verts, box_v], [faces, box_f])
    grids = voxelize(batch, resolution=12)
    assert grids.shape == (2, 12, 12, 12)
    assert torch.equal(grids[0], out[0])
    assert torch.equal(grids[1], voxelize((box_v, box_f), resolution=12)[0])


def test_slightly_open_mesh_is_tolerated():
    sphere = utils.ico_sphere(3)
    verts, faces = sphere.verts_packed() * 0.8, sphere.faces_packed()
    closed = voxelize((verts, faces), resolution=32)
    keep = verts[faces][:, :, 1].min(dim=1).values < 0.7  # cut a cap off the top
    assert int((~keep).sum()) > 0
    holed = voxelize((verts, faces[keep]), resolution=32)
    changed = (closed != holed).sum().item()
    # Rays through the hole are wrong; the majority of six directions is not.
    assert changed <= 0.01 * closed.sum().item()


def test_agrees_with_exact_winding_numbers_on_the_mug():
    # The mug is slightly open (the handle's ends) and its handle overlaps the body.
    mug = assets.load_asset("mug")
    verts, faces = mug.verts_packed(), mug.faces_packed()
    grid = voxelize(mug, resolution=24, bounds=(-0.7, 0.7))[0]
    centres = voxel_centres(24, (-0.7, 0.7))
    # 300 occupied and 300 empty cells, at random (exact winding numbers are slow).
    generator = torch.Generator().manual_seed(0)
    full, empty = grid.flatten().nonzero()[:, 0], (~grid).flatten().nonzero()[:, 0]
    cells = torch.cat([c[torch.randperm(len(c), generator=generator)[:300]] for c in (full, empty)])
    winding = exact_winding_numbers(centres.reshape(-1, 3)[cells], verts, faces)
    agree = ((winding >= 0.5) == grid.flatten()[cells]).float().mean().item()
    assert grid.sum() > 300 and agree >= 0.99


def test_cubify_of_voxelize_overlays_the_mesh():
    blob = assets.load_asset("blob")
    verts = blob.verts_packed()
    verts = (verts - verts.mean(0)) / 1.6  # inside (-1, 1)
    mesh = structures.Meshes([verts], blob.faces_list())
    grid = voxelize(mesh, resolution=32)
    # The outermost occupied cells have their centres inside, within about one cell of the
    # mesh's extremes, and their cubes reach half a cell further: for a smooth shape the
    # boxes agree to about half a cell. (cubify's "topleft" and "center" are off by more.)
    half_cell = 0.6 * 2 / 32
    cubes = ops.cubify(grid.float(), 0.5, align="corner")  # default bounds are cubify's
    for cubed in (cubes, voxels_to_mesh(grid)):
        low, high = cubed.verts_packed().min(0).values, cubed.verts_packed().max(0).values
        assert torch.allclose(low, verts.min(0).values, atol=half_cell)
        assert torch.allclose(high, verts.max(0).values, atol=half_cell)
    # Other bounds: voxels_to_mesh maps the cubes back into them.
    bounds = ([-2.0, -1.5, -1.0], [1.0, 1.5, 2.0])
    grid = voxelize(mesh, resolution=(24, 24, 24), bounds=bounds)
    cubed = voxels_to_mesh(grid, bounds=bounds)
    half_size = 0.6 * voxel_size(24, bounds).float()
    low, high = cubed.verts_packed().min(0).values, cubed.verts_packed().max(0).values
    assert ((low - verts.min(0).values).abs() <= half_size).all()
    assert ((high - verts.max(0).values).abs() <= half_size).all()


def test_bad_input():
    verts, faces = box_mesh([0, 0, 0], [1, 1, 1])
    with pytest.raises(ValueError, match="lo < hi"):
        voxelize((verts, faces), bounds=(1.0, -1.0))
    with pytest.raises(ValueError, match="resolution"):
        voxelize((verts, faces), resolution=0)
    with pytest.raises(ValueError, match="pair"):
        voxelize((verts,))
    with pytest.raises(ValueError, match="Meshes"):
        voxelize(verts)
    with pytest.raises(ValueError, match="pair"):
        normalize_bounds(1.0)
    with pytest.raises(ValueError, match="N, D, H, W"):
        voxels_to_mesh(torch.zeros(4, 4, 4))
    empty = structures.Meshes([torch.zeros(0, 3)], [torch.zeros(0, 3, dtype=torch.int64)])
    assert not voxelize(empty, resolution=4).any()
