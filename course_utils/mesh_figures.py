"""The figures of chapter 01 (meshes): winding order, faces added one by one, winding numbers,
the list / packed / padded views of a batch.

Plotting only: the meshes, the winding number and the batch views they show are computed in
the notebook, where they are the lesson. Course coordinates are +Y up; matplotlib's 3-D axes
are +Z up, so 3-D views draw a point ``(x, y, z)`` at ``(x, -z, y)`` (a rotation, as
:mod:`course_utils.plotting` does).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

__all__ = [
    "faces_coloured",
    "label_vertices",
    "to_plot",
    "build_up",
    "plot_winding_order",
    "winding_number_figure",
    "batch_views_figure",
    "split_in_four",
]

#: The newest face of a build-up and the faces before it.
ORANGE, BLUE = (1.0, 0.55, 0.1), (0.55, 0.65, 0.9)


def faces_coloured(verts: torch.Tensor, faces: torch.Tensor, colours: torch.Tensor) -> Any:
    """A ``Meshes`` whose face ``k`` is painted ``colours[k]`` (an ``(F, 3)`` RGB tensor).

    Every face gets its own three vertices, so a colour per vertex becomes a colour per face
    (chapter 01, section 7, explains why that works).
    """
    from course_utils.p3d import renderer, structures

    corners = verts[faces].reshape(-1, 3)  # (3F, 3): each face gets its own 3 vertices
    own_faces = torch.arange(len(corners), device=verts.device).reshape(-1, 3)
    features = colours.to(verts).repeat_interleave(3, dim=0)  # (3F, 3)
    return structures.Meshes(
        verts=[corners], faces=[own_faces], textures=renderer.TexturesVertex([features])
    )


def to_plot(points: torch.Tensor) -> np.ndarray:
    """Course coordinates ``(..., 3)`` (+Y up) -> matplotlib's 3-D axes (+Z up)."""
    p = points.detach().cpu().numpy()
    return np.stack([p[..., 0], -p[..., 2], p[..., 1]], axis=-1)


def label_vertices(ax: Any, verts: torch.Tensor, **kwargs: Any) -> None:
    """Write each vertex's index next to it on a :func:`~course_utils.plotting.plot_mesh` view."""
    for i, (x, y, z) in enumerate(to_plot(verts * 1.12).tolist()):
        ax.text(x, y, z, str(i), ha="center", va="center", **kwargs)


def build_up(
    verts: torch.Tensor,
    faces: torch.Tensor,
    azim: float,
    elev: float,
    dist: float,
    image_size: int = 160,
) -> list[torch.Tensor]:
    """Renders of the first 1, 2, ..., F faces, the newest orange, all from one camera.

    Returns:
        F images ``(S, S, 3)`` from :func:`course_utils.rendering.render`.
    """
    from course_utils.rendering import render

    orange, blue = torch.tensor(ORANGE), torch.tensor(BLUE)
    frames = []
    for k in range(1, len(faces) + 1):
        colours = torch.cat([blue.expand(k - 1, 3), orange[None]])
        partial = faces_coloured(verts, faces[:k], colours)
        image = render(
            partial, azim=azim, elev=elev, dist=dist, at=(0, 0, 0), image_size=image_size
        )
        frames.append(image[0])
    return frames


def plot_winding_order(ax: Any, verts: torch.Tensor, face: Sequence[int]) -> None:
    """One triangle in the ``z = 0`` plane, its corners labelled, arrows ``v_k -> v_k+1``."""
    corners = verts[list(face)].detach().cpu()[:, :2]  # (3, 2): x, y of the corners
    ax.fill(corners[:, 0], corners[:, 1], color=(0.85, 0.88, 0.95))
    for k in range(3):  # arrows in the face's order
        start, end = corners[k], corners[(k + 1) % 3]
        tail, head = 0.8 * start + 0.2 * end, 0.2 * start + 0.8 * end
        ax.annotate("", xy=head.tolist(), xytext=tail.tolist(),
                    arrowprops={"arrowstyle": "->", "lw": 2})  # fmt: skip
    for i, (x, y) in enumerate(verts[:, :2].detach().cpu().tolist()):
        dx, dy = 0.04 - 0.08 * (x == 0), 0.03 - 0.1 * (y == 0)
        ax.text(x + dx, y + dy, f"v{i}", color="rgb"[i % 3], size=12)
    edge1, edge2 = corners[1] - corners[0], corners[2] - corners[0]
    ccw = float(edge1[0] * edge2[1] - edge1[1] * edge2[0]) > 0
    turn = "counter-clockwise" if ccw else "clockwise"
    normal = "towards you (+z)" if ccw else "away from you (-z)"
    ax.set_title(f"faces = [{list(face)}]\n{turn}: normal {normal}")
    ax.set(xlim=(-0.2, 1.2), ylim=(-0.2, 1.2), aspect="equal", xlabel="x", ylabel="y")


def winding_number_figure(
    winding: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
    verts: torch.Tensor,
    closed_faces: torch.Tensor,
    holed_faces: torch.Tensor,
    n: int = 41,
    extent: float = 1.4,
) -> Any:
    """The holed mesh in 3-D, then the winding number on the plane ``z = 0``, closed and holed.

    Args:
        winding: ``winding(queries (P, 3), verts, faces) -> (P,)``, the notebook's function.
        verts, closed_faces, holed_faces: the mesh, whole and with a hole.
        n: grid points per side of the plane's ``[-extent, extent]²`` square.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    from course_utils.p3d import structures
    from course_utils.plotting import plot_mesh

    xs = torch.linspace(-extent, extent, n, device=verts.device)
    grid_y, grid_x = torch.meshgrid(xs.flip(0), xs, indexing="ij")  # row 0 at the top
    queries = torch.stack([grid_x, grid_y, torch.zeros_like(grid_x)], dim=-1).reshape(-1, 3)
    fig = plt.figure(figsize=(14, 4.2), layout="constrained")
    ax = fig.add_subplot(1, 3, 1, projection="3d")
    holed = structures.Meshes([verts], [holed_faces])
    plot_mesh(holed, ax=ax, elev=35, title="the mesh with a hole on top")
    titles = ["closed", "with a hole"]
    for i, (faces, title) in enumerate(zip((closed_faces, holed_faces), titles)):
        w = winding(queries, verts, faces).reshape(n, n).cpu()
        ax = fig.add_subplot(1, 3, i + 2)
        box = (-extent, extent, -extent, extent)
        shown = ax.imshow(w.numpy(), extent=box, cmap="viridis", vmin=0, vmax=1)
        ax.set(title=f"winding number on z = 0: {title}", xlabel="x", ylabel="y")
    fig.colorbar(shown, ax=fig.axes[1:], shrink=0.8, label="winding number")
    return fig


def batch_views_figure(batch: Any) -> Any:
    """The list, packed and padded views of a two-mesh batch's vertices, as coloured rows.

    Orange: the first mesh's vertices, blue: the second's, grey: padding. Each slot shows
    the vertex it holds (``v<i>``: vertex ``i`` of its own mesh) and its packed row.
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    num_verts = batch.num_verts_per_mesh().tolist()
    mesh_of_row = batch.verts_packed_to_mesh_idx().cpu()
    first = batch.mesh_to_verts_packed_first_idx().cpu().tolist()
    cmap = ListedColormap([(1.0, 0.7, 0.4), (0.6, 0.75, 0.95), (0.9, 0.9, 0.9)])
    fig, axes = plt.subplots(3, 1, figsize=(10, 4.6), gridspec_kw={"height_ratios": [1, 1, 2]})
    # list: the meshes' rows one after the other, a gap between them
    list_view = np.full((1, sum(num_verts) + 1), 2)
    list_view[0, : num_verts[0]], list_view[0, num_verts[0] + 1 :] = 0, 1
    axes[0].imshow(list_view, cmap=cmap, vmin=0, vmax=2)
    for col in range(list_view.shape[1]):
        if col != num_verts[0]:
            i = col if col < num_verts[0] else col - num_verts[0] - 1
            axes[0].text(col, 0, f"v{i}", ha="center", va="center")
    shapes = " and ".join(f"verts_list()[{n}] ({v}, 3)" for n, v in enumerate(num_verts))
    axes[0].set_title(f"list: {shapes}")
    # packed: one row, coloured by mesh
    axes[1].imshow(mesh_of_row[None].numpy(), cmap=cmap, vmin=0, vmax=2)
    for row, n in enumerate(mesh_of_row.tolist()):
        axes[1].text(row, 0, f"{row}\nv{row - first[n]}", ha="center", va="center", fontsize=8)
    axes[1].set_title(f"packed: verts_packed() ({sum(num_verts)}, 3) - packed row, vertex held")
    # padded: N rows of max V_n slots
    padded_view = np.full((len(num_verts), max(num_verts)), 2)
    for n, count in enumerate(num_verts):
        padded_view[n, :count] = n
        for slot in range(max(num_verts)):
            label = f"v{slot}\n(packed {first[n] + slot})" if slot < count else "0 (pad)"
            axes[2].text(slot, n, label, ha="center", va="center", fontsize=9)
    axes[2].imshow(padded_view, cmap=cmap, vmin=0, vmax=2)
    axes[2].set_title(f"padded: verts_padded() {tuple(batch.verts_padded().shape)} - zeros pad")
    axes[0].set_xlabel("vertex of each mesh")
    axes[1].set_xlabel("packed row")
    axes[2].set(xlabel="slot in the padded row", ylabel="mesh")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([] if ax is not axes[2] else range(len(num_verts)))
    fig.tight_layout()
    return fig


def split_in_four(corners: torch.Tensor) -> torch.Tensor:
    """``(F, 3, D)`` triangle corners -> ``(4F, 3, D)``: each triangle cut at its edge midpoints.

    All four parts keep the triangle's winding order. ``D`` may be 3 (positions) or 2 (UVs),
    so positions and texture coordinates can be split alike.
    """
    a, b, c = corners.unbind(dim=1)
    ab, bc, ca = (a + b) / 2, (b + c) / 2, (c + a) / 2
    quarters = [(a, ab, ca), (ab, b, bc), (ca, bc, c), (ab, bc, ca)]
    return torch.cat([torch.stack(q, dim=1) for q in quarters])
