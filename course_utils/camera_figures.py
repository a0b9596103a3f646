"""The figures of chapter 02 (cameras): one point and a cube followed through the four spaces.

Plotting only: the transforms themselves (``get_world_to_view_transform``,
``transform_points_ndc``, ``transform_points_screen``) are called in the notebook, where they
are the lesson; this module draws what they return.
"""

from __future__ import annotations

import math
from typing import Any

import torch

__all__ = ["four_spaces_figure"]


def _cube_edges(corners: torch.Tensor) -> list[tuple[int, int]]:
    """The 12 edges of a cube given by its 8 corners: pairs that differ in one coordinate."""
    return [(i, j) for i in range(8) for j in range(i + 1, 8)
            if int((corners[i] != corners[j]).sum()) == 1]  # fmt: skip


def four_spaces_figure(
    cameras: Any, point: torch.Tensor, image: torch.Tensor, fov: float, image_size: int
) -> Any:
    """World (from above), view (from above), NDC and screen, side by side.

    The die's 8 corners and 12 edges, the camera with its field of view, and ``point`` (red)
    are drawn in each space; the screen panel shows ``image`` (the render by ``cameras``)
    under the projected edges, which land exactly on it.

    Args:
        cameras: one ``FoVPerspectiveCameras`` with vertical field of view ``fov`` (degrees).
        point: ``(1, 3)`` a world point to follow.
        image: ``(S, S, 3)`` the render of the die by ``cameras``, ``S = image_size``.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    device = point.device
    corners = torch.tensor([[x, y, z] for x in (-0.5, 0.5) for y in (-0.5, 0.5)
                            for z in (-0.5, 0.5)], device=device)  # fmt: skip
    edges = _cube_edges(corners)
    world_to_view = cameras.get_world_to_view_transform()
    size = ((image_size, image_size),)
    spaces = {
        "view": world_to_view.transform_points(corners).cpu(),
        "ndc": cameras.transform_points_ndc(corners).cpu(),
        "screen": cameras.transform_points_screen(corners, image_size=size).cpu(),
    }
    p_view = world_to_view.transform_points(point)[0].cpu()
    p_ndc = cameras.transform_points_ndc(point)[0].cpu()
    p_screen = cameras.transform_points_screen(point, image_size=size)[0].cpu()
    half = math.tan(math.radians(fov) / 2)

    def draw_edges(ax: Any, points_2d: torch.Tensor) -> None:
        for i, j in edges:
            ax.plot(*points_2d[[i, j]].T, color="0.3", lw=1)

    fig, axes = plt.subplots(1, 4, figsize=(18, 4.6))
    # 1. World, seen from above (+Y towards you): with +Z up the page, +X points to the left.
    ax = axes[0]
    centre = cameras.get_camera_center()[0].cpu()
    draw_edges(ax, corners.cpu()[:, [0, 2]])
    edge_rays = torch.tensor([[half, 0.0, 1.0], [-half, 0.0, 1.0]], device=device) * 4.5
    for ray in world_to_view.inverse().transform_points(edge_rays).cpu():  # the view's edges
        ax.plot([centre[0], ray[0]], [centre[2], ray[2]], "c-", lw=1)
    ax.plot([centre[0], 0], [centre[2], 0], "k--", lw=0.8)
    R = cameras.R[0].cpu()
    for k, colour in ((0, "r"), (2, "b")):  # the camera's X (left) and Z (forward): columns of R
        axis = 0.7 * R[:, k]
        ax.arrow(centre[0], centre[2], axis[0], axis[2], color=colour, width=0.03)
    ax.arrow(0, 0, 1, 0, color="r", width=0.03)
    ax.arrow(0, 0, 0, 1, color="b", width=0.03)
    ax.text(1.1, 0.15, "+X", color="r")
    ax.text(0.3, 1.1, "+Z", color="b")
    ax.plot(*centre[[0, 2]], "ks", ms=8)
    ax.text(centre[0] + 0.3, centre[2] + 0.3, "camera")
    ax.plot(point[0, 0].cpu(), point[0, 2].cpu(), "ro")
    ax.set(xlim=(3.5, -2.5), ylim=(-1.5, 4), aspect="equal", xlabel="world x", ylabel="world z")
    ax.set_title("1. world (from above, +Y towards you)")
    # 2. View space, seen from above: the camera at the origin looking along +Z.
    ax = axes[1]
    draw_edges(ax, spaces["view"][:, [0, 2]])
    for side in (-1, 1):
        ax.plot([0, side * half * 4], [0, 4], "c-", lw=1)
    ax.plot(0, 0, "ks", ms=8)
    ax.plot(p_view[0], p_view[2], "ro")
    ax.set(xlim=(2, -2), ylim=(-0.3, 4), aspect="equal",
           xlabel="view x (+X = the camera's left)", ylabel="view z (depth)")  # fmt: skip
    ax.set_title("2. view (from above)")
    # 3. NDC: the image plane, +X left, +Y up; the visible square is [-1, 1]^2.
    ax = axes[2]
    draw_edges(ax, spaces["ndc"][:, :2])
    ax.add_patch(plt.Rectangle((-1, -1), 2, 2, fill=False, ec="c"))
    ax.plot(p_ndc[0], p_ndc[1], "ro")
    ax.set(xlim=(1.2, -1.2), ylim=(-1.2, 1.2), aspect="equal",
           xlabel="NDC x (+X left)", ylabel="NDC y (+Y up)")  # fmt: skip
    ax.set_title("3. NDC")
    # 4. Screen: pixels, origin top-left; the rendered image with the projected edges on top.
    ax = axes[3]
    ax.imshow(image.cpu().numpy())
    draw_edges(ax, spaces["screen"][:, :2])
    ax.plot(p_screen[0], p_screen[1], "ro")
    ax.set(xlabel="screen x (pixels, right)", ylabel="screen y (pixels, down)")
    ax.set_title("4. screen")
    fig.tight_layout()
    return fig
