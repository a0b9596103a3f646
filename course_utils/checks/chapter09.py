"""Checks for the exercises of chapter 09 (volume rendering and NeRF)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from course_utils.checks._core import CheckFailed, call, expect_close, run_check

__all__ = ["check_emission_absorption_weights"]


def _reference_weights(alpha: torch.Tensor) -> torch.Tensor:
    """``w_k = a_k prod_{j<k} (1 - a_j)`` written out one sample at a time (float64)."""
    alpha = alpha.double()
    weights = torch.zeros_like(alpha)
    transmittance = torch.ones_like(alpha[..., 0])
    for k in range(alpha.shape[-1]):
        weights[..., k] = alpha[..., k] * transmittance
        transmittance = transmittance * (1 - alpha[..., k])
    return weights


def _cases() -> list[tuple[str, torch.Tensor]]:
    generator = torch.Generator().manual_seed(9)
    opaque = torch.zeros(1, 6)
    opaque[0, 2] = 1.0  # a wall at the third sample: all the weight lands there
    return [
        ("one ray of constant opacity 0.3", torch.full((5,), 0.3)),
        ("random opacities of shape (2, 3, 7)", torch.rand(2, 3, 7, generator=generator)),
        ("a fully opaque third sample", opaque),
    ]


def check_emission_absorption_weights(emission_absorption_weights: Callable[..., Any]) -> bool:
    """Exercise 9.1: ``emission_absorption_weights(alpha (..., P)) -> (..., P)`` weights."""

    def attempt() -> str:
        for name, alpha in _cases():
            expected = _reference_weights(alpha).to(alpha.dtype)
            leaf = alpha.clone().requires_grad_(True)
            got = call(emission_absorption_weights, leaf)
            hint = "w_k = alpha_k * T_k with T_k = prod_{j<k} (1 - alpha_j): T_0 = 1"
            if torch.is_tensor(got) and got.shape == alpha.shape:
                g = got.detach().double()
                a = alpha.double()
                if torch.allclose(g, a * torch.cumprod(1 - a, -1), atol=1e-5):
                    hint = (
                        "your transmittance includes the sample itself: T_k multiplies "
                        "(1 - alpha_j) for j < k only (shift the cumulative product right "
                        "by one and start with 1)"
                    )
                elif torch.allclose(g, a * torch.exp(-torch.cumsum(a, -1)), atol=1e-5):
                    hint = (
                        "alpha is already an opacity: T_k = prod (1 - alpha_j), not "
                        "exp(-sum alpha_j) (that is for densities times lengths)"
                    )
                elif torch.allclose(g, _reference_weights(a) / a.clamp(min=1e-12), atol=1e-5):
                    hint = "that is the transmittance T_k; the weight is alpha_k * T_k"
            expect_close(got, expected, f"the weights for {name}", hint, atol=1e-5)
            total = got.sum(-1)
            if not torch.allclose(total.detach(), 1 - torch.prod(1 - alpha, -1), atol=1e-5):
                raise CheckFailed(
                    "the weights of a ray should add up to its opacity 1 - prod(1 - alpha)",
                    "check the transmittance",
                )
            if not got.requires_grad:
                raise CheckFailed(
                    "the weights carry no gradient",
                    "use torch operations (cumprod, cat) on alpha, no .item() or numpy",
                )
        return "w_k = alpha_k prod_{j<k}(1 - alpha_j): they sum to the ray's opacity."

    return run_check("Exercise 9.1 (emission-absorption weights)", attempt)
