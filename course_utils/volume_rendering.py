"""Chapter 09's helpers: ray pictures, analytic volumes, SDFs, sphere tracing, plots.

The lesson code (transmittance, the fits, the losses) stays in the notebook; this module
holds the plumbing around it: a plotly figure of rays and samples, signed distance
functions turned into volumetric functions for PyTorch3D's ``ImplicitRenderer``
(VolSDF's Laplace-CDF density), sphere tracing, a small neural SDF, spiral cameras for
novel-view GIFs and the PSNR-vs-time plot.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = [
    "NeuralSDF",
    "laplace_density",
    "plot_psnr_curves",
    "ray_figure",
    "sdf_volumetric_function",
    "sphere_trace",
    "spiral_cameras",
    "view_dependence_figure",
]


def ray_figure(bundle: Any, every: int = 1, title: str = "rays and samples") -> Any:
    """A plotly figure of one camera's rays: origin, the rays, their sample points.

    Args:
        bundle: a ``RayBundle`` of one camera, ``origins`` ``(1, H, W, 3)``, ``lengths``
            ``(1, H, W, P)``.
        every: draw every ``every``-th ray in each direction.
    """
    import plotly.graph_objects as go

    from course_utils.p3d import renderer

    points = renderer.ray_bundle_to_ray_points(bundle)[0, ::every, ::every]  # (h, w, P, 3)
    points = points.reshape(-1, points.shape[-2], 3).detach().cpu().numpy()
    origin = bundle.origins[0, 0, 0].detach().cpu().numpy()
    lines_x, lines_y, lines_z = [], [], []
    for ray in points:  # plotly wants one polyline with None gaps; a handful of rays
        for a, b in ((origin, ray[-1]),):
            lines_x += [a[0], b[0], None]
            lines_y += [a[1], b[1], None]
            lines_z += [a[2], b[2], None]
    samples = points.reshape(-1, 3)
    fig = go.Figure(
        [
            go.Scatter3d(x=lines_x, y=lines_y, z=lines_z, mode="lines", name="rays",
                         line={"color": "lightgray", "width": 2}),
            go.Scatter3d(x=samples[:, 0], y=samples[:, 1], z=samples[:, 2], mode="markers",
                         name="samples", marker={"size": 2, "color": "royalblue"}),
            go.Scatter3d(x=[origin[0]], y=[origin[1]], z=[origin[2]], mode="markers",
                         name="camera centre", marker={"size": 6, "color": "crimson"}),
        ]
    )  # fmt: skip
    fig.update_layout(title=title, height=450, margin={"l": 0, "r": 0, "t": 30, "b": 0},
                      scene={"aspectmode": "data"})  # fmt: skip
    return fig


def laplace_density(sdf: torch.Tensor, beta: float) -> torch.Tensor:
    """VolSDF's density (Yariv et al. 2021): ``sigma = Psi_beta(-sdf) / beta``.

    ``Psi_beta`` is the CDF of a zero-mean Laplace distribution of scale ``beta``: the
    density is ``1 / beta`` deep inside, ``1 / (2 beta)`` on the surface, and falls off
    like ``exp(-d / beta)`` outside. Smaller ``beta``: a sharper surface.
    """
    s = -sdf
    cdf = torch.where(s <= 0, 0.5 * torch.exp(s.clamp(max=0) / beta),
                      1 - 0.5 * torch.exp(-s.clamp(min=0) / beta))  # fmt: skip
    return cdf / beta


def sdf_volumetric_function(
    sdf: Callable[[torch.Tensor], torch.Tensor],
    beta: float = 0.02,
    colour: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> Callable[..., tuple[torch.Tensor, torch.Tensor]]:
    """A volumetric function (for ``ImplicitRenderer``) of the solid ``sdf < 0``.

    Densities are :func:`laplace_density`; per-sample opacities ``1 - exp(-sigma delta)``
    (``delta``: the world length between samples). Colours default to a normal-free
    position colouring ``0.5 + 0.5 * p``.
    """
    from course_utils.p3d import renderer

    def function(ray_bundle: Any, **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        points = renderer.ray_bundle_to_ray_points(ray_bundle)
        gaps = ray_bundle.lengths[..., 1:] - ray_bundle.lengths[..., :-1]
        gaps = torch.cat([gaps, gaps[..., -1:]], dim=-1)
        delta = gaps * ray_bundle.directions.norm(dim=-1, keepdim=True)
        sigma = laplace_density(sdf(points), beta)
        opacity = 1 - torch.exp(-sigma * delta)
        rgb = colour(points) if colour is not None else (0.5 + 0.5 * points).clamp(0, 1)
        return opacity[..., None], rgb

    return function


def sphere_trace(
    sdf: Callable[[torch.Tensor], torch.Tensor],
    origins: torch.Tensor,
    directions: torch.Tensor,
    near: float = 0.0,
    far: float = 10.0,
    steps: int = 64,
    eps: float = 1e-4,
) -> tuple[torch.Tensor, torch.Tensor]:
    """March each ray by the SDF value (a step that cannot cross the surface).

    Args:
        sdf: ``(..., 3) -> (...)`` signed distances (a true distance or a lower bound).
        origins, directions: ``(R, 3)`` rays; directions are normalised here.
        near, far: the distance range searched.
        steps: iterations (all rays step together; finished rays stop moving).
        eps: a ray has hit when ``|sdf| < eps``.

    Returns:
        ``(t (R,), hit (R,) bool)``: distance along the unit direction, and whether the
        surface was reached before ``far``.
    """
    directions = torch.nn.functional.normalize(directions, dim=-1)
    t = torch.full(origins.shape[:1], near, dtype=origins.dtype, device=origins.device)
    for _ in range(steps):
        d = sdf(origins + t[:, None] * directions)
        active = (d.abs() > eps) & (t < far)
        t = torch.where(active, t + d, t)
    hit = (sdf(origins + t[:, None] * directions).abs() < 10 * eps) & (t < far)
    return t, hit


class NeuralSDF(nn.Module):
    """An MLP ``f(x) -> signed distance`` on positionally encoded points (softplus
    activations, smooth enough for the eikonal term's second derivatives)."""

    def __init__(
        self, n_harmonic_functions: int = 4, n_hidden: int = 64, n_layers: int = 3
    ) -> None:
        super().__init__()
        from course_utils.p3d import renderer

        self.embed = renderer.HarmonicEmbedding(n_harmonic_functions)
        layers: list[nn.Module] = []
        width = self.embed.get_output_dim(3)
        for _ in range(n_layers):
            layers += [nn.Linear(width, n_hidden), nn.Softplus(beta=100)]
            width = n_hidden
        layers.append(nn.Linear(width, 1))
        self.mlp = nn.Sequential(*layers)
        # Start near the SDF of a sphere of radius 0.5 (geometric initialisation, roughly).
        with torch.no_grad():
            self.mlp[-1].bias.fill_(-0.5)

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        """``(..., 3)`` points -> ``(...)`` signed distances."""
        return self.mlp(self.embed(points))[..., 0] + points.norm(dim=-1)


def spiral_cameras(views: Any, frames: int = 24, elev: tuple[float, float] = (-10.0, 40.0)) -> Any:
    """``FoVPerspectiveCameras`` on a spiral around the scene of ``views`` (novel views):
    one turn of azimuth while the elevation swings between ``elev`` and back."""
    from course_utils.p3d import renderer

    azim = torch.linspace(0.0, 360.0, frames + 1)[:-1]
    swing = torch.sin(torch.linspace(0.0, 2 * math.pi, frames + 1)[:-1])
    el = elev[0] + (elev[1] - elev[0]) * (0.5 + 0.5 * swing)
    R, T = renderer.look_at_view_transform(dist=views.dist, elev=el, azim=azim)
    return renderer.FoVPerspectiveCameras(
        R=R, T=T, fov=views.fov, znear=views.znear, zfar=views.zfar
    )


def plot_psnr_curves(
    histories: dict[str, Sequence[tuple[float, float]]], target: float | None = None
) -> Any:
    """Held-out PSNR against training time, one line per method (matplotlib figure)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, history in histories.items():
        if history:
            seconds, values = zip(*history)
            ax.plot(seconds, values, marker="o", markersize=3, label=name)
    if target is not None:
        ax.axhline(target, color="gray", linestyle="--", linewidth=1, label=f"{target:g} dB")
    ax.set_xlabel("training time (s)")
    ax.set_ylabel("held-out PSNR (dB)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def view_dependence_figure(
    views: Any, fields: dict[str, Callable], index: Sequence[int], n_pts: int = 96
) -> tuple[Any, dict[str, list[float]]]:
    """Compare fields on some views: the truth, and per field its render and error map.

    Rows are the views ``index``; columns the truth, then for every field its render and
    ``|render - truth|`` summed over RGB (one colour scale for all error maps, so a
    highlight a field cannot reproduce shows up as a bright patch in its map).

    Args:
        views: a :class:`~course_utils.scene_views.SceneViews`.
        fields: name -> a field of :mod:`course_utils.radiance_fields`.
        index: the views to show.

    Returns:
        ``(figure, {name: [PSNR dB of each view]})``.
    """
    import matplotlib.pyplot as plt

    from course_utils.radiance_fields import render_views
    from course_utils.scene_views import psnr

    index = list(index)
    truth = views.images[index]
    renders = {
        name: render_views(f, views, index, n_pts=n_pts)["rgb"] for name, f in fields.items()
    }
    errors = {name: (r - truth).abs().sum(-1) for name, r in renders.items()}
    top = max(float(e.max()) for e in errors.values()) or 1.0
    scores = {
        name: [psnr(r[i], truth[i]) for i in range(len(index))] for name, r in renders.items()
    }
    cols = 1 + 2 * len(fields)
    fig, axes = plt.subplots(
        len(index), cols, figsize=(2.1 * cols, 2.2 * len(index)), squeeze=False
    )
    for row in range(len(index)):
        axes[row, 0].imshow(truth[row].clamp(0, 1))
        axes[row, 0].set_title("truth" if row == 0 else "", fontsize=9)
        for k, name in enumerate(fields):
            axes[row, 1 + 2 * k].imshow(renders[name][row].clamp(0, 1))
            axes[row, 1 + 2 * k].set_title(f"{name}\n{scores[name][row]:.1f} dB", fontsize=8)
            axes[row, 2 + 2 * k].imshow(errors[name][row], cmap="inferno", vmin=0, vmax=top)
            axes[row, 2 + 2 * k].set_title("|error|" if row == 0 else "", fontsize=9)
    for ax in axes.flat:
        ax.axis("off")
    fig.tight_layout()
    return fig, scores


def to_image(tensor: torch.Tensor) -> np.ndarray:
    """``(H, W, 3)`` or ``(H, W)`` float in [0, 1] -> uint8 array for GIFs."""
    return (tensor.detach().clamp(0, 1).cpu().numpy() * 255).round().astype(np.uint8)
