"""The mesh rasterizer: for every pixel, the K nearest faces, vectorised in PyTorch.

PyTorch3D's CPU rasterizer tests every pixel against every face (P x F work). Most of
those tests are wasted: a face can only cover the pixels inside its bounding box. This
rasterizer works on **(face, pixel) candidate pairs** instead, all at once:

1. Per face (vectorised over faces): its screen bounding box, grown by ``sqrt(blur_radius)``,
   in pixel indices; faces that cannot be seen (zero area, behind the camera, culled back
   faces) get an empty box.
2. Every pixel of every box becomes a candidate pair (``repeat_interleave`` + ``arange``);
   faces are processed in chunks so that at most ``CHUNK_PAIRS`` pairs exist at once, which
   bounds memory however large the mesh or the image.
3. Per pair: barycentric coordinates from edge functions; the pixel is *inside* when all
   three are positive. With a blur radius, pairs outside the face are kept when their
   squared distance to the face is below it. Depth z is interpolated with the
   (perspective-corrected) barycentrics.
4. The K nearest faces per pixel: sort the surviving pairs by depth, then (stably) by pixel,
   and keep the first K of each pixel's run.
5. The chosen pairs' barycentrics, depths and distances are computed once more *with
   autograd*, from the face vertices, so gradients flow to the vertices exactly through the
   outputs PyTorch3D differentiates (``bary_coords``, ``zbuf``, ``dists``).

Conventions as in PyTorch3D: NDC +X left, +Y up, the shorter image side spans [-1, 1],
pixel centres are sampled, row 0 is the top of the image and column 0 its left (+X) side.
"""

from __future__ import annotations

import math

import torch

from course_utils.p3d.builtin.common import unsupported
from course_utils.p3d.builtin.renderer.limits import check_number, check_output_size
from course_utils.p3d.builtin.renderer.mesh.clip import ClippedFaces, clip_faces
from course_utils.p3d.builtin.renderer.pixels import parse_image_size, pixel_centres_ndc

__all__ = ["rasterize_meshes"]
# Also public in PyTorch3D's module (not re-exported by the renderer package):
# ``barycentric_coordinates``, ``edge_function``.

#: Candidate (face, pixel) pairs examined at once: bounds the memory of one chunk
#: (about 150 bytes per pair at the peak) independently of mesh and image size.
CHUNK_PAIRS = 1 << 20
#: Faces whose doubled screen area is below this are skipped (as in PyTorch3D).
AREA_EPS = 1e-8


# ----------------------------------------------------------------------------- geometry
def _edge(px, py, ax, ay, bx, by):
    """Edge function: twice the signed area of (p, a, b); its sign says which side of a->b p is."""
    return (px - ax) * (by - ay) - (py - ay) * (bx - ax)


def _barycentrics(px, py, x0, y0, x1, y1, x2, y2):
    """Screen-space barycentric coordinates of p in the triangle (v0, v1, v2)."""
    area = _edge(x2, y2, x0, y0, x1, y1) + AREA_EPS
    w0 = _edge(px, py, x1, y1, x2, y2) / area
    w1 = _edge(px, py, x2, y2, x0, y0) / area
    w2 = _edge(px, py, x0, y0, x1, y1) / area
    return w0, w1, w2


def edge_function(p: torch.Tensor, v0: torch.Tensor, v1: torch.Tensor) -> torch.Tensor:
    """Twice the signed area of the 2D triangle ``(p, v0, v1)``; ``p, v0, v1``: ``(..., 2)``."""
    return _edge(p[..., 0], p[..., 1], v0[..., 0], v0[..., 1], v1[..., 0], v1[..., 1])


def barycentric_coordinates(
    p: torch.Tensor, v0: torch.Tensor, v1: torch.Tensor, v2: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Barycentric coordinates ``(w0, w1, w2)`` of 2D point(s) ``p`` in triangle ``(v0, v1, v2)``.

    All inputs ``(..., 2)``; each output ``(...)``. Points outside get a negative weight.
    """
    return _barycentrics(
        p[..., 0], p[..., 1], v0[..., 0], v0[..., 1], v1[..., 0], v1[..., 1], v2[..., 0], v2[..., 1]
    )


def _perspective_correct(w0, w1, w2, z0, z1, z2):
    """Screen-space to view-space barycentrics: 1/z is what varies linearly on screen.

    Far outside a thin face the weighted sum can turn negative; clamping it to a tiny
    positive number (as PyTorch3D does) keeps each coordinate's sign, so clipping the
    result still picks the face's nearest side.
    """
    t0, t1, t2 = w0 * z1 * z2, w1 * z0 * z2, w2 * z0 * z1
    total = (t0 + t1 + t2).clamp(min=AREA_EPS)
    return t0 / total, t1 / total, t2 / total


def _clip_barycentrics(w0, w1, w2):
    """Clamp negative barycentrics to 0 and renormalise (points just outside a face)."""
    w0, w1, w2 = w0.clamp(min=0), w1.clamp(min=0), w2.clamp(min=0)
    total = (w0 + w1 + w2).clamp(min=1e-5)
    return w0 / total, w1 / total, w2 / total


def _segment_sq_distance(px, py, ax, ay, bx, by):
    """Squared distance from p to the segment a-b (to b when the segment is a point)."""
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = ((px - ax) * dx + (py - ay) * dy) / length2.clamp(min=AREA_EPS)
    t = torch.where(length2 <= AREA_EPS, torch.ones_like(t), t.clamp(0.0, 1.0))
    ex, ey = px - (ax + t * dx), py - (ay + t * dy)
    return ex * ex + ey * ey


def _triangle_sq_distance(px, py, x0, y0, x1, y1, x2, y2):
    """Squared distance from p to the nearest edge of the triangle."""
    return torch.minimum(
        torch.minimum(
            _segment_sq_distance(px, py, x0, y0, x1, y1),
            _segment_sq_distance(px, py, x0, y0, x2, y2),
        ),
        _segment_sq_distance(px, py, x1, y1, x2, y2),
    )


def _fragment_values(face_verts, px, py, perspective_correct, clip_barycentric_coords):
    """Barycentrics (as stored), depth, squared distance and 'inside' for pixel/face pairs.

    Args:
        face_verts: ``(M, 3, 3)`` corners of the face of each pair.
        px, py: ``(M,)`` NDC centre of the pixel of each pair.

    Returns:
        ``bary`` ``(M, 3)``, ``z`` ``(M,)``, ``dist`` ``(M,)`` (unsigned), ``inside`` ``(M,)``.
    """
    (x0, y0, z0), (x1, y1, z1), (x2, y2, z2) = (face_verts[:, i].unbind(1) for i in range(3))
    w0, w1, w2 = _barycentrics(px, py, x0, y0, x1, y1, x2, y2)
    if perspective_correct:
        w0, w1, w2 = _perspective_correct(w0, w1, w2, z0, z1, z2)
    inside = (w0 > 0) & (w1 > 0) & (w2 > 0)
    if clip_barycentric_coords:
        w0, w1, w2 = _clip_barycentrics(w0, w1, w2)
    z = w0 * z0 + w1 * z1 + w2 * z2
    dist = _triangle_sq_distance(px, py, x0, y0, x1, y1, x2, y2)
    return torch.stack([w0, w1, w2], dim=1), z, dist, inside


# ----------------------------------------------------------------------------- candidates
def _pixel_boxes(face_verts, height, width, margin, visible):
    """Per face, the inclusive range of image columns and rows its box (grown by margin) covers."""
    short = min(height, width)
    pixel = 2.0 / short
    x, y = face_verts[..., 0], face_verts[..., 1]
    # NDC -> continuous pixel index along the +X / +Y direction (idx = W - 1 - column).
    slack = 1e-3  # a thousandth of a pixel: float rounding never drops a pixel on the edge
    ix_lo = torch.ceil((x.amin(1) - margin + width / short) / pixel - 0.5 - slack)
    ix_hi = torch.floor((x.amax(1) + margin + width / short) / pixel - 0.5 + slack)
    iy_lo = torch.ceil((y.amin(1) - margin + height / short) / pixel - 0.5 - slack)
    iy_hi = torch.floor((y.amax(1) + margin + height / short) / pixel - 0.5 + slack)
    col_lo = (width - 1 - ix_hi).clamp(0, width - 1).long()
    col_hi = (width - 1 - ix_lo).clamp(-1, width - 1).long()
    row_lo = (height - 1 - iy_hi).clamp(0, height - 1).long()
    row_hi = (height - 1 - iy_lo).clamp(-1, height - 1).long()
    # Boxes entirely off screen come out empty after the clamps; so do invisible faces.
    cols = (col_hi - col_lo + 1).clamp(min=0) * visible
    rows = (row_hi - row_lo + 1).clamp(min=0) * visible
    offscreen = (ix_hi < 0) | (ix_lo > width - 1) | (iy_hi < 0) | (iy_lo > height - 1)
    cols = torch.where(offscreen, torch.zeros_like(cols), cols)
    return col_lo, row_lo, cols, rows


def _keep_nearest(key, z, face, k):
    """Among candidate pairs, keep the k smallest z per pixel key (ties: lower face first).

    The inputs must list faces in increasing order within each key; two stable sorts
    (by z, then by key) then give the order (key, z, face).

    Returns:
        ``key``, ``z``, ``face`` of the kept pairs (sorted) and their ``rank`` (0 = nearest).
    """
    order = torch.argsort(z, stable=True)
    order = order[torch.argsort(key[order], stable=True)]
    key, z, face = key[order], z[order], face[order]
    positions = torch.arange(key.numel(), device=key.device)
    run_start = torch.ones_like(key, dtype=torch.bool)
    run_start[1:] = key[1:] != key[:-1]
    first = torch.cummax(torch.where(run_start, positions, torch.zeros_like(positions)), 0).values
    rank = positions - first
    keep = rank < k
    return key[keep], z[keep], face[keep], rank[keep]


def _one_per_split_quad(key, z, face, dist, neighbour):
    """At each pixel keep only the nearer-edged half of a face cut into two triangles."""
    halves = neighbour[face] >= 0
    if not bool(halves.any()):
        return key, z, face
    pair_id = torch.minimum(face, neighbour[face])
    # Sort the halves by (pixel, quad, distance); drop every entry that repeats (pixel, quad).
    idx = torch.nonzero(halves).flatten()
    order = idx[torch.argsort(dist[idx], stable=True)]
    order = order[torch.argsort(pair_id[order], stable=True)]
    order = order[torch.argsort(key[order], stable=True)]
    same = torch.zeros_like(order, dtype=torch.bool)
    same[1:] = (key[order][1:] == key[order][:-1]) & (pair_id[order][1:] == pair_id[order][:-1])
    drop = torch.zeros_like(halves)
    drop[order[same]] = True
    keep = ~drop
    return key[keep], z[keep], face[keep]


def _select_pairs(
    face_verts: torch.Tensor,
    face_to_mesh: torch.Tensor,
    neighbour: torch.Tensor | None,
    height: int,
    width: int,
    k: int,
    blur_radius: float,
    perspective_correct: bool,
    clip_barycentric_coords: bool,
    cull_backfaces: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Find the (pixel, face) pairs of the output, without autograd.

    Returns:
        ``key`` (pixel index ``n*H*W + row*W + col``), ``face`` and ``rank`` of each pair.
    """
    device = face_verts.device
    xs, ys = pixel_centres_ndc(height, width, face_verts.dtype, device)
    (x0, y0, z0), (x1, y1, z1), (x2, y2, z2) = (face_verts[:, i].unbind(1) for i in range(3))
    area = _edge(x0, y0, x1, y1, x2, y2)
    visible = (area.abs() > AREA_EPS) & (torch.minimum(torch.minimum(z0, z1), z2) >= AREA_EPS)
    if cull_backfaces:
        visible &= area >= 0
    margin = math.sqrt(blur_radius)
    col_lo, row_lo, cols, rows = _pixel_boxes(face_verts, height, width, margin, visible.long())
    counts = cols * rows
    ends = torch.cumsum(counts, 0)
    total = int(ends[-1]) if ends.numel() else 0
    # Chunk boundaries: consecutive faces whose pairs add up to about CHUNK_PAIRS.
    targets = torch.arange(CHUNK_PAIRS, max(total, CHUNK_PAIRS), CHUNK_PAIRS, device=device)
    bounds = [0] + torch.searchsorted(ends, targets, right=True).tolist() + [len(counts)]

    keys, zs, faces, dists = [], [], [], []
    kept = 0
    for start, stop in zip(bounds[:-1], bounds[1:]):
        if stop <= start:
            continue
        chunk_counts = counts[start:stop]
        face = torch.repeat_interleave(torch.arange(start, stop, device=device), chunk_counts)
        if face.numel() == 0:
            continue
        offset = torch.arange(face.numel(), device=device) - torch.repeat_interleave(
            torch.cumsum(chunk_counts, 0) - chunk_counts, chunk_counts
        )
        box_width = cols[face]
        col = col_lo[face] + offset % box_width
        row = row_lo[face] + offset // box_width
        px, py = xs[col], ys[row]
        corners = face_verts[face]
        if blur_radius <= 0:
            # Hard rasterization: only pixels inside the face matter; drop the rest first.
            w = _barycentrics(px, py, *corners[:, :, :2].reshape(-1, 6).unbind(1))
            inside = (w[0] > 0) & (w[1] > 0) & (w[2] > 0)
            face, col, row, px, py = face[inside], col[inside], row[inside], px[inside], py[inside]
            corners = corners[inside]
        _, z, dist, inside = _fragment_values(
            corners, px, py, perspective_correct, clip_barycentric_coords
        )
        keep = (inside | (dist < blur_radius)) & (z >= 0)
        key = (face_to_mesh[face] * height + row) * width + col
        keys.append(key[keep])
        zs.append(z[keep])
        faces.append(face[keep])
        dists.append(dist[keep])
        kept += int(keep.sum())
        if kept > 2 * CHUNK_PAIRS and neighbour is None:
            # Too many survivors held at once: reduce them to the K nearest per pixel now.
            key, z, face, _ = _keep_nearest(torch.cat(keys), torch.cat(zs), torch.cat(faces), k)
            keys, zs, faces, dists = [key], [z], [face], [torch.zeros_like(z)]
            kept = key.numel()

    if not keys:
        empty = torch.zeros(0, dtype=torch.int64, device=device)
        return empty, empty, empty
    key, z, face = torch.cat(keys), torch.cat(zs), torch.cat(faces)
    if neighbour is not None:
        key, z, face = _one_per_split_quad(key, z, face, torch.cat(dists), neighbour)
    key, _, face, rank = _keep_nearest(key, z, face, k)
    return key, face, rank


# ----------------------------------------------------------------------------- entry point
def rasterize_meshes(
    meshes,
    image_size: int | tuple[int, int] = 256,
    blur_radius: float = 0.0,
    faces_per_pixel: int = 8,
    bin_size: int | None = None,
    max_faces_per_bin: int | None = None,
    perspective_correct: bool = False,
    clip_barycentric_coords: bool = False,
    cull_backfaces: bool = False,
    z_clip_value: float | None = None,
    cull_to_frustum: bool = False,
):
    """Rasterize meshes whose vertices are already in NDC (x, y) with view-space z.

    Args:
        meshes: ``Meshes`` of N meshes, as ``MeshRasterizer.transform`` makes them; mesh n
            is drawn into image n.
        image_size: ``S`` or ``(H, W)``.
        blur_radius: squared NDC distance within which a face counts for a pixel it does not
            cover (0: hard rasterization).
        faces_per_pixel: K, faces kept per pixel, nearest first.
        bin_size, max_faces_per_bin: accepted and ignored (no bins needed here).
        perspective_correct: correct barycentrics for the perspective division.
        clip_barycentric_coords: clamp barycentrics to [0, 1] and renormalise.
        cull_backfaces: skip faces seen from behind.
        z_clip_value: cut faces at this view depth (see ``clip.py``); None: no cutting.
        cull_to_frustum: drop faces entirely outside NDC [-1, 1] in x or y.

    Returns:
        ``pix_to_face`` ``(N, H, W, K)`` int64 (packed face indices, -1 where none),
        ``zbuf`` ``(N, H, W, K)``, ``bary_coords`` ``(N, H, W, K, 3)`` and ``dists``
        ``(N, H, W, K)`` (signed squared NDC distance, negative inside), -1 where none.
        ``zbuf``, ``bary_coords`` and ``dists`` are differentiable w.r.t. the vertices.
    """
    if not isinstance(faces_per_pixel, int) or faces_per_pixel < 1:
        raise ValueError(f"faces_per_pixel must be a positive int, got {faces_per_pixel!r}")
    blur_radius = check_number("blur_radius", blur_radius, minimum=0.0)
    if z_clip_value is not None:
        z_clip_value = check_number("z_clip_value", z_clip_value, minimum=None)
    if bin_size is not None and not isinstance(bin_size, int):
        raise unsupported("bin_size", bin_size, "Use an int or None.")
    height, width = parse_image_size(image_size)
    num_meshes, k = len(meshes), faces_per_pixel
    verts = meshes.verts_packed()
    face_verts = verts[meshes.faces_packed()]  # (F, 3, 3), differentiable
    face_to_mesh = meshes.faces_packed_to_mesh_idx()
    device, dtype = verts.device, verts.dtype
    # pix_to_face (int64) + zbuf + dists + 3 barycentrics per slot, checked before allocating.
    check_output_size(
        "rasterize_meshes",
        (num_meshes, height, width, k),
        8 + 5 * verts.element_size(),
        "image_size or faces_per_pixel",
    )

    clipped = ClippedFaces(face_verts, face_to_mesh)
    if z_clip_value is not None or cull_to_frustum:
        clipped = clip_faces(
            face_verts, face_to_mesh, z_clip_value, cull_to_frustum, perspective_correct
        )

    with torch.no_grad():
        key, face, rank = _select_pairs(
            clipped.face_verts.detach(),
            clipped.face_to_mesh,
            clipped.neighbour,
            height,
            width,
            k,
            blur_radius,
            perspective_correct,
            clip_barycentric_coords,
            cull_backfaces,
        )

    # Recompute the chosen pairs with autograd, from the vertices.
    xs, ys = pixel_centres_ndc(height, width, dtype, device)
    pixel = key % (height * width)
    bary, z, dist, inside = _fragment_values(
        clipped.face_verts[face],
        xs[pixel % width],
        ys[pixel // width],
        perspective_correct,
        clip_barycentric_coords,
    )
    signed = torch.where(inside, -dist, dist)
    if clipped.to_original is not None:
        if clipped.bary_conversion is not None:
            bary = torch.einsum("mij,mj->mi", clipped.bary_conversion[face], bary)
        face = clipped.to_original[face]

    slot = key * k + rank
    size = num_meshes * height * width * k
    pix_to_face = torch.full((size,), -1, dtype=torch.int64, device=device)
    pix_to_face[slot] = face
    zbuf = torch.full((size,), -1.0, dtype=dtype, device=device).index_put((slot,), z)
    dists = torch.full((size,), -1.0, dtype=dtype, device=device).index_put((slot,), signed)
    bary_coords = torch.full((size, 3), -1.0, dtype=dtype, device=device).index_put((slot,), bary)
    shape = (num_meshes, height, width, k)
    return (
        pix_to_face.view(shape),
        zbuf.view(shape),
        bary_coords.view(*shape, 3),
        dists.view(shape),
    )
