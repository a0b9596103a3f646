"""A differentiable Gaussian rasterizer in pure PyTorch (3D Gaussian splatting on a CPU).

Rendering one view of P Gaussians takes four steps, all vectorised over Gaussians and
pixels (the only Python loops run over cameras and over bounded *chunks*):

1. **Project** (:func:`project_gaussians`, with autograd): each centre goes through the
   camera like any point: ``X_view = X @ R + T`` (PyTorch3D's row-vector convention),
   then the camera's projection to NDC, then to pixel coordinates. The 3D covariance
   ``Σ`` becomes a 2D one with the *Jacobian* ``J`` of that projection at the centre
   (EWA splatting, Zwicker et al. 2001): ``Σ₂ = J Rᵀ Σ R Jᵀ + 0.3 I``. The projection
   is not linear, so ``J`` linearises it around the centre; the ``0.3`` px² is a low-pass
   filter that keeps every splat at least about a pixel wide (no aliasing, no
   zero-area Gaussians).
2. **Plan** (no autograd): the box of pixels around each 2D ellipse out to 3σ; Gaussians
   behind the camera or off screen get none. Gaussians are sorted once by view depth
   (front to back) and cut into chunks whose (Gaussian, pixel) **candidate pairs** add up
   to about ``CHUNK_PAIRS`` — the same design as the course's mesh rasterizer, so memory
   stays bounded however many Gaussians or pixels there are.
3. **Composite front to back** chunk by chunk: per pair ``α = o · exp(-½ dᵀ Σ₂⁻¹ d)``
   (``d`` from the centre to the pixel), clamped to 0.99 and dropped below 1/255; per
   pixel ``C = Σᵢ cᵢ αᵢ Tᵢ`` with transmittance ``Tᵢ = Πⱼ<ᵢ (1 - αⱼ)``. A pixel whose
   transmittance falls below ``T_MIN`` is finished (*early termination*): later chunks
   skip it.
4. **Backward** (:class:`_Composite`): instead of keeping every pair's autograd graph
   (memory that grows with the pairs), the backward pass walks the same chunks again and
   uses the closed form ``∂C/∂αᵢ = Tᵢ cᵢ - (C_after_i) / (1 - αᵢ)``, where ``C_after_i``
   (everything composited behind ``i``, background included) is the final colour minus
   what was accumulated up to ``i``. Gradients then flow to the 2D means, the inverse 2D
   covariances (conics), the opacities and the colours, and from there by ordinary
   autograd to every 3D parameter.

Outputs: colour, alpha (``1 - T_final``) and depth (the alpha-weighted mean view z of the
Gaussians seen at the pixel, 0 where nothing is).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from course_utils.p3d import transforms
from course_utils.p3d.builtin.renderer.limits import check_output_size
from course_utils.splats.gaussians import Gaussians, eval_sh

__all__ = ["render_gaussians", "project_gaussians", "composite_pixel", "RenderOutput", "Projected"]

#: Candidate (Gaussian, pixel) pairs examined at once (bounds memory: ~240 bytes each).
CHUNK_PAIRS = 1 << 19
#: Bytes per candidate pair of a chunk, forward and backward (float32; measured peak memory
#: of one Gaussian covering a 1500² image: about 230, rounded up).
PAIR_BYTES = 240
#: Bytes per pixel and view of the arrays chunking cannot bound (float32): the outputs and
#: their stacked copies, the per-pixel accumulators, transmittance, summed-area table and
#: the backward's copies (measured: about 115 with gradients; rounded up with room).
PIXEL_BYTES = 168
#: Contributing pairs the forward pass keeps for the backward (beyond: found again).
CACHE_PAIRS = 1 << 22
#: Low-pass filter added to every 2D covariance, in px².
DILATION = 0.3
#: Pairs whose alpha is below this contribute nothing (as in the 3DGS reference).
ALPHA_MIN = 1.0 / 255.0
#: Opacity is clamped here so that 1 - alpha never reaches 0 (the backward divides by it).
ALPHA_MAX = 0.99
#: A pixel whose transmittance falls below this is finished (early termination).
T_MIN = 1e-4
#: Mahalanobis radius of the footprint: 3 standard deviations.
SIGMAS = 3.0


@dataclass
class Projected:
    """Per-Gaussian screen quantities of one view (P Gaussians).

    ``means2d`` ``(P, 2)`` pixel coordinates (column, row; pixel centres at integers),
    ``cov2d`` ``(P, 2, 2)`` in px² (dilated), ``conics`` ``(P, 3)`` the entries
    ``(a, b, c)`` of ``Σ₂⁻¹ = [[a, b], [b, c]]``, ``depths`` ``(P,)`` view z,
    ``colors`` ``(P, 3)``, ``opacities`` ``(P,)``, ``visible`` ``(P,)`` bool.
    """

    means2d: torch.Tensor
    cov2d: torch.Tensor
    conics: torch.Tensor
    depths: torch.Tensor
    colors: torch.Tensor
    opacities: torch.Tensor
    visible: torch.Tensor


@dataclass
class RenderOutput:
    """``images`` ``(N, H, W, 3)``, ``alphas`` ``(N, H, W)``, ``depths`` ``(N, H, W)``;
    ``means2d``: per view the ``(P, 2)`` screen means (their ``.grad`` after backward is the
    view-space positional gradient that densification reads); ``radii`` ``(N, P)``: the
    largest half-side of each Gaussian's pixel box (0 when not drawn)."""

    images: torch.Tensor
    alphas: torch.Tensor
    depths: torch.Tensor
    means2d: list[torch.Tensor]
    radii: torch.Tensor


def _projection_matrix(cameras) -> torch.Tensor:
    """``(4, 4)`` view -> NDC matrix of one camera, row-vector convention (``p = [X, 1] @ M``)."""
    if not cameras.in_ndc():
        raise NotImplementedError(
            "render_gaussians: cameras with in_ndc=False are not supported; "
            "use NDC cameras (FoVPerspectiveCameras, or PerspectiveCameras without image_size)"
        )
    return cameras.get_projection_transform().get_matrix()[0]


def project_gaussians(
    gaussians: Gaussians,
    cameras,
    image_size: tuple[int, int],
    near: float = 0.01,
    dilation: float = DILATION,
) -> Projected:
    """Project every Gaussian into one camera (differentiable; see the module docstring).

    Args:
        gaussians: P Gaussians.
        cameras: a PyTorch3D camera object holding **one** camera (NDC cameras:
            ``FoVPerspectiveCameras``, ``FoVOrthographicCameras``, ``PerspectiveCameras``).
        image_size: ``(H, W)``.
        near: Gaussians whose centre has view z below this are not drawn.
        dilation: low-pass filter added to the 2D covariances (px²).
    """
    height, width = image_size
    short = min(height, width)
    R, T = cameras.R[0], cameras.T[0]
    M = _projection_matrix(cameras).to(gaussians.means.dtype)
    view = gaussians.means @ R + T  # (P, 3)
    p = view @ M[:3] + M[3]  # (P, 4) homogeneous clip coordinates
    w = p[:, 3]
    safe_w = torch.where(w.abs() > 1e-8, w, torch.full_like(w, 1e-8))
    ndc = p[:, :2] / safe_w[:, None]
    # Jacobian of NDC (x, y) w.r.t. the view point: d(p_i / w)/dX_k = (M[k, i] - ndc_i M[k, 3]) / w.
    # Centres far outside the screen are clamped first (as the reference code does): there the
    # linearisation is poor and the splat would grow without bound.
    limit = 1.3 * torch.tensor([width / short, height / short], dtype=ndc.dtype, device=ndc.device)
    ndc_c = torch.maximum(torch.minimum(ndc, limit), -limit)
    jac = (M[:3, :2].T[None] - ndc_c[:, :, None] * M[:3, 3][None, None, :]) / safe_w[:, None, None]
    # NDC -> pixels: column = (W - 1)/2 - short/2 * x (NDC +X is the image's left side).
    half = short / 2.0
    means2d = torch.stack(
        [(width - 1) / 2.0 - half * ndc[:, 0], (height - 1) / 2.0 - half * ndc[:, 1]], 1
    )
    jac = -half * jac  # (P, 2, 3)
    # Σ₂ = J Rᵀ Σ R Jᵀ with Σ = M Mᵀ, M = R_q S (gaussians.covariances): Σ₂ = A Aᵀ with
    # A = J Rᵀ M (Rᵀ is the column form of X_view = X @ R). Cheaper than the 3x3 products.
    quats = gaussians.quats
    rot = transforms.quaternion_to_matrix(quats / quats.norm(dim=1, keepdim=True))
    m = rot * torch.exp(gaussians.log_scales)[:, None, :]  # (P, 3, 3)
    A = (jac @ R.T) @ m  # (P, 2, 3)
    a = (A[:, 0] * A[:, 0]).sum(1) + dilation
    b = (A[:, 0] * A[:, 1]).sum(1)
    c = (A[:, 1] * A[:, 1]).sum(1) + dilation
    cov2d = torch.stack([torch.stack([a, b], 1), torch.stack([b, c], 1)], 1)
    det = a * c - b * b
    det_safe = torch.where(det > 0, det, torch.ones_like(det))
    conics = torch.stack([c / det_safe, -b / det_safe, a / det_safe], 1)
    depths = view[:, 2]
    centres = cameras.get_camera_center()[0].to(view.dtype)
    dirs = gaussians.means - centres
    dirs = dirs / dirs.norm(dim=1, keepdim=True).clamp(min=1e-12)
    colors = eval_sh(gaussians.sh, dirs)
    visible = (depths > near) & (det > 0) & torch.isfinite(means2d).all(1)
    return Projected(means2d, cov2d, conics, depths, colors, gaussians.opacities, visible)


# ----------------------------------------------------------------------------- the plan
@dataclass
class _Plan:
    """What the chunks need, computed without autograd: which Gaussians in which order."""

    order: torch.Tensor  # (V,) visible Gaussians sorted front to back
    col_lo: torch.Tensor  # (V,) box of each, in that order
    row_lo: torch.Tensor
    cols: torch.Tensor
    rows: torch.Tensor
    bounds: list[int]  # chunk boundaries into `order`
    height: int
    width: int
    largest_chunk: int  # candidate pairs of the largest chunk


def _plan(proj: Projected, height: int, width: int, chunk_pairs: int) -> tuple[_Plan, torch.Tensor]:
    """Boxes, depth order and chunk boundaries; also the per-Gaussian box radius ``(P,)``."""
    with torch.no_grad():
        u, v = proj.means2d[:, 0], proj.means2d[:, 1]
        # The bounding box of the ellipse where the Gaussian still matters: Mahalanobis
        # radius 3, or less where alpha = o exp(-r²/2) falls below ALPHA_MIN sooner (faint
        # Gaussians get smaller boxes). Half-sides k sqrt(Σxx), k sqrt(Σyy).
        opac = proj.opacities.detach()
        reach = torch.sqrt(2 * torch.log((opac / ALPHA_MIN).clamp(min=1.0))).clamp(max=SIGMAS)
        rx = reach * proj.cov2d[:, 0, 0].clamp(min=0).sqrt()
        ry = reach * proj.cov2d[:, 1, 1].clamp(min=0).sqrt()
        col_lo = torch.ceil(u - rx).clamp(0, width - 1)
        col_hi = torch.floor(u + rx).clamp(-1, width - 1)
        row_lo = torch.ceil(v - ry).clamp(0, height - 1)
        row_hi = torch.floor(v + ry).clamp(-1, height - 1)
        offscreen = (u + rx < 0) | (u - rx > width - 1) | (v + ry < 0) | (v - ry > height - 1)
        visible = (
            proj.visible
            & ~offscreen
            & torch.isfinite(rx)
            & torch.isfinite(ry)
            & (opac >= ALPHA_MIN)
        )
        cols = torch.where(visible, (col_hi - col_lo + 1).clamp(min=0), torch.zeros_like(u)).long()
        rows = torch.where(visible, (row_hi - row_lo + 1).clamp(min=0), torch.zeros_like(u)).long()
        visible &= (cols > 0) & (rows > 0)
        radii = torch.where(visible, torch.maximum(rx, ry).ceil(), torch.zeros_like(rx))
        idx = torch.nonzero(visible).flatten()
        order = idx[torch.argsort(proj.depths.detach()[idx], stable=True)]
        counts = cols[order] * rows[order]
        ends = torch.cumsum(counts, 0)
        total = int(ends[-1]) if ends.numel() else 0
        targets = torch.arange(chunk_pairs, max(total, chunk_pairs), chunk_pairs, device=u.device)
        inner = torch.searchsorted(ends, targets, right=True).tolist()
        bounds = sorted(set([0] + [b for b in inner if 0 < b < len(order)] + [len(order)]))
        # A Gaussian's box is never split, so one huge box makes a chunk of its own size.
        edges = torch.cat([ends.new_zeros(1), ends])[torch.tensor(bounds, device=ends.device)]
        largest = int((edges[1:] - edges[:-1]).max()) if len(bounds) > 1 else 0
        plan = _Plan(
            order,
            col_lo[order].long(),
            row_lo[order].long(),
            cols[order],
            rows[order],
            bounds,
            height,
            width,
            largest,
        )
    return plan, radii


def _segment_starts(key: torch.Tensor) -> torch.Tensor:
    """Bool ``(M,)``: True where a run of equal (sorted) keys starts."""
    start = torch.ones_like(key, dtype=torch.bool)
    start[1:] = key[1:] != key[:-1]
    return start


def _exclusive_segment_cumsum(x: torch.Tensor, starts: torch.Tensor) -> torch.Tensor:
    """Per run of a sorted key, the sum of the values before each element, in float64.

    ``x`` is ``(M,)`` or ``(C, M)`` (runs along the last dimension); ``starts`` ``(M,)``
    marks where each run begins. Float64 keeps a cumulative sum over a million pairs exact
    enough that subtracting the run's start loses nothing that matters.
    """
    x64 = x.double()
    before = torch.cumsum(x64, -1) - x64
    first = torch.nonzero(starts).flatten()
    run_id = torch.cumsum(starts.int(), 0) - 1
    return before - before.index_select(-1, first).index_select(-1, run_id)


def _alive_in_boxes(trans_pix: torch.Tensor, plan: _Plan, start: int, stop: int) -> torch.Tensor:
    """Per Gaussian ``start:stop`` of the plan, how many pixels of its box are not finished."""
    alive = (trans_pix >= T_MIN).view(plan.height, plan.width).int()
    sat = torch.nn.functional.pad(alive.cumsum(0).cumsum(1), (1, 0, 1, 0)).flatten()
    r0, c0 = plan.row_lo[start:stop], plan.col_lo[start:stop]
    r1, c1 = r0 + plan.rows[start:stop], c0 + plan.cols[start:stop]
    w = plan.width + 1
    return sat[r1 * w + c1] - sat[r0 * w + c1] - sat[r1 * w + c0] + sat[r0 * w + c0]


@dataclass
class _Chunk:
    """The pairs of one chunk that contribute, in (pixel, depth) order."""

    gauss: torch.Tensor  # (M,) Gaussian index
    pixel: torch.Tensor  # (M,) flat pixel index row * W + col
    dx: torch.Tensor  # (M,) pixel centre minus 2D mean
    dy: torch.Tensor
    alpha: torch.Tensor  # (M,) clamped alpha
    clamped: torch.Tensor  # (M,) bool: alpha hit ALPHA_MAX
    trans: torch.Tensor  # (M,) transmittance in front of the pair
    starts: torch.Tensor  # (M,) bool: first pair of its pixel in this chunk


def _walk(plan: _Plan, means2d, conics, opacities, state: dict) -> Iterator[_Chunk]:
    """Go through the chunks front to back, yielding each chunk's contributing pairs.

    When the walk ends, ``state["trans"]`` holds every pixel's final transmittance
    ``(H*W,)``. Forward and backward both call this, so they see exactly the same pairs.
    """
    height, width = plan.height, plan.width
    device, dtype = means2d.device, means2d.dtype
    trans_pix = torch.ones(height * width, dtype=dtype, device=device)
    # One row per visible Gaussian (in depth order) with everything a pair needs, so that
    # a pair fetches its Gaussian's values in a single gather.
    table = torch.cat(
        [means2d[plan.order], conics[plan.order], opacities[plan.order, None]], 1
    ).detach()  # (V, 6): u, v, a, b, c, o
    boxes = torch.stack([plan.col_lo, plan.row_lo, plan.cols], 1)  # (V, 3)
    for start, stop in zip(plan.bounds[:-1], plan.bounds[1:]):
        counts = plan.cols[start:stop] * plan.rows[start:stop]
        if start > 0:
            # Skip Gaussians whose whole box is finished (early termination, Gaussian level):
            # a summed-area table of the pixels still alive counts them per box in 4 lookups.
            counts = counts * (_alive_in_boxes(trans_pix, plan, start, stop) > 0)
        pos = torch.repeat_interleave(torch.arange(start, stop, device=device), counts)
        if pos.numel() == 0:
            continue
        offset = torch.arange(pos.numel(), device=device) - torch.repeat_interleave(
            torch.cumsum(counts, 0) - counts, counts
        )
        col_lo, row_lo, box_w = boxes.index_select(0, pos).unbind(1)
        box_row = torch.div(offset, box_w, rounding_mode="floor")
        row = row_lo + box_row
        col = col_lo + (offset - box_row * box_w)
        pixel = row * width + col
        u, v, a, b, c, o = table.index_select(0, pos).unbind(1)
        dx, dy = col.to(dtype) - u, row.to(dtype) - v
        power = -0.5 * (a * dx * dx + c * dy * dy) - b * dx * dy
        raw = o * torch.exp(power)
        # Keep pairs inside the 3σ ellipse, bright enough, at pixels not yet finished
        # (early termination in an earlier chunk; none are before the first chunk): one
        # compaction for all three tests.
        keep = (power >= -0.5 * SIGMAS**2) & (raw >= ALPHA_MIN)
        if start > 0:
            keep &= trans_pix[pixel] >= T_MIN
        idx = torch.nonzero(keep).flatten()
        # Pairs were made Gaussian by Gaussian in depth order: a stable sort by pixel gives
        # each pixel's pairs front to back. (index_select, not x[idx]: several times faster
        # on a CPU; the per-pair values are fetched once, after the last compaction.)
        pixel = pixel.index_select(0, idx)
        by_pixel = torch.sort(pixel.int(), stable=True).indices  # int32 sorts faster
        idx, pixel = idx.index_select(0, by_pixel), pixel.index_select(0, by_pixel)
        raw = raw.index_select(0, idx)
        alpha = raw.clamp(max=ALPHA_MAX)
        starts = _segment_starts(pixel)
        log_t = torch.log1p(-alpha)
        trans = trans_pix.index_select(0, pixel) * torch.exp(
            _exclusive_segment_cumsum(log_t, starts)
        ).to(dtype)
        # Early termination inside the chunk: a pixel stops once its transmittance is spent.
        live = trans >= T_MIN
        if not bool(live.all()):
            live = torch.nonzero(live).flatten()
            idx, pixel, raw, alpha, trans, log_t = (
                t.index_select(0, live) for t in (idx, pixel, raw, alpha, trans, log_t)
            )
            starts = _segment_starts(pixel)
        gauss = plan.order.index_select(0, pos.index_select(0, idx))
        dx, dy = dx.index_select(0, idx), dy.index_select(0, idx)
        clamped = raw > ALPHA_MAX
        yield _Chunk(gauss, pixel, dx, dy, alpha, clamped, trans, starts)
        spent = torch.zeros(height * width, dtype=torch.float64, device=device)
        spent.index_add_(0, pixel, log_t.double())
        trans_pix = trans_pix * torch.exp(spent).to(dtype)
    state["trans"] = trans_pix


class _Composite(torch.autograd.Function):
    """Front-to-back compositing of the planned pairs, with a memory-bounded backward.

    Per-pair and per-pixel arrays are kept channel-first (``(C, M)``, ``(C, H*W)``): a
    scatter-add along the last dimension is several times faster on a CPU than one over
    rows of a ``(M, C)`` array.
    """

    @staticmethod
    def forward(ctx, means2d, conics, opacities, features, background, plan):  # noqa: D102
        hw = plan.height * plan.width
        feat_t = features.detach().T.contiguous()  # (C, P)
        acc = feat_t.new_zeros(feat_t.shape[0], hw)
        state: dict = {}
        cache: list[_Chunk] | None = []
        cached = 0
        for chunk in _walk(plan, means2d, conics, opacities, state):
            weight = chunk.alpha * chunk.trans
            acc.index_add_(1, chunk.pixel, weight[None] * feat_t.index_select(1, chunk.gauss))
            if cache is not None:
                cached += chunk.pixel.numel()
                # Small enough: keep the pairs so the backward need not find them again.
                cache = cache + [chunk] if cached <= CACHE_PAIRS else None
        trans_final = state["trans"]
        out = acc + trans_final[None] * background[:, None]  # (C, H*W)
        ctx.plan, ctx.cache = plan, cache
        ctx.save_for_backward(means2d, conics, opacities, features, out, trans_final)
        return out.T, 1.0 - trans_final

    @staticmethod
    def backward(ctx, grad_out, grad_alpha):  # noqa: D102
        means2d, conics, opacities, features, out, trans_final = ctx.saved_tensors
        channels, num = features.shape[1], features.shape[0]
        feat_t = features.T.contiguous()
        g_means, g_conics = means2d.new_zeros(2, num), conics.new_zeros(3, num)
        g_opac, g_feat = opacities.new_zeros(num), features.new_zeros(channels, num)
        grad_out = out.new_zeros(out.shape) if grad_out is None else grad_out.T.contiguous()
        grad_alpha = torch.zeros_like(trans_final) if grad_alpha is None else grad_alpha
        acc = torch.zeros_like(out)  # composited so far (without background), (C, H*W)
        conics_t = conics.T.contiguous()
        chunks = (
            ctx.cache if ctx.cache is not None else _walk(ctx.plan, means2d, conics, opacities, {})
        )
        for number, chunk in enumerate(chunks):
            pix, gid = chunk.pixel, chunk.gauss
            feat = feat_t.index_select(1, gid)  # (C, M)
            weight = chunk.alpha * chunk.trans
            contrib = weight[None] * feat
            inclusive = _exclusive_segment_cumsum(contrib, chunk.starts) + contrib.double()
            # Everything composited behind the pair, background included (nothing is in
            # front of the first chunk).
            after = out.index_select(1, pix) - inclusive.to(contrib.dtype)
            if number > 0:
                after = after - acc.index_select(1, pix)
            g = grad_out.index_select(1, pix)
            one_minus = 1.0 - chunk.alpha
            # C = (what is in front) + T_i alpha_i c_i + (1 - alpha_i) * [after_i / (1 - alpha_i)]:
            # the pair's own colour, and everything behind it dimmed by (1 - alpha_i).
            d_alpha = (g * (chunk.trans[None] * feat - after / one_minus[None])).sum(0)
            d_alpha = d_alpha + grad_alpha[pix] * trans_final[pix] / one_minus
            g_feat.index_add_(1, gid, g * weight[None])
            # alpha = o exp(power) (not where clamped); power = -(a dx² + c dy²)/2 - b dx dy.
            d_alpha = torch.where(chunk.clamped, torch.zeros_like(d_alpha), d_alpha)
            g_opac.index_add_(0, gid, d_alpha * chunk.alpha / opacities.index_select(0, gid))
            d_power = d_alpha * chunk.alpha
            a, b, c = conics_t.index_select(1, gid)
            dx, dy = chunk.dx, chunk.dy
            g_conics.index_add_(
                1, gid, torch.stack([-0.5 * dx * dx, -dx * dy, -0.5 * dy * dy]) * d_power
            )
            # d = pixel - mean, so d(power)/d(mean) = +Σ⁻¹ d.
            g_means.index_add_(1, gid, torch.stack([a * dx + b * dy, b * dx + c * dy]) * d_power)
            acc.index_add_(1, pix, contrib)
        return g_means.T, g_conics.T, g_opac, g_feat.T, None, None


def _check_inputs(gaussians: Gaussians, cameras, image_size) -> tuple[int, int]:
    if not isinstance(gaussians, Gaussians):
        raise TypeError(
            f"render_gaussians: gaussians must be a Gaussians, got {type(gaussians).__name__}"
        )
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    if len(image_size) != 2 or not all(isinstance(s, int) and s > 0 for s in image_size):
        raise ValueError(
            f"render_gaussians: image_size must be a positive int or (H, W), got {image_size!r}"
        )
    if not cameras.is_perspective() and not cameras.in_ndc():
        raise NotImplementedError("render_gaussians: screen-space cameras are not supported")
    return int(image_size[0]), int(image_size[1])


def render_gaussians(
    gaussians: Gaussians,
    cameras,
    image_size: int | tuple[int, int] = 128,
    background: tuple[float, float, float] | torch.Tensor = (1.0, 1.0, 1.0),
    near: float = 0.01,
    chunk_pairs: int = CHUNK_PAIRS,
) -> RenderOutput:
    """Render P Gaussians into every camera of a batch (differentiable).

    Args:
        gaussians: the Gaussians (world coordinates).
        cameras: PyTorch3D NDC cameras, N of them (``FoVPerspectiveCameras`` etc.);
            conventions as PyTorch3D's (row-vector points, +X left, +Y up, +Z forward).
        image_size: ``S`` or ``(H, W)``.
        background: RGB behind the Gaussians.
        near: Gaussians whose centre is closer than this (view z) are skipped.
        chunk_pairs: candidate pairs examined at once (memory bound).

    Returns:
        :class:`RenderOutput` with ``images`` ``(N, H, W, 3)``, ``alphas`` ``(N, H, W)``,
        ``depths`` ``(N, H, W)`` (alpha-weighted mean view z, 0 where alpha is 0), the
        screen means per view and the box radii ``(N, P)``.

    Raises:
        ValueError: before allocating, when the per-pixel arrays (``N x H x W`` x
            ``PIXEL_BYTES``) or the largest chunk of candidate pairs (``PAIR_BYTES`` each;
            one Gaussian's box is never split, so a huge Gaussian in a huge image makes a
            chunk of its own) would exceed the memory budget of the course's rasterizers
            (4 GiB; ``COURSE_MAX_RASTER_BYTES``).
    """
    height, width = _check_inputs(gaussians, cameras, image_size)
    dtype, device = gaussians.means.dtype, gaussians.means.device
    scale = dtype.itemsize / 4  # the byte counts are for float32
    # Chunking bounds the candidate pairs, not the per-pixel arrays: check those at once.
    check_output_size(
        "render_gaussians",
        (len(cameras), height, width),
        int(PIXEL_BYTES * scale),
        "image_size (or render fewer cameras at once)",
    )
    bg = torch.as_tensor(background, dtype=dtype, device=device).reshape(3)
    bg = torch.cat([bg, bg.new_zeros(1)])  # depth channel: 0 behind everything
    images, alphas, depths, means, radii = [], [], [], [], []
    for n in range(len(cameras)):
        proj = project_gaussians(gaussians, cameras[n], (height, width), near=near)
        means2d = proj.means2d
        if means2d.requires_grad:
            means2d.retain_grad()  # its gradient drives densification
        plan, radius = _plan(proj, height, width, chunk_pairs)
        # ...nor a single Gaussian whose 3σ box covers a huge image (boxes are not split).
        check_output_size(
            "render_gaussians (largest chunk of candidate pairs)",
            (plan.largest_chunk,),
            int(PAIR_BYTES * scale),
            "image_size or chunk_pairs, or shrink the largest Gaussians (a Gaussian's 3σ "
            "pixel box is examined in one chunk)",
        )
        features = torch.cat([proj.colors, proj.depths[:, None]], 1)
        out, alpha = _Composite.apply(means2d, proj.conics, proj.opacities, features, bg, plan)
        out, alpha = out.view(height, width, 4), alpha.view(height, width)
        images.append(out[..., :3])
        alphas.append(alpha)
        depth = out[..., 3] / alpha.clamp(min=1e-6)
        depths.append(torch.where(alpha > 1e-6, depth, torch.zeros_like(depth)))
        means.append(means2d)
        radii.append(radius)
    return RenderOutput(
        torch.stack(images), torch.stack(alphas), torch.stack(depths), means, torch.stack(radii)
    )


def composite_pixel(
    colors: torch.Tensor, alphas: torch.Tensor, background: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Front-to-back compositing at one pixel (the rule the rasterizer applies everywhere).

    Args:
        colors: ``(K, 3)`` colours of the Gaussians covering the pixel, nearest first.
        alphas: ``(K,)`` their alphas at the pixel.
        background: ``(3,)``.

    Returns:
        The pixel's colour ``(3,)`` and the transmittance left ``()``.
    """
    trans = torch.cumprod(torch.cat([alphas.new_ones(1), 1 - alphas]), dim=0)  # T_0 .. T_K
    return (alphas * trans[:-1]) @ colors + trans[-1] * background, trans[-1]
