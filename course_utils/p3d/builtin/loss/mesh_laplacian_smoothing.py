"""Laplacian smoothing regulariser (``pytorch3d.loss.mesh_laplacian_smoothing``).

When a mesh is deformed to fit data (chamfer to a target point cloud, a silhouette ...),
nothing in the data term stops single vertices from shooting out into spikes. The
Laplacian smoothing loss penalises, for every vertex, how far it is from the (weighted)
average of its neighbours: ``|(L V)_i|`` with L a Laplacian matrix (see
:mod:`course_utils.p3d.builtin.ops.laplacian_matrices`). Three variants:

* ``"uniform"``: ``|mean of the neighbours - v_i|``. Simple and robust, but it also
  pushes the triangulation towards evenly spaced vertices, and shrinks the mesh.
* ``"cot"``: ``|Σ_j w_ij v_j / Σ_j w_ij - v_i|`` with cotangent weights ``w_ij = cot α_ij +
  cot β_ij``. Zero on flat patches whatever their triangulation; it measures bending.
* ``"cotcurv"``: ``|Σ_j w_ij (v_j - v_i)| / (4 A_i)`` with ``A_i`` the area of the faces
  around vertex i: the discrete mean curvature normal (its length is the mean curvature,
  up to a constant), so the loss is the total mean curvature.

As in PyTorch3D the weights are treated as constants (no gradient flows through them);
the gradient pulls every vertex towards its neighbours' weighted average. Each mesh's
vertices are averaged, then the meshes of the batch.
"""

from __future__ import annotations

import torch

from course_utils.p3d.builtin.ops.laplacian_matrices import (
    _coo_matmul,
    _coo_row_sums,
    _cot_coo,
    _laplacian_coo,
)
from course_utils.p3d.builtin.structures.meshes import Meshes

__all__ = ["mesh_laplacian_smoothing"]

_METHODS = ("uniform", "cot", "cotcurv")


def mesh_laplacian_smoothing(meshes: Meshes, method: str = "uniform") -> torch.Tensor:
    """Laplacian smoothing loss of a batch of meshes (PyTorch3D's function).

    Args:
        meshes: ``Meshes`` with N meshes.
        method: ``"uniform"``, ``"cot"`` or ``"cotcurv"`` (see the module docstring).

    Returns:
        Scalar tensor: ``1/N Σ_n 1/V_n Σ_{i in mesh n} |(L V)_i|`` (the per-vertex norms
        averaged per mesh, then over meshes). ``tensor([0.])`` if the batch holds no
        mesh with a face.

    Raises:
        ValueError: for an unknown ``method``.

    Example:
        >>> import torch
        >>> from course_utils.p3d.builtin.structures import Meshes
        >>> verts = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
        >>> mesh = Meshes(verts=[verts], faces=[torch.tensor([[0, 1, 2]])])
        >>> # |mean of the two neighbours - vertex|: 0.7071, 1.1180, 1.1180; their mean:
        >>> mesh_laplacian_smoothing(mesh)
        tensor(0.9811)
    """
    if method not in _METHODS:
        raise ValueError(f"Method should be one of {{uniform, cot, cotcurv}}, got {method!r}")
    if meshes.isempty():
        return torch.tensor([0.0], dtype=torch.float32, device=meshes.device, requires_grad=True)

    N = len(meshes)
    verts = meshes.verts_packed()  # (sum V_n, 3)
    V = verts.shape[0]
    # Each vertex counts 1 / V_n so that every mesh weighs the same.
    num_verts = meshes.num_verts_per_mesh().gather(0, meshes.verts_packed_to_mesh_idx())
    weights = 1.0 / num_verts.to(verts.dtype)

    # The Laplacian's weights are constants for the gradient: it flows through verts only.
    with torch.no_grad():
        if method == "uniform":
            coo = _laplacian_coo(verts, meshes.edges_packed())
        else:
            coo, inv_areas = _cot_coo(verts, meshes.faces_packed(), eps=1e-12)
            row_sums = _coo_row_sums(coo, V).view(-1, 1)
            if method == "cot":
                norm_w = torch.where(row_sums > 0, 1.0 / row_sums.clamp(min=1e-30), row_sums)
            else:
                norm_w = 0.25 * inv_areas

    if method == "uniform":
        loss = _coo_matmul(coo, verts)  # mean of the neighbours - v_i
    elif method == "cot":
        loss = _coo_matmul(coo, verts) * norm_w - verts  # weighted mean - v_i
    else:
        loss = (_coo_matmul(coo, verts) - row_sums * verts) * norm_w
    return (loss.norm(dim=1) * weights).sum() / N
