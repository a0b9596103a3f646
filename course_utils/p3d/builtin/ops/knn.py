"""K nearest neighbours between two batches of point clouds (``pytorch3d.ops.knn``).

For every point ``p1[n, i]`` :func:`knn_points` finds the K points of ``p2[n]`` closest to
it and returns their squared distances (norm=2) or L1 distances (norm=1), their indices
and, optionally, the points themselves. It is the workhorse of the chamfer distance and
of the F-score.

How it works (and why it is fast in pure PyTorch)
-------------------------------------------------
The squared distance expands as ``|a - b|² = |a|² - 2 a·b + |b|²``. For one query ``a``
the term ``|a|²`` is the same for every candidate ``b``, so the nearest neighbours of
``a`` are those with the smallest **score** ``|b|² - 2 a·b``, and the scores of a block of
queries against all of ``p2`` are one batched matrix product (``torch.baddbmm``). The
queries are processed in blocks of rows so that the score matrix never exceeds a fixed
number of elements (``_CHUNK_ELEMENTS``): 100k x 100k points need a few MB, not 40 GB.
The K + 1 best candidates of each row are found in two stages: the minimum of every
block of about 2√P2 columns (``amin``, a fast vectorised reduction), then ``topk`` over
the columns of the K + 1 best blocks only, which must hold the K + 1 smallest scores.

Scores computed this way carry rounding errors (catastrophic cancellation when the
points are far from the origin), so they are only used to *choose* candidates:

1. the clouds are centred on the mean of ``p2`` first, which keeps the error small;
2. the error of every score is bounded (a few float epsilons times ``(|a| + max|b|)²``);
   if the K-th and (K+1)-th scores of a row are further apart than twice that bound, the
   K winners are certain. Their distances are then recomputed **exactly as PyTorch3D does**
   (``sum_d (a_d - b_d)²`` in order), and sorted by (distance, index);
3. in the few rows where the gap is too small (near ties), only the columns scoring
   within the error bound of the K-th can still be among the K nearest: their exact
   distances decide, exact ties going to the smaller index as in PyTorch3D's CPU kernel.

So the indices agree with PyTorch3D's exactly and the distances bit for bit (for float32
on the CPU), while the heavy work is a matrix product. The returned distances are
computed with ordinary differentiable tensor operations from the chosen neighbours, so
gradients flow to both ``p1`` and ``p2`` (as ``2 (p1 - p2)`` for norm=2, ``sign(p1 - p2)``
for norm=1), and to the gathered neighbours ``knn``.
"""

from __future__ import annotations

import math
import operator
from collections import namedtuple

import torch

__all__ = ["knn_gather", "knn_points"]

#: ``knn_points``'s result, as in PyTorch3D: ``dists`` (N, P1, K), ``idx`` (N, P1, K) and
#: ``knn`` (N, P1, K, D) or None.
KNN = namedtuple("KNN", "dists idx knn")
_KNN = KNN  # PyTorch3D's name for the same tuple

#: Upper bound on the number of elements of one block of the score matrix (and of the
#: ``(rows, P2, D)`` differences of the L1 search), at least one row per cloud: 8 MB
#: of float32, large enough to amortise the per-block overhead. Tests monkeypatch it to
#: check that chunked and unchunked results agree.
_CHUNK_ELEMENTS = 1 << 21


def _check_lengths(lengths: torch.Tensor | None, n: int, p: int, name: str) -> torch.Tensor | None:
    """Validate an optional ``(N,)`` lengths tensor with values in [0, P]."""
    if lengths is None:
        return None
    if not torch.is_tensor(lengths) or lengths.dim() != 1 or lengths.shape[0] != n:
        shape = tuple(lengths.shape) if torch.is_tensor(lengths) else type(lengths).__name__
        raise ValueError(f"{name} must be a tensor of shape (N,) = ({n},), got {shape}")
    if lengths.dtype.is_floating_point or lengths.dtype == torch.bool:
        raise ValueError(f"{name} must be an integer tensor, got {lengths.dtype}")
    if lengths.numel() > 0 and (int(lengths.min()) < 0 or int(lengths.max()) > p):
        raise ValueError(f"{name} values must lie in [0, {p}], got {lengths.tolist()}")
    return lengths


def _distances(a: torch.Tensor, b: torch.Tensor, norm: int) -> torch.Tensor:
    """Exact distances between ``a (..., D)`` and ``b (..., D)`` (broadcast), summed over
    the last dimension one coordinate at a time, in the order PyTorch3D's kernel uses
    (``((0 + x0) + x1) + x2``), so float results agree bit for bit."""
    diff = a - b
    terms = diff * diff if norm == 2 else diff.abs()
    out = terms[..., 0]
    for d in range(1, terms.shape[-1]):
        out = out + terms[..., d]
    return out


def _row_blocks(total: int, per_row: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of blocks of rows with ``rows * per_row <= _CHUNK_ELEMENTS``
    (at least one row per block)."""
    rows = max(1, _CHUNK_ELEMENTS // max(1, per_row))
    return [(r0, min(r0 + rows, total)) for r0 in range(0, total, rows)]


def _pick(
    scores: torch.Tensor,
    K: int,  # noqa: N803
    tol: torch.Tensor | float,
    block: int = 0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The K smallest scores of each row, and whether that choice is certain.

    Args:
        scores: ``(..., W)`` scores, ``+inf`` where the column is padding.
        K: number of neighbours.
        tol: bound on each score's error, broadcastable to ``scores.shape[:-1]``
            (0 for exact scores: then only exact ties at the K-th place are uncertain).
        block: if > 0 (a divisor of W with W / block >= K + 1), search in two stages:
            the minimum of every block of ``block`` columns (``amin``, a fast vectorised
            reduction), then ``topk`` among the columns of the K + 1 best blocks only.
            The K + 1 smallest values lie in those blocks, so the values found are those
            of a ``topk`` over the whole row, at a fraction of the cost.

    Returns:
        ``(cand, unsure, limit)``: ``cand (..., K)`` column indices (``W`` in the slots
        beyond ``W``); ``unsure (...)`` True where the K-th and (K+1)-th scores are within
        ``2 * tol``, so that rounding (or a tie) could change which points are the K
        nearest; ``limit (...)`` the K-th score + ``2 * tol``: no true K-nearest
        neighbour can score more.
    """
    W = scores.shape[-1]
    if block > 0:
        blocks = scores.unflatten(-1, (W // block, block))
        _, best_blocks = blocks.amin(-1).topk(K + 1, dim=-1, largest=False, sorted=False)
        inside = blocks.gather(-2, best_blocks[..., None].expand(*best_blocks.shape, block))
        vals, where = inside.flatten(-2).topk(K + 1, dim=-1, largest=False, sorted=True)
        cand = best_blocks.gather(-1, where // block) * block + where % block
    else:
        kk = min(K + 1, W)
        vals, cand = scores.topk(kk, dim=-1, largest=False, sorted=True)
        if kk <= K:
            # Fewer columns than K: every column is chosen; the missing slots get the
            # out-of-range index W, which the caller treats as padding.
            pad = cand.new_full((*cand.shape[:-1], K - kk), W)
            unsure = torch.zeros(scores.shape[:-1], dtype=torch.bool, device=scores.device)
            return torch.cat([cand, pad], dim=-1), unsure, vals[..., -1]
    gap = vals[..., K] - vals[..., K - 1]  # inf - inf = nan compares False: no doubt there
    return cand[..., :K], gap <= 2 * tol, vals[..., K - 1] + 2 * tol


def _block_size(P2: int, K: int) -> int:  # noqa: N803
    """Column block size for the two-stage search of :func:`_pick`, 0 for a plain topk."""
    block = 2 * int(math.sqrt(P2))
    return block if P2 >= 2048 and P2 >= 4 * (K + 1) * block else 0


def _first_k_per_group(
    group: torch.Tensor,
    value: torch.Tensor,
    col: torch.Tensor,
    num_groups: int,
    K: int,  # noqa: N803
    fill: int,
) -> torch.Tensor:
    """For each group, the ``col`` of its K smallest ``value`` (ties: smaller ``col``).

    Args:
        group, value, col: ``(M,)`` candidates: group id in [0, num_groups), value, column;
            within a group the candidates come in increasing ``col``.
        num_groups: G.
        K: how many to keep per group.
        fill: column written where a group has fewer than K candidates.

    Returns:
        ``(G, K)`` int64 columns, by increasing (value, col).
    """
    by_value = value.sort(stable=True).indices  # stable: equal values keep col order
    order = by_value[group[by_value].sort(stable=True).indices]  # then by group
    group, col = group[order], col[order]
    count = torch.bincount(group, minlength=num_groups)
    rank = (
        torch.arange(group.numel(), device=group.device) - (torch.cumsum(count, 0) - count)[group]
    )
    keep = rank < K
    out = torch.full((num_groups, K), fill, dtype=torch.int64, device=group.device)
    out[group[keep], rank[keep]] = col[keep]
    return out


@torch.no_grad()
def _knn_idx(
    p1: torch.Tensor,
    p2: torch.Tensor,
    lengths1: torch.Tensor,
    lengths2: torch.Tensor,
    K: int,  # noqa: N803
    norm: int,
) -> torch.Tensor:
    """Indices ``(N, P1, K)`` of the K nearest neighbours, ordered by (distance, index).

    Slots without a neighbour (``k >= lengths2[n]``) and padded queries hold index 0.
    """
    N, P1, D = p1.shape
    P2 = p2.shape[1]
    device = p1.device
    idx = torch.zeros((N, P1, K), dtype=torch.int64, device=device)
    if N == 0 or P1 == 0 or P2 == 0:
        return idx
    # Work in at least float32 (half-precision products lose too much).
    work = torch.promote_types(p1.dtype, torch.float32)
    col_valid = torch.arange(P2, device=device)[None] < lengths2[:, None]  # (N, P2)
    row_valid = torch.arange(P1, device=device)[None] < lengths1[:, None]  # (N, P1)
    # Padding may hold anything (even inf or nan): zero it so it cannot leak into sums.
    p1w = p1.to(work).masked_fill(~row_valid[..., None], 0.0)
    p2w = p2.to(work).masked_fill(~col_valid[..., None], 0.0)
    cand = torch.zeros((N, P1, K), dtype=torch.int64, device=device)

    def settle(scores: torch.Tensor, tol: torch.Tensor | float, r0: int, block: int = 0) -> None:
        """Choose the neighbours of rows r0.. from their ``(N, rows, W)`` scores; redo the
        rows in doubt with exact distances to the few columns that could still win."""
        rows = scores.shape[1]
        best, unsure, limit = _pick(scores, K, tol, block)
        cand[:, r0 : r0 + rows] = best
        unsure &= row_valid[:, r0 : r0 + rows]
        n_u, r_u = unsure.nonzero(as_tuple=True)
        if n_u.numel() == 0:
            return
        # Columns scoring at most the limit: every true K-nearest neighbour is among them.
        group, col = (scores[n_u, r_u] <= limit[n_u, r_u][:, None]).nonzero(as_tuple=True)
        n, i = n_u[group], r0 + r_u[group]
        exact = _distances(p1w[n, i], p2w[n, col], norm)
        cand[n_u, r0 + r_u] = _first_k_per_group(group, exact, col, n_u.numel(), K, P2)

    if norm == 2:
        # Centre both clouds on the mean of the valid p2 points: distances are unchanged,
        # scores lose far fewer digits.
        count = lengths2.clamp(min=1).to(work)[:, None]
        centre = (p2w * col_valid[..., None]).sum(1) / count  # (N, D)
        a_all = p1w - centre[:, None]
        b = p2w - centre[:, None]
        b_max = ((b * b).sum(-1) * col_valid).amax(1).sqrt()  # (N,) largest valid |b|
        a_norm = a_all.norm(dim=-1)  # (N, P1)
        # Error bound of a score plus that of the exact distance it is compared with.
        tol_all = (4 * D + 16) * torch.finfo(work).eps * (a_norm + b_max[:, None]) ** 2
        # Pad the columns to a multiple of the block size of the two-stage search.
        block = _block_size(P2, K)
        width = P2 if block == 0 else -(-P2 // block) * block
        b = torch.nn.functional.pad(b, (0, 0, 0, width - P2))
        valid = torch.nn.functional.pad(col_valid, (0, width - P2))
        b_sq = (b * b).sum(-1).masked_fill(~valid, float("inf"))  # (N, width)
        b_t = b.transpose(1, 2).contiguous()  # (N, D, width)
        # One batched matrix product per block of rows, |b|² - 2 a.b, written into a
        # buffer reused from block to block (fresh memory for every block is slower).
        blocks = _row_blocks(P1, N * width)
        rows = blocks[0][1] - blocks[0][0]
        buffer = a_all.new_empty((N, rows, width))
        for r0, r1 in blocks:
            out = buffer if r1 - r0 == rows else None
            scores = torch.baddbmm(b_sq[:, None, :], a_all[:, r0:r1], b_t, alpha=-2, out=out)
            settle(scores, tol_all[:, r0:r1], r0, block)
    else:
        # L1 has no matrix-product form: exact distances, block by block (ties resolved
        # like doubts, with tolerance 0).
        for r0, r1 in _row_blocks(P1, N * P2 * D):
            scores = _distances(p1w[:, r0:r1, None, :], p2w[:, None, :, :], norm)
            settle(scores.masked_fill(~col_valid[:, None, :], float("inf")), 0.0, r0)

    # Order the K winners by (exact distance, index); padding columns go last.
    cand = cand.sort(dim=-1).values
    safe = cand.clamp(max=P2 - 1)
    gathered = torch.gather(p2w, 1, safe.reshape(N, P1 * K, 1).expand(-1, -1, D))
    exact = _distances(p1w[:, :, None, :], gathered.reshape(N, P1, K, D), norm)
    exact = exact.masked_fill(cand >= lengths2[:, None, None], float("inf"))
    order = exact.sort(dim=-1, stable=True).indices
    idx = safe.gather(2, order)
    slot_valid = torch.arange(K, device=device)[None, None] < lengths2[:, None, None]
    return idx.masked_fill(~(slot_valid & row_valid[..., None]), 0)


def knn_points(
    p1: torch.Tensor,
    p2: torch.Tensor,
    lengths1: torch.Tensor | None = None,
    lengths2: torch.Tensor | None = None,
    norm: int = 2,
    K: int = 1,  # noqa: N803 - PyTorch3D's argument name
    version: int = -1,
    return_nn: bool = False,
    return_sorted: bool = True,
) -> KNN:
    """K nearest neighbours in ``p2`` of every point of ``p1`` (PyTorch3D's ``knn_points``).

    Args:
        p1: ``(N, P1, D)`` query points: N clouds of up to P1 points of dimension D.
        p2: ``(N, P2, D)`` reference points, searched for each query (same N and D).
        lengths1: optional ``(N,)`` int64, the number of real points of each cloud of
            ``p1`` (the rest is padding); None means all P1.
        lengths2: optional ``(N,)`` int64, the same for ``p2``; padded points of ``p2``
            are never returned as neighbours.
        norm: 2 for squared Euclidean distances, 1 for L1 distances.
        K: number of neighbours per query. When a cloud of ``p2`` has fewer than K
            points, the missing slots are padding (distance 0, index 0), as in PyTorch3D.
        version: PyTorch3D's choice of CUDA kernel; accepted and ignored (every version
            gives the same result).
        return_nn: also return the neighbours' coordinates.
        return_sorted: accepted for compatibility; neighbours are always returned sorted
            by increasing distance (ties: smaller index first), which PyTorch3D's CPU
            kernel does too.

    Returns:
        ``KNN(dists, idx, knn)``, a named tuple:

        - ``dists``: ``(N, P1, K)`` **squared** distances for norm=2 (L1 distances for
          norm=1), ascending along K; 0 at padded queries and missing neighbours.
          Differentiable with respect to ``p1`` and ``p2``.
        - ``idx``: ``(N, P1, K)`` int64: ``p2[n, idx[n, i, k]]`` is the k-th nearest
          neighbour of ``p1[n, i]``; 0 at padded queries and missing neighbours.
        - ``knn``: ``(N, P1, K, D)`` the neighbours themselves (``knn_gather(p2, idx,
          lengths2)``) if ``return_nn``, else None.

    Raises:
        ValueError: for inputs that are not ``(N, P, D)`` tensors, mismatched N or D,
            K < 1, a norm other than 1 or 2, or lengths of the wrong shape or range.

    Why squared distances: they are what least-squares losses need, they are smooth
    (gradient ``2 (p1 - p2)``, also at 0) and cost no square root.

    Memory: beyond the inputs and outputs, a block of at most ``_CHUNK_ELEMENTS`` scores
    (or one row per cloud, ``N x P2``, if that is larger) and a few ``(N, P2)`` tensors.

    Example:
        >>> import torch
        >>> p1 = torch.tensor([[[0.0, 0.0, 0.0], [2.0, 0.0, 0.0]]])
        >>> p2 = torch.tensor([[[0.0, 1.0, 0.0], [3.0, 0.0, 0.0], [0.0, 0.0, 0.5]]])
        >>> out = knn_points(p1, p2, K=2)
        >>> out.idx
        tensor([[[2, 0],
                 [1, 2]]])
        >>> out.dists
        tensor([[[0.2500, 1.0000],
                 [1.0000, 4.2500]]])
    """
    del version, return_sorted  # no effect here, see the docstring
    for name, p in (("p1", p1), ("p2", p2)):
        if not torch.is_tensor(p) or p.dim() != 3:
            shape = tuple(p.shape) if torch.is_tensor(p) else type(p).__name__
            raise ValueError(f"{name} must be a tensor of shape (N, P, D), got {shape}")
    if p1.shape[0] != p2.shape[0]:
        raise ValueError(
            f"pts1 and pts2 must have the same batch dimension: {p1.shape[0]} != {p2.shape[0]}"
        )
    if p1.shape[2] != p2.shape[2]:
        raise ValueError(
            f"pts1 and pts2 must have the same point dimension: {p1.shape[2]} != {p2.shape[2]}"
        )
    if p1.shape[2] == 0:
        raise ValueError("points must have at least one coordinate (D > 0)")
    if p2.device != p1.device:
        raise ValueError(f"p1 and p2 must be on one device, got {p1.device} and {p2.device}")
    try:
        K = operator.index(K)  # noqa: N806 - PyTorch3D's argument name
    except TypeError:
        raise ValueError(f"K must be a positive integer, got {K!r}") from None
    if K < 1:
        raise ValueError(f"K must be a positive integer, got {K!r}")
    if norm not in (1, 2):
        raise ValueError(f"Support for 1 or 2 norm; got norm={norm!r}")
    N, P1, D = p1.shape
    P2 = p2.shape[1]
    lengths1 = _check_lengths(lengths1, N, P1, "lengths1")
    lengths2 = _check_lengths(lengths2, N, P2, "lengths2")
    if lengths1 is None:
        lengths1 = torch.full((N,), P1, dtype=torch.int64, device=p1.device)
    if lengths2 is None:
        lengths2 = torch.full((N,), P2, dtype=torch.int64, device=p1.device)
    lengths1 = lengths1.to(device=p1.device, dtype=torch.int64)
    lengths2 = lengths2.to(device=p1.device, dtype=torch.int64)

    idx = _knn_idx(p1.detach(), p2.detach(), lengths1, lengths2, K, norm)

    # Differentiable distances of the chosen neighbours (zero where there is none). The
    # padding is replaced by zeros through ``where``, so whatever it holds (inf, nan) gets a
    # zero gradient instead of poisoning it.
    row_valid = torch.arange(P1, device=p1.device)[None] < lengths1[:, None]  # (N, P1)
    col_valid = torch.arange(P2, device=p1.device)[None] < lengths2[:, None]  # (N, P2)
    zero = torch.zeros((), dtype=p1.dtype, device=p1.device)
    valid = (torch.arange(K, device=p1.device)[None, None] < lengths2[:, None, None]) & row_valid[
        ..., None
    ]
    if P2 > 0:
        p1_real = torch.where(row_valid[..., None], p1, zero)
        p2_real = torch.where(col_valid[..., None], p2, zero)
        nn = torch.gather(p2_real, 1, idx.reshape(N, P1 * K, 1).expand(-1, -1, D))
        dists = _distances(p1_real[:, :, None, :], nn.reshape(N, P1, K, D), norm)
        dists = torch.where(valid, dists, zero)
    else:  # no neighbours at all: zeros, still connected to p1 for autograd
        dists = torch.where(valid, p1.sum(-1, keepdim=True).expand(N, P1, K), zero)
    knn = knn_gather(p2, idx, lengths2) if return_nn else None
    return KNN(dists=dists, idx=idx, knn=knn)


def knn_gather(
    x: torch.Tensor, idx: torch.Tensor, lengths: torch.Tensor | None = None
) -> torch.Tensor:
    """Gather the rows of ``x`` that ``knn_points`` chose (PyTorch3D's ``knn_gather``).

    Args:
        x: ``(N, M, U)`` features of the reference points (their coordinates, normals,
            colours ...).
        idx: ``(N, L, K)`` int64 indices into M, as returned by :func:`knn_points`.
        lengths: optional ``(N,)`` number of real points of each cloud of ``x``.

    Returns:
        ``(N, L, K, U)`` with ``out[n, l, k] = x[n, idx[n, l, k]]``; filled with 0 where
        ``k >= lengths[n]`` (neighbours that do not exist). Differentiable w.r.t. ``x``.

    Example:
        >>> import torch
        >>> x = torch.tensor([[[10.0], [20.0], [30.0]]])
        >>> knn_gather(x, torch.tensor([[[2, 0]]]))
        tensor([[[[30.],
                  [10.]]]])
    """
    if not torch.is_tensor(x) or x.dim() != 3:
        raise ValueError("x must be a tensor of shape (N, M, U)")
    if not torch.is_tensor(idx) or idx.dim() != 3:
        raise ValueError("idx must be a tensor of shape (N, L, K)")
    N, M, U = x.shape
    _, L, K = idx.shape
    if idx.shape[0] != N:
        raise ValueError(f"x and idx must have same batch dimension: {N} != {idx.shape[0]}")
    if lengths is None:
        lengths = torch.full((N,), M, dtype=torch.int64, device=x.device)
    if M == 0:  # nothing to gather: every neighbour is missing
        return x.new_zeros((N, L, K, U)) + 0 * x.sum()
    out = torch.gather(x, 1, idx.reshape(N, L * K, 1).expand(-1, -1, U)).reshape(N, L, K, U)
    missing = lengths.to(x.device)[:, None] <= torch.arange(K, device=x.device)[None]  # (N, K)
    if bool(missing.any()):
        out = out.masked_fill(missing[:, None, :, None], 0.0)
    return out
