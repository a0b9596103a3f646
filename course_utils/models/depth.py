"""A small depth-and-mask network for chapter 08: one image -> per-pixel depth and mask.

:class:`DepthNet` reuses chapter 05's :class:`~.encoders.ConvEncoder` — its five stride-2
blocks — as the downward half of a U-Net: the features of every resolution are kept and
an upward half doubles the resolution five times, concatenating the encoder's features of
the same size (skip connections: the fine silhouette comes from the early layers, the
depth layout from the deep ones). The last layer sees the image itself and outputs three
maps:

* **depth** = ``depth_offset + output``: the view-space depth ``z`` (the rasterizer's
  ``zbuf``), in scene units. The course's cameras are ``CAMERA_DIST = 2`` from the object
  centre, so the network only learns the offset from 2 (metric depth: the scale is known
  because every training camera is at the same distance);
* **mask** logits: which pixels see the object;
* **scale** ``b > 0`` (with ``uncertainty=True``, the default): how far off the network
  expects its own depth to be at each pixel, in scene units — the scale of a Laplace
  distribution ``p(d) ∝ exp(-|d - d̂| / b)`` around the predicted depth, trained by its
  negative log-likelihood (:func:`laplace_nll`). Where ``b`` is large the depth is a guess;
  the reconstruction can leave those pixels out (:func:`course_utils.depth.confident_pixels`).

Training flips half of the images left-right (with their depth and mask) and shuffles the
colour channels (``augment=True``): a mirrored render is a render of the mirrored shape,
and a recoloured one a render of the same shape painted differently, so the 1,600 training
shapes count for more and the network overfits them later. For the same reason the course
trains it on four rendered views of each training shape (``train_views_per_shape`` of
:func:`course_utils.training.make_dataset`, ``train --train-views``), the held-out shapes
keeping their one view.

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

__all__ = ["DepthNet", "depth_loss", "laplace_nll", "augment_views"]

#: The smallest scale ``b`` the network can predict (1 mm at the course's 1-unit shapes).
MIN_SCALE = 1e-3


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


def laplace_nll(error: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Per-pixel negative log-likelihood of ``error`` under a Laplace of ``scale`` b:
    ``|error| / b + log b`` (the constant ``log 2`` left out).

    For a fixed error it is smallest at ``b = |error|``: trained on many pixels, ``b``
    learns the mean absolute error the network makes at pixels *like this one*.

    Example:
        >>> laplace_nll(torch.tensor([0.1, -0.1]), torch.tensor([0.1, 0.2]))  # 1+ln .1, .5+ln .2
        tensor([-1.3026, -1.1094])
    """
    return error.abs() / scale + torch.log(scale)


def _laplace_regret(error: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """``laplace_nll(e, b) - min_b' laplace_nll(e, b')`` over ``b' >= MIN_SCALE``: >= 0, 0 when
    ``b`` is the best scale for this error; the same gradient in ``b`` as the NLL."""
    best = error.abs().clamp(min=MIN_SCALE)
    return laplace_nll(error, scale) - laplace_nll(error, best)


def depth_loss(
    depth: torch.Tensor,
    mask_logits: torch.Tensor,
    true_depth: torch.Tensor,
    true_mask: torch.Tensor,
    mask_weight: float = 0.1,
    grad_weight: float = 0.5,
    scale: torch.Tensor | None = None,
    scale_weight: float = 0.1,
) -> tuple[torch.Tensor, dict[str, float]]:
    """L1 depth error + ``grad_weight`` x gradient error + ``mask_weight`` x the mask's BCE
    (+ ``scale_weight`` x the Laplace NLL of the error under ``scale``, when given).

    All maps ``(B, 1, S, S)``; ``true_mask`` 0/1. Background pixels have no depth, so the
    depth terms average over the true object pixels only. The **gradient term** compares
    the *differences* between neighbouring pixels (1 and 4 pixels apart, pairs on the
    object): ``|(d̂_p - d̂_q) - (d_p - d_q)|``. The L1 term alone lets the network blur a
    step between two parts over several pixels (a blur costs little on average); the
    gradient term charges every pixel of the blur, so steps come out sharp and faces flat
    — the local shape the normals and Poisson are built from.

    The **scale term** is :func:`laplace_nll` of the *detached* error on the object's
    pixels, measured from its minimum (so it is >= 0 and 0 for a perfect ``b``; the
    gradient is the NLL's): ``b`` learns how large the error is, without pulling the depth
    (the depth is trained by the L1 and gradient terms alone, as without ``scale``).
    """
    on = true_mask > 0.5
    if bool(on.any()):
        error = depth - true_depth
        l1 = error.abs()[on].mean()
        grad = _gradient_error(error, on, 1) + _gradient_error(error, on, 4)
        nll = _laplace_regret(error.detach(), scale)[on].mean() if scale is not None else None
    else:
        l1 = grad = depth.sum() * 0
        nll = scale.sum() * 0 if scale is not None else None
    bce = F.binary_cross_entropy_with_logits(mask_logits, true_mask.float())
    loss = l1 + grad_weight * grad + mask_weight * bce
    parts = {"depth_l1": float(l1.detach()), "depth_grad": float(grad.detach()),
             "mask_bce": float(bce.detach())}  # fmt: skip
    if nll is not None:
        loss = loss + scale_weight * nll
        parts["scale_nll"] = float(nll.detach())
    return loss, parts


def augment_views(
    batch: dict[str, Any], generator: torch.Generator | None = None
) -> dict[str, Any]:
    """A copy of a batch with half of its views mirrored left-right and colours shuffled.

    Each view (``image`` ``(B, 3, S, S)``, ``depth`` and ``mask`` ``(B, 1, S, S)``) is
    mirrored with probability 1/2 — image, depth and mask together: the mirror image of a
    render is the render of the mirrored shape from the mirrored camera, which for the
    course's cameras (looking at the origin, no roll) is the same camera — and its RGB
    channels are put in one of the 6 orders at random (the lights are white, so this
    repaints the parts without changing the shading or the white background).
    """
    images = batch["image"]
    b = images.shape[0]
    flip = torch.rand(b, generator=generator) < 0.5
    perms = torch.tensor([[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]])
    order = perms[torch.randint(0, 6, (b,), generator=generator)].to(images.device)
    flip = flip.to(images.device)[:, None, None, None]
    out = dict(batch)
    images = torch.gather(images, 1, order[:, :, None, None].expand_as(images))
    out["image"] = torch.where(flip, images.flip(-1), images)
    for key in ("depth", "mask"):
        out[key] = torch.where(flip, batch[key].flip(-1), batch[key])
    return out


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
        uncertainty: also predict the scale ``b`` of the depth's error (a third output of
            the head, ``b = MIN_SCALE + softplus(.)``; see :meth:`predict`).
        scale_weight: weight of the scale's Laplace NLL in :meth:`loss`.
        augment: mirror and recolour the training batches (:func:`augment_views`).

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
        uncertainty: bool = True,
        scale_weight: float = 0.1,
        augment: bool = True,
    ) -> None:
        super().__init__()
        channels = tuple(int(c) for c in channels)
        self.encoder = ConvEncoder(latent_dim=1, channels=channels, input_size=None, norm=norm)
        self.input_size = input_size
        self.depth_offset = float(depth_offset)
        self.mask_weight = float(mask_weight)
        self.grad_weight = float(grad_weight)
        self.uncertainty = bool(uncertainty)
        self.scale_weight = float(scale_weight)
        self.augment = bool(augment)
        ups = []
        previous = channels[-1]
        for skip in reversed(channels[:-1]):
            ups.append(_up_block(previous + skip, skip, norm))
            previous = skip
        self.ups = nn.ModuleList(ups)
        self.head = nn.Sequential(
            nn.Conv2d(previous + 3, 32, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(32, 3 if self.uncertainty else 2, 3, padding=1),
        )
        if self.uncertainty:  # start b near 0.05 (softplus(-3)), the size of an early error
            with torch.no_grad():
                self.head[2].bias[2].fill_(-3.0)
        self.config: Any = None

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, 3, S, S)`` RGB in [0, 1] -> depth and mask logits, each ``(B, 1, S, S)``."""
        depth, mask_logits, _ = self.predict(images)
        return depth, mask_logits

    def predict(
        self, images: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """``(B, 3, S, S)`` -> depth, mask logits and the scale ``b`` (None without
        ``uncertainty``), each ``(B, 1, S, S)``."""
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
        scale = MIN_SCALE + F.softplus(out[:, 2:3]) if self.uncertainty else None
        return out[:, :1] + self.depth_offset, out[:, 1:2], scale

    def loss(
        self, batch: dict[str, Any], generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The training loss of a batch with ``"image"``, ``"depth"`` and ``"mask"``
        (augmented with :func:`augment_views` in training mode when ``augment``)."""
        if self.training and self.augment:
            batch = augment_views(batch, generator)
        depth, mask_logits, scale = self.predict(batch["image"])
        return depth_loss(
            depth, mask_logits, batch["depth"], batch["mask"], self.mask_weight,
            self.grad_weight, scale, self.scale_weight,
        )  # fmt: skip

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False) -> Any:
        """As ``nn.Module``'s, with a clear error for a checkpoint of the other head."""
        weight = state_dict.get("head.2.weight")
        expected = self.head[2].weight.shape[0]
        if weight is not None and weight.shape[0] != expected:
            raise ValueError(
                f"this depth checkpoint's head has {weight.shape[0]} outputs, the model "
                f"{expected}: it was trained {'without' if expected == 3 else 'with'} the "
                "uncertainty output; retrain it (python -m course_utils train --decoder depth "
                "--force) or build DepthNet(uncertainty=...) to match"
            )
        return super().load_state_dict(state_dict, strict=strict, assign=assign)
