"""Checks the rasterizers and compositors run before they allocate anything.

Two kinds of mistakes would otherwise fail late and obscurely:

* **Settings that are not numbers** (``blur_radius=nan``, ``radius=-0.01``,
  ``z_clip_value=inf``): NaN compares false with everything, so it slips past ``< 0``
  checks and fails deep inside the rasterizer (or silently renders nothing, or renders a
  negative radius as a positive one). :func:`check_number` turns them into a
  ``ValueError`` naming the argument.
* **Outputs too large for memory** (``image_size=100000``): the fragments alone are
  ``N x H x W x K`` slots of several bytes each, and an allocator failure minutes later
  says nothing about why. :func:`check_output_size` estimates the bytes first and raises a
  ``ValueError`` that states the estimate and how to lower it.

The memory budget is 4 GiB by default; the environment variable
``COURSE_MAX_RASTER_BYTES`` changes it (a number of bytes, e.g. ``16e9``; ``0`` or
``inf`` switches the check off). The check runs when rendering, not when the settings are
made, so the settings classes keep PyTorch3D's signatures and behaviour.
"""

from __future__ import annotations

import math
import numbers
import os

__all__ = ["DEFAULT_MAX_RASTER_BYTES", "check_number", "check_output_size", "max_raster_bytes"]

#: Default budget for one rasterizer/compositor output (4 GiB).
DEFAULT_MAX_RASTER_BYTES = 4 * 2**30

_ENV = "COURSE_MAX_RASTER_BYTES"


def max_raster_bytes() -> float:
    """The output budget in bytes: ``$COURSE_MAX_RASTER_BYTES`` or 4 GiB (inf: no limit)."""
    text = os.environ.get(_ENV, "").strip()
    if not text:
        return float(DEFAULT_MAX_RASTER_BYTES)
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{_ENV}={text!r} is not a number of bytes (e.g. 8e9)") from None
    if math.isnan(value) or value < 0:
        raise ValueError(f"{_ENV}={text!r} must be a number of bytes >= 0 (0: no limit)")
    return math.inf if value == 0 else value


def _size(n: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n / 1e3:.1f} kB"


def check_number(
    name: str, value: object, *, minimum: float | None = 0.0, strict: bool = False
) -> float:
    """Return ``value`` as a float; ``ValueError`` naming ``name`` when it is not sane.

    Args:
        name: the argument's name, for the message.
        value: the value given.
        minimum: the smallest allowed value (None: any finite number).
        strict: the value must be above ``minimum``, not equal to it.

    Raises:
        ValueError: not a real number, NaN, infinite, or below the minimum.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number; got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number; got {number}")
    if minimum is not None and (number < minimum or (strict and number == minimum)):
        raise ValueError(f"{name} must be {'>' if strict else '>='} {minimum:g}; got {number:g}")
    return number


def check_output_size(what: str, shape: tuple[int, ...], bytes_per_slot: int, lower: str) -> int:
    """Raise before allocating an output of ``prod(shape) * bytes_per_slot`` bytes too many.

    Args:
        what: who allocates (``"rasterize_meshes"``), for the message.
        shape: ``(N, H, W, K)`` (or any shape) of the per-slot outputs.
        bytes_per_slot: bytes all outputs together hold per slot.
        lower: which arguments make it smaller, e.g. ``"image_size or faces_per_pixel"``.

    Returns:
        The estimate in bytes.

    Raises:
        ValueError: the estimate is above :func:`max_raster_bytes`; the message gives the
            estimate, the budget and how to lower either.
    """
    estimate = math.prod(shape) * bytes_per_slot
    budget = max_raster_bytes()
    if estimate > budget:
        dims = " x ".join(str(s) for s in shape)
        raise ValueError(
            f"{what}: the output would take about {_size(estimate)} ({dims} slots x "
            f"{bytes_per_slot} bytes), over the memory budget of {_size(budget)}; lower "
            f"{lower} (or the batch size), or raise the budget with {_ENV}=<bytes>"
        )
    return estimate
