"""Built-in ``pytorch3d.datasets`` (ShapeNetCore, R2N2, collate functions) on tiny fixtures.

The fixtures are fake ShapeNetCore / R2N2 folders in the real layout, with box OBJs, RGBA
renderings, ``rendering_metadata.txt``, binvox voxels and a splits JSON, so ids, labels,
vertices, cameras and batch structure have known answers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from test_real_datasets import binvox_bytes, blob_xyz, box_obj, rgba_png

from course_utils.p3d.builtin import datasets
from course_utils.p3d.builtin.datasets.r2n2.utils import (
    BlenderCamera,
    align_bbox,
    compute_extrinsic_matrix,
    voxelize,
)
from course_utils.p3d.builtin.renderer import look_at_view_transform
from course_utils.p3d.builtin.structures import Meshes

CHAIR, LAMP = "03001627", "03636649"
REPO = Path(__file__).resolve().parents[1]
# Box extents per model, so every model's vertices are recognisable.
SIZES = {"c1": (1.0, 0.5, 0.25), "c2": (0.5, 0.5, 0.5), "l1": (0.2, 1.0, 0.2)}


def box_corners(size) -> torch.Tensor:
    sx, sy, sz = (s / 2 for s in size)
    return torch.tensor([(x, y, z) for x in (-sx, sx) for y in (-sy, sy) for z in (-sz, sz)])


def quiet(make, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make(*args, **kwargs)


@pytest.fixture
def shapenet_root(tmp_path: Path) -> Path:
    """v1 layout: two chairs and a lamp, a model folder without its OBJ, a stray folder."""
    for synset, model in ((CHAIR, "c1"), (CHAIR, "c2"), (LAMP, "l1")):
        box_obj(tmp_path / synset / model / "model.obj", SIZES[model])
    (tmp_path / CHAIR / "c3_no_obj").mkdir()
    (tmp_path / "not_a_synset").mkdir()
    return tmp_path


# ------------------------------------------------------------------ ShapeNetCore
def test_shapenet_core_lists_models_with_ids_labels_and_vertices(shapenet_root: Path) -> None:
    with pytest.warns(UserWarning, match="c3_no_obj"):
        data = datasets.ShapeNetCore(shapenet_root, load_textures=False)
    assert len(data) == 3
    assert data.synset_ids == [CHAIR, CHAIR, LAMP]
    assert data.model_ids == ["c1", "c2", "l1"]
    assert data.synset_start_idxs == {CHAIR: 0, LAMP: 2}
    assert data.synset_num_models == {CHAIR: 2, LAMP: 1}
    assert data.synset_inv == {"chair": CHAIR, "lamp": LAMP}
    item = data[2]
    assert (item["synset_id"], item["model_id"], item["label"]) == (LAMP, "l1", "lamp")
    torch.testing.assert_close(item["verts"], box_corners(SIZES["l1"]))
    assert item["faces"].shape == (12, 3) and item["faces"].dtype == torch.int64
    assert set(item["faces"].unique().tolist()) == set(range(8))
    assert item["textures"] is None


def test_shapenet_core_synsets_by_name_or_id_and_version_2(tmp_path: Path) -> None:
    for synset, model in ((CHAIR, "c1"), (LAMP, "l1")):
        box_obj(tmp_path / synset / model / "models" / "model_normalized.obj", SIZES[model])
    data = quiet(datasets.ShapeNetCore, tmp_path, synsets=["lamp"], version=2,
                 load_textures=False)  # fmt: skip
    assert (len(data), data.model_ids, data.synset_inv) == (1, ["l1"], {"lamp": LAMP})
    assert quiet(datasets.ShapeNetCore, tmp_path, synsets=[CHAIR], version=2).model_ids == ["c1"]
    # v1 looks for <model>/model.obj: none here.
    assert len(quiet(datasets.ShapeNetCore, tmp_path, version=1)) == 0
    with pytest.warns(UserWarning, match="'01234567'"):
        datasets.ShapeNetCore(tmp_path, synsets=["01234567", "lamp"], version=2)
    with pytest.raises(ValueError, match="version"):
        datasets.ShapeNetCore(tmp_path, version=3)


def test_textures_ones_without_materials_and_the_atlas_with_them(shapenet_root: Path) -> None:
    data = quiet(datasets.ShapeNetCore, shapenet_root, texture_resolution=3)
    textures = data[0]["textures"]
    assert textures.shape == (12, 3, 3, 3)
    assert bool((textures == 1).all())
    obj = shapenet_root / CHAIR / "c1" / "model.obj"
    (obj.parent / "model.mtl").write_text("newmtl red\nKd 1 0 0.5\n")
    obj.write_text("mtllib model.mtl\nusemtl red\n" + obj.read_text())
    red = data[0]["textures"]  # every face takes the material's diffuse colour
    assert red.shape == (12, 3, 3, 3)
    torch.testing.assert_close(red, torch.tensor([1.0, 0.0, 0.5]).expand(12, 3, 3, 3))
    assert quiet(datasets.ShapeNetCore, shapenet_root, load_textures=False)[0]["textures"] is None


def test_collate_batched_meshes_lists_every_key_and_builds_meshes(shapenet_root: Path) -> None:
    data = quiet(datasets.ShapeNetCore, shapenet_root)
    batch = datasets.collate_batched_meshes([data[0], data[2]])
    assert batch["model_id"] == ["c1", "l1"] and batch["label"] == ["chair", "lamp"]
    mesh = batch["mesh"]
    assert isinstance(mesh, Meshes) and len(mesh) == 2
    torch.testing.assert_close(mesh.verts_list()[1], box_corners(SIZES["l1"]))
    assert type(mesh.textures).__name__ == "TexturesAtlas"
    assert mesh.textures.atlas_padded().shape == (2, 12, 4, 4, 3)
    loader = torch.utils.data.DataLoader(
        data, batch_size=3, collate_fn=datasets.collate_batched_meshes
    )
    (whole,) = list(loader)
    assert whole["synset_id"] == [CHAIR, CHAIR, LAMP]
    assert datasets.collate_batched_meshes([]) is None
    no_mesh = datasets.collate_batched_meshes([{"a": 1}, {"a": 2}])
    assert no_mesh == {"a": [1, 2], "mesh": None}


def test_render_draws_the_chosen_models_where_the_camera_sees_them(shapenet_root: Path) -> None:
    from course_utils.p3d.builtin.renderer import (
        FoVOrthographicCameras,
        HardFlatShader,
        RasterizationSettings,
    )

    data = quiet(datasets.ShapeNetCore, shapenet_root, load_textures=False)
    R, T = look_at_view_transform(dist=2.0, elev=0.0, azim=0.0)
    settings = RasterizationSettings(image_size=64)
    kwargs = {"cameras": FoVOrthographicCameras(R=R, T=T), "raster_settings": settings}
    # Box c1 is 1.0 x 0.5 (x, y) seen face on; NDC spans 2 units over 64 pixels, so its
    # silhouette is 32 x 16 pixels, and a white model under a light is lit.
    images = data.render(model_ids=["c1", "l1"], **kwargs)
    assert images.shape == (2, 64, 64, 4)
    alpha = images[..., 3] > 0.5
    # (a few pixel centres can sit exactly on a face's diagonal: allow them either way)
    assert abs(alpha[0].sum().item() - 32 * 16) <= 4
    assert abs(alpha[1].sum().item() - 6 * 32) <= 4  # lamp l1: 0.2 x 1.0 -> 6 x 32 centres
    assert bool(alpha[0, 24:40, 16:48].all()) and not bool(alpha[0, :20].any())
    assert bool((images[0][alpha[0]][:, :3] > 0.2).all())
    by_index = data.render(idxs=[0, 2], shader_type=HardFlatShader, **kwargs)
    assert torch.equal(by_index[..., 3] > 0.5, alpha)
    torch.manual_seed(0)
    chairs = data._handle_render_inputs(categories=["chair"], sample_nums=[2])
    assert sorted(chairs) == [0, 1]
    assert data._handle_render_inputs(categories=[LAMP]) == [2]
    assert len(data._handle_render_inputs()) == 1
    with pytest.raises(ValueError, match="not found"):
        data.render(model_ids=["nope"])
    with pytest.raises(ValueError, match="Category"):
        data.render(categories=["sofa"])
    with pytest.raises(IndexError, match="out of bounds"):
        data.render(idxs=[3])
    with pytest.raises(NotImplementedError, match="view_idxs"):
        data.render(idxs=[0], view_idxs=[0])


# ------------------------------------------------------------------ R2N2
METADATA = "0 0 0 1 25\n90 0 0 1 25\n45 30 0 0.8 25\n"  # azim elev in-plane ratio fov


@pytest.fixture
def r2n2_dirs(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(shapenet_dir, r2n2_dir, splits_file): c1, c2 (chairs) and l1 (lamp), 3 views each."""
    shapenet, r2n2 = tmp_path / "ShapeNetCore.v1", tmp_path / "r2n2"
    for synset, model in ((CHAIR, "c1"), (CHAIR, "c2"), (LAMP, "l1")):
        box_obj(shapenet / synset / model / "model.obj", SIZES[model])
        folder = r2n2 / "ShapeNetRendering" / synset / model / "rendering"
        for view in range(3):
            rgba_png(folder / f"{view:02d}.png")
        (folder / "rendering_metadata.txt").write_text(METADATA)
        voxels = r2n2 / "ShapeNetVoxels" / synset / model / "model.binvox"
        voxels.parent.mkdir(parents=True)
        voxels.write_bytes(binvox_bytes(blob_xyz()))
    splits = {
        "train": {
            CHAIR: {"c1": [0, 1, 2], "c2": [0, 2]},
            LAMP: {"l1": [1], "absent_model": [0]},
            "01234567": {"x": [0]},  # not an R2N2 category
        },
        "test": {CHAIR: {"c1": [1, 2], "c2": [0, 1]}},
    }
    splits_file = tmp_path / "splits.json"
    splits_file.write_text(json.dumps(splits))
    return shapenet, r2n2, splits_file


def r2n2(dirs, split="train", **kwargs):
    return quiet(datasets.R2N2, split, *dirs, load_textures=False, **kwargs)


def test_r2n2_lists_split_models_and_views(r2n2_dirs) -> None:
    with pytest.warns(UserWarning, match="absent_model"):
        datasets.R2N2("train", *r2n2_dirs, load_textures=False)
    data = r2n2(r2n2_dirs)
    assert len(data) == 3
    assert data.model_ids == ["c1", "c2", "l1"]
    assert data.views_per_model_list == [[0, 1, 2], [0, 2], [1]]
    assert data.synset_num_models == {CHAIR: 2, LAMP: 1}
    assert data.synset_inv == {"chair": CHAIR, "lamp": LAMP}
    item = data[1]
    assert (item["synset_id"], item["model_id"], item["label"]) == (CHAIR, "c2", "chair")
    torch.testing.assert_close(item["verts"], box_corners(SIZES["c2"]))
    assert item["faces"].shape == (12, 3)
    images = item["images"]
    assert images.shape == (2, 137, 137, 3) and images.dtype == torch.float32
    torch.testing.assert_close(images[1, 50, 50], torch.tensor([200, 30, 30]) / 255.0)
    torch.testing.assert_close(images[0, 0, 0], torch.zeros(3))  # alpha dropped, not composited
    assert item["K"].shape == (2, 4, 4)
    torch.testing.assert_close(
        item["K"][0],
        torch.tensor(
            [[2.1875, 0, 0, 0], [0, 2.1875, 0, 0], [0, 0, -1.002002, -0.2002002], [0, 0, 1.0, 0]]
        ),
    )
    assert "voxels" not in item
    with pytest.raises(ValueError, match="split"):
        datasets.R2N2("training", *r2n2_dirs)


def test_r2n2_cameras_from_rendering_metadata(r2n2_dirs) -> None:
    item = r2n2(r2n2_dirs)[0]
    R, T = item["R"], item["T"]
    # Azimuth 0, elevation 0, distance 1 * 1.75: the camera on ShapeNet's +X (the front).
    torch.testing.assert_close(R[0], torch.tensor([[0.0, 0, -1], [0, 1, 0], [1, 0, 0]]))
    torch.testing.assert_close(T[0], torch.tensor([0.0, 0.0, 1.75]))
    # Azimuth 90: the camera on +Z; view +X is world -X.
    torch.testing.assert_close(R[1], torch.diag(torch.tensor([-1.0, 1.0, -1.0])))
    torch.testing.assert_close(T[1], torch.tensor([0.0, 0.0, 1.75]))
    # Every view: the look-at camera of the course's R2N2 loader (course frame X_c = X @ A,
    # look_at_view_transform(dist, elev, -azim)), brought back to ShapeNet's frame.
    A = torch.tensor([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])
    for view, line in enumerate(METADATA.splitlines()):
        azim, elev, _, ratio, _ = (float(v) for v in line.split())
        R_c, T_c = look_at_view_transform(dist=ratio * 1.75, elev=elev, azim=-azim)
        torch.testing.assert_close(R[view], A @ R_c[0], atol=1e-5, rtol=0)
        torch.testing.assert_close(T[view], T_c[0], atol=1e-5, rtol=0)
    # The 4x4 extrinsic of view 2 is a rigid motion keeping the camera 0.8 * 1.75 away.
    RT = compute_extrinsic_matrix(45, 30, 1.4)
    torch.testing.assert_close(RT[:3, :3] @ RT[:3, :3].T, torch.eye(3), atol=1e-6, rtol=0)
    centre = -RT[:3, :3].T @ RT[:3, 3]
    assert float(centre.norm()) == pytest.approx(1.4, abs=1e-6)


def test_r2n2_view_selection(r2n2_dirs) -> None:
    data = r2n2(r2n2_dirs)
    full = data[0]
    two = data[0, [2]]
    torch.testing.assert_close(two["R"], full["R"][2:3])
    assert data.__getitem__(0, 1)["images"].shape[0] == 1
    with pytest.warns(UserWarning, match="view_idxs"):
        assert data.__getitem__(2, [0])["images"].shape[0] == 1  # l1 has only view 1
    with pytest.raises(TypeError, match="view_idxs"):
        data.__getitem__(0, "0")
    torch.manual_seed(0)
    one = r2n2(r2n2_dirs, return_all_views=False)
    assert [len(v) for v in one.views_per_model_list] == [1, 1, 1]
    assert all(
        v[0] in full_views
        for v, full_views in zip(one.views_per_model_list, data.views_per_model_list)
    )


def test_collate_batched_r2n2_stacks_equal_view_counts(r2n2_dirs) -> None:
    test = r2n2(r2n2_dirs, split="test")
    batch = datasets.collate_batched_R2N2([test[0], test[1]])
    assert batch["images"].shape == (2, 2, 137, 137, 3)
    assert batch["R"].shape == (2, 2, 3, 3) and batch["K"].shape == (2, 2, 4, 4)
    torch.testing.assert_close(batch["T"][0], test[0]["T"])
    assert batch["model_id"] == ["c1", "c2"] and len(batch["mesh"]) == 2
    train = r2n2(r2n2_dirs)
    ragged = datasets.collate_batched_R2N2([train[0], train[1]])  # 3 views and 2 views
    assert isinstance(ragged["images"], list) and isinstance(ragged["R"], list)
    assert [len(r) for r in ragged["R"]] == [3, 2]


def test_r2n2_without_renderings_warns_and_gives_no_images(r2n2_dirs) -> None:
    shapenet, root, splits = r2n2_dirs
    with pytest.warns(UserWarning, match="no images"):
        data = datasets.R2N2("train", shapenet, root, splits, views_rel_path="nowhere",
                             load_textures=False)  # fmt: skip
    item = data[0]
    assert item["images"] is None and "R" not in item
    assert datasets.collate_batched_R2N2([item])["images"] == [None]


def test_voxelize_and_align_bbox_known_cells() -> None:
    src = torch.tensor([[0.0, 0.0, 0.0], [2.0, 4.0, 8.0]])
    tgt = torch.tensor([[-1.0, 0.0, 1.0], [1.0, 2.0, 5.0]])
    torch.testing.assert_close(align_bbox(src, tgt), tgt)
    # A point inside the source box lands at the same relative place in the target box.
    moved = align_bbox(torch.tensor([[1.0, 1.0, 2.0], *src.tolist()]), tgt)[0]
    torch.testing.assert_close(moved, torch.tensor([0.0, 0.5, 2.0]))
    # P = identity: x, y in [-1, 1] (x flipped), z in [0.67, 0.92] -> [-1, 1]; V = 5 cells.
    coords = torch.tensor([[0.0, 0.0, 0.795], [1.0, -1.0, 0.67], [0.0, 0.0, 5.0]])
    grid = voxelize(coords, torch.eye(4), 5)
    assert grid.dtype == torch.uint8 and int(grid.sum()) == 2  # the third is behind the box
    assert grid[2, 2, 2] == 1 and grid[0, 0, 0] == 1


def test_r2n2_voxels_per_view(r2n2_dirs) -> None:
    item = r2n2(r2n2_dirs, return_voxels=True)[0]
    voxels = item["voxels"]
    assert voxels.shape == (3, 128, 128, 128) and voxels.dtype == torch.uint8
    # The mesh's box seen from the front (view 0) and from the side (view 1) differ.
    assert int(voxels[0].sum()) > 0 and not torch.equal(voxels[0], voxels[1])
    # Each occupied cell's centre lies inside the model's box, back in the ShapeNet frame.
    z, y, x = voxels[0].nonzero().T.float()
    ndc = torch.stack([-(x / 63.5 - 1), y / 63.5 - 1, (z / 63.5 - 1 + 1) * 0.125 + 0.67], dim=1)
    P = datasets.r2n2.r2n2.BLENDER_INTRINSIC @ compute_extrinsic_matrix(0, 0, 1.75)
    # Unproject: solve P @ [X, 1] ~ [ndc * w, w] for X.
    inv = torch.linalg.inv(P)
    hom = torch.cat([ndc, torch.ones_like(ndc[:, :1])], dim=1) @ inv.T
    world = hom[:, :3] / hom[:, 3:]
    half = torch.tensor(SIZES["c1"]) / 2
    assert bool((world.abs() <= half + 0.05).all())


def test_blender_camera_projects_with_k() -> None:
    K = torch.tensor([[2.1875, 0, 0, 0], [0, 2.1875, 0, 0], [0, 0, -1.002002, -0.2002002],
                      [0, 0, 1.0, 0]])[None]  # fmt: skip
    camera = BlenderCamera(R=torch.eye(3)[None], T=torch.zeros(1, 3), K=K)
    assert not camera.is_perspective() and camera.in_ndc()
    out = camera.transform_points(torch.tensor([[[0.5, 0.2, 2.0]]]))[0, 0]
    expected = torch.tensor([2.1875 * 0.25, 2.1875 * 0.1, (-1.002002 * 2 - 0.2002002) / 2])
    torch.testing.assert_close(out, expected)


# ------------------------------------------------------------------ facade and alias
def test_facade_gives_the_backend_module() -> None:
    from course_utils.p3d import BACKEND
    from course_utils.p3d import datasets as facade

    if BACKEND == "torch":
        assert facade.R2N2 is datasets.R2N2
    assert callable(facade.collate_batched_R2N2) and callable(facade.ShapeNetCore)


def test_assignment_style_import_through_the_alias() -> None:
    code = """
        from course_utils.p3d.alias import install
        install()
        from pytorch3d.datasets import R2N2, collate_batched_R2N2
        from pytorch3d.datasets.r2n2.utils import BlenderCamera
        from pytorch3d.datasets import ShapeNetCore, collate_batched_meshes
        print(R2N2.__module__, collate_batched_R2N2.__module__, BlenderCamera.__name__)
    """
    env = {"COURSE_BACKEND": "torch", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "course_utils.p3d.builtin.datasets.r2n2.r2n2",
        "course_utils.p3d.builtin.datasets.r2n2.utils",
        "BlenderCamera",
    ]


def test_r2n2_voxels_line_up_with_a_render_through_blender_camera(r2n2_dirs) -> None:
    """Per-view voxels are in the camera's NDC frame: +x left, +y up, as the render is."""
    from course_utils.p3d.builtin.renderer import MeshRasterizer, RasterizationSettings

    shapenet, root, splits = r2n2_dirs
    full = root / "ShapeNetVoxels" / CHAIR / "c1" / "model.binvox"
    full.write_bytes(binvox_bytes(np.ones((32, 32, 32), dtype=bool)))  # the whole box
    item = r2n2(r2n2_dirs, return_voxels=True)[0]
    mesh = Meshes(verts=[item["verts"]], faces=[item["faces"]])
    settings = RasterizationSettings(image_size=128)
    for view in range(3):
        camera = BlenderCamera(R=item["R"][view : view + 1], T=item["T"][view : view + 1],
                               K=item["K"][view : view + 1])  # fmt: skip
        silhouette = MeshRasterizer(cameras=camera, raster_settings=settings)(mesh)
        silhouette = silhouette.pix_to_face[0, ..., 0] >= 0  # (row, column), row 0 at the top
        # Voxel [z, y, x]: y up and x left, so image row = 127 - y, column = 127 - x.
        seen = item["voxels"][view].amax(dim=0).flip(0, 1).bool()
        for image in (silhouette, seen):
            assert bool(image.any())
        rows = [torch.nonzero(im.any(dim=1)).flatten() for im in (silhouette, seen)]
        cols = [torch.nonzero(im.any(dim=0)).flatten() for im in (silhouette, seen)]
        for a, b in (rows, cols):
            assert abs(int(a.min()) - int(b.min())) <= 2 and abs(int(a.max()) - int(b.max())) <= 2
