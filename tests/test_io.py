"""Reading and writing OBJ/MTL and PLY files, and the ``IO`` class.

Every test writes its own small files in ``tmp_path`` and goes through the facade
(``course_utils.p3d.io``), so with ``COURSE_BACKEND=pytorch3d`` the same expectations are
checked against real PyTorch3D. Tests of behaviour only the built-in backend has (line
continuations, the OBJ specification's relative negative indices) are marked
``builtin_only``.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from course_utils.p3d import io, structures

# A 2 x 3 RGB texture (row 0 is the top row of the image file).
TEXTURE = np.array(
    [
        [[255, 0, 0], [0, 255, 0], [0, 0, 255]],
        [[10, 20, 30], [128, 64, 32], [255, 255, 255]],
    ],
    dtype=np.uint8,
)

OBJ_TEXT = """\
# a test mesh with every face syntax
mtllib mats.mtl
o thing
v 0 0 0
v 1 0 0
v 1 1 0
v 0 1 0
v 0 0 1 0.5 0.5 0.5
vt 0 0
vt 1 0
vt 1 1
vt 0 1

vn 0 0 1
vn 0 0 -1
g part1
s off
usemtl red
f 1 2 3
f 1/1 2/2 3/3 4/4
usemtl textured
f 1//1 2//1 5//2
f -5/-4/-2 -4/-3/-2 -1/-1/-1
usemtl red
f 2 3 5
"""

MTL_TEXT = """\
# materials
newmtl red
Ka 0.1 0.0 0.0
Kd 1.0 0.0 0.0
Ks 0.5 0.5 0.5
Ns 20

newmtl textured
Kd 1 1 1   # white
map_Kd tex.png

newmtl unused
Kd 0 1 0
"""


def write_textured_obj(folder: Path) -> Path:
    (folder / "mats.mtl").write_text(MTL_TEXT)
    Image.fromarray(TEXTURE).save(folder / "tex.png")
    path = folder / "mesh.obj"
    path.write_text(OBJ_TEXT)
    return path


def long(rows: list[list[int]]) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.int64)


# --------------------------------------------------------------------------- load_obj
def test_load_obj_every_face_form(tmp_path: Path) -> None:
    verts, faces, aux = io.load_obj(write_textured_obj(tmp_path))

    assert verts.dtype == torch.float32
    expected_verts = [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1]]
    assert torch.equal(verts, torch.tensor(expected_verts, dtype=torch.float32))
    # Quads are split as a fan from the first corner; negative indices count back.
    assert torch.equal(
        faces.verts_idx, long([[0, 1, 2], [0, 1, 2], [0, 2, 3], [0, 1, 4], [0, 1, 4], [1, 2, 4]])
    )
    assert torch.equal(
        faces.textures_idx,
        long([[-1, -1, -1], [0, 1, 2], [0, 2, 3], [-1, -1, -1], [0, 1, 3], [-1, -1, -1]]),
    )
    assert torch.equal(
        faces.normals_idx,
        long([[-1, -1, -1], [-1, -1, -1], [-1, -1, -1], [0, 0, 1], [0, 0, 1], [-1, -1, -1]]),
    )
    assert torch.equal(faces.materials_idx, torch.tensor([0, 0, 0, 1, 1, 0]))
    assert torch.equal(aux.normals, torch.tensor([[0.0, 0, 1], [0, 0, -1]]))
    assert torch.equal(aux.verts_uvs, torch.tensor([[0.0, 0], [1, 0], [1, 1], [0, 1]]))
    assert aux.texture_atlas is None


def test_load_obj_materials_and_texture(tmp_path: Path) -> None:
    _, _, aux = io.load_obj(write_textured_obj(tmp_path))

    # Only the materials the OBJ uses, with the properties the MTL file gives.
    assert list(aux.material_colors) == ["red", "textured"]
    red = aux.material_colors["red"]
    assert torch.allclose(red["ambient_color"], torch.tensor([0.1, 0.0, 0.0]))
    assert torch.allclose(red["diffuse_color"], torch.tensor([1.0, 0.0, 0.0]))
    assert torch.allclose(red["specular_color"], torch.tensor([0.5, 0.5, 0.5]))
    assert torch.allclose(red["shininess"], torch.tensor([20.0]))
    assert red["shininess"].shape == (1,)
    assert list(aux.material_colors["textured"]) == ["diffuse_color"]

    # The image as stored in the file: (H, W, 3) float32 in [0, 1], row 0 at the top.
    assert list(aux.texture_images) == ["textured"]
    image = aux.texture_images["textured"]
    assert image.shape == (2, 3, 3)
    assert image.dtype == torch.float32
    assert torch.allclose(image, torch.from_numpy(TEXTURE.astype(np.float32) / 255.0))


def test_load_obj_without_textures(tmp_path: Path) -> None:
    _, faces, aux = io.load_obj(write_textured_obj(tmp_path), load_textures=False)
    assert aux.material_colors is None
    assert aux.texture_images is None
    assert torch.equal(faces.materials_idx, torch.tensor([0, 0, 0, 1, 1, 0]))


def test_load_obj_from_open_file_and_str_path(tmp_path: Path) -> None:
    path = tmp_path / "tri.obj"
    path.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    with open(path) as f:
        verts, faces, aux = io.load_obj(f)
    assert verts.shape == (3, 3)
    assert torch.equal(faces.verts_idx, long([[0, 1, 2]]))
    verts2, faces2, _ = io.load_obj(str(path))
    assert torch.equal(verts, verts2) and torch.equal(faces.verts_idx, faces2.verts_idx)
    assert aux.normals is None and aux.verts_uvs is None


def test_load_obj_single_material_without_usemtl(tmp_path: Path) -> None:
    (tmp_path / "one.mtl").write_text("newmtl only\nKd 0.2 0.4 0.6\n")
    path = tmp_path / "m.obj"
    path.write_text("mtllib one.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    _, faces, aux = io.load_obj(path)
    assert list(aux.material_colors) == ["only"]
    assert torch.equal(faces.materials_idx, torch.tensor([0]))


def test_load_obj_vertices_without_faces(tmp_path: Path) -> None:
    path = tmp_path / "points.obj"
    path.write_text("v 0 0 0\nv 1 2 3\n")
    verts, faces, _ = io.load_obj(path)
    assert verts.shape == (2, 3)
    assert faces.verts_idx.shape == (0, 3)


def test_load_obj_device_argument(tmp_path: Path) -> None:
    verts, faces, aux = io.load_obj(write_textured_obj(tmp_path), device="cpu")
    assert verts.device.type == "cpu" and faces.verts_idx.device.type == "cpu"
    assert aux.texture_images["textured"].shape == (2, 3, 3)


@pytest.mark.builtin_only
def test_load_obj_line_continuation_and_relative_negative_indices(tmp_path: Path) -> None:
    # Negative indices count back from the vertices defined *so far* (OBJ specification):
    # the second triangle's -3 -2 -1 are vertices 4, 5, 6 even though more follow.
    path = tmp_path / "parts.obj"
    path.write_text(
        "v 0 0 0\nv 1 0 0\nv 0 1 0\nf -3 -2 -1\n"
        "v 0 0 1\nv 1 0 1\nv 0 1 1\nf -3 \\\n -2 -1\n"
        "v 5 5 5\n"
    )
    verts, faces, _ = io.load_obj(path)
    assert verts.shape == (7, 3)
    assert torch.equal(faces.verts_idx, long([[0, 1, 2], [3, 4, 5]]))


@pytest.mark.builtin_only
def test_load_obj_several_material_libraries(tmp_path: Path) -> None:
    (tmp_path / "a.mtl").write_text("newmtl first\nKd 1 0 0\n")
    (tmp_path / "b.mtl").write_text("newmtl second\nKd 0 1 0\n")
    path = tmp_path / "two.obj"
    path.write_text(
        "mtllib a.mtl b.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\n"
        "usemtl second\nf 1 2 3\nusemtl first\nf 3 2 1\n"
    )
    _, faces, aux = io.load_obj(path)
    assert list(aux.material_colors) == ["second", "first"]
    assert torch.equal(aux.material_colors["first"]["diffuse_color"], torch.tensor([1.0, 0, 0]))
    assert torch.equal(faces.materials_idx, torch.tensor([0, 1]))


# --------------------------------------------------------------------------- load_objs_as_meshes
def test_load_objs_as_meshes_uses_texture(tmp_path: Path) -> None:
    from course_utils.p3d import renderer

    path = write_textured_obj(tmp_path)
    mesh = io.load_objs_as_meshes([path])
    assert len(mesh) == 1
    assert mesh.verts_list()[0].shape == (5, 3)
    assert torch.equal(mesh.faces_list()[0][1], torch.tensor([0, 1, 2]))
    assert isinstance(mesh.textures, renderer.TexturesUV)
    assert torch.allclose(
        mesh.textures.maps_list()[0], torch.from_numpy(TEXTURE.astype(np.float32) / 255.0)
    )
    _, faces, aux = io.load_obj(path)
    assert torch.equal(mesh.textures.faces_uvs_list()[0], faces.textures_idx)
    assert torch.equal(mesh.textures.verts_uvs_list()[0], aux.verts_uvs)


def test_load_objs_as_meshes_batch_without_textures(tmp_path: Path) -> None:
    a = tmp_path / "a.obj"
    a.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    b = tmp_path / "b.obj"
    b.write_text("v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nf 1 2 3 4\n")
    meshes = io.load_objs_as_meshes([a, b], device="cpu")
    assert len(meshes) == 2
    assert meshes.textures is None
    assert [f.shape[0] for f in meshes.faces_list()] == [1, 2]
    assert torch.equal(meshes.faces_list()[1], long([[0, 1, 2], [0, 2, 3]]))


# --------------------------------------------------------------------------- save_obj
def cube() -> tuple[torch.Tensor, torch.Tensor]:
    verts = (
        torch.tensor([[x, y, z] for x in (0.0, 1.0) for y in (0.0, 1.0) for z in (0.0, 1.0)]) - 0.25
    )
    faces = long(
        [
            [0, 1, 3],
            [0, 3, 2],
            [4, 6, 7],
            [4, 7, 5],
            [0, 4, 5],
            [0, 5, 1],
            [2, 3, 7],
            [2, 7, 6],
            [0, 2, 6],
            [0, 6, 4],
            [1, 5, 7],
            [1, 7, 3],
        ]
    )
    return verts, faces


def test_save_obj_round_trip(tmp_path: Path) -> None:
    verts, faces = cube()
    path = tmp_path / "cube.obj"
    io.save_obj(path, verts, faces)
    loaded_verts, loaded_faces, aux = io.load_obj(path)
    assert torch.allclose(loaded_verts, verts, atol=1e-6)
    assert torch.equal(loaded_faces.verts_idx, faces)
    assert aux.normals is None and aux.verts_uvs is None


def test_save_obj_decimal_places(tmp_path: Path) -> None:
    path = tmp_path / "tri.obj"
    io.save_obj(path, torch.tensor([[0.123456, 1.0, 2.5]] * 3), long([[0, 1, 2]]), decimal_places=2)
    assert path.read_text().splitlines()[0] == "v 0.12 1.00 2.50"


def test_save_obj_with_normals_round_trip(tmp_path: Path) -> None:
    verts, faces = cube()
    normals = torch.nn.functional.normalize(
        torch.randn(5, 3, generator=torch.Generator().manual_seed(0))
    )
    normals_idx = torch.randint(0, 5, faces.shape, generator=torch.Generator().manual_seed(1))
    path = tmp_path / "cube_n.obj"
    io.save_obj(path, verts, faces, normals=normals, faces_normals_idx=normals_idx)
    assert "//" in path.read_text()
    _, loaded_faces, aux = io.load_obj(path)
    assert torch.allclose(aux.normals, normals, atol=1e-6)
    assert torch.equal(loaded_faces.normals_idx, normals_idx)
    assert torch.equal(loaded_faces.verts_idx, faces)


def test_save_obj_with_texture_round_trip(tmp_path: Path) -> None:
    verts, faces = cube()
    generator = torch.Generator().manual_seed(2)
    verts_uvs = torch.rand(10, 2, generator=generator)
    faces_uvs = torch.randint(0, 10, faces.shape, generator=generator)
    texture = torch.randint(0, 256, (4, 5, 3), generator=generator).float() / 255.0
    path = tmp_path / "textured.obj"
    io.save_obj(path, verts, faces, verts_uvs=verts_uvs, faces_uvs=faces_uvs, texture_map=texture)

    assert (tmp_path / "textured.mtl").is_file()
    assert (tmp_path / "textured.png").is_file()
    loaded_verts, loaded_faces, aux = io.load_obj(path)
    assert torch.allclose(loaded_verts, verts, atol=1e-6)
    assert torch.equal(loaded_faces.verts_idx, faces)
    assert torch.equal(loaded_faces.textures_idx, faces_uvs)
    assert torch.allclose(aux.verts_uvs, verts_uvs, atol=1e-6)
    (name,) = aux.texture_images
    assert torch.allclose(aux.texture_images[name], texture, atol=1.01 / 255)
    assert torch.equal(loaded_faces.materials_idx, torch.zeros(len(faces), dtype=torch.int64))


@pytest.mark.builtin_only(reason="PyTorch3D 0.7.9's save_obj calls Path(f): paths only")
def test_save_obj_to_open_file(tmp_path: Path) -> None:
    verts, faces = cube()
    path = tmp_path / "opened.obj"
    with open(path, "w") as f:
        io.save_obj(f, verts, faces)
    loaded_verts, loaded_faces, _ = io.load_obj(path)
    assert torch.allclose(loaded_verts, verts, atol=1e-6)
    assert torch.equal(loaded_faces.verts_idx, faces)


def test_save_obj_rejects_bad_shapes(tmp_path: Path) -> None:
    verts, faces = cube()
    with pytest.raises(ValueError):
        io.save_obj(tmp_path / "x.obj", verts[:, :2], faces)
    with pytest.raises(ValueError):
        io.save_obj(tmp_path / "x.obj", verts, faces[:, :2])
    with pytest.raises(ValueError):
        io.save_obj(tmp_path / "x.obj", verts, faces, normals=verts)


# --------------------------------------------------------------------------- PLY
def ply_header(fmt: str, *lines: str) -> bytes:
    return ("\n".join(["ply", f"format {fmt} 1.0", *lines, "end_header"]) + "\n").encode()


@pytest.mark.parametrize("ascii", [False, True])
def test_save_ply_load_ply_round_trip(tmp_path: Path, ascii: bool) -> None:
    verts, faces = cube()
    path = tmp_path / "cube.ply"
    io.save_ply(path, verts, faces, ascii=ascii)
    loaded_verts, loaded_faces = io.load_ply(path)
    assert loaded_verts.dtype == torch.float32 and loaded_faces.dtype == torch.int64
    assert torch.allclose(loaded_verts, verts, atol=1e-6)
    assert torch.equal(loaded_faces, faces)


def test_save_ply_without_faces(tmp_path: Path) -> None:
    points = torch.rand(7, 3, generator=torch.Generator().manual_seed(3))
    path = tmp_path / "points.ply"
    io.save_ply(path, points)
    verts, faces = io.load_ply(path)
    assert torch.equal(verts, points)
    assert faces.shape == (0, 3) and faces.dtype == torch.int64


def test_load_ply_ascii_quads_and_polygons(tmp_path: Path) -> None:
    header = ply_header(
        "ascii",
        "comment a quad mesh",
        "obj_info made by hand",
        "element vertex 5",
        "property float x",
        "property float y",
        "property float z",
        "element face 2",
        "property list uchar int vertex_indices",
    )
    quads = tmp_path / "quads.ply"
    quads.write_bytes(header + b"0 0 0\n1 0 0\n1 1 0\n0 1 0\n0 0 1\n4 0 1 2 3\n4 4 3 2 1\n")
    verts, faces = io.load_ply(quads)
    assert verts.shape == (5, 3)
    # Equal-sized polygons: first triangle of every face, then the second ones.
    assert torch.equal(faces, long([[0, 1, 2], [4, 3, 2], [0, 2, 3], [4, 2, 1]]))

    mixed = tmp_path / "mixed.ply"
    mixed.write_bytes(header + b"0 0 0\n1 0 0\n1 1 0\n0 1 0\n0 0 1\n4 0 1 2 3\n3 4 3 2\n")
    _, faces = io.load_ply(mixed)
    assert torch.equal(faces, long([[0, 1, 2], [0, 2, 3], [4, 3, 2]]))


def test_load_ply_binary_big_endian_with_extra_element(tmp_path: Path) -> None:
    header = ply_header(
        "binary_big_endian",
        "element vertex 4",
        "property double x",
        "property double y",
        "property double z",
        "property uchar red",
        "property uchar green",
        "property uchar blue",
        "element edge 2",
        "property int vertex1",
        "property int vertex2",
        "property list uchar ushort extra",
        "element face 2",
        "property list uchar uint vertex_indices",
    )
    vert_rows = np.zeros(4, dtype=[("xyz", ">f8", (3,)), ("rgb", "u1", (3,))])
    vert_rows["xyz"] = [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]]
    vert_rows["rgb"] = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [51, 102, 153]]
    # The unknown 'edge' element has lists of different lengths; it must be skipped.
    edges = struct.pack(">iiB", 0, 1, 2) + struct.pack(">HH", 7, 8)
    edges += struct.pack(">iiB", 1, 2, 0)
    face_rows = struct.pack(">B3I", 3, 0, 1, 2) + struct.pack(">B3I", 3, 0, 2, 3)
    path = tmp_path / "colored.ply"
    path.write_bytes(header + vert_rows.tobytes() + edges + face_rows)

    verts, faces = io.load_ply(path)
    assert torch.equal(verts, torch.tensor([[0.0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]]))
    assert torch.equal(faces, long([[0, 1, 2], [0, 2, 3]]))

    from course_utils.p3d import renderer

    mesh = io.IO().load_mesh(path)
    assert isinstance(mesh.textures, renderer.TexturesVertex)
    colors = mesh.textures.verts_features_list()[0]
    assert torch.allclose(colors, torch.from_numpy(vert_rows["rgb"].astype(np.float32) / 255.0))


def test_load_ply_binary_mixed_polygons(tmp_path: Path) -> None:
    header = ply_header(
        "binary_little_endian",
        "element vertex 5",
        "property float x",
        "property float y",
        "property float z",
        "element face 2",
        "property list uchar int vertex_index",
    )
    verts = np.arange(15, dtype="<f4").reshape(5, 3)
    faces = struct.pack("<B3i", 3, 4, 3, 2) + struct.pack("<B4i", 4, 0, 1, 2, 3)
    path = tmp_path / "mixed.ply"
    path.write_bytes(header + verts.tobytes() + faces)
    loaded_verts, loaded_faces = io.load_ply(path)
    assert torch.equal(loaded_verts, torch.from_numpy(verts))
    assert torch.equal(loaded_faces, long([[4, 3, 2], [0, 1, 2], [0, 2, 3]]))


def test_load_ply_from_open_binary_file(tmp_path: Path) -> None:
    verts, faces = cube()
    path = tmp_path / "cube.ply"
    io.save_ply(path, verts, faces)
    with open(path, "rb") as f:
        loaded_verts, loaded_faces = io.load_ply(f)
    assert torch.allclose(loaded_verts, verts) and torch.equal(loaded_faces, faces)


# --------------------------------------------------------------------------- IO
@pytest.mark.parametrize("binary", [True, False])
@pytest.mark.parametrize("colors_as_uint8", [False, True])
def test_io_mesh_ply_round_trip_with_vertex_colors(
    tmp_path: Path, binary: bool, colors_as_uint8: bool
) -> None:
    from course_utils.p3d import renderer

    verts, faces = cube()
    colors = torch.randint(0, 256, (8, 3), generator=torch.Generator().manual_seed(4)) / 255.0
    mesh = structures.Meshes(
        verts=[verts], faces=[faces], textures=renderer.TexturesVertex(verts_features=[colors])
    )
    path = tmp_path / "colored.ply"
    io.IO().save_mesh(mesh, path, binary=binary, colors_as_uint8=colors_as_uint8)
    loaded = io.IO().load_mesh(path)
    assert torch.allclose(loaded.verts_list()[0], verts, atol=1e-6)
    assert torch.equal(loaded.faces_list()[0], faces)
    assert isinstance(loaded.textures, renderer.TexturesVertex)
    assert torch.allclose(loaded.textures.verts_features_list()[0], colors, atol=1e-6)


def test_io_mesh_obj_round_trip_with_uv_texture(tmp_path: Path) -> None:
    from course_utils.p3d import renderer

    verts, faces = cube()
    generator = torch.Generator().manual_seed(5)
    texture = torch.randint(0, 256, (6, 4, 3), generator=generator).float() / 255.0
    textures = renderer.TexturesUV(
        maps=texture[None],
        faces_uvs=[torch.randint(0, 9, faces.shape, generator=generator)],
        verts_uvs=[torch.rand(9, 2, generator=generator)],
    )
    mesh = structures.Meshes(verts=[verts], faces=[faces], textures=textures)
    path = tmp_path / "uv.obj"
    io.IO().save_mesh(mesh, path)
    loaded = io.IO().load_mesh(path)
    assert torch.allclose(loaded.verts_list()[0], verts, atol=1e-6)
    assert torch.equal(loaded.faces_list()[0], faces)
    assert isinstance(loaded.textures, renderer.TexturesUV)
    assert torch.allclose(loaded.textures.maps_list()[0], texture, atol=1.01 / 255)
    assert torch.equal(loaded.textures.faces_uvs_list()[0], textures.faces_uvs_list()[0])
    assert torch.allclose(
        loaded.textures.verts_uvs_list()[0], textures.verts_uvs_list()[0], atol=1e-6
    )


def test_io_mesh_obj_without_texture(tmp_path: Path) -> None:
    verts, faces = cube()
    path = tmp_path / "plain.OBJ"  # the extension is matched case-insensitively
    io.IO().save_mesh(structures.Meshes(verts=[verts], faces=[faces]), path)
    loaded = io.IO().load_mesh(path)
    assert loaded.textures is None
    assert torch.equal(loaded.faces_list()[0], faces)


@pytest.mark.parametrize("binary", [True, False])
def test_io_pointcloud_round_trip(tmp_path: Path, binary: bool) -> None:
    generator = torch.Generator().manual_seed(6)
    points = torch.rand(20, 3, generator=generator)
    normals = torch.nn.functional.normalize(torch.randn(20, 3, generator=generator))
    colors = torch.rand(20, 3, generator=generator)
    cloud = structures.Pointclouds(points=[points], normals=[normals], features=[colors])
    path = tmp_path / "cloud.ply"
    io.IO().save_pointcloud(cloud, path, binary=binary)
    loaded = io.IO().load_pointcloud(path)
    assert len(loaded) == 1
    assert torch.allclose(loaded.points_list()[0], points, atol=1e-6)
    assert torch.allclose(loaded.normals_list()[0], normals, atol=1e-6)
    assert torch.allclose(loaded.features_list()[0], colors, atol=1e-6)


def test_io_pointcloud_float_colors_and_normals_from_ascii(tmp_path: Path) -> None:
    header = ply_header(
        "ascii",
        "element vertex 2",
        *[f"property float {name}" for name in ("x", "y", "z", "nx", "ny", "nz")],
        *[f"property float {name}" for name in ("red", "green", "blue")],
        "property float alpha",
    )
    path = tmp_path / "float_colors.ply"
    path.write_bytes(header + b"0 0 0 0 0 1 0.25 0.5 1 1\n1 2 3 1 0 0 0 0.125 0 1\n")
    cloud = io.IO().load_pointcloud(path)
    assert torch.equal(cloud.points_list()[0], torch.tensor([[0.0, 0, 0], [1, 2, 3]]))
    assert torch.equal(cloud.normals_list()[0], torch.tensor([[0.0, 0, 1], [1, 0, 0]]))
    # Float colours are kept as they are (only uchar colours are divided by 255).
    assert torch.equal(cloud.features_list()[0], torch.tensor([[0.25, 0.5, 1], [0, 0.125, 0]]))


def test_io_pointcloud_without_colors(tmp_path: Path) -> None:
    points = torch.rand(5, 3, generator=torch.Generator().manual_seed(7))
    path = tmp_path / "bare.ply"
    io.IO().save_pointcloud(structures.Pointclouds(points=[points]), path)
    loaded = io.IO().load_pointcloud(path)
    assert torch.equal(loaded.points_list()[0], points)
    assert loaded.features_list() is None
    assert loaded.normals_list() is None


def test_io_unknown_extension_is_a_value_error(tmp_path: Path) -> None:
    path = tmp_path / "mesh.stl"
    path.write_text("solid nothing\n")
    with pytest.raises(ValueError):
        io.IO().load_mesh(path)


def test_io_save_mesh_needs_a_single_mesh(tmp_path: Path) -> None:
    verts, faces = cube()
    batch = structures.Meshes(verts=[verts, verts], faces=[faces, faces])
    with pytest.raises(ValueError):
        io.IO().save_mesh(batch, tmp_path / "two.obj")
