"""Decoders: one latent vector -> a 3D shape, in four representations.

Every decoder maps ``(B, latent_dim)`` latent vectors (from an image encoder) to a batch of
shapes in the object's canonical frame (+Y up, centred, bounding-box diagonal 1, so the
shape fits in the cube [-0.5, 0.5]³). Each has a ``kind`` that says what it returns:

==========  =========================  ==============================================
kind        decoder                    returns
==========  =========================  ==============================================
voxels      :class:`VoxelMLPDecoder`   ``(B, R, R, R)`` occupancy *logits*
voxels      :class:`VoxelConvDecoder`  ``(B, R, R, R)`` occupancy logits (Pix2Vox-style)
points      :class:`PointDecoder`      ``(B, N, 3)`` points (PSGN-style)
mesh        :class:`MeshDecoder`       a ``Meshes`` batch: a deformed ico-sphere
implicit    :class:`ImplicitDecoder`   ``(B, Q)`` occupancy logits at query points
==========  =========================  ==============================================

Voxel grids follow the course dataset's convention: axes ``(z, y, x)``, and voxel
``[k, j, i]`` is the cell whose centre is ``(x, y, z) = -0.5 + ((i, j, k) + 0.5) / R``
(:func:`voxel_centres`), so the grid exactly fills [-0.5, 0.5]³.

Logits, not probabilities: ``sigmoid(logit)`` is the probability that a cell (or point) is
inside; the losses use ``binary_cross_entropy_with_logits``, which is numerically safer
than a sigmoid followed by a log.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from course_utils.p3d import structures
from course_utils.p3d import utils as p3d_utils

__all__ = [
    "VoxelMLPDecoder",
    "VoxelConvDecoder",
    "PointDecoder",
    "MeshDecoder",
    "ImplicitDecoder",
    "voxel_centres",
    "mlp",
    "init_output_bias",
]


def mlp(sizes: Sequence[int], final_activation: bool = False) -> nn.Sequential:
    """Linear layers ``sizes[0] -> sizes[1] -> ... -> sizes[-1]`` with ReLUs in between."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2 or final_activation:
            layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def init_output_bias(layer: nn.Module, probability: float) -> None:
    """Start a logit layer at ``probability`` everywhere: bias = logit(p), tiny weights.

    Most voxels are empty (about 3 % of the 32³ grid is inside a course shape). A last
    layer that starts at p = 0.5 spends its first epochs learning just that; starting at
    the right prior lets training work on the shape straight away (a trick of the
    RetinaNet/focal-loss paper).
    """
    with torch.no_grad():
        layer.weight.mul_(0.1)
        layer.bias.fill_(math.log(probability / (1 - probability)))


def voxel_centres(
    resolution: int = 32, device: str | torch.device = "cpu", extent: float = 0.5
) -> torch.Tensor:
    """World coordinates of the centres of an ``R³`` voxel grid that fills [-extent, extent]³.

    Returns:
        ``(R, R, R, 3)``: entry ``[k, j, i]`` (axes z, y, x, like the voxel grids) is the
        point ``(x_i, y_j, z_k)`` with ``x_i = -extent + (i + 0.5) * 2 extent / R``.

    Example:
        >>> centres = voxel_centres(2)
        >>> centres[0, 0, 1].tolist()  # k=0 (z), j=0 (y), i=1 (x)
        [0.25, -0.25, -0.25]
    """
    c = -extent + (torch.arange(resolution, device=device, dtype=torch.float32) + 0.5) * (
        2 * extent / resolution
    )
    zz, yy, xx = torch.meshgrid(c, c, c, indexing="ij")
    return torch.stack([xx, yy, zz], dim=-1)


# ---------------------------------------------------------------------------- voxels
class VoxelMLPDecoder(nn.Module):
    """The simplest voxel decoder: an MLP from the latent to all ``R³`` logits at once.

    ``latent (B, L) -> hidden -> R³ logits -> reshape (B, R, R, R)``. It ignores that
    neighbouring voxels are related; every voxel has its own output weights, so the last
    layer alone has ``hidden * R³`` weights (8.4 M for 256 x 32³). Compare
    :class:`VoxelConvDecoder`, which shares weights across space.

    Args:
        latent_dim: input size.
        hidden: sizes of the hidden layers.
        resolution: R, voxels per axis.
        init_occupancy: the probability every voxel starts at (:func:`init_output_bias`).

    Example:
        >>> VoxelMLPDecoder(8, hidden=(16,), resolution=4)(torch.zeros(2, 8)).shape
        torch.Size([2, 4, 4, 4])
    """

    kind = "voxels"

    def __init__(
        self,
        latent_dim: int = 256,
        hidden: Sequence[int] = (256,),
        resolution: int = 32,
        init_occupancy: float = 0.05,
    ) -> None:
        super().__init__()
        self.resolution = int(resolution)
        self.net = mlp([latent_dim, *hidden, self.resolution**3])
        init_output_bias(self.net[-1], init_occupancy)

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        """``(B, L)`` -> ``(B, R, R, R)`` occupancy logits, axes (z, y, x)."""
        R = self.resolution
        return self.net(latent).view(-1, R, R, R)


class VoxelConvDecoder(nn.Module):
    """Pix2Vox-style decoder: 3D transposed convolutions that double the resolution.

    A linear layer turns the latent into a small ``C x 4³`` feature volume; each
    ``ConvTranspose3d(kernel 4, stride 2, padding 1) -> BatchNorm3d -> ReLU`` doubles
    its size (4³ → 8³ → 16³ → 32³) while the channels shrink; a final 1x1x1 convolution
    gives one logit per voxel. Weights are shared across space (a part is decoded the
    same way wherever it is), so it has far fewer parameters than :class:`VoxelMLPDecoder`
    and produces spatially coherent grids.

    Args:
        latent_dim: input size.
        channels: feature channels at 4³, 8³, 16³, 32³ (one more entry than upsamplings);
            ``len(channels) - 1`` upsamplings go from ``start`` to ``resolution``.
        start: side of the first feature volume.
        init_occupancy: the probability every voxel starts at (:func:`init_output_bias`).

    Example:
        >>> decoder = VoxelConvDecoder(8, channels=(8, 4, 2), start=2)
        >>> decoder(torch.zeros(3, 8)).shape  # 2³ -> 4³ -> 8³
        torch.Size([3, 8, 8, 8])
    """

    kind = "voxels"

    def __init__(
        self,
        latent_dim: int = 256,
        channels: Sequence[int] = (128, 64, 32, 8),
        start: int = 4,
        init_occupancy: float = 0.05,
    ) -> None:
        super().__init__()
        channels = list(channels)
        self.start = int(start)
        self.resolution = self.start * 2 ** (len(channels) - 1)
        self.fc = nn.Linear(latent_dim, channels[0] * self.start**3)
        layers: list[nn.Module] = []
        for c_in, c_out in zip(channels[:-1], channels[1:]):
            layers += [
                nn.ConvTranspose3d(c_in, c_out, kernel_size=4, stride=2, padding=1, bias=False),
                nn.BatchNorm3d(c_out),
                nn.ReLU(inplace=True),
            ]
        self.up = nn.Sequential(*layers)
        self.head = nn.Conv3d(channels[-1], 1, kernel_size=1)
        init_output_bias(self.head, init_occupancy)
        self.channels = channels

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        """``(B, L)`` -> ``(B, R, R, R)`` occupancy logits, axes (z, y, x)."""
        s = self.start
        x = torch.relu(self.fc(latent)).view(-1, self.channels[0], s, s, s)
        return self.head(self.up(x))[:, 0]


# ---------------------------------------------------------------------------- points
class PointDecoder(nn.Module):
    """PSGN-style point set generator: an MLP from the latent to ``N x 3`` coordinates.

    ``latent (B, L) -> hidden -> 3N -> reshape (B, N, 3)``. The points have no order and
    no connectivity; the chamfer loss compares them with the ground truth as sets.

    Args:
        latent_dim: input size.
        num_points: N, points per shape.
        hidden: sizes of the hidden layers.

    Example:
        >>> PointDecoder(8, num_points=10, hidden=(16,))(torch.zeros(2, 8)).shape
        torch.Size([2, 10, 3])
    """

    kind = "points"

    def __init__(
        self, latent_dim: int = 256, num_points: int = 2048, hidden: Sequence[int] = (512, 1024)
    ) -> None:
        super().__init__()
        self.num_points = int(num_points)
        self.net = mlp([latent_dim, *hidden, 3 * self.num_points])

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        """``(B, L)`` -> ``(B, N, 3)`` points in the canonical frame."""
        return self.net(latent).view(-1, self.num_points, 3)


# ---------------------------------------------------------------------------- mesh
class MeshDecoder(nn.Module):
    """Deform an ico-sphere: the MLP predicts one 3D offset per vertex (Pixel2Mesh-like).

    The template is ``ico_sphere(level)`` scaled to ``radius``; its vertices
    ``v_i`` (``V = 12, 42, 162, 642, 2562`` for levels 0-4) move to::

        v_i + max_offset * tanh(mlp(latent))_i

    and the faces stay those of the sphere (``Meshes.update_padded``). So the output is
    always a closed, genus-0 surface: it can bend into any blob but never tear a hole
    (a mug's handle becomes a bump). ``tanh`` bounds each offset; the last layer starts
    with tiny weights, so an untrained decoder already returns (almost) the sphere - a
    sane first mesh that the chamfer loss can pull towards the target.

    Args:
        latent_dim: input size.
        level: subdivision level of the ico-sphere.
        hidden: sizes of the hidden layers.
        radius: radius of the template sphere.
        max_offset: largest move of a vertex along each axis.

    Example:
        >>> decoder = MeshDecoder(8, level=1, hidden=(16,))
        >>> meshes = decoder(torch.zeros(2, 8))
        >>> len(meshes), meshes.verts_padded().shape
        (2, torch.Size([2, 42, 3]))
    """

    kind = "mesh"

    def __init__(
        self,
        latent_dim: int = 256,
        level: int = 3,
        hidden: Sequence[int] = (512, 1024),
        radius: float = 0.35,
        max_offset: float = 0.6,
    ) -> None:
        super().__init__()
        sphere = p3d_utils.ico_sphere(level)
        self.register_buffer("sphere_verts", sphere.verts_packed().float() * radius)
        self.register_buffer("sphere_faces", sphere.faces_packed().long())
        self.level, self.radius, self.max_offset = int(level), float(radius), float(max_offset)
        self.num_verts = int(self.sphere_verts.shape[0])
        self.net = mlp([latent_dim, *hidden, 3 * self.num_verts])
        last = self.net[-1]
        assert isinstance(last, nn.Linear)
        with torch.no_grad():  # start close to the sphere (small, not zero: gradients flow)
            last.weight.mul_(0.01)
            last.bias.zero_()

    def offsets(self, latent: torch.Tensor) -> torch.Tensor:
        """``(B, L)`` -> ``(B, V, 3)`` vertex offsets, each coordinate in ±``max_offset``."""
        return self.max_offset * torch.tanh(self.net(latent).view(-1, self.num_verts, 3))

    def template(self, batch_size: int) -> Any:
        """The undeformed sphere, repeated: a ``Meshes`` of ``batch_size`` meshes."""
        V, F = self.sphere_verts.shape[0], self.sphere_faces.shape[0]
        return structures.Meshes(
            verts=self.sphere_verts.expand(batch_size, V, 3),
            faces=self.sphere_faces.expand(batch_size, F, 3),
        )

    def forward(self, latent: torch.Tensor) -> Any:
        """``(B, L)`` -> a ``Meshes`` of B meshes (V vertices and F faces each)."""
        offsets = self.offsets(latent)
        return self.template(len(latent)).update_padded(self.sphere_verts + offsets)


# ---------------------------------------------------------------------------- implicit
class _ResBlock(nn.Module):
    """``h + fc(relu(fc(relu(h))))``: a fully connected residual block."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.fc0 = nn.Linear(width, width)
        self.fc1 = nn.Linear(width, width)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.fc1(torch.relu(self.fc0(torch.relu(h))))


class ImplicitDecoder(nn.Module):
    """Occupancy-network decoder: ``f(latent, xyz) -> logit`` that the point is inside.

    The shape is never stored as a grid: it is the set ``{x : f(z, x) > 0}``, and any
    point can be queried. The network (a small version of Occupancy Networks' decoder)::

        p = [xyz, sin(2^k pi xyz), cos(2^k pi xyz) for k < num_frequencies]
        h = fc_p([p, local features at xyz]) + fc_z(z)    per query point, width W
        repeat num_blocks times:  h = h + fc_z_k(z);  h = ResBlock(h)
        logit = fc_out(relu(h))

    The latent is added at every block (its projections are computed once per shape and
    broadcast to all of its query points), which is cheap: the per-point cost is that of
    the ``W x W`` layers only. The sines and cosines of the coordinates ("Fourier
    features", as in NeRF) let a small MLP make sharp inside/outside transitions; with
    ``num_frequencies=0`` the input is the raw ``xyz``, as in Occupancy Networks.

    **Local features** (``grid_channels > 0``, the default; Convolutional Occupancy
    Networks, Peng et al. 2020): the latent is first decoded, by two 3D transposed
    convolutions like :class:`VoxelConvDecoder`'s, into a coarse ``C x 16³`` grid of
    feature vectors; each query reads the features at its position (trilinear
    interpolation, ``grid_sample``) and the MLP turns them into an occupancy. The MLP
    then only has to describe the shape *near* each point, not the whole shape from one
    global vector — it trains several times faster, which matters on a CPU. With
    ``grid_channels=0`` the decoder is the plain global-latent MLP of Occupancy Networks
    (it needs far more training steps to get the same quality).

    To get a mesh, evaluate it on a grid (:meth:`grid_logits`) and run marching cubes on
    the 0 level.

    Args:
        latent_dim: input size.
        hidden: W, width of the layers.
        num_blocks: number of residual blocks.
        num_frequencies: Fourier feature octaves of the coordinates.
        grid_channels: C, channels of the local feature grid (0: no grid).
        init_occupancy: the probability every query starts at (about a quarter of the
            training queries are inside, see :func:`.losses.sample_queries`).

    Example:
        >>> decoder = ImplicitDecoder(8, hidden=16, num_blocks=1)
        >>> decoder(torch.zeros(2, 8), torch.rand(2, 100, 3)).shape
        torch.Size([2, 100])
        >>> decoder.grid_logits(torch.zeros(2, 8), resolution=4).shape
        torch.Size([2, 4, 4, 4])
    """

    kind = "implicit"

    def __init__(
        self,
        latent_dim: int = 256,
        hidden: int = 128,
        num_blocks: int = 2,
        num_frequencies: int = 4,
        grid_channels: int = 16,
        init_occupancy: float = 0.25,
    ) -> None:
        super().__init__()
        if int(grid_channels) < 0 or int(num_frequencies) < 0 or int(num_blocks) < 0:
            raise ValueError(
                "grid_channels, num_frequencies and num_blocks must be >= 0, got "
                f"{grid_channels}, {num_frequencies}, {num_blocks}"
            )
        self.register_buffer(
            "frequencies", torch.pi * 2.0 ** torch.arange(num_frequencies), persistent=False
        )
        self.grid_channels = int(grid_channels)
        self.grid: nn.Module | None = None
        if self.grid_channels > 0:
            self.grid = nn.Sequential(
                nn.Linear(latent_dim, 64 * 4**3),
                nn.ReLU(inplace=True),
                nn.Unflatten(1, (64, 4, 4, 4)),
                nn.ConvTranspose3d(64, 32, kernel_size=4, stride=2, padding=1, bias=False),
                nn.BatchNorm3d(32),
                nn.ReLU(inplace=True),
                nn.ConvTranspose3d(32, self.grid_channels, kernel_size=4, stride=2, padding=1),
            )  # (B, C, 16, 16, 16), axes (z, y, x) like the voxel grids
        self.fc_p = nn.Linear(3 + 6 * num_frequencies + self.grid_channels, hidden)
        self.fc_z = nn.ModuleList([nn.Linear(latent_dim, hidden) for _ in range(num_blocks + 1)])
        self.blocks = nn.ModuleList([_ResBlock(hidden) for _ in range(num_blocks)])
        self.fc_out = nn.Linear(hidden, 1)
        init_output_bias(self.fc_out, init_occupancy)

    def feature_grid(self, latent: torch.Tensor) -> torch.Tensor | None:
        """``(B, L)`` -> ``(B, C, 16, 16, 16)`` local feature grid (axes z, y, x, filling
        [-0.5, 0.5]³), or None when ``grid_channels == 0``."""
        return None if self.grid is None else self.grid(latent)

    @staticmethod
    def local_features(grid: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        """Trilinear interpolation of a feature grid at query points.

        Args:
            grid: ``(B, C, G, G, G)`` features, axes (z, y, x), cell ``[k, j, i]`` centred at
                ``-0.5 + ((i, j, k) + 0.5) / G`` (the voxel convention: the grid fills
                [-0.5, 0.5]³).
            points: ``(B, Q, 3)`` world ``(x, y, z)`` points.

        Returns:
            ``(B, Q, C)``: at a cell centre exactly that cell's features; outside the box the
            nearest border value.

        Example:
            >>> grid = torch.arange(8.0).view(1, 1, 2, 2, 2)  # value = 4 k + 2 j + i
            >>> ImplicitDecoder.local_features(grid, torch.tensor([[[0.25, -0.25, -0.25]]]))
            tensor([[[1.]]])
        """
        # grid_sample wants (x, y, z) in [-1, 1] for the (W, H, D) axes; align_corners=False
        # puts -1 and 1 on the outer faces of the first and last cells, as in our convention.
        where = (points / 0.5).view(points.shape[0], -1, 1, 1, 3).to(grid.dtype)
        sampled = torch.nn.functional.grid_sample(
            grid, where, mode="bilinear", padding_mode="border", align_corners=False
        )  # (B, C, Q, 1, 1)
        return sampled[..., 0, 0].transpose(1, 2)

    def encode_points(self, points: torch.Tensor) -> torch.Tensor:
        """``(..., 3)`` -> ``(..., 3 + 6 F)``: the coordinates and their Fourier features."""
        if len(self.frequencies) == 0:
            return points
        angles = (points[..., None, :] * self.frequencies[:, None]).flatten(-2)  # (..., 3F)
        return torch.cat([points, torch.sin(angles), torch.cos(angles)], dim=-1)

    def decode_points(
        self, latent: torch.Tensor, grid: torch.Tensor | None, points: torch.Tensor
    ) -> torch.Tensor:
        """Logits at ``(B, Q, 3)`` points, given the latents and their :meth:`feature_grid`."""
        inputs = self.encode_points(points)
        if grid is not None:
            inputs = torch.cat([inputs, self.local_features(grid, points)], dim=-1)
        h = self.fc_p(inputs) + self.fc_z[0](latent)[:, None]
        for fc_z, block in zip(self.fc_z[1:], self.blocks):
            h = block(h + fc_z(latent)[:, None])
        return self.fc_out(torch.relu(h))[..., 0]

    def forward(self, latent: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        """``(B, L)`` latents and ``(B, Q, 3)`` query points -> ``(B, Q)`` logits."""
        if points.dim() != 3 or points.shape[-1] != 3 or points.shape[0] != latent.shape[0]:
            raise ValueError(
                f"points must be (B, Q, 3) with B = {latent.shape[0]}, got {tuple(points.shape)}"
            )
        return self.decode_points(latent, self.feature_grid(latent), points)

    def grid_logits(
        self, latent: torch.Tensor, resolution: int = 32, chunk_size: int = 65_536
    ) -> torch.Tensor:
        """Logits at the centres of an ``R³`` voxel grid over [-0.5, 0.5]³.

        The feature grid is decoded once; the ``R³`` queries go through the MLP in chunks of
        ``chunk_size`` points per shape (memory stays bounded at high resolutions).

        Returns:
            ``(B, R, R, R)`` logits, axes (z, y, x) like the voxel decoders, so the
            same code (IoU, marching cubes) handles both.
        """
        R, B = resolution, len(latent)
        grid = self.feature_grid(latent)
        centres = voxel_centres(R, device=latent.device).view(1, -1, 3)
        out = [
            self.decode_points(latent, grid, chunk.expand(B, -1, -1))
            for chunk in centres.split(chunk_size, dim=1)
        ]
        return torch.cat(out, dim=1).view(B, R, R, R)
