"""Bad input to the readers: every error names the file, the line and what was expected.

These tests check the built-in backend's own messages and warnings (real PyTorch3D words
them differently, or only warns), so they are marked ``builtin_only``. Errors are
``ValueError`` subclasses (``MeshFileError``), as PyTorch3D raises ``ValueError``.
"""

from __future__ import annotations

import os
import re
import struct
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from course_utils.p3d import io

pytestmark = pytest.mark.builtin_only

TRIANGLE = "v 0 0 0\nv 1 0 0\nv 0 1 0\n"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def load_error(path: Path, loader=io.load_obj) -> str:
    """Load ``path``, expect a ValueError, and return its message."""
    with pytest.raises(ValueError) as info:
        loader(path)
    assert isinstance(info.value, io.MeshFileError)
    message = str(info.value)
    assert path.name in message, message
    assert "Traceback" not in message
    return message


def load_warning(path: Path, phrase: str, loader=io.load_obj):
    """Load ``path``, expect a UserWarning containing ``phrase``; return (message, result)."""
    with pytest.warns(UserWarning, match=re.escape(phrase)) as record:
        result = loader(path)
    message = next(str(w.message) for w in record if phrase in str(w.message))
    assert path.name in message, message
    return message, result


# --------------------------------------------------------------------------- OBJ lines
@pytest.mark.parametrize(
    ("text", "line_number", "bad_line", "expected"),
    [
        ("v 0 0 0\nv 1 2\n", 2, "v 1 2", "needs 3 numbers"),
        ("v 0 0 0\nv a b c\n", 2, "v a b c", "'a'"),
        ("v 0 0 0\nvn 1 x 0\n", 2, "vn 1 x 0", "'x'"),
        (TRIANGLE + "f 1\n", 4, "f 1", "at least 3 corners"),
        (TRIANGLE + "f 1/x 2 3\n", 4, "f 1/x 2 3", "'x'"),
        (TRIANGLE + "f 0 1 2\n", 4, "f 0 1 2", "index 0"),
        (TRIANGLE + "f 1/2/3/4 2 3\n", 4, "f 1/2/3/4 2 3", "more than 3 parts"),
        (TRIANGLE + "vt 0 0\nf 1/1 2 3\n", 5, "f 1/1 2 3", "same form"),
        (TRIANGLE + "usemtl\n", 4, "usemtl", "material name"),
        (TRIANGLE + "mtllib\n", 4, "mtllib", "material file name"),
    ],
)
def test_malformed_obj_lines(
    tmp_path: Path, text: str, line_number: int, bad_line: str, expected: str
) -> None:
    message = load_error(write(tmp_path, "bad.obj", text))
    assert f"line {line_number}" in message
    assert repr(bad_line) in message
    assert expected in message


def test_obj_face_index_past_the_last_vertex(tmp_path: Path) -> None:
    # As PyTorch3D: a warning (naming the line) and the indices load as they are.
    path = write(tmp_path, "far.obj", TRIANGLE + "# comment\nf 1 2 9\n")
    message, (verts, faces, _) = load_warning(path, "Faces have invalid indices")
    assert "line 5" in message and "'f 1 2 9'" in message
    assert "vertex 9" in message and "3 vertices" in message
    assert faces.verts_idx.tolist() == [[0, 1, 8]] and len(verts) == 3


def test_obj_negative_index_before_the_first_vertex(tmp_path: Path) -> None:
    message = load_error(write(tmp_path, "neg.obj", TRIANGLE + "f -1 -2 -5\n"))
    assert "line 4" in message and "'f -1 -2 -5'" in message
    assert "vertex -5" in message and "only 3 vertices" in message


def test_obj_texture_and_normal_index_out_of_range(tmp_path: Path) -> None:
    phrase = "Faces have invalid indices"
    uv = write(tmp_path, "uv.obj", TRIANGLE + "vt 0 0\nf 1/1 2/1 3/4\n")
    message, (_, faces, _) = load_warning(uv, phrase)
    assert "line 5" in message and "texture coordinate 4" in message and "1 texture" in message
    assert faces.textures_idx.tolist() == [[0, 0, 3]]
    message, _ = load_warning(write(tmp_path, "n.obj", TRIANGLE + "f 1//1 2//1 3//1\n"), phrase)
    assert "line 4" in message and "normal 1" in message and "no normals" in message


def test_obj_line_number_counts_continued_lines(tmp_path: Path) -> None:
    message = load_error(write(tmp_path, "cont.obj", "v 0 0 \\\n 0\n" + TRIANGLE + "f 1 2 x\n"))
    assert "line 6" in message


def test_empty_obj_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.obj"
    path.write_bytes(b"")
    message, (verts, faces, _) = load_warning(path, "empty (0 bytes)")
    assert verts.shape == (0, 3) and faces.verts_idx.shape == (0, 3)


def test_obj_without_vertices(tmp_path: Path) -> None:
    message, (verts, _, _) = load_warning(
        write(tmp_path, "nothing.obj", "# only a comment\ng group\n"), "no vertices"
    )
    assert verts.shape == (0, 3)


def test_missing_obj_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.obj"
    with pytest.raises(FileNotFoundError, match=re.escape(str(path))):
        io.load_obj(path)


def test_unsupported_obj_arguments(tmp_path: Path) -> None:
    path = write(tmp_path, "ok.obj", TRIANGLE + "f 1 2 3\n")
    with pytest.raises(ValueError, match="texture_atlas_size"):
        io.load_obj(path, create_texture_atlas=True, texture_atlas_size=0)
    with pytest.raises(NotImplementedError, match="path_manager"):
        io.load_obj(path, path_manager=object())
    with pytest.raises(ValueError, match="texture_wrap"):
        io.load_obj(path, texture_wrap="mirror")


# --------------------------------------------------------------------------- materials
def obj_with_mtllib(folder: Path, mtllib: str, name: str = "mesh.obj") -> Path:
    return write(folder, name, f"mtllib {mtllib}\n{TRIANGLE}usemtl mat\nf 1 2 3\n")


def test_missing_mtl_file_warns_and_loads(tmp_path: Path) -> None:
    path = obj_with_mtllib(tmp_path, "nowhere.mtl")
    with pytest.warns(UserWarning, match="nowhere.mtl") as record:
        verts, faces, aux = io.load_obj(path)
    assert "mesh.obj" in str(record[0].message) and "does not exist" in str(record[0].message)
    assert verts.shape == (3, 3) and faces.verts_idx.shape == (1, 3)
    assert aux.material_colors is None and aux.texture_images is None


def test_missing_texture_image_warns_and_keeps_colors(tmp_path: Path) -> None:
    write(tmp_path, "m.mtl", "newmtl mat\nKd 0.5 0.5 0.5\nmap_Kd lost.png\n")
    path = obj_with_mtllib(tmp_path, "m.mtl")
    with pytest.warns(UserWarning, match="lost.png") as record:
        _, _, aux = io.load_obj(path)
    assert "mesh.obj" in str(record[0].message)
    assert torch.allclose(aux.material_colors["mat"]["diffuse_color"], torch.full((3,), 0.5))
    assert aux.texture_images == {}


def test_mtl_outside_the_mesh_folder_is_refused(tmp_path: Path) -> None:
    secret = write(tmp_path, "secret.mtl", "newmtl mat\nKd 1 0 0\n")
    folder = tmp_path / "mesh"
    folder.mkdir()
    for mtllib in ("../secret.mtl", os.fspath(secret)):
        path = obj_with_mtllib(folder, mtllib)
        with pytest.warns(UserWarning, match="outside the mesh's folder") as record:
            _, _, aux = io.load_obj(path)
        assert mtllib in str(record[0].message) and "mesh.obj" in str(record[0].message)
        assert aux.material_colors is None


def test_texture_outside_the_mesh_folder_is_refused(tmp_path: Path) -> None:
    Image.fromarray(np.zeros((2, 2, 3), np.uint8)).save(tmp_path / "secret.png")
    folder = tmp_path / "mesh"
    folder.mkdir()
    for image in ("../secret.png", os.fspath(tmp_path / "secret.png")):
        write(folder, "m.mtl", f"newmtl mat\nKd 1 1 1\nmap_Kd {image}\n")
        path = obj_with_mtllib(folder, "m.mtl")
        with pytest.warns(UserWarning, match="outside the mesh's folder") as record:
            _, _, aux = io.load_obj(path)
        assert image in str(record[0].message)
        assert aux.texture_images == {}
        assert "mat" in aux.material_colors


def test_symlink_pointing_outside_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "secret.mtl", "newmtl mat\nKd 1 0 0\n")
    folder = tmp_path / "mesh"
    folder.mkdir()
    try:
        (folder / "link.mtl").symlink_to(tmp_path / "secret.mtl")
    except OSError:
        pytest.skip("symlinks are not available here")
    path = obj_with_mtllib(folder, "link.mtl")
    with pytest.warns(UserWarning, match="outside the mesh's folder"):
        _, _, aux = io.load_obj(path)
    assert aux.material_colors is None


def test_mtl_parse_error_names_the_mtl_file(tmp_path: Path) -> None:
    write(tmp_path, "m.mtl", "newmtl mat\nKd 1 zero 0\n")
    message = load_error(obj_with_mtllib(tmp_path, "m.mtl"))
    assert "m.mtl" in message and "line 2" in message and "'Kd 1 zero 0'" in message
    assert "r g b" in message


def test_mtl_statement_before_newmtl(tmp_path: Path) -> None:
    write(tmp_path, "m.mtl", "Kd 1 0 0\nnewmtl mat\n")
    message = load_error(obj_with_mtllib(tmp_path, "m.mtl"))
    assert "m.mtl" in message and "line 1" in message and "newmtl" in message


def test_several_materials_but_no_usemtl(tmp_path: Path) -> None:
    write(tmp_path, "m.mtl", "newmtl a\nKd 1 0 0\nnewmtl b\nKd 0 1 0\n")
    path = write(tmp_path, "mesh.obj", f"mtllib m.mtl\n{TRIANGLE}f 1 2 3\n")
    message = load_error(path)
    assert "usemtl" in message and "2 materials" in message


def test_undefined_material_warns(tmp_path: Path) -> None:
    write(tmp_path, "m.mtl", "newmtl other\nKd 1 0 0\n")
    with pytest.warns(UserWarning, match="'mat'"):
        _, _, aux = io.load_obj(obj_with_mtllib(tmp_path, "m.mtl"))
    assert aux.material_colors == {}


def test_usemtl_without_mtllib_warns(tmp_path: Path) -> None:
    path = write(tmp_path, "mesh.obj", f"{TRIANGLE}usemtl mat\nf 1 2 3\n")
    with pytest.warns(UserWarning, match="mtllib"):
        _, faces, aux = io.load_obj(path)
    assert aux.material_colors is None
    assert torch.equal(faces.materials_idx, torch.tensor([0]))


def test_texture_options_are_skipped_with_a_warning(tmp_path: Path) -> None:
    Image.fromarray(np.full((2, 2, 3), 255, np.uint8)).save(tmp_path / "t.png")
    write(tmp_path, "m.mtl", "newmtl mat\nmap_Kd -s 2 2 1 -clamp on t.png\n")
    with pytest.warns(UserWarning, match="options"):
        _, _, aux = io.load_obj(obj_with_mtllib(tmp_path, "m.mtl"))
    assert torch.equal(aux.texture_images["mat"], torch.ones(2, 2, 3))


def test_unreadable_texture_image_warns(tmp_path: Path) -> None:
    (tmp_path / "broken.png").write_bytes(b"not a png")
    write(tmp_path, "m.mtl", "newmtl mat\nmap_Kd broken.png\n")
    with pytest.warns(UserWarning, match="broken.png"):
        _, _, aux = io.load_obj(obj_with_mtllib(tmp_path, "m.mtl"))
    assert aux.texture_images == {}


def test_good_files_load_without_warnings(tmp_path: Path) -> None:
    Image.fromarray(np.zeros((2, 2, 3), np.uint8)).save(tmp_path / "t.png")
    write(tmp_path, "m.mtl", "newmtl mat\nKd 1 1 1\nmap_Kd t.png\n")
    path = write(
        tmp_path, "mesh.obj", f"mtllib m.mtl\n{TRIANGLE}vt 0 0\nusemtl mat\nf 1/1 2/1 3/1\n"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        io.load_obj(path)
        io.load_obj(write(tmp_path, "plain.obj", TRIANGLE + "f 1 2 3\n"))


# --------------------------------------------------------------------------- PLY
def ply(fmt: str, *header: str) -> bytes:
    return ("\n".join(["ply", f"format {fmt} 1.0", *header, "end_header"]) + "\n").encode()


VERTEX_XYZ = ("element vertex 3", "property float x", "property float y", "property float z")
FACES = ("element face 1", "property list uchar int vertex_indices")


def ply_error(tmp_path: Path, data: bytes, name: str = "bad.ply") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return load_error(path, io.load_ply)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"PLY\nformat ascii 1.0\nend_header\n", "'ply'"),
        (b"solid cube\n", "'ply'"),
        (b"ply\nelement vertex 0\nproperty float x\nend_header\n", "no 'format' line"),
        (b"ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\n", "no 'end_header'"),
    ],
)
def test_ply_bad_header(tmp_path: Path, data: bytes, expected: str) -> None:
    assert expected in ply_error(tmp_path, data)


def test_ply_bad_format_line(tmp_path: Path) -> None:
    message = ply_error(tmp_path, b"ply\nformat text 1.0\nend_header\n")
    assert "line 2" in message and "'format text 1.0'" in message and "ascii" in message


def test_ply_unsupported_property_type(tmp_path: Path) -> None:
    data = ply("ascii", "element vertex 1", "property float x", "property int64 y")
    message = ply_error(tmp_path, data + b"0 0\n")
    assert "line 5" in message and "'int64'" in message and "uchar" in message


def test_ply_unknown_header_line(tmp_path: Path) -> None:
    message = ply_error(tmp_path, ply("ascii", "elephant vertex 3") + b"\n")
    assert "line 3" in message and "'elephant'" in message


def test_ply_truncated_binary_vertices(tmp_path: Path) -> None:
    data = ply("binary_little_endian", *VERTEX_XYZ) + np.zeros(8, "<f4").tobytes()
    message = ply_error(tmp_path, data)
    assert "ends early" in message and "'vertex'" in message and "36 bytes" in message


def test_ply_truncated_binary_faces(tmp_path: Path) -> None:
    data = ply("binary_little_endian", *VERTEX_XYZ, *FACES)
    data += np.zeros(9, "<f4").tobytes() + struct.pack("<B2i", 3, 0, 1)
    message = ply_error(tmp_path, data)
    assert "ends early" in message and "'face'" in message


def test_ply_ascii_fewer_vertex_rows_than_declared(tmp_path: Path) -> None:
    data = ply("ascii", "element vertex 4", *VERTEX_XYZ[1:], *FACES)
    message = ply_error(tmp_path, data + b"0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n")
    # The face row is read as the 4th vertex: 4 values where x y z were expected.
    assert "line 13" in message and "'3 0 1 2'" in message and "x y z" in message


def test_ply_ascii_more_rows_than_declared(tmp_path: Path) -> None:
    data = ply("ascii", *VERTEX_XYZ)
    message = ply_error(tmp_path, data + b"0 0 0\n1 0 0\n0 1 0\n5 5 5\n")
    assert "line 11" in message and "Extra data" in message and "3 'vertex'" in message


def test_ply_ascii_data_ends_early(tmp_path: Path) -> None:
    data = ply("ascii", *VERTEX_XYZ, *FACES)
    message = ply_error(tmp_path, data + b"0 0 0\n1 0 0\n0 1 0\n")
    assert "1 'face' rows" in message and "only 0" in message


def test_ply_ascii_not_a_number(tmp_path: Path) -> None:
    data = ply("ascii", *VERTEX_XYZ)
    message = ply_error(tmp_path, data + b"0 0 0\n1 zero 0\n0 1 0\n")
    assert "line 9" in message and "'zero'" in message


def test_ply_face_index_out_of_range(tmp_path: Path) -> None:
    data = ply("ascii", *VERTEX_XYZ, *FACES) + b"0 0 0\n1 0 0\n0 1 0\n3 0 1 3\n"
    message = ply_error(tmp_path, data, "ascii.ply")
    assert "line 13" in message and "vertex 3" in message and "3 vertices" in message

    data = ply("binary_little_endian", *VERTEX_XYZ, *FACES)
    data += np.zeros(9, "<f4").tobytes() + struct.pack("<B3i", 3, 0, -1, 2)
    message = ply_error(tmp_path, data, "binary.ply")
    assert "face 0" in message and "vertex -1" in message


def test_ply_blank_lines_in_ascii_data_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "blank.ply"
    path.write_bytes(ply("ascii", *VERTEX_XYZ, *FACES) + b"0 0 0\n\n1 0 0\n0 1 0\n\n3 0 1 2\n")
    verts, faces = io.load_ply(path)
    assert verts.shape == (3, 3) and torch.equal(faces, torch.tensor([[0, 1, 2]]))


def test_ply_face_with_two_corners(tmp_path: Path) -> None:
    data = ply("ascii", *VERTEX_XYZ, *FACES) + b"0 0 0\n1 0 0\n0 1 0\n2 0 1\n"
    message = ply_error(tmp_path, data)
    assert "line 13" in message and "2 corners" in message


def test_ply_empty_file(tmp_path: Path) -> None:
    assert "empty (0 bytes)" in ply_error(tmp_path, b"")


def test_ply_without_vertices(tmp_path: Path) -> None:
    assert "no 'vertex' element" in ply_error(tmp_path, ply("ascii", *FACES[:1], FACES[1]))
    # As PyTorch3D: no vertices is an empty mesh (with a warning here).
    zero = tmp_path / "zero.ply"
    zero.write_bytes(ply("ascii", "element vertex 0", *VERTEX_XYZ[1:]))
    _, (verts, faces) = load_warning(zero, "no vertices", io.load_ply)
    assert verts.shape == (0, 3) and faces.shape == (0, 3)
    message = ply_error(
        tmp_path, ply("ascii", "element vertex 1", "property float x") + b"0\n", "x_only.ply"
    )
    assert "no y, z property" in message


def test_missing_ply_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.ply"
    with pytest.raises(FileNotFoundError, match=re.escape(str(path))):
        io.load_ply(path)


# --------------------------------------------------------------------------- IO
def test_io_unknown_extension_names_path_and_formats(tmp_path: Path) -> None:
    path = tmp_path / "mesh.stl"
    path.write_text("solid\n")
    with pytest.raises(ValueError) as info:
        io.IO().load_mesh(path)
    message = str(info.value)
    assert str(path) in message and ".obj" in message and ".ply" in message
    with pytest.raises(ValueError, match=r"\.ply"):
        io.IO().load_pointcloud(tmp_path / "cloud.obj")


def test_io_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="gone.ply"):
        io.IO().load_mesh(tmp_path / "gone.ply")


def test_io_unsupported_registration() -> None:
    with pytest.raises(NotImplementedError, match="register_meshes_format"):
        io.IO().register_meshes_format(object())
    with pytest.raises(NotImplementedError, match="path_manager"):
        io.IO(path_manager=object())
