"""Built-in ``pytorch3d.vis``: interactive plotly figures and texture-map plots.

=================================  ===========================================================
``plot_scene``                     meshes, point clouds and cameras in rotatable plotly subplots
``plot_batch_individually``        one subplot per batch element
``AxisArgs``, ``Lighting``         axis and mesh-lighting options of those figures
``get_camera_wireframe``           the camera glyph drawn for a camera
``texturesuv_image_matplotlib``    a ``TexturesUV`` map with its UV positions marked
=================================  ===========================================================
"""

from course_utils.p3d.builtin.vis.plotly_vis import (
    AxisArgs,
    Lighting,
    get_camera_wireframe,
    plot_batch_individually,
    plot_scene,
)
from course_utils.p3d.builtin.vis.texture_vis import texturesuv_image_matplotlib

__all__ = [
    "AxisArgs",
    "Lighting",
    "get_camera_wireframe",
    "plot_batch_individually",
    "plot_scene",
    "texturesuv_image_matplotlib",
]
