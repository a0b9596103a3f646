"""Fitting 3D Gaussians to posed images: Adam, densification, pruning, opacity resets.

The recipe of Kerbl et al. (2023), shortened for a CPU:

- **Initialise** from coloured points on the surface (the reference code uses the sparse
  points structure-from-motion produced; the course lifts the training views' depth maps,
  :func:`points_from_views`) or from random points in a box.
- **Optimise** every parameter with Adam on the L1 photometric loss, one random training
  view per step; the position learning rate decays exponentially.
- **Densify** every ``densify_every`` steps: Gaussians whose *view-space positional
  gradient* (the gradient of the loss w.r.t. their 2D mean, averaged over the views that
  saw them) is large sit where the image is still wrong. Small ones are **cloned** (a copy
  at the same place: the two then drift apart), large ones are **split** into two smaller
  ones sampled from the original's own distribution.
- **Prune** Gaussians that became (almost) transparent or huge.
- **Reset opacities** now and then to a low value: Gaussians that are really needed get
  theirs back within a few steps, the rest (floaters in front of cameras) are pruned.

Adam's moment estimates follow every Gaussian through densification and pruning, so a
Gaussian's optimiser state is never lost or mixed up with another's.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from course_utils.config import budget_clock
from course_utils.p3d import ops
from course_utils.splats.gaussians import Gaussians, inverse_sigmoid
from course_utils.splats.rasterize import render_gaussians

__all__ = ["FitConfig", "FitResult", "fit_gaussians", "points_from_views", "evaluate_psnr"]

_NAMES = ("means", "log_scales", "quats", "opacity_logits", "sh0", "sh_rest")


@dataclass
class FitConfig:
    """Hyper-parameters: the reference recipe, with learning rates doubled and densification
    twice as frequent, for budgets of a few thousand steps instead of 30,000."""

    steps: int = 3000
    sh_degree: int = 1
    lr_means: float = 3.2e-4  # times the scene extent, decaying to 1% of it
    lr_sh0: float = 5e-3
    lr_sh_rest: float = 2.5e-3 / 20
    lr_opacity: float = 0.1
    lr_scales: float = 1e-2
    lr_quats: float = 2e-3
    densify_from: int = 50
    densify_until_fraction: float = 0.6
    densify_every: int = 50
    grad_threshold: float = 2e-4  # mean |d loss / d mean2d| in NDC units
    dense_fraction: float = 0.01  # clone below, split above this fraction of the extent
    opacity_reset_every: int = 1000
    prune_opacity: float = 0.005
    max_gaussians: int = 200_000
    sh_up_every: int = 500  # raise the SH degree by one every so many steps
    init_scale: float = 0.5  # initial standard deviation, in units of the gap to neighbours
    init_opacity: float = 0.8


@dataclass
class FitResult:
    """``history``: (training seconds, held-out PSNR); ``counts``: (step, seconds, number of
    Gaussians); ``events``: (step, what happened) for densification plots."""

    gaussians: Gaussians
    history: list[tuple[float, float]] = field(default_factory=list)
    counts: list[tuple[int, float, int]] = field(default_factory=list)
    events: list[tuple[int, str]] = field(default_factory=list)
    steps: int = 0


def points_from_views(views, num_points: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Coloured surface points lifted from the training views' depth maps.

    Plays the part of the structure-from-motion points the reference implementation starts
    from: every object pixel of a training view, unprojected with its depth, gives a world
    point and its colour. ``num_points`` of them are drawn at random.

    Returns:
        ``points`` ``(num_points, 3)`` and ``colors`` ``(num_points, 3)``.
    """
    gen = torch.Generator().manual_seed(seed)
    size = views.image_size
    coords = (size - 1 - 2 * torch.arange(size, dtype=torch.float32)) / size  # NDC of pixel centres
    pts, cols = [], []
    for i in views.train:
        mask = (views.masks[i] > 0.5) & (views.depths[i] > 0)
        rows, columns = torch.nonzero(mask, as_tuple=True)
        xy_depth = torch.stack([coords[columns], coords[rows], views.depths[i][rows, columns]], 1)
        cam = views.cameras(i)
        pts.append(cam.unproject_points(xy_depth[None], world_coordinates=True)[0])
        cols.append(views.images[i][rows, columns])
    pts, cols = torch.cat(pts), torch.cat(cols)
    pick = torch.randperm(pts.shape[0], generator=gen)[:num_points]
    return pts[pick], cols[pick]


def _scene_extent(views) -> float:
    """Radius of the camera centres around their mean, times 1.1 (as the reference code)."""
    centres = views.cameras().get_camera_center()
    return 1.1 * float((centres - centres.mean(0)).norm(dim=1).max())


@torch.no_grad()
def evaluate_psnr(gaussians: Gaussians, views, indices=None) -> float:
    """Mean PSNR (dB) of renders against ``views.images`` over ``indices`` (held-out views)."""
    indices = views.test if indices is None else indices
    values = []
    for i in indices:
        out = render_gaussians(
            gaussians, views.cameras(i, gaussians.means.device), views.image_size, views.background
        )
        mse = float(
            ((out.images[0].clamp(0, 1) - views.images[i].to(out.images.device)) ** 2).mean()
        )
        values.append(10 * math.log10(1.0 / max(mse, 1e-12)))
    return sum(values) / len(values)


class _Trainer:
    """The parameters, their Adam optimiser, and the surgery densification needs."""

    def __init__(self, gaussians: Gaussians, config: FitConfig, extent: float) -> None:
        g = gaussians.detach()
        # The degree-0 colour and the higher SH coefficients learn at different rates, so
        # they are separate tensors here (joined when rendering).
        self.params = {
            "means": g.means, "log_scales": g.log_scales, "quats": g.quats,
            "opacity_logits": g.opacity_logits, "sh0": g.sh[:, :1], "sh_rest": g.sh[:, 1:],
        }  # fmt: skip
        self.params = {n: t.contiguous().requires_grad_() for n, t in self.params.items()}
        self.config, self.extent = config, extent
        lrs = {
            "means": config.lr_means * extent,
            "log_scales": config.lr_scales,
            "quats": config.lr_quats,
            "opacity_logits": config.lr_opacity,
            "sh0": config.lr_sh0,
            "sh_rest": config.lr_sh_rest,
        }
        self.opt = torch.optim.Adam(
            [{"params": [self.params[n]], "lr": lrs[n], "name": n} for n in _NAMES], eps=1e-15
        )
        self.base_lr_means = lrs["means"]
        self._reset_stats()

    def __len__(self) -> int:
        return self.params["means"].shape[0]

    def gaussians(self, k: int | None = None) -> Gaussians:
        """The current Gaussians (differentiable) with the first ``k`` SH coefficients."""
        p = self.params
        rest = p["sh_rest"] if k is None else p["sh_rest"][:, : k - 1]
        return Gaussians(
            p["means"],
            p["log_scales"],
            p["quats"],
            p["opacity_logits"],
            torch.cat([p["sh0"], rest], 1),
        )

    def _reset_stats(self) -> None:
        device = self.params["means"].device
        self.grad_accum = torch.zeros(len(self), device=device)
        self.grad_count = torch.zeros(len(self), device=device)

    def _replace(self, new: dict[str, torch.Tensor], keep: torch.Tensor, num_new: int) -> None:
        """Swap in new parameter tensors; Adam state: kept rows move along, new rows start at 0."""
        for group in self.opt.param_groups:
            name = group["name"]
            old = group["params"][0]
            param = new[name].detach().requires_grad_()
            state = self.opt.state.pop(old, None)
            if state:
                for key in ("exp_avg", "exp_avg_sq"):
                    kept = state[key][keep]
                    state[key] = torch.cat([kept, kept.new_zeros((num_new, *kept.shape[1:]))])
                self.opt.state[param] = state
            group["params"][0] = param
            self.params[name] = param

    def densify_and_prune(self, step: int, screen_scale: float) -> str:
        cfg = self.config
        avg = self.grad_accum / self.grad_count.clamp(min=1) * screen_scale
        big_grad = avg >= cfg.grad_threshold
        with torch.no_grad():
            log_scales = self.params["log_scales"].detach()
            scales = log_scales.exp().max(1).values
            clone = big_grad & (scales <= cfg.dense_fraction * self.extent)
            split = big_grad & ~clone
            room = cfg.max_gaussians - len(self)
            if int(clone.sum()) + int(split.sum()) > room:  # over budget: keep the strongest
                order = torch.argsort(avg * big_grad, descending=True)
                allowed = torch.zeros_like(big_grad)
                allowed[order[: max(room // 2, 0)]] = True
                clone, split = clone & allowed, split & allowed
            params = {n: t.detach() for n, t in self.params.items()}
            # Split: two samples from the Gaussian's own distribution, each 1.6x smaller.
            idx = torch.nonzero(split).flatten().repeat(2)
            rot = _rotation(params["quats"][idx])
            offsets = (
                rot
                @ (
                    torch.randn(len(idx), 3, 1, device=idx.device)
                    * log_scales[idx].exp()[..., None]
                )
            )[..., 0]
            new_split = {n: params[n][idx] for n in _NAMES}
            new_split["means"] = new_split["means"] + offsets
            new_split["log_scales"] = new_split["log_scales"] - math.log(1.6)
            cidx = torch.nonzero(clone).flatten()
            new_clone = {n: params[n][cidx] for n in _NAMES}
            opac = torch.sigmoid(params["opacity_logits"])
            prune = (opac < cfg.prune_opacity) | split | (scales > 0.1 * self.extent)
            keep = ~prune
            merged = {n: torch.cat([params[n][keep], new_clone[n], new_split[n]]) for n in _NAMES}
            num_new = len(cidx) + len(idx)
            self._replace(merged, keep, num_new)
        self._reset_stats()
        return f"cloned {len(cidx)}, split {int(split.sum())}, pruned {int((prune & ~split).sum())}"

    def reset_opacity(self) -> None:
        with torch.no_grad():
            low = float(inverse_sigmoid(0.01))
            new = {n: t.detach() for n, t in self.params.items()}
            new["opacity_logits"] = new["opacity_logits"].clamp(max=low)
            keep = torch.ones(len(self), dtype=torch.bool, device=new["means"].device)
            self._replace(new, keep, 0)
            state = self.opt.state.get(self.params["opacity_logits"])
            if state:
                state["exp_avg"].zero_()
                state["exp_avg_sq"].zero_()


def _rotation(quats: torch.Tensor) -> torch.Tensor:
    from course_utils.p3d import transforms

    return transforms.quaternion_to_matrix(quats / quats.norm(dim=1, keepdim=True))


def fit_gaussians(
    views,
    seconds: float | None = None,
    config: FitConfig | None = None,
    init: Gaussians | None = None,
    num_points: int = 20000,
    eval_every: float = 10.0,
    device: str | torch.device = "cpu",
    seed: int = 0,
    progress: bool = True,
    clock: str | Callable[[], float] = "wall",
) -> FitResult:
    """Fit Gaussians to ``views`` (a :class:`course_utils.scene_views.SceneViews`).

    Args:
        views: posed images; ``views.train`` are fitted, ``views.test`` measured.
        seconds: stop after this much training time (evaluation not counted), or after
            ``config.steps`` steps, whichever comes first. None: the steps decide.
        config: hyper-parameters.
        init: starting Gaussians; None: ``num_points`` points from :func:`points_from_views`.
        eval_every: held-out PSNR every so many training seconds (and at the end).
        device: where to train.
        clock: what ``seconds`` counts: ``"wall"`` time (default) or ``"cpu"``, this
            process's CPU time (fair on a machine shared with other jobs), as chapter 09's
            trainers; or any function returning seconds.

    Returns:
        :class:`FitResult` with the Gaussians, ``history`` [(seconds, held-out PSNR)] in
        the format chapter 09's trainers use, and the number of Gaussians over time.
    """
    config = config or FitConfig()
    if isinstance(clock, str):
        clock = budget_clock(clock, "fit_gaussians: ")
    if config.sh_degree not in (0, 1, 2):
        raise ValueError(f"FitConfig.sh_degree must be 0, 1 or 2, got {config.sh_degree}")
    torch.manual_seed(seed)
    rng = random.Random(seed)
    extent = _scene_extent(views)
    if init is None:
        points, colors = points_from_views(views, num_points, seed)
        # Start each Gaussian about as wide as the gap to its neighbours.
        knn = ops.knn_points(points[None], points[None], K=4)  # squared distances, self first
        spacing = knn.dists[0, :, 1:].clamp(min=1e-12).sqrt().mean(1).clamp(min=1e-4)
        init = Gaussians.from_points(
            points,
            colors,
            config.init_scale * spacing,
            opacity=config.init_opacity,
            sh_degree=config.sh_degree,
        )
    trainer = _Trainer(init.to(device), config, extent)
    images = views.images.to(device)
    size = views.image_size
    screen_scale = size / 2.0  # pixel gradients -> NDC gradients
    result = FitResult(trainer.gaussians(1))
    elapsed, next_eval, step = 0.0, 0.0, 0
    active_k = 1  # SH coefficients in use (degree 0 first)
    bar = tqdm(total=config.steps, disable=not progress, desc="splats")
    while step < config.steps and (seconds is None or elapsed < seconds):
        if elapsed >= next_eval:
            result.history.append(
                (elapsed, evaluate_psnr(trainer.gaussians(active_k).detach(), views))
            )
            next_eval += eval_every
        start = clock()
        i = rng.choice(views.train)
        rendered = render_gaussians(
            trainer.gaussians(active_k), views.cameras(i, device), size, views.background
        )
        loss = (rendered.images[0] - images[i]).abs().mean()  # L1, as the reference (without SSIM)
        trainer.opt.zero_grad(set_to_none=True)
        loss.backward()
        with torch.no_grad():
            seen = rendered.radii[0] > 0
            grad = rendered.means2d[0].grad
            if grad is not None:
                trainer.grad_accum += torch.where(
                    seen, grad.norm(dim=1), torch.zeros_like(trainer.grad_accum)
                )
                trainer.grad_count += seen.float()
        # Progress through the schedule: by steps, or by time when a time budget is set.
        done = step / max(config.steps - 1, 1)
        if seconds:
            done = max(done, elapsed / seconds)
        trainer.opt.param_groups[0]["lr"] = trainer.base_lr_means * (0.01 ** min(done, 1.0))
        trainer.opt.step()
        step += 1
        densifying = step >= config.densify_from and done <= config.densify_until_fraction
        if densifying and step % config.densify_every == 0:
            result.events.append((step, trainer.densify_and_prune(step, screen_scale)))
        if step % config.opacity_reset_every == 0 and densifying:
            trainer.reset_opacity()
            result.events.append((step, "opacity reset"))
        if step % config.sh_up_every == 0 and active_k < (config.sh_degree + 1) ** 2:
            active_k = (int(math.isqrt(active_k)) + 1) ** 2
        elapsed += clock() - start
        result.counts.append((step, elapsed, len(trainer)))
        bar.update(1)
        bar.set_postfix(n=len(trainer), loss=f"{loss.item():.4f}")
    bar.close()
    result.gaussians = trainer.gaussians(active_k).detach()
    result.history.append((elapsed, evaluate_psnr(result.gaussians, views)))
    result.steps = step
    return result
