"""``MeshRasterizer``: which faces does each pixel see? (PyTorch3D's mesh rasterizer API).

Rasterization is the first half of rendering. The camera moves every vertex into NDC
(x, y on the image plane, keeping the view-space depth z), then for every pixel the
rasterizer finds the ``faces_per_pixel`` nearest faces covering it — or, with a blur
radius, passing close to it — and returns them as :class:`Fragments`. Shaders turn
fragments into colours. The work itself happens in :func:`rasterize_meshes`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from course_utils.p3d.builtin.renderer.limits import check_number
from course_utils.p3d.builtin.renderer.mesh.rasterize_meshes import rasterize_meshes
from course_utils.p3d.builtin.renderer.projection import ndc_with_view_depth

__all__ = ["Fragments", "MeshRasterizer", "RasterizationSettings"]


@dataclass(frozen=True)
class Fragments:
    """What the rasterizer found at each pixel (N images of H x W, K faces per pixel).

    Attributes:
        pix_to_face: ``(N, H, W, K)`` int64 indices into the batch's *packed* faces, nearest
            first; -1 where fewer than K faces were found.
        zbuf: ``(N, H, W, K)`` view-space depth of each face at the pixel; -1 where none.
        bary_coords: ``(N, H, W, K, 3)`` barycentric coordinates of the pixel in each face
            (perspective-corrected for perspective cameras); -1 where none.
        dists: ``(N, H, W, K)`` signed squared distance in NDC from the pixel centre to
            the face's nearest edge: negative inside the face; -1 where none.
    """

    pix_to_face: torch.Tensor
    zbuf: torch.Tensor
    bary_coords: torch.Tensor
    dists: torch.Tensor | None

    def detach(self) -> Fragments:
        """The same fragments cut from the autograd graph."""
        return Fragments(
            pix_to_face=self.pix_to_face,
            zbuf=self.zbuf.detach(),
            bary_coords=self.bary_coords.detach(),
            dists=self.dists.detach() if self.dists is not None else self.dists,
        )


@dataclass
class RasterizationSettings:
    """Settings of :class:`MeshRasterizer` (PyTorch3D's names and defaults).

    Attributes:
        image_size: ``S`` for an S x S image or ``(H, W)``. The shorter side spans [-1, 1]
            in NDC; pixels are square.
        blur_radius: squared NDC distance within which a face counts for a pixel outside it
            (0: only faces covering the pixel centre). Needed for soft rasterization.
        faces_per_pixel: K, the number of nearest faces kept per pixel.
        bin_size, max_faces_per_bin: accepted for compatibility; the built-in rasterizer
            chooses its own tiling.
        perspective_correct: interpolate barycentrics in view space (default: when the
            camera is a perspective one).
        clip_barycentric_coords: clamp barycentrics to the face (default: when
            ``blur_radius > 0``).
        cull_backfaces: skip faces whose front (counter-clockwise side) faces away.
        z_clip_value: clip faces at this view depth (default: ``znear / 2`` of perspective
            cameras), so faces crossing behind the camera are cut, not distorted.
        cull_to_frustum: drop faces entirely outside the view frustum.

    As in PyTorch3D the values are not checked here but when rasterizing: then a NaN,
    infinite or negative ``blur_radius`` (or a non-finite ``z_clip_value``) raises a
    ``ValueError`` naming it, and so does an output of ``N x H x W x faces_per_pixel``
    slots above the memory budget (4 GiB; ``COURSE_MAX_RASTER_BYTES``, see ``limits.py``).
    """

    image_size: int | tuple[int, int] = 256
    blur_radius: float = 0.0
    faces_per_pixel: int = 1
    bin_size: int | None = None
    max_faces_per_bin: int | None = None
    perspective_correct: bool | None = None
    clip_barycentric_coords: bool | None = None
    cull_backfaces: bool = False
    z_clip_value: float | None = None
    cull_to_frustum: bool = False


class MeshRasterizer(nn.Module):
    """Rasterize a batch of meshes seen by a batch of cameras into :class:`Fragments`.

    Args:
        cameras: a camera object (one camera, or one per mesh); can also be passed to
            ``forward`` as ``cameras=...``.
        raster_settings: :class:`RasterizationSettings` (defaults if None).

    Example::

        rasterizer = MeshRasterizer(cameras=cameras, raster_settings=RasterizationSettings(256))
        fragments = rasterizer(meshes)      # fragments.pix_to_face: (N, 256, 256, 1)
    """

    def __init__(self, cameras: Any = None, raster_settings: RasterizationSettings | None = None):
        super().__init__()
        self.cameras = cameras
        self.raster_settings = raster_settings or RasterizationSettings()

    def to(self, device: Any) -> MeshRasterizer:  # type: ignore[override]
        """Move the cameras to ``device``; returns self."""
        if self.cameras is not None:
            self.cameras = self.cameras.to(device)
        return self

    def transform(self, meshes_world: Any, **kwargs: Any) -> Any:
        """The meshes with vertices in NDC (x, y) and view-space depth (z).

        Args:
            meshes_world: ``Meshes`` in world coordinates.
            **kwargs: ``cameras`` (overrides the stored ones), ``eps`` for the perspective
                division, and camera parameters (``R``, ``T`` ...).
        """
        cameras = kwargs.get("cameras", self.cameras)
        if cameras is None:
            raise ValueError(
                "MeshRasterizer needs cameras: MeshRasterizer(cameras=...) or "
                "rasterizer(meshes, cameras=...)"
            )
        if len(cameras) not in (1, len(meshes_world)):
            raise ValueError(
                f"MeshRasterizer: {len(cameras)} cameras for {len(meshes_world)} meshes; "
                "give one camera, or one per mesh"
            )
        verts_ndc = ndc_with_view_depth(cameras, meshes_world.verts_padded(), **kwargs)
        return meshes_world.update_padded(new_verts_padded=verts_ndc)

    def forward(self, meshes_world: Any, **kwargs: Any) -> Fragments:
        """Rasterize ``meshes_world``; ``kwargs`` may override ``cameras``/``raster_settings``."""
        settings = kwargs.get("raster_settings", self.raster_settings)
        cameras = kwargs.get("cameras", self.cameras)
        check_number("blur_radius", settings.blur_radius, minimum=0.0)  # NaN, inf, < 0
        if settings.z_clip_value is not None:
            check_number("z_clip_value", settings.z_clip_value, minimum=None)
        meshes_proj = self.transform(
            meshes_world, **{k: v for k, v in kwargs.items() if k != "raster_settings"}
        )
        clip_barycentric_coords = settings.clip_barycentric_coords
        if clip_barycentric_coords is None:
            clip_barycentric_coords = settings.blur_radius > 0.0
        perspective_correct = settings.perspective_correct
        if perspective_correct is None:
            perspective_correct = cameras.is_perspective()
        z_clip = settings.z_clip_value
        if z_clip is None and perspective_correct:
            # Faces crossing the camera plane would project to infinity: clip them a
            # little in front of the camera (half the near distance, as PyTorch3D does).
            znear = cameras.get_znear()
            if znear is not None:
                z_clip = float(znear.min()) / 2 if torch.is_tensor(znear) else znear / 2
        pix_to_face, zbuf, bary_coords, dists = rasterize_meshes(
            meshes_proj,
            image_size=settings.image_size,
            blur_radius=settings.blur_radius,
            faces_per_pixel=settings.faces_per_pixel,
            bin_size=settings.bin_size,
            max_faces_per_bin=settings.max_faces_per_bin,
            perspective_correct=perspective_correct,
            clip_barycentric_coords=clip_barycentric_coords,
            cull_backfaces=settings.cull_backfaces,
            z_clip_value=z_clip,
            cull_to_frustum=settings.cull_to_frustum,
        )
        return Fragments(pix_to_face=pix_to_face, zbuf=zbuf, bary_coords=bary_coords, dists=dists)
