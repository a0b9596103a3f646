"""``TensorProperties``: a batch of named parameters, e.g. the colours of N lights.

Lights and materials are *batched*: ``PointLights(location=[[0, 1, 0], [0, 0, -3]])``
describes two lights, one per image of the batch. Every parameter is stored as a tensor
whose first dimension is the batch size N; a parameter given once (a number, or a
``(1, ...)`` tensor) is broadcast to all N. The shading code later reshapes each
``(N, C)`` parameter to ``(N, 1, 1, 1, C)`` so that it meets the ``(N, H, W, K, C)``
per-pixel tensors of the renderer.

This follows PyTorch3D's ``pytorch3d.renderer.utils.TensorProperties``: ``len``,
``to(device)`` (in place), ``clone()``, ``gather_props(batch_idx)`` (in place) and
``obj[i]``, which returns a *view* of element ``i`` whose attributes read and write the
batch's tensors.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
from torch import nn

from course_utils.p3d.builtin.common import (
    Device,
    convert_to_tensors_and_broadcast,
    make_device,
)

# As in PyTorch3D, ``pytorch3d.renderer`` exports these two; the rest are helpers.
__all__ = ["TensorProperties", "convert_to_tensors_and_broadcast"]

#: Values that become batched tensors; anything else (str, bool, None) is stored as is.
_BROADCAST_TYPES = (float, int, list, tuple, torch.Tensor, np.ndarray)


def per_batch_view(param: torch.Tensor, like: torch.Tensor, channels: bool = True) -> torch.Tensor:
    """Reshape a per-batch parameter so it broadcasts against a batch of points.

    Args:
        param: ``(N, C)`` (``channels=True``) or ``(N,)`` (``channels=False``), one value
            per batch element (or per packed point, or a batch of 1).
        like: ``(N, ..., 3)`` points, e.g. ``(N, H, W, K, 3)`` pixels, or packed ``(P, 3)``.

    Returns:
        ``param`` viewed as ``(N, 1, ..., 1, C)`` or ``(N, 1, ..., 1)`` with as many
        dimensions as ``like``; unchanged when it already has them (packed inputs).
    """
    wanted = like.dim() if channels else like.dim() - 1
    if param.dim() == wanted:
        return param
    middle = (1,) * (like.dim() - 2)
    tail = (param.shape[-1],) if channels else ()
    return param.reshape(param.shape[0], *middle, *tail)


class TensorAccessor:
    """Read or write one batch element (or a slice) of a :class:`TensorProperties`.

    ``lights[1].location`` is ``lights.location[1]``; ``lights[1].location = (0, 0, 5)``
    writes into ``lights.location`` in place.

    Args:
        class_object: the batched object.
        index: an int or a slice into the batch.
    """

    def __init__(self, class_object: TensorProperties, index: int | slice) -> None:
        self.__dict__["class_object"] = class_object
        self.__dict__["index"] = index

    def __getattr__(self, name: str) -> Any:
        target = self.__dict__["class_object"]
        value = vars(target).get(name)
        if value is None:
            raise AttributeError(f"{type(target).__name__} has no batched attribute {name!r}")
        return value[self.__dict__["index"]]

    def __setattr__(self, name: str, value: Any) -> None:
        target = self.__dict__["class_object"]
        current = vars(target).get(name)
        if not torch.is_tensor(current):
            raise AttributeError(
                f"only tensor attributes can be set through an index; {name!r} is "
                f"{type(current).__name__}"
            )
        if not torch.is_tensor(value):
            value = torch.tensor(value, dtype=current.dtype, device=current.device)
        if current.dim() > 1 and value.dim() > 1 and value.shape[1:] != current.shape[1:]:
            raise ValueError(
                f"{name}: expected a value of shape {tuple(current.shape[1:])} per element; "
                f"got {tuple(value.shape)}"
            )
        expanded = any(st == 0 and sz > 1 for st, sz in zip(current.stride(), current.shape))
        if expanded:
            # A parameter broadcast from batch size 1 shares one row of memory between
            # all N elements: give it its own storage before writing one element.
            current = current.clone()
            setattr(target, name, current)
        current[self.__dict__["index"]] = value


class TensorProperties(nn.Module):
    """Named tensor parameters with a common batch size N.

    Args:
        dtype: dtype of parameters given as Python numbers or sequences.
        device: device of every parameter.
        **kwargs: the parameters. Numbers, sequences, arrays and tensors are turned into
            tensors of shape ``(N, ...)`` (a scalar counts as ``(1,)``) and broadcast to
            the largest batch size; strings, bools and ``None`` are stored unchanged.

    Raises:
        ValueError: if two parameters have different batch sizes, neither of them 1.

    Example:
        >>> props = TensorProperties(color=((1.0, 0.0, 0.0),), strength=[1.0, 2.0])
        >>> len(props), tuple(props.color.shape), props[1].strength.item()
        (2, (2, 3), 2.0)
    """

    def __init__(
        self, dtype: torch.dtype = torch.float32, device: Device = "cpu", **kwargs: Any
    ) -> None:
        super().__init__()
        self.device = make_device(device)
        self._N = 0
        names, values = [], []
        for key, value in kwargs.items():
            if value is None or isinstance(value, (str, bool)):
                setattr(self, key, value)
            elif isinstance(value, _BROADCAST_TYPES):
                names.append(key)
                values.append(value)
            else:
                raise ValueError(
                    f"{type(self).__name__}: {key} of type {type(value).__name__} cannot be "
                    "batched; give a number, a sequence or a tensor"
                )
        if values:
            batched = convert_to_tensors_and_broadcast(*values, dtype=dtype, device=self.device)
            for key, tensor in zip(names, batched):
                setattr(self, key, tensor)
            self._N = batched[0].shape[0]

    # ------------------------------------------------------------------ helpers
    def _tensor_items(self) -> list[tuple[str, torch.Tensor]]:
        """The batched parameters as ``(name, tensor)`` pairs."""
        return [(k, v) for k, v in vars(self).items() if torch.is_tensor(v)]

    def __len__(self) -> int:
        return self._N

    def isempty(self) -> bool:
        return self._N == 0

    def __getitem__(self, index: int | slice) -> TensorAccessor:
        """A read/write view of element(s) ``index`` of every parameter (int or slice)."""
        if isinstance(index, (int, slice)) and not isinstance(index, bool):
            return TensorAccessor(self, index)
        raise ValueError(f"expected an int or a slice as index; got {type(index).__name__}")

    # ------------------------------------------------------------------ device, copies
    def to(self, device: Device = "cpu") -> TensorProperties:  # type: ignore[override]
        """Move every parameter to ``device`` in place; returns ``self``."""
        device = make_device(device)
        for key, value in self._tensor_items():
            if value.device != device:
                setattr(self, key, value.to(device))
        self.device = device
        return self

    def cpu(self) -> TensorProperties:  # type: ignore[override]
        return self.to("cpu")

    def cuda(self, device: int | None = None) -> TensorProperties:  # type: ignore[override]
        return self.to("cuda" if device is None else f"cuda:{device}")

    def clone(self, other: TensorProperties | None = None) -> TensorProperties:
        """A copy with cloned tensors (written into ``other`` when given)."""
        if other is None:
            other = self.__class__(device=self.device)
        for key, value in vars(self).items():
            if torch.is_tensor(value):
                setattr(other, key, value.clone())
            elif not key.startswith("_") or key == "_N":
                if key != "training":
                    setattr(other, key, copy.deepcopy(value))
        return other

    def gather_props(self, batch_idx: torch.Tensor) -> TensorProperties:
        """Re-index every batched parameter by ``batch_idx``, in place; returns ``self``.

        Used to give each *packed* vertex the parameters of its own mesh: with
        ``batch_idx = meshes.verts_packed_to_mesh_idx()`` (shape ``(V,)``), a ``(N, 3)``
        colour becomes ``(V, 3)``. Parameters with batch size 1 are left as they are
        (they broadcast).

        Args:
            batch_idx: int64 ``(B, ...)`` indices into the batch.
        """
        for key, value in self._tensor_items():
            if value.shape[0] <= 1:
                continue
            if batch_idx.dim() > value.dim():
                raise ValueError(
                    f"batch_idx of shape {tuple(batch_idx.shape)} has more dimensions than "
                    f"{key} of shape {tuple(value.shape)}"
                )
            index = batch_idx
            if index.shape != value.shape:
                extra = (1,) * (value.dim() - index.dim())
                index = index.reshape(*index.shape, *extra).expand(-1, *value.shape[1:])
            setattr(self, key, value.gather(0, index))
        return self
