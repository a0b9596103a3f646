"""Raymarchers: turn per-point opacities and features along rays into pixels.

Conventions (PyTorch3D's): ``rays_densities`` are per-sample *opacities* in [0, 1] (the
probability that light is absorbed within the sample's segment, ``1 - exp(-sigma delta)``
for a medium of density ``sigma`` over a segment of length ``delta``), shape
``(..., n_points_per_ray, 1)``. Light reaching sample ``k`` is the transmittance
``T_k = prod_{j<k} (1 - a_j)``; the sample contributes with weight ``w_k = a_k T_k``.
The output is ``(..., C + 1)``: rendered features, then the ray's opacity
``1 - prod_k (1 - a_k)`` last.
"""

from __future__ import annotations

import warnings

import torch

__all__ = ["AbsorptionOnlyRaymarcher", "EmissionAbsorptionRaymarcher"]


def _shifted_cumprod(x: torch.Tensor, shift: int = 1) -> torch.Tensor:
    """``cumprod`` along the last dim, shifted right by ``shift`` with ones in front."""
    cumprod = torch.cumprod(x, dim=-1)
    return torch.cat([torch.ones_like(cumprod[..., :shift]), cumprod[..., :-shift]], dim=-1)


def _check_density_bounds(
    densities: torch.Tensor, bounds: tuple[float, float] = (0.0, 1.0)
) -> None:
    """Warn (as PyTorch3D does) when opacities leave [0, 1]: likely raw densities."""
    with torch.no_grad():
        if densities.numel() and (densities.max() > bounds[1] or densities.min() < bounds[0]):
            warnings.warn(
                f"One or more elements of rays_densities are outside of valid range {bounds}: "
                "raymarchers expect per-sample opacities 1 - exp(-sigma * delta), not raw "
                "densities sigma",
                stacklevel=3,
            )


def _check_inputs(
    densities: torch.Tensor, features: torch.Tensor | None, need_features: bool
) -> None:
    if not torch.is_tensor(densities):
        raise ValueError("rays_densities has to be an instance of torch.Tensor")
    if need_features and not torch.is_tensor(features):
        raise ValueError("rays_features has to be an instance of torch.Tensor")
    if densities.ndim < 1 or densities.shape[-1] != 1:
        raise ValueError(
            "The size of the last dimension of rays_densities has to be one; got shape "
            f"{tuple(densities.shape)} (expected (..., n_points_per_ray, 1))"
        )
    if features is not None and need_features and features.shape[:-1] != densities.shape[:-1]:
        raise ValueError(
            "rays_features must have the shape of rays_densities but for the last dimension; "
            f"got {tuple(features.shape)} and {tuple(densities.shape)}"
        )


class EmissionAbsorptionRaymarcher(torch.nn.Module):
    """Emission-absorption compositing (PyTorch3D's ``EmissionAbsorptionRaymarcher``).

    ``features = sum_k a_k T_k f_k`` with ``T_k = prod_{j < k} (1 + eps - a_j)`` (the
    cumulative product shifted by ``surface_thickness`` samples: 1 gives the classic
    front-to-back compositing), ``opacity = 1 - prod_k (1 - a_k)``.

    Args:
        surface_thickness: how many samples the transmittance is shifted by.
    """

    def __init__(self, surface_thickness: int = 1) -> None:
        super().__init__()
        self.surface_thickness = surface_thickness

    def forward(
        self,
        rays_densities: torch.Tensor,
        rays_features: torch.Tensor,
        eps: float = 1e-10,
        **kwargs,
    ) -> torch.Tensor:
        """``(..., P, 1)`` opacities and ``(..., P, C)`` features -> ``(..., C + 1)``.

        ``eps`` keeps the transmittance from reaching exactly 0 (which would stop all
        gradients behind an opaque sample).
        """
        _check_inputs(rays_densities, rays_features, need_features=True)
        _check_density_bounds(rays_densities)
        alpha = rays_densities[..., 0]
        transmittance = _shifted_cumprod((1.0 + eps) - alpha, shift=self.surface_thickness)
        weights = alpha * transmittance
        features = (weights[..., None] * rays_features).sum(dim=-2)
        opacities = 1.0 - torch.prod(1.0 - alpha, dim=-1, keepdim=True)
        return torch.cat((features, opacities), dim=-1)


class AbsorptionOnlyRaymarcher(torch.nn.Module):
    """Absorption only: ``opacity = 1 - prod_k (1 - a_k)``, shape ``(..., 1)``.

    It renders no features (a silhouette / X-ray-like image of how much light a ray loses).
    """

    def forward(self, rays_densities: torch.Tensor, **kwargs) -> torch.Tensor:
        """``(..., P, 1)`` opacities -> ``(..., 1)`` ray opacities."""
        _check_inputs(rays_densities, None, need_features=False)
        alpha = rays_densities[..., 0]
        _check_density_bounds(alpha)
        return 1.0 - torch.prod(1.0 - alpha, dim=-1, keepdim=True)
