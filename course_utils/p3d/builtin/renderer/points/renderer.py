"""``PointsRenderer``: rasterize a point cloud, weight its points, composite them.

A point-cloud image is made in three steps:

1. the rasterizer (``PointsRasterizer``) finds the K nearest points of every pixel and the
   squared NDC distance ``d²`` from the pixel centre to each;
2. each point gets a weight that fades from 1 at its centre to 0 at the rim of its disk,
   ``alpha = 1 - d² / r²`` (``r`` = the rasterizer's ``radius``);
3. the compositor (``AlphaCompositor`` or ``NormWeightedCompositor``) blends the points'
   features (usually colours) with those weights, and fills empty pixels with its
   background colour.
"""

from __future__ import annotations

import numbers
from typing import Any

import torch
from torch import nn

from course_utils.p3d.builtin.common import Device, unsupported

__all__ = ["PointsRenderer"]


class PointsRenderer(nn.Module):
    """Render a batch of point clouds with features (e.g. RGB colours) into images.

    Args:
        rasterizer: a ``PointsRasterizer``.
        compositor: an ``AlphaCompositor`` or ``NormWeightedCompositor`` (any module called
            as ``compositor(idx (N, K, H, W), weights (N, K, H, W), features (C, P))``).

    Example:
        >>> import torch
        >>> from course_utils.p3d.builtin import renderer, structures
        >>> cameras = renderer.FoVPerspectiveCameras(T=torch.tensor([[0.0, 0.0, 3.0]]))
        >>> settings = renderer.PointsRasterizationSettings(image_size=16, radius=0.05)
        >>> points_renderer = PointsRenderer(
        ...     renderer.PointsRasterizer(cameras, settings),
        ...     renderer.AlphaCompositor(background_color=(1.0, 1.0, 1.0)),
        ... )
        >>> cloud = structures.Pointclouds([torch.zeros(1, 3)], features=[torch.zeros(1, 3)])
        >>> image = points_renderer(cloud)
        >>> image.shape, image[0, 0, 0].tolist()
        (torch.Size([1, 16, 16, 3]), [1.0, 1.0, 1.0])
    """

    def __init__(self, rasterizer: nn.Module, compositor: nn.Module) -> None:
        super().__init__()
        self.rasterizer = rasterizer
        self.compositor = compositor

    def to(self, device: Device) -> PointsRenderer:  # type: ignore[override]
        """Move the rasterizer's cameras and the compositor to ``device``."""
        self.rasterizer = self.rasterizer.to(device)
        self.compositor = self.compositor.to(device)
        return self

    def forward(self, point_clouds: Any, **kwargs: Any) -> torch.Tensor:
        """Render ``point_clouds``.

        Args:
            point_clouds: a ``Pointclouds`` batch of N clouds in world coordinates, with
                features ``(P_n, C)``.
            **kwargs: handed to the rasterizer (``cameras``, ``raster_settings``, camera
                parameters) and to the compositor (``background_color``). As in PyTorch3D,
                the weights use the radius of the rasterizer's *stored* settings.

        Raises:
            ValueError: the clouds have no features.
            NotImplementedError: the stored radius is a per-point tensor (PyTorch3D's
                renderer does not define weights for it either).

        Returns:
            ``(N, H, W, C)`` images.
        """
        features = point_clouds.features_packed()
        if features is None:
            raise ValueError(
                "PointsRenderer needs point features (e.g. colours): build the clouds with "
                "Pointclouds(points, features=...)"
            )
        radius = self.rasterizer.raster_settings.radius
        if isinstance(radius, bool) or not isinstance(radius, numbers.Real):
            raise unsupported(
                "raster_settings.radius",
                type(radius).__name__,
                "PointsRenderer weighs points by 1 - dists / radius**2 with one float radius; "
                "for per-point radii call the rasterizer and compositor yourself.",
            )
        fragments = self.rasterizer(point_clouds, **kwargs)
        dists2 = fragments.dists.permute(0, 3, 1, 2)
        weights = 1 - dists2 / (radius * radius)
        images = self.compositor(
            fragments.idx.long().permute(0, 3, 1, 2),
            weights,
            features.permute(1, 0),
            **kwargs,
        )
        return images.permute(0, 2, 3, 1)
