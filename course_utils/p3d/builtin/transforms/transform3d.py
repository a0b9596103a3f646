"""Batches of 3D transforms as 4x4 matrices acting on **row** vectors (``Transform3d``).

A point ``p = (x, y, z)`` is written as the row ``(x, y, z, 1)`` and transformed by
``(x', y', z', w') = (x, y, z, 1) @ M``, then divided by ``w'``. So in the 4x4 matrix

* the upper-left 3x3 block is the *transpose* of the usual (column-vector) linear map,
* the translation sits in the **last row** ``M[3, :3]``,
* composition reads left to right: ``t1.compose(t2)`` applies ``t1`` first, then ``t2``,
  and its matrix is ``M1 @ M2``.

A :class:`Transform3d` holds a batch of ``N`` matrices ``(N, 4, 4)``; a batch of size 1
broadcasts against any other. Composition is lazy: ``compose`` stores the list of
transforms and :meth:`Transform3d.get_matrix` multiplies them when asked. Everything is
differentiable with respect to the tensors the transforms were built from.

Subclasses build common matrices: :class:`Translate`, :class:`Scale`, :class:`Rotate`
and :class:`RotateAxisAngle`; they also know their own cheap inverse (negated
translation, reciprocal scales, transposed rotation).
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence

import torch

from course_utils.p3d.builtin.common import Device, get_device, make_device
from course_utils.p3d.builtin.transforms.rotation_conversions import _axis_angle_rotation

__all__ = ["Rotate", "RotateAxisAngle", "Scale", "Transform3d", "Translate"]

#: A per-axis value: a Python number, a 0-d tensor or a 1-D tensor of shape (N,).
Coordinate = float | int | torch.Tensor
#: What ``Transform3d.__getitem__`` accepts.
Index = int | Sequence[int] | slice | torch.Tensor


def _broadcast_bmm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Batched ``a @ b`` where a batch of size 1 broadcasts against the other batch size.

    Args:
        a: ``(M, K)`` (taken as a batch of 1) or ``(N1, M, K)``.
        b: ``(N2, K, L)``; N1 and N2 must be equal or one of them 1.

    Returns:
        ``(max(N1, N2), M, L)``.
    """
    if a.dim() == 2:
        a = a[None]
    if a.shape[0] != b.shape[0] and 1 not in (a.shape[0], b.shape[0]):
        raise ValueError(
            f"Expected batch dim for bmm to be equal or 1; got {tuple(a.shape)}, {tuple(b.shape)}"
        )
    if a.dtype != b.dtype:
        raise ValueError(
            f"cannot combine {a.dtype} with {b.dtype}: transforms and the points they act on "
            "must share a dtype (build the transform with dtype=..., or convert the points)."
        )
    batch = max(a.shape[0], b.shape[0])
    return torch.bmm(a.expand(batch, -1, -1), b.expand(batch, -1, -1))


class Transform3d:
    """A batch of 3D transforms stored as ``(N, 4, 4)`` matrices for row vectors.

    Example::

        t = Transform3d().scale(2.0).translate(0.0, 0.0, 1.0)   # scale first, then move
        t.transform_points(torch.tensor([[1.0, 1.0, 1.0]]))       # -> [[2., 2., 3.]]

    Args:
        dtype: dtype of the identity made when ``matrix`` is None.
        device: device of the identity made when ``matrix`` is None.
        matrix: optional ``(4, 4)`` or ``(N, 4, 4)`` matrix for row vectors (translation in
            the last row); dtype and device are then taken from it.
    """

    def __init__(
        self,
        dtype: torch.dtype = torch.float32,
        device: Device = "cpu",
        matrix: torch.Tensor | None = None,
    ) -> None:
        if matrix is None:
            self._matrix = torch.eye(4, dtype=dtype, device=make_device(device)).view(1, 4, 4)
        else:
            if not torch.is_tensor(matrix) or matrix.dim() not in (2, 3):
                raise ValueError('"matrix" has to be a 2- or a 3-dimensional tensor.')
            if matrix.shape[-2:] != (4, 4):
                raise ValueError(
                    '"matrix" has to be a tensor of shape (minibatch, 4, 4) or (4, 4); '
                    f"got {tuple(matrix.shape)}"
                )
            dtype, device = matrix.dtype, matrix.device
            self._matrix = matrix.view(-1, 4, 4)
        self._transforms: list[Transform3d] = []
        self._lu = None
        self.device = make_device(device)
        self.dtype = dtype

    def __len__(self) -> int:
        return self.get_matrix().shape[0]

    def __getitem__(self, index: Index) -> Transform3d:
        """Select transforms of the batch.

        Args:
            index: an int, a list of ints, a slice, or a long/bool tensor.

        Returns:
            A new :class:`Transform3d` with the selected (composed) matrices.
        """
        if isinstance(index, int):
            index = [index]
        return Transform3d(matrix=self.get_matrix()[index])

    def compose(self, *others: Transform3d) -> Transform3d:
        """Chain transforms: the result applies ``self`` first, then each of ``others``.

        Args:
            *others: :class:`Transform3d` objects (batch size N or 1).

        Returns:
            A new :class:`Transform3d` whose matrix is ``self @ others[0] @ others[1] ...``.
        """
        for other in others:
            if not isinstance(other, Transform3d):
                raise ValueError(
                    f"Only possible to compose Transform3d objects; got {type(other).__name__}"
                )
        out = Transform3d(dtype=self.dtype, device=self.device)
        out._matrix = self._matrix.clone()
        out._transforms = self._transforms + list(others)
        return out

    def get_matrix(self) -> torch.Tensor:
        """The composed matrices.

        Returns:
            ``(N, 4, 4)`` matrices for row vectors: ``points_h @ M``.
        """
        composed = self._matrix.clone()
        for other in self._transforms:
            composed = _broadcast_bmm(composed, other.get_matrix())
        return composed

    def _get_matrix_inverse(self) -> torch.Tensor:
        """Inverse of this transform's own matrix (not of the composed chain)."""
        return torch.linalg.inv(self._matrix)

    def inverse(self, invert_composed: bool = False) -> Transform3d:
        """The inverse transform.

        Args:
            invert_composed: ``True`` inverts the composed matrix in one go; ``False``
                (default) inverts each stored transform with its own (often exact and
                cheap) inverse and chains them in reverse order.

        Returns:
            A new :class:`Transform3d`.
        """
        inverted = Transform3d(dtype=self.dtype, device=self.device)
        if invert_composed:
            inverted._matrix = torch.linalg.inv(self.get_matrix())
            return inverted
        own_inverse = self._get_matrix_inverse()
        if not self._transforms:
            inverted._matrix = own_inverse
            return inverted
        # (A B C)^-1 = C^-1 B^-1 A^-1: reversed chain, this transform's own inverse last.
        last = Transform3d(dtype=self.dtype, device=self.device)
        last._matrix = own_inverse
        inverted._transforms = [t.inverse() for t in reversed(self._transforms)] + [last]
        return inverted

    def get_se3_log(self, eps: float = 1e-4, cos_bound: float = 1e-4) -> torch.Tensor:
        """``(N, 6)`` logarithms ``[log_translation, log_rotation]`` of the rigid transforms.

        Only for transforms made of rotations and translations (see :func:`se3_log_map`).
        """
        from course_utils.p3d.builtin.transforms.se3 import se3_log_map

        return se3_log_map(self.get_matrix(), eps=eps, cos_bound=cos_bound)

    def stack(self, *others: Transform3d) -> Transform3d:
        """Concatenate batches: ``len(result) == len(self) + sum(len(o) for o in others)``.

        Args:
            *others: :class:`Transform3d` objects.

        Returns:
            A new :class:`Transform3d` holding all the composed matrices.
        """
        matrices = [t.get_matrix() for t in (self, *others)]
        out = Transform3d(dtype=self.dtype, device=self.device)
        out._matrix = torch.cat(matrices, dim=0)
        return out

    def transform_points(self, points: torch.Tensor, eps: float | None = None) -> torch.Tensor:
        """Apply the transforms to points (row vectors), with the perspective division.

        Args:
            points: ``(P, 3)`` or ``(N, P, 3)`` points.
            eps: if not None, the homogeneous coordinate ``w`` is clamped away from zero
                before dividing: ``w := (sign(w) + (w == 0)) * max(|w|, eps)`` (an exact 0
                becomes ``+eps``). Useful for gradients of points near a camera's plane.

        Returns:
            ``(N, P, 3)`` points, or ``(P, 3)`` when ``points`` is ``(P, 3)`` and the batch
            has a single transform.
        """
        if not torch.is_tensor(points) or points.dim() not in (2, 3) or points.shape[-1] != 3:
            got = tuple(points.shape) if torch.is_tensor(points) else type(points).__name__
            raise ValueError(f"Expected points to have shape (P, 3) or (N, P, 3): got {got}")
        batch = points[None] if points.dim() == 2 else points
        homogeneous = torch.cat((batch, torch.ones_like(batch[..., :1])), dim=-1)
        out = _broadcast_bmm(homogeneous, self.get_matrix())
        w = out[..., 3:]
        if eps is not None:
            w_sign = w.sign() + (w == 0.0).to(w.dtype)
            w = w_sign * w.abs().clamp_min(eps)
        out = out[..., :3] / w
        if points.dim() == 2 and out.shape[0] == 1:
            out = out.reshape(points.shape)
        return out

    def transform_normals(self, normals: torch.Tensor) -> torch.Tensor:
        """Apply the transforms to normal vectors (the inverse transpose of the 3x3 part).

        Normals must stay perpendicular to surfaces, so under ``p' = p @ A`` they map by
        ``n' = n @ (A^-1)^T``; translation does not affect them. They are not renormalised.

        Args:
            normals: ``(P, 3)`` or ``(N, P, 3)`` vectors.

        Returns:
            ``(N, P, 3)``, or ``(P, 3)`` when ``normals`` is ``(P, 3)`` and the batch has a
            single transform.
        """
        if not torch.is_tensor(normals) or normals.dim() not in (2, 3) or normals.shape[-1] != 3:
            got = tuple(normals.shape) if torch.is_tensor(normals) else type(normals).__name__
            raise ValueError(f"Expected normals to have shape (P, 3) or (N, P, 3): got {got}")
        linear = self.get_matrix()[:, :3, :3]
        out = _broadcast_bmm(normals, torch.linalg.inv(linear).transpose(1, 2))
        if normals.dim() == 2 and out.shape[0] == 1:
            out = out.reshape(normals.shape)
        return out

    def translate(self, *args, **kwargs) -> Transform3d:
        """``self`` followed by ``Translate(*args, **kwargs)`` (same dtype and device)."""
        return self.compose(Translate(*args, device=self.device, dtype=self.dtype, **kwargs))

    def scale(self, *args, **kwargs) -> Transform3d:
        """``self`` followed by ``Scale(*args, **kwargs)`` (same dtype and device)."""
        return self.compose(Scale(*args, device=self.device, dtype=self.dtype, **kwargs))

    def rotate(self, *args, **kwargs) -> Transform3d:
        """``self`` followed by ``Rotate(*args, **kwargs)`` (same dtype and device)."""
        return self.compose(Rotate(*args, device=self.device, dtype=self.dtype, **kwargs))

    def rotate_axis_angle(self, *args, **kwargs) -> Transform3d:
        """``self`` followed by ``RotateAxisAngle(*args, **kwargs)`` (same dtype and device)."""
        return self.compose(RotateAxisAngle(*args, device=self.device, dtype=self.dtype, **kwargs))

    def clone(self) -> Transform3d:
        """A deep copy: every stored tensor and transform is cloned."""
        other = Transform3d(dtype=self.dtype, device=self.device)
        if self._lu is not None:
            other._lu = [element.clone() for element in self._lu]
        other._matrix = self._matrix.clone()
        other._transforms = [t.clone() for t in self._transforms]
        return other

    def to(
        self, device: Device, copy: bool = False, dtype: torch.dtype | None = None
    ) -> Transform3d:
        """Move/cast like ``torch.Tensor.to``.

        Args:
            device: target device.
            copy: return a copy even when nothing changes.
            dtype: target dtype (default: keep).

        Returns:
            ``self`` when nothing changes and ``copy`` is False, else a new transform.
        """
        device = make_device(device)
        dtype = self.dtype if dtype is None else dtype
        unchanged = self.device == device and self.dtype == dtype
        if unchanged and not copy:
            return self
        other = self.clone()
        if unchanged:
            return other
        other.device, other.dtype = device, dtype
        other._matrix = other._matrix.to(device=device, dtype=dtype)
        other._transforms = [t.to(device, copy=copy, dtype=dtype) for t in other._transforms]
        return other

    def cpu(self) -> Transform3d:
        """The transform on the CPU."""
        return self.to("cpu")

    def cuda(self) -> Transform3d:
        """The transform on the current CUDA device."""
        return self.to("cuda")


def _as_coordinate(
    value: Coordinate, dtype: torch.dtype, device: torch.device, name: str
) -> torch.Tensor:
    """One coordinate as a 1-D tensor ``(N,)`` of ``dtype`` on ``device``."""
    if value is None:
        raise ValueError(f"{name}: give x, y and z, or a single (N, 3) tensor")
    tensor = value if torch.is_tensor(value) else torch.tensor(value, dtype=dtype, device=device)
    if tensor.dim() == 0:
        tensor = tensor.view(1)
    if tensor.dim() != 1:
        raise ValueError(
            f"{name}: each of x, y, z must be a number or a 1-D tensor; "
            f"got shape {tuple(tensor.shape)}"
        )
    return tensor.to(device=device, dtype=dtype)


def _xyz_input(
    x: Coordinate,
    y: Coordinate | None,
    z: Coordinate | None,
    dtype: torch.dtype,
    device: Device | None,
    name: str,
    allow_singleton: bool = False,
) -> torch.Tensor:
    """Turn ``(x, y, z)`` arguments or one ``(N, 3)`` tensor into an ``(N, 3)`` tensor.

    Args:
        x, y, z: numbers, 0-d or 1-D tensors (broadcast against each other); or ``x`` an
            ``(N, 3)`` tensor with ``y`` and ``z`` None.
        dtype: dtype of the result.
        device: device of the result (default: ``x``'s if it is a tensor, else CPU).
        name: the transform's name, for error messages.
        allow_singleton: ``x`` alone means ``x = y = z`` (uniform scaling).

    Returns:
        ``(N, 3)`` tensor.
    """
    device = get_device(x, device)
    if torch.is_tensor(x) and x.dim() == 2:
        if x.shape[1] != 3:
            raise ValueError(f"{name}: expected a tensor of shape (N, 3); got {tuple(x.shape)}")
        if y is not None or z is not None:
            raise ValueError(f"{name}: y and z must be None when x has shape (N, 3)")
        return x.to(device=device, dtype=dtype)
    if allow_singleton and y is None and z is None:
        y = z = x
    coords = [_as_coordinate(c, dtype, device, name) for c in (x, y, z)]
    sizes = [c.shape[0] for c in coords]
    batch = max(sizes)
    if any(size not in (1, batch) for size in sizes):
        raise ValueError(f"{name}: got non-broadcastable sizes {sizes} for x, y, z")
    return torch.stack([c.expand(batch) for c in coords], dim=1)


class Translate(Transform3d):
    """Translations: ``p' = p + (x, y, z)``.

    Args:
        x: an ``(N, 3)`` tensor of offsets, or the x offsets (number or ``(N,)`` tensor).
        y: the y offsets when ``x`` is not ``(N, 3)``.
        z: the z offsets when ``x`` is not ``(N, 3)``.
        dtype: dtype of the matrices (inputs are cast to it).
        device: device (default: that of ``x`` when it is a tensor, else CPU).
    """

    def __init__(
        self,
        x: Coordinate,
        y: Coordinate | None = None,
        z: Coordinate | None = None,
        dtype: torch.dtype = torch.float32,
        device: Device | None = None,
    ) -> None:
        xyz = _xyz_input(x, y, z, dtype, device, "Translate")
        super().__init__(device=xyz.device, dtype=dtype)
        eye = torch.eye(4, dtype=dtype, device=xyz.device).expand(xyz.shape[0], 4, 4)
        # Row vectors: the offset goes in the last row.
        last_row = torch.cat((xyz, torch.ones_like(xyz[:, :1])), dim=1)
        self._matrix = torch.cat((eye[:, :3, :], last_row[:, None, :]), dim=1)

    def _get_matrix_inverse(self) -> torch.Tensor:
        sign = torch.ones_like(self._matrix[:1])
        sign[0, 3, :3] = -1.0
        return self._matrix * sign


class Scale(Transform3d):
    """Scaling along the axes: ``p' = p * (x, y, z)``.

    Args:
        x: a number or ``(N,)`` tensor (uniform scale when ``y`` and ``z`` are None), an
            ``(N, 3)`` tensor of per-axis scales, or the x scales.
        y: the y scales (optional).
        z: the z scales (optional).
        dtype: dtype of the matrices.
        device: device (default: that of ``x`` when it is a tensor, else CPU).
    """

    def __init__(
        self,
        x: Coordinate,
        y: Coordinate | None = None,
        z: Coordinate | None = None,
        dtype: torch.dtype = torch.float32,
        device: Device | None = None,
    ) -> None:
        xyz = _xyz_input(x, y, z, dtype, device, "Scale", allow_singleton=True)
        super().__init__(device=xyz.device, dtype=dtype)
        diagonal = torch.cat((xyz, torch.ones_like(xyz[:, :1])), dim=1)
        self._matrix = torch.diag_embed(diagonal)

    def _get_matrix_inverse(self) -> torch.Tensor:
        return torch.diag_embed(1.0 / torch.diagonal(self._matrix, dim1=1, dim2=2))


def _warn_if_not_rotation(R: torch.Tensor, tol: float) -> None:
    """Warn when ``R`` is not orthonormal with determinant +1 (within ``tol``)."""
    eye = torch.eye(3, dtype=R.dtype, device=R.device).expand_as(R)
    orthogonal = torch.allclose(R @ R.transpose(1, 2), eye, atol=tol)
    det = torch.linalg.det(R)
    if not (orthogonal and torch.allclose(det, torch.ones_like(det))):
        warnings.warn("R is not a valid rotation matrix", stacklevel=3)


class Rotate(Transform3d):
    """Rotations given by matrices, for row vectors: ``p' = p @ R``.

    Note that ``p @ R`` is ``R^T @ p`` for a column vector: to apply a matrix ``M`` from
    :mod:`.rotation_conversions` (column convention) use ``Rotate(M.transpose(-1, -2))``.

    Args:
        R: ``(3, 3)`` or ``(N, 3, 3)`` rotation matrices.
        dtype: dtype of the matrices (``R`` is cast to it).
        device: device (default: that of ``R``).
        orthogonal_tol: tolerance of the validity check, which (as in PyTorch3D) runs only
            when the environment variable ``PYTORCH3D_CHECK_ROTATION_MATRICES=1``; an
            invalid matrix then gives a warning.
    """

    def __init__(
        self,
        R: torch.Tensor,
        dtype: torch.dtype = torch.float32,
        device: Device | None = None,
        orthogonal_tol: float = 1e-5,
    ) -> None:
        if not torch.is_tensor(R):
            raise ValueError(f"Rotate: R must be a torch.Tensor; got {type(R).__name__}")
        device = get_device(R, device)
        super().__init__(device=device, dtype=dtype)
        if R.dim() == 2:
            R = R[None]
        if R.dim() != 3 or R.shape[-2:] != (3, 3):
            raise ValueError(f"R must have shape (3, 3) or (N, 3, 3); got {tuple(R.shape)}")
        R = R.to(device=device, dtype=dtype)
        if os.environ.get("PYTORCH3D_CHECK_ROTATION_MATRICES", "0") == "1":
            _warn_if_not_rotation(R, orthogonal_tol)
        n = R.shape[0]
        top = torch.cat((R, R.new_zeros(n, 3, 1)), dim=2)  # (N, 3, 4)
        bottom = torch.eye(4, dtype=dtype, device=device)[3:].expand(n, 1, 4)
        self._matrix = torch.cat((top, bottom), dim=1)

    def _get_matrix_inverse(self) -> torch.Tensor:
        return self._matrix.transpose(1, 2).contiguous()


class RotateAxisAngle(Rotate):
    """Rotations by an angle about one coordinate axis (anticlockwise, right-handed).

    Args:
        angle: number or ``(N,)`` tensor.
        axis: ``"X"``, ``"Y"`` or ``"Z"`` (case-insensitive), the same for the whole batch.
        degrees: whether ``angle`` is in degrees (default) or radians.
        dtype: dtype of the matrices.
        device: device (default: that of ``angle`` when it is a tensor, else CPU).
    """

    def __init__(
        self,
        angle: Coordinate,
        axis: str = "X",
        degrees: bool = True,
        dtype: torch.dtype = torch.float32,
        device: Device | None = None,
    ) -> None:
        axis = axis.upper() if isinstance(axis, str) else axis
        if axis not in ("X", "Y", "Z"):
            raise ValueError(f"Expected axis to be one of ['X', 'Y', 'Z']; got {axis!r}")
        device = get_device(angle, device)
        if torch.is_tensor(angle) and angle.dim() > 1:
            raise ValueError(
                f"RotateAxisAngle: angle must be a number or a 1-D tensor; "
                f"got shape {tuple(angle.shape)}"
            )
        angle = _as_coordinate(angle, dtype, device, "RotateAxisAngle")
        if degrees:
            angle = angle * (math.pi / 180.0)
        # _axis_angle_rotation rotates column vectors; transpose it for row vectors.
        R = _axis_angle_rotation(axis, angle).transpose(1, 2)
        super().__init__(R=R, dtype=dtype, device=device)
