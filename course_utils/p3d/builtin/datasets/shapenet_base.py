"""``pytorch3d.datasets.ShapeNetBase``: a dataset of ShapeNet models read from OBJ files."""

from __future__ import annotations

import warnings
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

        ``textures`` is ``None`` with ``load_textures=False``; otherwise the per-face
        texture atlas ``(F, R, R, 3)`` (``R = texture_resolution``) that ``load_obj`` makes
        from the OBJ's materials, or ones (white) for a model without materials.
        """
        from course_utils.p3d.builtin.io import load_obj

        verts, faces, aux = load_obj(
            model_path,
            load_textures=self.load_textures,
            create_texture_atlas=self.load_textures,
            texture_atlas_size=self.texture_resolution,
        )
        if not self.load_textures:
            return verts, faces.verts_idx, None
        textures = aux.texture_atlas
        if textures is None:  # no materials: a white atlas, as PyTorch3D gives
            r = int(self.texture_resolution)
            textures = verts.new_ones(faces.verts_idx.shape[0], r, r, 3)
        return verts, faces.verts_idx, textures

    def render(
        self,
        model_ids: list[str] | None = None,
        categories: list[str] | None = None,
        sample_nums: list[int] | None = None,
        idxs: list[int] | None = None,
        shader_type: type | None = None,
        device: str | torch.device = "cpu",
        **kwargs: Any,
    ) -> torch.Tensor:
        """Render chosen models of the dataset, as PyTorch3D's ``ShapeNetBase.render``.

        Which models: the given ``model_ids``; else ``sample_nums`` random models of each of
        ``categories`` (names or synset ids; one number broadcasts); else the given
        ``idxs``; else ``sample_nums[0]`` (default 1) random models of the whole dataset.
        Models without textures are coloured white (``TexturesVertex`` of ones).

        Args:
            shader_type: the shader class (``HardPhongShader`` when None, PyTorch3D's
                default), made with ``device``, the cameras and the lights.
            device: where the meshes and the renderer go.
            **kwargs: ``cameras`` (default ``FoVPerspectiveCameras()``; a batch of
                ``k * N`` cameras renders each of the N models ``k`` times),
                ``raster_settings`` (default ``RasterizationSettings()``) and ``lights``
                (default ``PointLights()``); anything else raises ``NotImplementedError``.

        Returns:
            ``(N, H, W, 4)`` images (RGBA) as the shader gives them.
        """
        from course_utils.p3d.builtin.datasets.utils import (
            collate_batched_meshes,
            render_untextured,
        )
        from course_utils.p3d.builtin.renderer import FoVPerspectiveCameras

        unknown = sorted(set(kwargs) - {"cameras", "raster_settings", "lights"})
        if unknown:
            raise NotImplementedError(
                f"{type(self).__name__}.render: the built-in backend takes cameras, "
                f"raster_settings and lights as keyword arguments, not {unknown}"
            )
        chosen = self._handle_render_inputs(model_ids, categories, sample_nums, idxs)
        meshes = collate_batched_meshes([self[idx] for idx in chosen])["mesh"].to(device)
        cameras = kwargs.get("cameras")
        cameras = (cameras if cameras is not None else FoVPerspectiveCameras()).to(device)
        if len(cameras) != 1 and len(cameras) % len(meshes) != 0:
            raise ValueError(
                f"render: {len(cameras)} cameras for {len(meshes)} models; give one camera, "
                "or a whole multiple of the number of models"
            )
        if len(cameras) > 1:  # each model seen by every k-th camera, as PyTorch3D does
            meshes = meshes.extend(len(cameras) // len(meshes))
        return render_untextured(
            meshes, cameras, shader_type, device,
            kwargs.get("raster_settings"), kwargs.get("lights"),
        )  # fmt: skip

    def _handle_render_inputs(
        self,
        model_ids: list[str] | None = None,
        categories: list[str] | None = None,
        sample_nums: list[int] | None = None,
        idxs: list[int] | None = None,
    ) -> list[int]:
        """The dataset indices :meth:`render` draws (see there for the order of choice)."""
        if model_ids:
            missing = [m for m in model_ids if m not in self.model_ids]
            if missing:
                raise ValueError(f"model_id {missing[0]} not found in the loaded dataset.")
            return [self.model_ids.index(m) for m in model_ids]
        nums = [1] if sample_nums is None else list(sample_nums)
        if categories:
            if len(nums) not in (1, len(categories)):
                raise ValueError(
                    "categories and sample_nums needs to be of the same length or "
                    "sample_nums needs to be of length 1."
                )
            chosen: list[int] = []
            for i, name in enumerate(categories):
                synset = self.synset_inv.get(name, name)
                if synset not in self.synset_start_idxs:
                    raise ValueError(f"Category {name} is not in the loaded dataset.")
                num = nums[i] if len(nums) > 1 else nums[0]
                chosen += self._sample_idxs_from_category(num, synset).tolist()
            return chosen
        if idxs:
            if any(i < 0 or i >= len(self.model_ids) for i in idxs):
                raise IndexError(
                    "One or more idx values are out of bounds. Indices need to be "
                    f"between 0 and {len(self.model_ids) - 1}."
                )
            return list(idxs)
        if len(nums) > 1:
            warnings.warn(
                f"More than one sample sizes specified, now sampling {nums[0]} models "
                "from the dataset.",
                stacklevel=3,
            )
        return self._sample_idxs_from_category(nums[0]).tolist()

    def _sample_idxs_from_category(
        self, sample_num: int = 1, category: str | None = None
    ) -> torch.Tensor:
        """``(sample_num,)`` random indices of models of ``category`` (a synset id; None:
        the whole dataset); with replacement, and a warning, when it has fewer models."""
        start = self.synset_start_idxs[category] if category is not None else 0
        count = self.synset_num_models[category] if category is not None else len(self)
        replace = sample_num > count
        if replace:
            warnings.warn(
                f"Sample size {sample_num} is larger than the number of objects in "
                f"{category or 'the dataset'} ({count}); sampling with replacement.",
                stacklevel=3,
            )
        weights = torch.ones(count, dtype=torch.float32)
        return torch.multinomial(weights, sample_num, replacement=replace) + start
