"""``pytorch3d.renderer.mesh.utils``: rectangle packing for joining UV texture maps.

PyTorch3D packs the texture maps of several meshes into one image when
``TexturesUV.join_scene`` is called; the built-in backend does not implement that
packing, so these names raise ``NotImplementedError`` (``Rectangle`` is the plain
record type).
"""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = ["Rectangle", "pack_rectangles", "pack_unique_rectangles"]


class Rectangle(NamedTuple):
    """A rectangle to place: size ``xsize x ysize`` and an identifier."""

    xsize: int
    ysize: int
    identifier: int


def _not_built_in(name: str) -> NotImplementedError:
    return NotImplementedError(
        f"{name} (texture-atlas rectangle packing) is not implemented by the course's "
        "built-in backend; install real PyTorch3D and set COURSE_BACKEND=pytorch3d."
    )


def pack_rectangles(sizes: Any) -> Any:
    """Raises ``NotImplementedError`` (see the module docstring)."""
    raise _not_built_in("pack_rectangles")


def pack_unique_rectangles(rectangles: Any) -> Any:
    """Raises ``NotImplementedError`` (see the module docstring)."""
    raise _not_built_in("pack_unique_rectangles")
