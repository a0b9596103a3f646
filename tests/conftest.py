"""Shared test set-up: fast mode, a headless matplotlib, reference cases, backend markers.

The tests run against whichever backend ``COURSE_BACKEND`` selects, so running them with
``COURSE_BACKEND=pytorch3d`` (where real PyTorch3D is installed) checks that the recorded
reference cases, the conventions and the round trips hold for both implementations.
"""

from __future__ import annotations

import os

# Set before anything imports course_utils or starts a notebook kernel (kernels inherit
# the environment): notebooks shrink their work, plots go to a non-interactive backend.
os.environ.setdefault("COURSE_FAST", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_utils.p3d import BACKEND  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


class ReferenceCases:
    """Recorded outputs of real PyTorch3D 0.7.9 (``fixtures/pytorch3d_reference.npz``).

    ``reference["look_at"]`` returns a dict ``{"R": tensor, "T": tensor, ...}`` of that
    case's arrays as torch tensors (float64 arrays stay float64, scalars are 0-d tensors).
    """

    def __init__(self, path: Path) -> None:
        self._arrays = np.load(path, allow_pickle=False)

    def __getitem__(self, case: str) -> dict[str, torch.Tensor]:
        prefix = case + "/"
        found = {
            key[len(prefix) :]: torch.from_numpy(np.array(self._arrays[key]))
            for key in self._arrays.files
            if key.startswith(prefix)
        }
        if not found:
            raise KeyError(f"no reference case {case!r}")
        return found


@pytest.fixture(scope="session")
def reference() -> ReferenceCases:
    return ReferenceCases(FIXTURES / "pytorch3d_reference.npz")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "builtin_only: tests of the built-in backend's own behaviour (its error messages, "
        "its NotImplementedError for unsupported arguments); skipped with real PyTorch3D",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if BACKEND == "torch":
        return
    skip = pytest.mark.skip(reason="checks the built-in backend; real PyTorch3D is active")
    for item in items:
        if "builtin_only" in item.keywords:
            item.add_marker(skip)
