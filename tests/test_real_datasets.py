"""Tests of the optional real-dataset loaders (R2N2, Pix3D) on tiny fixtures written here.

Each fixture is a few fake models in the dataset's real folder layout: hand-written binvox
files, RGBA renderings with a metadata file, a pix3d.json with images, masks, OBJ meshes
and (when scipy is installed) MATLAB voxel files. Voxel blobs are placed asymmetrically so
that the axis conventions are checked, not just the shapes.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from course_utils.datasets import R2N2, Pix3D, collate_shapes, read_binvox
from course_utils.datasets.real import DatasetFolderError
from course_utils.p3d import renderer

CHAIR, LAMP = "03001627", "03636649"


# ------------------------------------------------------------------ fixture writers
def binvox_bytes(grid_xyz: np.ndarray, translate=(0.0, 0.0, 0.0), scale=1.0) -> bytes:
    """A .binvox file by hand: header, then (value, count) runs in x-z-y order (y fastest)."""
    n = grid_xyz.shape[0]
    flat = grid_xyz.transpose(0, 2, 1).reshape(-1).astype(np.uint8)  # [x, z, y]
    runs = bytearray()
    start = 0
    while start < len(flat):
        value, end = flat[start], start
        while end < len(flat) and flat[end] == value and end - start < 255:
            end += 1
        runs += bytes([int(value), end - start])
        start = end
    header = f"#binvox 1\ndim {n} {n} {n}\ntranslate {translate[0]} {translate[1]} " \
             f"{translate[2]}\nscale {scale}\ndata\n"  # fmt: skip
    return header.encode() + bytes(runs)


def box_obj(path: Path, size=(1.0, 0.5, 0.25)) -> None:
    """An axis-aligned box OBJ (outward faces), extent ``size`` (x, y, z), at the origin."""
    sx, sy, sz = (s / 2 for s in size)
    corners = [(x, y, z) for x in (-sx, sx) for y in (-sy, sy) for z in (-sz, sz)]
    quads = [(1, 2, 4, 3), (5, 7, 8, 6), (1, 5, 6, 2), (3, 4, 8, 7), (1, 3, 7, 5), (2, 6, 8, 4)]
    lines = [f"v {x} {y} {z}" for x, y, z in corners]
    lines += [f"f {a} {b} {c} {d}" for a, b, c, d in quads]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def rgba_png(path: Path, size: int = 137) -> None:
    """A red square on a transparent background (R2N2 renderings are RGBA)."""
    image = np.zeros((size, size, 4), dtype=np.uint8)
    image[40:100, 30:90] = (200, 30, 30, 255)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image, "RGBA").save(path)


def blob_xyz(n: int = 32) -> np.ndarray:
    """An asymmetric blob in a binvox/ShapeNet [x, y, z] grid: high x, low y, low z."""
    grid = np.zeros((n, n, n), dtype=bool)
    grid[20:28, 0:16, 4:8] = True
    return grid


@pytest.fixture
def r2n2_root(tmp_path: Path) -> Path:
    """Three chairs and two lamps, three views each."""
    for synset, models in ((CHAIR, ["c1", "c2", "c3"]), (LAMP, ["l1", "l2"])):
        for model in models:
            folder = tmp_path / "ShapeNetRendering" / synset / model / "rendering"
            for view in range(3):
                rgba_png(folder / f"{view:02d}.png")
            (folder / "rendering_metadata.txt").write_text(
                "0 30 0 0.8 25\n90 30 0 0.8 25\n200.5 15.2 0 0.75 25\n"
            )
            voxels = tmp_path / "ShapeNetVox32" / synset / model / "model.binvox"
            voxels.parent.mkdir(parents=True)
            voxels.write_bytes(binvox_bytes(blob_xyz(), translate=(-0.5, -0.5, -0.5)))
    return tmp_path


# ------------------------------------------------------------------ binvox
def test_read_binvox_hand_written(tmp_path: Path) -> None:
    grid = np.zeros((4, 4, 4), dtype=bool)
    grid[3, 0, 1] = True  # x = 3, y = 0, z = 1: file index 3*16 + 1*4 + 0 = 52
    path = tmp_path / "tiny.binvox"
    path.write_bytes(b"#binvox 1\ndim 4 4 4\ntranslate 0.1 0.2 0.3\nscale 2.5\ndata\n"
                     + bytes([0, 52, 1, 1, 0, 11]))  # fmt: skip
    read = read_binvox(path)
    np.testing.assert_array_equal(read.data, grid)
    np.testing.assert_allclose(read.translate, [0.1, 0.2, 0.3])
    assert read.scale == 2.5
    path.write_bytes(binvox_bytes(blob_xyz()))  # the test writer round-trips too
    np.testing.assert_array_equal(read_binvox(path).data, blob_xyz())

    path.write_bytes(b"#binvox 1\ndim 4 4 4\ntranslate 0 0 0\nscale 1\ndata\n" + bytes([0, 60]))
    with pytest.raises(ValueError, match="expected 4³ = 64"):
        read_binvox(path)
    path.write_bytes(b"P6\n4 4\n255\n" + bytes(10))
    with pytest.raises(ValueError, match="binvox"):
        read_binvox(path)


# ------------------------------------------------------------------ R2N2
def test_r2n2_items(r2n2_root: Path) -> None:
    ds = R2N2(r2n2_root, "train", image_size=32, points_per_shape=50)
    # 80/10/10 by model: of 3 chairs 1 trains (1 val, 1 test); both lamps train.
    models = {ds.model_id(i) for i in range(len(ds))}
    assert len(models) == 3 and {(LAMP, "l1"), (LAMP, "l2")} <= models
    assert len(ds) == 3 * 3
    item = ds[0]
    assert item["image"].shape == (3, 32, 32) and item["mask"].shape == (1, 32, 32)
    assert item["voxels"].shape == (32, 32, 32) and item["points"].shape == (50, 3)
    assert item["R"].shape == (3, 3) and item["T"].shape == (3,) and item["fov"] == 25.0
    assert ds.category_names[int(item["category"])] in ("chair", "lamp")
    # White background, the red square where the alpha was.
    assert torch.all(item["image"][:, 0, 0] == 1.0) and item["mask"][0, 0, 0] == 0
    assert item["mask"][0, 16, 14] == 1 and item["image"][0, 16, 14] > 0.7
    assert item["image"][1, 16, 14] < 0.3
    # Voxels: ShapeNet (x: front, y: up, z) -> course [z', y', x'] with z' = x, x' = -z.
    expected = torch.zeros(32, 32, 32)
    expected[20:28, 0:16, 24:28] = 1
    torch.testing.assert_close(item["voxels"], expected)
    # Without meshes, the mesh is the voxels' cubes in [-0.5, 0.5]³.
    assert item["verts"].min() >= -0.5 and item["verts"].max() <= 0.5
    # Cameras: azimuth 0 looks at the front (+Z); azimuth 90 is on the -X side.
    by_view = {v: i for i, (m, v) in enumerate(ds.items) if m == 0}
    centres = [-(ds[by_view[v]]["T"] @ ds[by_view[v]]["R"].T) for v in (0, 1)]
    d, e = 0.8 * 1.75, math.radians(30)
    torch.testing.assert_close(centres[0], torch.tensor([0.0, d * math.sin(e), d * math.cos(e)]))
    torch.testing.assert_close(
        centres[1], torch.tensor([-d * math.cos(e), d * math.sin(e), 0.0]), atol=1e-5, rtol=1e-5
    )
    R, _ = renderer.look_at_view_transform(d, 30.0, 0.0)
    torch.testing.assert_close(ds[by_view[0]]["R"], R[0])
    batch = collate_shapes([ds[i] for i in range(4)])
    assert batch["image"].shape == (4, 3, 32, 32) and len(batch["verts"]) == 4


def test_r2n2_options(r2n2_root: Path, tmp_path: Path) -> None:
    lamps = R2N2(r2n2_root, "train", categories=["lamp"], views=[0, 2], image_size=16,
                 points_per_shape=10)  # fmt: skip
    assert len(lamps) == 2 * 2 and {v for _, v in lamps.items} == {0, 2}
    same = R2N2(r2n2_root, "train", categories=[LAMP], views=[0, 2], image_size=16,
                points_per_shape=10)  # fmt: skip
    assert len(same) == len(lamps)
    splits = tmp_path / "splits.json"
    splits.write_text(json.dumps({"train": {CHAIR: {"c2": [0, 2]}}, "val": {}}))
    custom = R2N2(r2n2_root, "train", categories=["chair"], splits_file=splits, image_size=16,
                  points_per_shape=10)  # fmt: skip
    assert [(custom.model_id(i), custom.items[i][1]) for i in range(len(custom))] == [
        ((CHAIR, "c2"), 0), ((CHAIR, "c2"), 2)
    ]  # fmt: skip
    with pytest.raises(ValueError, match="empty"):
        R2N2(r2n2_root, "val", categories=["chair"], splits_file=splits)
    # With ShapeNet meshes: a box long along ShapeNet's front axis (+X) is long along +Z.
    shapenet = tmp_path / "ShapeNetCore.v1"
    for model in ("l1", "l2"):
        box_obj(shapenet / LAMP / model / "model.obj", size=(1.0, 0.5, 0.25))
    meshes = R2N2(r2n2_root, "train", categories=["lamp"], shapenet_dir=shapenet,
                  image_size=16, points_per_shape=20)  # fmt: skip
    verts = meshes[0]["verts"]
    extent = verts.max(0).values - verts.min(0).values
    assert extent.argmax() == 2 and extent.argmin() == 0
    assert extent.norm() == pytest.approx(1.0, abs=1e-5)
    torch.testing.assert_close(verts.max(0).values, -verts.min(0).values)


def test_r2n2_errors(r2n2_root: Path, tmp_path: Path) -> None:
    with pytest.raises(DatasetFolderError, match="ShapeNetRendering"):
        R2N2(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="unknown R2N2 category"):
        R2N2(r2n2_root, categories=["spaceship"])
    with pytest.raises(DatasetFolderError, match="'car' is not in this copy"):
        R2N2(r2n2_root, categories=["car"])
    with pytest.raises(ValueError, match="split"):
        R2N2(r2n2_root, split="everything")
    (r2n2_root / "ShapeNetVox32" / LAMP / "l2" / "model.binvox").unlink()
    with pytest.raises(DatasetFolderError, match=r"l2.model\.binvox not found"):
        R2N2(r2n2_root, categories=["lamp"])
    (r2n2_root / "ShapeNetRendering" / LAMP / "l1" / "rendering" / "rendering_metadata.txt"
     ).unlink()  # fmt: skip
    with pytest.raises(DatasetFolderError, match="rendering_metadata.txt not found"):
        R2N2(r2n2_root, categories=["lamp"])
    with pytest.raises(DatasetFolderError, match="lists 3 views"):
        R2N2(r2n2_root, categories=["chair"], splits_file=_splits(tmp_path, [7]))
    import shutil

    shutil.rmtree(r2n2_root / "ShapeNetVox32")
    with pytest.raises(DatasetFolderError, match="ShapeNetVox32 not found"):
        R2N2(r2n2_root)


def _splits(folder: Path, views: list[int]) -> Path:
    path = folder / "views.json"
    path.write_text(json.dumps({"train": {CHAIR: {"c1": views}}}))
    return path


# ------------------------------------------------------------------ Pix3D
def pix3d_voxels(n: int = 64) -> np.ndarray:
    """Pix3D voxel axes: +x left, +y towards the front, +z up. A blob left, front, low."""
    grid = np.zeros((n, n, n), dtype=np.uint8)
    grid[48:64, 40:56, 0:16] = 1
    return grid


@pytest.fixture
def pix3d_root(tmp_path: Path) -> Path:
    entries = []
    for i, (category, model) in enumerate([("chair", "a"), ("chair", "a"), ("chair", "b"),
                                           ("table", "t")]):  # fmt: skip
        img = f"img/{category}/{i:04d}.jpg"
        mask = f"mask/{category}/{i:04d}.png"
        (tmp_path / img).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / mask).parent.mkdir(parents=True, exist_ok=True)
        photo = np.full((60, 80, 3), 90, dtype=np.uint8)  # a grey room ...
        photo[20:40, 30:50] = (20, 160, 40)  # ... with a green object
        Image.fromarray(photo).save(tmp_path / img)
        alpha = np.zeros((60, 80), dtype=np.uint8)
        alpha[20:40, 30:50] = 255
        Image.fromarray(alpha).save(tmp_path / mask)
        model_dir = f"model/{category}/{model}"
        box_obj(tmp_path / model_dir / "model.obj", size=(1.0, 0.5, 0.25))
        entries.append({
            "img": img, "mask": mask, "category": category, "img_size": [80, 60],
            "model": f"{model_dir}/model.obj", "voxel": f"{model_dir}/voxel.mat",
            "bbox": [30, 20, 50, 40], "rot_mat": np.eye(3).tolist(),
            "trans_mat": [0.0, 0.0, 2.0], "focal_length": 35.0, "cam_position": [0, 0, -2],
            "inplane_rotation": 0.0, "truncated": i == 2, "occluded": False,
        })  # fmt: skip
    (tmp_path / "pix3d.json").write_text(json.dumps(entries))
    return tmp_path


def _write_mats(root: Path) -> None:
    from scipy.io import savemat

    for path in sorted(root.glob("model/*/*")):
        savemat(str(path / "voxel.mat"), {"voxel": pix3d_voxels()})


def test_pix3d_items(pix3d_root: Path) -> None:
    pytest.importorskip("scipy", reason="Pix3D's .mat voxels need scipy")
    _write_mats(pix3d_root)
    ds = Pix3D(pix3d_root, "train", image_size=32, points_per_shape=40)
    assert len(ds) == 4  # 2 chair models and 1 table: too few for val/test, all train
    item = ds[0]
    assert item["image"].shape == (3, 32, 32) and item["mask"].shape == (1, 32, 32)
    # Square crop around the box with 10 % margin: the object fills the middle ~80 %.
    assert item["mask"][0, 16, 16] == 1 and item["mask"][0, 1, 1] == 0
    assert torch.all(item["image"][:, 1, 1] == 1.0)  # white outside the mask
    assert item["image"][1, 16, 16] > 0.5 and item["image"][0, 16, 16] < 0.2
    # Voxels 64³ -> 32³, turned: Pix3D (left, front, up) -> course [z'(front), y'(up), x'(right)].
    expected = torch.zeros(32, 32, 32)
    expected[20:28, 0:8, 0:8] = 1
    torch.testing.assert_close(item["voxels"], expected)
    # Mesh: turned half a turn about +Y and normalised (x stays the long axis).
    verts = item["verts"]
    extent = verts.max(0).values - verts.min(0).values
    assert extent.argmax() == 0 and extent.norm() == pytest.approx(1.0, abs=1e-5)
    # Camera: rot_mat = I, trans_mat = (0, 0, 2) looks at the model's front, so the camera
    # is on the +Z side of the course frame; the projection is the original one.
    centre = -(item["T"] @ item["R"].T)
    assert centre[2] > 0 and abs(float(centre[0])) < 1e-5
    raw = torch.tensor([[0.5, 0.25, 0.125], [-0.5, -0.25, 0.125]])  # two box corners, raw
    view_raw = raw + torch.tensor([0.0, 0.0, 2.0])
    scale = math.sqrt(1 + 0.25 + 0.0625)
    ours = (raw * torch.tensor([-1.0, 1.0, -1.0])) / scale  # centred already
    view = ours @ item["R"] + item["T"]
    torch.testing.assert_close(view[:, :2] / view[:, 2:], view_raw[:, :2] / view_raw[:, 2:])
    assert item["fov"] == pytest.approx(2 * math.degrees(math.atan(16 / 35)))
    assert {int(ds[i]["shape_id"]) for i in range(4)} == {0, 1, 2}
    assert len(Pix3D(pix3d_root, "train", skip_truncated=True)) == 3
    chairs = Pix3D(pix3d_root, "train", categories=["chair"])
    assert {ds.category_names[int(chairs[i]["category"])] for i in range(len(chairs))} == {"chair"}
    collate_shapes([ds[0], ds[3]])


def test_pix3d_errors(pix3d_root: Path, tmp_path: Path, monkeypatch) -> None:
    with pytest.raises(DatasetFolderError, match="pix3d.json not found"):
        Pix3D(tmp_path / "empty")
    with pytest.raises(ValueError, match="unknown Pix3D categories"):
        Pix3D(pix3d_root, categories=["spaceship"])
    with pytest.raises(ValueError, match="empty"):
        Pix3D(pix3d_root, "val")
    # Without scipy: a clear ImportError (the .mat files need not even exist).
    (pix3d_root / "model/chair/a/voxel.mat").write_bytes(b"")
    for path in pix3d_root.glob("model/*/*"):
        (path / "voxel.mat").touch()
    monkeypatch.setitem(sys.modules, "scipy.io", None)
    with pytest.raises(ImportError, match="pip install scipy"):
        Pix3D(pix3d_root, "train")[0]
    monkeypatch.undo()
    (pix3d_root / "model/chair/b/model.obj").unlink()
    with pytest.raises(DatasetFolderError, match=r"model\.obj not found"):
        Pix3D(pix3d_root, "train")
    entries = json.loads((pix3d_root / "pix3d.json").read_text())
    del entries[0]["bbox"]
    (pix3d_root / "pix3d.json").write_text(json.dumps(entries))
    with pytest.raises(ValueError, match="bbox"):
        Pix3D(pix3d_root, "train")
    (pix3d_root / "pix3d.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        Pix3D(pix3d_root, "train")
