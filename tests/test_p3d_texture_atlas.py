"""``load_obj(..., create_texture_atlas=True)``: per-face texture atlases from materials.

Known answers: an image whose red channel is ``u`` and green channel is ``v`` (linear
ramps, which bilinear sampling with texel centres at 0 and 1 reproduces exactly) turns
each atlas texel into the (u, v) of its cell's centroid.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from course_utils.p3d.builtin.io import load_obj, load_objs_as_meshes
from course_utils.p3d.builtin.io.mtl_io import _atlas_barycentrics
from course_utils.p3d.builtin.renderer import TexturesAtlas

TRIANGLES = "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\nvt 0 0\nvt 1 0\nvt 0 1\nvt 1.25 1\n"


def _ramp_image(folder: Path, size: int = 5) -> None:
    """Red = u (0 at the left column, 1 at the right), green = v (1 at the top row)."""
    u = np.linspace(0.0, 1.0, size)
    image = np.zeros((size, size, 3), np.uint8)
    image[..., 0] = np.round(255 * u)[None, :]
    image[..., 1] = np.round(255 * u[::-1])[:, None]
    Image.fromarray(image).save(folder / "ramp.png")


def _write(folder: Path, faces: str, materials: str) -> Path:
    (folder / "m.mtl").write_text(materials)
    path = folder / "mesh.obj"
    path.write_text("mtllib m.mtl\n" + TRIANGLES + faces)
    return path


def test_atlas_barycentrics_are_the_cell_centroids():
    bary = _atlas_barycentrics(3, torch.device("cpu"))
    torch.testing.assert_close(bary[0, 0], torch.tensor([1 / 9, 1 / 9, 7 / 9]))
    torch.testing.assert_close(bary[0, 2], torch.tensor([7 / 9, 1 / 9, 1 / 9]))
    torch.testing.assert_close(bary[2, 2], torch.tensor([2 / 9, 2 / 9, 5 / 9]))  # mirrored
    torch.testing.assert_close(bary.sum(-1), torch.ones(3, 3))


def test_textured_faces_sample_the_image_at_the_cell_centroids(tmp_path):
    _ramp_image(tmp_path)
    path = _write(
        tmp_path,
        "usemtl tex\nf 1/1 2/2 3/3\nusemtl red\nf 2/2 4/4 3/3\n",
        "newmtl tex\nKd 0.2 0.3 0.4\nmap_Kd ramp.png\nnewmtl red\nKd 1 0 0\n",
    )
    R = 4
    _, _, aux = load_obj(path, create_texture_atlas=True, texture_atlas_size=R)
    atlas = aux.texture_atlas
    assert atlas.shape == (2, R, R, 3)
    bary = _atlas_barycentrics(R, torch.device("cpu"))
    # Face 0 has uvs (0, 0), (1, 0), (0, 1): u = w1 and v = w2 (the image replaces Kd).
    torch.testing.assert_close(atlas[0, ..., 0], bary[..., 1], atol=2e-3, rtol=0)
    torch.testing.assert_close(atlas[0, ..., 1], bary[..., 2], atol=2e-3, rtol=0)
    # Face 1's material has no image: its Kd everywhere.
    torch.testing.assert_close(atlas[1], torch.tensor([1.0, 0.0, 0.0]).expand(R, R, 3))


def test_texture_wrap_and_faces_without_material(tmp_path):
    _ramp_image(tmp_path)
    path = _write(
        tmp_path,
        "f 1/1 2/2 3/3\nusemtl tex\nf 2/2 4/4 3/3\n",
        "newmtl tex\nmap_Kd ramp.png\n",
    )
    with pytest.warns(UserWarning, match="outside the range"):
        _, _, aux = load_obj(path, create_texture_atlas=True, texture_atlas_size=2)
    torch.testing.assert_close(aux.texture_atlas[0], torch.ones(2, 2, 3))  # no material: white
    # u = 1.25 repeats to 0.25; "clamp" keeps 1.
    repeat = aux.texture_atlas[1, ..., 0]
    _, _, clamped = load_obj(
        path, create_texture_atlas=True, texture_atlas_size=2, texture_wrap="clamp"
    )
    bary = _atlas_barycentrics(2, torch.device("cpu"))
    # Face 1: corners 2, 4, 3 with u = 1, 1.25 (or 0.25 / 1), 0.
    torch.testing.assert_close(repeat, bary[..., 0] + 0.25 * bary[..., 1], atol=3e-3, rtol=0)
    torch.testing.assert_close(
        clamped.texture_atlas[1, ..., 0], bary[..., 0] + bary[..., 1], atol=3e-3, rtol=0
    )


def test_load_objs_as_meshes_gives_a_textures_atlas(tmp_path):
    _ramp_image(tmp_path)
    path = _write(tmp_path, "usemtl red\nf 1/1 2/2 3/3\n", "newmtl red\nKd 0 1 0\n")
    mesh = load_objs_as_meshes([path], create_texture_atlas=True, texture_atlas_size=3)
    assert isinstance(mesh.textures, TexturesAtlas)
    torch.testing.assert_close(
        mesh.textures.faces_verts_textures_packed(), torch.tensor([0.0, 1.0, 0.0]).expand(1, 3, 3)
    )
