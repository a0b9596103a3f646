"""Positional encoding (NeRF, Mildenhall et al. 2020): ``x -> (sin(f x), cos(f x), x)``.

Why: an MLP on raw coordinates is biased towards smooth functions (its spectrum falls
off quickly); feeding it sines and cosines of the coordinates at frequencies
``omega_0 * 2^k`` lets it represent fine detail with few layers.
"""

from __future__ import annotations

import math

import torch

__all__ = ["HarmonicEmbedding"]


class HarmonicEmbedding(torch.nn.Module):
    """PyTorch3D's ``HarmonicEmbedding``.

    For an input ``x`` of shape ``(..., D)`` and frequencies ``f_0 .. f_{F-1}`` the output
    is ``sin(x_d f_k)`` for every dimension ``d`` and frequency ``k`` (``d`` major), then
    ``cos(x_d f_k)`` in the same order, then ``x`` itself when ``append_input``: shape
    ``(..., D * (2F + append_input))``.

    Args:
        n_harmonic_functions: F.
        omega_0: the base frequency multiplying every frequency.
        logspace: frequencies ``2^0 .. 2^{F-1}`` (True) or evenly spaced between 1 and
            ``2^{F-1}`` (False).
        append_input: append ``x`` to the embedding.
    """

    def __init__(
        self,
        n_harmonic_functions: int = 6,
        omega_0: float = 1.0,
        logspace: bool = True,
        append_input: bool = True,
    ) -> None:
        super().__init__()
        if logspace:
            frequencies = 2.0 ** torch.arange(n_harmonic_functions, dtype=torch.float32)
        else:
            frequencies = torch.linspace(
                1.0, 2.0 ** (n_harmonic_functions - 1), n_harmonic_functions, dtype=torch.float32
            )
        self.register_buffer("_frequencies", frequencies * omega_0, persistent=False)
        # cos(a) = sin(a + pi / 2): one sin call makes both halves.
        self.register_buffer("_zero_half_pi", torch.tensor([0.0, 0.5 * math.pi]), persistent=False)
        self.append_input = append_input

    def forward(
        self, x: torch.Tensor, diag_cov: torch.Tensor | None = None, **kwargs
    ) -> torch.Tensor:
        """Embed ``x`` ``(..., D)``; ``diag_cov`` ``(..., D)`` gives integrated (mip-NeRF)
        encoding, each harmonic damped by ``exp(-var f^2 / 2)``."""
        embed = x[..., None] * self._frequencies  # (..., D, F)
        embed = (
            embed[..., None, :, :] + self._zero_half_pi[..., None, None]
        ).sin()  # (..., 2, D, F)
        if diag_cov is not None:
            damping = torch.exp(-0.5 * diag_cov[..., None] * self._frequencies**2)
            embed = embed * damping[..., None, :, :]
        embed = embed.reshape(*x.shape[:-1], -1)
        if self.append_input:
            return torch.cat([embed, x], dim=-1)
        return embed

    @staticmethod
    def get_output_dim_static(
        input_dims: int, n_harmonic_functions: int, append_input: bool
    ) -> int:
        """Output size for ``input_dims`` inputs: ``D * (2F + append_input)``."""
        return input_dims * (2 * n_harmonic_functions + int(append_input))

    def get_output_dim(self, input_dims: int = 3) -> int:
        """Output size of this embedding for ``input_dims`` inputs."""
        return self.get_output_dim_static(input_dims, len(self._frequencies), self.append_input)
