"""Point-cloud rendering: rasterizer, compositors and renderer (``renderer.Points*``).

Checked against PyTorch3D's recorded behaviour (the ``points`` reference case), against a
brute-force rasterizer written here (every pixel against every point), and on cases
worked out by hand. Everything goes through the facade, so the same tests run on real
PyTorch3D (``COURSE_BACKEND=pytorch3d``); the few marked ``builtin_only`` check the
built-in backend's own extras (float64 gradcheck, chunking, error types).
"""

from __future__ import annotations

import importlib
import math

import pytest
import torch

from course_utils.p3d import renderer, structures

# ----------------------------------------------------------------------------- helpers


def compositing_functions():
    """``alpha_composite`` & co.: ``pytorch3d.renderer.compositing`` or the built-in renderer."""
    return getattr(renderer, "compositing", renderer)


def camera_at(distance: float = 3.0, **kwargs) -> renderer.FoVPerspectiveCameras:
    """A default FoV camera on the +Z axis looking at the origin (R = identity)."""
    return renderer.FoVPerspectiveCameras(T=torch.tensor([[0.0, 0.0, distance]]), **kwargs)


def ndc_cloud(points: list[list[float]], **kwargs) -> structures.Pointclouds:
    """One cloud given directly in rasterizer space: NDC x, y and view z."""
    return structures.Pointclouds(points=[torch.tensor(points, dtype=torch.float32)], **kwargs)


def pixel_centres(size: int, other: int) -> torch.Tensor:
    """PyTorch3D's NDC centre of pixel index i (counted from the -X / -Y side), float32."""
    ndc_range = torch.tensor(2.0)
    if size > other:
        ndc_range = torch.tensor(float(size)) * 2.0 / float(other)
    offset = ndc_range / 2.0
    i = torch.arange(size, dtype=torch.float32)
    return -offset + (ndc_range * i + offset) / float(size)


def brute_force_rasterize(clouds, image_size, radius, k):
    """Every pixel against every point: the K nearest hits by (z, packed index)."""
    height, width = image_size
    points = clouds.points_packed()
    counts = clouds.num_points_per_cloud().tolist()
    cloud_of = torch.repeat_interleave(torch.arange(len(counts)), torch.tensor(counts))
    radius2 = (radius * radius).reshape(-1)[clouds.padded_to_packed_idx()]
    xs = pixel_centres(width, height).flip(0)  # column 0 is the +X side
    ys = pixel_centres(height, width).flip(0)  # row 0 is the top
    dx = points[:, 0] - xs[:, None]  # (W, P)
    dy = points[:, 1] - ys[:, None]  # (H, P)
    d2 = dx[None, :, :] * dx[None, :, :] + dy[:, None, :] * dy[:, None, :]  # (H, W, P)
    shape = (len(counts), height, width, k)
    idx = torch.full(shape, -1, dtype=torch.int64)
    zbuf = torch.full(shape, -1.0)
    dists = torch.full(shape, -1.0)
    by_depth = torch.sort(points[:, 2], stable=True).indices  # ties: smaller index first
    for n in range(len(counts)):
        hit = (d2 < radius2) & (points[:, 2] >= 0) & (cloud_of == n)  # (H, W, P)
        ordered_hits = hit[:, :, by_depth]
        rank = torch.cumsum(ordered_hits.long(), dim=-1) - 1
        for slot in range(k):
            chosen = ordered_hits & (rank == slot)
            found = chosen.any(-1)
            p = by_depth[chosen.long().argmax(-1)]
            idx[n, :, :, slot] = torch.where(found, p, -1)
            zbuf[n, :, :, slot] = torch.where(found, points[p, 2], -1.0)
            dists[n, :, :, slot] = torch.where(found, d2.gather(-1, p[..., None])[..., 0], -1.0)
    return idx, zbuf, dists


@pytest.fixture(scope="module")
def points_case(reference):
    """The recorded case: inputs and PyTorch3D's fragments and image."""
    case = reference["points"]
    cameras = renderer.FoVPerspectiveCameras(R=case["R"], T=case["T"])
    settings = renderer.PointsRasterizationSettings(
        image_size=tuple(int(s) for s in case["image_size"]),
        radius=float(case["radius"]),
        points_per_pixel=int(case["points_per_pixel"]),
    )
    clouds = structures.Pointclouds(points=case["points"], features=case["features"])
    return case, renderer.PointsRasterizer(cameras=cameras, raster_settings=settings), clouds


# ----------------------------------------------------------------------------- reference


def test_reference_fragments_match_pytorch3d(points_case):
    case, rasterizer, clouds = points_case
    fragments = rasterizer(clouds)
    assert tuple(fragments._fields) == ("idx", "zbuf", "dists")  # a NamedTuple
    assert fragments.idx.dtype == case["idx"].dtype == torch.int32
    assert fragments.idx.shape == case["idx"].shape
    same = fragments.idx == case["idx"]
    # Exactly equal apart from ties (two points at the same depth may swap).
    assert same.float().mean() >= 0.995
    torch.testing.assert_close(fragments.zbuf[~same], case["zbuf"][~same], rtol=0, atol=1e-6)
    assert int((case["idx"] >= 0).sum()) > 500  # the case really covers the image
    torch.testing.assert_close(fragments.zbuf[same], case["zbuf"][same], rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(fragments.dists[same], case["dists"][same], rtol=1e-5, atol=1e-7)


def test_reference_image_matches_pytorch3d(points_case):
    case, rasterizer, clouds = points_case
    points_renderer = renderer.PointsRenderer(
        rasterizer=rasterizer, compositor=renderer.AlphaCompositor(background_color=(1, 1, 1))
    )
    image = points_renderer(clouds)
    assert image.shape == case["image"].shape == (1, 48, 48, 3)
    diff = (image - case["image"]).abs()
    assert diff.mean(dim=(0, 1, 2)).max() <= 0.01
    assert (diff.amax(-1) <= 0.05).float().mean() >= 0.99


# ----------------------------------------------------------------------------- brute force


def test_matches_brute_force_on_batched_non_square_images():
    """Two clouds of different sizes, per-point radii, a non-square image, K = 3."""
    gen = torch.Generator().manual_seed(3)
    sizes = (160, 90)
    points = [torch.rand(s, 3, generator=gen) * torch.tensor([3.0, 2.2, 2.0]) - 1.1 for s in sizes]
    clouds = structures.Pointclouds(points=points)
    radius = 0.05 + 0.25 * torch.rand(2, max(sizes), generator=gen)
    for image_size in ((12, 17), (15, 9)):
        idx, zbuf, dists = renderer.rasterize_points(
            clouds, image_size=image_size, radius=radius, points_per_pixel=3
        )
        want_idx, want_zbuf, want_dists = brute_force_rasterize(clouds, image_size, radius, 3)
        assert torch.equal(idx.long(), want_idx)
        assert torch.equal(zbuf, want_zbuf)
        torch.testing.assert_close(dists, want_dists, rtol=1e-6, atol=1e-7)
        assert (idx[1] >= sizes[0]).any()  # second cloud's indices are packed indices
        assert not (idx[0] >= sizes[0]).any()
        assert ((idx >= 0).sum(-1) == 3).any()  # some pixels are full


# ----------------------------------------------------------------------------- analytic


def test_point_on_the_axis_lands_on_the_centre_pixel():
    cameras = camera_at(3.0)
    settings = renderer.PointsRasterizationSettings(image_size=5, radius=0.3, points_per_pixel=2)
    cloud = structures.Pointclouds(points=[torch.zeros(1, 3)])
    fragments = renderer.PointsRasterizer(cameras, settings)(cloud)
    expected = torch.full((1, 5, 5, 2), -1, dtype=torch.int32)
    expected[0, 2, 2, 0] = 0
    assert torch.equal(fragments.idx, expected)
    assert fragments.zbuf[0, 2, 2, 0].item() == pytest.approx(3.0, abs=1e-6)  # view-space z
    assert fragments.dists[0, 2, 2, 0].item() == pytest.approx(0.0, abs=1e-12)
    assert (fragments.zbuf[expected < 0] == -1).all()
    assert (fragments.dists[expected < 0] == -1).all()


def test_dists_are_squared_ndc_offsets():
    """A point at NDC (0.1, -0.05) on a 5x5 image: column c is at x = 0.8 - 0.4 c."""
    idx, zbuf, dists = renderer.rasterize_points(
        ndc_cloud([[0.1, -0.05, 2.0]]), image_size=5, radius=0.5, points_per_pixel=1
    )
    centre = torch.tensor([0.8 - 0.4 * i for i in range(5)])
    d2 = (0.1 - centre[None, :]) ** 2 + (-0.05 - centre[:, None]) ** 2  # [row, col]
    inside = d2 < 0.25
    assert inside.sum() == 5  # the centre pixel and its 4 neighbours...
    assert inside[2, 2] and inside[2, 1] and not inside[1, 1]  # ...nearest the point
    assert torch.equal(idx[0, :, :, 0] == 0, inside)
    torch.testing.assert_close(dists[0, :, :, 0][inside], d2[inside], rtol=1e-5, atol=1e-7)
    assert (zbuf[0, :, :, 0][inside] == 2.0).all()


def test_world_axes_map_to_image_left_and_up():
    """+X (view) is the image's left, +Y its top."""
    cameras = camera_at(3.0)
    settings = renderer.PointsRasterizationSettings(image_size=33, radius=0.05, points_per_pixel=1)
    cloud = structures.Pointclouds(points=[torch.tensor([[0.5, 0.0, 0.0], [0.0, 0.5, 0.0]])])
    idx = renderer.PointsRasterizer(cameras, settings)(cloud).idx[0, :, :, 0]
    rows_x, cols_x = (idx == 0).nonzero(as_tuple=True)
    rows_y, cols_y = (idx == 1).nonzero(as_tuple=True)
    assert (cols_x < 16).all() and (rows_x == 16).all()
    assert (rows_y < 16).all() and (cols_y == 16).all()
    # NDC x = x_view / (z tan 30°) = 0.2887 -> column (1 - 0.2887) * 33 / 2 - 0.5 = 11.24
    assert 11 in cols_x.tolist()


def test_points_on_the_same_pixel_are_sorted_by_depth():
    cloud = ndc_cloud([[0.0, 0.0, 5.0], [0.0, 0.0, 1.0], [0.0, 0.0, 3.0]])
    idx, zbuf, dists = renderer.rasterize_points(
        cloud, image_size=1, radius=0.5, points_per_pixel=4
    )
    assert idx[0, 0, 0].tolist() == [1, 2, 0, -1]
    assert zbuf[0, 0, 0].tolist() == [1.0, 3.0, 5.0, -1.0]
    assert dists[0, 0, 0].tolist() == [0.0, 0.0, 0.0, -1.0]
    # Only the K nearest are kept.
    idx2, _, _ = renderer.rasterize_points(cloud, image_size=1, radius=0.5, points_per_pixel=2)
    assert idx2[0, 0, 0].tolist() == [1, 2]


def test_equal_depths_keep_the_smaller_index_first():
    cloud = ndc_cloud([[0.1, 0.0, 2.0], [0.0, 0.0, 2.0], [0.0, 0.1, 2.0]])
    idx, _, _ = renderer.rasterize_points(cloud, image_size=1, radius=0.5, points_per_pixel=2)
    assert idx[0, 0, 0].tolist() == [0, 1]


def test_points_behind_the_camera_are_ignored():
    cloud = ndc_cloud([[0.0, 0.0, -0.5], [0.0, 0.0, 0.0], [0.0, 0.0, 2.0]])
    idx, zbuf, _ = renderer.rasterize_points(cloud, image_size=1, radius=0.5, points_per_pixel=3)
    assert idx[0, 0, 0].tolist() == [1, 2, -1]  # z = 0 counts, z < 0 does not
    # Through a camera: a point behind it (view z = -2) is not drawn.
    settings = renderer.PointsRasterizationSettings(image_size=9, radius=0.3, points_per_pixel=1)
    behind = structures.Pointclouds(points=[torch.tensor([[0.0, 0.0, -5.0]])])
    fragments = renderer.PointsRasterizer(camera_at(3.0), settings)(behind)
    assert (fragments.idx == -1).all() and (fragments.zbuf == -1).all()


@pytest.mark.parametrize(
    ("image_size", "corners"),
    [((2, 4), ((1.5, 0.5), (-1.5, -0.5))), ((4, 2), ((0.5, 1.5), (-0.5, -1.5)))],
)
def test_non_square_pixel_centres(image_size, corners):
    """The shorter side spans [-1, 1]; pixels are squares of side 2 / min(H, W)."""
    (x0, y0), (x1, y1) = corners
    cloud = ndc_cloud([[x0, y0, 1.0], [x1, y1, 1.0]])
    idx, _, dists = renderer.rasterize_points(
        cloud, image_size=image_size, radius=0.1, points_per_pixel=1
    )
    expected = torch.full(image_size, -1, dtype=torch.int32)
    expected[0, 0] = 0  # top-left pixel: +X, +Y corner
    expected[-1, -1] = 1  # bottom-right pixel
    assert torch.equal(idx[0, :, :, 0], expected)
    assert dists[0, 0, 0, 0] == 0 and dists[0, -1, -1, 0] == 0


# ----------------------------------------------------------------------------- compositing


def layers(alphas: list[float], idx: list[int]):
    """One pixel with K layers: indices and weights shaped (1, K, 1, 1)."""
    k = len(idx)
    return torch.tensor(idx).view(1, k, 1, 1), torch.tensor(alphas).view(1, k, 1, 1)


FEATURES = torch.tensor([[1.0, 0.0, 0.2], [0.0, 1.0, 0.4], [0.0, 0.0, 0.6]])  # (C=3, P=3)


def test_alpha_compositing_by_hand():
    idx, alphas = layers([0.5, 0.25, 1.0], [2, 0, 1])
    out = renderer.AlphaCompositor()(idx, alphas, FEATURES)
    f = FEATURES.t()
    want = 0.5 * f[2] + 0.5 * 0.25 * f[0] + 0.5 * 0.75 * 1.0 * f[1]
    torch.testing.assert_close(out[0, :, 0, 0], want)
    assert out.shape == (1, 3, 1, 1)
    # An opaque first layer hides the rest; empty slots are skipped.
    idx, alphas = layers([1.0, 0.7], [1, 2])
    torch.testing.assert_close(renderer.AlphaCompositor()(idx, alphas, FEATURES)[0, :, 0, 0], f[1])
    idx, alphas = layers([0.9, 0.4, 0.5], [0, -1, 2])
    want = 0.9 * f[0] + 0.1 * 0.5 * f[2]
    torch.testing.assert_close(
        compositing_functions().alpha_composite(idx, alphas, FEATURES)[0, :, 0, 0], want
    )


def test_norm_weighted_and_weighted_sums_by_hand():
    idx, alphas = layers([0.5, 0.25, 2.0], [2, 0, -1])
    f = FEATURES.t()
    out = renderer.NormWeightedCompositor()(idx, alphas, FEATURES)
    torch.testing.assert_close(out[0, :, 0, 0], (0.5 * f[2] + 0.25 * f[0]) / 0.75)
    functions = compositing_functions()
    torch.testing.assert_close(
        functions.weighted_sum(idx, alphas, FEATURES)[0, :, 0, 0], 0.5 * f[2] + 0.25 * f[0]
    )
    # Tiny total weights are divided by 1e-4, not by themselves.
    idx, alphas = layers([1e-5, 1e-5], [0, 1])
    out = functions.norm_weighted_sum(idx, alphas, FEATURES)[0, :, 0, 0]
    torch.testing.assert_close(out, (1e-5 * f[0] + 1e-5 * f[1]) / 1e-4)


def test_background_colour_only_on_empty_pixels():
    # Two pixels, two slots: pixel 0 holds points 0 then 1, pixel 1 is empty.
    idx = torch.tensor([[[[0, -1]], [[1, -1]]]])  # (N=1, K=2, H=1, W=2)
    alphas = torch.full((1, 2, 1, 2), 0.5)
    plain = renderer.AlphaCompositor()(idx, alphas, FEATURES)
    out = renderer.AlphaCompositor(background_color=(0.1, 0.2, 0.3))(idx, alphas, FEATURES)
    torch.testing.assert_close(out[0, :, 0, 1], torch.tensor([0.1, 0.2, 0.3]))
    torch.testing.assert_close(out[0, :, 0, 0], plain[0, :, 0, 0])
    assert plain[0, :, 0, 1].abs().sum() == 0
    # A keyword argument overrides the stored colour; only slot 0 decides "empty".
    out = renderer.NormWeightedCompositor()(idx, alphas, FEATURES, background_color=(1.0, 1, 1))
    torch.testing.assert_close(out[0, :, 0, 1], torch.ones(3))


def test_rgba_features_get_an_opaque_background():
    features = torch.rand(4, 3)
    idx = torch.tensor([0, -1]).view(1, 1, 1, 2)
    alphas = torch.ones(1, 1, 1, 2)
    out = renderer.AlphaCompositor(background_color=(0.0, 0.5, 1.0))(idx, alphas, features)
    torch.testing.assert_close(out[0, :, 0, 1], torch.tensor([0.0, 0.5, 1.0, 1.0]))
    torch.testing.assert_close(out[0, :, 0, 0], features[:, 0])
    rgba = renderer.AlphaCompositor(background_color=(0.0, 0.5, 1.0, 0.0))(idx, alphas, features)
    torch.testing.assert_close(rgba[0, :, 0, 1], torch.tensor([0.0, 0.5, 1.0, 0.0]))
    with pytest.raises(ValueError):
        renderer.AlphaCompositor(background_color=(0.0, 0.5))(idx, alphas, features)


def test_renderer_weights_fade_with_distance():
    """With one point, pixel value = (1 - d² / r²) * colour; the normalised sum gives the colour."""
    cameras = camera_at(3.0)
    settings = renderer.PointsRasterizationSettings(image_size=9, radius=0.4, points_per_pixel=2)
    rasterizer = renderer.PointsRasterizer(cameras, settings)
    colour = torch.tensor([[0.2, 0.6, 1.0]])
    cloud = structures.Pointclouds(points=[torch.zeros(1, 3)], features=[colour])
    fragments = rasterizer(cloud)
    hit = fragments.idx[0, :, :, 0] == 0
    assert 5 <= int(hit.sum()) < 81
    image = renderer.PointsRenderer(rasterizer, renderer.AlphaCompositor())(cloud)
    weight = 1 - fragments.dists[0, :, :, 0] / 0.16
    torch.testing.assert_close(image[0][hit], weight[hit][:, None] * colour)
    assert (image[0][~hit] == 0).all()
    image = renderer.PointsRenderer(rasterizer, renderer.NormWeightedCompositor())(cloud)
    torch.testing.assert_close(image[0][hit], colour.expand(int(hit.sum()), 3))


# ----------------------------------------------------------------------------- gradients


def test_render_gradient_reaches_the_points():
    gen = torch.Generator().manual_seed(0)
    points = (torch.randn(300, 3, generator=gen) * 0.5).requires_grad_()
    colours = torch.rand(300, 3, generator=gen).requires_grad_()
    R, T = renderer.look_at_view_transform(2.7, 10, 150)
    settings = renderer.PointsRasterizationSettings(image_size=64, radius=0.03, points_per_pixel=4)
    points_renderer = renderer.PointsRenderer(
        renderer.PointsRasterizer(renderer.FoVPerspectiveCameras(R=R, T=T), settings),
        renderer.AlphaCompositor(background_color=(1.0, 1.0, 1.0)),
    )
    image = points_renderer(structures.Pointclouds(points=[points], features=[colours]))
    (image * torch.rand(image.shape, generator=gen)).sum().backward()
    for grad in (points.grad, colours.grad):
        assert grad is not None and torch.isfinite(grad).all()
        assert (grad.abs().sum(-1) > 0).float().mean() > 0.5


def test_dists_and_zbuf_gradients_match_finite_differences():
    """Central differences in float32: dists is quadratic and zbuf linear in the points."""
    gen = torch.Generator().manual_seed(1)
    base = torch.tensor([[0.13, -0.21, 1.5], [0.02, 0.07, 1.0], [-0.3, 0.25, 2.0]])
    weights_z = torch.rand(1, 6, 7, 3, generator=gen)
    weights_d = torch.rand(1, 6, 7, 3, generator=gen)

    def run(points):
        idx, zbuf, dists = renderer.rasterize_points(
            structures.Pointclouds(points=[points]),
            image_size=(6, 7),
            radius=0.45,
            points_per_pixel=3,
        )
        valid = idx >= 0
        return idx, ((weights_z * zbuf + weights_d * dists) * valid).sum()

    points = base.clone().requires_grad_()
    idx, loss = run(points)
    assert (idx >= 0).sum() > 10
    loss.backward()
    eps = 1e-3
    numeric = torch.zeros_like(base)
    for p in range(base.shape[0]):
        for c in range(3):
            step = torch.zeros_like(base)
            step[p, c] = eps
            idx_plus, plus = run(base + step)
            idx_minus, minus = run(base - step)
            assert torch.equal(idx_plus, idx) and torch.equal(idx_minus, idx)
            numeric[p, c] = (plus - minus) / (2 * eps)
    torch.testing.assert_close(points.grad, numeric, rtol=2e-3, atol=2e-3)
    assert (points.grad.abs() > 1e-3).all()


@pytest.mark.builtin_only
def test_gradcheck_in_float64():
    base = torch.tensor(
        [[0.13, -0.21, 1.5], [0.02, 0.07, 1.0], [-0.3, 0.25, 2.0]], dtype=torch.float64
    )

    def outputs(points):
        _, zbuf, dists = renderer.rasterize_points(
            structures.Pointclouds(points=[points]),
            image_size=(6, 7),
            radius=0.45,
            points_per_pixel=3,
        )
        assert zbuf.dtype == dists.dtype == torch.float64
        return zbuf, dists

    assert torch.autograd.gradcheck(outputs, (base.clone().requires_grad_(),), eps=1e-6, atol=1e-7)


# ----------------------------------------------------------------------------- settings


@pytest.mark.builtin_only
def test_chunking_does_not_change_the_result(monkeypatch):
    module = importlib.import_module("course_utils.p3d.builtin.renderer.points.rasterize_points")
    gen = torch.Generator().manual_seed(5)
    points = [torch.rand(s, 3, generator=gen) * 2.2 - 1.1 for s in (200, 120)]
    clouds = structures.Pointclouds(points=points)
    radius = 0.08 + 0.3 * torch.rand(2, 200, generator=gen) ** 2  # several box sizes
    args = {"image_size": (20, 24), "radius": radius, "points_per_pixel": 4}
    whole = renderer.rasterize_points(clouds, **args)
    for pairs in (1, 7, 300):
        monkeypatch.setattr(module, "MAX_PAIRS_PER_CHUNK", pairs)
        chunked = renderer.rasterize_points(clouds, **args)
        for a, b in zip(whole, chunked):
            assert torch.equal(a, b)
    assert ((whole[0] >= 0).sum(-1) == 4).any()  # some pixels are full: merging matters


def test_rasterizer_settings_and_overrides():
    settings = renderer.PointsRasterizationSettings()
    assert (settings.image_size, settings.radius, settings.points_per_pixel) == (256, 0.01, 8)
    assert settings.bin_size is None and settings.max_points_per_bin is None
    cloud = structures.Pointclouds(points=[torch.zeros(1, 3)])
    with pytest.raises(ValueError):
        renderer.PointsRasterizer()(cloud)  # no cameras anywhere
    small = renderer.PointsRasterizationSettings(image_size=(3, 5), radius=0.5, points_per_pixel=2)
    fragments = renderer.PointsRasterizer()(cloud, cameras=camera_at(2.0), raster_settings=small)
    assert fragments.idx.shape == (1, 3, 5, 2)
    assert fragments.idx[0, 1, 2, 0] == 0 and fragments.zbuf[0, 1, 2, 0] == pytest.approx(2.0)
    assert renderer.PointsRasterizer(camera_at()).to("cpu").cameras.device.type == "cpu"


def test_bad_arguments_raise_value_errors():
    cloud = ndc_cloud([[0.0, 0.0, 1.0], [0.1, 0.1, 1.0]])
    with pytest.raises(ValueError):
        renderer.rasterize_points(cloud, radius=torch.full((3,), 0.1))  # wrong radius shape
    with pytest.raises(ValueError):
        renderer.rasterize_points(cloud, image_size=256, bin_size=1)  # too many bins
    with pytest.raises(ValueError):
        renderer.rasterize_points(cloud, image_size=(4, 4, 4))
    idx, _, _ = renderer.rasterize_points(cloud, image_size=4, radius=[[0.4, 0.0]])
    assert (idx == 1).sum() == 0 and (idx == 0).sum() == 4  # a radius-0 point draws nothing


@pytest.mark.builtin_only
def test_per_point_radius_in_the_renderer_is_not_supported():
    settings = renderer.PointsRasterizationSettings(image_size=8, radius=torch.full((1, 1), 0.1))
    points_renderer = renderer.PointsRenderer(
        renderer.PointsRasterizer(camera_at(), settings), renderer.AlphaCompositor()
    )
    cloud = structures.Pointclouds(points=[torch.zeros(1, 3)], features=[torch.ones(1, 3)])
    with pytest.raises(NotImplementedError, match="radius"):
        points_renderer(cloud)


@pytest.mark.builtin_only
def test_float64_render():
    cameras = renderer.FoVPerspectiveCameras(
        T=torch.tensor([[0.0, 0.0, 3.0]], dtype=torch.float64),
        R=torch.eye(3, dtype=torch.float64)[None],
    )
    settings = renderer.PointsRasterizationSettings(image_size=15, radius=0.2)
    cloud = structures.Pointclouds(
        points=[torch.zeros(1, 3, dtype=torch.float64)],
        features=[torch.ones(1, 3, dtype=torch.float64)],
    )
    image = renderer.PointsRenderer(
        renderer.PointsRasterizer(cameras, settings), renderer.AlphaCompositor()
    )(cloud)
    assert image.dtype == torch.float64
    assert image[0, 7, 7].tolist() == [1.0, 1.0, 1.0]  # the centre pixel sits on the point
    assert math.isclose(float(image[0, 0, 0].sum()), 0.0)
