"""``pytorch3d.renderer.compositing``: the point compositing functions (in :mod:`.points.compositor`)."""

from course_utils.p3d.builtin.renderer.points.compositor import (
    alpha_composite,
    norm_weighted_sum,
    weighted_sum,
)

__all__ = ["alpha_composite", "norm_weighted_sum", "weighted_sum"]
