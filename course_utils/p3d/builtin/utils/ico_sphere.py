"""``ico_sphere(level)``: a unit sphere made of near-equal triangles.

Start from the icosahedron (12 vertices, 20 equilateral faces) and repeat ``level`` times:
split every triangle into four by its edge midpoints, then push every vertex back onto
the unit sphere. Level k has ``20 * 4**k`` faces and ``10 * 4**k + 2`` vertices. Unlike a
UV sphere there are no poles with slivers of triangles, which is why deformation-based
mesh fitting starts from it.
"""

from __future__ import annotations

import torch

from course_utils.p3d.builtin.common import Device, make_device
from course_utils.p3d.builtin.structures import Meshes

# The icosahedron's vertices are the cyclic permutations of (0, ±1, ±phi), scaled to
# (nearly) unit length. PyTorch3D writes them rounded to four decimals; keeping the same
# numbers and order makes level 0 match it exactly (finer levels are renormalised anyway).
_A, _B = 0.5257, 0.8507
_ICOSAHEDRON_VERTS = [
    [-_A, _B, 0.0], [_A, _B, 0.0], [-_A, -_B, 0.0], [_A, -_B, 0.0],
    [0.0, -_A, _B], [0.0, _A, _B], [0.0, -_A, -_B], [0.0, _A, -_B],
    [_B, 0.0, -_A], [_B, 0.0, _A], [-_B, 0.0, -_A], [-_B, 0.0, _A],
]  # fmt: skip
# Counter-clockwise seen from outside: five faces around vertex 0, five adjacent to
# those, five around vertex 3, five adjacent to those.
_ICOSAHEDRON_FACES = [
    [0, 11, 5], [0, 5, 1], [0, 1, 7], [0, 7, 10], [0, 10, 11],
    [1, 5, 9], [5, 11, 4], [11, 10, 2], [10, 7, 6], [7, 1, 8],
    [3, 9, 4], [3, 4, 2], [3, 2, 6], [3, 6, 8], [3, 8, 9],
    [4, 9, 5], [2, 4, 11], [6, 2, 10], [8, 6, 7], [9, 8, 1],
]  # fmt: skip


def subdivide_triangles(
    verts: torch.Tensor, faces: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Split each triangle into four at its edge midpoints (one shared midpoint per edge).

    Args:
        verts: ``(V, 3)`` vertex positions.
        faces: ``(F, 3)`` int64 triangles.

    Returns:
        ``(V + E, 3)`` vertices (the old ones, then one midpoint per unique edge in sorted
        edge order) and ``(4F, 3)`` faces: first the F corner triangles at each face's
        vertex 0, then those at vertex 1, at vertex 2, then the F middle triangles.
    """
    mesh = Meshes(verts=[verts], faces=[faces])
    edges = mesh.edges_packed()  # (E, 2)
    # Column k: the midpoint vertex of the edge opposite corner k.
    mid = mesh.faces_packed_to_edges_packed() + verts.shape[0]
    new_verts = torch.cat([verts, verts[edges].mean(dim=1)], dim=0)
    v0, v1, v2 = faces.unbind(1)
    m12, m20, m01 = mid.unbind(1)
    new_faces = torch.cat(
        [
            torch.stack([v0, m01, m20], dim=1),
            torch.stack([v1, m12, m01], dim=1),
            torch.stack([v2, m20, m12], dim=1),
            mid,
        ],
        dim=0,
    )
    return new_verts, new_faces


def ico_sphere(level: int = 0, device: Device | None = None) -> Meshes:
    """An icosphere: a unit sphere mesh made by subdividing an icosahedron ``level`` times.

    Args:
        level: number of subdivisions (0 = the icosahedron itself). Faces: ``20 * 4**level``.
        device: where to create the tensors (default CPU).

    Returns:
        A ``Meshes`` with one mesh; vertices lie on the unit sphere, faces are
        counter-clockwise seen from outside (normals point outwards).

    Example:
        >>> mesh = ico_sphere(1)
        >>> mesh.verts_packed().shape, mesh.faces_packed().shape
        (torch.Size([42, 3]), torch.Size([80, 3]))
    """
    if not isinstance(level, int) or isinstance(level, bool) or level < 0:
        raise ValueError(f"ico_sphere: level must be an int >= 0, got {level!r}")
    if level > 8:
        raise ValueError(
            f"ico_sphere: level {level} would have {20 * 4**level:,} faces; use level <= 8"
        )
    device = make_device(device or "cpu")
    verts = torch.tensor(_ICOSAHEDRON_VERTS, dtype=torch.float32, device=device)
    faces = torch.tensor(_ICOSAHEDRON_FACES, dtype=torch.int64, device=device)
    for _ in range(level):
        verts, faces = subdivide_triangles(verts, faces)
        verts = verts / verts.norm(dim=1, keepdim=True)
    return Meshes(verts=[verts], faces=[faces])
