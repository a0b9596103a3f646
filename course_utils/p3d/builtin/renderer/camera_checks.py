"""Checks shared by the cameras and the look-at helpers (no camera code here, so that
``cameras`` can re-export the look-at helpers as PyTorch3D's ``renderer.cameras`` does)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

#: A float, a sequence of floats or a tensor: one value per camera or one for all.
BatchFloat = float | Sequence[float] | torch.Tensor


def _describe_non_finite(tensor: torch.Tensor) -> str:
    """E.g. ``"3 NaN values"`` or ``"1 NaN and 2 infinite values"`` (only called on failure)."""
    nan = int(torch.isnan(tensor).sum())
    inf = int(torch.isinf(tensor).sum())
    parts = [f"{nan} NaN" if nan else "", f"{inf} infinite" if inf else ""]
    return " and ".join(p for p in parts if p) + " values"


def _check_finite(tensor: torch.Tensor, where: str, hint: str) -> None:
    """Raise a ``ValueError`` naming ``where`` if a floating ``tensor`` holds NaN or inf."""
    if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
        raise ValueError(
            f"{where} contains {_describe_non_finite(tensor)} (shape {tuple(tensor.shape)}); {hint}"
        )
