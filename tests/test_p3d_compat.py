"""PyTorch3D names the built-in backend adds for code written against PyTorch3D (known answers).

These test ``course_utils.p3d.builtin`` directly, so they run whichever backend is active
(except the alias, which maps ``pytorch3d`` onto the built-in backend only).
"""

from __future__ import annotations

import importlib
import math
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from course_utils.p3d.builtin.common.datatypes import get_device, make_device
from course_utils.p3d.builtin.renderer import (
    FoVPerspectiveCameras,
    HardDepthShader,
    OpenGLOrthographicCameras,
    OpenGLPerspectiveCameras,
    PerspectiveCameras,
    SfMPerspectiveCameras,
    SoftDepthShader,
    SplatterPhongShader,
    TexturesAtlas,
    TexturesUV,
    look_at_view_transform,
)
from course_utils.p3d.builtin.renderer.camera_utils import (
    camera_to_eye_at_up,
    join_cameras_as_batch,
    rotate_on_spot,
)
from course_utils.p3d.builtin.renderer.mesh.rasterize_meshes import barycentric_coordinates
from course_utils.p3d.builtin.renderer.mesh.rasterizer import Fragments
from course_utils.p3d.builtin.structures.utils import padded_to_packed
from course_utils.p3d.builtin.transforms import axis_angle_to_matrix, so3_exp_map
from course_utils.p3d.builtin.transforms.se3 import se3_exp_map, se3_log_map

REPO = Path(__file__).resolve().parent.parent


def test_datatypes_devices():
    assert make_device("cpu") == torch.device("cpu")
    assert get_device(torch.zeros(1)) == torch.device("cpu")
    assert get_device([1.0], "cpu") == torch.device("cpu")


def test_padded_to_packed_split_sizes_and_pad_value():
    x = torch.arange(2 * 3 * 2, dtype=torch.float32).reshape(2, 3, 2)
    assert torch.equal(padded_to_packed(x, split_size=[1, 2]), torch.cat([x[0, :1], x[1, :2]]))
    x[0, 2] = -1
    assert padded_to_packed(x, pad_value=-1).shape == (5, 2)
    with pytest.raises(ValueError, match="only one"):
        padded_to_packed(x, split_size=[1, 1], pad_value=0)


def test_se3_exp_of_pure_translation_and_rotation():
    # A twist with no rotation is the translation itself, in the last row.
    m = se3_exp_map(torch.tensor([[1.0, 2.0, 3.0, 0.0, 0.0, 0.0]]))
    assert torch.allclose(m[0, 3, :3], torch.tensor([1.0, 2.0, 3.0]))
    assert torch.allclose(m[0, :3, :3], torch.eye(3))
    # Rotation by pi/2 about z with v = (1, 0, 0): t = V v, V = I + (2/pi^2)... analytic:
    a = math.pi / 2
    m = se3_exp_map(torch.tensor([[1.0, 0.0, 0.0, 0.0, 0.0, a]], dtype=torch.float64))
    expected_t = torch.tensor([math.sin(a) / a, (1 - math.cos(a)) / a, 0.0], dtype=torch.float64)
    assert torch.allclose(m[0, 3, :3], expected_t)
    assert torch.allclose(m[0, :3, :3], so3_exp_map(m.new_tensor([[0, 0, a]]))[0].T)


def test_se3_log_inverts_exp_including_the_identity():
    twists = torch.randn(8, 6, dtype=torch.float64)
    twists[:, 3:] *= 2.5 / twists[:, 3:].norm(dim=1, keepdim=True)  # angles below pi
    twists[0, 3:] = 0.0
    twists[1, 3:] *= 1e-6
    assert torch.allclose(se3_log_map(se3_exp_map(twists)), twists, atol=1e-10)
    with pytest.raises(ValueError, match="should be 0"):
        se3_log_map(torch.ones(1, 4, 4))


def test_camera_to_eye_at_up_gives_look_at_back():
    eye = torch.tensor([[1.0, 2.0, 3.0]])
    R, T = look_at_view_transform(eye=eye, at=((0.0, 0.0, 0.0),), up=((0.0, 1.0, 0.0),))
    got_eye, at, up = camera_to_eye_at_up(
        FoVPerspectiveCameras(R=R, T=T).get_world_to_view_transform()
    )
    assert torch.allclose(got_eye, eye, atol=1e-5)
    assert torch.allclose(at, eye - eye / eye.norm(), atol=1e-5)  # one unit towards the origin
    # up: a unit vector orthogonal to the viewing direction, in the plane of it and +Y.
    assert torch.allclose((up * (at - got_eye)).sum(), torch.tensor(0.0), atol=1e-5)
    expected_up = torch.tensor([0.0, 1.0, 0.0]) - 2 / 14 * eye[0]  # Y minus its part along eye
    assert torch.allclose(up[0], expected_up / expected_up.norm(), atol=1e-5)


def test_rotate_on_spot_keeps_the_centre_and_turns():
    R, T = look_at_view_transform(dist=3.0, elev=20.0, azim=40.0)
    turn = axis_angle_to_matrix(torch.tensor([0.0, 0.3, 0.0]))
    R2, T2 = rotate_on_spot(R, T, turn)
    centre = lambda r, t: -(t[:, None, :] @ r.transpose(1, 2))[:, 0]  # noqa: E731
    assert torch.allclose(centre(R, T), centre(R2, T2), atol=1e-5)
    assert torch.allclose(R2, R @ turn.T[None], atol=1e-6)


def test_join_cameras_as_batch_and_deprecated_constructors():
    a, b = PerspectiveCameras(focal_length=1.0), PerspectiveCameras(focal_length=2.0)
    joined = join_cameras_as_batch([a, b])
    assert len(joined) == 2 and torch.allclose(joined.focal_length[:, 0], torch.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="same type"):
        join_cameras_as_batch([a, FoVPerspectiveCameras()])
    with pytest.warns(PendingDeprecationWarning):
        assert isinstance(OpenGLPerspectiveCameras(fov=30.0), FoVPerspectiveCameras)
    with pytest.warns(PendingDeprecationWarning):
        ortho = OpenGLOrthographicCameras(top=2.0, bottom=-2.0)
    assert torch.allclose(ortho.max_y, torch.tensor([2.0]))
    with pytest.warns(PendingDeprecationWarning):
        assert isinstance(SfMPerspectiveCameras(), PerspectiveCameras)


def _fragments(zbuf, pix_to_face, dists):
    bary = torch.zeros(*zbuf.shape, 3)
    return Fragments(pix_to_face=pix_to_face, zbuf=zbuf, bary_coords=bary, dists=dists)


def test_depth_shaders_known_values():
    cameras = FoVPerspectiveCameras(zfar=50.0)
    zbuf = torch.tensor([2.0, 3.0]).view(1, 1, 1, 2).repeat(1, 1, 2, 1)
    p2f = torch.tensor([[[[0, 1], [-1, -1]]]])
    dists = torch.tensor([[[[-1.0, -1.0], [0.0, 0.0]]]])
    hard = HardDepthShader(cameras=cameras)(_fragments(zbuf, p2f, dists), None)
    assert hard.shape == (1, 1, 2, 1) and torch.allclose(
        hard[0, 0, :, 0], torch.tensor([2.0, 50.0])
    )
    # Deep inside both faces (dist << 0): the nearest takes the whole pixel.
    soft = SoftDepthShader(cameras=cameras)(_fragments(zbuf, p2f, dists * 1e-1), None)
    assert torch.allclose(soft[0, 0, :, 0], torch.tensor([2.0, 50.0]), atol=1e-4)
    # Splatting is not built in: the shader checks its cameras, then says so.
    with pytest.raises(ValueError, match="needs cameras"):
        SplatterPhongShader()(_fragments(zbuf, p2f, dists), None)
    with pytest.raises(NotImplementedError, match="SplatterPhongShader"):
        SplatterPhongShader(cameras=cameras)(_fragments(zbuf, p2f, dists), None)


def test_textures_atlas_corners_and_sampling():
    atlas = torch.zeros(1, 1, 2, 2, 3)
    atlas[0, 0, 0, 1] = torch.tensor([1.0, 0, 0])  # vertex 0
    atlas[0, 0, 1, 0] = torch.tensor([0, 1.0, 0])  # vertex 1
    atlas[0, 0, 0, 0] = torch.tensor([0, 0, 1.0])  # vertex 2
    tex = TexturesAtlas(atlas=atlas)
    assert torch.equal(tex.faces_verts_textures_packed()[0], torch.eye(3))
    bary = torch.tensor([0.9, 0.05, 0.05]).view(1, 1, 1, 1, 3)
    frags = Fragments(
        pix_to_face=torch.zeros(1, 1, 1, 1, dtype=torch.long), zbuf=torch.ones(1, 1, 1, 1),
        bary_coords=bary, dists=torch.zeros(1, 1, 1, 1),
    )  # fmt: skip
    assert torch.equal(tex.sample_textures(frags)[0, 0, 0, 0], torch.tensor([1.0, 0, 0]))


def test_textures_uv_centers_for_image():
    maps = torch.rand(1, 257, 129, 3)
    verts_uvs = torch.tensor([[[0.25, 0.125], [0.5, 0.625]]])
    tex = TexturesUV(
        maps=maps, faces_uvs=torch.zeros(1, 0, 3, dtype=torch.long), verts_uvs=verts_uvs
    )
    assert torch.allclose(tex.centers_for_image(0), torch.tensor([[32.0, 224.0], [64.0, 96.0]]))


def test_barycentric_coordinates_of_a_vertex_and_the_centroid():
    v0, v1, v2 = torch.tensor([0.0, 0.0]), torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    w = barycentric_coordinates(torch.tensor([1 / 3, 1 / 3]), v0, v1, v2)
    assert torch.allclose(torch.stack(w), torch.full((3,), 1 / 3), atol=1e-6)


def test_pytorch3d_module_layout_is_importable():
    for name in ("common.datatypes", "structures.utils", "transforms.se3", "renderer.camera_utils",
                 "renderer.compositing", "renderer.mesh.utils",
                 "vis.plotly_vis", "vis.texture_vis"):  # fmt: skip
        importlib.import_module(f"course_utils.p3d.builtin.{name}")


@pytest.mark.builtin_only
def test_alias_hook_maps_pytorch3d_to_the_built_in_backend():
    """In a fresh interpreter: ``import pytorch3d.X`` gives the built-in module itself."""
    code = (
        "from course_utils.p3d.alias import install\n"
        "install()\n"
        "import pytorch3d.renderer.cameras as c, course_utils.p3d.builtin.renderer.cameras as b\n"
        "from pytorch3d.structures import Meshes\n"
        "from course_utils.p3d import BACKEND\n"
        "assert c is b and BACKEND == 'torch', (c, BACKEND)\n"
        "try:\n    import pytorch3d.implicitron_not_there\nexcept ModuleNotFoundError as e:\n"
        "    assert 'built-in' in str(e); print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False,
        env={**__import__("os").environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert result.stdout.strip() == "ok", result.stderr


def test_plot_scene_traces_and_static_fallback():
    from course_utils.interactive import figure_to_matplotlib, show_figure
    from course_utils.p3d.builtin.structures import Pointclouds
    from course_utils.p3d.builtin.utils import ico_sphere
    from course_utils.p3d.builtin.vis import (
        get_camera_wireframe,
        plot_batch_individually,
        plot_scene,
    )

    sphere = ico_sphere(1)
    cameras = FoVPerspectiveCameras()
    fig = plot_scene(
        {"s": {"mesh": sphere, "cam": cameras, "pc": Pointclouds([torch.zeros(5, 3)])}}
    )
    kinds = [t.type for t in fig.data]
    assert kinds == ["mesh3d", "scatter3d", "scatter3d"]
    assert len(fig.data[0].i) == sphere.faces_packed().shape[0]
    # The identity camera's glyph is the wireframe itself (view = world), centre at the origin.
    wire = get_camera_wireframe(0.3)
    assert torch.allclose(torch.tensor(fig.data[1].x[:15]), wire[:, 0].double(), atol=1e-6)
    assert len(plot_batch_individually(sphere.extend(3), ncols=3).data) == 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert len(figure_to_matplotlib(fig).axes) == 1
        assert show_figure(fig, static=True) is not fig  # the matplotlib picture


def test_static_fallback_reads_both_backends_vertex_colours():
    from course_utils.interactive import _rgb

    grey = (0.8, 0.8, 0.8)
    assert _rgb(None, grey) == grey
    assert _rgb("rgb(255,0,51)", grey) == (1.0, 0.0, 0.2)
    strings = _rgb(["rgb(0,0,0)", "rgb(255,255,255)"], grey)  # the built-in plot_scene
    np.testing.assert_allclose(strings, [[0, 0, 0], [1, 1, 1]])
    rows = np.array([[255.0, 0.0, 51.0], [0.0, 127.5, 255.0]], dtype=np.float32)  # PyTorch3D's
    np.testing.assert_allclose(_rgb(rows, grey), [[1, 0, 0.2], [0, 0.5, 1]], rtol=1e-6)


def test_io_accepts_a_path_manager_of_local_files(tmp_path):
    from course_utils.p3d.builtin.io import load_obj, save_obj

    class LocalPaths:  # the part of iopath's PathManager the built-in io uses
        def __init__(self):
            self.asked = []

        def get_local_path(self, name):
            self.asked.append(name)
            return name

    manager = LocalPaths()
    path = tmp_path / "tri.obj"
    save_obj(path, torch.eye(3), torch.tensor([[0, 1, 2]]), path_manager=manager)
    verts, faces, _ = load_obj(path, path_manager=manager)
    assert torch.equal(verts, torch.eye(3)) and torch.equal(
        faces.verts_idx, torch.tensor([[0, 1, 2]])
    )
    assert manager.asked == [str(path), str(path)]
    with pytest.raises(NotImplementedError, match="path_manager"):
        load_obj("s3://bucket/tri.obj", path_manager=manager)


@pytest.mark.builtin_only
@pytest.mark.parametrize(
    "text, phrase",
    [
        ("v 1\n", "does not have 3 values"),
        ("v 0 0 0\nvn 0.1\n", "does not have 3 values"),
        ("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1/1/1/1 2 3\n", "Face vertices can only have 3 properties"),
        ("v 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nf 1//1 2/1 3\n", "Vertex properties are inconsistent"),
    ],
)
def test_obj_errors_keep_pytorch3d_wording(tmp_path, text, phrase):
    from course_utils.p3d.builtin.io import load_obj

    path = tmp_path / "bad.obj"
    path.write_text(text)
    with pytest.raises(ValueError, match=phrase):
        load_obj(path)


def test_offset_verts_in_place_keeps_given_normals_only_for_a_translation():
    from course_utils.p3d.builtin.structures import Meshes

    verts = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    given = torch.tensor([[1.0, 0.0, 0.0]] * 3)  # deliberately not the face normal
    mesh = Meshes([verts], [torch.tensor([[0, 1, 2]])], verts_normals=[given])
    mesh.offset_verts_(torch.tensor([1.0, 2.0, 3.0]))
    assert torch.equal(mesh.verts_normals_packed(), given)
    assert torch.equal(mesh.verts_packed(), verts + torch.tensor([1.0, 2.0, 3.0]))
    mesh.offset_verts_(torch.zeros(3, 3))  # per-vertex offsets: normals recomputed (+z)
    assert torch.allclose(mesh.verts_normals_packed(), torch.tensor([[0.0, 0.0, 1.0]] * 3))


@pytest.mark.builtin_only
def test_obj_material_warnings_keep_pytorch3d_wording(tmp_path):
    from course_utils.p3d.builtin.io import load_obj

    body = "v 0 0 0\nv 1 0 0\nv 0 1 0\nusemtl m\nf 1 2 3\n"
    (tmp_path / "no_lib.obj").write_text(body)
    with pytest.warns(UserWarning, match="No mtl file provided"):
        load_obj(tmp_path / "no_lib.obj")
    (tmp_path / "gone.obj").write_text("mtllib gone.mtl\n" + body)
    with pytest.warns(UserWarning, match="Mtl file does not exist"):
        load_obj(tmp_path / "gone.obj")
    (tmp_path / "m.mtl").write_text("newmtl m\nmap_Kd missing.png\n")
    (tmp_path / "tex.obj").write_text("mtllib m.mtl\n" + body)
    with pytest.warns(UserWarning, match="Texture file does not exist"):
        load_obj(tmp_path / "tex.obj")


@pytest.mark.builtin_only
def test_texture_size_mismatch_keeps_pytorch3d_wording():
    from course_utils.p3d.builtin.renderer import TexturesVertex
    from course_utils.p3d.builtin.structures import Meshes

    verts, faces = torch.rand(2, 4, 3), torch.tensor([[[0, 1, 2]]] * 2)
    with pytest.raises(ValueError, match="do not match the dimensions"):
        Meshes(verts, faces, textures=TexturesVertex(torch.rand(1, 4, 3)))
    with pytest.raises(ValueError, match="do not match the dimensions"):
        Meshes(verts, faces, textures=TexturesVertex(torch.rand(2, 3, 3)))


def test_load_ply_raw_gives_pytorch3d_layout():
    from io import BytesIO, StringIO

    import numpy as np

    from course_utils.p3d.builtin.io.ply_io import _load_ply_raw

    lines = [
        "ply",
        "format ascii 1.0",
        "element vertex 2",
        "property uchar x",
        "property float y",
        "property float z",
        "element face 2",
        "property list uchar int vertex_index",
        "element ragged 2",
        "property list uchar int vertex_index",
        "end_header",
        "1 0.5 2",
        "3 4 5.25",
        "3 0 1 2",
        "3 2 1 0",
        "3 0 1 2",
        "2 1 0",
    ]
    for stream in (StringIO("\n".join(lines)), BytesIO("\n".join(lines).encode())):
        header, data = _load_ply_raw(stream)
        assert header.ascii and not header.big_endian
        x, yz = data["vertex"]  # one array per run of properties of one type
        assert x.dtype == np.uint8 and x.tolist() == [[1], [3]]
        assert yz.dtype == np.float32 and yz.tolist() == [[0.5, 2.0], [4.0, 5.25]]
        assert data["face"].tolist() == [[0, 1, 2], [2, 1, 0]]  # equal lengths: 2D
        ragged = data["ragged"]
        assert isinstance(ragged, list) and len(ragged) == 2
        assert ragged[0][0].tolist() == [0, 1, 2] and ragged[1][0].tolist() == [1, 0]
    # binary, little-endian: two floats then an int list
    body = np.array([1.5, -2.0], "<f4").tobytes() + bytes([2]) + np.array([7, 9], "<i4").tobytes()
    binary = (
        b"ply\nformat binary_little_endian 1.0\nelement vertex 1\nproperty float x\n"
        b"property float y\nproperty list uchar int ids\nend_header\n" + body
    )
    header, data = _load_ply_raw(BytesIO(binary))
    assert not header.ascii
    [[x, y, ids]] = data["vertex"]
    assert (float(x), float(y), ids.tolist()) == (1.5, -2.0, [7, 9])


def test_saved_mtl_is_pytorch3d_layout(tmp_path):
    from course_utils.p3d.builtin.io import save_obj

    verts = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    faces = torch.tensor([[0, 1, 2]])
    save_obj(
        tmp_path / "tri.obj",
        verts,
        faces,
        verts_uvs=torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]),
        faces_uvs=faces,
        texture_map=torch.full((4, 4, 3), 0.5),
    )
    assert (tmp_path / "tri.mtl").read_text() == "newmtl mesh\nmap_Kd tri.png\n"


def test_join_pointclouds_and_camera_index_errors_keep_pytorch3d_wording():
    from course_utils.p3d.builtin.structures import Pointclouds, join_pointclouds_as_batch

    with_normals = Pointclouds(points=[torch.zeros(2, 3)], normals=[torch.ones(2, 3)])
    without = Pointclouds(points=[torch.zeros(3, 3)])
    with pytest.raises(ValueError, match="some set to None"):
        join_pointclouds_as_batch([with_normals, without])
    with pytest.raises(ValueError, match="Wrong first argument"):
        join_pointclouds_as_batch(with_normals)
    cameras = FoVPerspectiveCameras(R=torch.eye(3).expand(4, 3, 3))
    with pytest.raises(ValueError, match="does not match cameras"):
        cameras[torch.tensor([True, False])]


def test_meshes_internal_tensors_name_existing_attributes():
    from course_utils.p3d.builtin.structures import Meshes

    mesh = Meshes(verts=[torch.rand(3, 3)], faces=[torch.tensor([[0, 1, 2]])])
    mesh.edges_packed()
    for name in Meshes._INTERNAL_TENSORS:
        assert hasattr(mesh, name), name
    assert mesh._num_verts_per_mesh.tolist() == [3] and mesh._edges_packed.shape == (3, 2)


def test_rotation_functions_compile_with_torchscript():
    from course_utils.p3d.builtin.transforms import rotation_conversions as rc
    from course_utils.p3d.builtin.transforms import so3

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.script is deprecated
        exp_map = torch.jit.script(so3.so3_exp_map)
        log_map = torch.jit.script(so3.so3_log_map)
        to_euler = torch.jit.script(rc.matrix_to_euler_angles)
        from_euler = torch.jit.script(rc.euler_angles_to_matrix)
    quarter = exp_map(torch.tensor([[0.0, 0.0, math.pi / 2]]))
    expected = torch.tensor([[[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]])
    torch.testing.assert_close(quarter, expected, atol=1e-6, rtol=0)
    torch.testing.assert_close(log_map(quarter), torch.tensor([[0.0, 0.0, math.pi / 2]]))
    angles = torch.tensor([[0.3, -0.2, 1.1]])
    torch.testing.assert_close(to_euler(from_euler(angles, "ZYX"), "ZYX"), angles)
    # validation still runs when scripted (TorchScript re-raises it as a RuntimeError)
    with pytest.raises((ValueError, RuntimeError), match="must have shape"):
        exp_map(torch.zeros(2, 4))


def test_obj_and_ply_errors_keep_pytorch3d_wording(tmp_path):
    from io import BytesIO

    from course_utils.p3d.builtin.io import load_obj, load_ply

    cases = {
        "uv.obj": ("v 0 0 0\nvt 0.1\n", "does not have 2 values"),  # vt needs both u and v
        "corner.obj": ("f 2/1/1/3\n", "Face vertices can only have 3 properties"),
    }
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(ValueError, match=message):
            load_obj(tmp_path / name)
    with pytest.raises(ValueError, match="Invalid file header"):
        load_ply(BytesIO(b"# not a ply file\n"))


def test_sample_textures_checks_textures_set_after_construction():
    from course_utils.p3d.builtin.renderer import TexturesVertex
    from course_utils.p3d.builtin.structures import Meshes

    meshes = Meshes(verts=torch.rand(2, 4, 3), faces=torch.tensor([[[0, 1, 2]]] * 2))
    meshes.textures = TexturesVertex(verts_features=torch.rand(1, 4, 3))  # 1 mesh, not 2
    with pytest.raises(ValueError, match="do not match the dimensions"):
        meshes.sample_textures(None)


def test_textures_indexed_by_an_all_false_mask_are_empty():
    from course_utils.p3d.builtin.renderer import TexturesVertex

    vertex = TexturesVertex(verts_features=torch.rand(3, 4, 2))
    atlas = TexturesAtlas(atlas=torch.rand(3, 5, 2, 2, 3))
    none = torch.zeros(3, dtype=torch.bool)
    assert vertex[none].verts_features_padded().shape == (0, 0, 3)
    assert atlas[none].atlas_padded().shape == (0, 0, 0, 0, 3)
    keep = torch.tensor([False, True, False])
    torch.testing.assert_close(
        vertex[keep].verts_features_padded(), vertex.verts_features_padded()[1:2]
    )


def test_ply_with_texture_uvs_loads_a_uv_texture(tmp_path):
    from PIL import Image

    from course_utils.p3d.builtin.io import IO

    pixels = np.zeros((2, 4, 3), dtype=np.uint8)
    pixels[:, 2:] = 255  # right half white
    Image.fromarray(pixels).save(tmp_path / "tex.png")
    header = (
        "ply\nformat ascii 1.0\ncomment TextureFile tex.png\nelement vertex 3\n"
        "property float x\nproperty float y\nproperty float z\n"
        "property float texture_u\nproperty float texture_v\n"
        "element face 1\nproperty list uchar int vertex_index\nend_header\n"
    )
    body = "0 0 0 0.1 0.2\n1 0 0 0.9 0.2\n0 1 0 0.1 0.8\n3 0 1 2\n"
    (tmp_path / "tri.ply").write_text(header + body)
    mesh = IO().load_mesh(tmp_path / "tri.ply")
    torch.testing.assert_close(
        mesh.textures.verts_uvs_padded()[0], torch.tensor([[0.1, 0.2], [0.9, 0.2], [0.1, 0.8]])
    )
    assert mesh.textures.faces_uvs_padded()[0].tolist() == [[0, 1, 2]]
    maps = mesh.textures.maps_padded()
    assert maps.shape == (1, 2, 4, 3) and maps[0, :, 2:].min() == 1.0 and maps[0, :, :2].max() == 0
    (tmp_path / "tri.ply").write_text(header.replace("comment TextureFile tex.png\n", "") + body)
    assert IO().load_mesh(tmp_path / "tri.ply").textures is None  # no image named: no texture


def test_render_cubified_voxels_covers_the_occupied_square():
    import math

    from course_utils.p3d.builtin.datasets import render_cubified_voxels
    from course_utils.p3d.builtin.ops import cubify
    from course_utils.p3d.builtin.renderer import RasterizationSettings

    # A block in front of the identity camera (z > 0) and a lone cell behind it (z < 0).
    voxels = torch.zeros(1, 8, 8, 8)
    voxels[0, 5:7, 2:6, 2:6] = 1.0
    voxels[0, 1, 0, 0] = 1.0
    size = 64
    images = render_cubified_voxels(voxels, raster_settings=RasterizationSettings(image_size=size))
    assert images.shape == (1, size, size, 4)
    # The block's x (and y) extent, from the cube mesh; pixel j has NDC 1 - (2j + 1) / size
    # (+X left, +Y up), so it is covered when that lies inside the extent.
    verts = cubify(voxels, 0.2).verts_packed()
    block = verts[verts[:, 2] > 0]
    low, high = float(block[:, 0].min()), float(block[:, 0].max())
    first = math.ceil((1 - high) * size / 2 - 0.5)
    last = math.floor((1 - low) * size / 2 - 0.5)
    covered = images[0, ..., 3] > 0
    rows = covered.any(dim=1).nonzero().flatten()
    cols = covered.any(dim=0).nonzero().flatten()
    assert (int(cols.min()), int(cols.max())) == (first, last)
    assert (int(rows.min()), int(rows.max())) == (first, last)  # a square block
    inner = covered[first + 1 : last, first + 1 : last]
    # All but the diagonal between a face's two triangles, whose pixel centres lie exactly
    # on it (no triangle covers them, as in PyTorch3D's strict inside test).
    assert float(inner.float().mean()) > 0.9
    assert bool((images[0, first + 2, first + 5, :3] > 0.1).all())  # lit white, not black
