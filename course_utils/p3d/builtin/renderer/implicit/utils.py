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


#: Float32 values every ray sample costs at least when a bundle is rendered: its point
#: (3), its length (1), an opacity (1), an RGB feature (3) and the raymarcher's
#: transmittance and weight (2). The true figure depends on the volumetric function.
FLOATS_PER_RAY_SAMPLE = 10

_LOWER = "the number of cameras, image_width x image_height (or n_rays_per_image) or n_pts_per_ray"


def check_ray_samples(what: str, shape: tuple[int, ...], floats_per_sample: int) -> int:
    """Raise a clear ``ValueError`` before a renderer allocates too much for its samples.

    The implicit renderers keep every sample of every ray at once (PyTorch3D's API returns
    whole ``(B, ..., P, C)`` tensors); the built-in code chunks its own temporaries (see
    ``VolumeSampler``), but what it hands back cannot be chunked. So the budget of the
    rasterizers (``limits.py``: 4 GiB, ``COURSE_MAX_RASTER_BYTES``) applies to
    ``prod(shape) * floats_per_sample * 4`` bytes.

    Args:
        what: who allocates, for the message.
        shape: ``(B, ..., P)``: cameras, rays per camera, samples per ray.
        floats_per_sample: float32 values per sample.

    Returns:
        The estimate in bytes.
    """
    from course_utils.p3d.builtin.renderer.limits import check_output_size

    return check_output_size(
        what, tuple(int(s) for s in shape), 4 * floats_per_sample,
        f"{_LOWER}, or render the rays in chunks",
    )  # fmt: skip


def ray_bundle_variables_to_ray_points(
    rays_origins: torch.Tensor, rays_directions: torch.Tensor, rays_lengths: torch.Tensor
) -> torch.Tensor:
    """Points ``origin + length * direction``: ``(..., 3)``, ``(..., 3)``, ``(..., P)`` ->
    ``(..., P, 3)``. ``ValueError`` when the points would exceed the memory budget."""
    check_ray_samples("ray_bundle_to_ray_points", tuple(rays_lengths.shape), 3)
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
