"""Built-in ``pytorch3d.datasets.shapenet``: ShapeNetCore v1/v2."""

from course_utils.p3d.builtin.datasets.shapenet.shapenet_core import ShapeNetCore

__all__ = ["ShapeNetCore"]
