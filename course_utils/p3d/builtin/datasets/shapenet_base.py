"""``pytorch3d.datasets.ShapeNetBase``: a dataset of ShapeNet models read from OBJ files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

__all__ = ["ShapeNetBase"]


class ShapeNetBase(torch.utils.data.Dataset):
    """The parent of :class:`ShapeNetCore` and :class:`R2N2`: one item per model.

    Subclasses fill ``synset_ids`` and ``model_ids`` (parallel lists, one entry per
    model), ``synset_inv`` (category name -> synset id, for the categories present),
    ``synset_start_idxs`` / ``synset_num_models`` (per synset id: the index of its first
    model and its number of models), ``shapenet_dir`` and ``model_dir`` (the OBJ path
    inside ``<synset>/<model>/``), and implement ``__getitem__``.
    """

    def __init__(self) -> None:
        self.synset_ids: list[str] = []
        self.model_ids: list[str] = []
        self.synset_inv: dict[str, str] = {}
        self.synset_start_idxs: dict[str, int] = {}
        self.synset_num_models: dict[str, int] = {}
        self.shapenet_dir = ""
        self.model_dir = "model.obj"
        self.load_textures = True
        self.texture_resolution = 4

    def __len__(self) -> int:
        """The number of models."""
        return len(self.model_ids)

    def __getitem__(self, idx: int) -> dict[str, Any]:
        raise NotImplementedError(
            f"{type(self).__name__}.__getitem__: a subclass of ShapeNetBase must implement it"
        )

    def _get_item_ids(self, idx: int) -> dict[str, Any]:
        """``{"synset_id": str, "model_id": str}`` of model ``idx``."""
        return {"synset_id": self.synset_ids[idx], "model_id": self.model_ids[idx]}

    def _load_mesh(self, model_path: str | Path) -> tuple[Any, Any, Any]:
        """Read one OBJ: ``verts (V, 3)`` float32, ``faces (F, 3)`` int64, ``textures``.

        ``textures`` is ``None`` with ``load_textures=False``; otherwise PyTorch3D gives a
        per-face texture atlas ``(F, R, R, 3)`` (``R = texture_resolution``) made from the
        OBJ's materials, or ones for a model without materials. The built-in OBJ reader
        makes no texture atlas, so a model *with* materials or texture images raises
        ``NotImplementedError`` naming ``load_textures`` (pass ``load_textures=False``).
        """
        from course_utils.p3d.builtin.io import load_obj

        verts, faces, aux = load_obj(model_path, load_textures=self.load_textures)
        if not self.load_textures:
            return verts, faces.verts_idx, None
        if aux.material_colors or aux.texture_images:
            raise NotImplementedError(
                f"load_textures=True: {model_path} has materials, and the built-in backend "
                "does not build PyTorch3D's per-face texture atlas from them; pass "
                "load_textures=False (or use real PyTorch3D)"
            )
        r = int(self.texture_resolution)
        textures = verts.new_ones(faces.verts_idx.shape[0], r, r, 3)
        return verts, faces.verts_idx, textures

    def render(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        """PyTorch3D renders chosen models with a Phong shader here; not built in.

        Raises:
            NotImplementedError: always; render the ``mesh`` of
                :func:`collate_batched_meshes` with a ``MeshRenderer`` instead.
        """
        raise NotImplementedError(
            f"{type(self).__name__}.render is not part of the built-in backend; collate "
            "the items with collate_batched_meshes and render batch['mesh'] with a "
            "MeshRenderer"
        )
