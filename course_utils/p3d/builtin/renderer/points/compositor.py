"""Compositors: blend the K points of every pixel into one feature vector (colour).

The rasterizer gives each pixel up to K points, sorted front to back, and the renderer
gives each a weight ``alpha_k`` in [0, 1] (``1 - dist² / r²``: 1 at the disk's centre, 0
at its rim). A compositor turns the K features ``f_k`` and weights into one value:

* **alpha compositing** (:func:`alpha_composite`, :class:`AlphaCompositor`): the "over"
  operator, front to back. Layer k lets through a fraction ``1 - alpha_k`` of what lies
  behind it, so the light reaching the eye from layer k is ``alpha_k`` times the
  *transmittance* of the layers in front of it::

      out = sum_k alpha_k * T_k * f_k,     T_k = prod_{l < k} (1 - alpha_l)

  A fully opaque first point (alpha 1) hides everything behind it.
* **normalised weighted sum** (:func:`norm_weighted_sum`, :class:`NormWeightedCompositor`):
  depth order is ignored, ``out = sum_k alpha_k f_k / max(sum_k alpha_k, 1e-4)``.
* **weighted sum** (:func:`weighted_sum`): ``out = sum_k alpha_k f_k``.

Empty slots (point index -1) contribute nothing. All three are vectorised over pixels
(gather the K features, multiply, sum over K) and differentiable w.r.t. the features and
the weights. The compositor classes then paint ``background_color`` on pixels where no
point landed (slot 0 empty); a colour with one channel fewer than the features (RGB for
RGBA features) gets an alpha of 1 appended.

Layouts are PyTorch3D's: point indices and weights ``(N, K, H, W)``, packed features
``(C, P)``, results ``(N, C, H, W)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from course_utils.p3d.builtin.renderer.limits import check_output_size

__all__ = [
    "AlphaCompositor",
    "NormWeightedCompositor",
    "alpha_composite",
    "norm_weighted_sum",
    "weighted_sum",
]

#: ``norm_weighted_sum`` divides by at least this much (PyTorch3D's kEps).
NORM_EPS = 1e-4

BackgroundColor = Sequence[float] | torch.Tensor | float


def _layers(
    pointsidx: torch.Tensor, alphas: torch.Tensor, pt_clds: torch.Tensor, function: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Check the inputs; return the weights (0 in empty slots) and the gathered features.

    The work is done pixel-major, ``(N, H, W, K)``: the rasterizer's layout, of which the
    ``(N, K, H, W)`` inputs are normally permuted views, so no copy is needed.

    Args:
        pointsidx: ``(N, K, H, W)`` integer point indices, negative for empty slots.
        alphas: ``(N, K, H, W)`` weights.
        pt_clds: ``(C, P)`` packed features.
        function: name used in error messages.

    Returns:
        ``weights`` ``(N, H, W, K)`` and ``features`` ``(N, H, W, K, C)`` (zeros in empty
        slots).
    """
    if not torch.is_tensor(pointsidx) or pointsidx.dim() != 4:
        raise ValueError(f"{function}: pointsidx must be a (N, K, H, W) tensor")
    if pointsidx.is_floating_point() or pointsidx.is_complex() or pointsidx.dtype == torch.bool:
        raise ValueError(f"{function}: pointsidx must hold integers; got {pointsidx.dtype}")
    if not torch.is_tensor(alphas) or alphas.shape != pointsidx.shape:
        got = tuple(alphas.shape) if torch.is_tensor(alphas) else type(alphas).__name__
        raise ValueError(
            f"{function}: alphas must have the shape of pointsidx {tuple(pointsidx.shape)}; "
            f"got {got}"
        )
    if not torch.is_tensor(pt_clds) or pt_clds.dim() != 2:
        got = tuple(pt_clds.shape) if torch.is_tensor(pt_clds) else type(pt_clds).__name__
        raise ValueError(f"{function}: pt_clds must be packed features (C, P); got {got}")
    n_points = pt_clds.shape[1]
    # idx (int64) + mask + weight + C features per slot, checked before allocating.
    n, k, h, w = pointsidx.shape
    check_output_size(
        function,
        (n, h, w, k),
        9 + (pt_clds.shape[0] + 1) * pt_clds.element_size(),
        "the image size or points_per_pixel",
    )
    if pointsidx.numel() and int(pointsidx.max()) >= n_points:
        raise ValueError(
            f"{function}: pointsidx refers to point {int(pointsidx.max())} but pt_clds has "
            f"only {n_points} points"
        )
    idx = pointsidx.permute(0, 2, 3, 1).long()
    valid = idx >= 0
    alphas = alphas.permute(0, 2, 3, 1)
    weights = torch.where(valid, alphas, torch.zeros_like(alphas))
    # Empty slots read an extra all-zero feature row appended after the last point.
    table = torch.cat((pt_clds.t(), pt_clds.new_zeros(1, pt_clds.shape[0])), dim=0)
    features = table[torch.where(valid, idx, torch.full_like(idx, n_points))]
    return weights, features


def _sum_layers(weights: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
    """``sum_k weights_k * features_k``: (N, H, W, K) x (N, H, W, K, C) -> (N, C, H, W)."""
    return torch.einsum("nhwk,nhwkc->nhwc", weights, features).permute(0, 3, 1, 2)


def alpha_composite(
    pointsidx: torch.Tensor,
    alphas: torch.Tensor,
    pt_clds: torch.Tensor,
    blend_params: Any = None,
) -> torch.Tensor:
    """Front-to-back "over" compositing of the K points of every pixel.

    ``out[n, c, y, x] = sum_k alphas_k * prod_{l<k} (1 - alphas_l) * pt_clds[c, idx_k]``
    over the non-empty slots, with ``k`` the depth order given by ``pointsidx``.

    Args:
        pointsidx: ``(N, K, H, W)`` integer packed point indices, nearest first; -1 marks
            empty slots, which are skipped.
        alphas: ``(N, K, H, W)`` opacity of each slot, normally in [0, 1].
        pt_clds: ``(C, P)`` packed features (e.g. RGB colours as rows).
        blend_params: unused (as in PyTorch3D).

    Returns:
        ``(N, C, H, W)`` composited features; 0 where a pixel has no point.

    Example:
        >>> idx = torch.tensor([0, 1]).view(1, 2, 1, 1)
        >>> alphas = torch.tensor([0.5, 1.0]).view(1, 2, 1, 1)
        >>> colours = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # point 0 red-ish, 1 green-ish
        >>> alpha_composite(idx, alphas, colours).flatten().tolist()
        [0.5, 0.5]
    """
    weights, features = _layers(pointsidx, alphas, pt_clds, "alpha_composite")
    transmittance = torch.cumprod(1.0 - weights, dim=-1)
    in_front = torch.cat((torch.ones_like(transmittance[..., :1]), transmittance[..., :-1]), -1)
    return _sum_layers(weights * in_front, features)


def norm_weighted_sum(
    pointsidx: torch.Tensor,
    alphas: torch.Tensor,
    pt_clds: torch.Tensor,
    blend_params: Any = None,
) -> torch.Tensor:
    """Weighted mean of the K points of every pixel, ignoring depth order.

    ``out = sum_k alphas_k f_k / max(sum_k alphas_k, 1e-4)`` over the non-empty slots. As
    in PyTorch3D's backward pass, the clamp of the denominator does not stop its gradient.

    Args:
        pointsidx: ``(N, K, H, W)`` integer packed point indices; -1 marks empty slots.
        alphas: ``(N, K, H, W)`` weights.
        pt_clds: ``(C, P)`` packed features.
        blend_params: unused (as in PyTorch3D).

    Returns:
        ``(N, C, H, W)`` blended features; 0 where a pixel has no point.
    """
    weights, features = _layers(pointsidx, alphas, pt_clds, "norm_weighted_sum")
    total = weights.sum(dim=-1, keepdim=True)
    # Value clamped from below, gradient of the unclamped sum (PyTorch3D's formula).
    total = total + (total.clamp(min=NORM_EPS) - total).detach()
    return _sum_layers(weights / total, features)


def weighted_sum(
    pointsidx: torch.Tensor,
    alphas: torch.Tensor,
    pt_clds: torch.Tensor,
    blend_params: Any = None,
) -> torch.Tensor:
    """Un-normalised weighted sum ``sum_k alphas_k f_k`` of the K points of every pixel.

    Args:
        pointsidx: ``(N, K, H, W)`` integer packed point indices; -1 marks empty slots.
        alphas: ``(N, K, H, W)`` weights.
        pt_clds: ``(C, P)`` packed features.
        blend_params: unused (as in PyTorch3D).

    Returns:
        ``(N, C, H, W)`` summed features; 0 where a pixel has no point.
    """
    weights, features = _layers(pointsidx, alphas, pt_clds, "weighted_sum")
    return _sum_layers(weights, features)


def _add_background_color_to_images(
    pix_idxs: torch.Tensor, images: torch.Tensor, background_color: BackgroundColor
) -> torch.Tensor:
    """Paint ``background_color`` on the pixels whose nearest slot is empty.

    Args:
        pix_idxs: ``(N, K, H, W)`` point indices; a pixel is background when slot 0 is < 0.
        images: ``(N, C, H, W)`` composited features.
        background_color: a number (every channel), or C values, or C - 1 values (then an
            alpha of 1 is appended: RGB background for RGBA features).

    Raises:
        ValueError: a colour of another shape.

    Returns:
        ``(N, C, H, W)`` images.
    """
    background = pix_idxs[:, 0] < 0  # (N, H, W)
    if not torch.is_tensor(background_color):
        background_color = images.new_tensor(background_color)
    if background_color.dim() == 0:
        background_color = background_color.expand(images.shape[1])
    if background_color.dim() > 1:
        raise ValueError(
            f"Wrong shape of background_color: expected (C,) values, got "
            f"{tuple(background_color.shape)}"
        )
    background_color = background_color.to(images)
    if background_color.shape[0] + 1 == images.shape[1]:
        background_color = torch.cat((background_color, images.new_ones(1)))
    if background_color.shape[0] != images.shape[1]:
        raise ValueError(
            f"Background color has {background_color.shape[0]} channels not {images.shape[1]}"
        )
    return torch.where(background[:, None], background_color.view(1, -1, 1, 1), images)


class _Compositor(nn.Module):
    """Shared part of the compositor modules: a blending function and a background."""

    _blend = staticmethod(alpha_composite)

    def __init__(self, background_color: BackgroundColor | None = None) -> None:
        super().__init__()
        self.background_color = background_color

    def forward(
        self, fragments: torch.Tensor, alphas: torch.Tensor, ptclds: torch.Tensor, **kwargs: Any
    ) -> torch.Tensor:
        """Blend the points of every pixel.

        Args:
            fragments: ``(N, K, H, W)`` integer packed point indices (the rasterizer's
                ``idx`` permuted), -1 for empty slots.
            alphas: ``(N, K, H, W)`` weights.
            ptclds: ``(C, P)`` packed features.
            **kwargs: ``background_color`` overriding the stored one; others are ignored.

        Returns:
            ``(N, C, H, W)`` images.
        """
        background_color = kwargs.get("background_color", self.background_color)
        images = type(self)._blend(fragments, alphas, ptclds)
        if background_color is not None:
            return _add_background_color_to_images(fragments, images, background_color)
        return images


class AlphaCompositor(_Compositor):
    """Composite the points of every pixel front to back (:func:`alpha_composite`).

    Args:
        background_color: optional colour (3 or 4 values, or one number) for pixels no
            point reaches; None leaves them 0.
    """

    _blend = staticmethod(alpha_composite)


class NormWeightedCompositor(_Compositor):
    """Blend the points of every pixel by a normalised weighted sum (:func:`norm_weighted_sum`).

    Args:
        background_color: optional colour (3 or 4 values, or one number) for pixels no
            point reaches; None leaves them 0.
    """

    _blend = staticmethod(norm_weighted_sum)
