"""``pytorch3d.renderer.fisheyecameras``: not part of the built-in backend.

PyTorch3D's ``FishEyeCameras`` (radial, tangential and thin-prism lens distortion)
raises ``NotImplementedError`` here; the module exists so that code importing it loads.
"""

from __future__ import annotations

from typing import Any

from course_utils.p3d.builtin.renderer.cameras import CamerasBase

__all__ = ["FishEyeCameras"]


class FishEyeCameras(CamerasBase):
    """Raises ``NotImplementedError``: lens-distortion cameras are not built in."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(
            "FishEyeCameras (lens distortion) is not implemented by the course's built-in "
            "backend; use PerspectiveCameras, or install real PyTorch3D and set "
            "COURSE_BACKEND=pytorch3d."
        )
