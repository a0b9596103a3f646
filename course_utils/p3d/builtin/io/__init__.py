"""Built-in ``pytorch3d.io``: reading and writing meshes and point clouds.

=====================  =====================================================================
``load_obj``           OBJ (+ MTL materials, texture images) -> ``(verts, faces, aux)``
``load_objs_as_meshes``  OBJ files -> a ``Meshes`` batch (``TexturesUV`` when textured)
``save_obj``           a mesh (+ optional normals, uvs and texture image) -> OBJ/MTL/PNG
``load_ply``           PLY (ASCII or binary) -> ``(verts, faces)``
``save_ply``           a mesh or point set -> PLY
``IO``                 load/save meshes and point clouds, format chosen by the extension
=====================  =====================================================================

Bad files raise :class:`~course_utils.p3d.builtin.io.errors.MeshFileError`, a
``ValueError`` whose message names the file, the line and what was expected; missing or
out-of-folder material/texture files give a ``UserWarning`` and are skipped.
"""

from course_utils.p3d.builtin.io.errors import MeshFileError as MeshFileError
from course_utils.p3d.builtin.io.obj_io import load_obj, load_objs_as_meshes, save_obj
from course_utils.p3d.builtin.io.pluggable import IO
from course_utils.p3d.builtin.io.ply_io import load_ply, save_ply

# The names of pytorch3d.io; MeshFileError is extra (reachable as io.MeshFileError, but
# not listed, so code written against the facade stays portable to real PyTorch3D).
__all__ = ["IO", "load_obj", "load_objs_as_meshes", "load_ply", "save_obj", "save_ply"]
