"""Renderer settings that are not sane numbers, and outputs over the memory budget, fail early."""

from __future__ import annotations

import math
import time

import pytest
import torch

from course_utils.p3d import renderer, structures, utils
from course_utils.p3d.builtin.renderer.limits import (
    DEFAULT_MAX_RASTER_BYTES,
    check_output_size,
    max_raster_bytes,
)

pytestmark = pytest.mark.builtin_only(
    reason="the built-in renderer's setting checks and memory budget"
)


def render_mesh(**settings):
    mesh = utils.ico_sphere(1)
    cameras = renderer.FoVPerspectiveCameras(T=torch.tensor([[0.0, 0.0, 3.0]]))
    rasterizer = renderer.MeshRasterizer(
        cameras=cameras, raster_settings=renderer.RasterizationSettings(**settings)
    )
    return rasterizer(mesh)


def render_points(compositor=None, **settings):
    cloud = structures.Pointclouds(
        points=[torch.tensor([[0.5, 0.0, 3.0], [-0.5, 0.0, 3.0]])],
        features=[torch.ones(2, 3)],
    )
    if torch.is_tensor(settings.get("radius")):  # per-point radii: the rasterizer alone
        return renderer.rasterize_points(cloud, **settings)
    cameras = renderer.FoVOrthographicCameras()
    rasterizer = renderer.PointsRasterizer(
        cameras=cameras, raster_settings=renderer.PointsRasterizationSettings(**settings)
    )
    return renderer.PointsRenderer(rasterizer, compositor or renderer.AlphaCompositor())(cloud)


@pytest.mark.parametrize(
    "settings, name",
    [
        (dict(blur_radius=math.nan), "blur_radius"),
        (dict(blur_radius=math.inf), "blur_radius"),
        (dict(blur_radius=-1e-4), "blur_radius"),
        (dict(blur_radius="0.1"), "blur_radius"),
        (dict(z_clip_value=math.nan), "z_clip_value"),
        (dict(faces_per_pixel=0), "faces_per_pixel"),
    ],
)
def test_mesh_settings_that_are_not_sane(settings, name):
    with pytest.raises(ValueError, match=name):
        render_mesh(image_size=16, **settings)


@pytest.mark.parametrize(
    "settings, name",
    [
        (dict(radius=math.nan), "radius"),
        (dict(radius=-0.1), "radius"),
        (dict(radius=math.inf), "radius"),
        (dict(radius=torch.tensor([[0.1, -0.1]])), "radius"),
        (dict(radius=torch.tensor([[0.1, math.nan]])), "radius"),
        (dict(points_per_pixel=0), "points_per_pixel"),
        (dict(points_per_pixel=-2), "points_per_pixel"),
    ],
)
def test_points_settings_that_are_not_sane(settings, name):
    with pytest.raises(ValueError, match=name):
        render_points(image_size=16, **settings)


def test_a_sane_points_render_still_draws_both_points():
    image = render_points(image_size=16, radius=0.1, points_per_pixel=2)
    assert image.shape == (1, 16, 16, 3)
    lit = image[0, :, :, 0] > 0
    assert lit[:, :8].any() and lit[:, 8:].any()  # +X is left: one point on each side
    assert lit.sum() == 8  # each disk (radius 0.1 = 0.8 px) covers the 4 pixels around it


@pytest.mark.parametrize("what", ["mesh", "points"])
def test_huge_images_fail_at_once_with_the_estimate(what):
    start = time.perf_counter()
    with pytest.raises(ValueError) as info:
        if what == "mesh":
            render_mesh(image_size=100_000, faces_per_pixel=1)
        else:
            render_points(image_size=100_000, radius=0.01, points_per_pixel=8)
    assert time.perf_counter() - start < 5  # before any allocation
    message = str(info.value)
    # 100000² pixels x K slots: mesh 28 bytes/slot (K=1) = 280 GB; points 20 x 8 = 1.6 TB.
    expected = "280.0 GB" if what == "mesh" else "1.6 TB"
    assert expected in message and "100000 x 100000" in message
    assert "image_size" in message and "COURSE_MAX_RASTER_BYTES" in message


def test_the_budget_variable(monkeypatch):
    monkeypatch.delenv("COURSE_MAX_RASTER_BYTES", raising=False)
    assert max_raster_bytes() == DEFAULT_MAX_RASTER_BYTES == 4 * 2**30
    # 2 x 64 x 64 x 4 slots x 28 bytes = 917,504 bytes: under 1e6, over 9e5.
    monkeypatch.setenv("COURSE_MAX_RASTER_BYTES", "1e6")
    assert check_output_size("t", (2, 64, 64, 4), 28, "x") == 917_504
    render_mesh(image_size=64, faces_per_pixel=4)  # 1 x 64 x 64 x 4 x 28: fits
    monkeypatch.setenv("COURSE_MAX_RASTER_BYTES", "9e5")
    with pytest.raises(ValueError, match="917.5 kB"):
        check_output_size("t", (2, 64, 64, 4), 28, "x")
    monkeypatch.setenv("COURSE_MAX_RASTER_BYTES", "4e5")
    with pytest.raises(ValueError, match="faces_per_pixel"):
        render_mesh(image_size=64, faces_per_pixel=4)
    monkeypatch.setenv("COURSE_MAX_RASTER_BYTES", "0")  # 0: no limit
    assert max_raster_bytes() == math.inf
    monkeypatch.setenv("COURSE_MAX_RASTER_BYTES", "lots")
    with pytest.raises(ValueError, match="COURSE_MAX_RASTER_BYTES"):
        max_raster_bytes()


def test_the_compositor_checks_its_output_too(monkeypatch):
    idx = torch.zeros(1, 8, 64, 64, dtype=torch.long)
    alphas = torch.ones(1, 8, 64, 64)
    features = torch.ones(3, 1)
    monkeypatch.setenv("COURSE_MAX_RASTER_BYTES", "1e5")
    with pytest.raises(ValueError, match="over the memory budget"):
        renderer.AlphaCompositor()(idx, alphas, features)
    monkeypatch.setenv("COURSE_MAX_RASTER_BYTES", "1e7")
    images = renderer.AlphaCompositor()(idx, alphas, features)
    torch.testing.assert_close(images, torch.ones(1, 3, 64, 64))  # first layer opaque


# ---------------------------------------------------------------- implicit / volume renderers


def volume_render(image_size=16, n_pts_per_ray=8, batch=1, stratified=False):
    """Render a constant 8^3 volume (density 1 per unit, colour 0.5) with VolumeRenderer."""
    volumes = structures.Volumes(
        densities=torch.full((batch, 1, 8, 8, 8), 0.2),
        features=torch.full((batch, 3, 8, 8, 8), 0.5),
        voxel_size=2.0 / 8,
    )
    R, T = renderer.look_at_view_transform(dist=3.0, elev=0.0, azim=torch.zeros(batch))
    cameras = renderer.FoVPerspectiveCameras(R=R, T=T)
    sampler = renderer.NDCMultinomialRaysampler(
        image_width=image_size, image_height=image_size, n_pts_per_ray=n_pts_per_ray,
        min_depth=2.0, max_depth=4.0, stratified_sampling=stratified,
    )  # fmt: skip
    volume_renderer = renderer.VolumeRenderer(sampler, renderer.EmissionAbsorptionRaymarcher())
    return volume_renderer(cameras=cameras, volumes=volumes)[0]


@pytest.mark.parametrize("stratified", [False, True])
def test_a_huge_volume_render_fails_at_once_with_the_estimate(stratified):
    # 4 cameras x 4096^2 rays x 1024 samples x 40 bytes = 2.7 TB: refused before anything
    # of that size exists (a stratified raysampler would allocate its lengths first).
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"raysampler.*2\.7 TB.*n_pts_per_ray.*COURSE_MAX"):
        volume_render(image_size=4096, n_pts_per_ray=1024, batch=4, stratified=stratified)
    assert time.perf_counter() - start < 5.0


def test_the_volume_budget_is_the_rasterizers_budget(monkeypatch):
    # 1 x 16^2 rays x 8 samples = 2048 samples; the raysampler counts 40 bytes each
    # (81,920 bytes); VolumeSampler (3 + 1 + 3) floats = 28 bytes (57,344 bytes).
    monkeypatch.setenv("COURSE_MAX_RASTER_BYTES", "81920")
    image = volume_render()
    # Within the budget the render is the usual one: the voxel centres span
    # [-0.875, 0.875]^3 (8 voxels of 0.25, align_corners); of the 8 samples at depths 2..4
    # of a ray near the axis, the 6 inside read opacity 0.2 each, the 2 at z = -+1, half a
    # voxel outside, read 0.1 and colour 0.25 (trilinear towards the zero padding).
    assert image.shape == (1, 16, 16, 4)
    opacity = torch.tensor([0.1] + [0.2] * 6 + [0.1])
    colour = torch.tensor([0.25] + [0.5] * 6 + [0.25])
    weights = opacity * torch.cumprod(torch.cat([torch.ones(1), 1 - opacity[:-1]]), 0)
    rgb = float((weights * colour).sum())
    alpha = 1 - 0.8**6 * 0.9**2
    torch.testing.assert_close(image[0, 8, 8], torch.tensor([rgb] * 3 + [alpha]))
    monkeypatch.setenv("COURSE_MAX_RASTER_BYTES", "81919")
    with pytest.raises(ValueError, match="raysampler: the output would take about 81.9 kB"):
        volume_render()
    monkeypatch.setenv("COURSE_MAX_RASTER_BYTES", "0")  # no limit
    assert volume_render().shape == (1, 16, 16, 4)


def test_the_volume_sampler_checks_bundles_made_by_hand(monkeypatch):
    volumes = structures.Volumes(
        densities=torch.ones(1, 1, 4, 4, 4), features=torch.ones(1, 3, 4, 4, 4)
    )
    bundle = renderer.RayBundle(
        origins=torch.zeros(1, 100, 3), directions=torch.ones(1, 100, 3),
        lengths=torch.ones(1, 100, 50), xys=torch.zeros(1, 100, 2),
    )  # fmt: skip
    sampler = renderer.VolumeSampler(volumes)
    monkeypatch.setenv("COURSE_MAX_RASTER_BYTES", str(100 * 50 * 7 * 4))  # exactly enough
    densities, features = sampler(bundle)
    assert densities.shape == (1, 100, 50, 1) and features.shape == (1, 100, 50, 3)
    monkeypatch.setenv("COURSE_MAX_RASTER_BYTES", str(100 * 50 * 7 * 4 - 1))
    with pytest.raises(ValueError, match="VolumeSampler.*n_pts_per_ray"):
        sampler(bundle)
    monkeypatch.setenv("COURSE_MAX_RASTER_BYTES", str(100 * 50 * 3 * 4 - 1))
    with pytest.raises(ValueError, match="ray_bundle_to_ray_points"):
        renderer.ray_bundle_to_ray_points(bundle)


def test_volume_sampling_in_chunks_gives_the_unchunked_answer(monkeypatch):
    # Chunking bounds the sampler's temporaries; it must not change the result.
    from course_utils.p3d.builtin.renderer.implicit import renderer as implicit_renderer

    torch.manual_seed(0)
    volumes = structures.Volumes(
        densities=torch.rand(2, 1, 5, 6, 7), features=torch.rand(2, 3, 5, 6, 7), voxel_size=0.3
    )
    bundle = renderer.RayBundle(
        origins=torch.randn(2, 9, 3) * 0.2, directions=torch.randn(2, 9, 3),
        lengths=torch.rand(2, 9, 11), xys=torch.zeros(2, 9, 2),
    )  # fmt: skip
    whole = renderer.VolumeSampler(volumes)(bundle)
    monkeypatch.setattr(implicit_renderer, "POINTS_PER_CHUNK", 7)  # 99 points: 15 chunks
    chunked = renderer.VolumeSampler(volumes)(bundle)
    for a, b in zip(whole, chunked):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert whole[0].abs().sum() > 0  # some points are inside the volume
