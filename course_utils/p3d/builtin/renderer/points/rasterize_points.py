"""The point-cloud rasterizer: for every pixel, the K nearest points, vectorised in PyTorch.

How a point rasterizer works
----------------------------
Each point is drawn as a small disk of radius ``r`` (NDC units) facing the camera. A pixel
is *hit* by a point when the squared distance, in the NDC x/y plane, between the pixel's
centre and the point is below ``r²``. Each pixel keeps the K hits nearest to the camera
(smallest view-space z), sorted front to back; a compositor then blends their features.

PyTorch3D's CPU rasterizer loops over every pixel and, for each, over every point (H x W x P
tests). Most of those tests are wasted: a point only reaches the few pixels inside the
square of side ``2r`` around it. This rasterizer works on **(point, pixel) candidate
pairs** instead, all at once:

1. Drop the points PyTorch3D ignores (behind the camera: ``z < 0``) and number the others
   front to back: ``order`` = rank of (z, packed index), from one sort of P numbers.
2. Per point (vectorised): the box of pixels its disk can reach. Points with boxes of a
   similar size are handled together, a chunk of at most :data:`MAX_PAIRS_PER_CHUNK`
   pairs at a time, so memory stays bounded however many points or however large the
   disks: the chunk's pairs form an ``(M, box_h, box_w)`` block.
3. Per pair: the squared distance to the pixel centre, ``dx² + dy²`` (a broadcast sum of
   an ``(M, box_h)`` and an ``(M, box_w)`` table); keep the pairs with ``d² < r²``.
4. Each hit becomes one integer key ``pixel * P + order``: sorting the keys groups the hits
   by pixel, nearest first inside a group. A hit's rank inside its group is its slot ``k``
   and the first K survive. Chunks are merged by sorting the survivors of earlier chunks
   together with the new keys (the K nearest of a union are among the K nearest of
   each part).
5. The chosen points' ``zbuf`` and ``dists`` are computed once more *with autograd*, so
   gradients reach the point positions through exactly the outputs PyTorch3D
   differentiates: ``d dists / d (x, y) = 2 (x - x_pixel, y - y_pixel)``, ``d zbuf / d z = 1``.

Conventions (PyTorch3D's): NDC +X left, +Y up; the shorter image side spans [-1, 1], the
longer one ``[-s, s]`` with ``s = long / short``; pixel centres are sampled; row 0 is the top
of the image (+Y) and column 0 its left side (+X). Ties in z are broken by the smaller
packed point index, as PyTorch3D's CPU rasterizer does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from course_utils.p3d.builtin.renderer.limits import check_number, check_output_size
from course_utils.p3d.builtin.renderer.pixels import parse_image_size, pixel_centres_ndc

__all__ = ["rasterize_points"]

#: Candidate (point, pixel) pairs examined at once (about 30 bytes each at the peak of a
#: chunk). A chunk holds at least one point, so a single disk larger than this (only
#: possible in images of more pixels) is handled alone: at most ``H * W`` pairs.
MAX_PAIRS_PER_CHUNK = 1 << 22

#: PyTorch3D refuses bin sizes that give this many bins (or more) along an image side.
_MAX_BINS_PER_SIDE = 22

#: Boxes are grown by this fraction of a pixel so that float rounding never drops a pixel
#: whose centre is (to the last bit) inside a disk; the exact test then decides.
_BOX_MARGIN_PIXELS = 1e-2


# ----------------------------------------------------------------------------- arguments


def _format_radius(radius: Any, pointclouds: Any) -> torch.Tensor:
    """The disk radius of every packed point, as PyTorch3D accepts it.

    Args:
        radius: a number (the same radius for every point), or a list/tuple/tensor of shape
            ``(N, P)`` with ``P`` the largest cloud size (padded layout), or ``(P,)`` when
            there is a single cloud.
        pointclouds: the clouds being rasterized.

    Raises:
        ValueError: a radius of another type or shape.

    Returns:
        ``(P_total,)`` radii in the dtype and on the device of the packed points.
    """
    points = pointclouds.points_packed()
    if isinstance(radius, (list, tuple)):
        radius = torch.tensor(radius, dtype=points.dtype, device=points.device)
    if torch.is_tensor(radius):
        n_clouds = len(pointclouds)
        counts = pointclouds.num_points_per_cloud()
        p_padded = int(counts.max()) if n_clouds > 0 else 0
        if n_clouds == 1 and radius.dim() == 1:
            radius = radius[None]
        if tuple(radius.shape) != (n_clouds, p_padded):
            raise ValueError(
                f"radius must be a float or a tensor of shape (N, P) = ({n_clouds}, {p_padded}) "
                f"(or (P,) for one cloud); got shape {tuple(radius.shape)}"
            )
        radius = radius.to(device=points.device, dtype=points.dtype)
        packed = radius.reshape(-1)[pointclouds.padded_to_packed_idx()]
        bad = ~torch.isfinite(packed.detach()) | (packed.detach() < 0)
        if bool(bad.any()):
            first = float(packed[bad.nonzero()[0, 0]])
            raise ValueError(
                f"radius must be finite and >= 0 for every point; {int(bad.sum())} are not "
                f"(e.g. {first:g})"
            )
        return packed
    if isinstance(radius, (int, float)) and not isinstance(radius, bool):
        radius = check_number("radius", radius, minimum=0.0)  # NaN, inf, < 0: ValueError
        return torch.full(
            (points.shape[0],), float(radius), dtype=points.dtype, device=points.device
        )
    raise ValueError(f"radius must be a float, list, tuple or tensor; got {type(radius)}")


def _check_counts(
    points_per_pixel: Any, bin_size: Any, max_points_per_bin: Any, longest_side: int
) -> int:
    """Validate K and the (output-neutral) binning arguments; return K."""
    if isinstance(points_per_pixel, bool) or not isinstance(points_per_pixel, int):
        raise ValueError(f"points_per_pixel must be an int; got {points_per_pixel!r}")
    if points_per_pixel < 1:  # 0 would silently give an empty (black) image
        raise ValueError(f"points_per_pixel must be >= 1; got {points_per_pixel}")
    if bin_size is not None:
        if isinstance(bin_size, bool) or not isinstance(bin_size, int) or bin_size < 0:
            raise ValueError(f"bin_size must be None or an int >= 0; got {bin_size!r}")
        if bin_size > 0:
            bins = 1 + (longest_side - 1) // bin_size
            if bins >= _MAX_BINS_PER_SIDE:
                raise ValueError(
                    "bin_size too small, number of points per bin must be less than "
                    f"{_MAX_BINS_PER_SIDE}; got {bins}"
                )
    if max_points_per_bin is not None and (
        isinstance(max_points_per_bin, bool)
        or not isinstance(max_points_per_bin, int)
        or max_points_per_bin <= 0
    ):
        raise ValueError(
            f"max_points_per_bin must be None or an int > 0; got {max_points_per_bin!r}"
        )
    return points_per_pixel


# ----------------------------------------------------------------------------- geometry


def _pixel_boxes(
    coord: torch.Tensor, radius: torch.Tensor, size: int, other: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """First and last pixel index (counted from the -X / -Y side) a disk can reach.

    Pixel ``i``'s centre is at ``(i + 0.5) * pitch - half`` with ``pitch = 2 / min(H, W)``
    and ``half`` the half-width of NDC along that side, so a coordinate ``c`` sits at the
    fractional index ``f = (c + half) / pitch - 0.5``. A disk of radius ``m = r / pitch``
    pixels can only cover the pixels with ``f - m < i < f + m``: from ``floor(f - m) + 1``
    to ``ceil(f + m) - 1`` (widened by :data:`_BOX_MARGIN_PIXELS` against rounding).

    Args:
        coord: ``(M,)`` point coordinates (x or y, NDC).
        radius: ``(M,)`` non-negative disk radii.
        size, other: pixels along this side and along the other one.

    Returns:
        ``lo``, ``hi`` ``(M,)`` int64 inclusive bounds clamped to the image; ``hi < lo``
        means no pixel.
    """
    pitch = 2.0 / min(size, other)
    half = size / min(size, other)
    # float64 where the device has it (MPS has not): exact enough for any image size.
    work = torch.float32 if coord.device.type == "mps" else torch.float64
    reach = radius.to(work) / pitch + _BOX_MARGIN_PIXELS
    centre = (coord.to(work) + half) / pitch - 0.5
    lo = (torch.floor(centre - reach) + 1).clamp(0.0, float(size))
    hi = (torch.ceil(centre + reach) - 1).clamp(-1.0, float(size - 1))
    return lo.long(), hi.long()


# ----------------------------------------------------------------------------- selection
def _candidate_keys(
    chunk: torch.Tensor, table: dict[str, torch.Tensor], height: int, width: int, n_order: int
) -> torch.Tensor:
    """Keys ``pixel * n_order + order`` of the pixels hit by a chunk of points (steps 2-3).

    Args:
        chunk: ``(M,)`` positions (in front-to-back order) of the points to test.
        table: per-point tables in front-to-back order: ``x``, ``y``, ``radius2``,
            ``x_lo``, ``x_hi``, ``y_lo``, ``y_hi`` (pixel boxes, indices from the -X / -Y
            side), ``first_pixel`` (flat index of the point's image's first pixel), and the
            pixel centres ``xs``, ``ys`` from the -X / -Y side.
        height, width: image size.
        n_order: number of visible points (the multiplier of ``pixel`` in the keys).

    Returns:
        ``(hits,)`` int64 keys, in no particular order.
    """
    x_lo, y_lo = table["x_lo"][chunk], table["y_lo"][chunk]
    box_w = int((table["x_hi"][chunk] - x_lo).max()) + 1
    box_h = int((table["y_hi"][chunk] - y_lo).max()) + 1
    cols = x_lo[:, None] + torch.arange(box_w, device=chunk.device)  # (M, box_w)
    rows = y_lo[:, None] + torch.arange(box_h, device=chunk.device)  # (M, box_h)
    col_ok = cols <= table["x_hi"][chunk][:, None]
    row_ok = rows <= table["y_hi"][chunk][:, None]
    cols, rows = cols.clamp(max=width - 1), rows.clamp(max=height - 1)
    # The exact test, in the points' dtype, as PyTorch3D computes it; pixels outside a
    # point's own box get an infinite distance.
    dx = table["x"][chunk][:, None] - table["xs"][cols]
    dy = table["y"][chunk][:, None] - table["ys"][rows]
    inf = torch.tensor(float("inf"), dtype=dx.dtype, device=dx.device)
    dx2 = torch.where(col_ok, dx * dx, inf)
    dy2 = torch.where(row_ok, dy * dy, inf)
    hit = (dx2[:, None, :] + dy2[:, :, None]) < table["radius2"][chunk][:, None, None]
    # key = (first_pixel + row_in_image * W + col_in_image) * n_order + order, split into
    # a per-row and a per-column part so the (M, box_h, box_w) block needs one addition.
    row_part = (table["first_pixel"][chunk][:, None] + (height - 1 - rows) * width) * n_order
    row_part = row_part + chunk[:, None]
    col_part = (width - 1 - cols) * n_order
    return (row_part[:, :, None] + col_part[:, None, :])[hit]


def _keep_nearest(keys: torch.Tensor, n_order: int, k: int) -> tuple[torch.Tensor, ...]:
    """The K smallest keys of every pixel (step 4).

    Args:
        keys: ``(M,)`` unique int64 keys ``pixel * n_order + order``.
        n_order: the multiplier of ``pixel`` in the keys.
        k: how many keys each pixel keeps.

    Returns:
        ``keys`` (sorted), ``pixel`` and ``slot`` (rank inside the pixel) of the survivors.
    """
    keys = torch.sort(keys).values
    pixel = torch.div(keys, n_order, rounding_mode="floor")
    position = torch.arange(keys.numel(), device=keys.device)
    run_start = torch.ones_like(keys, dtype=torch.bool)
    run_start[1:] = pixel[1:] != pixel[:-1]
    run_first = torch.where(run_start, position, torch.zeros_like(position)).cummax(0).values
    slot = position - run_first
    keep = slot < k
    return keys[keep], pixel[keep], slot[keep]


def _select_nearest(
    points: torch.Tensor,
    cloud: torch.Tensor,
    radius: torch.Tensor,
    n_clouds: int,
    height: int,
    width: int,
    k: int,
) -> torch.Tensor:
    """Packed index of the K nearest points of every pixel (steps 1-4 of the module doc).

    Args:
        points: ``(P, 3)`` NDC x, y and view z of the packed points (no autograd needed).
        cloud: ``(P,)`` int64 cloud of each point.
        radius: ``(P,)`` disk radius of each point.
        n_clouds, height, width, k: output size ``N x H x W x K``.

    Returns:
        ``(N * H * W * K,)`` int64 point indices, -1 in unused slots, nearest first.
    """
    device = points.device
    idx = torch.full((n_clouds * height * width * k,), -1, dtype=torch.int64, device=device)
    if points.shape[0] == 0 or k == 0:
        return idx
    x, y, z = points.unbind(1)
    radius2 = radius * radius

    # 1. Visible points, front to back; ties keep the packed order (a stable sort).
    usable = (z >= 0) & torch.isfinite(x) & torch.isfinite(y) & ~torch.isnan(radius2)
    ids = usable.nonzero().squeeze(1)
    ids = ids[torch.sort(z[ids], stable=True).indices]
    n_order = ids.numel()
    if n_order == 0:
        return idx

    # 2. Per-point tables in that order, with each point's pixel box.
    xs, ys = pixel_centres_ndc(height, width, points.dtype, device)
    table = {"x": x[ids], "y": y[ids], "radius2": radius2[ids], "xs": xs.flip(0)}
    table["ys"] = ys.flip(0)
    table["first_pixel"] = cloud[ids] * (height * width)
    r_abs = radius[ids].abs()
    table["x_lo"], table["x_hi"] = _pixel_boxes(table["x"], r_abs, width, height)
    table["y_lo"], table["y_hi"] = _pixel_boxes(table["y"], r_abs, height, width)
    box_w = table["x_hi"] - table["x_lo"] + 1
    box_h = table["y_hi"] - table["y_lo"] + 1
    in_image = (box_w > 0) & (box_h > 0)
    # Group points whose boxes have about the same size: the same power of two of the
    # longer side. Then a chunk's (M, box_h, box_w) block wastes little.
    size_class = torch.ceil(torch.log2(torch.maximum(box_w, box_h).clamp(min=1).float()))
    size_class = torch.where(in_image, size_class, torch.full_like(size_class, -1.0))

    kept = torch.empty(0, dtype=torch.int64, device=device)
    pixel = slot = kept
    for cls in torch.unique(size_class).tolist():
        if cls < 0:
            continue
        members = (size_class == cls).nonzero().squeeze(1)
        side = 2 ** int(cls)
        for chunk in members.split(max(1, MAX_PAIRS_PER_CHUNK // (side * side))):
            keys = _candidate_keys(chunk, table, height, width, n_order)
            # 4. Merge with what earlier chunks kept; each pixel keeps its K nearest.
            kept, pixel, slot = _keep_nearest(torch.cat((kept, keys)), n_order, k)
    idx[pixel * k + slot] = ids[kept - pixel * n_order]
    return idx


def _gather_values(
    points: torch.Tensor, idx: torch.Tensor, n_clouds: int, height: int, width: int, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """``zbuf`` and ``dists`` of the chosen points, differentiable w.r.t. ``points``.

    Args:
        points: ``(P, 3)`` packed points (NDC x, y; view z), possibly requiring grad.
        idx: ``(N * H * W * K,)`` chosen point per slot, -1 when empty.
        n_clouds, height, width, k: output size.

    Returns:
        ``zbuf`` and ``dists``, each ``(N, H, W, K)`` in the points' dtype, -1 when empty.
    """
    shape = (n_clouds, height, width, k)
    empty = torch.full(shape, -1.0, dtype=points.dtype, device=points.device)
    chosen = idx >= 0
    slots = chosen.nonzero().squeeze(1)
    if slots.numel() == 0:
        # Keep the outputs attached to the graph (zero gradients) when nothing is hit.
        zero = points[:0].sum()
        return empty + zero, empty + zero
    xs, ys = pixel_centres_ndc(height, width, points.dtype, points.device)
    col = torch.div(slots, k, rounding_mode="floor") % width
    row = torch.div(slots, k * width, rounding_mode="floor") % height
    p = points[idx[slots]]
    dx = p[:, 0] - xs[col]
    dy = p[:, 1] - ys[row]
    mask = chosen.view(shape)
    zbuf = empty.masked_scatter(mask, p[:, 2])
    dists = empty.masked_scatter(mask, dx * dx + dy * dy)
    return zbuf, dists


# ----------------------------------------------------------------------------- public API
def rasterize_points(
    pointclouds: Any,
    image_size: int | Sequence[int] = 256,
    radius: float | Sequence[float] | torch.Tensor = 0.01,
    points_per_pixel: int = 8,
    bin_size: int | None = None,
    max_points_per_bin: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Rasterize a batch of point clouds: the K nearest points of every pixel.

    The points must already be in NDC x, y with the view-space z as third coordinate
    (what ``PointsRasterizer.transform`` produces). Points with ``z < 0`` (behind the
    camera) are ignored. See the module docstring for the algorithm.

    Args:
        pointclouds: a ``Pointclouds`` batch of N clouds (packed points ``(P, 3)``).
        image_size: ``S`` for an ``S x S`` image or ``(H, W)``.
        radius: disk radius in NDC units: a float, or a per-point tensor (or list) of shape
            ``(N, P)`` (``P`` = the largest cloud size; ``(P,)`` also works for N = 1).
        points_per_pixel: K, how many points each pixel keeps (nearest first).
        bin_size: accepted for compatibility; PyTorch3D documents that binning does not
            change the output, and this rasterizer does not bin. Values giving 22 or more
            bins per side raise ``ValueError`` as in PyTorch3D.
        max_points_per_bin: accepted for compatibility; does not change the output.

    Raises:
        ValueError: bad image size, radius, points_per_pixel or bin arguments.

    Returns:
        ``(idx, zbuf, dists)``, each ``(N, H, W, K)``:

        - ``idx`` int32: packed index of the k-th nearest point (ascending z, ties by the
          smaller index), -1 in slots no point fills;
        - ``zbuf``: that point's view-space z, -1 where empty;
        - ``dists``: squared NDC distance in the x/y plane from the pixel centre to the
          point, -1 where empty.

        ``zbuf`` and ``dists`` are differentiable w.r.t. the packed points; they have the
        points' dtype (float32 normally; float64 works too).

    Example:
        >>> import torch
        >>> from course_utils.p3d.builtin.structures import Pointclouds
        >>> cloud = Pointclouds(points=[torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.0, 2.0]])])
        >>> idx, zbuf, dists = rasterize_points(cloud, image_size=4, radius=0.5, points_per_pixel=2)
        >>> idx[0, :, :, 0]  # the nearer point covers the four central pixels
        tensor([[-1, -1, -1, -1],
                [-1,  0,  0, -1],
                [-1,  0,  0, -1],
                [-1, -1, -1, -1]], dtype=torch.int32)
        >>> zbuf[0, 1, 1].tolist(), dists[0, 1, 1].tolist()
        ([1.0, 2.0], [0.125, 0.125])
    """
    height, width = parse_image_size(image_size)
    k = _check_counts(points_per_pixel, bin_size, max_points_per_bin, max(height, width))
    points = pointclouds.points_packed()
    if not torch.is_tensor(points) or points.dim() != 2 or points.shape[1] != 3:
        raise ValueError("rasterize_points: the packed points must have shape (P, 3)")
    if not points.is_floating_point():
        raise ValueError(f"rasterize_points: points must be floating point; got {points.dtype}")
    radii = _format_radius(radius, pointclouds)
    n_clouds = len(pointclouds)
    # idx (int64, then int32) + zbuf + dists per slot, checked before allocating.
    check_output_size(
        "rasterize_points",
        (n_clouds, height, width, k),
        12 + 2 * points.element_size(),
        "image_size or points_per_pixel",
    )
    counts = pointclouds.num_points_per_cloud().to(points.device)
    cloud = torch.repeat_interleave(torch.arange(n_clouds, device=points.device), counts)
    with torch.no_grad():
        idx = _select_nearest(points.detach(), cloud, radii.detach(), n_clouds, height, width, k)
    zbuf, dists = _gather_values(points, idx, n_clouds, height, width, k)
    return idx.view(n_clouds, height, width, k).to(torch.int32), zbuf, dists
