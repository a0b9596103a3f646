"""``Volumes``: a batch of voxel grids of densities (and features) placed in the world.

Conventions (PyTorch3D's):

* ``densities`` ``(B, density_dim, D, H, W)``, ``features`` ``(B, feature_dim, D, H, W)``;
  the grid is indexed ``[z, y, x]`` (depth, height, width).
* *Local* coordinates span the grid with ``[-1, 1]`` along each axis, ``x`` along W, ``y``
  along H, ``z`` along D, as ``torch.nn.functional.grid_sample`` reads them. With
  ``align_corners=True`` (default), -1 and 1 are the centres of the first and last voxels.
* *World* coordinates: ``world = local * (grid_size_xyz - 1) * voxel_size / 2 -
  volume_translation``. So the grid's centre sits at ``-volume_translation`` and
  neighbouring voxel centres are ``voxel_size`` apart.

Only batches of equally sized grids are supported (a list of differently sized grids
raises ``NotImplementedError``).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch

from course_utils.p3d.builtin.transforms import Transform3d

__all__ = ["VolumeLocator", "Volumes"]


def _as_batch(x: Any, name: str) -> torch.Tensor:
    """A 5-D tensor from a tensor or a list of equally sized 4-D tensors."""
    if isinstance(x, (list, tuple)):
        if not x or any(not torch.is_tensor(v) or v.ndim != 4 for v in x):
            raise ValueError(
                f"`{name}` has to be a list of 4-dim tensors of shape ({name}_dim, depth, "
                "height, width)"
            )
        if any(v.shape != x[0].shape for v in x):
            raise NotImplementedError(
                f"`{name}`: grids of different sizes in one Volumes are not supported by the "
                "built-in backend; make one Volumes per size"
            )
        return torch.stack(list(x))
    if torch.is_tensor(x):
        if x.ndim != 5:
            raise ValueError(
                f"`{name}` has to be a 5-dim tensor of shape (minibatch, {name}_dim, depth, "
                f"height, width); got shape {tuple(x.shape)}"
            )
        return x
    raise ValueError(f"`{name}` must be a list of tensors or a tensor; got {type(x).__name__}")


def _per_volume_xyz(value: Any, batch: int, device: torch.device, name: str) -> torch.Tensor:
    """A scalar, an (x, y, z) triple or a ``(1,)``/``(3,)``/``(B, 1)``/``(B, 3)`` tensor ->
    ``(B, 3)`` float32."""
    message = (
        f"{name} has to be a scalar, a 3-tuple, or a tensor of shape (1,), (3,), (1, 3), "
        f"(minibatch, 1) or (minibatch, 3); got {value!r}"
    )
    if isinstance(value, (int, float)):
        t = torch.full((1, 3), float(value))
    elif isinstance(value, Sequence) and not torch.is_tensor(value):
        if len(value) != 3:
            raise ValueError(message)
        t = torch.tensor([float(v) for v in value])[None]
    elif torch.is_tensor(value):
        t = value
        if t.numel() == 1:
            t = t.reshape(1, 1).expand(1, 3)
        elif t.ndim == 1 and t.shape[0] == 3:
            t = t[None]
        elif t.ndim == 2 and t.shape[1] == 1 and t.shape[0] == batch:
            t = t.expand(batch, 3)
        elif not (t.ndim == 2 and t.shape[1] == 3 and t.shape[0] in (1, batch)):
            raise ValueError(message)
    else:
        raise ValueError(message)
    return t.to(device=device, dtype=torch.float32).expand(batch, 3)


class VolumeLocator:
    """Where a batch of grids sits in the world: the local <-> world transforms.

    Args:
        batch_size: B.
        grid_sizes: ``(D, H, W)`` or a ``(B, 3)`` tensor of them.
        device: the device of the transforms.
        voxel_size: see :class:`Volumes`.
        volume_translation: see :class:`Volumes`.
        align_corners: see :class:`Volumes`.
        dtype: of the transforms (the built-in ``Volumes`` passes its densities' dtype, so
            float64 grids can be checked against finite differences).
    """

    def __init__(
        self,
        batch_size: int,
        grid_sizes: Any,
        device: torch.device | str,
        voxel_size: Any = 1.0,
        volume_translation: Any = (0.0, 0.0, 0.0),
        align_corners: bool = True,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        self.device = torch.device(device)
        self._batch_size = batch_size
        sizes = torch.as_tensor(grid_sizes, dtype=torch.long, device=self.device)
        self._grid_sizes = sizes.reshape(-1, 3).expand(batch_size, 3).clone()
        self._align_corners = align_corners
        size = _per_volume_xyz(voxel_size, batch_size, self.device, "voxel_size").to(dtype)
        shift = _per_volume_xyz(volume_translation, batch_size, self.device, "volume_translation")
        shift = shift.to(dtype)
        half_extent = (self._grid_sizes[:, [2, 1, 0]].to(dtype) - 1) * size * 0.5  # (B, 3) xyz
        # Row-vector affine map: world = local * half_extent - volume_translation.
        matrix = torch.diag_embed(torch.cat([half_extent, torch.ones_like(half_extent[:, :1])], 1))
        matrix[:, 3, :3] = -shift
        self._local_to_world_transform = Transform3d(matrix=matrix, device=self.device, dtype=dtype)

    def __len__(self) -> int:
        return self._batch_size

    def get_grid_sizes(self) -> torch.Tensor:
        """``(B, 3)`` grid sizes ``(D, H, W)``."""
        return self._grid_sizes

    def get_local_to_world_coords_transform(self) -> Transform3d:
        return self._local_to_world_transform

    def get_world_to_local_coords_transform(self) -> Transform3d:
        return self._local_to_world_transform.inverse()

    def world_to_local_coords(self, points_3d_world: torch.Tensor) -> torch.Tensor:
        """``(B, ..., 3)`` world points -> local ``[-1, 1]`` grid coordinates."""
        shape = points_3d_world.shape
        transform = self.get_world_to_local_coords_transform()
        return transform.transform_points(points_3d_world.reshape(shape[0], -1, 3)).reshape(shape)

    def local_to_world_coords(self, points_3d_local: torch.Tensor) -> torch.Tensor:
        """``(B, ..., 3)`` local grid coordinates -> world points."""
        shape = points_3d_local.shape
        transform = self.get_local_to_world_coords_transform()
        return transform.transform_points(points_3d_local.reshape(shape[0], -1, 3)).reshape(shape)

    def get_coord_grid(self, world_coordinates: bool = True) -> torch.Tensor:
        """``(B, D, H, W, 3)`` xyz coordinates of every voxel centre (world or local)."""
        depth, height, width = (int(v) for v in self._grid_sizes[0].tolist())

        def axis(r: int) -> torch.Tensor:
            edge = 0.0 if self._align_corners else 1.0 / r
            dtype = self._local_to_world_transform.get_matrix().dtype
            return torch.linspace(-1.0 + edge, 1.0 - edge, r, device=self.device, dtype=dtype)

        z, y, x = torch.meshgrid(axis(depth), axis(height), axis(width), indexing="ij")
        local = torch.stack((x, y, z), dim=3)[None].expand(self._batch_size, -1, -1, -1, -1)
        return self.local_to_world_coords(local) if world_coordinates else local.clone()

    def _subset(self, index: Any, device: torch.device | None = None) -> VolumeLocator:
        new = copy.copy(self)
        new.device = device if device is not None else self.device
        new._grid_sizes = self._grid_sizes[index].to(new.device)
        new._batch_size = new._grid_sizes.shape[0]
        new._local_to_world_transform = Transform3d(
            matrix=self._local_to_world_transform.get_matrix()[index].to(new.device),
            device=new.device,
        )
        return new


class Volumes:
    """A batch of B voxel grids (PyTorch3D's ``Volumes``).

    Args:
        densities: ``(B, density_dim, D, H, W)`` or a list of B ``(density_dim, D, H, W)``.
        features: optional, same layout with ``feature_dim`` channels (e.g. RGB colours).
        voxel_size: world size of one voxel: a number, an (x, y, z) triple or a tensor
            ``(1,)``, ``(3,)``, ``(B, 1)``, ``(B, 3)``.
        volume_translation: the grid's centre is at ``-volume_translation`` in the world.
        align_corners: local -1 / 1 are the centres of the corner voxels (True) or their
            outer faces (False); passed to ``grid_sample`` when sampling.

    Example:
        >>> v = Volumes(torch.zeros(1, 1, 3, 3, 3), voxel_size=0.5)
        >>> v.local_to_world_coords(torch.tensor([[[1.0, 0.0, -1.0]]])).tolist()
        [[[0.5, 0.0, -0.5]]]
    """

    def __init__(
        self,
        densities: Any,
        features: Any = None,
        voxel_size: Any = 1.0,
        volume_translation: Any = (0.0, 0.0, 0.0),
        align_corners: bool = True,
    ) -> None:
        densities_ = _as_batch(densities, "densities")
        self.device = densities_.device
        self._densities = densities_
        self.locator = VolumeLocator(
            batch_size=densities_.shape[0],
            grid_sizes=densities_.shape[2:],
            device=self.device,
            voxel_size=voxel_size,
            volume_translation=volume_translation,
            align_corners=align_corners,
            dtype=densities_.dtype if densities_.is_floating_point() else torch.float32,
        )
        self._features: torch.Tensor | None = None
        if features is not None:
            self._set("features", features)

    def _set(self, name: str, value: Any) -> None:
        tensor = _as_batch(value, name)
        if tensor.device != self.device:
            raise ValueError(
                f"`{name}` have to be on the same device as `densities` ({self.device})"
            )
        if tensor.shape[0] != len(self) or tensor.shape[2:] != self._densities.shape[2:]:
            raise ValueError(
                f"The size of every grid in `{name}` has to match the size of the "
                f"corresponding `densities` grid: {tuple(tensor.shape)} vs "
                f"{tuple(self._densities.shape)}"
            )
        setattr(self, "_" + name, tensor)

    def __len__(self) -> int:
        return self._densities.shape[0]

    def __getitem__(self, index: Any) -> Volumes:
        if isinstance(index, int):
            index = [index]
        elif torch.is_tensor(index) and (index.dim() != 1 or index.dtype.is_floating_point):
            raise IndexError(index)
        elif not isinstance(index, (slice, list, tuple)) and not torch.is_tensor(index):
            raise IndexError(index)
        new = copy.copy(self)
        new._densities = self._densities[index]
        new._features = self._features[index] if self._features is not None else None
        new.locator = self.locator._subset(index)
        return new

    def densities(self) -> torch.Tensor:
        """``(B, density_dim, D, H, W)``."""
        return self._densities

    def features(self) -> torch.Tensor | None:
        """``(B, feature_dim, D, H, W)`` or None."""
        return self._features

    def densities_list(self) -> list[torch.Tensor]:
        return list(self._densities.unbind(0))

    def features_list(self) -> list[torch.Tensor] | None:
        return None if self._features is None else list(self._features.unbind(0))

    def get_align_corners(self) -> bool:
        return self.locator._align_corners

    def update_padded(
        self, new_densities: torch.Tensor, new_features: torch.Tensor | None = None
    ) -> Volumes:
        """A shallow copy with new densities (and features; None drops them), same placement."""
        new = copy.copy(self)
        new._set("densities", new_densities)
        new._features = None
        if new_features is not None:
            new._set("features", new_features)
        return new

    def clone(self) -> Volumes:
        return copy.deepcopy(self)

    def to(self, device: Any, copy: bool = False) -> Volumes:  # noqa: A002 - PyTorch3D's name
        device_ = torch.device(device)
        if not copy and self.device == device_:
            return self
        other = self.clone()
        other.device = device_
        other._densities = self._densities.to(device_)
        if self._features is not None:
            other._features = self._features.to(device_)
        other.locator = self.locator._subset(slice(None), device_)
        return other

    def cpu(self) -> Volumes:
        return self.to("cpu")

    def cuda(self) -> Volumes:
        return self.to("cuda")

    def get_grid_sizes(self) -> torch.Tensor:
        """``(B, 3)`` grid sizes ``(D, H, W)``."""
        return self.locator.get_grid_sizes()

    def get_local_to_world_coords_transform(self) -> Transform3d:
        return self.locator.get_local_to_world_coords_transform()

    def get_world_to_local_coords_transform(self) -> Transform3d:
        return self.locator.get_world_to_local_coords_transform()

    def world_to_local_coords(self, points_3d_world: torch.Tensor) -> torch.Tensor:
        """``(B, ..., 3)`` world points -> local ``[-1, 1]`` grid coordinates."""
        return self.locator.world_to_local_coords(points_3d_world)

    def local_to_world_coords(self, points_3d_local: torch.Tensor) -> torch.Tensor:
        """``(B, ..., 3)`` local grid coordinates -> world points."""
        return self.locator.local_to_world_coords(points_3d_local)

    def get_coord_grid(self, world_coordinates: bool = True) -> torch.Tensor:
        """``(B, D, H, W, 3)`` voxel-centre coordinates."""
        return self.locator.get_coord_grid(world_coordinates)
