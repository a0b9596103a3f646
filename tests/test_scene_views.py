"""Multi-view scene data (chapters 09-10): splits, cache, cameras and depths agree."""

from __future__ import annotations

import math

import pytest
import torch

from course_utils.scene_views import make_scene_views, psnr, split_views


def test_psnr_known_values() -> None:
    a = torch.zeros(4, 4, 3)
    assert psnr(a, a + 0.1) == pytest.approx(20.0, abs=1e-5)  # MSE 0.01 -> 20 dB
    assert psnr(a, a) == math.inf
    with pytest.raises(ValueError, match="shapes"):
        psnr(a, torch.zeros(4, 4))


def test_split_views_interleaved_and_disjoint() -> None:
    train, test = split_views(20, 4)
    assert test == [2, 7, 12, 17]
    assert sorted(train + test) == list(range(20))
    with pytest.raises(ValueError, match="num_test"):
        split_views(5, 5)


@pytest.fixture(scope="module")
def small_views(module_cache_dir):
    return make_scene_views("mug", num_views=6, image_size=24, num_test=2, batch=6)


def test_views_shapes_ranges_and_background(small_views) -> None:
    v = small_views
    assert v.images.shape == (6, 24, 24, 3) and v.masks.shape == v.depths.shape == (6, 24, 24)
    assert v.images.min() >= 0 and v.images.max() <= 1
    assert set(v.masks.unique().tolist()) <= {0.0, 1.0}
    assert (v.depths[v.masks == 0] == 0).all()
    # Pixels no supersample of the object reaches are exactly the background colour.
    corners = v.images[:, 0, 0]
    assert torch.allclose(corners, torch.tensor(v.background).expand_as(corners))
    # The object (bounding radius 1, centred at the origin) lies in [dist - 1, dist + 1].
    inside = v.depths[v.masks > 0]
    assert inside.min() > v.dist - 1.0 - 1e-3 and inside.max() < v.dist + 1.0 + 1e-3
    assert v.znear < inside.min() and v.zfar > inside.max()


def test_depths_unproject_into_the_object(small_views) -> None:
    """Pixel centres pushed to their depth land inside the unit ball, as the mesh does."""
    from course_utils.p3d import renderer  # noqa: F401

    v = small_views
    cams = v.cameras([0])
    S = v.image_size
    # NDC of pixel centres: +X left, +Y up (PyTorch3D's convention).
    coords = (torch.arange(S) + 0.5) * 2 / S - 1
    ys, xs = torch.meshgrid(-coords, -coords, indexing="ij")
    mask = v.masks[0] > 0
    xy_depth = torch.stack([xs[mask], ys[mask], v.depths[0][mask]], dim=-1)
    world = cams.unproject_points(xy_depth[None], world_coordinates=True)[0]
    assert world.norm(dim=-1).max() < 1.0 + 0.05


def test_cache_reused_and_corrupt_file_rebuilt(small_views, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path))
    first = make_scene_views("mug", num_views=6, image_size=24, num_test=2, batch=6)
    files = list((tmp_path / "scene_views").glob("*.npz"))
    assert len(files) == 1
    assert torch.equal(first.images, small_views.images)
    files[0].write_bytes(b"not a zip file")
    rebuilt = make_scene_views("mug", num_views=6, image_size=24, num_test=2, batch=6)
    assert torch.equal(rebuilt.images, first.images)
    assert files[0].stat().st_size > 100  # rewritten
    assert not [p for p in (tmp_path / "scene_views").iterdir() if p.name.startswith(".")]


def test_a_highlight_only_adds_light_and_only_on_the_object(module_cache_dir) -> None:
    # Phong's specular term is >= 0 and the rest of the shading is unchanged, so the shiny
    # views equal the matte ones plus a non-negative highlight, 0 on the background.
    matte = make_scene_views("mug", num_views=6, image_size=32, num_test=1, cache=False)
    shiny = make_scene_views(
        "mug", num_views=6, image_size=32, num_test=1, cache=False, specular=0.8, shininess=8.0
    )
    added = shiny.images - matte.images
    assert added.min() >= -1e-5
    assert added.max() > 0.2  # a visible highlight somewhere
    # Background: pixels at least one pixel away from the mask (edge pixels are partly
    # covered by the object, so they may take some of a highlight).
    near = torch.nn.functional.max_pool2d(matte.masks[:, None], 3, stride=1, padding=1)[:, 0]
    assert added[near == 0].abs().max() <= 1e-5
    torch.testing.assert_close(shiny.masks, matte.masks)
    with pytest.raises(ValueError, match="specular"):
        make_scene_views("mug", num_views=6, image_size=32, cache=False, specular=-1.0)
