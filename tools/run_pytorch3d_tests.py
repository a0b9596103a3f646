"""Run PyTorch3D's own test files against the course's built-in backend.

Usage (from the repository root)::

    python tools/run_pytorch3d_tests.py PATH_TO_PYTORCH3D_CHECKOUT [-k EXPR] [--files a b]

``PATH_TO_PYTORCH3D_CHECKOUT`` is a clone of facebookresearch/pytorch3d (or its ``tests``
folder). Each test file runs with pytest in its own subprocess, with
``tools/pytorch3d_alias.py`` loaded as a plugin so that ``import pytorch3d.X`` gives
``course_utils.p3d.builtin.X``; nothing named ``pytorch3d`` is installed and the
checkout's ``pytorch3d`` package is never imported. The script prints one row per file
(passed / failed / errors / skipped) and the totals; ``--verbose`` shows each file's
failures. Not part of the course's test command: it needs PyTorch3D's source.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from xml.etree import ElementTree

REPO = Path(__file__).resolve().parent.parent

#: The PyTorch3D test files the course's built-in backend is measured on (CPU tests).
TEST_FILES = (
    "test_cameras",
    "test_transforms",
    "test_texturing",
    "test_io_obj",
    "test_io_ply",
    "test_meshes",
    "test_knn",
    "test_camera_utils",
    "test_pointclouds",
    "test_render_points",
    "test_blending",
    "test_shader",
    "test_sample_points_from_meshes",
    "test_chamfer",
    "test_rotation_conversions",
    "test_lighting",
    "test_compositing",
    "test_mesh_normal_consistency",
    "test_so3",
)

#: Failures whose message says this need a GPU: not counted (they fail on a CPU-only
#: machine with real PyTorch3D too).
_NEEDS_CUDA = (
    "Torch not compiled with CUDA",
    "CUDA driver",
    "no CUDA GPUs",
    "NVIDIA driver",
    "deserialize object on a CUDA device",
)

COLUMNS = ("passed", "failed", "errors", "skipped", "needs_cuda")


def parse_junit(xml_text: str) -> tuple[dict[str, int], list[str]]:
    """Count the outcomes in a pytest JUnit XML report.

    Returns the counts (``COLUMNS``) and one ``"test: first line of message"`` per
    failure or error. A failure whose message says CUDA is missing counts as
    ``needs_cuda``, not as ``failed``.
    """
    counts = dict.fromkeys(COLUMNS, 0)
    problems = []
    root = ElementTree.fromstring(xml_text)
    for case in root.iter("testcase"):
        name = case.get("name", "?")
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                message = (child.get("message") or child.text or "").strip()
                if any(marker in message or marker in (child.text or "") for marker in _NEEDS_CUDA):
                    outcome = "needs_cuda"
                else:
                    outcome = "failed" if child.tag == "failure" else "errors"
                    first = message.splitlines()[0] if message else child.tag
                    problems.append(f"{name}: {first[:160]}")
                break
            if child.tag == "skipped":
                outcome = "skipped"
                break
        counts[outcome] += 1
    return counts, problems


def tests_dir(checkout: Path) -> Path:
    """The folder holding ``test_*.py``: ``checkout/tests`` or ``checkout`` itself."""
    for candidate in (checkout / "tests", checkout):
        if (candidate / "test_cameras.py").is_file():
            return candidate
    raise SystemExit(
        f"{checkout} is not a PyTorch3D checkout: no tests/test_cameras.py there. "
        "Clone https://github.com/facebookresearch/pytorch3d and pass its path."
    )


def run_file(tests: Path, name: str, extra: list[str]) -> tuple[dict[str, int], list[str]]:
    """Run one test file in a subprocess with the alias plugin; return counts and problems."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO / "tools"), str(REPO), env.get("PYTHONPATH", "")]
    ).rstrip(os.pathsep)
    env["COURSE_BACKEND"] = "torch"  # the alias maps pytorch3d onto the built-in backend
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("MPLBACKEND", "Agg")
    command = [
        sys.executable, "-m", "pytest", str(tests / f"{name}.py"),
        "-p", "pytorch3d_alias", "-p", "no:cacheprovider",
        "-q", "--tb=line", "--no-header", "--rootdir", str(tests.parent),
        "-c", os.devnull, "--junitxml", "", *extra,
    ]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.xml"
        command[command.index("--junitxml") + 1] = str(report)
        result = subprocess.run(
            command, cwd=tests.parent, env=env, capture_output=True, text=True, check=False
        )
        if not report.is_file():
            tail = (result.stdout + result.stderr).strip().splitlines()[-5:]
            return dict.fromkeys(COLUMNS, 0) | {"errors": 1}, tail
        return parse_junit(report.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path, help="path to a PyTorch3D clone")
    parser.add_argument("--files", nargs="+", default=list(TEST_FILES), help="test files")
    parser.add_argument("-k", default=None, help="pytest -k expression")
    parser.add_argument("--verbose", action="store_true", help="print each file's failures")
    args = parser.parse_args(argv)
    tests = tests_dir(args.checkout.resolve())
    extra = ["-k", args.k] if args.k else []
    totals = dict.fromkeys(COLUMNS, 0)
    print(f"| {'file':32s} | " + " | ".join(f"{c:>10s}" for c in COLUMNS) + " |")
    print(f"|{'-' * 34}|" + "|".join("-" * 12 for _ in COLUMNS) + "|")
    for name in args.files:
        name = name.removesuffix(".py")
        counts, problems = run_file(tests, name, extra)
        for key in totals:
            totals[key] += counts[key]
        print(f"| {name:32s} | " + " | ".join(f"{counts[c]:10d}" for c in COLUMNS) + " |",
              flush=True)  # fmt: skip
        if args.verbose:
            for problem in problems:
                print(f"    {problem}")
    print(f"| {'total':32s} | " + " | ".join(f"{totals[c]:10d}" for c in COLUMNS) + " |")
    counted = totals["passed"] + totals["failed"] + totals["errors"]
    print(f"\n{totals['passed']} of {counted} CPU tests pass "
          f"({totals['needs_cuda']} need CUDA, {totals['skipped']} skipped).")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
