"""Image sizes and pixel centres in NDC, shared by the mesh and point rasterizers.

PyTorch3D's screen convention: NDC +X points left and +Y up, the shorter image side spans
[-1, 1] (the longer one proportionally more), pixel *centres* are sampled, and the image's
row 0 is its top (+Y) edge and column 0 its left (+X) edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

__all__: list[str] = []  # helpers of the rasterizers, not PyTorch3D names


def parse_image_size(image_size: int | Sequence[int]) -> tuple[int, int]:
    """``S`` or ``(H, W)`` -> ``(H, W)``, checked as PyTorch3D does.

    Args:
        image_size: a positive int (square image) or a list/tuple of two positive ints.

    Raises:
        ValueError: anything else.

    Returns:
        ``(height, width)`` in pixels.
    """
    if isinstance(image_size, bool) or not isinstance(image_size, (int, tuple, list)):
        raise ValueError(f"image_size must be an int or a (H, W) tuple/list; got {image_size!r}")
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    if len(image_size) != 2:
        raise ValueError(f"image_size must be an int or a (H, W) tuple/list; got {image_size!r}")
    if not all(isinstance(s, int) and not isinstance(s, bool) for s in image_size):
        raise ValueError(f"image sizes must be integers; got {tuple(image_size)}")
    if not all(s > 0 for s in image_size):
        raise ValueError(f"image sizes must be greater than 0; got {tuple(image_size)}")
    return int(image_size[0]), int(image_size[1])


def _ndc_range(size: int, other: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Width of NDC along a side of ``size`` pixels: 2, or ``2 * size / other`` if longer."""
    if size > other:
        return torch.tensor(float(size), dtype=dtype, device=device) * 2.0 / float(other)
    return torch.tensor(2.0, dtype=dtype, device=device)


def pixel_centres_ndc(
    height: int, width: int, dtype: torch.dtype = torch.float32, device: Any = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """NDC x of every image column and NDC y of every image row (pixel centres).

    Computed with PyTorch3D's formula and operation order, ``-o + (range * i + o) / S`` with
    ``o = range / 2`` and ``i`` counted from the -X / -Y side, so float32 results match
    PyTorch3D's to the bit.

    Args:
        height, width: image size in pixels.
        dtype, device: of the result.

    Returns:
        ``xs`` ``(W,)`` (decreasing: column 0 is the +X side) and ``ys`` ``(H,)``
        (decreasing: row 0 is the top, +Y).

    Example:
        >>> xs, ys = pixel_centres_ndc(2, 4)
        >>> xs.tolist(), ys.tolist()
        ([1.5, 0.5, -0.5, -1.5], [0.5, -0.5])
    """
    device = torch.device(device)
    centres = []
    for size, other in ((width, height), (height, width)):
        ndc_range = _ndc_range(size, other, dtype, device)
        offset = ndc_range / 2.0
        index = torch.arange(size - 1, -1, -1, dtype=dtype, device=device)
        centres.append(-offset + (ndc_range * index + offset) / float(size))
    return centres[0], centres[1]
