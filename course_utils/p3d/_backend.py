"""Choose which implementation of the PyTorch3D API ``course_utils.p3d`` exposes.

The choice is made once, at the first import of ``course_utils.p3d``, from the
environment variable ``COURSE_BACKEND``:

=============  ==============================================================
``auto``       (default) real PyTorch3D when it imports, else the built-in one
``pytorch3d``  real PyTorch3D; an ``ImportError`` that says how to install it
               when it is missing or broken
``torch``      the course's built-in pure-PyTorch implementation
=============  ==============================================================

Why a switch: PyTorch3D is the reference library the course teaches, but it has no
pip wheels for most machines and takes a long time to compile. The built-in backend
implements the subset of its API that the notebooks use, with the same names,
signatures and conventions, so a notebook runs unchanged on either.
"""

from __future__ import annotations

import importlib
import os
import warnings

ENV_VAR = "COURSE_BACKEND"
CHOICES = ("auto", "torch", "pytorch3d")

INSTALL_HINT = (
    "PyTorch3D has no pip wheels for most machines. Options:\n"
    "  * conda (Linux):  conda install -c pytorch3d pytorch3d  (needs a matching torch)\n"
    "  * from source:    pip install 'git+https://github.com/facebookresearch/pytorch3d.git'"
    "  (10-30 minutes, needs a C++ compiler)\n"
    "  * or use the course's built-in implementation: unset COURSE_BACKEND or set "
    "COURSE_BACKEND=torch."
)


class BackendUnavailableError(ImportError):
    """Raised when ``COURSE_BACKEND=pytorch3d`` is asked for but PyTorch3D does not import."""


def requested_backend() -> str:
    """Return the backend asked for in ``COURSE_BACKEND`` (normalised), validating it."""
    value = os.environ.get(ENV_VAR, "auto").strip().lower() or "auto"
    if value not in CHOICES:
        raise ValueError(
            f"{ENV_VAR}={os.environ.get(ENV_VAR)!r} is not one of {', '.join(CHOICES)}. "
            f"Use 'auto' (default), 'torch' (built-in) or 'pytorch3d' (real PyTorch3D)."
        )
    return value


def _import_pytorch3d() -> None:
    """Import real PyTorch3D including its compiled extension.

    ``import pytorch3d`` alone succeeds even when the C++/CUDA extension was built for
    another torch version; importing ``pytorch3d._C`` is what fails then, so that is what
    we check.
    """
    module = importlib.import_module("pytorch3d")
    if module.__name__ != "pytorch3d":
        # ``tools/pytorch3d_alias.py`` maps ``pytorch3d`` onto the built-in backend.
        raise ModuleNotFoundError("pytorch3d is aliased to the built-in backend", name="pytorch3d")
    importlib.import_module("pytorch3d._C")


def select_backend() -> str:
    """Resolve ``COURSE_BACKEND`` to ``"pytorch3d"`` or ``"torch"``.

    Raises:
        ValueError: ``COURSE_BACKEND`` holds an unknown value.
        BackendUnavailableError: ``pytorch3d`` was forced but does not import.
    """
    requested = requested_backend()
    if requested == "torch":
        return "torch"
    try:
        _import_pytorch3d()
    except ImportError as error:
        if requested == "pytorch3d":
            raise BackendUnavailableError(
                f"{ENV_VAR}=pytorch3d, but PyTorch3D could not be imported ({error}).\n"
                + INSTALL_HINT
            ) from error
        if not isinstance(error, ModuleNotFoundError) or error.name != "pytorch3d":
            # Installed but broken (e.g. built for another torch): say so, then fall back.
            warnings.warn(
                f"PyTorch3D is installed but does not import ({error}); "
                "using the course's built-in implementation instead.",
                RuntimeWarning,
                stacklevel=3,
            )
        return "torch"
    return "pytorch3d"


BACKEND: str = select_backend()
