"""Placing cameras: ``look_at_view_transform`` and the helpers behind it.

A camera that looks at a point is described by where it is (``eye``, or spherical angles
around ``at``: distance, elevation, azimuth) and which way is up. From those, the view
axes follow: +Z from the camera towards ``at``; +X = up x Z (the camera's left, as in
PyTorch3D's view space); +Y = Z x X. Stacked as columns they form ``R`` for row vectors
(``X_view = X_world @ R + T``), and ``T = -C @ R`` moves the camera centre ``C`` to the
view-space origin.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from course_utils.p3d.builtin.common import Device, convert_to_tensors_and_broadcast
from course_utils.p3d.builtin.renderer.camera_checks import BatchFloat, _check_finite

__all__ = ["camera_position_from_spherical_angles", "look_at_rotation", "look_at_view_transform"]


def _check_rows_of_three(tensor: torch.Tensor, function: str, name: str) -> None:
    """``tensor`` must be (N, 3) and finite."""
    if tensor.dim() != 2 or tensor.shape[1] != 3:
        raise ValueError(
            f"{function}: expected {name} to have shape (N, 3), e.g. {name}=((x, y, z),); "
            f"got shape {tuple(tensor.shape)}"
        )
    _check_finite(tensor, f"{function}: {name}", "positions and directions must be finite")


def camera_position_from_spherical_angles(
    distance: BatchFloat,
    elevation: BatchFloat,
    azimuth: BatchFloat,
    degrees: bool = True,
    device: Device = "cpu",
) -> torch.Tensor:
    """Camera positions on a sphere around the origin.

    ``x = d cos(elev) sin(azim)``, ``y = d sin(elev)``, ``z = d cos(elev) cos(azim)``:
    azimuth turns from +Z towards +X about +Y, elevation lifts from the XZ plane to +Y.

    Args:
        distance: distances, number or (N,).
        elevation: elevation angles, number or (N,).
        azimuth: azimuth angles, number or (N,).
        degrees: whether the angles are in degrees (default) or radians.
        device: device of the result.

    Returns:
        ``(N, 3)`` positions.
    """
    dist, elev, azim = convert_to_tensors_and_broadcast(distance, elevation, azimuth, device=device)
    for tensor, name in ((dist, "distance"), (elev, "elevation"), (azim, "azimuth")):
        _check_finite(
            tensor, f"camera_position_from_spherical_angles: {name}", "angles must be finite"
        )
    if degrees:
        elev = elev * (math.pi / 180.0)
        azim = azim * (math.pi / 180.0)
    horizontal = dist * torch.cos(elev)
    position = torch.stack(
        (horizontal * torch.sin(azim), dist * torch.sin(elev), horizontal * torch.cos(azim)), dim=1
    )
    return position.reshape(-1, 3)


def look_at_rotation(
    camera_position: Any,
    at: Any = ((0, 0, 0),),
    up: Any = ((0, 1, 0),),
    device: Device = "cpu",
) -> torch.Tensor:
    """World → view rotations of cameras at ``camera_position`` looking at ``at``.

    The view axes, as world vectors, are: z from the camera to ``at``; x = up × z (so +X
    is the camera's left); y = z × x. They are the columns of ``R`` (row-vector convention:
    ``X_view = X_world @ R``). If ``up`` is parallel to the viewing direction, x is rebuilt
    from y and z.

    Args:
        camera_position: (N, 3) or (1, 3) camera positions.
        at: (N, 3) or (1, 3) points looked at.
        up: (N, 3) or (1, 3) world up directions.
        device: device of the result.

    Returns:
        ``(N, 3, 3)`` rotations.
    """
    camera_position, at, up = convert_to_tensors_and_broadcast(
        camera_position, at, up, device=device
    )
    for tensor, name in ((camera_position, "camera_position"), (at, "at"), (up, "up")):
        _check_rows_of_three(tensor, "look_at_rotation", name)
    direction = at - camera_position
    if bool((direction.abs().amax(dim=1) == 0).any()):
        raise ValueError(
            "look_at_rotation: a camera position coincides with its `at` point, so the "
            "viewing direction is undefined; move the camera (dist > 0) or the target"
        )
    z_axis = F.normalize(direction, eps=1e-5)
    x_axis = F.normalize(torch.linalg.cross(up, z_axis, dim=1), eps=1e-5)
    y_axis = F.normalize(torch.linalg.cross(z_axis, x_axis, dim=1), eps=1e-5)
    degenerate = (x_axis.abs() <= 5e-3).all(dim=1, keepdim=True)
    if bool(degenerate.any()):
        rebuilt = F.normalize(torch.linalg.cross(y_axis, z_axis, dim=1), eps=1e-5)
        x_axis = torch.where(degenerate, rebuilt, x_axis)
    return torch.stack((x_axis, y_axis, z_axis), dim=2)


def look_at_view_transform(
    dist: BatchFloat = 1.0,
    elev: BatchFloat = 0.0,
    azim: BatchFloat = 0.0,
    degrees: bool = True,
    eye: Any = None,
    at: Any = ((0, 0, 0),),
    up: Any = ((0, 1, 0),),
    device: Device = "cpu",
) -> tuple[torch.Tensor, torch.Tensor]:
    """``R, T`` of cameras looking at ``at``, placed by spherical angles or by ``eye``.

    Args:
        dist: distance from ``at``, number or (N,).
        elev: elevation: angle between the ``at``→camera vector and the XZ plane, number
            or (N,).
        azim: azimuth: angle of that vector's XZ projection from +Z towards +X, number or (N,).
        degrees: whether ``elev`` and ``azim`` are in degrees (default) or radians.
        eye: optional (N, 3) camera positions; overrides ``dist``, ``elev``, ``azim``.
        at: (N, 3) or (1, 3) points looked at.
        up: (N, 3) or (1, 3) world up directions.
        device: device of the results.

    Returns:
        ``R`` (N, 3, 3) and ``T`` (N, 3) with ``X_view = X_world @ R + T``.
    """
    if eye is not None:
        eye, at, up = convert_to_tensors_and_broadcast(eye, at, up, device=device)
        _check_rows_of_three(eye, "look_at_view_transform", "eye")
        center = eye
    else:
        dist, elev, azim, at, up = convert_to_tensors_and_broadcast(
            dist, elev, azim, at, up, device=device
        )
        for tensor, name in ((dist, "dist"), (elev, "elev"), (azim, "azim")):
            _check_finite(tensor, f"look_at_view_transform: {name}", "it must be finite")
        _check_rows_of_three(at, "look_at_view_transform", "at")
        center = (
            camera_position_from_spherical_angles(dist, elev, azim, degrees=degrees, device=device)
            + at
        )
    R = look_at_rotation(center, at, up, device=device)
    # X_view = X_world @ R + T must send the centre to the origin: T = -C @ R.
    T = -(center[:, None, :] @ R)[:, 0, :]
    return R, T
