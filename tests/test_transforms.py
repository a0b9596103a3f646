"""Tests of ``course_utils.p3d.transforms``: rotation conversions, SO(3) maps, Transform3d.

They import through the facade only, so with ``COURSE_BACKEND=pytorch3d`` the same tests
check real PyTorch3D. Reference values come from ``fixtures/pytorch3d_reference.npz``
(recorded with PyTorch3D 0.7.9); agreement is required to 1e-5.
"""

from __future__ import annotations

import math

import pytest
import torch

from course_utils.p3d import transforms

ATOL = 1e-5
RTOL = 1e-5
EULER_CONVENTIONS = [
    a + b + c for a in "XYZ" for b in "XYZ" for c in "XYZ" if b not in (a, c)
]  # the 12 valid ones: 6 Tait-Bryan, 6 proper Euler


def close(actual: torch.Tensor, expected: torch.Tensor, atol: float = ATOL, rtol: float = RTOL):
    torch.testing.assert_close(actual, expected.to(actual.dtype), atol=atol, rtol=rtol)


def unit_axes(n: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    generator = torch.Generator().manual_seed(n)
    axes = torch.randn(n, 3, generator=generator, dtype=dtype)
    return axes / axes.norm(dim=-1, keepdim=True)


def rotations_with_extreme_angles(dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Axis-angle vectors: random axes at angles near 0, moderate, and near pi."""
    angles = torch.tensor(
        [0.0, 1e-9, 1e-6, 1e-3, 0.3, 1.0, 2.0, 3.0, math.pi - 1e-3, math.pi - 1e-6], dtype=dtype
    )
    axes = unit_axes(len(angles), dtype)
    return axes * angles[:, None]


# --------------------------------------------------------------------------- reference


@pytest.mark.parametrize("convention", ["XYZ", "ZYX"])
def test_euler_angles_to_matrix_matches_reference(reference, convention):
    case = reference[f"euler_{convention}"]
    close(transforms.euler_angles_to_matrix(case["angles"], convention), case["matrix"])


def test_axis_angle_conversions_match_reference(reference):
    case = reference["axis_angle"]
    close(transforms.axis_angle_to_matrix(case["axis_angle"]), case["matrix"])
    close(transforms.axis_angle_to_matrix(case["axis_angle"], fast=True), case["matrix"])
    close(transforms.axis_angle_to_quaternion(case["axis_angle"]), case["quaternion"])
    close(transforms.quaternion_to_matrix(case["quaternion"]), case["matrix"])


def test_so3_exp_map_matches_reference_and_axis_angle_to_matrix(reference):
    case = reference["axis_angle"]
    # Recorded: so3_exp_map gives the same (column-vector) matrix as axis_angle_to_matrix.
    close(transforms.so3_exp_map(case["axis_angle"]), case["so3_exp"])
    close(case["so3_exp"], case["matrix"])


# --------------------------------------------------------------------------- conventions


def test_elementary_rotations_are_anticlockwise_for_column_vectors():
    quarter = torch.tensor([0.0, 0.0, math.pi / 2])
    R = transforms.euler_angles_to_matrix(quarter, "XYZ")  # 90 degrees about Z
    close(R @ torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0]))
    close(
        transforms.axis_angle_to_matrix(torch.tensor([math.pi / 2, 0.0, 0.0]))
        @ torch.tensor([0.0, 1.0, 0.0]),
        torch.tensor([0.0, 0.0, 1.0]),
    )


def test_euler_matrix_is_product_in_convention_order():
    angles = torch.tensor([0.3, -0.7, 1.1], dtype=torch.float64)
    x, y, z = (
        transforms.euler_angles_to_matrix(torch.diag(angles)[i], "XYZ") for i in range(3)
    )  # the three elementary rotations R_X(0.3), R_Y(-0.7), R_Z(1.1)
    close(transforms.euler_angles_to_matrix(angles, "XYZ"), x @ y @ z)
    close(transforms.euler_angles_to_matrix(angles.flip(0), "ZYX"), z @ y @ x)


def test_quaternions_are_real_first():
    half = math.sqrt(0.5)
    q = transforms.axis_angle_to_quaternion(torch.tensor([0.0, 0.0, math.pi / 2]))
    close(q, torch.tensor([half, 0.0, 0.0, half]))


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("convention", EULER_CONVENTIONS)
def test_euler_round_trip_all_conventions(convention):
    # Angles from 1e-3 up to pi - 1e-6. (Exactly 0 is gimbal lock for the proper Euler
    # conventions, where PyTorch3D's own inverse fails; see the builtin-only test below.)
    v = rotations_with_extreme_angles()[3:]
    R = torch.cat(
        (transforms.random_rotations(200, dtype=torch.float64), transforms.axis_angle_to_matrix(v))
    )
    angles = transforms.matrix_to_euler_angles(R, convention)
    close(transforms.euler_angles_to_matrix(angles, convention), R, atol=1e-9, rtol=0)
    # Ranges: middle angle in [-pi/2, pi/2] (Tait-Bryan) or [0, pi] (proper Euler).
    middle = angles[:, 1]
    if convention[0] != convention[2]:
        assert bool((middle.abs() <= math.pi / 2 + 1e-12).all())
    else:
        assert bool(((middle >= 0) & (middle <= math.pi + 1e-12)).all())
    assert bool((angles.abs() <= math.pi + 1e-12).all())


@pytest.mark.builtin_only
@pytest.mark.parametrize("convention", EULER_CONVENTIONS)
def test_euler_round_trip_at_gimbal_lock(convention):
    # Middle angle at the ends of its range (and the identity): only a combination of the
    # outer angles is determined; the built-in picks third = 0 and still reproduces R.
    tait_bryan = convention[0] != convention[2]
    locks = [math.pi / 2, -math.pi / 2] if tait_bryan else [0.0, math.pi, 1e-9]
    angles = torch.tensor([[0.3, mid, 0.5] for mid in locks], dtype=torch.float64)
    R = torch.cat(
        (transforms.euler_angles_to_matrix(angles, convention), torch.eye(3).double()[None])
    ).requires_grad_()
    recovered = transforms.matrix_to_euler_angles(R, convention)
    close(transforms.euler_angles_to_matrix(recovered, convention), R.detach(), atol=1e-12, rtol=0)
    recovered.sum().backward()
    assert bool(torch.isfinite(R.grad).all())


@pytest.mark.parametrize("convention", EULER_CONVENTIONS)
def test_euler_angles_recovered_away_from_gimbal_lock(convention):
    generator = torch.Generator().manual_seed(1)
    angles = (torch.rand(100, 3, generator=generator, dtype=torch.float64) * 2 - 1) * 3.0
    if convention[0] != convention[2]:
        angles[:, 1] = angles[:, 1] / 2.0  # within (-1.5, 1.5)
    else:
        angles[:, 1] = angles[:, 1].abs().clamp(0.05, 3.0)
    matrix = transforms.euler_angles_to_matrix(angles, convention)
    close(transforms.matrix_to_euler_angles(matrix, convention), angles, atol=1e-9, rtol=0)


def test_matrix_quaternion_round_trip_including_180_degrees():
    R = torch.cat(
        (
            transforms.random_rotations(500, dtype=torch.float64),
            transforms.axis_angle_to_matrix(rotations_with_extreme_angles()),
            torch.diag_embed(torch.tensor([[1.0, -1, -1], [-1, 1, -1], [-1, -1, 1]]).double()),
        )
    )
    q = transforms.matrix_to_quaternion(R)
    close(q.norm(dim=-1), torch.ones(len(R), dtype=torch.float64), atol=1e-12, rtol=0)
    assert bool((q[:, 0] >= 0).all())  # standardised
    close(transforms.quaternion_to_matrix(q), R, atol=1e-12, rtol=0)
    # The exact half-turns about the axes are the pure quaternions +-e_i.
    close(q[-3:].abs(), torch.eye(4, dtype=torch.float64)[1:], atol=1e-12, rtol=0)


@pytest.mark.parametrize(
    "fast",
    [
        False,
        pytest.param(
            True,
            marks=pytest.mark.builtin_only(
                reason="PyTorch3D's fast matrix_to_axis_angle loses the axis near pi"
            ),
        ),
    ],
)
def test_axis_angle_round_trip_near_zero_and_pi(fast):
    v = rotations_with_extreme_angles()
    R = transforms.axis_angle_to_matrix(v, fast=fast)
    close(transforms.matrix_to_axis_angle(R, fast=fast), v, atol=1e-8, rtol=0)
    close(transforms.quaternion_to_axis_angle(transforms.axis_angle_to_quaternion(v)), v)
    # Exactly pi: the axis is defined up to sign, the rotation is not.
    half_turn = unit_axes(5) * math.pi
    back = transforms.matrix_to_axis_angle(transforms.axis_angle_to_matrix(half_turn), fast=fast)
    close(back.norm(dim=-1), torch.full((5,), math.pi, dtype=torch.float64))
    close(transforms.axis_angle_to_matrix(back), transforms.axis_angle_to_matrix(half_turn))


def test_small_angles_use_a_stable_expansion():
    tiny = torch.tensor([[1e-20, 0.0, 0.0], [0.0, 0.0, 0.0]])
    close(transforms.axis_angle_to_matrix(tiny), torch.eye(3).expand(2, 3, 3))
    q = transforms.axis_angle_to_quaternion(tiny)
    close(q, torch.tensor([[1.0, 5e-21, 0, 0], [1.0, 0, 0, 0]]), atol=0, rtol=1e-6)
    v = torch.tensor([[1e-4, -2e-4, 3e-4]], dtype=torch.float64)
    close(
        transforms.matrix_to_axis_angle(transforms.axis_angle_to_matrix(v)),
        v,
        atol=1e-15,
        rtol=1e-9,
    )


def test_gradients_are_finite_at_identity_and_half_turn():
    for fast in (False, True):
        v = torch.zeros(2, 3, requires_grad=True)
        transforms.axis_angle_to_matrix(v, fast=fast)[..., 0, 1].sum().backward()
        assert bool(torch.isfinite(v.grad).all())
        close(v.grad, torch.tensor([[0.0, 0.0, -1.0], [0.0, 0.0, -1.0]]))  # d R01 / dv = -e_z
        R = torch.stack(
            (torch.eye(3), torch.diag(torch.tensor([1.0, -1.0, -1.0])))
        ).requires_grad_()
        transforms.matrix_to_axis_angle(R, fast=fast).sum().backward()
        assert bool(torch.isfinite(R.grad).all())
    R = transforms.random_rotations(8, dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(transforms.matrix_to_quaternion, (R,))


def test_gradcheck_axis_angle_to_matrix():
    v = unit_axes(4) * torch.tensor([[0.1], [1.0], [2.0], [3.0]], dtype=torch.float64)
    v.requires_grad_()
    assert torch.autograd.gradcheck(transforms.axis_angle_to_matrix, (v,))
    assert torch.autograd.gradcheck(lambda x: transforms.axis_angle_to_matrix(x, fast=True), (v,))


def test_rotation_6d_round_trip():
    R = transforms.random_rotations(50, dtype=torch.float64)
    d6 = transforms.matrix_to_rotation_6d(R)
    close(d6, R[:, :2, :].reshape(50, 6))
    close(transforms.rotation_6d_to_matrix(d6), R)
    # Non-orthonormal input is orthonormalised (Gram-Schmidt on the rows).
    M = transforms.rotation_6d_to_matrix(torch.tensor([[2.0, 0, 0, 1, 3, 0]]))
    close(M, torch.eye(3)[None])


# --------------------------------------------------------------------------- quaternions


def test_quaternion_algebra_matches_matrices():
    a = transforms.random_quaternions(20, dtype=torch.float64)
    b = transforms.random_quaternions(20, dtype=torch.float64)
    Ra, Rb = transforms.quaternion_to_matrix(a), transforms.quaternion_to_matrix(b)
    product = transforms.quaternion_multiply(a, b)
    assert bool((product[:, 0] >= 0).all())
    close(transforms.quaternion_to_matrix(product), Ra @ Rb)
    raw = transforms.quaternion_raw_multiply(a, b)
    close(transforms.standardize_quaternion(raw), product)
    identity = transforms.quaternion_raw_multiply(a, transforms.quaternion_invert(a))
    close(identity, torch.tensor([1.0, 0, 0, 0], dtype=torch.float64).expand(20, 4))
    points = torch.randn(20, 3, dtype=torch.float64)
    close(transforms.quaternion_apply(a, points), (Ra @ points[..., None])[..., 0])


def test_hamilton_product_of_basis_quaternions():
    i = torch.tensor([0.0, 1, 0, 0])
    j = torch.tensor([0.0, 0, 1, 0])
    k = torch.tensor([0.0, 0, 0, 1])
    close(transforms.quaternion_raw_multiply(i, j), k)
    close(transforms.quaternion_raw_multiply(j, i), -k)


def test_random_rotations_are_rotations():
    q = transforms.random_quaternions(1000, dtype=torch.float64)
    close(q.norm(dim=-1), torch.ones(1000, dtype=torch.float64))
    assert bool((q[:, 0] >= 0).all())
    R = transforms.random_rotations(1000, dtype=torch.float64)
    close(R @ R.transpose(1, 2), torch.eye(3, dtype=torch.float64).expand(1000, 3, 3))
    close(torch.linalg.det(R), torch.ones(1000, dtype=torch.float64))
    # Uniform over SO(3): the mean of a rotation matrix is 0.
    assert float(R.mean(dim=0).abs().max()) < 0.1
    assert transforms.random_rotation().shape == (3, 3)
    assert transforms.random_rotations(2, dtype=torch.float64).dtype == torch.float64


def test_standardize_quaternion_flips_negative_real_part():
    q = torch.tensor([[-0.5, 0.5, -0.5, 0.5], [0.5, 0.5, 0.5, 0.5]])
    close(
        transforms.standardize_quaternion(q), torch.tensor([[0.5, -0.5, 0.5, -0.5], q[1].tolist()])
    )


# --------------------------------------------------------------------------- so3


def test_so3_exp_log_round_trip():
    v = rotations_with_extreme_angles()
    R = transforms.so3_exp_map(v)
    close(R, transforms.axis_angle_to_matrix(v))
    close(transforms.so3_log_map(R), v, atol=1e-8, rtol=0)
    generator = torch.Generator().manual_seed(3)
    v = torch.randn(100, 3, generator=generator, dtype=torch.float64)
    v = v * (
        torch.rand(100, 1, generator=generator, dtype=torch.float64)
        * 3.0
        / v.norm(dim=1, keepdim=True)
    )
    close(transforms.so3_log_map(transforms.so3_exp_map(v)), v, atol=1e-9, rtol=0)


def test_hat_and_hat_inv():
    v = torch.randn(10, 3, dtype=torch.float64)
    u = torch.randn(10, 3, dtype=torch.float64)
    H = transforms.so3.hat(v)  # PyTorch3D keeps hat in transforms.so3 only
    close(H, -H.transpose(1, 2))
    close((H @ u[..., None])[..., 0], torch.linalg.cross(v, u, dim=1))
    close(transforms.so3.hat_inv(H), v)
    with pytest.raises(ValueError):
        transforms.so3.hat_inv(torch.ones(1, 3, 3))


def test_so3_rotation_and_relative_angle():
    v = unit_axes(6) * torch.linspace(0.1, 3.0, 6, dtype=torch.float64)[:, None]
    R = transforms.so3_exp_map(v)
    close(transforms.so3_rotation_angle(R), v.norm(dim=1))
    close(transforms.so3_rotation_angle(R, cos_angle=True), torch.cos(v.norm(dim=1)))
    R2 = transforms.random_rotations(6, dtype=torch.float64)
    close(transforms.so3_relative_angle(R @ R2, R2), v.norm(dim=1))
    with pytest.raises(ValueError):
        transforms.so3_rotation_angle(3.0 * torch.eye(3)[None])


# --------------------------------------------------------------------------- Transform3d


def test_transform3d_uses_row_vectors_with_translation_in_last_row():
    t = transforms.Translate(1.0, 2.0, 3.0)
    matrix = t.get_matrix()
    close(matrix[0, 3, :3], torch.tensor([1.0, 2.0, 3.0]))
    close(matrix[0, :3, 3], torch.zeros(3))
    p = torch.tensor([[1.0, 1.0, 1.0]])
    close(t.transform_points(p), torch.tensor([[2.0, 3.0, 4.0]]))
    R = transforms.random_rotation()
    close(transforms.Rotate(R).transform_points(p), p @ R)


def test_compose_applies_left_transform_first():
    p = torch.tensor([[1.0, 0.0, 0.0]])
    scale_then_move = transforms.Scale(2.0).compose(transforms.Translate(1.0, 0.0, 0.0))
    move_then_scale = transforms.Translate(1.0, 0.0, 0.0).compose(transforms.Scale(2.0))
    close(scale_then_move.transform_points(p), torch.tensor([[3.0, 0.0, 0.0]]))
    close(move_then_scale.transform_points(p), torch.tensor([[4.0, 0.0, 0.0]]))
    chained = transforms.Transform3d().scale(2.0).translate(1.0, 0.0, 0.0)
    close(chained.get_matrix(), scale_then_move.get_matrix())
    close(
        scale_then_move.get_matrix(),
        transforms.Scale(2.0).get_matrix() @ transforms.Translate(1.0, 0.0, 0.0).get_matrix(),
    )


def test_rotate_axis_angle_is_anticlockwise():
    t = transforms.RotateAxisAngle(90.0, axis="Z")
    close(t.transform_points(torch.tensor([[1.0, 0.0, 0.0]])), torch.tensor([[0.0, 1.0, 0.0]]))
    t = transforms.Transform3d().rotate_axis_angle(math.pi / 2, axis="x", degrees=False)
    close(t.transform_points(torch.tensor([[0.0, 1.0, 0.0]])), torch.tensor([[0.0, 0.0, 1.0]]))
    # Rotate takes the row-vector matrix: the transpose of axis_angle_to_matrix's.
    R = transforms.axis_angle_to_matrix(torch.tensor([0.0, 0.0, math.pi / 2]))
    expected = transforms.RotateAxisAngle(90.0, "Z").get_matrix()
    close(transforms.Transform3d().rotate(R.T).get_matrix(), expected)
    close(expected[0, :3, :3], R.T)


def test_transform_points_batches():
    angles = torch.tensor([0.0, 90.0, 180.0])
    t = transforms.RotateAxisAngle(angles, axis="Z")
    assert len(t) == 3
    p = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 5.0]])
    out = t.transform_points(p)  # (P, 3) against a batch of 3 -> (3, P, 3)
    expected = torch.tensor(
        [[[1.0, 0, 0], [0, 0, 5]], [[0.0, 1, 0], [0, 0, 5]], [[-1.0, 0, 0], [0, 0, 5]]]
    )
    close(out, expected)
    close(t.transform_points(p[None].expand(3, 2, 3)), expected)
    single = transforms.Translate(torch.tensor([[0.0, 0.0, 1.0]]))
    assert single.transform_points(p).shape == (2, 3)


def test_transform_points_eps_clamps_homogeneous_coordinate():
    # w = z: a projective matrix (column 3 picks z), as in a perspective camera.
    matrix = torch.eye(4)
    matrix[2, 3], matrix[3, 3] = 1.0, 0.0
    t = transforms.Transform3d(matrix=matrix)
    p = torch.tensor([[1.0, 2.0, 0.0], [1.0, 2.0, -1e-9], [1.0, 2.0, 2.0]])
    out = t.transform_points(p, eps=1e-3)
    close(out[0], torch.tensor([1e3, 2e3, 0.0]))  # exact 0 -> +eps
    close(out[1], torch.tensor([-1e3, -2e3, 1e-6]))  # tiny negative -> -eps
    close(out[2], torch.tensor([0.5, 1.0, 1.0]))  # far from 0: untouched
    assert not bool(torch.isfinite(t.transform_points(p)[0]).all())  # no eps: division by 0


def test_inverse_both_ways_and_subclass_inverses():
    R = transforms.random_rotations(4)
    t = (
        transforms.Rotate(R)
        .compose(transforms.Translate(torch.randn(4, 3)))
        .compose(transforms.Scale(torch.rand(4, 3) + 0.5))
    )
    p = torch.randn(4, 7, 3)
    for invert_composed in (False, True):
        back = t.inverse(invert_composed=invert_composed).transform_points(t.transform_points(p))
        close(back, p, atol=1e-5, rtol=1e-5)
    close(transforms.Rotate(R).inverse().get_matrix()[:, :3, :3], R.transpose(1, 2))
    close(
        transforms.Translate(1.0, -2.0, 3.0).inverse().get_matrix()[0, 3, :3],
        torch.tensor([-1.0, 2.0, -3.0]),
    )
    close(
        torch.diagonal(transforms.Scale(2.0, 4.0, 0.5).inverse().get_matrix()[0]),
        torch.tensor([0.5, 0.25, 2.0, 1.0]),
    )


def test_transform_normals_keeps_normals_perpendicular():
    t = transforms.Scale(1.0, 4.0, 1.0).compose(transforms.Rotate(transforms.random_rotation()))
    tangent = torch.tensor([[1.0, -1.0, 0.0]])
    normal = torch.tensor([[1.0, 1.0, 0.0]])
    new_tangent = t.transform_points(tangent) - t.transform_points(torch.zeros(1, 3))
    new_normal = t.transform_normals(normal)
    assert abs(float((new_tangent * new_normal).sum())) < 1e-5
    assert float(new_normal.norm()) > 0.1


def test_stack_getitem_len_clone_to():
    a = transforms.Translate(torch.tensor([[1.0, 0, 0], [2.0, 0, 0]]))
    b = transforms.Scale(3.0)
    s = a.stack(b)
    assert len(s) == 3
    close(s.get_matrix(), torch.cat((a.get_matrix(), b.get_matrix())))
    close(s[1].get_matrix(), a.get_matrix()[1:2])
    close(s[[0, 2]].get_matrix(), s.get_matrix()[[0, 2]])
    close(s[torch.tensor([False, True, True])].get_matrix(), s.get_matrix()[1:])
    matrix = torch.eye(4)
    t = transforms.Transform3d(matrix=matrix)  # shares the tensor
    c = t.clone()  # owns a copy
    matrix[3, 0] = 5.0
    assert float(t.get_matrix()[0, 3, 0]) == 5.0
    close(c.get_matrix(), torch.eye(4)[None])
    d = a.to("cpu", dtype=torch.float64)
    assert d.get_matrix().dtype == torch.float64
    close(d.get_matrix(), a.get_matrix().double())
    assert a.to("cpu") is a


def test_transforms_are_differentiable():
    xyz = torch.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    angle = torch.tensor([30.0], requires_grad=True)
    t = transforms.Translate(xyz).compose(transforms.RotateAxisAngle(angle, axis="Y"))
    t.transform_points(torch.ones(5, 3)).sum().backward()
    assert bool(torch.isfinite(xyz.grad).all()) and float(xyz.grad.abs().sum()) > 0
    assert bool(torch.isfinite(angle.grad).all()) and float(angle.grad.abs().sum()) > 0


# --------------------------------------------------------------------------- bad input


def test_invalid_euler_conventions_raise():
    angles = torch.zeros(3)
    for bad in ("XXY", "XY", "XYW", "XYYZ"):
        with pytest.raises(ValueError):
            transforms.euler_angles_to_matrix(angles, bad)
    with pytest.raises(ValueError):
        transforms.euler_angles_to_matrix(torch.zeros(2), "XYZ")


def test_transform_shape_errors():
    with pytest.raises(ValueError):
        transforms.Transform3d(matrix=torch.eye(3))
    with pytest.raises(ValueError):
        transforms.Rotate(torch.eye(4))
    with pytest.raises(ValueError):
        transforms.RotateAxisAngle(10.0, axis="W")
    with pytest.raises(ValueError):
        transforms.Translate(torch.zeros(2, 4))


@pytest.mark.builtin_only
def test_builtin_messages_name_the_argument():
    with pytest.raises(
        ValueError, match=r"matrix must have shape \(\.\.\., 3, 3\); got shape \(3, 4\)"
    ):
        transforms.matrix_to_quaternion(torch.zeros(3, 4))
    with pytest.raises(ValueError, match=r"shape \(P, 3\) or \(N, P, 3\): got \(5, 2\)"):
        transforms.Transform3d().transform_points(torch.zeros(5, 2))
    with pytest.raises(ValueError, match="must share a dtype"):
        transforms.Transform3d().transform_points(torch.zeros(5, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"log_rot must have shape \(N, 3\)"):
        transforms.so3_exp_map(torch.zeros(3))
