"""``pytorch3d.renderer.splatter_blend``: not part of the built-in backend.

PyTorch3D's ``SplatterBlender`` (the blending step of ``SplatterPhongShader``) raises
``NotImplementedError`` here; the module exists so that code importing it loads.
"""

from __future__ import annotations

from typing import Any

from torch import nn

__all__ = ["SplatterBlender"]


class SplatterBlender(nn.Module):
    """Raises ``NotImplementedError``: splatting is not in the built-in backend."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(
            "SplatterBlender (PyTorch3D's splatting blend) is not implemented by the course's "
            "built-in backend; use softmax_rgb_blend (SoftPhongShader), or install real "
            "PyTorch3D and set COURSE_BACKEND=pytorch3d."
        )
