"""Built-in ``pytorch3d.ops``: geometric operations.

Each module lists its public names in ``__all__``; they are re-exported here.

=============================  ===================================================
module                         what it holds
=============================  ===================================================
``interp_face_attrs``          ``interpolate_face_attributes`` (per-pixel attributes)
``knn``                        ``knn_points``, ``knn_gather`` (nearest neighbours)
``sample_points_from_meshes``  area-weighted surface sampling
``cubify``                     voxel grid -> mesh of cubes
``laplacian_matrices``         graph and cotangent Laplacians of meshes
=============================  ===================================================
"""

from course_utils.p3d.builtin.ops import (
    cubify,
    interp_face_attrs,
    knn,
    laplacian_matrices,
    sample_points_from_meshes,
)

_MODULES = (interp_face_attrs, knn, sample_points_from_meshes, cubify, laplacian_matrices)

__all__ = sorted({name for module in _MODULES for name in module.__all__})
globals().update({name: getattr(module, name) for module in _MODULES for name in module.__all__})
