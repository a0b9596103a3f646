"""Implicit and volume renderers: raysampler -> volumetric function -> raymarcher.

``ImplicitRenderer(raysampler, raymarcher)(cameras, volumetric_function)`` draws rays,
asks ``volumetric_function(ray_bundle=..., cameras=...)`` for per-point opacities
``(B, ..., P, 1)`` and features ``(B, ..., P, C)``, and composites them: it returns
``(images (B, ..., C + 1), ray_bundle)``. ``VolumeRenderer`` does the same with a
``Volumes`` (a voxel grid) sampled trilinearly by :class:`VolumeSampler`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from course_utils.p3d.builtin.renderer.implicit.utils import (
    RayBundle,
    _validate_ray_bundle_variables,
    check_ray_samples,
    ray_bundle_variables_to_ray_points,
)

__all__ = ["ImplicitRenderer", "VolumeRenderer", "VolumeSampler"]

#: Ray points sampled from a grid per ``grid_sample`` call: bounds the temporary memory
#: (a few hundred MB at most for 32 channels) whatever the image size.
POINTS_PER_CHUNK = 1 << 18


class ImplicitRenderer(torch.nn.Module):
    """Render a volumetric function (PyTorch3D's ``ImplicitRenderer``).

    Args:
        raysampler: a callable ``(cameras=..., **kwargs) -> RayBundle``.
        raymarcher: a callable ``(rays_densities=..., rays_features=..., ray_bundle=...)``.
    """

    def __init__(self, raysampler: Callable, raymarcher: Callable) -> None:
        super().__init__()
        if not callable(raysampler):
            raise ValueError('"raysampler" has to be a "Callable" object.')
        if not callable(raymarcher):
            raise ValueError('"raymarcher" has to be a "Callable" object.')
        self.raysampler = raysampler
        self.raymarcher = raymarcher

    def forward(
        self, cameras: Any, volumetric_function: Callable, **kwargs: Any
    ) -> tuple[torch.Tensor, RayBundle]:
        """Returns ``(images, ray_bundle)``; extra kwargs go to all three stages."""
        if not callable(volumetric_function):
            raise ValueError('"volumetric_function" has to be a "Callable" object.')
        ray_bundle = self.raysampler(
            cameras=cameras, volumetric_function=volumetric_function, **kwargs
        )
        rays_densities, rays_features = volumetric_function(
            ray_bundle=ray_bundle, cameras=cameras, **kwargs
        )
        images = self.raymarcher(
            rays_densities=rays_densities,
            rays_features=rays_features,
            ray_bundle=ray_bundle,
            **kwargs,
        )
        return images, ray_bundle


class VolumeRenderer(torch.nn.Module):
    """Render ``Volumes`` (PyTorch3D's ``VolumeRenderer``): an :class:`ImplicitRenderer`
    whose volumetric function is a :class:`VolumeSampler`.

    Args:
        raysampler, raymarcher: as for :class:`ImplicitRenderer`.
        sample_mode: ``"bilinear"`` (trilinear for 3D grids) or ``"nearest"``.
    """

    def __init__(
        self, raysampler: Callable, raymarcher: Callable, sample_mode: str = "bilinear"
    ) -> None:
        super().__init__()
        self.renderer = ImplicitRenderer(raysampler, raymarcher)
        self._sample_mode = sample_mode

    def forward(self, cameras: Any, volumes: Any, **kwargs: Any) -> tuple[torch.Tensor, RayBundle]:
        """Returns ``(images (B, ..., C + 1), ray_bundle)``."""
        volumetric_function = VolumeSampler(volumes, sample_mode=self._sample_mode)
        return self.renderer(cameras=cameras, volumetric_function=volumetric_function, **kwargs)


class VolumeSampler(torch.nn.Module):
    """Sample a batch of ``Volumes`` at the points of a ray bundle.

    Ray origins go to the volume's local coordinates (``[-1, 1]^3`` spans the grid, x along
    W, y along H, z along D, as ``grid_sample`` reads them), directions by the linear part
    of the same map, so the lengths keep their meaning. Points outside the grid read 0
    (``padding_mode="zeros"``) or the border value (``"border"``).

    Args:
        volumes: a ``Volumes`` with the same batch size as the rays it will sample.
        sample_mode: ``"bilinear"`` or ``"nearest"``.
        padding_mode: ``"zeros"``, ``"border"`` or ``"reflection"``.
    """

    def __init__(
        self, volumes: Any, sample_mode: str = "bilinear", padding_mode: str = "zeros"
    ) -> None:
        super().__init__()
        from course_utils.p3d.builtin.structures.volumes import Volumes

        if not isinstance(volumes, Volumes):
            raise ValueError("'volumes' have to be an instance of the 'Volumes' class.")
        self._volumes = volumes
        self._sample_mode = sample_mode
        self._padding_mode = padding_mode

    def _get_ray_directions_transform(self) -> Any:
        """The linear part (no translation) of the world-to-local transform."""
        from course_utils.p3d.builtin.transforms import Transform3d

        world2local = self._volumes.get_world_to_local_coords_transform().get_matrix()
        matrix = torch.eye(4, dtype=world2local.dtype, device=world2local.device).repeat(
            world2local.shape[0], 1, 1
        )
        matrix[:, :3, :3] = world2local[:, :3, :3]
        return Transform3d(matrix=matrix, device=world2local.device)

    def _sample(self, grid: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        """``grid`` ``(B, C, D, H, W)`` at ``points`` ``(B, n, 3)`` -> ``(B, n, C)``, chunked."""
        out = []
        for start in range(0, points.shape[1], POINTS_PER_CHUNK):
            chunk = points[:, start : start + POINTS_PER_CHUNK, None, None]  # (B, n, 1, 1, 3)
            sampled = torch.nn.functional.grid_sample(
                grid,
                chunk,
                mode=self._sample_mode,
                padding_mode=self._padding_mode,
                align_corners=self._volumes.get_align_corners(),
            )  # (B, C, n, 1, 1)
            out.append(sampled[..., 0, 0].transpose(1, 2))
        return torch.cat(out, dim=1)

    def forward(self, ray_bundle: RayBundle, **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns ``(rays_densities (B, ..., P, density_dim), rays_features (B, ..., P,
        feature_dim))``; with no features, ``rays_features`` has 0 channels."""
        origins, directions, lengths = ray_bundle.origins, ray_bundle.directions, ray_bundle.lengths
        _validate_ray_bundle_variables(origins, directions, lengths)
        if self._volumes.densities().shape[0] != origins.shape[0]:
            raise ValueError(
                "Input volumes have to have the same batch size as rays: "
                f"{self._volumes.densities().shape[0]} volumes, {origins.shape[0]} cameras"
            )
        densities, features = self._volumes.densities(), self._volumes.features()
        channels = densities.shape[1] + (0 if features is None else features.shape[1])
        # The sampling itself is chunked (POINTS_PER_CHUNK); its outputs, the local points
        # and the samples per channel, are whole tensors: check them before allocating.
        check_ray_samples("VolumeSampler", tuple(lengths.shape), 3 + channels)
        batch = lengths.shape[0]
        origins_local = self._volumes.world_to_local_coords(origins)
        directions_local = (
            self._get_ray_directions_transform()
            .transform_points(directions.reshape(batch, -1, 3))
            .reshape(directions.shape)
        )
        points = ray_bundle_variables_to_ray_points(origins_local, directions_local, lengths)
        flat = points.reshape(batch, -1, 3)
        rays_densities = self._sample(densities, flat).reshape(
            *points.shape[:-1], densities.shape[1]
        )
        if features is None:
            rays_features = rays_densities[..., :0]
        else:
            rays_features = self._sample(features, flat).reshape(
                *points.shape[:-1], features.shape[1]
            )
        return rays_densities, rays_features
