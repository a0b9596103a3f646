"""The course's CPU thread policy: stay fast when another job shares the cores.

PyTorch's CPU kernels run on an OpenMP thread team (one thread per core by default). At the
end of each parallel region the threads that finished early *spin* — burn CPU in a busy
loop — waiting for the others; GNU OpenMP spins 300,000 times before it sleeps. On an idle
machine that saves a few microseconds of wake-up. On a laptop where a training job already
holds a core, it is a disaster: the spinning thread takes the core that the last thread of
the team needs, every region waits for the scheduler, and a 0.1 s operation takes 3 s.

The policy, measured in ``benchmarks/bench_shared.py`` (results in ``benchmarks/README.md``):

* ``OMP_WAIT_POLICY=PASSIVE`` — waiting threads sleep at once instead of spinning
  (the OpenMP standard's switch, read by GNU and Intel OpenMP when the runtime starts);
* a training job started with ``python -m course_utils train`` uses one thread fewer than
  the machine has cores (``--threads`` overrides), so a notebook beside it keeps a core.

OpenMP reads its environment once, when ``torch`` is first imported. So the policy is
applied where it can still take effect: on ``import course_utils`` (if ``torch`` is not
imported yet), in the ``course-utils`` command, in the repository's ``conftest.py`` and in
each notebook's first code cell. A value you set yourself always wins.

This module imports nothing heavy, so it can run before ``torch`` is imported.
"""

from __future__ import annotations

import os
import sys

#: Environment variables of the policy and their values (a value already set is kept).
POLICY: dict[str, str] = {"OMP_WAIT_POLICY": "PASSIVE"}

__all__ = ["POLICY", "apply_thread_policy", "available_cores", "training_threads", "describe"]


def apply_thread_policy() -> bool:
    """Set the variables of :data:`POLICY` that are not set yet.

    Returns:
        True if the policy takes effect in this process (``torch`` was not imported yet, so
        OpenMP will read the variables when it starts); False if it came too late for this
        process (child processes still inherit it).
    """
    for name, value in POLICY.items():
        os.environ.setdefault(name, value)
    return "torch" not in sys.modules


def available_cores() -> int:
    """The number of CPU cores this process may run on (its affinity mask, else all)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # macOS, Windows
        return os.cpu_count() or 1


def training_threads(requested: int | None = None) -> int:
    """Threads for a background training job: ``requested``, else one core left free.

    >>> training_threads(3)
    3
    >>> training_threads() == max(1, available_cores() - 1)
    True
    """
    if requested is not None:
        if requested < 1:
            raise ValueError(f"threads must be at least 1, got {requested}")
        return requested
    return max(1, available_cores() - 1)


def describe() -> str:
    """One line saying which thread settings are in force, for ``doctor`` and the runner.

    Example: ``"2 cores, torch 2 threads (OpenMP), OMP_WAIT_POLICY=PASSIVE"``.
    """
    parts = [f"{available_cores()} cores"]
    if "torch" in sys.modules:
        import torch

        backend = "OpenMP" if "OpenMP" in torch.__config__.parallel_info() else "native"
        parts.append(f"torch {torch.get_num_threads()} threads ({backend})")
    for name in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        value = os.environ.get(name)
        if value is not None:
            parts.append(f"{name}={value}")
        elif name in POLICY:
            parts.append(f"{name} unset (OpenMP threads spin while they wait)")
    return ", ".join(parts)
