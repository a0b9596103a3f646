"""The backend switch: COURSE_BACKEND, the facade modules, and the names each must provide."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import course_utils.p3d as p3d
from course_utils.p3d import io, renderer, structures, transforms, utils

REPO = Path(__file__).resolve().parent.parent

#: Every name the course uses from each PyTorch3D subpackage (so far). The built-in
#: backend must provide all of them; with real PyTorch3D this checks the list is right.
REQUIRED_NAMES = {
    "structures": [
        "Meshes", "Pointclouds", "join_meshes_as_batch", "join_meshes_as_scene",
    ],
    "transforms": [
        "euler_angles_to_matrix", "matrix_to_euler_angles", "axis_angle_to_matrix",
        "matrix_to_axis_angle", "axis_angle_to_quaternion", "quaternion_to_matrix",
        "matrix_to_quaternion", "so3_exp_map", "so3_log_map", "random_rotations",
        "Transform3d", "Rotate", "Translate", "Scale", "RotateAxisAngle",
    ],
    "renderer": [
        "FoVPerspectiveCameras", "FoVOrthographicCameras", "PerspectiveCameras",
        "OrthographicCameras", "look_at_view_transform", "look_at_rotation",
        "camera_position_from_spherical_angles", "TexturesVertex", "TexturesUV",
    ],
    "io": ["load_obj", "load_objs_as_meshes", "save_obj", "load_ply", "save_ply", "IO"],
    "utils": ["ico_sphere", "torus"],
}  # fmt: skip

MESH_METHODS = [
    "verts_list", "verts_packed", "verts_padded", "faces_list", "faces_packed", "faces_padded",
    "num_verts_per_mesh", "num_faces_per_mesh", "mesh_to_verts_packed_first_idx",
    "verts_packed_to_mesh_idx", "faces_packed_to_mesh_idx", "verts_normals_packed",
    "verts_normals_list", "verts_normals_padded", "faces_normals_packed", "faces_normals_list",
    "faces_areas_packed", "edges_packed", "offset_verts", "scale_verts", "update_padded",
    "extend", "clone", "detach", "to", "cpu", "cuda", "isempty", "__len__", "__getitem__",
]  # fmt: skip

CAMERA_METHODS = [
    "get_world_to_view_transform", "get_projection_transform", "get_full_projection_transform",
    "transform_points", "transform_points_ndc", "transform_points_screen", "unproject_points",
    "get_camera_center", "is_perspective", "in_ndc", "__getitem__",
]  # fmt: skip


def run_python(code: str, backend: str | None, extra_path: Path | None = None):
    """Run ``code`` in a fresh interpreter with COURSE_BACKEND set (or unset)."""
    env = dict(os.environ)
    env.pop("COURSE_BACKEND", None)
    if backend is not None:
        env["COURSE_BACKEND"] = backend
    if extra_path is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(extra_path), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def pytorch3d_importable() -> bool:
    # torch first: PyTorch3D's extension links against torch's libraries
    return run_python("import torch, pytorch3d._C", backend="torch").returncode == 0


def test_backend_value_and_description():
    assert p3d.BACKEND in ("torch", "pytorch3d")
    description = p3d.describe_backend()
    assert description.startswith("real PyTorch3D") == (p3d.BACKEND == "pytorch3d")
    assert description.startswith("built-in") == (p3d.BACKEND == "torch")


@pytest.mark.parametrize("subpackage", sorted(REQUIRED_NAMES))
def test_every_required_name_exists(subpackage):
    module = {"structures": structures, "transforms": transforms, "renderer": renderer,
              "io": io, "utils": utils}[subpackage]  # fmt: skip
    missing = [name for name in REQUIRED_NAMES[subpackage] if not hasattr(module, name)]
    assert not missing, f"course_utils.p3d.{subpackage} lacks {missing}"


def test_meshes_and_cameras_have_the_listed_methods():
    missing = [m for m in MESH_METHODS if not hasattr(structures.Meshes, m)]
    for cls in ("FoVPerspectiveCameras", "FoVOrthographicCameras", "PerspectiveCameras",
                "OrthographicCameras"):  # fmt: skip
        missing += [f"{cls}.{m}" for m in CAMERA_METHODS if not hasattr(getattr(renderer, cls), m)]
    assert not missing


def test_facade_gives_the_backend_objects_both_ways():
    from course_utils.p3d.renderer import FoVPerspectiveCameras
    from course_utils.p3d.structures import Meshes

    assert FoVPerspectiveCameras is renderer.FoVPerspectiveCameras
    assert Meshes is structures.Meshes
    expected_root = "pytorch3d" if p3d.BACKEND == "pytorch3d" else "course_utils.p3d.builtin"
    assert Meshes.__module__.startswith(expected_root)


@pytest.mark.builtin_only
def test_unknown_name_says_which_backend_and_what_to_do():
    with pytest.raises(AttributeError, match="built-in|'torch' backend"):
        renderer.NoSuchRenderer  # noqa: B018


def test_forcing_torch_works_without_pytorch3d():
    result = run_python(
        """
        from course_utils.p3d.renderer import look_at_view_transform
        import course_utils.p3d as p3d
        R, T = look_at_view_transform(2.7, 10, 150)
        print(p3d.BACKEND, tuple(R.shape), tuple(T.shape))
        """,
        backend="torch",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["torch", "(1,", "3,", "3)", "(1,", "3)"]


def test_forcing_pytorch3d_fails_clearly_when_it_is_missing():
    result = run_python("import course_utils.p3d as p3d; print(p3d.BACKEND)", backend="pytorch3d")
    if pytorch3d_importable():
        assert result.returncode == 0 and result.stdout.strip() == "pytorch3d"
    else:
        assert result.returncode != 0
        assert "ImportError" in result.stderr or "BackendUnavailableError" in result.stderr
        assert "COURSE_BACKEND=pytorch3d" in result.stderr
        assert "conda install" in result.stderr  # says how to install it


def test_auto_falls_back_to_builtin_and_bad_values_are_rejected():
    auto = run_python("import course_utils.p3d as p3d; print(p3d.BACKEND)", backend=None)
    assert auto.returncode == 0, auto.stderr
    assert auto.stdout.strip() == ("pytorch3d" if pytorch3d_importable() else "torch")
    bad = run_python("import course_utils.p3d", backend="pytorch4d")
    assert bad.returncode != 0
    assert "COURSE_BACKEND='pytorch4d'" in bad.stderr and "auto" in bad.stderr


def test_a_broken_pytorch3d_install_is_reported(tmp_path):
    # A pytorch3d whose compiled extension fails to load (as when it was built for
    # another torch): auto mode warns and uses the built-in backend; forcing it fails.
    fake = tmp_path / "pytorch3d"
    fake.mkdir()
    (fake / "__init__.py").write_text("__version__ = '0.0.0'\n")
    (fake / "_C.py").write_text("raise ImportError('undefined symbol: _ZN3c10fake')\n")
    auto = run_python(
        "import warnings; warnings.simplefilter('always')\n"
        "import course_utils.p3d as p3d; print(p3d.BACKEND)",
        backend="auto",
        extra_path=tmp_path,
    )
    assert auto.returncode == 0, auto.stderr
    assert auto.stdout.strip() == "torch"
    assert "does not import" in auto.stderr and "undefined symbol" in auto.stderr
    forced = run_python("import course_utils.p3d", backend="pytorch3d", extra_path=tmp_path)
    assert forced.returncode != 0 and "undefined symbol" in forced.stderr
