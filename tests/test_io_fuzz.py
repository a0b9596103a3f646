"""Fuzzing the OBJ, MTL and PLY readers: any bytes give a mesh or a ``MeshFileError``.

Two kinds of input: raw byte strings, and lines assembled from the formats' own keywords,
numbers and indices (near misses reach far deeper into a parser than random bytes do).
Whatever comes in, the reader must return a mesh or raise the course's loader error
(``MeshFileError``, a ``ValueError`` naming file and line) — never an ``IndexError``,
``OverflowError``, ``MemoryError``... — and must do so quickly. The examples are
derandomized, so every run (and every CPU) tries the same ones.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from course_utils.p3d import BACKEND, io
from course_utils.p3d.builtin.io.errors import MeshFileError

pytestmark = pytest.mark.builtin_only

FUZZ = settings(
    max_examples=200,
    deadline=5000,  # ms per example; a reader stuck in a huge allocation would exceed it
    derandomize=True,
    database=None,  # nothing written into the repository
    suppress_health_check=[HealthCheck.too_slow],
)

NUMBERS = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["0", "1", "-1", "1e309", "nan", "-inf", "0x10", "1,5", "", "1/2/3"]),
)


#: Face-corner parts: valid, zero, negative, out of range, beyond int64, not a number.
INDICES = ["", "1", "2", "3", "-1", "-4", "0", "99", "9" * 25, "-" + "9" * 25, "x"]


def text_lines(keywords: list[str]) -> st.SearchStrategy[bytes]:
    """Lines ``keyword arg arg ...`` of the format, joined with varied line endings."""
    token = st.one_of(
        NUMBERS,
        st.builds("/".join, st.lists(st.sampled_from(INDICES), min_size=1, max_size=4)),
        st.text(max_size=8),
    )
    line = st.builds(
        lambda key, args: " ".join([key, *args]),
        st.sampled_from(keywords),
        st.lists(token, max_size=6),
    )
    return st.builds(
        lambda lines, end, prefix: (prefix + end.join(lines)).encode("utf-8", "surrogatepass"),
        st.lists(line, max_size=30),
        st.sampled_from(["\n", "\r\n", "\\\n"]),
        st.sampled_from(["", "\ufeff"]),
    )


FLOAT = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=32).map(repr),
    st.integers(-3, 3).map(str),
)
VALID_INDEX = st.one_of(st.integers(1, 6), st.integers(-6, -1)).map(str)
CORNER = st.builds(
    "/".join,
    st.lists(  # mostly valid parts; sometimes zero, out of range, beyond int64, not a number
        st.one_of(VALID_INDEX, VALID_INDEX, VALID_INDEX, st.sampled_from(INDICES)),
        min_size=1,
        max_size=3,
    ),
)


def statement(key: str, args: st.SearchStrategy[list[str]]) -> st.SearchStrategy[str]:
    return args.map(lambda a: " ".join([key, *a]))


# Mostly well-formed statements (so parsing goes on past the first line), some not.
OBJ_STATEMENTS = st.one_of(
    statement("v", st.lists(FLOAT, min_size=3, max_size=4)),
    statement("v", st.lists(FLOAT, min_size=3, max_size=4)),
    statement("vt", st.lists(FLOAT, min_size=2, max_size=3)),
    statement("vn", st.lists(FLOAT, min_size=3, max_size=3)),
    statement("f", st.lists(CORNER, min_size=3, max_size=5)),
    statement("f", st.lists(CORNER, min_size=3, max_size=5)),
    statement("usemtl", st.lists(st.sampled_from(["m", "a"]), min_size=1, max_size=2)),
    statement(
        "mtllib",
        st.lists(st.sampled_from(["x.mtl", "../x.mtl", "/etc", "."]), min_size=1, max_size=2),
    ),
)
OBJ_LINES = st.one_of(
    text_lines(["v", "vt", "vn", "f", "usemtl", "mtllib", "g", "#", "o", "s", "l"]),
    st.builds(
        lambda lines, end: end.join(lines).encode(),
        st.lists(OBJ_STATEMENTS, min_size=1, max_size=12),
        st.sampled_from(["\n", "\r\n"]),
    ),
)
MTL_LINES = text_lines(["newmtl", "Ka", "Kd", "Ks", "Ns", "map_Kd", "illum", "d", "#"])


@st.composite
def ply_files(draw) -> bytes:
    """A PLY header of drawn elements/properties, then a drawn body (text or bytes)."""
    fmt = draw(st.sampled_from(["ascii", "binary_little_endian", "binary_big_endian", "x"]))
    kinds = ["char", "uchar", "short", "ushort", "int", "uint", "float", "double", "int8", "bad"]
    lines = ["ply", f"format {fmt} 1.0"]
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(["vertex", "face", "edge", "other"]))
        count = draw(st.sampled_from(["0", "1", "3", "-1", "99999999999999", "two"]))
        lines.append(f"element {name} {count}")
        for _ in range(draw(st.integers(0, 4))):
            if draw(st.booleans()):
                prop = draw(st.sampled_from(["x", "y", "z", "nx", "red", "vertex_index", "q"]))
                lines.append(f"property {draw(st.sampled_from(kinds))} {prop}")
            else:
                lines.append(
                    f"property list {draw(st.sampled_from(kinds))} "
                    f"{draw(st.sampled_from(kinds))} vertex_indices"
                )
    if draw(st.booleans()):
        lines.append("end_header")
    header = ("\n".join(lines) + "\n").encode()
    body = draw(st.one_of(st.binary(max_size=300), text_lines(["0", "1", "3", "-1", "1.5"])))
    return header + body


def read(loader, path: Path, data: bytes) -> tuple[object, str]:
    """Write ``data`` to ``path`` and load it; only a mesh or MeshFileError may come back.

    Returns the result (None after a MeshFileError) and the warnings' text, joined.
    """
    path.write_bytes(data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # warnings are allowed; exceptions are what we test
        try:
            result = loader(path)
        except MeshFileError:
            result = None
    return result, "\n".join(str(w.message) for w in caught)


@pytest.fixture(scope="module")
def folder():
    if BACKEND != "torch":
        pytest.skip("fuzzes the built-in readers")
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


def check_obj(result, warned: str) -> None:
    """A loaded mesh is well formed; out-of-range indices or no vertices only with a warning
    saying so (PyTorch3D's "Faces have invalid indices" / the course's "no vertices")."""
    if result is not None:
        verts, faces, _ = result
        assert verts.dim() == 2 and verts.shape[1] == 3
        assert len(verts) > 0 or "no vertices" in warned or "empty (0 bytes)" in warned
        idx = faces.verts_idx
        assert idx.shape[1:] == (3,)
        if "Faces have invalid indices" not in warned:
            assert idx.numel() == 0 or (idx.min() >= 0 and idx.max() < len(verts))


@FUZZ
@given(data=st.one_of(st.binary(max_size=2000), OBJ_LINES))
@example(data=b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 " + b"9" * 25)  # beyond int64 (was OverflowError)
@example(data=b"\xef\xbb\xbfv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3")  # byte-order mark
@example(data=b"v 0 0 0\xff\nf 1 1 1")  # not UTF-8
def test_obj_reader_on_any_bytes(folder, data):
    check_obj(*read(io.load_obj, folder / "fuzz.obj", data))


@FUZZ
@given(data=st.one_of(st.binary(max_size=2000), MTL_LINES), name=st.sampled_from(["m", "a"]))
def test_mtl_reader_on_any_bytes(folder, data, name):
    """An OBJ naming the fuzzed MTL: the mesh loads (warnings allowed) or MeshFileError."""
    (folder / "fuzz_mtl.obj").write_text(
        f"mtllib fuzz.mtl\nusemtl {name}\nv 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nf 1/1 2/1 3/1\n"
    )
    (folder / "fuzz.mtl").write_bytes(data)
    result, warned = read(
        io.load_obj, folder / "fuzz_mtl.obj", (folder / "fuzz_mtl.obj").read_bytes()
    )
    check_obj(result, warned)
    if result is not None:
        for colours in (result[2].material_colors or {}).values():
            assert all(torch.is_tensor(v) for v in colours.values())


@FUZZ
@given(data=st.one_of(st.binary(max_size=2000), ply_files()))
def test_ply_reader_on_any_bytes(folder, data):
    result, _ = read(io.load_ply, folder / "fuzz.ply", data)
    if result is not None:
        verts, faces = result
        assert verts.dim() == 2 and verts.shape[1] == 3
        assert faces.numel() == 0 or (faces.min() >= 0 and faces.max() < len(verts))
