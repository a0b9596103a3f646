"""World points to what the rasterizers work on: NDC x, y with the view-space depth z.

Rasterizers need two things per point: where it lands on the image plane (NDC x, y) and how
far it is along the view axis (to sort by depth, and for the z-buffer). The projection's own
third coordinate (NDC depth, or 1/z) is not what the z-buffer stores, so it is replaced by
the view-space z — as PyTorch3D's ``MeshRasterizer`` and ``PointsRasterizer`` do.
"""

from __future__ import annotations

from typing import Any

import torch

__all__: list[str] = []  # shared by the rasterizers; not a PyTorch3D name


def ndc_with_view_depth(cameras: Any, points_world: torch.Tensor, /, **kwargs: Any) -> torch.Tensor:
    """Project world points for rasterization.

    Args:
        cameras: a camera batch (one camera, or one per element of the batch).
        points_world: ``(N, P, 3)`` world points (padded meshes' vertices or clouds' points).
        **kwargs: ``eps`` for the perspective division, and camera parameters (``R``, ``T``,
            ``fov`` ...) overriding the cameras' own for this call.

    Returns:
        ``(N, P, 3)``: NDC x, y (+X left, +Y up) and view-space z.
    """
    kwargs = {k: v for k, v in kwargs.items() if k not in ("cameras", "raster_settings")}
    eps = kwargs.pop("eps", None)
    view = cameras.get_world_to_view_transform(**kwargs).transform_points(points_world, eps=eps)
    to_ndc = cameras.get_projection_transform(**kwargs).compose(
        cameras.get_ndc_camera_transform(**kwargs)
    )
    ndc = to_ndc.transform_points(view, eps=eps)
    return torch.cat([ndc[..., :2], view[..., 2:3]], dim=-1)
