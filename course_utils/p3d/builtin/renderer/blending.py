"""Blending: turn the K shaded faces found at each pixel into one RGBA colour.

The rasterizer keeps, per pixel, the K nearest faces (``Fragments``); the shader gives
each of them a colour, ``colors`` of shape ``(N, H, W, K, C)``. A blend function reduces
the K axis and appends an alpha channel, returning ``(N, H, W, C + 1)``:

* :func:`hard_rgb_blend` — the nearest face wins (a classic z-buffer), alpha 1 where a
  face was hit, the background colour elsewhere. Not differentiable w.r.t. geometry.
* :func:`sigmoid_alpha_blend` — SoftRas silhouettes. Each face covers the pixel with
  probability ``p_k = sigmoid(-d_k / sigma)``, ``d_k`` the signed squared distance from
  the pixel to the face (negative inside), so ``p_k`` moves smoothly from 1 (inside) to
  0 (outside) over a band of width ~``sigma``. The pixel is empty only if no face covers
  it: ``alpha = 1 - prod_k (1 - p_k)``.
* :func:`softmax_rgb_blend` — SoftRas colours. Faces are weighted by coverage *and*
  depth: ``w_k = p_k exp(z_k / gamma)`` with ``z_k = (zfar - zbuf_k) / (zfar - znear)``
  (1 at the near plane, 0 at the far plane), a background weight
  ``w_b = exp(eps / gamma)``, and ``rgb = (sum_k w_k c_k + w_b background) / (sum_k w_k
  + w_b)``. The exponential is a *softmax* over depth: as ``gamma -> 0`` the nearest face
  takes all the weight (a z-buffer again); a larger ``gamma`` lets faces behind show
  through, which gives gradients w.r.t. depth order. For numerical stability every
  exponent is shifted by the largest ``z_k`` of the pixel (the weights' ratios do not
  change).

Reference: Liu et al., "Soft Rasterizer: A Differentiable Renderer for Image-based 3D
Reasoning", ICCV 2019.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import torch

__all__ = ["BlendParams", "hard_rgb_blend", "sigmoid_alpha_blend", "softmax_rgb_blend"]


class BlendParams(NamedTuple):
    """Parameters of the blend functions (PyTorch3D's names and defaults).

    Attributes:
        sigma: width of the sigmoid edge band, in squared NDC units. Smaller = sharper
            silhouettes but gradients only very near the edges.
        gamma: temperature of the depth softmax. Smaller = the nearest face dominates.
        background_color: RGB (or C values) of the background, a sequence or tensor.
    """

    sigma: float = 1e-4
    gamma: float = 1e-4
    background_color: torch.Tensor | Sequence[float] = (1.0, 1.0, 1.0)


def _background(blend_params: BlendParams, like: torch.Tensor) -> torch.Tensor:
    """The background colour as a ``(C,)`` tensor on ``like``'s device and dtype."""
    return torch.as_tensor(blend_params.background_color, dtype=like.dtype, device=like.device)


def _coverage(fragments: Any, sigma: float) -> torch.Tensor:
    """``p_k = sigmoid(-dists / sigma)`` where a face was found, 0 elsewhere: ``(N, H, W, K)``."""
    if fragments.dists is None:
        raise ValueError("soft blending needs fragments.dists; the rasterizer returned None")
    found = fragments.pix_to_face >= 0
    return torch.sigmoid(-fragments.dists / sigma) * found


def hard_rgb_blend(colors: torch.Tensor, fragments: Any, blend_params: BlendParams) -> torch.Tensor:
    """Z-buffer blending: the colour of the nearest face, or the background.

    Args:
        colors: ``(N, H, W, K, C)`` colour of each of the K faces per pixel, nearest first.
        fragments: rasterizer output; uses ``pix_to_face`` ``(N, H, W, K)`` (-1 = none).
        blend_params: uses ``background_color`` (C values).

    Returns:
        ``(N, H, W, C + 1)``: RGB of face 0 (background where no face), alpha 1 where a
        face was hit, 0 elsewhere.
    """
    hit = (fragments.pix_to_face[..., 0] >= 0)[..., None]  # (N, H, W, 1)
    nearest = colors[..., 0, :]
    rgb = torch.where(hit, nearest, _background(blend_params, nearest))
    return torch.cat([rgb, hit.to(rgb.dtype)], dim=-1)


def sigmoid_alpha_blend(
    colors: torch.Tensor, fragments: Any, blend_params: BlendParams
) -> torch.Tensor:
    """Soft silhouette: ``alpha = 1 - prod_k (1 - sigmoid(-dists_k / sigma))``.

    Args:
        colors: ``(N, H, W, K, C)``; the RGB output is the nearest face's colour.
        fragments: uses ``pix_to_face`` and ``dists`` ``(N, H, W, K)`` (signed squared
            NDC distances, negative inside the face).
        blend_params: uses ``sigma``.

    Returns:
        ``(N, H, W, C + 1)``: colour of face 0 and the soft alpha, differentiable w.r.t.
        ``dists`` (and so w.r.t. the vertices).
    """
    prob = _coverage(fragments, blend_params.sigma)
    alpha = 1.0 - torch.prod(1.0 - prob, dim=-1)
    return torch.cat([colors[..., 0, :], alpha[..., None].to(colors.dtype)], dim=-1)


def _per_image(value: float | torch.Tensor) -> float | torch.Tensor:
    """A number stays a number; a ``(N,)`` tensor becomes ``(N, 1, 1, 1)`` for (N, H, W, K)."""
    if torch.is_tensor(value) and value.dim() > 0:
        return value.reshape(-1, 1, 1, 1)
    return value


def softmax_rgb_blend(
    colors: torch.Tensor,
    fragments: Any,
    blend_params: BlendParams,
    znear: float | torch.Tensor = 1.0,
    zfar: float | torch.Tensor = 100,
) -> torch.Tensor:
    """SoftRas blending: coverage- and depth-weighted colours with a soft alpha.

    Args:
        colors: ``(N, H, W, K, C)`` colour of each of the K faces per pixel.
        fragments: uses ``pix_to_face``, ``dists`` and ``zbuf`` (view depth), each
            ``(N, H, W, K)``.
        blend_params: ``sigma`` (edge width), ``gamma`` (depth softmax temperature),
            ``background_color``.
        znear, zfar: the depth range used to normalise ``zbuf``; numbers or ``(N,)``
            tensors (the shaders pass the camera's).

    Returns:
        ``(N, H, W, C + 1)``: ``rgb = (sum_k w_k c_k + w_b bg) / (sum_k w_k + w_b)`` with
        ``w_k = p_k exp((z_k - z_max) / gamma)``, ``w_b = exp((eps - z_max) / gamma)``,
        ``z_k = (zfar - zbuf_k) / (zfar - znear)`` and ``eps = 1e-10``; and
        ``alpha = 1 - prod_k (1 - p_k)``.
    """
    eps = 1e-10
    found = fragments.pix_to_face >= 0
    prob = _coverage(fragments, blend_params.sigma)
    alpha = 1.0 - torch.prod(1.0 - prob, dim=-1)

    znear, zfar = _per_image(znear), _per_image(zfar)
    z_inv = (zfar - fragments.zbuf) / (zfar - znear) * found  # 1 at znear, 0 at zfar
    z_max = z_inv.max(dim=-1, keepdim=True).values.clamp(min=eps)
    weights = prob * torch.exp((z_inv - z_max) / blend_params.gamma)  # (N, H, W, K)
    background_weight = torch.exp((eps - z_max) / blend_params.gamma).clamp(min=eps)
    denominator = weights.sum(dim=-1, keepdim=True) + background_weight  # (N, H, W, 1)

    weighted = (weights[..., None] * colors).sum(dim=-2)
    rgb = (weighted + background_weight * _background(blend_params, colors)) / denominator
    return torch.cat([rgb, alpha[..., None].to(rgb.dtype)], dim=-1)
