"""The helpers behind chapters 04-06's pictures and the exercise hand-over (known answers)."""

from __future__ import annotations

import math

import pytest
import torch

from course_utils import checks, fitting_figures, multiview, single_view_report
from course_utils.p3d import loss, structures, utils


def test_yours_or_library_follows_the_last_check(capsys):
    def yours(x, y):
        return loss.chamfer_distance(x, y)[0]

    def stub(x, y):
        raise NotImplementedError("Exercise 4.2")

    def library(x, y):
        return loss.chamfer_distance(x, y)[0]

    checks.check_chamfer(yours)
    assert checks.yours_or_library(yours, library, "chamfer") is yours
    checks.check_chamfer(stub)
    assert checks.yours_or_library(stub, library, "chamfer") is library
    out = capsys.readouterr().out
    assert "use your `chamfer`" in out and "Until your `chamfer` passes" in out


def test_an_empty_voxel_grid_gives_an_untextured_empty_mesh():
    # PyTorch3D cannot pad an empty TexturesVertex (list_to_padded fails on an empty list).
    empty = fitting_figures.voxel_mesh(torch.zeros(1, 4, 4, 4), bounds=(-0.5, 0.5))
    assert len(empty.verts_packed()) == 0 and empty.textures is None
    camera = fitting_figures.Camera(image_size=8)
    assert torch.equal(camera.look(empty), torch.ones(8, 8, 3))
    one = torch.zeros(1, 4, 4, 4)
    one[0, 1, 1, 1] = 1.0
    cube = fitting_figures.voxel_mesh(one, bounds=(-0.5, 0.5))
    features = cube.textures.verts_features_packed()
    assert len(features) == len(cube.verts_packed()) > 0
    assert torch.allclose(features, torch.tensor(fitting_figures.VOXEL_COLOUR).expand_as(features))


def test_folded_share_sees_a_vertex_pushed_through_the_surface():
    sphere = utils.ico_sphere(2)
    assert fitting_figures.folded_share(sphere) == 0.0
    verts = sphere.verts_packed().clone()
    verts[0] = -0.5 * verts[0]  # through the centre: its faces flip over their neighbours
    dented = structures.Meshes([verts], sphere.faces_list())
    edges = len(sphere.edges_packed())
    assert fitting_figures.folded_share(dented) >= 5 / edges  # at least its five fan edges


def test_mesh_quality_of_a_regular_tetrahedron():
    verts = torch.tensor([[1.0, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]])
    faces = torch.tensor([[0, 1, 2], [0, 3, 1], [0, 2, 3], [1, 3, 2]])
    quality = fitting_figures.mesh_quality(structures.Meshes([verts], [faces]))
    assert quality["edge spread"] == pytest.approx(0.0, abs=1e-6)  # all edges equal
    # neighbouring faces' normals are 180° - 70.53° = 109.47° apart: every edge counts as folded
    assert quality["folded"] == 1.0
    assert quality["normal consistency"] == pytest.approx(
        1 - math.cos(math.radians(109.4712)), abs=1e-4
    )


def test_sphere_uvs_are_longitude_and_latitude():
    verts = torch.tensor([[0.0, 0, 1], [1, 0, 0], [0, 1, 0], [0.1, -0.1, 0.99], [-0.1, -0.1, 0.99]])
    verts = verts / verts.norm(dim=1, keepdim=True)
    faces = torch.tensor([[0, 1, 2], [3, 4, 1]])  # the second straddles the seam u = 0 = 1 (+Z)
    verts_uvs, faces_uvs = multiview.sphere_uvs(verts, faces, width=8, wrap=2)
    uv = verts_uvs[faces_uvs]  # (F, 3, 2)
    scale = 8 / 10
    assert torch.allclose(uv[0, 0], torch.tensor([0.0, 0.5]), atol=1e-6)  # +Z: longitude 0
    assert torch.allclose(uv[0, 1], torch.tensor([0.25 * scale, 0.5]), atol=1e-6)  # +X: 90°
    assert uv[0, 2, 1] == pytest.approx(1.0)  # the north pole: v = 1
    assert uv[0, 2, 0] == pytest.approx(0.125 * scale)  # ... at its neighbours' mean longitude
    corners = uv[1, :2, 0]  # the straddling face's two corners by the seam stay neighbours
    assert corners.max() - corners.min() < 0.1 * scale
    assert corners.max() > scale  # the one left of the seam goes past the right edge, into the wrap


def test_soft_iou_loss_and_camera_step_known_answers():
    square = torch.zeros(1, 4, 4)
    square[0, :2, :2] = 1.0
    assert multiview.soft_iou_loss(square, square).item() == pytest.approx(0.0)
    assert multiview.soft_iou_loss(square, square.flip(1)).item() == pytest.approx(1.0)
    position = torch.tensor([0.0, 0.0, 3.0], requires_grad=True)
    optimizer = torch.optim.SGD([position], lr=0.1)
    R, T = multiview.look_from(position.detach())
    assert torch.allclose(position.detach()[None] @ R[0] + T, torch.zeros(1, 3), atol=1e-6)

    def render(R, T):  # a "silhouette" whose loss is |T|² summed: the step must move the camera
        return T.expand(2, 3)

    value = multiview.camera_step(position, torch.zeros(2, 3), render, optimizer)
    assert value == pytest.approx(2 * 9.0, rel=1e-5)  # T = (0, 0, 3) in view space, twice
    assert position.detach()[2] < 3.0


def test_deform_sphere_moves_each_vertex_by_tanh():
    sphere = torch.tensor([[1.0, 0, 0], [0, 1, 0]])
    raw = torch.tensor([[0.0, 0, 0, 100, -100, 0]])
    verts = single_view_report.deform_sphere(sphere, raw, 0.5)
    assert torch.allclose(verts, torch.tensor([[[1.0, 0, 0], [0.5, 0.5, 0]]]))


def _summary(f1_01, f1_05, categories):
    return {
        "all": {"f1@0.01": f1_01, "f1@0.05": f1_05},
        "categories": {c: {"f1@0.05": v} for c, v in categories.items()},
    }


def test_findings_are_read_off_the_numbers():
    summaries = {
        "points": _summary(0.20, 0.90, {"chair": 0.8, "mug": 1.0}),
        "mesh": _summary(0.10, 0.60, {"chair": 0.4, "mug": 0.8}),
        "mean shape": _summary(0.05, 0.40, {"chair": 0.3, "mug": 0.5}),
        "retrieval (latent)": _summary(0.30, 0.70, {"chair": 0.6, "mug": 0.8}),
    }
    text = single_view_report.findings(summaries, networks=["points", "mesh"])
    assert "2 of 2 networks beat it" in text
    assert "**Best at τ = 0.05**: points (90.0 %)" in text
    assert (
        "**Best at τ = 0.01**: retrieval (latent) (30.0 %); best network: points (20.0 %)" in text
    )
    assert "at τ = 0.05: 70.0 %; networks above it: points." in text
    assert "at τ = 0.01: 30.0 %; networks above it: none." in text
    assert "**Weakest network** at τ = 0.05: mesh (60.0 %)" in text
    assert "hardest chair (60.0 %), easiest mug (90.0 %)" in text
