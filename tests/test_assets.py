"""The course's meshes in data/: up to date with their generator, and what data/README.md says."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from course_utils import assets
from course_utils.config import DATA_DIR
from course_utils.p3d import io, renderer
from course_utils.tools.cli import main as cli_main


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """The assets as the generator makes them now, in a fresh folder."""
    out = tmp_path_factory.mktemp("assets")
    assets.write_assets(out)
    return out


def load_obj_parts(path):
    verts, faces, aux = io.load_obj(path)
    image = next(iter(aux.texture_images.values()))
    return verts, faces.verts_idx, aux.verts_uvs, faces.textures_idx, image


@pytest.mark.parametrize("name", ["die", "mug"])
def test_committed_obj_assets_match_the_generator(generated, name):
    committed = load_obj_parts(DATA_DIR / f"{name}.obj")
    fresh = load_obj_parts(generated / f"{name}.obj")
    verts, faces, uvs, faces_uvs, image = committed
    torch.testing.assert_close(verts, fresh[0], atol=2e-5, rtol=0)
    assert torch.equal(faces, fresh[1])
    torch.testing.assert_close(uvs, fresh[2], atol=2e-5, rtol=0)
    assert torch.equal(faces_uvs, fresh[3])
    assert (image - fresh[4]).abs().max() <= 1.5 / 255


def test_committed_blob_matches_the_generator(generated):
    committed = io.IO().load_mesh(DATA_DIR / "blob.ply")
    fresh = io.IO().load_mesh(generated / "blob.ply")
    torch.testing.assert_close(committed.verts_packed(), fresh.verts_packed(), atol=2e-5, rtol=0)
    assert torch.equal(committed.faces_packed(), fresh.faces_packed())
    torch.testing.assert_close(
        committed.textures.verts_features_packed(),
        fresh.textures.verts_features_packed(),
        atol=1.5 / 255,
        rtol=0,
    )


def test_assets_are_small():
    files = [DATA_DIR / f for names, _ in assets.ASSETS.values() for f in names]
    assert sum(os.path.getsize(f) for f in files) < 1_000_000


def test_die_shows_the_documented_number_on_each_side():
    mesh = assets.load_asset("die")
    assert isinstance(mesh.textures, renderer.TexturesUV)
    verts, faces = mesh.verts_packed(), mesh.faces_packed()
    assert verts.shape == (24, 3) and faces.shape == (12, 3)
    assert mesh.faces_areas_packed().sum().item() == pytest.approx(6.0, rel=1e-4)
    # Outward: each face normal points the same way as the face's centre.
    centres = verts[faces].mean(dim=1)
    normals = mesh.faces_normals_packed()
    assert (torch.sum(normals * centres, dim=1) > 0.45).all()

    image = mesh.textures.maps_padded()[0]  # (H, W, 3)
    h, w = image.shape[:2]
    # (F, 3, 2) UVs of each face corner, from names both backends have.
    uvs = mesh.textures.verts_uvs_list()[0][mesh.textures.faces_uvs_list()[0]]
    expected = {
        (0, 0, 1): 1,
        (0, 0, -1): 6,
        (0, 1, 0): 2,
        (0, -1, 0): 5,
        (1, 0, 0): 3,
        (-1, 0, 0): 4,
    }
    for axis, number in expected.items():
        side = torch.nonzero((normals - torch.tensor(axis, dtype=torch.float32)).norm(dim=1) < 1e-3)
        assert side.numel() == 2, f"two triangles face {axis}"
        uv = uvs[side.flatten()].reshape(-1, 2)
        cols = (uv[:, 0] * (w - 1)).round().long()
        rows = ((1 - uv[:, 1]) * (h - 1)).round().long()
        tile = image[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        red = (tile[..., 0] > 0.6) & (tile[..., 1] < 0.3)
        dark = tile.max(dim=-1).values < 0.3
        pip_area = np.pi * (0.09 * 128) ** 2
        assert red.any() == (number == 1), f"only the 1 is red (side {axis})"
        if number > 1:
            assert round(dark.sum().item() / pip_area) == number, f"side {axis} shows {number}"


def test_mug_walls_face_the_right_way():
    mesh = assets.load_asset("mug")
    verts, faces = mesh.verts_packed(), mesh.faces_packed()
    centres = verts[faces].mean(dim=1)
    normals = mesh.faces_normals_packed()
    radius = centres[:, [0, 2]].norm(dim=1)
    radial = torch.nn.functional.normalize(centres * torch.tensor([1.0, 0.0, 1.0]), dim=1)
    away_from_handle = (centres[:, 0] < 0.3) | (centres[:, 2].abs() > 0.1)
    outer = (radius > 0.395) & (centres[:, 1].abs() < 0.4) & away_from_handle
    inner = (radius > 0.355) & (radius < 0.365) & (centres[:, 1].abs() < 0.35)
    assert outer.sum() > 500 and inner.sum() > 500
    assert (torch.sum(normals[outer] * radial[outer], dim=1) > 0.9).all()  # outside faces out
    assert (torch.sum(normals[inner] * radial[inner], dim=1) < -0.9).all()  # inside faces in
    box = mesh.get_bounding_boxes()[0]
    torch.testing.assert_close(box[1], torch.tensor([-0.5, 0.5]), atol=1e-4, rtol=0)  # 1 tall


def test_blob_is_a_closed_vertex_coloured_surface():
    mesh = assets.load_asset("blob")
    assert isinstance(mesh.textures, renderer.TexturesVertex)
    colours = mesh.textures.verts_features_packed()
    assert colours.shape == (2562, 3) and colours.min() >= 0 and colours.max() <= 1
    assert colours.std(dim=0).max() > 0.1  # a real gradient, not one colour
    num_edges = mesh.edges_packed().shape[0]
    assert 2562 - num_edges + 5120 == 2  # a sphere-like closed surface
    centres = mesh.verts_packed()[mesh.faces_packed()].mean(dim=1)
    assert (torch.sum(mesh.faces_normals_packed() * centres, dim=1) > 0).float().mean() > 0.98


def test_write_assets_never_overwrites_changed_files_silently(tmp_path):
    paths = assets.write_assets(tmp_path, names=["die"])
    assert [p.name for p in paths] == ["die.obj", "die.mtl", "die.png"]
    before = (tmp_path / "die.mtl").stat().st_mtime_ns
    assets.write_assets(tmp_path, names=["die"])  # identical: left alone
    assert (tmp_path / "die.mtl").stat().st_mtime_ns == before
    (tmp_path / "die.obj").write_text("my own edits\n")
    with pytest.raises(FileExistsError, match="die.obj"):
        assets.write_assets(tmp_path, names=["die"])
    assert (tmp_path / "die.obj").read_text() == "my own edits\n"
    assets.write_assets(tmp_path, names=["die"], force=True)
    assert (tmp_path / "die.obj").read_text().startswith((DATA_DIR / "die.obj").read_text()[:20])


def test_cli_assets_and_bad_names(tmp_path, capsys):
    assert cli_main(["assets", "blob", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "blob.ply").exists()
    assert cli_main(["assets", "teapot", "--out", str(tmp_path)]) == 1
    assert "unknown course asset 'teapot'" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="python -m course_utils assets"):
        assets.asset_path("die", data_dir=tmp_path)
