"""Checks for the exercises of chapter 07 (dense point clouds from projections)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from course_utils.checks._core import CheckFailed, call, run_check

__all__ = ["check_zbuffer"]

def _cases() -> list[tuple[str, torch.Tensor, torch.Tensor, int]]:
    """(name, pixel (M,), depth (M,), num_pixels) cases with known answers."""
    generator = torch.Generator().manual_seed(7)
    many_pixel = torch.randint(0, 50, (400,), generator=generator)
    many_depth = torch.rand(400, generator=generator) + 1.0
    ties_pixel = torch.tensor([3, 3, 1, 3, 1])
    ties_depth = torch.tensor([2.0, 1.0, 1.5, 1.0, 1.5])  # equal depths: lowest index wins
    return [
        ("one point per pixel", torch.tensor([0, 2, 5]), torch.tensor([1.0, 2.0, 3.0]), 6),
        ("two points on one pixel", torch.tensor([4, 4]), torch.tensor([2.0, 1.5]), 6),
        ("ties at equal depth", ties_pixel, ties_depth, 5),
        ("400 random points on 50 pixels", many_pixel, many_depth, 60),
    ]


def _reference(pixel: torch.Tensor, depth: torch.Tensor, num_pixels: int) -> torch.Tensor:
    from course_utils.projections import zbuffer

    return zbuffer(pixel, depth, num_pixels)


def check_zbuffer(zbuffer: Callable[..., Any]) -> bool:
    """Exercise 7.1: ``zbuffer(pixel, depth, num_pixels) -> (num_pixels,)`` nearest index."""

    def attempt() -> str:
        for name, pixel, depth, num_pixels in _cases():
            expected = _reference(pixel, depth, num_pixels)
            got = call(zbuffer, pixel.clone(), depth.clone(), num_pixels)
            if not torch.is_tensor(got) or tuple(got.shape) != (num_pixels,):
                shape = tuple(got.shape) if torch.is_tensor(got) else type(got).__name__
                raise CheckFailed(
                    f"{name}: expected a tensor of shape ({num_pixels},), got {shape}",
                    "one entry per pixel of the flat image, -1 where no point fell",
                )
            got = got.long().cpu()
            if not torch.equal(got, expected):
                wrong = int((got != expected).nonzero()[0])
                hints = {
                    "ties at equal depth": "among points at the same depth keep the lowest "
                    "index: a second scatter_reduce with reduce='amin' over the indices",
                }
                hint = hints.get(
                    name,
                    "the nearest point has the *smallest* depth; empty pixels are -1",
                )
                raise CheckFailed(
                    f"{name}: pixel {wrong} should hold point {int(expected[wrong])}, "
                    f"got {int(got[wrong])}",
                    hint,
                )
        return "the nearest point per pixel, ties to the lowest index, empty pixels -1."

    return run_check("Exercise 7.1 (the z-buffer of the pseudo-renderer)", attempt)
