"""Built-in ``pytorch3d.datasets.r2n2``: the R2N2 dataset, its camera and its batching."""

from course_utils.p3d.builtin.datasets.r2n2.r2n2 import R2N2
from course_utils.p3d.builtin.datasets.r2n2.utils import (
    BlenderCamera,
    collate_batched_R2N2,
    render_cubified_voxels,
)

__all__ = ["R2N2", "BlenderCamera", "collate_batched_R2N2", "render_cubified_voxels"]
