"""The rotation group SO(3): exponential and logarithm maps, rotation angles, hat operator.

A rotation vector ``v`` (axis times angle, the Lie algebra so(3)) and a rotation matrix
``R`` are linked by ``R = exp([v]_x)``, where ``[v]_x`` is the 3x3 cross-product ("hat")
matrix of ``v``. :func:`so3_exp_map` computes ``R`` from ``v`` (Rodrigues' formula) and
:func:`so3_log_map` goes back. As in PyTorch3D 0.7.9 they are the axis-angle conversions of
:mod:`.rotation_conversions` for batches of shape ``(N, 3)`` / ``(N, 3, 3)``; the matrices
act on column vectors (``R @ v``).
"""

from __future__ import annotations

import warnings

import torch

from course_utils.p3d.builtin.transforms.rotation_conversions import (
    _hat,
    axis_angle_to_matrix,
    matrix_to_axis_angle,
)

__all__ = [
    "acos_linear_extrapolation",
    "hat",
    "hat_inv",
    "so3_exp_map",
    "so3_exponential_map",
    "so3_log_map",
    "so3_relative_angle",
    "so3_rotation_angle",
]

#: Largest |h + h^T| entry accepted by :func:`hat_inv` as "skew-symmetric".
HAT_INV_SKEW_SYMMETRIC_TOL = 1e-5


@torch.jit.ignore  # validation runs in Python; the maths stays scriptable
def _check_batch(tensor: torch.Tensor, shape: list[int], function: str, arg: str) -> None:
    """Raise ``ValueError`` unless ``tensor`` has shape ``(N, *shape)``."""
    if (
        not torch.is_tensor(tensor)
        or tensor.dim() != len(shape) + 1
        or list(tensor.shape[1:]) != list(shape)
    ):
        got = tuple(tensor.shape) if torch.is_tensor(tensor) else type(tensor).__name__
        wanted = ", ".join(["N"] + [str(s) for s in shape])
        raise ValueError(f"{function}: {arg} must have shape ({wanted}); got {got}")


# TorchScript cannot read postponed (string) annotations of functions it leaves to Python.
_check_batch.__annotations__ = {
    "tensor": torch.Tensor, "shape": list[int], "function": str, "arg": str, "return": None
}


def hat(v: torch.Tensor) -> torch.Tensor:
    """The hat operator: cross-product matrices of a batch of 3D vectors.

    Args:
        v: ``(N, 3)`` vectors.

    Returns:
        ``(N, 3, 3)`` skew-symmetric matrices ``[[0, -z, y], [z, 0, -x], [-y, x, 0]]``,
        so that ``hat(v)[i] @ u == cross(v[i], u)``.
    """
    _check_batch(v, [3], "hat", "v")
    return _hat(v)


def hat_inv(h: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`hat`: the vectors of a batch of skew-symmetric matrices.

    Args:
        h: ``(N, 3, 3)`` skew-symmetric matrices.

    Returns:
        ``(N, 3)`` vectors ``(h[2, 1], h[0, 2], h[1, 0])``.

    Raises:
        ValueError: wrong shape, or a matrix is not skew-symmetric (tolerance 1e-5).
    """
    _check_batch(h, [3, 3], "hat_inv", "h")
    asymmetry = float((h + h.transpose(1, 2)).abs().max()) if h.numel() else 0.0
    if asymmetry > HAT_INV_SKEW_SYMMETRIC_TOL:
        raise ValueError(
            f"hat_inv: one of the input matrices is not skew-symmetric "
            f"(max |h + h^T| = {asymmetry:.3g} > {HAT_INV_SKEW_SYMMETRIC_TOL})."
        )
    return torch.stack((h[:, 2, 1], h[:, 0, 2], h[:, 1, 0]), dim=1)


def so3_exp_map(log_rot: torch.Tensor, eps: float = 0.0001) -> torch.Tensor:
    """Rotation matrices of rotation vectors (Rodrigues' formula).

    Args:
        log_rot: ``(N, 3)`` rotation vectors: direction = axis, norm = angle in radians.
        eps: kept for compatibility with PyTorch3D; unused (the formula is evaluated with
            ``sinc``, which needs no clamping near a zero angle).

    Returns:
        ``(N, 3, 3)`` rotation matrices acting on column vectors, equal to
        ``axis_angle_to_matrix(log_rot)``.
    """
    _check_batch(log_rot, [3], "so3_exp_map", "log_rot")
    return axis_angle_to_matrix(log_rot)


def so3_log_map(R: torch.Tensor, eps: float = 0.0001, cos_bound: float = 0.0001) -> torch.Tensor:
    """Rotation vectors (matrix logarithms) of rotation matrices.

    Args:
        R: ``(N, 3, 3)`` rotation matrices (column-vector convention).
        eps: kept for compatibility with PyTorch3D; unused.
        cos_bound: kept for compatibility with PyTorch3D; unused.

    Returns:
        ``(N, 3)`` rotation vectors with angles in ``[0, pi]``, equal to
        ``matrix_to_axis_angle(R)``; accurate for every angle including pi.
    """
    _check_batch(R, [3, 3], "so3_log_map", "R")
    return matrix_to_axis_angle(R)


def acos_linear_extrapolation(
    x: torch.Tensor, bounds: tuple[float, float] = (-0.9999, 0.9999)
) -> torch.Tensor:
    """``arccos(x)``, continued by its tangent line outside ``bounds``.

    ``acos`` has an infinite slope at +-1, so its gradient explodes for inputs that only
    reach +-1 through rounding. Inside ``[lower, upper]`` this is ``acos(x)``; below
    ``lower`` (above ``upper``) it is the first-order Taylor expansion of ``acos`` at
    ``lower`` (``upper``), which is finite for any ``x``.

    Args:
        x: tensor of any shape.
        bounds: ``(lower, upper)`` with ``-1 < lower <= upper < 1``.

    Returns:
        Tensor of the shape of ``x``, radians.
    """
    lower, upper = bounds
    if not -1.0 < lower <= upper < 1.0:
        raise ValueError(
            f"acos_linear_extrapolation: bounds must satisfy -1 < lower <= upper < 1; got {bounds}"
        )

    def tangent(at: float) -> torch.Tensor:
        # acos(b) + acos'(b) (x - b), with acos'(b) = -1 / sqrt(1 - b^2)
        slope = -1.0 / (1.0 - at * at) ** 0.5
        return torch.acos(torch.tensor(at, dtype=x.dtype, device=x.device)) + slope * (x - at)

    inside = torch.acos(x.clamp(lower, upper))  # clamped: no NaN in the unused branch
    return torch.where(x < lower, tangent(lower), torch.where(x > upper, tangent(upper), inside))


def so3_rotation_angle(
    R: torch.Tensor, eps: float = 1e-4, cos_angle: bool = False, cos_bound: float = 1e-4
) -> torch.Tensor:
    """Rotation angles ``acos((tr R - 1) / 2)`` of a batch of rotation matrices.

    Args:
        R: ``(N, 3, 3)`` rotation matrices.
        eps: tolerance of the check that every trace lies in ``[-1 - eps, 3 + eps]``.
        cos_angle: return the cosine of the angle instead of the angle.
        cos_bound: if > 0, ``acos`` is linearly extrapolated (see
            :func:`acos_linear_extrapolation`) outside ``[-1 + cos_bound, 1 - cos_bound]``
            so the gradient stays finite at angles 0 and pi; 0 uses plain ``acos``.

    Returns:
        ``(N,)`` angles in radians (or their cosines).

    Raises:
        ValueError: wrong shape or a trace outside the valid range.
    """
    _check_batch(R, [3, 3], "so3_rotation_angle", "R")
    trace = R[:, 0, 0] + R[:, 1, 1] + R[:, 2, 2]
    if bool(((trace < -1.0 - eps) | (trace > 3.0 + eps)).any()):
        raise ValueError(
            "so3_rotation_angle: a matrix has a trace outside the valid range [-1-eps, 3+eps]; "
            "is R a batch of rotation matrices?"
        )
    cosine = 0.5 * (trace - 1.0)
    if cos_angle:
        return cosine
    if cos_bound > 0.0:
        return acos_linear_extrapolation(cosine, (-1.0 + cos_bound, 1.0 - cos_bound))
    return torch.acos(cosine)


def so3_relative_angle(
    R1: torch.Tensor,
    R2: torch.Tensor,
    cos_angle: bool = False,
    cos_bound: float = 1e-4,
    eps: float = 1e-4,
) -> torch.Tensor:
    """Angles of the relative rotations ``R1 @ R2^T`` (the geodesic distance on SO(3)).

    Args:
        R1: ``(N, 3, 3)`` rotation matrices.
        R2: ``(N, 3, 3)`` rotation matrices.
        cos_angle: return cosines instead of angles.
        cos_bound: see :func:`so3_rotation_angle`.
        eps: see :func:`so3_rotation_angle`.

    Returns:
        ``(N,)`` angles in radians (or their cosines).
    """
    _check_batch(R1, [3, 3], "so3_relative_angle", "R1")
    _check_batch(R2, [3, 3], "so3_relative_angle", "R2")
    return so3_rotation_angle(
        torch.bmm(R1, R2.transpose(1, 2)), eps=eps, cos_angle=cos_angle, cos_bound=cos_bound
    )


def so3_exponential_map(log_rot: torch.Tensor, eps: float = 0.0001) -> torch.Tensor:
    """Deprecated PyTorch3D name of :func:`so3_exp_map`."""
    warnings.warn(
        "so3_exponential_map is deprecated in PyTorch3D; use so3_exp_map.",
        PendingDeprecationWarning,
        stacklevel=2,
    )
    return so3_exp_map(log_rot, eps)
