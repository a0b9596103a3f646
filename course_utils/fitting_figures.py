"""Pictures for chapter 04 (fitting voxels, point clouds and meshes).

The chapter fits three representations to one shape and compares them from one fixed
camera. This module holds the plumbing of its pictures, so that the notebook's cells keep
only the fitting code:

- :class:`Camera` — the chapter's fixed view; ``look`` renders a ``Meshes`` or
  ``Pointclouds`` from it (a white image when there is nothing to draw), ``frame`` one GIF
  frame from a camera that turns over the GIF, ``flat`` a flat-shaded render that shows
  every facet;
- :func:`painted`, :func:`voxel_mesh`, :func:`cloud` — one-colour shapes to render (an empty
  voxel grid gives an empty mesh *without* textures: PyTorch3D cannot pad empty textures);
- :func:`frame_steps` — which steps of a fit record a GIF frame;
- :func:`mesh_quality` — the numbers that tell a crumpled mesh from a good one;
- the loss/score curves of each section (``plot_*``), every axis labelled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch

from course_utils import rendering, voxels
from course_utils.p3d import loss, renderer, structures

VOXEL_COLOUR = (0.45, 0.65, 0.95)  # voxel grids: blue cubes
POINT_COLOUR = (0.95, 0.55, 0.2)  # point clouds: orange discs


def painted(mesh: Any, colour: Sequence[float]) -> Any:
    """The same single mesh with ``colour`` (3 floats in [0, 1]) on every vertex.

    An empty mesh (no vertices) comes back without textures: an empty ``TexturesVertex``
    cannot be padded by PyTorch3D (``list_to_padded`` fails on an empty list), and there is
    nothing to colour anyway.
    """
    verts_list = mesh.verts_list()
    if sum(len(v) for v in verts_list) == 0:
        return structures.Meshes(verts_list, mesh.faces_list())
    features = [
        torch.tensor(colour, device=v.device, dtype=v.dtype).expand(len(v), 3) for v in verts_list
    ]
    return structures.Meshes(
        verts_list, mesh.faces_list(), textures=renderer.TexturesVertex(features)
    )


def voxel_mesh(occupancy: torch.Tensor, bounds: Any, colour: Sequence[float] = VOXEL_COLOUR) -> Any:
    """(1, D, H, W) occupancies or probabilities -> blue cubes where >= 0.5, in world units."""
    return painted(voxels.voxels_to_mesh(occupancy.detach(), bounds=bounds), colour)


def cloud(points: torch.Tensor, colour: Sequence[float] = POINT_COLOUR) -> Any:
    """(1, P, 3) or (P, 3) points -> a one-colour ``Pointclouds`` (orange by default)."""
    p = points.detach().reshape(-1, 3)
    return structures.Pointclouds(
        [p], features=[torch.tensor(colour, device=p.device, dtype=p.dtype).expand(len(p), 3)]
    )


def _is_empty(obj: Any) -> bool:
    if hasattr(obj, "points_packed"):
        return len(obj.points_packed()) == 0
    return len(obj.faces_packed()) == 0


@dataclass
class Camera:
    """The chapter's one fixed camera: elevation, distance, the point looked at, image size.

    ``far`` is the distance of the GIFs that start from a cube filling the unit box.
    """

    elev: float = 20.0
    dist: float = 1.15
    image_size: int = 96
    far: float = 1.7
    frames: int = 4  # frames per progress GIF

    def _view(self, **kwargs: Any) -> dict:
        return {
            "elev": self.elev,
            "dist": self.dist,
            "at": (0.0, 0.0, 0.0),
            "image_size": self.image_size,
            **kwargs,
        }

    def look(self, obj: Any, azim: float = 30.0, **kwargs: Any) -> torch.Tensor:
        """One (S, S, 3) render; a white image when there is nothing to draw."""
        if _is_empty(obj):
            return torch.ones(self.image_size, self.image_size, 3)
        return rendering.render(obj, azim=azim, **self._view(**kwargs))[0]

    def frame(self, obj: Any, index: int, dist: float | None = None) -> np.ndarray:
        """GIF frame ``index`` (S, S, 3) uint8: the camera turns half a circle over the GIF."""
        azim = 30.0 + 180.0 * index / max(self.frames - 1, 1)
        return rendering.to_uint8(
            self.look(obj, azim=azim, dist=self.far if dist is None else dist)[None]
        )[0]

    def flat(self, mesh: Any, azim: float = 30.0) -> torch.Tensor:
        """(S, S, 3) flat-shaded render: every triangle lit by its own normal, so folds show."""
        mesh = painted(mesh, rendering.DEFAULT_COLOUR)
        if _is_empty(mesh):
            return torch.ones(self.image_size, self.image_size, 3)
        device = mesh.device
        R, T = renderer.look_at_view_transform(
            dist=self.dist, elev=self.elev, azim=azim, device=device
        )
        cameras = renderer.FoVPerspectiveCameras(R=R, T=T, device=device)
        flat_renderer = renderer.MeshRenderer(
            rasterizer=renderer.MeshRasterizer(
                cameras=cameras,
                raster_settings=renderer.RasterizationSettings(image_size=self.image_size),
            ),
            shader=renderer.HardFlatShader(
                cameras=cameras,
                lights=renderer.PointLights(location=cameras.get_camera_center(), device=device),
                blend_params=renderer.BlendParams(background_color=(1.0, 1.0, 1.0)),
                device=device,
            ),
        )
        return flat_renderer(mesh)[0, ..., :3].clamp(0, 1).cpu()


def frame_steps(steps: int, frames: int) -> dict[int, int]:
    """{step: frame index} for the steps a fit records a GIF frame at.

    Up to ``frames`` of them, from the first step to the last, closer together at the start,
    where most of the change happens.
    """
    picks = np.unique(np.geomspace(1, steps, frames).round().astype(int) - 1)
    return {int(step): index for index, step in enumerate(picks)}


def folded_share(mesh: Any, angle: float = 90.0) -> float:
    """Share of a closed mesh's edges whose two faces' normals differ by more than ``angle``°.

    A good surface bends gently: neighbouring faces' normals differ by a few degrees. A fold
    (one triangle flipped over its neighbour) shows as an angle above 90°.
    """
    normals = mesh.faces_normals_packed()  # (F, 3)
    faces = mesh.faces_packed()
    edges = (
        torch.cat([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]).sort(dim=1).values
    )  # (3F, 2)
    face_of = torch.arange(len(faces), device=faces.device).repeat(3)
    key = edges[:, 0] * len(mesh.verts_packed()) + edges[:, 1]
    order = key.argsort()
    key, face_of = key[order], face_of[order]
    pair = key[1:] == key[:-1]  # consecutive half-edges of one edge: its two faces
    first, second = face_of[:-1][pair], face_of[1:][pair]
    cosine = (normals[first] * normals[second]).sum(dim=1)
    return float((cosine < np.cos(np.radians(angle))).float().mean())


def mesh_quality(mesh: Any) -> dict[str, float]:
    """Numbers that tell a crumpled mesh from a good one (one mesh).

    ``edge spread``: standard deviation / mean of the edge lengths; ``folded``: share of edges
    folded over (:func:`folded_share`, > 90°); ``Laplacian`` and ``normal consistency``: the
    regularisers' own values on the result.
    """
    ends = mesh.verts_packed()[mesh.edges_packed()]  # (E, 2, 3)
    lengths = (ends[:, 0] - ends[:, 1]).norm(dim=1)
    return {
        "edge spread": float(lengths.std() / lengths.mean()),
        "folded": folded_share(mesh),
        "Laplacian": float(loss.mesh_laplacian_smoothing(mesh)),
        "normal consistency": float(loss.mesh_normal_consistency(mesh)),
    }


def describe(mesh: Any) -> str:
    """:func:`mesh_quality` as three lines for a picture's title."""
    q = mesh_quality(mesh)
    return (
        f"edge lengths ±{q['edge spread']:.0%}, folded {q['folded']:.1%}\n"
        f"Laplacian {q['Laplacian']:.1e}\nnormal consistency {q['normal consistency']:.1e}"
    )


def plot_fit(
    history: Mapping[str, Sequence[float]],
    loss_label: str,
    score: str,
    score_label: str,
    score_steps: Sequence[int] | None = None,
) -> plt.Figure:
    """Loss (log scale) and score curves of one fit, side by side."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    axes[0].semilogy(history["loss"])
    axes[0].set(xlabel="step", ylabel=loss_label, title="loss")
    steps = range(len(history[score])) if score_steps is None else score_steps
    axes[1].plot(steps, history[score])
    axes[1].set(
        xlabel="step", ylabel=score_label, ylim=(0, 1.02), title=f"{score_label} during the fit"
    )
    fig.tight_layout()
    return fig


def plot_runs(
    runs: Mapping[str, Mapping[str, Sequence[float]]],
    panels: Sequence[tuple[str, str]],
    title: str,
    lines: Mapping[str, float] | None = None,
) -> plt.Figure:
    """Curves of several runs, one panel per (history key, y label); ``lines``: {label: y}."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 3.3), squeeze=False)
    for ax, (key, ylabel) in zip(axes[0], panels):
        for style, (name, history) in zip(["-", "--", ":", "-."], runs.items()):
            ax.plot(history[key], style, label=name)
        for text, y in (lines or {}).items():
            if text.startswith(key + ":"):
                ax.axhline(y, color="k", ls=":", label=text.split(":", 1)[1])
        ax.set(xlabel="step", ylabel=ylabel, title=f"{title}: {ylabel}")
        if key in ("iou", "f1"):
            ax.set_ylim(0, 1.02)
        ax.legend()
    fig.tight_layout()
    return fig


def plot_terms(history: Mapping[str, Sequence[float]], weights: Mapping[str, float]) -> plt.Figure:
    """The terms of the mesh loss (log scale), each labelled with its weight."""
    fig, ax = plt.subplots(figsize=(7, 3.4))
    for name, values in history.items():
        ax.semilogy(values, label=f"{name} (weight {weights[name]})")
    ax.set(xlabel="step", ylabel="value (before weighting)", title="the terms of the mesh loss")
    ax.legend()
    return fig


def fit_slider(
    snapshots: Mapping[int, Any], camera: Camera, colour: Sequence[float] | None = None
) -> Any:
    """Scrub through a fit: a step slider and an azimuth slider over saved shapes.

    Args:
        snapshots: {step: Meshes or Pointclouds} saved during a fit.
        camera: the chapter's camera; meshes are drawn flat-shaded so that folds show.
        colour: paint meshes with this colour first (None: flat grey).

    Returns:
        An ipywidgets ``VBox`` (display it), or None where ipywidgets is missing. A static
        strip of three snapshots is drawn first, so that a page exported without its
        widgets (or a test run) still shows the fit.
    """
    steps = sorted(snapshots)
    picks = sorted({steps[0], steps[len(steps) // 2], steps[-1]})

    def picture(step: int, azim: float) -> torch.Tensor:
        shape = snapshots[step]
        if hasattr(shape, "points_packed"):
            return camera.look(shape, azim=azim)
        return camera.flat(shape if colour is None else painted(shape, colour), azim=azim)

    rendering.image_grid(
        [picture(s, 30.0) for s in picks], titles=[f"step {s + 1}" for s in picks], size=3.2
    )
    plt.show()
    try:
        import ipywidgets as widgets
    except ImportError:  # the static strip above is all there is
        return None
    step = widgets.SelectionSlider(
        options=[(str(s + 1), s) for s in steps], value=steps[-1], description="step"
    )
    azim = widgets.FloatSlider(value=30.0, min=-180.0, max=180.0, step=10.0, description="azimuth")
    image = widgets.Image(format="png", width=2 * camera.image_size, height=2 * camera.image_size)

    def update(_change: Any = None) -> None:
        image.value = rendering._png_bytes(picture(step.value, azim.value))

    for slider in (step, azim):
        slider.observe(update, names="value")
    update()
    return widgets.VBox([image, widgets.HBox([step, azim])])
