"""``pytorch3d.renderer.camera_utils``: moving cameras around and batching them.

==========================  ==========================================================
``camera_to_eye_at_up``     world-to-view transform -> the ``eye, at, up`` of look-at
``rotate_on_spot``          turn a camera ``(R, T)`` about its own centre
``join_cameras_as_batch``   several camera objects of one class -> one batched object
==========================  ==========================================================

Conventions as everywhere in the renderer: row vectors, ``X_view = X_world @ R + T``;
in view space the camera sits at the origin, looks along +Z, +Y is up.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from course_utils.p3d.builtin.renderer.cameras import CamerasBase
from course_utils.p3d.builtin.transforms import Transform3d

__all__ = ["camera_to_eye_at_up", "join_cameras_as_batch", "rotate_on_spot"]


def camera_to_eye_at_up(
    world_to_view_transform: Transform3d,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Recover look-at parameters from N world-to-view transforms.

    ``look_at_view_transform(eye=eye, at=at, up=up)`` gives back the same ``R, T``.

    Returns:
        eye: ``(N, 3)`` camera centres in world space;
        at: ``(N, 3)`` the world point one unit in front of each camera;
        up: ``(N, 3)`` world direction of each camera's +Y axis.
    """
    view_to_world = world_to_view_transform.inverse()
    # Three view-space points: the centre, one unit ahead (+Z) and one unit up (+Y).
    # ``up`` is a direction, so it is recovered as (centre + up) - centre.
    points = torch.tensor(
        [[0.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]], device=view_to_world.device
    )
    world = view_to_world.transform_points(points).reshape(-1, 3, 3)
    eye, at, eye_plus_up = world.unbind(1)
    return eye, at, eye_plus_up - eye


def rotate_on_spot(
    R: torch.Tensor,  # noqa: N803 - PyTorch3D's argument names
    T: torch.Tensor,  # noqa: N803
    rotation: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Turn cameras ``(R, T)`` on the spot: same centre, view rotated by ``rotation``.

    The new world-to-view rotation is the old one followed by the inverse of
    ``rotation`` (a column-convention matrix, as :func:`axis_angle_to_matrix` returns):
    a rotation about +Y by a small angle turns the camera to its right.

    Args:
        R: ``(3, 3)`` or ``(N, 3, 3)``; T: ``(3,)`` or ``(N, 3)``;
        rotation: ``(3, 3)`` or ``(n, 3, 3)`` (N and n equal, or one of them 1).

    Returns:
        ``R`` of shape ``(max(N, n), 3, 3)`` and ``T`` of shape ``(max(N, n), 3)``.
    """
    R = R[None] if R.ndim == 2 else R  # noqa: N806
    T = T[None] if T.ndim == 1 else T  # noqa: N806
    rotation = rotation[None] if rotation.ndim == 2 else rotation
    if R.ndim != 3 or R.shape[1:] != (3, 3):
        raise ValueError(f"rotate_on_spot: R must have shape (N, 3, 3), got {tuple(R.shape)}")
    if T.ndim != 2 or T.shape[1] != 3:
        raise ValueError(f"rotate_on_spot: T must have shape (N, 3), got {tuple(T.shape)}")
    if rotation.ndim != 3 or rotation.shape[1:] != (3, 3):
        raise ValueError(
            f"rotate_on_spot: rotation must have shape (n, 3, 3), got {tuple(rotation.shape)}"
        )
    new_r = R @ rotation.transpose(1, 2)
    # The centre C = -T R^T must not move: new T = -C new_R = T R^T new_R.
    centre_term = (R @ T[:, :, None])[:, :, 0]  # (N, 3) = T R^T as rows
    new_t = (centre_term[:, None, :] @ new_r)[:, 0, :]
    return new_r, new_t


def join_cameras_as_batch(cameras_list: Sequence[CamerasBase]) -> CamerasBase:
    """Concatenate camera objects of one class (on one device) into one batch.

    Every tensor parameter is concatenated along the batch dimension; shared settings
    (e.g. ``degrees``, ``in_ndc``) must be equal in all inputs.
    """
    if len(cameras_list) == 0:
        raise ValueError("join_cameras_as_batch needs at least one camera object")
    if not all(isinstance(c, CamerasBase) for c in cameras_list):
        raise ValueError("cameras in cameras_list must inherit from CamerasBase")
    first = cameras_list[0]
    if not all(type(c) is type(first) for c in cameras_list[1:]):
        raise ValueError("All cameras must be of the same type")
    if not all(c.device == first.device for c in cameras_list[1:]):
        raise ValueError("All cameras in the batch must be on the same device")
    kwargs = {"device": first.device}
    for field in first._FIELDS:
        values = [getattr(c, field, None) for c in cameras_list]
        present = [v is not None for v in values]
        if not any(present):
            continue
        if not all(present):
            raise ValueError(f"Attribute {field} is inconsistently present")
        if field in first._SHARED_FIELDS:
            if not all(v == values[0] for v in values):
                raise ValueError(f"Attribute {field} is not constant across inputs")
            kwargs[field.lstrip("_")] = values[0]
        elif torch.is_tensor(values[0]):
            kwargs[field] = torch.cat(values, dim=0)
        else:
            raise ValueError(f"Field {field} type is not supported for batching")
    return type(first)(**kwargs)
