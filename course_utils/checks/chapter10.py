"""Checks for the exercises of chapter 10 (3D Gaussian splatting)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from course_utils.checks._core import CheckFailed, call, expect_close, run_check

__all__ = ["check_composite"]


def _reference(colors: torch.Tensor, alphas: torch.Tensor, background: torch.Tensor):
    """Front-to-back "over" compositing, written as a plain loop (the definition)."""
    color, trans = torch.zeros(3, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64)
    for c, a in zip(colors, alphas):
        color = color + trans * a * c
        trans = trans * (1 - a)
    return color + trans * background, trans


def _cases() -> list[tuple[str, torch.Tensor, torch.Tensor, torch.Tensor]]:
    gen = torch.Generator().manual_seed(10)
    f64 = torch.float64
    return [
        (
            "one opaque Gaussian",
            torch.tensor([[1.0, 0.0, 0.0]], dtype=f64),
            torch.tensor([1.0], dtype=f64),
            torch.tensor([0.0, 0.0, 1.0], dtype=f64),
        ),
        (
            "red (alpha 0.5) in front of green (alpha 0.5)",
            torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=f64),
            torch.tensor([0.5, 0.5], dtype=f64),
            torch.tensor([0.0, 0.0, 1.0], dtype=f64),
        ),
        (
            "no Gaussian at all",
            torch.zeros(0, 3, dtype=f64),
            torch.zeros(0, dtype=f64),
            torch.tensor([0.2, 0.4, 0.6], dtype=f64),
        ),
        (
            "seven random Gaussians",
            torch.rand(7, 3, generator=gen, dtype=f64),
            torch.rand(7, generator=gen, dtype=f64) * 0.9,
            torch.rand(3, generator=gen, dtype=f64),
        ),
    ]


def check_composite(composite: Callable) -> bool:
    """Exercise 10.1: ``composite(colors (K, 3), alphas (K,), background (3,))`` ->
    ``(colour (3,), transmittance ())`` of one pixel, Gaussians sorted nearest first."""

    def attempt() -> str:
        for name, colors, alphas, background in _cases():
            got = call(composite, colors.clone(), alphas.clone(), background.clone())
            if not isinstance(got, tuple) or len(got) != 2:
                raise CheckFailed(
                    f"{name}: expected a tuple (colour, transmittance), got {type(got).__name__}",
                    "return both: `return color, transmittance`",
                )
            color, trans = got
            want_color, want_trans = _reference(colors, alphas, background)
            swapped, _ = _reference(colors.flip(0), alphas.flip(0), background)
            if (
                torch.is_tensor(color)
                and color.shape == (3,)
                and len(alphas) > 1
                and torch.allclose(color.detach().double(), swapped, atol=1e-6)
            ):
                raise CheckFailed(
                    f"{name}: you composited back to front",
                    "the first Gaussian is the nearest: it is seen through nothing (T = 1)",
                )
            expect_close(
                trans,
                want_trans,
                f"{name}: the transmittance",
                "T is the product of (1 - alpha) over every Gaussian at the pixel",
            )
            expect_close(
                color,
                want_color,
                f"{name}: the colour",
                "each Gaussian adds T_i * alpha_i * c_i with T_i = prod_{j<i} (1 - alpha_j); "
                "what light is left, T, shows the background",
            )
        return "front-to-back compositing with transmittance and background"

    return run_check("Exercise 10.1 (compositing by hand)", attempt)
