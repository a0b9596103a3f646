"""A small depth-and-mask network for chapter 08: one image -> per-pixel depth and mask.

:class:`DepthNet` reuses chapter 05's :class:`~.encoders.ConvEncoder` — its five stride-2
blocks — as the downward half of a U-Net: the features of every resolution are kept and
an upward half doubles the resolution five times, concatenating the encoder's features of
the same size (skip connections: the fine silhouette comes from the early layers, the
depth layout from the deep ones). The last layer sees the image itself and outputs two
maps:

* **depth** = ``depth_offset + output``: the view-space depth ``z`` (the rasterizer's
  ``zbuf``), in scene units. The course's cameras are ``CAMERA_DIST = 2`` from the object
  centre, so the network only learns the offset from 2 (metric depth: the scale is known
  because every training camera is at the same distance);
* **mask** logits: which pixels see the object.

It plugs into chapter 05's :func:`course_utils.training.train` like the other models: it
has a ``kind`` (``"depth"``), a ``config`` and a :meth:`DepthNet.loss` computed from a
batch with ``"image"``, ``"depth"`` and ``"mask"`` (see :class:`course_utils.depth.DepthViews`).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 - the usual name
from torch import nn

from course_utils.models.encoders import ConvEncoder, _norm2d

__all__ = ["DepthNet", "depth_loss"]


def _up_block(in_channels: int, out_channels: int, norm: str) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        _norm2d(norm, out_channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
        _norm2d(norm, out_channels),
        nn.ReLU(inplace=True),
    )


def _gradient_error(error: torch.Tensor, on: torch.Tensor, step: int) -> torch.Tensor:
    """Mean ``|e(p + step) - e(p)|`` over horizontal and vertical pixel pairs both on ``on``."""
    total, count = error.new_zeros(()), 0
    for dim in (-1, -2):
        n = error.shape[dim]
        a, b = error.narrow(dim, step, n - step), error.narrow(dim, 0, n - step)
        pair = on.narrow(dim, step, n - step) & on.narrow(dim, 0, n - step)
        total = total + (a - b).abs()[pair].sum()
        count += int(pair.sum())
    return total / max(count, 1)


def depth_loss(
    depth: torch.Tensor,
    mask_logits: torch.Tensor,
    true_depth: torch.Tensor,
    true_mask: torch.Tensor,
    mask_weight: float = 0.1,
    grad_weight: float = 0.5,
) -> tuple[torch.Tensor, dict[str, float]]:
    """L1 depth error + ``grad_weight`` x gradient error + ``mask_weight`` x the mask's BCE.

    All maps ``(B, 1, S, S)``; ``true_mask`` 0/1. Background pixels have no depth, so the
    depth terms average over the true object pixels only. The **gradient term** compares
    the *differences* between neighbouring pixels (1 and 4 pixels apart, pairs on the
    object): ``|(d̂_p - d̂_q) - (d_p - d_q)|``. The L1 term alone lets the network blur a
    step between two parts over several pixels (a blur costs little on average); the
    gradient term charges every pixel of the blur, so steps come out sharp and faces flat
    — the local shape the normals and Poisson are built from.
    """
    on = true_mask > 0.5
    if bool(on.any()):
        error = depth - true_depth
        l1 = error.abs()[on].mean()
        grad = _gradient_error(error, on, 1) + _gradient_error(error, on, 4)
    else:
        l1 = grad = depth.sum() * 0
    bce = F.binary_cross_entropy_with_logits(mask_logits, true_mask.float())
    loss = l1 + grad_weight * grad + mask_weight * bce
    parts = {"depth_l1": float(l1.detach()), "depth_grad": float(grad.detach()),
             "mask_bce": float(bce.detach())}  # fmt: skip
    return loss, parts


class DepthNet(nn.Module):
    """U-Net on chapter 05's encoder: ``(B, 3, S, S)`` -> depth ``(B, 1, S, S)`` and mask logits.

    Args:
        channels: the encoder's block widths (as :class:`~.encoders.ConvEncoder`).
        input_size: images are resized to this size (a power of two times 2**len(channels)
            keeps every skip aligned; None: as they are); the outputs are resized back.
        norm: ``"batch"`` or ``"group"``.
        depth_offset: added to the network's depth output (the typical depth).
        mask_weight: weight of the mask term in :meth:`loss`.
        grad_weight: weight of the depth-gradient term in :meth:`loss` (see :func:`depth_loss`).

    Example:
        >>> net = DepthNet(channels=(4, 8), input_size=16)
        >>> depth, mask = net(torch.rand(2, 3, 20, 20))
        >>> depth.shape, mask.shape
        (torch.Size([2, 1, 20, 20]), torch.Size([2, 1, 20, 20]))
    """

    kind = "depth"

    def __init__(
        self,
        channels: tuple[int, ...] | list[int] = (32, 64, 128, 256, 256),
        input_size: int | None = 64,
        norm: str = "batch",
        depth_offset: float = 2.0,
        mask_weight: float = 0.1,
        grad_weight: float = 0.5,
    ) -> None:
        super().__init__()
        channels = tuple(int(c) for c in channels)
        self.encoder = ConvEncoder(latent_dim=1, channels=channels, input_size=None, norm=norm)
        self.input_size = input_size
        self.depth_offset = float(depth_offset)
        self.mask_weight = float(mask_weight)
        self.grad_weight = float(grad_weight)
        ups = []
        previous = channels[-1]
        for skip in reversed(channels[:-1]):
            ups.append(_up_block(previous + skip, skip, norm))
            previous = skip
        self.ups = nn.ModuleList(ups)
        self.head = nn.Sequential(
            nn.Conv2d(previous + 3, 32, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(32, 2, 3, padding=1),
        )
        self.config: Any = None

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, 3, S, S)`` RGB in [0, 1] -> depth and mask logits, each ``(B, 1, S, S)``."""
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"images must be (B, 3, H, W), got {tuple(images.shape)}")
        size = images.shape[-2:]
        x = images
        if self.input_size is not None and tuple(size) != (self.input_size,) * 2:
            x = F.interpolate(
                x, size=(self.input_size,) * 2, mode="bilinear", align_corners=False, antialias=True
            )
        skips = []
        h = x * 2.0 - 1.0
        for block in self.encoder.blocks:
            h = block(h)
            skips.append(h)
        h = skips.pop()
        for up in self.ups:
            skip = skips.pop()
            h = F.interpolate(h, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            h = up(torch.cat([h, skip], dim=1))
        h = F.interpolate(h, size=x.shape[-2:], mode="bilinear", align_corners=False)
        out = self.head(torch.cat([h, x * 2.0 - 1.0], dim=1))
        if tuple(out.shape[-2:]) != tuple(size):
            out = F.interpolate(out, size=size, mode="bilinear", align_corners=False)
        return out[:, :1] + self.depth_offset, out[:, 1:]

    def loss(
        self, batch: dict[str, Any], generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The training loss of a batch with ``"image"``, ``"depth"`` and ``"mask"``."""
        depth, mask_logits = self(batch["image"])
        return depth_loss(
            depth, mask_logits, batch["depth"], batch["mask"], self.mask_weight, self.grad_weight
        )
