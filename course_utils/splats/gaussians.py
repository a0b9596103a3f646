"""A cloud of 3D Gaussians: the parameters 3D Gaussian splatting learns, and what they mean.

Each Gaussian ``i`` has (the layout of Kerbl et al. 2023 and of the ``.ply`` files 3DGS
viewers read):

- ``means`` ``(P, 3)``: its centre in world coordinates;
- ``log_scales`` ``(P, 3)``: log standard deviations along its three principal axes (the
  log keeps scales positive while the optimiser moves freely);
- ``quats`` ``(P, 4)``: a rotation as a quaternion ``(w, x, y, z)``, normalised when used
  (any non-zero 4-vector is a valid parameter);
- ``opacity_logits`` ``(P,)``: ``sigmoid`` of it is the peak opacity in (0, 1);
- ``sh`` ``(P, K, 3)``: spherical-harmonic coefficients of its colour per RGB channel,
  ``K = (degree + 1)**2`` (1, 4 or 9). Degree 0 is a plain colour; degree 1 and 2 let the
  colour change with the viewing direction (highlights, sheen).

The covariance is ``Σ = R S Sᵀ Rᵀ`` with ``R`` the quaternion's rotation and
``S = diag(exp(log_scales))``: written this way any parameter values give a valid
(symmetric, positive definite) covariance, which a raw 3x3 matrix would not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import torch

from course_utils.p3d import transforms

__all__ = [
    "Gaussians",
    "SH_C0",
    "covariances",
    "eval_sh",
    "rgb_to_sh0",
    "sh0_to_rgb",
    "inverse_sigmoid",
]

#: Degree-0 spherical harmonic, 1 / (2 sqrt(pi)); colour = SH_C0 * f_dc + 0.5 (as in 3DGS).
SH_C0 = 0.28209479177387814
SH_C1 = 0.4886025119029199
SH_C2 = (
    1.0925484305920792,
    -1.0925484305920792,
    0.31539156525252005,
    -1.0925484305920792,
    0.5462742152960396,
)


def rgb_to_sh0(rgb: torch.Tensor) -> torch.Tensor:
    """Colour in [0, 1] -> degree-0 coefficient that renders it (inverse of :func:`sh0_to_rgb`)."""
    return (rgb - 0.5) / SH_C0


def sh0_to_rgb(sh0: torch.Tensor) -> torch.Tensor:
    """Degree-0 coefficient -> the colour it renders (before clamping)."""
    return sh0 * SH_C0 + 0.5


def inverse_sigmoid(p: torch.Tensor | float) -> torch.Tensor:
    """``logit(p)``: the opacity logit whose sigmoid is ``p``."""
    p = torch.as_tensor(p, dtype=torch.get_default_dtype())
    return torch.log(p / (1 - p))


@dataclass
class Gaussians:
    """The learnable parameters of P Gaussians (see the module docstring for shapes).

    Tensors may require grad; :meth:`parameters` lists them for an optimiser.
    """

    means: torch.Tensor
    log_scales: torch.Tensor
    quats: torch.Tensor
    opacity_logits: torch.Tensor
    sh: torch.Tensor

    def __post_init__(self) -> None:
        p = self.means.shape[0] if self.means.dim() == 2 else -1
        expected = {
            "means": (p, 3),
            "log_scales": (p, 3),
            "quats": (p, 4),
            "opacity_logits": (p,),
        }
        for name, shape in expected.items():
            got = tuple(getattr(self, name).shape)
            if p < 0 or got != shape:
                raise ValueError(f"Gaussians.{name} should have shape {shape} (P={p}), got {got}")
        k = self.sh.shape[1] if self.sh.dim() == 3 else -1
        if (
            self.sh.dim() != 3
            or self.sh.shape[0] != p
            or self.sh.shape[2] != 3
            or k not in (1, 4, 9)
        ):
            raise ValueError(
                "Gaussians.sh should have shape (P, K, 3) with K in (1, 4, 9), "
                f"got {tuple(self.sh.shape)}"
            )

    def __len__(self) -> int:
        return self.means.shape[0]

    @property
    def sh_degree(self) -> int:
        """Degree of the colours' spherical harmonics (0, 1 or 2)."""
        return int(math.isqrt(self.sh.shape[1])) - 1

    @property
    def opacities(self) -> torch.Tensor:
        """``(P,)`` peak opacities in (0, 1)."""
        return torch.sigmoid(self.opacity_logits)

    @property
    def scales(self) -> torch.Tensor:
        """``(P, 3)`` standard deviations along the principal axes."""
        return torch.exp(self.log_scales)

    def parameters(self) -> list[torch.Tensor]:
        return [getattr(self, f.name) for f in fields(self)]

    def detach(self) -> Gaussians:
        return Gaussians(*(t.detach().clone() for t in self.parameters()))

    def to(self, device: torch.device | str) -> Gaussians:
        return Gaussians(*(t.to(device) for t in self.parameters()))

    def requires_grad_(self, flag: bool = True) -> Gaussians:
        for t in self.parameters():
            t.requires_grad_(flag)
        return self

    def select(self, index: torch.Tensor) -> Gaussians:
        """The Gaussians picked by a boolean mask or an index tensor."""
        return Gaussians(*(t[index] for t in self.parameters()))

    @staticmethod
    def cat(parts: list[Gaussians]) -> Gaussians:
        return Gaussians(*(torch.cat(ts) for ts in zip(*(p.parameters() for p in parts))))

    @staticmethod
    def from_points(
        points: torch.Tensor,
        colors: torch.Tensor | None = None,
        scale: float | torch.Tensor = 0.01,
        opacity: float = 0.1,
        sh_degree: int = 0,
    ) -> Gaussians:
        """Isotropic Gaussians at ``points`` ``(P, 3)`` (the usual initialisation).

        Args:
            colors: ``(P, 3)`` in [0, 1] (grey when None).
            scale: standard deviation, a number or ``(P,)`` (e.g. distance to neighbours).
            opacity: initial peak opacity of every Gaussian.
            sh_degree: 0, 1 or 2; higher coefficients start at 0 (view-independent colour).
        """
        if sh_degree not in (0, 1, 2):
            raise ValueError(f"sh_degree must be 0, 1 or 2, got {sh_degree}")
        p, device, dtype = points.shape[0], points.device, points.dtype
        if colors is None:
            colors = torch.full((p, 3), 0.5, dtype=dtype, device=device)
        scale = torch.as_tensor(scale, dtype=dtype, device=device).expand(p)
        sh = torch.zeros(p, (sh_degree + 1) ** 2, 3, dtype=dtype, device=device)
        sh[:, 0] = rgb_to_sh0(colors)
        quats = torch.zeros(p, 4, dtype=dtype, device=device)
        quats[:, 0] = 1.0
        return Gaussians(
            means=points.clone(),
            log_scales=torch.log(scale)[:, None].repeat(1, 3).clone(),
            quats=quats,
            opacity_logits=inverse_sigmoid(torch.full((p,), opacity, dtype=dtype)).to(device),
            sh=sh,
        )


def covariances(log_scales: torch.Tensor, quats: torch.Tensor) -> torch.Tensor:
    """World-space covariances ``Σ = R S Sᵀ Rᵀ`` ``(P, 3, 3)`` (column-vector convention).

    Args:
        log_scales: ``(P, 3)``.
        quats: ``(P, 4)`` ``(w, x, y, z)``, any length (normalised here).
    """
    rot = transforms.quaternion_to_matrix(quats / quats.norm(dim=-1, keepdim=True))
    m = rot * torch.exp(log_scales)[:, None, :]  # R S: column j scaled by s_j
    return m @ m.transpose(1, 2)


def eval_sh(sh: torch.Tensor, directions: torch.Tensor) -> torch.Tensor:
    """Colours ``(P, 3)`` seen along unit ``directions`` ``(P, 3)`` (camera -> Gaussian).

    The real spherical-harmonic basis and signs of the 3DGS reference code, so that
    coefficients exported to ``.ply`` look the same in its viewers. The result is offset
    by 0.5 (a zero coefficient renders mid-grey) and clamped at 0 from below.
    """
    k = sh.shape[1]
    color = SH_C0 * sh[:, 0]
    if k > 1:
        x, y, z = directions[:, 0:1], directions[:, 1:2], directions[:, 2:3]
        color = color - SH_C1 * y * sh[:, 1] + SH_C1 * z * sh[:, 2] - SH_C1 * x * sh[:, 3]
        if k > 4:
            xx, yy, zz = x * x, y * y, z * z
            color = (
                color
                + SH_C2[0] * x * y * sh[:, 4]
                + SH_C2[1] * y * z * sh[:, 5]
                + SH_C2[2] * (2 * zz - xx - yy) * sh[:, 6]
                + SH_C2[3] * x * z * sh[:, 7]
                + SH_C2[4] * (xx - yy) * sh[:, 8]
            )
    return torch.clamp(color + 0.5, min=0.0)
