"""Dense point clouds from multi-view projections (chapter 07; Lin, Kong & Lucey, AAAI 2018).

A point cloud is a *set*: it has no grid, so 2D convolutions cannot produce one directly.
A *projection* of the shape onto a camera's image plane is a grid, though: at every pixel
the coordinates ``(x, y, z)`` of the surface point seen there (in that camera's view frame)
and whether the pixel sees the object at all (a mask). A 2D convolutional network can
predict such maps for ``N`` **fixed viewpoints**; this module holds the parameter-free
parts around it:

* :func:`fixed_viewpoints` / :func:`novel_viewpoints` and :func:`viewpoint_cameras`: the
  cameras. Fixed: the 8 corners of a cube around the object (every side of the object is
  seen by some camera) and the centres of its 4 side faces. Novel: a spiral of viewpoints
  over the sphere that are none of them, used to *check* the fused cloud.
* :func:`depth_to_xyz`: a depth map (the rasterizer's ``zbuf``) to a per-pixel ``(x, y, z)``
  map in the view frame — the ground-truth projections.
* :func:`fuse`: ``N`` projections → one cloud in the object frame, by undoing each camera's
  pose, ``X_world = (X_view - T) @ R^T``. No parameters, no learning.
* :func:`pseudo_render`: a cloud → the depth map and mask that a camera sees, by a
  **z-buffer over points**: every point falls on one pixel (of an image ``U`` times finer
  than asked for, which makes two points less likely to *collide* on one pixel), and each
  pixel keeps its nearest point. Vectorised with ``scatter_reduce("amin")``; the depth is
  differentiable with respect to the depth of the points that are kept, and no gradient
  reaches the hidden ones (they did not make the picture).

**Conventions** (those of :mod:`course_utils.p3d`, i.e. PyTorch3D): points are row vectors,
``X_view = X_world @ R + T``; view +X left, +Y up, +Z into the scene; depth = view ``z``
(the mesh rasterizer's ``zbuf``); NDC +X left, +Y up, pixel (row 0, column 0) at the top
left, NDC ``(+1, +1)`` corner (:func:`course_utils.rgbd.ndc_grid`). Background depth is 0
here (the ``zbuf`` uses -1; a 0 makes ``depth * mask`` and L1 losses simpler).

Example:
    >>> cams = viewpoint_cameras(fixed_viewpoints())
    >>> len(cams), fixed_viewpoints()[0], fixed_viewpoints()[-1]
    (12, (45.0, 35.26), (270.0, 0.0))
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import torch

from course_utils.datasets.generate import CAMERA_DIST, FOV
from course_utils.rgbd import ndc_grid

__all__ = [
    "fixed_viewpoints",
    "novel_viewpoints",
    "viewpoint_cameras",
    "depth_to_xyz",
    "fuse",
    "PseudoRender",
    "pseudo_render",
    "render_depth",
    "upsample_nearest",
    "zbuffer",
    "project_to_pixels",
    "depth_colours",
]

#: Elevation of the cube's corners seen from its centre: atan(1 / sqrt(2)), degrees.
CORNER_ELEVATION = round(math.degrees(math.atan(1 / math.sqrt(2))), 2)


def fixed_viewpoints() -> list[tuple[float, float]]:
    """The 12 ``(azimuth, elevation)`` pairs, in degrees, of the fixed viewpoints.

    First the 8 corners of a cube (azimuths 45°, 135°, 225°, 315°, each at elevation
    ±35.26°: the directions ``(±1, ±1, ±1)``), which together see every side of an object
    at the centre, as fusing their projections into one cloud needs; then the centres of
    the cube's 4 side faces (azimuths 0°, 90°, 180°, 270° at elevation 0°). The side
    views add 50 % more pixels on the object: the course's shapes cover about 21 % of a
    view, so 12 views of 128² give about 40,000 points per shape (8 views, about 27,000).
    """
    corners = [
        (45.0 + 90.0 * k, e) for e in (CORNER_ELEVATION, -CORNER_ELEVATION) for k in range(4)
    ]
    return corners + [(90.0 * k, 0.0) for k in range(4)]


def novel_viewpoints(count: int = 16, max_elevation: float = 60.0) -> list[tuple[float, float]]:
    """``count`` viewpoints spread over a band of the sphere (a Fibonacci spiral).

    Elevations go evenly from ``+max_elevation`` to ``-max_elevation``; azimuths advance by
    the golden angle (137.5°), so no two views line up and none is a fixed viewpoint.
    Deterministic: the cached targets of every shape use the same views.
    """
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    golden = 180.0 * (3.0 - math.sqrt(5.0))
    views = []
    for i in range(count):
        t = 0.5 if count == 1 else i / (count - 1)
        elevation = max_elevation * (1.0 - 2.0 * t)
        views.append((round((50.0 + golden * i) % 360.0, 3), round(elevation, 3)))
    return views


def viewpoint_cameras(
    viewpoints: Sequence[tuple[float, float]],
    dist: float = CAMERA_DIST,
    fov: float = FOV,
    device: str | torch.device = "cpu",
) -> Any:
    """``FoVPerspectiveCameras`` looking at the origin from ``(azimuth, elevation)`` pairs.

    The distance and field of view are the course dataset's (2.0 and 30°): a shape in
    [-0.5, 0.5]³ with a bounding-box diagonal of 1 always fits in the image.
    """
    from course_utils.p3d import renderer

    azim = [float(a) for a, _ in viewpoints]
    elev = [float(e) for _, e in viewpoints]
    R, T = renderer.look_at_view_transform(dist=dist, elev=elev, azim=azim, device=device)
    return renderer.FoVPerspectiveCameras(R=R, T=T, fov=fov, device=device)


def depth_to_xyz(depth: torch.Tensor, cameras: Any) -> torch.Tensor:
    """Per-pixel view-frame coordinates of depth maps: the ground-truth *projections*.

    Args:
        depth: ``(..., N, H, W)`` view-space depth ``z`` (0 or less: background; its
            coordinates are set to 0).
        cameras: ``N`` NDC cameras, one per map (``depth[..., n, :, :]`` was seen by camera n).

    Returns:
        ``(..., N, H, W, 3)``: at each pixel the point ``(x, y, z)`` in that camera's view
        frame. For a perspective camera ``x = x_ndc * z * tan(fov / 2)`` (likewise y), as
        ``cameras.unproject_points(..., world_coordinates=False)`` computes it.
    """
    *lead, N, H, W = depth.shape
    if len(cameras) != N:
        raise ValueError(f"depth has {N} views but there are {len(cameras)} cameras")
    flat = depth.reshape(-1, N, H * W).transpose(0, 1)  # (N, M, HW)
    xy = ndc_grid(H, W, dtype=depth.dtype, device=depth.device).reshape(1, 1, H * W, 2)
    xy_depth = torch.cat([xy.expand(N, flat.shape[1], -1, -1), flat[..., None]], dim=-1)
    xyz = cameras.unproject_points(xy_depth.reshape(N, -1, 3), world_coordinates=False)
    xyz = xyz.reshape(N, -1, H, W, 3).transpose(0, 1).reshape(*lead, N, H, W, 3)
    return torch.where((depth > 0)[..., None], xyz, torch.zeros_like(xyz))


def fuse(
    xyz_maps: torch.Tensor, masks: torch.Tensor | None, cameras: Any
) -> tuple[torch.Tensor, torch.Tensor]:
    """Fuse per-view ``(x, y, z)`` maps into one cloud in the object (world) frame.

    Each pixel's point is moved out of its camera's view frame by the inverse pose,
    ``X_world = (X_view - T) @ R^T`` (``R`` is a rotation, so its inverse is ``R^T``). Every
    pixel of every view gives one point; ``masks`` says which are on the object.

    Args:
        xyz_maps: ``(B, N, H, W, 3)`` view-frame points (or ``(N, H, W, 3)``: B = 1).
        masks: ``(B, N, H, W)`` bool (or probabilities, kept where > 0.5), or None: all valid.
        cameras: the ``N`` fixed cameras.

    Returns:
        ``points (B, N*H*W, 3)`` (padded: every pixel, in view-then-row-major order) and
        ``valid (B, N*H*W)`` bool. ``points[b][valid[b]]`` is shape b's cloud. Gradients
        flow from the points to ``xyz_maps``.
    """
    if xyz_maps.dim() == 4:
        xyz_maps = xyz_maps[None]
        masks = None if masks is None else masks[None]
    if xyz_maps.dim() != 5 or xyz_maps.shape[-1] != 3:
        raise ValueError(f"xyz_maps must be (B, N, H, W, 3), got {tuple(xyz_maps.shape)}")
    B, N, H, W, _ = xyz_maps.shape
    if len(cameras) != N:
        raise ValueError(f"xyz_maps has {N} views but there are {len(cameras)} cameras")
    R = cameras.R.to(xyz_maps)  # (N, 3, 3)
    T = cameras.T.to(xyz_maps)  # (N, 3)
    view = xyz_maps.reshape(B, N, H * W, 3)
    # (X - T) @ R^T, one (HW, 3) @ (3, 3) product per view (einsum would permute copies)
    world = torch.matmul(view - T[None, :, None], R.transpose(1, 2)[None])
    points = world.reshape(B, N * H * W, 3)
    if masks is None:
        valid = torch.ones(B, N * H * W, dtype=torch.bool, device=points.device)
    else:
        if masks.shape != (B, N, H, W):
            raise ValueError(f"masks must be {(B, N, H, W)}, got {tuple(masks.shape)}")
        valid = (masks if masks.dtype == torch.bool else masks > 0.5).reshape(B, N * H * W)
    return points, valid


class PseudoRender:
    """What :func:`pseudo_render` returns (``S' = image_size * upsample``).

    Attributes:
        depth: ``(B, S', S')`` view depth of the nearest point per pixel, 0 where none.
        mask: ``(B, S', S')`` bool, a point fell on the pixel.
        index: ``(B, S', S')`` int32, the kept point's index in its cloud, -1 where none
            (made on first use from the winners: a loss rarely needs it).
        features: ``(B, S', S', C)`` features of the kept points (0 where none), or None.

    Unpacks like a tuple: ``depth, mask, index, features = pseudo_render(...)``.
    """

    def __init__(
        self,
        depth: torch.Tensor,
        mask: torch.Tensor,
        features: torch.Tensor | None,
        won_pixel: torch.Tensor,
        won_point: torch.Tensor,
    ) -> None:
        self.depth, self.mask, self.features = depth, mask, features
        self._won = (won_pixel, won_point)  # flat pixel and point index of every winner
        self._index: torch.Tensor | None = None

    @property
    def index(self) -> torch.Tensor:
        if self._index is None:
            won_pixel, won_point = self._won
            index = torch.full((self.mask.numel(),), -1, dtype=torch.int32, device=won_pixel.device)
            self._index = index.index_copy_(0, won_pixel, won_point.int()).view(self.mask.shape)
        return self._index

    def __iter__(self) -> Iterator[torch.Tensor | None]:
        return iter((self.depth, self.mask, self.index, self.features))


def pseudo_render(
    points: torch.Tensor,
    cameras: Any,
    image_size: int,
    upsample: int = 1,
    valid: torch.Tensor | None = None,
    features: torch.Tensor | None = None,
) -> PseudoRender:
    """Render the depth and mask of point clouds with a z-buffer: nearest point per pixel.

    Each point is projected onto the pixel that contains it in an image of
    ``S' = image_size * upsample`` pixels per side (the rule of :func:`project_to_pixels`).
    Where several points fall on one pixel (a *collision*) the nearest wins, the lowest
    point index among equally near ones, so the result is deterministic. Points behind the
    camera (``z <= 0``), outside the image or not ``valid`` are dropped.

    **How it is fast.** One ``scatter_reduce("amin")`` does the whole z-buffer: each point's
    key is an int64 holding the bit pattern of its float32 depth in the high 32 bits and
    its index in the low 32 (positive floats order like their bit patterns as integers),
    so the smallest key of a pixel names its nearest point, ties going to the lowest index
    (:func:`zbuffer` does the same in two scatters, as the exercise writes it). The
    projection runs without autograd on the valid points only (packed to the front of each
    cloud), a cloud seen by ``k`` cameras is projected by one matrix product (no copy of the
    cloud per camera), and the differentiable depth is recomputed for the winners alone:
    the autograd graph is one gather and one dot product per hit pixel.

    The output depth is that of the kept points: the gradient with respect to ``points``
    reaches exactly those (through their depth only, not their pixel: the pixel a point
    falls on is a step function of its position).

    Args:
        points: ``(B, P, 3)`` world points.
        cameras: ``B k`` NDC cameras (``k >= 1``: cloud ``b`` is seen by cameras
            ``b k ... b k + k - 1``, images in that order), or 1 camera shared by the batch.
        image_size: S, the side of the image the result stands for.
        upsample: U, render at ``S * U`` pixels per side (fewer collisions, more holes).
        valid: ``(B, P)`` bool: points to render (None: all).
        features: ``(B, P, C)`` values carried by the points (e.g. mask logits); the
            kept point's are returned per pixel.

    Returns:
        A :class:`PseudoRender` ``(depth, mask, index, features)`` of ``B k`` images
        ``S' x S'`` (its ``B`` stands for ``B k``).

    Example:
        >>> cams = viewpoint_cameras([(0.0, 0.0)])  # looks down -Z from (0, 0, 2)
        >>> out = pseudo_render(torch.tensor([[[0.1, 0.1, 0.5]]]), cams, image_size=4)
        >>> out.mask[0].nonzero().tolist(), round(float(out.depth[0, 1, 2]), 4)  # (row, col)
        ([[1, 2]], 1.5)
    """
    if points.dim() != 3 or points.shape[-1] != 3:
        raise ValueError(f"points must be (B, P, 3), got {tuple(points.shape)}")
    if image_size < 1 or upsample < 1:
        raise ValueError(f"image_size and upsample must be >= 1, got {image_size}, {upsample}")
    B, P, _ = points.shape
    C = len(cameras)
    if C != 1 and C % B != 0:
        raise ValueError(f"{C} cameras for {B} point clouds: use 1 or a multiple of {B}")
    if valid is not None and valid.shape != (B, P):
        raise ValueError(f"valid must be {(B, P)}, got {tuple(valid.shape)}")
    if features is not None and features.shape[:2] != (B, P):
        raise ValueError(f"features must be ({B}, {P}, C), got {tuple(features.shape)}")
    k = max(C // B, 1)  # cameras per cloud
    S = int(image_size) * int(upsample)
    num_pixels = B * k * S * S
    device = points.device
    rows, offsets = _projection_rows(cameras, S, points.dtype)  # (C, 4, 3), (C, 4)
    with torch.no_grad():
        # Pack each cloud's valid points to the front: order (B, Q), Q = the most valid.
        # (In training most pixels of the projections are background: a 5x smaller cloud.)
        order, packed = None, points.detach()
        if valid is not None:
            valid = valid.bool()
            counts = valid.sum(1)
            Q = int(counts.max()) if B > 0 else 0
            slot = valid.cumsum(1) - 1  # where each valid point goes
            order = torch.zeros(B, Q, dtype=torch.long, device=device)
            order.view(-1).index_copy_(
                0, (slot + torch.arange(B, device=device)[:, None] * Q)[valid],
                torch.arange(P, device=device).expand(B, P)[valid],
            )  # fmt: skip
            packed = torch.gather(packed, 1, order[..., None].expand(B, Q, 3))
        Q = packed.shape[1]
        if B * k * Q >= 2**32:  # the candidate's index must fit in the key's low 32 bits
            raise ValueError(
                f"{B} clouds x {k} cameras x {Q} points is too many for one call (< 2^32): "
                "render the batch in parts"
            )
        # The k cameras of a cloud in one product, computed transposed, (4k, 3) @ (3, Q):
        # a product with an inner size of 3 is many times faster this way round on a CPU.
        rows_b = rows.expand(B * k, 4, 3).reshape(B, 4 * k, 3)
        h = torch.baddbmm(offsets.expand(B * k, 4).reshape(B, 4 * k, 1), rows_b,
                          packed.transpose(1, 2)).view(B, k, 4, Q)  # fmt: skip
        w, z = h[:, :, 2], h[:, :, 3]
        col = torch.floor(h[:, :, 0] / w)
        row = torch.floor(h[:, :, 1] / w)
        inside = (z > 0) & (col >= 0) & (col < S) & (row >= 0) & (row < S)
        if valid is not None:
            inside &= (torch.arange(Q, device=device) < counts[:, None])[:, None]
        # Flat pixel of every candidate (b, j, q); the others go to a spare pixel at the end.
        image = torch.arange(B * k, device=device).view(B, k, 1) * (S * S)
        pixel = (row * S + col).long().add_(image)  # row * S + col < 2^24: exact as float
        pixel = torch.where(inside, pixel, num_pixels).view(-1)
        # The z-buffer: one amin over int64 keys, depth bits << 32 | candidate (b, j, q).
        # (float64 clouds are ordered by their depth rounded to float32.)
        key = z.to(torch.float32).view(torch.int32).long().view(-1)
        key = (key << 32) | torch.arange(key.numel(), device=device)
        best = _key_buffer(num_pixels + 1, device)
        best.scatter_reduce_(0, pixel, key, reduce="amin", include_self=True)
        best[num_pixels] = _NO_POINT  # the spare pixel has no winner
        # The winners, found among the candidates (no image-sized indexing): a candidate
        # won when its key is its pixel's minimum (keys are unique).
        won = (best.index_select(0, pixel) == key).nonzero().squeeze(1)  # flat (b, j, q)
        won_pixel = pixel.index_select(0, won)
        if B * k == 1:  # one cloud, one camera (the common case): no integer divisions
            won_camera, won_b, won_q = None, None, won
        else:
            won_camera = won // Q  # b k + j
            won_b = won_camera // k
            won_q = won - won_camera * Q
        won_point = won_q
        if order is not None:  # back from the packed slot to the cloud's own point index
            won_slot = won if won_b is None else won_b * Q + won_q
            won_point = order.view(-1).index_select(0, won_slot)
        mask = torch.zeros(num_pixels, dtype=torch.bool, device=device)
        mask.index_fill_(0, won_pixel, True)
    # The differentiable depth of the winners only: z = X . R[:, 2] + T_z of its camera.
    won_flat = won_point if won_b is None else won_b * P + won_point
    won_xyz = points.reshape(B * P, 3).index_select(0, won_flat)
    R_z, T_z = rows[:, 3], offsets[:, 3]  # (C, 3), (C,)
    if C == 1:
        won_z = won_xyz @ R_z[0] + T_z[0]
    else:
        won_z = (won_xyz * R_z.index_select(0, won_camera)).sum(-1) + T_z.index_select(
            0, won_camera
        )
    # In place into a fresh zero image (autograd records the scatter: no second image;
    # scatter_ is about twice as fast as index_copy_ for random pixels on a CPU).
    depth = torch.zeros(num_pixels, dtype=points.dtype, device=device)
    depth.scatter_(0, won_pixel, won_z)
    feats = None
    if features is not None:
        flat = features.reshape(B * P, -1)
        channels = flat.shape[1]
        feats = torch.zeros(num_pixels, channels, dtype=flat.dtype, device=device)
        feats.scatter_(0, won_pixel[:, None].expand(-1, channels), flat.index_select(0, won_flat))
        feats = feats.view(B * k, S, S, -1)
    return PseudoRender(
        depth.view(B * k, S, S), mask.view(B * k, S, S), feats, won_pixel, won_point
    )


#: Key of a pixel no point fell on (larger than every depth-and-index key).
_NO_POINT = torch.iinfo(torch.int64).max
_buffers = threading.local()


def _key_buffer(size: int, device: torch.device) -> torch.Tensor:
    """A ``(size,)`` int64 tensor filled with :data:`_NO_POINT`, reused between calls.

    The z-buffer of :func:`pseudo_render` is scratch memory (never returned): one buffer per
    thread and device saves allocating (and the OS zeroing) megabytes per call. Filling it
    again is one sequential pass, faster than resetting only the touched entries (random
    writes) at 30,000 points in 512².
    """
    cache = getattr(_buffers, "keys", None)
    if cache is None:
        cache = _buffers.keys = {}
    buffer = cache.get(device)
    if buffer is None or buffer.numel() < size:
        buffer = cache[device] = torch.empty(size, dtype=torch.long, device=device)
    return buffer[:size].fill_(_NO_POINT)


def _projection_rows(
    cameras: Any, size: int, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    """Four linear functions of a world point per camera, for ``size x size`` pixels.

    ``[a, c, w, z] = X @ rows^T + offsets`` with ``col = floor(a / w)``,
    ``row = floor(c / w)``, ``w`` the perspective divisor and ``z`` the view depth: the
    camera's full projection (row vectors, ``h = [X, 1] @ M``, NDC ``x = h_x / h_w``)
    with the pixel rule ``col = floor((1 - x) S / 2)`` folded in,
    ``a = (S / 2) (h_w - h_x)`` (likewise ``c`` with ``h_y``).

    Returns:
        ``rows (C, 4, 3)`` and ``offsets (C, 4)``.
    """
    R, T = cameras.R.to(dtype), cameras.T.to(dtype)
    # world -> view [[R, 0], [T, 1]] times view -> NDC: get_full_projection_transform()'s
    # matrix, without composing Transform3d objects (a third of the time for 30k points)
    K = cameras.get_projection_transform().get_matrix().to(dtype)  # (C, 4, 4)
    world_to_view = torch.zeros(len(R), 4, 4, dtype=dtype, device=R.device)
    world_to_view[:, :3, :3], world_to_view[:, 3, :3], world_to_view[:, 3, 3] = R, T, 1.0
    M = world_to_view @ K.expand(len(R), 4, 4)
    half = size / 2.0
    a = half * (M[:, :, 3] - M[:, :, 0])  # (C, 4): 3 weights and the offset
    c = half * (M[:, :, 3] - M[:, :, 1])
    z = torch.cat([R[:, :, 2], T[:, 2:3]], dim=1)
    lin = torch.stack([a, c, M[:, :, 3], z], dim=1)  # (C, 4 functions, 4)
    return lin[:, :, :3].contiguous(), lin[:, :, 3].contiguous()


def zbuffer(pixel: torch.Tensor, depth: torch.Tensor, num_pixels: int) -> torch.Tensor:
    """The z-buffer over points: for every pixel, which point is nearest.

    ``zbuf = full(inf).scatter_reduce(0, pixel, depth, "amin")`` is the smallest depth per
    pixel; the points whose depth equals their pixel's ``zbuf`` are the nearest, and a
    second ``amin`` over their indices picks one deterministically (the lowest). Two
    scatters over the points: no loop, no sort. (Two stable sorts, by depth then by pixel,
    give the same answer, but on a CPU they are several times slower.)

    Args:
        pixel: ``(M,)`` int64 flat pixel index of each point, in ``[0, num_pixels)``.
        depth: ``(M,)`` its depth.
        num_pixels: size of the flat image.

    Returns:
        ``(num_pixels,)`` int64: the index (into ``pixel``) of each pixel's nearest point,
        -1 where no point fell.

    Example:
        >>> zbuffer(torch.tensor([2, 0, 2]), torch.tensor([1.5, 1.0, 1.2]), 4).tolist()
        [1, -1, 2, -1]
    """
    pix, ids = _winners(pixel, depth, num_pixels)
    return torch.full((num_pixels,), -1, dtype=torch.long, device=pixel.device).index_put_(
        (pix,), ids
    )


def _winners(
    pixel: torch.Tensor, depth: torch.Tensor, num_pixels: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`zbuffer` as pairs: the pixels hit and the index of each one's nearest point.

    The winners are found among the points (a point wins when it is its pixel's choice),
    so no image-sized tensor is scanned: that is what makes :func:`pseudo_render` fast at
    large ``S U``.
    """
    zbuf = torch.full((num_pixels,), math.inf, dtype=depth.dtype, device=depth.device)
    zbuf.scatter_reduce_(0, pixel, depth, reduce="amin", include_self=True)
    nearest = (depth == zbuf[pixel]).nonzero().squeeze(1)  # indices of the nearest points
    winner = torch.full((num_pixels,), len(pixel), dtype=torch.long, device=depth.device)
    winner.scatter_reduce_(0, pixel[nearest], nearest, reduce="amin")
    chosen = nearest[winner[pixel[nearest]] == nearest]  # one per pixel hit
    return pixel[chosen], chosen


def project_to_pixels(
    points: torch.Tensor, cameras: Any, size: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Where points land in ``size x size`` images, and their depth.

    Pixel ``(row, col)`` spans NDC ``x ∈ [1 - 2 (col + 1) / S, 1 - 2 col / S]`` (+X is
    left; likewise y with rows, +Y up), so ``col = floor((1 - x) S / 2)``.

    Args:
        points: ``(B, P, 3)`` world points.
        cameras: ``B`` NDC cameras, or 1 shared.
        size: S.

    Returns:
        ``pixel (B, P)`` int64 flat index ``(b S + row) S + col`` into a ``(B, S, S)``
        image (no gradient: a step function of the position), ``z (B, P)`` view depth
        (differentiable), ``inside (B, P)`` bool: in front of the camera and in the image.
    """
    B, P, _ = points.shape
    if len(cameras) not in (1, B):
        raise ValueError(f"{len(cameras)} cameras for {B} point clouds: use 1 or {B}")
    rows, offsets = _projection_rows(cameras, size, points.dtype)  # the pseudo-renderer's rule
    rows, offsets = rows.expand(B, 4, 3), offsets.expand(B, 4)
    # view depth z = (X @ R + T)_z, differentiable
    z = torch.einsum("bpi,bi->bp", points, rows[:, 3]) + offsets[:, 3:4]  # (B, P)
    with torch.no_grad():
        h = torch.baddbmm(offsets[..., None], rows, points.detach().transpose(1, 2))  # (B,4,P)
        col = torch.floor(h[:, 0] / h[:, 2])
        row = torch.floor(h[:, 1] / h[:, 2])
        inside = (z.detach() > 0) & (col >= 0) & (col < size) & (row >= 0) & (row < size)
        batch = torch.arange(B, device=points.device)[:, None]
        pixel = (batch * size + row.clamp(0, size - 1).long()) * size
        pixel = pixel + col.clamp(0, size - 1).long()
    return pixel, z, inside


def upsample_nearest(image: torch.Tensor, factor: int) -> torch.Tensor:
    """``(..., H, W)`` -> ``(..., H*U, W*U)``: every pixel repeated ``U x U`` times.

    Compares a target at ``S²`` with a pseudo-render at ``(S U)²``: each fine pixel lies
    inside one coarse pixel, whose depth it gets.
    """
    if factor == 1:
        return image
    return image.repeat_interleave(factor, dim=-2).repeat_interleave(factor, dim=-1)


@torch.no_grad()
def render_depth(meshes: Any, cameras: Any, image_size: int) -> torch.Tensor:
    """Depth maps of meshes with the course's mesh rasterizer: its ``zbuf``, 0 = background.

    Args:
        meshes: a ``Meshes`` of B meshes.
        cameras: B cameras (one per mesh) or 1 shared.
        image_size: S.

    Returns:
        ``(B, S, S)`` view depth of the nearest face per pixel (0 where no face).
    """
    from course_utils.p3d import renderer

    rasterizer = renderer.MeshRasterizer(
        cameras=cameras,
        raster_settings=renderer.RasterizationSettings(image_size=image_size, faces_per_pixel=1),
    )
    zbuf = rasterizer(meshes).zbuf[..., 0]
    return torch.where(zbuf > 0, zbuf, torch.zeros_like(zbuf))


def depth_colours(
    depth: torch.Tensor, near: float = CAMERA_DIST - 0.6, far: float = CAMERA_DIST + 0.6
) -> torch.Tensor:
    """Depth maps as pictures: ``(..., H, W)`` -> ``(..., H, W, 3)`` colours in [0, 1].

    Near is yellow, far is purple (matplotlib's viridis, reversed), background (depth 0)
    white; the same ``near``/``far`` for every map, so colours compare across pictures.
    """
    import matplotlib

    t = ((far - depth) / (far - near)).clamp(0, 1).detach().cpu()
    colours = torch.from_numpy(matplotlib.colormaps["viridis"](t.numpy())[..., :3]).float()
    return torch.where((depth.detach().cpu() > 0)[..., None], colours, torch.ones(3))
