"""Laplacian matrices of meshes and graphs (``pytorch3d.ops.laplacian_matrices``).

The Laplacian of a mesh is the discrete version of the Laplace operator ∆f = ∂²f/∂x² +
∂²f/∂y² of calculus: applied to a quantity living on the vertices (here, their positions
``V``), ``(L V)[i]`` compares vertex i with its neighbours. For the **uniform** (graph)
Laplacian it is ``mean of the neighbours - v_i``: zero where the vertex sits at the average
of its neighbours (a flat, evenly spaced patch), large at spikes and wrinkles. This is why
``|L V|`` is a smoothness regulariser for meshes that are being deformed.

The uniform weights ignore the geometry: a vertex whose neighbours are unevenly spaced is
"not smooth" even on a perfectly flat surface. The **cotangent** Laplacian weights the
edge (i, j) by ``cot α_ij + cot β_ij``, the cotangents of the two angles opposite the edge.
These are the weights of the finite-element discretisation of ∆ on a triangle mesh, so
``L V`` then approximates (area times) the mean-curvature normal: it vanishes on any flat
patch whatever the triangulation, and measures bending rather than uneven sampling.

All matrices are returned as sparse COO tensors of shape ``(V, V)``, as in PyTorch3D. The
losses use the same weights through the private ``*_coo`` helpers and a scatter-add
product, which runs on every device (sparse kernels are missing on some).
"""

from __future__ import annotations

import torch

__all__ = ["cot_laplacian", "laplacian", "norm_laplacian"]

Coo = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def _float_dtype(verts: torch.Tensor) -> torch.dtype:
    return verts.dtype if verts.dtype.is_floating_point else torch.float32


def _check_verts_index(verts: torch.Tensor, index: torch.Tensor, name: str, width: int) -> None:
    if not torch.is_tensor(verts) or verts.dim() != 2:
        raise ValueError(
            f"verts must be a tensor of shape (V, 3), got {getattr(verts, 'shape', verts)}"
        )
    if not torch.is_tensor(index) or index.dim() != 2 or index.shape[1] != width:
        shape = tuple(index.shape) if torch.is_tensor(index) else type(index).__name__
        raise ValueError(f"{name} must be an integer tensor of shape (*, {width}), got {shape}")
    if index.numel() > 0 and (int(index.min()) < 0 or int(index.max()) >= verts.shape[0]):
        raise ValueError(f"{name} refer to vertices outside [0, {verts.shape[0]})")


def _to_sparse(coo: Coo, size: int) -> torch.Tensor:
    rows, cols, vals = coo
    indices = torch.stack([rows, cols])
    # Indices were validated by the caller: skip torch's (slow) invariant checks.
    return torch.sparse_coo_tensor(indices, vals, (size, size), check_invariants=False).coalesce()


def _coo_matmul(coo: Coo, x: torch.Tensor) -> torch.Tensor:
    """``L @ x`` for ``L`` given as COO triplets (duplicates add up) and ``x`` ``(V, C)``."""
    rows, cols, vals = coo
    out = x.new_zeros(x.shape)
    return out.index_add(0, rows, vals[:, None].to(x.dtype) * x[cols])


def _coo_row_sums(coo: Coo, size: int) -> torch.Tensor:
    """Row sums ``L.sum(1)`` of a COO matrix, shape ``(V,)``."""
    rows, _, vals = coo
    return vals.new_zeros(size).index_add(0, rows, vals)


def _laplacian_coo(verts: torch.Tensor, edges: torch.Tensor) -> Coo:
    """COO triplets of :func:`laplacian` (off-diagonal 1/deg(i), diagonal -1)."""
    V = verts.shape[0]
    dtype = _float_dtype(verts)
    e0, e1 = edges[:, 0], edges[:, 1]
    deg = torch.bincount(torch.cat([e0, e1]), minlength=V).to(dtype)
    inv_deg = torch.where(deg > 0, 1.0 / deg.clamp(min=1), deg)
    diag = torch.arange(V, device=verts.device)
    rows = torch.cat([e0, e1, diag])
    cols = torch.cat([e1, e0, diag])
    vals = torch.cat([inv_deg[e0], inv_deg[e1], -torch.ones(V, dtype=dtype, device=verts.device)])
    return rows, cols, vals


def _cot_coo(verts: torch.Tensor, faces: torch.Tensor, eps: float) -> tuple[Coo, torch.Tensor]:
    """COO triplets of :func:`cot_laplacian` and the ``(V, 1)`` inverse vertex areas."""
    V = verts.shape[0]
    v0, v1, v2 = verts[faces].unbind(1)  # corners of every face, (F, 3) each
    # Side lengths: A is opposite corner 0, B opposite corner 1, C opposite corner 2.
    A = (v1 - v2).norm(dim=1)
    B = (v0 - v2).norm(dim=1)
    C = (v0 - v1).norm(dim=1)
    # Heron's formula; rounding can make the product slightly negative for slivers.
    s = 0.5 * (A + B + C)
    area = (s * (s - A) * (s - B) * (s - C)).clamp(min=eps).sqrt()
    # cot of the angle at a corner = (sum of squares of its sides - opposite side²) / 4 area
    A2, B2, C2 = A * A, B * B, C * C
    cot = torch.stack([B2 + C2 - A2, A2 + C2 - B2, A2 + B2 - C2], dim=1) / area[:, None] / 4.0
    # The angle at corner k is opposite the edge (k+1, k+2): L[v1, v2] = cot at corner 0 ...
    ii = faces[:, [1, 2, 0]].reshape(-1)
    jj = faces[:, [2, 0, 1]].reshape(-1)
    vals = cot.reshape(-1)
    coo = (torch.cat([ii, jj]), torch.cat([jj, ii]), torch.cat([vals, vals]))  # symmetric
    # Sum of the areas of the faces around each vertex, inverted where non-zero.
    vert_area = area.new_zeros(V).index_add(0, faces.reshape(-1), area.repeat_interleave(3))
    inv_areas = torch.where(
        vert_area > 0, 1.0 / vert_area.clamp(min=torch.finfo(area.dtype).tiny), vert_area
    )
    return coo, inv_areas.view(-1, 1)


def laplacian(verts: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    """The uniform (graph) Laplacian of a mesh or graph.

    ``L[i, j] = 1 / deg(i)`` if (i, j) is an edge, ``L[i, i] = -1``, 0 otherwise, so that
    ``(L @ verts)[i]`` is the mean of vertex i's neighbours minus vertex i.

    Args:
        verts: ``(V, 3)`` vertex positions (only their number and device are used).
        edges: ``(E, 2)`` int64 vertex indices of each (undirected) edge, each edge once.

    Returns:
        Sparse ``(V, V)`` tensor (COO, coalesced) of the dtype of ``verts``.

    Example:
        >>> import torch
        >>> verts = torch.zeros(3, 3)
        >>> edges = torch.tensor([[0, 1], [1, 2]])  # a path 0 - 1 - 2
        >>> laplacian(verts, edges).to_dense()
        tensor([[-1.0000,  1.0000,  0.0000],
                [ 0.5000, -1.0000,  0.5000],
                [ 0.0000,  1.0000, -1.0000]])
    """
    _check_verts_index(verts, edges, "edges", 2)
    return _to_sparse(_laplacian_coo(verts, edges), verts.shape[0])


def cot_laplacian(
    verts: torch.Tensor, faces: torch.Tensor, eps: float = 1e-12
) -> tuple[torch.Tensor, torch.Tensor]:
    """The cotangent Laplacian of a triangle mesh and the inverse vertex areas.

    ``L[i, j] = cot α_ij + cot β_ij`` for every edge (i, j), where α_ij and β_ij are the
    angles opposite the edge in its two triangles (one for a boundary edge); the diagonal
    is 0. The cotangent of the angle at corner a of a triangle with sides A (opposite a),
    B, C and area S is ``(B² + C² - A²) / (4 S)`` (law of cosines over twice the area), so
    no trigonometric function is needed. Triangle areas come from Heron's formula; the
    squared area is clamped at ``eps`` so degenerate triangles give large but finite
    weights.

    Args:
        verts: ``(V, 3)`` vertex positions.
        faces: ``(F, 3)`` int64 vertex indices of each triangle.
        eps: lower bound of the squared triangle areas.

    Returns:
        ``(L, inv_areas)``: ``L`` sparse ``(V, V)`` (COO, coalesced), differentiable w.r.t.
        ``verts``; ``inv_areas`` ``(V, 1)``, 1 / (sum of the areas of the faces around each
        vertex), 0 for vertices in no face.

    Example:
        >>> import torch
        >>> verts = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
        >>> L, inv_areas = cot_laplacian(verts, torch.tensor([[0, 1, 2]]))
        >>> # edges 0-1 and 0-2 face 45° angles (cot = 1), edge 1-2 the right angle (cot = 0)
        >>> L.to_dense().round(decimals=4)
        tensor([[0., 1., 1.],
                [1., 0., 0.],
                [1., 0., 0.]])
        >>> inv_areas.view(-1).round(decimals=4)  # 1 / (area 0.5)
        tensor([2., 2., 2.])
    """
    _check_verts_index(verts, faces, "faces", 3)
    coo, inv_areas = _cot_coo(verts, faces, eps)
    return _to_sparse(coo, verts.shape[0]), inv_areas


def norm_laplacian(verts: torch.Tensor, edges: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Edge-length weighted adjacency: ``L[i, j] = 1 / (|v_i - v_j| + eps)`` on every edge.

    Args:
        verts: ``(V, 3)`` vertex positions.
        edges: ``(E, 2)`` int64 vertex indices of each edge.
        eps: added to the lengths so that zero-length edges stay finite.

    Returns:
        Sparse symmetric ``(V, V)`` tensor (COO, coalesced), differentiable w.r.t. ``verts``;
        the diagonal is 0.

    Example:
        >>> import torch
        >>> verts = torch.tensor([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0]])
        >>> norm_laplacian(verts, torch.tensor([[0, 1]])).to_dense()
        tensor([[0.0000, 0.5000],
                [0.5000, 0.0000]])
    """
    _check_verts_index(verts, edges, "edges", 2)
    v0, v1 = verts[edges[:, 0]], verts[edges[:, 1]]
    w = 1.0 / ((v0 - v1).norm(dim=1) + eps)
    e0, e1 = edges[:, 0], edges[:, 1]
    return _to_sparse((torch.cat([e0, e1]), torch.cat([e1, e0]), torch.cat([w, w])), verts.shape[0])
