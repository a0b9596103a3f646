"""Reading and writing PLY (Stanford polygon) files: ``load_ply`` and ``save_ply``.

A PLY file is a text header followed by data, ASCII or binary::

    ply
    format binary_little_endian 1.0    # or ascii 1.0 / binary_big_endian 1.0
    comment made by the course         # comments (and obj_info lines) are ignored
    element vertex 8                   # 8 vertex rows follow, each with these properties:
    property float x
    property float y
    property float z
    property uchar red                 # optional colour: uchar (0..255) or float (0..1)
    property uchar green
    property uchar blue
    element face 6                     # 6 face rows: a count, then that many indices
    property list uchar int vertex_indices
    end_header
    ...data...

The header declares *elements* (named tables with a row count) and their *properties*
(typed columns; a ``list`` property stores a count followed by that many values). The
data then holds every row of the first element, then every row of the next one, ... In
ASCII files one row is one line of numbers; in binary files the rows are packed values of
the declared types and byte order, so a whole table of fixed-size rows is read at once
with a NumPy structured dtype (``np.frombuffer``) -- no Python loop per vertex. Elements
other than ``vertex`` and ``face`` are read past and ignored.

Faces with more than 3 corners are split into fans of triangles from their first corner.
As in PyTorch3D, when all faces have the same number k of corners the triangles are
ordered by fan position: first triangle of every face, then the second of every face, ...;
with mixed polygon sizes they are ordered face by face.
"""

from __future__ import annotations

import os
import struct
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from course_utils.atomic import atomic_write
from course_utils.p3d.builtin.io.errors import (
    MeshFileError,
    PathOrFile,
    describe_source,
    is_number,
    is_path,
    read_source_bytes,
)
from course_utils.p3d.builtin.io.path_manager import local_path

# PLY type names (both spellings) -> NumPy type codes (byte order added when reading).
_PLY_TYPES = {
    "char": "i1",
    "int8": "i1",
    "uchar": "u1",
    "uint8": "u1",
    "short": "i2",
    "int16": "i2",
    "ushort": "u2",
    "uint16": "u2",
    "int": "i4",
    "int32": "i4",
    "uint": "u4",
    "uint32": "u4",
    "float": "f4",
    "float32": "f4",
    "double": "f8",
    "float64": "f8",
}
_STRUCT_CODES = {
    "i1": "b",
    "u1": "B",
    "i2": "h",
    "u2": "H",
    "i4": "i",
    "u4": "I",
    "f4": "f",
    "f8": "d",
}
_FORMATS = {"ascii": "", "binary_little_endian": "<", "binary_big_endian": ">"}
_TYPE_LIST = ", ".join(sorted(_PLY_TYPES))


@dataclass
class _Property:
    """One column of an element: a scalar of ``dtype``, or a list (``count_dtype`` set)."""

    name: str
    dtype: str
    count_dtype: str | None = None


@dataclass
class _Element:
    """A table declared in the header: ``element <name> <count>`` and its properties."""

    name: str
    count: int
    line_number: int
    properties: list[_Property] = field(default_factory=list)

    def has_lists(self) -> bool:
        return any(p.count_dtype is not None for p in self.properties)


@dataclass
class _Header:
    fmt: str
    elements: list[_Element]
    comments: list[str]
    data_offset: int
    n_lines: int

    @property
    def ascii(self) -> bool:
        """Whether the data is ASCII text (PyTorch3D's ``_PlyHeader.ascii``)."""
        return self.fmt == "ascii"

    @property
    def big_endian(self) -> bool:
        """Whether binary data is big-endian (PyTorch3D's ``_PlyHeader.big_endian``)."""
        return self.fmt == "binary_big_endian"


@dataclass
class _ListValues:
    """A list property of a table: ``counts[i]`` values per row, concatenated in ``flat``."""

    counts: np.ndarray
    flat: np.ndarray


@dataclass
class _Table:
    """The data of one element: property name -> values, plus ASCII line numbers per row."""

    columns: dict[str, np.ndarray | _ListValues]
    row_lines: np.ndarray | None = None
    row_text: list[str] | None = None


@dataclass
class _PlyData:
    """What a PLY file holds for the course: vertices, faces, colours and normals."""

    verts: torch.Tensor
    faces: torch.Tensor | None
    verts_colors: torch.Tensor | None
    verts_normals: torch.Tensor | None
    verts_uvs: torch.Tensor | None = None
    comments: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- header
def _parse_header(data: bytes, path: str) -> _Header:
    """Parse the header; the data starts right after the ``end_header`` line."""
    first_end = data.find(b"\n")
    first = data[: first_end if first_end >= 0 else len(data)].strip()
    if first != b"ply":
        shown = first[:40].decode("latin-1")
        raise MeshFileError(
            path,
            # PyTorch3D's wording first, so code matching its message still matches
            "Invalid file header. The file does not start with the 'ply' line; expected a PLY file",
            1,
            shown,
        )
    pos = first_end + 1
    number = 1
    fmt: str | None = None
    elements: list[_Element] = []
    comments: list[str] = []
    while True:
        if pos >= len(data):
            raise MeshFileError(
                path,
                f"the header has no 'end_header' line (read {number} lines); expected the "
                "header to end with 'end_header'",
            )
        end = data.find(b"\n", pos)
        if end < 0:
            end = len(data)
        raw = data[pos:end].decode("latin-1").rstrip("\r")
        pos = end + 1
        number += 1
        tokens = raw.split()
        if not tokens:
            continue
        key = tokens[0]
        if key == "end_header":
            break
        if key in ("comment", "obj_info"):
            comments.append(raw.strip()[len(key) :].strip())
            continue
        if key == "format":
            if len(tokens) != 3 or tokens[1] not in _FORMATS:
                raise MeshFileError(
                    path,
                    "bad format line; expected 'format ascii 1.0', 'format "
                    "binary_little_endian 1.0' or 'format binary_big_endian 1.0'",
                    number,
                    raw,
                )
            if tokens[2] != "1.0":
                raise MeshFileError(
                    path, f"unsupported PLY version {tokens[2]!r}; expected 1.0", number, raw
                )
            fmt = tokens[1]
        elif key == "element":
            if elements and not elements[-1].properties:
                raise MeshFileError(
                    path,
                    "Found an element with no properties. The element "
                    f"{elements[-1].name!r} (line {elements[-1].line_number}) has no "
                    "'property' lines before the next element",
                    number,
                    raw,
                )
            if len(tokens) != 3 or not tokens[2].isdigit():
                name = tokens[1] if len(tokens) > 1 else "?"
                raise MeshFileError(
                    path,
                    # PyTorch3D's wording first, so code matching its message still matches
                    f"Number of items for {name} was not a number. Bad element line; "
                    "expected 'element <name> <count>' with a whole count",
                    number,
                    raw,
                )
            elements.append(_Element(tokens[1], int(tokens[2]), number))
        elif key == "property":
            if not elements:
                raise MeshFileError(
                    path,
                    "Encountered property before any element. A property appears before "
                    "any 'element' line",
                    number,
                    raw,
                )
            new_property = _parse_property(tokens, path, number, raw)
            if any(p.name == new_property.name for p in elements[-1].properties):
                raise MeshFileError(
                    path,
                    f"Cannot have two properties called {new_property.name} in "
                    f"{elements[-1].name}. Property names must differ within an element",
                    number,
                    raw,
                )
            elements[-1].properties.append(new_property)
        else:
            raise MeshFileError(
                path,
                f"Invalid line: unknown header line {key!r}; expected format, element, "
                "property, comment, "
                "obj_info or end_header",
                number,
                raw,
            )
    if fmt is None:
        raise MeshFileError(
            path, "the header has no 'format' line; expected e.g. 'format ascii 1.0'"
        )
    if elements and not elements[-1].properties:
        raise MeshFileError(
            path,
            f"Found an element with no properties. The element {elements[-1].name!r} "
            f"(line {elements[-1].line_number}) has no 'property' lines",
        )
    return _Header(fmt, elements, comments, pos, number)


def _parse_property(tokens: list[str], path: str, number: int, raw: str) -> _Property:
    if len(tokens) >= 2 and tokens[1] == "list":
        if len(tokens) != 5:
            raise MeshFileError(
                path,
                "bad list property; expected 'property list <count type> <item type> <name>'",
                number,
                raw,
            )
        count_type, item_type, name = tokens[2], tokens[3], tokens[4]
        for type_name in (count_type, item_type):
            if type_name not in _PLY_TYPES:
                raise MeshFileError(
                    path,
                    f"Invalid datatype: {type_name}. Unsupported property type {type_name!r}; "
                    f"expected one of {_TYPE_LIST}",
                    number,
                    raw,
                )
        if _PLY_TYPES[count_type][0] == "f":
            raise MeshFileError(
                path,
                f"a list count must have an integer type, got {count_type!r}",
                number,
                raw,
            )
        return _Property(name, _PLY_TYPES[item_type], _PLY_TYPES[count_type])
    if len(tokens) != 3:
        raise MeshFileError(
            path, "bad property line; expected 'property <type> <name>'", number, raw
        )
    if tokens[1] not in _PLY_TYPES:
        raise MeshFileError(
            path,
            f"Invalid datatype: {tokens[1]}. Unsupported property type {tokens[1]!r}; "
            f"expected one of {_TYPE_LIST}",
            number,
            raw,
        )
    return _Property(tokens[2], _PLY_TYPES[tokens[1]])


# --------------------------------------------------------------------------- binary data
def _truncated(path: str, element: _Element, detail: str) -> MeshFileError:
    return MeshFileError(
        path,
        f"the binary data ends early while reading the {element.count} '{element.name}' "
        f"rows declared in the header ({detail}); the file is truncated or its header "
        "counts are wrong",
    )


def _read_binary(data: bytes, header: _Header, path: str) -> dict[str, _Table]:
    endian = _FORMATS[header.fmt]
    offset = header.data_offset
    tables: dict[str, _Table] = {}
    for element in header.elements:
        table, offset = _read_binary_element(data, offset, element, endian, path)
        tables.setdefault(element.name, table)
    if offset < len(data):
        warnings.warn(
            f"{path}: {len(data) - offset} bytes after the last element declared in the "
            "header are ignored",
            UserWarning,
            stacklevel=4,
        )
    return tables


def _read_binary_element(
    data: bytes, offset: int, element: _Element, endian: str, path: str
) -> tuple[_Table, int]:
    """Read one element's rows from ``offset``; return them and the offset after them."""
    props = element.properties
    if element.count == 0:
        empty: dict[str, np.ndarray | _ListValues] = {}
        for p in props:
            values = np.zeros(0, dtype=endian + p.dtype)
            empty[p.name] = (
                values if p.count_dtype is None else _ListValues(np.zeros(0, np.int64), values)
            )
        return _Table(empty), offset

    # Guess a fixed row layout from the first row's list lengths.
    lengths: list[int] = []
    pos = offset
    for p in props:
        if p.count_dtype is None:
            pos += np.dtype(p.dtype).itemsize
            continue
        size = np.dtype(p.count_dtype).itemsize
        if pos + size > len(data):
            raise _truncated(path, element, f"row 0 of {element.count}")
        n = int(np.frombuffer(data, endian + p.count_dtype, 1, pos)[0])
        lengths.append(n)
        pos += size + n * np.dtype(p.dtype).itemsize
    if pos > len(data):
        raise _truncated(path, element, f"row 0 of {element.count}")
    fields: list[tuple[Any, ...]] = []
    it = iter(lengths)
    for i, p in enumerate(props):
        if p.count_dtype is None:
            fields.append((f"p{i}", endian + p.dtype))
        else:
            fields.append((f"c{i}", endian + p.count_dtype))
            fields.append((f"p{i}", endian + p.dtype, (next(it),)))
    row = np.dtype(fields)
    needed = element.count * row.itemsize
    if offset + needed <= len(data):
        rows = np.frombuffer(data, row, element.count, offset)
        list_ids = [i for i, p in enumerate(props) if p.count_dtype is not None]
        if all((rows[f"c{i}"] == n).all() for i, n in zip(list_ids, lengths, strict=True)):
            columns: dict[str, np.ndarray | _ListValues] = {}
            for i, p in enumerate(props):
                values = rows[f"p{i}"]
                if p.count_dtype is None:
                    columns[p.name] = values
                else:
                    counts = np.full(element.count, values.shape[1], dtype=np.int64)
                    columns[p.name] = _ListValues(counts, values.reshape(-1))
            return _Table(columns), offset + needed
    elif not element.has_lists():
        raise _truncated(
            path,
            element,
            f"{element.count} rows of {row.itemsize} bytes need {needed} bytes from byte "
            f"{offset}, but only {len(data) - offset} remain",
        )
    return _read_binary_rows(data, offset, element, endian, path)


def _read_binary_rows(
    data: bytes, offset: int, element: _Element, endian: str, path: str
) -> tuple[_Table, int]:
    """Row-by-row reader for elements whose list lengths vary (e.g. mixed polygons)."""
    props = element.properties
    scalars: list[list[float]] = [[] for _ in props]
    counts: list[list[int]] = [[] for _ in props]
    flats: list[list[float]] = [[] for _ in props]
    pos = offset
    try:
        for _ in range(element.count):
            for i, p in enumerate(props):
                code = _STRUCT_CODES[p.dtype]
                if p.count_dtype is None:
                    scalars[i].append(struct.unpack_from(endian + code, data, pos)[0])
                    pos += struct.calcsize(code)
                    continue
                count_code = _STRUCT_CODES[p.count_dtype]
                n = struct.unpack_from(endian + count_code, data, pos)[0]
                pos += struct.calcsize(count_code)
                flats[i].extend(struct.unpack_from(f"{endian}{n}{code}", data, pos))
                counts[i].append(n)
                pos += n * struct.calcsize(code)
    except struct.error:
        raise _truncated(path, element, f"stopped at byte {pos} of {len(data)}") from None
    columns: dict[str, np.ndarray | _ListValues] = {}
    for i, p in enumerate(props):
        if p.count_dtype is None:
            columns[p.name] = np.asarray(scalars[i], dtype=p.dtype)
        else:
            columns[p.name] = _ListValues(
                np.asarray(counts[i], dtype=np.int64), np.asarray(flats[i], dtype=p.dtype)
            )
    return _Table(columns), pos


# --------------------------------------------------------------------------- ASCII data
def _read_ascii(data: bytes, header: _Header, path: str) -> dict[str, _Table]:
    text = data[header.data_offset :].decode("latin-1")
    rows = [
        (header.n_lines + i + 1, line) for i, line in enumerate(text.splitlines()) if line.strip()
    ]
    cursor = 0
    tables: dict[str, _Table] = {}
    for element in header.elements:
        chunk = rows[cursor : cursor + element.count]
        if len(chunk) < element.count:
            last = rows[-1][0] if rows else header.n_lines
            raise MeshFileError(
                path,
                f"Not enough data for {element.name}. The header declares {element.count} "
                f"'{element.name}' rows but the data "
                f"has only {len(chunk)} of them (the data ends at line {last}); the "
                "header's counts do not match the data",
            )
        cursor += element.count
        table = _parse_ascii_element(chunk, element, path)
        tables.setdefault(element.name, table)
    if cursor < len(rows):
        number, line = rows[cursor]
        declared = ", ".join(f"{e.count} '{e.name}'" for e in header.elements)
        raise MeshFileError(
            path,
            f"Extra data at end of file: data after the rows declared in the header "
            f"({declared}); the header's "
            "counts do not match the data",
            number,
            line.strip(),
        )
    return tables


def _ascii_number_error(path: str, element: _Element, number: int, line: str) -> MeshFileError:
    bad = next(t for t in line.split() if not is_number(t))
    return MeshFileError(
        path,
        f"could not read {bad!r} as a number in a '{element.name}' row; expected numbers only",
        number,
        line.strip(),
    )


def _parse_ascii_element(chunk: list[tuple[int, str]], element: _Element, path: str) -> _Table:
    props = element.properties
    line_numbers = np.asarray([n for n, _ in chunk], dtype=np.int64)
    line_texts = [line.strip() for _, line in chunk]
    split = [line.split() for _, line in chunk]
    names = " ".join(p.name for p in props)
    if not element.has_lists():
        width = len(props)
        for (number, line), tokens in zip(chunk, split, strict=True):
            if len(tokens) != width:
                raise MeshFileError(
                    path,
                    f"Inconsistent data for {element.name}. A '{element.name}' row needs "
                    f"{width} values ({names}), found "
                    f"{len(tokens)}; check that the header's element counts match the data",
                    number,
                    line.strip(),
                )
        try:
            values = np.array(split, dtype=np.float64).reshape(len(chunk), width)
        except ValueError:
            for (number, line), tokens in zip(chunk, split, strict=True):
                if not all(is_number(t) for t in tokens):
                    raise _ascii_number_error(path, element, number, line) from None
            raise
        columns: dict[str, np.ndarray | _ListValues] = {
            p.name: values[:, i] for i, p in enumerate(props)
        }
        return _Table(columns, line_numbers, line_texts)

    scalars: list[list[float]] = [[] for _ in props]
    counts: list[list[int]] = [[] for _ in props]
    flats: list[list[float]] = [[] for _ in props]
    for (number, line), tokens in zip(chunk, split, strict=True):
        try:
            numbers = [float(t) for t in tokens]
        except ValueError:
            raise _ascii_number_error(path, element, number, line) from None
        pos = 0
        for i, p in enumerate(props):
            if pos >= len(numbers):
                raise MeshFileError(
                    path,
                    f"a '{element.name}' row ends before its property {p.name!r}; expected "
                    f"{names} (a list is a count followed by that many values)",
                    number,
                    line.strip(),
                )
            if p.count_dtype is None:
                scalars[i].append(numbers[pos])
                pos += 1
                continue
            n = numbers[pos]
            if n != int(n) or n < 0:
                raise MeshFileError(
                    path,
                    f"the list {p.name!r} starts with count {tokens[pos]!r}; expected a "
                    "whole number of values",
                    number,
                    line.strip(),
                )
            n = int(n)
            items = numbers[pos + 1 : pos + 1 + n]
            if len(items) < n:
                raise MeshFileError(
                    path,
                    f"the list {p.name!r} announces {n} values but the row has only "
                    f"{len(items)} after the count",
                    number,
                    line.strip(),
                )
            counts[i].append(n)
            flats[i].extend(items)
            pos += 1 + n
        if pos != len(numbers):
            raise MeshFileError(
                path,
                f"A line of {element.name} data did not have the specified length: it has "
                f"{len(numbers) - pos} values too many; expected "
                f"{names} (check that the header's element counts match the data)",
                number,
                line.strip(),
            )
    columns = {}
    for i, p in enumerate(props):
        if p.count_dtype is None:
            columns[p.name] = np.asarray(scalars[i], dtype=np.float64)
        else:
            columns[p.name] = _ListValues(
                np.asarray(counts[i], dtype=np.int64), np.asarray(flats[i], dtype=np.float64)
            )
    return _Table(columns, line_numbers, line_texts)


# --------------------------------------------------------------------------- assembly
def _triangulate(lists: _ListValues, table: _Table, n_verts: int, path: str) -> torch.Tensor:
    """Fan-triangulate the faces' vertex lists into an ``(F, 3)`` int64 tensor."""
    counts, flat = lists.counts, lists.flat

    def where(face: int) -> dict[str, Any]:
        if table.row_lines is None or table.row_text is None:
            return {}
        return {"line_number": int(table.row_lines[face]), "line": table.row_text[face]}

    if flat.dtype.kind == "f":
        fractional = np.flatnonzero(flat != np.floor(flat))
        if fractional.size:
            face = int(np.searchsorted(np.cumsum(counts), fractional[0], side="right"))
            raise MeshFileError(
                path,
                f"face {face} has the vertex index {flat[fractional[0]]}; expected whole numbers",
                **where(face),
            )
    flat = flat.astype(np.int64)
    small = np.flatnonzero(counts < 3)
    if small.size:
        face = int(small[0])
        raise MeshFileError(
            path,
            f"Faces must have at least 3 vertices. Face {face} has {int(counts[face])} corners",
            **where(face),
        )
    bad = np.flatnonzero((flat < 0) | (flat >= n_verts))
    if bad.size:
        face = int(np.searchsorted(np.cumsum(counts), bad[0], side="right"))
        raise MeshFileError(
            path,
            f"face {face} refers to vertex {int(flat[bad[0]])}, but the file has {n_verts} "
            f"vertices; expected indices from 0 to {n_verts - 1}",
            **where(face),
        )
    if counts.size == 0:
        return torch.zeros((0, 3), dtype=torch.int64)
    k = int(counts[0])
    if (counts == k).all():
        # Same number of corners everywhere: PyTorch3D's order (fan position major).
        polygons = flat.reshape(-1, k)
        tris = np.concatenate([polygons[:, [0, i + 1, i + 2]] for i in range(k - 2)], axis=0)
    else:
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        per_face = counts - 2
        face_of_tri = np.repeat(np.arange(counts.size), per_face)
        first_tri = np.concatenate([[0], np.cumsum(per_face)[:-1]])
        j = np.arange(face_of_tri.size) - first_tri[face_of_tri]
        base = starts[face_of_tri]
        tris = np.stack([flat[base], flat[base + j + 1], flat[base + j + 2]], axis=1)
    return torch.from_numpy(np.ascontiguousarray(tris, dtype=np.int64))


def _column(table: _Table, name: str) -> np.ndarray:
    values = table.columns[name]
    assert isinstance(values, np.ndarray)
    return values


def _check_vertex_element(header: _Header, path: str) -> _Element:
    """The header's ``vertex`` element, checked to hold scalar x, y, z and some rows."""
    vertex_element = next((e for e in header.elements if e.name == "vertex"), None)
    if vertex_element is None:
        raise MeshFileError(
            path, "the header declares no 'vertex' element; expected 'element vertex <count>'"
        )
    names = {p.name: p for p in vertex_element.properties}
    for p in vertex_element.properties:
        if p.count_dtype is not None:
            raise MeshFileError(
                path,
                f"Invalid vertices in file: the vertex property {p.name!r} is a list; "
                "expected scalar properties",
                vertex_element.line_number,
            )
    missing = [axis for axis in "xyz" if axis not in names]
    if missing:
        raise MeshFileError(
            path,
            f"Invalid vertices in file. The vertex element has no {', '.join(missing)} "
            "property; expected "
            "'property float x', 'property float y' and 'property float z'",
            vertex_element.line_number,
        )
    if vertex_element.count == 0:
        # PyTorch3D loads an empty mesh (what save_ply writes for one); say so.
        warnings.warn(
            f"{path}: the file has no vertices ('element vertex 0'); it loads as a mesh "
            "with no vertices",
            UserWarning,
            stacklevel=4,
        )
    return vertex_element


def _face_list_name(face_element: _Element, path: str) -> str:
    """The name of the face element's list of vertex indices."""
    lists = [p for p in face_element.properties if p.count_dtype is not None]
    chosen = [p for p in lists if p.name in ("vertex_indices", "vertex_index")]
    if not chosen and len(lists) == 1:
        chosen = lists
    if not chosen:
        raise MeshFileError(
            path,
            "the face element has no list of vertex indices; expected "
            "'property list uchar int vertex_indices'",
            face_element.line_number,
        )
    return chosen[0].name


def _load_ply(f: PathOrFile) -> _PlyData:
    """Read a PLY file into vertices, faces, vertex colours and normals (CPU tensors)."""
    path = describe_source(f)
    data = read_source_bytes(f)
    if data.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte-order mark before "ply"
        data = data[3:]
    if not data:
        raise MeshFileError(path, "the file is empty (0 bytes); expected a PLY file")
    header = _parse_header(data, path)
    vertex_element = _check_vertex_element(header, path)
    face_element = next((e for e in header.elements if e.name == "face"), None)
    face_list = _face_list_name(face_element, path) if face_element is not None else ""
    if header.fmt == "ascii":
        tables = _read_ascii(data, header, path)
    else:
        tables = _read_binary(data, header, path)
    names = {p.name: p for p in vertex_element.properties}
    table = tables["vertex"]

    def stack(columns: tuple[str, ...]) -> torch.Tensor:
        array = np.stack([_column(table, c).astype(np.float32) for c in columns], axis=1)
        return torch.from_numpy(np.ascontiguousarray(array))

    verts = stack(("x", "y", "z"))
    colors = None
    if all(c in names for c in ("red", "green", "blue")):
        colors = stack(("red", "green", "blue"))
        if all(np.dtype(names[c].dtype).itemsize == 1 for c in ("red", "green", "blue")):
            colors = colors / 255.0
    normals = None
    if all(c in names for c in ("nx", "ny", "nz")):
        normals = stack(("nx", "ny", "nz"))
    uvs = None
    if all(c in names for c in ("texture_u", "texture_v")):
        uvs = stack(("texture_u", "texture_v"))

    faces = None
    if face_element is not None and face_element.count:
        values = tables["face"].columns[face_list]
        assert isinstance(values, _ListValues)
        faces = _triangulate(values, tables["face"], verts.shape[0], path)
    return _PlyData(
        verts=verts,
        faces=faces,
        verts_colors=colors,
        verts_normals=normals,
        verts_uvs=uvs,
        comments=header.comments,
    )


def _raw_element(element: _Element, table: _Table) -> Any:
    """One element's data in the layout of PyTorch3D's ``_load_ply_raw``.

    No list property: a list of 2D arrays, one per run of consecutive properties of one
    type (columns = properties). One list property whose rows all have the same length
    ``k``: a ``(count, k)`` array. Otherwise one Python list per row holding each
    property's value (a scalar, or an array for a list property).
    """
    props = element.properties
    columns = table.columns
    if not element.has_lists():
        pieces, start = [], 0
        while start < len(props):
            end = start
            while end < len(props) and props[end].dtype == props[start].dtype:
                end += 1
            block = [np.asarray(columns[p.name]) for p in props[start:end]]
            stacked = np.stack(block, axis=1) if element.count else np.zeros((0, end - start))
            pieces.append(stacked.astype(np.dtype(props[start].dtype)))
            start = end
        return pieces
    values: list[Any] = []
    for p in props:
        column = columns[p.name]
        if isinstance(column, _ListValues):
            flat = column.flat.astype(np.dtype(p.dtype))
            offsets = np.cumsum(np.asarray(column.counts, dtype=np.int64))[:-1]
            if len(props) == 1 and element.count and (column.counts == column.counts[0]).all():
                return flat.reshape(element.count, int(column.counts[0]))
            values.append(np.split(flat, offsets))
        else:
            values.append(list(np.asarray(column).astype(np.dtype(p.dtype))))
    return [list(row) for row in zip(*values)]


def _load_ply_raw(f: PathOrFile, path_manager: object = None) -> tuple[_Header, dict[str, Any]]:
    """The header and every element's data of a PLY file, as PyTorch3D's ``_load_ply_raw``.

    Args:
        f: a path or an open (binary or text) file.
        path_manager: accepted for PyTorch3D compatibility; unused.

    Returns:
        ``(header, elements)``: ``header.ascii`` / ``header.big_endian`` / ``header.elements``
        describe the file; ``elements`` maps each element name to its data (see
        :func:`_raw_element` for the layout).
    """
    path = describe_source(f)
    data = read_source_bytes(f)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data:
        raise MeshFileError(path, "the file is empty (0 bytes); expected a PLY file")
    header = _parse_header(data, path)
    if header.fmt == "ascii":
        tables = _read_ascii(data, header, path)
    else:
        tables = _read_binary(data, header, path)
    elements = {e.name: _raw_element(e, tables[e.name]) for e in header.elements}
    return header, elements


def load_ply(f: PathOrFile, *, path_manager: object = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Load the vertices and faces of a PLY file (ASCII or binary, either byte order).

    Args:
        f: a path (``str``/``pathlib.Path``) or an open file object (binary preferred).
        path_manager: None, or an ``iopath`` ``PathManager`` for local paths.

    Returns:
        ``(verts, faces)``: ``(V, 3)`` float32 positions and ``(F, 3)`` int64 vertex
        indices (polygons split into triangles; ``(0, 3)`` when there are no faces).

    Raises:
        FileNotFoundError: ``f`` does not exist.
        MeshFileError (a ``ValueError``): a malformed header, truncated or inconsistent
            data, unsupported types, faces with bad indices, no vertices; the message names
            the file and, where it applies, the line.
    """
    f = local_path(f, path_manager)
    data = _load_ply(f)
    faces = data.faces if data.faces is not None else torch.zeros((0, 3), dtype=torch.int64)
    return data.verts, faces


# --------------------------------------------------------------------------- writing
def _check_rows(name: str, value: torch.Tensor | None, cols: int, rows: int | None) -> None:
    if value is None or not len(value):
        return
    if value.dim() != 2 or value.size(1) != cols or (rows is not None and len(value) != rows):
        what = "num_verts" if rows is not None else "num_faces"
        raise ValueError(
            f"Argument '{name}' should either be empty or of shape ({what}, {cols}), "
            f"got {tuple(value.shape)}."
        )


def _save_ply(
    f: PathOrFile,
    *,
    verts: torch.Tensor,
    faces: torch.Tensor | None,
    verts_normals: torch.Tensor | None,
    verts_colors: torch.Tensor | None,
    ascii: bool,
    decimal_places: int | None = None,
    colors_as_uint8: bool = False,
) -> None:
    """Write a PLY file (little-endian when binary); see :func:`save_ply`."""
    n = verts.shape[0] if verts.dim() else 0
    fmt = "ascii" if ascii else "binary_little_endian"
    lines = ["ply", f"format {fmt} 1.0", f"element vertex {n}"]
    lines += [f"property float {c}" for c in "xyz"]
    if verts_normals is not None:
        lines += [f"property float {c}" for c in ("nx", "ny", "nz")]
    if verts_colors is not None:
        color_type = "uchar" if colors_as_uint8 else "float"
        lines += [f"property {color_type} {c}" for c in ("red", "green", "blue")]
    if n and faces is not None:
        lines += [f"element face {faces.shape[0]}", "property list uchar int vertex_index"]
    lines.append("end_header")
    chunks: list[bytes] = [("\n".join(lines) + "\n").encode("ascii")]

    if not n:
        warnings.warn("Empty 'verts' provided", stacklevel=3)
    else:
        fields: list[tuple[Any, ...]] = [("verts", "<f4", (3,))]
        if verts_normals is not None:
            fields.append(("normals", "<f4", (3,)))
        if verts_colors is not None:
            fields.append(("colors", "u1" if colors_as_uint8 else "<f4", (3,)))
        rows = np.zeros(n, dtype=fields)
        rows["verts"] = verts.detach().cpu().float().numpy()
        if verts_normals is not None:
            rows["normals"] = verts_normals.detach().cpu().float().numpy()
        if verts_colors is not None:
            colors = verts_colors.detach().cpu().float().numpy()
            if colors_as_uint8:
                colors = np.clip(np.rint(colors * 255.0), 0, 255)
            rows["colors"] = colors
        if ascii:
            number = "%f" if decimal_places is None else f"%.{int(decimal_places)}f"
            groups = [number] * 3
            if verts_normals is not None:
                groups += [number] * 3
            if verts_colors is not None:
                groups += ["%d" if colors_as_uint8 else number] * 3
            line = " ".join(groups) + "\n"
            flat = np.concatenate(
                [rows[name].reshape(n, 3).astype(np.float64) for name in rows.dtype.names],
                axis=1,
            )
            chunks.append("".join(line % tuple(r) for r in flat.tolist()).encode("ascii"))
        else:
            chunks.append(rows.tobytes())

        if faces is not None and len(faces):
            faces_np = faces.detach().cpu().long().numpy()
            if faces_np.min() < 0 or faces_np.max() >= n:
                warnings.warn(
                    f"Faces have invalid indices: they must lie in 0..{n - 1}, found "
                    f"{int(faces_np.min())}..{int(faces_np.max())}",
                    stacklevel=3,
                )
            if ascii:
                chunks.append(
                    "".join(f"3 {a} {b} {c}\n" for a, b, c in faces_np.tolist()).encode("ascii")
                )
            else:
                records = np.zeros(
                    len(faces_np), dtype=[("count", "u1"), ("vertex_index", "<i4", (3,))]
                )
                records["count"] = 3
                records["vertex_index"] = faces_np
                chunks.append(records.tobytes())

    payload = b"".join(chunks)
    if is_path(f):
        # Atomically: a failed write (full disk) leaves the previous file byte-identical.
        with atomic_write(os.fspath(f), "wb") as out:  # type: ignore[arg-type]
            out.write(payload)
        return
    try:
        f.write(payload)  # type: ignore[union-attr]
    except TypeError:
        if not ascii:
            raise ValueError("a binary PLY needs a file opened in binary mode ('wb')") from None
        f.write(payload.decode("ascii"))  # type: ignore[union-attr]


def save_ply(
    f: PathOrFile,
    verts: torch.Tensor,
    faces: torch.Tensor | None = None,
    verts_normals: torch.Tensor | None = None,
    ascii: bool = False,
    decimal_places: int | None = None,
    path_manager: object = None,
) -> None:
    """Save a mesh (or, without faces, a point set) to a PLY file.

    Args:
        f: a path or an open binary file.
        verts: ``(V, 3)`` vertex positions, written as float32.
        faces: ``(F, 3)`` 0-based vertex indices, or None for no face element.
        verts_normals: ``(V, 3)`` normals written as ``nx ny nz``, or None.
        ascii: write the ASCII format instead of binary (little-endian).
        decimal_places: digits after the decimal point in ASCII files (default 6).
        path_manager: None, or an ``iopath`` ``PathManager`` for local paths.

    A path is written atomically (temporary file in the same folder, fsync, os.replace):
    a save that fails half-way leaves the previous file byte-identical.

    Raises:
        ValueError: a tensor has the wrong shape.
    """
    f = local_path(f, path_manager)
    _check_rows("verts", verts, 3, None if not len(verts) else len(verts))
    _check_rows("faces", faces, 3, None)
    _check_rows("verts_normals", verts_normals, 3, len(verts))
    if verts_normals is not None and not len(verts_normals):
        verts_normals = None
    _save_ply(
        f,
        verts=verts,
        faces=faces,
        verts_normals=verts_normals,
        verts_colors=None,
        ascii=ascii,
        decimal_places=decimal_places,
        colors_as_uint8=False,
    )
