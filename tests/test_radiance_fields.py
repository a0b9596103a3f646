"""Radiance fields: the renderer's weights, empty-space skipping, coarse-to-fine, training."""

from __future__ import annotations

import math

import pytest
import torch

from course_utils import radiance_fields
from course_utils.volume_rendering import laplace_density, sphere_trace


@pytest.fixture(scope="module")
def tiny_views(module_cache_dir):
    from course_utils.scene_views import make_scene_views

    return make_scene_views("mug", num_views=12, image_size=24, num_test=2, batch=12)


class _Constant(radiance_fields.GridRadianceField):
    """A homogeneous medium of density sigma (and one colour) filling the cube."""

    def __init__(self, sigma: float) -> None:
        super().__init__(resolution=4)
        self.sigma = sigma

    def density_and_colour(self, points, directions=None):
        return torch.full(points.shape[:1], self.sigma), torch.full((len(points), 3), 0.25)


def test_render_rays_of_a_homogeneous_cube_follow_beer_lambert() -> None:
    sigma = 1.3
    field = _Constant(sigma)
    origins = torch.tensor([[0.0, 0.0, -3.0], [0.3, 0.0, -3.0]])
    directions = torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    rgb, depth, alpha = radiance_fields.render_rays(
        field, origins, directions, 1.0, 5.0, 2001, background=(1.0, 1.0, 1.0)
    )
    chord = 2 * field.extent  # both rays cross the whole cube along z
    expected = 1 - math.exp(-sigma * chord)
    assert alpha.tolist() == pytest.approx([expected] * 2, abs=2e-3)
    # Colour over a white background: 0.25 * alpha + (1 - alpha).
    assert rgb[:, 0].tolist() == pytest.approx([0.25 * expected + 1 - expected] * 2, abs=2e-3)
    # Expected depth of an exponential distribution truncated to the chord.
    near = 3 - field.extent
    mean = near + 1 / sigma - chord * math.exp(-sigma * chord) / (1 - math.exp(-sigma * chord))
    assert depth.tolist() == pytest.approx([mean] * 2, abs=5e-3)


def test_occupancy_skips_samples_without_changing_a_render() -> None:
    torch.manual_seed(0)
    field = radiance_fields.GridRadianceField(resolution=16)
    with torch.no_grad():
        field.grid[:, 0] = -20.0  # empty everywhere ...
        field.grid[:, 0, 6:10, 6:10, 6:10] = 4.0  # ... but a dense block in the middle
        field.grid[:, 1:] = torch.randn_like(field.grid[:, 1:])
    origins = torch.tensor([[0.0, 0.0, -3.0]]).expand(50, 3) + torch.randn(50, 3) * 0.1
    directions = torch.nn.functional.normalize(-origins + torch.randn(50, 3) * 0.05, dim=-1)
    before = radiance_fields.render_rays(field, origins, directions, 1.0, 5.0, 64, (1.0, 1.0, 1.0))
    occupied = field.update_occupancy(size=16)
    assert 0 < occupied < 0.2
    after = radiance_fields.render_rays(field, origins, directions, 1.0, 5.0, 64, (1.0, 1.0, 1.0))
    for a, b in zip(before, after):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


def test_upsampling_keeps_the_field() -> None:
    torch.manual_seed(1)
    field = radiance_fields.GridRadianceField(resolution=9)
    with torch.no_grad():
        field.grid.copy_(torch.randn_like(field.grid))
    # The old voxel centres: 9 -> 17 keeps each of them as a voxel centre of the new grid.
    axis = torch.linspace(-field.extent, field.extent, 9)
    points = torch.stack(torch.meshgrid(axis, axis, axis, indexing="ij"), -1).reshape(-1, 3)
    sigma, rgb = field.density_and_colour(points)
    field.upsample(17)
    assert field.resolution == 17 and field.voxel == pytest.approx(2 * field.extent / 16)
    sigma2, rgb2 = field.density_and_colour(points)
    torch.testing.assert_close(sigma2, sigma, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(rgb2, rgb, rtol=1e-5, atol=1e-5)


def test_visual_hull_contains_the_object_and_carves_the_corners(tiny_views) -> None:
    hull = radiance_fields.visual_hull(tiny_views, size=16)
    assert not hull[0, 0, 0] and not hull[-1, -1, -1]
    assert 0.05 < hull.float().mean() < 0.6


def test_grid_field_learns_in_a_few_steps(tiny_views) -> None:
    before = radiance_fields.held_out_psnr(radiance_fields.GridRadianceField(24), tiny_views)
    field, history = radiance_fields.train_grid_field(
        tiny_views, 60.0, resolution=24, coarse_resolution=12, batch_rays=512, n_pts=48,
        max_steps=40, eval_every=1e9, progress=False,
    )  # fmt: skip
    assert len(history) == 1 and history[0][1] > before + 3.0


def test_laplace_density_and_sphere_tracing() -> None:
    beta = 0.1
    values = laplace_density(torch.tensor([-10.0, 0.0, 10.0]), beta)
    assert values.tolist() == pytest.approx([1 / beta, 0.5 / beta, 0.0], abs=1e-3)

    def sphere(p):
        return p.norm(dim=-1) - 0.5

    origins = torch.tensor([[0.0, 0.0, -2.0], [0.0, 0.3, -2.0], [0.0, 0.9, -2.0]])
    t, hit = sphere_trace(sphere, origins, torch.tensor([[0.0, 0.0, 1.0]]).expand(3, 3))
    assert hit.tolist() == [True, True, False]
    assert t[:2].tolist() == pytest.approx([1.5, 2 - math.sqrt(0.25 - 0.09)], abs=1e-3)


def test_trainers_reject_an_unknown_clock(tiny_views) -> None:
    with pytest.raises(ValueError, match="clock"):
        radiance_fields.train_nerf(tiny_views, 1.0, max_steps=1, progress=False, clock="gpu")


def test_nerf_colour_depends_on_direction_only_when_asked() -> None:
    torch.manual_seed(5)
    points = torch.rand(10, 3) - 0.5
    d1 = torch.nn.functional.normalize(torch.randn(10, 3), dim=-1)
    d2 = torch.nn.functional.normalize(torch.randn(10, 3), dim=-1)
    for view_dependence in (False, True):
        field = radiance_fields.NeRFField(n_hidden=32, n_layers=2, view_dependence=view_dependence)
        sigma1, rgb1 = field.density_and_colour(points, d1)
        sigma2, rgb2 = field.density_and_colour(points, d2)
        torch.testing.assert_close(sigma1, sigma2)  # density never depends on the direction
        assert torch.allclose(rgb1, rgb2) != view_dependence


def test_evaluations_at_chosen_times_and_the_callback(tiny_views) -> None:
    # eval_at=[0]: an evaluation right after the first step; eval_every huge: none between;
    # the last step is always evaluated. on_eval sees exactly the history's entries.
    seen = []
    _, history = radiance_fields.train_grid_field(
        tiny_views, 1e9, resolution=8, coarse_resolution=None, n_pts=16, batch_rays=64,
        max_steps=3, eval_every=1e9, eval_at=[0.0], progress=False,
        on_eval=lambda s, p: seen.append((s, p)),
    )  # fmt: skip
    assert len(history) == 2 and seen == history
    assert 0 < history[0][0] < history[1][0]


def test_rays_left_out_of_training_cannot_meet_the_hull(tiny_views) -> None:
    # A field opaque everywhere in the visual hull: every ray hull_rays leaves out must
    # render pure background (it crosses no hull cell), and the ones kept include every
    # ray of the object's pixels.
    field = radiance_fields.GridRadianceField(resolution=8)
    with torch.no_grad():
        field.grid[:, 0] = 30.0  # opaque wherever it is evaluated
    field.occupancy = radiance_fields.visual_hull(tiny_views, size=48, extent=field.extent)
    useful = radiance_fields.hull_rays(tiny_views, 48, field.extent)
    masks = tiny_views.masks[tiny_views.train].reshape(-1)
    assert useful[masks > 0].all()
    assert 0.1 < useful.float().mean() < 0.9  # it does leave rays out
    origins, directions = radiance_fields.view_rays(tiny_views, tiny_views.train)
    origins, directions = origins.reshape(-1, 3)[~useful], directions.reshape(-1, 3)[~useful]
    _, _, alpha = radiance_fields.render_rays(
        field, origins, directions, tiny_views.znear, tiny_views.zfar, 256, (1.0, 1.0, 1.0)
    )
    assert alpha.max() == 0.0
    # ... while the kept rays next to the object do hit it (the test can fail).
    origins, directions = radiance_fields.view_rays(tiny_views, tiny_views.train)
    kept = origins.reshape(-1, 3)[masks > 0], directions.reshape(-1, 3)[masks > 0]
    _, _, alpha = radiance_fields.render_rays(
        field, *kept, tiny_views.znear, tiny_views.zfar, 256, (1.0, 1.0, 1.0)
    )
    assert alpha.min() > 0.99


def test_coarse_to_fine_switches_at_the_earlier_of_fraction_and_seconds(tiny_views) -> None:
    common = dict(
        resolution=12, coarse_resolution=6, n_pts=16, batch_rays=64, max_steps=2,
        eval_every=1e9, progress=False,
    )  # fmt: skip
    # coarse_seconds=0: the first step already passes it, so the grid ends fine ...
    field, _ = radiance_fields.train_grid_field(tiny_views, 1e9, coarse_seconds=0.0, **common)
    assert field.resolution == 12
    # ... the fraction alone of a huge budget is never reached: it stays coarse.
    field, _ = radiance_fields.train_grid_field(tiny_views, 1e9, coarse_seconds=None, **common)
    assert field.resolution == 6
