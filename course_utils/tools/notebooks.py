"""Finding the course's notebooks and reading what their first cell says about them.

Every chapter notebook is ``notebooks/NN_topic.ipynb`` and opens with a markdown cell in
this shape (the tools that build the README's table of contents, the Colab badges and the
learners' exercise copies read it)::

    [![Open In Colab](...colab-badge.svg)](https://colab.research.google.com/github/...)

    # 03 · Point clouds and surfaces

    *One line saying what the learner does in this chapter.*

    **You will learn to** ... (3-6 goals)

    **Prerequisites:** ...

    **Needs:** what to install beyond the core set-up (or "core install").

    **Time:** about 20 minutes on a laptop CPU.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from course_utils.atomic import write_text_atomic
from course_utils.config import REPO_ROOT

NOTEBOOKS_DIR: Path = REPO_ROOT / "notebooks"
EXERCISES_DIR: Path = REPO_ROOT / "exercises"
NOTEBOOK_NAME = re.compile(r"^(\d\d)_[a-z0-9_]+\.ipynb$")

_TITLE = re.compile(r"^#\s+(\d\d)\s*·\s*(.+?)\s*$", re.MULTILINE)
_SUMMARY = re.compile(r"^\*([^*].*?)\*\s*$", re.MULTILINE)
_FIELD = r"^\*\*{name}:\*\*\s*(.+?)\s*$"


@dataclass(frozen=True)
class ChapterInfo:
    """What a notebook's first cell says: ``number`` ("03"), title, summary, needs, time."""

    path: Path
    number: str
    title: str
    summary: str
    needs: str
    time: str


def list_notebooks(folder: Path = NOTEBOOKS_DIR) -> list[Path]:
    """The chapter notebooks ``NN_topic.ipynb`` in ``folder``, in course order."""
    return sorted(p for p in Path(folder).glob("*.ipynb") if NOTEBOOK_NAME.match(p.name))


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read a notebook as nbformat version 4 (a clear error names a broken file)."""
    try:
        return nbformat.read(str(path), as_version=4)
    except Exception as error:  # nbformat raises several kinds for a broken file
        raise ValueError(f"{path}: not a readable notebook ({error})") from error


def write_notebook(nb: nbformat.NotebookNode, path: Path) -> None:
    """Write a notebook the way Jupyter does (so regenerated files diff cleanly)."""
    text = nbformat.writes(nb)
    write_text_atomic(path, text if text.endswith("\n") else text + "\n")  # as nbformat.write


def chapter_info(path: Path) -> ChapterInfo:
    """Parse a notebook's first (markdown) cell; a ``ValueError`` says what is missing."""
    nb = read_notebook(path)
    if not nb.cells or nb.cells[0].cell_type != "markdown":
        raise ValueError(f"{path.name}: the first cell must be markdown (title, summary, goals)")
    text = nb.cells[0].source
    title = _TITLE.search(text)
    summary = _SUMMARY.search(text)
    needs = re.search(_FIELD.format(name="Needs"), text, re.MULTILINE)
    time = re.search(_FIELD.format(name="Time"), text, re.MULTILINE)
    missing = [
        what
        for what, found in (
            ("a title '# NN · Title'", title),
            ("a one-line *summary* in italics", summary),
            ("a '**Needs:** ...' line", needs),
            ("a '**Time:** ...' line", time),
        )
        if found is None
    ]
    if missing:
        raise ValueError(f"{path.name}: the first cell lacks " + ", ".join(missing))
    if title.group(1) != path.name[:2]:
        raise ValueError(
            f"{path.name}: the title says chapter {title.group(1)}, the file name {path.name[:2]}"
        )
    return ChapterInfo(
        path=path,
        number=title.group(1),
        title=title.group(2),
        summary=summary.group(1).strip(),
        needs=needs.group(1).rstrip("."),
        time=time.group(1).rstrip("."),
    )
