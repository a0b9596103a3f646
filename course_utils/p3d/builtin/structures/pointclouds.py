"""``Pointclouds``: a batch of point clouds of different sizes, as in PyTorch3D.

Each cloud n has ``P_n`` points ``(P_n, 3)``, optionally normals ``(P_n, 3)`` and features
``(P_n, C)`` (e.g. RGB colours). Like ``Meshes``, the batch is offered as a list, packed
(``(sum P_n, 3)``, clouds concatenated) or padded (``(N, max P_n, 3)``, zero padded).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from course_utils.p3d.builtin.common import Device, make_device
from course_utils.p3d.builtin.structures.batching import (
    batch_indices,
    list_to_padded,
    padded_bounding_boxes,
    padded_to_list,
    padded_to_packed_index,
)

TensorsLike = Sequence[torch.Tensor] | torch.Tensor


class Pointclouds:
    """A batch of N point clouds, possibly of different sizes (PyTorch3D's ``Pointclouds``).

    Args:
        points: a list of N float tensors ``(P_n, 3)`` or a padded tensor ``(N, P, 3)``
            (then every cloud has P points).
        normals: optional, same layout as ``points``.
        features: optional, a list of ``(P_n, C)`` or a padded ``(N, P, C)`` tensor.

    Example:
        >>> import torch
        >>> clouds = Pointclouds(points=[torch.zeros(5, 3), torch.ones(2, 3)])
        >>> clouds.num_points_per_cloud()
        tensor([5, 2])
        >>> clouds.points_padded().shape
        torch.Size([2, 5, 3])
    """

    def __init__(
        self,
        points: TensorsLike,
        normals: TensorsLike | None = None,
        features: TensorsLike | None = None,
    ) -> None:
        if isinstance(points, (list, tuple)):
            points = list(points)
            self._N = len(points)
            for n, p in enumerate(points):
                if not torch.is_tensor(p) or p.dim() != 2 or p.shape[1] != 3:
                    shape = tuple(p.shape) if torch.is_tensor(p) else type(p).__name__
                    raise ValueError(
                        f"Pointclouds: points[{n}] must be a (P, 3) tensor, got {shape}"
                    )
            self.device = points[0].device if points else torch.device("cpu")
            counts = [p.shape[0] for p in points]
            self._points_list: list[torch.Tensor] | None = points
            self._points_padded: torch.Tensor | None = None
        elif torch.is_tensor(points):
            if points.dim() != 3 or points.shape[2] != 3:
                raise ValueError(
                    f"Pointclouds: padded points must be (N, P, 3), got {tuple(points.shape)}"
                )
            self._N = points.shape[0]
            self.device = points.device
            counts = [points.shape[1]] * self._N
            self._points_list = None
            self._points_padded = points
        else:
            raise ValueError(
                f"Pointclouds: points must be a list of tensors or a tensor, got {type(points)}"
            )
        self._num_points_per_cloud = torch.tensor(counts, dtype=torch.int64, device=self.device)
        self._P = max(counts) if counts else 0
        self.equisized = self._N > 0 and all(c == self._P for c in counts)
        self.valid = self._num_points_per_cloud > 0
        self._normals_list = self._parse_aux(normals, "normals", fixed_channels=3)
        self._features_list = self._parse_aux(features, "features", fixed_channels=None)
        self._points_packed: torch.Tensor | None = None

    def _parse_aux(
        self, aux: TensorsLike | None, name: str, fixed_channels: int | None
    ) -> list[torch.Tensor] | None:
        """Validate normals/features against the points and return them as a list."""
        if aux is None:
            return None
        counts = self._num_points_per_cloud.tolist()
        if torch.is_tensor(aux):
            if aux.dim() != 3 or aux.shape[0] != self._N or aux.shape[1] < self._P:
                raise ValueError(
                    f"Pointclouds: padded {name} must be (N, P, C) = ({self._N}, {self._P}, C), "
                    f"got {tuple(aux.shape)}"
                )
            aux = padded_to_list(aux, counts)
        aux = list(aux)
        if len(aux) == 0 and self._N == 0:
            return None  # as PyTorch3D: no clouds, no normals/features
        # As PyTorch3D: an empty cloud may give None; it becomes a (0, C) tensor.
        given = [a for a in aux if torch.is_tensor(a)]
        if given and len(given) < len(aux):
            aux = [
                a if a is not None or count else given[0].new_zeros((0, given[0].shape[1]))
                for a, count in zip(aux, counts + [1] * (len(aux) - len(counts)))
            ]
        if len(aux) != self._N:
            raise ValueError(f"Pointclouds: {len(aux)} {name} tensors for {self._N} clouds")
        channels = None
        for n, (a, count) in enumerate(zip(aux, counts)):
            if not torch.is_tensor(a) or a.dim() != 2 or a.shape[0] != count:
                shape = tuple(a.shape) if torch.is_tensor(a) else type(a).__name__
                raise ValueError(
                    f"Pointclouds: {name}[{n}] must have shape ({count}, C) to match "
                    f"points[{n}], got {shape}"
                )
            if fixed_channels is not None and a.shape[1] != fixed_channels:
                raise ValueError(f"Pointclouds: {name}[{n}] must have {fixed_channels} channels")
            if channels is not None and a.shape[1] != channels:
                raise ValueError(
                    f"Pointclouds: every {name} tensor needs the same number of {name} (channels)"
                )
            channels = a.shape[1]
        return aux

    # ------------------------------------------------------------------ basics
    def __len__(self) -> int:
        return self._N

    def __repr__(self) -> str:
        return f"Pointclouds(N={self._N}, points={self._num_points_per_cloud.tolist()})"

    def __getitem__(self, index: int | slice | Sequence[int] | torch.Tensor) -> Pointclouds:
        """Select clouds: an int, a slice, a list of ints, or a 1-D long/bool tensor."""
        chosen = batch_indices(index, self._N, "cloud")
        points = self.points_list()
        normals = self.normals_list()
        features = self.features_list()
        return self.__class__(
            points=[points[i] for i in chosen],
            normals=None if normals is None else [normals[i] for i in chosen],
            features=None if features is None else [features[i] for i in chosen],
        )

    def isempty(self) -> bool:
        """True when there are no clouds or no points at all."""
        return self._N == 0 or not bool(self.valid.any())

    # ------------------------------------------------------------------ views
    def points_list(self) -> list[torch.Tensor]:
        """List of N tensors ``(P_n, 3)``."""
        if self._points_list is None:
            self._points_list = padded_to_list(
                self._points_padded, self._num_points_per_cloud.tolist()
            )
        return self._points_list

    def normals_list(self) -> list[torch.Tensor] | None:
        """List of N tensors ``(P_n, 3)``, or None."""
        return self._normals_list

    def features_list(self) -> list[torch.Tensor] | None:
        """List of N tensors ``(P_n, C)``, or None."""
        return self._features_list

    def points_packed(self) -> torch.Tensor:
        """``(sum P_n, 3)``: all points."""
        if self._points_packed is None:
            if self._N == 0:
                self._points_packed = torch.zeros((0, 3), device=self.device)
            else:
                self._points_packed = torch.cat(self.points_list(), dim=0)
        return self._points_packed

    def normals_packed(self) -> torch.Tensor | None:
        """``(sum P_n, 3)`` or None."""
        return None if self._normals_list is None else torch.cat(self._normals_list, dim=0)

    def features_packed(self) -> torch.Tensor | None:
        """``(sum P_n, C)`` or None."""
        return None if self._features_list is None else torch.cat(self._features_list, dim=0)

    def points_padded(self) -> torch.Tensor:
        """``(N, max P_n, 3)`` zero padded."""
        if self._points_padded is None:
            if self._N == 0:
                self._points_padded = torch.zeros((0, 0, 3), device=self.device)
            else:
                self._points_padded = list_to_padded(
                    self.points_list(), (self._P, 3), equisized=self.equisized
                )
        return self._points_padded

    def normals_padded(self) -> torch.Tensor | None:
        """``(N, max P_n, 3)`` zero padded, or None."""
        if self._normals_list is None:
            return None
        return list_to_padded(self._normals_list, (self._P, 3), equisized=self.equisized)

    def features_padded(self) -> torch.Tensor | None:
        """``(N, max P_n, C)`` zero padded, or None."""
        if self._features_list is None:
            return None
        channels = self._features_list[0].shape[1]
        return list_to_padded(self._features_list, (self._P, channels), equisized=self.equisized)

    def num_points_per_cloud(self) -> torch.Tensor:
        """``(N,)`` int64: P_n."""
        return self._num_points_per_cloud

    def cloud_to_packed_first_idx(self) -> torch.Tensor:
        """``(N,)`` int64: row of :meth:`points_packed` where cloud n starts."""
        return torch.cumsum(self._num_points_per_cloud, 0) - self._num_points_per_cloud

    def packed_to_cloud_idx(self) -> torch.Tensor:
        """``(sum P_n,)`` int64: the cloud each packed point belongs to."""
        return torch.repeat_interleave(
            torch.arange(self._N, device=self.device), self._num_points_per_cloud
        )

    def padded_to_packed_idx(self) -> torch.Tensor:
        """``(sum P_n,)`` int64: ``points_padded().view(-1, 3)[idx]`` equals the packed points."""
        return padded_to_packed_index(self._num_points_per_cloud, self._P)

    def get_bounding_boxes(self) -> torch.Tensor:
        """``(N, 3, 2)``: per cloud, min (column 0) and max (column 1) of x, y, z."""
        return padded_bounding_boxes(self.points_padded(), self._num_points_per_cloud)

    # ------------------------------------------------------------------ new clouds
    def _rebuilt(self, fn) -> Pointclouds:
        """A new batch with ``fn`` applied to every points/normals/features tensor."""
        normals = self.normals_list()
        features = self.features_list()
        return self.__class__(
            points=[fn(p) for p in self.points_list()],
            normals=None if normals is None else [fn(n) for n in normals],
            features=None if features is None else [fn(f) for f in features],
        )

    def clone(self) -> Pointclouds:
        """A deep copy (tensors cloned)."""
        return self._rebuilt(lambda t: t.clone())

    def detach(self) -> Pointclouds:
        """A copy detached from the autograd graph."""
        return self._rebuilt(lambda t: t.detach())

    def to(self, device: Device, copy: bool = False) -> Pointclouds:
        """The batch on ``device`` (self when already there and ``copy`` is False)."""
        device = make_device(device)
        if device == self.device and not copy:
            return self
        return self._rebuilt(lambda t: t.to(device))

    def cpu(self) -> Pointclouds:
        return self.to("cpu")

    def cuda(self) -> Pointclouds:
        return self.to("cuda")

    def extend(self, N: int) -> Pointclouds:  # noqa: N803 - PyTorch3D's argument name
        """Repeat each cloud N times: ``[c0, c0, ..., c1, c1, ...]``."""
        if not isinstance(N, int) or N <= 0:
            raise ValueError(f"extend: N must be a positive int, got {N!r}")
        return self[[i for i in range(self._N) for _ in range(N)]].clone()

    def offset(self, offsets_packed: torch.Tensor) -> Pointclouds:
        """A new batch with points moved by ``(sum P_n, 3)`` (or ``(3,)``) offsets."""
        points = self.points_packed()
        if offsets_packed.shape == (3,):
            offsets_packed = offsets_packed.expand_as(points)
        if offsets_packed.shape != points.shape:
            raise ValueError(
                f"offset: offsets must be (3,) or {tuple(points.shape)}, "
                f"got {tuple(offsets_packed.shape)}"
            )
        new_points = (points + offsets_packed).split(self._num_points_per_cloud.tolist(), 0)
        return self.__class__(
            points=list(new_points), normals=self.normals_list(), features=self.features_list()
        )

    def scale(self, scale: float | torch.Tensor) -> Pointclouds:
        """A new batch with cloud n's points multiplied by ``scale`` (or ``scale[n]``)."""
        if not torch.is_tensor(scale):
            scale = torch.full((self._N,), float(scale), device=self.device)
        elif scale.dim() == 0:
            scale = scale.expand(self._N)
        points = [p * scale[n] for n, p in enumerate(self.points_list())]
        return self.__class__(
            points=points, normals=self.normals_list(), features=self.features_list()
        )

    def update_padded(
        self,
        new_points_padded: torch.Tensor,
        new_normals_padded: torch.Tensor | None = None,
        new_features_padded: torch.Tensor | None = None,
    ) -> Pointclouds:
        """A batch with the same sizes and new padded points (and normals/features)."""
        if new_points_padded.shape != (self._N, self._P, 3):
            raise ValueError(
                f"update_padded: new_points_padded must be {(self._N, self._P, 3)}, "
                f"got {tuple(new_points_padded.shape)}"
            )
        counts = self._num_points_per_cloud.tolist()
        normals = (
            self.normals_list()
            if new_normals_padded is None
            else padded_to_list(new_normals_padded, counts)
        )
        features = (
            self.features_list()
            if new_features_padded is None
            else padded_to_list(new_features_padded, counts)
        )
        return self.__class__(
            points=padded_to_list(new_points_padded, counts), normals=normals, features=features
        )


def join_pointclouds_as_batch(pointclouds: Sequence[Pointclouds]) -> Pointclouds:
    """Concatenate several ``Pointclouds`` batches into one batch."""
    if isinstance(pointclouds, Pointclouds) or torch.is_tensor(pointclouds):
        raise ValueError(
            "join_pointclouds_as_batch: Wrong first argument: "
            "expected a list of Pointclouds, got a single Pointclouds"
        )
    clouds = list(pointclouds)
    if not clouds:
        raise ValueError("join_pointclouds_as_batch: nothing to join")

    def gather(getter: str) -> list[torch.Tensor] | None:
        parts = [getattr(c, getter)() for c in clouds]
        if all(p is None for p in parts):
            return None
        if any(p is None for p in parts):
            raise ValueError(
                f"join_pointclouds_as_batch: {getter[:-5]} are set in some clouds "
                "and some set to None"
            )
        return [t for p in parts for t in p]

    return Pointclouds(
        points=gather("points_list"),
        normals=gather("normals_list"),
        features=gather("features_list"),
    )


def join_pointclouds_as_scene(pointclouds: Pointclouds | Sequence[Pointclouds]) -> Pointclouds:
    """Merge every cloud of a batch (or a list of batches) into a single cloud."""
    if not isinstance(pointclouds, Pointclouds):
        pointclouds = join_pointclouds_as_batch(pointclouds)
    normals = pointclouds.normals_packed()
    features = pointclouds.features_packed()
    return Pointclouds(
        points=[pointclouds.points_packed()],
        normals=None if normals is None else [normals],
        features=None if features is None else [features],
    )
