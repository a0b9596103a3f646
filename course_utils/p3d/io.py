"""``pytorch3d.io``: reading and writing meshes and point clouds (OBJ/MTL, PLY, IO).

Filled from the backend chosen by ``COURSE_BACKEND`` (see :mod:`course_utils.p3d`).
"""

from course_utils.p3d._facade import expose

expose(__name__, "io")
