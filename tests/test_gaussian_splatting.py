"""The Gaussian rasterizer against known answers: analytic footprints, the EWA Jacobian,
depth-ordered compositing, finite-difference gradients, chunking and early termination."""

from __future__ import annotations

import math
import time

import pytest
import torch

from course_utils.p3d import renderer
from course_utils.splats import Gaussians, project_gaussians, render_gaussians
from course_utils.splats import rasterize as rast
from course_utils.splats.gaussians import covariances, eval_sh, rgb_to_sh0

pytestmark = pytest.mark.usefixtures("one_thread")

DIST = 3.0


def _front_camera(dtype=torch.float64, fov=60.0):
    """A camera that sees the origin at view z = DIST, looking along +Z (identity rotation)."""
    return renderer.FoVPerspectiveCameras(
        fov=fov, R=torch.eye(3, dtype=dtype)[None], T=torch.tensor([[0.0, 0.0, DIST]], dtype=dtype)
    )


def _look_at(elev, azim):
    R, T = renderer.look_at_view_transform(DIST, elev, azim)
    return R.double(), T.double()


def _one(
    mean, scales, quat=(1.0, 0.0, 0.0, 0.0), opacity=0.5, color=(1.0, 0.0, 0.0), dtype=torch.float64
):
    g = Gaussians.from_points(
        torch.tensor([mean], dtype=dtype), torch.tensor([color], dtype=dtype), 1.0, opacity
    )
    g.log_scales = torch.log(torch.tensor([scales], dtype=dtype))
    g.quats = torch.tensor([quat], dtype=dtype)
    return g


def test_isotropic_gaussian_footprint_and_opacity():
    size, sigma, opacity = 48, 0.12, 0.7
    g = _one([0.0, 0.0, 0.0], [sigma] * 3, opacity=opacity)
    out = render_gaussians(g, _front_camera(), size, background=(0.0, 0.0, 1.0))
    focal_px = (size / 2) / math.tan(math.radians(30))  # pixels per unit of x/z
    var = (sigma * focal_px / DIST) ** 2 + rast.DILATION
    centre = (size - 1) / 2
    ii = torch.arange(size, dtype=torch.float64)
    r2 = (ii[:, None] - centre) ** 2 + (ii[None, :] - centre) ** 2
    expected = opacity * torch.exp(-0.5 * r2 / var)
    inside = (r2 / var <= rast.SIGMAS**2) & (expected >= rast.ALPHA_MIN)
    expected = torch.where(inside, expected, torch.zeros_like(expected))
    # (the camera keeps its field of view in float32: agreement to ~1e-7)
    torch.testing.assert_close(out.alphas[0], expected, atol=1e-6, rtol=1e-6)
    # Colour: red over the blue background; depth: the centre's view z wherever it is seen.
    torch.testing.assert_close(out.images[0, ..., 0], expected, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(out.images[0, ..., 2], 1 - expected, atol=1e-6, rtol=1e-6)
    assert torch.allclose(out.depths[0][inside], torch.tensor(DIST, dtype=torch.float64))
    assert (out.depths[0][~inside] == 0).all()
    # The footprint is the 3-sigma disc: about pi * 9 * var pixels.
    assert abs(int(inside.sum()) - math.pi * 9 * var) < 0.05 * math.pi * 9 * var


def test_anisotropic_ellipse_matches_jacobian_formula():
    mean = torch.tensor([0.3, -0.2, 0.4], dtype=torch.float64)
    quat = torch.tensor([0.9, 0.2, -0.3, 0.4], dtype=torch.float64)
    scales = torch.tensor([0.25, 0.05, 0.12], dtype=torch.float64)
    g = _one(mean.tolist(), scales.tolist(), quat.tolist(), opacity=0.6)
    R, T = _look_at(25.0, -40.0)
    cam = renderer.FoVPerspectiveCameras(fov=55.0, R=R, T=T)
    size = 96
    proj = project_gaussians(g, cam, (size, size))
    # The Jacobian written out for an FoV camera, s = 1/tan(fov/2), pixels = (S/2)(1 - ndc) - 1/2.
    x, y, z = (mean @ R[0] + T[0]).tolist()
    s, half = 1 / math.tan(math.radians(27.5)), size / 2
    jac = -half * torch.tensor(
        [[s / z, 0, -s * x / z**2], [0, s / z, -s * y / z**2]], dtype=torch.float64
    )
    sigma_view = R[0].T @ covariances(torch.log(scales)[None], quat[None])[0] @ R[0]
    cov = jac @ sigma_view @ jac.T + rast.DILATION * torch.eye(2, dtype=torch.float64)
    torch.testing.assert_close(proj.cov2d[0], cov)
    # ... and the centre is where the camera itself puts the point on the screen.
    screen = cam.transform_points_screen(mean[None, None], image_size=((size, size),))[0, 0, :2]
    torch.testing.assert_close(proj.means2d[0], screen - 0.5)
    # The rendered alpha's second moments are those of a Gaussian cut at Mahalanobis 3.
    alpha = render_gaussians(g, cam, size).alphas[0]
    rows, cols = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    w = alpha / alpha.sum()
    mu = torch.stack([(w * cols).sum(), (w * rows).sum()])
    d = torch.stack([cols - mu[0], rows - mu[1]], -1).double()
    moments = torch.einsum("hw,hwi,hwj->ij", w, d, d)
    k2 = rast.SIGMAS**2
    cut = (1 - (1 + k2 / 2) * math.exp(-k2 / 2)) / (1 - math.exp(-k2 / 2))
    torch.testing.assert_close(mu, proj.means2d[0].detach(), atol=0.05, rtol=0)
    torch.testing.assert_close(moments, cut * cov, atol=0.02 * float(cov.abs().max()), rtol=0)


def test_two_gaussians_composite_front_to_back():
    near = _one([0.0, 0.0, -0.5], [0.1] * 3, opacity=0.6, color=(1.0, 0.0, 0.0))
    far = _one([0.0, 0.0, 0.5], [0.1] * 3, opacity=0.8, color=(0.0, 1.0, 0.0))
    bg = (0.0, 0.0, 1.0)
    centre = 16  # a 33-pixel image has a pixel centre on the axis

    def pixel(parts):
        out = render_gaussians(Gaussians.cat(parts), _front_camera(), 33, background=bg)
        return (
            out.images[0, centre, centre],
            out.alphas[0, centre, centre],
            out.depths[0, centre, centre],
        )

    a1, a2 = 0.6, 0.8  # at the centre pixel alpha is the peak opacity
    expected = torch.tensor([a1, (1 - a1) * a2, (1 - a1) * (1 - a2)], dtype=torch.float64)
    for parts in ([near, far], [far, near]):  # the input order does not matter, the depth does
        color, alpha, depth = pixel(parts)
        torch.testing.assert_close(color, expected)
        torch.testing.assert_close(
            alpha, torch.tensor(1 - (1 - a1) * (1 - a2), dtype=torch.float64)
        )
        mean_depth = (a1 * (DIST - 0.5) + (1 - a1) * a2 * (DIST + 0.5)) / float(alpha)
        torch.testing.assert_close(depth, torch.tensor(mean_depth, dtype=torch.float64))
    far.means = far.means - torch.tensor([0.0, 0.0, 1.5], dtype=torch.float64)  # now in front
    color, _, _ = pixel([near, far])
    torch.testing.assert_close(color[1], torch.tensor(a2, dtype=torch.float64))


def _random_gaussians(p=6, sh_k=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    dt = torch.float64
    return Gaussians(
        means=(torch.rand(p, 3, generator=gen, dtype=dt) - 0.5) * 0.8,
        log_scales=torch.log(0.08 + 0.1 * torch.rand(p, 3, generator=gen, dtype=dt)),
        quats=torch.randn(p, 4, generator=gen, dtype=dt),
        opacity_logits=torch.randn(p, generator=gen, dtype=dt),
        sh=0.5 * torch.randn(p, sh_k, 3, generator=gen, dtype=dt),
    )


@pytest.mark.parametrize("name", ["means", "log_scales", "quats", "opacity_logits", "sh"])
def test_gradients_match_finite_differences(name):
    g = _random_gaussians(sh_k=9).requires_grad_()
    R, T = _look_at(20.0, 30.0)
    cam = renderer.FoVPerspectiveCameras(fov=50.0, R=R, T=T)
    gen = torch.Generator().manual_seed(1)
    w_img, w_alpha, w_depth = (
        torch.rand(s, generator=gen, dtype=torch.float64) for s in ((24, 24, 3), (24, 24), (24, 24))
    )

    def loss():
        # A small chunk size: several chunks, so the walk across chunks is exercised too.
        out = render_gaussians(g, cam, 24, background=(0.2, 0.3, 0.4), chunk_pairs=300)
        return (
            (out.images[0] * w_img).sum()
            + (out.alphas[0] * w_alpha).sum()
            + 0.1 * (out.depths[0] * w_depth).sum()
        )

    loss().backward()
    tensor = getattr(g, name)
    analytic = tensor.grad.flatten().clone()
    numeric = torch.zeros_like(analytic)
    eps = 1e-6
    with torch.no_grad():
        for i in range(analytic.numel()):
            tensor.view(-1)[i] += eps
            plus = loss()
            tensor.view(-1)[i] -= 2 * eps
            minus = loss()
            tensor.view(-1)[i] += eps
            numeric[i] = (plus - minus) / (2 * eps)
    assert numeric.abs().max() > 1e-3  # the loss does depend on this parameter
    torch.testing.assert_close(analytic, numeric, atol=1e-6, rtol=1e-5)


def test_chunking_changes_nothing_and_early_termination_is_exact_enough():
    g = _random_gaussians(p=40, sh_k=1, seed=3)
    g.opacity_logits = torch.full_like(g.opacity_logits, 6.0)  # nearly opaque: pixels finish early
    cam = _front_camera()
    whole = render_gaussians(g, cam, 32)
    pieces = render_gaussians(g, cam, 32, chunk_pairs=64)
    torch.testing.assert_close(pieces.images, whole.images, atol=1e-12, rtol=0)
    # Without early termination the result moves by less than the threshold T_MIN.
    saved = rast.T_MIN
    try:
        rast.T_MIN = 0.0
        full = render_gaussians(g, cam, 32)
    finally:
        rast.T_MIN = saved
    assert (full.alphas > 0.999).any()
    torch.testing.assert_close(whole.images, full.images, atol=rast.T_MIN, rtol=0)


def test_float32_matches_float64_and_invisible_gaussians_draw_nothing():
    g = _random_gaussians(p=20, seed=5)
    cam = _front_camera()
    out64 = render_gaussians(g, cam, 32)
    g32 = Gaussians(*(t.float() for t in g.parameters()))
    out32 = render_gaussians(g32, _front_camera(torch.float32), 32)
    torch.testing.assert_close(out32.images.double(), out64.images, atol=2e-5, rtol=0)
    behind = _one([0.0, 0.0, -DIST - 1.0], [0.2] * 3)  # behind the camera
    out = render_gaussians(behind, cam, 16, background=(0.3, 0.3, 0.3))
    assert (out.alphas == 0).all() and torch.allclose(
        out.images, torch.tensor(0.3, dtype=torch.float64)
    )


def test_sh_degree_one_is_view_dependent_with_the_reference_signs():
    sh = torch.zeros(1, 4, 3, dtype=torch.float64)
    sh[0, 0] = rgb_to_sh0(torch.tensor([0.5, 0.5, 0.5], dtype=torch.float64))
    sh[0, 2, 0] = 1.0  # the z-coefficient of the red channel
    towards_z = eval_sh(sh, torch.tensor([[0.0, 0.0, 1.0]], dtype=torch.float64))
    away = eval_sh(sh, torch.tensor([[0.0, 0.0, -1.0]], dtype=torch.float64))
    torch.testing.assert_close(
        towards_z[0, 0], torch.tensor(0.5 + 0.4886025119029199, dtype=torch.float64)
    )
    torch.testing.assert_close(
        away[0, 0], torch.tensor(0.5 - 0.4886025119029199, dtype=torch.float64)
    )


def test_bad_input_is_named():
    g = _random_gaussians(p=2)
    with pytest.raises(ValueError, match="image_size"):
        render_gaussians(g, _front_camera(), 0)
    with pytest.raises(ValueError, match="log_scales"):
        Gaussians(g.means, g.log_scales[:, :2], g.quats, g.opacity_logits, g.sh)
    with pytest.raises(TypeError, match="Gaussians"):
        render_gaussians(g.means, _front_camera(), 8)


def test_backward_finds_the_pairs_again_when_they_were_not_kept(monkeypatch):
    g = _random_gaussians(p=30, seed=7).requires_grad_()
    cam = _front_camera()
    weights = torch.rand(
        1, 24, 24, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2)
    )

    def grads():
        for t in g.parameters():
            t.grad = None
        out = render_gaussians(g, cam, 24, chunk_pairs=100)
        ((out.images * weights).sum() + out.alphas.sum()).backward()
        return [t.grad.clone() for t in g.parameters()]

    kept = grads()
    monkeypatch.setattr(rast, "CACHE_PAIRS", 0)
    found_again = grads()
    for a, b in zip(kept, found_again):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)
    assert any(k.abs().max() > 0 for k in kept)


def test_composite_pixel_is_the_rasterizers_rule():
    colors = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=torch.float64)
    alphas = torch.tensor([0.6, 0.8], dtype=torch.float64)
    background = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
    color, left = rast.composite_pixel(colors, alphas, background)
    torch.testing.assert_close(color, torch.tensor([0.6, 0.32, 0.08], dtype=torch.float64))
    torch.testing.assert_close(left, torch.tensor(0.08, dtype=torch.float64))


def test_huge_images_and_huge_gaussians_fail_at_once_with_the_estimate(monkeypatch):
    monkeypatch.delenv("COURSE_MAX_RASTER_BYTES", raising=False)
    g = _one([0.0, 0.0, 0.0], [0.1] * 3, dtype=torch.float32)
    cam = _front_camera(torch.float32)
    start = time.perf_counter()
    with pytest.raises(ValueError) as info:  # 100000² pixels x 168 bytes = 1.7 TB
        render_gaussians(g, cam, 100_000)
    assert time.perf_counter() - start < 5  # before any allocation
    message = str(info.value)
    assert "1.7 TB" in message and "1 x 100000 x 100000" in message
    assert "image_size" in message and "COURSE_MAX_RASTER_BYTES" in message
    # Float64 doubles the estimate.
    with pytest.raises(ValueError, match="3.4 TB"):
        render_gaussians(_one([0.0, 0.0, 0.0], [0.1] * 3), _front_camera(), 100_000)
    # Per-pixel arrays within the budget, but one Gaussian covering the whole 600² image is
    # a chunk of 360,000 pairs x 240 bytes = 86.4 MB, whatever chunk_pairs says.
    big = _one([0.0, 0.0, 0.0], [5.0] * 3, opacity=0.9, dtype=torch.float32)
    monkeypatch.setenv("COURSE_MAX_RASTER_BYTES", "8e7")  # 600² x 168 = 60.5 MB fits
    with pytest.raises(ValueError) as info:
        render_gaussians(big, cam, 600, chunk_pairs=1000)
    message = str(info.value)
    assert "largest chunk" in message and "86.4 MB" in message and "360000 slots" in message
    # A small Gaussian in the same image, and the same huge one under a larger budget, render.
    assert render_gaussians(g, cam, 600).alphas.max() > 0.4
    monkeypatch.setenv("COURSE_MAX_RASTER_BYTES", "9e7")
    assert render_gaussians(big, cam, 600, chunk_pairs=1000).alphas.min() > 0.75  # covers all
