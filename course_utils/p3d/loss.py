"""``pytorch3d.loss``: losses and mesh regularisers (chamfer, Laplacian, edge, normal consistency).

Filled from the backend chosen by ``COURSE_BACKEND`` (see :mod:`course_utils.p3d`).
"""

from course_utils.p3d._facade import expose

expose(__name__, "loss")
