"""Conversions between the three ways PyTorch3D holds a batch of variable-sized tensors.

A batch of N meshes (or point clouds) with V_n vertices each can be stored as

* a **list** of N tensors of shape ``(V_n, D)`` — natural, but not vectorisable;
* **packed**: one ``(sum V_n, D)`` tensor, the list concatenated — what the maths uses
  (every vertex once, no waste), with index tensors saying which mesh each row belongs to;
* **padded**: one ``(N, max V_n, D)`` tensor, each mesh padded with a fill value — what
  batched neural-network layers want.

These helpers convert between them. They loop over the N batch elements (never over
vertices), which is cheap: N is the batch size.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def list_to_padded(
    x: Sequence[torch.Tensor],
    pad_size: Sequence[int] | None = None,
    pad_value: float = 0.0,
    equisized: bool = False,
) -> torch.Tensor:
    """Stack a list of tensors of different leading sizes into one padded tensor.

    Args:
        x: N tensors of shape ``(M_n, ...)`` or ``(M_n,)``; all with the same trailing
            shape, dtype and device.
        pad_size: the padded shape of one element (default: the element-wise maximum).
        pad_value: value written into the padding.
        equisized: all elements already have the same shape; just stack them.

    Returns:
        ``(N, *pad_size)`` tensor; element n occupies ``out[n, :M_n, ...]``.
    """
    if equisized:
        return torch.stack(list(x), dim=0)
    if len(x) == 0:
        if pad_size is not None:  # an empty batch of known element shape
            return torch.full((0, *pad_size), pad_value)
        raise ValueError("list_to_padded needs at least one tensor (or a pad_size)")
    ndim = x[0].dim()
    if pad_size is None:
        pad_size = [max(t.shape[d] for t in x) for d in range(ndim)]
    out = x[0].new_full((len(x), *pad_size), pad_value)
    for n, t in enumerate(x):
        if t.numel() == 0 and t.dim() != ndim:
            continue
        out[(n, *(slice(0, s) for s in t.shape))] = t
    return out


def padded_to_list(x: torch.Tensor, split_size: Sequence[int] | None = None) -> list[torch.Tensor]:
    """Cut a padded ``(N, M, ...)`` tensor back into a list of ``(M_n, ...)`` views.

    Args:
        x: padded tensor of shape ``(N, M, ...)``.
        split_size: the valid length ``M_n`` of each element (default: all ``M``).
    """
    if split_size is None:
        return list(x.unbind(0))
    if len(split_size) != x.shape[0]:
        raise ValueError(f"split_size has {len(split_size)} entries for a batch of {x.shape[0]}")
    return [x[n, : int(size)] for n, size in enumerate(split_size)]


def list_to_packed(
    x: Sequence[torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Concatenate a list of ``(M_n, ...)`` tensors and describe where each one went.

    Returns:
        packed: ``(sum M_n, ...)`` concatenation;
        num_items: ``(N,)`` long, ``M_n``;
        item_packed_first_idx: ``(N,)`` long, row of ``packed`` where element n starts;
        item_packed_to_list_idx: ``(sum M_n,)`` long, element index of each packed row.
    """
    device = x[0].device
    num_items = torch.tensor([t.shape[0] for t in x], dtype=torch.int64, device=device)
    first_idx = torch.cumsum(num_items, dim=0) - num_items
    packed = torch.cat(list(x), dim=0)
    to_list_idx = torch.repeat_interleave(torch.arange(len(x), device=device), num_items)
    return packed, num_items, first_idx, to_list_idx


def packed_to_list(x: torch.Tensor, split_size: int | Sequence[int]) -> list[torch.Tensor]:
    """Split a packed ``(sum M_n, ...)`` tensor into a list of ``(M_n, ...)`` views."""
    if isinstance(split_size, int):
        return list(x.split(split_size, dim=0))
    return list(x.split([int(s) for s in split_size], dim=0))


def padded_to_packed_index(num_items: torch.Tensor, max_items: int) -> torch.Tensor:
    """Rows of the flattened padded tensor ``(N * max_items, ...)`` that hold real items.

    ``padded.reshape(N * max_items, D)[idx]`` equals the packed tensor.
    """
    n = num_items.shape[0]
    arange = torch.arange(max_items, device=num_items.device)
    valid = arange[None, :] < num_items[:, None]
    return (torch.arange(n, device=num_items.device)[:, None] * max_items + arange)[valid]


def batch_indices(
    index: int | slice | Sequence[int] | torch.Tensor, size: int, what: str
) -> list[int]:
    """Turn any batch index into a list of element indices in ``[0, size)``.

    Args:
        index: an int (negative counts from the end), a slice, a sequence of ints, or a 1-D
            long or bool tensor (a bool tensor must have ``size`` entries).
        size: the batch size N.
        what: the element's name for error messages (``"mesh"``, ``"cloud"`` ...).
    """
    if isinstance(index, bool):
        raise IndexError(f"cannot index a batch of {what}es with a bool")
    if isinstance(index, int):
        if not -size <= index < size:
            raise IndexError(f"{what} index {index} out of range for a batch of {size}")
        return [index % size]
    if isinstance(index, slice):
        return list(range(size))[index]
    if torch.is_tensor(index):
        if index.dtype == torch.bool:
            if index.shape != (size,):
                raise IndexError(f"a boolean {what} index must have shape ({size},)")
            index = index.nonzero().flatten()
        if index.dim() != 1 or index.is_floating_point():
            raise IndexError(f"a tensor {what} index must be 1-D long or bool")
        index = index.tolist()
    if isinstance(index, (list, tuple)):
        chosen = [int(i) for i in index]
        bad = [i for i in chosen if not -size <= i < size]
        if bad:
            raise IndexError(f"{what} index {bad[0]} out of range for a batch of {size}")
        return [i % size for i in chosen]
    raise IndexError(f"cannot index a batch with {type(index).__name__}")


def padded_bounding_boxes(padded: torch.Tensor, num_items: torch.Tensor) -> torch.Tensor:
    """Per-element axis-aligned boxes of a padded ``(N, M, 3)`` tensor, ignoring padding.

    Returns:
        ``(N, 3, 2)``: for each element, the min (column 0) and max (column 1) of x, y, z.
    """
    real = torch.arange(padded.shape[1], device=padded.device)[None] < num_items[:, None]
    real = real[..., None]
    low = torch.where(real, padded, torch.full_like(padded, float("inf"))).amin(dim=1)
    high = torch.where(real, padded, torch.full_like(padded, float("-inf"))).amax(dim=1)
    return torch.stack([low, high], dim=2)
