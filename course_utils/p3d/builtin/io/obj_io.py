"""Reading and writing Wavefront OBJ meshes: ``load_obj``, ``load_objs_as_meshes``, ``save_obj``.

An OBJ file is plain text with one statement per line; the first word says what it is::

    # a comment
    mtllib cube.mtl            # material library (see mtl_io): colours, texture images
    v 0.0 0.0 0.0              # a vertex position x y z (extra values, e.g. colours, ignored)
    vt 0.0 1.0                 # a texture coordinate u v (v points *up* the image)
    vn 0.0 0.0 1.0             # a normal x y z
    usemtl red                 # the faces below use material "red"
    f 1 2 3                    # a face by vertex indices
    f 1/1 2/2 3/3              #   ... with texture-coordinate indices  (v/vt)
    f 1//1 2//1 3//1           #   ... with normal indices              (v//vn)
    f 1/1/1 2/2/1 3/3/1 4/4/1  #   ... with both (v/vt/vn); a polygon of 4 corners
    g / o / s / l ...          # groups, objects, smoothing groups, lines: ignored here

Indices start at **1**; a negative index ``-k`` means "the k-th most recently defined"
element (``-1`` is the last ``v`` line read so far). ``load_obj`` returns **0-based**
indices. A polygon with corners ``(a, b, c, d, ...)`` is split into a fan of triangles
from its first corner: ``(a, b, c), (a, c, d), ...`` -- the same winding, so the normals
keep pointing the same way. A line ending in a backslash continues on the next line.

``load_obj`` returns ``(verts, faces, aux)`` exactly as PyTorch3D does: ``faces`` is a
named tuple ``Faces(verts_idx, normals_idx, textures_idx, materials_idx)`` and ``aux`` a
named tuple ``Properties(normals, verts_uvs, material_colors, texture_images,
texture_atlas)``. Reading errors name the file, the line number and the line's text.
"""

from __future__ import annotations

import contextlib
import os
import re
import warnings
from collections import namedtuple
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from course_utils.atomic import atomic_write, temporary_path
from course_utils.p3d.builtin.common import Device, make_device
from course_utils.p3d.builtin.io.errors import (
    MeshFileError,
    PathOrFile,
    base_folder,
    decode_text,
    describe_source,
    is_number,
    is_path,
    read_source_bytes,
)
from course_utils.p3d.builtin.io.mtl_io import load_materials, make_mesh_texture_atlas
from course_utils.p3d.builtin.io.path_manager import local_path

# The named tuples load_obj returns (PyTorch3D calls them _Faces and _Aux too).
_Faces = namedtuple("Faces", "verts_idx normals_idx textures_idx materials_idx")
_Aux = namedtuple("Properties", "normals verts_uvs material_colors texture_images texture_atlas")

_STACKLEVEL = 3
_PLURAL = {"vertex": "vertices", "texture coordinate": "texture coordinates", "normal": "normals"}
_FACE_FORMS = "'v', 'v/vt', 'v//vn' or 'v/vt/vn' with whole numbers"
_MAX_INDEX = 2**62


class _ObjContent:
    """What the parser collected from an OBJ file (plain Python lists, 0-based indices)."""

    def __init__(self) -> None:
        self.verts: list[list[float]] = []
        self.uvs: list[list[float]] = []
        self.normals: list[list[float]] = []
        # One entry per triangle corner (3 per triangle); -1 = no such index.
        self.tri_v: list[int] = []
        self.tri_vt: list[int] = []
        self.tri_vn: list[int] = []
        self.tri_material: list[int] = []
        self.tri_source: list[int] = []  # index into face_lines, per triangle
        self.face_lines: list[tuple[int, str]] = []  # (line number, text) of each 'f' line
        self.material_names: list[str] = []
        self.mtl_files: list[tuple[str, int]] = []  # (name as written, line number)
        self.usemtl_lines: dict[str, int] = {}


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, line)``, joining lines that end with a backslash."""
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.rstrip()
        if stripped.endswith("\\"):
            if not pending:
                start = number
            pending.append(stripped[:-1])
            continue
        if pending:
            pending.append(raw)
            yield start, " ".join(pending)
            pending = []
        else:
            yield number, raw
    if pending:
        yield start, " ".join(pending)


def _without_comment(tokens: list[str]) -> list[str]:
    """Drop an inline ``# comment`` from a token list."""
    for i, token in enumerate(tokens):
        if token.startswith("#"):
            return tokens[:i]
    return tokens


def _parse_numbers(
    tokens: list[str], wanted: int, optional: int, keyword: str, ctx: tuple[str, int, str]
) -> list[float]:
    """Read ``wanted`` numbers (``optional`` of them may be missing, filled with 0)."""
    path, number, line = ctx
    shapes = {"v": "'v x y z'", "vt": "'vt u v'", "vn": "'vn x y z'"}
    needed = wanted - optional
    if len(tokens) < needed:
        count = f"{needed} number" + ("" if needed == 1 else "s")
        raise MeshFileError(
            path,
            # "does not have N values" is PyTorch3D's wording, kept for code that matches it.
            f"a '{keyword}' line does not have {needed} values: it needs "
            f"{'at least ' if optional else ''}{count}, found "
            f"{len(tokens)}; expected {shapes[keyword]}",
            number,
            line,
        )
    try:
        values = [float(t) for t in tokens[:wanted]]
    except ValueError:
        bad = next(t for t in tokens[:wanted] if not is_number(t))
        raise MeshFileError(
            path,
            f"could not read {bad!r} as a number; expected {shapes[keyword]} with numbers",
            number,
            line,
        ) from None
    values.extend([0.0] * (wanted - len(values)))
    return values


def _resolve_index(
    token: str, corner: str, kind: str, defined: int, ctx: tuple[str, int, str]
) -> int:
    """Turn one OBJ index (1-based or negative) into a 0-based index.

    Positive indices are range-checked later, against the whole file (a face may refer
    to vertices defined after it); negative ones count back from the elements defined so
    far, as the OBJ specification says.
    """
    path, number, line = ctx
    try:
        value = int(token)
    except ValueError:
        raise MeshFileError(
            path,
            f"could not read {token!r} in face corner {corner!r} as an index; expected "
            f"{_FACE_FORMS}",
            number,
            line,
        ) from None
    if abs(value) > _MAX_INDEX:  # no mesh has that many elements; int64 arrays would overflow
        raise MeshFileError(
            path,
            f"face corner {corner!r} uses index {value}, larger than any mesh can have "
            f"(at most {_MAX_INDEX}); expected {_FACE_FORMS}",
            number,
            line,
        )
    if value > 0:
        return value - 1
    if value < 0:
        resolved = defined + value
        if resolved < 0:
            plural = _PLURAL[kind]
            available = (
                f"only {defined} {plural} are defined before this line; expected -1 to -{defined}"
                if defined
                else f"no {plural} are defined before this line"
            )
            raise MeshFileError(
                path,
                f"face corner {corner!r} refers to {kind} {value} (counting back), but {available}",
                number,
                line,
            )
        return resolved
    raise MeshFileError(
        path,
        f"face corner {corner!r} uses index 0, which is not valid: OBJ indices start at 1 "
        "(and negative ones count back from the last element)",
        number,
        line,
    )


def _parse_obj(text: str, path: str) -> _ObjContent:
    """Parse the text of an OBJ file (see the module docstring for the statements read)."""
    out = _ObjContent()
    material = -1
    for number, line in _logical_lines(text):
        tokens = line.split()
        if not tokens:
            continue
        key = tokens[0]
        if key.startswith("#"):
            continue
        if key in ("v", "vt", "vn", "f"):
            ctx = (path, number, line.strip())
            args = _without_comment(tokens[1:])
            if key == "v":
                out.verts.append(_parse_numbers(args, 3, 0, "v", ctx))
            elif key == "vt":
                out.uvs.append(_parse_numbers(args, 2, 0, "vt", ctx))  # PyTorch3D: exactly u v
            elif key == "vn":
                out.normals.append(_parse_numbers(args, 3, 0, "vn", ctx))
            else:
                _parse_face(args, material, out, ctx)
        elif key == "usemtl":
            if len(tokens) < 2:
                raise MeshFileError(path, "'usemtl' needs a material name", number, line.strip())
            name = tokens[1]
            if name not in out.material_names:
                out.material_names.append(name)
                out.usemtl_lines[name] = number
            material = out.material_names.index(name)
        elif key == "mtllib":
            rest = line.strip()[len(key) :].strip()
            if not rest:
                raise MeshFileError(
                    path,
                    "'mtllib' needs a material file name; expected 'mtllib file.mtl'",
                    number,
                    line.strip(),
                )
            out.mtl_files.append((rest, number))
        # Anything else (g, o, s, l, p, vp, curves, ...) is ignored, as in PyTorch3D.
    return out


def _parse_face(
    args: list[str], material: int, out: _ObjContent, ctx: tuple[str, int, str]
) -> None:
    """Parse the corners of one ``f`` line and append its fan of triangles to ``out``."""
    path, number, line = ctx
    # Checked before the corner count, as PyTorch3D does: 'f 1/2/3/4' is a bad corner.
    too_long = next((corner for corner in args if corner.count("/") > 2), None)
    if too_long is not None:
        raise MeshFileError(
            path,
            "Face vertices can only have 3 properties: "
            f"face corner {too_long!r} has more than 3 parts; expected {_FACE_FORMS}",
            number,
            line,
        )
    if len(args) < 3:
        raise MeshFileError(
            path,
            f"a face needs at least 3 corners, found {len(args)}; expected 'f a b c' with "
            f"corners written as {_FACE_FORMS}",
            number,
            line,
        )
    n_v, n_vt, n_vn = len(out.verts), len(out.uvs), len(out.normals)
    corners_v: list[int] = []
    corners_vt: list[int] = []
    corners_vn: list[int] = []
    form: tuple[bool, bool] | None = None
    for corner in args:
        parts = corner.split("/")
        if len(parts) > 3:
            raise MeshFileError(
                path,
                "Face vertices can only have 3 properties: "
                f"face corner {corner!r} has more than 3 parts; expected {_FACE_FORMS}",
                number,
                line,
            )
        has_vt = len(parts) > 1 and parts[1] != ""
        has_vn = len(parts) > 2 and parts[2] != ""
        if form is None:
            form = (has_vt, has_vn)
        elif form != (has_vt, has_vn):
            raise MeshFileError(
                path,
                "Vertex properties are inconsistent: "
                f"face corner {corner!r} is written differently from the first corner "
                f"{args[0]!r}; all corners of a face must use the same form "
                f"({_FACE_FORMS})",
                number,
                line,
            )
        corners_v.append(_resolve_index(parts[0], corner, "vertex", n_v, ctx))
        if has_vt:
            corners_vt.append(_resolve_index(parts[1], corner, "texture coordinate", n_vt, ctx))
        if has_vn:
            corners_vn.append(_resolve_index(parts[2], corner, "normal", n_vn, ctx))
    if not corners_vt:
        corners_vt = [-1] * len(corners_v)
    if not corners_vn:
        corners_vn = [-1] * len(corners_v)
    source = len(out.face_lines)
    out.face_lines.append((number, line))
    for i in range(1, len(corners_v) - 1):  # fan triangulation from the first corner
        for corner_list, target in (
            (corners_v, out.tri_v),
            (corners_vt, out.tri_vt),
            (corners_vn, out.tri_vn),
        ):
            target.extend((corner_list[0], corner_list[i], corner_list[i + 1]))
        out.tri_material.append(material)
        out.tri_source.append(source)


def _check_range(
    indices: np.ndarray, count: int, kind: str, keyword: str, content: _ObjContent, path: str
) -> None:
    """Warn, naming the first face corner whose index is >= ``count`` (PyTorch3D warns).

    The indices are kept as they are (PyTorch3D loads them too); a ``Meshes`` built from
    them refuses them with its own message.
    """
    bad = np.flatnonzero(indices >= count)
    if bad.size == 0:
        return
    corner = int(bad[0])
    number, line = content.face_lines[content.tri_source[corner // 3]]
    value = int(indices[corner]) + 1
    plural = _PLURAL[kind]
    defined = (
        f"the file defines {count} {plural}; expected an index from 1 to {count} "
        f"(or -1 to -{count} counting back)"
        if count
        else f"the file defines no {plural} ('{keyword} ...' lines)"
    )
    where = MeshFileError(
        path, f"a face refers to {kind} {value}, but {defined}", number, line.strip()
    )
    warnings.warn(  # "Faces have invalid indices": PyTorch3D's wording, kept first
        f"Faces have invalid indices: {where} ({bad.size} face corners in all); the "
        "indices load as they are, and a Meshes made from them will refuse them",
        UserWarning,
        stacklevel=_STACKLEVEL + 1,
    )


def _float_tensor(rows: list[list[float]], cols: int, device: torch.device) -> torch.Tensor:
    if not rows:
        return torch.zeros((0, cols), dtype=torch.float32, device=device)
    return torch.tensor(rows, dtype=torch.float32, device=device)


def _load_obj_source(
    f: PathOrFile,
    *,
    load_textures: bool,
    device: torch.device,
    create_texture_atlas: bool = False,
    texture_atlas_size: int = 4,
    texture_wrap: str | None = "repeat",
) -> tuple[torch.Tensor, Any, Any]:
    """Read and convert one OBJ source; see :func:`load_obj`."""
    path = describe_source(f)
    data = read_source_bytes(f)
    text = decode_text(data)  # a byte-order mark must not hide the first statement
    content = _parse_obj(text, path)
    if not content.verts:
        # PyTorch3D loads an empty mesh (what save_obj writes for one); say so.
        what = "is empty (0 bytes)" if not data else "contains no vertices ('v x y z' lines)"
        warnings.warn(
            f"{path}: the file {what}; it loads as a mesh with no vertices (is it an OBJ file?)",
            UserWarning,
            stacklevel=_STACKLEVEL,
        )

    n_tris = len(content.tri_material)
    tri_v = np.asarray(content.tri_v, dtype=np.int64)
    tri_vt = np.asarray(content.tri_vt, dtype=np.int64)
    tri_vn = np.asarray(content.tri_vn, dtype=np.int64)
    _check_range(tri_v, len(content.verts), "vertex", "v", content, path)
    _check_range(tri_vt, len(content.uvs), "texture coordinate", "vt", content, path)
    _check_range(tri_vn, len(content.normals), "normal", "vn", content, path)

    verts = _float_tensor(content.verts, 3, device)
    normals = _float_tensor(content.normals, 3, device)
    verts_uvs = _float_tensor(content.uvs, 2, device)

    def as_faces(array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(array.reshape(n_tris, 3)).to(device)

    verts_idx = as_faces(tri_v)
    normals_idx = as_faces(tri_vn)
    textures_idx = as_faces(tri_vt)
    materials_idx = torch.tensor(content.tri_material, dtype=torch.int64, device=device)

    material_colors = None
    texture_images = None
    if load_textures:
        if content.mtl_files:
            folder = base_folder(f)
            libraries = []
            for name, number in content.mtl_files:
                # "mtllib a.mtl b.mtl" names two files, unless one file has that spaced name.
                names = [name] if (folder / name).exists() else name.split()
                libraries += [(folder / n, n, number) for n in names]
            material_colors, texture_images = load_materials(
                content.material_names,
                libraries,
                obj_path=path,
                root=folder,
                device=device,
            )
        elif content.material_names:
            warnings.warn(  # "No mtl file provided": PyTorch3D's wording, kept first
                f"No mtl file provided: {path} uses materials (usemtl, line "
                f"{content.usemtl_lines[content.material_names[0]]}) but names no material "
                "file (mtllib); it loads without materials",
                UserWarning,
                stacklevel=_STACKLEVEL,
            )
    used_names = list(content.material_names)
    if material_colors and not content.material_names:
        # No usemtl, but the library defines exactly one material: every face uses it.
        materials_idx = materials_idx.clamp(min=0)
        used_names = [next(iter(material_colors))]

    texture_atlas = None
    if create_texture_atlas:
        # Each face's material name ("" for none), then PyTorch3D's per-face atlas.
        face_names = np.array(["", *used_names])[materials_idx.cpu().numpy() + 1]
        texture_atlas = make_mesh_texture_atlas(
            material_colors,
            texture_images,
            face_names,
            textures_idx,
            verts_uvs,
            int(texture_atlas_size),
            texture_wrap,
        )

    faces = _Faces(
        verts_idx=verts_idx,
        normals_idx=normals_idx,
        textures_idx=textures_idx,
        materials_idx=materials_idx,
    )
    aux = _Aux(
        normals=normals if len(normals) else None,
        verts_uvs=verts_uvs if len(verts_uvs) else None,
        material_colors=material_colors,
        texture_images=texture_images,
        texture_atlas=texture_atlas,
    )
    return verts, faces, aux


def _check_load_arguments(
    create_texture_atlas: bool,
    texture_wrap: str | None,
    path_manager: object,
    texture_atlas_size: int = 4,
) -> None:
    if create_texture_atlas and not (
        isinstance(texture_atlas_size, int) and not isinstance(texture_atlas_size, bool)
    ):
        raise ValueError(f"texture_atlas_size must be a positive int, got {texture_atlas_size!r}")
    if create_texture_atlas and texture_atlas_size < 1:
        raise ValueError(f"texture_atlas_size must be a positive int, got {texture_atlas_size}")
    if texture_wrap is not None and texture_wrap not in ("repeat", "clamp"):
        raise ValueError(
            f"texture_wrap must be one of ['repeat', 'clamp'] or None, got {texture_wrap!r}"
        )


def load_obj(
    f: PathOrFile,
    load_textures: bool = True,
    create_texture_atlas: bool = False,
    texture_atlas_size: int = 4,
    texture_wrap: str | None = "repeat",
    device: Device = "cpu",
    path_manager: object = None,
) -> tuple[torch.Tensor, Any, Any]:
    """Load a mesh, and optionally its materials and textures, from an OBJ file.

    Args:
        f: a path (``str`` or ``pathlib.Path``) or an open file object. Material and
            texture files are looked up in the OBJ's folder (the working directory for a
            file object, as in PyTorch3D) and never outside it.
        load_textures: read the material library (``mtllib``) and texture images.
        create_texture_atlas: also make ``aux.texture_atlas``, an ``(F, R, R, 3)`` texture
            per face (white, or the material's ``Kd``, or its texture image sampled over
            the face), as PyTorch3D does for ``TexturesAtlas``.
        texture_atlas_size: ``R``, the atlas resolution per face.
        texture_wrap: for the atlas, (u, v) outside [0, 1]: ``"repeat"`` (fractional
            part), ``"clamp"`` or None.
        device: where to put the returned tensors.
        path_manager: None, or an ``iopath`` ``PathManager`` for local paths.

    Returns:
        ``(verts, faces, aux)``:

        - ``verts``: ``(V, 3)`` float32 vertex positions.
        - ``faces``: ``Faces(verts_idx, normals_idx, textures_idx, materials_idx)``: int64
          ``(F, 3)`` indices into ``verts``, ``aux.normals`` and ``aux.verts_uvs`` (-1 where
          a face has no normal/uv index), and ``(F,)`` indices into the used material
          names (-1 for faces without a material). Polygons are split into triangles.
        - ``aux``: ``Properties(normals, verts_uvs, material_colors, texture_images,
          texture_atlas)``: ``(N, 3)`` normals or None, ``(T, 2)`` uvs or None; with
          ``load_textures`` and a readable material library, a dict ``material name ->
          {"ambient_color": (3,), "diffuse_color": (3,), "specular_color": (3,),
          "shininess": (1,)}`` (keys present in the file) and a dict ``material name ->
          (H, W, 3)`` float32 image in [0, 1]; otherwise both None. ``texture_atlas``:
          the ``(F, R, R, 3)`` atlas with ``create_texture_atlas``, else None.

    Raises:
        FileNotFoundError: ``f`` does not exist.
        MeshFileError (a ``ValueError``): a line cannot be read; the message names the
            file, the line and what was expected.
        NotImplementedError: a ``path_manager`` that is not a local-file manager.

    As in PyTorch3D, a face index past the last vertex (uv, normal) gives a ``UserWarning``
    ("Faces have invalid indices", naming the file and line) and loads as it is, and an
    empty file or one without vertices gives a warning and an empty mesh.

    A missing or out-of-folder material file or texture image gives a ``UserWarning`` and
    the mesh loads without it. So does a texture image that cannot be decoded or that has
    more pixels than the texture budget (8192 x 8192, or ``$COURSE_MAX_TEXTURE_PIXELS``;
    "decompression bombs" are caught from the image header before decoding): the warning
    names the image and the mesh, and that material loads **untextured** (not downscaled).

    Text encodings: a byte-order mark (UTF-8 or UTF-16) is honoured and dropped; files
    without one are read as UTF-8, or as Latin-1 when they are not valid UTF-8.
    """
    _check_load_arguments(create_texture_atlas, texture_wrap, path_manager, texture_atlas_size)
    f = local_path(f, path_manager)
    return _load_obj_source(
        f,
        load_textures=load_textures,
        device=make_device(device),
        create_texture_atlas=create_texture_atlas,
        texture_atlas_size=texture_atlas_size,
        texture_wrap=texture_wrap,
    )


def load_objs_as_meshes(
    files: Sequence[PathOrFile],
    device: Device | None = None,
    load_textures: bool = True,
    create_texture_atlas: bool = False,
    texture_atlas_size: int = 4,
    texture_wrap: str | None = "repeat",
    path_manager: object = None,
) -> Any:
    """Load OBJ files into one ``Meshes`` batch (one mesh per file).

    A file whose materials have a texture image gets a ``TexturesUV`` built from
    ``aux.verts_uvs``, ``faces.textures_idx`` and the **first** texture image (PyTorch3D
    supports one texture image per mesh); the meshes without one get no textures (a
    batch mixing both cannot be joined). Normals and material colours are not kept.

    Args:
        files: paths or open file objects.
        device: where to put the meshes (None: CPU).
        load_textures, create_texture_atlas, texture_atlas_size, texture_wrap,
            path_manager: as for :func:`load_obj`.

    Returns:
        A ``Meshes`` of ``len(files)`` meshes.
    """
    from course_utils.p3d.builtin.renderer.mesh.textures import TexturesUV
    from course_utils.p3d.builtin.structures import Meshes, join_meshes_as_batch

    _check_load_arguments(create_texture_atlas, texture_wrap, path_manager, texture_atlas_size)
    target = make_device(device) if device is not None else torch.device("cpu")
    meshes = []
    for f in (local_path(name, path_manager) for name in files):
        verts, faces, aux = _load_obj_source(
            f,
            load_textures=load_textures,
            device=target,
            create_texture_atlas=create_texture_atlas,
            texture_atlas_size=texture_atlas_size,
            texture_wrap=texture_wrap,
        )
        textures = None
        images = aux.texture_images
        if create_texture_atlas:
            from course_utils.p3d.builtin.renderer.mesh.textures import TexturesAtlas

            textures = TexturesAtlas(atlas=[aux.texture_atlas])
        elif images:
            if aux.verts_uvs is None:
                warnings.warn(
                    f"{describe_source(f)} has a texture image but no texture coordinates "
                    "('vt' lines); the mesh loads without a texture",
                    UserWarning,
                    stacklevel=2,
                )
            else:
                if len(images) > 1:
                    warnings.warn(
                        f"{describe_source(f)} uses {len(images)} texture images "
                        f"({', '.join(images)}); only the first one is used for every face, "
                        "as in PyTorch3D",
                        UserWarning,
                        stacklevel=2,
                    )
                image = next(iter(images.values()))
                textures = TexturesUV(
                    maps=image[None], faces_uvs=[faces.textures_idx], verts_uvs=[aux.verts_uvs]
                )
        meshes.append(Meshes(verts=[verts], faces=[faces.verts_idx], textures=textures))
    if len(meshes) == 1:
        return meshes[0]
    return join_meshes_as_batch(meshes)


# --------------------------------------------------------------------------- writing
def _format_rows(prefix: str, fmt: str, rows: np.ndarray) -> str:
    """``prefix fmt fmt ...`` for every row of a 2-D array, newline-terminated."""
    if rows.shape[0] == 0:
        return ""
    line = prefix + " " + " ".join([fmt] * rows.shape[1]) + "\n"
    return "".join(line % tuple(row) for row in rows.tolist())


def _check_matrix(name: str, value: torch.Tensor | None, cols: int, what: str) -> None:
    if value is not None and len(value) and (value.dim() != 2 or value.size(1) != cols):
        raise ValueError(
            f"'{name}' should either be empty or of shape ({what}, {cols}), "
            f"got {tuple(value.shape)}."
        )


def _write_text(f: PathOrFile, text: str) -> None:
    """Write ``text`` to a path atomically, or to the caller's open file object."""
    if is_path(f):
        with atomic_write(os.fspath(f), "w", encoding="utf-8") as handle:  # type: ignore[arg-type]
            handle.write(text)
        return
    try:
        f.write(text)  # type: ignore[union-attr]
    except TypeError:
        f.write(text.encode("utf-8"))  # type: ignore[union-attr]


def _names_in(path: Path, keyword: str) -> set[str]:
    """The file names given after ``keyword`` (``mtllib``/``map_Kd``) in a text file."""
    try:
        text = decode_text(path.read_bytes())
    except OSError:
        return set()
    pattern = re.compile(rf"^\s*{keyword}\s+(.+?)\s*$", re.MULTILINE)
    return {match.group(1) for match in pattern.finditer(text)}


def _check_companions(obj_path: Path) -> None:
    """Refuse to replace a ``<stem>.mtl``/``<stem>.png`` that is not this OBJ's own.

    A textured save writes ``<stem>.mtl`` and ``<stem>.png`` beside the OBJ. An existing
    file of that name is replaced only when it is a companion of the OBJ being replaced:
    the existing OBJ names the MTL in its ``mtllib`` line, and that MTL names the PNG in a
    ``map_Kd`` line. Anything else is somebody's own file: raise rather than destroy it.
    """
    mtl, png = obj_path.with_suffix(".mtl"), obj_path.with_suffix(".png")
    own_mtl = obj_path.is_file() and mtl.name in _names_in(obj_path, "mtllib")
    own_png = own_mtl and mtl.is_file() and png.name in _names_in(mtl, "map_Kd")
    for companion, own in ((mtl, own_mtl), (png, own_png)):
        if companion.exists() and not own:
            raise FileExistsError(
                f"{os.fspath(companion)!r} already exists and is not the material/texture "
                f"file of {os.fspath(obj_path)!r}; saving a textured OBJ there would replace "
                "it. Move or delete it, or save the OBJ under another name."
            )


def save_obj(
    f: PathOrFile,
    verts: torch.Tensor,
    faces: torch.Tensor,
    decimal_places: int | None = None,
    path_manager: object = None,
    *,
    normals: torch.Tensor | None = None,
    faces_normals_idx: torch.Tensor | None = None,
    verts_uvs: torch.Tensor | None = None,
    faces_uvs: torch.Tensor | None = None,
    texture_map: torch.Tensor | None = None,
) -> None:
    """Save a mesh to an OBJ file, with its UV texture when one is given.

    When ``verts_uvs``, ``faces_uvs`` and ``texture_map`` are all given, the texture is
    written next to the OBJ as ``<stem>.png`` with a material file ``<stem>.mtl`` (material
    ``mesh``), and faces are written as ``f v/vt`` (``v/vt/vn`` with normals).

    Args:
        f: path of the OBJ file (or an open text file, without a texture).
        verts: ``(V, 3)`` vertex positions.
        faces: ``(F, 3)`` 0-based vertex indices.
        decimal_places: digits after the decimal point (default: ``%f``, i.e. 6).
        path_manager: None, or an ``iopath`` ``PathManager`` for local paths.
        normals: ``(N, 3)`` normals, written as ``vn`` lines (needs ``faces_normals_idx``).
        faces_normals_idx: ``(F, 3)`` 0-based indices into ``normals``.
        verts_uvs: ``(T, 2)`` texture coordinates.
        faces_uvs: ``(F, 3)`` 0-based indices into ``verts_uvs``.
        texture_map: ``(H, W, 3)`` image with values in [0, 1] (row 0 is the top).

    Every file is written atomically (a temporary file in the same folder, fsynced, then
    moved over the target): a save that fails half-way (full disk, exception) leaves the
    previous files byte-identical.

    Raises:
        ValueError: a tensor has the wrong shape, ``normals`` and ``faces_normals_idx`` are
            not given together, or the OBJ's own name ends in ``.png``/``.mtl``.
        FileExistsError: a textured save would replace a ``<stem>.mtl`` or ``<stem>.png``
            that is not the companion of this OBJ (the existing OBJ's ``mtllib`` line names
            the MTL, whose ``map_Kd`` line names the PNG). Re-saving a textured OBJ over
            itself replaces its own MTL and PNG; nothing else is replaced silently.
    """
    f = local_path(f, path_manager)
    _check_matrix("verts", verts, 3, "num_verts")
    _check_matrix("faces", faces, 3, "num_faces")
    if (normals is None) != (faces_normals_idx is None):
        raise ValueError("'normals' and 'faces_normals_idx' must both be None or neither.")
    _check_matrix("faces_normals_idx", faces_normals_idx, 3, "num_faces")
    _check_matrix("normals", normals, 3, "num_normals")
    if faces_uvs is not None and (faces_uvs.dim() != 2 or faces_uvs.size(1) != 3):
        raise ValueError(
            f"'faces_uvs' should either be empty or of shape (num_faces, 3), "
            f"got {tuple(faces_uvs.shape)}."
        )
    if verts_uvs is not None and (verts_uvs.dim() != 2 or verts_uvs.size(1) != 2):
        raise ValueError(
            f"'verts_uvs' should either be empty or of shape (num_verts, 2), "
            f"got {tuple(verts_uvs.shape)}."
        )
    if texture_map is not None and (texture_map.dim() != 3 or texture_map.size(2) != 3):
        raise ValueError(
            f"'texture_map' should either be empty or of shape (H, W, 3), "
            f"got {tuple(texture_map.shape)}."
        )

    save_texture = all(t is not None for t in (faces_uvs, verts_uvs, texture_map))
    output_path: Path | None = None
    if save_texture:
        name = f if is_path(f) else getattr(f, "name", None)
        if not isinstance(name, (str, os.PathLike)):
            raise ValueError(
                "save_obj with a texture needs a path (the .mtl and .png files are written "
                "next to the .obj), not an unnamed file object"
            )
        output_path = Path(os.fspath(name))
        if output_path.suffix.lower() in (".png", ".mtl"):
            raise ValueError(
                f"{os.fspath(output_path)!r}: an OBJ saved with a texture cannot be named "
                "*.png or *.mtl (those names are used for the texture and material files)"
            )

    if not (len(verts) or len(faces)):
        warnings.warn("Empty 'verts' and 'faces' arguments provided", stacklevel=2)
        _write_text(f, "")
        return

    float_fmt = "%f" if decimal_places is None else f"%.{int(decimal_places)}f"
    verts_np = verts.detach().cpu().reshape(-1, 3).double().numpy()
    faces_np = faces.detach().cpu().reshape(-1, 3).long().numpy()
    if faces_np.size and (faces_np.min() < 0 or faces_np.max() >= verts_np.shape[0]):
        warnings.warn(
            f"Faces have invalid indices: they must lie in 0..{verts_np.shape[0] - 1}, "
            f"found {int(faces_np.min())}..{int(faces_np.max())}",
            stacklevel=2,
        )

    has_normals = normals is not None and faces_normals_idx is not None
    parts: list[str] = []
    if save_texture:
        assert output_path is not None
        parts.append(f"\nmtllib {output_path.stem}.mtl\nusemtl mesh\n\n")
    parts.append(_format_rows("v", float_fmt, verts_np))
    columns = [faces_np + 1]
    if has_normals:
        assert normals is not None
        parts.append(_format_rows("vn", float_fmt, normals.detach().cpu().double().numpy()))
    if save_texture:
        assert verts_uvs is not None and faces_uvs is not None
        parts.append(_format_rows("vt", float_fmt, verts_uvs.detach().cpu().double().numpy()))
        columns.append(faces_uvs.detach().cpu().reshape(-1, 3).long().numpy() + 1)
    if has_normals:
        assert faces_normals_idx is not None
        columns.append(faces_normals_idx.detach().cpu().reshape(-1, 3).long().numpy() + 1)
    if len(faces_np):
        # One corner is "v", "v/vt", "v//vn" or "v/vt/vn".
        corner = {(False, False): "%d", (True, False): "%d/%d", (False, True): "%d//%d"}.get(
            (save_texture, has_normals), "%d/%d/%d"
        )
        line = "f " + " ".join([corner] * 3) + "\n"
        stacked = np.stack(columns, axis=-1).reshape(len(faces_np), -1)
        parts.append("".join(line % tuple(row) for row in stacked.tolist()))
    # PyTorch3D's layout: no newline after the last line.
    text = "".join(parts).removesuffix("\n")
    if not save_texture:
        _write_text(f, text)
        return

    assert output_path is not None and texture_map is not None
    from PIL import Image

    _check_companions(output_path)
    image = texture_map.detach().cpu().float().numpy()
    image = np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)
    # All three files are written to temporary files first and only then moved into place
    # (OBJ first, then MTL, then PNG): a failure while writing any of them changes none.
    with contextlib.ExitStack() as stack:
        png_tmp = stack.enter_context(temporary_path(output_path.with_suffix(".png")))
        mtl_tmp = stack.enter_context(temporary_path(output_path.with_suffix(".mtl")))
        Image.fromarray(image).save(png_tmp, format="PNG")
        mtl_tmp.write_text(
            # PyTorch3D's MTL: the material name and the texture image only (no colours).
            f"newmtl mesh\nmap_Kd {output_path.stem}.png\n",
            encoding="utf-8",
        )
        _write_text(f, text)
