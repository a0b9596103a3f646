"""Run code written for PyTorch3D on the built-in backend, unchanged: ``import pytorch3d``.

:func:`install` puts an import hook (a :class:`importlib.abc.MetaPathFinder`) first on
``sys.meta_path``. From then on ``import pytorch3d.X.Y`` gives the module
``course_utils.p3d.builtin.X.Y`` (the same module object, so ``pytorch3d.renderer.Meshes``
*is* the course's class)::

    from course_utils.p3d.alias import install
    install()
    from pytorch3d.structures import Meshes  # the course's Meshes

Used by a learner who wants to run a PyTorch3D tutorial on the built-in backend (see
the README), and by ``tools/run_pytorch3d_tests.py`` through the pytest plugin
``tools/pytorch3d_alias.py``. Nothing named
``pytorch3d`` is installed; the hook only lives in the running interpreter.

A ``pytorch3d`` module the built-in backend does not have raises a
``ModuleNotFoundError`` that says so (e.g. ``pytorch3d.implicitron``, ``pytorch3d._C``).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import ModuleType

ALIAS = "pytorch3d"
TARGET = "course_utils.p3d.builtin"
ENV_VAR = "COURSE_BACKEND"


def target_name(fullname: str) -> str:
    """``pytorch3d.renderer.cameras`` -> ``course_utils.p3d.builtin.renderer.cameras``."""
    if fullname == ALIAS:
        return TARGET
    if not fullname.startswith(ALIAS + "."):
        raise ValueError(f"{fullname!r} is not a {ALIAS} module name")
    return TARGET + fullname[len(ALIAS) :]


class _AliasLoader(importlib.abc.Loader):
    """Loads ``pytorch3d.X`` by importing the built-in module and putting *it* in sys.modules.

    The import system takes the module back from ``sys.modules`` after ``exec_module``,
    so replacing the entry there makes ``import pytorch3d.X`` return the built-in module
    itself (its own ``__name__`` and ``__spec__`` are left untouched).
    """

    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None  # a placeholder module; exec_module swaps it for the real one

    def exec_module(self, module: ModuleType) -> None:
        sys.modules[module.__name__] = importlib.import_module(self.target)


class PyTorch3DAliasFinder(importlib.abc.MetaPathFinder):
    """Finds ``pytorch3d`` and ``pytorch3d.*`` in ``course_utils.p3d.builtin``."""

    def find_spec(self, fullname, path=None, target=None):  # noqa: D102 - importlib protocol
        if fullname != ALIAS and not fullname.startswith(ALIAS + "."):
            return None
        name = target_name(fullname)
        try:
            found = importlib.util.find_spec(name)
        except ModuleNotFoundError:
            found = None
        if found is None:
            raise ModuleNotFoundError(
                f"No module named {fullname!r}: the course's built-in PyTorch3D backend "
                f"(aliased by course_utils.p3d.alias) has no {name}. Install real "
                "PyTorch3D for this part of its API.",
                name=fullname,
            )
        is_package = found.submodule_search_locations is not None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(name), is_package=is_package)


def install() -> PyTorch3DAliasFinder:
    """Put the alias first on ``sys.meta_path`` (idempotent) and return the finder.

    Raises ``RuntimeError`` when a real ``pytorch3d`` is already imported: mixing the two
    in one interpreter would give objects from both.
    """
    for finder in sys.meta_path:
        if isinstance(finder, PyTorch3DAliasFinder):
            return finder
    from course_utils.p3d._backend import BACKEND

    loaded = sys.modules.get(ALIAS)
    if loaded is not None and loaded.__name__ != TARGET and BACKEND == "torch":
        # A PyTorch3D that failed to import fully (e.g. a source checkout without its
        # compiled ops) was left in sys.modules by the backend check: the course does
        # not use it, so forget it.
        for name in [n for n in sys.modules if n == ALIAS or n.startswith(ALIAS + ".")]:
            del sys.modules[name]
        loaded = None
    if loaded is not None and loaded.__name__ != TARGET:
        raise RuntimeError(
            "real PyTorch3D is already imported in this interpreter; install the alias "
            "before the first `import pytorch3d`."
        )
    if BACKEND != "torch":
        raise RuntimeError(
            f"course_utils.p3d uses real PyTorch3D ({ENV_VAR}={BACKEND}); the alias maps "
            f"pytorch3d to the built-in backend: set {ENV_VAR}=torch before importing."
        )
    finder = PyTorch3DAliasFinder()
    sys.meta_path.insert(0, finder)
    return finder


def uninstall() -> None:
    """Remove the alias finder and every ``pytorch3d`` entry it put in ``sys.modules``."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, PyTorch3DAliasFinder)]
    for name in [n for n in sys.modules if n == ALIAS or n.startswith(ALIAS + ".")]:
        if sys.modules[name].__name__.startswith(TARGET):
            del sys.modules[name]
