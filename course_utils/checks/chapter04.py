"""Checks for the exercises of chapter 04 (fitting voxels, point clouds and meshes)."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from course_utils.checks._core import CheckFailed, call, expect_close, run_check

__all__ = ["check_chamfer", "check_laplacian_smoothing", "check_weighted_bce"]


def _scalar(got: object, what: str, hint: str) -> torch.Tensor:
    """``got`` as a 0-d tensor, or :class:`CheckFailed` explaining what came back."""
    if not torch.is_tensor(got):
        raise CheckFailed(
            f"{what} should be a torch.Tensor (one number), got {type(got).__name__}", hint
        )
    if got.numel() != 1:
        raise CheckFailed(
            f"{what} should be a single number, got a tensor of shape {tuple(got.shape)}", hint
        )
    return got.reshape(())


def _matches(got: torch.Tensor, value: torch.Tensor, rtol: float = 1e-4) -> bool:
    value = value.detach().double()
    got = got.detach().double().cpu()
    return bool(torch.isclose(got, value, rtol=rtol, atol=1e-7))


def _expect_value(
    got: torch.Tensor, expected: torch.Tensor, what: str, hint: Callable[..., str], *hint_args
) -> None:
    """:class:`CheckFailed` unless the 0-d ``got`` matches ``expected``.

    The hint, ``hint(got, *hint_args)``, is only worked out when the value is wrong.
    """
    if not _matches(got, expected):
        raise CheckFailed(
            f"{what} is wrong: expected {expected.item():.6g}, got {got.item():.6g}",
            hint(got, *hint_args),
        )


def _expect_same_gradient(
    answer: Callable[[torch.Tensor], object],
    reference: Callable[[torch.Tensor], torch.Tensor],
    leaf: torch.Tensor,
    what: str,
    name: str,
    hint: str,
) -> None:
    """The learner's scalar ``answer(x)`` has the gradient of ``reference(x)`` w.r.t. ``x``.

    Args:
        answer, reference: functions of one tensor (a fresh copy of ``leaf``) to a scalar.
        leaf: the input the gradient is taken with respect to.
        what, name: the result and the input, for the messages ("the loss", "verts").
        hint: what to do when the answer does not depend on the input through autograd.
    """
    x = leaf.clone().requires_grad_()
    got = answer(x)
    if not got.requires_grad:
        raise CheckFailed(f"{what} does not depend on {name} through autograd", hint)
    (grad,) = torch.autograd.grad(got.reshape(()), x)
    y = leaf.clone().requires_grad_()
    (expected_grad,) = torch.autograd.grad(reference(y), y)
    expect_close(grad, expected_grad, f"the gradient w.r.t. {name}", atol=1e-6)


# ---------------------------------------------------------------- Exercise 4.1
def _bce_cases() -> list[tuple[str, torch.Tensor, torch.Tensor, float]]:
    """(name, logits, 0/1 targets, pos_weight): small grids, a batch, extreme logits."""
    generator = torch.Generator().manual_seed(4)
    logits = torch.randn(1, 4, 4, 4, generator=generator) * 2
    target = (torch.rand(1, 4, 4, 4, generator=generator) < 0.2).float()
    batch_logits = torch.randn(2, 3, 5, 4, generator=generator) * 3
    batch_target = (torch.rand(2, 3, 5, 4, generator=generator) < 0.3).float()
    extreme = torch.tensor([[[[120.0, -120.0], [-120.0, 120.0]]]])  # sure: right, wrong
    extreme_target = torch.tensor([[[[1.0, 1.0], [0.0, 0.0]]]])
    return [
        ("a 4x4x4 grid, pos_weight 1", logits, target, 1.0),
        ("a 4x4x4 grid, pos_weight 9", logits, target, 9.0),
        ("a batch of two 3x5x4 grids, pos_weight 2.5", batch_logits, batch_target, 2.5),
        ("logits of +-120 (sigmoid rounds to exactly 0 or 1)", extreme, extreme_target, 3.0),
    ]


def _bce_hint(got: torch.Tensor, logits: torch.Tensor, target: torch.Tensor, w: float) -> str:
    """The likely mistake behind a wrong weighted BCE value."""
    if bool(torch.isnan(got)) or bool(torch.isinf(got)):
        return (
            "log(sigmoid(x)) overflows for large |x| (sigmoid rounds to 0 or 1, log gives -inf): "
            "use F.logsigmoid(x) for log(sigmoid(x)) and F.logsigmoid(-x) for log(1 - sigmoid(x))"
        )
    per_cell = {
        "right": -(w * target * F.logsigmoid(logits) + (1 - target) * F.logsigmoid(-logits)),
        "unweighted": -(target * F.logsigmoid(logits) + (1 - target) * F.logsigmoid(-logits)),
        "on empty": -(target * F.logsigmoid(logits) + w * (1 - target) * F.logsigmoid(-logits)),
        "both": -w * (target * F.logsigmoid(logits) + (1 - target) * F.logsigmoid(-logits)),
    }
    if w != 1 and _matches(got, per_cell["unweighted"].mean()):
        return "that is the unweighted loss: multiply the occupied cells' term by pos_weight"
    if _matches(got, per_cell["on empty"].mean()):
        return (
            "you weighted the empty cells; pos_weight multiplies the term of the occupied "
            "(target = 1) cells, the rare class"
        )
    if w != 1 and _matches(got, per_cell["both"].mean()):
        return "you multiplied the whole loss by pos_weight; only the target = 1 term gets it"
    if _matches(got, per_cell["right"].sum()):
        return "you summed over the cells: take the mean over every cell (and the batch)"
    if _matches(got, -per_cell["right"].mean()):
        return "the sign is flipped: the loss is -(w y log p + (1 - y) log(1 - p)), positive"
    return (
        "per cell: -(pos_weight * y * log(sigmoid(x)) + (1 - y) * log(1 - sigmoid(x))), "
        "then the mean over all cells"
    )


def check_weighted_bce(weighted_bce) -> bool:
    """Exercise 4.1: ``weighted_bce(logits, target, pos_weight)`` -> scalar, as
    ``F.binary_cross_entropy_with_logits(logits, target, pos_weight=...)``."""

    def attempt() -> str:
        for name, logits, target, w in _bce_cases():
            expected = F.binary_cross_entropy_with_logits(
                logits, target, pos_weight=torch.tensor(w)
            )
            got = call(weighted_bce, logits.clone(), target.clone(), w)
            got = _scalar(got, f"the loss on {name}", "return the mean loss, e.g. loss.mean()")
            _expect_value(got, expected, f"the loss on {name}", _bce_hint, logits, target, w)
        # Differentiable, with the gradient of the library's loss.
        logits, target, w = _bce_cases()[1][1:]
        _expect_same_gradient(
            lambda x: call(weighted_bce, x, target, w),
            lambda y: F.binary_cross_entropy_with_logits(y, target, pos_weight=torch.tensor(w)),
            logits, "the loss", "the logits",
            "compute it with torch operations on `logits` (no .detach(), .item() or numpy)",
        )  # fmt: skip
        return (
            "matches F.binary_cross_entropy_with_logits(pos_weight=...) on grids, a batch and "
            "logits of +-120, gradient included."
        )

    return run_check("Exercise 4.1 (weighted BCE)", attempt)


# ---------------------------------------------------------------- Exercise 4.2
def _chamfer_cases() -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    """(name, x (N, P1, 3), y (N, P2, 3)): a known answer, random clouds, a batch."""
    generator = torch.Generator().manual_seed(2)
    line = torch.tensor([[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [2.0, 0.0, 0.0]]])
    # y: x moved 0.1 along z, plus a point 0.5 above the middle one. x -> y: 0.1² for each
    # point (mean 0.01); y -> x: 0.1², 0.1², 0.1², 0.5² (mean 0.07); chamfer 0.08.
    above = torch.cat([line + torch.tensor([0.0, 0.0, 0.1]), torch.tensor([[[1.0, 0.0, 0.5]]])], 1)
    return [
        ("3 points on a line and 4 points above them", line, above),
        (
            "100 and 60 random points",
            torch.rand(1, 100, 3, generator=generator),
            torch.rand(1, 60, 3, generator=generator),
        ),
        (
            "a batch of 3 clouds (50 and 80 points)",
            torch.randn(3, 50, 3, generator=generator),
            torch.randn(3, 80, 3, generator=generator),
        ),
    ]


def _nearest(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``(N, P1)`` squared distance from each point of x to its nearest point of y."""
    return torch.cdist(x.double(), y.double()).min(dim=2).values ** 2


def _chamfer_hint(got: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> str:
    """The likely mistake behind a wrong chamfer value."""
    xy, yx = _nearest(x, y), _nearest(y, x)
    right = xy.mean(1) + yx.mean(1)
    mistakes = [
        (xy.mean(1).mean(), "you have only x -> y: add the mean over y of the distance to x"),
        (yx.mean(1).mean(), "you have only y -> x: add the mean over x of the distance to y"),
        (
            (xy.sqrt().mean(1) + yx.sqrt().mean(1)).mean(),
            "knn_points returns *squared* distances (dists), and PyTorch3D's chamfer uses them "
            "as they are: no square root",
        ),
        ((xy**2).mean(1).mean() + (yx**2).mean(1).mean(), "dists are already squared"),
        (right.mean() / 2, "you averaged the two directions: PyTorch3D adds them"),
        ((xy.sum(1) + yx.sum(1)).mean(), "average over the points of each cloud, don't sum"),
        (right.sum(), "average over the batch, don't sum"),
        (
            torch.cat([xy, yx], dim=1).mean(),
            "mean over x's points plus mean over y's points: two separate means, not one over "
            "both sets together",
        ),
    ]
    for value, hint in mistakes:
        if _matches(got, value):
            return hint
    return (
        "ops.knn_points(x, y, K=1).dists has shape (N, P1, 1): the squared distance to the "
        "nearest point of y. Chamfer = mean of that + the same from y to x, then the batch mean"
    )


def check_chamfer(chamfer) -> bool:
    """Exercise 4.2: ``chamfer(x, y)`` -> scalar, as ``loss.chamfer_distance(x, y)[0]``."""
    from course_utils.p3d import loss

    def attempt() -> str:
        for name, x, y in _chamfer_cases():
            expected = loss.chamfer_distance(x, y)[0]
            got = _scalar(
                call(chamfer, x.clone(), y.clone()),
                f"the chamfer distance of {name}",
                "return one number for the whole batch (the mean over clouds)",
            )
            _expect_value(got, expected, f"the chamfer distance of {name}", _chamfer_hint, x, y)
        _, x, y = _chamfer_cases()[2]
        _expect_same_gradient(
            lambda xg: call(chamfer, xg, y),
            lambda xe: loss.chamfer_distance(xe, y)[0],
            x, "the chamfer distance", "x",
            "use the dists returned by knn_points (differentiable), not indices or .item()",
        )  # fmt: skip
        return (
            "matches loss.chamfer_distance on a known case (0.01 + 0.07), random clouds and a "
            "batch, gradient included."
        )

    return run_check("Exercise 4.2 (chamfer from knn_points)", attempt)


# ---------------------------------------------------------------- Exercise 4.3
def _laplacian_cases() -> list[tuple[str, object]]:
    """(name, Meshes with one mesh): a triangle, a tetrahedron, a bumpy sphere."""
    from course_utils.p3d import structures, utils

    generator = torch.Generator().manual_seed(3)
    triangle = structures.Meshes(
        [torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])],
        [torch.tensor([[0, 1, 2]])],
    )
    tetra = structures.Meshes(
        [torch.tensor([[1.0, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]) / 2],
        [torch.tensor([[0, 1, 2], [0, 2, 3], [0, 3, 1], [1, 3, 2]])],
    )
    sphere = utils.ico_sphere(2)
    verts = sphere.verts_packed()
    bumpy = verts * (1 + 0.2 * torch.rand(len(verts), 1, generator=generator))
    return [
        ("one triangle", triangle),
        ("a tetrahedron", tetra),
        ("a bumpy ico_sphere(2)", structures.Meshes([bumpy], sphere.faces_list())),
    ]


def _laplacian_hint(got: torch.Tensor, verts: torch.Tensor, edges: torch.Tensor) -> str:
    """The likely mistake behind a wrong uniform Laplacian smoothing value."""
    V = len(verts)
    i, j = edges.unbind(dim=1)
    both_i, both_j = torch.cat([i, j]), torch.cat([j, i])
    degree = torch.bincount(both_i, minlength=V).double()[:, None]
    v = verts.double()
    sums = torch.zeros_like(v).index_add(0, both_i, v[both_j])
    one_way_sums = torch.zeros_like(v).index_add(0, i, v[j])
    one_way_degree = torch.bincount(i, minlength=V).double().clamp(min=1)[:, None]
    delta = sums / degree - v
    mistakes = [
        (
            (one_way_sums / one_way_degree - v).norm(dim=1).mean(),
            "each edge (i, j) is listed once, but j is a neighbour of i *and* i of j: add both",
        ),
        ((sums - v).norm(dim=1).mean(), "divide the sum of the neighbours by their number"),
        (
            (sums - degree * v).norm(dim=1).mean(),
            "that is the sum of (v_j - v_i); divide by the number of neighbours (the degree)",
        ),
        ((delta**2).sum(1).mean(), "take the length |delta_i|, not its square"),
        (delta.norm(dim=1).sum(), "average over the vertices, don't sum"),
        (delta.abs().mean(), "take the length of each vertex's 3-vector, then the mean"),
    ]
    for value, hint in mistakes:
        if _matches(got, value):
            return hint
    return (
        "for every vertex: delta_i = (mean of its neighbours) - v_i; the loss is the mean over "
        "vertices of |delta_i|. index_add_ sums the neighbours, torch.bincount counts them"
    )


def check_laplacian_smoothing(laplacian_smoothing) -> bool:
    """Exercise 4.3: ``laplacian_smoothing(verts, edges)`` -> scalar, as
    ``loss.mesh_laplacian_smoothing(mesh, method="uniform")``."""
    from course_utils.p3d import loss

    def attempt() -> str:
        for name, mesh in _laplacian_cases():
            verts, edges = mesh.verts_packed(), mesh.edges_packed()
            expected = loss.mesh_laplacian_smoothing(mesh, method="uniform")
            got = _scalar(
                call(laplacian_smoothing, verts.clone(), edges.clone()),
                f"the loss of {name}",
                "return the mean over vertices, one number",
            )
            _expect_value(got, expected, f"the loss of {name}", _laplacian_hint, verts, edges)
        _, mesh = _laplacian_cases()[2]
        from course_utils.p3d import structures

        _expect_same_gradient(
            lambda verts: call(laplacian_smoothing, verts, mesh.edges_packed()),
            lambda ref: loss.mesh_laplacian_smoothing(
                structures.Meshes([ref], mesh.faces_list()), method="uniform"
            ),
            mesh.verts_packed(), "the loss", "verts",
            "compute it with torch operations on verts (index_add, not a Python loop with "
            ".item())",
        )  # fmt: skip
        return (
            'matches loss.mesh_laplacian_smoothing(method="uniform") on a triangle, a '
            "tetrahedron and a bumpy sphere, gradient included."
        )

    return run_check("Exercise 4.3 (uniform Laplacian smoothing)", attempt)
