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
