"""Lights: how much light reaches a surface point, and how much bounces to the camera.

The Phong reflection model splits the light leaving a point into three terms:

* **ambient** — a constant, direction-free light ("light bounced around the room"), so
  that surfaces facing away from every light are not pitch black;
* **diffuse** (Lambert) — a matte surface scatters light equally in all directions, with
  a strength proportional to the cosine between the surface normal ``n`` and the unit
  direction ``l`` towards the light: ``color * max(n . l, 0)``;
* **specular** — a shiny highlight. The light direction mirrored about the normal is
  ``r = 2 (n . l) n - l``; the highlight is brightest when ``r`` points at the camera:
  ``color * max(r . v, 0) ** shininess`` with ``v`` the unit direction to the camera
  (none when the light is behind the surface, ``n . l <= 0``). A large ``shininess``
  gives a small, sharp highlight.

The light classes hold a *batch* of N lights (one per image; see
:class:`~course_utils.p3d.builtin.renderer.utils.TensorProperties`) with PyTorch3D's
defaults: ambient 0.5, diffuse 0.3, specular 0.2 (grey). ``PointLights`` shine from a
``location``; ``DirectionalLights`` from a fixed ``direction`` (a light infinitely far
away, like the sun); ``AmbientLights`` only have the ambient term.

Shapes: the shaders call ``diffuse`` / ``specular`` with per-pixel tensors
``(N, H, W, K, 3)`` (K faces per pixel) or with packed per-vertex tensors ``(P, 3)``;
a light's ``(N, 3)`` parameters are reshaped to ``(N, 1, 1, 1, 3)`` to broadcast over
the pixels (or broadcast from ``(1, 3)`` to ``(P, 3)``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from course_utils.p3d.builtin.common import Device, convert_to_tensors_and_broadcast
from course_utils.p3d.builtin.renderer.utils import TensorProperties, per_batch_view

__all__ = ["AmbientLights", "DirectionalLights", "PointLights", "diffuse", "specular"]

#: A colour or vector per light: ``(r, g, b)``, ``((r, g, b), ...)`` or a ``(N, 3)`` tensor.
ColorLike = tuple | list | torch.Tensor


def diffuse(normals: torch.Tensor, color: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
    """Lambertian (diffuse) reflection: ``color * max(n . l, 0)``.

    Both vectors are renormalised first (interpolated normals are not unit length).

    Args:
        normals: ``(N, ..., 3)`` or packed ``(P, 3)`` surface normals.
        color: ``(N, C)`` or ``(1, C)`` diffuse colour of the light (C = 3 for RGB).
        direction: direction *towards* the light, ``(N, 3)`` / ``(1, 3)`` for one
            direction per light, or the shape of ``normals`` for one per point.

    Returns:
        ``(N, ..., C)`` diffuse light reaching each point.
    """
    normals, color, direction = convert_to_tensors_and_broadcast(
        normals, color, direction, device=normals.device
    )
    color = per_batch_view(color, normals)
    direction = per_batch_view(direction, normals)
    normals = F.normalize(normals, p=2, dim=-1, eps=1e-6)
    direction = F.normalize(direction, p=2, dim=-1, eps=1e-6)
    cos_angle = torch.relu((normals * direction).sum(dim=-1))
    return color * cos_angle[..., None]


def specular(
    points: torch.Tensor,
    normals: torch.Tensor,
    direction: torch.Tensor,
    color: torch.Tensor,
    camera_position: torch.Tensor,
    shininess: torch.Tensor,
) -> torch.Tensor:
    """Phong specular highlight: ``color * max(r . v, 0) ** shininess``.

    ``r = 2 (n . l) n - l`` is the unit light direction ``l`` mirrored about the normal
    ``n``, and ``v`` the unit direction from the point to the camera. Points whose normal
    faces away from the light (``n . l <= 0``) get no highlight.

    Args:
        points: ``(N, ..., 3)`` or packed ``(P, 3)`` world positions.
        normals: surface normals, same shape as ``points``.
        direction: direction *towards* the light: ``(N, 3)`` / ``(1, 3)`` or the shape
            of ``points``.
        color: ``(N, C)`` or ``(1, C)`` specular colour of the light.
        camera_position: ``(N, 3)`` or ``(1, 3)`` camera centres in world coordinates
            (or the shape of ``points``).
        shininess: ``(N,)`` or ``(1,)`` Phong exponents.

    Returns:
        ``(N, ..., C)`` specular light reflected towards the camera.

    Raises:
        ValueError: if ``points`` and ``normals`` have different shapes.
    """
    if points.shape != normals.shape:
        raise ValueError(
            "specular: points and normals must have the same shape; got "
            f"{tuple(points.shape)} and {tuple(normals.shape)}"
        )
    _, color, direction, camera_position, shininess = convert_to_tensors_and_broadcast(
        points, color, direction, camera_position, shininess, device=points.device
    )
    color = per_batch_view(color, points)
    direction = per_batch_view(direction, points)
    camera_position = per_batch_view(camera_position, points)
    shininess = per_batch_view(shininess, points, channels=False)

    normals = F.normalize(normals, p=2, dim=-1, eps=1e-6)
    direction = F.normalize(direction, p=2, dim=-1, eps=1e-6)
    cos_angle = (normals * direction).sum(dim=-1)
    lit = (cos_angle > 0).to(cos_angle.dtype)  # no highlight from a light behind the surface
    view_direction = F.normalize(camera_position - points, p=2, dim=-1, eps=1e-6)
    reflect_direction = 2 * cos_angle[..., None] * normals - direction
    alignment = torch.relu((view_direction * reflect_direction).sum(dim=-1)) * lit
    return color * torch.pow(alignment, shininess)[..., None]


def _check_colors(lights: TensorProperties, names: tuple[str, ...]) -> None:
    """Colours must be ``(N, 3)`` (RGB); PyTorch3D's lights are RGB only."""
    for name in names:
        value = getattr(lights, name)
        if value.dim() != 2 or value.shape[-1] != 3:
            raise ValueError(
                f"{type(lights).__name__}: expected {name} to have shape (N, 3); got "
                f"{tuple(value.shape)} (one light is written {name}=((x, y, z),))"
            )


class DirectionalLights(TensorProperties):
    """A batch of lights infinitely far away, shining along one direction (like the sun).

    Args:
        ambient_color: ``(N, 3)`` / ``(1, 3)`` or an RGB triple; default 0.5 grey.
        diffuse_color: as above; default 0.3 grey.
        specular_color: as above; default 0.2 grey.
        direction: ``(N, 3)`` direction *towards* the light (the light shines along
            ``-direction``); default ``(0, 1, 0)``, i.e. from above.
        device: device of the parameters.

    Example:
        >>> lights = DirectionalLights(direction=((0.0, 0.0, -1.0),))
        >>> lights.diffuse(normals=torch.tensor([[0.0, 0.0, -1.0]])).tolist()
        [[0.30000001192092896, 0.30000001192092896, 0.30000001192092896]]
    """

    def __init__(
        self,
        ambient_color: ColorLike = ((0.5, 0.5, 0.5),),
        diffuse_color: ColorLike = ((0.3, 0.3, 0.3),),
        specular_color: ColorLike = ((0.2, 0.2, 0.2),),
        direction: ColorLike = ((0, 1, 0),),
        device: Device = "cpu",
    ) -> None:
        super().__init__(
            device=device,
            ambient_color=ambient_color,
            diffuse_color=diffuse_color,
            specular_color=specular_color,
            direction=direction,
        )
        _check_colors(self, ("ambient_color", "diffuse_color", "specular_color", "direction"))

    def diffuse(self, normals: torch.Tensor, points: torch.Tensor | None = None) -> torch.Tensor:
        """Diffuse light at each point, ``(N, ..., 3)`` (``points`` is not needed)."""
        return diffuse(normals=normals, color=self.diffuse_color, direction=self.direction)

    def specular(
        self,
        normals: torch.Tensor,
        points: torch.Tensor,
        camera_position: torch.Tensor,
        shininess: torch.Tensor,
    ) -> torch.Tensor:
        """Specular light towards ``camera_position`` ``(N, 3)``, ``(N, ..., 3)``."""
        return specular(
            points=points,
            normals=normals,
            direction=self.direction,
            color=self.specular_color,
            camera_position=camera_position,
            shininess=shininess,
        )


class PointLights(TensorProperties):
    """A batch of point lights (a bulb at ``location`` shining in every direction).

    Args:
        ambient_color: ``(N, 3)`` / ``(1, 3)`` or an RGB triple; default 0.5 grey.
        diffuse_color: as above; default 0.3 grey.
        specular_color: as above; default 0.2 grey.
        location: ``(N, 3)`` world position of each light; default ``(0, 1, 0)``.
        device: device of the parameters.

    The light has no fall-off with distance: only the direction ``location - point``
    matters.

    Example:
        >>> lights = PointLights(location=[[0.0, 0.0, -3.0]])
        >>> lights.location.shape, len(lights)
        (torch.Size([1, 3]), 1)
    """

    def __init__(
        self,
        ambient_color: ColorLike = ((0.5, 0.5, 0.5),),
        diffuse_color: ColorLike = ((0.3, 0.3, 0.3),),
        specular_color: ColorLike = ((0.2, 0.2, 0.2),),
        location: ColorLike = ((0, 1, 0),),
        device: Device = "cpu",
    ) -> None:
        super().__init__(
            device=device,
            ambient_color=ambient_color,
            diffuse_color=diffuse_color,
            specular_color=specular_color,
            location=location,
        )
        _check_colors(self, ("ambient_color", "diffuse_color", "specular_color", "location"))

    def reshape_location(self, points: torch.Tensor) -> torch.Tensor:
        """``location`` shaped to broadcast against ``points``.

        Args:
            points: packed ``(P, 3)`` or per-pixel ``(N, H, W, K, 3)`` positions.

        Returns:
            ``(N, 3)`` for packed points, ``(N, 1, 1, 1, 3)`` for pixels.
        """
        if self.location.dim() == points.dim():
            return self.location
        return per_batch_view(self.location, points)

    def diffuse(self, normals: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        """Diffuse light at each point, ``(N, ..., 3)``."""
        direction = self.reshape_location(points) - points
        return diffuse(normals=normals, color=self.diffuse_color, direction=direction)

    def specular(
        self,
        normals: torch.Tensor,
        points: torch.Tensor,
        camera_position: torch.Tensor,
        shininess: torch.Tensor,
    ) -> torch.Tensor:
        """Specular light towards ``camera_position`` ``(N, 3)``, ``(N, ..., 3)``."""
        direction = self.reshape_location(points) - points
        return specular(
            points=points,
            normals=normals,
            direction=direction,
            color=self.specular_color,
            camera_position=camera_position,
            shininess=shininess,
        )


class AmbientLights(TensorProperties):
    """Only ambient light: every point gets ``ambient_color``, whatever its normal.

    Useful to see a texture's colours unshaded. Diffuse and specular terms are zero.

    Args:
        ambient_color: ``(N, C)`` / ``(1, C)`` or a C-tuple; default white ``(1, 1, 1)``.
        device: device of the parameters.
    """

    def __init__(self, *, ambient_color: ColorLike | None = None, device: Device = "cpu") -> None:
        if ambient_color is None:
            ambient_color = ((1.0, 1.0, 1.0),)
        super().__init__(
            device=device, ambient_color=ambient_color, diffuse_color=((0.0, 0.0, 0.0),)
        )

    def _zeros(self, points: torch.Tensor) -> torch.Tensor:
        channels = self.ambient_color.shape[-1]
        return points.new_zeros((*points.shape[:-1], channels))

    def diffuse(self, normals: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        """Zeros of shape ``(*points.shape[:-1], C)``."""
        return self._zeros(points)

    def specular(
        self,
        normals: torch.Tensor,
        points: torch.Tensor,
        camera_position: torch.Tensor,
        shininess: torch.Tensor,
    ) -> torch.Tensor:
        """Zeros of shape ``(*points.shape[:-1], C)``."""
        return self._zeros(points)
