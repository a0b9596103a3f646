"""Nearest neighbours, chamfer, the mesh regularisers and cubify.

Three kinds of checks: agreement with recorded PyTorch3D outputs (the ``knn``, ``chamfer``,
``regularizers`` and ``cubify`` reference cases), analytic answers (a set against itself,
a shifted set, flat and convex meshes, single voxels) and gradients. Everything goes
through the ``course_utils.p3d`` facade, so with ``COURSE_BACKEND=pytorch3d`` the same
tests check real PyTorch3D; the few marked ``builtin_only`` test the built-in backend's
own machinery (chunking, float64 gradcheck, its error messages).
"""

from __future__ import annotations

import importlib
import itertools
import math

import pytest
import torch

from course_utils.p3d import loss, ops, structures, utils

Meshes = structures.Meshes
Pointclouds = structures.Pointclouds


# ---------------------------------------------------------------- helpers
def naive_knn(
    p1: torch.Tensor,
    p2: torch.Tensor,
    K: int,  # noqa: N803
    lengths1: torch.Tensor | None = None,
    lengths2: torch.Tensor | None = None,
    norm: int = 2,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Brute-force KNN with PyTorch3D's conventions: distances summed coordinate by
    coordinate, ties broken towards the smaller index, missing slots (0, 0)."""
    N, P1, _ = p1.shape
    P2 = p2.shape[1]
    lengths1 = torch.full((N,), P1) if lengths1 is None else lengths1
    lengths2 = torch.full((N,), P2) if lengths2 is None else lengths2
    dists = torch.zeros(N, P1, K, dtype=p1.dtype)
    idx = torch.zeros(N, P1, K, dtype=torch.int64)
    for n in range(N):
        for i in range(int(lengths1[n])):
            diff = p1[n, i] - p2[n, : int(lengths2[n])]
            terms = diff * diff if norm == 2 else diff.abs()
            d = terms[:, 0] + terms[:, 1] + terms[:, 2]
            order = sorted(range(d.shape[0]), key=lambda j: (float(d[j]), j))[:K]
            for k, j in enumerate(order):
                dists[n, i, k], idx[n, i, k] = d[j], j
    return dists, idx


def grid_mesh(n: int, jitter: float = 0.0, seed: int = 0) -> Meshes:
    """A flat n x n grid of vertices in the plane z = 0, each square split into two
    triangles the same way; ``jitter`` moves the interior vertices randomly in the plane."""
    ys, xs = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    verts = torch.stack([xs, ys, torch.zeros_like(xs)], -1).reshape(-1, 3).float()
    if jitter:
        g = torch.Generator().manual_seed(seed)
        interior = ((xs > 0) & (xs < n - 1) & (ys > 0) & (ys < n - 1)).reshape(-1)
        shift = (torch.rand(n * n, 2, generator=g) - 0.5) * 2 * jitter
        verts[interior, :2] += shift[interior]
    i = torch.arange(n - 1)
    corner = (i[:, None] * n + i[None, :]).reshape(-1)  # lower-left corner of each square
    faces = torch.cat(
        [
            torch.stack([corner, corner + 1, corner + n + 1], 1),
            torch.stack([corner, corner + n + 1, corner + n], 1),
        ]
    )
    return Meshes(verts=[verts], faces=[faces])


def interior_vertices(n: int) -> torch.Tensor:
    ys, xs = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    return ((xs > 0) & (xs < n - 1) & (ys > 0) & (ys < n - 1)).reshape(-1)


def regular_tetrahedron(side: float) -> Meshes:
    """A regular tetrahedron with all six edges of length ``side``, faces wound outwards."""
    verts = torch.tensor([[1.0, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]])
    verts = verts * side / (2 * math.sqrt(2))  # the edge of the unscaled one is 2√2
    faces = torch.tensor([[0, 1, 2], [0, 3, 1], [0, 2, 3], [1, 3, 2]])
    return Meshes(verts=[verts], faces=[faces])


def separated_points(n: int = 27, spacing: float = 1.0) -> torch.Tensor:
    """``(1, n, 3)`` points on a cubic lattice: nearest neighbours are ``spacing`` apart."""
    side = round(n ** (1 / 3))
    pts = torch.tensor(list(itertools.product(range(side), repeat=3)), dtype=torch.float32)
    return (pts * spacing)[None]


# ---------------------------------------------------------------- reference cases
def test_knn_matches_reference(reference):
    case = reference["knn"]
    out = ops.knn_points(case["p1"], case["p2"], K=int(case["K"]))
    assert torch.equal(out.idx, case["idx"])
    torch.testing.assert_close(out.dists, case["dists"], atol=1e-5, rtol=0)
    assert out.knn is None


def test_knn_return_nn_are_the_indexed_points(reference):
    case = reference["knn"]
    out = ops.knn_points(case["p1"], case["p2"], K=3, return_nn=True)
    p2 = case["p2"]
    expected = torch.stack([p2[n][out.idx[n]] for n in range(p2.shape[0])])
    torch.testing.assert_close(out.knn, expected)
    # the distances are those of the returned points
    torch.testing.assert_close(
        out.dists, ((case["p1"][:, :, None] - out.knn) ** 2).sum(-1), atol=1e-6, rtol=1e-6
    )


def test_chamfer_matches_reference(reference):
    case = reference["chamfer"]
    mean, normals = loss.chamfer_distance(case["p1"], case["p2"])
    point_sum, _ = loss.chamfer_distance(case["p1"], case["p2"], point_reduction="sum")
    torch.testing.assert_close(mean, case["chamfer_mean"], atol=1e-5, rtol=1e-6)
    torch.testing.assert_close(point_sum, case["chamfer_point_sum"], atol=1e-4, rtol=1e-6)
    assert normals is None


def test_regularizers_match_reference(reference):
    case = reference["regularizers"]
    mesh = Meshes(verts=[case["verts"]], faces=[case["faces"]])
    values = {
        "laplacian_uniform": loss.mesh_laplacian_smoothing(mesh, method="uniform"),
        "laplacian_cot": loss.mesh_laplacian_smoothing(mesh, method="cot"),
        "edge": loss.mesh_edge_loss(mesh),
        "normal_consistency": loss.mesh_normal_consistency(mesh),
    }
    for name, value in values.items():
        torch.testing.assert_close(value, case[name], atol=1e-5, rtol=1e-5, msg=name)


def test_cubify_matches_reference(reference):
    case = reference["cubify"]
    mesh = ops.cubify(case["voxels"], 0.5)
    ref_verts, ref_faces = case["verts"], case["faces"]
    assert mesh.faces_packed().shape == ref_faces.shape
    v0, v1, v2 = (ref_verts[ref_faces[:, k]] for k in range(3))
    ref_area = torch.linalg.cross(v1 - v0, v2 - v0, dim=1).norm(dim=1).sum() / 2
    torch.testing.assert_close(mesh.faces_areas_packed().sum(), ref_area, atol=1e-4, rtol=1e-6)
    # the same vertex positions, whatever their order
    ours = sorted(map(tuple, mesh.verts_packed().tolist()))
    assert ours == sorted(map(tuple, ref_verts.tolist()))


# ---------------------------------------------------------------- knn_points
@pytest.mark.parametrize("norm", [1, 2])
def test_knn_matches_brute_force_with_lengths_and_ties(norm):
    g = torch.Generator().manual_seed(1)
    for trial in range(6):
        N, P1, P2, K = 3, 17 + trial, 23 - trial, 1 + trial % 4
        p1 = torch.randn(N, P1, 3, generator=g) * 2 + 3
        p2 = torch.randn(N, P2, 3, generator=g) * 2 + 3
        if trial % 2:  # integer coordinates: many exact ties
            p1, p2 = p1.round(), p2.round()
        lengths1 = torch.randint(0, P1 + 1, (N,), generator=g)
        lengths2 = torch.randint(0, P2 + 1, (N,), generator=g)
        out = ops.knn_points(p1, p2, lengths1, lengths2, norm=norm, K=K)
        dists, idx = naive_knn(p1, p2, K, lengths1, lengths2, norm)
        assert torch.equal(out.idx, idx), f"trial {trial}"
        torch.testing.assert_close(out.dists, dists, atol=1e-6, rtol=1e-6)


def test_knn_far_from_origin_still_exact():
    # Far from the origin |a|² - 2ab + |b|² loses digits; the indices must not suffer.
    g = torch.Generator().manual_seed(2)
    p1 = torch.randn(1, 300, 3, generator=g) * 0.01 + 1000.0
    p2 = torch.randn(1, 400, 3, generator=g) * 0.01 + 1000.0
    out = ops.knn_points(p1, p2, K=2)
    dists, idx = naive_knn(p1, p2, 2)
    assert torch.equal(out.idx, idx)
    torch.testing.assert_close(out.dists, dists, atol=0, rtol=0)


def test_knn_padding_is_zero():
    p1 = torch.rand(2, 4, 3)
    p2 = torch.rand(2, 5, 3)
    lengths1, lengths2 = torch.tensor([4, 2]), torch.tensor([5, 1])
    out = ops.knn_points(p1, p2, lengths1, lengths2, K=3, return_nn=True)
    # cloud 1: queries 2, 3 are padding; only one reference point exists
    assert torch.all(out.dists[1, 2:] == 0) and torch.all(out.idx[1, 2:] == 0)
    assert torch.all(out.dists[1, :2, 1:] == 0) and torch.all(out.idx[1, :2, 1:] == 0)
    assert torch.all(out.idx[1, :2, 0] == 0) and torch.all(out.dists[1, :2, 0] > 0)
    assert torch.all(out.knn[1, :, 1:] == 0)
    # cloud 0 is complete: three real neighbours everywhere, sorted
    assert torch.all(out.dists[0] > 0) and torch.all(out.dists[0].diff(dim=-1) >= 0)


def test_knn_ignores_whatever_the_padding_holds():
    g = torch.Generator().manual_seed(11)
    p1, p2 = torch.randn(2, 30, 3, generator=g), torch.randn(2, 3000, 3, generator=g)
    lengths1, lengths2 = torch.tensor([30, 20]), torch.tensor([2500, 3000])
    clean = ops.knn_points(p1, p2, lengths1, lengths2, K=2)
    p1[1, 20:] = float("inf")
    p2[0, 2500:] = float("nan")
    p1.requires_grad_(True)
    p2.requires_grad_(True)
    dirty = ops.knn_points(p1, p2, lengths1, lengths2, K=2)
    assert torch.equal(dirty.idx, clean.idx)
    assert torch.equal(dirty.dists.detach(), clean.dists)
    dirty.dists.sum().backward()
    assert torch.isfinite(p1.grad).all() and torch.all(p1.grad[1, 20:] == 0)
    assert torch.isfinite(p2.grad).all() and torch.all(p2.grad[0, 2500:] == 0)


def test_knn_k_larger_than_the_cloud_pads_like_pytorch3d():
    p1, p2 = torch.rand(1, 3, 3), torch.rand(1, 2, 3)
    out = ops.knn_points(p1, p2, K=4)
    assert out.dists.shape == (1, 3, 4)
    assert torch.all(out.dists[..., 2:] == 0) and torch.all(out.idx[..., 2:] == 0)
    assert sorted(out.idx[0, 0, :2].tolist()) == [0, 1]


def test_knn_gather_zero_fills_missing_neighbours():
    x = torch.arange(6.0).view(1, 3, 2) + 1
    idx = torch.tensor([[[2, 0], [1, 1]]])
    out = ops.knn_gather(x, idx, lengths=torch.tensor([1]))
    assert out.shape == (1, 2, 2, 2)
    torch.testing.assert_close(out[0, :, 0], torch.tensor([[5.0, 6.0], [3.0, 4.0]]))
    assert torch.all(out[0, :, 1] == 0)


def test_knn_bad_input_raises():
    p = torch.rand(2, 5, 3)
    with pytest.raises(ValueError):
        ops.knn_points(p, torch.rand(3, 5, 3))  # different batch sizes
    with pytest.raises(ValueError):
        ops.knn_points(p, torch.rand(2, 5, 2))  # different point dimensions


@pytest.mark.builtin_only
def test_knn_bad_input_messages():
    p = torch.rand(2, 5, 3)
    for kwargs, match in [
        ({"K": 0}, "K must be a positive integer"),
        ({"norm": 3}, "1 or 2 norm"),
        ({"lengths2": torch.tensor([1, 9])}, "lengths2 values"),
        ({"lengths1": torch.tensor([1])}, r"lengths1 must be a tensor of shape \(N,\)"),
    ]:
        with pytest.raises(ValueError, match=match):
            ops.knn_points(p, p, **kwargs)
    with pytest.raises(ValueError, match=r"\(N, P, D\)"):
        ops.knn_points(p[0], p)


@pytest.mark.builtin_only
def test_knn_chunked_equals_unchunked_and_bounds_the_blocks(monkeypatch):
    knn_module = importlib.import_module("course_utils.p3d.builtin.ops.knn")
    g = torch.Generator().manual_seed(3)
    p1 = torch.randn(2, 700, 3, generator=g)
    p2 = torch.randn(2, 2500, 3, generator=g)
    p2[:, 1250:] = p2[:, :1250]  # exact duplicates: ties, so the exact passes run too
    lengths2 = torch.tensor([2500, 1611])
    whole = ops.knn_points(p1, p2, lengths2=lengths2, K=3)
    dists, idx = naive_knn(p1[:, :60], p2, 3, lengths2=lengths2)
    assert torch.equal(whole.idx[:, :60], idx)
    torch.testing.assert_close(whole.dists[:, :60], dists, atol=0, rtol=0)

    sizes: list[int] = []
    settled: list[int] = []
    real_pick, real_settle = knn_module._pick, knn_module._first_k_per_group

    def spy_pick(scores, K, tol, block=0):  # noqa: N803
        sizes.append(scores.numel())
        return real_pick(scores, K, tol, block)

    def spy_settle(group, value, col, num_groups, K, fill):  # noqa: N803
        settled.append(num_groups)
        return real_settle(group, value, col, num_groups, K, fill)

    monkeypatch.setattr(knn_module, "_CHUNK_ELEMENTS", 12_000)
    monkeypatch.setattr(knn_module, "_pick", spy_pick)
    monkeypatch.setattr(knn_module, "_first_k_per_group", spy_settle)
    chunked = ops.knn_points(p1, p2, lengths2=lengths2, K=3)
    assert torch.equal(chunked.idx, whole.idx)
    torch.testing.assert_close(chunked.dists, whole.dists, atol=0, rtol=0)
    # Score blocks stay within the budget (12,000 elements, not 2 x 700 x 2500)...
    assert len(sizes) > 100 and max(sizes) <= 12_000
    # ... and the rows left in doubt by the ties were settled with exact distances.
    assert sum(settled) > 0


@pytest.mark.builtin_only
def test_knn_dists_gradcheck_float64():
    g = torch.Generator().manual_seed(4)
    p1 = torch.randn(2, 6, 3, generator=g, dtype=torch.float64, requires_grad=True)
    p2 = torch.randn(2, 8, 3, generator=g, dtype=torch.float64, requires_grad=True)
    lengths2 = torch.tensor([8, 5])
    for norm in (1, 2):

        def dists(a: torch.Tensor, b: torch.Tensor, norm: int = norm) -> torch.Tensor:
            return ops.knn_points(a, b, lengths2=lengths2, K=2, norm=norm).dists

        assert torch.autograd.gradcheck(dists, (p1, p2))
    assert torch.autograd.gradcheck(
        lambda a, b: ops.knn_points(a, b, K=2, return_nn=True).knn, (p1, p2)
    )


def test_knn_dists_gradient_is_twice_the_offset():
    g = torch.Generator().manual_seed(5)
    p1 = torch.randn(1, 20, 3, generator=g, requires_grad=True)
    p2 = torch.randn(1, 30, 3, generator=g, requires_grad=True)
    out = ops.knn_points(p1, p2, K=1)
    out.dists.sum().backward()
    nearest = p2.detach()[0][out.idx[0, :, 0]]
    torch.testing.assert_close(p1.grad[0], 2 * (p1.detach()[0] - nearest), atol=1e-5, rtol=1e-5)
    expected_p2 = torch.zeros(30, 3).index_add(0, out.idx[0, :, 0], -p1.grad[0])
    torch.testing.assert_close(p2.grad[0], expected_p2, atol=1e-5, rtol=1e-5)


# ---------------------------------------------------------------- chamfer_distance
def test_chamfer_of_a_set_with_itself_is_zero():
    x = torch.randn(3, 50, 3)
    value, _ = loss.chamfer_distance(x, x)
    assert float(value) == 0.0


@pytest.mark.parametrize("t", [[0.1, 0.0, 0.0], [0.05, -0.1, 0.2]])
def test_chamfer_of_a_shifted_set_is_the_squared_shift_each_way(t):
    x = separated_points(27, spacing=1.0)  # neighbours 1 apart, shift < 0.5: NN = own copy
    shift = torch.tensor(t)
    squared = float((shift**2).sum())
    y = x + shift
    mean, _ = loss.chamfer_distance(x, y)
    point_sum, _ = loss.chamfer_distance(x, y, point_reduction="sum")
    one_way, _ = loss.chamfer_distance(x, y, single_directional=True)
    assert mean.item() == pytest.approx(2 * squared, rel=1e-5)
    assert point_sum.item() == pytest.approx(2 * 27 * squared, rel=1e-5)
    assert one_way.item() == pytest.approx(squared, rel=1e-5)
    l1, _ = loss.chamfer_distance(x, y, norm=1)
    assert l1.item() == pytest.approx(2 * float(shift.abs().sum()), rel=1e-5)


def test_chamfer_gradient_of_a_shifted_set():
    x = separated_points(27)
    shift = torch.tensor([0.1, -0.2, 0.05])
    y = (x + shift).requires_grad_(True)
    value, _ = loss.chamfer_distance(x, y)
    value.backward()
    # each y_j gets 2 (y_j - x_j) / P from both directions
    torch.testing.assert_close(y.grad[0], (4 * shift / 27).expand(27, 3), atol=1e-6, rtol=1e-5)


def test_chamfer_ignores_padded_points():
    g = torch.Generator().manual_seed(6)
    x = torch.randn(2, 10, 3, generator=g)
    y = torch.randn(2, 12, 3, generator=g)
    x_lengths, y_lengths = torch.tensor([10, 6]), torch.tensor([7, 12])
    x[1, 6:] = 100.0  # garbage in the padding must not matter
    y[0, 7:] = -100.0
    per_cloud, _ = loss.chamfer_distance(
        x, y, x_lengths=x_lengths, y_lengths=y_lengths, batch_reduction=None
    )
    for n in range(2):
        alone, _ = loss.chamfer_distance(x[n : n + 1, : x_lengths[n]], y[n : n + 1, : y_lengths[n]])
        torch.testing.assert_close(per_cloud[n], alone)
    clouds, _ = loss.chamfer_distance(
        Pointclouds([x[0], x[1, :6]]), Pointclouds([y[0, :7], y[1]]), batch_reduction=None
    )
    torch.testing.assert_close(clouds, per_cloud)


def test_chamfer_reductions_and_weights():
    g = torch.Generator().manual_seed(7)
    x = torch.randn(3, 8, 3, generator=g)
    y = torch.randn(3, 5, 3, generator=g)
    (px, py), _ = loss.chamfer_distance(x, y, point_reduction=None, batch_reduction=None)
    assert px.shape == (3, 8) and py.shape == (3, 5)
    dx, _ = naive_knn(x, y, 1)
    dy, _ = naive_knn(y, x, 1)
    torch.testing.assert_close(px, dx[..., 0])
    torch.testing.assert_close(py, dy[..., 0])
    per_cloud = px.mean(1) + py.mean(1)
    w = torch.tensor([0.5, 0.0, 2.0])
    cases = {
        ("mean", "mean"): per_cloud.mean(),
        ("mean", "sum"): per_cloud.sum(),
        ("sum", "mean"): (px.sum(1) + py.sum(1)).mean(),
        ("sum", None): px.sum(1) + py.sum(1),
    }
    for (point, batch), expected in cases.items():
        value, _ = loss.chamfer_distance(x, y, point_reduction=point, batch_reduction=batch)
        torch.testing.assert_close(value, expected, msg=f"{point}, {batch}")
    weighted, _ = loss.chamfer_distance(x, y, weights=w)
    torch.testing.assert_close(weighted, (per_cloud * w).sum() / w.sum())
    one_way, _ = loss.chamfer_distance(
        x, y, point_reduction=None, batch_reduction=None, single_directional=True
    )
    torch.testing.assert_close(one_way, px)


def test_chamfer_normals_term():
    x = separated_points(27)
    y = x + torch.tensor([0.1, 0.0, 0.0])
    normals = torch.nn.functional.normalize(torch.randn(1, 27, 3), dim=-1)
    _, same = loss.chamfer_distance(x, y, x_normals=normals, y_normals=normals)
    assert abs(float(same)) < 1e-6
    _, flipped = loss.chamfer_distance(x, y, x_normals=normals, y_normals=-normals)
    assert abs(float(flipped)) < 1e-6  # abs_cosine: orientation is ignored
    _, signed = loss.chamfer_distance(x, y, x_normals=normals, y_normals=-normals, abs_cosine=False)
    assert float(signed) == pytest.approx(4.0, abs=1e-5)  # 1 - (-1) = 2, each way
    perpendicular = torch.zeros(1, 27, 3)
    perpendicular[..., 0] = 1.0
    along_z = torch.zeros(1, 27, 3)
    along_z[..., 2] = 1.0
    _, right_angle = loss.chamfer_distance(x, y, x_normals=perpendicular, y_normals=along_z)
    assert float(right_angle) == pytest.approx(2.0, abs=1e-5)


def test_chamfer_bad_input_raises():
    x = torch.rand(2, 5, 3)
    bad = [
        {"batch_reduction": "max"},
        {"point_reduction": "min"},
        {"point_reduction": None},  # batch_reduction must then be None too
        {"norm": 3},
        {"weights": torch.tensor([1.0, -1.0])},
        {"weights": torch.ones(3)},
        {"x_lengths": torch.tensor([1, 2, 3])},
    ]
    for kwargs in bad:
        with pytest.raises(ValueError):
            loss.chamfer_distance(x, x, **kwargs)
    with pytest.raises(ValueError):
        loss.chamfer_distance(x[0], x)
    with pytest.raises(ValueError):
        loss.chamfer_distance(x, torch.rand(3, 5, 3))


@pytest.mark.builtin_only  # "max" (Hausdorff) is recent in PyTorch3D
def test_chamfer_max_reduction_is_the_hausdorff_distance():
    x = separated_points(27)
    y = x.clone()
    y[0, 5] += torch.tensor([0.0, 0.3, 0.0])  # one point moved by 0.3
    value, _ = loss.chamfer_distance(x, y, point_reduction="max")
    assert value.item() == pytest.approx(0.09, rel=1e-5)
    with pytest.raises(ValueError):
        loss.chamfer_distance(x, y, x_normals=y, y_normals=y, point_reduction="max")


@pytest.mark.builtin_only
def test_chamfer_gradcheck_float64():
    g = torch.Generator().manual_seed(8)
    x = torch.randn(2, 7, 3, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.randn(2, 9, 3, generator=g, dtype=torch.float64, requires_grad=True)
    nx = torch.randn(2, 7, 3, generator=g, dtype=torch.float64, requires_grad=True)
    ny = torch.randn(2, 9, 3, generator=g, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([7, 4])

    def both(a, b, na, nb):
        value, normals = loss.chamfer_distance(
            a, b, x_lengths=lengths, x_normals=na, y_normals=nb, abs_cosine=False
        )
        return value, normals

    assert torch.autograd.gradcheck(both, (x, y, nx, ny))


# ---------------------------------------------------------------- Laplacians and smoothing
def test_uniform_laplacian_of_a_flat_regular_grid_is_zero_inside():
    n = 6
    mesh = grid_mesh(n)
    verts = mesh.verts_packed()
    L = ops.laplacian(verts, mesh.edges_packed())
    lv = torch.sparse.mm(L, verts)
    inside = interior_vertices(n)
    assert torch.allclose(lv[inside], torch.zeros(1), atol=1e-6)
    assert torch.all(lv[~inside].norm(dim=1) > 0.1)  # boundary vertices are pulled inwards
    # rows: -1 on the diagonal, 1/deg off it, so each row sums to 0
    torch.testing.assert_close(torch.sparse.sum(L, dim=1).to_dense(), torch.zeros(n * n))


def test_cot_smoothing_vanishes_on_a_jittered_flat_mesh_but_uniform_does_not():
    n = 6
    mesh = grid_mesh(n, jitter=0.2)
    verts = mesh.verts_packed()
    L, inv_areas = ops.cot_laplacian(verts, mesh.faces_packed())
    lv = torch.sparse.mm(L, verts) - torch.sparse.sum(L, dim=1).to_dense()[:, None] * verts
    inside = interior_vertices(n)
    # sum_j w_ij (v_j - v_i) = 0 on a flat patch, whatever the triangulation
    assert lv[inside].abs().max() < 1e-5
    uniform = ops.laplacian(verts, mesh.edges_packed())
    assert torch.sparse.mm(uniform, verts)[inside].norm(dim=1).max() > 0.05
    assert inv_areas.shape == (n * n, 1) and torch.all(inv_areas > 0)


def test_laplacian_smoothing_losses_scale_with_the_mesh():
    sphere = utils.ico_sphere(2)
    big = sphere.scale_verts(2.0)
    for method, power in (("uniform", 1), ("cot", 1), ("cotcurv", -1)):
        small_value = loss.mesh_laplacian_smoothing(sphere, method=method)
        big_value = loss.mesh_laplacian_smoothing(big, method=method)
        assert small_value > 0
        # positions scale by 2: uniform/cot offsets double, curvature halves
        torch.testing.assert_close(big_value, small_value * 2.0**power, rtol=1e-4, atol=0)
    with pytest.raises(ValueError):
        loss.mesh_laplacian_smoothing(sphere, method="harmonic")


def test_norm_laplacian_is_inverse_edge_length():
    verts = torch.tensor([[0.0, 0.0, 0.0], [3.0, 0.0, 0.0], [0.0, 4.0, 0.0]])
    edges = torch.tensor([[0, 1], [1, 2]])
    dense = ops.norm_laplacian(verts, edges).to_dense()
    expected = torch.tensor([[0, 1 / 3, 0], [1 / 3, 0, 1 / 5], [0, 1 / 5, 0]])
    torch.testing.assert_close(dense, expected, atol=1e-6, rtol=1e-6)


# ---------------------------------------------------------------- edge loss, normal consistency
@pytest.mark.parametrize(("side", "target"), [(1.0, 0.0), (2.0, 0.5), (0.5, 1.5)])
def test_edge_loss_of_equal_edges(side, target):
    value = loss.mesh_edge_loss(regular_tetrahedron(side), target_length=target)
    assert value.item() == pytest.approx((side - target) ** 2, rel=1e-5, abs=1e-7)


def test_edge_loss_weighs_meshes_equally():
    small, grid = regular_tetrahedron(1.0), grid_mesh(4)
    both = Meshes(
        verts=[small.verts_packed(), grid.verts_packed()],
        faces=[small.faces_packed(), grid.faces_packed()],
    )
    expected = (loss.mesh_edge_loss(small) + loss.mesh_edge_loss(grid)) / 2
    torch.testing.assert_close(loss.mesh_edge_loss(both), expected)


def test_normal_consistency_flat_convex_and_tetrahedron():
    assert abs(float(loss.mesh_normal_consistency(grid_mesh(5, jitter=0.2)))) < 1e-6
    sphere = float(loss.mesh_normal_consistency(utils.ico_sphere(2)))
    assert 0.0 < sphere < 0.1  # gently curved everywhere
    # neighbouring faces of a regular tetrahedron: normals 109.47° apart, cos = -1/3
    tetra = float(loss.mesh_normal_consistency(regular_tetrahedron(1.0)))
    assert tetra == pytest.approx(4.0 / 3.0, rel=1e-5)
    # a finer sphere is smoother
    assert float(loss.mesh_normal_consistency(utils.ico_sphere(3))) < sphere


def test_normal_consistency_of_three_faces_on_one_edge():
    # A non-manifold "book": three triangles share the edge v0-v1, their apexes at angles
    # θ around it. Each face's normal is (v1 - v0) x (apex - v0) = (0, -sin θ, cos θ), and
    # every pair (i, j) of pages adds 1 - cos(n_i, -n_j) = 1 + cos(θ_i - θ_j).
    angles = torch.tensor([0.0, 100.0, 220.0]).deg2rad()
    apexes = torch.stack([torch.full((3,), 0.5), angles.cos(), angles.sin()], 1)
    verts = torch.cat([torch.tensor([[0.0, 0, 0], [1, 0, 0]]), apexes])
    faces = torch.tensor([[0, 1, 2], [1, 0, 3], [0, 1, 4]])  # windings do not matter
    value = loss.mesh_normal_consistency(Meshes(verts=[verts], faces=[faces]))
    pairs = [(0, 1), (0, 2), (1, 2)]
    expected = sum(1 + math.cos(angles[i] - angles[j]) for i, j in pairs) / len(pairs)
    assert value.item() == pytest.approx(expected, abs=1e-5)


def test_regularizers_average_meshes_not_elements():
    # Each mesh weighs the same in a batch, whatever its number of vertices/edges/faces.
    sphere, tetra = utils.ico_sphere(2), regular_tetrahedron(1.0)
    both = Meshes(
        verts=[sphere.verts_packed(), tetra.verts_packed()],
        faces=[sphere.faces_packed(), tetra.faces_packed()],
    )
    for fn in (
        loss.mesh_normal_consistency,
        loss.mesh_edge_loss,
        loss.mesh_laplacian_smoothing,
        lambda m: loss.mesh_laplacian_smoothing(m, method="cot"),
    ):
        torch.testing.assert_close(fn(both), (fn(sphere) + fn(tetra)) / 2)


@pytest.mark.builtin_only
@pytest.mark.parametrize("name", ["uniform", "cot", "cotcurv", "edge", "normal"])
def test_regularizer_gradcheck_float64(name):
    sphere = utils.ico_sphere(1)
    g = torch.Generator().manual_seed(9)
    noise = 0.05 * torch.randn(sphere.verts_packed().shape, generator=g, dtype=torch.float64)
    verts = (sphere.verts_packed().double() + noise).requires_grad_(True)
    faces = sphere.faces_packed()

    def value(v: torch.Tensor) -> torch.Tensor:
        mesh = Meshes(verts=[v], faces=[faces])
        if name == "edge":
            return loss.mesh_edge_loss(mesh, target_length=0.3)
        if name == "normal":
            return loss.mesh_normal_consistency(mesh)
        return loss.mesh_laplacian_smoothing(mesh, method=name)

    if name in ("cot", "cotcurv"):
        # PyTorch3D treats the cotangent weights as constants: check the gradient with
        # the weights frozen at the current vertices.
        module = importlib.import_module("course_utils.p3d.builtin.loss.mesh_laplacian_smoothing")
        coo, inv_areas = module._cot_coo(verts.detach(), faces, eps=1e-12)
        row_sums = module._coo_row_sums(coo, verts.shape[0]).view(-1, 1)
        norm_w = 1.0 / row_sums if name == "cot" else 0.25 * inv_areas

        def frozen(v: torch.Tensor) -> torch.Tensor:
            lv = module._coo_matmul(coo, v)
            out = lv * norm_w - v if name == "cot" else (lv - row_sums * v) * norm_w
            return out.norm(dim=1).mean()

        torch.testing.assert_close(value(verts), frozen(verts))
        assert torch.autograd.gradcheck(frozen, (verts,))
        grad_value = torch.autograd.grad(value(verts), verts)[0]
        grad_frozen = torch.autograd.grad(frozen(verts), verts)[0]
        torch.testing.assert_close(grad_value, grad_frozen)
    else:
        assert torch.autograd.gradcheck(value, (verts,))


@pytest.mark.parametrize("name", ["uniform", "cot", "edge", "normal"])
def test_regularizers_descend_along_their_gradient(name):
    sphere = utils.ico_sphere(2)
    g = torch.Generator().manual_seed(10)
    verts = sphere.verts_packed() + 0.05 * torch.randn(sphere.verts_packed().shape, generator=g)
    faces = sphere.faces_packed()

    def value(v: torch.Tensor) -> torch.Tensor:
        mesh = Meshes(verts=[v], faces=[faces])
        if name == "edge":
            return loss.mesh_edge_loss(mesh)
        if name == "normal":
            return loss.mesh_normal_consistency(mesh)
        return loss.mesh_laplacian_smoothing(mesh, method=name)

    v = verts.clone().requires_grad_(True)
    start = value(v)
    (grad,) = torch.autograd.grad(start, v)
    assert torch.isfinite(grad).all() and grad.abs().max() > 0
    step = 1e-3 / grad.norm()
    assert value(verts - step * grad) < start


def test_regularizers_of_an_empty_batch_are_zero():
    empty = Meshes(verts=[], faces=[])
    for value in (
        loss.mesh_edge_loss(empty),
        loss.mesh_normal_consistency(empty),
        loss.mesh_laplacian_smoothing(empty),
    ):
        assert float(value.detach().sum()) == 0.0


# ---------------------------------------------------------------- cubify
def _closed_and_outward(mesh: Meshes) -> None:
    """Every edge is shared by exactly two faces that run along it in opposite directions
    (a closed, consistently wound surface), and the signed volume is positive (outwards)."""
    faces = mesh.faces_packed()
    counts = torch.bincount(mesh.faces_packed_to_edges_packed().reshape(-1))
    assert torch.all(counts == 2)
    V = mesh.verts_packed().shape[0]
    start, end = faces.reshape(-1), faces[:, [1, 2, 0]].reshape(-1)
    directed = set((start * V + end).tolist())
    assert len(directed) == faces.numel()  # no directed edge twice
    assert directed == set((end * V + start).tolist())  # each one has its reverse
    v0, v1, v2 = (mesh.verts_packed()[faces[:, k]] for k in range(3))
    volume = (v0 * torch.linalg.cross(v1, v2, dim=1)).sum() / 6
    assert volume > 0


@pytest.mark.parametrize(
    ("align", "low", "high"), [("topleft", -1.0, 1.0), ("corner", -1.0, 0.0), ("center", -2.0, 0.0)]
)
def test_cubify_single_voxel(align, low, high):
    voxels = torch.zeros(1, 2, 2, 2)
    voxels[0, 0, 0, 0] = 1.0
    mesh = ops.cubify(voxels, 0.5, align=align)
    assert mesh.verts_packed().shape == (8, 3)
    assert mesh.faces_packed().shape == (12, 3)
    torch.testing.assert_close(mesh.verts_packed().min(0).values, torch.full((3,), low))
    torch.testing.assert_close(mesh.verts_packed().max(0).values, torch.full((3,), high))
    _closed_and_outward(mesh)


@pytest.mark.parametrize("axis", [1, 2, 3])
def test_cubify_two_adjacent_voxels_share_a_side(axis):
    shape = [1, 2, 2, 2]
    voxels = torch.zeros(shape)
    first = [0, 0, 0, 0]
    second = list(first)
    second[axis] = 1
    voxels[tuple(first)] = voxels[tuple(second)] = 1.0
    mesh = ops.cubify(voxels, 0.5, align="corner")
    assert mesh.faces_packed().shape == (20, 3)  # 2 x 12 minus the 2 x 2 of the shared side
    assert mesh.verts_packed().shape == (12, 3)
    _closed_and_outward(mesh)
    # two cubes of side 1 (in [-1, 1] over 2 voxels): area 10
    assert mesh.faces_areas_packed().sum().item() == pytest.approx(10.0)


def test_cubify_threshold_batch_and_empty_grids():
    voxels = torch.zeros(3, 2, 3, 4)
    voxels[0, 1, 2, 3] = 0.5  # exactly the threshold: occupied (>=)
    voxels[1] = 0.7  # a full 2 x 3 x 4 block: one box
    meshes = ops.cubify(voxels, 0.5, align="corner")
    assert len(meshes) == 3
    assert meshes.num_faces_per_mesh().tolist()[0] == 12
    faces_block = 2 * 2 * (2 * 3 + 3 * 4 + 2 * 4)  # two triangles per exposed unit square
    assert meshes.num_faces_per_mesh().tolist()[1] == faces_block
    assert meshes.num_faces_per_mesh().tolist()[2] == 0
    block = meshes[1]
    # lattice points of the (3+1) x (4+1) x (2+1) grid, minus the 2 x 3 x 1 inside the box
    assert block.verts_packed().shape[0] == 4 * 5 * 3 - 2 * 3 * 1
    _closed_and_outward(block)
    # the box fills [-1, 1]^3 with align="corner": area 6 * 4
    assert block.faces_areas_packed().sum().item() == pytest.approx(24.0, rel=1e-5)


def test_cubify_bad_align_raises():
    with pytest.raises(ValueError):
        ops.cubify(torch.ones(1, 2, 2, 2), 0.5, align="middle")


@pytest.mark.builtin_only
def test_cubify_feats_with_center_is_not_supported():
    voxels = torch.ones(1, 2, 2, 2)
    with pytest.raises(NotImplementedError, match="feats"):
        ops.cubify(voxels, 0.5, feats=torch.rand(1, 3, 2, 2, 2), align="center")
    # ignored for the other alignments, as in PyTorch3D
    mesh = ops.cubify(voxels, 0.5, feats=torch.rand(1, 3, 2, 2, 2))
    assert mesh.faces_packed().shape[0] == 2 * 6 * 4  # a 2 x 2 x 2 box: 6 sides of 4 squares
