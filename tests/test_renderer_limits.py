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
