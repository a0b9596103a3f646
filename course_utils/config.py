"""Course-wide settings: fast ("smoke") mode, device choice, seeds and folders.

Fast mode is how the same notebooks serve as tutorial and test: the tests set
``COURSE_FAST=1`` and every notebook reads :data:`FAST` to shrink iterations, image sizes
and dataset sizes. A learner runs the full version (``COURSE_FAST`` unset or ``0``).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

_TRUE = {"1", "true", "yes", "on"}

#: True when ``COURSE_FAST`` is set to 1/true/yes/on (the tests do this).
FAST: bool = os.environ.get("COURSE_FAST", "0").strip().lower() in _TRUE

#: The repository's ``data/`` folder: the course's own assets (see ``data/README.md``).
REPO_ROOT: Path = Path(__file__).resolve().parent.parent
DATA_DIR: Path = REPO_ROOT / "data"
#: Where the chapters write what they make (GIFs, meshes, plots); git-ignored.
OUTPUT_DIR: Path = REPO_ROOT / "outputs"


#: What a time budget counts: wall-clock seconds, or this process's CPU seconds (all
#: threads summed: on a machine shared with other jobs, what the run would take alone).
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}


def budget_clock(name: str, who: str = "") -> Callable[[], float]:
    """The clock function of :data:`CLOCKS` named ``name``; a ``ValueError`` (prefixed with
    ``who``) for any other name."""
    if name not in CLOCKS:
        raise ValueError(f"{who}clock must be one of {sorted(CLOCKS)}, got {name!r}")
    return CLOCKS[name]


def cache_dir() -> Path:
    """Where chapters cache generated data: ``$COURSE_CACHE_DIR`` or ``<repo>/.cache``."""
    return Path(os.environ.get("COURSE_CACHE_DIR", DATA_DIR.parent / ".cache"))


def get_device(prefer: str | None = None) -> torch.device:
    """Pick the fastest available device: CUDA, then Apple's MPS, then the CPU.

    Args:
        prefer: force a device (``"cpu"``, ``"cuda"``, ``"mps"``); also read from the
            ``COURSE_DEVICE`` environment variable when not given.
    """
    prefer = prefer or os.environ.get("COURSE_DEVICE")
    if prefer:
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int = 0) -> None:
    """Seed Python's, NumPy's and PyTorch's random generators so a run repeats."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
