"""Normal consistency regulariser (``pytorch3d.loss.mesh_normal_consistency``).

For two faces f0 = (v0, v1, a) and f1 = (v1, v0, b) that share the edge e = (v0, v1)::

            a
           / \\
          / f0\\
      v0 /_____\\ v1
         \\  e  /
          \\ f1/
           \\ /
            b

the loss is ``1 - cos(n0, n1)`` with ``n0 = (v1 - v0) x (a - v0)`` and
``n1 = (b - v0) x (v1 - v0)``: 0 when the two triangles lie in one plane, 1 at a right-angle
fold, 2 when f1 is folded back onto f0. Both normals are built from the edge itself, so the
value does not depend on how the faces are wound. Averaged over all pairs of faces sharing
an edge it measures how crumpled the surface is, and its gradient flattens creases.

Edges shared by more than two faces (non-manifold meshes) give several pairs. PyTorch3D
enumerates them with Python lists; here they are built with tensor operations: the face
sides are sorted by edge, and for an edge with m faces the pairs (i, j), i in [0, m-1),
j in [1, m), i != j, are generated from running counts (the same pairs PyTorch3D uses).
"""

from __future__ import annotations

import torch

from course_utils.p3d.builtin.structures.meshes import Meshes

__all__ = ["mesh_normal_consistency"]


@torch.no_grad()
def _face_pairs(
    faces_to_edges: torch.Tensor, num_edges: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pairs of face sides that lie on the same edge.

    Args:
        faces_to_edges: ``(F, 3)`` packed edge index of each face's side k (the side
            opposite corner k).
        num_edges: number of packed edges E.

    Returns:
        ``(sides, first, second)``: ``sides`` ``(3F,)`` the face sides ``s = 3 f + k``
        sorted by edge; ``first``, ``second`` ``(M,)`` positions in ``sides`` of the two
        sides of each pair.
    """
    device = faces_to_edges.device
    side_edge, sides = faces_to_edges.reshape(-1).sort(stable=True)  # (3F,)
    count = torch.bincount(side_edge, minlength=num_edges)  # faces per edge, m
    start = torch.cumsum(count, 0) - count  # first side of each edge
    # For an edge with m sides enumerate (m-1)² slots (i, j) = (s // (m-1), 1 + s % (m-1)).
    slots = (count - 1).clamp(min=0) ** 2
    pair_edge = torch.repeat_interleave(torch.arange(num_edges, device=device), slots)
    slot = (
        torch.arange(pair_edge.numel(), device=device) - (torch.cumsum(slots, 0) - slots)[pair_edge]
    )
    width = (count - 1)[pair_edge].clamp(min=1)
    i, j = slot // width, 1 + slot % width
    keep = i != j
    base = start[pair_edge][keep]
    return sides, base + i[keep], base + j[keep]


def mesh_normal_consistency(meshes: Meshes) -> torch.Tensor:
    """Mean of ``1 - cos`` between the normals of faces sharing an edge (PyTorch3D's loss).

    Args:
        meshes: ``Meshes`` with N meshes.

    Returns:
        Scalar tensor: for each mesh the mean over its pairs of adjacent faces of
        ``1 - cos(n0, n1)``, averaged over the N meshes (a mesh without adjacent faces
        adds 0). ``tensor([0.])`` if the batch holds no mesh with a face.
        Differentiable w.r.t. the vertices.

    Example:
        >>> import torch
        >>> from course_utils.p3d.builtin.structures import Meshes
        >>> verts = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [0.5, 0.5, 1]])
        >>> flat = Meshes(verts=[verts], faces=[torch.tensor([[0, 1, 2], [2, 1, 3]])])
        >>> mesh_normal_consistency(flat)
        tensor(0.)
        >>> folded = Meshes(verts=[verts], faces=[torch.tensor([[0, 1, 2], [2, 1, 4]])])
        >>> mesh_normal_consistency(folded)  # folded at a right angle: 1 - cos 90°
        tensor(1.)
    """
    if meshes.isempty():
        return torch.tensor([0.0], dtype=torch.float32, device=meshes.device, requires_grad=True)
    N = len(meshes)
    verts = meshes.verts_packed()  # (sum V_n, 3)
    faces = meshes.faces_packed()  # (sum F_n, 3)
    edges = meshes.edges_packed()  # (sum E_n, 2)
    faces_to_edges = meshes.faces_packed_to_edges_packed()  # (sum F_n, 3)

    sides, first, second = _face_pairs(faces_to_edges, edges.shape[0])
    if first.numel() == 0:  # no two faces share an edge
        return verts.sum() * 0.0
    # Face side s = 3 f + k lies on edge faces_to_edges[f, k], opposite corner k of f.
    edge = faces_to_edges.reshape(-1)[sides]
    opposite = faces.reshape(-1)[sides]  # the face's vertex that is not on the edge
    v0, v1 = verts[edges[edge, 0]], verts[edges[edge, 1]]
    n = torch.linalg.cross(v1 - v0, verts[opposite] - v0, dim=1)  # (3F, 3)
    loss = 1 - torch.cosine_similarity(n[first], -n[second], dim=1)

    mesh_of_pair = meshes.verts_packed_to_mesh_idx()[opposite[first]]
    num_pairs = torch.bincount(mesh_of_pair, minlength=N)
    weights = 1.0 / num_pairs[mesh_of_pair].to(loss.dtype)
    return (loss * weights).sum() / N
