"""``pytorch3d.transforms.se3``: exponential and logarithm maps of rigid motions SE(3).

A rigid motion is stored as PyTorch3D's ``(N, 4, 4)`` row-vector matrix ``M``: points
``[x, 1] @ M``, rotation block ``M[:, :3, :3] = R^T`` (``R`` the column-convention
rotation) and translation in the last row ``M[:, 3, :3] = t``. Its logarithm is the
``(N, 6)`` twist ``[v, w]``: ``w`` the rotation vector (``R = exp(hat(w))``) and
``v`` the "log-translation", with ``t = V(w) v`` where

    V(w) = I + (1 - cos a) / a^2 hat(w) + (a - sin a) / a^3 hat(w)^2,   a = |w|.

Both coefficients are evaluated with a Taylor series near ``a = 0`` (no clamping), so
the maps are exact and differentiable at the identity.
"""

from __future__ import annotations

import torch

from course_utils.p3d.builtin.transforms.so3 import hat, so3_exp_map, so3_log_map

__all__ = ["se3_exp_map", "se3_log_map"]

#: Below this angle (radians) V's coefficients use their Taylor series.
_SMALL_ANGLE = 1e-2


def _v_matrix(log_rotation: torch.Tensor) -> torch.Tensor:
    """``(N, 3, 3)`` matrix V(w) mapping log-translation to translation."""
    angle_sq = (log_rotation * log_rotation).sum(-1)
    angle = angle_sq.sqrt()
    small = angle < _SMALL_ANGLE
    safe = torch.where(small, torch.ones_like(angle), angle)
    # (1 - cos a) / a^2 = 1/2 - a^2/24 + a^4/720 ...; (a - sin a) / a^3 = 1/6 - a^2/120 + ...
    a_coef = torch.where(small, 0.5 - angle_sq / 24 + angle_sq**2 / 720, (1 - safe.cos()) / safe**2)
    b_coef = torch.where(
        small, 1.0 / 6 - angle_sq / 120 + angle_sq**2 / 5040, (safe - safe.sin()) / safe**3
    )
    w_hat = hat(log_rotation)
    eye = torch.eye(3, dtype=log_rotation.dtype, device=log_rotation.device)[None]
    return eye + a_coef[:, None, None] * w_hat + b_coef[:, None, None] * (w_hat @ w_hat)


def se3_exp_map(log_transform: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    """``(N, 4, 4)`` row-vector rigid transforms of ``(N, 6)`` twists ``[v, w]``.

    ``eps`` is kept for PyTorch3D compatibility; unused (see the module docstring).
    """
    if log_transform.ndim != 2 or log_transform.shape[1] != 6:
        raise ValueError(
            f"se3_exp_map: expected input of shape (N, 6), got {tuple(log_transform.shape)}"
        )
    log_translation, log_rotation = log_transform[:, :3], log_transform[:, 3:]
    rotation = so3_exp_map(log_rotation)  # (N, 3, 3), column convention
    translation = (_v_matrix(log_rotation) @ log_translation[:, :, None])[:, :, 0]
    n = log_transform.shape[0]
    top = torch.cat([rotation.transpose(1, 2), log_transform.new_zeros(n, 3, 1)], dim=2)
    bottom = torch.cat([translation, log_transform.new_ones(n, 1)], dim=1)[:, None, :]
    return torch.cat([top, bottom], dim=1)


def se3_log_map(
    transform: torch.Tensor, eps: float = 1e-4, cos_bound: float = 1e-4
) -> torch.Tensor:
    """``(N, 6)`` twists ``[v, w]`` of ``(N, 4, 4)`` row-vector rigid transforms.

    Raises ``ValueError`` for a wrong shape or a last column other than ``(0, 0, 0, ·)``.
    ``eps`` and ``cos_bound`` are kept for PyTorch3D compatibility; unused.
    """
    if transform.ndim != 3 or transform.shape[1:] != (4, 4):
        raise ValueError(
            f"se3_log_map: input tensor shape has to be (N, 4, 4), got {tuple(transform.shape)}"
        )
    if not torch.allclose(transform[:, :3, 3], torch.zeros_like(transform[:, :3, 3])):
        raise ValueError("All elements of `transform[:, :3, 3]` should be 0.")
    log_rotation = so3_log_map(transform[:, :3, :3].transpose(1, 2))
    translation = transform[:, 3, :3]
    log_translation = torch.linalg.solve(_v_matrix(log_rotation), translation[:, :, None])[:, :, 0]
    return torch.cat([log_translation, log_rotation], dim=1)
