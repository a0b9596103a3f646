"""The RGB-D views in data/ and unprojection: pixel centres, points on the rendered surface,
views that agree, and the committed file up to date with its generator."""

from __future__ import annotations

import io
import math
import os

import numpy as np
import pytest
import torch

from course_utils import assets, rgbd
from course_utils.config import DATA_DIR
from course_utils.p3d import ops, renderer


@pytest.fixture(scope="module")
def views() -> rgbd.RGBDViews:
    return rgbd.load_rgbd()


@pytest.fixture(scope="module")
def scene():
    return rgbd.rgbd_scene()


@pytest.fixture(scope="module")
def fresh_arrays() -> dict[str, np.ndarray]:
    """The arrays as the generator makes them now."""
    return rgbd.render_rgbd_views()


def nearest_distance(a: torch.Tensor, b: torch.Tensor, chunk: int = 256) -> torch.Tensor:
    """Distance from each point of ``a`` to the nearest point of ``b`` (brute force)."""
    return torch.cat([torch.cdist(part, b).min(dim=1).values for part in a.split(chunk)])


def distance_to_face_planes(points: torch.Tensor, faces: torch.Tensor, mesh) -> torch.Tensor:
    """Distance from each point to the plane of the face (packed index) it should lie on."""
    v0, v1, v2 = mesh.verts_packed()[mesh.faces_packed()[faces]].double().unbind(1)
    normal = torch.nn.functional.normalize(torch.linalg.cross(v1 - v0, v2 - v0, dim=1), dim=1)
    return ((points.double() - v0) * normal).sum(dim=1).abs()


# ---------------------------------------------------------------- the file
def test_committed_rgbd_matches_the_generator(views, fresh_arrays):
    fresh = rgbd.arrays_to_views(fresh_arrays)
    for name in ("R", "T", "fov", "znear", "zfar"):
        torch.testing.assert_close(getattr(views, name), getattr(fresh, name), atol=1e-6, rtol=0)
    # Rasterizing on another machine or torch version may flip a few edge pixels.
    pixels = views.mask.numel()
    assert (views.mask != fresh.mask).sum() <= 0.002 * pixels
    seen = (views.depth > 0) & (fresh.depth > 0)
    assert ((views.depth > 0) != (fresh.depth > 0)).sum() <= 0.002 * pixels
    close = (views.depth - fresh.depth).abs() <= 1.5 * rgbd.DEPTH_SCALE
    assert (close | ~seen).float().mean() >= 0.998
    colour_close = (views.images - fresh.images).abs().amax(dim=-1) <= 2.5 / 255
    assert colour_close.float().mean() >= 0.99
    assert (views.images - fresh.images).abs().mean() < 1 / 255


def test_the_file_holds_plain_arrays_as_documented():
    path = DATA_DIR / rgbd.RGBD_FILE
    with np.load(path, allow_pickle=False) as data:  # no pickled objects in it
        arrays = {key: data[key] for key in data.files}
    num, (height, width) = len(rgbd.VIEWS), rgbd.IMAGE_SIZE
    assert num >= 3
    expected = {
        "rgb": ((num, height, width, 3), np.uint8),
        "depth": ((num, height, width), np.uint16),
        "depth_scale": ((), np.float32),
        "mask": ((num, height, width), np.bool_),
        "R": ((num, 3, 3), np.float32),
        "T": ((num, 3), np.float32),
        "fov": ((num,), np.float32),
        "znear": ((num,), np.float32),
        "zfar": ((num,), np.float32),
        "image_size": ((2,), np.int64),
    }
    assert set(arrays) == set(expected)
    for key, (shape, dtype) in expected.items():
        assert arrays[key].shape == shape and arrays[key].dtype == dtype, key
    assert tuple(arrays["image_size"]) == (height, width)
    assert os.path.getsize(path) < 300_000
    # Every view sees the objects, the floor, and some background.
    mask, depth = arrays["mask"], arrays["depth"]
    assert (mask.sum(axis=(1, 2)) > 2000).all()
    assert ((depth > 0) & ~mask).sum(axis=(1, 2)).min() > 2000
    assert (depth == 0).sum(axis=(1, 2)).min() > 2000
    assert not (mask & (depth == 0)).any()


def test_the_rgbd_asset_is_written_by_the_assets_command(tmp_path, fresh_arrays):
    paths = assets.write_assets(tmp_path, names=["rgbd"])
    assert [p.name for p in paths] == [rgbd.RGBD_FILE]
    # Deterministic: a second rendering, saved the same way, gives the same bytes.
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **fresh_arrays)
    assert paths[0].read_bytes() == buffer.getvalue()
    with pytest.raises(ValueError, match="load_rgbd"):
        assets.load_asset("rgbd")
    with pytest.raises(FileNotFoundError, match="python -m course_utils assets"):
        rgbd.load_rgbd(tmp_path / "missing.npz")


# ---------------------------------------------------------------- pixel centres
@pytest.mark.parametrize("size", [(4, 4), (3, 5), (6, 2)])
def test_ndc_grid_projects_back_to_the_pixel_centres(size):
    # Unproject every pixel centre at some depth, project with the camera: pixel (i, j)
    # must come back at screen (x, y) = (j + 0.5, i + 0.5).
    height, width = size
    R, T = renderer.look_at_view_transform(dist=3.0, elev=20.0, azim=40.0)
    cameras = renderer.FoVPerspectiveCameras(R=R, T=T, fov=55.0)
    grid = rgbd.ndc_grid(height, width)
    depth = torch.linspace(2.0, 4.0, height * width).reshape(height, width)
    image = torch.zeros(height, width, 3)
    points, _ = rgbd.unproject_depth_image(
        image, torch.ones(height, width, dtype=torch.bool), depth, cameras
    )
    screen = cameras.transform_points_screen(points[None], image_size=(size,))[0]
    rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    expected = torch.stack([cols + 0.5, rows + 0.5], dim=-1).reshape(-1, 2).float()
    torch.testing.assert_close(screen[:, :2], expected, atol=1e-4, rtol=0)
    short = min(size)
    assert grid[0, 0].tolist() == pytest.approx([(width - 1) / short, (height - 1) / short])


# ---------------------------------------------------------------- unprojection
def render_fragments(mesh, cameras, image_size):
    rasterizer = renderer.MeshRasterizer(
        cameras=cameras, raster_settings=renderer.RasterizationSettings(image_size=image_size)
    )
    return rasterizer(mesh)


def test_unprojected_points_land_on_the_surface_seen_at_each_pixel():
    # A float depth map (no quantisation) of a non-square image: each point must lie on
    # the plane of the very face the rasterizer saw at its pixel.
    mesh, _ = rgbd.rgbd_scene()
    R, T = renderer.look_at_view_transform(dist=2.6, elev=30.0, azim=-35.0)
    cameras = renderer.FoVPerspectiveCameras(R=R, T=T, fov=50.0)
    fragments = render_fragments(mesh, cameras, (60, 90))
    face = fragments.pix_to_face[0, ..., 0]
    depth = torch.where(face >= 0, fragments.zbuf[0, ..., 0], 0.0)
    image = torch.rand(60, 90, 3)
    points, colours = rgbd.unproject_depth_image(image, face >= 0, depth, cameras)
    assert points.shape == (int((face >= 0).sum()), 3) and torch.equal(colours, image[face >= 0])
    distance = distance_to_face_planes(points, face[face >= 0], mesh)
    assert distance.max() < 1e-4 and distance.mean() < 1e-5


def test_the_stored_views_unproject_onto_the_scene(views, scene):
    mesh, objects = scene
    torch.manual_seed(0)
    surface = ops.sample_points_from_meshes(objects, 80_000)[0]
    for index in range(len(views)):
        cameras = views.cameras(index)
        points, colours = rgbd.unproject_depth_image(
            views.images[index], views.mask[index], views.depth[index], cameras
        )
        assert points.shape == (int(views.mask[index].sum()), 3) and colours.shape[1] == 3
        # Exact: the plane of the face seen at each pixel (depth rounded to 1/1000).
        fragments = render_fragments(mesh, cameras, views.image_size)
        face = fragments.pix_to_face[0, ..., 0][views.mask[index]]
        assert (face >= 0).all()
        distance = distance_to_face_planes(points, face, mesh)
        assert distance.mean() < 3e-4 and distance.max() < 1e-3
        # Approximate: the nearest of dense surface samples (about 0.01 apart); a mirrored
        # unprojection would be about 0.26 away on average.
        nearest = nearest_distance(points[::10], surface)
        assert nearest.mean() < 0.008 and nearest.max() < 0.035


def bilinear(image: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``image`` (H, W, ...) read at pixel coordinates (x right, y down; centres at +0.5)."""
    x0, y0 = (x - 0.5).floor().long(), (y - 0.5).floor().long()
    fx, fy = x - 0.5 - x0, y - 0.5 - y0
    if image.dim() == 3:
        fx, fy = fx[:, None], fy[:, None]
    return (
        image[y0, x0] * (1 - fx) * (1 - fy)
        + image[y0, x0 + 1] * fx * (1 - fy)
        + image[y0 + 1, x0] * (1 - fx) * fy
        + image[y0 + 1, x0 + 1] * fx * fy
    )


def test_two_views_agree_where_they_overlap(views):
    # Lift view a, project its points into view b: where b sees the same surface (not
    # hidden behind something), b's depth (read between its pixels) and colour must match.
    height, width = views.image_size
    for a, b in [(0, 1), (1, 2), (2, 3), (3, 0)]:
        points, colours = rgbd.unproject_depth_image(
            views.images[a], views.mask[a], views.depth[a], views.cameras(a)
        )
        camera_b = views.cameras(b)
        z = camera_b.get_world_to_view_transform().transform_points(points)[:, 2]
        screen = camera_b.transform_points_screen(points[None], image_size=((height, width),))[0]
        x, y = screen[:, 0], screen[:, 1]
        inside = (x > 1) & (x < width - 1) & (y > 1) & (y < height - 1)
        x, y, z, colours = x[inside], y[inside], z[inside], colours[inside]
        # b's mask must hold at the four pixels around the point (not across an edge)
        object_b = bilinear(views.mask[b].float(), x, y) == 1
        depth_b = bilinear(views.depth[b], x, y)
        visible = object_b & ((z - depth_b).abs() < 0.02)
        assert visible.sum() > 800, (a, b)  # the views overlap
        error = (z - depth_b)[visible].abs()
        assert error.median() < 1.5e-3 and error.quantile(0.9) < 5e-3, (a, b)
        colour_error = (colours - bilinear(views.images[b], x, y))[visible].abs().amax(dim=1)
        assert colour_error.median() < 0.03, (a, b)
        # A wrong camera does not agree: b's depth map read mirrored left to right.
        mirrored = bilinear(views.depth[b].flip(1), x, y)
        assert (z - mirrored)[object_b].abs().median() > 0.02


def test_masked_pixels_without_depth_are_skipped():
    cameras = renderer.FoVPerspectiveCameras()
    depth = torch.tensor([[2.0, 0.0], [3.0, 4.0]])
    mask = torch.tensor([[True, True], [False, True]])
    image = torch.arange(12.0).reshape(2, 2, 3)
    points, colours = rgbd.unproject_depth_image(image, mask, depth, cameras)
    assert points.shape == (2, 3) and torch.equal(colours, image[[0, 1], [0, 1]])
    view = cameras.get_world_to_view_transform().transform_points(points)
    torch.testing.assert_close(view[:, 2], torch.tensor([2.0, 4.0]))
    # pixel (0, 0) is up and to the left of the centre: +X and +Y in view space
    half = math.tan(math.radians(60.0) / 2)
    torch.testing.assert_close(view[0, :2], torch.tensor([0.5, 0.5]) * 2.0 * half)


@pytest.mark.parametrize(
    "image, mask, depth, match",
    [
        (torch.zeros(2, 2, 3), torch.ones(2, 2, dtype=bool), torch.ones(2), "depth must be"),
        (torch.zeros(2, 2, 3), torch.ones(3, 2, dtype=bool), torch.ones(2, 2), "mask"),
        (torch.zeros(2, 3, 3), torch.ones(2, 2, dtype=bool), torch.ones(2, 2), "image must be"),
    ],
)
def test_bad_shapes_are_refused(image, mask, depth, match):
    with pytest.raises(ValueError, match=match):
        rgbd.unproject_depth_image(image, mask, depth, renderer.FoVPerspectiveCameras())


def test_one_view_at_a_time():
    R, T = renderer.look_at_view_transform(dist=[2.0, 3.0])
    with pytest.raises(ValueError, match="one view"):
        rgbd.unproject_depth_image(
            torch.zeros(2, 2, 3),
            torch.ones(2, 2, dtype=bool),
            torch.ones(2, 2),
            renderer.FoVPerspectiveCameras(R=R, T=T),
        )
