"""``pytorch3d.transforms``: 3D transforms: rotation conversions, so3 exp/log maps, Transform3d.

Filled from the backend chosen by ``COURSE_BACKEND`` (see :mod:`course_utils.p3d`).
"""

from course_utils.p3d._facade import expose

expose(__name__, "transforms")
