"""A tiny synthetic stand-in for the course dataset: boxes and ellipsoids, made in milliseconds.

:class:`ToyShapes` returns items in exactly the format of
``course_utils.datasets.ShapeDataset`` (image, mask, voxels, surface points and normals,
exact mesh, camera, category, shape id), but its shapes are only axis-aligned boxes and
ellipsoids of random proportions, and its "renders" are depth-shaded orthographic
silhouettes from one fixed viewpoint. It exists so that the tests of the models, the
training loop and the evaluation run in seconds and do not depend on the real generator;
use the real dataset to learn anything about single-view reconstruction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from course_utils.models.decoders import voxel_centres
from course_utils.p3d import ops, structures, utils

__all__ = ["ToyShapes", "TOY_CATEGORIES", "collate_items"]

TOY_CATEGORIES = ("box", "ellipsoid")
_COLOURS = torch.tensor([[0.85, 0.35, 0.25], [0.25, 0.45, 0.85]])


_DENSE: list[torch.Tensor] = []


def _dense_centres() -> torch.Tensor:
    """``(48³, 3)`` points filling the box, made once (the renders splat the inside ones)."""
    if not _DENSE:
        _DENSE.append(voxel_centres(48).view(-1, 3))
    return _DENSE[0]


def _rotation(azim: float, elev: float) -> torch.Tensor:
    """A rotation (row-vector convention, ``p_view = p @ R``) turning the object."""
    a, e = math.radians(azim), math.radians(elev)
    ry = torch.tensor([[math.cos(a), 0, -math.sin(a)], [0, 1, 0], [math.sin(a), 0, math.cos(a)]])
    rx = torch.tensor([[1, 0, 0], [0, math.cos(e), math.sin(e)], [0, -math.sin(e), math.cos(e)]])
    return (ry @ rx).float()


def _box_mesh(half: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    # One occupied cell in the middle of a 3³ grid: its cube is [-1/3, 1/3]³. (PyTorch3D's
    # cubify runs 2-cell convolutions over the grid, so it rejects a 1³ grid.)
    grid = torch.zeros(1, 3, 3, 3)
    grid[0, 1, 1, 1] = 1.0
    cube = ops.cubify(grid, 0.5, align="corner")
    corners = torch.round(cube.verts_packed() * 3)  # exactly ±1: the cube [-1, 1]³
    return corners * half, cube.faces_packed()


def _ellipsoid_mesh(half: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    sphere = utils.ico_sphere(3)
    return sphere.verts_packed() * half, sphere.faces_packed()


def collate_items(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Stack the items' tensors into a batch; ``"verts"``/``"faces"`` stay lists.

    The same as ``course_utils.datasets.collate_shapes`` (the batch format of the course).
    """
    batch: dict[str, Any] = {}
    for key in items[0]:
        values = [item[key] for item in items]
        if key == "fov":
            batch[key] = torch.tensor([float(v) for v in values])
        elif key in ("verts", "faces") or not torch.is_tensor(values[0]):
            batch[key] = values
        else:
            batch[key] = torch.stack(values)
    return batch


class ToyShapes(torch.utils.data.Dataset):
    """Random boxes and ellipsoids in the course dataset's item format.

    Args:
        num_shapes: number of items.
        image_size: S of the ``(3, S, S)`` images.
        points_per_shape: P surface points per shape.
        seed: the shapes are a deterministic function of ``(seed, index)``.
        categories: which of :data:`TOY_CATEGORIES` to use (default both, alternating).

    Items (all float32 unless noted): ``image (3, S, S)`` in [0, 1] on white, ``mask
    (1, S, S)``, ``voxels (32, 32, 32)`` axes (z, y, x), ``points``/``normals (P, 3)``,
    ``verts (V, 3)``, ``faces (F, 3)`` int64, ``R (3, 3)``, ``T (3,)``, ``fov`` (a float),
    ``category ()`` int64, ``shape_id ()`` int64. Every shape is centred and has a
    bounding-box diagonal of 1.

    Example:
        >>> item = ToyShapes(2, image_size=16, points_per_shape=50)[1]
        >>> item["image"].shape, item["voxels"].shape, item["points"].shape
        (torch.Size([3, 16, 16]), torch.Size([32, 32, 32]), torch.Size([50, 3]))
    """

    category_names = TOY_CATEGORIES

    def __init__(
        self,
        num_shapes: int = 16,
        image_size: int = 32,
        points_per_shape: int = 1000,
        seed: int = 0,
        categories: Sequence[str] | None = None,
    ) -> None:
        self.num_shapes, self.image_size = int(num_shapes), int(image_size)
        self.points_per_shape, self.seed = int(points_per_shape), int(seed)
        names = list(categories) if categories is not None else list(TOY_CATEGORIES)
        unknown = set(names) - set(TOY_CATEGORIES)
        if unknown:
            raise ValueError(f"unknown toy categories {sorted(unknown)}; have {TOY_CATEGORIES}")
        self.category_ids = [TOY_CATEGORIES.index(n) for n in names]
        self._cache: dict[int, dict[str, Any]] = {}

    def __len__(self) -> int:
        return self.num_shapes

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < self.num_shapes:
            raise IndexError(index)
        if index not in self._cache:
            self._cache[index] = self._make(index)
        return self._cache[index]

    def _make(self, index: int) -> dict[str, Any]:
        g = torch.Generator().manual_seed(self.seed * 100_003 + index)
        category = self.category_ids[index % len(self.category_ids)]
        half = 0.1 + 0.3 * torch.rand(3, generator=g)
        half = half / (2 * half.norm())  # bounding-box diagonal |2 half| = 1
        inside: Any
        if TOY_CATEGORIES[category] == "box":
            verts, faces = _box_mesh(half)

            def inside(p: torch.Tensor) -> torch.Tensor:
                return (p.abs() <= half).all(-1)
        else:
            verts, faces = _ellipsoid_mesh(half)

            def inside(p: torch.Tensor) -> torch.Tensor:
                return ((p / half) ** 2).sum(-1) <= 1

        voxels = inside(voxel_centres(32)).float()
        mesh = structures.Meshes(verts=[verts], faces=[faces])
        with torch.random.fork_rng():
            torch.manual_seed(self.seed * 100_003 + index)
            points, normals = ops.sample_points_from_meshes(
                mesh, self.points_per_shape, return_normals=True
            )
        image, mask = self._render(inside, category)
        return {
            "image": image,
            "mask": mask,
            "voxels": voxels,
            "points": points[0],
            "normals": normals[0],
            "verts": verts,
            "faces": faces,
            "R": _rotation(35.0, 25.0),
            "T": torch.tensor([0.0, 0.0, 2.0]),
            "fov": 60.0,
            "category": torch.tensor(category, dtype=torch.int64),
            "shape_id": torch.tensor(self.seed * 100_003 + index, dtype=torch.int64),
        }

    def _render(self, inside: Any, category: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Depth-shaded orthographic silhouette from a fixed oblique view."""
        S = self.image_size
        dense = _dense_centres()
        solid = dense[inside(dense)]
        view = solid @ _rotation(35.0, 25.0)
        pix = ((view[:, :2] + 0.6) / 1.2 * S).long().clamp(0, S - 1)
        flat = (S - 1 - pix[:, 1]) * S + pix[:, 0]  # +Y up in the image
        depth = torch.full((S * S,), float("inf"))
        depth = depth.scatter_reduce(0, flat, view[:, 2], reduce="amin")
        hit = torch.isfinite(depth)
        shade = torch.where(hit, 0.55 + 0.45 * (0.6 - depth.clamp(-0.6, 0.6)) / 1.2, 0.0)
        colour = _COLOURS[category][:, None] * shade[None]
        image = torch.where(hit[None], colour, torch.ones(3, 1)).view(3, S, S)
        return image.float(), hit.view(1, S, S).float()
