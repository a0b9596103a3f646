"""The course's single-view dataset: a cached, split ``torch.utils.data.Dataset`` of shapes.

:class:`ShapeDataset` serves (image, 3D shape) pairs for chapter 05. The first time a
configuration is asked for, every shape is generated (:func:`generate_shapes`, a
``tqdm`` bar shows progress; 2,000 shapes at 128² take about a minute on a laptop
CPU) and written to the cache; later constructions just read it.

**Item** ``ds[i]`` (view ``i % V`` of the ``i // V``-th shape of the split)::

    "image"     float32 (3, S, S) in [0, 1], white background
    "mask"      float32 (1, S, S), 1 on the object
    "voxels"    float32 (32, 32, 32), voxels[z, y, x]; cell centres at -0.5 + (i + 0.5) / 32
    "points"    float32 (P, 3), uniform samples of the outer surface
    "normals"   float32 (P, 3), their unit outward normals
    "verts"     float32 (V, 3), the exact mesh (union of the parts' meshes)
    "faces"     int64   (F, 3)
    "R"         float32 (3, 3) } the camera, PyTorch3D convention X_view = X_world @ R + T:
    "T"         float32 (3,)   } FoVPerspectiveCameras(R=R[None], T=T[None], fov=fov)
    "fov"       float, vertical field of view in degrees
    "category"  int64 scalar, index into CATEGORIES
    "shape_id"  int64 scalar, the shape's index in the whole (unsplit) dataset

Shapes live in the canonical object frame (+Y up, front towards +Z), centred (bounding
box centre at the origin) with a bounding-box diagonal of 1, so inside [-0.5, 0.5]³.

**Splits** are by *shape* (all views of a shape are in the same split) and stratified by
category: in each category, a seeded permutation puts 80 % of the shapes in ``"train"``,
10 % in ``"val"`` and 10 % in ``"test"`` (``splits=`` changes the fractions).

**Cache layout** (under ``config.cache_dir() / "shapes"``, i.e. ``$COURSE_CACHE_DIR``
or ``<repo>/.cache``)::

    shapes/<key>/shape_00000.npz ... shape_01999.npz   one compressed file per shape
    shapes/<key>/manifest.json                          written last: params, sizes

``<key>`` names every generation parameter (plus a hash of all of them), so changing any
of them makes a new folder. Generation writes into a temporary folder that is renamed
into place only when complete, so a crash never leaves a half-written ``<key>`` folder; a
folder whose manifest is missing or does not match its files (deleted, truncated) is
regenerated, and a single unreadable file is rebuilt on the fly (shape ``k`` does not
depend on the others).

Example:
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     ds = ShapeDataset("train", num_shapes=10, image_size=32, points_per_shape=64,
    ...                       cache_dir=tmp, progress=False)
    ...     batch = collate_shapes([ds[0], ds[1]])
    >>> batch["image"].shape, batch["voxels"].shape, len(batch["verts"])
    (torch.Size([2, 3, 32, 32]), torch.Size([2, 32, 32, 32]), 2)
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
import warnings
import zipfile
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from course_utils.atomic import atomic_write, write_text_atomic
from course_utils.datasets.categories import CATEGORIES
from course_utils.datasets.generate import (
    CAMERA_DIST,
    ELEVATION_RANGE,
    FOV,
    VOXEL_SIZE,
    generate_shapes,
)

__all__ = [
    "ShapeDataset",
    "collate_shapes",
    "cameras_from_batch",
    "meshes_from_batch",
    "split_shapes",
    "SPLITS",
    "GENERATOR_VERSION",
]

#: Bump when the grammars, sampling or rendering change: old caches are then not reused.
GENERATOR_VERSION = 2
SPLITS = ("train", "val", "test")
MANIFEST = "manifest.json"
#: Keys that ``collate_shapes`` stacks into one tensor (when present and equally shaped).
STACKED = ("image", "mask", "voxels", "points", "normals", "R", "T", "category", "shape_id")
_LOAD_ERRORS = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)


def _default_image_size() -> int:
    from course_utils.config import FAST

    return 64 if FAST else 128


def _default_points() -> int:
    from course_utils.config import FAST

    return 1000 if FAST else 5000


def _backend() -> str:
    from course_utils.p3d import BACKEND

    return BACKEND


def split_shapes(
    categories: Sequence[int], seed: int, fractions: Sequence[float] = (0.8, 0.1, 0.1)
) -> dict[str, np.ndarray]:
    """Split shape indices into train/val/test by shape, stratified by category.

    In each category (shapes ``k`` with ``categories[k] == c``), a permutation seeded by
    ``(seed, c)`` is cut into ``round(n * val)`` validation and ``round(n * test)`` test
    shapes (at least one each when the category has 3 or more shapes), the rest train.

    Args:
        categories: ``(N,)`` the category of each shape.
        seed: the dataset seed.
        fractions: (train, val, test), summing to 1.

    Returns:
        ``{"train": ids, "val": ids, "test": ids}``, sorted int64 arrays of shape indices.

    Example:
        >>> parts = split_shapes([0, 1] * 10, seed=0)
        >>> [len(parts[s]) for s in ("train", "val", "test")]
        [16, 2, 2]
    """
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1) > 1e-6:
        raise ValueError(
            f"splits must be three fractions (train, val, test) summing to 1, got "
            f"{tuple(fractions)}"
        )
    categories = np.asarray(categories, dtype=np.int64)
    out: dict[str, list[int]] = {s: [] for s in SPLITS}
    for c in np.unique(categories):
        ids = np.flatnonzero(categories == c)
        ids = np.random.default_rng([seed, 7919, int(c)]).permutation(ids)
        n = len(ids)
        n_val, n_test = round(n * fractions[1]), round(n * fractions[2])
        if n >= 3:
            n_val = max(n_val, 1) if fractions[1] > 0 else 0
            n_test = max(n_test, 1) if fractions[2] > 0 else 0
        out["val"] += ids[:n_val].tolist()
        out["test"] += ids[n_val : n_val + n_test].tolist()
        out["train"] += ids[n_val + n_test :].tolist()
    return {s: np.array(sorted(v), dtype=np.int64) for s, v in out.items()}


# ------------------------------------------------------------------ cache
def _params(
    num_shapes: int,
    views_per_shape: int,
    image_size: int,
    points_per_shape: int,
    seed: int,
    categories: Sequence[str],
) -> dict[str, Any]:
    """Everything the generated files depend on (the cache key is made from this)."""
    return {
        "generator_version": GENERATOR_VERSION,
        "num_shapes": int(num_shapes),
        "views_per_shape": int(views_per_shape),
        "image_size": int(image_size),
        "points_per_shape": int(points_per_shape),
        "seed": int(seed),
        "categories": list(categories),
        "voxel_size": VOXEL_SIZE,
        "fov": FOV,
        "camera_dist": CAMERA_DIST,
        "elevation_range": list(ELEVATION_RANGE),
        "renderer": _backend(),
    }


def _key(params: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:10]
    p = params
    return (
        f"n{p['num_shapes']}-v{p['views_per_shape']}-s{p['image_size']}"
        f"-p{p['points_per_shape']}-seed{p['seed']}-{digest}"
    )


def _file_name(k: int) -> str:
    return f"shape_{k:05d}.npz"


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    write_text_atomic(path, json.dumps(data, indent=1))


def _save_shape(folder: Path, shape: dict[str, np.ndarray]) -> tuple[str, int]:
    """Write one generated shape as ``shape_KKKKK.npz`` (atomically); returns (name, bytes)."""
    name = _file_name(int(shape["shape_id"]))
    arrays = dict(shape)
    arrays["voxels"] = np.packbits(shape["voxels"].reshape(-1))  # 32³ bits = 4 KiB
    arrays["masks"] = np.packbits(shape["masks"].reshape(-1))
    arrays["faces"] = shape["faces"].astype(np.int32)
    arrays["vert_parts"] = shape["vert_parts"].astype(np.uint8)
    with atomic_write(folder / name, "wb") as handle:  # compressed: a third of the size
        np.savez_compressed(handle, **arrays)
    return name, (folder / name).stat().st_size


def _check_cache(folder: Path, params: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """``(manifest, "")`` when ``folder`` holds a complete cache for ``params``, else
    ``(None, reason)``."""
    path = folder / MANIFEST
    if not folder.is_dir():
        return None, "not generated yet"
    if not path.is_file():
        return None, f"{path.name} is missing (an interrupted generation?)"
    try:
        manifest = json.loads(path.read_text())
        files = manifest["files"]
        stored = manifest["params"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        return None, f"{path.name} is unreadable ({error})"
    if stored != params:
        return None, f"{path.name} was written for other parameters"
    if len(files) != params["num_shapes"] or len(manifest.get("categories", [])) != len(files):
        return None, f"{path.name} lists {len(files)} shapes, expected {params['num_shapes']}"
    for name, size in files.items():
        file = folder / name
        if not file.is_file():
            return None, f"{name} is missing"
        if file.stat().st_size != size:
            return None, f"{name} has {file.stat().st_size} bytes, the manifest says {size}"
    return manifest, ""


def _generate_cache(folder: Path, params: dict[str, Any], progress: bool) -> dict[str, Any]:
    """Generate every shape into a temporary folder, then move it to ``folder``."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    for stale in folder.parent.glob(f".{folder.name}.*.partial"):
        # Left by a generation that was killed: nothing has written there for an hour.
        if time.time() - stale.stat().st_mtime > 3600:
            shutil.rmtree(stale, ignore_errors=True)
    tmp = folder.parent / f".{folder.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.partial"
    tmp.mkdir()
    start = time.perf_counter()
    try:
        files: dict[str, int] = {}
        categories: list[int] = []
        # Compressing and writing (zlib releases the GIL) overlaps with the next renders.
        with ThreadPoolExecutor(max_workers=1) as writer:
            pending: deque[Future] = deque()
            for shape in generate_shapes(
                params["num_shapes"],
                params["views_per_shape"],
                params["image_size"],
                params["points_per_shape"],
                params["seed"],
                params["categories"],
                progress=progress,
            ):
                pending.append(writer.submit(_save_shape, tmp, shape))
                categories.append(int(shape["category"]))
                while len(pending) > 64 or (pending and pending[0].done()):
                    name, size = pending.popleft().result()
                    files[name] = size
            while pending:
                name, size = pending.popleft().result()
                files[name] = size
        manifest = {
            "params": params,
            "files": files,
            "categories": categories,
            "seconds": round(time.perf_counter() - start, 2),
        }
        _write_json_atomic(tmp / MANIFEST, manifest)  # last: the folder is now complete
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
        try:
            os.rename(tmp, folder)
        except OSError:  # another process finished first: keep theirs if it is complete
            theirs, _ = _check_cache(folder, params)
            if theirs is not None:
                return theirs
            shutil.rmtree(folder, ignore_errors=True)
            os.rename(tmp, folder)
        return manifest
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------------ dataset
class ShapeDataset(Dataset):
    """Procedural shapes (chairs, tables, lamps, mugs, bottles) with images, voxels, points.

    Args:
        split: ``"train"``, ``"val"`` or ``"test"`` (split by shape, see :func:`split_shapes`).
        num_shapes: shapes in the whole dataset (all splits together).
        views_per_shape: V rendered views per shape; the split has ``V x`` its shapes items.
        image_size: S (default 128, or 64 in fast mode ``COURSE_FAST=1``).
        points_per_shape: P surface points per shape (default 5000, or 1000 in fast mode).
        seed: the dataset seed: same seed and arguments, identical data.
        categories: names to use (default: all of :data:`CATEGORIES`); labels stay the
            indices into :data:`CATEGORIES`.
        cache_dir: cache root (default ``config.cache_dir() / "shapes"``).
        splits: (train, val, test) fractions.
        progress: show a progress bar while generating.
        regenerate: ignore an existing cache and generate again.

    Attributes:
        shape_ids: ``(N,)`` the shape indices in this split (sorted).
        folder: the cache folder of this configuration.
        generated: True when this construction generated the data (False: read the cache).
        category_names: the names matching the ``category`` labels (= ``CATEGORIES``).

    Raises:
        ValueError: for an unknown split or category, a bad size, or an empty split.
    """

    category_names: list[str] = CATEGORIES

    def __init__(
        self,
        split: str = "train",
        num_shapes: int = 2000,
        views_per_shape: int = 1,
        image_size: int | None = None,
        points_per_shape: int | None = None,
        seed: int = 0,
        categories: Sequence[str] | None = None,
        cache_dir: str | Path | None = None,
        splits: Sequence[float] = (0.8, 0.1, 0.1),
        progress: bool = True,
        regenerate: bool = False,
    ) -> None:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        names = list(CATEGORIES if categories is None else categories)
        unknown = [c for c in names if c not in CATEGORIES]
        if unknown or not names or len(set(names)) != len(names):
            raise ValueError(f"categories must be distinct names from {CATEGORIES}, got {names}")
        image_size = _default_image_size() if image_size is None else int(image_size)
        points = _default_points() if points_per_shape is None else int(points_per_shape)
        for label, value, low in (
            ("num_shapes", num_shapes, 1),
            ("views_per_shape", views_per_shape, 1),
            ("image_size", image_size, 8),
            ("points_per_shape", points, 1),
        ):
            if int(value) < low:
                raise ValueError(f"{label} must be at least {low}, got {value}")
        self.split = split
        self.params = _params(num_shapes, views_per_shape, image_size, points, seed, names)
        self.views_per_shape = int(views_per_shape)
        self.image_size = image_size
        if cache_dir is None:
            from course_utils.config import cache_dir as course_cache_dir

            root = course_cache_dir() / "shapes"
        else:
            root = Path(cache_dir)
        self.folder = root / _key(self.params)

        manifest, reason = (
            (None, "regenerate=True") if regenerate else _check_cache(self.folder, self.params)
        )
        self.generated = manifest is None
        if manifest is None:
            if reason != "not generated yet":
                warnings.warn(
                    f"shape cache {self.folder} is incomplete or stale ({reason}); regenerating it",
                    stacklevel=2,
                )
            manifest = _generate_cache(self.folder, self.params, progress)
        self.shape_categories = np.asarray(manifest["categories"], dtype=np.int64)
        self.shape_ids = split_shapes(self.shape_categories, seed, splits)[split]
        if len(self.shape_ids) == 0:
            raise ValueError(
                f"the {split!r} split of {num_shapes} shapes is empty (fractions {tuple(splits)}"
                f", {len(names)} categories); use more shapes"
            )

    def __len__(self) -> int:
        return len(self.shape_ids) * self.views_per_shape

    def _load(self, shape_id: int) -> dict[str, np.ndarray]:
        """The arrays of one shape, rebuilding its file if it cannot be read."""
        path = self.folder / _file_name(shape_id)
        try:
            with np.load(path, allow_pickle=False) as data:
                return {name: data[name] for name in data.files}
        except _LOAD_ERRORS as error:
            warnings.warn(
                f"{path} is unreadable ({error}); regenerating shape {shape_id}", stacklevel=3
            )
            p = self.params
            shape = next(
                generate_shapes(
                    p["num_shapes"],
                    p["views_per_shape"],
                    p["image_size"],
                    p["points_per_shape"],
                    p["seed"],
                    p["categories"],
                    indices=[shape_id],
                    progress=False,
                )
            )
            _save_shape(self.folder, shape)
            self._update_manifest()
            with np.load(path, allow_pickle=False) as data:
                return {name: data[name] for name in data.files}

    def _update_manifest(self) -> None:
        """Record the files' current sizes (after a shape was rebuilt)."""
        path = self.folder / MANIFEST
        manifest = json.loads(path.read_text())
        manifest["files"] = {n: (self.folder / n).stat().st_size for n in manifest["files"]}
        _write_json_atomic(path, manifest)

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} items")
        index = index % len(self)
        shape_id = int(self.shape_ids[index // self.views_per_shape])
        view = index % self.views_per_shape
        data = self._load(shape_id)
        size = self.image_size
        # NumPy for the conversions: single-threaded, no thread start-up per small tensor.
        image = np.ascontiguousarray(data["images"][view].transpose(2, 0, 1), dtype=np.float32)
        image *= 1.0 / 255.0
        masks = np.unpackbits(data["masks"])[: self.views_per_shape * size * size]
        mask = masks.reshape(self.views_per_shape, size, size)[view]
        voxels = np.unpackbits(data["voxels"])[: VOXEL_SIZE**3].reshape((VOXEL_SIZE,) * 3)
        return {
            "image": torch.from_numpy(image),
            "mask": torch.from_numpy(mask.astype(np.float32))[None],
            "voxels": torch.from_numpy(voxels.astype(np.float32)),
            "points": torch.from_numpy(data["points"]),
            "normals": torch.from_numpy(data["normals"]),
            "verts": torch.from_numpy(data["verts"]),
            "faces": torch.from_numpy(data["faces"].astype(np.int64)),
            "R": torch.from_numpy(data["R"][view]),
            "T": torch.from_numpy(data["T"][view]),
            "fov": float(data["fov"][view]),
            "category": torch.tensor(int(data["category"]), dtype=torch.int64),
            "shape_id": torch.tensor(shape_id, dtype=torch.int64),
        }

    def viewpoint(self, index: int) -> tuple[float, float]:
        """``(azimuth, elevation)`` in degrees of item ``index``'s camera."""
        shape_id = int(self.shape_ids[index // self.views_per_shape])
        data = self._load(shape_id)
        view = index % self.views_per_shape
        return float(data["azim"][view]), float(data["elev"][view])

    def __repr__(self) -> str:
        p = self.params
        return (
            f"ShapeDataset(split={self.split!r}, {len(self.shape_ids)} shapes x "
            f"{self.views_per_shape} views, {p['image_size']}² images, "
            f"{p['points_per_shape']} points, seed={p['seed']}, cache={self.folder})"
        )


# ------------------------------------------------------------------ batches
def collate_shapes(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Merge items into a batch (use as ``DataLoader(..., collate_fn=collate_shapes)``).

    Stacks ``image (B, 3, S, S)``, ``mask (B, 1, S, S)``, ``voxels (B, 32, 32, 32)``,
    ``points``/``normals (B, P, 3)``, ``R (B, 3, 3)``, ``T (B, 3)``, ``category (B,)``,
    ``shape_id (B,)`` and ``fov (B,)`` (float32); keeps ``verts`` and ``faces`` as lists of
    B tensors (meshes differ in size; see :func:`meshes_from_batch`). Any other key is
    stacked when its values are equally shaped tensors, else kept as a list.

    Raises:
        ValueError: for an empty list or items with different keys.
    """
    if len(items) == 0:
        raise ValueError("collate_shapes needs at least one item")
    keys = list(items[0].keys())
    if any(set(item.keys()) != set(keys) for item in items):
        raise ValueError("collate_shapes: the items do not all have the same keys")
    batch: dict[str, Any] = {}
    for key in keys:
        values = [item[key] for item in items]
        if key in ("verts", "faces"):
            batch[key] = values
        elif key == "fov":
            batch[key] = torch.tensor([float(v) for v in values], dtype=torch.float32)
        elif all(torch.is_tensor(v) for v in values) and all(
            v.shape == values[0].shape for v in values
        ):
            batch[key] = torch.stack(values)
        elif key in STACKED:
            shapes = sorted({tuple(v.shape) for v in values if torch.is_tensor(v)})
            raise ValueError(f"collate_shapes: {key!r} has different shapes {shapes}")
        else:
            batch[key] = values
    return batch


def cameras_from_batch(batch: dict[str, Any], device: str | torch.device | None = None) -> Any:
    """The batch's cameras: ``FoVPerspectiveCameras(R, T, fov)`` with one camera per item."""
    from course_utils.p3d import renderer

    device = batch["R"].device if device is None else torch.device(device)
    fov = batch["fov"]
    fov = fov.to(device) if torch.is_tensor(fov) else torch.tensor(fov, device=device)
    return renderer.FoVPerspectiveCameras(
        R=batch["R"].to(device), T=batch["T"].to(device), fov=fov, device=device
    )


def meshes_from_batch(batch: dict[str, Any], device: str | torch.device | None = None) -> Any:
    """The batch's ground-truth meshes as one ``Meshes`` (B meshes of different sizes)."""
    from course_utils.p3d import structures

    verts, faces = batch["verts"], batch["faces"]
    if device is not None:
        verts = [v.to(device) for v in verts]
        faces = [f.to(device) for f in faces]
    return structures.Meshes(verts=list(verts), faces=list(faces))
