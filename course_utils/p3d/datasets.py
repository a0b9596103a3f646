"""``pytorch3d.datasets``: ShapeNetCore and R2N2 as torch Datasets, ``collate_batched_*``.

Filled from the backend chosen by ``COURSE_BACKEND`` (see :mod:`course_utils.p3d`).
The course's own loaders with its item format are in :mod:`course_utils.datasets.real`.
"""

from course_utils.p3d._facade import expose

expose(__name__, "datasets")
