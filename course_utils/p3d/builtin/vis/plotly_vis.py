"""``pytorch3d.vis.plotly_vis``: meshes, point clouds and cameras as interactive plotly figures.

``plot_scene({"subplot title": {"trace name": struct, ...}, ...})`` makes one 3D subplot
per key, each holding its ``Meshes`` (``Mesh3d`` traces, coloured by ``TexturesVertex`` or
grey), ``Pointclouds`` (``Scatter3d`` markers, coloured by their RGB features) and cameras
(``CamerasBase``: a wireframe glyph at each camera, pointing along its +Z). The figure
can be rotated and zoomed with the mouse in JupyterLab, Colab and an HTML export.

Axes are PyTorch3D's world axes; the plotly view's "up" is world +Y, as in PyTorch3D.
With ``viewpoint_cameras`` the initial view is taken from a camera (its eye, look-at
point and up vector). A batch of N structures in one trace is drawn as N traces
(``name 0`` …); :func:`plot_batch_individually` puts batch elements in separate subplots.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import torch

__all__ = ["AxisArgs", "Lighting", "get_camera_wireframe", "plot_batch_individually", "plot_scene"]


class AxisArgs(NamedTuple):
    """Plotly axis settings applied to x, y and z of every subplot (defaults: a bare scene)."""

    showgrid: bool = False
    zeroline: bool = False
    showline: bool = False
    ticks: str = ""
    showticklabels: bool = False
    backgroundcolor: str = "#fff"
    showaxeslabels: bool = False


class Lighting(NamedTuple):
    """Plotly ``Mesh3d`` lighting (mostly ambient, so every side of a mesh is visible)."""

    ambient: float = 0.8
    diffuse: float = 1.0
    fresnel: float = 0.0
    specular: float = 0.0
    roughness: float = 0.5
    facenormalsepsilon: float = 1e-6
    vertexnormalsepsilon: float = 1e-12


def get_camera_wireframe(scale: float = 0.3) -> torch.Tensor:
    """``(15, 3)`` view-space points of a camera glyph, to be drawn as one polyline.

    The glyph is a pyramid from the centre (origin) to an image rectangle at z = 2, with a
    small "up" tick on the rectangle's +Y side and a line along +Z (the viewing direction).
    """
    a, b = [-1.0, 0.75, 2.0], [1.0, 0.75, 2.0]
    c, d = [-1.0, -0.75, 2.0], [1.0, -0.75, 2.0]
    up1, up2 = [0.0, 0.75, 2.0], [0.0, 1.0, 2.0]
    centre, forward = [0.0, 0.0, 0.0], [0.0, 0.0, 3.0]
    path = [a, up1, up2, up1, b, d, c, a, centre, b, d, centre, c, centre, forward]
    return torch.tensor(path, dtype=torch.float32) * scale


def _numpy(x: torch.Tensor) -> np.ndarray:
    return x.detach().cpu().double().numpy()


def _rgb_strings(colors: np.ndarray) -> list[str]:
    """``(M, 3)`` RGB in [0, 1] -> plotly ``rgb(r,g,b)`` strings."""
    values = np.clip(np.rint(colors[:, :3] * 255), 0, 255).astype(int)
    return [f"rgb({r},{g},{b})" for r, g, b in values]


def _mesh_traces(meshes: Any, name: str, lighting: Lighting) -> list[Any]:
    import plotly.graph_objects as go

    textures = getattr(meshes, "textures", None)
    colors = None
    if textures is not None and hasattr(textures, "verts_features_list"):
        colors = textures.verts_features_list()
    traces = []
    for n, (verts, faces) in enumerate(zip(meshes.verts_list(), meshes.faces_list())):
        v, f = _numpy(verts), faces.detach().cpu().numpy()
        extra: dict[str, Any] = {"color": "lightgray"}
        if colors is not None and colors[n].shape[-1] >= 3:
            extra = {"vertexcolor": _rgb_strings(_numpy(colors[n]))}
        traces.append(
            go.Mesh3d(
                x=v[:, 0],
                y=v[:, 1],
                z=v[:, 2],
                i=f[:, 0],
                j=f[:, 1],
                k=f[:, 2],
                name=name if len(meshes) == 1 else f"{name} {n}",
                lighting=lighting._asdict(),
                showlegend=True,
                **extra,
            )  # fmt: skip
        )
    return traces


def _pointcloud_traces(clouds: Any, name: str, max_points: int, marker_size: float) -> list[Any]:
    import plotly.graph_objects as go

    features = clouds.features_list()
    traces = []
    generator = torch.Generator().manual_seed(0)
    for n, points in enumerate(clouds.points_list()):
        keep = torch.arange(points.shape[0])
        if points.shape[0] > max_points:  # a fixed random subset keeps the figure light
            keep = torch.randperm(points.shape[0], generator=generator)[:max_points]
        p = _numpy(points[keep.to(points.device)])
        marker: dict[str, Any] = {"size": marker_size}
        if features is not None and features[n].shape[-1] >= 3:
            marker["color"] = _rgb_strings(_numpy(features[n][keep.to(points.device)]))
        traces.append(
            go.Scatter3d(
                x=p[:, 0],
                y=p[:, 1],
                z=p[:, 2],
                mode="markers",
                marker=marker,
                name=name if len(clouds) == 1 else f"{name} {n}",
            )  # fmt: skip
        )
    return traces


def _camera_traces(cameras: Any, name: str, scale: float) -> list[Any]:
    import plotly.graph_objects as go

    wire = get_camera_wireframe(scale).to(cameras.device)
    view_to_world = cameras.get_world_to_view_transform().inverse()
    world = view_to_world.transform_points(wire[None].expand(len(cameras), -1, -1))
    segments = []
    for w in _numpy(world):  # one polyline per camera, separated by gaps (None)
        segments.append(w)
        segments.append(np.full((1, 3), np.nan))
    lines = np.concatenate(segments)
    return [
        go.Scatter3d(
            x=lines[:, 0],
            y=lines[:, 1],
            z=lines[:, 2],
            mode="lines",
            name=name,
            line={"width": 2},
            connectgaps=False,
        )  # fmt: skip
    ]


def _bounds(traces: list[Any]) -> list[list[float]]:
    """A cube around every point of the traces (plotly's aspectmode "cube")."""
    pts = [
        np.stack([np.asarray(t.x, float), np.asarray(t.y, float), np.asarray(t.z, float)], 1)
        for t in traces
        if t.x is not None and len(t.x)
    ]
    if not pts:
        return [[-1.0, 1.0]] * 3
    allp = np.concatenate(pts)
    allp = allp[np.isfinite(allp).all(1)]
    lo, hi = allp.min(0), allp.max(0)
    centre, half = (lo + hi) / 2, max(float((hi - lo).max()) / 2, 1e-6) * 1.1
    return [[float(c - half), float(c + half)] for c in centre]


def _view_from_camera(camera: Any, ranges: list[list[float]]) -> dict[str, Any]:
    """Plotly scene camera (eye / centre / up in the unit cube) from a PyTorch3D camera."""
    from course_utils.p3d.builtin.renderer.camera_utils import camera_to_eye_at_up

    eye, at, up = (x[0].tolist() for x in camera_to_eye_at_up(camera.get_world_to_view_transform()))

    def to_unit(value: float, axis: int, offset: bool = True) -> float:
        lo, hi = ranges[axis]
        return (value - (lo + hi) / 2 * offset) / ((hi - lo) / 2)

    return {
        "eye": dict(zip("xyz", (to_unit(eye[i], i) for i in range(3)))),
        "center": dict(zip("xyz", (to_unit(at[i], i) for i in range(3)))),
        "up": dict(zip("xyz", (to_unit(up[i], i, offset=False) for i in range(3)))),
    }


def plot_scene(
    plots: dict[str, dict[str, Any]],
    *,
    viewpoint_cameras: Any = None,
    ncols: int = 1,
    camera_scale: float = 0.3,
    pointcloud_max_points: int = 20000,
    pointcloud_marker_size: float = 1,
    **kwargs: Any,
) -> Any:
    """One rotatable 3D subplot per entry of ``plots``; returns a ``plotly.graph_objects.Figure``.

    Args:
        plots: ``{subplot title: {trace name: Meshes | Pointclouds | CamerasBase}}``.
        viewpoint_cameras: cameras (one, or one per subplot) giving the initial views.
        ncols: subplots per row.
        camera_scale: size of the camera glyphs (world units).
        pointcloud_max_points: at most this many points drawn per cloud (random subset).
        pointcloud_marker_size: marker size of the points.
        **kwargs: ``axis_args`` (:class:`AxisArgs`), ``lighting`` (:class:`Lighting`),
            ``xaxis`` / ``yaxis`` / ``zaxis`` (plotly axis settings merged over them).
            PyTorch3D's ray-bundle arguments are not supported.
    """
    from plotly.subplots import make_subplots

    for key in kwargs:
        if key.startswith("raybundle"):
            raise NotImplementedError(
                f"plot_scene argument {key}: ray bundles are not drawn by the course's "
                "built-in backend; install real PyTorch3D for them."
            )
    axis_args = kwargs.get("axis_args", AxisArgs())
    lighting = kwargs.get("lighting", Lighting())
    titles = list(plots)
    if not titles:
        raise ValueError("plot_scene: plots is empty; give {'title': {'name': Meshes(...)}}")
    rows = (len(titles) + ncols - 1) // ncols
    cols = min(ncols, len(titles))
    fig = make_subplots(
        rows=rows, cols=cols, subplot_titles=titles,
        specs=[[{"type": "scene"}] * cols for _ in range(rows)],
    )  # fmt: skip
    if viewpoint_cameras is not None and len(viewpoint_cameras) not in (1, len(titles)):
        raise ValueError(
            f"plot_scene: {len(viewpoint_cameras)} viewpoint cameras for {len(titles)} "
            "subplots; give one, or one per subplot"
        )
    for index, title in enumerate(titles):
        traces = []
        for name, struct in plots[title].items():
            kind = type(struct).__name__
            if hasattr(struct, "faces_list") and hasattr(struct, "verts_list"):
                traces += _mesh_traces(struct, name, lighting)
            elif hasattr(struct, "points_list"):
                traces += _pointcloud_traces(
                    struct, name, pointcloud_max_points, pointcloud_marker_size
                )
            elif hasattr(struct, "get_world_to_view_transform"):
                traces += _camera_traces(struct, name, camera_scale)
            else:
                raise ValueError(
                    f"plot_scene: {title!r}/{name!r} is a {kind}; expected Meshes, "
                    "Pointclouds or cameras"
                )
        row, col = index // ncols + 1, index % ncols + 1
        for trace in traces:
            fig.add_trace(trace, row=row, col=col)
        ranges = _bounds(traces)
        axes = {}
        for axis, axis_range in zip(("xaxis", "yaxis", "zaxis"), ranges):
            settings = {**axis_args._asdict(), "range": axis_range, "title": axis[0]}
            settings.update(kwargs.get(axis, {}))
            axes[axis] = settings
        camera: dict[str, Any] = {"up": {"x": 0.0, "y": 1.0, "z": 0.0}}  # PyTorch3D: +Y up
        if viewpoint_cameras is not None:
            chosen = viewpoint_cameras[index if len(viewpoint_cameras) > 1 else 0]
            camera = _view_from_camera(chosen, ranges)
        scene = "scene" if index == 0 else f"scene{index + 1}"
        fig.layout[scene].update(aspectmode="cube", camera=camera, **axes)
    fig.update_layout(height=500 * rows, showlegend=True, margin={"l": 0, "r": 0, "t": 40, "b": 0})
    return fig


def plot_batch_individually(
    batched_structs: Any | Sequence[Any],
    *,
    viewpoint_cameras: Any = None,
    ncols: int = 1,
    extend_struct: bool = True,
    subplot_titles: Sequence[str] | None = None,
    **kwargs: Any,
) -> Any:
    """One subplot per batch element: element n of every struct goes into subplot n.

    Args:
        batched_structs: a batched ``Meshes`` / ``Pointclouds`` / cameras, or a list of them.
        extend_struct: a struct of batch size 1 is shown in every subplot.
        subplot_titles: one title per subplot (default ``subplot 1`` …).
        Other arguments as in :func:`plot_scene`.
    """
    structs = (
        list(batched_structs) if isinstance(batched_structs, (list, tuple)) else [batched_structs]
    )
    if not structs:
        raise ValueError("plot_batch_individually: no structures given")
    size = max(len(s) for s in structs)
    if subplot_titles is not None and len(subplot_titles) != size:
        raise ValueError(
            f"plot_batch_individually: {len(subplot_titles)} subplot titles for a batch of {size}"
        )
    titles = list(subplot_titles) if subplot_titles else [f"subplot {n + 1}" for n in range(size)]
    plots: dict[str, dict[str, Any]] = {}
    for n, title in enumerate(titles):
        plots[title] = {}
        for i, struct in enumerate(structs):
            if n < len(struct):
                plots[title][f"trace{i + 1}-{n}"] = struct[n]
            elif len(struct) == 1 and extend_struct:
                plots[title][f"trace{i + 1}-{n}"] = struct[0]
    return plot_scene(plots, viewpoint_cameras=viewpoint_cameras, ncols=ncols, **kwargs)
