"""The thread policy: passive OpenMP waiting set before torch starts, a core left free."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from course_utils import threads
from course_utils.tools.colab import setup_cell_source

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _import_course_utils(env_policy: str | None) -> str:
    """OMP_WAIT_POLICY as seen after ``import course_utils`` in a fresh interpreter."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if env_policy is not None:
        env["OMP_WAIT_POLICY"] = env_policy
    code = (
        "import os, sys, course_utils; "
        "print(os.environ['OMP_WAIT_POLICY'], 'torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def test_import_sets_passive_waiting_before_torch_starts():
    # torch is imported by course_utils *after* the policy is set, so OpenMP reads it
    assert _import_course_utils(None) == "PASSIVE True"


def test_a_users_own_setting_wins():
    assert _import_course_utils("ACTIVE") == "ACTIVE True"


def test_apply_reports_whether_it_came_in_time(monkeypatch):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    # torch is already imported in the test process: too late here, but the variable is set
    # for the child processes (notebook kernels, the train command) this process starts
    assert threads.apply_thread_policy() is False
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"


def test_training_leaves_one_core_free(monkeypatch):
    monkeypatch.setattr(threads, "available_cores", lambda: 8)
    assert threads.training_threads() == 7
    monkeypatch.setattr(threads, "available_cores", lambda: 1)
    assert threads.training_threads() == 1
    assert threads.training_threads(4) == 4
    with pytest.raises(ValueError, match="at least 1"):
        threads.training_threads(0)


def test_describe_names_the_settings(monkeypatch):
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    line = threads.describe()
    assert "OMP_WAIT_POLICY=PASSIVE" in line and "threads" in line and "cores" in line
    monkeypatch.delenv("OMP_WAIT_POLICY")
    assert "unset" in threads.describe()


def test_notebook_setup_cell_sets_the_policy_before_any_import():
    source = setup_cell_source("owner/name", "notebooks")
    policy_line = source.index('os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")')
    imports = [line for line in source[:policy_line].splitlines() if "import" in line.split("#")[0]]
    assert imports == ["import os", "import sys"]


def test_the_tests_run_under_the_policy():
    # set by the repository's conftest.py; notebook kernels inherit it
    assert os.environ.get("OMP_WAIT_POLICY") == "PASSIVE"
