"""A small depth-and-mask network for chapter 08: one image -> per-pixel depth and mask.

:class:`DepthNet` reuses chapter 05's :class:`~.encoders.ConvEncoder` — its five stride-2
blocks — as the downward half of a U-Net: the features of every resolution are kept and
an upward half doubles the resolution five times, concatenating the encoder's features of
the same size (skip connections: the fine silhouette comes from the early layers, the
depth layout from the deep ones). Its blocks are half as wide as chapter 05's: trained
for ten CPU-minutes, a network learns more from twice as many steps than from twice as
many channels. Besides the colours, every pixel gets the sine of its ray's elevation
above the horizon (:func:`ray_elevation`, from the camera's rotation ``R``;
``camera_up=True``): how steeply the camera looks down is something a phone knows from its
gravity sensor, and a picture alone barely shows it. The last layer sees the image itself
and outputs three maps:

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
batch with ``"image"``, ``"depth"``, ``"mask"`` and ``"R"`` (see
:class:`course_utils.depth.DepthViews`).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 - the usual name
from torch import nn

from course_utils.datasets.generate import FOV
from course_utils.models.encoders import ConvEncoder, _norm2d

__all__ = ["DepthNet", "depth_loss", "laplace_nll", "augment_views", "ray_elevation"]

#: The smallest scale ``b`` the network can predict (1 mm at the course's 1-unit shapes).
MIN_SCALE = 1e-3
#: The camera elevation (degrees) assumed when none is given; also the elevation of
#: :func:`course_utils.photo3d.default_camera`, which unprojects a photo's depth.
DEFAULT_ELEVATION = 25.0


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
    """Mean ``|e(p + step) - e(p)|`` over horizontal and vertical pixel pairs both on ``on``.

    ``on`` is a float 0/1 map: masked sums instead of boolean indexing, which would cost
    a ``nonzero`` (a sync and a copy) per term in every training step.
    """
    total, count = error.new_zeros(()), error.new_zeros(())
    for dim in (-1, -2):
        n = error.shape[dim]
        a, b = error.narrow(dim, step, n - step), error.narrow(dim, 0, n - step)
        pair = on.narrow(dim, step, n - step) * on.narrow(dim, 0, n - step)
        total = total + ((a - b).abs() * pair).sum()
        count = count + pair.sum()
    return total / count.clamp(min=1)


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
    on = (true_mask > 0.5).to(depth.dtype)
    pixels = on.sum().clamp(min=1)  # no object pixel: every depth term is 0
    error = depth - true_depth
    l1 = (error.abs() * on).sum() / pixels
    grad = _gradient_error(error, on, 1) + _gradient_error(error, on, 4)
    nll = None
    if scale is not None:
        nll = (_laplace_regret(error.detach(), scale) * on).sum() / pixels
    bce = F.binary_cross_entropy_with_logits(mask_logits, true_mask.float())
    loss = l1 + grad_weight * grad + mask_weight * bce
    parts = {"depth_l1": float(l1.detach()), "depth_grad": float(grad.detach()),
             "mask_bce": float(bce.detach())}  # fmt: skip
    if nll is not None:
        loss = loss + scale_weight * nll
        parts["scale_nll"] = float(nll.detach())
    return loss, parts


def ray_elevation(R: torch.Tensor | None, size: int, fov: float = FOV) -> torch.Tensor:
    """``(B, 1, size, size)``: the sine of each pixel ray's elevation above the horizon.

    The course's objects stand upright (+Y up) and the camera looks at them from above. The
    world's up direction seen from the camera is row 1 of PyTorch3D's world-to-view
    rotation ``R`` (``X_view = X_world @ R + T``): ``(0, cos e, -sin e)`` for a camera
    at elevation ``e`` with no roll. A pixel's ray leaves the camera along
    ``(x tan(fov/2), y tan(fov/2), 1)`` (NDC ``x`` and ``y`` of the pixel's centre, +X left,
    +Y up, row 0 at the top), and its dot product with the unit up vector is the sine of
    its elevation: 0 on the horizon, ``-sin e`` at the image centre.

    Args:
        R: ``(B, 3, 3)`` world-to-view rotations, or None for one camera at
            :data:`DEFAULT_ELEVATION`.
        size: the map's side in pixels (square images).
        fov: the vertical field of view, degrees (the course cameras' ``FOV``).

    Example:
        >>> e = ray_elevation(None, 3)[0, 0]  # 25 degrees: the centre ray points 25 below
        >>> round(float(e[1, 1]), 4), round(-math.sin(math.radians(25)), 4)
        (-0.4226, -0.4226)
    """
    if R is None:
        e = math.radians(DEFAULT_ELEVATION)
        up = torch.tensor([[0.0, math.cos(e), -math.sin(e)]])
    else:
        up = R[:, 1, :].float()
    centres = 1 - (2 * torch.arange(size, dtype=torch.float32, device=up.device) + 1) / size
    t = centres * math.tan(math.radians(fov) / 2)
    y, x = torch.meshgrid(t, t, indexing="ij")
    rays = torch.stack([x, y, torch.ones_like(x)])
    rays = rays / rays.norm(dim=0, keepdim=True)
    return torch.einsum("bc,chw->bhw", up, rays)[:, None]


def augment_views(
    batch: dict[str, Any], generator: torch.Generator | None = None
) -> dict[str, Any]:
    """A copy of a batch with half of its views mirrored left-right and colours shuffled.

    Each view (``image`` ``(B, 3, S, S)``, ``depth`` and ``mask`` ``(B, 1, S, S)``) is
    mirrored with probability 1/2 — image, depth and mask together: the mirror image of a
    render is the render of the mirrored shape from the mirrored camera, which for the
    course's cameras (looking at the origin, no roll) is the same camera, so ``R`` is kept
    (and :func:`ray_elevation`, symmetric left-right, with it) — and its RGB
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
        channels: the encoder's block widths (as :class:`~.encoders.ConvEncoder`). The
            default is half chapter 05's width: on a CPU budget the network is limited by
            how many steps it takes, not by its size (``benchmarks/README.md``, chapter 08).
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
        head_channels: width of the last layer before the outputs (it runs at the full
            input resolution, so it is the most expensive layer per channel).
        camera_up: give the network the camera's elevation, as a fourth input channel:
            :func:`ray_elevation` of every pixel. Without it, a picture alone does not say
            how steeply the camera looks down, and a table top or a lamp's base can be
            read tilted by as much as the elevations vary (10-40 degrees).
        fov: the cameras' field of view (degrees) for :func:`ray_elevation`.

    Example:
        >>> net = DepthNet(channels=(4, 8), input_size=16)
        >>> depth, mask = net(torch.rand(2, 3, 20, 20))
        >>> depth.shape, mask.shape
        (torch.Size([2, 1, 20, 20]), torch.Size([2, 1, 20, 20]))
    """

    kind = "depth"

    def __init__(
        self,
        channels: tuple[int, ...] | list[int] = (16, 32, 64, 128, 128),
        input_size: int | None = 64,
        norm: str = "batch",
        depth_offset: float = 2.0,
        mask_weight: float = 0.1,
        grad_weight: float = 0.5,
        uncertainty: bool = True,
        scale_weight: float = 0.1,
        augment: bool = True,
        head_channels: int = 16,
        camera_up: bool = True,
        fov: float = FOV,
    ) -> None:
        super().__init__()
        channels = tuple(int(c) for c in channels)
        self.camera_up = bool(camera_up)
        inputs = 4 if self.camera_up else 3
        self.encoder = ConvEncoder(
            latent_dim=1, channels=channels, input_size=None, norm=norm, in_channels=inputs
        )
        self.input_size = input_size
        self.depth_offset = float(depth_offset)
        self.mask_weight = float(mask_weight)
        self.grad_weight = float(grad_weight)
        self.uncertainty = bool(uncertainty)
        self.scale_weight = float(scale_weight)
        self.augment = bool(augment)
        self.fov = float(fov)
        ups = []
        previous = channels[-1]
        for skip in reversed(channels[:-1]):
            ups.append(_up_block(previous + skip, skip, norm))
            previous = skip
        self.ups = nn.ModuleList(ups)
        self.head = nn.Sequential(
            nn.Conv2d(previous + inputs, head_channels, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(head_channels, 3 if self.uncertainty else 2, 3, padding=1),
        )
        if self.uncertainty:  # start b near 0.05 (softplus(-3)), the size of an early error
            with torch.no_grad():
                self.head[2].bias[2].fill_(-3.0)
        self.config: Any = None

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def forward(
        self, images: torch.Tensor, R: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, 3, S, S)`` RGB in [0, 1] -> depth and mask logits, each ``(B, 1, S, S)``.

        ``R``: ``(B, 3, 3)`` the cameras' world-to-view rotations (the course's items hold
        them), for ``camera_up``; None: a camera at :data:`DEFAULT_ELEVATION` degrees.
        """
        depth, mask_logits, _ = self.predict(images, R)
        return depth, mask_logits

    def predict(
        self, images: torch.Tensor, R: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """``(B, 3, S, S)`` (and ``R`` as in :meth:`forward`) -> depth, mask logits and the
        scale ``b`` (None without ``uncertainty``), each ``(B, 1, S, S)``."""
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"images must be (B, 3, H, W), got {tuple(images.shape)}")
        if R is not None and (R.dim() != 3 or R.shape[1:] != (3, 3) or len(R) != len(images)):
            raise ValueError(
                f"R must be (B, 3, 3) with B = {len(images)} images, got {tuple(R.shape)}"
            )
        size = images.shape[-2:]
        x = images
        if self.input_size is not None and tuple(size) != (self.input_size,) * 2:
            x = F.interpolate(
                x, size=(self.input_size,) * 2, mode="bilinear", align_corners=False, antialias=True
            )
        x = x * 2.0 - 1.0
        if self.camera_up:
            up = ray_elevation(R, x.shape[-1], self.fov).to(x.device)
            x = torch.cat([x, up.expand(len(x), -1, -1, -1)], dim=1)
        skips = []
        h = x
        for block in self.encoder.blocks:
            h = block(h)
            skips.append(h)
        h = skips.pop()
        for up_block in self.ups:
            skip = skips.pop()
            h = F.interpolate(h, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            h = up_block(torch.cat([h, skip], dim=1))
        h = F.interpolate(h, size=x.shape[-2:], mode="bilinear", align_corners=False)
        out = self.head(torch.cat([h, x], dim=1))
        if tuple(out.shape[-2:]) != tuple(size):
            out = F.interpolate(out, size=size, mode="bilinear", align_corners=False)
        scale = MIN_SCALE + F.softplus(out[:, 2:3]) if self.uncertainty else None
        return out[:, :1] + self.depth_offset, out[:, 1:2], scale

    def loss(
        self, batch: dict[str, Any], generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The training loss of a batch with ``"image"``, ``"depth"``, ``"mask"`` and ``"R"``
        (augmented with :func:`augment_views` in training mode when ``augment``)."""
        if self.training and self.augment:
            batch = augment_views(batch, generator)
        depth, mask_logits, scale = self.predict(batch["image"], batch.get("R"))
        return depth_loss(
            depth, mask_logits, batch["depth"], batch["mask"], self.mask_weight,
            self.grad_weight, scale, self.scale_weight,
        )  # fmt: skip

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False) -> Any:
        """As ``nn.Module``'s, with a clear error for a checkpoint of another architecture."""
        weight = state_dict.get("head.2.weight")
        expected = self.head[2].weight.shape[0]
        if weight is not None and weight.shape[0] != expected:
            raise ValueError(
                f"this depth checkpoint's head has {weight.shape[0]} outputs, the model "
                f"{expected}: it was trained {'without' if expected == 3 else 'with'} the "
                "uncertainty output; retrain it (python -m course_utils train --decoder depth "
                "--force) or build DepthNet(uncertainty=...) to match"
            )
        own = self.state_dict()
        for key, value in state_dict.items():
            if key in own and tuple(value.shape) != tuple(own[key].shape):
                raise ValueError(
                    f"this depth checkpoint does not fit the network: {key} is "
                    f"{tuple(value.shape)} in the file, {tuple(own[key].shape)} here. It was "
                    "probably trained by an earlier version of the chapter, whose DepthNet was "
                    "twice as wide and did not see the camera's elevation; retrain it "
                    "(python -m course_utils train --decoder depth --force), or build "
                    "DepthNet(channels=(32, 64, 128, 256, 256), head_channels=32, "
                    "camera_up=False) to load it"
                )
        return super().load_state_dict(state_dict, strict=strict, assign=assign)
