"""``MeshRenderer``: a rasterizer followed by a shader.

Rendering a batch of meshes is two steps: the rasterizer finds which faces each pixel
sees (``Fragments``), the shader colours and blends them into RGBA images. Keyword
arguments given to the renderer reach both, so per-call cameras, lights, materials or
blend parameters can be passed as ``renderer(meshes, cameras=..., lights=...)``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from course_utils.p3d.builtin.common import Device

__all__ = ["MeshRenderer", "MeshRendererWithFragments"]


class _RasterizeThenShade(nn.Module):
    """Holds a rasterizer and a shader; moves both with :meth:`to`."""

    def __init__(self, rasterizer: nn.Module, shader: nn.Module) -> None:
        super().__init__()
        self.rasterizer = rasterizer
        self.shader = shader

    def to(self, device: Device) -> _RasterizeThenShade:  # type: ignore[override]
        """Move the rasterizer's cameras and the shader's cameras, lights and materials."""
        # Their parameters are not nn.Module parameters, so nn.Module.to would miss them.
        self.rasterizer.to(device)
        self.shader.to(device)
        return self

    def _render(self, meshes_world: Any, **kwargs: Any) -> tuple[torch.Tensor, Any]:
        fragments = self.rasterizer(meshes_world, **kwargs)
        return self.shader(fragments, meshes_world, **kwargs), fragments


class MeshRenderer(_RasterizeThenShade):
    """Render meshes to images: ``images = shader(rasterizer(meshes), meshes)``.

    Args:
        rasterizer: e.g. ``MeshRasterizer(cameras=..., raster_settings=...)``.
        shader: e.g. ``HardPhongShader(cameras=..., lights=...)``.

    ``forward(meshes_world, **kwargs)`` returns the shader's output, usually
    ``(N, H, W, 4)`` RGBA images.

    Example::

        renderer = MeshRenderer(MeshRasterizer(cameras, settings), SoftPhongShader(cameras=cameras))
        images = renderer(meshes)           # (N, H, W, 4)
    """

    def forward(self, meshes_world: Any, **kwargs: Any) -> torch.Tensor:
        """Rasterize then shade ``meshes_world``; ``kwargs`` go to both steps."""
        return self._render(meshes_world, **kwargs)[0]


class MeshRendererWithFragments(_RasterizeThenShade):
    """Like :class:`MeshRenderer`, but also returns the fragments (e.g. for depth maps).

    Args:
        rasterizer, shader: as for :class:`MeshRenderer`.

    ``forward(meshes_world, **kwargs)`` returns ``(images, fragments)``.
    """

    def forward(self, meshes_world: Any, **kwargs: Any) -> tuple[torch.Tensor, Any]:
        """Rasterize then shade; returns the images and the ``Fragments``."""
        return self._render(meshes_world, **kwargs)
