"""Raysamplers: which rays a camera emits and where along them the points lie.

Every sampler follows PyTorch3D's construction: an image-plane point ``(x, y)`` is
unprojected by the camera at view depths 1 and 2; the difference of the two world points
is the ray direction (its view-space z component is 1), and the origin is the depth-1
point minus the direction (the camera centre for perspective cameras). So a point at
``length`` along the ray has view depth ``length``, the same as the rasterizer's zbuf,
unless ``unit_directions=True`` normalises the directions (then lengths are distances).

* :class:`MultinomialRaysampler`: a regular grid of image-plane points (optionally a
  random subset, drawn uniformly or from a mask), ``n_pts_per_ray`` depths each.
* :class:`NDCMultinomialRaysampler`: the same grid at the pixel centres of PyTorch3D's NDC
  (+X left, +Y up; the shorter image side spans [-1, 1]).
* :class:`MonteCarloRaysampler`: ``n_rays_per_image`` uniformly random real-valued points.

``stratified_sampling=True`` moves each depth to a uniformly random place within its bin
(the midpoints between neighbouring depths bound the bins), so training sees every depth,
not only a fixed set (NeRF's stratified sampling).
"""

from __future__ import annotations

from typing import Any

import torch
from torch.nn import functional as F

from course_utils.p3d.builtin.renderer.implicit.utils import (
    FLOATS_PER_RAY_SAMPLE,
    RayBundle,
    check_ray_samples,
)

__all__ = ["MonteCarloRaysampler", "MultinomialRaysampler", "NDCMultinomialRaysampler"]


def _no_total(n_rays_total: int | None) -> None:
    if n_rays_total is not None:
        raise NotImplementedError(
            "n_rays_total (rays from cameras sampled with repetition, a HeterogeneousRayBundle) "
            "is not supported by the built-in backend; use n_rays_per_image"
        )


def _jiggle_within_stratas(bin_centers: torch.Tensor) -> torch.Tensor:
    """One uniform sample per bin; bins span the midpoints between neighbouring centres
    (the first and last bins end at the first and last centre)."""
    mids = 0.5 * (bin_centers[..., 1:] + bin_centers[..., :-1])
    upper = torch.cat((mids, bin_centers[..., -1:]), dim=-1)
    lower = torch.cat((bin_centers[..., :1], mids), dim=-1)
    return lower + (upper - lower) * torch.rand_like(lower)


def _safe_multinomial(weights: torch.Tensor, num_samples: int) -> torch.Tensor:
    """``(B, n)`` non-negative weights -> ``(B, num_samples)`` indices, without replacement
    where a row has enough non-zero weights, with replacement otherwise."""
    enough = (weights > 0).sum(dim=-1) >= num_samples
    out = torch.empty(weights.shape[0], num_samples, dtype=torch.long, device=weights.device)
    if enough.any():
        out[enough] = torch.multinomial(weights[enough], num_samples, replacement=False)
    if (~enough).any():
        out[~enough] = torch.multinomial(weights[~enough], num_samples, replacement=True)
    return out


def _xy_to_ray_bundle(
    cameras: Any,
    xy_grid: torch.Tensor,
    min_depth: float,
    max_depth: float,
    n_pts_per_ray: int,
    unit_directions: bool,
    stratified_sampling: bool = False,
) -> RayBundle:
    """Rays through image-plane points ``xy_grid`` ``(B, ..., 2)`` of ``cameras``."""
    batch_size = xy_grid.shape[0]
    spatial_size = xy_grid.shape[1:-1]
    n_rays = spatial_size.numel()
    # Before anything of size B x rays x P exists: rendering the bundle will need at least
    # FLOATS_PER_RAY_SAMPLE floats per sample, all at once.
    check_ray_samples(
        "raysampler", (batch_size, n_rays, max(n_pts_per_ray, 0)), FLOATS_PER_RAY_SAMPLE
    )
    rays_zs = xy_grid.new_empty((0,))
    if n_pts_per_ray > 0:
        depths = torch.linspace(
            min_depth, max_depth, n_pts_per_ray, dtype=xy_grid.dtype, device=xy_grid.device
        )
        rays_zs = depths[None, None].expand(batch_size, n_rays, n_pts_per_ray)
        if stratified_sampling:
            rays_zs = _jiggle_within_stratas(rays_zs)
    flat = xy_grid.reshape(batch_size, n_rays, 2)
    ones = flat.new_ones(batch_size, n_rays, 1)
    # Every point twice, at view depths 1 and 2.
    to_unproject = torch.cat(
        (torch.cat((flat, flat), dim=1), torch.cat((ones, 2.0 * ones), dim=1)), dim=-1
    )
    unprojected = cameras.unproject_points(to_unproject, world_coordinates=True, from_ndc=True)
    plane_1, plane_2 = unprojected[:, :n_rays], unprojected[:, n_rays:]
    directions = plane_2 - plane_1
    origins = plane_1 - directions
    if unit_directions:
        directions = F.normalize(directions, dim=-1)
    return RayBundle(
        origins.reshape(batch_size, *spatial_size, 3),
        directions.reshape(batch_size, *spatial_size, 3),
        rays_zs.reshape(batch_size, *spatial_size, n_pts_per_ray),
        xy_grid,
    )


class MultinomialRaysampler(torch.nn.Module):
    """Rays through a regular ``image_height x image_width`` grid of image-plane points.

    Grid point ``[i, j]`` is ``(x_j, y_i)`` with ``x`` running from ``min_x`` (column 0)
    to ``max_x`` and ``y`` from ``min_y`` (row 0) to ``max_y``; each ray carries
    ``n_pts_per_ray`` lengths evenly spaced in ``[min_depth, max_depth]``.

    Args:
        min_x, max_x, min_y, max_y: image-plane coordinates of the first / last pixel
            centres (NDC for the course's cameras).
        image_width, image_height: the grid size.
        n_pts_per_ray: points per ray.
        min_depth, max_depth: range of the ray lengths.
        n_rays_per_image: if given, that many grid points are drawn per image (without
            replacement; weighted by ``mask`` when one is given to ``forward``).
        n_rays_total: not supported (``NotImplementedError``).
        unit_directions: normalise the ray directions.
        stratified_sampling: jitter each length within its bin.
    """

    def __init__(
        self,
        *,
        min_x: float,
        max_x: float,
        min_y: float,
        max_y: float,
        image_width: int,
        image_height: int,
        n_pts_per_ray: int,
        min_depth: float,
        max_depth: float,
        n_rays_per_image: int | None = None,
        n_rays_total: int | None = None,
        unit_directions: bool = False,
        stratified_sampling: bool = False,
    ) -> None:
        super().__init__()
        _no_total(n_rays_total)
        self._n_pts_per_ray = n_pts_per_ray
        self._min_depth = min_depth
        self._max_depth = max_depth
        self._n_rays_per_image = n_rays_per_image
        self._n_rays_total = n_rays_total
        self._unit_directions = unit_directions
        self._stratified_sampling = stratified_sampling
        self.min_x, self.max_x, self.min_y, self.max_y = min_x, max_x, min_y, max_y
        y, x = torch.meshgrid(
            torch.linspace(min_y, max_y, image_height, dtype=torch.float32),
            torch.linspace(min_x, max_x, image_width, dtype=torch.float32),
            indexing="ij",
        )
        self.register_buffer("_xy_grid", torch.stack([x, y], dim=-1), persistent=False)

    def forward(
        self,
        cameras: Any,
        *,
        mask: torch.Tensor | None = None,
        min_depth: float | None = None,
        max_depth: float | None = None,
        n_rays_per_image: int | None = None,
        n_pts_per_ray: int | None = None,
        stratified_sampling: bool | None = None,
        n_rays_total: int | None = None,
        **kwargs: Any,
    ) -> RayBundle:
        """Rays of ``cameras`` (a batch of B).

        Returns:
            A :class:`RayBundle`: ``origins``/``directions`` ``(B, s1, s2, 3)``, ``lengths``
            ``(B, s1, s2, n_pts_per_ray)``, ``xys`` ``(B, s1, s2, 2)`` where ``(s1, s2)`` is
            ``(image_height, image_width)``, or ``(n_rays_per_image, 1)`` when rays are
            drawn (with a mask and no count: the smallest mask's pixel count).
        """
        _no_total(n_rays_total)
        n_rays_per_image = n_rays_per_image or self._n_rays_per_image
        batch_size = cameras.R.shape[0]
        device = cameras.R.device
        xy_grid = self._xy_grid.to(device).expand(batch_size, -1, -1, -1)
        if mask is not None and n_rays_per_image is None:
            n_rays_per_image = int(mask.sum(dim=(1, 2)).min().int().item())
        if n_rays_per_image is not None:
            if mask is not None:
                if mask.shape != xy_grid.shape[:3]:
                    raise ValueError(
                        f"mask has shape {tuple(mask.shape)}; expected (batch_size, "
                        f"image_height, image_width) = {tuple(xy_grid.shape[:3])}"
                    )
                weights = mask.reshape(batch_size, -1).float()
            else:
                weights = xy_grid.new_ones(batch_size, xy_grid.shape[1] * xy_grid.shape[2])
            index = _safe_multinomial(weights, n_rays_per_image)[..., None].expand(-1, -1, 2)
            xy_grid = torch.gather(xy_grid.reshape(batch_size, -1, 2), 1, index)[:, :, None]
        return _xy_to_ray_bundle(
            cameras,
            xy_grid,
            self._min_depth if min_depth is None else min_depth,
            self._max_depth if max_depth is None else max_depth,
            self._n_pts_per_ray if n_pts_per_ray is None else n_pts_per_ray,
            self._unit_directions,
            self._stratified_sampling if stratified_sampling is None else stratified_sampling,
        )


class NDCMultinomialRaysampler(MultinomialRaysampler):
    """:class:`MultinomialRaysampler` at the pixel centres of PyTorch3D's NDC.

    Column 0 is the image's left edge (+X is left, so it has the largest x) and row 0 its
    top (largest y); the shorter side spans [-1, 1], the longer ``[-u, u]`` (u the aspect
    ratio). The rays therefore hit the same pixels as the mesh and point rasterizers.
    """

    def __init__(
        self,
        *,
        image_width: int,
        image_height: int,
        n_pts_per_ray: int,
        min_depth: float,
        max_depth: float,
        n_rays_per_image: int | None = None,
        n_rays_total: int | None = None,
        unit_directions: bool = False,
        stratified_sampling: bool = False,
    ) -> None:
        if image_width >= image_height:
            range_x, range_y = image_width / image_height, 1.0
        else:
            range_x, range_y = 1.0, image_height / image_width
        half_pix_width = range_x / image_width
        half_pix_height = range_y / image_height
        super().__init__(
            min_x=range_x - half_pix_width,
            max_x=-range_x + half_pix_width,
            min_y=range_y - half_pix_height,
            max_y=-range_y + half_pix_height,
            image_width=image_width,
            image_height=image_height,
            n_pts_per_ray=n_pts_per_ray,
            min_depth=min_depth,
            max_depth=max_depth,
            n_rays_per_image=n_rays_per_image,
            n_rays_total=n_rays_total,
            unit_directions=unit_directions,
            stratified_sampling=stratified_sampling,
        )


class MonteCarloRaysampler(torch.nn.Module):
    """``n_rays_per_image`` rays through uniformly random points of
    ``[min_x, max_x] x [min_y, max_y]`` per camera, ``n_pts_per_ray`` lengths each.

    Returns ``RayBundle`` fields of shape ``(B, n_rays_per_image, ...)``.
    """

    def __init__(
        self,
        min_x: float,
        max_x: float,
        min_y: float,
        max_y: float,
        n_rays_per_image: int,
        n_pts_per_ray: int,
        min_depth: float,
        max_depth: float,
        *,
        n_rays_total: int | None = None,
        unit_directions: bool = False,
        stratified_sampling: bool = False,
    ) -> None:
        super().__init__()
        _no_total(n_rays_total)
        self._min_x, self._max_x = min_x, max_x
        self._min_y, self._max_y = min_y, max_y
        self._n_rays_per_image = n_rays_per_image
        self._n_pts_per_ray = n_pts_per_ray
        self._min_depth, self._max_depth = min_depth, max_depth
        self._unit_directions = unit_directions
        self._stratified_sampling = stratified_sampling

    def forward(
        self, cameras: Any, *, stratified_sampling: bool | None = None, **kwargs: Any
    ) -> RayBundle:
        """Random rays of ``cameras`` (a batch of B)."""
        batch_size = cameras.R.shape[0]
        device = cameras.R.device
        low = torch.tensor([self._min_x, self._min_y], device=device)
        high = torch.tensor([self._max_x, self._max_y], device=device)
        rays_xy = low + (high - low) * torch.rand(
            batch_size, self._n_rays_per_image, 2, device=device
        )
        return _xy_to_ray_bundle(
            cameras,
            rays_xy,
            self._min_depth,
            self._max_depth,
            self._n_pts_per_ray,
            self._unit_directions,
            self._stratified_sampling if stratified_sampling is None else stratified_sampling,
        )
