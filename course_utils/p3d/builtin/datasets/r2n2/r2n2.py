"""``pytorch3d.datasets.R2N2``: 3D-R2N2's renderings, cameras and voxels of ShapeNet v1."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from course_utils.p3d.builtin.datasets.r2n2.utils import (
    align_bbox,
    compute_extrinsic_matrix,
    read_binvox_coords,
    rt_to_pytorch3d,
    voxelize,
)
from course_utils.p3d.builtin.datasets.shapenet_base import ShapeNetBase
from course_utils.p3d.builtin.datasets.synsets import R2N2_SYNSET_DICT

__all__ = ["R2N2"]

MAX_CAMERA_DISTANCE = 1.75  # rendering_metadata's distance is a fraction of this
VOXEL_SIZE = 128  # side of the per-view voxel grids
# R2N2's Blender projection (column vectors, view -> NDC) for the voxels, and the K the
# items carry (the same but for the sign of the w row, as in PyTorch3D).
BLENDER_INTRINSIC = torch.tensor(
    [
        [2.1875, 0.0, 0.0, 0.0],
        [0.0, 2.1875, 0.0, 0.0],
        [0.0, 0.0, -1.002002, -0.2002002],
        [0.0, 0.0, -1.0, 0.0],
    ]
)
ITEM_K = BLENDER_INTRINSIC * torch.tensor([1.0, 1.0, 1.0, -1.0])[:, None]


class R2N2(ShapeNetBase):
    """The R2N2 subset of ShapeNetCore v1 with R2N2's renderings: one item per model.

    Layout::

        <shapenet_dir>/<synset>/<model>/model.obj
        <r2n2_dir>/<views_rel_path>/<synset>/<model>/rendering/00.png ..., rendering_metadata.txt
        <r2n2_dir>/<voxels_rel_path>/<synset>/<model>/model.binvox

    ``splits_file`` is JSON ``{"train"|"val"|"test": {synset: {model: [view indices]}}}``.
    Synsets and models of the split missing from ``shapenet_dir`` are skipped with a
    warning; without the renderings (or voxels) folder the items have no images (voxels).

    Args:
        split: ``"train"``, ``"val"`` or ``"test"``.
        shapenet_dir, r2n2_dir, splits_file: the folders and file above.
        return_all_views: all the split's views of a model, or one chosen at random
            (with ``torch.randint``) when the dataset is made.
        return_voxels: add ``voxels``: per view, the model's binvox voxels aligned to the
            mesh's box and re-gridded in that view's camera frustum, ``(V, 128, 128, 128)``
            uint8 indexed ``[z, y, x]``.
        views_rel_path, voxels_rel_path: the two folders inside ``r2n2_dir``.
        load_textures, texture_resolution: as in :class:`ShapeNetCore`.

    Items (``dataset[i]`` or ``dataset[i, view_idxs]``): ``synset_id``, ``model_id``,
    ``verts (V, 3)``, ``faces (F, 3)``, ``textures``, ``label`` (category name),
    ``images (V, 137, 137, 3)`` float32 RGB in [0, 1] (the PNG's alpha dropped), and per
    view ``R (V, 3, 3)``, ``T (V, 3)`` (PyTorch3D's row-vector convention, ShapeNet's
    model frame: ``X_view = X @ R + T``), ``K (V, 4, 4)`` (the fixed Blender projection,
    for :class:`BlenderCamera`), and ``voxels`` when asked for.
    """

    def __init__(
        self,
        split: str,
        shapenet_dir: str | Path,
        r2n2_dir: str | Path,
        splits_file: str | Path,
        return_all_views: bool = True,
        return_voxels: bool = False,
        views_rel_path: str = "ShapeNetRendering",
        voxels_rel_path: str = "ShapeNetVoxels",
        load_textures: bool = True,
        texture_resolution: int = 4,
    ) -> None:
        super().__init__()
        if split not in ("train", "val", "test"):
            raise ValueError(f"split must be 'train', 'val' or 'test', got {split!r}")
        self.shapenet_dir = shapenet_dir
        self.r2n2_dir = r2n2_dir
        self.views_rel_path = views_rel_path
        self.voxels_rel_path = voxels_rel_path
        self.load_textures = load_textures
        self.texture_resolution = texture_resolution
        self.synset_dict = dict(R2N2_SYNSET_DICT)
        self.synset_inv = {name: synset for synset, name in self.synset_dict.items()}
        with open(splits_file) as handle:
            table = json.load(handle)
        if split not in table:
            raise ValueError(f"{splits_file} has no {split!r} split (it has {list(table)})")
        split_dict = table[split]

        self.return_images = (Path(r2n2_dir) / views_rel_path).is_dir()
        if not self.return_images:
            warnings.warn(
                f"{views_rel_path} not found in {r2n2_dir}: the items will have no images",
                stacklevel=2,
            )
        self.return_voxels = return_voxels
        if return_voxels and not (Path(r2n2_dir) / voxels_rel_path).is_dir():
            self.return_voxels = False
            warnings.warn(
                f"{voxels_rel_path} not found in {r2n2_dir}: the items will have no voxels",
                stacklevel=2,
            )

        shapenet = Path(shapenet_dir)
        self.views_per_model_list: list[list[int]] = []
        present = set()
        for synset, models in split_dict.items():
            if synset not in self.synset_dict or not (shapenet / synset).is_dir():
                warnings.warn(
                    f"synset {synset} of {splits_file} is not an R2N2 category or is not "
                    f"in {shapenet}; skipped",
                    stacklevel=2,
                )
                continue
            present.add(synset)
            self.synset_start_idxs[synset] = len(self.synset_ids)
            for model, views in models.items():
                if not (shapenet / synset / model).is_dir():
                    warnings.warn(
                        f"model {model} of category {synset} is not in {shapenet}; skipped",
                        stacklevel=2,
                    )
                    continue
                views = [int(v) for v in views]
                if not return_all_views:
                    views = [views[int(torch.randint(len(views), (1,)))]]
                self.synset_ids.append(synset)
                self.model_ids.append(model)
                self.views_per_model_list.append(views)
            self.synset_num_models[synset] = len(self.synset_ids) - self.synset_start_idxs[synset]
        for synset in set(self.synset_dict) - present:
            self.synset_inv.pop(self.synset_dict[synset])

    def __getitem__(self, model_idx: Any, view_idxs: Any = None) -> dict[str, Any]:
        """Model ``model_idx`` with the split's views, or with ``view_idxs`` of them.

        ``dataset[i, views]`` is ``dataset.__getitem__(i, views)``. Views not in the
        model's split give a warning and all its views.
        """
        if isinstance(model_idx, tuple):
            model_idx, view_idxs = model_idx
        views = self.views_per_model_list[model_idx]
        if view_idxs is not None:
            if isinstance(view_idxs, int):
                view_idxs = [view_idxs]
            if not isinstance(view_idxs, list) and not torch.is_tensor(view_idxs):
                raise TypeError(f"view_idxs must be a list of ints, got {type(view_idxs)}")
            wanted = [int(v) for v in view_idxs]
            if all(v in views for v in wanted):
                views = wanted
            else:
                warnings.warn(
                    f"view_idxs {wanted} are not all in the loaded views {views} of model "
                    f"{model_idx}; returning all loaded views",
                    stacklevel=2,
                )
        model = self._get_item_ids(model_idx)
        synset, model_id = model["synset_id"], model["model_id"]
        obj = Path(self.shapenet_dir) / synset / model_id / "model.obj"
        model["verts"], model["faces"], model["textures"] = self._load_mesh(obj)
        model["label"] = self.synset_dict[synset]

        model["images"] = None
        RTs = []
        if self.return_images:
            from PIL import Image

            folder = Path(self.r2n2_dir) / self.views_rel_path / synset / model_id / "rendering"
            meta_path = folder / "rendering_metadata.txt"
            lines = meta_path.read_text().splitlines()
            images, Rs, Ts = [], [], []
            for v in views:
                with Image.open(folder / f"{v:02d}.png") as raw:
                    pixels = np.asarray(raw, dtype=np.float32) / 255.0
                images.append(torch.from_numpy(np.ascontiguousarray(pixels[..., :3])))
                if v >= len(lines):
                    raise ValueError(f"{meta_path} has {len(lines)} lines; view {v} wanted")
                values = lines[v].split()
                if len(values) != 5:
                    raise ValueError(
                        f"{meta_path} line {v + 1}: expected 'azimuth elevation in-plane "
                        f"distance-ratio fov', got {lines[v]!r}"
                    )
                azim, elev, _, ratio, _ = (float(x) for x in values)
                RT = compute_extrinsic_matrix(azim, elev, ratio * MAX_CAMERA_DISTANCE)
                R, T = rt_to_pytorch3d(RT)
                RTs.append(RT)
                Rs.append(R)
                Ts.append(T)
            model["images"] = torch.stack(images)
            model["R"] = torch.stack(Rs)
            model["T"] = torch.stack(Ts)
            model["K"] = ITEM_K.expand(len(views), 4, 4)

        if self.return_voxels:
            path = Path(self.r2n2_dir) / self.voxels_rel_path / synset / model_id / "model.binvox"
            if not path.is_file():
                raise FileNotFoundError(
                    f"{path} not found: the voxels of model {model_id} of category {synset}"
                )
            coords = align_bbox(read_binvox_coords(path), model["verts"])
            grids = [voxelize(coords, BLENDER_INTRINSIC @ RT, VOXEL_SIZE) for RT in RTs]
            # Without renderings there are no cameras: PyTorch3D then stacks nothing.
            model["voxels"] = torch.stack(grids) if grids else None
        return model
