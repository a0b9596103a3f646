"""Quick matplotlib views of meshes and point clouds (no renderer needed).

matplotlib draws 3-D polygons with the painter's algorithm: good enough for a first look at
a mesh of a few thousand faces, and it works everywhere matplotlib does. The course's
renderer (chapter 02) makes proper images; these helpers are for chapters and checks that
come before it, and for looking at wireframes.

Axes: the course (like PyTorch3D) uses +Y up; matplotlib's 3-D axes use +Z up. Points are
drawn at ``(x, -z, y)`` — a rotation, not a mirror, so what you see is the real shape
with +Y pointing up on screen.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


def _to_plot_axes(points: np.ndarray) -> np.ndarray:
    """Course coordinates (+Y up) to matplotlib 3-D coordinates (+Z up), by a rotation."""
    return np.stack([points[..., 0], -points[..., 2], points[..., 1]], axis=-1)


def _split_in_four(corners: np.ndarray) -> np.ndarray:
    """``(F, 3, D)`` triangle corners -> ``(4F, 3, D)``, split at the edge midpoints."""
    a, b, c = corners[:, 0], corners[:, 1], corners[:, 2]
    ab, bc, ca = (a + b) / 2, (b + c) / 2, (c + a) / 2
    return np.concatenate(
        [np.stack(t, axis=1) for t in ((a, ab, ca), (b, bc, ab), (c, ca, bc), (ab, bc, ca))]
    )


def _sample_map(image: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Nearest texel of ``image`` (H, W, C) at ``uv`` (..., 2), v up (v = 1 is row 0)."""
    h, w = image.shape[:2]
    col = np.rint(np.clip(uv[..., 0], 0, 1) * (w - 1)).astype(int)
    row = np.rint((1 - np.clip(uv[..., 1], 0, 1)) * (h - 1)).astype(int)
    return image[row, col, :3]


def textured_triangles(
    mesh: Any, index: int = 0, min_faces: int = 0
) -> tuple[np.ndarray, np.ndarray | None]:
    """Triangle corners ``(F, 3, 3)`` (numpy) and one RGB colour per triangle (or None).

    The colour comes from the mesh's texture: vertex colours averaged over the face, or the
    UV-map texel under the face's centre.

    A UV texture has far more detail than a few big faces can show with one colour each,
    so UV-textured meshes are split into smaller triangles (for display only) until there
    are at least ``min_faces`` of them.
    """
    verts = mesh.verts_list()[index].detach().cpu().double().numpy()
    faces = mesh.faces_list()[index].cpu().numpy()
    triangles = verts[faces]
    textures = mesh.textures
    if textures is None:
        return triangles, None
    if hasattr(textures, "verts_features_list"):
        features = textures.verts_features_list()[index].detach().cpu().double().numpy()
        return triangles, np.clip(features[faces].mean(axis=1)[:, :3], 0, 1)
    if hasattr(textures, "maps_padded"):
        image = textures.maps_padded()[index].detach().cpu().double().numpy()
        uvs = textures.verts_uvs_list()[index].detach().cpu().double().numpy()
        corners_uv = uvs[textures.faces_uvs_list()[index].cpu().numpy()]
        while len(triangles) < min_faces:
            triangles, corners_uv = _split_in_four(triangles), _split_in_four(corners_uv)
        return triangles, np.clip(_sample_map(image, corners_uv.mean(axis=1)), 0, 1)
    return triangles, None


def _square_limits(ax: Any, points: np.ndarray) -> None:
    """Equal scale on all three axes, so a sphere looks like a sphere."""
    low, high = points.min(axis=0), points.max(axis=0)
    centre, half = (low + high) / 2, (high - low).max() / 2 * 1.05 + 1e-9
    ax.set_xlim(centre[0] - half, centre[0] + half)
    ax.set_ylim(centre[1] - half, centre[1] + half)
    ax.set_zlim(centre[2] - half, centre[2] + half)
    ax.set_box_aspect((1, 1, 1))


def plot_mesh(
    mesh: Any,
    ax: Any = None,
    index: int = 0,
    title: str | None = None,
    elev: float = 20.0,
    azim: float = -60.0,
    wireframe: bool = False,
    color: tuple[float, float, float] = (0.7, 0.75, 0.85),
    light_direction: tuple[float, float, float] = (0.3, 0.6, 0.8),
    axes: bool = True,
    texture_faces: int = 12000,
) -> Any:
    """Draw mesh ``index`` of a ``Meshes`` batch with matplotlib; returns the axes.

    Faces are coloured by the mesh's texture (vertex colours averaged per face, or the
    UV-map texel under the centre of each face, split finer for display) or ``color``,
    and shaded by how much they face ``light_direction`` (given in course coordinates,
    +Y up), so the shape reads in 3-D.

    Args:
        mesh: a ``Meshes`` (real or built-in PyTorch3D).
        ax: a matplotlib 3-D axes; a new figure is made when None.
        index: which mesh of the batch.
        title: axes title.
        elev, azim: matplotlib view angles (degrees).
        wireframe: draw edges only (shows the triangles).
        color: RGB used when the mesh has no texture.
        light_direction: direction towards the light.
        axes: show the axes and their labels.
        texture_faces: UV-textured meshes are drawn with at least this many (smaller)
            triangles so the texture shows (more is sharper and slower).

    To draw lines or labels over the mesh, make the axes with
    ``fig.add_subplot(projection="3d", computed_zorder=False)``; otherwise matplotlib's
    depth sorting may hide them behind the faces.
    """
    import matplotlib.pyplot as plt
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    if ax is None:
        fig = plt.figure(figsize=(5, 5))
        ax = fig.add_subplot(projection="3d")
    triangles, base = textured_triangles(mesh, index, min_faces=0 if wireframe else texture_faces)
    triangles = _to_plot_axes(triangles)  # (F, 3, 3)
    limits_from = triangles.reshape(-1, 3)
    if wireframe:
        collection = Poly3DCollection(
            triangles, facecolors=(1, 1, 1, 0), edgecolors=(0.1, 0.2, 0.4, 0.8), linewidths=0.4
        )
    else:
        if base is None:
            base = np.broadcast_to(np.asarray(color, float), (len(triangles), 3))
        normals = np.cross(triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0])
        normals /= np.linalg.norm(normals, axis=1, keepdims=True) + 1e-12
        # Painter's algorithm sorts whole triangles, so hidden ones can poke through;
        # dropping the triangles that face away from the viewer (back-face culling)
        # removes most of that for closed, outward-facing meshes.
        el, az = np.radians(elev), np.radians(azim)
        towards_viewer = np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
        front = normals @ towards_viewer > 0
        triangles, normals, base = triangles[front], normals[front], base[front]
        light = _to_plot_axes(np.asarray(light_direction, float))
        light /= np.linalg.norm(light)
        shade = 0.35 + 0.65 * np.clip(normals @ light, 0, 1)  # ambient + diffuse
        colours = np.clip(base * shade[:, None], 0, 1)
        # Edges in the face colour close the hairline gaps between neighbouring triangles.
        collection = Poly3DCollection(
            triangles, facecolors=colours, edgecolors=colours, linewidths=0.3
        )
    ax.set_proj_type("ortho")  # makes the back-face test above exact
    ax.add_collection3d(collection)
    _square_limits(ax, limits_from)
    ax.view_init(elev=elev, azim=azim)
    if axes:
        ax.set_xlabel("x")
        ax.set_ylabel("-z")
        ax.set_zlabel("y (up)")
    else:
        ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def plot_pointcloud(
    points: torch.Tensor | np.ndarray,
    colors: torch.Tensor | np.ndarray | None = None,
    ax: Any = None,
    title: str | None = None,
    elev: float = 20.0,
    azim: float = -60.0,
    size: float = 2.0,
) -> Any:
    """Scatter ``(P, 3)`` points (course coordinates, +Y up), optionally ``(P, 3)`` RGB colours."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig = plt.figure(figsize=(5, 5))
        ax = fig.add_subplot(projection="3d")
    if torch.is_tensor(points):
        points = points.detach().cpu().numpy()
    if torch.is_tensor(colors):
        colors = colors.detach().cpu().numpy()
    shown = _to_plot_axes(np.asarray(points, float))
    ax.scatter(shown[:, 0], shown[:, 1], shown[:, 2], c=colors, s=size, depthshade=True)
    _square_limits(ax, shown)
    ax.view_init(elev=elev, azim=azim)
    ax.set_xlabel("x")
    ax.set_ylabel("-z")
    ax.set_zlabel("y (up)")
    if title:
        ax.set_title(title)
    return ax


def plotly_cloud(
    points: Any, colour_by: str = "y", title: str = "", max_points: int = 30_000, size: int = 2
) -> Any:
    """An interactive plotly ``Scatter3d`` figure of one point cloud (rotate it with the mouse).

    Args:
        points: ``(P, 3)`` tensor or array, course frame (+Y up).
        colour_by: the axis (``"x"``, ``"y"``, ``"z"``) that sets the colour, for depth cues.
        title: the figure's title.
        max_points: at most this many points are drawn (an even subsample: browsers slow
            down beyond a few tens of thousands).
        size: marker size in pixels.

    Returns:
        A ``plotly.graph_objects.Figure`` (``fig.show()`` in a notebook).
    """
    import plotly.graph_objects as go

    pts = np.asarray(points.detach().cpu() if hasattr(points, "detach") else points, dtype=float)
    if pts.ndim != 2 or pts.shape[1] != 3:
        raise ValueError(f"points must be (P, 3), got {pts.shape}")
    if len(pts) > max_points:
        pts = pts[np.linspace(0, len(pts) - 1, max_points).astype(int)]
    axis = "xyz".index(colour_by)
    scatter = go.Scatter3d(
        x=pts[:, 0], y=-pts[:, 2], z=pts[:, 1],  # (x, -z, y): a rotation to plotly's z-up
        mode="markers",
        marker={"size": size, "color": pts[:, axis], "colorscale": "Viridis"},
    )  # fmt: skip
    fig = go.Figure(scatter)
    fig.update_layout(
        title=title, height=450, margin={"l": 0, "r": 0, "t": 30, "b": 0},
        scene={"aspectmode": "data", "xaxis_title": "x", "yaxis_title": "-z", "zaxis_title": "y"},
    )  # fmt: skip
    return fig
