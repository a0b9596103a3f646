"""``interpolate_face_attributes``: a per-corner attribute evaluated at every pixel.

A pixel that sees face ``f`` at barycentric coordinates ``(b0, b1, b2)`` (weights that
sum to 1 and locate the pixel inside the triangle) gets the attribute

    value = b0 * A[f, 0] + b1 * A[f, 1] + b2 * A[f, 2]

where ``A[f, i]`` is the attribute at corner ``i`` of face ``f`` — a colour, a normal,
a world position, a UV coordinate ... Shaders use it to spread vertex data across the
triangles. The result is linear in both the barycentrics and the attributes, so it is
differentiable w.r.t. both.
"""

from __future__ import annotations

import torch

__all__ = ["interpolate_face_attributes"]


def interpolate_face_attributes(
    pix_to_face: torch.Tensor,
    barycentric_coords: torch.Tensor,
    face_attributes: torch.Tensor,
) -> torch.Tensor:
    """Interpolate per-face-corner attributes at each pixel with barycentric coordinates.

    Args:
        pix_to_face: int64 ``(N, H, W, K)`` indices into the packed faces (the first
            dimension of ``face_attributes``); -1 where a pixel has fewer than K faces.
        barycentric_coords: ``(N, H, W, K, 3)`` barycentric coordinates of each pixel in
            each of its faces.
        face_attributes: ``(F, 3, D)`` the D-dimensional attribute at the three corners of
            every packed face.

    Returns:
        ``(N, H, W, K, D)`` interpolated attributes; zeros where ``pix_to_face == -1``.

    Raises:
        ValueError: on shapes that do not fit together.

    Example:
        >>> colours = torch.tensor([[[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]]])  # (1, 3, 3)
        >>> pix_to_face = torch.tensor([0, -1]).view(1, 1, 2, 1)
        >>> bary = torch.tensor([0.2, 0.3, 0.5]).expand(1, 1, 2, 1, 3)
        >>> interpolate_face_attributes(pix_to_face, bary, colours)[0, 0, :, 0]
        tensor([[0.2000, 0.3000, 0.5000],
                [0.0000, 0.0000, 0.0000]])
    """
    if face_attributes.dim() != 3 or face_attributes.shape[1] != 3:
        raise ValueError(
            "face_attributes must have shape (F, 3, D): faces can only have three corners; "
            f"got {tuple(face_attributes.shape)}"
        )
    if barycentric_coords.dim() != 5 or barycentric_coords.shape[-1] != 3:
        raise ValueError(
            "barycentric_coords must have shape (N, H, W, K, 3); got "
            f"{tuple(barycentric_coords.shape)}"
        )
    if pix_to_face.shape != barycentric_coords.shape[:-1]:
        raise ValueError(
            f"pix_to_face must have shape (N, H, W, K) = {tuple(barycentric_coords.shape[:-1])}"
            f"; got {tuple(pix_to_face.shape)}"
        )
    empty = pix_to_face < 0
    # Look every pixel's face up (empty pixels borrow face 0 and are zeroed afterwards).
    corners = face_attributes[pix_to_face.clamp(min=0)]  # (N, H, W, K, 3, D)
    values = (barycentric_coords[..., None] * corners).sum(dim=-2)  # (N, H, W, K, D)
    return torch.where(empty[..., None], torch.zeros_like(values), values)
