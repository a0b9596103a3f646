"""``pytorch3d.datasets.r2n2.utils``: R2N2 cameras, voxel alignment and batching."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from course_utils.p3d.builtin.datasets.binvox import read_binvox
from course_utils.p3d.builtin.datasets.utils import collate_batched_meshes, render_untextured
from course_utils.p3d.builtin.renderer.cameras import CamerasBase
from course_utils.p3d.builtin.transforms import Transform3d

__all__ = [
    "BlenderCamera",
    "collate_batched_R2N2",
    "compute_extrinsic_matrix",
    "align_bbox",
    "voxelize",
    "read_binvox_coords",
    "project_verts",
    "render_cubified_voxels",
]

#: Occupancy above which a voxel becomes a cube in :func:`render_cubified_voxels`
#: (PyTorch3D's value: predicted occupancies are soft).
CUBIFY_THRESH = 0.2

# Depth range (in the projected, pre-normalised z of the R2N2 camera) that the voxel
# grids of all ShapeNet models fit into; from Mesh R-CNN's ShapeNet set-up, which
# PyTorch3D's R2N2 loader follows, so per-view voxels of every model share one frame.
SHAPENET_MIN_ZMIN = 0.67
SHAPENET_MAX_ZMAX = 0.92


def compute_extrinsic_matrix(azimuth: float, elevation: float, distance: float) -> torch.Tensor:
    """The 4x4 world -> camera matrix (column vectors) of an R2N2 Blender rendering.

    ``azimuth``/``elevation`` in degrees, ``distance`` in ShapeNet units, from one line of
    ``rendering_metadata.txt``. The camera circles the object on a sphere: with
    ``a = -azimuth`` and ``e = -elevation`` the world is turned by ``Rz(a)`` then
    ``Ry(e)`` (passive rotations), the axes are renamed (x, y, z) -> camera (z, x, y)
    and the camera sits ``distance`` along the turned x axis. Blender turns an imported
    OBJ a quarter turn about +X (y -> z), which is folded in on the right.

    Returns:
        ``(4, 4)`` float32 ``RT`` with ``X_cam = RT @ [X, 1]``.
    """
    a = -math.radians(float(azimuth))
    e = -math.radians(float(elevation))
    ca, sa, ce, se = math.cos(a), math.sin(a), math.cos(e), math.sin(e)
    turn_z = torch.tensor([[ca, sa, 0.0], [-sa, ca, 0.0], [0.0, 0.0, 1.0]])
    turn_y = torch.tensor([[ce, 0.0, -se], [0.0, 1.0, 0.0], [se, 0.0, ce]])
    rename = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    blender_import = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
    RT = torch.eye(4)
    RT[:3, :3] = rename @ turn_y @ turn_z @ blender_import
    RT[:3, 3] = -(rename @ torch.tensor([float(distance), 0.0, 0.0]))
    return RT


def rt_to_pytorch3d(RT: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(R (3, 3), T (3,))`` in PyTorch3D's row-vector view convention from ``RT``.

    Blender's camera looks along -Z with +X right; PyTorch3D's view space has +X left
    and +Z into the scene: flip x and z after ``RT``. With row vectors
    ``X_view = X @ R + T``, ``R = (F RT[:3, :3]).T`` and ``T = F RT[:3, 3]``.
    """
    flip = torch.tensor([-1.0, 1.0, -1.0])
    R = (RT[:3, :3] * flip[:, None]).T.contiguous()
    T = RT[:3, 3] * flip
    return R, T


def read_binvox_coords(
    f: Any, integer_division: bool = True, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """Grid indices ``(x, y, z)`` of the occupied voxels of a binvox file, ``(P, 3)``.

    ``f`` is a path or an open binary file. ``integer_division`` is PyTorch3D's switch
    for an old PyTorch; the indices are integers either way.
    """
    if hasattr(f, "read"):
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "grid.binvox"
            path.write_bytes(f.read())
            grid = read_binvox(path).data
    else:
        grid = read_binvox(f).data  # [x, y, z]
    return torch.from_numpy(np.argwhere(grid)).to(dtype)


def align_bbox(src: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
    """Scale and shift points ``src (P, 3)`` per axis so their box is that of ``tgt (Q, 3)``."""
    if src.ndim != 2 or tgt.ndim != 2 or src.shape[-1] != 3 or tgt.shape[-1] != 3:
        raise ValueError(
            f"align_bbox needs two (P, 3) point sets, got {tuple(src.shape)} and {tuple(tgt.shape)}"
        )
    src_low, src_high = src.min(dim=0).values, src.max(dim=0).values
    tgt_low, tgt_high = tgt.min(dim=0).values, tgt.max(dim=0).values
    scale = (tgt_high - tgt_low) / (src_high - src_low)
    return (src - src_low) * scale + tgt_low


def project_verts(verts: torch.Tensor, P: torch.Tensor, eps: float = 1e-1) -> torch.Tensor:
    """Apply 4x4 matrices ``P`` (column vectors) to points and divide by w.

    ``verts (N, V, 3)`` with ``P (N, 4, 4)``, or ``(V, 3)`` with ``(4, 4)``. ``|w|`` is
    kept at least ``eps`` (sign kept, 0 counted as positive) so points near the camera
    plane do not blow up.
    """
    single = verts.dim() == 2
    if single:
        verts, P = verts[None], P[None]
    hom = torch.cat([verts, torch.ones_like(verts[..., :1])], dim=-1)
    out = hom @ P.transpose(1, 2)
    w = out[..., 3:]
    sign = torch.where(w < 0, -torch.ones_like(w), torch.ones_like(w))
    projected = out[..., :3] / (sign * w.abs().clamp(min=eps))
    return projected[0] if single else projected


def voxelize(voxel_coords: torch.Tensor, P: torch.Tensor, V: int) -> torch.Tensor:
    """Occupied points ``(P, 3)`` seen through projection ``P (4, 4)`` as a ``V``³ grid.

    After projecting, x and y are in [-1, 1] (x flipped) and z is mapped from the
    dataset-wide range [0.67, 0.92] to [-1, 1]; each point marks the voxel
    ``[z, y, x]`` it rounds to in a ``(V, V, V)`` uint8 grid; points outside are dropped.
    """
    p = project_verts(voxel_coords, P)
    zmin, zmax = SHAPENET_MIN_ZMIN, SHAPENET_MAX_ZMAX
    p = torch.stack([-p[:, 0], p[:, 1], (p[:, 2] - zmin) * 2.0 / (zmax - zmin) - 1.0], dim=1)
    idx = (0.5 * (V - 1) * (p + 1.0)).round().to(torch.int64)
    idx = idx[((idx >= 0) & (idx < V)).all(dim=1)]
    grid = torch.zeros(V, V, V, dtype=torch.uint8, device=voxel_coords.device)
    grid[idx[:, 2], idx[:, 1], idx[:, 0]] = 1
    return grid


def collate_batched_R2N2(batch: list[dict[str, Any]]) -> dict[str, Any] | None:  # noqa: N802
    """:func:`collate_batched_meshes`, then stack the per-view entries.

    When every model has the same number of views ``V``, ``images`` becomes
    ``(N, V, H, W, 3)``, ``R`` ``(N, V, 3, 3)``, ``T`` ``(N, V, 3)``, ``K``
    ``(N, V, 4, 4)`` and ``voxels`` ``(N, V, D, D, D)``; otherwise they stay lists.
    """
    collated = collate_batched_meshes(batch)
    if collated is None:
        return None
    for keys in (["images"], ["R", "T", "K"], ["voxels"]):
        if not all(k in collated for k in keys):
            continue
        if not all(torch.is_tensor(v) for k in keys for v in collated[k]):
            continue  # e.g. images None when the renderings are absent
        try:
            stacked = {k: torch.stack(collated[k]) for k in keys}
        except RuntimeError:  # models with different numbers of views: keep the lists
            continue
        collated.update(stacked)
    return collated


class BlenderCamera(CamerasBase):
    """A camera given by R2N2's calibration: ``R (N, 3, 3)``, ``T (N, 3)``, ``K (N, 4, 4)``.

    ``K`` (column-vector form, as in the R2N2 items) maps view coordinates straight to
    NDC; the camera reports ``is_perspective() == False`` and ``in_ndc() == True``, as in
    PyTorch3D.
    """

    def __init__(
        self,
        R: Any = None,
        T: Any = None,
        K: Any = None,
        device: Any = "cpu",
    ) -> None:
        R = torch.eye(3)[None] if R is None else R
        T = torch.zeros(1, 3) if T is None else T
        K = torch.eye(4)[None] if K is None else K
        super().__init__(device=device, R=R, T=T, K=K)

    def get_projection_transform(self, **kwargs: Any) -> Transform3d:
        K = kwargs.get("K", self.K)
        return Transform3d(matrix=K.transpose(1, 2).contiguous(), device=self.device)

    def is_perspective(self) -> bool:
        return False

    def in_ndc(self) -> bool:
        return True


def render_cubified_voxels(
    voxels: torch.Tensor, shader_type: Any = None, device: Any = "cpu", **kwargs: Any
) -> torch.Tensor:
    """Turn voxel grids into cube meshes (``cubify``) and render them, white, lit.

    As PyTorch3D's: the cameras are the identity :class:`BlenderCamera` (a grid in the
    R2N2 view frame, e.g. ``R2N2(..., return_voxels=True)``'s per-view voxels, is seen
    as the dataset's image shows it).

    Args:
        voxels: ``(N, D, H, W)`` occupancies in [0, 1].
        shader_type: the shader class (default ``HardPhongShader``).
        device: where to render.
        **kwargs: ``raster_settings`` and ``lights`` for the renderer.

    Returns:
        ``(N, H_img, W_img, 4)`` RGBA images.
    """
    from course_utils.p3d.builtin.ops import cubify

    meshes = cubify(voxels, CUBIFY_THRESH).to(device)
    return render_untextured(
        meshes, BlenderCamera(device=device), shader_type, device,
        kwargs.get("raster_settings"), kwargs.get("lights"),
    )  # fmt: skip
