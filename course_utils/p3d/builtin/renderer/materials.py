"""``Materials``: how strongly a surface reflects each of the three kinds of light.

In the Phong model (see :mod:`.lighting`) the light's ambient, diffuse and specular
colours are multiplied, channel by channel, by the material's *reflectivities* of the
same name; ``shininess`` is the exponent of the specular highlight (large = small,
sharp highlight; a matte surface has ``specular_color`` 0). Defaults as in PyTorch3D:
every reflectivity 1 (white), shininess 64.
"""

from __future__ import annotations

import torch

from course_utils.p3d.builtin.common import Device
from course_utils.p3d.builtin.renderer.utils import TensorProperties

__all__ = ["Materials"]


class Materials(TensorProperties):
    """A batch of N materials (one per mesh of the batch).

    Args:
        ambient_color: ``(N, C)`` / ``(1, C)`` or a C-tuple (C = 3 for RGB); default 1.
        diffuse_color: same shape as ``ambient_color``; default 1.
        specular_color: same shape as ``ambient_color``; default 1.
        shininess: a number or ``(N,)`` Phong exponents; default 64.
        device: device of the parameters.

    Raises:
        ValueError: if the colours have different numbers of channels or ``shininess``
            is not one number per material.

    Example:
        >>> Materials(specular_color=((0.0, 0.0, 0.0),), shininess=10).shininess
        tensor([10.])
    """

    def __init__(
        self,
        ambient_color: tuple | list | torch.Tensor = ((1, 1, 1),),
        diffuse_color: tuple | list | torch.Tensor = ((1, 1, 1),),
        specular_color: tuple | list | torch.Tensor = ((1, 1, 1),),
        shininess: float | torch.Tensor = 64,
        device: Device = "cpu",
    ) -> None:
        super().__init__(
            device=device,
            ambient_color=ambient_color,
            diffuse_color=diffuse_color,
            specular_color=specular_color,
            shininess=shininess,
        )
        channels = self.ambient_color.shape[-1]
        for name in ("ambient_color", "diffuse_color", "specular_color"):
            value = getattr(self, name)
            if value.dim() != 2 or value.shape[-1] != channels:
                raise ValueError(
                    f"Materials: expected {name} to have shape (N, {channels}); got "
                    f"{tuple(value.shape)} (one material is written {name}=((r, g, b),))"
                )
        if self.shininess.shape != (self._N,):
            raise ValueError(
                f"Materials: shininess should have shape (N,) = ({self._N},); "
                f"got {tuple(self.shininess.shape)}"
            )
