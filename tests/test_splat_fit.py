"""Fitting Gaussians: lifted initial points lie on the surface, densification clones and
splits what it should and carries Adam's state along, and a short fit improves held-out PSNR."""

from __future__ import annotations

import math

import pytest
import torch

from course_utils.scene_views import make_scene_views
from course_utils.splats import Gaussians
from course_utils.splats.fit import (
    FitConfig,
    _Trainer,
    evaluate_psnr,
    fit_gaussians,
    points_from_views,
)

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def views():
    return make_scene_views("mug", num_views=10, image_size=32, num_test=2)


def test_points_from_views_lie_on_the_surface(views):
    points, colors = points_from_views(views, 500)
    assert points.shape == (500, 3) and colors.shape == (500, 3)
    assert points.norm(dim=1).max() < 1.05  # the mug is scaled into the unit ball
    # Seen from a training camera, a point lifted from that view lands where it came from.
    i = views.train[0]
    own, _ = points_from_views(type(views)(**{**views.__dict__, "train": [i]}), 50)
    screen = views.cameras(i).transform_points_screen(own[None], image_size=((32, 32),))[0]
    cols, rows = screen[:, 0].floor().long(), screen[:, 1].floor().long()
    view_z = (own @ views.R[i] + views.T[i])[:, 2]
    torch.testing.assert_close(view_z, views.depths[i][rows, cols], atol=1e-4, rtol=1e-4)


def _trainer(p=6):
    g = Gaussians.from_points(torch.randn(p, 3) * 0.3, scale=0.01, opacity=0.5, sh_degree=1)
    g.log_scales[0] = math.log(0.2)  # big: is split
    g.log_scales[1] = math.log(0.005)  # small: is cloned
    g.opacity_logits[5] = -10.0  # transparent: is pruned
    trainer = _Trainer(g, FitConfig(), extent=3.0)
    trainer.grad_accum[:2] = 1.0
    trainer.grad_count[:] = 1.0
    for group in trainer.opt.param_groups:  # recognisable Adam state per row
        param = group["params"][0]
        rows = torch.arange(len(param), dtype=torch.float32).view(-1, *[1] * (param.dim() - 1))
        trainer.opt.state[param] = {
            "step": torch.tensor(1.0),
            "exp_avg": rows.expand_as(param).clone(),
            "exp_avg_sq": rows.expand_as(param).clone() + 100,
        }
    return g, trainer


def test_densify_clones_splits_prunes_and_keeps_adam_state():
    g, trainer = _trainer()
    message = trainer.densify_and_prune(100, screen_scale=1.0)
    assert message == "cloned 1, split 1, pruned 1"
    # kept: 1, 2, 3, 4 (0 was split, 5 pruned); then the clone of 1; then two halves of 0.
    assert len(trainer) == 4 + 1 + 2
    means = trainer.params["means"].detach()
    torch.testing.assert_close(means[:4], g.means[1:5])
    torch.testing.assert_close(means[4], g.means[1])
    halves = trainer.params["log_scales"].detach()[5:]
    torch.testing.assert_close(halves, g.log_scales[[0, 0]] - math.log(1.6))
    state = trainer.opt.state[trainer.params["means"]]
    assert state["exp_avg"][:5, 0].tolist() == [1.0, 2.0, 3.0, 4.0, 0.0]  # moved along; new rows 0
    assert (state["exp_avg_sq"][4:] == 0).all()


def test_opacity_reset_lowers_opacities_only():
    g, trainer = _trainer()
    trainer.reset_opacity()
    assert torch.sigmoid(trainer.params["opacity_logits"]).max() <= 0.01 + 1e-6
    torch.testing.assert_close(trainer.params["means"].detach(), g.means)


def test_a_short_fit_improves_the_fitted_views(views):
    points, colors = points_from_views(views, 800)
    init = Gaussians.from_points(points, colors, 0.03, 0.8)
    before = evaluate_psnr(init, views, views.train)
    config = FitConfig(steps=60, densify_from=20, densify_every=20, sh_degree=0)
    result = fit_gaussians(views, config=config, init=init, eval_every=1e9, progress=False)
    after = evaluate_psnr(result.gaussians, views, views.train)
    assert result.steps == 60 and after > before + 1.0, (before, after)  # 60 steps: a start
    assert any("cloned" in what for _, what in result.events)
    assert [c[2] for c in result.counts][-1] == len(result.gaussians)
    with pytest.raises(ValueError, match="clock"):
        fit_gaussians(views, config=config, clock="gpu")
