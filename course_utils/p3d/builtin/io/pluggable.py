"""The ``IO`` class: load and save meshes and point clouds, choosing the format by extension.

PyTorch3D's ``IO`` keeps a list of *format interpreters* and asks each in turn whether
it handles a path (by its extension, case-insensitively). The built-in backend ships the
two formats the course uses:

=========  ========================================================================
``.obj``   meshes, with a ``TexturesUV`` when the material has a texture image
           (see :mod:`obj_io`)
``.ply``   meshes (``TexturesVertex`` from per-vertex ``red green blue``) and point
           clouds (colours as ``features``, ``nx ny nz`` as normals; see :mod:`ply_io`)
=========  ========================================================================

Registering further formats (``register_meshes_format``) is not supported.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import torch

from course_utils.p3d.builtin.common import Device, make_device, unsupported
from course_utils.p3d.builtin.io.obj_io import load_objs_as_meshes, save_obj
from course_utils.p3d.builtin.io.path_manager import local_path
from course_utils.p3d.builtin.io.ply_io import _load_ply, _save_ply

PathOrStr = str | os.PathLike[str]

_MESH_SUFFIXES = (".obj", ".ply")
_POINTCLOUD_SUFFIXES = (".ply",)


def _suffix_of(path: PathOrStr) -> str:
    return os.path.splitext(os.fspath(path))[1].lower()


class IO:
    """Load and save meshes and point clouds in the formats the course uses (OBJ, PLY).

    Args:
        include_default_formats: register the OBJ and PLY formats (with False, nothing
            can be loaded, as in PyTorch3D, and registering formats is not supported).
        path_manager: None, or an ``iopath`` ``PathManager`` for local paths.

    Example::

        from course_utils.p3d.io import IO
        mesh = IO().load_mesh("data/die.obj", device="cpu")   # Meshes with a TexturesUV
        IO().save_mesh(mesh, "die_copy.ply")                  # geometry as PLY
    """

    def __init__(self, include_default_formats: bool = True, path_manager: object = None) -> None:
        local_path("", path_manager)  # only a manager of local files is accepted
        self.path_manager = path_manager
        self._mesh_suffixes: tuple[str, ...] = ()
        self._pointcloud_suffixes: tuple[str, ...] = ()
        if include_default_formats:
            self.register_default_formats()

    def register_default_formats(self) -> None:
        """Enable the built-in formats: OBJ and PLY meshes, PLY point clouds."""
        self._mesh_suffixes = _MESH_SUFFIXES
        self._pointcloud_suffixes = _POINTCLOUD_SUFFIXES

    def register_meshes_format(self, interpreter: object) -> None:
        """Not supported by the built-in backend (raises ``NotImplementedError``)."""
        raise unsupported("register_meshes_format", type(interpreter).__name__)

    def register_pointcloud_format(self, interpreter: object) -> None:
        """Not supported by the built-in backend (raises ``NotImplementedError``)."""
        raise unsupported("register_pointcloud_format", type(interpreter).__name__)

    # ------------------------------------------------------------------ helpers
    def _mesh_format(self, path: PathOrStr, verb: str) -> str:
        suffix = _suffix_of(path)
        if suffix not in self._mesh_suffixes:
            supported = ", ".join(self._mesh_suffixes) or "none registered"
            raise ValueError(
                f"No mesh interpreter found to {verb} {os.fspath(path)!r}: the extension "
                f"{suffix or '(none)'!r} is not a supported mesh format (supported: "
                f"{supported})."
            )
        return suffix

    def _pointcloud_format(self, path: PathOrStr, verb: str) -> str:
        suffix = _suffix_of(path)
        if suffix not in self._pointcloud_suffixes:
            supported = ", ".join(self._pointcloud_suffixes) or "none registered"
            raise ValueError(
                f"No point cloud interpreter found to {verb} {os.fspath(path)!r}: the "
                f"extension {suffix or '(none)'!r} is not a supported point cloud format "
                f"(supported: {supported})."
            )
        return suffix

    # ------------------------------------------------------------------ meshes
    def load_mesh(
        self,
        path: PathOrStr,
        include_textures: bool = True,
        device: Device = "cpu",
        **kwargs: Any,
    ) -> Any:
        """Load one mesh from ``path`` (``.obj`` or ``.ply``).

        Args:
            path: the file.
            include_textures: attach textures: a ``TexturesUV`` for a textured OBJ, a
                ``TexturesVertex`` for a PLY with ``red green blue`` vertex properties
                (uchar values are divided by 255, float values are kept), else a
                ``TexturesUV`` for a PLY with ``texture_u texture_v`` vertex properties and a
                ``comment TextureFile image.png`` header line (the image in its folder).
            device: where to put the mesh.
            **kwargs: for OBJ files, ``create_texture_atlas``, ``texture_atlas_size`` and
                ``texture_wrap`` as in ``load_obj``; others are ignored.

        Returns:
            A ``Meshes`` with one mesh (PLY normals become its vertex normals).

        Raises:
            ValueError: the extension is not supported, or the file is malformed.
            FileNotFoundError: the file does not exist.
        """
        suffix = self._mesh_format(path, "read")
        device = make_device(device)
        if suffix == ".obj":
            return load_objs_as_meshes(
                [path],
                device=device,
                load_textures=include_textures,
                create_texture_atlas=kwargs.get("create_texture_atlas", False),
                texture_atlas_size=kwargs.get("texture_atlas_size", 4),
                texture_wrap=kwargs.get("texture_wrap", "repeat"),
            )
        from course_utils.p3d.builtin.structures import Meshes

        data = _load_ply(path)
        faces = data.faces if data.faces is not None else torch.zeros((0, 3), dtype=torch.int64)
        textures = None
        if include_textures and data.verts_colors is not None:
            from course_utils.p3d.builtin.renderer.mesh.textures import TexturesVertex

            textures = TexturesVertex(verts_features=[data.verts_colors.to(device)])
        elif include_textures and data.verts_uvs is not None:
            textures = _ply_uv_texture(path, data.comments, faces, data.verts_uvs, device)
        normals = None if data.verts_normals is None else [data.verts_normals.to(device)]
        return Meshes(
            verts=[data.verts.to(device)],
            faces=[faces.to(device)],
            textures=textures,
            verts_normals=normals,
        )

    def save_mesh(
        self,
        data: Any,
        path: PathOrStr,
        binary: bool | None = True,
        include_textures: bool = True,
        **kwargs: Any,
    ) -> None:
        """Save a ``Meshes`` holding exactly one mesh to ``path`` (``.obj`` or ``.ply``).

        Args:
            data: the mesh (``len(data) == 1``).
            path: the output file; for a textured OBJ, ``<stem>.mtl`` and ``<stem>.png``
                are written next to it.
            binary: for PLY, write binary (True/None) or ASCII (False).
            include_textures: write the ``TexturesUV`` map (OBJ) or the
                ``TexturesVertex`` colours (PLY, when they have 3 channels).
            **kwargs: ``decimal_places`` (OBJ and ASCII PLY) and ``colors_as_uint8`` (PLY:
                colours as uchar 0..255 instead of float).

        Raises:
            ValueError: ``data`` is not a single mesh, or the extension is not supported.
        """
        from course_utils.p3d.builtin.structures import Meshes

        if not isinstance(data, Meshes):
            raise ValueError(f"Meshes object expected, got {type(data).__name__}.")
        if len(data) != 1:
            raise ValueError(f"Can only save a single mesh, got a batch of {len(data)}.")
        suffix = self._mesh_format(path, "write")
        verts = data.verts_list()[0]
        faces = data.faces_list()[0]
        decimal_places = kwargs.get("decimal_places")
        textures = data.textures if include_textures else None
        if textures is not None:
            from course_utils.p3d.builtin.renderer.mesh.textures import TexturesUV, TexturesVertex
        if suffix == ".obj":
            verts_uvs = faces_uvs = texture_map = None
            if textures is not None and isinstance(textures, TexturesUV):
                verts_uvs = textures.verts_uvs_list()[0]
                faces_uvs = textures.faces_uvs_list()[0]
                texture_map = textures.maps_list()[0]
            save_obj(
                path,
                verts,
                faces,
                decimal_places=decimal_places,
                verts_uvs=verts_uvs,
                faces_uvs=faces_uvs,
                texture_map=texture_map,
            )
            return
        verts_colors = None
        if textures is not None and isinstance(textures, TexturesVertex):
            features = textures.verts_features_list()[0]
            if features.shape[1] == 3:
                verts_colors = features
            else:
                warnings.warn(
                    f"Texture will not be saved as it has {features.shape[1]} colors, not 3.",
                    UserWarning,
                    stacklevel=2,
                )
        verts_normals = data.verts_normals_list()[0] if data.has_verts_normals() else None
        _save_ply(
            path,
            verts=verts,
            faces=faces,
            verts_normals=verts_normals,
            verts_colors=verts_colors,
            ascii=binary is False,
            decimal_places=decimal_places,
            colors_as_uint8=bool(kwargs.get("colors_as_uint8", False)),
        )

    # ------------------------------------------------------------------ point clouds
    def load_pointcloud(self, path: PathOrStr, device: Device = "cpu", **kwargs: Any) -> Any:
        """Load a point cloud from a ``.ply`` file.

        Args:
            path: the file; its vertices are the points.
            device: where to put the point cloud.
            **kwargs: ignored.

        Returns:
            A ``Pointclouds`` with one cloud: ``red green blue`` become ``features``
            ((P, 3), uchar values divided by 255) and ``nx ny nz`` the normals.
        """
        from course_utils.p3d.builtin.structures import Pointclouds

        self._pointcloud_format(path, "read")
        device = make_device(device)
        data = _load_ply(path)
        features = None if data.verts_colors is None else [data.verts_colors.to(device)]
        normals = None if data.verts_normals is None else [data.verts_normals.to(device)]
        return Pointclouds(points=[data.verts.to(device)], normals=normals, features=features)

    def save_pointcloud(
        self,
        data: Any,
        path: PathOrStr,
        binary: bool | None = True,
        **kwargs: Any,
    ) -> None:
        """Save a ``Pointclouds`` holding one cloud to a ``.ply`` file.

        Args:
            data: the point cloud (its features, when they have 3 channels, are written as
                colours; its normals as ``nx ny nz``).
            path: the output file.
            binary: write binary (True/None) or ASCII (False).
            **kwargs: ``decimal_places`` (ASCII) and ``colors_as_uint8``.

        Raises:
            ValueError: ``data`` is not a single point cloud, or the extension is not
                supported.
        """
        from course_utils.p3d.builtin.structures import Pointclouds

        if not isinstance(data, Pointclouds):
            raise ValueError(f"Pointclouds object expected, got {type(data).__name__}.")
        if len(data) != 1:
            raise ValueError(f"Can only save a single point cloud, got a batch of {len(data)}.")
        self._pointcloud_format(path, "write")
        points = data.points_list()[0]
        features = data.features_list()[0] if data.features_list() is not None else None
        normals = data.normals_list()[0] if data.normals_list() is not None else None
        if features is not None and features.shape[1] != 3:
            warnings.warn(
                f"Features will not be saved as they have {features.shape[1]} channels, "
                "not 3 (colours).",
                UserWarning,
                stacklevel=2,
            )
            features = None
        _save_ply(
            path,
            verts=points,
            faces=None,
            verts_normals=normals,
            verts_colors=features,
            ascii=binary is False,
            decimal_places=kwargs.get("decimal_places"),
            colors_as_uint8=bool(kwargs.get("colors_as_uint8", False)),
        )


def _ply_uv_texture(
    path: PathOrStr, comments: list[str], faces: torch.Tensor, uvs: torch.Tensor, device: Any
) -> Any:
    """A PLY's ``TexturesUV``: per-vertex ``texture_u texture_v`` and a ``TextureFile`` image.

    As in PyTorch3D, the image is named by the last word of the (last) header comment
    containing ``TextureFile`` and is looked up in the PLY's folder; each face uses the
    uvs of its own vertices. Without such a comment there is no texture. An image outside
    the PLY's folder is not read, and one that cannot be read leaves the mesh untextured
    (both with a warning).

    Args:
        path: the PLY file.
        comments: its header comments.
        faces: ``(F, 3)`` vertex indices.
        uvs: ``(V, 2)`` texture coordinates.
        device: where to put the texture.
    """
    from pathlib import Path

    from course_utils.p3d.builtin.io.errors import contained
    from course_utils.p3d.builtin.io.mtl_io import read_texture_image
    from course_utils.p3d.builtin.renderer.mesh.textures import TexturesUV

    names = [c.split(" ")[-1] for c in comments if "TextureFile" in c]
    if not names:
        return None
    folder = Path(os.fspath(path)).parent
    image_path, inside = contained(folder, folder / names[-1])
    if not inside:
        warnings.warn(
            f"{os.fspath(path)}: the TextureFile {names[-1]!r} lies outside the mesh's folder; "
            "it is not read and the mesh has no texture",
            UserWarning,
            stacklevel=3,
        )
        return None
    try:
        image = read_texture_image(image_path)
    except (OSError, ValueError) as error:
        warnings.warn(
            f"{os.fspath(path)}: cannot read the TextureFile {names[-1]!r} ({error}); "
            "the mesh has no texture",
            UserWarning,
            stacklevel=3,
        )
        return None
    return TexturesUV(
        maps=[image.to(device)], faces_uvs=[faces.to(device)], verts_uvs=[uvs.to(device)]
    )
