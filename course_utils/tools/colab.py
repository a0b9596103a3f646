"""Colab support: the "Open in Colab" badge and the set-up cell every notebook starts with.

The repository's address lives in one place, ``[project.urls] Repository`` in
``pyproject.toml``. ``python -m course_utils colab`` writes the badge (first line of the
first cell) and the set-up cell (first code cell) of every notebook from it;
``python -m course_utils colab --repo OWNER/NAME`` first points ``pyproject.toml`` at a fork.

The set-up cell does nothing outside Colab. Inside Colab it clones the repository (so
the course's data comes along), installs the package in editable mode, makes it
importable without a kernel restart, moves to the notebook's folder, and — if the learner
sets ``INSTALL_PYTORCH3D = True`` — builds real PyTorch3D as well.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from course_utils.atomic import write_text_atomic
from course_utils.config import REPO_ROOT
from course_utils.tools.notebooks import list_notebooks, read_notebook, write_notebook

PYPROJECT = REPO_ROOT / "pyproject.toml"
BADGE_MARK = "colab-badge.svg"
SETUP_MARK = "# Colab set-up"
_REPO_LINE = re.compile(r'^(Repository|Homepage)\s*=\s*"https://github\.com/([^"]+?)/?"\s*$', re.M)
_REPO_NAME = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


def repository(pyproject: Path = PYPROJECT) -> str:
    """``OWNER/NAME`` of the course repository, read from ``pyproject.toml``."""
    for key, repo in _REPO_LINE.findall(pyproject.read_text(encoding="utf-8")):
        if key == "Repository":
            return repo
    raise ValueError(f"{pyproject}: no 'Repository = \"https://github.com/OWNER/NAME\"' line")


def set_repository(repo: str, pyproject: Path = PYPROJECT) -> None:
    """Point the ``Homepage`` and ``Repository`` URLs of ``pyproject.toml`` at ``repo``."""
    if not _REPO_NAME.match(repo):
        raise ValueError(f"--repo must look like OWNER/NAME, got {repo!r}")
    text = pyproject.read_text(encoding="utf-8")
    new = _REPO_LINE.sub(lambda m: f'{m.group(1)} = "https://github.com/{repo}"', text)
    write_text_atomic(pyproject, new)


def badge(repo: str, relative_path: str) -> str:
    """Markdown for the "Open in Colab" badge of the notebook at ``relative_path``."""
    url = f"https://colab.research.google.com/github/{repo}/blob/main/{relative_path}"
    return f"[![Open In Colab](https://colab.research.google.com/assets/{BADGE_MARK})]({url})"


def setup_cell_source(repo: str, folder: str) -> str:
    """The source of the Colab set-up cell for notebooks living in ``folder``."""
    name = repo.split("/")[1]
    return f"""{SETUP_MARK}: in Google Colab this installs the course; elsewhere it does nothing.
# Set INSTALL_PYTORCH3D = True to build real PyTorch3D too (about 10 minutes); the
# course's built-in implementation is used otherwise.
INSTALL_PYTORCH3D = False

import os
import sys

# The course's thread policy (README, "Speed on a shared machine"): before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

if "google.colab" in sys.modules:
    !git clone --depth 1 https://github.com/{repo} /content/{name}
    %pip install -q -e /content/{name}
    sys.path.insert(0, "/content/{name}")  # importable without restarting the kernel
    %cd /content/{name}/{folder}
    if INSTALL_PYTORCH3D:
        %pip install -q "git+https://github.com/facebookresearch/pytorch3d.git\""""


def apply_to_notebook(nb: nbformat.NotebookNode, repo: str, relative_path: str) -> bool:
    """Write the badge and set-up cell into ``nb`` (in place). Returns True if it changed."""
    if not nb.cells or nb.cells[0].cell_type != "markdown":
        raise ValueError(f"{relative_path}: the first cell must be markdown (badge and title)")
    before = nbformat.writes(nb)
    first = nb.cells[0]
    lines = first.source.split("\n")
    new_badge = badge(repo, relative_path)
    if lines and BADGE_MARK in lines[0]:
        lines[0] = new_badge
    else:
        lines = [new_badge, ""] + lines
    first.source = "\n".join(lines)

    folder = relative_path.rsplit("/", 1)[0]
    source = setup_cell_source(repo, folder)
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    if code_cells and nb.cells[code_cells[0]].source.startswith(SETUP_MARK):
        nb.cells[code_cells[0]].source = source
    else:
        position = code_cells[0] if code_cells else len(nb.cells)
        nb.cells.insert(position, nbformat.v4.new_code_cell(source))
    return nbformat.writes(nb) != before


def has_colab_support(nb: nbformat.NotebookNode, repo: str, relative_path: str) -> list[str]:
    """What is missing or out of date in ``nb``'s badge and set-up cell (empty: all good)."""
    problems = []
    first = nb.cells[0].source.split("\n")[0] if nb.cells else ""
    if first != badge(repo, relative_path):
        problems.append("the first line of the first cell is not the Colab badge for " + repo)
    code = [c for c in nb.cells if c.cell_type == "code"]
    folder = relative_path.rsplit("/", 1)[0]
    if not code or code[0].source != setup_cell_source(repo, folder):
        problems.append("the first code cell is not the current Colab set-up cell")
    return problems


def update_notebooks(
    repo: str | None = None, folder: Path | None = None, pyproject: Path = PYPROJECT
) -> list[Path]:
    """Rewrite badge and set-up cell of every notebook; returns the notebooks changed.

    Args:
        repo: ``OWNER/NAME`` of a fork; written into ``pyproject`` first. Default: the
            repository already named there.
        folder: the notebooks' folder (default ``notebooks/``).
        pyproject: the ``pyproject.toml`` holding the repository's address.
    """
    if repo is not None:
        set_repository(repo, pyproject)
    repo = repository(pyproject)
    folder = folder or REPO_ROOT / "notebooks"
    changed = []
    for path in list_notebooks(folder):
        nb = read_notebook(path)
        relative = f"{folder.name}/{path.name}"
        if apply_to_notebook(nb, repo, relative):
            write_notebook(nb, path)
            changed.append(path)
    return changed
