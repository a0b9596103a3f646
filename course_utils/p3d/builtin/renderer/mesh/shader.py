"""Shaders: from fragments (which faces each pixel sees) to an RGBA image.

A shader is the second half of a ``MeshRenderer``. It (1) looks up the surface colour
of every fragment from the meshes' textures, (2) lights it (:mod:`.shading`) and
(3) blends the K faces per pixel into one colour (:mod:`..blending`). The classes are
the combinations PyTorch3D offers:

=====================  ============================  ==========================
shader                 lighting                      blending
=====================  ============================  ==========================
``HardPhongShader``    per pixel (Phong)             nearest face (z-buffer)
``SoftPhongShader``    per pixel (Phong)             softmax over faces (SoftRas)
``HardGouraudShader``  per vertex (Gouraud)          nearest face
``SoftGouraudShader``  per vertex (Gouraud)          softmax over faces
``HardFlatShader``     per face (flat)               nearest face
``SoftSilhouetteShader``  none (alpha only)          sigmoid coverage
=====================  ============================  ==========================

"Hard" shaders give crisp images but no gradient w.r.t. where the edges are; "soft"
ones, used with a rasterizer ``blur_radius > 0`` and ``faces_per_pixel > 1``, make the
image a smooth function of the vertices, which is what fitting a mesh to images needs.

Every argument of ``forward`` can be overridden per call through keyword arguments:
``cameras``, ``lights``, ``materials``, ``blend_params`` (and ``znear`` / ``zfar`` for
the softmax shaders, by default the camera's).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from course_utils.p3d.builtin.common import Device
from course_utils.p3d.builtin.renderer.blending import (
    BlendParams,
    hard_rgb_blend,
    sigmoid_alpha_blend,
    softmax_rgb_blend,
)
from course_utils.p3d.builtin.renderer.lighting import PointLights
from course_utils.p3d.builtin.renderer.materials import Materials
from course_utils.p3d.builtin.renderer.mesh.shading import (
    flat_shading,
    gouraud_shading,
    phong_shading,
)

__all__ = [
    "HardDepthShader",
    "HardFlatShader",
    "HardGouraudShader",
    "HardPhongShader",
    "ShaderBase",
    "SoftDepthShader",
    "SoftGouraudShader",
    "SoftPhongShader",
    "SoftSilhouetteShader",
    "SplatterPhongShader",
]


class ShaderBase(nn.Module):
    """What the lit shaders share: cameras, lights, materials and blend parameters.

    Args:
        device: device of the default lights and materials.
        cameras: the cameras the fragments were rasterized with (needed for the camera
            position in the specular term); may instead be given to ``forward``.
        lights: default ``PointLights()`` (a grey light at (0, 1, 0)).
        materials: default ``Materials()`` (white, shininess 64).
        blend_params: default ``BlendParams()`` (sigma = gamma = 1e-4, white background).
    """

    def __init__(
        self,
        device: Device = "cpu",
        cameras: Any = None,
        lights: Any = None,
        materials: Materials | None = None,
        blend_params: BlendParams | None = None,
    ) -> None:
        super().__init__()
        self.lights = lights if lights is not None else PointLights(device=device)
        self.materials = materials if materials is not None else Materials(device=device)
        self.cameras = cameras
        self.blend_params = blend_params if blend_params is not None else BlendParams()

    def _get_cameras(self, **kwargs: Any) -> Any:
        """The cameras of this call: ``kwargs["cameras"]``, else those given at init."""
        cameras = kwargs.get("cameras", self.cameras)
        if cameras is None:
            raise ValueError(
                f"{type(self).__name__} needs cameras: give them at initialization "
                f"({type(self).__name__}(cameras=...)) or in the forward pass "
                "(renderer(meshes, cameras=...))"
            )
        return cameras

    def _settings(self, **kwargs: Any) -> tuple[Any, Any, Any, BlendParams]:
        """``(cameras, lights, materials, blend_params)`` of this call, kwargs first."""
        return (
            self._get_cameras(**kwargs),
            kwargs.get("lights", self.lights),
            kwargs.get("materials", self.materials),
            kwargs.get("blend_params", self.blend_params),
        )

    def _texels(self, fragments: Any, meshes: Any) -> torch.Tensor:
        """``(N, H, W, K, C)`` surface colours of the fragments, from the meshes' textures."""
        if getattr(meshes, "textures", None) is None:
            raise ValueError(
                f"{type(self).__name__} needs surface colours, but the Meshes has no "
                "textures: build it with textures=TexturesVertex(verts_features=...) (one "
                "colour per vertex, e.g. torch.ones_like(verts)[None] for white) or "
                "TexturesUV(maps=..., faces_uvs=..., verts_uvs=...); SoftSilhouetteShader "
                "needs none"
            )
        return meshes.sample_textures(fragments)

    @staticmethod
    def _depth_range(cameras: Any, kwargs: dict[str, Any]) -> tuple[Any, Any]:
        """``(znear, zfar)`` for softmax blending: kwargs, else the camera's, else 1 / 100."""
        znear = kwargs.get("znear", getattr(cameras, "znear", 1.0))
        zfar = kwargs.get("zfar", getattr(cameras, "zfar", 100.0))
        return znear, zfar

    def to(self, device: Device) -> ShaderBase:  # type: ignore[override]
        """Move cameras, lights and materials to ``device``; returns self."""
        if self.cameras is not None:
            self.cameras = self.cameras.to(device)
        self.materials = self.materials.to(device)
        self.lights = self.lights.to(device)
        return self


class HardPhongShader(ShaderBase):
    """Per-pixel Phong lighting, nearest face wins.

    ``forward(fragments, meshes, **kwargs)`` returns ``(N, H, W, 4)`` RGBA images (alpha
    1 on the mesh, the background colour elsewhere).

    Example::

        shader = HardPhongShader(device="cpu", cameras=cameras, lights=lights)
    """

    def forward(self, fragments: Any, meshes: Any, **kwargs: Any) -> torch.Tensor:
        cameras, lights, materials, blend_params = self._settings(**kwargs)
        texels = self._texels(fragments, meshes)
        colors = phong_shading(
            meshes=meshes,
            fragments=fragments,
            lights=lights,
            cameras=cameras,
            materials=materials,
            texels=texels,
        )
        return hard_rgb_blend(colors, fragments, blend_params)


class SoftPhongShader(ShaderBase):
    """Per-pixel Phong lighting, SoftRas softmax blending of the K faces per pixel.

    ``forward(fragments, meshes, **kwargs)`` returns ``(N, H, W, 4)``: the blended colour
    and the soft alpha. ``znear`` / ``zfar`` default to the camera's.
    """

    def forward(self, fragments: Any, meshes: Any, **kwargs: Any) -> torch.Tensor:
        cameras, lights, materials, blend_params = self._settings(**kwargs)
        texels = self._texels(fragments, meshes)
        colors = phong_shading(
            meshes=meshes,
            fragments=fragments,
            lights=lights,
            cameras=cameras,
            materials=materials,
            texels=texels,
        )
        znear, zfar = self._depth_range(cameras, kwargs)
        return softmax_rgb_blend(colors, fragments, blend_params, znear=znear, zfar=zfar)


class HardGouraudShader(ShaderBase):
    """Per-vertex Gouraud lighting (needs ``TexturesVertex``), nearest face wins.

    ``forward(fragments, meshes, **kwargs)`` returns ``(N, H, W, 4)`` RGBA images.
    """

    def forward(self, fragments: Any, meshes: Any, **kwargs: Any) -> torch.Tensor:
        cameras, lights, materials, blend_params = self._settings(**kwargs)
        colors = gouraud_shading(
            meshes=meshes, fragments=fragments, lights=lights, cameras=cameras, materials=materials
        )
        return hard_rgb_blend(colors, fragments, blend_params)


class SoftGouraudShader(ShaderBase):
    """Per-vertex Gouraud lighting (needs ``TexturesVertex``), softmax blending.

    ``forward(fragments, meshes, **kwargs)`` returns ``(N, H, W, 4)`` RGBA images.
    """

    def forward(self, fragments: Any, meshes: Any, **kwargs: Any) -> torch.Tensor:
        cameras, lights, materials, blend_params = self._settings(**kwargs)
        colors = gouraud_shading(
            meshes=meshes, fragments=fragments, lights=lights, cameras=cameras, materials=materials
        )
        znear, zfar = self._depth_range(cameras, kwargs)
        return softmax_rgb_blend(colors, fragments, blend_params, znear=znear, zfar=zfar)


class HardFlatShader(ShaderBase):
    """Per-face flat lighting (face normal, lit at the centroid), nearest face wins.

    ``forward(fragments, meshes, **kwargs)`` returns ``(N, H, W, 4)`` RGBA images.
    """

    def forward(self, fragments: Any, meshes: Any, **kwargs: Any) -> torch.Tensor:
        cameras, lights, materials, blend_params = self._settings(**kwargs)
        texels = self._texels(fragments, meshes)
        colors = flat_shading(
            meshes=meshes,
            fragments=fragments,
            lights=lights,
            cameras=cameras,
            materials=materials,
            texels=texels,
        )
        return hard_rgb_blend(colors, fragments, blend_params)


class SoftSilhouetteShader(nn.Module):
    """Soft silhouettes (SoftRas): alpha from the faces' sigmoid coverage, no lighting.

    Use with ``RasterizationSettings(blur_radius=np.log(1 / 1e-4 - 1) * sigma,
    faces_per_pixel=...)`` so that every face whose coverage exceeds 1e-4 is found.

    Args:
        blend_params: ``BlendParams`` (uses ``sigma``); default ``BlendParams()``.

    ``forward(fragments, meshes, **kwargs)`` returns ``(N, H, W, 4)``: RGB all ones and
    the soft silhouette in channel 3, differentiable w.r.t. the vertices.
    """

    def __init__(self, blend_params: BlendParams | None = None) -> None:
        super().__init__()
        self.blend_params = blend_params if blend_params is not None else BlendParams()

    def forward(self, fragments: Any, meshes: Any, **kwargs: Any) -> torch.Tensor:
        colors = torch.ones_like(fragments.bary_coords)  # (N, H, W, K, 3): no colour needed
        blend_params = kwargs.get("blend_params", self.blend_params)
        return sigmoid_alpha_blend(colors, fragments, blend_params)


def _per_image(value: Any, like: torch.Tensor) -> torch.Tensor:
    """A scalar or per-camera ``(N,)`` value as an ``(N or 1, 1, 1, 1)`` tensor like ``like``."""
    value = torch.as_tensor(value, dtype=like.dtype, device=like.device)
    return value.reshape(-1, 1, 1, 1)


class HardDepthShader(ShaderBase):
    """Depth (view-space z) of the nearest face at each pixel; ``zfar`` where none.

    Returns ``(N, H, W, 1)``. ``zfar`` is ``kwargs["zfar"]``, else the camera's, else 100.
    """

    def forward(self, fragments: Any, meshes: Any, **kwargs: Any) -> torch.Tensor:
        cameras = self._get_cameras(**kwargs)
        zfar = _per_image(kwargs.get("zfar", getattr(cameras, "zfar", 100.0)), fragments.zbuf)
        empty = fragments.pix_to_face[..., :1] < 0
        return torch.where(empty, zfar, fragments.zbuf[..., :1])


class SoftDepthShader(ShaderBase):
    """A differentiable depth image: the K faces' depths weighted by their coverage.

    Each face's coverage probability is ``sigmoid(-dist / sigma)``; front to back, a
    face takes the share of the pixel that nearer faces left over, and the background
    (at ``zfar``) takes what remains. Returns ``(N, H, W, 1)``.
    """

    def forward(self, fragments: Any, meshes: Any, **kwargs: Any) -> torch.Tensor:
        if fragments.dists is None:
            raise ValueError("SoftDepthShader requires Fragments.dists to be present.")
        cameras = self._get_cameras(**kwargs)
        blend_params = kwargs.get("blend_params", self.blend_params)
        zbuf = fragments.zbuf
        zfar = _per_image(kwargs.get("zfar", getattr(cameras, "zfar", 100.0)), zbuf)
        covered = fragments.pix_to_face >= 0
        prob = torch.sigmoid(-fragments.dists / blend_params.sigma) * covered
        ones = torch.ones_like(zbuf[..., :1])
        depths = torch.cat([zbuf, zfar * ones], dim=-1)  # (N, H, W, K + 1)
        # Cumulative coverage, capped at 1, then differenced: each layer's share.
        total = torch.cat([prob, ones], dim=-1).cumsum(dim=-1).clamp(max=1.0)
        share = torch.diff(total, dim=-1, prepend=torch.zeros_like(ones))
        return (share * depths).sum(dim=-1, keepdim=True)


class SplatterPhongShader(ShaderBase):
    """PyTorch3D's splatting shader: not part of the built-in backend.

    It can be made (with PyTorch3D's arguments) so code that builds one loads; calling it
    checks its inputs like every shader (cameras are required) and then raises
    ``NotImplementedError``. Use :class:`SoftPhongShader` for a differentiable lit
    render, or real PyTorch3D.
    """

    def forward(self, fragments: Any, meshes: Any, **kwargs: Any) -> torch.Tensor:
        self._get_cameras(**kwargs)  # the same ValueError as the other shaders
        raise NotImplementedError(
            "SplatterPhongShader (PyTorch3D's splatting shader) is not implemented by the "
            "course's built-in backend; use SoftPhongShader, or install real PyTorch3D and "
            "set COURSE_BACKEND=pytorch3d."
        )
