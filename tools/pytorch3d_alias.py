"""pytest plugin (``-p pytorch3d_alias``): alias ``pytorch3d`` to the built-in backend.

Loaded by ``tools/run_pytorch3d_tests.py`` before PyTorch3D's test files are imported;
the hook itself is :mod:`course_utils.p3d.alias`.
"""

from course_utils.p3d.alias import install

install()
