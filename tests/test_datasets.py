"""Tests of the procedural shape dataset (course_utils.datasets): geometry, views, cache, splits.

Small sizes (12 shapes, 32² images, 200 points) keep them to a few seconds. The geometric
checks are independent of the generator where possible: occupancy against the mesh's
winding number, surface points against the mesh's faces, masks against projected vertices.
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings

import numpy as np
import pytest
import torch

from course_utils.config import FAST
from course_utils.datasets import (
    CATEGORIES,
    PART_NAMES,
    ShapeDataset,
    cameras_from_batch,
    collate_shapes,
    generate_shapes,
    meshes_from_batch,
    split_shapes,
)
from course_utils.datasets import generate as gen
from course_utils.datasets import shapes as shapes_module
from course_utils.datasets.categories import build_shape
from course_utils.datasets.primitives import (
    Box,
    Ellipsoid,
    Frustum,
    TorusArc,
    Tube,
    mesh_volume,
    rotation_to,
    rotation_x,
)
from course_utils.p3d import ops

SMALL = {"num_shapes": 12, "image_size": 32, "points_per_shape": 200}


@pytest.fixture(scope="module")
def cache_root(tmp_path_factory: pytest.TempPathFactory):
    return tmp_path_factory.mktemp("shape_cache")


@pytest.fixture(scope="module")
def train(cache_root) -> ShapeDataset:
    return ShapeDataset("train", cache_dir=cache_root, progress=False, **SMALL)


@pytest.fixture(scope="module")
def shapes() -> list[dict[str, np.ndarray]]:
    """All 12 shapes as generated (no cache), 2 views each."""
    return list(
        generate_shapes(12, views_per_shape=2, image_size=32, points_per_shape=200, progress=False)
    )


# ------------------------------------------------------------------ independent geometry
def winding_number(verts: np.ndarray, faces: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Generalised winding number of a closed (union of closed) mesh at each point.

    Sum of the solid angles of the triangles seen from the point, over 4 pi (Van Oosterom
    and Strackee): 1 inside one closed part, 0 outside, k inside k overlapping parts.
    """
    total = np.zeros(len(points))
    for start in range(0, len(points), 512):
        p = points[start : start + 512, None, :]
        a, b, c = (verts[faces[:, i]][None] - p for i in range(3))
        la, lb, lc = (np.linalg.norm(x, axis=-1) for x in (a, b, c))
        det = np.einsum("pfi,pfi->pf", a, np.cross(b, c))
        den = (
            la * lb * lc
            + np.einsum("pfi,pfi->pf", a, b) * lc
            + np.einsum("pfi,pfi->pf", b, c) * la
            + np.einsum("pfi,pfi->pf", c, a) * lb
        )
        total[start : start + 512] = (2 * np.arctan2(det, den)).sum(axis=1) / (4 * math.pi)
    return total


def on_faces(verts: np.ndarray, faces: np.ndarray, points: np.ndarray, tol: float = 1e-5):
    """For each point: the distance to the plane of the face it lies in, and that face.

    A point lies in a face when its projection has barycentrics >= -tol; returns
    ``(distance, face)`` of the nearest such face (inf, -1 when none).
    """
    v0, v1, v2 = (verts[faces[:, i]] for i in range(3))
    n = np.cross(v1 - v0, v2 - v0)
    area2 = np.linalg.norm(n, axis=1)
    ok = area2 > 1e-12
    v0, v1, v2, n, area2 = v0[ok], v1[ok], v2[ok], n[ok], area2[ok]
    unit = n / area2[:, None]
    d = np.einsum("pfi,fi->pf", points[:, None, :] - v0[None], unit)  # signed plane distance
    q = points[:, None, :] - d[..., None] * unit[None]  # projection
    w0 = np.einsum("pfi,fi->pf", np.cross(v2[None] - v1[None], q - v1[None]), unit) / area2
    w1 = np.einsum("pfi,fi->pf", np.cross(v0[None] - v2[None], q - v2[None]), unit) / area2
    w2 = 1 - w0 - w1
    inside = (w0 >= -tol) & (w1 >= -tol) & (w2 >= -tol)
    dist = np.where(inside, np.abs(d), np.inf)
    best = dist.argmin(axis=1)
    index = np.flatnonzero(ok)[best]
    found = np.isfinite(dist[np.arange(len(points)), best])
    return dist[np.arange(len(points)), best], np.where(found, index, -1)


# ------------------------------------------------------------------ primitives
PRIMITIVES = [
    Box((0.3, 0.5, 0.2), rotation=rotation_x(0.4), centre=(0.1, 0.2, 0.3)),
    Frustum(0.6, 0.2, 0.1, aspect=1.4, rotation=rotation_to((1, 1, 0))),
    Frustum(0.5, 0.25, 0.0),
    Tube(0.6, 0.3, 0.25, wall=0.06),
    Ellipsoid((0.2, 0.3, 0.25)),
    TorusArc(0.3, 0.05, arc=3.5),
    TorusArc(0.3, 0.05),
]


@pytest.mark.parametrize("prim", PRIMITIVES, ids=lambda p: type(p).__name__)
def test_primitive_mesh_is_outward_and_matches_inside_test(prim) -> None:
    verts, faces = prim.mesh()
    volume = mesh_volume(verts, faces)
    assert volume > 0, "faces must be wound counter-clockwise seen from outside"
    low, high = prim.bounds()
    assert np.all(verts >= low - 1e-9) and np.all(verts <= high + 1e-9)
    points = np.random.default_rng(0).uniform(low, high, size=(40000, 3))
    analytic = prim.contains(points)
    # The analytic solid's volume (Monte Carlo) is the mesh's within the chord error.
    monte_carlo = analytic.mean() * np.prod(high - low)
    assert monte_carlo == pytest.approx(volume, rel=0.06)
    # The mesh's own inside test (winding number) agrees with the analytic one.
    sample = points[:3000]
    inside_mesh = winding_number(verts, faces, sample) > 0.5
    assert (inside_mesh == analytic[:3000]).mean() > 0.97
    # "margin": strictly inside means deeper than the margin.
    assert prim.contains(points, margin=0.02).sum() < analytic.sum()


# ------------------------------------------------------------------ shapes and grammars
def test_every_category_builds_varied_shapes() -> None:
    for category in CATEGORIES:
        counts, extents = set(), []
        parts_seen: set[int] = set()
        for k in range(30):
            prims = build_shape(category, np.random.default_rng([5, k]))
            counts.add(len(prims))
            parts_seen |= {p.part for p in prims}
            verts = np.concatenate([p.mesh()[0] for p in prims])
            extents.append(np.ptp(verts, axis=0) / np.linalg.norm(np.ptp(verts, axis=0)))
        assert len(counts) >= 3, f"{category}: always {counts} primitives"
        assert parts_seen == set(range(len(PART_NAMES[category]))), category
        assert np.std(np.array(extents), axis=0).max() > 0.03, f"{category}: same proportions"
    with pytest.raises(ValueError, match="unknown category"):
        build_shape("sofa", np.random.default_rng(0))


def test_generation_is_deterministic_and_seed_dependent() -> None:
    kwargs = {"image_size": 32, "points_per_shape": 100, "progress": False}
    first = list(generate_shapes(4, seed=3, **kwargs))
    again = list(generate_shapes(4, seed=3, **kwargs))
    other = list(generate_shapes(4, seed=4, **kwargs))
    for a, b in zip(first, again):
        assert a.keys() == b.keys()
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert any(a["verts"].shape != c["verts"].shape or not np.array_equal(a["verts"], c["verts"])
               for a, c in zip(first, other))  # fmt: skip
    assert any(not np.array_equal(a["images"], c["images"]) for a, c in zip(first, other))
    # Shape k does not depend on the dataset size or on which other shapes are made.
    alone = next(generate_shapes(4, indices=[2], seed=3, **kwargs))
    np.testing.assert_array_equal(alone["voxels"], first[2]["voxels"])
    np.testing.assert_array_equal(alone["points"], first[2]["points"])


def test_categories_are_balanced_and_selectable(shapes) -> None:
    assert [int(s["category"]) for s in shapes] == [k % len(CATEGORIES) for k in range(12)]
    mugs = list(generate_shapes(3, categories=["mug", "lamp"], image_size=16,
                                points_per_shape=10, progress=False))  # fmt: skip
    assert [CATEGORIES[int(s["category"])] for s in mugs] == ["mug", "lamp", "mug"]
    with pytest.raises(ValueError, match="unknown categories"):
        next(generate_shapes(1, categories=["spaceship"], progress=False))


def test_shapes_are_normalised(shapes) -> None:
    for shape in shapes:
        verts = shape["verts"].astype(np.float64)
        low, high = verts.min(0), verts.max(0)
        np.testing.assert_allclose((low + high) / 2, 0, atol=1e-6)
        assert np.linalg.norm(high - low) == pytest.approx(1.0, abs=1e-5)
        assert shape["faces"].min() >= 0 and shape["faces"].max() < len(verts)
        # Upright: the shape stands on its lowest vertices, +Y up.
        assert low[1] == pytest.approx(shape["points"][:, 1].min(), abs=0.02)


# ------------------------------------------------------------------ voxels
def test_cubify_convention_on_a_single_voxel() -> None:
    """voxels[z, y, x]; cell i spans [-0.5 + i/32, -0.5 + (i+1)/32] along its axis."""
    voxels = torch.zeros(1, 32, 32, 32)
    voxels[0, 0, 5, 31] = 1  # z = 0 (back), y = 5 (low), x = 31 (right)
    cube = ops.cubify(voxels, 0.5, align="corner").scale_verts(0.5).verts_packed()
    low, high = cube.min(0).values, cube.max(0).values
    expected_low = torch.tensor([-0.5 + 31 / 32, -0.5 + 5 / 32, -0.5])
    torch.testing.assert_close(low, expected_low)
    torch.testing.assert_close(high, expected_low + 1 / 32)
    centres = gen.voxel_centres()
    assert centres[0] == pytest.approx(-0.5 + 0.5 / 32) and centres[31] == pytest.approx(
        0.5 - 0.5 / 32
    )


def test_voxels_agree_with_primitives_and_mesh(shapes) -> None:
    centres = gen.voxel_centres()
    z, y, x = np.meshgrid(centres, centres, centres, indexing="ij")
    grid_points = np.stack([x, y, z], -1).reshape(-1, 3)  # in voxels[z, y, x] order
    for k in range(5):  # one shape of each category
        shape = shapes[k]
        voxels = shape["voxels"]
        assert voxels.shape == (32, 32, 32) and voxels.dtype == bool
        assert 0.002 < voxels.mean() < 0.4, f"shape {k}: occupied fraction {voxels.mean():.4f}"
        # Exactly the analytic inside test of the primitives at the cell centres.
        geometry = gen.build_geometry(k % 5, np.random.default_rng([0, k]), 10)
        raw = geometry.to_raw(grid_points)
        np.testing.assert_array_equal(
            gen.inside_any(geometry.primitives, raw).reshape(32, 32, 32), voxels
        )
        # And (independently) the mesh's winding number, away from the surface's chords.
        rng = np.random.default_rng(k)
        pick = np.concatenate([rng.choice(np.flatnonzero(voxels.ravel()), 300),
                               rng.choice(np.flatnonzero(~voxels.ravel()), 300)])  # fmt: skip
        inside = winding_number(shape["verts"].astype(np.float64), shape["faces"],
                                grid_points[pick]) > 0.5  # fmt: skip
        assert (inside == voxels.ravel()[pick]).mean() > 0.97


def test_cubified_voxels_overlay_the_shape(shapes) -> None:
    for shape in shapes[:5]:
        voxels = torch.from_numpy(shape["voxels"]).float()
        cubes = ops.cubify(voxels[None], 0.5, align="corner").scale_verts(0.5)
        verts = cubes.verts_packed()
        mesh = torch.from_numpy(shape["verts"])
        # The cubes' box is the shape's box, to within one cell on every side.
        assert torch.all((verts.min(0).values - mesh.min(0).values).abs() <= 1 / 32 + 1e-6)
        assert torch.all((verts.max(0).values - mesh.max(0).values).abs() <= 1 / 32 + 1e-6)
        # Almost every surface point is in (or next to) an occupied cell.
        cell = np.clip(np.floor((shape["points"] + 0.5) * 32).astype(int), 0, 31)
        padded = np.pad(shape["voxels"], 1)
        near = np.zeros(len(cell), dtype=bool)
        for dz in (0, 1, 2):
            for dy in (0, 1, 2):
                for dx in (0, 1, 2):
                    near |= padded[cell[:, 2] + dz, cell[:, 1] + dy, cell[:, 0] + dx]
        assert near.mean() > 0.95


# ------------------------------------------------------------------ surface points
def test_points_lie_on_the_outer_surface(shapes) -> None:
    for k in range(5):
        shape = shapes[k]
        points, normals = shape["points"].astype(np.float64), shape["normals"]
        assert points.shape == (200, 3) and normals.shape == (200, 3)
        np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1, atol=1e-5)
        verts, faces = shape["verts"].astype(np.float64), shape["faces"]
        distance, face = on_faces(verts, faces, points, tol=1e-4)
        assert np.all(face >= 0) and distance.max() < 1e-5, "a point is off the mesh"
        # Each normal is its face's normal.
        v0, v1, v2 = (verts[faces[face, i]] for i in range(3))
        n = np.cross(v1 - v0, v2 - v0)
        n /= np.linalg.norm(n, axis=1, keepdims=True)
        assert np.einsum("ij,ij->i", n, normals).min() > 0.999
        # Outer surface: no point strictly inside a primitive other than its own.
        geometry = gen.build_geometry(k % 5, np.random.default_rng([0, k]), 10)
        _, _, _, face_prim = gen.union_mesh(geometry.primitives)
        raw = geometry.to_raw(points)
        for j, prim in enumerate(geometry.primitives):
            others = face_prim[face] != j
            deep = prim.contains(raw[others], margin=gen.HIDDEN_MARGIN * geometry.scale)
            assert not deep.any(), f"shape {k}: points hidden inside primitive {j}"
        # Just outside each point is outside the whole union (winding number ~0).
        outside = winding_number(verts, faces, points + 2e-3 * normals)
        assert (outside < 0.5).mean() > 0.97


# ------------------------------------------------------------------ views
def test_views_masks_and_cameras(train: ShapeDataset) -> None:
    from course_utils.p3d import renderer

    batch = collate_shapes([train[i] for i in range(len(train))])
    images, masks = batch["image"], batch["mask"]
    size = images.shape[-1]
    # The mask is exactly the non-white pixels (objects are never pure white).
    non_white = (images < 1.0).any(dim=1, keepdim=True).float()
    torch.testing.assert_close(masks, non_white)
    area = masks.mean(dim=(1, 2, 3))
    assert torch.all(area > 0.02) and torch.all(area < 0.7), area
    rows = torch.arange(size, dtype=torch.float32)
    for mask in masks[:, 0]:
        cy = (mask.sum(1) * rows).sum() / mask.sum()
        cx = (mask.sum(0) * rows).sum() / mask.sum()
        assert abs(cy - size / 2) < 0.2 * size and abs(cx - size / 2) < 0.2 * size
    # The cameras project the mesh onto its mask: the projected vertices' box is the
    # mask's box (to within a pixel or two).
    cameras = cameras_from_batch(batch)
    meshes = meshes_from_batch(batch)
    screen = cameras.transform_points_screen(meshes.verts_padded(), image_size=(size, size))
    for i, mask in enumerate(masks[:, 0]):
        xy = screen[i, : len(batch["verts"][i]), :2]
        ys, xs = torch.nonzero(mask, as_tuple=True)
        assert abs(xy[:, 0].min() - xs.min()) < 2.0 and abs(xy[:, 0].max() - xs.max() - 1) < 2.0
        assert abs(xy[:, 1].min() - ys.min()) < 2.0 and abs(xy[:, 1].max() - ys.max() - 1) < 2.0
    assert batch["fov"].tolist() == [gen.FOV] * len(train)
    R, T = renderer.look_at_view_transform(gen.CAMERA_DIST, 20.0, 30.0)
    centre = -(T @ R.transpose(1, 2))  # camera centre from (R, T)
    assert centre.norm() == pytest.approx(gen.CAMERA_DIST, rel=1e-5)
    centres = -(batch["T"][:, None] @ batch["R"].transpose(1, 2))[:, 0]
    torch.testing.assert_close(centres.norm(dim=1), torch.full((len(train),), gen.CAMERA_DIST))
    elevation = torch.rad2deg(torch.asin(centres[:, 1] / gen.CAMERA_DIST))
    assert torch.all(elevation > gen.ELEVATION_RANGE[0] - 1e-3)
    assert torch.all(elevation < gen.ELEVATION_RANGE[1] + 1e-3)


# ------------------------------------------------------------------ dataset, splits, cache
def test_item_format(train: ShapeDataset) -> None:
    item = train[0]
    expected = {
        "image": ((3, 32, 32), torch.float32),
        "mask": ((1, 32, 32), torch.float32),
        "voxels": ((32, 32, 32), torch.float32),
        "points": ((200, 3), torch.float32),
        "normals": ((200, 3), torch.float32),
        "R": ((3, 3), torch.float32),
        "T": ((3,), torch.float32),
        "category": ((), torch.int64),
        "shape_id": ((), torch.int64),
    }
    assert set(item) == set(expected) | {"verts", "faces", "fov"}
    for key, (shape, dtype) in expected.items():
        assert tuple(item[key].shape) == shape and item[key].dtype == dtype, key
    assert item["verts"].dtype == torch.float32 and item["verts"].shape[1] == 3
    assert item["faces"].dtype == torch.int64 and item["faces"].shape[1] == 3
    assert isinstance(item["fov"], float)
    assert 0.0 <= float(item["image"].min()) and float(item["image"].max()) <= 1.0
    assert set(item["voxels"].unique().tolist()) <= {0.0, 1.0}
    assert len(train) == len(train.shape_ids)
    assert train[-1]["shape_id"] == train.shape_ids[-1]
    with pytest.raises(IndexError):
        train[len(train)]
    # The dataset serves exactly the generated arrays.
    shape_id = int(item["shape_id"])
    direct = next(generate_shapes(12, image_size=32, points_per_shape=200, indices=[shape_id],
                                  progress=False))  # fmt: skip
    np.testing.assert_array_equal(item["voxels"].numpy().astype(bool), direct["voxels"])
    np.testing.assert_array_equal(item["points"].numpy(), direct["points"])
    np.testing.assert_array_equal((item["image"] * 255).round().byte().permute(1, 2, 0).numpy(),
                                  direct["images"][0])  # fmt: skip


def test_default_sizes_follow_fast_mode(cache_root) -> None:
    ds = ShapeDataset("train", num_shapes=5, cache_dir=cache_root, progress=False)
    assert ds.image_size == (64 if FAST else 128)
    assert ds[0]["points"].shape[0] == (1000 if FAST else 5000)


def test_splits_are_disjoint_by_shape_and_stratified(train, cache_root) -> None:
    val = ShapeDataset("val", cache_dir=cache_root, progress=False, **SMALL)
    test = ShapeDataset("test", cache_dir=cache_root, progress=False, **SMALL)
    ids = [set(d.shape_ids.tolist()) for d in (train, val, test)]
    assert not (ids[0] & ids[1]) and not (ids[0] & ids[2]) and not (ids[1] & ids[2])
    assert ids[0] | ids[1] | ids[2] == set(range(12))
    assert not val.generated and not test.generated  # one cache for all splits
    # Stratified: every category in the training split; 80/10/10 per category.
    categories = [k % 5 for k in range(100)]
    parts = split_shapes(categories, seed=0)
    for c in range(5):
        counts = [int(np.isin(parts[s], np.flatnonzero(np.array(categories) == c)).sum())
                  for s in ("train", "val", "test")]  # fmt: skip
        assert counts == [16, 2, 2]
    assert split_shapes(categories, seed=1)["val"].tolist() != parts["val"].tolist()
    with pytest.raises(ValueError, match="empty"):
        ShapeDataset("val", num_shapes=4, image_size=16, points_per_shape=10,
                     cache_dir=cache_root, progress=False)  # fmt: skip
    with pytest.raises(ValueError, match="split"):
        ShapeDataset("training", cache_dir=cache_root, **SMALL)
    with pytest.raises(ValueError, match="categories"):
        ShapeDataset("train", categories=["spaceship"], cache_dir=cache_root, **SMALL)


def test_several_views_per_shape(cache_root) -> None:
    ds = ShapeDataset("train", num_shapes=6, views_per_shape=3, image_size=16,
                      points_per_shape=10, cache_dir=cache_root, progress=False)  # fmt: skip
    assert len(ds) == 3 * len(ds.shape_ids)
    a, b = ds[0], ds[1]
    assert a["shape_id"] == b["shape_id"]  # consecutive items: views of one shape
    torch.testing.assert_close(a["voxels"], b["voxels"])
    assert not torch.equal(a["R"], b["R"])
    assert ds.viewpoint(0) != ds.viewpoint(1)


def test_cache_is_reused(cache_root, monkeypatch, train) -> None:
    calls = []
    original = shapes_module.generate_shapes

    def counting(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(shapes_module, "generate_shapes", counting)
    again = ShapeDataset("train", cache_dir=cache_root, progress=False, **SMALL)
    assert not again.generated and calls == []
    assert again.folder == train.folder
    manifest = json.loads((train.folder / "manifest.json").read_text())
    assert len(manifest["files"]) == 12 and manifest["params"]["image_size"] == 32
    # A different parameter is a different cache.
    other = ShapeDataset("train", seed=1, cache_dir=cache_root, progress=False, **SMALL)
    assert other.generated and other.folder != train.folder and len(calls) == 1


def test_corrupted_cache_is_regenerated(tmp_path) -> None:
    first = ShapeDataset("train", cache_dir=tmp_path, progress=False, **SMALL)
    reference = first[0]
    files = sorted(first.folder.glob("shape_*.npz"))

    # 1. A truncated file (size differs from the manifest): the folder is regenerated.
    files[3].write_bytes(files[3].read_bytes()[:100])
    with pytest.warns(UserWarning, match="incomplete or stale"):
        second = ShapeDataset("train", cache_dir=tmp_path, progress=False, **SMALL)
    assert second.generated
    torch.testing.assert_close(second[0]["points"], reference["points"])

    # 2. No manifest (an interrupted generation): regenerated; the temporary folder of a
    # generation killed long ago is removed.
    (first.folder / "manifest.json").unlink()
    stale = tmp_path / f".{first.folder.name}.999-dead.partial"
    stale.mkdir()
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    with pytest.warns(UserWarning, match="manifest.json is missing"):
        third = ShapeDataset("train", cache_dir=tmp_path, progress=False, **SMALL)
    assert third.generated

    # 3. Same size but garbage inside: the one file is rebuilt when read.
    path = first.folder / f"shape_{int(reference['shape_id']):05d}.npz"
    data = bytearray(path.read_bytes())
    data[:64] = b"\0" * 64
    path.write_bytes(bytes(data))
    fourth = ShapeDataset("train", cache_dir=tmp_path, progress=False, **SMALL)
    assert not fourth.generated
    with pytest.warns(UserWarning, match="unreadable"):
        item = fourth[0]
    torch.testing.assert_close(item["voxels"], reference["voxels"])
    torch.testing.assert_close(item["image"], reference["image"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # repaired: no warning any more
        ShapeDataset("train", cache_dir=tmp_path, progress=False, **SMALL)[0]
    # No temporary folders are left behind.
    assert [p.name for p in tmp_path.iterdir()] == [first.folder.name]


def test_collate_and_dataloader(train) -> None:
    loader = torch.utils.data.DataLoader(train, batch_size=3, shuffle=False,
                                         collate_fn=collate_shapes)  # fmt: skip
    batch = next(iter(loader))
    assert batch["image"].shape == (3, 3, 32, 32) and batch["mask"].shape == (3, 1, 32, 32)
    assert batch["voxels"].shape == (3, 32, 32, 32)
    assert batch["points"].shape == (3, 200, 3) and batch["normals"].shape == (3, 200, 3)
    assert batch["R"].shape == (3, 3, 3) and batch["T"].shape == (3, 3)
    assert batch["category"].shape == (3,) and batch["shape_id"].dtype == torch.int64
    assert batch["fov"].shape == (3,) and batch["fov"].dtype == torch.float32
    assert isinstance(batch["verts"], list) and len(batch["faces"]) == 3
    assert len(meshes_from_batch(batch)) == 3 and len(cameras_from_batch(batch)) == 3
    with pytest.raises(ValueError, match="at least one"):
        collate_shapes([])
    with pytest.raises(ValueError, match="same keys"):
        collate_shapes([train[0], {"image": train[0]["image"]}])
    bad = [train[0], dict(train[1], points=torch.zeros(5, 3))]
    with pytest.raises(ValueError, match="points"):
        collate_shapes(bad)
