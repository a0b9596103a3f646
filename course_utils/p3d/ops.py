"""``pytorch3d.ops``: geometric operations (nearest neighbours, sampling, cubify, ...).

Filled from the backend chosen by ``COURSE_BACKEND`` (see :mod:`course_utils.p3d`).
"""

from course_utils.p3d._facade import expose

expose(__name__, "ops")
