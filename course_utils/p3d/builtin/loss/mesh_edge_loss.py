"""Edge length regulariser (``pytorch3d.loss.mesh_edge_loss``).

``(|v_i - v_j| - target_length)²`` averaged over the edges of each mesh, then over the
meshes. With the default ``target_length=0`` it pulls vertices together and keeps a
deforming mesh from stretching a few long, thin triangles across the shape; with a
positive target it keeps edges near a preferred length.
"""

from __future__ import annotations

import torch

from course_utils.p3d.builtin.structures.meshes import Meshes

__all__ = ["mesh_edge_loss"]


def mesh_edge_loss(meshes: Meshes, target_length: float = 0.0) -> torch.Tensor:
    """Mean squared deviation of the edge lengths from ``target_length`` (PyTorch3D's loss).

    Args:
        meshes: ``Meshes`` with N meshes.
        target_length: the resting edge length.

    Returns:
        Scalar tensor ``1/N Σ_n 1/E_n Σ_{edges of mesh n} (|v_i - v_j| - target_length)²``
        (each mesh weighs the same, whatever its number of edges E_n); ``tensor([0.])``
        if the batch holds no mesh with a face. Differentiable w.r.t. the vertices.

    Example:
        >>> import torch
        >>> from course_utils.p3d.builtin.structures import Meshes
        >>> verts = torch.tensor([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
        >>> mesh = Meshes(verts=[verts], faces=[torch.tensor([[0, 1, 2]])])
        >>> mesh_edge_loss(mesh, target_length=2.0)  # (0 + 0 + (2√2 - 2)²) / 3
        tensor(0.2288)
    """
    if meshes.isempty():
        return torch.tensor([0.0], dtype=torch.float32, device=meshes.device, requires_grad=True)
    N = len(meshes)
    edges = meshes.edges_packed()  # (sum E_n, 2)
    verts = meshes.verts_packed()  # (sum V_n, 3)
    num_edges = meshes.num_edges_per_mesh().gather(0, meshes.edges_packed_to_mesh_idx())
    weights = 1.0 / num_edges.to(verts.dtype)  # each mesh weighs the same
    lengths = (verts[edges[:, 0]] - verts[edges[:, 1]]).norm(dim=1, p=2)
    loss = (lengths - target_length) ** 2.0
    return (loss * weights).sum() / N
