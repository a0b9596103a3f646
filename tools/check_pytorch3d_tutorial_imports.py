"""Which of PyTorch3D's tutorials import on the built-in backend?

Usage::

    python tools/check_pytorch3d_tutorial_imports.py PATH_TO_PYTORCH3D_CHECKOUT

Reads every ``docs/tutorials/*.ipynb`` of a PyTorch3D clone, collects the ``pytorch3d``
imports of its code cells (``import pytorch3d.X`` and ``from pytorch3d.X import a, b``)
and tries each with ``pytorch3d`` aliased to the built-in backend
(:mod:`course_utils.p3d.alias`). Prints, per tutorial, whether all its imports resolve and
the first few that do not. Running the tutorials needs their data, which is not offline.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import sys
from pathlib import Path


def pytorch3d_imports(notebook: Path) -> list[tuple[str, str | None]]:
    """``(module, name)`` pairs imported from ``pytorch3d`` by the notebook's code cells."""
    found = []
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        # Drop shell/magic lines (!pip, %matplotlib) that are not Python.
        lines = [ln for ln in "".join(cell["source"]).splitlines() if ln.lstrip()[:1] not in "!%"]
        try:
            tree = ast.parse("\n".join(lines))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pytorch3d"):
                found += [(node.module, alias.name) for alias in node.names]
            elif isinstance(node, ast.Import):
                found += [(a.name, None) for a in node.names if a.name.startswith("pytorch3d")]
    return found


def unresolved(imports: list[tuple[str, str | None]]) -> list[str]:
    """The imports that fail with the alias installed, as ``module:name`` strings."""
    missing = []
    for module, name in imports:
        try:
            loaded = importlib.import_module(module)
            if name is not None and not hasattr(loaded, name):
                importlib.import_module(f"{module}.{name}")
        except Exception:  # noqa: BLE001 - any failure means "does not import"
            missing.append(module if name is None else f"{module}:{name}")
    return sorted(set(missing))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path, help="path to a PyTorch3D clone")
    args = parser.parse_args(argv)
    tutorials = sorted((args.checkout / "docs" / "tutorials").glob("*.ipynb"))
    if not tutorials:
        raise SystemExit(f"no docs/tutorials/*.ipynb under {args.checkout}")
    from course_utils.p3d.alias import install

    install()
    resolved = 0
    for notebook in tutorials:
        missing = unresolved(pytorch3d_imports(notebook))
        resolved += not missing
        status = "imports resolve" if not missing else "missing: " + ", ".join(missing[:4])
        print(f"{notebook.stem:55s} {status}")
    print(f"\n{resolved} of {len(tutorials)} tutorials have all their pytorch3d imports resolved.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
