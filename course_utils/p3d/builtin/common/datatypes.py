"""``pytorch3d.common.datatypes``: the device type and the helpers that normalise it."""

from __future__ import annotations

import torch

__all__ = ["Device", "get_device", "make_device"]

#: A device given as a string (``"cpu"``, ``"cuda:0"``) or a ``torch.device``.
Device = str | torch.device


def make_device(device: Device) -> torch.device:
    """Return a ``torch.device``; a bare ``"cuda"`` becomes the current CUDA device.

    PyTorch3D compares devices with ``==``, and ``torch.device("cuda") != "cuda:0"``, so
    an explicit index keeps tensors created in different places comparable.
    """
    device = torch.device(device) if isinstance(device, str) else device
    if device.type == "cuda" and device.index is None:
        device = torch.device(f"cuda:{torch.cuda.current_device()}")
    return device


def get_device(x: object, device: Device | None = None) -> torch.device:
    """``device`` if given, else ``x``'s device if it is a tensor, else the CPU."""
    if device is not None:
        return make_device(device)
    if torch.is_tensor(x):
        return x.device
    return torch.device("cpu")
