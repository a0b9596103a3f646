"""Cutting faces at a plane in front of the camera before rasterization.

A perspective projection divides by the view depth z. A face with a vertex behind the
camera (z <= 0) would project to nonsense — a vertex at z -> 0 flies off to infinity — so
before rasterizing, every face is cut at the plane ``z = z_clip`` (a little in front of the
camera):

* all three vertices in front: kept as it is;
* all three behind (or the whole face outside the frustum, with ``cull_to_frustum``): dropped;
* two behind: the part in front is a smaller triangle;
* one behind: the part in front is a quadrilateral, split into two triangles.

Each new triangle remembers which face it came from and the barycentric coordinates of its
corners in that face, so the rasterizer can report results in terms of the original faces.
The new corners are found by interpolating along the cut edges in view space: with
perspective NDC coordinates, ``x_ndc * z`` is linear in view space, so that is what gets
interpolated.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__: list[str] = []  # used by rasterize_meshes; not part of PyTorch3D's public names


@dataclass
class ClippedFaces:
    """Faces after clipping, and how to map rasterization results back.

    Attributes:
        face_verts: ``(F', 3, 3)`` corners of the faces to rasterize (NDC x, y; view z).
        face_to_mesh: ``(F',)`` mesh index of each face.
        to_original: ``(F',)`` index of the original face each one came from, or None when
            nothing was clipped or culled (identity).
        bary_conversion: ``(F', 3, 3)`` with ``bary_original = bary_conversion[f] @ bary``,
            or None when no face was cut.
        neighbour: ``(F',)`` for the two halves of a cut quadrilateral, the index of the
            other half; -1 elsewhere. None when no face was cut.
    """

    face_verts: torch.Tensor
    face_to_mesh: torch.Tensor
    to_original: torch.Tensor | None = None
    bary_conversion: torch.Tensor | None = None
    neighbour: torch.Tensor | None = None


def _outside_frustum(face_verts: torch.Tensor) -> torch.Tensor:
    """``(F,)`` True for faces whose three corners lie beyond one side of NDC [-1, 1]²."""
    xy = face_verts[..., :2]
    return ((xy < -1).all(dim=1) | (xy > 1).all(dim=1)).any(dim=1)


def _cut_edge(
    a: torch.Tensor, b: torch.Tensor, z_clip: float, perspective: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Where the edge a -> b crosses ``z = z_clip``: the point and its weight t (a + t (b - a))."""
    t = (a[:, 2] - z_clip) / (a[:, 2] - b[:, 2])
    if perspective:
        # x_ndc * z is linear in view space; interpolate that, then divide by the new depth.
        xy = (a[:, :2] * a[:, 2:3] * (1 - t[:, None]) + b[:, :2] * b[:, 2:3] * t[:, None]) / z_clip
    else:
        xy = a[:, :2] * (1 - t[:, None]) + b[:, :2] * t[:, None]
    point = torch.cat([xy, torch.full_like(t[:, None], z_clip)], dim=1)
    return point, t


def clip_faces(
    face_verts: torch.Tensor,
    face_to_mesh: torch.Tensor,
    z_clip_value: float | None,
    cull_to_frustum: bool,
    perspective_correct: bool,
) -> ClippedFaces:
    """Drop faces behind ``z_clip_value`` (or outside the frustum) and cut those crossing it.

    Args:
        face_verts: ``(F, 3, 3)`` corners: NDC x, y and view-space z.
        face_to_mesh: ``(F,)`` mesh index of each face.
        z_clip_value: view depth of the cutting plane, or None for no cutting.
        cull_to_frustum: also drop faces entirely outside NDC ``[-1, 1]`` in x or y.
        perspective_correct: x, y come from a perspective projection (see module docs).

    Returns:
        :class:`ClippedFaces`; the output faces keep the original order, each face giving
        0, 1 or 2 faces.
    """
    num_faces = face_verts.shape[0]
    device = face_verts.device
    dropped = (
        _outside_frustum(face_verts)
        if cull_to_frustum
        else torch.zeros_like(face_to_mesh, dtype=torch.bool)
    )
    if z_clip_value is not None:
        behind = face_verts[..., 2] < z_clip_value  # (F, 3)
        num_behind = behind.sum(dim=1)
    else:
        behind = torch.zeros((num_faces, 3), dtype=torch.bool, device=device)
        num_behind = torch.zeros(num_faces, dtype=torch.int64, device=device)
    dropped = dropped | (num_behind == 3)
    cut_one = (num_behind == 2) & ~dropped  # one corner in front: a smaller triangle
    cut_two = (num_behind == 1) & ~dropped  # one corner behind: a quadrilateral, two triangles
    if not bool(dropped.any() | cut_one.any() | cut_two.any()):
        return ClippedFaces(face_verts, face_to_mesh)

    outputs = (~dropped).long() + cut_two.long()  # how many faces each face becomes
    first_out = torch.cumsum(outputs, 0) - outputs
    to_original = torch.repeat_interleave(torch.arange(num_faces, device=device), outputs)
    new_verts = face_verts[to_original].clone()
    eye = torch.eye(3, dtype=face_verts.dtype, device=device)
    conversion = eye.expand(len(to_original), 3, 3).clone()
    neighbour = torch.full((len(to_original),), -1, dtype=torch.int64, device=device)

    for mask, lone_is_behind in ((cut_one, False), (cut_two, True)):
        faces = torch.nonzero(mask).flatten()
        if faces.numel() == 0:
            continue
        # p1 is the corner alone on its side of the plane; p2, p3 follow it in face order,
        # so (p1, p2, p3) keeps the face's winding.
        lone = behind[faces] if lone_is_behind else ~behind[faces]
        i1 = lone.long().argmax(dim=1)
        i2, i3 = (i1 + 1) % 3, (i1 + 2) % 3
        corners = face_verts[faces]
        rows = torch.arange(len(faces), device=device)
        p1, p2, p3 = corners[rows, i1], corners[rows, i2], corners[rows, i3]
        p4, t2 = _cut_edge(p1, p2, z_clip_value, perspective_correct)
        p5, t3 = _cut_edge(p1, p3, z_clip_value, perspective_correct)

        one_hot = torch.eye(3, dtype=face_verts.dtype, device=device)
        b1, b2, b3 = one_hot[i1], one_hot[i2], one_hot[i3]  # (T, 3) barycentrics of p1, p2, p3
        b4 = b1 * (1 - t2[:, None]) + b2 * t2[:, None]  # p4 on p1-p2
        b5 = b1 * (1 - t3[:, None]) + b3 * t3[:, None]  # p5 on p1-p3
        out = first_out[faces]
        if not lone_is_behind:
            new_verts[out] = torch.stack([p4, p5, p1], dim=1)
            conversion[out] = torch.stack([b4, b5, b1], dim=2)
        else:
            new_verts[out] = torch.stack([p4, p2, p5], dim=1)
            new_verts[out + 1] = torch.stack([p5, p2, p3], dim=1)
            conversion[out] = torch.stack([b4, b2, b5], dim=2)
            conversion[out + 1] = torch.stack([b5, b2, b3], dim=2)
            neighbour[out] = out + 1
            neighbour[out + 1] = out

    return ClippedFaces(
        face_verts=new_verts,
        face_to_mesh=face_to_mesh[to_original],
        to_original=to_original,
        bary_conversion=conversion,
        neighbour=neighbour,
    )
