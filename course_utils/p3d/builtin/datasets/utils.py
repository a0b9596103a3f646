"""``pytorch3d.datasets.utils``: batching the dict items of the ShapeNet datasets."""

from __future__ import annotations

from typing import Any

__all__ = ["collate_batched_meshes"]


def collate_batched_meshes(batch: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Collate a list of dataset items into a dict of lists plus one ``Meshes``.

    Every key of the first item becomes a list over the batch (``batch[i][k]`` for each
    ``i``); the extra key ``"mesh"`` holds ``Meshes(verts=..., faces=..., textures=...)``
    built from the ``verts`` ``(V_i, 3)`` and ``faces`` ``(F_i, 3)`` lists (a
    ``TexturesAtlas`` from the ``textures`` ``(F_i, R, R, 3)`` list when items carry one),
    or ``None`` when the items have no mesh. An empty or ``None`` batch gives ``None``.
    Use it as a ``torch.utils.data.DataLoader``'s ``collate_fn``.
    """
    if not batch:
        return None
    collated: dict[str, Any] = {key: [item[key] for item in batch] for key in batch[0]}
    collated["mesh"] = None
    if "verts" in collated and "faces" in collated:
        from course_utils.p3d.builtin.renderer import TexturesAtlas
        from course_utils.p3d.builtin.structures import Meshes

        textures = None
        # Items loaded with load_textures=False carry textures=None: no texture then.
        if "textures" in collated and all(t is not None for t in collated["textures"]):
            textures = TexturesAtlas(atlas=collated["textures"])
        collated["mesh"] = Meshes(
            verts=collated["verts"], faces=collated["faces"], textures=textures
        )
    return collated


def render_untextured(
    meshes: Any,
    cameras: Any,
    shader_type: Any = None,
    device: Any = "cpu",
    raster_settings: Any = None,
    lights: Any = None,
) -> Any:
    """Render ``meshes`` as the datasets' ``render`` functions do: white where untextured.

    Args:
        meshes: a ``Meshes`` batch; one without textures gets ``TexturesVertex`` of ones.
        cameras: the cameras (already on ``device``).
        shader_type: the shader class (``HardPhongShader`` when None).
        device: where the shader and the lights go.
        raster_settings: ``RasterizationSettings()`` when None.
        lights: ``PointLights()`` when None.

    Returns:
        ``(N, H, W, 4)`` RGBA images.
    """
    import torch

    from course_utils.p3d.builtin.renderer import (
        HardPhongShader,
        MeshRasterizer,
        MeshRenderer,
        PointLights,
        RasterizationSettings,
        TexturesVertex,
    )

    if meshes.textures is None:
        meshes.textures = TexturesVertex(verts_features=torch.ones_like(meshes.verts_padded()))
    lights = (lights if lights is not None else PointLights()).to(device)
    shader = (shader_type or HardPhongShader)(device=device, cameras=cameras, lights=lights)
    rasterizer = MeshRasterizer(
        cameras=cameras, raster_settings=raster_settings or RasterizationSettings()
    )
    return MeshRenderer(rasterizer=rasterizer, shader=shader)(meshes)
