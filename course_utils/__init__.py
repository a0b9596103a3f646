"""Helpers for the Learning 3D Vision course.

* :mod:`course_utils.p3d` — the PyTorch3D API (real PyTorch3D or the built-in one);
* :mod:`course_utils.config` — fast mode, device choice, seeds, course folders;
* :mod:`course_utils.assets` — the course's own meshes in ``data/`` and their generator;
* :mod:`course_utils.environment` — the environment report shown in chapter 00;
* :mod:`course_utils.rendering` — one-call renders, turntables, GIFs, a live viewer;
* :mod:`course_utils.plotting` — matplotlib views of meshes and point clouds;
* :mod:`course_utils.rgbd`, :mod:`course_utils.surfaces` — RGB-D views, parametric and
  implicit surfaces (chapter 03);
* :mod:`course_utils.voxels`, :mod:`course_utils.metrics` — voxelization; Chamfer, F-score,
  IoU (chapters 04–06);
* :mod:`course_utils.datasets`, :mod:`course_utils.models`, :mod:`course_utils.training`,
  :mod:`course_utils.evaluation` — single-view reconstruction (chapter 05);
* :mod:`course_utils.multiview` — multi-view targets for differentiable rendering (chapter 06);
* :mod:`course_utils.checks` — the exercises' check functions.
"""

# The thread policy must be set before torch (imported by config) starts OpenMP.
from course_utils.threads import apply_thread_policy

apply_thread_policy()

from course_utils.config import DATA_DIR, FAST, OUTPUT_DIR, get_device, seed_everything  # noqa: E402

__version__ = "0.1.0"

__all__ = ["FAST", "DATA_DIR", "OUTPUT_DIR", "get_device", "seed_everything", "__version__"]
