"""Radiance fields fitted to multi-view images (chapter 09, compared in chapter 10).

Two ways to store "how much stuff, and what colour, at each point of space":

* :class:`GridRadianceField`: a dense voxel grid of densities and colours, read by trilinear
  interpolation (Plenoxels, Fridovich-Keil et al. 2022; DVGO, Sun et al. 2022). Every
  sample touches 8 voxels and a gradient step updates only those: training is fast, but
  memory grows with the cube of the resolution, and the grid cannot be finer than its
  voxels. A total-variation term makes neighbouring voxels agree where the images say
  little (inside the object, behind it).
* :class:`NeRFField`: an MLP on positionally encoded coordinates (NeRF, Mildenhall et al.
  2020): compact and continuous, but each sample costs a full network evaluation, and
  every step changes the whole function, so it learns slowly.

Both are *volumetric functions* in PyTorch3D's sense: called with a ``RayBundle`` they
return per-sample opacities ``1 - exp(-sigma * delta)`` ``(..., P, 1)`` and colours
``(..., P, 3)``, so ``ImplicitRenderer`` with an ``EmissionAbsorptionRaymarcher`` renders
them; :func:`render_rays` adds the background colour and the expected depth.

Training (:func:`train_grid_field`, :func:`train_nerf`) draws random rays from all pixels
of the training views every step and runs for a wall-clock budget; ``history`` records
``(training seconds, held-out PSNR)`` (evaluation time is not counted).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from course_utils.config import budget_clock
from course_utils.scene_views import SceneViews, psnr

__all__ = [
    "GridRadianceField",
    "NeRFField",
    "held_out_psnr",
    "render_cameras",
    "render_rays",
    "render_views",
    "train_grid_field",
    "train_nerf",
    "total_variation",
    "hull_rays",
    "view_rays",
    "visual_hull",
]


def _renderer_api() -> Any:
    from course_utils.p3d import renderer

    return renderer


def _segment_lengths(ray_bundle: Any) -> torch.Tensor:
    """World-space length ``delta`` of the segment each sample stands for, ``(..., P)``.

    Lengths along a ray are in units of the direction vector (view depths for PyTorch3D's
    raysamplers), so the gaps are multiplied by ``|direction|``. The last sample gets the
    previous gap: the scene is bounded, nothing lies beyond ``max_depth``.
    """
    lengths = ray_bundle.lengths
    gaps = lengths[..., 1:] - lengths[..., :-1]
    gaps = torch.cat([gaps, gaps[..., -1:]], dim=-1)
    return gaps * ray_bundle.directions.norm(dim=-1, keepdim=True)


class _Field(nn.Module):
    """What both fields share: sigma/colour at points -> opacities/colours along rays.

    Empty-space skipping (as Plenoxels, DVGO and Instant-NGP do): ``occupancy`` is a
    coarse boolean grid over the cube ``[-extent, extent]^3``; samples in unoccupied cells
    (and outside the cube) get density 0 without evaluating the field, which is where most
    samples of a scene with one object are. :meth:`update_occupancy` rebuilds it from the
    field's current densities.
    """

    extent: float = 1.05

    def __init__(self) -> None:
        super().__init__()
        self.occupancy: torch.Tensor | None = None  # (G, G, G) bool, indexed [z, y, x]

    def density_and_colour(
        self, points: torch.Tensor, directions: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(M, 3)`` world points (and unit directions) -> ``sigma (M,)``, ``rgb (M, 3)``."""
        raise NotImplementedError

    def density_at(self, points: torch.Tensor) -> torch.Tensor:
        """``sigma (M,)`` at ``(M, 3)`` points."""
        return self.density_and_colour(points, torch.zeros_like(points))[0]

    def occupied(self, points: torch.Tensor) -> torch.Tensor:
        """``(M,)`` bool: the point is in the cube and in an occupied cell."""
        inside = (points.abs() <= self.extent).all(dim=-1)
        if self.occupancy is None:
            return inside
        size = self.occupancy.shape[0]
        cell = ((points / self.extent + 1) / 2 * size).long().clamp(0, size - 1)
        return inside & self.occupancy[cell[:, 2], cell[:, 1], cell[:, 0]]

    @torch.no_grad()
    def update_occupancy(
        self, size: int = 48, step: float = 0.02, threshold: float = 1e-3
    ) -> float:
        """Mark the cells where a ``step``-long segment would absorb more than ``threshold``
        (densities at 8 jittered points per cell, max-pooled, then dilated by one cell so
        surfaces that move a little stay inside). Returns the occupied fraction."""
        axis = (torch.arange(size) + 0.5) / size * 2 - 1
        z, y, x = torch.meshgrid(axis, axis, axis, indexing="ij")
        centres = torch.stack([x, y, z], -1).reshape(-1, 3) * self.extent
        sigma = torch.zeros(len(centres))
        for _ in range(2):
            jitter = (torch.rand_like(centres) - 0.5) * (2 * self.extent / size)
            pts = centres + jitter
            values = torch.cat(
                [self.density_at(pts[s : s + 65536]) for s in range(0, len(pts), 65536)]
            )
            sigma = torch.maximum(sigma, values)
        alpha = 1 - torch.exp(-sigma * step)
        occ = (alpha > threshold).float().reshape(1, 1, size, size, size)
        occ = torch.nn.functional.max_pool3d(occ, 3, stride=1, padding=1)[0, 0] > 0
        self.occupancy = occ
        return float(occ.float().mean())

    def forward(self, ray_bundle: Any, **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """A volumetric function: ``(opacities (..., P, 1), colours (..., P, 3))``."""
        renderer = _renderer_api()
        points = renderer.ray_bundle_to_ray_points(ray_bundle)  # (..., P, 3)
        dirs = torch.nn.functional.normalize(ray_bundle.directions, dim=-1)
        dirs = dirs[..., None, :].expand(points.shape)
        flat_points, flat_dirs = points.reshape(-1, 3), dirs.reshape(-1, 3)
        keep = self.occupied(flat_points)
        sigma_kept, rgb_kept = self.density_and_colour(flat_points[keep], flat_dirs[keep])
        sigma = flat_points.new_zeros(len(flat_points)).masked_scatter(keep, sigma_kept)
        rgb = flat_points.new_zeros(len(flat_points), 3).masked_scatter(keep[:, None], rgb_kept)
        sigma = sigma.reshape(points.shape[:-1])
        opacity = 1.0 - torch.exp(-sigma * _segment_lengths(ray_bundle))
        return opacity[..., None], rgb.reshape(*points.shape[:-1], 3)


class GridRadianceField(_Field):
    """Densities and colours on a dense ``resolution^3`` grid over ``[-extent, extent]^3``.

    Stored as a PyTorch3D ``Volumes`` layout ``(1, C, D, H, W)`` (x along W) and sampled
    with ``grid_sample`` (``align_corners=True``), exactly as ``VolumeSampler`` samples a
    ``Volumes``. Densities go through a softplus (positive, smooth gradient near 0; DVGO's
    choice), colours through a sigmoid.

    Args:
        resolution: voxels per side.
        extent: half the side of the cube the grid covers (the object has radius 1).
        init_opacity: opacity of one voxel-sized step at the start (small: empty space).
    """

    def __init__(
        self, resolution: int = 64, extent: float = 1.05, init_opacity: float = 0.01
    ) -> None:
        super().__init__()
        self.extent = extent
        # sigma = softplus(raw + shift) / voxel: a raw value of a few units makes one voxel
        # opaque, so Adam's steps of ~lr reach any density in tens of steps. At raw = 0 one
        # voxel-long step absorbs init_opacity.
        self.shift = math.log(math.expm1(-math.log(1 - init_opacity)))
        # One tensor for density (channel 0) and RGB logits (1-3): one grid_sample per step.
        self.grid = nn.Parameter(torch.zeros(1, 4, resolution, resolution, resolution))

    @property
    def resolution(self) -> int:
        return int(self.grid.shape[-1])

    @property
    def voxel(self) -> float:
        """World distance between neighbouring voxel centres."""
        return 2 * self.extent / (self.resolution - 1)

    def volumes(self) -> Any:
        """The grid as a PyTorch3D ``Volumes`` (densities sigma, features RGB)."""
        from course_utils.p3d import structures

        return structures.Volumes(
            densities=self.grid_densities(),
            features=torch.sigmoid(self.grid[:, 1:]),
            voxel_size=self.voxel,
        )

    def grid_densities(self) -> torch.Tensor:
        """``(1, 1, D, H, W)`` densities sigma of the voxels."""
        return torch.nn.functional.softplus(self.grid[:, :1] + self.shift) / self.voxel

    @torch.no_grad()
    def upsample(self, resolution: int) -> None:
        """Trilinearly resample the grid to ``resolution``^3 voxels, keeping sigma and colour
        (coarse-to-fine training: a coarse grid learns the layout fast, a fine one the
        detail). The parameter is replaced: make a new optimizer afterwards."""
        sigma = torch.nn.functional.interpolate(
            self.grid_densities(), size=(resolution,) * 3, mode="trilinear", align_corners=True
        )
        colour = torch.nn.functional.interpolate(
            self.grid[:, 1:], size=(resolution,) * 3, mode="trilinear", align_corners=True
        )
        voxel = 2 * self.extent / (resolution - 1)
        # Invert sigma = softplus(raw + shift) / voxel (softplus^-1(y) = y + log(-expm1(-y))).
        y = (sigma * voxel).clamp(min=1e-6)
        raw = y + torch.log(-torch.expm1(-y)) - self.shift
        self.grid = nn.Parameter(torch.cat([raw, colour], dim=1))

    @torch.no_grad()
    def update_occupancy(
        self, size: int = 48, step: float = 0.02, threshold: float = 1e-3
    ) -> float:
        """As :meth:`_Field.update_occupancy`, read straight off the voxels (max-pooled)."""
        sigma = torch.nn.functional.adaptive_max_pool3d(self.grid_densities(), size)
        occ = ((1 - torch.exp(-sigma * step)) > threshold).float()
        self.occupancy = torch.nn.functional.max_pool3d(occ, 3, stride=1, padding=1)[0, 0] > 0
        return float(self.occupancy.float().mean())

    def density_and_colour(
        self, points: torch.Tensor, directions: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        grid = (points / self.extent)[None, :, None, None]  # (1, M, 1, 1, 3) local coords
        sampled = torch.nn.functional.grid_sample(self.grid, grid, align_corners=True)
        sampled = sampled[0, :, :, 0, 0]  # (4, M)
        sigma = torch.nn.functional.softplus(sampled[0] + self.shift) / self.voxel
        return sigma, torch.sigmoid(sampled[1:].T)


def total_variation(grid: torch.Tensor, block: int | None = None) -> torch.Tensor:
    """Mean squared difference of neighbouring voxels of ``(1, C, D, H, W)``, all 3 axes.

    With ``block``, only a random ``block``^3 sub-grid is used: an unbiased estimate of the
    same mean at a fraction of the cost (the full grid has millions of voxels).
    """
    if block is not None and block < grid.shape[-1]:
        corner = torch.randint(0, grid.shape[-1] - block + 1, (3,)).tolist()
        grid = grid[
            :, :, corner[0] : corner[0] + block, corner[1] : corner[1] + block,
            corner[2] : corner[2] + block,
        ]  # fmt: skip
    dz = (grid[:, :, 1:] - grid[:, :, :-1]).pow(2).mean()
    dy = (grid[:, :, :, 1:] - grid[:, :, :, :-1]).pow(2).mean()
    dx = (grid[..., 1:] - grid[..., :-1]).pow(2).mean()
    return dx + dy + dz


class NeRFField(_Field):
    """NeRF's MLP: positional encoding -> density (and a feature) -> colour.

    Args:
        n_harmonic_functions_xyz: frequencies of the point encoding (``HarmonicEmbedding``).
        n_harmonic_functions_dir: frequencies of the direction encoding.
        n_hidden: width of the MLP.
        n_layers: hidden layers before the density head (a skip connection re-feeds the
            encoding half-way, as in NeRF).
        view_dependence: colour depends on the viewing direction (specular effects) or
            not (the course's scenes are diffuse: False learns faster).
        omega_0: base frequency; points are in world units (object radius 1).
    """

    def __init__(
        self,
        n_harmonic_functions_xyz: int = 8,
        n_harmonic_functions_dir: int = 4,
        n_hidden: int = 128,
        n_layers: int = 4,
        view_dependence: bool = False,
        omega_0: float = 1.0,
    ) -> None:
        super().__init__()
        renderer = _renderer_api()
        self.embed_xyz = renderer.HarmonicEmbedding(n_harmonic_functions_xyz, omega_0=omega_0)
        self.embed_dir = renderer.HarmonicEmbedding(n_harmonic_functions_dir)
        in_xyz = self.embed_xyz.get_output_dim(3)
        self.view_dependence = view_dependence
        self.skip = n_layers // 2
        layers = []
        for i in range(n_layers):
            width_in = in_xyz if i == 0 else n_hidden
            if i == self.skip and i > 0:
                width_in += in_xyz
            layers.append(nn.Linear(width_in, n_hidden))
        self.layers = nn.ModuleList(layers)
        self.density_head = nn.Linear(n_hidden, 1)
        in_colour = n_hidden + (self.embed_dir.get_output_dim(3) if view_dependence else 0)
        self.colour_head = nn.Sequential(
            nn.Linear(in_colour, n_hidden // 2), nn.ReLU(), nn.Linear(n_hidden // 2, 3)
        )
        # Start nearly empty: a negative density bias means the first renders are background.
        nn.init.constant_(self.density_head.bias, -1.0)

    def density_and_colour(
        self, points: torch.Tensor, directions: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        encoded = self.embed_xyz(points)
        h = encoded
        for i, layer in enumerate(self.layers):
            if i == self.skip and i > 0:
                h = torch.cat([h, encoded], dim=-1)
            h = torch.relu(layer(h))
        sigma = torch.nn.functional.softplus(self.density_head(h)[..., 0])
        if self.view_dependence:
            if directions is None:
                raise ValueError("NeRFField(view_dependence=True) needs ray directions")
            h = torch.cat([h, self.embed_dir(directions)], dim=-1)
        return sigma, torch.sigmoid(self.colour_head(h))


# ------------------------------------------------------------------------------ rays


def view_rays(views: SceneViews, index: Sequence[int] | int) -> tuple[torch.Tensor, torch.Tensor]:
    """Origins and directions of every pixel of some views, ``(V, H, W, 3)`` each.

    Made by ``NDCMultinomialRaysampler`` (PyTorch3D's pixel-centre convention), so ray
    ``[v, i, j]`` passes through pixel ``(i, j)`` of ``views.images[index[v]]``; the
    directions have view-space z = 1, so ray lengths are view depths.
    """
    renderer = _renderer_api()
    if isinstance(index, int):
        index = [index]
    size = views.image_size
    sampler = renderer.NDCMultinomialRaysampler(
        image_width=size, image_height=size, n_pts_per_ray=0, min_depth=0.0, max_depth=1.0
    )
    with torch.no_grad():
        bundle = sampler(views.cameras(list(index)))
    return bundle.origins, bundle.directions


def _bundle(
    origins: torch.Tensor, directions: torch.Tensor, near: float, far: float, n_pts: int,
    stratified: bool,
) -> Any:  # fmt: skip
    """A ``RayBundle`` of ``(R, 3)`` rays with ``n_pts`` lengths in ``[near, far]``."""
    renderer = _renderer_api()
    lengths = torch.linspace(near, far, n_pts, device=origins.device).expand(len(origins), n_pts)
    if stratified:
        half = (far - near) / (n_pts - 1) / 2
        lengths = lengths + (torch.rand_like(lengths) * 2 - 1) * half
    return renderer.RayBundle(
        origins=origins[None], directions=directions[None], lengths=lengths[None],
        xys=origins.new_zeros(1, len(origins), 2),
    )  # fmt: skip


def render_rays(
    field: Callable, origins: torch.Tensor, directions: torch.Tensor, near: float, far: float,
    n_pts: int, background: Sequence[float], stratified: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
    """Render ``(R, 3)`` rays: ``rgb (R, 3)`` over ``background``, ``depth (R,)``, ``opacity (R,)``.

    ``depth`` is the expected view depth ``sum_k w_k t_k / sum_k w_k`` (0 where nothing is
    hit), comparable with the rasterizer's zbuf.
    """
    renderer = _renderer_api()
    bundle = _bundle(origins, directions, near, far, n_pts, stratified)
    opacities, colours = field(bundle)
    raymarcher = renderer.EmissionAbsorptionRaymarcher()
    lengths = bundle.lengths[..., None]
    out = raymarcher(rays_densities=opacities, rays_features=torch.cat([colours, lengths], -1))
    rgb, depth_sum, alpha = out[0, :, :3], out[0, :, 3], out[0, :, 4]
    bg = torch.tensor(background, dtype=rgb.dtype, device=rgb.device)
    rgb = rgb + (1 - alpha[:, None]) * bg
    depth = torch.where(alpha > 1e-3, depth_sum / alpha.clamp(min=1e-3), torch.zeros_like(alpha))
    return rgb, depth, alpha


@torch.no_grad()
def render_cameras(
    field: Callable, cameras: Any, image_size: int, near: float, far: float,
    background: Sequence[float], n_pts: int = 96, chunk: int = 8192,
) -> dict[str, torch.Tensor]:  # fmt: skip
    """Render ``field`` from any ``cameras`` (e.g. novel views), ``chunk`` rays at a time.

    Rays come from ``NDCMultinomialRaysampler`` (one per pixel centre); samples are
    regular in view depth ``[near, far]``.

    Returns ``{"rgb": (V, S, S, 3), "depth": (V, S, S), "opacity": (V, S, S)}``.
    """
    renderer = _renderer_api()
    sampler = renderer.NDCMultinomialRaysampler(
        image_width=image_size, image_height=image_size, n_pts_per_ray=0, min_depth=0.0,
        max_depth=1.0,
    )  # fmt: skip
    bundle = sampler(cameras)
    shape = bundle.origins.shape[:-1]
    o, d = bundle.origins.reshape(-1, 3), bundle.directions.reshape(-1, 3)
    parts = [
        render_rays(field, o[s : s + chunk], d[s : s + chunk], near, far, n_pts, background)
        for s in range(0, len(o), chunk)
    ]
    rgb, depth, alpha = (torch.cat(p) for p in zip(*parts))
    return {
        "rgb": rgb.reshape(*shape, 3),
        "depth": depth.reshape(shape),
        "opacity": alpha.reshape(shape),
    }


def render_views(
    field: Callable, views: SceneViews, index: Sequence[int] | int, n_pts: int = 96,
    chunk: int = 8192,
) -> dict[str, torch.Tensor]:  # fmt: skip
    """Render views ``index`` of ``views`` with ``field`` (see :func:`render_cameras`).

    Returns ``{"rgb": (V, H, W, 3), "depth": (V, H, W), "opacity": (V, H, W)}``.
    """
    index = [index] if isinstance(index, int) else list(index)
    return render_cameras(
        field, views.cameras(index), views.image_size, views.znear, views.zfar,
        views.background, n_pts, chunk,
    )  # fmt: skip


@torch.no_grad()
def visual_hull(
    views: SceneViews, size: int = 48, extent: float = 1.05, dilate: int = 1
) -> torch.Tensor:
    """Shape from silhouettes: ``(size, size, size)`` bool cells (indexed ``[z, y, x]`` over
    ``[-extent, extent]^3``) whose centre projects inside the object mask of every training
    view (masks dilated by ``dilate`` pixels so thin parts survive).

    Why: a scene of one masked object is mostly empty space; knowing that from the masks
    lets both fields skip most samples from the first step (empty-space skipping).
    """
    axis = (torch.arange(size) + 0.5) / size * 2 - 1
    z, y, x = torch.meshgrid(axis, axis, axis, indexing="ij")
    centres = torch.stack([x, y, z], -1).reshape(-1, 3) * extent
    masks = views.masks[views.train][:, None]
    if dilate:
        masks = torch.nn.functional.max_pool2d(masks, 2 * dilate + 1, stride=1, padding=dilate)
    cameras = views.cameras(views.train)
    ndc = cameras.transform_points(centres[None].expand(len(views.train), -1, -1))[..., :2]
    # NDC +X left, +Y up -> grid_sample's x right, y down.
    inside = torch.nn.functional.grid_sample(
        masks, -ndc[:, :, None], mode="nearest", padding_mode="border", align_corners=False
    )[:, 0, :, 0]  # (V, M)
    return (inside > 0.5).all(dim=0).reshape(size, size, size)


def hull_rays(views: SceneViews, hull_size: int = 48, extent: float = 1.05) -> torch.Tensor:
    """``(N_train * H * W,)`` bool: which training rays can meet the :func:`visual_hull`.

    A ray through a pixel far outside its own view's mask misses every hull cell (each
    cell's centre projects inside every dilated mask, so all of the cell lies within
    half a cell diagonal of that), and with the field empty outside the hull it renders
    the background exactly: zero loss, zero gradient, pure cost. Training draws its rays
    from the others only (as DVGO and Plenoxels skip rays outside the scene's bounds).
    The margin is the hull's mask dilation (1 pixel), half a cell diagonal measured in
    pixels at the nearest depth ``znear`` (where a pixel is smallest), and 1 for rounding.
    """
    cell = 2 * extent / hull_size
    pixel = 2 * views.znear * math.tan(math.radians(views.fov) / 2) / views.image_size
    margin = 1 + math.ceil(math.sqrt(3) * cell / 2 / pixel) + 1
    masks = views.masks[views.train][:, None]
    near = torch.nn.functional.max_pool2d(masks, 2 * margin + 1, stride=1, padding=margin)
    return near.reshape(-1) > 0


def held_out_psnr(
    field: Callable, views: SceneViews, index: Sequence[int] | None = None, n_pts: int = 96
) -> float:
    """PSNR (dB) of ``field``'s renders of held-out views (default all ``views.test``)."""
    index = list(views.test if index is None else index)
    rendered = render_views(field, views, index, n_pts=n_pts)["rgb"]
    return psnr(rendered, views.images[index])


# --------------------------------------------------------------------------- training


def _train(
    field: _Field,
    views: SceneViews,
    seconds: float,
    make_optimizer: Callable[[], torch.optim.Optimizer],
    regulariser: Callable[[], torch.Tensor] | None,
    batch_rays: int,
    n_pts: int,
    eval_every: float | None,
    eval_views: Sequence[int] | None,
    max_steps: int | None,
    progress: bool,
    desc: str,
    occupancy_every: int | None = None,
    carve: bool = True,
    upsample: tuple[float, int] | None = None,  # (training seconds, resolution)
    clock: str = "wall",
    eval_at: Sequence[float] | None = None,
    on_eval: Callable[[float, float], None] | None = None,
) -> list[tuple[float, float]]:
    """The loop both trainers share: random rays, MSE, a time budget, held-out PSNR.

    Held-out PSNR is measured every ``eval_every`` seconds of training, at the training
    times ``eval_at`` as well (e.g. densely early on, to resolve when a level is reached),
    and at the end; ``on_eval(seconds, psnr)`` is called after each evaluation."""
    from tqdm.auto import tqdm

    if not views.train:
        raise ValueError("the views have no training views")
    origins, directions = view_rays(views, views.train)
    colours = views.images[views.train].reshape(-1, 3)
    origins, directions = origins.reshape(-1, 3), directions.reshape(-1, 3)
    eval_index = list(views.test if eval_views is None else eval_views)
    eval_every = seconds / 10 if eval_every is None else eval_every
    history: list[tuple[float, float]] = []
    trained, step, next_eval = 0.0, 0, eval_every
    extra = sorted(float(t) for t in (eval_at or ()))
    now = budget_clock(clock)
    optimizer = make_optimizer()
    hull = None
    if carve:
        start = now()
        hull = field.occupancy = visual_hull(views, extent=field.extent)
        useful = hull_rays(views, hull.shape[0], field.extent)
        origins, directions, colours = origins[useful], directions[useful], colours[useful]
        trained += now() - start
    bar = tqdm(total=round(seconds, 1), desc=desc, unit="s", disable=not progress, leave=False)
    while trained < seconds and (max_steps is None or step < max_steps):
        start = now()
        pick = torch.randint(len(origins), (batch_rays,))
        rgb, _, _ = render_rays(
            field, origins[pick], directions[pick], views.znear, views.zfar, n_pts,
            views.background, stratified=True,
        )  # fmt: skip
        loss = (rgb - colours[pick]).pow(2).mean()
        if regulariser is not None:
            loss = loss + regulariser()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        if upsample is not None and trained >= upsample[0]:
            field.upsample(upsample[1])  # coarse to fine: new parameters, new optimizer
            optimizer = make_optimizer()
            upsample = None
        if occupancy_every and step % occupancy_every == 0:
            field.update_occupancy()  # part of training: counted in the time budget
            if hull is not None:  # never re-open space the silhouettes carved away
                field.occupancy &= hull
        elapsed = now() - start
        trained += elapsed
        bar.update(round(min(elapsed, seconds - bar.n), 1) if bar.n < seconds else 0)
        last = trained >= seconds or (max_steps is not None and step >= max_steps)
        due = trained >= next_eval or bool(extra and trained >= extra[0])
        if eval_index and (due or last):
            history.append((trained, held_out_psnr(field, views, eval_index, n_pts)))
            bar.set_postfix(psnr=f"{history[-1][1]:.2f} dB")
            if on_eval is not None:
                on_eval(*history[-1])
            while next_eval <= trained:
                next_eval += eval_every
            while extra and extra[0] <= trained:
                extra.pop(0)
    bar.close()
    return history


def train_grid_field(
    views: SceneViews,
    seconds: float,
    *,
    resolution: int = 64,
    batch_rays: int = 2048,
    n_pts: int = 96,
    coarse_resolution: int | None = 32,
    coarse_fraction: float = 0.3,
    coarse_seconds: float | None = 10.0,
    lr: float = 0.1,
    tv_weight: float = 1e-4,
    tv_block: int | None = 32,
    occupancy_every: int | None = 16,
    carve: bool = True,
    eval_every: float | None = None,
    eval_views: Sequence[int] | None = None,
    max_steps: int | None = None,
    seed: int = 0,
    progress: bool = True,
    clock: str = "wall",
    eval_at: Sequence[float] | None = None,
    on_eval: Callable[[float, float], None] | None = None,
) -> tuple[GridRadianceField, list[tuple[float, float]]]:
    """Fit a :class:`GridRadianceField` to ``views.train`` for ``seconds`` of training.

    Args:
        views: from :func:`course_utils.scene_views.make_scene_views`.
        seconds: training wall-time budget (evaluation excluded).
        resolution: final grid voxels per side.
        coarse_resolution: start at this resolution (None: at ``resolution``) and upsample
            after ``coarse_fraction`` of the time budget or ``coarse_seconds`` of training,
            whichever comes first (None: the fraction alone). The coarse grid settles the
            layout within seconds; a long budget is better spent on the fine grid.
        batch_rays: rays per step; n_pts: samples per ray (about one per voxel).
        lr: Adam learning rate of the grid (density and colour logits).
        tv_weight: weight of the total-variation regulariser on the grid.
        tv_block: estimate it on a random block of this many voxels per side (None: all).
        eval_every: seconds of training between held-out evaluations (default budget/10).
        eval_at: also evaluate at these training times (seconds), e.g. densely early on.
        on_eval: called as ``on_eval(seconds, psnr)`` after every evaluation (logging).
        eval_views: views to evaluate on (default ``views.test``).
        occupancy_every: rebuild the empty-space occupancy grid every this many steps
            (None: evaluate every sample).
        carve: start from the visual hull of the training masks (:func:`visual_hull`),
            never sample outside it, and draw only rays that can meet it (:func:`hull_rays`).
        max_steps: stop earlier after this many steps (tests).
        seed: for the random rays and jitter.
        clock: ``"wall"`` (seconds of wall time) or ``"cpu"`` (CPU seconds of this process,
            all threads together) for ``seconds`` and the history.
        progress: show a tqdm bar.

    Returns:
        ``(field, history)``, history a list of ``(training seconds, held-out PSNR dB)``.
    """
    torch.manual_seed(seed)
    start = resolution if coarse_resolution is None else coarse_resolution
    field = GridRadianceField(start)

    def make_optimizer() -> torch.optim.Optimizer:
        return torch.optim.Adam([field.grid], lr=lr, betas=(0.9, 0.99))

    def regulariser() -> torch.Tensor:
        return tv_weight * total_variation(field.grid, block=tv_block)

    switch = coarse_fraction * seconds
    if coarse_seconds is not None:
        switch = min(switch, coarse_seconds)
    upsample = None if start == resolution else (switch, resolution)
    history = _train(
        field, views, seconds, make_optimizer, regulariser if tv_weight > 0 else None,
        batch_rays, n_pts, eval_every, eval_views, max_steps, progress, "grid field",
        occupancy_every, carve, upsample, clock, eval_at, on_eval,
    )  # fmt: skip
    return field, history


def train_nerf(
    views: SceneViews,
    seconds: float,
    *,
    batch_rays: int = 1024,
    n_pts: int = 64,
    lr: float = 5e-3,
    view_dependence: bool = False,
    n_hidden: int = 128,
    n_layers: int = 4,
    n_harmonic_functions_xyz: int = 8,
    occupancy_every: int | None = 32,
    carve: bool = True,
    eval_every: float | None = None,
    eval_views: Sequence[int] | None = None,
    max_steps: int | None = None,
    seed: int = 0,
    progress: bool = True,
    clock: str = "wall",
    eval_at: Sequence[float] | None = None,
    on_eval: Callable[[float, float], None] | None = None,
) -> tuple[NeRFField, list[tuple[float, float]]]:
    """Fit a :class:`NeRFField` to ``views.train`` for ``seconds`` of training.

    Arguments as for :func:`train_grid_field`, plus the MLP's size and encoding and
    ``view_dependence``. Returns ``(field, history)``.
    """
    torch.manual_seed(seed)
    field = NeRFField(
        n_harmonic_functions_xyz=n_harmonic_functions_xyz, n_hidden=n_hidden, n_layers=n_layers,
        view_dependence=view_dependence,
    )  # fmt: skip
    history = _train(
        field, views, seconds, lambda: torch.optim.Adam(field.parameters(), lr=lr), None,
        batch_rays, n_pts, eval_every, eval_views, max_steps, progress, "NeRF",
        occupancy_every, carve, None, clock, eval_at, on_eval,
    )  # fmt: skip
    return field, history
