"""The learner-facing tooling: exercises and checks, Colab cells, the README's table of
contents, the headless notebook runner, and the notebooks' hygiene."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import textwrap

import nbformat
import pytest
import torch

from course_utils import checks
from course_utils.config import REPO_ROOT
from course_utils.tools import colab, exercises, toc
from course_utils.tools.cli import main as cli_main
from course_utils.tools.notebooks import (
    EXERCISES_DIR,
    NOTEBOOKS_DIR,
    chapter_info,
    list_notebooks,
    read_notebook,
)
from course_utils.tools.runner import format_table, run_notebooks

NOTEBOOKS = list_notebooks(NOTEBOOKS_DIR)


# ---------------------------------------------------------------- exercises and checks
def test_committed_exercises_are_up_to_date(tmp_path):
    found = exercises.write_exercises(out_dir=tmp_path)
    assert found, "the chapters so far have exercises"
    generated = sorted(p.name for p in tmp_path.glob("*.ipynb"))
    committed = sorted(p.name for p in EXERCISES_DIR.glob("*.ipynb"))
    assert generated == committed, "run `python -m course_utils exercises`"
    for name in generated:
        assert (tmp_path / name).read_text() == (EXERCISES_DIR / name).read_text(), (
            f"exercises/{name} is stale: run `python -m course_utils exercises`"
        )


def exercise_cells(path):
    """(exercise, solution cell source, stub cell source) for every exercise of a notebook."""
    solution_nb = read_notebook(path)
    stub_nb = read_notebook(EXERCISES_DIR / path.name)
    _, found = exercises.learner_copy(solution_nb, path.name, colab.repository())
    return [(e, solution_nb.cells[e.cell].source, stub_nb.cells[e.cell].source) for e in found]


def run_cell_check(source: str) -> tuple[bool, str]:
    """Define the cell's functions in a fresh namespace and run its check call on them.

    Exercise functions are self-contained (arguments, torch, numpy, the p3d modules), so
    only the cell's imports and definitions are executed, then ``checks.check_x(fn)``.
    """
    tree = ast.parse(source)
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and ast.unparse(node.func).startswith("checks.check_")
    ]
    assert len(calls) == 1, "an exercise cell makes exactly one checks.check_...(...) call"
    namespace: dict = {}
    exec(
        "import math\nimport numpy as np\nimport torch\nfrom course_utils import checks\n"
        "from course_utils.p3d import io, loss, ops, renderer, structures, transforms, utils",
        namespace,
    )
    definitions = [
        n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.Import, ast.ImportFrom))
    ]
    exec(compile(ast.Module(body=definitions, type_ignores=[]), "<cell>", "exec"), namespace)
    return eval(ast.unparse(calls[0]), namespace), ast.unparse(calls[0].func).split(".")[-1]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_check_passes_the_solution_and_fails_the_stub(path, capsys):
    for exercise, solution, stub in exercise_cells(path):
        assert "NotImplementedError" in stub and "# BEGIN SOLUTION" not in stub
        passed, name = run_cell_check(solution)
        assert passed, f"{name} rejects the solution of Exercise {exercise.number}"
        out = capsys.readouterr().out
        assert out.startswith("✅") and f"Exercise {exercise.number}" in out
        failed, _ = run_cell_check(stub)
        assert not failed, f"{name} accepts the stub of Exercise {exercise.number}"
        out = capsys.readouterr().out
        assert out.startswith("❌") and "not done yet" in out


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_later_cell_calls_an_exercise_function(path):
    # In the learner copy the exercise functions raise until solved, so later cells use the
    # name bound by checks.yours_or_library (the learner's function once its check passed,
    # else the course's version), never the exercise function itself.
    nb = read_notebook(path)
    for exercise, solution, _ in exercise_cells(path):
        defined = {n.name for n in ast.parse(solution).body if isinstance(n, ast.FunctionDef)}
        for later in nb.cells[exercise.cell + 1 :]:
            if later.cell_type != "code":
                continue
            used = {
                n.id for n in ast.walk(ast.parse(_python(later.source))) if isinstance(n, ast.Name)
            }
            assert not defined & used, (
                f"{path.name}: a cell after Exercise {exercise.number} uses {defined & used}"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_exercise_feeds_the_cells_after_it(path):
    """CONTRIBUTING.md, rule 6: each exercise's function drives the cells after it."""
    nb = read_notebook(path)
    for exercise, solution, _ in exercise_cells(path):
        bound = {
            target.id
            for node in ast.walk(ast.parse(solution))
            if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and ast.unparse(node.value.func) == "checks.yours_or_library"
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        assert bound, (
            f"{path.name}: Exercise {exercise.number} should end with "
            "`checks.check_...(fn)` then `name = checks.yours_or_library(fn, library_fn, 'fn')`"
        )
        used = set()
        for later in nb.cells[exercise.cell + 1 :]:
            if later.cell_type == "code":
                tree = ast.parse(_python(later.source))
                used |= {
                    n.id
                    for n in ast.walk(tree)
                    if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
                }
        assert bound & used, f"{path.name}: no cell after Exercise {exercise.number} uses {bound}"


def _python(source: str) -> str:
    """A cell's source as plain Python (IPython's ! and % lines translated)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def test_every_check_is_used_by_an_exercise():
    used = set()
    for path in NOTEBOOKS:
        for _, solution, _ in exercise_cells(path):
            used.add(run_cell_check(solution)[1])
    assert used == set(checks.CHECKS), f"checks without an exercise: {set(checks.CHECKS) - used}"


@pytest.mark.parametrize(
    "answer, expected_words",
    [
        (lambda v, f: 2 * torch.ones(f.shape[0]), "is wrong"),
        (
            lambda v, f: torch.linalg.cross(v[f][:, 1] - v[f][:, 0], v[f][:, 2] - v[f][:, 0]),
            ".norm",
        ),
        (
            lambda v, f: torch.linalg.cross(v[f][:, 1] - v[f][:, 0], v[f][:, 2] - v[f][:, 0]).norm(
                dim=1
            ),
            "twice",
        ),
        (lambda v, f: None, "should be a torch.Tensor"),
        (lambda v, f: 1 / 0, "ZeroDivisionError"),
        ("not a function", "expected a function"),
    ],
)
def test_checks_explain_wrong_answers_without_crashing(answer, expected_words, capsys):
    assert checks.check_face_areas(answer) is False
    out = capsys.readouterr().out
    assert out.startswith("❌ Exercise 0.1") and expected_words in out


def test_world_to_view_check_spots_column_vectors(capsys):
    assert checks.check_world_to_view(lambda p, R, T: p @ R.T + T) is False
    assert "column vectors" in capsys.readouterr().out


@pytest.mark.parametrize(
    "source, problem",
    [
        ("# BEGIN SOLUTION\nx = 1\n# END SOLUTION", "inside a function"),
        ("def f():\n    # BEGIN SOLUTION\n    return 1\n", "never closed"),
        ("def f():\n    return 1\n    # END SOLUTION", "without"),
    ],
)
def test_malformed_exercise_markers_are_reported(source, problem):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 99 · Test\n\n### Exercise 9.1 — do it"),
        nbformat.v4.new_code_cell(source),
    ]
    with pytest.raises(exercises.ExerciseMarkupError, match=problem):
        exercises.learner_copy(nb, "99_test.ipynb", "a/b")


def test_a_solution_needs_an_exercise_heading():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 99 · Test"),
        nbformat.v4.new_code_cell(
            "def f():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION"
        ),
    ]
    with pytest.raises(exercises.ExerciseMarkupError, match="Exercise N.M"):
        exercises.learner_copy(nb, "99_test.ipynb", "a/b")


# ---------------------------------------------------------------- Colab
@pytest.mark.parametrize(
    "path", NOTEBOOKS + list_notebooks(EXERCISES_DIR), ids=lambda p: f"{p.parent.name}/{p.stem}"
)
def test_every_notebook_has_the_colab_badge_and_setup_cell(path):
    nb = read_notebook(path)
    problems = colab.has_colab_support(nb, colab.repository(), f"{path.parent.name}/{path.name}")
    assert not problems, f"{path.name}: {problems}; run `python -m course_utils colab`"


def test_colab_rewrites_everything_for_a_fork(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    shutil.copy(REPO_ROOT / "pyproject.toml", pyproject)
    folder = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS_DIR, folder)
    changed = colab.update_notebooks(repo="alice/my-3d-course", folder=folder, pyproject=pyproject)
    assert len(changed) == len(NOTEBOOKS)
    assert colab.repository(pyproject) == "alice/my-3d-course"
    assert 'Homepage = "https://github.com/alice/my-3d-course"' in pyproject.read_text()
    for path in list_notebooks(folder):
        nb = read_notebook(path)
        assert "github/alice/my-3d-course/blob/main/notebooks/" in nb.cells[0].source
        setup = next(c for c in nb.cells if c.cell_type == "code").source
        assert "https://github.com/alice/my-3d-course /content/my-3d-course" in setup
        assert colab.has_colab_support(nb, "alice/my-3d-course", f"notebooks/{path.name}") == []
    # Running it again changes nothing; a bad name is refused.
    assert colab.update_notebooks(folder=folder, pyproject=pyproject) == []
    with pytest.raises(ValueError, match="OWNER/NAME"):
        colab.set_repository("not a repo", pyproject)


def test_setup_cell_is_valid_ipython_and_a_no_op_outside_colab():
    from IPython.core.inputtransformer2 import TransformerManager

    source = colab.setup_cell_source("alice/course", "notebooks")
    python = TransformerManager().transform_cell(source)
    namespace: dict = {}
    exec(compile(python, "<setup>", "exec"), namespace)  # outside Colab: defines a flag only
    assert namespace["INSTALL_PYTORCH3D"] is False


# ---------------------------------------------------------------- table of contents
def test_readme_table_of_contents_is_current():
    readme = (REPO_ROOT / "README.md").read_text()
    assert toc.render_readme() == readme, (
        "the README's chapter table is stale: run `python -m course_utils toc`"
    )
    for path in NOTEBOOKS:
        assert f"(notebooks/{path.name})" in readme, f"{path.name} is not in the README"


def test_toc_notices_a_changed_notebook(tmp_path):
    folder = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS_DIR, folder)
    readme = tmp_path / "README.md"
    shutil.copy(REPO_ROOT / "README.md", readme)
    nb = read_notebook(folder / NOTEBOOKS[0].name)
    nb.cells[0].source = nb.cells[0].source.replace("**Time:** ", "**Time:** at most 99 hours, ")
    nbformat.write(nb, str(folder / NOTEBOOKS[0].name))
    assert toc.update_readme(readme, folder) is True
    assert "at most 99 hours" in readme.read_text()
    assert toc.update_readme(readme, folder) is False


def test_chapter_info_names_what_the_first_cell_lacks(tmp_path):
    path = tmp_path / "07_broken.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 07 · Broken\n\n**Time:** 5 minutes")]
    nbformat.write(nb, str(path))
    with pytest.raises(ValueError, match=r"summary.*Needs"):
        chapter_info(path)


# ---------------------------------------------------------------- headless run
def write_notebook(path, *sources):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(textwrap.dedent(s)) for s in sources]
    nbformat.write(nb, str(path))


def test_run_notebooks_reports_the_failing_cell_and_runs_the_rest(tmp_path, capsys):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_notebook(folder / "00_good.ipynb", "import os\nprint(os.environ['COURSE_FAST'])")
    write_notebook(folder / "01_bad.ipynb", "x = 1", "y = x / 0", "print('never')")
    write_notebook(folder / "02_after.ipynb", "print('still runs')")
    build = tmp_path / "build"
    results = run_notebooks(folder=folder, build_dir=build, fast=True, timeout=60, progress=False)
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].failed_cell == 1 and "ZeroDivisionError" in results[1].error
    executed = read_notebook(build / "notebooks" / "00_good.ipynb")
    assert executed.cells[0].outputs[0]["text"].strip() == "1"  # fast mode reached the kernel
    assert (build / "html" / "02_after.html").read_text().count("still runs") >= 1
    table = format_table(results)
    assert re.search(r"01_bad\.ipynb\s+FAILED", table) and "cell 1: ZeroDivisionError" in table
    assert "3 notebooks, 1 failed" in table

    only = run_notebooks(folder=folder, build_dir=build, only=["02"], timeout=60, progress=False)
    assert [r.name for r in only] == ["02_after.ipynb"]
    with pytest.raises(ValueError, match="starts with 42"):
        run_notebooks(folder=folder, build_dir=build, only=["42"], progress=False)


# ---------------------------------------------------------------- hygiene
@pytest.mark.parametrize(
    "path", NOTEBOOKS + list_notebooks(EXERCISES_DIR), ids=lambda p: f"{p.parent.name}/{p.stem}"
)
def test_notebooks_are_committed_clean(path):
    nb = read_notebook(path)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    with_outputs = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.outputs]
    assert not with_outputs, f"{path.name}: cells {with_outputs} have outputs; clear them"
    counted = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.execution_count]
    assert not counted, f"{path.name}: cells {counted} have execution counts"
    chapter_info(path)  # the first cell has title, summary, needs and time


def test_ruff_passes():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "course_utils", "tests", "benchmarks"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_cli_commands_exist(capsys):
    with pytest.raises(SystemExit):
        cli_main(["--help"])
    out = capsys.readouterr().out
    for command in ("doctor", "assets", "exercises", "toc", "colab", "run-notebooks"):
        assert command in out


def test_html_export_keeps_every_gif(tmp_path):
    """A GIF shown with ``show_gif`` plays in the HTML that run-notebooks writes."""
    import base64

    import imageio.v3 as iio
    import numpy as np

    frames = np.zeros((3, 8, 8, 3), dtype=np.uint8)
    frames[:, 2:6, 2:6] = [[[[255, 0, 0]]], [[[0, 255, 0]]], [[[0, 0, 255]]]]
    gif = tmp_path / "tiny.gif"
    iio.imwrite(gif, frames, extension=".gif", duration=100, loop=0)
    folder = tmp_path / "notebooks"
    folder.mkdir()
    show = f"from course_utils.rendering import show_gif\nshow_gif({str(gif)!r}, width=64)"
    write_notebook(folder / "00_gif.ipynb", show, show)
    build = tmp_path / "build"
    results = run_notebooks(folder=folder, build_dir=build, timeout=120, progress=False)
    assert results[0].ok, results[0].error
    html = (build / "html" / "00_gif.html").read_text(encoding="utf-8")
    encoded = base64.b64encode(gif.read_bytes()).decode("ascii")
    assert html.count(f'src="data:image/gif;base64,{encoded}"') == 2  # both GIFs, whole files
    assert "IPython.core.display.Image object" not in html
    executed = read_notebook(build / "notebooks" / "00_gif.ipynb")
    assert executed.cells[0].outputs[0]["data"]["image/gif"] == encoded
