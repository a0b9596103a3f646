"""Run the whole course headless: ``python -m course_utils run-notebooks [--fast] [--only 03]``.

For instructors (does the course still run on this machine?) and for learners who want
every chapter's results without clicking through: each notebook is executed in order in a
fresh kernel, the executed copy and an HTML export are written to ``build/`` (git-ignored),
and a table of wall-clock times ends the run. A failing notebook is reported with the
cell that failed and its error, and the remaining notebooks still run.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from course_utils.atomic import write_text_atomic
from course_utils.config import REPO_ROOT
from course_utils.tools.notebooks import (
    NOTEBOOKS_DIR,
    list_notebooks,
    read_notebook,
    write_notebook,
)

BUILD_DIR: Path = REPO_ROOT / "build"


@dataclass
class NotebookRun:
    """How one notebook went: ``failed_cell`` is the index of the cell that raised."""

    name: str
    ok: bool
    seconds: float
    failed_cell: int | None = None
    error: str = ""


def select_notebooks(folder: Path, only: list[str] | None) -> list[Path]:
    """Notebooks of ``folder`` in order, restricted to names starting with one of ``only``."""
    notebooks = list_notebooks(folder)
    if only:
        notebooks = [p for p in notebooks if any(p.name.startswith(o) for o in only)]
        if not notebooks:
            raise ValueError(f"no notebook in {folder} starts with {', '.join(only)}")
    return notebooks


def _first_error(nb) -> tuple[int | None, str]:
    """Index and ``Name: message`` of the first cell whose output is an error."""
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return index, f"{output.get('ename')}: {output.get('evalue')}"
    return None, ""


def run_one(path: Path, build_dir: Path, timeout: int, progress: bool) -> NotebookRun:
    """Execute one notebook; write the executed copy and its HTML export into ``build_dir``."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    from nbconvert import HTMLExporter
    from tqdm.auto import tqdm

    nb = read_notebook(path)
    code_cells = sum(1 for c in nb.cells if c.cell_type == "code")
    bar = tqdm(total=code_cells, desc=path.stem, unit="cell", leave=False, disable=not progress)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        on_cell_executed=lambda **_: bar.update(1),
    )
    start = time.perf_counter()
    error = ""
    try:
        client.execute()
    except CellExecutionError:
        pass  # the error output is in the notebook; found below
    except Exception as exc:  # a dead kernel, a timeout: report it, run the next notebook
        error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    finally:
        bar.close()
    seconds = time.perf_counter() - start
    failed_cell, cell_error = _first_error(nb)
    write_notebook(nb, build_dir / "notebooks" / path.name)
    html, _ = HTMLExporter().from_notebook_node(nb)
    write_text_atomic(build_dir / "html" / f"{path.stem}.html", html)
    ok = failed_cell is None and not error
    return NotebookRun(path.name, ok, seconds, failed_cell, cell_error or error)


def run_notebooks(
    folder: Path = NOTEBOOKS_DIR,
    build_dir: Path = BUILD_DIR,
    only: list[str] | None = None,
    fast: bool = False,
    timeout: int = 3600,
    progress: bool = True,
) -> list[NotebookRun]:
    """Execute the notebooks in order; every one runs even if an earlier one fails.

    Args:
        folder: where the notebooks are (default ``notebooks/``).
        build_dir: where executed copies (``notebooks/``) and HTML (``html/``) go.
        only: run only notebooks whose names start with one of these (e.g. ``["03"]``).
        fast: set ``COURSE_FAST=1`` for the kernels (the tests' small sizes).
        timeout: seconds one cell may take.
        progress: show progress bars.
    """
    from tqdm.auto import tqdm

    notebooks = select_notebooks(folder, only)
    previous = os.environ.get("COURSE_FAST")
    os.environ["COURSE_FAST"] = "1" if fast else "0"  # kernels inherit the environment
    try:
        results = []
        for path in tqdm(notebooks, desc="notebooks", unit="nb", disable=not progress):
            results.append(run_one(path, build_dir, timeout, progress))
    finally:
        if previous is None:
            os.environ.pop("COURSE_FAST", None)
        else:
            os.environ["COURSE_FAST"] = previous
    return results


def format_table(results: list[NotebookRun]) -> str:
    """A plain-text table: notebook, result, seconds, and where it failed."""
    width = max([len(r.name) for r in results] + [8])
    lines = [f"{'notebook':<{width}}  result  seconds  detail", "-" * (width + 40)]
    for r in results:
        detail = "" if r.ok else r.error
        if not r.ok and r.failed_cell is not None:
            detail = f"cell {r.failed_cell}: {r.error}"
        result = "ok" if r.ok else "FAILED"
        lines.append(f"{r.name:<{width}}  {result:<6}  {r.seconds:7.1f}  {detail}")
    total = sum(r.seconds for r in results)
    failed = sum(not r.ok for r in results)
    lines.append(f"{len(results)} notebooks, {failed} failed, {total:.1f} s in all")
    return "\n".join(lines)
