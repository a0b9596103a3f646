"""``PointsRasterizer``: world-space point clouds -> per-pixel K nearest points.

The rasterizer does two things:

1. :meth:`PointsRasterizer.transform` moves the points from world space into the space
   the rasterizer works in: NDC x and y (the camera's projection followed, for cameras
   defined in screen space, by the screen -> NDC map) but the **view-space z** as third
   coordinate, so ``zbuf`` holds distances along the camera axis;
2. :func:`~.rasterize_points.rasterize_points` finds, for every pixel, the K nearest
   points whose disk of radius ``radius`` covers it, and returns :class:`PointFragments`.

As in PyTorch3D, every setting can be overridden per call:
``rasterizer(clouds, cameras=other_cameras, raster_settings=other_settings)``; the other
keyword arguments (``R``, ``T``, ``fov`` ...) are handed to the cameras.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
from torch import nn

from course_utils.p3d.builtin.common import Device
from course_utils.p3d.builtin.renderer.points.rasterize_points import rasterize_points
from course_utils.p3d.builtin.renderer.projection import ndc_with_view_depth

__all__ = ["PointFragments", "PointsRasterizationSettings", "PointsRasterizer"]


class PointFragments(NamedTuple):
    """What the point rasterizer found at each pixel (N images of H x W, K points per pixel).

    Attributes:
        idx: ``(N, H, W, K)`` int32 indices into the batch's *packed* points, nearest first
            (ascending view z); -1 in slots no point fills.
        zbuf: ``(N, H, W, K)`` view-space z of those points; -1 where empty.
        dists: ``(N, H, W, K)`` squared NDC distance, in the x/y plane, from the pixel centre
            to the point; -1 where empty.
    """

    idx: torch.Tensor
    zbuf: torch.Tensor
    dists: torch.Tensor


@dataclass
class PointsRasterizationSettings:
    """Settings of the point rasterizer (PyTorch3D's defaults).

    Attributes:
        image_size: ``S`` for ``S x S`` pixels, or ``(H, W)``.
        radius: disk radius of every point in NDC units (a float), or a per-point tensor of
            shape ``(N, P)``.
        points_per_pixel: K, the number of nearest points kept per pixel.
        bin_size: coarse-to-fine binning in PyTorch3D; accepted, does not change the output.
        max_points_per_bin: idem.

    Checked when rasterizing (as in PyTorch3D, not here): a NaN, infinite or negative
    ``radius`` and ``points_per_pixel < 1`` raise a ``ValueError`` naming the argument, and
    so does an output of ``N x H x W x points_per_pixel`` slots above the memory budget
    (4 GiB; ``COURSE_MAX_RASTER_BYTES``, see ``limits.py``).
    """

    image_size: int | tuple[int, int] = 256
    radius: float | torch.Tensor = 0.01
    points_per_pixel: int = 8
    bin_size: int | None = None
    max_points_per_bin: int | None = None


class PointsRasterizer(nn.Module):
    """Rasterize a batch of point clouds seen by a batch of cameras.

    Args:
        cameras: the cameras (any camera class of ``renderer``); may instead be passed to
            ``forward`` as ``cameras=...``.
        raster_settings: a :class:`PointsRasterizationSettings` (defaults if None).

    Example:
        >>> import torch
        >>> from course_utils.p3d.builtin.renderer import FoVPerspectiveCameras
        >>> from course_utils.p3d.builtin.structures import Pointclouds
        >>> cameras = FoVPerspectiveCameras(T=torch.tensor([[0.0, 0.0, 3.0]]))
        >>> settings = PointsRasterizationSettings(image_size=8, radius=0.2, points_per_pixel=2)
        >>> fragments = PointsRasterizer(cameras, settings)(Pointclouds([torch.zeros(1, 3)]))
        >>> fragments.idx.shape, int((fragments.idx[..., 0] == 0).sum())
        (torch.Size([1, 8, 8, 2]), 4)
    """

    def __init__(
        self, cameras: Any = None, raster_settings: PointsRasterizationSettings | None = None
    ) -> None:
        super().__init__()
        if raster_settings is None:
            raster_settings = PointsRasterizationSettings()
        self.cameras = cameras
        self.raster_settings = raster_settings

    def transform(self, point_clouds: Any, **kwargs: Any) -> Any:
        """World points -> NDC x, y with the view-space z.

        Args:
            point_clouds: a ``Pointclouds`` batch in world coordinates.
            **kwargs: ``cameras`` to use instead of the stored ones, ``eps`` for the
                perspective division (see ``Transform3d.transform_points``), and camera
                parameters (``R``, ``T``, ...) overriding the cameras' own.

        Raises:
            ValueError: no cameras given, here or at construction.

        Returns:
            A ``Pointclouds`` with the same sizes (and features) whose points are
            ``(x_ndc, y_ndc, z_view)``.
        """
        cameras = kwargs.get("cameras", self.cameras)
        if cameras is None:
            raise ValueError(
                "Cameras must be specified either at initialization or in the forward pass "
                "of PointsRasterizer"
            )
        pts_ndc = ndc_with_view_depth(cameras, point_clouds.points_padded(), **kwargs)
        return point_clouds.update_padded(pts_ndc)

    def to(self, device: Device) -> PointsRasterizer:  # type: ignore[override]
        """Move the cameras to ``device`` (they are not registered as an nn.Module buffer)."""
        if self.cameras is not None:
            self.cameras = self.cameras.to(device)
        return self

    def forward(self, point_clouds: Any, **kwargs: Any) -> PointFragments:
        """Rasterize ``point_clouds`` (world coordinates).

        Args:
            point_clouds: a ``Pointclouds`` batch of N clouds.
            **kwargs: ``raster_settings`` and ``cameras`` overriding the stored ones, and
                camera parameters (see :meth:`transform`).

        Returns:
            :class:`PointFragments` with ``(N, H, W, K)`` tensors.
        """
        points_proj = self.transform(point_clouds, **kwargs)
        settings = kwargs.get("raster_settings", self.raster_settings)
        idx, zbuf, dists = rasterize_points(
            points_proj,
            image_size=settings.image_size,
            radius=settings.radius,
            points_per_pixel=settings.points_per_pixel,
            bin_size=settings.bin_size,
            max_points_per_bin=settings.max_points_per_bin,
        )
        return PointFragments(idx=idx, zbuf=zbuf, dists=dists)
