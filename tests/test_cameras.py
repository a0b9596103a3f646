"""Tests of the cameras and look-at helpers of ``course_utils.p3d.renderer``.

They import through the facade only, so with ``COURSE_BACKEND=pytorch3d`` the same tests
check real PyTorch3D. Reference values come from ``fixtures/pytorch3d_reference.npz``
(recorded with PyTorch3D 0.7.9): equal to 1e-5, except screen coordinates, which are
tens of pixels in float32 and are compared with atol 1e-4 (about 10 float32 ulps there).
"""

from __future__ import annotations

import math

import pytest
import torch

from course_utils.p3d import renderer, transforms

ATOL = 1e-5
RTOL = 1e-5
SCREEN_ATOL = 1e-4  # float32 spacing at 64 px is 7.6e-6; leave room for a few roundings


def close(actual: torch.Tensor, expected: torch.Tensor, atol: float = ATOL, rtol: float = RTOL):
    torch.testing.assert_close(actual, expected.to(actual.dtype), atol=atol, rtol=rtol)


def fov_camera(case: dict[str, torch.Tensor]) -> renderer.FoVPerspectiveCameras:
    return renderer.FoVPerspectiveCameras(
        R=case["R"],
        T=case["T"],
        fov=float(case["fov"]),
        znear=float(case["znear"]),
        zfar=float(case["zfar"]),
    )


def random_points(n: int, p: int, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return 0.5 * torch.randn(n, p, 3, generator=generator)


def all_camera_kinds() -> dict[str, renderer.CamerasBase]:
    """One camera of each class (SfM ones in NDC and in pixels), all with the same R, T."""
    R, T = renderer.look_at_view_transform(dist=3.0, elev=20.0, azim=40.0)
    return {
        "fov_perspective": renderer.FoVPerspectiveCameras(R=R, T=T, fov=50.0),
        "fov_orthographic": renderer.FoVOrthographicCameras(R=R, T=T, max_y=1.5, min_y=-1.0),
        "perspective_ndc": renderer.PerspectiveCameras(
            focal_length=2.0, principal_point=((0.1, -0.2),), R=R, T=T
        ),
        "perspective_screen": renderer.PerspectiveCameras(
            focal_length=((120.0, 110.0),),
            principal_point=((40.0, 30.0),),
            R=R,
            T=T,
            in_ndc=False,
            image_size=((64, 96),),
        ),
        "orthographic_ndc": renderer.OrthographicCameras(focal_length=0.8, R=R, T=T),
        "orthographic_screen": renderer.OrthographicCameras(
            focal_length=((30.0, 30.0),),
            principal_point=((48.0, 32.0),),
            R=R,
            T=T,
            in_ndc=False,
            image_size=((64, 96),),
        ),
    }


CAMERA_KINDS = list(all_camera_kinds())


# --------------------------------------------------------------------------- reference


def test_look_at_view_transform_matches_reference(reference):
    case = reference["look_at"]
    R, T = renderer.look_at_view_transform(case["dist"], case["elev"], case["azim"])
    close(R, case["R"])
    close(T, case["T"])


def test_look_at_view_transform_with_eye_matches_reference(reference):
    case = reference["look_at_eye"]
    R, T = renderer.look_at_view_transform(eye=case["eye"], at=case["at"], up=case["up"])
    close(R, case["R"])
    close(T, case["T"])


def test_fov_perspective_matches_reference(reference):
    case = reference["fov_perspective"]
    cameras = fov_camera(case)
    close(cameras.get_full_projection_transform().get_matrix(), case["full_projection"])
    close(cameras.get_world_to_view_transform().get_matrix(), case["world_to_view"])
    # The recorded "ndc" came from transform_points; for an NDC camera it equals
    # transform_points_ndc.
    close(cameras.transform_points(case["points"]), case["ndc"])
    close(cameras.transform_points_ndc(case["points"]), case["ndc"])
    image_size = tuple(case["image_size"].tolist())
    screen = cameras.transform_points_screen(case["points"], image_size=image_size)
    close(screen, case["screen"], atol=SCREEN_ATOL)
    close(cameras.get_camera_center(), case["camera_center"])


def test_unproject_matches_reference(reference):
    case = reference["unproject"]
    cameras = fov_camera(case)
    close(cameras.unproject_points(case["xy_depth"], world_coordinates=True), case["world"])
    close(cameras.unproject_points(case["xy_depth"], world_coordinates=False), case["view"])


def test_fov_orthographic_matches_reference(reference):
    case = reference["fov_orthographic"]
    cameras = renderer.FoVOrthographicCameras(
        R=case["R"],
        T=case["T"],
        min_x=float(case["min_x"]),
        max_x=float(case["max_x"]),
        min_y=float(case["min_y"]),
        max_y=float(case["max_y"]),
    )
    close(cameras.get_full_projection_transform().get_matrix(), case["full_projection"])
    close(cameras.transform_points(case["points"]), case["ndc"])


def test_perspective_screen_matches_reference(reference):
    case = reference["perspective_screen"]
    cameras = renderer.PerspectiveCameras(
        focal_length=case["focal_length"],
        principal_point=case["principal_point"],
        R=case["R"],
        T=case["T"],
        in_ndc=False,
        image_size=case["image_size"],
    )
    close(cameras.transform_points_ndc(case["points"]), case["ndc"])
    close(cameras.transform_points_screen(case["points"]), case["screen"], atol=SCREEN_ATOL)


# --------------------------------------------------------------------------- conventions


def front_camera() -> renderer.FoVPerspectiveCameras:
    """A camera at (0, 0, 3) looking at the origin (towards world -Z), world up = +Y."""
    R, T = renderer.look_at_view_transform(dist=3.0, elev=0.0, azim=0.0)
    return renderer.FoVPerspectiveCameras(R=R, T=T)


def test_view_space_is_x_left_y_up_z_forward():
    cameras = front_camera()
    # Seen from (0, 0, 3) looking at the origin, world -X is on the camera's left.
    left, above, ahead = [[-0.5, 0.0, 0.0]], [[0.0, 0.5, 0.0]], [[0.0, 0.0, -1.0]]
    points = torch.tensor(left + above + ahead + [[0.0, 0.0, 5.0]])  # the last is behind
    view = cameras.get_world_to_view_transform().transform_points(points)
    assert float(view[0, 0]) > 0.4  # left  -> +x
    assert float(view[1, 1]) > 0.4  # above -> +y
    assert float(view[2, 2]) == pytest.approx(4.0)  # in front -> positive z (distance)
    assert float(view[3, 2]) == pytest.approx(-2.0)  # behind the camera -> negative z
    ndc = cameras.transform_points(points[:3])
    assert float(ndc[0, 0]) > 0.1 and abs(float(ndc[0, 1])) < 1e-6
    assert float(ndc[1, 1]) > 0.1 and abs(float(ndc[1, 0])) < 1e-6
    screen = cameras.transform_points_screen(points[:3], image_size=((64, 64),))
    assert float(screen[0, 0]) < 32.0  # left of the camera -> left half of the image
    assert float(screen[1, 1]) < 32.0  # above -> upper half (screen y grows downwards)
    close(screen[2, :2], torch.tensor([32.0, 32.0]))  # straight ahead -> image centre


def test_world_to_view_is_row_vector_r_then_t():
    R = transforms.random_rotations(3)
    T = torch.randn(3, 3)
    cameras = renderer.FoVPerspectiveCameras(R=R, T=T)
    X = torch.randn(3, 10, 3)
    expected = X @ R + T[:, None, :]
    close(cameras.get_world_to_view_transform().transform_points(X), expected)
    close(renderer.get_world_to_view_transform(R=R, T=T).transform_points(X), expected)
    # The camera centre is the world point that lands on the view origin.
    centre = cameras.get_camera_center()
    close(centre, -(T[:, None, :] @ R.transpose(1, 2))[:, 0])
    close(
        cameras.get_world_to_view_transform().transform_points(centre[:, None]),
        torch.zeros(3, 1, 3),
    )


def test_look_at_camera_sits_where_the_angles_say():
    R, T = renderer.look_at_view_transform(dist=2.0, elev=30.0, azim=90.0)
    centre = renderer.FoVPerspectiveCameras(R=R, T=T).get_camera_center()
    # azimuth 90 deg turns +Z towards +X; elevation 30 deg lifts towards +Y.
    expected = torch.tensor([[2.0 * math.cos(math.pi / 6), 1.0, 0.0]])
    close(centre, expected)
    close(renderer.camera_position_from_spherical_angles(2.0, 30.0, 90.0), expected)
    close(
        renderer.camera_position_from_spherical_angles(
            2.0, math.pi / 6, math.pi / 2, degrees=False
        ),
        expected,
    )
    # The origin lies straight ahead, at the distance.
    view = renderer.get_world_to_view_transform(R, T).transform_points(torch.zeros(1, 3))
    close(view, torch.tensor([[0.0, 0.0, 2.0]]))
    # R is a proper rotation; look_at_rotation gives the same R.
    close(R @ R.transpose(1, 2), torch.eye(3)[None])
    close(torch.linalg.det(R), torch.ones(1))
    close(renderer.look_at_rotation(expected), R)


def test_screen_origin_is_top_left_x_right_y_down():
    # NDC +X is left and +Y up, so NDC (1, 1) is the top-left corner.
    cameras = renderer.PerspectiveCameras(focal_length=1.0)  # NDC x = x/z, y = y/z
    corners = torch.tensor([[1.0, 1.0, 1.0], [-1.0, -1.0, 1.0], [-1.0, 1.0, 1.0]])
    close(cameras.transform_points_ndc(corners)[:, :2], corners[:, :2])
    screen = cameras.transform_points_screen(corners, image_size=((50, 50),))
    close(screen[:, :2], torch.tensor([[0.0, 0.0], [50.0, 50.0], [50.0, 0.0]]))
    # Without the flip PyTorch3D's map is x_ndc * min(H, W)/2 - W/2 (likewise y).
    unflipped = cameras.transform_points_screen(corners, with_xyflip=False, image_size=((50, 50),))
    close(unflipped[:, :2], torch.tensor([[0.0, 0.0], [-50.0, -50.0], [-50.0, 0.0]]))


def test_non_square_image_shorter_side_spans_unit_range():
    cameras = renderer.FoVPerspectiveCameras()
    # H = 64, W = 128: NDC y in [-1, 1] covers the height, x in [-2, 2] the width.
    # With fov 60 deg, NDC x = x / (z tan 30 deg): these view points land on (+-2, +-1).
    t = math.tan(math.pi / 6)
    view_points = torch.tensor([[2.0 * t, t, 1.0], [-2.0 * t, -t, 1.0]])
    ndc = cameras.transform_points(view_points)
    close(ndc[:, :2], torch.tensor([[2.0, 1.0], [-2.0, -1.0]]))
    screen = cameras.transform_points_screen(view_points, image_size=((64, 128),))
    close(screen[:, :2], torch.tensor([[0.0, 0.0], [128.0, 64.0]]))
    # Portrait (H = 100, W = 50): now x spans [-1, 1] and y [-2, 2].
    screen = cameras.transform_points_screen(
        torch.tensor([[t, 2.0 * t, 1.0]]), image_size=((100, 50),)
    )
    close(screen[:, :2], torch.tensor([[0.0, 0.0]]))


def test_screen_space_perspective_camera_non_square():
    H, W, f, px, py = 60, 100, 80.0, 45.0, 25.0
    cameras = renderer.PerspectiveCameras(
        focal_length=f, principal_point=((px, py),), in_ndc=False, image_size=((H, W),)
    )
    assert not cameras.in_ndc() and cameras.is_perspective()
    # A view point on the optical axis lands on the principal point (in pixels).
    on_axis = torch.tensor([[0.0, 0.0, 2.0]])
    close(cameras.transform_points_screen(on_axis)[:, :2], torch.tensor([[px, py]]))
    # The view point that lands on pixel (0, 0), the top-left corner:
    z = 2.0
    corner = torch.tensor([[px * z / f, py * z / f, z]])  # +X left, +Y up
    close(cameras.transform_points_screen(corner)[:, :2], torch.zeros(1, 2), atol=1e-4)
    # In NDC the top-left corner is (W / H, 1): the shorter side (H) spans [-1, 1].
    close(cameras.transform_points_ndc(corner)[:, :2], torch.tensor([[W / H, 1.0]]))
    # transform_points stays in the camera's own (screen-unit) space: f x / z + p.
    close(cameras.transform_points(corner)[:, :2], torch.tensor([[2 * px, 2 * py]]))


def test_depth_conventions():
    z = torch.tensor([1.0, 10.0, 100.0])
    points = torch.stack((torch.zeros(3), torch.zeros(3), z), dim=1)
    fov = renderer.FoVPerspectiveCameras(znear=1.0, zfar=100.0)
    close(fov.transform_points(points)[:, 2], torch.tensor([0.0, 100.0 / 99.0 * 0.9, 1.0]))
    ortho = renderer.FoVOrthographicCameras(znear=1.0, zfar=100.0)
    close(ortho.transform_points(points)[:, 2], (z - 1.0) / 99.0)
    close(renderer.PerspectiveCameras().transform_points(points)[:, 2], 1.0 / z)
    close(renderer.OrthographicCameras().transform_points(points)[:, 2], z)


def test_camera_properties():
    kinds = all_camera_kinds()
    assert kinds["fov_perspective"].is_perspective()
    assert not kinds["fov_orthographic"].is_perspective()
    assert kinds["perspective_ndc"].is_perspective()
    assert not kinds["orthographic_ndc"].is_perspective()
    assert kinds["fov_perspective"].in_ndc() and kinds["fov_orthographic"].in_ndc()
    assert kinds["perspective_ndc"].in_ndc() and not kinds["perspective_screen"].in_ndc()
    close(kinds["fov_perspective"].get_znear(), torch.tensor([1.0]))
    assert kinds["perspective_ndc"].get_znear() is None
    assert kinds["perspective_ndc"].get_image_size() is None
    close(kinds["perspective_screen"].get_image_size(), torch.tensor([[64.0, 96.0]]))
    assert len(kinds["fov_perspective"]) == 1
    # NDC cameras: the camera → NDC transform is the identity.
    identity = kinds["fov_perspective"].get_ndc_camera_transform().get_matrix()
    close(identity, torch.eye(4)[None])


def test_projection_kwargs_override_the_stored_values():
    cameras = renderer.FoVPerspectiveCameras(fov=60.0)
    narrow = renderer.FoVPerspectiveCameras(fov=30.0)
    close(
        cameras.get_projection_transform(fov=30.0).get_matrix(),
        narrow.get_projection_transform().get_matrix(),
    )
    close(cameras.fov, torch.tensor([60.0]))  # the stored value is unchanged
    radians = cameras.get_projection_transform(fov=math.pi / 6, degrees=False).get_matrix()
    close(radians, narrow.get_projection_transform().get_matrix())
    # R, T passed to a call are used (and, as in PyTorch3D, stored).
    R = transforms.random_rotations(1)
    T = torch.tensor([[0.0, 0.0, 5.0]])
    p = random_points(1, 4)
    close(cameras.transform_points(p, R=R, T=T), narrow.transform_points(p, R=R, T=T, fov=60.0))
    close(cameras.R, R)


def test_user_given_projection_matrix_k():
    reference_camera = renderer.FoVPerspectiveCameras(fov=45.0, znear=0.5, zfar=20.0)
    K = reference_camera.compute_projection_matrix(0.5, 20.0, 45.0, 1.0, True)
    cameras = renderer.FoVPerspectiveCameras(K=K)
    p = random_points(1, 6) + torch.tensor([0.0, 0.0, 3.0])
    close(cameras.transform_points(p), reference_camera.transform_points(p))
    close(cameras.get_projection_transform().get_matrix(), K.transpose(1, 2))


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("kind", CAMERA_KINDS)
def test_transform_points_then_unproject_gives_the_points_back(kind):
    cameras = all_camera_kinds()[kind]
    points = random_points(1, 30, seed=2)
    view = cameras.get_world_to_view_transform().transform_points(points)
    projected = cameras.transform_points(points)
    xy_depth = torch.cat((projected[..., :2], view[..., 2:]), dim=-1)
    close(cameras.unproject_points(xy_depth, world_coordinates=True), points, atol=1e-4)
    close(cameras.unproject_points(xy_depth, world_coordinates=False), view, atol=1e-4)
    if kind.startswith("fov"):
        # FoV cameras also take the NDC depth directly.
        unprojected = cameras.unproject_points(projected, scaled_depth_input=True)
        close(unprojected, points, atol=1e-4)
    if kind.endswith("screen"):
        # Screen-space cameras also take NDC x, y with from_ndc=True.
        ndc = cameras.transform_points_ndc(points)
        xy_depth_ndc = torch.cat((ndc[..., :2], view[..., 2:]), dim=-1)
        close(cameras.unproject_points(xy_depth_ndc, from_ndc=True), points, atol=1e-4)


@pytest.mark.parametrize("kind", CAMERA_KINDS)
def test_screen_and_ndc_agree_for_every_camera(kind):
    cameras = all_camera_kinds()[kind]
    points = random_points(1, 10, seed=4)
    H, W = 64, 96
    ndc = cameras.transform_points_ndc(points, image_size=((H, W),))
    screen = cameras.transform_points_screen(points, image_size=((H, W),))
    scale = min(H, W) / 2.0
    close(screen[..., 0], W / 2.0 - scale * ndc[..., 0], atol=1e-4)
    close(screen[..., 1], H / 2.0 - scale * ndc[..., 1], atol=1e-4)
    close(screen[..., 2], ndc[..., 2])


# --------------------------------------------------------------------------- batching


def test_batched_cameras_broadcast_parameters_and_match_single_cameras():
    R, T = renderer.look_at_view_transform(dist=[2.0, 3.0, 4.0], elev=[0.0, 30.0, -20.0], azim=45.0)
    assert R.shape == (3, 3, 3) and T.shape == (3, 3)
    cameras = renderer.FoVPerspectiveCameras(R=R, T=T, fov=50.0)  # scalar fov for all three
    assert len(cameras) == 3
    close(cameras.fov, torch.full((3,), 50.0))
    points = random_points(1, 8)[0]
    batched = cameras.transform_points(points)  # (P, 3) points in every camera
    assert batched.shape == (3, 8, 3)
    per_camera_points = random_points(3, 8, seed=1)
    per_camera = cameras.transform_points(per_camera_points)
    for i in range(3):
        single = renderer.FoVPerspectiveCameras(R=R[i : i + 1], T=T[i : i + 1], fov=50.0)
        close(batched[i], single.transform_points(points))
        close(per_camera[i], single.transform_points(per_camera_points[i]))
    fovs = renderer.FoVPerspectiveCameras(R=R[:1], T=T[:1], fov=[30.0, 60.0, 90.0])
    assert len(fovs) == 3
    close(fovs.R, R[:1].expand(3, 3, 3))


@pytest.mark.parametrize(
    "index, expected",
    [
        (1, [1]),
        ([0, 2], [0, 2]),
        (torch.tensor([2, 0]), [2, 0]),
        (torch.tensor([True, False, True]), [0, 2]),
    ],
)
def test_indexing_returns_cameras_of_the_same_class(index, expected):
    R, T = renderer.look_at_view_transform(dist=[2.0, 3.0, 4.0], azim=[0.0, 90.0, 180.0])
    for cameras in (
        renderer.FoVPerspectiveCameras(R=R, T=T, fov=torch.tensor([30.0, 40.0, 50.0])),
        renderer.PerspectiveCameras(
            focal_length=torch.tensor([1.0, 2.0, 3.0]),
            R=R,
            T=T,
            in_ndc=False,
            image_size=((64, 64),),
        ),
    ):
        selected = cameras[index]
        assert type(selected) is type(cameras)
        assert len(selected) == len(expected)
        close(selected.R, R[expected])
        close(selected.T, T[expected])
        points = random_points(1, 5)
        close(selected.transform_points(points), cameras.transform_points(points)[expected])
        assert selected.in_ndc() == cameras.in_ndc()


def test_indexing_errors():
    cameras = renderer.FoVPerspectiveCameras(R=transforms.random_rotations(2), T=torch.zeros(2, 3))
    with pytest.raises(IndexError):
        cameras[5]
    with pytest.raises(ValueError):
        cameras["0"]
    with pytest.raises(ValueError):
        cameras[torch.tensor([True, False, True])]


def test_clone_and_to_give_equal_independent_cameras():
    cameras = renderer.FoVPerspectiveCameras(R=transforms.random_rotations(2), T=torch.randn(2, 3))
    copy = cameras.clone()
    assert type(copy) is renderer.FoVPerspectiveCameras and len(copy) == 2
    points = random_points(1, 5)
    close(copy.transform_points(points), cameras.transform_points(points))
    copy.T[0, 0] = 100.0
    assert float(cameras.T[0, 0]) != 100.0
    moved = cameras.to("cpu")
    assert moved.device == torch.device("cpu") and moved.R.device.type == "cpu"
    assert cameras.cpu() is cameras


# --------------------------------------------------------------------------- gradients


def test_gradients_flow_to_r_t_and_fov():
    R, T = renderer.look_at_view_transform(dist=2.5, elev=15.0, azim=30.0)
    R = R.clone().requires_grad_()
    T = T.clone().requires_grad_()
    fov = torch.tensor([55.0], requires_grad=True)
    cameras = renderer.FoVPerspectiveCameras(R=R, T=T, fov=fov)
    screen = cameras.transform_points_screen(random_points(1, 10), image_size=((64, 64),))
    screen[..., :2].square().mean().backward()
    for name, grad in (("R", R.grad), ("T", T.grad), ("fov", fov.grad)):
        assert grad is not None, name
        assert bool(torch.isfinite(grad).all()), name
        assert float(grad.abs().sum()) > 0, name


def test_gradient_matches_finite_differences_float32():
    # The same check as the float64 one below, on both backends (PyTorch3D's cameras
    # compute in float32), with a step and tolerance suited to float32.
    points = random_points(1, 4) + torch.tensor([0.0, 0.0, 0.2])

    def project(fov: torch.Tensor) -> torch.Tensor:
        R, T = renderer.look_at_view_transform(dist=3.0, elev=10.0, azim=20.0)
        cameras = renderer.FoVPerspectiveCameras(R=R, T=T, fov=fov)
        return cameras.transform_points(points)[..., :2].sum()

    fov = torch.tensor([50.0], requires_grad=True)
    project(fov).backward()
    step = 0.05
    numeric = (project(fov.detach() + step) - project(fov.detach() - step)) / (2 * step)
    assert float(fov.grad) == pytest.approx(float(numeric), rel=1e-2)


@pytest.mark.builtin_only
def test_gradcheck_in_float64():
    # The built-in cameras compute in the dtype of R, so float64 gives an exact
    # finite-difference check (real PyTorch3D casts cameras to float32).
    R, T = renderer.look_at_view_transform(dist=2.7, elev=10.0, azim=30.0)
    R = R.double().requires_grad_()
    T = T.double().requires_grad_()
    fov = torch.tensor([55.0], dtype=torch.float64, requires_grad=True)
    points = random_points(1, 5).double()

    def project(R, T, fov):
        return renderer.FoVPerspectiveCameras(R=R, T=T, fov=fov).transform_points_screen(
            points, image_size=((32, 48),)
        )

    assert project(R, T, fov).dtype == torch.float64
    assert torch.autograd.gradcheck(project, (R, T, fov))


# --------------------------------------------------------------------------- bad input


@pytest.mark.builtin_only
def test_nan_points_are_reported_with_their_count():
    cameras = renderer.FoVPerspectiveCameras()
    points = random_points(1, 10)
    points[0, :3, 0] = float("nan")
    with pytest.raises(ValueError, match=r"transform_points: points contains 3 NaN values"):
        cameras.transform_points(points)
    points[0, 5, 1] = float("inf")
    with pytest.raises(ValueError, match=r"3 NaN and 1 infinite values.*check the vertices"):
        cameras.transform_points_screen(points, image_size=((8, 8),))
    with pytest.raises(ValueError, match="transform_points_ndc: points contains"):
        cameras.transform_points_ndc(points)
    xy_depth = torch.tensor([[0.0, 0.0, float("nan")]])
    with pytest.raises(ValueError, match="unproject_points: xy_depth contains 1 NaN values"):
        cameras.unproject_points(xy_depth)


@pytest.mark.builtin_only
@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"R": torch.full((1, 3, 3), float("nan"))}, "R contains 9 NaN values"),
        ({"T": torch.tensor([[0.0, float("inf"), 0.0]])}, "T contains 1 infinite values"),
        ({"fov": float("nan")}, "fov contains 1 NaN values"),
        ({"R": torch.eye(3)}, r"R must have shape \(N, 3, 3\); got shape \(3, 3\)"),
        ({"T": torch.zeros(3)}, r"T must have shape \(N, 3\); got shape \(3,\)"),
        (
            {"R": torch.eye(3).expand(2, 3, 3), "T": torch.zeros(3, 3)},
            "batch sizes do not match.*R has 2, T has 3",
        ),
        ({"fov": "wide"}, "fov must be a number, a sequence or a tensor"),
    ],
)
def test_bad_camera_parameters_raise_value_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        renderer.FoVPerspectiveCameras(**kwargs)


@pytest.mark.builtin_only
def test_bad_parameters_of_other_camera_classes():
    with pytest.raises(ValueError, match="focal_length contains 1 NaN values"):
        renderer.PerspectiveCameras(focal_length=float("nan"))
    with pytest.raises(ValueError, match=r"principal_point must have shape \(N, 2\)"):
        renderer.PerspectiveCameras(principal_point=(0.0, 0.0, 0.0))
    with pytest.raises(ValueError, match=r"image_size must have shape \(N, 2\), e.g. image_size"):
        renderer.PerspectiveCameras(in_ndc=False, image_size=(64, 64))
    with pytest.raises(ValueError, match="image_size must be positive"):
        renderer.PerspectiveCameras(in_ndc=False, image_size=((0, 64),))
    with pytest.raises(ValueError, match="max_x contains"):
        renderer.FoVOrthographicCameras(max_x=float("inf"))


@pytest.mark.builtin_only
def test_bad_point_shapes_raise_value_errors():
    cameras = renderer.FoVPerspectiveCameras(R=transforms.random_rotations(2), T=torch.zeros(2, 3))
    with pytest.raises(
        ValueError, match=r"points must have shape \(P, 3\) or \(N, P, 3\); got shape \(10, 2\)"
    ):
        cameras.transform_points(torch.zeros(10, 2))
    with pytest.raises(ValueError, match=r"got shape \(1, 1, 10, 3\)"):
        cameras.transform_points(torch.zeros(1, 1, 10, 3))
    with pytest.raises(ValueError, match="has a batch of 3 but there are 2 cameras"):
        cameras.transform_points(torch.zeros(3, 10, 3))
    with pytest.raises(ValueError, match="must be a torch.Tensor"):
        cameras.transform_points([[0.0, 0.0, 1.0]])
    with pytest.raises(ValueError, match=r"xy_depth must have shape"):
        cameras.unproject_points(torch.zeros(4))
    with pytest.raises(ValueError, match="image_size=\\(height, width\\) needs to be specified"):
        cameras.transform_points_screen(torch.zeros(4, 3))


@pytest.mark.builtin_only
def test_bad_look_at_input():
    with pytest.raises(ValueError, match=r"eye to have shape \(N, 3\)"):
        renderer.look_at_view_transform(eye=(1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match="coincides with its `at` point"):
        renderer.look_at_view_transform(dist=0.0)
    with pytest.raises(ValueError, match="look_at_view_transform: dist contains 1 NaN values"):
        renderer.look_at_view_transform(dist=float("nan"))
    with pytest.raises(ValueError, match=r"Expected R to have shape \(N, 3, 3\)"):
        renderer.get_world_to_view_transform(R=torch.eye(3), T=torch.zeros(1, 3))
