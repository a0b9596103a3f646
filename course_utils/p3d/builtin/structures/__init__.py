"""Built-in ``pytorch3d.structures``: batches of meshes, point clouds and volumes."""

from course_utils.p3d.builtin.structures import utils as utils
from course_utils.p3d.builtin.structures.meshes import (
    Meshes,
    join_meshes_as_batch,
    join_meshes_as_scene,
)
from course_utils.p3d.builtin.structures.pointclouds import (
    Pointclouds,
    join_pointclouds_as_batch,
    join_pointclouds_as_scene,
)
from course_utils.p3d.builtin.structures.utils import (
    list_to_packed,
    list_to_padded,
    packed_to_list,
    padded_to_list,
    padded_to_packed,
)
from course_utils.p3d.builtin.structures.volumes import Volumes

__all__ = [
    "Volumes",
    "Meshes",
    "Pointclouds",
    "join_meshes_as_batch",
    "join_meshes_as_scene",
    "join_pointclouds_as_batch",
    "join_pointclouds_as_scene",
    "list_to_packed",
    "list_to_padded",
    "packed_to_list",
    "padded_to_list",
    "padded_to_packed",
]
