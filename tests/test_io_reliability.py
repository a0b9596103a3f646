"""Nothing lost: atomic saves under a failing disk, companions of textured OBJs, odd inputs."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import textwrap
import warnings
import zlib
from pathlib import Path

import pytest
import torch

from course_utils.p3d import BACKEND, io, utils
from course_utils.p3d.builtin.io.errors import MeshFileError

builtin_only = pytest.mark.builtin_only
REPO = Path(__file__).resolve().parents[1]

# A full disk, simulated: the child process may write at most LIMIT bytes to any file;
# a write past it fails with EFBIG (SIGXFSZ ignored), as a full disk fails half-way.
# One child process runs every save (one import of torch, not one per case).
LIMIT = 4096
KINDS = {"obj": "m.obj", "ply": "m.ply", "textured": "m.obj", "checkpoint": "last.pt"}
FAILING_SAVES = textwrap.dedent(
    """
    import resource, signal, sys
    import torch
    from course_utils.p3d import io, utils
    from course_utils.training import save_checkpoint
    mesh = utils.ico_sphere(3)  # 642 vertices: every format is well over {limit} bytes
    verts, faces = mesh.verts_packed(), mesh.faces_packed()
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
    for kind, path in zip(sys.argv[1::2], sys.argv[2::2]):
        try:
            if kind == "obj":
                io.save_obj(path, verts, faces)
            elif kind == "ply":
                io.save_ply(path, verts, faces)
            elif kind == "textured":
                uvs = torch.rand(len(verts), 2)
                io.save_obj(path, verts, faces, verts_uvs=uvs, faces_uvs=faces,
                            texture_map=torch.rand(64, 64, 3))
            elif kind == "checkpoint":
                save_checkpoint({{"weights": torch.zeros(4096)}}, path)
            print(kind, "saved")
        except OSError as error:
            print(kind, "failed:", error.errno)
        except RuntimeError as error:  # torch.save reports its zip writer's EFBIG so
            print(kind, "failed:", type(error).__name__)
    """
).format(limit=LIMIT)


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def failed_saves(tmp_path_factory):
    """Save small files of every kind, then try to overwrite them under the size limit.

    Returns ``{kind: (folder, bytes before, what the child printed)}``; "control" saves
    into an empty folder, to show that the limit really makes the save fail.
    """
    if BACKEND != "torch" or sys.platform == "win32":
        pytest.skip("built-in writers; RLIMIT_FSIZE is POSIX")
    from course_utils.training import save_checkpoint

    small = utils.ico_sphere(0)
    verts, faces = small.verts_packed(), small.faces_packed()
    cases, argv = {}, []
    for kind, name in [*KINDS.items(), ("control", "new.obj")]:
        folder = tmp_path_factory.mktemp(kind)
        path = folder / name
        if kind == "obj":
            io.save_obj(path, verts, faces)
        elif kind == "ply":
            io.save_ply(path, verts, faces)
        elif kind == "textured":
            io.save_obj(path, verts, faces, verts_uvs=torch.rand(12, 2), faces_uvs=faces,
                        texture_map=torch.rand(2, 2, 3))  # fmt: skip
        elif kind == "checkpoint":
            save_checkpoint({"weights": torch.zeros(2)}, path)
        cases[kind] = (folder, folder_bytes(folder))
        argv += ["obj" if kind == "control" else kind, str(path)]
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    result = subprocess.run(
        [sys.executable, "-B", "-c", FAILING_SAVES, *argv],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    printed = result.stdout.strip().splitlines()
    assert len(printed) == len(cases), result.stdout
    return {kind: (*cases[kind], line.split(" ", 1)[1]) for kind, line in zip(cases, printed)}


@builtin_only
@pytest.mark.parametrize("kind", list(KINDS))
def test_a_save_that_fails_half_way_leaves_the_previous_files(kind, failed_saves):
    folder, before, printed = failed_saves[kind]
    assert before and all(len(data) < LIMIT for data in before.values())  # old files fit
    expected = "failed: RuntimeError" if kind == "checkpoint" else "failed: 27"  # EFBIG
    assert printed == expected  # the disk "filled up" half-way through the save...
    assert folder_bytes(folder) == before  # ...and the old files are byte-identical, no temp


@builtin_only
def test_the_fault_injection_really_limits_writes(failed_saves):
    """Control: the same save into an empty folder fails too, and leaves nothing."""
    folder, before, printed = failed_saves["control"]
    assert before == {} and printed == "failed: 27"
    assert folder_bytes(folder) == {}


# ------------------------------------------------------------------ textured companions
def textured(path: Path, seed: int = 0) -> None:
    mesh = utils.ico_sphere(0)
    torch.manual_seed(seed)
    io.save_obj(
        path, mesh.verts_packed(), mesh.faces_packed(), verts_uvs=torch.rand(12, 2),
        faces_uvs=mesh.faces_packed(), texture_map=torch.rand(4, 4, 3),
    )  # fmt: skip


@builtin_only
@pytest.mark.parametrize("companion", ["m.mtl", "m.png"])
def test_a_textured_save_never_replaces_someone_elses_file(companion, tmp_path):
    (tmp_path / companion).write_bytes(b"my own notes")
    with pytest.raises(FileExistsError, match=companion):
        textured(tmp_path / "m.obj")
    assert folder_bytes(tmp_path) == {companion: b"my own notes"}  # nothing else written


@builtin_only
def test_an_unrelated_obj_does_not_make_its_neighbours_companions(tmp_path):
    # m.obj exists but names another material file: m.mtl is not its companion.
    (tmp_path / "m.obj").write_text("mtllib other.mtl\nv 0 0 0\n")
    (tmp_path / "m.mtl").write_text("newmtl x\n")
    with pytest.raises(FileExistsError, match="m.mtl"):
        textured(tmp_path / "m.obj")
    assert (tmp_path / "m.mtl").read_text() == "newmtl x\n"


@builtin_only
def test_resaving_a_textured_obj_replaces_its_own_companions(tmp_path):
    textured(tmp_path / "m.obj", seed=0)
    first = folder_bytes(tmp_path)
    textured(tmp_path / "m.obj", seed=1)  # same name again: its own MTL and PNG
    second = folder_bytes(tmp_path)
    assert set(second) == {"m.obj", "m.mtl", "m.png"}
    assert second["m.png"] != first["m.png"]  # the new texture
    _, _, aux = io.load_obj(tmp_path / "m.obj")
    assert aux.texture_images["mesh"].shape == (4, 4, 3)


# ------------------------------------------------------------------ encodings
TRIANGLE = "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 5 5 5\nf 1 2 3\n"


# PyTorch3D reads OBJ files as UTF-8 without a byte-order mark: the BOM cases are the
# built-in backend's extra.
BOM = pytest.mark.builtin_only(reason="PyTorch3D reads OBJ files as UTF-8 without a BOM")


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"\xef\xbb\xbf" + TRIANGLE.encode(), id="utf-8-bom", marks=BOM),
        pytest.param(
            "\ufeff".encode("utf-16-le").join([b"", TRIANGLE.encode("utf-16-le")]),
            id="utf-16-le-bom",
            marks=BOM,
        ),
        pytest.param(TRIANGLE.encode("utf-16"), id="utf-16", marks=BOM),  # with its BOM
        pytest.param(TRIANGLE.replace("\n", "\r\n").encode(), id="crlf"),
    ],
)
def test_obj_encodings_keep_every_vertex(data, tmp_path):
    path = tmp_path / "t.obj"
    path.write_bytes(data)
    verts, faces, _ = io.load_obj(path)
    torch.testing.assert_close(verts, torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [5, 5, 5]]))
    assert faces.verts_idx.tolist() == [[0, 1, 2]]


@builtin_only
def test_latin1_material_and_texture_names(tmp_path):
    from PIL import Image

    Image.new("RGB", (2, 2), (255, 0, 0)).save(tmp_path / "tex.png")
    (tmp_path / "m.mtl").write_bytes("newmtl caf\xe9\nmap_Kd tex.png\n".encode("latin-1"))
    obj = "mtllib m.mtl\nusemtl caf\xe9\nv 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nf 1/1 2/1 3/1\n"
    (tmp_path / "m.obj").write_bytes(obj.encode("latin-1"))  # not valid UTF-8
    _, _, aux = io.load_obj(tmp_path / "m.obj")
    assert list(aux.texture_images) == ["caf\xe9"]
    torch.testing.assert_close(aux.texture_images["caf\xe9"][0, 0], torch.tensor([1.0, 0, 0]))


@builtin_only
def test_ply_with_a_byte_order_mark(tmp_path):
    mesh = utils.ico_sphere(0)
    io.save_ply(tmp_path / "a.ply", mesh.verts_packed(), mesh.faces_packed(), ascii=True)
    (tmp_path / "b.ply").write_bytes(b"\xef\xbb\xbf" + (tmp_path / "a.ply").read_bytes())
    verts, faces = io.load_ply(tmp_path / "b.ply")
    torch.testing.assert_close(verts, mesh.verts_packed())
    assert torch.equal(faces, mesh.faces_packed())


@builtin_only
@pytest.mark.parametrize("index", ["99999999999999999999999", "-99999999999999999999999"])
def test_a_face_index_beyond_int64_names_file_and_line(index, tmp_path):
    path = tmp_path / "huge.obj"
    path.write_text(f"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 {index}\n")
    with pytest.raises(MeshFileError) as info:
        io.load_obj(path)
    assert info.value.line_number == 4 and str(path) in str(info.value)
    assert index in str(info.value)


# ------------------------------------------------------------------ texture budget
def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header says ``width x height`` (its pixels are never decoded)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    data = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def textured_obj_naming(tmp_path: Path, image: bytes) -> Path:
    (tmp_path / "big.png").write_bytes(image)
    (tmp_path / "m.mtl").write_text("newmtl m\nKd 0.5 0.5 0.5\nmap_Kd big.png\n")
    obj = "mtllib m.mtl\nusemtl m\nv 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nf 1/1 2/1 3/1\n"
    (tmp_path / "m.obj").write_text(obj)
    return tmp_path / "m.obj"


@builtin_only
@pytest.mark.parametrize("side", [16000, 12000])
def test_oversized_textures_warn_and_the_mesh_loads_untextured(side, tmp_path):
    path = textured_obj_naming(tmp_path, png_header_only(side, side))
    assert path.with_name("big.png").stat().st_size < 1000  # a tiny file...
    with pytest.warns(UserWarning) as record:
        verts, faces, aux = io.load_obj(path)  # ...that would decode to side² pixels
    message = " ".join(str(w.message) for w in record)
    assert "big.png" in message and str(path) in message and "budget" in message
    assert verts.shape == (3, 3) and faces.verts_idx.tolist() == [[0, 1, 2]]
    assert aux.texture_images == {}  # untextured, not downscaled
    torch.testing.assert_close(aux.material_colors["m"]["diffuse_color"], torch.full((3,), 0.5))


@builtin_only
def test_the_texture_budget_variable(tmp_path, monkeypatch):
    from PIL import Image

    Image.new("RGB", (64, 64), (0, 255, 0)).save(tmp_path / "real.png")
    path = textured_obj_naming(tmp_path, (tmp_path / "real.png").read_bytes())
    monkeypatch.setenv("COURSE_MAX_TEXTURE_PIXELS", str(64 * 64))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, _, aux = io.load_obj(path)  # exactly at the budget: loads
    assert aux.texture_images["m"].shape == (64, 64, 3)
    monkeypatch.setenv("COURSE_MAX_TEXTURE_PIXELS", str(64 * 64 - 1))
    with pytest.warns(UserWarning, match="4,096 pixels"):
        _, _, aux = io.load_obj(path)
    assert aux.texture_images == {}


def test_backend_is_known():
    assert BACKEND in ("torch", "pytorch3d")
