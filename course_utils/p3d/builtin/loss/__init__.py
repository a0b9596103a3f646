"""Built-in ``pytorch3d.loss``: losses and mesh regularisers.

Each module lists its public names in ``__all__``; they are re-exported here.
"""

from course_utils.p3d.builtin.loss import (
    chamfer,
    mesh_edge_loss,
    mesh_laplacian_smoothing,
    mesh_normal_consistency,
)

_MODULES = (chamfer, mesh_edge_loss, mesh_laplacian_smoothing, mesh_normal_consistency)

__all__ = sorted({name for module in _MODULES for name in module.__all__})
globals().update({name: getattr(module, name) for module in _MODULES for name in module.__all__})
