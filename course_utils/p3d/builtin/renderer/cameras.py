"""Cameras: how a 3D point becomes a position in an image (built-in ``pytorch3d.renderer``).

A point travels through four coordinate systems:

1. **World** — where the scene lives; any right-handed frame you like.
2. **View** (camera) — origin at the camera centre, **+X left, +Y up, +Z forward** into the
   scene (so a visible point has positive z). Reached with the extrinsics ``R`` (N, 3, 3)
   and ``T`` (N, 3), applied to **row** vectors::

       X_view = X_world @ R + T

   ``look_at_view_transform(dist, elev, azim)`` (in :mod:`.look_at`) builds ``R, T`` for
   a camera on a sphere looking at the origin. The camera centre in world space is ``C = -T @ R^T``.
3. **NDC** (normalised device coordinates) — after the projection (the intrinsics):
   +X left, +Y up, and the visible region is ``[-1, 1]`` along the *shorter* image side
   (``[-s, s]``, ``s = long / short``, along the longer one). The third coordinate is a
   depth: in ``[0, 1]`` between ``znear`` and ``zfar`` for the FoV cameras, ``1 / z`` for
   ``PerspectiveCameras`` and ``z`` for ``OrthographicCameras``.
4. **Screen** — pixels: origin at the image's top-left corner, **+x right, +y down**;
   ``transform_points_screen`` maps NDC there (``x_screen = W/2 - x_ndc * min(H, W)/2``).

Every map is a :class:`~course_utils.p3d.builtin.transforms.Transform3d` (4x4 matrices
for row vectors, followed by the division by the homogeneous ``w``), so they compose:
``cameras.get_full_projection_transform()`` = world→view then view→NDC. A perspective
projection divides by the view depth (far things look small); an orthographic one does not.

Camera classes (all batched: ``N`` cameras, parameters broadcast from batch size 1):

* :class:`FoVPerspectiveCameras` — OpenGL-style perspective from a field of view;
* :class:`FoVOrthographicCameras` — orthographic from the box ``min_x..max_x``, ``min_y..max_y``;
* :class:`PerspectiveCameras` — pinhole with focal length and principal point, in NDC units
  or (``in_ndc=False``) in pixels with an ``image_size``;
* :class:`OrthographicCameras` — the orthographic counterpart.

The built-in backend follows PyTorch3D 0.7.9; tensors keep the dtype of ``R`` (float32 by
default) and points are cast to it.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from course_utils.p3d.builtin.common import (
    Device,
    format_tensor,
    make_device,
)
from course_utils.p3d.builtin.renderer.camera_checks import BatchFloat, _check_finite
from course_utils.p3d.builtin.transforms import Rotate, Transform3d, Translate

__all__ = [
    "CamerasBase",
    "FoVOrthographicCameras",
    "OpenGLOrthographicCameras",
    "OpenGLPerspectiveCameras",
    "SfMOrthographicCameras",
    "SfMPerspectiveCameras",
    "FoVPerspectiveCameras",
    "OrthographicCameras",
    "PerspectiveCameras",
    "get_ndc_to_screen_transform",
    "get_screen_to_ndc_transform",
    "get_world_to_view_transform",
]

# Default extrinsics: the identity rotation and no translation (a batch of one).
_R = torch.eye(3)[None]  # (1, 3, 3)
_T = torch.zeros(1, 3)  # (1, 3)

#: A float per camera: a number, a sequence of N numbers or an (N,) tensor.
#: What can be broadcast into a camera parameter tensor.
_BROADCASTABLE = (numbers.Real, list, tuple, torch.Tensor, np.ndarray)
#: Indices accepted by ``CamerasBase.__getitem__``.
CameraIndex = int | list[int] | torch.Tensor

# Allowed shapes after the batch dimension, and how to describe them in errors.
_SCALAR = ((),)
_FIELD_SHAPES: dict[str, tuple[tuple[tuple[int, ...], ...], str]] = {
    "R": (((3, 3),), "(N, 3, 3)"),
    "T": (((3,),), "(N, 3)"),
    "K": (((4, 4),), "(N, 4, 4)"),
    "znear": (_SCALAR, "a number or (N,)"),
    "zfar": (_SCALAR, "a number or (N,)"),
    "aspect_ratio": (_SCALAR, "a number or (N,)"),
    "fov": (_SCALAR, "a number or (N,)"),
    "max_x": (_SCALAR, "a number or (N,)"),
    "min_x": (_SCALAR, "a number or (N,)"),
    "max_y": (_SCALAR, "a number or (N,)"),
    "min_y": (_SCALAR, "a number or (N,)"),
    "scale_xyz": (((3,),), "(N, 3)"),
    "focal_length": (((), (1,), (2,)), "a number, (N,), (N, 1) or (N, 2)"),
    # (N, 2, 1) is a column of (px, py): PyTorch3D accepts it, so the built-in does too.
    "principal_point": (((2,), (2, 1)), "(N, 2)"),
    "image_size": (((2,),), "(N, 2), e.g. image_size=((H, W),)"),
}


def _same_device(a: torch.device, b: torch.device) -> bool:
    """Device equality where a missing index matches any (``mps`` vs ``mps:0``)."""
    return a.type == b.type and (a.index is None or b.index is None or a.index == b.index)


def _matrix_from_entries(entries: Sequence[Sequence[torch.Tensor]]) -> torch.Tensor:
    """Stack a 4x4 nested list of ``(N,)`` tensors into an ``(N, 4, 4)`` tensor."""
    rows = [torch.stack(list(row), dim=-1) for row in entries]
    return torch.stack(rows, dim=-2)


# =========================================================================== base class


class CamerasBase(nn.Module):
    """Common machinery of all cameras: parameter batching and the world→NDC→screen maps.

    A camera class lists its parameters in ``_FIELDS``; the constructor turns every
    number, sequence or tensor into a tensor with a leading batch dimension ``N`` (size-1
    batches are broadcast), checks shapes and finiteness, and stores them as attributes.
    Strings, bools and ``None`` are stored unchanged. Subclasses implement
    :meth:`get_projection_transform` (view → NDC or screen), :meth:`unproject_points`,
    :meth:`is_perspective` and :meth:`in_ndc`.

    Args:
        dtype: dtype for parameters given as Python numbers or sequences.
        device: device of every parameter tensor (tensors given elsewhere are moved).
        **kwargs: the camera parameters.
    """

    _FIELDS: tuple[str, ...] = ()
    _SHARED_FIELDS: tuple[str, ...] = ()

    def __init__(self, dtype: torch.dtype = torch.float32, device: Device = "cpu", **kwargs: Any):
        super().__init__()
        self.device = make_device(device)
        self._N = 0
        name = type(self).__name__
        tensors: dict[str, torch.Tensor] = {}
        for key, value in kwargs.items():
            numeric_field = key in _FIELD_SHAPES
            if value is None or (isinstance(value, (str, bool)) and not numeric_field):
                setattr(self, key, value)
                continue
            if isinstance(value, (str, bool)) or not isinstance(value, _BROADCASTABLE):
                raise ValueError(
                    f"{name}: {key} must be a number, a sequence or a tensor; "
                    f"got {type(value).__name__}"
                )
            try:
                tensor = format_tensor(value, dtype=dtype, device=self.device)
            except (TypeError, ValueError, RuntimeError) as error:
                raise ValueError(f"{name}: cannot turn {key} into a tensor ({error})") from error
            if key in _FIELD_SHAPES:
                allowed, wanted = _FIELD_SHAPES[key]
                if tuple(tensor.shape[1:]) not in allowed:
                    raise ValueError(
                        f"{name}: {key} must have shape {wanted}; got shape {tuple(tensor.shape)}"
                    )
            _check_finite(
                tensor, f"{name}: {key}", "every camera parameter must be a finite number"
            )
            tensors[key] = tensor
        sizes = {key: t.shape[0] for key, t in tensors.items()}
        if sizes:
            self._N = max(sizes.values())
            if any(size not in (1, self._N) for size in sizes.values()):
                listed = ", ".join(f"{key} has {size}" for key, size in sizes.items())
                raise ValueError(
                    f"{name}: the parameters' batch sizes do not match ({listed}); "
                    f"each must be 1 or {self._N}"
                )
        for key, tensor in tensors.items():
            setattr(self, key, tensor.expand(self._N, *tensor.shape[1:]))

    # ----------------------------------------------------------------- helpers

    @property
    def _dtype(self) -> torch.dtype:
        """The dtype the camera computes in: that of ``R`` (float32 by default)."""
        R = getattr(self, "R", None)
        return R.dtype if torch.is_tensor(R) and R.is_floating_point() else torch.float32

    def _batch_param(self, value: Any, name: str, width: int | None = None) -> torch.Tensor:
        """A parameter (stored or passed as a kwarg) as ``(N,)`` or ``(N, width)`` tensor."""
        tensor = format_tensor(value, dtype=self._dtype, device=self.device).to(self._dtype)
        if width is not None and tensor.dim() == 1 and tensor.shape[0] == width:
            tensor = tensor[None]  # one row given without its batch dimension
        wanted = 1 if width is None else 2
        if tensor.dim() != wanted or (width is not None and tensor.shape[1] != width):
            shape = "(N,)" if width is None else f"(N, {width})"
            raise ValueError(f"{name} must have shape {shape}; got {tuple(tensor.shape)}")
        if tensor.shape[0] not in (1, self._N):
            raise ValueError(f"{name} has batch size {tensor.shape[0]}; expected 1 or {self._N}")
        return tensor.expand(self._N, *tensor.shape[1:])

    def _prepare_points(self, points: Any, method: str, arg: str, hint: str) -> torch.Tensor:
        """Validate ``points`` ((P, 3) or (N, P, 3), finite, right device); cast to our dtype."""
        where = f"{type(self).__name__}.{method}"
        if not torch.is_tensor(points):
            raise ValueError(
                f"{where}: {arg} must be a torch.Tensor of shape (P, 3) or (N, P, 3); "
                f"got {type(points).__name__}"
            )
        if points.dim() not in (2, 3) or points.shape[-1] != 3:
            raise ValueError(
                f"{where}: {arg} must have shape (P, 3) or (N, P, 3); "
                f"got shape {tuple(points.shape)}"
            )
        if points.dim() == 3 and self._N != 1 and points.shape[0] not in (1, self._N):
            raise ValueError(
                f"{where}: {arg} has a batch of {points.shape[0]} but there are {self._N} "
                f"cameras; pass ({self._N}, P, 3), or (P, 3) for the same points in every camera"
            )
        if not _same_device(points.device, self.device):
            raise ValueError(
                f"{where}: {arg} is on {points.device} but the cameras are on {self.device}; "
                "move one of them (cameras.to(device) or points.to(device))"
            )
        _check_finite(points, f"{method}: {arg}", f"check the {hint} you passed")
        return points.to(self._dtype)

    def _extrinsic(self, kwargs: dict[str, Any], key: str) -> torch.Tensor:
        """``R`` or ``T`` from ``kwargs`` (validated) or the stored one."""
        if key not in kwargs:
            return getattr(self, key)
        value = kwargs[key]
        if not torch.is_tensor(value):
            raise ValueError(f"{type(self).__name__}: {key} must be a tensor")
        _check_finite(value, f"{type(self).__name__}: {key}", "R and T must be finite")
        return value

    # ----------------------------------------------------------------- transforms

    def get_projection_transform(self, **kwargs: Any) -> Transform3d:
        """The view → NDC (or screen) projection; implemented by each camera class.

        Args:
            **kwargs: camera parameters overriding the stored ones for this call.

        Returns:
            A :class:`Transform3d` of ``N`` 4x4 matrices (row-vector convention).
        """
        raise NotImplementedError()

    def unproject_points(self, xy_depth: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        """Map ``(x, y, depth)`` in the camera's projection space back to world or view space.

        Implemented by each camera class; see their docstrings.
        """
        raise NotImplementedError()

    def get_world_to_view_transform(self, **kwargs: Any) -> Transform3d:
        """The world → view transform ``X_view = X_world @ R + T``.

        Args:
            **kwargs: ``R`` (N, 3, 3) and/or ``T`` (N, 3) to use instead of the stored ones.
                As in PyTorch3D, values passed here replace the stored ``R`` / ``T``.

        Returns:
            A :class:`Transform3d` of ``N`` transforms.
        """
        R = self._extrinsic(kwargs, "R")
        T = self._extrinsic(kwargs, "T")
        self.R = R
        self.T = T
        return get_world_to_view_transform(R=R, T=T)

    def get_full_projection_transform(self, **kwargs: Any) -> Transform3d:
        """The world → view → NDC (or screen, for screen-space cameras) transform.

        Args:
            **kwargs: parameters overriding the stored ones (``R``, ``T`` replace the
                stored values, as in PyTorch3D).

        Returns:
            A :class:`Transform3d` of ``N`` transforms.
        """
        world_to_view = self.get_world_to_view_transform(**kwargs)
        return world_to_view.compose(self.get_projection_transform(**kwargs))

    def transform_points(
        self, points: torch.Tensor, eps: float | None = None, **kwargs: Any
    ) -> torch.Tensor:
        """Project world points into the camera's projection space (NDC or screen).

        Args:
            points: ``(P, 3)`` or ``(N, P, 3)`` world points (row vectors), cast to the
                cameras' dtype (that of ``R``).
            eps: if not None, the homogeneous ``w`` is clamped to ``|w| >= eps`` before the
                division, which keeps gradients finite for points near the camera plane.
            **kwargs: camera parameters overriding the stored ones.

        Raises:
            ValueError: ``points`` has the wrong shape, another device, or NaN/inf values.

        Returns:
            ``(N, P, 3)`` projected points (``(P, 3)`` for one camera and ``(P, 3)`` input):
            x, y in NDC (screen units for screen-space cameras) and the camera's depth.
        """
        points = self._prepare_points(points, "transform_points", "points", "vertices/points")
        transform = self.get_full_projection_transform(**kwargs)
        return transform.transform_points(points, eps=eps)

    def get_ndc_camera_transform(self, **kwargs: Any) -> Transform3d:
        """The transform from the camera's projection space to PyTorch3D's NDC.

        The identity for cameras defined in NDC; for screen-space cameras it rescales
        ``[0, W] x [0, H]`` to NDC (without flipping axes).

        Args:
            **kwargs: may hold ``image_size`` ((H, W) or (N, 2)).

        Returns:
            A :class:`Transform3d`.
        """
        if self.in_ndc():
            return Transform3d(device=self.device, dtype=self._dtype)
        image_size = kwargs.get("image_size", self.get_image_size())
        return get_screen_to_ndc_transform(self, with_xyflip=False, image_size=image_size)

    def transform_points_ndc(
        self, points: torch.Tensor, eps: float | None = None, **kwargs: Any
    ) -> torch.Tensor:
        """Project world points to NDC (+X left, +Y up, shorter image side spanning [-1, 1]).

        Args:
            points: ``(P, 3)`` or ``(N, P, 3)`` world points.
            eps: see :meth:`transform_points`.
            **kwargs: camera parameters overriding the stored ones (and ``image_size``).

        Returns:
            ``(N, P, 3)`` (or ``(P, 3)``) NDC points; the third coordinate is the camera's depth.
        """
        points = self._prepare_points(points, "transform_points_ndc", "points", "vertices/points")
        return self._world_to_ndc(**kwargs).transform_points(points, eps=eps)

    def _world_to_ndc(self, **kwargs: Any) -> Transform3d:
        """World → PyTorch3D NDC, whatever space the camera's projection lands in."""
        transform = self.get_full_projection_transform(**kwargs)
        if not self.in_ndc():
            transform = transform.compose(self.get_ndc_camera_transform(**kwargs))
        return transform

    def transform_points_screen(
        self,
        points: torch.Tensor,
        eps: float | None = None,
        with_xyflip: bool = True,
        **kwargs: Any,
    ) -> torch.Tensor:
        """Project world points to screen (pixel) coordinates.

        Args:
            points: ``(P, 3)`` or ``(N, P, 3)`` world points.
            eps: see :meth:`transform_points`.
            with_xyflip: ``True`` (default) gives image coordinates: origin top-left,
                +x right, +y down. ``False`` keeps NDC's axis directions.
            **kwargs: ``image_size`` ((H, W), ((H, W),) or (N, 2)) — required unless the
                camera stores one — and camera parameters overriding the stored ones.

        Returns:
            ``(N, P, 3)`` (or ``(P, 3)``) points: x, y in pixels, then the camera's depth.
        """
        points = self._prepare_points(
            points, "transform_points_screen", "points", "vertices/points"
        )
        ndc = self._world_to_ndc(**kwargs).transform_points(points, eps=eps)
        image_size = kwargs.get("image_size", self.get_image_size())
        to_screen = get_ndc_to_screen_transform(
            self, with_xyflip=with_xyflip, image_size=image_size
        )
        return to_screen.transform_points(ndc, eps=eps)

    def get_camera_center(self, **kwargs: Any) -> torch.Tensor:
        """Camera centres in world coordinates, ``C = -T @ R^T``.

        Args:
            **kwargs: ``R`` / ``T`` overriding (and replacing) the stored ones.

        Returns:
            ``(N, 3)`` centres.
        """
        view_to_world = self.get_world_to_view_transform(**kwargs).inverse().get_matrix()
        # Row-vector convention: the translation of view→world is its last row.
        return view_to_world[:, 3, :3]

    # ----------------------------------------------------------------- properties

    def is_perspective(self) -> bool:
        """Whether the projection divides by depth; implemented by each camera class."""
        raise NotImplementedError()

    def in_ndc(self) -> bool:
        """Whether the camera's parameters (and projections) are in NDC rather than pixels."""
        raise NotImplementedError()

    def get_znear(self) -> torch.Tensor | None:
        """The near clipping distances ``(N,)``, or None for cameras without one."""
        return getattr(self, "znear", None)

    def get_image_size(self) -> torch.Tensor | None:
        """The stored image size ``(N, 2)`` as (height, width), or None."""
        return getattr(self, "image_size", None)

    # ----------------------------------------------------------------- batching

    def __len__(self) -> int:
        return self._N

    def _field_kwargs(self, select: Any = None, clone: bool = False) -> dict[str, Any]:
        """Constructor arguments reproducing this camera (optionally a subset of the batch)."""
        kwargs: dict[str, Any] = {}
        for field in self._FIELDS:
            value = getattr(self, field, None)
            if value is None:
                continue
            key = field[1:] if field.startswith("_") else field  # "_in_ndc" -> in_ndc
            if isinstance(value, (str, bool)):
                kwargs[key] = value
            elif torch.is_tensor(value):
                value = value[select] if select is not None else value
                kwargs[key] = value.clone() if clone else value
            else:
                raise ValueError(f"Field {field} type is not supported for indexing")
        return kwargs

    def __getitem__(self, index: CameraIndex) -> CamerasBase:
        """Select cameras of the batch.

        Args:
            index: an int, a list of ints, a 1-D integer tensor, or a bool tensor of
                length ``N``.

        Returns:
            A new camera object of the same class holding the selected cameras.
        """
        is_int_list = isinstance(index, list) and all(
            isinstance(i, int) and not isinstance(i, bool) for i in index
        )
        is_tensor = torch.is_tensor(index) and (
            index.dtype == torch.bool or not (index.is_floating_point() or index.is_complex())
        )
        if isinstance(index, bool) or not (isinstance(index, int) or is_int_list or is_tensor):
            raise ValueError(
                "Invalid index type, expected int, List[int] or Bool/LongTensor; "
                f"got {type(index).__name__}"
            )
        if isinstance(index, int):
            index = [index]
        if torch.is_tensor(index) and index.dtype == torch.bool:
            if index.dim() != 1 or index.shape[0] != len(self):
                raise ValueError(
                    f"Boolean index of shape {tuple(index.shape)} does not match cameras "
                    f"(the batch has {len(self)} cameras)"
                )
        else:
            flat = index.reshape(-1).tolist() if torch.is_tensor(index) else index
            if not flat:
                raise IndexError("cannot select zero cameras")
            if max(flat) >= len(self) or min(flat) < -len(self):
                raise IndexError(
                    f"Index {max(flat, key=abs)} is out of bounds for {len(self)} cameras"
                )
        if torch.is_tensor(index):
            index = index.to(self.device)
        return type(self)(device=self.device, **self._field_kwargs(select=index))

    def clone(self) -> CamerasBase:
        """A copy of the cameras with every parameter tensor cloned."""
        return type(self)(device=self.device, **self._field_kwargs(clone=True))

    def to(self, device: Device = "cpu") -> CamerasBase:  # type: ignore[override]
        """Move every parameter tensor to ``device`` (in place, like PyTorch3D); returns self."""
        device = make_device(device)
        for field in self._FIELDS:
            value = getattr(self, field, None)
            if torch.is_tensor(value) and value.device != device:
                setattr(self, field, value.to(device))
        self.device = device
        return self

    def cpu(self) -> CamerasBase:  # type: ignore[override]
        """Move the cameras to the CPU (in place); returns self."""
        return self.to("cpu")

    def cuda(self, device: Device | None = None) -> CamerasBase:  # type: ignore[override]
        """Move the cameras to a CUDA device (in place); returns self."""
        return self.to("cuda" if device is None else device)


# =========================================================================== FoV cameras


class FoVPerspectiveCameras(CamerasBase):
    """Perspective cameras defined by a field of view (OpenGL style, in NDC).

    The projection (column-vector form, applied to view points ``(x, y, z, 1)``)::

        K = [[s / aspect_ratio, 0, 0, 0],        s = 1 / tan(fov / 2)
             [0,                s, 0, 0],
             [0, 0, zfar / (zfar - znear), -zfar * znear / (zfar - znear)],
             [0, 0, 1,                      0]]

    followed by the division by ``w = z``: NDC ``x = s x / (aspect_ratio z)``,
    ``y = s y / z``, and a depth that is 0 at ``znear`` and 1 at ``zfar``. ``fov`` is the
    vertical angle of the view frustum. For non-square images keep ``aspect_ratio=1``
    (square pixels): the rasteriser widens NDC along the longer side.

    Args:
        znear: near clipping distances, number or (N,).
        zfar: far clipping distances, number or (N,).
        aspect_ratio: pixel aspect ratio (width / height of a pixel), number or (N,).
        fov: vertical field of view, number or (N,).
        degrees: whether ``fov`` is in degrees (default) or radians.
        R: (N, 3, 3) world → view rotations (row vectors: ``X @ R + T``).
        T: (N, 3) world → view translations.
        K: optional (N, 4, 4) projection matrices (column-vector form) used instead of
            ``znear``, ``zfar``, ``aspect_ratio`` and ``fov``.
        device: device of the parameters.
    """

    _FIELDS = ("K", "znear", "zfar", "aspect_ratio", "fov", "R", "T", "degrees")
    _SHARED_FIELDS = ("degrees",)

    def __init__(
        self,
        znear: BatchFloat = 1.0,
        zfar: BatchFloat = 100.0,
        aspect_ratio: BatchFloat = 1.0,
        fov: BatchFloat = 60.0,
        degrees: bool = True,
        R: torch.Tensor = _R,
        T: torch.Tensor = _T,
        K: torch.Tensor | None = None,
        device: Device = "cpu",
    ) -> None:
        super().__init__(
            device=device, znear=znear, zfar=zfar, aspect_ratio=aspect_ratio, fov=fov, R=R, T=T, K=K
        )
        self.degrees = degrees

    def compute_projection_matrix(
        self, znear: Any, zfar: Any, fov: Any, aspect_ratio: Any, degrees: bool
    ) -> torch.Tensor:
        """The projection matrices ``K`` (column-vector form, see the class docstring).

        Args:
            znear, zfar, fov, aspect_ratio: numbers or (N,) tensors.
            degrees: whether ``fov`` is in degrees.

        Returns:
            ``(N, 4, 4)`` matrices.
        """
        znear = self._batch_param(znear, "znear")
        zfar = self._batch_param(zfar, "zfar")
        fov = self._batch_param(fov, "fov")
        aspect_ratio = self._batch_param(aspect_ratio, "aspect_ratio")
        if degrees:
            fov = fov * (math.pi / 180.0)
        scale_y = 1.0 / torch.tan(0.5 * fov)
        depth_scale = zfar / (zfar - znear)
        zero, one = torch.zeros_like(fov), torch.ones_like(fov)
        return _matrix_from_entries(
            [
                [scale_y / aspect_ratio, zero, zero, zero],
                [zero, scale_y, zero, zero],
                [zero, zero, depth_scale, -depth_scale * znear],
                [zero, zero, one, zero],
            ]
        )

    def get_projection_transform(self, **kwargs: Any) -> Transform3d:
        """The view → NDC perspective projection.

        Args:
            **kwargs: ``K``, ``znear``, ``zfar``, ``fov``, ``aspect_ratio``, ``degrees`` to
                use instead of the stored values.

        Returns:
            A :class:`Transform3d` with matrices ``K^T`` (row-vector convention).
        """
        K = _projection_or_given(self, kwargs)
        if K is None:
            K = self.compute_projection_matrix(
                kwargs.get("znear", self.znear),
                kwargs.get("zfar", self.zfar),
                kwargs.get("fov", self.fov),
                kwargs.get("aspect_ratio", self.aspect_ratio),
                kwargs.get("degrees", self.degrees),
            )
        return Transform3d(matrix=K.transpose(1, 2).contiguous())

    def unproject_points(
        self,
        xy_depth: torch.Tensor,
        world_coordinates: bool = True,
        scaled_depth_input: bool = False,
        **kwargs: Any,
    ) -> torch.Tensor:
        """Lift NDC ``(x, y)`` plus a depth back to 3D.

        Args:
            xy_depth: ``(P, 3)`` or ``(N, P, 3)``: NDC x, y and a depth.
            world_coordinates: return world points (``True``) or view points (``False``).
            scaled_depth_input: the depth is the NDC depth in [0, 1] (``True``) or the view
                space z (``False``, default).
            **kwargs: camera parameters overriding the stored ones.

        Returns:
            ``(N, P, 3)`` (or ``(P, 3)``) points in world or view coordinates.
        """
        xy_depth = self._prepare_points(
            xy_depth, "unproject_points", "xy_depth", "xy_depth (x, y, depth) values"
        )
        if not scaled_depth_input:
            # A view depth z lands at NDC depth (f1 * z + f2) / z, with f1, f2 read off the
            # row-vector projection matrix.
            matrix = self.get_projection_transform(**kwargs).get_matrix()
            f1, f2 = matrix[:, 2, 2].view(-1, 1, 1), matrix[:, 3, 2].view(-1, 1, 1)
            xy_depth = _replace_depth(xy_depth, lambda z: (f1 * z + f2) / z)
        return _unproject(self, xy_depth, world_coordinates, kwargs)

    def is_perspective(self) -> bool:
        return True

    def in_ndc(self) -> bool:
        return True


class FoVOrthographicCameras(CamerasBase):
    """Orthographic cameras defined by the visible box (OpenGL style, in NDC).

    The view-space box ``[min_x, max_x] x [min_y, max_y] x [znear, zfar]`` is mapped to
    ``[-1, 1] x [-1, 1] x [0, 1]`` (times ``scale_xyz``); no perspective division::

        K = [[2 sx / (max_x - min_x), 0, 0, -(max_x + min_x) / (max_x - min_x)],
             [0, 2 sy / (max_y - min_y), 0, -(max_y + min_y) / (max_y - min_y)],
             [0, 0, sz / (zfar - znear),   -znear / (zfar - znear)],
             [0, 0, 0,                      1]]

    Args:
        znear, zfar: near / far clipping distances, numbers or (N,).
        max_y, min_y, max_x, min_x: the box's extent in view units, numbers or (N,).
        scale_xyz: (N, 3) extra per-axis scale factors.
        R: (N, 3, 3) world → view rotations.
        T: (N, 3) world → view translations.
        K: optional (N, 4, 4) projection matrices (column-vector form).
        device: device of the parameters.
    """

    _FIELDS = ("K", "znear", "zfar", "R", "T", "max_y", "min_y", "max_x", "min_x", "scale_xyz")

    def __init__(
        self,
        znear: BatchFloat = 1.0,
        zfar: BatchFloat = 100.0,
        max_y: BatchFloat = 1.0,
        min_y: BatchFloat = -1.0,
        max_x: BatchFloat = 1.0,
        min_x: BatchFloat = -1.0,
        scale_xyz: Any = ((1.0, 1.0, 1.0),),
        R: torch.Tensor = _R,
        T: torch.Tensor = _T,
        K: torch.Tensor | None = None,
        device: Device = "cpu",
    ) -> None:
        super().__init__(
            device=device,
            znear=znear,
            zfar=zfar,
            max_y=max_y,
            min_y=min_y,
            max_x=max_x,
            min_x=min_x,
            scale_xyz=scale_xyz,
            R=R,
            T=T,
            K=K,
        )

    def compute_projection_matrix(
        self, znear: Any, zfar: Any, max_x: Any, min_x: Any, max_y: Any, min_y: Any, scale_xyz: Any
    ) -> torch.Tensor:
        """The projection matrices ``K`` (column-vector form, see the class docstring).

        Returns:
            ``(N, 4, 4)`` matrices.
        """
        znear, zfar = self._batch_param(znear, "znear"), self._batch_param(zfar, "zfar")
        max_x, min_x = self._batch_param(max_x, "max_x"), self._batch_param(min_x, "min_x")
        max_y, min_y = self._batch_param(max_y, "max_y"), self._batch_param(min_y, "min_y")
        sx, sy, sz = self._batch_param(scale_xyz, "scale_xyz", width=3).unbind(1)
        width, height, depth = max_x - min_x, max_y - min_y, zfar - znear
        zero, one = torch.zeros_like(znear), torch.ones_like(znear)
        return _matrix_from_entries(
            [
                [2.0 * sx / width, zero, zero, -(max_x + min_x) / width],
                [zero, 2.0 * sy / height, zero, -(max_y + min_y) / height],
                [zero, zero, sz / depth, -znear / depth],
                [zero, zero, zero, one],
            ]
        )

    def get_projection_transform(self, **kwargs: Any) -> Transform3d:
        """The view → NDC orthographic projection.

        Args:
            **kwargs: ``K``, ``znear``, ``zfar``, ``max_x``, ``min_x``, ``max_y``, ``min_y``,
                ``scale_xyz`` to use instead of the stored values.

        Returns:
            A :class:`Transform3d` with matrices ``K^T``.
        """
        K = _projection_or_given(self, kwargs)
        if K is None:
            K = self.compute_projection_matrix(
                *(
                    kwargs.get(name, getattr(self, name))
                    for name in ("znear", "zfar", "max_x", "min_x", "max_y", "min_y", "scale_xyz")
                )
            )
        return Transform3d(matrix=K.transpose(1, 2).contiguous())

    def unproject_points(
        self,
        xy_depth: torch.Tensor,
        world_coordinates: bool = True,
        scaled_depth_input: bool = False,
        **kwargs: Any,
    ) -> torch.Tensor:
        """Lift NDC ``(x, y)`` plus a depth back to 3D.

        Args:
            xy_depth: ``(P, 3)`` or ``(N, P, 3)``: NDC x, y and a depth.
            world_coordinates: return world points (``True``) or view points (``False``).
            scaled_depth_input: the depth is the NDC depth (``True``) or view z (``False``).
            **kwargs: camera parameters overriding the stored ones.

        Returns:
            ``(N, P, 3)`` (or ``(P, 3)``) points in world or view coordinates.
        """
        xy_depth = self._prepare_points(
            xy_depth, "unproject_points", "xy_depth", "xy_depth (x, y, depth) values"
        )
        if not scaled_depth_input:
            matrix = self.get_projection_transform(**kwargs).get_matrix()
            scale_z, offset_z = matrix[:, 2, 2].view(-1, 1, 1), matrix[:, 3, 2].view(-1, 1, 1)
            xy_depth = _replace_depth(xy_depth, lambda z: scale_z * z + offset_z)
        return _unproject(self, xy_depth, world_coordinates, kwargs)

    def is_perspective(self) -> bool:
        return False

    def in_ndc(self) -> bool:
        return True


# =========================================================================== SfM cameras


class _SfMCameras(CamerasBase):
    """Shared code of the focal-length / principal-point cameras."""

    _FIELDS = ("K", "R", "T", "focal_length", "principal_point", "_in_ndc", "image_size")
    _SHARED_FIELDS = ("_in_ndc",)
    _ORTHOGRAPHIC = False

    def __init__(
        self,
        focal_length: Any = 1.0,
        principal_point: Any = ((0.0, 0.0),),
        R: torch.Tensor = _R,
        T: torch.Tensor = _T,
        K: torch.Tensor | None = None,
        device: Device = "cpu",
        in_ndc: bool = True,
        image_size: Any = None,
    ) -> None:
        extra = {"image_size": image_size} if image_size is not None else {}
        super().__init__(
            device=device,
            focal_length=focal_length,
            principal_point=principal_point,
            R=R,
            T=T,
            K=K,
            _in_ndc=bool(in_ndc),
            **extra,
        )
        if image_size is not None:
            if bool((self.image_size < 1).any()):
                raise ValueError(
                    f"{type(self).__name__}: image_size must be positive (height, width); "
                    f"got {self.image_size.tolist()}"
                )
        else:
            self.image_size = None
        # One focal length per camera means square pixels: store (N, 2) either way.
        if self.focal_length.dim() == 1:
            self.focal_length = self.focal_length[:, None]
        self.focal_length = self.focal_length.expand(-1, 2)

    def _calibration(self, focal_length: Any, principal_point: Any) -> torch.Tensor:
        """The ``(N, 4, 4)`` calibration matrix ``K`` (column-vector form)."""
        focal = format_tensor(focal_length, dtype=self._dtype, device=self.device).to(self._dtype)
        if focal.dim() == 2 and focal.shape[1] == 2:
            fx, fy = (self._batch_param(f, "focal_length") for f in focal.unbind(1))
        else:
            fx = fy = self._batch_param(focal.reshape(-1), "focal_length")
        principal = format_tensor(principal_point, dtype=self._dtype, device=self.device)
        if principal.dim() == 3 and tuple(principal.shape[1:]) == (2, 1):
            principal = principal[..., 0]  # a column (px, py) per camera
        px, py = self._batch_param(principal, "principal_point", width=2).unbind(1)
        zero, one = torch.zeros_like(fx), torch.ones_like(fx)
        if self._ORTHOGRAPHIC:
            rows = [[fx, zero, zero, px], [zero, fy, zero, py], [zero, zero, one, zero]]
            rows.append([zero, zero, zero, one])
        else:
            # The third output is 1 (the w row is z), so the depth becomes 1 / z.
            rows = [[fx, zero, px, zero], [zero, fy, py, zero], [zero, zero, zero, one]]
            rows.append([zero, zero, one, zero])
        return _matrix_from_entries(rows)

    def get_projection_transform(self, **kwargs: Any) -> Transform3d:
        """The view → NDC (or screen, when ``in_ndc=False``) projection.

        Args:
            **kwargs: ``K``, ``focal_length``, ``principal_point`` to use instead of the
                stored values.

        Returns:
            A :class:`Transform3d` with matrices ``K^T`` (row-vector convention).
        """
        K = _projection_or_given(self, kwargs)
        if K is None:
            K = self._calibration(
                kwargs.get("focal_length", self.focal_length),
                kwargs.get("principal_point", self.principal_point),
            )
        return Transform3d(matrix=K.transpose(1, 2).contiguous())

    def get_principal_point(self, **kwargs: Any) -> torch.Tensor:
        """The principal points ``(N, 2)`` read from the projection matrices."""
        matrix = self.get_projection_transform(**kwargs).get_matrix()
        return matrix[:, 3 if self._ORTHOGRAPHIC else 2, :2]

    def get_ndc_camera_transform(self, **kwargs: Any) -> Transform3d:
        """The transform from the camera's projection space to PyTorch3D's NDC.

        The identity when ``in_ndc``. Otherwise the principal point, given in image
        coordinates (+x right, +y down), is moved to the other side (the projected points
        follow PyTorch3D's +X left, +Y up), then ``[0, W] x [0, H]`` is rescaled to NDC.
        Depth is unchanged.

        Args:
            **kwargs: ``image_size`` and camera parameters overriding the stored ones.

        Returns:
            A :class:`Transform3d`.
        """
        if self.in_ndc():
            return Transform3d(device=self.device, dtype=self._dtype)
        principal = self.get_principal_point(**kwargs)
        fix = Translate(
            -2.0 * principal[:, 0],
            -2.0 * principal[:, 1],
            torch.zeros_like(principal[:, 0]),
            dtype=self._dtype,
            device=self.device,
        )
        image_size = kwargs.get("image_size", self.get_image_size())
        return fix.compose(
            get_screen_to_ndc_transform(self, with_xyflip=False, image_size=image_size)
        )

    def unproject_points(
        self,
        xy_depth: torch.Tensor,
        world_coordinates: bool = True,
        from_ndc: bool = False,
        **kwargs: Any,
    ) -> torch.Tensor:
        """Lift ``(x, y)`` in the camera's projection space plus a view depth back to 3D.

        Args:
            xy_depth: ``(P, 3)`` or ``(N, P, 3)``: x, y as :meth:`transform_points` returns
                them (NDC, or screen units when ``in_ndc=False``) and the view-space depth z.
            world_coordinates: return world points (``True``) or view points (``False``).
            from_ndc: x, y are in NDC even though the camera is defined in screen space.
            **kwargs: camera parameters overriding the stored ones.

        Returns:
            ``(N, P, 3)`` (or ``(P, 3)``) points in world or view coordinates.
        """
        xy_depth = self._prepare_points(
            xy_depth, "unproject_points", "xy_depth", "xy_depth (x, y, depth) values"
        )
        if not self._ORTHOGRAPHIC:
            xy_depth = _replace_depth(xy_depth, lambda z: 1.0 / z)
        return _unproject(self, xy_depth, world_coordinates, kwargs, from_ndc=from_ndc)

    def is_perspective(self) -> bool:
        return not self._ORTHOGRAPHIC

    def in_ndc(self) -> bool:
        return self._in_ndc


class PerspectiveCameras(_SfMCameras):
    """Pinhole cameras given by focal length and principal point (SfM / OpenCV style).

    Projection of a view point ``(x, y, z)``::

        x' = fx * x / z + px,   y' = fy * y / z + py,   depth' = 1 / z

    With ``in_ndc=True`` (default) the parameters and results are in NDC units. With
    ``in_ndc=False`` they are in pixels: ``focal_length`` in pixels, ``principal_point``
    in image coordinates (+x right, +y down) and ``image_size`` (H, W) is needed for
    :meth:`transform_points_ndc` / :meth:`transform_points_screen`.

    Args:
        focal_length: number, (N,), (N, 1) or (N, 2) ``(fx, fy)``.
        principal_point: (N, 2) ``(px, py)`` (or ``(N, 2, 1)``, stored as given).
        R: (N, 3, 3) world → view rotations.
        T: (N, 3) world → view translations.
        K: optional (N, 4, 4) projection matrices (column-vector form).
        device: device of the parameters.
        in_ndc: whether the parameters are in NDC (``True``) or in pixels (``False``).
        image_size: ((H, W),) or (N, 2), for screen-space cameras.
    """

    _ORTHOGRAPHIC = False


class OrthographicCameras(_SfMCameras):
    """Orthographic cameras given by focal length (scale) and principal point.

    Projection of a view point ``(x, y, z)``::

        x' = fx * x + px,   y' = fy * y + py,   depth' = z

    Parameters as for :class:`PerspectiveCameras` (NDC units by default, pixels with
    ``in_ndc=False`` and an ``image_size``).
    """

    _ORTHOGRAPHIC = True


# =========================================================================== shared steps


def _projection_or_given(cameras: CamerasBase, kwargs: dict[str, Any]) -> torch.Tensor | None:
    """A user-given ``K`` (kwarg or stored), checked to be (N, 4, 4), or None."""
    K = kwargs.get("K", getattr(cameras, "K", None))
    if K is None:
        return None
    if not torch.is_tensor(K) or tuple(K.shape) != (len(cameras), 4, 4):
        got = tuple(K.shape) if torch.is_tensor(K) else type(K).__name__
        raise ValueError(f"Expected K to have shape of ({len(cameras)}, 4, 4); got {got}")
    return K.to(device=cameras.device, dtype=cameras._dtype)


def _replace_depth(xy_depth: torch.Tensor, new_depth: Any) -> torch.Tensor:
    """Replace the depth of ``xy_depth`` by ``new_depth(depth)``.

    ``xy_depth`` (P, 3) or (B, P, 3) is handled as (B, P, 3), so ``new_depth`` gets a
    ``(B, P, 1)`` depth and may combine it with per-camera ``(N, 1, 1)`` tensors; the
    result then has batch ``max(B, N)`` (squeezed back to (P, 3) for a single camera).
    """
    batched = xy_depth if xy_depth.dim() == 3 else xy_depth[None]
    depth = new_depth(batched[..., 2:3])
    xy = batched[..., :2].expand(depth.shape[0], -1, -1)
    out = torch.cat((xy, depth), dim=-1)
    return out if xy_depth.dim() == 3 or out.shape[0] > 1 else out[0]


def _unproject(
    cameras: CamerasBase,
    xy_depth: torch.Tensor,
    world_coordinates: bool,
    kwargs: dict[str, Any],
    from_ndc: bool = False,
) -> torch.Tensor:
    """Invert the (full or view→projection) transform on points already in projection space."""
    if world_coordinates:
        forward = cameras.get_full_projection_transform(**kwargs)
    else:
        forward = cameras.get_projection_transform(**kwargs)
    if from_ndc:
        forward = forward.compose(cameras.get_ndc_camera_transform(**kwargs))
    return forward.inverse().transform_points(xy_depth)


# =========================================================================== NDC <-> screen


def get_ndc_to_screen_transform(
    cameras: CamerasBase,
    with_xyflip: bool = False,
    image_size: Any = None,
) -> Transform3d:
    """The transform from PyTorch3D NDC to screen (pixel) coordinates.

    NDC is scaled by ``min(H, W) / 2`` (the shorter side spans [-1, 1]) and shifted so that
    NDC ``(0, 0)`` lands on the image centre ``(W / 2, H / 2)``. With ``with_xyflip`` the x
    and y axes are flipped, giving image coordinates (origin top-left, +x right, +y down):
    ``x_screen = W/2 - x_ndc * min(H, W)/2``, ``y_screen = H/2 - y_ndc * min(H, W)/2``.
    Depth is unchanged.

    Args:
        cameras: the cameras (for the batch size, dtype and device).
        with_xyflip: flip x and y (see above).
        image_size: (H, W), ((H, W),) or an (N, 2) tensor.

    Returns:
        A :class:`Transform3d` of ``len(cameras)`` transforms.
    """
    if image_size is None:
        raise ValueError(
            "For NDC to screen conversion, image_size=(height, width) needs to be specified."
        )
    dtype, device, n = cameras._dtype, cameras.device, len(cameras)
    size = torch.as_tensor(image_size, device=device).to(dtype).reshape(-1, 2)
    if size.shape[0] not in (1, n):
        raise ValueError(f"image_size has {size.shape[0]} rows; expected 1 or {n} (one per camera)")
    size = size.expand(n, 2)
    height, width = size.unbind(1)
    sign = -1.0 if with_xyflip else 1.0
    scale = sign * size.min(dim=1).values / 2.0
    zero, one = torch.zeros_like(height), torch.ones_like(height)
    # Row-vector matrix: diagonal scales, offsets in the last row.
    matrix = _matrix_from_entries(
        [
            [scale, zero, zero, zero],
            [zero, scale, zero, zero],
            [zero, zero, one, zero],
            [-sign * width / 2.0, -sign * height / 2.0, zero, one],
        ]
    )
    return Transform3d(matrix=matrix)


def get_screen_to_ndc_transform(
    cameras: CamerasBase,
    with_xyflip: bool = False,
    image_size: Any = None,
) -> Transform3d:
    """The inverse of :func:`get_ndc_to_screen_transform` (screen → PyTorch3D NDC).

    Args:
        cameras: the cameras (for the batch size, dtype and device).
        with_xyflip: flip x and y.
        image_size: (H, W), ((H, W),) or an (N, 2) tensor.

    Returns:
        A :class:`Transform3d`.
    """
    return get_ndc_to_screen_transform(
        cameras, with_xyflip=with_xyflip, image_size=image_size
    ).inverse()


# =========================================================================== world -> view


def get_world_to_view_transform(R: torch.Tensor = _R, T: torch.Tensor = _T) -> Transform3d:
    """The world → view transform ``X_view = X_world @ R + T`` (row vectors).

    Args:
        R: (N, 3, 3) rotations.
        T: (N, 3) translations (same N as ``R``).

    Returns:
        A :class:`Transform3d`: ``Rotate(R)`` then ``Translate(T)``, in ``R``'s dtype.
    """
    if not torch.is_tensor(R) or R.dim() != 3 or R.shape[1:] != (3, 3):
        got = tuple(R.shape) if torch.is_tensor(R) else type(R).__name__
        raise ValueError(f"Expected R to have shape (N, 3, 3); got {got}")
    if not torch.is_tensor(T) or T.dim() != 2 or T.shape[1:] != (3,):
        got = tuple(T.shape) if torch.is_tensor(T) else type(T).__name__
        raise ValueError(f"Expected T to have shape (N, 3); got {got}")
    if T.shape[0] != R.shape[0]:
        raise ValueError(
            f"Expected R, T to have the same batch dimension; got {R.shape[0]}, {T.shape[0]}"
        )
    dtype = R.dtype if R.is_floating_point() else torch.float32
    rotate = Rotate(R, dtype=dtype, device=R.device)
    return rotate.compose(Translate(T, dtype=dtype, device=R.device))


# --- PyTorch3D's deprecated constructors, kept for code written against older versions ---
def _deprecated(old: str, new: str) -> None:
    warnings.warn(
        f"{old} has been deprecated in PyTorch3D; use {new} instead.",
        PendingDeprecationWarning,
        stacklevel=3,
    )


def OpenGLPerspectiveCameras(  # noqa: N802 - PyTorch3D's name
    znear: BatchFloat = 1.0,
    zfar: BatchFloat = 100.0,
    aspect_ratio: BatchFloat = 1.0,
    fov: BatchFloat = 60.0,
    degrees: bool = True,
    R: torch.Tensor = _R,  # noqa: N803
    T: torch.Tensor = _T,  # noqa: N803
    device: Device = "cpu",
) -> FoVPerspectiveCameras:
    """Deprecated alias: a :class:`FoVPerspectiveCameras` with the same arguments."""
    _deprecated("OpenGLPerspectiveCameras", "FoVPerspectiveCameras")
    return FoVPerspectiveCameras(
        znear=znear, zfar=zfar, aspect_ratio=aspect_ratio, fov=fov, degrees=degrees,
        R=R, T=T, device=device,
    )  # fmt: skip


def OpenGLOrthographicCameras(  # noqa: N802 - PyTorch3D's name
    znear: BatchFloat = 1.0,
    zfar: BatchFloat = 100.0,
    top: BatchFloat = 1.0,
    bottom: BatchFloat = -1.0,
    left: BatchFloat = -1.0,
    right: BatchFloat = 1.0,
    scale_xyz: Any = ((1.0, 1.0, 1.0),),
    R: torch.Tensor = _R,  # noqa: N803
    T: torch.Tensor = _T,  # noqa: N803
    device: Device = "cpu",
) -> FoVOrthographicCameras:
    """Deprecated alias: :class:`FoVOrthographicCameras`.

    ``top``/``bottom``/``left``/``right`` become ``max_y``/``min_y``/``min_x``/``max_x``.
    """
    _deprecated("OpenGLOrthographicCameras", "FoVOrthographicCameras")
    return FoVOrthographicCameras(
        znear=znear, zfar=zfar, max_y=top, min_y=bottom, max_x=right, min_x=left,
        scale_xyz=scale_xyz, R=R, T=T, device=device,
    )  # fmt: skip


def SfMPerspectiveCameras(  # noqa: N802 - PyTorch3D's name
    focal_length: Any = 1.0,
    principal_point: Any = ((0.0, 0.0),),
    R: torch.Tensor = _R,  # noqa: N803
    T: torch.Tensor = _T,  # noqa: N803
    device: Device = "cpu",
) -> PerspectiveCameras:
    """Deprecated alias: a :class:`PerspectiveCameras` in NDC."""
    _deprecated("SfMPerspectiveCameras", "PerspectiveCameras")
    return PerspectiveCameras(
        focal_length=focal_length, principal_point=principal_point, R=R, T=T, device=device
    )


def SfMOrthographicCameras(  # noqa: N802 - PyTorch3D's name
    focal_length: Any = 1.0,
    principal_point: Any = ((0.0, 0.0),),
    R: torch.Tensor = _R,  # noqa: N803
    T: torch.Tensor = _T,  # noqa: N803
    device: Device = "cpu",
) -> OrthographicCameras:
    """Deprecated alias: an :class:`OrthographicCameras` in NDC."""
    _deprecated("SfMOrthographicCameras", "OrthographicCameras")
    return OrthographicCameras(
        focal_length=focal_length, principal_point=principal_point, R=R, T=T, device=device
    )


# PyTorch3D defines the look-at helpers in ``renderer.cameras``; the built-in backend keeps
# them in ``look_at`` (which needs nothing from this module) and re-exports them here.
from course_utils.p3d.builtin.renderer.look_at import (  # noqa: E402, F401
    camera_position_from_spherical_angles,
    look_at_rotation,
    look_at_view_transform,
)
