"""The structure generator of chapter 07: a latent → 2D projections at N fixed viewpoints.

Lin, Kong & Lucey (AAAI 2018) make a *dense* point cloud with 2D convolutions: the decoder
predicts, for each of ``N`` fixed viewpoints (:func:`course_utils.projections.fixed_viewpoints`),
an ``S x S`` map of points in that camera's view frame plus a mask logit per pixel; the
parameter-free :func:`course_utils.projections.fuse` turns them into one cloud of up to
``N S²`` points (12 x 128² = 196,608 by default; about 21 % of them are on a shape of the
course's dataset, about 40,000 points). Chapter 05's :class:`~.decoders.PointDecoder` needs
an output weight per coordinate; here the weights are shared across the image.

**Parametrisation.** Per pixel the network outputs a depth offset and a mask logit
``(dz, logit)``; the point is ``z = dist + dz`` on the pixel's ray: ``(x, y) = (x_ndc t z,
y_ndc t z)`` with ``t = tan(fov / 2)`` and ``(x_ndc, y_ndc)`` the pixel centre — where the
ground-truth projection's point is too. The paper leaves all three coordinates free;
``free_xy=True`` does that here (four outputs ``(dz, dx, dy, logit)``, the point moved
sideways by ``(dx, dy)`` in units of the image plane at unit depth). Points on their rays
are the default because in the course's 10 CPU-minutes they are both cheaper and more
accurate: the two extra outputs per pixel cost a third of the decoder's time and their
error (a median 0.006 sideways, measured) is most of the τ = 0.01 of the F1 score
(``benchmarks/README.md``: F1@0.01 30.9 against 25.4). Offsets start at 0: an untrained
network returns a sphere of points around the object's centre rather than a pile at the
camera.

**A direct path for the coarse shape.** Besides the transposed convolutions, a linear layer
maps the latent straight to coarse ``direct x direct`` maps (16² by default) of every view,
upsampled bilinearly and added to the convolutions' output. Each coarse pixel has weights of
its own, as every coordinate of chapter 05's point decoder does, so the rough silhouettes
and depths are learnt in a few hundred steps; the convolutions only add the detail. Without
it a transposed-convolution decoder spends its first minutes predicting the *average*
silhouette of the training shapes (measured on 32 training shapes with free per-shape
codes: the mask BCE stays near 0.20 for 200 steps, and falls to 0.08 in 100 steps with the
direct path). In the course's 10 CPU-minutes that is the difference between blobs and
legs (``benchmarks/README.md``). ``direct=0`` is the paper's convolutions alone.

**Loss** (:func:`projection_loss`), as in the paper, in its two stages (the
:class:`~.single_view.LossConfig` ``novel_after`` says when the second starts):

* fixed views (the paper's pre-training stage, kept throughout): L1 between the
  predicted and the ground-truth points on the object's pixels, BCE on the mask logits;
* novel views (from ``novel_after`` of the training budget on, 0.7 by default): the fused
  cloud (points whose mask logit is > 0) is pseudo-rendered
  (:func:`course_utils.projections.pseudo_render`, upsampled ``U`` times) at
  ``novel_per_step`` of the ``K`` novel viewpoints; L1 between its depth and the target's
  (nearest-upsampled) on pixels that both see, and BCE between the mask logit carried by the
  nearest point and the target mask on every pixel a point hits (a point that shows up
  where the object is not is pushed out of the mask).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from course_utils.datasets.generate import CAMERA_DIST, FOV

__all__ = ["Projections", "ProjectionDecoder", "projection_loss"]


class Projections:
    """Output of :class:`ProjectionDecoder`: points and mask logits at the fixed views.

    Made either from points, ``Projections(xyz, logits)``, or from depths on rays,
    ``Projections(logits=..., depth=..., rays=...)``; then ``xyz = (rays z, z)`` is computed
    the first time it is read (a training step on the fixed views needs only the depths,
    and building the ``(B, N, S, S, 3)`` points costs a tenth of the decoder's time).

    Attributes:
        xyz: ``(B, N, S, S, 3)`` points in each fixed camera's view frame.
        logits: ``(B, N, S, S)`` mask logits (> 0: the pixel sees the object).
        depth: ``(B, N, S, S)`` their depths, ``xyz[..., 2]``.
        rays: the pixel rays ``(x / z, y / z)``, ``(S, S, 2)`` shared by all maps or
            ``(B, N, S, S, 2)``; None when made from points.
    """

    def __init__(
        self,
        xyz: torch.Tensor | None = None,
        logits: torch.Tensor | None = None,
        depth: torch.Tensor | None = None,
        rays: torch.Tensor | None = None,
    ) -> None:
        if logits is None:
            raise TypeError("Projections needs the mask logits")
        if xyz is None and (depth is None or rays is None):
            raise TypeError("Projections needs xyz, or depth and rays")
        self._xyz, self.logits, self._depth, self.rays = xyz, logits, depth, rays

    @property
    def xyz(self) -> torch.Tensor:
        if self._xyz is None:
            z = self._depth[..., None]
            self._xyz = torch.cat([self.rays * z, z], dim=-1)
        return self._xyz

    @property
    def depth(self) -> torch.Tensor:
        return self._xyz[..., 2] if self._depth is None else self._depth


class ProjectionDecoder(nn.Module):
    """Latent → ``N`` projections ``(x, y, z, mask logit)`` of ``S x S`` pixels.

    A linear layer makes a ``C x 4 x 4`` feature map; ``ConvTranspose2d(kernel 4, stride 2,
    padding 1) -> BatchNorm -> ReLU`` blocks double it up to ``S / shuffle``; a 3x3
    convolution gives ``k N shuffle²`` channels that ``pixel_shuffle`` rearranges into
    ``k N`` maps of ``S x S`` (``k = 2``: depth and mask logit; 4 with ``free_xy``). A second
    linear layer predicts the same ``k N`` maps at ``direct x direct``, bilinearly upsampled
    to ``S x S`` and added (the module docstring says why).

    Args:
        latent_dim: input size.
        channels: feature channels at 4², 8², ... (one more entry than upsamplings).
        num_views: N (the first N of :func:`~course_utils.projections.fixed_viewpoints`).
        shuffle: pixel-shuffle factor of the last layer.
        novel_size: side of the novel-view targets the loss compares with.
        num_novel: K, novel viewpoints in the targets.
        free_xy: predict the sideways offsets ``(dx, dy)`` too, as the paper does (see the
            module docstring); False: every point on its pixel's ray.
        direct: side of the directly predicted coarse maps (0 .. S; 0: none).

    Example:
        >>> dec = ProjectionDecoder(8, channels=(8, 4, 4), num_views=2)
        >>> out = dec(torch.zeros(3, 8))
        >>> out.xyz.shape, out.logits.shape, dec.output_size
        (torch.Size([3, 2, 16, 16, 3]), torch.Size([3, 2, 16, 16]), 16)
    """

    kind = "projections"

    def __init__(
        self,
        latent_dim: int = 256,
        channels: Sequence[int] = (256, 128, 64, 48, 32, 16),
        num_views: int = 12,
        shuffle: int = 1,
        novel_size: int = 64,
        num_novel: int = 8,
        free_xy: bool = False,
        direct: int = 16,
    ) -> None:
        super().__init__()
        from course_utils.projections import fixed_viewpoints

        views = fixed_viewpoints()
        if not 1 <= num_views <= len(views):
            raise ValueError(f"num_views must be in 1..{len(views)}, got {num_views}")
        channels = list(channels)
        self.num_views, self.shuffle = int(num_views), int(shuffle)
        self.output_size = 4 * 2 ** (len(channels) - 1) * self.shuffle
        self.novel_size, self.num_novel = int(novel_size), int(num_novel)
        self.viewpoints = views[: self.num_views]
        self.channels = channels
        self.fc = nn.Linear(latent_dim, channels[0] * 16)
        layers: list[nn.Module] = []
        for c_in, c_out in zip(channels[:-1], channels[1:]):
            layers += [
                nn.ConvTranspose2d(c_in, c_out, kernel_size=4, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
            ]
        self.up = nn.Sequential(*layers)
        self.free_xy = bool(free_xy)
        self.outputs = 4 if self.free_xy else 2  # (dz, dx, dy, logit) or (dz, logit)
        out_channels = self.outputs * self.num_views * self.shuffle**2
        self.head = nn.Conv2d(channels[-1], out_channels, 3, padding=1)
        # Start on the pixel rays at the centre's depth, every mask at p = 0.6: all points
        # are in the first clouds, so the novel-view terms have something to render from
        # the first step; the mask losses then remove the background ones.
        with torch.no_grad():
            self.head.weight.mul_(0.1)
            self.head.bias.zero_()
            self.head.bias.view(self.num_views, self.outputs, -1)[:, -1] = math.log(0.6 / 0.4)
        # A linear map from the latent straight to coarse (direct x direct) maps, upsampled
        # and added to the convolutions' output: each coarse pixel has its own weights (like
        # chapter 05's point decoder), so the rough silhouettes are learnt fast.
        self.direct = int(direct)
        if not 0 <= self.direct <= self.output_size:
            raise ValueError(f"direct must be in 0..{self.output_size}, got {direct}")
        if self.direct:
            self.direct_fc = nn.Linear(latent_dim, self.outputs * self.num_views * self.direct**2)
            with torch.no_grad():
                self.direct_fc.weight.mul_(0.1)
                self.direct_fc.bias.zero_()
        from course_utils.rgbd import ndc_grid

        ndc = ndc_grid(self.output_size, self.output_size)  # (S, S, 2)
        self.register_buffer("ray", ndc * math.tan(math.radians(FOV) / 2), persistent=False)

    def _load_from_state_dict(self, state_dict: Any, prefix: str, *args: Any) -> None:
        # A clear error for weights trained before the direct coarse maps existed, whether
        # the decoder is loaded alone or inside a model (nn.Module calls this per module).
        if self.direct and prefix + "direct_fc.weight" not in state_dict:
            raise ValueError(
                "this projections checkpoint was trained without the decoder's direct coarse "
                "maps (ProjectionDecoder(direct=...)); retrain it (python -m course_utils "
                "train --decoder projections --force) or build the decoder with direct=0"
            )
        super()._load_from_state_dict(state_dict, prefix, *args)

    def cameras(self, device: str | torch.device = "cpu") -> Any:
        """The ``N`` fixed cameras the projections are seen from."""
        from course_utils.projections import viewpoint_cameras

        return viewpoint_cameras(self.viewpoints, device=device)

    def forward(self, latent: torch.Tensor) -> Projections:
        """``(B, L)`` -> :class:`Projections` ``xyz (B, N, S, S, 3)``, ``logits (B, N, S, S)``."""
        B, N, S = latent.shape[0], self.num_views, self.output_size
        x = torch.relu(self.fc(latent)).view(B, self.channels[0], 4, 4)
        out = self.head(self.up(x))
        if self.shuffle > 1:
            out = F.pixel_shuffle(out, self.shuffle)
        if self.direct:
            coarse = self.direct_fc(latent).view(B, -1, self.direct, self.direct)
            out = out + F.interpolate(coarse, size=(S, S), mode="bilinear", align_corners=False)
        out = out.view(B, N, self.outputs, S, S)
        rays = self.ray + out[:, :, 1:3].permute(0, 1, 3, 4, 2) if self.free_xy else self.ray
        return Projections(logits=out[:, :, -1], depth=CAMERA_DIST + out[:, :, 0], rays=rays)

    def fuse(self, out: Projections, threshold: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
        """Fused clouds: ``(B, N S², 3)`` object-frame points and their validity (logit >
        ``threshold``)."""
        from course_utils.projections import fuse

        return fuse(out.xyz, out.logits > threshold, self.cameras(out.xyz.device))

    def prepare_data(self, dataset: Any, progress: bool = True) -> Any:
        """The dataset with the depth targets this decoder trains on (rendered, cached)."""
        if "fixed_depth" in dataset[0]:
            return dataset
        if not hasattr(dataset, "folder"):
            raise ValueError(
                "the projections decoder trains on the course's ShapeDataset (it renders "
                f"depth targets from its meshes), not on {type(dataset).__name__}"
            )
        from course_utils.datasets.projection_targets import WithProjectionTargets

        return WithProjectionTargets(
            dataset, fixed_size=self.output_size, novel_size=self.novel_size,
            num_novel=self.num_novel, progress=progress,
        )  # fmt: skip


def _masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (values * mask).sum() / mask.sum().clamp(min=1)


def projection_loss(
    decoder: ProjectionDecoder,
    out: Projections,
    fixed_depth: torch.Tensor,
    novel_depth: torch.Tensor,
    novel_per_step: int = 2,
    upsample: int = 2,
    w_novel: float = 1.0,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The chapter's training loss (see the module docstring).

    Args:
        decoder: the decoder (its cameras).
        out: its output for the batch.
        fixed_depth: ``(B, N', S, S)`` target depths at the fixed views (0: background), N' >= N
            (the first N are the decoder's).
        novel_depth: ``(B, K, S', S')`` target depths at the novel views.
        novel_per_step: novel views drawn (without replacement) per step.
        upsample: U of the pseudo-renderer.
        w_novel: weight of the novel-view terms (0: fixed views only).
        generator: CPU generator for the choice of novel views.

    Returns:
        ``(total, parts)`` with parts ``fixed_l1``, ``fixed_bce``, ``novel_l1``, ``novel_bce``.
    """
    from course_utils.p3d import renderer
    from course_utils.projections import pseudo_render, upsample_nearest, viewpoint_cameras

    device = out.logits.device
    fixed_depth = fixed_depth.to(device, out.logits.dtype)[:, : decoder.num_views]  # its views
    gt_mask = fixed_depth > 0
    # The ground-truth points lie on the pixel rays: (x, y) = ray * z, z = depth (what
    # depth_to_xyz computes through the camera, without its 4x4 products; 0 on background).
    if out.rays is not decoder.ray:  # points off the pixel rays (free_xy, or made from xyz)
        gt_xyz = torch.cat([decoder.ray * fixed_depth[..., None], fixed_depth[..., None]], -1)
        l1 = (out.xyz - gt_xyz).abs().sum(-1)
    else:  # both points on the same ray: |xyz - gt|_1 = |z - z_gt| (1 + |ray_x| + |ray_y|)
        l1 = (out.depth - fixed_depth).abs() * (1 + decoder.ray.abs().sum(-1))
    parts = {
        "fixed_l1": _masked_mean(l1, gt_mask),
        "fixed_bce": F.binary_cross_entropy_with_logits(out.logits, gt_mask.float()),
    }
    total = parts["fixed_l1"] + parts["fixed_bce"]
    if w_novel > 0:
        from course_utils.projections import novel_viewpoints

        B, K = novel_depth.shape[:2]
        k = min(novel_per_step, K)
        chosen = torch.randperm(K, generator=generator)[:k].tolist()
        cams = viewpoint_cameras([novel_viewpoints(K)[i] for i in chosen], device=device)
        points, valid = decoder.fuse(out)
        n = points.shape[1]
        # cloud b is seen by cameras b k ... b k + k - 1 (pseudo_render projects each
        # cloud once for its k cameras, without copying it)
        batch_cams = renderer.FoVPerspectiveCameras(
            R=cams.R.repeat(B, 1, 1), T=cams.T.repeat(B, 1), fov=FOV, device=device
        )
        rendered = pseudo_render(
            points, batch_cams, novel_depth.shape[-1], upsample=upsample, valid=valid,
            features=out.logits.reshape(B, n, 1),
        )  # fmt: skip
        target = novel_depth.to(device)[:, chosen].reshape(B * k, *novel_depth.shape[-2:])
        target = upsample_nearest(target, upsample)  # (B k, S' U, S' U)
        both = rendered.mask & (target > 0)
        parts["novel_l1"] = _masked_mean((rendered.depth - target).abs(), both)
        logits = rendered.features[..., 0]
        bce = F.binary_cross_entropy_with_logits(logits, (target > 0).float(), reduction="none")
        parts["novel_bce"] = _masked_mean(bce, rendered.mask)
        total = total + w_novel * (parts["novel_l1"] + parts["novel_bce"])
    return total, parts
