"""``pytorch3d.utils``: ready-made meshes: ico_sphere, torus.

Filled from the backend chosen by ``COURSE_BACKEND`` (see :mod:`course_utils.p3d`).
"""

from course_utils.p3d._facade import expose

expose(__name__, "utils")
