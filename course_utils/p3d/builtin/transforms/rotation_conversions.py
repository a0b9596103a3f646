"""Conversions between the ways of writing a 3D rotation (built-in ``pytorch3d.transforms``).

Five representations appear here:

* **rotation matrix** ``(..., 3, 3)``;
* **unit quaternion** ``(..., 4)``, real part first: ``(w, x, y, z)`` with
  ``w = cos(angle / 2)`` and ``(x, y, z) = sin(angle / 2) * axis``. ``q`` and ``-q`` are the
  same rotation; the *standard* one has ``w >= 0``;
* **axis-angle** ``(..., 3)``: the unit axis times the angle in radians (anticlockwise when
  the axis points at you). Also called the rotation vector or ``log(R)``;
* **Euler angles** ``(..., 3)`` in radians, for a convention such as ``"XYZ"``: the matrix is
  ``R_X(a0) @ R_Y(a1) @ R_Z(a2)``;
* **6D** ``(..., 6)``: the first two rows of the matrix (Zhou et al., CVPR 2019), a
  continuous representation that networks regress well.

Convention: every matrix made here rotates **column** vectors, ``v_rotated = R @ v``. The
cameras and :class:`~course_utils.p3d.builtin.transforms.Transform3d` use row vectors
(``v_rotated = v @ M``), so to use one of these matrices there, pass its transpose
(``Rotate`` and ``RotateAxisAngle`` do that for you).

Numerics: the quaternion is extracted from a matrix from its best-conditioned component
(so 180° rotations are exact), and axis-angle formulas use ``sinc``, which is smooth at a
zero angle, so values and gradients stay finite for tiny rotations.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from course_utils.p3d.builtin.common import Device, make_device

__all__ = [
    "axis_angle_to_matrix",
    "axis_angle_to_quaternion",
    "euler_angles_to_matrix",
    "matrix_to_axis_angle",
    "matrix_to_euler_angles",
    "matrix_to_quaternion",
    "matrix_to_rotation_6d",
    "quaternion_apply",
    "quaternion_invert",
    "quaternion_multiply",
    "quaternion_raw_multiply",
    "quaternion_to_axis_angle",
    "quaternion_to_matrix",
    "random_quaternions",
    "random_rotation",
    "random_rotations",
    "rotation_6d_to_matrix",
    "standardize_quaternion",
]

_AXES = ("X", "Y", "Z")


@torch.jit.ignore  # validation runs in Python; the maths stays scriptable
def _check_trailing(tensor: torch.Tensor, shape: list[int], function: str, arg: str) -> None:
    """Raise a ``ValueError`` unless ``tensor`` is a tensor of shape ``(..., *shape)``."""
    if not torch.is_tensor(tensor):
        raise ValueError(f"{function}: {arg} must be a torch.Tensor, got {type(tensor).__name__}")
    if tensor.dim() < len(shape) or list(tensor.shape[tensor.dim() - len(shape) :]) != list(shape):
        wanted = ", ".join(["..."] + [str(s) for s in shape])
        raise ValueError(
            f"{function}: {arg} must have shape ({wanted}); got shape {tuple(tensor.shape)}"
        )


@torch.jit.ignore  # validation runs in Python; the maths stays scriptable
def _check_convention(convention: str) -> None:
    """Validate an Euler convention: 3 letters of X/Y/Z, the middle one unlike its neighbours."""
    if not isinstance(convention, str) or len(convention) != 3:
        raise ValueError(f"Convention must have 3 letters, got {convention!r}.")
    for letter in convention:
        if letter not in _AXES:
            raise ValueError(f"Invalid letter {letter!r} in convention string {convention!r}.")
    if convention[1] in (convention[0], convention[2]):
        raise ValueError(
            f"Invalid convention {convention!r}: the middle axis must differ from the other two."
        )


# TorchScript cannot read postponed (string) annotations of functions it leaves to Python.
_check_trailing.__annotations__ = {
    "tensor": torch.Tensor, "shape": list[int], "function": str, "arg": str, "return": None
}
_check_convention.__annotations__ = {"convention": str, "return": None}


# --------------------------------------------------------------------------- quaternions
@torch.jit.ignore  # validation runs in Python; the maths stays scriptable
def _check_points(point: torch.Tensor) -> None:
    if not torch.is_tensor(point) or point.shape[-1:] != (3,):
        shape = tuple(point.shape) if torch.is_tensor(point) else type(point).__name__
        raise ValueError(f"quaternion_apply: points must have shape (..., 3); got {shape}.")


_check_points.__annotations__ = {"point": torch.Tensor, "return": None}




def quaternion_to_matrix(quaternions: torch.Tensor) -> torch.Tensor:
    """Rotation matrices of quaternions.

    Args:
        quaternions: ``(..., 4)`` quaternions, real part first. They need not be unit length:
            the formula divides by the squared norm, so ``q`` and ``c * q`` give the same matrix.

    Returns:
        ``(..., 3, 3)`` rotation matrices acting on column vectors.
    """
    _check_trailing(quaternions, [4], "quaternion_to_matrix", "quaternions")
    w, x, y, z = torch.unbind(quaternions, dim=-1)
    two_over_norm2 = 2.0 / (quaternions * quaternions).sum(dim=-1)
    entries = (
        1.0 - two_over_norm2 * (y * y + z * z),
        two_over_norm2 * (x * y - w * z),
        two_over_norm2 * (x * z + w * y),
        two_over_norm2 * (x * y + w * z),
        1.0 - two_over_norm2 * (x * x + z * z),
        two_over_norm2 * (y * z - w * x),
        two_over_norm2 * (x * z - w * y),
        two_over_norm2 * (y * z + w * x),
        1.0 - two_over_norm2 * (x * x + y * y),
    )
    return torch.stack(entries, dim=-1).reshape(quaternions.shape[:-1] + (3, 3))


def matrix_to_quaternion(matrix: torch.Tensor) -> torch.Tensor:
    """Quaternions of rotation matrices, standardised to a non-negative real part.

    Method: ``4 w^2 = 1 + tr(R)`` and ``4 x^2 = 1 + R_00 - R_11 - R_22`` (likewise ``y``, ``z``).
    The largest of the four squares is at least 1/4 of their sum, so we take the square root
    of that one only and get the other three components from off-diagonal sums/differences,
    divided by it. No square root of a small or negative number is ever taken, which keeps
    180° rotations exact and gradients finite.

    Args:
        matrix: ``(..., 3, 3)`` rotation matrices (column-vector convention).

    Returns:
        ``(..., 4)`` unit quaternions, real part first, with ``w >= 0``.
    """
    _check_trailing(matrix, [3, 3], "matrix_to_quaternion", "matrix")
    m = matrix
    r00, r11, r22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    # 4 * (w^2, x^2, y^2, z^2)
    four_sq = torch.stack(
        (
            1.0 + r00 + r11 + r22,
            1.0 + r00 - r11 - r22,
            1.0 - r00 + r11 - r22,
            1.0 - r00 - r11 + r22,
        ),
        dim=-1,
    )
    d_x = m[..., 2, 1] - m[..., 1, 2]  # 4 w x
    d_y = m[..., 0, 2] - m[..., 2, 0]  # 4 w y
    d_z = m[..., 1, 0] - m[..., 0, 1]  # 4 w z
    s_xy = m[..., 1, 0] + m[..., 0, 1]  # 4 x y
    s_xz = m[..., 0, 2] + m[..., 2, 0]  # 4 x z
    s_yz = m[..., 2, 1] + m[..., 1, 2]  # 4 y z
    # Row k holds 4 * q_k * (w, x, y, z): the quaternion scaled by its k-th component.
    scaled = torch.stack(
        (
            torch.stack((four_sq[..., 0], d_x, d_y, d_z), dim=-1),
            torch.stack((d_x, four_sq[..., 1], s_xy, s_xz), dim=-1),
            torch.stack((d_y, s_xy, four_sq[..., 2], s_yz), dim=-1),
            torch.stack((d_z, s_xz, s_yz, four_sq[..., 3]), dim=-1),
        ),
        dim=-2,
    )
    best = four_sq.argmax(dim=-1, keepdim=True)  # (..., 1)
    row = torch.gather(scaled, -2, best[..., None].expand(best.shape[:-1] + (1, 4))).squeeze(-2)
    # The chosen 4 q_k^2 is >= 1 for a rotation (the four sum to 4), so the sqrt is safe.
    denom = 2.0 * torch.sqrt(torch.gather(four_sq, -1, best).clamp_min(1e-12))
    return standardize_quaternion(row / denom)


def standardize_quaternion(quaternions: torch.Tensor) -> torch.Tensor:
    """Flip quaternions with a negative real part (``q`` and ``-q`` are the same rotation).

    Args:
        quaternions: ``(..., 4)`` quaternions, real part first.

    Returns:
        ``(..., 4)`` quaternions with ``w >= 0``.
    """
    _check_trailing(quaternions, [4], "standardize_quaternion", "quaternions")
    return torch.where(quaternions[..., 0:1] < 0, -quaternions, quaternions)


def quaternion_raw_multiply(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Hamilton product ``a * b`` (torch broadcasting applies), without standardising.

    Args:
        a: ``(..., 4)`` quaternions, real part first.
        b: ``(..., 4)`` quaternions, real part first.

    Returns:
        ``(..., 4)`` product; as rotations, ``b`` is applied first, then ``a``.
    """
    _check_trailing(a, [4], "quaternion_raw_multiply", "a")
    _check_trailing(b, [4], "quaternion_raw_multiply", "b")
    a_w, a_v = a[..., :1], a[..., 1:]
    b_w, b_v = b[..., :1], b[..., 1:]
    # (a_w + a_v)(b_w + b_v) = a_w b_w - a_v.b_v + a_w b_v + b_w a_v + a_v x b_v
    a_v, b_v = torch.broadcast_tensors(a_v, b_v)
    w = a_w * b_w - (a_v * b_v).sum(dim=-1, keepdim=True)
    v = a_w * b_v + b_w * a_v + torch.linalg.cross(a_v, b_v, dim=-1)
    return torch.cat((w, v), dim=-1)


def quaternion_multiply(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Quaternion of the rotation "``b`` then ``a``", standardised (``w >= 0``).

    Args:
        a: ``(..., 4)`` quaternions, real part first.
        b: ``(..., 4)`` quaternions, real part first.

    Returns:
        ``(..., 4)`` standardised product ``a * b``.
    """
    return standardize_quaternion(quaternion_raw_multiply(a, b))


def quaternion_invert(quaternion: torch.Tensor) -> torch.Tensor:
    """Inverse rotation of unit quaternions: the conjugate ``(w, -x, -y, -z)``.

    Args:
        quaternion: ``(..., 4)`` unit quaternions, real part first.

    Returns:
        ``(..., 4)`` conjugate quaternions (the inverse only for unit quaternions).
    """
    _check_trailing(quaternion, [4], "quaternion_invert", "quaternion")
    return torch.cat((quaternion[..., :1], -quaternion[..., 1:]), dim=-1)


def quaternion_apply(quaternion: torch.Tensor, point: torch.Tensor) -> torch.Tensor:
    """Rotate 3D points by quaternions: ``q * (0, p) * q^-1`` (torch broadcasting applies).

    Args:
        quaternion: ``(..., 4)`` unit quaternions, real part first.
        point: ``(..., 3)`` points.

    Returns:
        ``(..., 3)`` rotated points (same as ``quaternion_to_matrix(q) @ p`` for column ``p``).
    """
    _check_points(point)
    as_quaternion = torch.cat((torch.zeros_like(point[..., :1]), point), dim=-1)
    rotated = quaternion_raw_multiply(
        quaternion_raw_multiply(quaternion, as_quaternion), quaternion_invert(quaternion)
    )
    return rotated[..., 1:]


# --------------------------------------------------------------------------- axis-angle


def axis_angle_to_quaternion(axis_angle: torch.Tensor) -> torch.Tensor:
    """Quaternions of axis-angle rotations.

    ``q = (cos(t/2), sin(t/2)/t * v)`` with ``t = |v|``; ``sin(t/2)/t`` is written with
    ``sinc`` so a zero rotation gives ``(1, 0, 0, 0)`` with finite gradients.

    Args:
        axis_angle: ``(..., 3)`` rotation vectors, angle in radians = their norm.

    Returns:
        ``(..., 4)`` unit quaternions, real part first (``w >= 0`` for angles up to pi).
    """
    _check_trailing(axis_angle, [3], "axis_angle_to_quaternion", "axis_angle")
    angle = torch.linalg.vector_norm(axis_angle, dim=-1, keepdim=True)
    # torch.sinc(x) = sin(pi x) / (pi x); with x = t / (2 pi) it is sin(t/2) / (t/2).
    half_sinc = 0.5 * torch.sinc(angle / (2.0 * torch.pi))
    return torch.cat((torch.cos(0.5 * angle), axis_angle * half_sinc), dim=-1)


def quaternion_to_axis_angle(quaternions: torch.Tensor) -> torch.Tensor:
    """Axis-angle vectors of quaternions.

    The half angle is ``atan2(|v|, w)``, accurate for every angle (``acos(w)`` is not near 0).
    A quaternion with ``w < 0`` gives an angle above pi; standardise first for angles in
    ``[0, pi]``.

    Args:
        quaternions: ``(..., 4)`` unit quaternions, real part first.

    Returns:
        ``(..., 3)`` rotation vectors (axis times angle in radians).
    """
    _check_trailing(quaternions, [4], "quaternion_to_axis_angle", "quaternions")
    vector = quaternions[..., 1:]
    half_angle = torch.atan2(
        torch.linalg.vector_norm(vector, dim=-1, keepdim=True), quaternions[..., :1]
    )
    # angle / sin(angle/2) = 2 / sinc(half_angle); finite at zero angle.
    return vector * (2.0 / torch.sinc(half_angle / torch.pi))


def _hat(vectors: torch.Tensor) -> torch.Tensor:
    """Cross-product matrices ``[v]_x`` (``[v]_x @ u == v x u``) of ``(..., 3)`` vectors."""
    x, y, z = torch.unbind(vectors, dim=-1)
    zero = torch.zeros_like(x)
    rows = (zero, -z, y, z, zero, -x, -y, x, zero)
    return torch.stack(rows, dim=-1).reshape(vectors.shape[:-1] + (3, 3))


def axis_angle_to_matrix(axis_angle: torch.Tensor, fast: bool = False) -> torch.Tensor:
    """Rotation matrices of axis-angle rotations.

    Args:
        axis_angle: ``(..., 3)`` rotation vectors (axis times angle in radians,
            anticlockwise about the axis).
        fast: ``False`` (default) goes through the quaternion; ``True`` uses the Rodrigues
            formula ``I + sinc(t) [v]_x + (1 - cos t)/t^2 [v]_x^2`` directly. Both give the
            same matrices up to rounding.

    Returns:
        ``(..., 3, 3)`` rotation matrices acting on column vectors.
    """
    _check_trailing(axis_angle, [3], "axis_angle_to_matrix", "axis_angle")
    if not fast:
        return quaternion_to_matrix(axis_angle_to_quaternion(axis_angle))
    angle = torch.linalg.vector_norm(axis_angle, dim=-1)[..., None, None]
    skew = _hat(axis_angle)
    eye = torch.eye(3, dtype=axis_angle.dtype, device=axis_angle.device)
    sinc_t = torch.sinc(angle / torch.pi)  # sin(t) / t
    # (1 - cos t) / t^2 = 2 sin^2(t/2) / t^2 = 0.5 * sinc(t/2)^2: smooth at t = 0.
    versine_term = 0.5 * torch.sinc(angle / (2.0 * torch.pi)) ** 2
    return eye + sinc_t * skew + versine_term * (skew @ skew)


def matrix_to_axis_angle(matrix: torch.Tensor, fast: bool = False) -> torch.Tensor:
    """Axis-angle vectors of rotation matrices, with angles in ``[0, pi]``.

    Args:
        matrix: ``(..., 3, 3)`` rotation matrices (column-vector convention).
        fast: ``False`` (default) goes through the quaternion. ``True`` reads the angle from
            ``atan2(|R - R^T| / 2, (tr R - 1) / 2)`` and the axis from the skew part, falling
            back to the quaternion route within 1e-3 rad of pi (where the skew part vanishes).

    Returns:
        ``(..., 3)`` rotation vectors (axis times angle in radians).
    """
    _check_trailing(matrix, [3, 3], "matrix_to_axis_angle", "matrix")
    via_quaternion = quaternion_to_axis_angle(matrix_to_quaternion(matrix))
    if not fast:
        return via_quaternion
    # 2 sin(t) * axis
    omega = torch.stack(
        (
            matrix[..., 2, 1] - matrix[..., 1, 2],
            matrix[..., 0, 2] - matrix[..., 2, 0],
            matrix[..., 1, 0] - matrix[..., 0, 1],
        ),
        dim=-1,
    )
    trace = matrix[..., 0, 0] + matrix[..., 1, 1] + matrix[..., 2, 2]
    angle = torch.atan2(torch.linalg.vector_norm(omega, dim=-1), trace - 1.0)[..., None]
    near_pi = angle > torch.pi - 1e-3
    # Keep the unused branch finite so torch.where does not leak NaN into the gradient.
    sinc_t = torch.where(near_pi, torch.ones_like(angle), torch.sinc(angle / torch.pi))
    direct = 0.5 * omega / sinc_t
    return torch.where(near_pi, via_quaternion, direct)


# --------------------------------------------------------------------------- Euler angles


def _axis_angle_rotation(axis: str, angle: torch.Tensor) -> torch.Tensor:
    """Elementary rotation matrices about one coordinate axis.

    Args:
        axis: ``"X"``, ``"Y"`` or ``"Z"``.
        angle: tensor of any shape, radians.

    Returns:
        ``angle.shape + (3, 3)`` matrices rotating column vectors anticlockwise about ``axis``.
    """
    if axis not in ("X", "Y", "Z"):
        raise ValueError("axis must be one of 'X', 'Y', 'Z'; got '" + axis + "'")
    c, s = torch.cos(angle), torch.sin(angle)
    one, zero = torch.ones_like(angle), torch.zeros_like(angle)
    if axis == "X":
        rows = (one, zero, zero, zero, c, -s, zero, s, c)
    elif axis == "Y":
        rows = (c, zero, s, zero, one, zero, -s, zero, c)
    else:
        rows = (c, -s, zero, s, c, zero, zero, zero, one)
    return torch.stack(rows, dim=-1).reshape(list(angle.shape) + [3, 3])


def euler_angles_to_matrix(euler_angles: torch.Tensor, convention: str) -> torch.Tensor:
    """Rotation matrices of Euler angles: ``R_{c0}(a0) @ R_{c1}(a1) @ R_{c2}(a2)``.

    Args:
        euler_angles: ``(..., 3)`` angles in radians, one per letter of ``convention``.
        convention: three letters from ``"X"``, ``"Y"``, ``"Z"`` (e.g. ``"XYZ"``, ``"ZYZ"``);
            the middle letter must differ from its neighbours.

    Returns:
        ``(..., 3, 3)`` rotation matrices acting on column vectors.
    """
    _check_trailing(euler_angles, [3], "euler_angles_to_matrix", "euler_angles")
    _check_convention(convention)
    first, second, third = (
        _axis_angle_rotation(axis, angle)
        for axis, angle in zip(convention, torch.unbind(euler_angles, dim=-1), strict=True)
    )
    return first @ second @ third


def _safe_hypot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``sqrt(a^2 + b^2)`` whose gradient is 0 (not NaN) where both are exactly 0."""
    squared = a * a + b * b
    positive = squared > 0
    return torch.sqrt(torch.where(positive, squared, torch.ones_like(squared))) * positive


def _safe_atan2(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``atan2(y, x)`` that is 0, with a finite gradient, where both are exactly 0."""
    both_zero = (y == 0) & (x == 0)
    return torch.atan2(y, torch.where(both_zero, torch.ones_like(x), x))


def matrix_to_euler_angles(matrix: torch.Tensor, convention: str) -> torch.Tensor:
    """Euler angles of rotation matrices (inverse of :func:`euler_angles_to_matrix`).

    Ranges: first and third angle in ``(-pi, pi]``; the middle one in ``[-pi/2, pi/2]``
    for Tait-Bryan conventions (three different axes, e.g. ``"XYZ"``) and in ``[0, pi]``
    for proper Euler conventions (first axis = third, e.g. ``"ZYZ"``).

    Method: the middle and third angles come from row ``c0`` of the matrix (with
    ``atan2``, accurate over the whole range). The first angle is then read from
    ``M @ R_{c2}(-third)``, whose column ``c1`` is ``R_{c0}(first) e_{c1}``, a unit vector:
    so the three angles always reproduce ``M``, also at gimbal lock (middle angle at the
    end of its range), where only a combination of the outer two is determined and the
    third angle is set to 0.

    Args:
        matrix: ``(..., 3, 3)`` rotation matrices (column-vector convention).
        convention: three letters from ``"X"``, ``"Y"``, ``"Z"``.

    Returns:
        ``(..., 3)`` angles in radians.
    """
    _check_convention(convention)
    _check_trailing(matrix, [3, 3], "matrix_to_euler_angles", "matrix")
    # str.find rather than a generator over the letters: TorchScript compiles it
    i0, i1, i2 = "XYZ".find(convention[0]), "XYZ".find(convention[1]), "XYZ".find(convention[2])
    k = 3 - i0 - i1  # the axis that is neither c0 nor c1
    sign = 1.0 if (i1 - i0) % 3 == 1 else -1.0  # +1 when (c0, c1, k) is cyclic, as XYZ
    m = matrix
    if i0 != i2:  # Tait-Bryan: row c0 = (.., s sin(mid), ..) and cos(mid) (cos, -s sin)(third)
        middle = torch.atan2(sign * m[..., i0, i2], _safe_hypot(m[..., i0, i0], m[..., i0, i1]))
        third = _safe_atan2(-sign * m[..., i0, i1], m[..., i0, i0])
    else:  # proper Euler: row c0 = cos(mid) at c0 and sin(mid) (sin, s cos)(third)
        middle = torch.atan2(_safe_hypot(m[..., i0, i1], m[..., i0, k]), m[..., i0, i0])
        third = _safe_atan2(m[..., i0, i1], sign * m[..., i0, k])
    undo_third = _axis_angle_rotation(convention[2], -third)[..., :, i1]  # R_{c2}(-third) e_{c1}
    column = (m @ undo_third[..., None])[..., 0]  # = R_{c0}(first) e_{c1}
    first = torch.atan2(sign * column[..., k], column[..., i1])
    return torch.stack((first, middle, third), dim=-1)


# --------------------------------------------------------------------------- 6D


def rotation_6d_to_matrix(d6: torch.Tensor) -> torch.Tensor:
    """Rotation matrices from the 6D representation by Gram-Schmidt (Zhou et al., 2019).

    The first three numbers give the direction of the first row, the next three (made
    orthogonal to it) the second row; the third row is their cross product.

    Args:
        d6: ``(..., 6)`` unnormalised first two rows.

    Returns:
        ``(..., 3, 3)`` rotation matrices.
    """
    _check_trailing(d6, [6], "rotation_6d_to_matrix", "d6")
    row0 = F.normalize(d6[..., :3], dim=-1)
    second = d6[..., 3:]
    row1 = F.normalize(second - (row0 * second).sum(dim=-1, keepdim=True) * row0, dim=-1)
    row2 = torch.linalg.cross(row0, row1, dim=-1)
    return torch.stack((row0, row1, row2), dim=-2)


def matrix_to_rotation_6d(matrix: torch.Tensor) -> torch.Tensor:
    """The 6D representation of rotation matrices: their first two rows, flattened.

    Args:
        matrix: ``(..., 3, 3)`` rotation matrices.

    Returns:
        ``(..., 6)`` tensor (a copy, not a view).
    """
    _check_trailing(matrix, [3, 3], "matrix_to_rotation_6d", "matrix")
    return matrix[..., :2, :].clone().reshape(matrix.shape[:-2] + (6,))


# --------------------------------------------------------------------------- random


def random_quaternions(
    n: int, dtype: torch.dtype | None = None, device: Device | None = None
) -> torch.Tensor:
    """Uniformly distributed random rotations as unit quaternions with ``w >= 0``.

    A 4D standard normal sample, normalised, is uniform on the unit sphere of quaternions,
    which is uniform over rotations.

    Args:
        n: number of quaternions.
        dtype: floating dtype (default: torch's default dtype).
        device: device (default: torch's default device).

    Returns:
        ``(n, 4)`` unit quaternions, real part first.
    """
    if not torch.jit.is_scripting():  # TorchScript passes devices as they are
        device = make_device(device) if device is not None else None
    sample = torch.randn((n, 4), dtype=dtype, device=device)
    norm = torch.linalg.vector_norm(sample, dim=1, keepdim=True)
    return sample / torch.where(sample[:, :1] < 0, -norm, norm)


def random_rotations(
    n: int, dtype: torch.dtype | None = None, device: Device | None = None
) -> torch.Tensor:
    """Uniformly distributed random rotation matrices.

    Args:
        n: number of matrices.
        dtype: floating dtype (default: torch's default dtype).
        device: device (default: torch's default device).

    Returns:
        ``(n, 3, 3)`` rotation matrices.
    """
    return quaternion_to_matrix(random_quaternions(n, dtype=dtype, device=device))


def random_rotation(dtype: torch.dtype | None = None, device: Device | None = None) -> torch.Tensor:
    """One uniformly distributed random rotation matrix of shape ``(3, 3)``."""
    return random_rotations(1, dtype, device)[0]
