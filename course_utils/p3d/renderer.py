"""``pytorch3d.renderer``: cameras, look-at helpers, textures and (later) rasterizers and shaders.

Filled from the backend chosen by ``COURSE_BACKEND`` (see :mod:`course_utils.p3d`).
"""

from course_utils.p3d._facade import expose

expose(__name__, "renderer")
