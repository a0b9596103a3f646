"""Point-cloud rendering pieces of the built-in renderer (``pytorch3d.renderer.points``)."""

import importlib

# Loaded by name: the package attribute ``rasterize_points`` ends up being the function.
_MODULES = tuple(
    importlib.import_module(f"{__name__}.{name}")
    for name in ("compositor", "rasterize_points", "rasterizer", "renderer")
)

__all__ = sorted(
    {name for module in _MODULES for name in module.__all__} | {"PulsarPointsRenderer"}
)
globals().update({name: getattr(module, name) for module in _MODULES for name in module.__all__})


class PulsarPointsRenderer:
    """PyTorch3D's Pulsar sphere renderer: not part of the built-in backend.

    Raises ``NotImplementedError``; use :class:`PointsRenderer`, or real PyTorch3D.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        raise NotImplementedError(
            "PulsarPointsRenderer (PyTorch3D's Pulsar renderer) is not implemented by the "
            "course's built-in backend; use PointsRenderer with AlphaCompositor or "
            "NormWeightedCompositor, or install real PyTorch3D and set COURSE_BACKEND=pytorch3d."
        )
