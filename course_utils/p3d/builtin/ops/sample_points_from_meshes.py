"""``sample_points_from_meshes``: points spread uniformly over the surface of each mesh.

A mesh's vertices are a poor sample of its surface: they crowd where the triangles are
small and leave big triangles empty. A *uniform* sample picks points with the same density
everywhere on the surface, in two steps:

1. **Which face?** Each sample picks a face with probability proportional to its area,
   ``p(f) = area_f / sum(area)`` (one multinomial draw per sample, with replacement).
   A triangle twice as big gets twice as many points.
2. **Where in the face?** Uniformly inside the triangle ``(v0, v1, v2)``, by barycentric
   coordinates built from two uniform numbers ``u, v`` in [0, 1):

       w0 = 1 - sqrt(u),   w1 = sqrt(u) (1 - v),   w2 = sqrt(u) v,
       point = w0 v0 + w1 v1 + w2 v2.

   Why the square root: ``sqrt(u)`` is how far the point is from ``v0`` towards the
   opposite edge (as a fraction), and ``v`` where along that edge. A slice of the
   triangle at fraction ``s`` from ``v0`` is ``s`` times as long as the opposite edge, so
   uniform points need density ``p(s) = 2 s``; ``s = sqrt(u)`` has exactly that density.
   (Using ``u`` itself would crowd the points near ``v0``.)

The points are linear in the vertex positions with weights that do not depend on them, so
they are differentiable w.r.t. the vertices; the choice of faces is not (it is a random
draw made without gradients, as in PyTorch3D).
"""

from __future__ import annotations

import sys
from typing import Any

import torch

__all__ = ["sample_points_from_meshes"]


def _areas_padded(meshes: Any, valid: torch.Tensor) -> torch.Tensor:
    """``(N_valid, max F)`` face areas of the non-empty meshes, 0 in the padding."""
    areas = meshes.faces_areas_packed().detach()  # (sum F,)
    num_faces = meshes.num_faces_per_mesh()
    first = meshes.mesh_to_faces_packed_first_idx()
    mesh_of_face = meshes.faces_packed_to_mesh_idx()
    column = torch.arange(areas.shape[0], device=areas.device) - first[mesh_of_face]
    padded = areas.new_zeros((len(meshes), int(num_faces.max())))
    padded[mesh_of_face, column] = areas
    return padded[valid]


def sample_points_from_meshes(
    meshes: Any,
    num_samples: int = 10000,
    return_normals: bool = False,
    return_textures: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, ...]:
    """Sample points uniformly (area-weighted) on the surface of every mesh of a batch.

    Args:
        meshes: a ``Meshes`` batch of N meshes.
        num_samples: points per mesh.
        return_normals: also return the unit normal of the face each point lies on,
            ``(v1 - v0) x (v2 - v1)`` normalised (outwards for counter-clockwise faces).
        return_textures: also return the texture (``TexturesVertex`` features or
            ``TexturesUV`` colours) at each point, sampled as the shader would.

    Returns:
        ``samples`` ``(N, num_samples, 3)``; then ``normals`` ``(N, num_samples, 3)`` if
        ``return_normals``; then ``textures`` ``(N, num_samples, C)`` if
        ``return_textures`` (a tuple when more than one is returned). Rows of meshes
        without faces are 0.

    Raises:
        ValueError: every mesh is empty, the vertices hold NaN/inf, textures are asked
            for but the meshes have none, or a mesh's faces all have zero area.

    Example:
        >>> from course_utils.p3d.builtin.utils import ico_sphere
        >>> _ = torch.manual_seed(0)
        >>> points, normals = sample_points_from_meshes(ico_sphere(3), 500, return_normals=True)
        >>> points.shape, bool((points.norm(dim=-1) <= 1.0001).all())
        (torch.Size([1, 500, 3]), True)
    """
    if meshes.isempty():
        raise ValueError("Meshes are empty.")
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
        raise ValueError(f"num_samples must be a positive int, got {num_samples!r}")
    verts = meshes.verts_packed()
    if not torch.isfinite(verts).all():
        raise ValueError("Meshes contain nan or inf.")
    if return_textures and meshes.textures is None:
        raise ValueError("Meshes do not contain textures.")

    faces = meshes.faces_packed()
    num_meshes = len(meshes)
    valid = meshes.num_faces_per_mesh() > 0  # (N,) meshes with at least one face
    num_valid = int(valid.sum())

    # 1. Which face: a multinomial draw per sample, weighted by area (no gradient).
    with torch.no_grad():
        areas = _areas_padded(meshes, valid)  # (N_valid, max F)
        degenerate = areas.sum(dim=1) <= 0
        if degenerate.any():
            index = int(torch.nonzero(valid)[degenerate.nonzero()[0, 0]])
            raise ValueError(
                f"mesh {index} has faces but their total area is 0: no point can be sampled"
            )
        face_idx = areas.multinomial(num_samples, replacement=True)  # (N_valid, S)
        face_idx += meshes.mesh_to_faces_packed_first_idx()[valid].view(num_valid, 1)

    # 2. Where in the face: uniform barycentric coordinates (the same random draws, in
    # the same order, as PyTorch3D's, so a seeded run gives the same points).
    u, v = torch.rand(2, num_valid, num_samples, dtype=verts.dtype, device=verts.device)
    u_sqrt = u.sqrt()
    w0, w1, w2 = 1.0 - u_sqrt, u_sqrt * (1.0 - v), u_sqrt * v  # each (N_valid, S)

    corners = verts[faces[face_idx]]  # (N_valid, S, 3 corners, 3 coords)
    v0, v1, v2 = corners.unbind(dim=2)
    samples = verts.new_zeros((num_meshes, num_samples, 3))
    samples[valid] = w0[..., None] * v0 + w1[..., None] * v1 + w2[..., None] * v2
    outputs = [samples]

    if return_normals:
        normals = torch.linalg.cross(v1 - v0, v2 - v1, dim=-1)
        normals = normals / normals.norm(dim=-1, keepdim=True).clamp(min=sys.float_info.epsilon)
        all_normals = verts.new_zeros((num_meshes, num_samples, 3))
        all_normals[valid] = normals
        outputs.append(all_normals)

    if return_textures:
        # Each sample is a one-pixel "fragment": image n, row s, one column, one face.
        from course_utils.p3d.builtin.renderer.mesh.rasterizer import Fragments

        pix_to_face = face_idx.new_full((num_meshes, num_samples), -1)
        pix_to_face[valid] = face_idx
        bary = verts.new_zeros((num_meshes, num_samples, 3))
        bary[valid] = torch.stack([w0, w1, w2], dim=-1)
        dummy = verts.new_zeros((num_meshes, num_samples, 1, 1))
        fragments = Fragments(
            pix_to_face=pix_to_face[:, :, None, None],
            zbuf=dummy,
            bary_coords=bary[:, :, None, None, :],
            dists=dummy,
        )
        textures = meshes.sample_textures(fragments)[:, :, 0, 0, :]  # (N, S, C)
        textures = torch.where(valid[:, None, None], textures, textures.new_zeros(()))
        outputs.append(textures)

    return outputs[0] if len(outputs) == 1 else tuple(outputs)
