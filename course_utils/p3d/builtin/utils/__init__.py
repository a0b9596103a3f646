"""Built-in ``pytorch3d.utils``: ready-made meshes."""

from course_utils.p3d.builtin.utils.ico_sphere import ico_sphere
from course_utils.p3d.builtin.utils.torus import torus

__all__ = ["ico_sphere", "torus"]
