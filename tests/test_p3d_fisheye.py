"""``FishEyeCameras`` of the built-in backend: known answers of the distortion model.

The model (PyTorch3D's): ``theta = atan(r)``, ``r = |(x/z, y/z)|``; radial
``(x_r, y_r) = theta (1 + k1 theta^2 + ...) (a, b) / r``; tangential and thin-prism offsets;
``(u, v) = f * distorted + c``. The cases below are worked out by hand.
"""

from __future__ import annotations

import math

import pytest
import torch

from course_utils.p3d.builtin.renderer import PerspectiveCameras
from course_utils.p3d.builtin.renderer.fisheyecameras import FishEyeCameras

# A real wide-angle calibration (Aria glasses, as in PyTorch3D's tests): strong radial terms.
ARIA = {
    "focal_length": ((608.9255557152,),),
    "principal_point": ((712.0114821205, 706.8666571177),),
    "radial_params": (
        (0.3877090026, -0.315613384, -0.3434984955, 1.8565874201, -2.1799372221, 0.7713834763),
    ),
    "tangential_params": ((-0.0002747019, 0.0005228974),),
    "thin_prism_params": ((0.000134884, -0.000084822, -0.0009420014, -0.0001276838),),
}


def test_no_distortion_is_the_pinhole_camera():
    points = torch.tensor([[2.0, 3.0, 1.0], [0.5, -1.0, 4.0], [-1.0, 0.25, 2.0]])
    fisheye = FishEyeCameras(
        focal_length=((240.0,),),
        principal_point=((320.0, 240.0),),
        use_radial=False,
        use_tangential=False,
        use_thin_prism=False,
    )
    expected = torch.stack(
        [240 * points[:, 0] / points[:, 2] + 320, 240 * points[:, 1] / points[:, 2] + 240], -1
    )
    uv = fisheye.transform_points(points)
    torch.testing.assert_close(uv[:, :2], expected)
    torch.testing.assert_close(uv[:, 2], torch.ones(3))
    pinhole = PerspectiveCameras(focal_length=((240.0,),), principal_point=((320.0, 240.0),))
    uv_pinhole = pinhole.get_projection_transform().transform_points(points)
    torch.testing.assert_close(uv[:, :2], uv_pinhole[:, :2])


def test_zero_radial_coefficients_give_the_equidistant_fisheye():
    # With k = 0 the image radius is f * theta: 45 degrees off-axis lands at f * pi / 4.
    cameras = FishEyeCameras(focal_length=((100.0,),), principal_point=((10.0, 20.0),))
    points = torch.tensor([[1.0, 0.0, 1.0], [0.0, -2.0, 2.0], [0.0, 0.0, 5.0]])
    uv = cameras.transform_points(points)
    expected = torch.tensor(
        [[10.0 + 100 * math.pi / 4, 20.0], [10.0, 20.0 - 100 * math.pi / 4], [10.0, 20.0]]
    )
    torch.testing.assert_close(uv[:, :2], expected)


def test_radial_tangential_and_thin_prism_terms_by_hand():
    # Point (0.5, 0, 1): theta = atan(0.5); radial with k1 = 0.1: x_r = theta (1 + 0.1 theta^2).
    theta = math.atan(0.5)
    xr = theta * (1 + 0.1 * theta**2)
    rd2 = xr * xr
    p1, p2 = 0.01, -0.02
    s1, s2, s3, s4 = 0.003, 0.004, -0.005, 0.006
    common = {
        "focal_length": ((1.0,),),
        "radial_params": ((0.1, 0.0, 0.0, 0.0, 0.0, 0.0),),
        "tangential_params": ((p1, p2),),
        "thin_prism_params": ((s1, s2, s3, s4),),
    }
    point = torch.tensor([[0.5, 0.0, 1.0]], dtype=torch.float64)
    dtype = {
        "R": torch.eye(3, dtype=torch.float64)[None],
        "T": torch.zeros(1, 3, dtype=torch.float64),
    }
    only_radial = FishEyeCameras(**common, **dtype, use_tangential=False, use_thin_prism=False)
    torch.testing.assert_close(
        only_radial.transform_points(point)[0, :2], torch.tensor([xr, 0.0], dtype=torch.float64)
    )
    tangential = FishEyeCameras(**common, **dtype, use_thin_prism=False)
    # dx = 2 (p1 x_r) x_r + rd^2 p1 = 3 p1 x_r^2 ; dy = rd^2 p2
    expected = torch.tensor([xr + 3 * p1 * rd2, p2 * rd2], dtype=torch.float64)
    torch.testing.assert_close(tangential.transform_points(point)[0, :2], expected)
    everything = FishEyeCameras(**common, **dtype)
    expected = expected + torch.tensor(
        [s1 * rd2 + s2 * rd2**2, s3 * rd2 + s4 * rd2**2], dtype=torch.float64
    )
    torch.testing.assert_close(everything.transform_points(point)[0, :2], expected)
    # Fewer radial coefficients are the same polynomial with the rest zero.
    short = FishEyeCameras(**{**common, "radial_params": ((0.1,),)}, **dtype)
    torch.testing.assert_close(short.transform_points(point), everything.transform_points(point))


def test_unproject_inverts_the_projection_on_the_z_equals_one_plane():
    generator = torch.Generator().manual_seed(0)
    points = torch.rand(200, 3, generator=generator, dtype=torch.float64) * 2 - 1
    points[:, 2] = points[:, 2].abs() + 0.8  # in front of the camera, < ~55 degrees off axis
    dtype = {
        "R": torch.eye(3, dtype=torch.float64)[None],
        "T": torch.zeros(1, 3, dtype=torch.float64),
    }
    cameras = FishEyeCameras(**ARIA, **dtype)
    uv = cameras.transform_points(points)
    back = cameras.unproject_points(uv)
    torch.testing.assert_close(back, points / points[:, 2:], atol=1e-8, rtol=1e-8)


def test_a_batch_of_cameras_projects_each_camera_and_pairs_point_sets():
    points = torch.tensor([[2.0, 3.0, 1.0], [0.3, -0.2, 1.5]])
    plain = FishEyeCameras(focal_length=((240.0,),), principal_point=((320.0, 240.0),))
    aria = FishEyeCameras(**ARIA)
    both = FishEyeCameras(
        focal_length=((240.0,), ARIA["focal_length"][0]),
        principal_point=((320.0, 240.0), ARIA["principal_point"][0]),
        radial_params=((0.0,) * 6, ARIA["radial_params"][0]),
        tangential_params=((0.0, 0.0), ARIA["tangential_params"][0]),
        thin_prism_params=((0.0,) * 4, ARIA["thin_prism_params"][0]),
    )
    expected = torch.stack([plain.transform_points(points), aria.transform_points(points)])
    torch.testing.assert_close(both.transform_points(points), expected)
    torch.testing.assert_close(both.transform_points(points[None]), expected)
    paired = torch.stack([points, points * 0.5])
    expected_paired = torch.stack(
        [plain.transform_points(points), aria.transform_points(points * 0.5)]
    )
    torch.testing.assert_close(both.transform_points(paired), expected_paired)
    # One camera keeps the points' batch shape.
    assert aria.transform_points(paired).shape == (2, 2, 3)
    second = both[1]
    assert isinstance(second, FishEyeCameras) and len(second) == 1
    torch.testing.assert_close(second.transform_points(points), expected[1])
    with pytest.raises(ValueError, match="batch size 2"):
        both.transform_points(torch.ones(3, 4, 3))
    with pytest.raises(ValueError, match=r"shape \(3, 3, 1\)"):
        both.transform_points(torch.ones(3, 3, 1))


def test_world_coordinates_apply_r_and_t_first():
    R = torch.tensor([[[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]])
    T = torch.tensor([[0.1, -0.2, 3.0]])
    world = torch.tensor([[0.5, 0.2, 0.4], [-0.3, 0.1, -0.5]])
    in_world = FishEyeCameras(**ARIA, R=R, T=T, world_coordinates=True)
    in_view = FishEyeCameras(**ARIA)
    view = world @ R[0] + T
    torch.testing.assert_close(in_world.transform_points(world), in_view.transform_points(view))
    # Unprojected points lie on the rays from the camera centre through the world points.
    back = in_world.unproject_points(in_world.transform_points(world))
    centre = in_world.get_camera_center()[0]
    ray_back = (back - centre) / (back - centre).norm(dim=-1, keepdim=True)
    ray = (world - centre) / (world - centre).norm(dim=-1, keepdim=True)
    torch.testing.assert_close(ray_back, ray, atol=1e-4, rtol=1e-4)


def test_projection_and_unprojection_are_differentiable():
    dtype = {
        "R": torch.eye(3, dtype=torch.float64)[None],
        "T": torch.zeros(1, 3, dtype=torch.float64),
    }
    params = {k: torch.tensor(v, dtype=torch.float64) for k, v in ARIA.items()}
    points = torch.tensor(
        [[0.3, -0.2, 1.0], [0.0, 0.0, 2.0], [-0.5, 0.4, 1.2]], dtype=torch.float64
    )

    def project(points, radial):
        return FishEyeCameras(**{**params, "radial_params": radial}, **dtype).transform_points(
            points
        )

    radial = params["radial_params"].clone().requires_grad_(True)
    assert torch.autograd.gradcheck(project, (points.clone().requires_grad_(True), radial))
    cameras = FishEyeCameras(**params, **dtype)
    uv = cameras.transform_points(points).detach().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: cameras.unproject_points(x), (uv,))


def test_no_projection_matrix():
    with pytest.raises(NotImplementedError, match="transform_points"):
        FishEyeCameras().get_projection_transform()
    with pytest.raises(ValueError, match="radial_params"):
        FishEyeCameras(radial_params=torch.zeros(1, 7))


def test_principal_point_as_a_column_is_accepted():
    R = torch.eye(3)[None].expand(2, 3, 3)
    column = torch.tensor([[[0.1], [-0.2]], [[0.3], [0.4]]])
    points = torch.tensor([[0.2, 0.1, 2.0]])
    as_column = PerspectiveCameras(focal_length=2.0, principal_point=column, R=R)
    as_rows = PerspectiveCameras(focal_length=2.0, principal_point=column[..., 0], R=R)
    torch.testing.assert_close(as_column.transform_points(points), as_rows.transform_points(points))
    expected = torch.tensor([[[0.3, -0.1, 0.5]], [[0.5, 0.5, 0.5]]])
    torch.testing.assert_close(as_column.transform_points(points), expected)
    torch.testing.assert_close(as_column[[1]].principal_point, column[[1]])
