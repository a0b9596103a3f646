"""``pytorch3d.datasets.ShapeNetCore``: the ShapeNetCore v1/v2 meshes as a Dataset."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from course_utils.p3d.builtin.datasets.shapenet_base import ShapeNetBase
from course_utils.p3d.builtin.datasets.synsets import (
    SHAPENET_V1_SYNSET_DICT,
    SHAPENET_V2_SYNSET_DICT,
)

__all__ = ["ShapeNetCore"]


class ShapeNetCore(ShapeNetBase):
    """ShapeNetCore models, one item per model.

    Layout: ``<data_dir>/<synset id>/<model id>/model.obj`` (version 1) or
    ``.../models/model_normalized.obj`` (version 2). Folders whose name is not a
    ShapeNetCore synset id are ignored; a model folder without its OBJ is skipped with a
    warning. Models are listed synset by synset, in sorted order (PyTorch3D uses the
    file system's order; sorting makes the indices reproducible).

    Args:
        data_dir: the ShapeNetCore folder.
        synsets: synset ids (``"03001627"``) and/or names (``"chair"``); default: all
            present. Unknown or absent ones are skipped with a warning.
        version: 1 or 2 (which OBJ path and which synset -> name table).
        load_textures: give each item a ``textures`` atlas (see
            :meth:`ShapeNetBase._load_mesh` for the built-in limit).
        texture_resolution: R of the ``(F, R, R, 3)`` atlas.

    Items: ``{"synset_id": str, "model_id": str, "verts": (V, 3) float32, "faces":
    (F, 3) int64, "textures": (F, R, R, 3) or None, "label": category name}``.
    """

    def __init__(
        self,
        data_dir: str | Path,
        synsets: Sequence[str] | None = None,
        version: int = 1,
        load_textures: bool = True,
        texture_resolution: int = 4,
    ) -> None:
        super().__init__()
        if version not in (1, 2):
            raise ValueError(f"version must be 1 or 2, got {version!r}")
        root = Path(data_dir)
        if not root.is_dir():
            raise FileNotFoundError(f"{root} not found: expected the ShapeNetCore folder")
        self.shapenet_dir = data_dir
        self.load_textures = load_textures
        self.texture_resolution = texture_resolution
        self.model_dir = "model.obj" if version == 1 else "models/model_normalized.obj"
        table = SHAPENET_V1_SYNSET_DICT if version == 1 else SHAPENET_V2_SYNSET_DICT
        self.synset_dict = dict(table)
        by_name = {name: synset for synset, name in self.synset_dict.items()}

        if synsets is None:
            chosen = {p.name for p in root.iterdir() if p.is_dir() and p.name in self.synset_dict}
        else:
            chosen = set()
            for s in synsets:
                synset = s if s in self.synset_dict else by_name.get(s)
                if synset is not None and (root / synset).is_dir():
                    chosen.add(synset)
                else:
                    warnings.warn(
                        f"synset {s!r} is not a ShapeNetCore v{version} category or "
                        f"{root} has no folder for it; skipped",
                        stacklevel=2,
                    )
        absent = sorted(set(self.synset_dict) - chosen)
        self.synset_inv = {self.synset_dict[s]: s for s in sorted(chosen)}
        if absent:
            warnings.warn(
                f"{len(absent)} ShapeNetCore v{version} categories are not in {root} "
                f"(or not chosen): {', '.join(absent)}",
                stacklevel=2,
            )
        for synset in sorted(chosen):
            self.synset_start_idxs[synset] = len(self.synset_ids)
            for model in sorted(p.name for p in (root / synset).iterdir()):
                if not (root / synset / model / self.model_dir).is_file():
                    warnings.warn(
                        f"{root / synset / model / self.model_dir} not found; model skipped",
                        stacklevel=2,
                    )
                    continue
                self.synset_ids.append(synset)
                self.model_ids.append(model)
            self.synset_num_models[synset] = len(self.synset_ids) - self.synset_start_idxs[synset]

    def __getitem__(self, idx: int) -> dict[str, Any]:
        model = self._get_item_ids(idx)
        path = Path(self.shapenet_dir) / model["synset_id"] / model["model_id"] / self.model_dir
        model["verts"], model["faces"], model["textures"] = self._load_mesh(path)
        model["label"] = self.synset_dict[model["synset_id"]]
        return model
