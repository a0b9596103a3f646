"""Small helpers shared by the built-in backend: devices, tensor formatting, errors.

As in PyTorch3D, the device helpers live in :mod:`.datatypes` (``pytorch3d.common.datatypes``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from course_utils.p3d.builtin.common.datatypes import Device as Device
from course_utils.p3d.builtin.common.datatypes import get_device as get_device
from course_utils.p3d.builtin.common.datatypes import make_device as make_device


def unsupported(argument: str, value: object = None, detail: str = "") -> NotImplementedError:
    """Build the ``NotImplementedError`` raised for an argument the built-in backend lacks.

    Usage: ``raise unsupported("texture_atlas_size", value)``. The message names the
    argument, says it is a limitation of the built-in backend and how to get real PyTorch3D.
    """
    shown = "" if value is None else f"={value!r}"
    extra = f" {detail.strip()}" if detail else ""
    return NotImplementedError(
        f"argument {argument}{shown} is not supported by the course's built-in PyTorch3D "
        f"implementation.{extra} Use the default, or install real PyTorch3D and set "
        "COURSE_BACKEND=pytorch3d."
    )


def format_tensor(
    value: float | Sequence | torch.Tensor,
    dtype: torch.dtype = torch.float32,
    device: Device = "cpu",
) -> torch.Tensor:
    """Turn a number, sequence or tensor into a tensor on ``device``; scalars become shape (1,)."""
    device = make_device(device)
    if not torch.is_tensor(value):
        value = torch.tensor(value, dtype=dtype, device=device)
    if value.dim() == 0:
        value = value.view(1)
    if value.device != device:
        value = value.to(device=device)
    return value


def convert_to_tensors_and_broadcast(
    *args: float | Sequence | torch.Tensor,
    dtype: torch.dtype = torch.float32,
    device: Device = "cpu",
) -> list[torch.Tensor]:
    """Make every argument a tensor with the same batch size N (the largest one).

    Each input has shape ``(1, ...)`` or ``(N, ...)`` (a scalar counts as ``(1,)``); the
    ``(1, ...)`` ones are expanded to N. A mismatch (two different batch sizes > 1) raises
    ``ValueError``.
    """
    tensors = [format_tensor(a, dtype=dtype, device=device) for a in args]
    sizes = [t.shape[0] for t in tensors]
    batch = max(sizes)
    out = []
    for t, n in zip(tensors, sizes):
        if n != 1 and n != batch:
            raise ValueError(
                f"cannot broadcast arguments with batch sizes {sizes}: each must be 1 or {batch}"
            )
        out.append(t.expand(batch, *t.shape[1:]))
    return out
