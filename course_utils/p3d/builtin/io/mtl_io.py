"""Reading Wavefront MTL material files (the companion of OBJ meshes).

An OBJ file names its material library with ``mtllib materials.mtl`` and switches the
material of the faces that follow with ``usemtl name``. The MTL file is plain text, one
statement per line::

    newmtl wood              # start a material called "wood"
    Ka 0.2 0.2 0.2           # ambient colour (r g b in [0, 1])
    Kd 0.8 0.6 0.4           # diffuse colour
    Ks 0.1 0.1 0.1           # specular colour
    Ns 10.0                  # specular exponent ("shininess")
    map_Kd wood.png          # diffuse texture image, relative to the MTL's folder

As in PyTorch3D, only the materials the OBJ uses are kept, each as a dict with the keys
that were present among ``ambient_color``/``diffuse_color``/``specular_color`` ((3,)
tensors) and ``shininess`` ((1,) tensor), and each ``map_Kd`` image (looked up next to the
MTL file, then next to the OBJ, which is where PyTorch3D looks) is read with Pillow as
an ``(H, W, 3)`` float32 RGB tensor in [0, 1] -- row 0 is the top row of the image, as
stored in the file (the v axis of the uv coordinates points up, so v = 1 is row 0).

Files named by a material library are only read inside the mesh's folder; a missing or
out-of-folder file gives a ``UserWarning`` and loading continues without it.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import torch

from course_utils.p3d.builtin.common import Device, make_device, unsupported
from course_utils.p3d.builtin.io.errors import MeshFileError, contained, decode_text, is_number

#: material name -> {"ambient_color": (3,), "diffuse_color": (3,), "specular_color": (3,),
#: "shininess": (1,)} (only the keys present in the file).
MaterialProperties = dict[str, dict[str, torch.Tensor]]
#: material name -> (H, W, 3) float32 image in [0, 1].
TextureImages = dict[str, torch.Tensor]

# Warnings point at the user's call (load_obj / IO.load_mesh), a few frames up.
_STACKLEVEL = 4

_COLOR_KEYS = {"Ka": "ambient_color", "Kd": "diffuse_color", "Ks": "specular_color"}

# Options that may precede the file name of a texture map statement, with how many
# arguments each takes (-o/-s/-t take one to three numbers).
_MAP_OPTIONS = {
    "-blendu": 1,
    "-blendv": 1,
    "-bm": 1,
    "-boost": 1,
    "-cc": 1,
    "-clamp": 1,
    "-imfchan": 1,
    "-texres": 1,
    "-type": 1,
    "-mm": 2,
    "-o": 3,
    "-s": 3,
    "-t": 3,
}


def _numbers_before_comment(tokens: list[str]) -> list[str]:
    """The tokens up to (not including) an inline ``# comment``."""
    out = []
    for token in tokens:
        if token.startswith("#"):
            break
        out.append(token)
    return out


def _split_map_statement(line: str, path: str, line_number: int) -> tuple[str, list[str]]:
    """Split ``map_Kd [options] file name`` into the file name and the ignored options."""
    rest = line.strip()[len(line.split()[0]) :].strip()
    if not rest.startswith("-"):
        return rest, []
    tokens = rest.split()
    options: list[str] = []
    i = 0
    while i < len(tokens) and tokens[i].startswith("-") and tokens[i] in _MAP_OPTIONS:
        option = tokens[i]
        n_args = _MAP_OPTIONS[option]
        i += 1
        taken = 0
        while taken < n_args and i < len(tokens):
            # -o/-s/-t take "one to three" numbers: stop at the first non-number.
            if option in ("-o", "-s", "-t") and taken >= 1 and not is_number(tokens[i]):
                break
            i += 1
            taken += 1
        options.append(" ".join(tokens[i - taken - 1 : i]))
    if i >= len(tokens):
        raise MeshFileError(
            path,
            "texture statement has options but no file name; expected 'map_Kd [options] image.png'",
            line_number,
            line.strip(),
        )
    return " ".join(tokens[i:]), options


def parse_mtl(
    text: str, path: str | os.PathLike[str], device: Device = "cpu"
) -> tuple[MaterialProperties, dict[str, str]]:
    """Parse the text of an MTL file.

    Args:
        text: the file's content.
        path: the file's name, used in messages.
        device: where to put the colour tensors.

    Returns:
        ``(material_properties, texture_files)``: properties per material (in file order,
        materials without properties map to ``{}``), and the ``map_Kd`` file name per
        material as written in the file.

    Raises:
        MeshFileError: a statement before any ``newmtl``, or a colour/exponent that is not
            a number; the message gives the line.
    """
    device = make_device(device)
    path = os.fspath(path)
    properties: MaterialProperties = {}
    texture_files: dict[str, str] = {}
    current: str | None = None
    for line_number, raw in enumerate(text.splitlines(), start=1):
        tokens = raw.split()
        if not tokens or tokens[0].startswith("#"):
            continue
        key = tokens[0]
        if key == "newmtl":
            if len(tokens) < 2:
                raise MeshFileError(
                    path, "'newmtl' needs a material name", line_number, raw.strip()
                )
            current = tokens[1]
            properties.setdefault(current, {})
            continue
        if key not in _COLOR_KEYS and key not in ("Ns", "map_Kd"):
            continue  # other statements (illum, d, Tr, map_Ks, ...) are not used
        if current is None:
            raise MeshFileError(
                path,
                f"'{key}' appears before any 'newmtl name' statement; expected a material "
                "to be started first",
                line_number,
                raw.strip(),
            )
        if key == "map_Kd":
            name, options = _split_map_statement(raw, path, line_number)
            if not name:
                raise MeshFileError(
                    path, "'map_Kd' needs an image file name", line_number, raw.strip()
                )
            if options:
                warnings.warn(
                    f"{path}, line {line_number}: texture options {options} are ignored "
                    f"(only the image {name!r} is used)",
                    UserWarning,
                    stacklevel=_STACKLEVEL + 1,
                )
            texture_files[current] = name
            continue
        values = _numbers_before_comment(tokens[1:])
        if key in _COLOR_KEYS and values and values[0] in ("spectral", "xyz"):
            warnings.warn(
                f"{path}, line {line_number}: '{key} {values[0]}' colours are not supported "
                "and are ignored; use 'r g b' values",
                UserWarning,
                stacklevel=_STACKLEVEL + 1,
            )
            continue
        try:
            numbers = [float(v) for v in values]
        except ValueError:
            expected = f"'{key} r g b' with numbers" if key != "Ns" else "'Ns exponent'"
            raise MeshFileError(
                path,
                f"could not read the values as numbers; expected {expected}",
                line_number,
                raw.strip(),
            ) from None
        if key == "Ns":
            if len(numbers) < 1:
                raise MeshFileError(
                    path,
                    "'Ns' needs a number (the specular exponent)",
                    line_number,
                    raw.strip(),
                )
            properties[current]["shininess"] = torch.tensor(
                numbers[:1], dtype=torch.float32, device=device
            )
        else:
            if len(numbers) == 1:  # the MTL spec: "Kd r" means r = g = b
                numbers = numbers * 3
            if len(numbers) < 3:
                raise MeshFileError(
                    path,
                    f"'{key}' needs 3 numbers (r g b), found {len(numbers)}",
                    line_number,
                    raw.strip(),
                )
            properties[current][_COLOR_KEYS[key]] = torch.tensor(
                numbers[:3], dtype=torch.float32, device=device
            )
    return properties, texture_files


#: Default most pixels a texture image may have (8192 x 8192, a 0.8 GB float32 tensor);
#: ``COURSE_MAX_TEXTURE_PIXELS`` overrides it.
DEFAULT_MAX_TEXTURE_PIXELS = 8192 * 8192


def max_texture_pixels() -> int:
    """The texture pixel budget: ``$COURSE_MAX_TEXTURE_PIXELS`` or 8192 x 8192."""
    value = os.environ.get("COURSE_MAX_TEXTURE_PIXELS", "")
    try:
        return int(value) if value.strip() else DEFAULT_MAX_TEXTURE_PIXELS
    except ValueError:
        raise ValueError(
            f"COURSE_MAX_TEXTURE_PIXELS={value!r} is not a whole number of pixels"
        ) from None


def read_texture_image(path: Path) -> torch.Tensor:
    """Read an image file as an ``(H, W, 3)`` float32 RGB tensor with values in [0, 1].

    Grey or RGBA images are converted to RGB (alpha is dropped, as in PyTorch3D).

    Raises:
        ValueError: the image cannot be decoded, or it has more pixels than the texture
            budget (:func:`max_texture_pixels`, 8192 x 8192 unless
            ``COURSE_MAX_TEXTURE_PIXELS`` says otherwise). The size is read from the
            header before any pixel is decoded, so a small file that would decode to a
            huge image (a "decompression bomb") costs nothing. Callers that load meshes
            turn this into a warning and load the mesh without that texture.
    """
    from PIL import Image

    budget = max_texture_pixels()
    try:
        with warnings.catch_warnings():
            # PIL's own bomb warning: our budget below is stricter and says more.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > budget:
                    raise ValueError(
                        f"the image is {width} x {height} = {width * height:,} pixels, more "
                        f"than the texture budget of {budget:,} pixels "
                        "(set COURSE_MAX_TEXTURE_PIXELS to allow more)"
                    )
                array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    except Image.DecompressionBombError as error:
        raise ValueError(
            f"the image is larger than {budget:,} pixels, the texture budget, and large "
            f"enough for PIL to refuse it as a possible decompression bomb ({error}) "
            "(set COURSE_MAX_TEXTURE_PIXELS to allow more)"
        ) from None
    except (OSError, ValueError):
        raise
    except Exception as error:  # PIL's decoders raise many types on corrupt data
        raise ValueError(f"the image is corrupt ({type(error).__name__}: {error})") from None
    return torch.from_numpy(array)


def _find_texture(
    name: str, mtl_folder: Path, obj_folder: Path, root: Path
) -> tuple[Path | None, Path]:
    """Look a texture up next to the MTL file, then next to the OBJ (PyTorch3D's place).

    Args:
        name: the file name written after ``map_Kd``.
        mtl_folder, obj_folder: the two folders to look in.
        root: the containment boundary; candidates outside it are never looked at.

    Returns:
        ``(found, first_candidate)``: the existing file (or None) and the first place looked.

    Raises:
        PermissionError: every candidate lies outside ``root``.
    """
    inside_candidates: list[Path] = []
    for folder in (mtl_folder, obj_folder):
        resolved, inside = contained(root, folder / name)
        if inside and resolved not in inside_candidates:
            inside_candidates.append(resolved)
    if not inside_candidates:
        raise PermissionError(name)
    for candidate in inside_candidates:
        if candidate.is_file():
            return candidate, inside_candidates[0]
    return None, inside_candidates[0]


def load_materials(
    material_names: list[str],
    mtl_files: list[tuple[Path, str, int | None]],
    *,
    obj_path: str,
    root: Path,
    device: Device = "cpu",
) -> tuple[MaterialProperties | None, TextureImages | None]:
    """Read the material libraries named by an OBJ and the texture images they use.

    Args:
        material_names: the material names in the order the OBJ's ``usemtl`` lines first
            use them (``materials_idx`` indexes this list).
        mtl_files: ``(path, name_as_written, line_number)`` for each ``mtllib`` entry;
            paths are relative to the OBJ's folder.
        obj_path: the OBJ file's name, for messages.
        root: the OBJ's folder; nothing outside it is read.
        device: where to put the tensors.

    Returns:
        ``(material_colors, texture_images)`` restricted to the used materials (or the only
        material when the OBJ has no ``usemtl``), or ``(None, None)`` when no material
        library could be read.

    Raises:
        MeshFileError: an MTL file does not parse, or several materials are defined but
            the OBJ never says which one to use.
    """
    properties: MaterialProperties = {}
    texture_files: dict[str, tuple[str, Path]] = {}
    read_any = False
    for mtl_path, written, line_number in mtl_files:
        named_by = f"{obj_path} (line {line_number})" if line_number else obj_path
        resolved, inside = contained(root, mtl_path)
        if not inside:
            warnings.warn(
                f"material file {written!r} named by {named_by} lies "
                f"outside the mesh's folder {os.fspath(root.resolve())!r}; it is not read, and the "
                "mesh loads without its materials",
                UserWarning,
                stacklevel=_STACKLEVEL,
            )
            continue
        if not resolved.is_file():
            warnings.warn(  # "Mtl file does not exist": PyTorch3D's wording, kept first
                f"Mtl file does not exist: material file {written!r} named by {named_by} does "
                f"not exist (looked for {os.fspath(mtl_path)!r}); the mesh loads without "
                "its materials",
                UserWarning,
                stacklevel=_STACKLEVEL,
            )
            continue
        text = decode_text(resolved.read_bytes())
        try:
            props, textures = parse_mtl(text, mtl_path, device)
        except MeshFileError as error:
            raise MeshFileError(
                error.path,
                f"{error.message} (material file named by {named_by})",
                error.line_number,
                error.line,
            ) from None
        read_any = True
        for name, values in props.items():
            properties.setdefault(name, {}).update(values)
        for name, file_name in textures.items():
            texture_files[name] = (file_name, mtl_path.parent)
    if not read_any:
        return None, None

    used = list(material_names)
    if not used and properties:
        if len(properties) > 1:
            raise MeshFileError(
                obj_path,
                f"the material files define {len(properties)} materials "
                f"({', '.join(properties)}) but the OBJ has no 'usemtl name' line saying "
                "which to use",
            )
        used.append(next(iter(properties)))

    device = make_device(device)
    material_colors: MaterialProperties = {}
    texture_images: TextureImages = {}
    for name in used:
        if name not in properties:
            warnings.warn(
                f"{obj_path} uses material {name!r}, which no material file defines; its "
                "faces get no material",
                UserWarning,
                stacklevel=_STACKLEVEL,
            )
            continue
        material_colors[name] = properties[name]
        if name not in texture_files:
            continue
        file_name, mtl_folder = texture_files[name]
        try:
            found, first = _find_texture(file_name, mtl_folder, root, root)
        except PermissionError:
            warnings.warn(
                f"texture image {file_name!r} of material {name!r} (used by {obj_path}) "
                f"lies outside the mesh's folder {os.fspath(root.resolve())!r}; it is not "
                "read, and the material has no texture",
                UserWarning,
                stacklevel=_STACKLEVEL,
            )
            continue
        if found is None:
            warnings.warn(  # "Texture file does not exist": PyTorch3D's wording, kept first
                f"Texture file does not exist: texture image {file_name!r} of material "
                f"{name!r} (used by {obj_path}) does not exist "
                f"(looked for {os.fspath(first)!r}); the material has no "
                "texture",
                UserWarning,
                stacklevel=_STACKLEVEL,
            )
            continue
        try:
            image = read_texture_image(found)
        except (OSError, ValueError) as error:
            warnings.warn(
                f"texture image {os.fspath(found)!r} of material {name!r} (used by "
                f"{obj_path}) is not loaded: {error}; the material has no texture",
                UserWarning,
                stacklevel=_STACKLEVEL,
            )
            continue
        texture_images[name] = image.to(device)
    return material_colors, texture_images


def load_mtl(
    f: str | os.PathLike[str],
    *,
    material_names: list[str],
    data_dir: str | os.PathLike[str],
    device: Device = "cpu",
    path_manager: object = None,
) -> tuple[MaterialProperties, TextureImages]:
    """Load the materials ``material_names`` from the MTL file ``f`` (PyTorch3D's ``load_mtl``).

    Args:
        f: path of the MTL file.
        material_names: the materials to keep (as used by an OBJ).
        data_dir: folder of the OBJ; texture files are looked up relative to the MTL file
            and to this folder, and nothing outside it is read.
        device: where to put the tensors.
        path_manager: must be None (iopath is not supported).

    Returns:
        ``(material_properties, texture_images)`` as described in the module docstring.
    """
    if path_manager is not None:
        raise unsupported("path_manager", path_manager)
    root = Path(os.fspath(data_dir))
    mtl_path = Path(os.fspath(f))
    if not mtl_path.exists():
        raise FileNotFoundError(f"no such file: {os.fspath(mtl_path)!r}")
    colors, images = load_materials(
        material_names,
        [(mtl_path, os.fspath(f), None)],
        obj_path=os.fspath(f),
        root=root,
        device=device,
    )
    return colors or {}, images or {}


# --- PyTorch3D's private helpers, kept under its names for code and tests that import them ---
def _parse_mtl(
    f: str | os.PathLike[str], path_manager: object = None, device: Device = "cpu"
) -> tuple[MaterialProperties, dict[str, str]]:
    """Read and parse the MTL file ``f`` (through ``path_manager.open`` when given)."""
    if path_manager is not None:
        with path_manager.open(os.fspath(f), "r") as handle:
            text = handle.read()
    else:
        text = Path(f).read_text(encoding="utf-8", errors="replace")
    return parse_mtl(text, f, device=device)


def _bilinear_interpolation_grid_sample(image: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """Sample ``image`` ``(H, W, C)`` at ``grid`` ``(N, R, R, 2)`` (``grid_sample`` coordinates,
    x then y in [-1, 1], corners aligned); returns ``(N, R, R, C)``."""
    n = grid.shape[0]
    batch = image.permute(2, 0, 1)[None].expand(n, -1, -1, -1)
    out = torch.nn.functional.grid_sample(batch, grid, align_corners=True, mode="bilinear")
    return out.permute(0, 2, 3, 1)


#: PyTorch3D keeps a second, slower implementation of the same sampling for reference.
_bilinear_interpolation_vectorized = _bilinear_interpolation_grid_sample


# --------------------------------------------------------------------------- texture atlas
def _atlas_barycentrics(size: int, device: torch.device) -> torch.Tensor:
    """``(R, R, 3)`` barycentric coordinates of the texel centres of an ``R x R`` atlas.

    The face's triangle (corners at barycentric ``w0 = 1``, ``w1 = 1``, ``w2 = 1``) is cut
    into ``R * R`` small triangles: cell ``(row i, column j)`` with ``i + j < R`` is the
    upright triangle whose centroid is ``w0 = (j + 1/3) / R``, ``w1 = (i + 1/3) / R``; a
    cell above the anti-diagonal is the upside-down triangle of the mirrored cell
    ``(R - 1 - i, R - 1 - j)``, centroid ``((R - 1 - j) + 2/3) / R``, ... (SoftRas's layout,
    which ``TexturesAtlas`` samples).
    """
    rows = torch.arange(size, device=device, dtype=torch.float32)[:, None].expand(size, size)
    cols = torch.arange(size, device=device, dtype=torch.float32)[None, :].expand(size, size)
    below = (rows + cols) < size
    w0 = torch.where(below, (cols + 1.0 / 3.0) / size, (size - 1.0 - cols + 2.0 / 3.0) / size)
    w1 = torch.where(below, (rows + 1.0 / 3.0) / size, (size - 1.0 - rows + 2.0 / 3.0) / size)
    return torch.stack([w0, w1, 1.0 - w0 - w1], dim=-1)


def make_material_atlas(
    image: torch.Tensor, faces_verts_uvs: torch.Tensor, texture_size: int
) -> torch.Tensor:
    """Sample a texture image into an ``R x R`` texel grid per face (a texture atlas).

    Args:
        image: ``(H, W, C)`` image, row 0 at the **bottom** (v = 0), i.e. flipped from
            how images are stored (:func:`make_mesh_texture_atlas` flips it).
        faces_verts_uvs: ``(F, 3, 2)`` (u, v) of each face's three corners.
        texture_size: ``R``.

    Returns:
        ``(F, R, R, C)``: texel ``[f, i, j]`` is the image (bilinear, texel centres at
        u, v = 0 and 1) at the (u, v) of the cell's centroid (see
        :func:`_atlas_barycentrics`).
    """
    bary = _atlas_barycentrics(texture_size, faces_verts_uvs.device).to(faces_verts_uvs.dtype)
    # (F, 1, 1, 3, 2) weighted by (R, R, 3, 1) and summed over the corners: (F, R, R, 2).
    uv = (faces_verts_uvs[:, None, None] * bary[..., None]).sum(dim=-2)
    F_ = uv.shape[0]
    maps = image.permute(2, 0, 1)[None].expand(F_, -1, -1, -1).to(uv.dtype)
    texels = torch.nn.functional.grid_sample(
        maps, uv * 2.0 - 1.0, mode="bilinear", align_corners=True
    )  # (F, C, R, R)
    return texels.permute(0, 2, 3, 1)


def make_mesh_texture_atlas(
    material_properties: MaterialProperties | None,
    texture_images: TextureImages | None,
    face_material_names: np.ndarray,
    faces_uvs: torch.Tensor,
    verts_uvs: torch.Tensor,
    texture_size: int,
    texture_wrap: str | None,
) -> torch.Tensor:
    """A per-face texture atlas ``(F, R, R, 3)`` from an OBJ's materials (PyTorch3D's rules).

    Faces start white; a face whose material has a diffuse colour ``Kd`` takes it; a face
    whose material has a texture image takes the image sampled over the face (not
    multiplied by ``Kd``, as in PyTorch3D and SoftRas).

    Args:
        material_properties: ``name -> {"diffuse_color": (3,), ...}`` (or None).
        texture_images: ``name -> (H, W, 3 or 4)`` images in [0, 1], row 0 at the top.
        face_material_names: ``(F,)`` array of each face's material name ("" for none).
        faces_uvs: ``(F, 3)`` int64 indices into ``verts_uvs`` (-1 without uvs).
        verts_uvs: ``(T, 2)`` texture coordinates (may be empty).
        texture_size: ``R``.
        texture_wrap: for (u, v) outside [0, 1]: ``"repeat"`` (keep the fractional part,
            with a warning; coordinates inside [0, 1], 1 included, stay), ``"clamp"``, or
            None (leave them; the sampling clamps).

    Returns:
        ``(F, R, R, 3)`` float32 atlas.
    """
    R = int(texture_size)
    F_ = faces_uvs.shape[0]
    device = faces_uvs.device
    atlas = torch.ones((F_, R, R, 3), dtype=torch.float32, device=device)
    names = np.asarray(face_material_names)
    for name, props in (material_properties or {}).items():
        chosen = torch.from_numpy(names == name).to(device)
        if "diffuse_color" in props and bool(chosen.any()):
            atlas[chosen] = props["diffuse_color"].to(device, torch.float32)
    if not texture_images or verts_uvs is None or len(verts_uvs) == 0:
        return atlas
    faces_verts_uvs = verts_uvs[faces_uvs.clamp(min=0)]  # (F, 3, 2)
    if texture_wrap == "repeat":
        if bool(((faces_verts_uvs > 1) | (faces_verts_uvs < 0)).any()):
            warnings.warn(
                "Texture UV coordinates outside the range [0, 1]. The integer part will be "
                "ignored to form a repeating pattern (texture_wrap='repeat').",
                UserWarning,
                stacklevel=4,
            )
            # Only the coordinates outside [0, 1] wrap: PyTorch3D takes ``% 1`` of all of
            # them, which also moves the texture's right/top edge (u or v = 1) to 0.
            outside = (faces_verts_uvs > 1) | (faces_verts_uvs < 0)
            faces_verts_uvs = torch.where(outside, faces_verts_uvs % 1, faces_verts_uvs)
    elif texture_wrap == "clamp":
        faces_verts_uvs = faces_verts_uvs.clamp(0.0, 1.0)
    for name, image in texture_images.items():
        chosen = torch.from_numpy(names == name).to(device)
        if not bool(chosen.any()):
            continue
        # Row 0 of the stored image is v = 1: flip so that row 0 is v = 0.
        flipped = torch.flip(image[..., :3], dims=[0]).to(faces_verts_uvs.dtype)
        atlas[chosen] = make_material_atlas(flipped, faces_verts_uvs[chosen], R).to(atlas.dtype)
    return atlas
