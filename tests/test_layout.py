"""The package's layers: no import circle in ``course_utils``, and arrows point down only.

``course_utils`` has three layers (README, "Repository map"): ``tools/`` (course machinery:
CLI, doctor, generators, runner) → lesson helpers (the modules notebooks call) → ``p3d``
(the PyTorch3D API). A lesson helper never imports a tool, and no two modules import each
other in a circle — counting imports inside functions too, since a lazy import only hides
a circle until the day someone moves it to the top of the file.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from course_utils.config import REPO_ROOT

PACKAGE = REPO_ROOT / "course_utils"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(source: str, package: str, known: set[str]) -> set[str]:
    """The ``course_utils`` modules a file imports anywhere in it (lazy imports included).

    ``from P import n`` imports the package ``P`` (its ``__init__`` runs and ``n`` is looked
    up in it) and, when ``P.n`` is a module, ``P.n`` too; ``import A.B`` imports ``A.B``.

    Args:
        source: the file's text; package: the package the file is in (for relative imports);
        known: the modules of ``course_utils`` (anything else is not counted).
    """
    tree = ast.parse(source)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name in known}


def import_graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    graph = {}
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        graph[name] = imports_of(path.read_text(encoding="utf-8"), package, known) - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start)
            if cycle:
                return cycle
    return None


def test_no_import_circle_in_course_utils():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def test_lesson_helpers_never_import_tools():
    graph = import_graph()
    entry_points = {"course_utils.__main__"}
    wrong = {
        name: sorted(
            t for t in targets if t == "course_utils.tools" or t.startswith("course_utils.tools.")
        )
        for name, targets in graph.items()
        if not name.startswith("course_utils.tools") and name not in entry_points
    }
    wrong = {name: targets for name, targets in wrong.items() if targets}
    assert not wrong, f"lesson helpers import course machinery (tools/): {wrong}"


def test_p3d_imports_no_lesson_helper():
    graph = import_graph()
    # the foundation modules import nothing of the course: every layer may use them
    below = ("course_utils.p3d", "course_utils.config", "course_utils.atomic")
    below += ("course_utils.threads",)
    assert not graph["course_utils.atomic"] and not graph["course_utils.threads"]
    wrong = {
        name: sorted(t for t in targets if not t.startswith(below) and t != "course_utils")
        for name, targets in graph.items()
        if name.startswith("course_utils.p3d")
    }
    assert not {n: t for n, t in wrong.items() if t}, f"p3d imports lesson helpers: {wrong}"


def test_the_checks_can_fail():
    """The detectors themselves find a circle and a wrong arrow (known answers)."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    known = {"course_utils.models", "course_utils.models.losses", "course_utils.models.toy"}
    lazy = "def f():\n    from course_utils.models import losses\n"
    assert imports_of(lazy, "course_utils.models", known) == {
        "course_utils.models",
        "course_utils.models.losses",
    }
    assert imports_of("from . import toy\n", "course_utils.models", known) == {
        "course_utils.models",
        "course_utils.models.toy",
    }
    assert imports_of("import course_utils.models.toy as toy\n", "x", known) == {
        "course_utils.models.toy"
    }


def readme_map() -> dict[str, set[str]]:
    """The README's repository map of ``course_utils/``: entry -> files named in its text.

    Entries are the names at the start of a line indented by 2 (``course_utils/<name>``) or
    4 (inside the entry above); the ``*.py`` names in an entry's description (continuation
    lines included) are files inside it.
    """
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("## Repository", 1)[1].split("```", 2)[1]
    lines = block.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("course_utils/"))
    entries: dict[str, set[str]] = {}
    current, parent = "", ""
    for line in lines[start + 1 :]:
        if line and not line.startswith(" "):
            break  # the next top-level folder
        indent = len(line) - len(line.lstrip(" "))
        name, _, description = line.strip().partition("  ")
        if indent == 2:
            current = parent = name
        elif indent == 4:
            current = parent.rstrip("/") + "/" + name
        else:
            description = line  # a continuation line
        if indent in (2, 4):
            entries.setdefault(current, set())
        if current:
            entries[current].update(re.findall(r"\b(\w+\.py)\b", description))
    return entries


def test_readme_map_matches_the_tree():
    entries = readme_map()
    missing = [name for name in entries if not (PACKAGE / name).exists()]
    assert not missing, f"README's repository map names what does not exist: {missing}"
    ignore = {"__init__.py", "__main__.py", "__pycache__", "py.typed"}
    present = {
        p.name + ("/" if p.is_dir() else "")
        for p in PACKAGE.iterdir()
        if p.name not in ignore and (p.suffix == ".py" or (p / "__init__.py").exists())
    }
    unlisted = sorted(present - set(entries))
    assert not unlisted, f"add these to the README's repository map: {unlisted}"
    for folder, files in entries.items():
        if not files or not folder.endswith("/"):
            continue
        actual = {p.name for p in (PACKAGE / folder).glob("*.py")} - ignore
        assert files == actual, (
            f"README map of {folder}: lists {sorted(files)}, has {sorted(actual)}"
        )
