"""Ray bundles: the rays a raysampler emits and the 3D points along them.

A ray ``r`` is ``origin + length * direction``. As in PyTorch3D, ``lengths`` are *not*
Euclidean distances unless the directions have unit norm: the raysamplers make each
direction's view-space z component 1 (``unit_directions=False``), so a length is the
view-space depth of its point, the same quantity as a rasterizer's ``zbuf``.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import torch

__all__ = [
    "HeterogeneousRayBundle",
    "RayBundle",
    "ray_bundle_to_ray_points",
    "ray_bundle_variables_to_ray_points",
]


class RayBundle(NamedTuple):
    """Rays of a batch of cameras.

    Attributes:
        origins: ``(minibatch, ..., 3)`` ray origins in world coordinates.
        directions: ``(minibatch, ..., 3)`` ray directions in world coordinates.
        lengths: ``(minibatch, ..., num_points_per_ray)`` where along each ray its points lie.
        xys: ``(minibatch, ..., 2)`` the NDC (or other image-plane) coordinates of each ray.
    """

    origins: torch.Tensor
    directions: torch.Tensor
    lengths: torch.Tensor
    xys: torch.Tensor


@dataclasses.dataclass
class HeterogeneousRayBundle:
    """A :class:`RayBundle` whose rays may come from cameras sampled with repetition.

    ``camera_ids`` ``(M,)`` are the distinct cameras used and ``camera_counts`` ``(M,)``
    how many rays each gave. The built-in raysamplers do not produce it (``n_rays_total``
    is not supported); it exists so code that type-checks for it imports.
    """

    origins: torch.Tensor
    directions: torch.Tensor
    lengths: torch.Tensor
    xys: torch.Tensor
    camera_ids: torch.LongTensor | None = None
    camera_counts: torch.LongTensor | None = None


def ray_bundle_variables_to_ray_points(
    rays_origins: torch.Tensor, rays_directions: torch.Tensor, rays_lengths: torch.Tensor
) -> torch.Tensor:
    """Points ``origin + length * direction``: ``(..., 3)``, ``(..., 3)``, ``(..., P)`` ->
    ``(..., P, 3)``."""
    return rays_origins[..., None, :] + rays_lengths[..., :, None] * rays_directions[..., None, :]


def ray_bundle_to_ray_points(ray_bundle: RayBundle | HeterogeneousRayBundle) -> torch.Tensor:
    """The 3D points of a ray bundle, ``(minibatch, ..., num_points_per_ray, 3)``."""
    return ray_bundle_variables_to_ray_points(
        ray_bundle.origins, ray_bundle.directions, ray_bundle.lengths
    )


def _validate_ray_bundle_variables(
    rays_origins: torch.Tensor, rays_directions: torch.Tensor, rays_lengths: torch.Tensor
) -> None:
    """Raise ``ValueError`` unless origins, directions and lengths fit together."""
    ndim = rays_origins.ndim
    if any(r.ndim != ndim for r in (rays_directions, rays_lengths)):
        raise ValueError(
            "rays_origins, rays_directions and rays_lengths have to have the same number of "
            f"dimensions; got {rays_origins.ndim}, {rays_directions.ndim}, {rays_lengths.ndim}"
        )
    if ndim <= 2:
        raise ValueError(
            "rays_origins, rays_directions and rays_lengths have to have at least 3 dimensions "
            "(minibatch, rays..., last)"
        )
    spatial = rays_origins.shape[:-1]
    if any(spatial != r.shape[:-1] for r in (rays_directions, rays_lengths)):
        raise ValueError(
            "The shapes of rays_origins, rays_directions and rays_lengths may differ only in "
            f"the last dimension; got {tuple(rays_origins.shape)}, "
            f"{tuple(rays_directions.shape)}, {tuple(rays_lengths.shape)}"
        )
    if any(r.shape[-1] != 3 for r in (rays_origins, rays_directions)):
        raise ValueError("The last dimension of rays_origins and rays_directions has to be 3")
