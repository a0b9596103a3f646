"""Fill a facade module (``course_utils.p3d.renderer`` …) from the selected backend.

Each facade module calls :func:`expose` with the name of a PyTorch3D subpackage. Every
public name of the backend's module (``pytorch3d.renderer`` or
``course_utils.p3d.builtin.renderer``) is copied into the facade, so both
``from course_utils.p3d import renderer; renderer.FoVPerspectiveCameras`` and
``from course_utils.p3d.renderer import FoVPerspectiveCameras`` give the backend's object.
Names the backend does not have raise an ``AttributeError`` that says which backend is
active and what to do.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from course_utils.p3d._backend import BACKEND

SUBPACKAGES = (
    "structures",
    "transforms",
    "renderer",
    "ops",
    "loss",
    "io",
    "utils",
    "vis",
    "datasets",
)


def backend_module(subpackage: str, backend: str = BACKEND) -> ModuleType:
    """Return the module that implements ``pytorch3d.<subpackage>`` for ``backend``."""
    if subpackage not in SUBPACKAGES:
        raise ValueError(f"unknown PyTorch3D subpackage {subpackage!r}; one of {SUBPACKAGES}")
    if backend == "pytorch3d":
        return importlib.import_module(f"pytorch3d.{subpackage}")
    return importlib.import_module(f"course_utils.p3d.builtin.{subpackage}")


def expose(facade_name: str, subpackage: str) -> None:
    """Copy the public names of the backend's ``subpackage`` into module ``facade_name``."""
    facade = sys.modules[facade_name]
    source = backend_module(subpackage)
    if hasattr(source, "__all__"):
        names = list(source.__all__)
    else:
        names = [n for n in vars(source) if not n.startswith("_")]
    for name in names:
        setattr(facade, name, getattr(source, name))
    facade.__all__ = list(names)
    facade.__backend_module__ = source

    def __getattr__(name: str):  # noqa: N807 - module-level __getattr__ (PEP 562)
        if not name.startswith("__") and hasattr(source, name):
            return getattr(source, name)
        raise AttributeError(
            f"course_utils.p3d.{subpackage} has no attribute {name!r} with the "
            f"{BACKEND!r} backend. The built-in backend implements the part of "
            f"pytorch3d.{subpackage} the course uses; for the rest install real PyTorch3D "
            f"(see the README) and set COURSE_BACKEND=pytorch3d."
        )

    facade.__getattr__ = __getattr__
