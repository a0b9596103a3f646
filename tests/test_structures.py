"""Meshes and Pointclouds: reference values, batching views, and the operations on batches."""

from __future__ import annotations

import pytest
import torch

from course_utils.p3d import renderer, structures, utils

Meshes = structures.Meshes
Pointclouds = structures.Pointclouds


def unit_cube() -> tuple[torch.Tensor, torch.Tensor]:
    """The cube [0, 1]^3 as 8 vertices and 12 outward-facing (counter-clockwise) triangles."""
    verts = torch.tensor(
        [[x, y, z] for x in (0.0, 1.0) for y in (0.0, 1.0) for z in (0.0, 1.0)]
    )  # vertex index = 4x + 2y + z
    faces = torch.tensor(
        [
            [0, 1, 3], [0, 3, 2],  # x = 0
            [4, 6, 7], [4, 7, 5],  # x = 1
            [0, 4, 5], [0, 5, 1],  # y = 0
            [2, 3, 7], [2, 7, 6],  # y = 1
            [0, 2, 6], [0, 6, 4],  # z = 0
            [1, 5, 7], [1, 7, 3],  # z = 1
        ]
    )  # fmt: skip
    return verts, faces


def two_meshes() -> Meshes:
    """A batch of two meshes of different sizes: a triangle and the unit cube."""
    tri_v = torch.tensor([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    tri_f = torch.tensor([[0, 1, 2]])
    cube_v, cube_f = unit_cube()
    return Meshes(verts=[tri_v, cube_v], faces=[tri_f, cube_f])


# ---------------------------------------------------------------- reference cases
def test_mesh_reference_normals_areas_edges(reference):
    case = reference["mesh"]
    mesh = Meshes(verts=[case["verts"]], faces=[case["faces"]])
    torch.testing.assert_close(
        mesh.verts_normals_packed(), case["verts_normals"], atol=1e-5, rtol=0
    )
    torch.testing.assert_close(
        mesh.faces_normals_packed(), case["faces_normals"], atol=1e-5, rtol=0
    )
    torch.testing.assert_close(mesh.faces_areas_packed(), case["faces_areas"], atol=1e-6, rtol=1e-5)
    assert torch.equal(mesh.edges_packed(), case["edges"])


@pytest.mark.parametrize("level", [0, 1, 2, 3])
def test_ico_sphere_matches_reference(reference, level):
    case = reference[f"ico_sphere_{level}"]
    mesh = utils.ico_sphere(level)
    torch.testing.assert_close(mesh.verts_packed(), case["verts"], atol=1e-5, rtol=0)
    assert torch.equal(mesh.faces_packed(), case["faces"])


@pytest.mark.parametrize("level", [0, 1, 2, 3, 4])
def test_ico_sphere_is_a_closed_outward_unit_sphere(level):
    mesh = utils.ico_sphere(level)
    verts, faces = mesh.verts_packed(), mesh.faces_packed()
    assert faces.shape[0] == 20 * 4**level
    assert verts.shape[0] == 10 * 4**level + 2
    if level > 0:
        torch.testing.assert_close(verts.norm(dim=1), torch.ones(len(verts)), atol=1e-5, rtol=0)
    # Euler characteristic of a sphere: V - E + F = 2; closed: every edge in two faces.
    num_edges = mesh.edges_packed().shape[0]
    assert verts.shape[0] - num_edges + faces.shape[0] == 2
    assert torch.bincount(mesh.faces_packed_to_edges_packed().flatten()).eq(2).all()
    # Outward: face normals point the same way as the face centres.
    centres = verts[faces].mean(dim=1)
    assert (torch.sum(mesh.faces_normals_packed() * centres, dim=1) > 0).all()
    # Vertex normals of a sphere are the vertex directions.
    cosine = torch.sum(mesh.verts_normals_packed() * verts / verts.norm(dim=1, keepdim=True), 1)
    assert cosine.min() > 0.99


# ---------------------------------------------------------------- analytic geometry
def test_triangle_area_and_normal():
    verts = torch.tensor([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 3.0, 0.0]])
    mesh = Meshes(verts=[verts], faces=[torch.tensor([[0, 1, 2]])])
    assert mesh.faces_areas_packed().item() == pytest.approx(3.0)
    torch.testing.assert_close(mesh.faces_normals_packed(), torch.tensor([[0.0, 0.0, 1.0]]))
    # Reversing the winding flips the normal.
    flipped = Meshes(verts=[verts], faces=[torch.tensor([[0, 2, 1]])])
    torch.testing.assert_close(flipped.faces_normals_packed(), torch.tensor([[0.0, 0.0, -1.0]]))


def test_cube_area_normals_and_edges():
    verts, faces = unit_cube()
    mesh = Meshes(verts=[verts], faces=[faces])
    assert mesh.faces_areas_packed().sum().item() == pytest.approx(6.0)
    # Each face normal is an axis direction pointing away from the cube's centre.
    normals = mesh.faces_normals_packed()
    centres = verts[faces].mean(1) - 0.5
    assert torch.allclose(normals, torch.sign(centres) * (centres.abs() > 0.49))
    # Vertex normals at the corners point out along the diagonal (not exactly: a corner
    # touches one or two triangles of each side, and each triangle counts by its area).
    diagonal = torch.nn.functional.normalize(verts - 0.5, dim=1)
    vn = mesh.verts_normals_packed()
    assert torch.equal(torch.sign(vn), torch.sign(diagonal))
    assert (torch.sum(vn * diagonal, dim=1) > 0.9).all()
    # 12 cube edges + 6 face diagonals; V - E + F = 8 - 18 + 12 = 2.
    assert mesh.edges_packed().shape == (18, 2)
    edges = mesh.edges_packed()
    assert (edges[:, 0] < edges[:, 1]).all()
    assert torch.equal(edges, torch.unique(edges, dim=0))  # sorted and unique


def test_faces_packed_to_edges_packed_is_the_opposite_edge():
    mesh = utils.ico_sphere(1)
    faces = mesh.faces_packed()
    edges = mesh.edges_packed()[mesh.faces_packed_to_edges_packed()]  # (F, 3, 2)
    for corner in range(3):
        others = faces[:, [c for c in range(3) if c != corner]].sort(dim=1).values
        assert torch.equal(edges[:, corner], others)


def test_vertex_normals_weight_faces_by_area():
    # A vertex shared by a big face in the z=0 plane and a tiny face in the x=0 plane:
    # its normal leans towards the big face's normal in proportion to the areas.
    verts = torch.tensor(
        [[0.0, 0.0, 0.0], [4.0, 0.0, 0.0], [0.0, 4.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    )
    faces = torch.tensor([[0, 1, 2], [0, 3, 4]])  # areas 8 (normal +z) and 0.5 (normal -x)
    normal = Meshes(verts=[verts], faces=[faces]).verts_normals_packed()[0]
    expected = torch.nn.functional.normalize(torch.tensor([-0.5, 0.0, 8.0]), dim=0)
    torch.testing.assert_close(normal, expected)


# ---------------------------------------------------------------- batching
def test_list_packed_padded_views_agree_for_meshes_of_different_sizes():
    mesh = two_meshes()
    assert len(mesh) == 2
    assert mesh.num_verts_per_mesh().tolist() == [3, 8]
    assert mesh.num_faces_per_mesh().tolist() == [1, 12]
    assert mesh.mesh_to_verts_packed_first_idx().tolist() == [0, 3]
    assert mesh.mesh_to_faces_packed_first_idx().tolist() == [0, 1]
    assert mesh.verts_packed_to_mesh_idx().tolist() == [0] * 3 + [1] * 8
    assert mesh.faces_packed_to_mesh_idx().tolist() == [0] + [1] * 12

    verts_list, faces_list = mesh.verts_list(), mesh.faces_list()
    packed_v, packed_f = mesh.verts_packed(), mesh.faces_packed()
    assert torch.equal(packed_v, torch.cat(verts_list))
    # Packed faces index the packed vertices: the cube's faces are shifted by 3.
    assert torch.equal(packed_f[1:], faces_list[1] + 3)
    assert torch.equal(
        packed_v[packed_f], torch.cat([v[f] for v, f in zip(verts_list, faces_list)])
    )

    padded_v, padded_f = mesh.verts_padded(), mesh.faces_padded()
    assert padded_v.shape == (2, 8, 3) and padded_f.shape == (2, 12, 3)
    assert (padded_v[0, 3:] == 0).all() and (padded_f[0, 1:] == -1).all()
    assert torch.equal(padded_f[1], faces_list[1])  # padded faces are not offset
    idx = mesh.verts_padded_to_packed_idx()
    assert torch.equal(padded_v.reshape(-1, 3)[idx], packed_v)

    # Per-mesh lists of derived quantities line up with each mesh.
    assert [a.shape[0] for a in mesh.verts_normals_list()] == [3, 8]
    assert mesh.verts_normals_padded().shape == (2, 8, 3)
    assert [a.shape[0] for a in mesh.faces_normals_list()] == [1, 12]
    assert mesh.faces_areas_packed()[0].item() == pytest.approx(1.0)
    assert mesh.num_edges_per_mesh().tolist() == [3, 18]
    assert mesh.mesh_to_edges_packed_first_idx().tolist() == [0, 3]
    assert mesh.edges_packed_to_mesh_idx().tolist() == [0] * 3 + [1] * 18


def test_meshes_from_padded_tensors():
    verts = torch.rand(2, 4, 3)
    faces = torch.tensor([[[0, 1, 2], [0, 2, 3]], [[1, 2, 3], [-1, -1, -1]]])
    mesh = Meshes(verts=verts, faces=faces)
    assert mesh.num_verts_per_mesh().tolist() == [4, 4]  # padded verts: all are used
    assert mesh.num_faces_per_mesh().tolist() == [2, 1]
    assert torch.equal(mesh.faces_list()[1], torch.tensor([[1, 2, 3]]))
    assert torch.equal(mesh.faces_packed(), torch.tensor([[0, 1, 2], [0, 2, 3], [5, 6, 7]]))
    assert torch.equal(mesh.verts_padded(), verts)
    assert torch.equal(mesh.faces_padded(), faces)


def test_bounding_boxes_ignore_padding():
    mesh = two_meshes()
    boxes = mesh.get_bounding_boxes()
    torch.testing.assert_close(boxes[0], torch.tensor([[0.0, 2.0], [0.0, 1.0], [0.0, 0.0]]))
    torch.testing.assert_close(boxes[1], torch.tensor([[0.0, 1.0]] * 3))


def test_indexing_extend_and_empty():
    mesh = two_meshes()
    assert mesh[1].num_faces_per_mesh().tolist() == [12]
    assert mesh[-1].num_faces_per_mesh().tolist() == [12]
    assert mesh[[1, 0]].num_verts_per_mesh().tolist() == [8, 3]
    assert mesh[torch.tensor([True, False])].num_verts_per_mesh().tolist() == [3]
    assert mesh[torch.tensor([1])].num_verts_per_mesh().tolist() == [8]
    assert mesh[0:1].num_verts_per_mesh().tolist() == [3]
    extended = mesh.extend(2)
    assert extended.num_verts_per_mesh().tolist() == [3, 3, 8, 8]
    with pytest.raises(IndexError):
        mesh[2]
    assert not mesh.isempty()
    assert Meshes(verts=[], faces=[]).isempty()
    assert Meshes(verts=[torch.rand(3, 3)], faces=[torch.zeros(0, 3, dtype=torch.long)]).isempty()


def test_offset_scale_and_update_padded_keep_gradients():
    mesh = two_meshes()
    offsets = torch.zeros(11, 3, requires_grad=True)
    moved = mesh.offset_verts(offsets + torch.tensor([1.0, 0.0, 0.0]))
    assert torch.allclose(moved.verts_packed()[:, 0], mesh.verts_packed()[:, 0] + 1)
    moved.verts_packed().sum().backward()
    assert torch.equal(offsets.grad, torch.ones(11, 3))

    scaled = mesh.scale_verts(torch.tensor([2.0, 3.0]))
    assert torch.allclose(scaled.verts_list()[1], mesh.verts_list()[1] * 3)
    assert scaled.faces_areas_packed()[0].item() == pytest.approx(4.0)  # area x 2²

    new_padded = (mesh.verts_padded() * 2).requires_grad_(True)
    updated = mesh.update_padded(new_padded)
    assert torch.equal(updated.faces_packed(), mesh.faces_packed())
    assert torch.allclose(updated.verts_list()[0], mesh.verts_list()[0] * 2)
    updated.faces_areas_packed().sum().backward()
    assert new_padded.grad[1].abs().sum() > 0 and (new_padded.grad[0, 3:] == 0).all()

    # In-place versions change the batch itself.
    inplace = mesh.clone()
    inplace.offset_verts_(torch.tensor([0.0, 0.0, 1.0]))
    assert torch.allclose(inplace.verts_packed()[:, 2], mesh.verts_packed()[:, 2] + 1)
    inplace.scale_verts_(2.0)
    assert torch.allclose(inplace.verts_packed()[:, 2], (mesh.verts_packed()[:, 2] + 1) * 2)


def test_clone_detach_to_keep_values():
    verts = torch.rand(4, 3, requires_grad=True)
    mesh = Meshes(verts=[verts], faces=[torch.tensor([[0, 1, 2], [0, 2, 3]])])
    clone = mesh.clone()
    assert torch.equal(clone.verts_packed(), mesh.verts_packed())
    assert clone.verts_packed().requires_grad
    detached = mesh.detach()
    assert not detached.verts_packed().requires_grad
    moved = mesh.to("cpu", copy=True)
    assert torch.equal(moved.verts_packed(), mesh.verts_packed()) and moved.device.type == "cpu"
    assert mesh.cpu() is mesh


def test_join_meshes_as_batch_and_scene():
    a, b = utils.ico_sphere(0), utils.torus(0.2, 1.0, 4, 6)
    batch = structures.join_meshes_as_batch([a, b])
    assert batch.num_faces_per_mesh().tolist() == [20, 48]
    scene = structures.join_meshes_as_scene(batch)
    assert len(scene) == 1
    assert scene.faces_packed().shape == (68, 3)
    assert torch.equal(scene.faces_packed()[20:], b.faces_packed() + 12)
    assert scene.faces_areas_packed().sum().item() == pytest.approx(
        (a.faces_areas_packed().sum() + b.faces_areas_packed().sum()).item(), rel=1e-5
    )
    assert torch.equal(structures.join_meshes_as_scene([a, b]).verts_packed(), scene.verts_packed())


def test_torus_geometry():
    r, R = 0.25, 1.0
    mesh = utils.torus(r, R, sides=12, rings=24)
    verts = mesh.verts_packed()
    assert verts.shape == (288, 3) and mesh.faces_packed().shape == (576, 3)
    # Every vertex satisfies the torus equation (sqrt(x² + y²) - R)² + z² = r².
    ring = verts[:, :2].norm(dim=1)
    torch.testing.assert_close((ring - R) ** 2 + verts[:, 2] ** 2, torch.full((288,), r**2))
    # Closed surface of genus one: V - E + F = 0, every edge in two faces.
    num_edges = mesh.edges_packed().shape[0]
    assert 288 - num_edges + 576 == 0
    assert torch.bincount(mesh.faces_packed_to_edges_packed().flatten()).eq(2).all()
    # Outward normals point away from the tube's centre circle.
    centres = verts[mesh.faces_packed()].mean(1)
    tube_centre = torch.nn.functional.normalize(centres * torch.tensor([1.0, 1.0, 0.0]), dim=1) * R
    outward = torch.sum(mesh.faces_normals_packed() * (centres - tube_centre), dim=1)
    assert (outward > 0).all()


# ---------------------------------------------------------------- textures travel along
def test_textures_follow_indexing_extend_and_joins():
    mesh = two_meshes()
    colours = [torch.full((3, 3), 0.25), torch.full((8, 3), 0.75)]
    textured = Meshes(
        verts=mesh.verts_list(), faces=mesh.faces_list(), textures=renderer.TexturesVertex(colours)
    )
    assert torch.equal(textured[1].textures.verts_features_packed(), colours[1])
    extended = textured.extend(2)
    assert [f[0, 0].item() for f in extended.textures.verts_features_list()] == [
        0.25,
        0.25,
        0.75,
        0.75,
    ]
    scene = structures.join_meshes_as_scene(textured)
    assert torch.equal(scene.textures.verts_features_packed(), torch.cat(colours))
    batch = structures.join_meshes_as_batch([textured, textured[0]])
    assert [f.shape[0] for f in batch.textures.verts_features_list()] == [3, 8, 3]
    assert textured.clone().textures.verts_features_padded().shape == (2, 8, 3)


@pytest.mark.builtin_only(
    reason="PyTorch3D resizes a batch's maps to one size before packing; the built-in keeps them"
)
def test_textures_uv_join_scene_keeps_each_texel():
    # Two single-triangle meshes with differently sized maps; after joining as a scene,
    # each (u, v) must land on the same colour in the atlas as it had in its own map.
    maps = [torch.rand(4, 6, 3), torch.rand(5, 3, 3)]
    verts_uvs = [
        torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.4, 1.0]]),
        torch.tensor([[0.0, 1.0], [1.0, 0.5], [0.5, 0.0]]),
    ]
    faces_uvs = [torch.tensor([[0, 1, 2]]), torch.tensor([[0, 1, 2]])]
    textures = renderer.TexturesUV(maps=maps, faces_uvs=faces_uvs, verts_uvs=verts_uvs)
    tri = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    mesh = Meshes(verts=[tri, tri + 1], faces=[torch.tensor([[0, 1, 2]])] * 2, textures=textures)
    scene = structures.join_meshes_as_scene(mesh)
    atlas = scene.textures.maps_list()[0]
    assert atlas.shape == (5, 9, 3)

    def texel(image, uv):
        h, w = image.shape[:2]
        col = round(uv[0].item() * (w - 1))
        row = round((1 - uv[1].item()) * (h - 1))
        return image[row, col]

    joined_uvs = scene.textures.verts_uvs_list()[0][scene.textures.faces_uvs_list()[0]]  # (2, 3, 2)
    for face, image in enumerate(maps):
        own_uvs = verts_uvs[face][faces_uvs[face][0]]
        for corner in range(3):
            if own_uvs[corner, 0] in (0.0, 1.0) and own_uvs[corner, 1] in (0.0, 1.0, 0.5):
                torch.testing.assert_close(
                    texel(atlas, joined_uvs[face, corner]), texel(image, own_uvs[corner])
                )


# ---------------------------------------------------------------- point clouds
def test_pointclouds_views_and_operations():
    points = [torch.rand(5, 3), torch.rand(2, 3)]
    normals = [torch.rand(5, 3), torch.rand(2, 3)]
    features = [torch.rand(5, 4), torch.rand(2, 4)]
    clouds = Pointclouds(points=points, normals=normals, features=features)
    assert clouds.num_points_per_cloud().tolist() == [5, 2]
    assert torch.equal(clouds.points_packed(), torch.cat(points))
    assert torch.equal(clouds.features_packed(), torch.cat(features))
    assert clouds.points_padded().shape == (2, 5, 3)
    assert (clouds.points_padded()[1, 2:] == 0).all()
    assert clouds.features_padded().shape == (2, 5, 4)
    assert torch.equal(clouds.normals_padded()[1, :2], normals[1])
    assert clouds.cloud_to_packed_first_idx().tolist() == [0, 5]
    assert clouds.packed_to_cloud_idx().tolist() == [0] * 5 + [1] * 2
    idx = clouds.padded_to_packed_idx()
    assert torch.equal(clouds.points_padded().reshape(-1, 3)[idx], clouds.points_packed())
    assert clouds[1].num_points_per_cloud().tolist() == [2]
    assert torch.equal(clouds[1].features_packed(), features[1])
    assert clouds.extend(2).num_points_per_cloud().tolist() == [5, 5, 2, 2]
    moved = clouds.offset(torch.tensor([1.0, 2.0, 3.0]))
    assert torch.allclose(
        moved.points_packed(), clouds.points_packed() + torch.tensor([1.0, 2.0, 3.0])
    )
    scaled = clouds.scale(torch.tensor([1.0, 2.0]))
    assert torch.allclose(scaled.points_list()[1], points[1] * 2)
    boxes = clouds.get_bounding_boxes()
    torch.testing.assert_close(boxes[1, :, 0], points[1].min(0).values)
    torch.testing.assert_close(boxes[1, :, 1], points[1].max(0).values)
    assert torch.equal(clouds.clone().points_packed(), clouds.points_packed())
    assert clouds.to("cpu") is clouds


def test_pointclouds_from_padded_and_joins():
    padded = torch.rand(3, 4, 3)
    clouds = Pointclouds(points=padded, features=torch.rand(3, 4, 3))
    assert clouds.num_points_per_cloud().tolist() == [4, 4, 4]
    assert torch.equal(clouds.points_list()[2], padded[2])
    updated = clouds.update_padded(padded * 2)
    assert torch.allclose(updated.points_packed(), padded.reshape(-1, 3) * 2)
    batch = structures.join_pointclouds_as_batch([clouds, clouds[0]])
    assert batch.num_points_per_cloud().tolist() == [4, 4, 4, 4]
    scene = structures.join_pointclouds_as_scene(clouds)
    assert len(scene) == 1 and scene.points_packed().shape == (12, 3)
    assert Pointclouds(points=[torch.zeros(0, 3)]).isempty()


# ---------------------------------------------------------------- bad input
@pytest.mark.builtin_only
def test_meshes_reject_out_of_range_faces_with_a_clear_message():
    with pytest.raises(ValueError, match=r"faces\[0\] refers to vertex 3.*3 vertices"):
        Meshes(verts=[torch.rand(3, 3)], faces=[torch.tensor([[0, 1, 3]])])
    with pytest.raises(ValueError, match=r"faces\[1\] must have shape \(F, 3\)"):
        Meshes(
            verts=[torch.rand(3, 3)] * 2, faces=[torch.tensor([[0, 1, 2]]), torch.tensor([0, 1, 2])]
        )
    # As PyTorch3D: whole-number float faces are converted to int64; fractions are refused.
    converted = Meshes(verts=[torch.rand(3, 3)], faces=[torch.tensor([[0.0, 1.0, 2.0]])])
    assert converted.faces_packed().dtype == torch.int64
    assert torch.equal(converted.faces_packed(), torch.tensor([[0, 1, 2]]))
    with pytest.raises(ValueError, match="whole numbers"):
        Meshes(verts=[torch.rand(3, 3)], faces=[torch.tensor([[0.0, 1.5, 2.0]])])
    with pytest.raises(ValueError, match="integer"):
        Meshes(verts=[torch.rand(3, 3)], faces=[torch.tensor([[True, False, True]])])
    with pytest.raises(ValueError, match="padding|-1"):
        Meshes(verts=torch.rand(1, 4, 3), faces=torch.tensor([[[-1, -1, -1], [0, 1, 2]]]))
    with pytest.raises(ValueError, match="TexturesVertex"):
        Meshes(
            verts=[torch.rand(3, 3)],
            faces=[torch.tensor([[0, 1, 2]])],
            textures=renderer.TexturesVertex([torch.rand(4, 3)]),
        )
    with pytest.raises(ValueError, match=r"points\[0\] must be a \(P, 3\)"):
        Pointclouds(points=[torch.rand(4, 2)])
    with pytest.raises(ValueError, match=r"features\[0\] must have shape \(4, C\)"):
        Pointclouds(points=[torch.rand(4, 3)], features=[torch.rand(3, 3)])
