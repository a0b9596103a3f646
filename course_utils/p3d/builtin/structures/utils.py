"""``pytorch3d.structures.utils``: list / packed / padded conversions of batched tensors.

The list<->padded<->packed helpers live in :mod:`.batching`; this module gathers them
under PyTorch3D's module name and adds :func:`padded_to_packed`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from course_utils.p3d.builtin.structures.batching import (
    list_to_packed,
    list_to_padded,
    packed_to_list,
    padded_to_list,
)

__all__ = [
    "list_to_packed",
    "list_to_padded",
    "packed_to_list",
    "padded_to_list",
    "padded_to_packed",
]


def padded_to_packed(
    x: torch.Tensor,
    split_size: Sequence[int] | None = None,
    pad_value: float | None = None,
) -> torch.Tensor:
    """Turn a padded ``(N, M, D)`` tensor into a packed ``(sum M_n, D)`` one.

    Args:
        x: padded tensor of shape ``(N, M, D)``.
        split_size: the valid length ``M_n`` of each of the N elements; or
        pad_value: drop every row whose D values all equal ``pad_value``.
            Give at most one of the two; with neither, all ``N * M`` rows are kept.

    Returns:
        ``(sum M_n, D)`` tensor (rows in batch order).
    """
    if x.ndim != 3:
        raise ValueError(
            f"padded_to_packed supports only 3-dimensional tensors, got {tuple(x.shape)}"
        )
    if split_size is not None and pad_value is not None:
        raise ValueError("padded_to_packed: give only one of split_size or pad_value")
    n, m, d = x.shape
    flat = x.reshape(-1, d)
    if split_size is None and pad_value is None:
        return flat
    if pad_value is not None:
        return flat[flat.ne(pad_value).any(-1)]
    if len(split_size) != n:
        raise ValueError(f"split_size has {len(split_size)} entries for a batch of {n}")
    if not all(isinstance(s, int) for s in split_size):
        raise ValueError("padded_to_packed: split_size must hold one int per batch element")
    sizes = torch.tensor(list(split_size), device=x.device)
    keep = torch.arange(m, device=x.device)[None, :] < sizes[:, None]  # (N, M)
    return flat[keep.reshape(-1)]
