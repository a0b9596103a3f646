"""Texture sampling: ``TexturesVertex`` / ``TexturesUV`` colours at rasterised pixels.

Hand-made fragments put pixels exactly on known (u, v) coordinates, so each check can
name the texel (or the bilinear mix of texels) it expects. The recorded PyTorch3D render
of a UV-textured quad (``texture_uv``) is reproduced from tensors and from OBJ/MTL/PNG
files loaded with ``io``.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch
from PIL import Image

from course_utils.p3d import io, renderer, structures


def make_fragments(pix_to_face, bary_coords):
    """Fragments with the given faces / barycentrics (depth and distances are dummies)."""
    fragments_cls = getattr(renderer, "Fragments", None)
    if fragments_cls is None:  # real PyTorch3D keeps it in renderer.mesh.rasterizer
        module = renderer.__backend_module__.__name__ + ".mesh.rasterizer"
        fragments_cls = importlib.import_module(module).Fragments
    found = pix_to_face >= 0
    return fragments_cls(
        pix_to_face=pix_to_face,
        zbuf=torch.where(found, 2.0, -1.0).to(bary_coords.dtype),
        bary_coords=bary_coords,
        dists=torch.where(found, -0.01, -1.0).to(bary_coords.dtype),
    )


def corner_fragments(pixels):
    """One row of pixels; ``pixels`` lists ``(face, corner)``: bary = that corner's one-hot."""
    pix_to_face = torch.tensor([face for face, _ in pixels]).view(1, 1, -1, 1)
    bary = torch.eye(3)[[corner for _, corner in pixels]].view(1, 1, -1, 1, 3)
    return make_fragments(pix_to_face, bary)


def uv_fragments(uvs, dtype=torch.float32):
    """Fragments whose pixels sit at the given (u, v) of a unit UV triangle.

    The face's UV corners are (0, 0), (1, 0), (0, 1), so a pixel with barycentrics
    (1 - u - v, u, v) reads the map at (u, v) — for any u, v, even outside the triangle.
    """
    uvs = torch.tensor(uvs, dtype=dtype)
    bary = torch.stack([1 - uvs[:, 0] - uvs[:, 1], uvs[:, 0], uvs[:, 1]], dim=-1)
    pix_to_face = torch.zeros(1, 1, len(uvs), 1, dtype=torch.int64)
    return make_fragments(pix_to_face, bary.view(1, 1, -1, 1, 3))


def unit_triangle_textures(maps, **kwargs):
    verts_uvs = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=maps.dtype)
    return renderer.TexturesUV(
        maps=maps, faces_uvs=[torch.tensor([[0, 1, 2]])], verts_uvs=[verts_uvs], **kwargs
    )


def two_texel_map(c0, c1, rows=2):
    """``(1, rows, 2, 3)``: column 0 is colour c0, column 1 colour c1, on every row."""
    row = torch.tensor([c0, c1])
    return row.expand(1, rows, 2, 3).clone()


# ================================================================ TexturesUV
def test_corner_uvs_read_the_corner_texels_v_pointing_up():
    maps = torch.rand(1, 3, 4, 3)
    verts_uvs = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    faces_uvs = torch.tensor([[0, 1, 2], [3, 2, 1]])
    for align_corners in (True, False):
        textures = renderer.TexturesUV(
            maps=maps, faces_uvs=[faces_uvs], verts_uvs=[verts_uvs], align_corners=align_corners
        )
        fragments = corner_fragments([(0, 0), (0, 1), (0, 2), (1, 0)])
        texels = textures.sample_textures(fragments)
        assert texels.shape == (1, 1, 4, 1, 3)
        expected = torch.stack(
            [
                maps[0, -1, 0],  # (0, 0): bottom-left (v = 0 is the last row)
                maps[0, -1, -1],  # (1, 0): bottom-right
                maps[0, 0, 0],  # (0, 1): top-left
                maps[0, 0, -1],  # (1, 1): top-right
            ]
        )
        torch.testing.assert_close(texels[0, 0, :, 0], expected)


def test_v_flip_top_row_is_v_equal_one():
    maps = torch.tensor([[[[1.0, 0.0, 0.0]] * 2, [[0.0, 0.0, 1.0]] * 2]])  # red top, blue bottom
    textures = unit_triangle_textures(maps)
    texels = textures.sample_textures(uv_fragments([[0.5, 0.0], [0.25, 0.75], [0.0, 0.5]]))
    torch.testing.assert_close(texels[0, 0, 0, 0], torch.tensor([0.0, 0.0, 1.0]))
    torch.testing.assert_close(texels[0, 0, 1, 0], torch.tensor([0.75, 0.0, 0.25]))
    torch.testing.assert_close(texels[0, 0, 2, 0], torch.tensor([0.5, 0.0, 0.5]))


def test_align_corners_decides_where_texel_centres_are():
    c0, c1 = [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]
    maps = two_texel_map(c0, c1)
    fragments = uv_fragments([[0.25, 0.5]])
    # align_corners=True: u = 0 and 1 are the texel centres, so u = 0.25 is 3:1 c0:c1.
    aligned = unit_triangle_textures(maps, align_corners=True).sample_textures(fragments)
    torch.testing.assert_close(aligned[0, 0, 0, 0], torch.tensor([0.75, 0.25, 0.0]))
    # align_corners=False: u = 0 and 1 are the map's outer edges; u = 0.25 is c0's centre.
    edges = unit_triangle_textures(maps, align_corners=False).sample_textures(fragments)
    torch.testing.assert_close(edges[0, 0, 0, 0], torch.tensor(c0))


def test_padding_and_sampling_modes():
    c0, c1 = [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]
    maps = two_texel_map(c0, c1)
    outside = uv_fragments([[1.5, 0.25]])  # right of the map
    border = unit_triangle_textures(maps, padding_mode="border").sample_textures(outside)
    torch.testing.assert_close(border[0, 0, 0, 0], torch.tensor(c1))
    zeros = unit_triangle_textures(maps, padding_mode="zeros", align_corners=False)
    torch.testing.assert_close(zeros.sample_textures(outside)[0, 0, 0, 0], torch.zeros(3))
    between = uv_fragments([[0.3, 0.5]])
    nearest = unit_triangle_textures(maps, sampling_mode="nearest").sample_textures(between)
    torch.testing.assert_close(nearest[0, 0, 0, 0], torch.tensor(c0))
    bilinear = unit_triangle_textures(maps).sample_textures(between)
    torch.testing.assert_close(bilinear[0, 0, 0, 0], torch.tensor([0.7, 0.3, 0.0]))


def test_each_mesh_of_a_batch_reads_its_own_map():
    maps = torch.stack([torch.full((4, 4, 3), 0.25), torch.full((4, 4, 3), 0.75)])
    verts_uvs = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    textures = renderer.TexturesUV(
        maps=maps, faces_uvs=[torch.tensor([[0, 1, 2]])] * 2, verts_uvs=[verts_uvs] * 2
    )
    tri = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    meshes = structures.Meshes(
        verts=[tri, tri], faces=[torch.tensor([[0, 1, 2]])] * 2, textures=textures
    )
    # Packed face 0 belongs to mesh 0, packed face 1 to mesh 1; pixel 1 is empty.
    pix_to_face = torch.tensor([[[[0], [-1]]], [[[1], [-1]]]])
    fragments = make_fragments(pix_to_face, torch.full((2, 1, 2, 1, 3), 1.0 / 3.0))
    texels = meshes.sample_textures(fragments)
    assert texels.shape == (2, 1, 2, 1, 3)
    torch.testing.assert_close(texels[0, 0, 0, 0], torch.full((3,), 0.25))
    torch.testing.assert_close(texels[1, 0, 0, 0], torch.full((3,), 0.75))


def test_uv_faces_verts_textures_packed_reads_each_corner():
    maps = torch.rand(1, 3, 4, 3)
    textures = unit_triangle_textures(maps)
    corners = textures.faces_verts_textures_packed()
    assert corners.shape == (1, 3, 3)
    torch.testing.assert_close(
        corners[0], torch.stack([maps[0, -1, 0], maps[0, -1, -1], maps[0, 0, 0]])
    )


def test_gradient_reaches_the_uv_map():
    maps = torch.rand(1, 3, 4, 3, dtype=torch.float64, requires_grad=True)
    fragments = uv_fragments([[0.1, 0.2], [0.7, 0.25], [0.33, 0.6]], dtype=torch.float64)

    def sample(m):
        return unit_triangle_textures(m).sample_textures(fragments)

    assert torch.autograd.gradcheck(sample, (maps,))
    sample(maps).sum().backward()
    assert maps.grad.abs().sum() > 0


# ================================================================ TexturesVertex
def test_vertex_textures_interpolate_colours_and_leave_empty_pixels_zero():
    colours = torch.rand(4, 3, dtype=torch.float64, requires_grad=True)
    verts = torch.rand(4, 3, dtype=torch.float64)
    faces = torch.tensor([[0, 1, 2], [0, 2, 3]])
    mesh = structures.Meshes(
        verts=[verts], faces=[faces], textures=renderer.TexturesVertex(verts_features=[colours])
    )
    bary = torch.tensor([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1], [0.3, 0.3, 0.4]], dtype=torch.float64)
    fragments = make_fragments(torch.tensor([0, 1, -1]).view(1, 1, 3, 1), bary.view(1, 1, 3, 1, 3))
    texels = mesh.sample_textures(fragments)
    assert texels.shape == (1, 1, 3, 1, 3)
    torch.testing.assert_close(texels[0, 0, 0, 0], bary[0] @ colours[faces[0]])
    torch.testing.assert_close(texels[0, 0, 1, 0], bary[1] @ colours[faces[1]])
    torch.testing.assert_close(texels[0, 0, 2, 0], torch.zeros(3, dtype=torch.float64))
    texels.sum().backward()
    torch.testing.assert_close(  # d(sum)/d colour_v = sum of v's barycentric weights
        colours.grad[:, 0], torch.tensor([0.2 + 0.6, 0.3, 0.5 + 0.3, 0.1], dtype=torch.float64)
    )


# ================================================================ reference quad
def render_textured_quad(case, mesh):
    cameras = renderer.FoVPerspectiveCameras(R=case["R"], T=case["T"])
    size = tuple(int(s) for s in case["image_size"])
    rasterizer = renderer.MeshRasterizer(
        cameras=cameras, raster_settings=renderer.RasterizationSettings(image_size=size)
    )
    lights = renderer.PointLights(location=case["light_location"].float())
    shader = renderer.HardPhongShader(cameras=cameras, lights=lights)
    return renderer.MeshRenderer(rasterizer, shader)(mesh)


def assert_images_agree(image, expected):
    """README tolerance: mean |diff| per channel <= 0.01, >= 99 % pixels within 0.05."""
    diff = (image - expected).abs()
    assert (diff.mean(dim=(0, 1, 2)) <= 0.01).all()
    assert (diff.amax(dim=-1) <= 0.05).float().mean() >= 0.99


def test_uv_textured_quad_matches_pytorch3d(reference):
    case = reference["texture_uv"]
    textures = renderer.TexturesUV(
        maps=case["texture_map"], faces_uvs=[case["faces_uvs"]], verts_uvs=[case["verts_uvs"]]
    )
    mesh = structures.Meshes(verts=[case["verts"]], faces=[case["faces"]], textures=textures)
    image = render_textured_quad(case, mesh)
    assert_images_agree(image, case["image"])
    # The checkerboard shows: the quad holds both dark and bright texels.
    quad = image[0, ..., 3] == 1
    assert image[0][quad][:, :3].sum(-1).min() < 0.5 < image[0][quad][:, :3].sum(-1).max()


def write_quad_obj(case, folder):
    """The texture_uv quad as OBJ + MTL + PNG (the map quantised to 8 bits)."""
    texture = (case["texture_map"][0].numpy() * 255).round().astype(np.uint8)
    Image.fromarray(texture).save(folder / "checker.png")
    (folder / "quad.mtl").write_text("newmtl checker\nKd 1 1 1\nmap_Kd checker.png\n")
    lines = ["mtllib quad.mtl"]
    lines += ["v {:.6f} {:.6f} {:.6f}".format(*v) for v in case["verts"].tolist()]
    lines += ["vt {:.6f} {:.6f}".format(*uv) for uv in case["verts_uvs"].tolist()]
    lines.append("usemtl checker")
    for f, t in zip(case["faces"].tolist(), case["faces_uvs"].tolist()):
        lines.append("f " + " ".join(f"{a + 1}/{b + 1}" for a, b in zip(f, t)))
    (folder / "quad.obj").write_text("\n".join(lines) + "\n")
    return folder / "quad.obj"


def test_textures_loaded_from_obj_files_render_like_pytorch3d(reference, tmp_path):
    case = reference["texture_uv"]
    path = write_quad_obj(case, tmp_path)
    mesh = io.load_objs_as_meshes([path])
    assert_images_agree(render_textured_quad(case, mesh), case["image"])
    # The same through load_obj and a hand-built TexturesUV.
    verts, faces, aux = io.load_obj(path)
    image_map = next(iter(aux.texture_images.values()))
    textures = renderer.TexturesUV(
        maps=image_map[None], faces_uvs=[faces.textures_idx], verts_uvs=[aux.verts_uvs]
    )
    mesh = structures.Meshes(verts=[verts], faces=[faces.verts_idx], textures=textures)
    assert_images_agree(render_textured_quad(case, mesh), case["image"])


# ================================================================ built-in backend only
@pytest.mark.builtin_only
def test_unsupported_sampling_mode_is_named():
    with pytest.raises(NotImplementedError, match="sampling_mode"):
        unit_triangle_textures(torch.rand(1, 2, 2, 3), sampling_mode="bicubic")


@pytest.mark.builtin_only
def test_sampling_errors_say_what_is_wrong():
    textures = renderer.TexturesVertex(verts_features=[torch.rand(3, 3)])
    fragments = corner_fragments([(0, 0)])
    with pytest.raises(ValueError, match="faces_packed"):
        textures.sample_textures(fragments)
    two = renderer.TexturesUV(  # maps for 2 meshes, fragments of 1 image
        maps=torch.rand(2, 2, 2, 3),
        faces_uvs=[torch.tensor([[0, 1, 2]])] * 2,
        verts_uvs=[torch.rand(3, 2)] * 2,
    )
    with pytest.raises(ValueError, match="2 meshes"):
        two.sample_textures(fragments)
