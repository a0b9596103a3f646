"""Repository-wide pytest set-up: fast mode and a headless matplotlib for every test.

Set here (not in ``tests/conftest.py``) so that ``pytest notebooks/03_….ipynb`` run on its
own also executes the notebook in fast mode; notebook kernels inherit the environment.
"""

import os

os.environ.setdefault("COURSE_FAST", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
# The course's thread policy (course_utils/threads.py), before anything imports torch: the
# notebook kernels inherit it, and the tests stay fast when another job shares the cores.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
