"""Voxel grid -> mesh of cubes (``pytorch3d.ops.cubify``).

Every occupied voxel becomes a unit cube (8 corners, 6 square sides of 2 triangles). A side
shared by two occupied voxels is inside the solid and is dropped, and cubes that touch
share their corner vertices, so the result is the closed surface of the voxel solid.

The algorithm, with tensor operations only:

1. ``occupied = voxels >= thresh``, shape ``(N, D, H, W)``;
2. a side of a voxel is kept when the voxel is occupied and its neighbour across that
   side is empty (or outside the grid): six shifted comparisons give a ``(N, H, W, D, 12)``
   mask of kept triangles (each side is two triangles);
3. the kept triangles' corners are numbered on the ``(H+1) x (W+1) x (D+1)`` lattice of
   cube corners; lattice points that no triangle uses are dropped and the rest renumbered
   (a cumulative sum), mesh by mesh.

Coordinates: voxel ``voxels[n, z, y, x]`` (depth, height, width) spans x in its width
column, y in its height row and z in its depth slice. The lattice index ``i`` along an
axis of size S is mapped into [-1, 1] according to ``align``:

* ``"topleft"`` (default): ``2 i / (S - 1) - 1``: the top-left corner of each cube is its
  voxel's grid location, voxel centres are not at the grid points;
* ``"corner"``: ``2 i / S - 1``: the cubes exactly fill [-1, 1]³;
* ``"center"``: ``2 (i - 0.5) / (S - 1) - 1``: the voxel centres are the grid locations
  ``2 i / (S - 1) - 1``, i.e. those of ``align_corners=True`` sampling.

Triangles are wound counter-clockwise seen from outside, so face normals point out of the
solid. Vertex and face order are those of PyTorch3D.
"""

from __future__ import annotations

import torch

from course_utils.p3d.builtin.common import Device, make_device, unsupported
from course_utils.p3d.builtin.structures.meshes import Meshes

__all__ = ["cubify"]

# Corners of the unit cube as (x, y, z) offsets, and its 12 triangles (two per side),
# counter-clockwise seen from outside. Side order: -x, +y, -z, -y, +x, +z.
_CUBE_VERTS = [
    [0, 0, 0],
    [0, 0, 1],
    [0, 1, 0],
    [0, 1, 1],
    [1, 0, 0],
    [1, 0, 1],
    [1, 1, 0],
    [1, 1, 1],
]
_CUBE_FACES = [
    [0, 1, 2], [1, 3, 2],  # x = 0 side
    [2, 3, 6], [3, 7, 6],  # y = 1 side
    [0, 2, 6], [0, 6, 4],  # z = 0 side
    [0, 5, 1], [0, 4, 5],  # y = 0 side
    [6, 7, 5], [6, 5, 4],  # x = 1 side
    [1, 7, 3], [1, 5, 7],  # z = 1 side
]  # fmt: skip
_ALIGNS = ("topleft", "corner", "center")


def _exposed_sides(occupied: torch.Tensor) -> torch.Tensor:
    """``(N, H, W, D, 6)`` bool: side s of voxel (h, w, d) is occupied with an empty (or
    out of grid) neighbour. Sides in the order of ``_CUBE_FACES``: -x, +y, -z, -y, +x, +z.

    Args:
        occupied: ``(N, H, W, D)`` bool occupancy (axes already in h, w, d order).
    """
    padded = torch.nn.functional.pad(occupied.to(torch.uint8), (1, 1, 1, 1, 1, 1)).bool()
    inner = padded[:, 1:-1, 1:-1, 1:-1]
    neighbour = {  # the occupancy of the voxel across each side
        "-x": padded[:, 1:-1, :-2, 1:-1],
        "+x": padded[:, 1:-1, 2:, 1:-1],
        "-y": padded[:, :-2, 1:-1, 1:-1],
        "+y": padded[:, 2:, 1:-1, 1:-1],
        "-z": padded[:, 1:-1, 1:-1, :-2],
        "+z": padded[:, 1:-1, 1:-1, 2:],
    }
    sides = [neighbour[s] for s in ("-x", "+y", "-z", "-y", "+x", "+z")]
    return inner[..., None] & ~torch.stack(sides, dim=-1)


@torch.no_grad()
def cubify(
    voxels: torch.Tensor,
    thresh: float,
    *,
    feats: torch.Tensor | None = None,
    device: Device | None = None,
    align: str = "topleft",
) -> Meshes:
    """Turn voxel grids into meshes made of cubes (PyTorch3D's ``cubify``).

    Args:
        voxels: ``(N, D, H, W)`` occupancy values (probabilities or 0/1).
        thresh: a voxel is occupied where ``voxels >= thresh``.
        feats: PyTorch3D's per-voxel colours ``(N, K, D, H, W)`` (used with
            ``align="center"`` to build a ``TexturesAtlas``): not supported by the built-in
            backend with ``align="center"``; ignored otherwise, as in PyTorch3D.
        device: device of the output meshes (default: that of ``voxels``).
        align: ``"topleft"`` (default), ``"corner"`` or ``"center"``: how the cubes sit on
            the grid (see the module docstring).

    Returns:
        ``Meshes`` of N meshes (float32 vertices in [-1, 1]-like coordinates); a grid with
        no occupied voxel gives an empty mesh (0 vertices, 0 faces). Not differentiable.

    Raises:
        ValueError: for a tensor that is not ``(N, D, H, W)`` or an unknown ``align``.

    Example:
        >>> import torch
        >>> mesh = cubify(torch.ones(1, 1, 1, 1), 0.5, align="corner")
        >>> mesh.verts_packed().shape, mesh.faces_packed().shape  # one cube
        (torch.Size([8, 3]), torch.Size([12, 3]))
        >>> two = cubify(torch.ones(1, 1, 1, 2), 0.5)  # the shared side is removed
        >>> two.faces_packed().shape
        torch.Size([20, 3])
    """
    if align not in _ALIGNS:
        raise ValueError(f"Align mode must be one of (topleft, corner, center); got {align!r}")
    if not torch.is_tensor(voxels) or voxels.dim() != 4:
        shape = tuple(voxels.shape) if torch.is_tensor(voxels) else type(voxels).__name__
        raise ValueError(f"voxels must be a tensor of shape (N, D, H, W), got {shape}")
    if feats is not None and align == "center":
        raise unsupported(
            "feats", detail="(per-voxel colours as a TexturesAtlas need real PyTorch3D)"
        )
    device = voxels.device if device is None else make_device(device)
    if len(voxels) == 0:
        return Meshes(verts=[], faces=[])

    N, D, H, W = voxels.shape
    occupied = (voxels >= thresh).to(device).permute(0, 2, 3, 1)  # (N, H, W, D)
    kept = _exposed_sides(occupied).repeat_interleave(2, dim=-1)  # (N, H, W, D, 12)

    # One row per kept triangle: which mesh, which voxel (h, w, d), which cube triangle.
    n, h, w, d, tri = kept.nonzero(as_tuple=True)
    if n.numel() == 0:
        empty_v = torch.zeros((0, 3), dtype=torch.float32, device=device)
        empty_f = torch.zeros((0, 3), dtype=torch.int64, device=device)
        return Meshes(verts=[empty_v] * N, faces=[empty_f] * N)
    cube_verts = torch.tensor(_CUBE_VERTS, dtype=torch.int64, device=device)
    cube_faces = torch.tensor(_CUBE_FACES, dtype=torch.int64, device=device)
    corners = cube_verts[cube_faces[tri]]  # (T, 3 corners, xyz offsets)
    # Lattice coordinates (y, x, z) of every corner, raveled on the (H+1, W+1, D+1) lattice.
    ly = h[:, None] + corners[..., 1]
    lx = w[:, None] + corners[..., 0]
    lz = d[:, None] + corners[..., 2]
    lattice = (ly * (W + 1) + lx) * (D + 1) + lz  # (T, 3)
    num_lattice = (H + 1) * (W + 1) * (D + 1)

    # Keep only the lattice points some triangle uses, renumbered per mesh.
    used = torch.zeros(N * num_lattice, dtype=torch.bool, device=device)
    used[(lattice + n[:, None] * num_lattice).reshape(-1)] = True
    used = used.view(N, num_lattice)
    new_index = torch.cumsum(used, dim=1) - 1  # (N, num_lattice)
    faces = new_index[n[:, None], lattice]  # (T, 3), per-mesh vertex indices

    # Lattice point -> coordinates in [-1, 1] according to ``align``.
    margin = 0.0 if align == "corner" else 1.0
    shift = 0.5 if align == "center" else 0.0

    def axis(size: int) -> torch.Tensor:
        i = torch.arange(size + 1, dtype=torch.float32, device=device)
        return (i - shift) * 2.0 / (size - margin) - 1.0

    y, x, z = torch.meshgrid(axis(H), axis(W), axis(D), indexing="ij")
    lattice_xyz = torch.stack([x, y, z], dim=-1).reshape(-1, 3)  # (num_lattice, 3)

    faces_per_mesh = torch.bincount(n, minlength=N).tolist()
    verts_list = [lattice_xyz[used[i]] for i in range(N)]
    faces_list = list(faces.split(faces_per_mesh, dim=0))
    return Meshes(verts=verts_list, faces=faces_list)
