"""Shared test fixtures: reference cases and backend markers (fast mode: ../conftest.py).

The tests run against whichever backend ``COURSE_BACKEND`` selects, so running them with
``COURSE_BACKEND=pytorch3d`` (where real PyTorch3D is installed) checks that the recorded
reference cases, the conventions and the round trips hold for both implementations.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from course_utils.p3d import BACKEND

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
        "its NotImplementedError for unsupported arguments, what it accepts beyond PyTorch3D); "
        "skipped with real PyTorch3D. builtin_only(reason=...) says why.",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if BACKEND == "torch":
        return
    for item in items:
        marker = item.get_closest_marker("builtin_only")
        if marker is not None:
            why = marker.kwargs.get("reason", "")
            reason = "checks the built-in backend; real PyTorch3D is active"
            item.add_marker(pytest.mark.skip(reason=f"{reason}: {why}" if why else reason))


@pytest.fixture(scope="module")
def one_thread():
    """Run a module's tests on one thread (restored afterwards).

    For modules of tiny models (``pytestmark = pytest.mark.usefixtures("one_thread")``):
    their operations are too small to gain from a second thread, and on a busy machine (CI,
    other jobs) two threads waiting on each other make them many times slower.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def module_cache_dir(tmp_path_factory):
    """A fresh ``COURSE_CACHE_DIR`` for one test module (module-scoped fixtures that build
    cached data cannot use the function-scoped ``monkeypatch``)."""
    with pytest.MonkeyPatch.context() as patch:
        folder = tmp_path_factory.mktemp("cache")
        patch.setenv("COURSE_CACHE_DIR", str(folder))
        yield folder
