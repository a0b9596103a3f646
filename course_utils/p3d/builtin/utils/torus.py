"""``torus(r, R, sides, rings)``: a ring-shaped mesh, the parametric surface of a donut.

A point of the torus is given by two angles: ``phi`` goes around the big ring (radius
``R``, in the XY plane, around the Z axis) and ``theta`` around the tube (radius ``r``):

    x = (R + r cos theta) cos phi,   y = (R + r cos theta) sin phi,   z = r sin theta.

Sampling ``rings`` values of phi and ``sides`` values of theta gives a grid of vertices
that wraps around in both directions; each grid cell becomes two triangles.
"""

from __future__ import annotations

import math

import torch

from course_utils.p3d.builtin.common import Device, make_device
from course_utils.p3d.builtin.structures import Meshes


def torus(r: float, R: float, sides: int, rings: int, device: Device | None = None) -> Meshes:  # noqa: N803
    """A torus mesh around the Z axis, centred at the origin.

    Args:
        r: tube radius ("inner" radius).
        R: distance from the centre to the middle of the tube ("outer" radius).
        sides: vertices around the tube (>= 3 for a proper tube).
        rings: vertices around the big ring (>= 3).
        device: where to create the tensors (default CPU).

    Returns:
        A ``Meshes`` with ``rings * sides`` vertices (vertex ``i * sides + j`` sits at ring
        angle ``2 pi i / rings`` and tube angle ``2 pi j / sides``) and ``2 * rings * sides``
        outward-facing triangles.

    Example:
        >>> mesh = torus(r=0.25, R=1.0, sides=8, rings=16)
        >>> mesh.num_verts_per_mesh().item(), mesh.num_faces_per_mesh().item()
        (128, 256)
    """
    for name, value in (("sides", sides), ("rings", rings)):
        if not isinstance(value, int) or value <= 0:
            raise ValueError(f"torus: {name} must be a positive int, got {value!r}")
    device = make_device(device or "cpu")
    phi = 2 * math.pi * torch.arange(rings, device=device, dtype=torch.float32) / rings
    theta = 2 * math.pi * torch.arange(sides, device=device, dtype=torch.float32) / sides
    phi, theta = torch.meshgrid(phi, theta, indexing="ij")  # (rings, sides)
    ring_radius = R + r * torch.cos(theta)
    verts = torch.stack(
        [ring_radius * torch.cos(phi), ring_radius * torch.sin(phi), r * torch.sin(theta)], dim=-1
    ).reshape(-1, 3)

    # Each grid cell (i, j) -> (i+1, j+1), wrapping around, becomes two triangles.
    i0 = torch.arange(rings, device=device)[:, None].expand(rings, sides)
    j0 = torch.arange(sides, device=device)[None, :].expand(rings, sides)
    i1, j1 = (i0 + 1) % rings, (j0 + 1) % sides
    a, b = i0 * sides + j0, i1 * sides + j0
    c, d = i1 * sides + j1, i0 * sides + j1
    faces = torch.stack([torch.stack([a, b, c], -1), torch.stack([a, c, d], -1)], dim=2)
    return Meshes(verts=[verts], faces=[faces.reshape(-1, 3)])
