"""Built-in ``pytorch3d.renderer``: cameras, look-at helpers and textures.

The rasterizers, shaders, lights and compositors join this package in the rendering
chapter's work; their names are listed in ``__all__`` only once they exist.
"""

from course_utils.p3d.builtin.renderer.cameras import (
    CamerasBase,
    FoVOrthographicCameras,
    FoVPerspectiveCameras,
    OrthographicCameras,
    PerspectiveCameras,
    get_ndc_to_screen_transform,
    get_screen_to_ndc_transform,
    get_world_to_view_transform,
)
from course_utils.p3d.builtin.renderer.look_at import (
    camera_position_from_spherical_angles,
    look_at_rotation,
    look_at_view_transform,
)
from course_utils.p3d.builtin.renderer.mesh.textures import TexturesBase, TexturesUV, TexturesVertex

__all__ = [
    "CamerasBase",
    "FoVOrthographicCameras",
    "FoVPerspectiveCameras",
    "OrthographicCameras",
    "PerspectiveCameras",
    "camera_position_from_spherical_angles",
    "get_ndc_to_screen_transform",
    "get_screen_to_ndc_transform",
    "get_world_to_view_transform",
    "look_at_rotation",
    "look_at_view_transform",
    "TexturesBase",
    "TexturesUV",
    "TexturesVertex",
]
