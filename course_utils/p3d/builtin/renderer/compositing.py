"""``pytorch3d.renderer.compositing``: the point compositing functions.

They live in :mod:`.points.compositor`; this module gives them PyTorch3D's module name.
"""

from course_utils.p3d.builtin.renderer.points.compositor import (
    alpha_composite,
    norm_weighted_sum,
    weighted_sum,
)

__all__ = ["alpha_composite", "norm_weighted_sum", "weighted_sum"]
