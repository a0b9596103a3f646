"""``ops.sample_points_from_meshes``: area weighting, uniform barycentrics, points on their
faces, normals, textures, gradients, batches with empty meshes, PyTorch3D's random draws."""

from __future__ import annotations

import math

import pytest
import torch

from course_utils.p3d import ops, renderer, structures, utils


def fan_mesh() -> tuple[torch.Tensor, torch.Tensor]:
    """Four triangles in four different planes with areas 1 : 4 : 50 : 0.01."""
    triangles = []
    for k, (a, b) in enumerate([(1.0, 2.0), (2.0, 4.0), (10.0, 10.0), (0.1, 0.2)]):
        z = float(k)  # plane z = k: a point tells which face it is on
        triangles.append([[0.0, 0.0, z], [a, 0.0, z], [0.0, b, z]])
    verts = torch.tensor(triangles).reshape(-1, 3)
    faces = torch.arange(12).reshape(4, 3)
    return verts, faces


def locate(points: torch.Tensor, mesh) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For each point, the face it lies on: (face index, distance to that face's plane,
    barycentric coordinates in it). Brute force over all faces."""
    v0, v1, v2 = mesh.verts_packed()[mesh.faces_packed()].double().unbind(1)  # (F, 3)
    p = points.double()[:, None, :]  # (P, 1, 3)
    normal = torch.linalg.cross(v1 - v0, v2 - v0, dim=1)
    area2 = normal.norm(dim=1)
    unit = normal / area2[:, None]
    plane = ((p - v0) * unit).sum(-1).abs()  # (P, F)
    # barycentrics of the projection onto each plane (signed sub-areas)
    w0 = (torch.linalg.cross(v1 - p, v2 - p, dim=-1) * unit).sum(-1) / area2
    w1 = (torch.linalg.cross(v2 - p, v0 - p, dim=-1) * unit).sum(-1) / area2
    w2 = 1 - w0 - w1
    bary = torch.stack([w0, w1, w2], dim=-1)  # (P, F, 3)
    outside = (-bary).clamp(min=0).sum(-1)  # 0 when inside the triangle
    face = (plane + outside).argmin(dim=1)
    rows = torch.arange(len(points))
    return face, plane[rows, face], bary[rows, face]


# ---------------------------------------------------------------- where the points go
def test_faces_are_chosen_in_proportion_to_their_area():
    verts, faces = fan_mesh()
    mesh = structures.Meshes(verts=[verts], faces=[faces])
    torch.manual_seed(0)
    num = 100_000
    points = ops.sample_points_from_meshes(mesh, num)[0]
    counts = torch.bincount(points[:, 2].round().long(), minlength=4).double()
    areas = mesh.faces_areas_packed().double()
    p = areas / areas.sum()
    expected, sigma = num * p, (num * p * (1 - p)).sqrt()
    assert ((counts - expected).abs() < 5 * sigma).all(), (counts, expected)
    assert counts[3] > 0  # even the tiny triangle gets its share (about 18 points)


def test_points_are_uniform_inside_each_triangle():
    # Uniform in a triangle: P(w0 > t) = (1 - t)^2 (the triangle shrunk towards v0), and
    # the same for w1 and w2. sqrt(u) is what makes it so; without it P(w0 > t) = 1 - t.
    verts = torch.tensor([[0.0, 0.0, 0.0], [3.0, 0.0, 0.0], [0.5, 2.0, 0.0]])
    mesh = structures.Meshes(verts=[verts], faces=[torch.tensor([[0, 1, 2]])])
    torch.manual_seed(1)
    num = 40_000
    points = ops.sample_points_from_meshes(mesh, num)[0]
    _, plane, bary = locate(points, mesh)
    assert plane.max() < 1e-6 and bary.min() > -1e-5
    for corner in range(3):
        for t in (0.1, 0.3, 0.5, 0.8):
            p = (1 - t) ** 2
            fraction = (bary[:, corner] > t).double().mean().item()
            assert abs(fraction - p) < 5 * math.sqrt(p * (1 - p) / num), (corner, t, fraction)


def test_points_lie_on_their_faces_and_normals_are_those_faces_normals():
    mesh = utils.ico_sphere(1)
    torch.manual_seed(2)
    points, normals = ops.sample_points_from_meshes(mesh, 3000, return_normals=True)
    face, plane, bary = locate(points[0], mesh)
    assert plane.max() < 1e-5
    assert bary.min() > -1e-4 and bary.max() < 1 + 1e-4
    expected = mesh.faces_normals_packed()[face]
    torch.testing.assert_close(normals[0], expected, atol=1e-5, rtol=0)
    assert (normals[0] * points[0]).sum(dim=1).min() > 0.9  # outwards on a sphere


def test_batches_keep_meshes_apart_and_empty_meshes_give_zeros():
    sphere = utils.ico_sphere(2)
    far = sphere.verts_packed() * 0.5 + torch.tensor([5.0, 0.0, 0.0])
    empty = (torch.zeros(0, 3), torch.zeros(0, 3, dtype=torch.int64))
    mesh = structures.Meshes(
        verts=[sphere.verts_packed(), empty[0], far],
        faces=[sphere.faces_packed(), empty[1], sphere.faces_packed()],
    )
    samples, normals = ops.sample_points_from_meshes(mesh, 1000, return_normals=True)
    assert samples.shape == normals.shape == (3, 1000, 3)
    assert samples[0].norm(dim=1).max() <= 1.0 + 1e-5 and samples[0].norm(dim=1).min() > 0.9
    assert torch.equal(samples[1], torch.zeros(1000, 3)) and torch.equal(normals[1], samples[1])
    distance = (samples[2] - torch.tensor([5.0, 0.0, 0.0])).norm(dim=1)
    assert distance.max() <= 0.5 + 1e-5 and distance.min() > 0.45


# ---------------------------------------------------------------- textures
def test_vertex_textures_give_the_colour_of_the_face():
    # ico_sphere(1) with unshared corners: every face has its own three vertices and one
    # colour, so the colour of a sample tells which face it came from.
    sphere = utils.ico_sphere(1)
    verts = sphere.verts_packed()[sphere.faces_packed()].reshape(-1, 3)
    faces = torch.arange(verts.shape[0]).reshape(-1, 3)
    face_colours = torch.rand(faces.shape[0], 3, generator=torch.Generator().manual_seed(4))
    mesh = structures.Meshes(
        verts=[verts],
        faces=[faces],
        textures=renderer.TexturesVertex([face_colours.repeat_interleave(3, dim=0)]),
    )
    torch.manual_seed(5)
    points, colours = ops.sample_points_from_meshes(mesh, 2000, return_textures=True)
    assert colours.shape == (1, 2000, 3)
    face, _, _ = locate(points[0], mesh)
    torch.testing.assert_close(colours[0], face_colours[face], atol=1e-5, rtol=0)


def test_uv_textures_are_read_at_the_point():
    # The unit square in the XY plane with (u, v) = (x, y) and a map whose red channel is
    # u and green channel is v (linear ramps over the texel centres): colour = (x, y, 0.5).
    size = 32
    ramp = torch.linspace(0, 1, size)
    image = torch.stack(
        [ramp[None, :].expand(size, size), ramp.flip(0)[:, None].expand(size, size),
         torch.full((size, size), 0.5)], dim=-1,
    )  # fmt: skip
    verts = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
    faces = torch.tensor([[0, 1, 2], [0, 2, 3]])
    textures = renderer.TexturesUV(maps=[image], faces_uvs=[faces], verts_uvs=[verts[:, :2]])
    mesh = structures.Meshes(verts=[verts], faces=[faces], textures=textures)
    points, normals, colours = ops.sample_points_from_meshes(
        mesh, 2000, return_normals=True, return_textures=True
    )
    expected = torch.cat([points[0, :, :2], torch.full((2000, 1), 0.5)], dim=1)
    torch.testing.assert_close(colours[0], expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(normals[0], torch.tensor([0.0, 0.0, 1.0]).expand(2000, 3))


# ---------------------------------------------------------------- gradients
def _seeded_sampler(sphere):
    def sample(v: torch.Tensor) -> torch.Tensor:
        torch.manual_seed(7)  # the same faces and barycentrics at every call
        mesh = structures.Meshes(verts=[v], faces=[sphere.faces_packed()])
        return ops.sample_points_from_meshes(mesh, 50)

    return sample


@pytest.mark.builtin_only(reason="PyTorch3D's sample_points_from_meshes samples in float32")
def test_gradients_match_finite_differences():
    sphere = utils.ico_sphere(1)
    verts = sphere.verts_packed().double().clone().requires_grad_(True)
    assert torch.autograd.gradcheck(_seeded_sampler(sphere), (verts,), eps=1e-6, atol=1e-5)


def test_gradients_flow_to_the_vertices():
    sphere = utils.ico_sphere(1)
    verts = sphere.verts_packed().clone().requires_grad_(True)
    # d(sum of all x)/d(vertex x) is the total barycentric weight of the vertex: they add
    # up to one per sample.
    _seeded_sampler(sphere)(verts)[..., 0].sum().backward()
    assert verts.grad[:, 0].sum().item() == pytest.approx(50.0, rel=1e-5)
    assert verts.grad[:, 1:].abs().max() == 0


# ---------------------------------------------------------------- PyTorch3D's behaviour
def test_the_random_draws_are_pytorch3ds():
    # PyTorch3D draws the faces first (multinomial over the areas, with replacement), then
    # u, v = torch.rand(2, N, S): with the same seed it returns the same points.
    mesh = utils.ico_sphere(2)
    verts, faces = mesh.verts_packed(), mesh.faces_packed()
    torch.manual_seed(11)
    got = ops.sample_points_from_meshes(mesh, 300)
    torch.manual_seed(11)
    face = mesh.faces_areas_packed()[None].multinomial(300, replacement=True)[0]
    u, v = torch.rand(2, 1, 300)
    u, v = u[0].sqrt(), v[0]
    a, b, c = verts[faces[face]].unbind(1)
    expected = (1 - u)[:, None] * a + (u * (1 - v))[:, None] * b + (u * v)[:, None] * c
    torch.testing.assert_close(got[0], expected, atol=1e-6, rtol=0)


def test_bad_input_raises_like_pytorch3d():
    sphere = utils.ico_sphere(0)
    with pytest.raises(ValueError, match="Meshes are empty"):
        ops.sample_points_from_meshes(
            structures.Meshes(verts=[torch.zeros(0, 3)], faces=[torch.zeros(0, 3).long()])
        )
    bad = sphere.verts_packed().clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="nan or inf"):
        ops.sample_points_from_meshes(structures.Meshes(verts=[bad], faces=sphere.faces_list()))
    with pytest.raises(ValueError, match="do not contain textures"):
        ops.sample_points_from_meshes(sphere, 10, return_textures=True)


@pytest.mark.builtin_only
def test_zero_area_meshes_and_bad_counts_are_explained():
    flat = structures.Meshes(verts=[torch.zeros(3, 3)], faces=[torch.tensor([[0, 1, 2]])])
    with pytest.raises(ValueError, match="total area is 0"):
        ops.sample_points_from_meshes(flat, 10)
    with pytest.raises(ValueError, match="num_samples"):
        ops.sample_points_from_meshes(utils.ico_sphere(0), 0)
