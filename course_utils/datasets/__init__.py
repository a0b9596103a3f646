"""Datasets of the course: the procedural shape dataset (chapter 05) and optional real ones.

* :class:`ShapeDataset` — the course's own single-view dataset: chairs, tables, lamps, mugs
  and bottles assembled from primitives (:mod:`~course_utils.datasets.categories`),
  rendered from random viewpoints, with exact meshes, voxels and surface points;
  generated from a seed on first use and cached (:mod:`~course_utils.datasets.shapes`).
* :func:`collate_shapes` — the ``collate_fn`` that batches its items.
* :class:`R2N2` and :class:`Pix3D` — loaders with the same item format for two real
  datasets that learners can download under their own licences
  (:mod:`~course_utils.datasets.real`; see ``course_utils/datasets/README.md``).
"""

from course_utils.datasets.categories import CATEGORIES, PART_NAMES
from course_utils.datasets.generate import generate_shapes
from course_utils.datasets.real import R2N2, Pix3D, read_binvox
from course_utils.datasets.shapes import (
    ShapeDataset,
    cameras_from_batch,
    collate_shapes,
    meshes_from_batch,
    split_shapes,
)

__all__ = [
    "CATEGORIES",
    "PART_NAMES",
    "ShapeDataset",
    "collate_shapes",
    "cameras_from_batch",
    "meshes_from_batch",
    "generate_shapes",
    "split_shapes",
    "R2N2",
    "Pix3D",
    "read_binvox",
]
