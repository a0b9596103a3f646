"""Environment report ("doctor"): is this machine ready for the course?

``python -m course_utils doctor`` and chapter 00 print one line per check::

    OK    python        3.11.7
    OK    torch         2.13.0+cpu, device cpu
    OK    backend       built-in pure-PyTorch implementation of the PyTorch3D API ...
    FAIL  pymcubes      not installed -> pip install pymcubes

A ``FAIL`` is something a chapter needs that is missing or broken, with the command that
fixes it; ``WARN`` works but is worth knowing (e.g. no GPU: everything runs, slower).
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from course_utils.config import DATA_DIR, FAST, cache_dir, get_device

#: (distribution name, import name, chapters that need it)
DEPENDENCIES: list[tuple[str, str, str]] = [
    ("numpy", "numpy", "all"),
    ("matplotlib", "matplotlib", "all (plots)"),
    ("imageio", "imageio", "01-06 (GIFs, images)"),
    ("pillow", "PIL", "01-06 (textures)"),
    ("PyMCubes", "mcubes", "03-05 (marching cubes)"),
    ("ipywidgets", "ipywidgets", "01-03 (interactive viewers)"),
    ("tqdm", "tqdm", "04-06 (progress bars)"),
    ("jupyterlab", "jupyterlab", "to open the notebooks"),
]

MIN_PYTHON = (3, 10)


@dataclass
class Check:
    """One line of the report: ``status`` is ``"OK"``, ``"WARN"`` or ``"FAIL"``."""

    name: str
    status: str
    detail: str

    def line(self) -> str:
        return f"{self.status:<5} {self.name:<13} {self.detail}"


def _check_python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info[:2] < MIN_PYTHON:
        need = ".".join(map(str, MIN_PYTHON))
        return Check("python", "FAIL", f"{version}; the course needs Python >= {need}")
    return Check("python", "OK", version)


def _check_torch() -> Check:
    try:
        import torch
    except ImportError:
        return Check("torch", "FAIL", "not installed -> see README: install torch first")
    device = get_device()
    detail = f"{torch.__version__}, device {device}"
    if device.type == "cpu":
        return Check("torch", "OK", detail + " (no GPU: every chapter runs on the CPU, slower)")
    return Check("torch", "OK", detail)


def _check_backend() -> Check:
    try:
        from course_utils import p3d
    except (ImportError, ValueError) as error:
        return Check("backend", "FAIL", str(error).splitlines()[0])
    return Check("backend", "OK", p3d.describe_backend())


def _check_dependency(dist: str, module: str, needed_by: str) -> Check:
    try:
        importlib.import_module(module)
    except ImportError as error:
        return Check(
            dist.lower(), "FAIL", f"cannot import {module} ({error}) -> pip install {dist}"
        )
    try:
        version = metadata.version(dist)
    except metadata.PackageNotFoundError:
        version = "installed"
    return Check(dist.lower(), "OK", f"{version}  [{needed_by}]")


def _check_widgets() -> Check:
    """Widgets render when the front end has the ipywidgets extension (JupyterLab or Colab)."""
    if "google.colab" in sys.modules:
        return Check("widgets", "OK", "Colab (custom widget manager)")
    try:
        version = metadata.version("jupyterlab_widgets")
    except metadata.PackageNotFoundError:
        return Check(
            "widgets",
            "FAIL",
            "the JupyterLab widgets extension is missing, sliders will not show "
            "-> pip install ipywidgets jupyterlab_widgets",
        )
    return Check("widgets", "OK", f"jupyterlab_widgets {version}")


def _check_threads() -> Check:
    """The thread policy (``course_utils.threads``): passive waiting keeps notebooks fast
    while a training job holds a core."""
    from course_utils.threads import describe

    policy = os.environ.get("OMP_WAIT_POLICY", "").upper()
    if policy == "PASSIVE":
        return Check("threads", "OK", describe())
    return Check(
        "threads",
        "WARN",
        describe() + " — set OMP_WAIT_POLICY=PASSIVE before importing torch (see README)",
    )


def _check_folder(name: str, path: Path, must_exist: bool) -> Check:
    if must_exist and not path.is_dir():
        return Check(
            name, "FAIL", f"{path} is missing -> run from a clone of the course repository"
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path):
            pass
    except OSError as error:
        return Check(name, "FAIL", f"{path} is not writable ({error.strerror})")
    return Check(name, "OK", f"{path} (writable)")


def run_checks() -> list[Check]:
    """Run every check and return the report lines (nothing is printed)."""
    checks = [_check_python(), _check_torch(), _check_backend()]
    checks += [_check_dependency(*dep) for dep in DEPENDENCIES]
    checks.append(_check_widgets())
    checks.append(_check_folder("data folder", DATA_DIR, must_exist=True))
    checks.append(_check_folder("cache folder", cache_dir(), must_exist=False))
    checks.append(_check_threads())
    mode = "fast (COURSE_FAST=1: small sizes, for tests)" if FAST else "full (what a learner runs)"
    checks.append(Check("mode", "OK", mode))
    return checks


def report(checks: list[Check] | None = None) -> bool:
    """Print the report; return True when nothing FAILed."""
    checks = run_checks() if checks is None else checks
    for check in checks:
        print(check.line())
    failed = [c.name for c in checks if c.status == "FAIL"]
    print("All checks passed." if not failed else f"{len(failed)} FAIL: {', '.join(failed)}")
    return not failed
