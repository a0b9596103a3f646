"""``pytorch3d.structures``: data structures: Meshes, Pointclouds, join_meshes_as_batch/scene.

Filled from the backend chosen by ``COURSE_BACKEND`` (see :mod:`course_utils.p3d`).
"""

from course_utils.p3d._facade import expose

expose(__name__, "structures")
