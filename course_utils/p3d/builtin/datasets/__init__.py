"""Built-in ``pytorch3d.datasets``: ShapeNetCore and R2N2 as torch Datasets, and batching.

``ShapeNetBase.render`` (and so ``ShapeNetCore.render``/``R2N2.render``) is not built
in; render the collated ``mesh`` with a ``MeshRenderer`` instead.
``render_cubified_voxels`` renders voxel grids as cubes. Textures: see
:meth:`ShapeNetBase._load_mesh`.
"""

from course_utils.p3d.builtin.datasets.r2n2.r2n2 import R2N2
from course_utils.p3d.builtin.datasets.r2n2.utils import (
    BlenderCamera,
    collate_batched_R2N2,
    render_cubified_voxels,
)
from course_utils.p3d.builtin.datasets.shapenet.shapenet_core import ShapeNetCore
from course_utils.p3d.builtin.datasets.shapenet_base import ShapeNetBase
from course_utils.p3d.builtin.datasets.utils import collate_batched_meshes

__all__ = [
    "BlenderCamera",
    "R2N2",
    "ShapeNetBase",
    "ShapeNetCore",
    "collate_batched_R2N2",
    "collate_batched_meshes",
    "render_cubified_voxels",
]
