"""Learner copies of the notebooks: the exercise solutions replaced by stubs.

The notebooks in ``notebooks/`` hold the full solutions (the tests execute them). An
exercise is announced by a markdown heading ``### Exercise N.M — what to do`` and its
solution is the code between two marker comments, inside a function::

    def face_areas(verts, faces):
        \"\"\"(V, 3) vertices and (F, 3) faces -> (F,) triangle areas.\"\"\"
        # BEGIN SOLUTION
        v0, v1, v2 = verts[faces].unbind(dim=1)
        return 0.5 * torch.linalg.cross(v1 - v0, v2 - v0, dim=1).norm(dim=1)
        # END SOLUTION

    checks.check_face_areas(face_areas)

``python -m course_utils exercises`` writes ``exercises/NN_topic.ipynb`` with each marked
block replaced by ``raise NotImplementedError("Exercise N.M: what to do")``: the function
still exists, the explanation and the check call stay, and running the check on the stub
prints a friendly "not done yet" instead of a stack trace. Solutions must sit inside a
function for exactly that reason. A test fails when ``exercises/`` is stale.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from course_utils.tools import colab
from course_utils.tools.notebooks import (
    EXERCISES_DIR,
    NOTEBOOKS_DIR,
    list_notebooks,
    read_notebook,
    write_notebook,
)

BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
HEADING = re.compile(r"^#+\s*Exercise\s+(\d+\.\d+)\s*[—–:-]\s*(.+?)\s*$", re.MULTILINE)
LEARNER_NOTE = (
    "> **Learner copy.** The exercise solutions are replaced by `NotImplementedError`: "
    "write your own, then run the check under each one. The full notebook with solutions "
    "is [`notebooks/{name}`](../notebooks/{name})."
)


@dataclass(frozen=True)
class Exercise:
    """One marked exercise: where it is and what it asks."""

    notebook: str
    number: str
    task: str
    cell: int


class ExerciseMarkupError(ValueError):
    """A notebook's exercise markers are malformed (the message names notebook and cell)."""


def stub_cell_source(source: str, exercise: Exercise) -> str:
    """Replace each ``BEGIN``/``END SOLUTION`` block of a code cell by a stub."""
    out: list[str] = []
    inside = False
    where = f"{exercise.notebook}, cell {exercise.cell}"
    for line in source.split("\n"):
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise ExerciseMarkupError(f"{where}: '{BEGIN}' inside another solution block")
            indent = line[: len(line) - len(line.lstrip())]
            if not indent:
                raise ExerciseMarkupError(
                    f"{where}: put the solution inside a function, so the learner's stub "
                    "raises only when the check calls it"
                )
            message = f"Exercise {exercise.number}: {exercise.task}"
            out.append(f"{indent}raise NotImplementedError({message!r})")
            inside = True
        elif stripped == END:
            if not inside:
                raise ExerciseMarkupError(f"{where}: '{END}' without '{BEGIN}'")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ExerciseMarkupError(f"{where}: '{BEGIN}' is never closed by '{END}'")
    return "\n".join(out)


def learner_copy(
    nb: nbformat.NotebookNode, name: str, repo: str
) -> tuple[nbformat.NotebookNode, list[Exercise]]:
    """The learner's version of notebook ``name`` and the exercises found in it."""
    nb = copy.deepcopy(nb)
    exercises: list[Exercise] = []
    current: tuple[str, str] | None = None
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            headings = HEADING.findall(cell.source)
            if headings:
                current = headings[-1]
            continue
        if cell.cell_type != "code" or (BEGIN not in cell.source and END not in cell.source):
            continue
        if current is None:
            raise ExerciseMarkupError(
                f"{name}, cell {index}: a solution block without an '### Exercise N.M — task' "
                "heading before it"
            )
        exercise = Exercise(notebook=name, number=current[0], task=current[1], cell=index)
        cell.source = stub_cell_source(cell.source, exercise)
        exercises.append(exercise)
    colab.apply_to_notebook(nb, repo, f"exercises/{name}")
    first = nb.cells[0].source.split("\n")
    note = LEARNER_NOTE.format(name=name)
    nb.cells[0].source = "\n".join([first[0], "", note] + first[1:])
    return nb, exercises


def write_exercises(
    source_dir: Path = NOTEBOOKS_DIR, out_dir: Path = EXERCISES_DIR, repo: str | None = None
) -> list[Exercise]:
    """Write the learner copy of every notebook; remove copies whose notebook is gone.

    Returns:
        Every exercise found, in course order.
    """
    repo = repo or colab.repository()
    out_dir.mkdir(parents=True, exist_ok=True)
    found: list[Exercise] = []
    names = set()
    for path in list_notebooks(source_dir):
        copy_nb, exercises = learner_copy(read_notebook(path), path.name, repo)
        write_notebook(copy_nb, out_dir / path.name)
        names.add(path.name)
        found += exercises
    for stale in list_notebooks(out_dir):
        if stale.name not in names:
            stale.unlink()
    return found
