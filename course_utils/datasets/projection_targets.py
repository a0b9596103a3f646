"""Depth-map targets of the course's shapes at the fixed and novel viewpoints (chapter 07).

The structure generator of chapter 07 is trained on depth maps and masks of every shape
seen from the 8 **fixed** viewpoints (:func:`course_utils.projections.fixed_viewpoints`)
and from ``K`` **novel** ones (:func:`course_utils.projections.novel_viewpoints`). They
are rendered once with the course's mesh rasterizer (its ``zbuf``,
:func:`course_utils.projections.render_depth`) and cached beside the dataset::

    <cache>/projections/<dataset key>/<targets key>/<split>.npz

``<targets key>`` names the viewpoints, the sizes and :data:`TARGETS_VERSION` (plus a hash
of all of them), so changing any of them makes a new file; the file is written atomically
(:func:`course_utils.atomic.temporary_path`) and read back with ``allow_pickle=False``.
Depths are stored as float16 *offsets from the camera distance* (±0.87 for a shape in
[-0.5, 0.5]³, so the rounding error is below 0.0005), background as NaN.

:class:`WithProjectionTargets` wraps a :class:`~course_utils.datasets.ShapeDataset` and adds
to each item::

    "fixed_depth"  float32 (N, S, S)  view depth at the fixed viewpoints, 0 = background
    "novel_depth"  float32 (K, S', S') view depth at the novel viewpoints, 0 = background

(masks are ``depth > 0``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from course_utils.atomic import temporary_path
from course_utils.datasets.generate import CAMERA_DIST, FOV

__all__ = ["TARGETS_VERSION", "ProjectionTargets", "WithProjectionTargets", "targets_key"]

#: Bump when the way targets are rendered changes: old caches are then ignored.
TARGETS_VERSION = 1
#: Keys the wrapper adds to every item.
TARGET_KEYS = ("fixed_depth", "novel_depth")


def _settings(fixed_size: int, novel_size: int, num_novel: int) -> dict[str, Any]:
    from course_utils.p3d import BACKEND
    from course_utils.projections import fixed_viewpoints, novel_viewpoints

    return {
        "version": TARGETS_VERSION,
        "fixed_views": [list(v) for v in fixed_viewpoints()],
        "novel_views": [list(v) for v in novel_viewpoints(num_novel)],
        "fixed_size": int(fixed_size),
        "novel_size": int(novel_size),
        "dist": CAMERA_DIST,
        "fov": FOV,
        "renderer": str(BACKEND),
    }


def targets_key(settings: dict[str, Any]) -> str:
    """Folder name of a target configuration: readable sizes and a hash of everything."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]
    return (
        f"f{len(settings['fixed_views'])}x{settings['fixed_size']}"
        f"-n{len(settings['novel_views'])}x{settings['novel_size']}-{digest}"
    )


def _encode(depth: torch.Tensor) -> np.ndarray:
    offset = (depth - CAMERA_DIST).float().numpy()
    offset[depth.numpy() <= 0] = np.nan
    return offset.astype(np.float16)


def _decode(stored: np.ndarray) -> torch.Tensor:
    depth = stored.astype(np.float32) + CAMERA_DIST
    return torch.from_numpy(np.nan_to_num(depth, nan=0.0))


class ProjectionTargets:
    """Depth maps of one split's shapes at the fixed and novel viewpoints, cached.

    Args:
        dataset: a ``ShapeDataset`` (its ``folder`` names the cache, its items give the
            meshes).
        fixed_size: S, side of the fixed-view maps (the generator's output size).
        novel_size: side of the novel-view maps.
        num_novel: K, number of novel viewpoints.
        batch_size: shapes rendered at once (memory).
        progress: show a ``tqdm`` bar while rendering.
        cache_dir: root of the cache (default ``<course cache>/projections``).

    Attributes:
        fixed: ``(M, N, S, S)`` float16 offsets (see the module docstring), M shapes.
        novel: ``(M, K, S', S')`` the same at the novel views.
        row: ``{shape_id: row}``.
    """

    def __init__(
        self,
        dataset: Any,
        fixed_size: int = 64,
        novel_size: int = 64,
        num_novel: int = 8,
        batch_size: int = 16,
        progress: bool = True,
        cache_dir: str | Path | None = None,
    ) -> None:
        self.settings = _settings(fixed_size, novel_size, num_novel)
        if cache_dir is None:
            from course_utils.config import cache_dir as course_cache_dir

            cache_dir = course_cache_dir() / "projections"
        folder = Path(cache_dir) / Path(dataset.folder).name / targets_key(self.settings)
        self.path = folder / f"{dataset.split}.npz"
        shape_ids = np.asarray(dataset.shape_ids, dtype=np.int64)
        arrays = self._read(shape_ids)
        if arrays is None:
            arrays = self._render(dataset, shape_ids, batch_size, progress)
            with temporary_path(self.path) as tmp:
                with open(tmp, "wb") as handle:
                    np.savez(handle, settings=json.dumps(self.settings), **arrays)
        self.fixed, self.novel = arrays["fixed"], arrays["novel"]
        self.row = {int(s): i for i, s in enumerate(arrays["shape_ids"])}

    def _read(self, shape_ids: np.ndarray) -> dict[str, np.ndarray] | None:
        if not self.path.is_file():
            return None
        try:
            with np.load(self.path, allow_pickle=False) as data:
                if json.loads(str(data["settings"])) != self.settings:
                    return None
                arrays = {k: data[k] for k in ("shape_ids", "fixed", "novel")}
        except (OSError, ValueError, KeyError) as error:
            import warnings

            warnings.warn(f"{self.path} is unreadable ({error}); rendering it again", stacklevel=3)
            return None
        if not np.array_equal(arrays["shape_ids"], shape_ids):
            return None
        return arrays

    def _render(
        self, dataset: Any, shape_ids: np.ndarray, batch_size: int, progress: bool
    ) -> dict[str, np.ndarray]:
        from tqdm.auto import tqdm

        from course_utils.p3d import structures
        from course_utils.projections import render_depth, viewpoint_cameras

        s = self.settings
        fixed_cams = viewpoint_cameras([tuple(v) for v in s["fixed_views"]])
        novel_cams = viewpoint_cameras([tuple(v) for v in s["novel_views"]])
        views = dataset.views_per_shape
        fixed, novel = [], []
        starts = range(0, len(shape_ids), batch_size)
        for start in tqdm(starts, desc="rendering projection targets", disable=not progress):
            stop = min(start + batch_size, len(shape_ids))
            items = [dataset[i * views] for i in range(start, stop)]
            for cams, size, out in ((fixed_cams, s["fixed_size"], fixed),
                                    (novel_cams, s["novel_size"], novel)):  # fmt: skip
                n = len(cams)
                # every mesh once per camera: mesh-major, camera-minor
                meshes = structures.Meshes(
                    verts=[it["verts"].float() for it in items for _ in range(n)],
                    faces=[it["faces"] for it in items for _ in range(n)],
                )
                R, T = cams.R.repeat(len(items), 1, 1), cams.T.repeat(len(items), 1)
                from course_utils.p3d import renderer

                batch_cams = renderer.FoVPerspectiveCameras(R=R, T=T, fov=FOV)
                depth = render_depth(meshes, batch_cams, size).view(len(items), n, size, size)
                out.append(_encode(depth))
        return {
            "shape_ids": shape_ids,
            "fixed": np.concatenate(fixed),
            "novel": np.concatenate(novel),
        }

    def depth(self, shape_id: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(N, S, S)`` fixed-view and ``(K, S', S')`` novel-view depths of one shape."""
        row = self.row[int(shape_id)]
        return _decode(self.fixed[row]), _decode(self.novel[row])


class WithProjectionTargets(Dataset):
    """A ``ShapeDataset`` whose items also hold ``fixed_depth`` and ``novel_depth``.

    Args:
        dataset: the ``ShapeDataset``.
        **options: passed to :class:`ProjectionTargets` (sizes, number of novel views).
    """

    def __init__(self, dataset: Any, **options: Any) -> None:
        self.dataset = dataset
        self.targets = ProjectionTargets(dataset, **options)
        self.collate_fn = getattr(dataset, "collate_fn", None)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getattr__(self, name: str) -> Any:  # split, shape_ids, folder, categories ...
        if name in ("dataset", "targets", "collate_fn"):
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = dict(self.dataset[index])
        fixed, novel = self.targets.depth(int(item["shape_id"]))
        item["fixed_depth"], item["novel_depth"] = fixed, novel
        return item
