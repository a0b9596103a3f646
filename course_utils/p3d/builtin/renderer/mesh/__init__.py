"""Mesh rendering pieces of the built-in renderer (``pytorch3d.renderer.mesh``)."""

import importlib

# Loaded by name: as in PyTorch3D, the package attribute ``rasterize_meshes`` ends up
# being the function, not the module (``sys.modules`` still holds the module).
_MODULES = tuple(
    importlib.import_module(f"{__name__}.{name}")
    for name in (
        "clip",
        "rasterize_meshes",
        "rasterizer",
        "renderer",
        "shader",
        "shading",
        "textures",
    )
)

__all__ = sorted({name for module in _MODULES for name in module.__all__})
globals().update({name: getattr(module, name) for module in _MODULES for name in module.__all__})
