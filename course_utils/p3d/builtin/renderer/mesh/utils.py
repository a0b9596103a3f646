"""``pytorch3d.renderer.mesh.utils``: rectangle packing for joining UV texture maps.

Joining several textured meshes into one scene needs one texture image holding all their
maps. ``pack_rectangles`` finds where to put each map (optionally turned by 90 degrees):
a simple greedy "shelf" packer with PyTorch3D's rules, so the layout (and the joined
texture) is the same as PyTorch3D's:

1. Turn every rectangle to lie flat (``x >= y``) and sort them, biggest first.
2. The biggest lies at the bottom, ``(0, 0)``: its width is the width of the result.
   The second goes on top of it at ``x = 0``.
3. Each further rectangle (flat, else upright) goes to the right of the ones already
   placed, as low as there is a run of free height for it within the width; failing
   that, it starts a new row on top at ``x = 0``.

The right-hand outline of what has been placed is kept as a staircase: a list of steps
``(x_extent, y_top)`` from the bottom up, meaning "between the previous step's ``y_top``
and this ``y_top`` the space is taken up to ``x_extent``".

The sizes are Python ints (pixels), so plain Python is the right tool here: the loop is
over the maps of a batch (a handful), not over pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

__all__ = [
    "PackedRectangle",
    "PackedRectangles",
    "Rectangle",
    "pack_rectangles",
    "pack_unique_rectangles",
]


class Rectangle(NamedTuple):
    """A rectangle to place: size ``xsize x ysize`` and an identifier."""

    xsize: int
    ysize: int
    identifier: int


class PackedRectangle(NamedTuple):
    """Where a rectangle went: lower corner ``(x, y)``, whether it was turned by 90
    degrees (then it occupies ``ysize x xsize``), and whether it is the first rectangle
    with its identifier (later ones share the first one's place)."""

    x: int
    y: int
    flipped: bool
    is_first: bool


class PackedRectangles(NamedTuple):
    """The size ``(x, y)`` of the packed image and one :class:`PackedRectangle` per input."""

    total_size: tuple[int, int]
    locations: list[PackedRectangle]


class _Pending(NamedTuple):
    """A rectangle still to place: its (possibly turned) size, input index, turned or not."""

    size: tuple[int, int]
    ind: int
    flipped: bool


def _place_beside(
    rect: _Pending, placed: list[PackedRectangle], steps: list[tuple[int, int]]
) -> bool:
    """Put ``rect`` right of the staircase ``steps`` if it fits; update both. True on success.

    Scans the steps from the bottom up, collecting a run of consecutive steps that leave
    ``rect``'s width free within the total width (that of the bottom rectangle). Once the
    run is as tall as ``rect``, ``rect`` goes at the run's largest extent, at the run's
    bottom; the run's steps are replaced by ``rect``'s right edge.
    """
    width = steps[0][0]
    rect_w, rect_h = rect.size
    run_start: int | None = None
    run_height = 0
    run_extent = 0
    below = 0  # y_top of the previous step
    for idx, (extent, top) in enumerate(steps):
        if extent > width - rect_w:  # too far right: the run is broken
            run_start, run_height, run_extent = None, 0, 0
            below = top
            continue
        if run_start is None:
            run_start = idx
        run_height += top - below
        run_extent = max(run_extent, extent)
        if run_height >= rect_h:
            bottom = steps[run_start - 1][1]
            placed[rect.ind] = PackedRectangle(run_extent, bottom, rect.flipped, True)
            new_step = (run_extent + rect_w, bottom + rect_h)
            if run_height == rect_h:  # rect covers the whole run
                steps[run_start : idx + 1] = [new_step]
            elif idx > run_start:  # the last step of the run sticks out above rect
                steps[run_start:idx] = [new_step]
            else:  # a single step, taller than rect: split it
                steps.insert(idx, new_step)
            return True
        below = top
    return False


def pack_rectangles(sizes: Sequence[tuple[int, int]]) -> PackedRectangles:
    """Pack rectangles (turning some by 90 degrees) into one larger rectangle.

    Args:
        sizes: at least two ``(xsize, ysize)`` pairs of positive ints.

    Returns:
        :class:`PackedRectangles`: the total ``(x, y)`` size and, per input, its lower
        corner and whether it was turned (``is_first`` is always True).

    Raises:
        ValueError: fewer than two rectangles.
    """
    if len(sizes) < 2:
        raise ValueError("Cannot pack less than two boxes")
    pending = sorted(
        _Pending((int(y), int(x)), i, True) if x < y else _Pending((int(x), int(y)), i, False)
        for i, (x, y) in enumerate(sizes)
    )
    placed = [PackedRectangle(-1, -1, False, False)] * len(sizes)
    biggest, second = pending.pop(), pending.pop()
    total_width, height = biggest.size
    placed[biggest.ind] = PackedRectangle(0, 0, biggest.flipped, True)
    placed[second.ind] = PackedRectangle(0, height, second.flipped, True)
    height += second.size[1]
    steps = [biggest.size, (second.size[0], height)]
    for rect in reversed(pending):  # biggest first
        turned = _Pending((rect.size[1], rect.size[0]), rect.ind, not rect.flipped)
        if _place_beside(rect, placed, steps) or _place_beside(turned, placed, steps):
            continue
        placed[rect.ind] = PackedRectangle(0, height, rect.flipped, True)  # a new row
        height += rect.size[1]
        steps.append((rect.size[0], height))
    return PackedRectangles((total_width, height), placed)


def pack_unique_rectangles(rectangles: Sequence[Rectangle]) -> PackedRectangles:
    """:func:`pack_rectangles` where rectangles with the same identifier share one place.

    Only the first rectangle with each identifier has ``is_first`` True (its map is the
    one copied into the packed image).

    Args:
        rectangles: at least two :class:`Rectangle`.

    Returns:
        :class:`PackedRectangles`, one location per input rectangle.
    """
    if len(rectangles) < 2:
        raise ValueError("Cannot pack less than two boxes")
    unique_of: dict[int, int] = {}
    unique_sizes: list[tuple[int, int]] = []
    which: list[tuple[int, bool]] = []
    for rect in rectangles:
        first = rect.identifier not in unique_of
        if first:
            unique_of[rect.identifier] = len(unique_sizes)
            unique_sizes.append((rect.xsize, rect.ysize))
        which.append((unique_of[rect.identifier], first))
    if len(unique_sizes) == 1:
        locations = [PackedRectangle(0, 0, False, first) for _, first in which]
        return PackedRectangles(unique_sizes[0], locations)
    total, unique_locations = pack_rectangles(unique_sizes)
    return PackedRectangles(
        total, [unique_locations[u]._replace(is_first=first) for u, first in which]
    )
