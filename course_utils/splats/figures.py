"""Pictures for chapter 10: one Gaussian's footprint (with a slider), spiral cameras and
GIFs, PSNR-against-time curves, densification plots. Plumbing only: the lesson's code is
in the notebook and in :mod:`course_utils.splats.rasterize`."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from course_utils.atomic import temporary_path
from course_utils.p3d import renderer
from course_utils.splats.gaussians import Gaussians
from course_utils.splats.rasterize import project_gaussians, render_gaussians

__all__ = [
    "single_gaussian",
    "front_camera",
    "footprint_figure",
    "footprint_viewer",
    "spiral_cameras",
    "spiral_gif",
    "psnr_time_figure",
    "densification_figure",
]


def front_camera(dist: float = 3.0, fov: float = 40.0) -> Any:
    """A ``FoVPerspectiveCameras`` on the -Z side of the origin looking along +Z."""
    return renderer.FoVPerspectiveCameras(
        fov=fov, R=torch.eye(3)[None], T=torch.tensor([[0.0, 0.0, dist]])
    )


def single_gaussian(
    scale_x: float = 0.3,
    scale_y: float = 0.1,
    scale_z: float = 0.1,
    turn: float = 30.0,
    tilt: float = 0.0,
    opacity: float = 0.9,
    color: Sequence[float] = (0.9, 0.3, 0.1),
    offset: Sequence[float] = (0.0, 0.0, 0.0),
) -> Gaussians:
    """One Gaussian with these standard deviations, turned by ``turn`` degrees about the view
    axis (Z) and then tilted by ``tilt`` degrees about the vertical axis (Y)."""
    half_turn, half_tilt = math.radians(turn) / 2, math.radians(tilt) / 2
    q_turn = torch.tensor([math.cos(half_turn), 0.0, 0.0, math.sin(half_turn)])
    q_tilt = torch.tensor([math.cos(half_tilt), 0.0, math.sin(half_tilt), 0.0])
    from course_utils.p3d import transforms

    quat = transforms.quaternion_multiply(q_tilt, q_turn)
    g = Gaussians.from_points(
        torch.tensor([list(offset)]), torch.tensor([list(color)]), 1.0, opacity
    )
    g.log_scales = torch.log(torch.tensor([[scale_x, scale_y, scale_z]]))
    g.quats = quat[None]
    return g


def _ellipse(mean: np.ndarray, cov: np.ndarray, k: float) -> tuple[np.ndarray, np.ndarray]:
    """Points of the ellipse ``(x - mean)ᵀ cov⁻¹ (x - mean) = k²`` (pixel coordinates)."""
    values, vectors = np.linalg.eigh(cov)
    t = np.linspace(0, 2 * np.pi, 100)
    circle = np.stack([np.cos(t), np.sin(t)])
    pts = vectors @ (k * np.sqrt(values)[:, None] * circle) + mean[:, None]
    return pts[0], pts[1]


def footprint_figure(gaussians: Gaussians, camera: Any = None, size: int = 96) -> Any:
    """The rendered alpha of the Gaussians next to the 1σ/2σ/3σ ellipses the Jacobian predicts."""
    import matplotlib.pyplot as plt

    camera = camera or front_camera()
    with torch.no_grad():
        out = render_gaussians(gaussians, camera, size, background=(1.0, 1.0, 1.0))
        proj = project_gaussians(gaussians, camera, (size, size))
    fig, axes = plt.subplots(1, 2, figsize=(7, 3.5))
    axes[0].imshow(out.images[0].clamp(0, 1).numpy())
    axes[0].set_title("rendered colour")
    axes[1].imshow(out.alphas[0].numpy(), cmap="magma", vmin=0, vmax=1)
    for i in range(len(gaussians)):
        mean, cov = proj.means2d[i].numpy(), proj.cov2d[i].numpy()
        for k, style in ((1, "-"), (2, "--"), (3, ":")):
            axes[1].plot(*_ellipse(mean, cov, k), style, color="cyan", lw=1)
    a, b, c = proj.cov2d[0, 0, 0].item(), proj.cov2d[0, 0, 1].item(), proj.cov2d[0, 1, 1].item()
    axes[1].set_title(
        f"alpha, 1σ/2σ/3σ of Σ₂ = [[{a:.1f}, {b:.1f}], [{b:.1f}, {c:.1f}]] px²", fontsize=8
    )
    for ax in axes:
        ax.set_xlim(-0.5, size - 0.5)
        ax.set_ylim(size - 0.5, -0.5)
        ax.set_axis_off()
    fig.tight_layout()
    return fig


def footprint_viewer(size: int = 96) -> Any:
    """Sliders for one Gaussian's scales and orientation; the figure follows them.

    Returns an ipywidgets box in a notebook with widgets; without ipywidgets, the
    figure of the default Gaussian (so the notebook still runs, e.g. under tests).
    """
    try:
        import ipywidgets as widgets
    except ImportError:
        return footprint_figure(single_gaussian(), size=size)
    import matplotlib.pyplot as plt

    sliders = {
        "scale_x": widgets.FloatSlider(
            value=0.3, min=0.02, max=0.6, step=0.02, description="scale x"
        ),
        "scale_y": widgets.FloatSlider(
            value=0.1, min=0.02, max=0.6, step=0.02, description="scale y"
        ),
        "scale_z": widgets.FloatSlider(
            value=0.1, min=0.02, max=0.6, step=0.02, description="scale z"
        ),
        "turn": widgets.FloatSlider(
            value=30.0, min=-90.0, max=90.0, step=5.0, description="turn (Z)"
        ),
        "tilt": widgets.FloatSlider(
            value=0.0, min=-90.0, max=90.0, step=5.0, description="tilt (Y)"
        ),
    }
    image = widgets.Image(format="png")

    def update(_change: Any = None) -> None:
        fig = footprint_figure(
            single_gaussian(**{k: s.value for k, s in sliders.items()}), size=size
        )
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=80)
        plt.close(fig)
        image.value = buffer.getvalue()

    for slider in sliders.values():
        slider.observe(update, names="value")
    update()
    return widgets.VBox([image, *sliders.values()])


def spiral_cameras(
    views: Any, num_frames: int, elev_amplitude: float = 30.0, device: Any = "cpu"
) -> Any:
    """``num_frames`` cameras circling the object once while rising and sinking (a spiral
    path of novel views), at the distance and field of view of ``views``."""
    azim = torch.linspace(0.0, 360.0, num_frames + 1)[:-1]
    elev = elev_amplitude * torch.sin(torch.linspace(0.0, 2 * math.pi, num_frames + 1)[:-1])
    R, T = renderer.look_at_view_transform(dist=views.dist, elev=elev, azim=azim)
    return renderer.FoVPerspectiveCameras(
        R=R, T=T, fov=views.fov, znear=views.znear, zfar=views.zfar, device=device
    )


def spiral_gif(
    gaussians: Gaussians,
    views: Any,
    path: str | Path,
    num_frames: int = 24,
    size: int | None = None,
) -> tuple[Path, np.ndarray]:
    """Render the spiral and write it as a GIF (atomically); returns the path and the frames."""
    import imageio.v3 as iio

    cameras = spiral_cameras(views, num_frames, device=gaussians.means.device)
    with torch.no_grad():
        out = render_gaussians(gaussians, cameras, size or views.image_size, views.background)
    frames = (out.images.clamp(0, 1).cpu().numpy() * 255).round().astype(np.uint8)
    with temporary_path(path) as tmp:
        iio.imwrite(tmp, frames, extension=".gif", duration=80.0, loop=0)
    return Path(path), frames


def psnr_time_figure(curves: dict[str, Sequence[tuple[float, float]]], title: str = "") -> Any:
    """Held-out PSNR against training wall time, one line per method."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.8))
    for name, history in curves.items():
        seconds, values = zip(*history)
        ax.plot(seconds, values, marker="o", ms=3, label=name)
    ax.set_xlabel("training time (s, this machine)")
    ax.set_ylabel("held-out PSNR (dB)")
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(title)
    fig.tight_layout()
    return fig


def densification_figure(result: Any) -> Any:
    """Number of Gaussians and held-out PSNR over training time, with the densification steps."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    steps, seconds, counts = zip(*result.counts)
    ax.plot(seconds, counts, color="tab:blue")
    ax.set_xlabel("training time (s)")
    ax.set_ylabel("number of Gaussians", color="tab:blue")
    when = dict(zip(steps, seconds))
    for step, what in result.events:
        ax.axvline(
            when.get(step, 0.0), color="tab:red" if "reset" in what else "grey", lw=0.6, alpha=0.6
        )
    right = ax.twinx()
    right.plot(*zip(*result.history), color="tab:green", marker="o", ms=3)
    right.set_ylabel("held-out PSNR (dB)", color="tab:green")
    ax.set_title("densification (grey lines), opacity resets (red)")
    fig.tight_layout()
    return fig
