"""Helpers for the Learning 3D Vision course, in three layers (arrows point down only).

1. :mod:`course_utils.p3d` — the PyTorch3D API (real PyTorch3D or the built-in one).
2. Lesson helpers, one module per topic, that the notebooks call:

   * :mod:`course_utils.config` — fast mode, device choice, seeds, course folders;
   * :mod:`course_utils.threads` — the thread policy, applied before ``torch`` starts;
   * :mod:`course_utils.asset_meshes`, :mod:`course_utils.assets` — the course's own
     meshes: their generators, and the files in ``data/``;
   * :mod:`course_utils.rendering` — one-call renders, turntables, GIFs, a live viewer;
   * :mod:`course_utils.plotting` — matplotlib views of meshes and point clouds;
   * :mod:`course_utils.rgbd`, :mod:`course_utils.surfaces` — RGB-D views, parametric and
     implicit surfaces (chapter 03);
   * :mod:`course_utils.voxels`, :mod:`course_utils.metrics` — voxelization; Chamfer,
     F-score, IoU (chapters 04–06);
   * :mod:`course_utils.datasets`, :mod:`course_utils.models`, :mod:`course_utils.training`,
     :mod:`course_utils.evaluation` — single-view reconstruction (chapter 05);
   * :mod:`course_utils.multiview` — multi-view targets for differentiable rendering (06);
   * :mod:`course_utils.checks` — the exercises' check functions.

3. :mod:`course_utils.tools` — course machinery no lesson imports: the command line
   (``python -m course_utils <command>``), the doctor, the exercises/toc/colab generators,
   the notebook runner.

A lesson helper never imports a tool, and no two modules import each other in a circle
(``tests/test_layout.py``).
"""

# The thread policy must be set before torch (imported by config) starts OpenMP.
from course_utils.threads import apply_thread_policy

apply_thread_policy()

from course_utils.config import DATA_DIR, FAST, OUTPUT_DIR, get_device, seed_everything  # noqa: E402

__version__ = "0.1.0"

__all__ = ["FAST", "DATA_DIR", "OUTPUT_DIR", "get_device", "seed_everything", "__version__"]
