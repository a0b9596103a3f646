"""Optional loaders for two real single-view datasets, with the course's item format.

The course trains on its own procedural shapes (:class:`~course_utils.datasets.ShapeDataset`),
which need no download. Learners who download a real dataset *under its own licence* can
train the same models on it with these loaders (see ``course_utils/datasets/README.md``
for where to get the data and how to lay it out):

* :class:`R2N2` — the 3D-R2N2 renderings of ShapeNet (13 categories, 24 views per model,
  137² RGBA PNGs) and their 32³ binvox voxels, optionally with the ShapeNetCore v1 meshes;
* :class:`Pix3D` — real photographs of IKEA furniture with masks, aligned meshes, 128³
  voxels and camera poses.

Their items have the keys of ``ShapeDataset`` (``image``, ``mask``, ``voxels``, ``points``,
``normals``, ``verts``, ``faces``, ``R``, ``T``, ``fov``, ``category``, ``shape_id``), in
the course's canonical object frame — +Y up, the object's front towards +Z, the mesh
centred with a bounding-box diagonal of 1, voxels ``[z, y, x]`` filling [-0.5, 0.5]³ — so
``collate_shapes`` batches them. What differs from the procedural data is said below:
real voxels are made by their authors and fill their grid (they agree with the mesh up to
a per-axis scale), and without a mesh file the mesh is the voxels' cubes.

A small binvox reader (:func:`read_binvox`) is included; Pix3D's ``.mat`` voxels need
``scipy``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from course_utils.datasets.shapes import split_shapes
from course_utils.p3d.builtin.datasets.binvox import BinvoxGrid, read_binvox

__all__ = [
    "R2N2",
    "Pix3D",
    "R2N2_SYNSETS",
    "PIX3D_CATEGORIES",
    "BinvoxGrid",
    "read_binvox",
    "normalise_mesh",
]

#: The 13 ShapeNet categories of 3D-R2N2: WordNet synset id -> name (label order).
R2N2_SYNSETS: dict[str, str] = {
    "02691156": "airplane",
    "02828884": "bench",
    "02933112": "cabinet",
    "02958343": "car",
    "03001627": "chair",
    "03211117": "display",
    "03636649": "lamp",
    "03691459": "speaker",
    "04090263": "rifle",
    "04256520": "sofa",
    "04379243": "table",
    "04401088": "telephone",
    "04530566": "watercraft",
}
#: Pix3D's 9 categories (label order).
PIX3D_CATEGORIES: list[str] = [
    "bed",
    "bookcase",
    "chair",
    "desk",
    "misc",
    "sofa",
    "table",
    "tool",
    "wardrobe",
]

R2N2_MAX_CAMERA_DISTANCE = 1.75  # rendering_metadata's distance is a fraction of this
VOXEL_SIZE = 32


class DatasetFolderError(FileNotFoundError):
    """A dataset folder is missing something the loader needs (the message says what)."""


# ------------------------------------------------------------------ helpers
def _default_image_size() -> int:
    from course_utils.config import FAST

    return 64 if FAST else 128


def _default_points() -> int:
    from course_utils.config import FAST

    return 1000 if FAST else 5000


def normalise_mesh(verts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Centre a mesh's bounding box at the origin and scale its diagonal to 1.

    Returns:
        ``(normalised verts (V, 3), centre (3,), scale)`` with
        ``normalised = (verts - centre) / scale``.
    """
    low, high = verts.min(dim=0).values, verts.max(dim=0).values
    centre = (low + high) / 2
    scale = float((high - low).norm().clamp(min=1e-12))
    return (verts - centre) / scale, centre, scale


def _surface_points(
    verts: torch.Tensor, faces: torch.Tensor, num: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """``num`` area-weighted surface samples and normals, reproducible from ``seed``."""
    from course_utils.p3d import ops, structures

    mesh = structures.Meshes(verts=[verts.float()], faces=[faces.long()])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        points, normals = ops.sample_points_from_meshes(mesh, num, return_normals=True)
    return points[0], normals[0]


def _voxel_mesh(voxels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The cubes of a ``[z, y, x]`` grid in [-0.5, 0.5]³ (the stand-in for a missing mesh)."""
    from course_utils.p3d import ops

    cubes = ops.cubify(voxels[None].float(), 0.5, align="corner").scale_verts(0.5)
    return cubes.verts_list()[0], cubes.faces_list()[0]


def _pool_to(voxels: np.ndarray, size: int = VOXEL_SIZE) -> np.ndarray:
    """Resample a cubic bool grid to ``size``³: max-pooling when it divides, else nearest."""
    n = voxels.shape[0]
    if n == size:
        return voxels
    if n % size == 0:
        f = n // size
        return voxels.reshape(size, f, size, f, size, f).any(axis=(1, 3, 5))
    idx = np.minimum(((np.arange(size) + 0.5) * n / size).astype(int), n - 1)
    return voxels[np.ix_(idx, idx, idx)]


def _load_rgba(
    path: Path,
    size: int,
    crop: tuple[int, int, int, int] | None = None,
    mask_path: Path | None = None,
    white_background: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Read an image (and its mask), crop a square box, composite on white, resize.

    Returns:
        ``image (3, S, S)`` float32 in [0, 1] and ``mask (1, S, S)`` float32 in {0, 1}.
    """
    from PIL import Image

    with Image.open(path) as raw:
        rgba = np.asarray(raw.convert("RGBA"), dtype=np.float32) / 255.0
    if mask_path is not None:
        with Image.open(mask_path) as raw:
            alpha = np.asarray(raw.convert("L"), dtype=np.float32) / 255.0
        if alpha.shape != rgba.shape[:2]:
            raise ValueError(
                f"mask {mask_path} is {alpha.shape[::-1]}, its image {path} is "
                f"{rgba.shape[1::-1]} (width, height)"
            )
        rgba[..., 3] = alpha
    if crop is not None:  # a square box (x0, y0, x1, y1) that may reach outside the image
        x0, y0, x1, y1 = crop
        canvas = np.zeros((y1 - y0, x1 - x0, 4), dtype=np.float32)
        h, w = rgba.shape[:2]
        sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        canvas[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = rgba[sy0:sy1, sx0:sx1]
        rgba = canvas
    alpha = rgba[..., 3:]
    rgb = rgba[..., :3] * alpha + (1 - alpha) if white_background else rgba[..., :3]
    tensor = torch.from_numpy(np.concatenate([rgb, alpha], axis=-1)).permute(2, 0, 1)[None]
    resized = torch.nn.functional.interpolate(
        tensor, size=(size, size), mode="bilinear", antialias=True, align_corners=False
    )[0]
    return resized[:3].clamp(0, 1).contiguous(), (resized[3:] > 0.5).float()


def _camera_in_frame(
    R: torch.Tensor, T: torch.Tensor, A: torch.Tensor, centre: torch.Tensor, scale: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Re-express a camera after the change of object frame ``X_new = (X_old @ A - c) / s``.

    With ``X_view = X_old @ R + T`` and ``X_old = (s X_new + c) @ A.T`` (A a rotation):
    ``X_view / s = X_new @ (A.T R) + (c @ A.T @ R + T) / s``; dividing view coordinates by
    ``s`` leaves a perspective image unchanged.
    """
    R_new = A.T @ R
    return R_new, (centre @ R_new + T) / scale


# ------------------------------------------------------------------ R2N2
class R2N2(Dataset):
    """3D-R2N2's ShapeNet renderings and voxels, as course items (one item per view).

    Folder layout (``root``)::

        ShapeNetRendering/<synset>/<model>/rendering/00.png ... 23.png
        ShapeNetRendering/<synset>/<model>/rendering/rendering_metadata.txt
        ShapeNetVox32/<synset>/<model>/model.binvox
        (optional, ``shapenet_dir``) ShapeNetCore.v1/<synset>/<model>/model.obj

    ``rendering_metadata.txt`` has one line per image, ``azimuth elevation in-plane
    distance-ratio fov`` (degrees; the camera distance is ``ratio * 1.75``).

    Conventions: ShapeNetCore v1 models are +Y up with their front along +X; the items
    turn them (and the voxels) a quarter turn about +Y so the front faces +Z as in the
    course. The camera of view ``(azimuth a, elevation e)`` is then
    ``look_at_view_transform(dist, e, -a)`` (derived from Blender's camera set-up of
    R2N2, as in PyTorch3D's own R2N2 loader), re-expressed for the normalised mesh.
    Without ``shapenet_dir`` the mesh (and the points) are the voxels' cubes.

    Args:
        root: the folder holding ``ShapeNetRendering`` and ``ShapeNetVox32``.
        split: ``"train"``, ``"val"`` or ``"test"``.
        categories: names (``"chair"``) or synset ids (``"03001627"``); default: every
            category found in ``ShapeNetRendering``.
        views: which of the renderings to use (default: all listed in each metadata file).
        splits_file: a JSON file ``{"train": {synset: {model: [views]}}, ...}`` (the
            format of PyTorch3D's R2N2 loader); default: split the models 80/10/10 per
            category with ``seed`` (:func:`~course_utils.datasets.shapes.split_shapes`).
        shapenet_dir: ShapeNetCore v1 (``<synset>/<model>/model.obj``) for exact meshes.
        image_size: S (default 128, or 64 in fast mode).
        points_per_shape: surface points per item (default 5000, or 1000 in fast mode).
        seed: for the split and the point samples.

    Raises:
        DatasetFolderError: a missing folder or file (the message names the path and
            what was expected there).
        ValueError: an unknown category or split, or an empty split.
    """

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        categories: Sequence[str] | None = None,
        views: Sequence[int] | None = None,
        splits_file: str | Path | None = None,
        shapenet_dir: str | Path | None = None,
        image_size: int | None = None,
        points_per_shape: int | None = None,
        seed: int = 0,
    ) -> None:
        self.root = Path(root)
        self.renderings = self.root / "ShapeNetRendering"
        self.voxel_dir = self.root / "ShapeNetVox32"
        for folder, what in (
            (self.renderings, "the R2N2 renderings (ShapeNetRendering.tgz)"),
            (self.voxel_dir, "the R2N2 voxels (ShapeNetVox32.tgz)"),
        ):
            if not folder.is_dir():
                raise DatasetFolderError(
                    f"{folder} not found: expected {what} unpacked there "
                    "(see course_utils/datasets/README.md)"
                )
        if split not in ("train", "val", "test"):
            raise ValueError(f"split must be 'train', 'val' or 'test', got {split!r}")
        self.split = split
        self.shapenet_dir = Path(shapenet_dir) if shapenet_dir is not None else None
        self.image_size = _default_image_size() if image_size is None else int(image_size)
        self.points_per_shape = (
            _default_points() if points_per_shape is None else int(points_per_shape)
        )
        self.seed = int(seed)
        self.category_names = list(R2N2_SYNSETS.values())

        found = sorted(p.name for p in self.renderings.iterdir() if p.is_dir())
        synsets = self._resolve_categories(categories, found)
        if splits_file is not None:
            with open(splits_file) as handle:
                table = json.load(handle)
            if split not in table:
                raise ValueError(f"{splits_file} has no {split!r} split (it has {list(table)})")
            chosen = {s: table[split].get(s, {}) for s in synsets}
        else:
            chosen = {}
            for synset in synsets:
                models = sorted(p.name for p in (self.renderings / synset).iterdir() if p.is_dir())
                ids = split_shapes([0] * len(models), self.seed)[split]
                chosen[synset] = {models[i]: None for i in ids}

        self.models: list[tuple[str, str]] = []
        self.items: list[tuple[int, int]] = []  # (model index, view)
        for synset, models in chosen.items():
            for model, model_views in sorted(models.items()):
                folder = self.renderings / synset / model / "rendering"
                meta = folder / "rendering_metadata.txt"
                binvox = self.voxel_dir / synset / model / "model.binvox"
                if not meta.is_file():
                    raise DatasetFolderError(
                        f"{meta} not found: every model needs its "
                        "rendering_metadata.txt next to 00.png ..."
                    )
                if not binvox.is_file():
                    raise DatasetFolderError(
                        f"{binvox} not found: expected the 32³ voxels of "
                        f"model {model} (ShapeNetVox32)"
                    )
                available = len([ln for ln in meta.read_text().splitlines() if ln.strip()])
                wanted = model_views if model_views is not None else range(available)
                if views is not None:
                    wanted = [v for v in wanted if v in set(views)]
                index = len(self.models)
                self.models.append((synset, model))
                for v in wanted:
                    if v >= available:
                        raise DatasetFolderError(
                            f"{meta} lists {available} views; view {v} was asked for"
                        )
                    self.items.append((index, int(v)))
        if not self.items:
            raise ValueError(
                f"the {split!r} split of {self.root} is empty for categories "
                f"{[R2N2_SYNSETS.get(s, s) for s in synsets]}"
            )

    def _resolve_categories(self, categories: Sequence[str] | None, found: list[str]) -> list[str]:
        names = {name: synset for synset, name in R2N2_SYNSETS.items()}
        if categories is None:
            synsets = [s for s in found if s in R2N2_SYNSETS]
            if not synsets:
                raise DatasetFolderError(
                    f"{self.renderings} has no R2N2 category folder "
                    f"(expected synset ids such as 03001627 for chair; "
                    f"found {found[:5]})"
                )
            return synsets
        synsets = []
        for c in categories:
            synset = names.get(c, c)
            if synset not in R2N2_SYNSETS:
                raise ValueError(
                    f"unknown R2N2 category {c!r}; choose from {list(names)} or their synset ids"
                )
            if synset not in found:
                raise DatasetFolderError(
                    f"{self.renderings / synset} not found: category "
                    f"{R2N2_SYNSETS[synset]!r} is not in this copy "
                    f"(found {[R2N2_SYNSETS.get(s, s) for s in found]})"
                )
            synsets.append(synset)
        return synsets

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, Any]:
        from course_utils.p3d import io as p3d_io
        from course_utils.p3d import renderer

        model_index, view = self.items[index]
        synset, model = self.models[model_index]
        folder = self.renderings / synset / model / "rendering"
        image, mask = _load_rgba(folder / f"{view:02d}.png", self.image_size)
        line = [
            ln for ln in (folder / "rendering_metadata.txt").read_text().splitlines() if ln.strip()
        ][view]
        values = [float(v) for v in line.split()]
        if len(values) < 5:
            raise ValueError(
                f"{folder / 'rendering_metadata.txt'} line {view + 1}: expected "
                f"'azimuth elevation in-plane distance fov', got {line!r}"
            )
        azim, elev, _, ratio, fov = values[:5]

        grid = read_binvox(self.voxel_dir / synset / model / "model.binvox").data  # [x, y, z]
        # ShapeNet frame -> course frame (front +X -> +Z): x' = -z, y' = y, z' = x. Index
        # [z', y', x'] = [x, y, D-1-z]: the [x, y, z] array with its last axis flipped.
        voxels = torch.from_numpy(np.ascontiguousarray(_pool_to(grid[:, :, ::-1])))
        A = torch.tensor([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])  # row vectors
        if self.shapenet_dir is not None:
            obj = self.shapenet_dir / synset / model / "model.obj"
            if not obj.is_file():
                raise DatasetFolderError(
                    f"{obj} not found: expected the ShapeNetCore v1 mesh of model {model}"
                )
            verts, faces, _ = p3d_io.load_obj(obj, load_textures=False)
            verts, centre, scale = normalise_mesh(verts @ A)
            faces = faces.verts_idx
        else:
            verts, faces = _voxel_mesh(voxels)
            centre, scale = torch.zeros(3), 1.0
        points, normals = _surface_points(
            verts, faces, self.points_per_shape, self.seed * 1_000_003 + index
        )
        # The camera in the course frame (derivation in the class docstring): the ShapeNet
        # meshes are already centred with diagonal ~1, so only the re-normalisation remains.
        R, T = renderer.look_at_view_transform(
            dist=ratio * R2N2_MAX_CAMERA_DISTANCE, elev=elev, azim=-azim
        )
        R, T = R[0], T[0]
        T = (centre @ R + T) / scale
        return {
            "image": image,
            "mask": mask,
            "voxels": voxels.float(),
            "points": points,
            "normals": normals,
            "verts": verts.float(),
            "faces": faces.long(),
            "R": R.float(),
            "T": T.float(),
            "fov": float(fov),
            "category": torch.tensor(list(R2N2_SYNSETS).index(synset), dtype=torch.int64),
            "shape_id": torch.tensor(model_index, dtype=torch.int64),
        }

    def model_id(self, index: int) -> tuple[str, str]:
        """``(synset, model)`` of item ``index``."""
        return self.models[self.items[index][0]]


# ------------------------------------------------------------------ Pix3D
class Pix3D(Dataset):
    """Pix3D photographs with masks, meshes and voxels, as course items (one per photo).

    Folder layout (``root``, as unpacked from ``pix3d_full.zip``)::

        pix3d.json                         the annotations (a list, one entry per photo)
        img/<category>/0001.png|jpg        photos          ("img" field)
        mask/<category>/0001.png           object masks    ("mask" field)
        model/<category>/<name>/model.obj  meshes          ("model" field)
        model/<category>/<name>/voxel.mat  128³ voxels     ("voxel" field, key "voxel")

    Fields used: ``img``, ``mask``, ``model``, ``voxel``, ``category``, ``bbox`` ([x0, y0,
    x1, y1] pixels), ``rot_mat`` and ``trans_mat`` (model -> camera), ``focal_length`` (mm,
    sensor width 32 mm), ``truncated``, ``occluded``.

    Conventions: Pix3D models are +X left, +Y up, +Z away from a viewer facing their front;
    the items turn them half a turn about +Y (front to +Z) and normalise them. The voxels
    (``+x`` left, ``+y`` towards the front, ``+z`` up) are turned the same way and
    max-pooled from 128³ to 32³. The camera frame of ``rot_mat``/``trans_mat`` (Blender's
    camera turned to look along +Z in Pix3D's rendering script) is PyTorch3D's view frame,
    so ``R``/``T`` follow from them; the image is a square crop around ``bbox`` (with
    ``margin``), composited on white with the mask, so ``R`` is the viewpoint of the photo
    while ``T`` and ``fov`` (the horizontal field of view of the whole photo) describe the
    uncropped camera. Splits are by model (every photo of a model in one split), 80/10/10
    per category with ``seed``.

    Args:
        root: the folder holding ``pix3d.json``.
        split, categories, image_size, points_per_shape, seed: as in :class:`R2N2`
            (categories from :data:`PIX3D_CATEGORIES`).
        skip_truncated, skip_occluded: leave out photos annotated so.
        margin: extra room around the box, as a fraction of its longer side.
        white_background: paint everything outside the mask white (like the renderings).

    Raises:
        DatasetFolderError: missing ``pix3d.json`` or files it names.
        ImportError: reading voxels without ``scipy`` (``pip install scipy``).
        ValueError: unknown category or split, empty split, malformed annotations.
    """

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        categories: Sequence[str] | None = None,
        image_size: int | None = None,
        points_per_shape: int | None = None,
        seed: int = 0,
        skip_truncated: bool = False,
        skip_occluded: bool = False,
        margin: float = 0.1,
        white_background: bool = True,
    ) -> None:
        self.root = Path(root)
        annotations = self.root / "pix3d.json"
        if not annotations.is_file():
            raise DatasetFolderError(
                f"{annotations} not found: expected Pix3D's annotation "
                "file there (unpack pix3d_full.zip into this folder)"
            )
        if split not in ("train", "val", "test"):
            raise ValueError(f"split must be 'train', 'val' or 'test', got {split!r}")
        names = list(PIX3D_CATEGORIES if categories is None else categories)
        unknown = [c for c in names if c not in PIX3D_CATEGORIES]
        if unknown:
            raise ValueError(f"unknown Pix3D categories {unknown}; choose from {PIX3D_CATEGORIES}")
        try:
            entries = json.loads(annotations.read_text())
        except ValueError as error:
            raise ValueError(f"{annotations} is not valid JSON ({error})") from error
        if not isinstance(entries, list):
            raise ValueError(f"{annotations}: expected a JSON list of annotations")
        required = (
            "img",
            "mask",
            "model",
            "voxel",
            "category",
            "bbox",
            "rot_mat",
            "trans_mat",
            "focal_length",
        )
        for i, entry in enumerate(entries):
            missing = [k for k in required if k not in entry]
            if missing:
                raise ValueError(
                    f"{annotations}: entry {i} ({entry.get('img', '?')}) has no {missing}"
                )
        self.split = split
        self.image_size = _default_image_size() if image_size is None else int(image_size)
        self.points_per_shape = (
            _default_points() if points_per_shape is None else int(points_per_shape)
        )
        self.seed = int(seed)
        self.margin = float(margin)
        self.white_background = bool(white_background)
        self.category_names = PIX3D_CATEGORIES

        kept = [
            e
            for e in entries
            if e["category"] in names
            and not (skip_truncated and e.get("truncated", False))
            and not (skip_occluded and e.get("occluded", False))
        ]
        self.model_paths = sorted({e["model"] for e in kept})
        by_model = {e["model"]: PIX3D_CATEGORIES.index(e["category"]) for e in kept}
        model_category = [by_model[m] for m in self.model_paths]
        in_split = set(split_shapes(model_category, self.seed)[split].tolist())
        self._model_index = {m: i for i, m in enumerate(self.model_paths)}
        self.entries = [e for e in kept if self._model_index[e["model"]] in in_split]
        if not self.entries:
            raise ValueError(
                f"the {split!r} split of {annotations} is empty for categories {names}"
            )
        for entry in self.entries:
            for key in ("img", "mask", "model", "voxel"):
                if not (self.root / entry[key]).is_file():
                    raise DatasetFolderError(
                        f"{self.root / entry[key]} not found: pix3d.json "
                        f"names it as the {key!r} of {entry['img']}"
                    )

    def __len__(self) -> int:
        return len(self.entries)

    def _read_voxels(self, path: Path) -> np.ndarray:
        try:
            from scipy.io import loadmat
        except ImportError as error:
            raise ImportError(
                "Pix3D's voxels are MATLAB .mat files: reading them needs scipy "
                "-> pip install scipy"
            ) from error
        data = loadmat(str(path))
        if "voxel" not in data:
            raise ValueError(
                f"{path}: expected a variable 'voxel', found "
                f"{[k for k in data if not k.startswith('__')]}"
            )
        grid = np.asarray(data["voxel"]) > 0  # [x, y, z] = (left, front, up)
        # To the course frame (x' = right, y' = up, z' = front): index [z', y', x'] =
        # [y, z, D-1-x]; i.e. flip x, then move the axes (x, y, z) -> (y, z, x).
        return _pool_to(np.ascontiguousarray(grid[::-1].transpose(1, 2, 0)))

    def __getitem__(self, index: int) -> dict[str, Any]:
        from course_utils.p3d import io as p3d_io

        entry = self.entries[index]
        x0, y0, x1, y1 = (float(v) for v in entry["bbox"])
        side = max(x1 - x0, y1 - y0) * (1 + 2 * self.margin)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        crop = (round(cx - side / 2), round(cy - side / 2))
        crop = (*crop, crop[0] + max(round(side), 1), crop[1] + max(round(side), 1))
        image, mask = _load_rgba(
            self.root / entry["img"],
            self.image_size,
            crop,
            self.root / entry["mask"],
            self.white_background,
        )
        voxels = torch.from_numpy(self._read_voxels(self.root / entry["voxel"]))

        A = torch.diag(torch.tensor([-1.0, 1.0, -1.0]))  # half a turn about +Y
        verts, faces, _ = p3d_io.load_obj(self.root / entry["model"], load_textures=False)
        verts, centre, scale = normalise_mesh(verts @ A)
        faces = faces.verts_idx
        points, normals = _surface_points(
            verts, faces, self.points_per_shape, self.seed * 1_000_003 + index
        )
        rot = torch.tensor(entry["rot_mat"], dtype=torch.float32)
        trans = torch.tensor(entry["trans_mat"], dtype=torch.float32)
        R, T = _camera_in_frame(rot.T, trans, A, centre, scale)  # X_view = X @ rot.T + t
        fov = 2 * math.degrees(math.atan(16.0 / float(entry["focal_length"])))
        return {
            "image": image,
            "mask": mask,
            "voxels": voxels.float(),
            "points": points,
            "normals": normals,
            "verts": verts.float(),
            "faces": faces.long(),
            "R": R,
            "T": T,
            "fov": fov,
            "category": torch.tensor(PIX3D_CATEGORIES.index(entry["category"]), dtype=torch.int64),
            "shape_id": torch.tensor(self._model_index[entry["model"]], dtype=torch.int64),
        }
