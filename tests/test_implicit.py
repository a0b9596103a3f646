"""PyTorch3D's implicit API (both backends): analytic answers, conventions, gradients."""

from __future__ import annotations

import math
import warnings

import pytest
import torch

from course_utils.p3d import BACKEND, renderer, structures


def _cameras(n: int = 2, dist: float = 3.0, dtype=torch.float32):
    R, T = renderer.look_at_view_transform(
        dist=dist, elev=torch.tensor([20.0, -35.0])[:n], azim=torch.tensor([30.0, 200.0])[:n]
    )
    return renderer.FoVPerspectiveCameras(R=R.to(dtype), T=T.to(dtype), fov=50.0)


def test_ray_points_project_to_their_pixels_and_lengths_are_view_depths() -> None:
    cameras = _cameras()
    sampler = renderer.NDCMultinomialRaysampler(
        image_width=7, image_height=5, n_pts_per_ray=4, min_depth=1.0, max_depth=5.0
    )
    bundle = sampler(cameras)
    assert bundle.lengths.shape == (2, 5, 7, 4) and bundle.xys.shape == (2, 5, 7, 2)
    # Pixel centres in PyTorch3D NDC: +X left, +Y up, the shorter side spans [-1, 1].
    u = 7 / 5
    assert bundle.xys[0, 0, 0].tolist() == pytest.approx([u - u / 7, 1 - 1 / 5])
    assert bundle.xys[0, -1, -1].tolist() == pytest.approx([-u + u / 7, -1 + 1 / 5])
    points = renderer.ray_bundle_to_ray_points(bundle)  # (2, 5, 7, 4, 3)
    flat = points.reshape(2, -1, 3)
    ndc = cameras.transform_points(flat)[..., :2].reshape(2, 5, 7, 4, 2)
    torch.testing.assert_close(ndc, bundle.xys[..., None, :].expand_as(ndc), atol=1e-5, rtol=0)
    view = cameras.get_world_to_view_transform().transform_points(flat)[..., 2]
    torch.testing.assert_close(view.reshape(2, 5, 7, 4), bundle.lengths, atol=1e-5, rtol=1e-5)
    # Origins are the camera centres.
    centres = cameras.get_camera_center()[:, None, None]
    torch.testing.assert_close(bundle.origins, centres.expand_as(bundle.origins), atol=1e-5, rtol=0)


def test_unit_directions_make_lengths_distances() -> None:
    cameras = _cameras(1)
    sampler = renderer.NDCMultinomialRaysampler(
        image_width=4, image_height=4, n_pts_per_ray=3, min_depth=1.0, max_depth=2.0,
        unit_directions=True,
    )  # fmt: skip
    bundle = sampler(cameras)
    norms = bundle.directions.norm(dim=-1)
    torch.testing.assert_close(norms, torch.ones_like(norms))
    points = renderer.ray_bundle_to_ray_points(bundle)
    distance = (points - bundle.origins[..., None, :]).norm(dim=-1)
    torch.testing.assert_close(distance, bundle.lengths)


def test_stratified_lengths_stay_in_their_bins_and_masks_choose_pixels() -> None:
    torch.manual_seed(0)
    sampler = renderer.NDCMultinomialRaysampler(
        image_width=6, image_height=6, n_pts_per_ray=5, min_depth=1.0, max_depth=3.0,
        stratified_sampling=True,
    )  # fmt: skip
    cameras = _cameras(1)
    lengths = sampler(cameras).lengths
    centres = torch.linspace(1.0, 3.0, 5)
    lower = torch.cat([centres[:1], (centres[1:] + centres[:-1]) / 2])
    upper = torch.cat([(centres[1:] + centres[:-1]) / 2, centres[-1:]])
    assert ((lengths >= lower - 1e-6) & (lengths <= upper + 1e-6)).all()
    assert not torch.allclose(lengths, centres.expand_as(lengths))
    assert torch.equal(sampler(cameras, stratified_sampling=False).lengths[0, 0, 0], centres)
    mask = torch.zeros(1, 6, 6)
    mask[0, 2, 3] = mask[0, 4, 1] = 1
    bundle = sampler(cameras, mask=mask)
    assert bundle.xys.shape == (1, 2, 1, 2)
    grid = sampler._xy_grid
    chosen = {tuple(xy) for xy in bundle.xys[0, :, 0].tolist()}
    assert chosen == {tuple(grid[2, 3].tolist()), tuple(grid[4, 1].tolist())}


@pytest.mark.builtin_only(reason="the built-in raysampler's NotImplementedError")
def test_unsupported_raysampler_arguments_say_so() -> None:
    sampler = renderer.NDCMultinomialRaysampler(
        image_width=6, image_height=6, n_pts_per_ray=5, min_depth=1.0, max_depth=3.0
    )
    with pytest.raises(NotImplementedError, match="n_rays_total"):
        sampler(_cameras(1), n_rays_total=10)


def test_monte_carlo_rays_lie_in_bounds() -> None:
    sampler = renderer.MonteCarloRaysampler(-0.5, 0.5, -0.2, 0.3, 100, 8, 1.0, 2.0)
    bundle = sampler(_cameras())
    assert bundle.xys.shape == (2, 100, 2) and bundle.lengths.shape == (2, 100, 8)
    assert bundle.xys[..., 0].min() >= -0.5 and bundle.xys[..., 0].max() <= 0.5
    assert bundle.xys[..., 1].min() >= -0.2 and bundle.xys[..., 1].max() <= 0.3


def _sphere_medium(sigma: float, radius: float):
    """A volumetric function: a homogeneous ball of density ``sigma`` at the origin."""

    def function(ray_bundle, **kwargs):
        points = renderer.ray_bundle_to_ray_points(ray_bundle)
        gaps = ray_bundle.lengths[..., 1:] - ray_bundle.lengths[..., :-1]
        gaps = torch.cat([gaps, gaps[..., -1:]], -1) * ray_bundle.directions.norm(dim=-1)[..., None]
        inside = (points.norm(dim=-1) < radius).to(points.dtype)
        opacity = 1 - torch.exp(-sigma * gaps * inside)
        return opacity[..., None], points.new_ones(*points.shape[:-1], 1)

    return function


@pytest.mark.parametrize("sigma", [0.7, 3.0])
def test_homogeneous_medium_opacity_is_one_minus_exp_sigma_chord(sigma: float) -> None:
    radius = 0.8
    sampler = renderer.NDCMultinomialRaysampler(
        image_width=16, image_height=16, n_pts_per_ray=1500, min_depth=1.5, max_depth=4.5
    )
    implicit = renderer.ImplicitRenderer(sampler, renderer.AbsorptionOnlyRaymarcher())
    opacity, bundle = implicit(
        cameras=_cameras(), volumetric_function=_sphere_medium(sigma, radius)
    )
    # The chord of ray o + t d through the ball: 2 sqrt(r^2 - b^2), b = |o x d| / |d|.
    d = bundle.directions
    b = torch.linalg.cross(bundle.origins, d, dim=-1).norm(dim=-1) / d.norm(dim=-1)
    chord = 2 * torch.sqrt((radius**2 - b**2).clamp(min=0))
    expected = 1 - torch.exp(-sigma * chord)
    assert (chord > 1.0).any() and (chord == 0).any()
    step = (3.0 / 1499) * d.norm(dim=-1).max()
    torch.testing.assert_close(opacity[..., 0], expected, atol=float(2 * sigma * step), rtol=0)


def test_emission_absorption_weights_match_the_closed_form() -> None:
    torch.manual_seed(1)
    alpha = torch.rand(3, 6, 1, dtype=torch.float64)
    features = torch.rand(3, 6, 2, dtype=torch.float64)
    out = renderer.EmissionAbsorptionRaymarcher()(alpha, features, eps=0.0)
    expected = torch.zeros(3, 2, dtype=torch.float64)
    for r in range(3):  # the closed form, one sample at a time
        transmittance = 1.0
        for k in range(6):
            expected[r] += alpha[r, k, 0] * transmittance * features[r, k]
            transmittance *= 1 - alpha[r, k, 0]
    torch.testing.assert_close(out[:, :2], expected)
    torch.testing.assert_close(out[:, 2], 1 - torch.prod(1 - alpha[..., 0], dim=-1))
    # Constant opacity a: weights a (1 - a)^k, a geometric series.
    a = 0.3
    ones = torch.full((1, 5, 1), a, dtype=torch.float64)
    onehot = torch.eye(5, dtype=torch.float64)[None]
    weights = renderer.EmissionAbsorptionRaymarcher()(ones, onehot, eps=0.0)[0, :5]
    torch.testing.assert_close(weights, a * (1 - a) ** torch.arange(5, dtype=torch.float64))
    only = renderer.AbsorptionOnlyRaymarcher()(alpha)
    torch.testing.assert_close(only, out[:, 2:])


def test_raymarcher_rejects_bad_shapes_and_warns_on_raw_densities() -> None:
    with pytest.raises(ValueError, match="last dimension"):
        renderer.EmissionAbsorptionRaymarcher()(torch.rand(2, 5), torch.rand(2, 5, 3))
    with pytest.warns(UserWarning, match="outside of valid ?range"):  # PyTorch3D: "validrange"
        renderer.EmissionAbsorptionRaymarcher()(torch.full((2, 5, 1), 3.0), torch.rand(2, 5, 3))


def test_harmonic_embedding_values() -> None:
    x = torch.tensor([[0.5, -1.0]])
    out = renderer.HarmonicEmbedding(n_harmonic_functions=2)(x)
    s, c = math.sin, math.cos
    # All sines (dimension-major, then frequency), then all cosines, then the input.
    expected = [s(0.5), s(1.0), s(-1.0), s(-2.0), c(0.5), c(1.0), c(-1.0), c(-2.0), 0.5, -1.0]
    assert out[0].tolist() == pytest.approx(expected, abs=1e-6)
    embed = renderer.HarmonicEmbedding(3, omega_0=0.5, logspace=False, append_input=False)
    assert embed.get_output_dim(2) == 12 and embed(x).shape == (1, 12)
    # Evenly spaced frequencies 1, 2.5, 4 times omega_0 = 0.5.
    assert embed(x)[0, :3].tolist() == pytest.approx([s(0.25), s(0.625), s(1.0)], abs=1e-6)


def test_volumes_world_local_round_trip_and_placement() -> None:
    torch.manual_seed(2)
    densities = torch.rand(2, 1, 4, 5, 6)  # D, H, W
    volumes = structures.Volumes(
        densities=densities, features=torch.rand(2, 3, 4, 5, 6),
        voxel_size=torch.tensor([0.1, 0.2, 0.3]), volume_translation=(1.0, -2.0, 0.5),
    )  # fmt: skip
    assert volumes.get_grid_sizes().tolist() == [[4, 5, 6]] * 2
    points = torch.randn(2, 10, 3)
    back = volumes.local_to_world_coords(volumes.world_to_local_coords(points))
    torch.testing.assert_close(back, points, atol=1e-5, rtol=1e-5)
    # world = local * (size_xyz - 1) * voxel_size / 2 - translation.
    half = torch.tensor([5 * 0.1, 4 * 0.2, 3 * 0.3]) / 2
    shift = torch.tensor([1.0, -2.0, 0.5])
    grid = volumes.get_coord_grid()  # (2, D, H, W, 3)
    assert grid.shape == (2, 4, 5, 6, 3)
    torch.testing.assert_close(grid[0, 0, 0, 0], -half - shift)
    torch.testing.assert_close(grid[0, -1, -1, -1], half - shift)
    torch.testing.assert_close(grid[0, 0, 0, 1] - grid[0, 0, 0, 0], torch.tensor([0.1, 0, 0]))
    local = volumes.get_coord_grid(world_coordinates=False)
    torch.testing.assert_close(local[0, -1, 0, 0], torch.tensor([-1.0, -1.0, 1.0]))
    assert len(volumes[1]) == 1 and volumes[1].features().shape == (1, 3, 4, 5, 6)
    with pytest.raises(ValueError, match="5-dim"):
        structures.Volumes(densities=torch.rand(1, 4, 5, 6))


def test_volume_sampler_reads_voxel_centres_and_chunks(monkeypatch) -> None:
    from course_utils.p3d.builtin.renderer.implicit import renderer as implicit_renderer

    torch.manual_seed(3)
    volumes = structures.Volumes(
        densities=torch.rand(1, 1, 5, 6, 7), features=torch.rand(1, 2, 5, 6, 7),
        voxel_size=0.25, volume_translation=(0.3, 0.0, -0.2),
    )  # fmt: skip
    centres = volumes.get_coord_grid()[0].reshape(-1, 3)
    # Rays from the origin with unit lengths reach exactly the voxel centres.
    bundle = renderer.RayBundle(
        origins=torch.zeros(1, len(centres), 3), directions=centres[None],
        lengths=torch.ones(1, len(centres), 1), xys=torch.zeros(1, len(centres), 2),
    )  # fmt: skip
    dens, feats = renderer.VolumeSampler(volumes)(bundle)
    torch.testing.assert_close(
        dens[0, :, 0, 0], volumes.densities()[0, 0].reshape(-1), atol=1e-5, rtol=0
    )
    torch.testing.assert_close(
        feats[0, :, 0], volumes.features()[0].reshape(2, -1).T, atol=1e-5, rtol=0
    )
    monkeypatch.setattr(implicit_renderer, "POINTS_PER_CHUNK", 7)
    dens_chunked, feats_chunked = renderer.VolumeSampler(volumes)(bundle)
    assert torch.equal(dens_chunked, dens) and torch.equal(feats_chunked, feats)


def test_volume_renderer_of_a_homogeneous_box() -> None:
    """Uniform per-sample opacity c inside a box: opacity 1 - (1 - c)^k, k samples inside."""
    c = 0.05
    cameras = renderer.FoVPerspectiveCameras(
        R=torch.eye(3)[None], T=torch.tensor([[0.0, 0.0, 3.0]])
    )
    sampler = renderer.NDCMultinomialRaysampler(
        image_width=3, image_height=3, n_pts_per_ray=41, min_depth=1.5, max_depth=4.5
    )
    vr = renderer.VolumeRenderer(
        sampler, renderer.EmissionAbsorptionRaymarcher(), sample_mode="bilinear"
    )
    volumes = structures.Volumes(
        densities=torch.full((1, 1, 8, 8, 8), c),
        features=torch.ones(1, 3, 8, 8, 8),
        voxel_size=2 / 7,
    )
    images, _ = vr(cameras=cameras, volumes=volumes)
    # The centre ray runs along world z = length - 3. With align_corners=True the voxel
    # centres span [-1, 1]; beyond them trilinear sampling ramps to the zero padding over
    # one voxel spacing (2/7).
    z = torch.linspace(1.5, 4.5, 41, dtype=torch.float64) - 3
    per_sample = c * (1 - (z.abs() - 1).clamp(min=0) / (2 / 7)).clamp(min=0)
    expected = 1 - torch.prod(1 - per_sample)
    assert images[0, 1, 1, 3].item() == pytest.approx(float(expected), abs=1e-5)
    # The colour grid (ones) ramps to zero the same way: rgb = sum_k a_k T_k f_k.
    transmittance = torch.cumprod(torch.cat([torch.ones(1, dtype=z.dtype), 1 - per_sample[:-1]]), 0)
    rgb = float((per_sample * transmittance * per_sample / c).sum())
    assert images[0, 1, 1, :3].tolist() == pytest.approx([rgb] * 3, abs=1e-5)


def test_gradients_match_finite_differences() -> None:
    torch.manual_seed(4)
    alpha = torch.rand(2, 5, 1, dtype=torch.float64, requires_grad=True)
    features = torch.rand(2, 5, 3, dtype=torch.float64, requires_grad=True)
    marcher = renderer.EmissionAbsorptionRaymarcher()
    assert torch.autograd.gradcheck(lambda a, f: marcher(a, f), (alpha, features))
    # Rendering a smooth blob: gradient with respect to the camera translation.
    cameras = _cameras(1, dtype=torch.float64)
    sampler = renderer.NDCMultinomialRaysampler(
        image_width=3, image_height=3, n_pts_per_ray=16, min_depth=1.5, max_depth=4.5
    )

    def blob(ray_bundle, **kwargs):
        points = renderer.ray_bundle_to_ray_points(ray_bundle)
        density = torch.exp(-(points**2).sum(-1) * 2)
        return (1 - torch.exp(-0.3 * density))[..., None], points.abs()

    implicit = renderer.ImplicitRenderer(sampler, marcher)

    def render(T):
        cams = renderer.FoVPerspectiveCameras(R=cameras.R, T=T, fov=50.0)
        return implicit(cameras=cams, volumetric_function=blob)[0]

    T = cameras.T.clone().requires_grad_(True)
    # PyTorch3D builds an FoV camera's projection matrix in float32 whatever the dtype of R
    # and T, so its rays carry float32 rounding: finite differences need a longer step there.
    steps = {"atol": 1e-6} if BACKEND == "torch" else {"eps": 3e-4, "atol": 2e-3, "rtol": 1e-2}
    assert torch.autograd.gradcheck(render, (T,), **steps)
    # Volume sampling is linear in the voxel values. (PyTorch3D's Volumes keep their
    # voxel size and translation in float32: float32 there, and a step that is exact.)
    dtype = torch.float64 if BACKEND == "torch" else torch.float32
    dens = torch.rand(1, 1, 3, 3, 3, dtype=dtype, requires_grad=True)
    bundle = renderer.RayBundle(
        origins=torch.zeros(1, 4, 3, dtype=dtype),
        directions=torch.rand(1, 4, 3, dtype=dtype) - 0.5,
        lengths=torch.rand(1, 4, 5, dtype=dtype), xys=torch.zeros(1, 4, 2),
    )  # fmt: skip

    def sample(d):
        return renderer.VolumeSampler(structures.Volumes(densities=d))(bundle)[0]

    steps = {} if dtype == torch.float64 else {"eps": 1e-2, "atol": 1e-4, "rtol": 1e-3}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # gradcheck's note on float32 inputs
        assert torch.autograd.gradcheck(sample, (dens,), **steps)
