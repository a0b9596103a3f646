"""Command line: ``python -m course_utils <command>`` (``--help`` on any command).

Commands:
    doctor          check this machine for the course (exit code 1 when something FAILs)
    assets          regenerate the course's meshes in data/
    exercises       write the learner copies (solutions replaced by stubs) to exercises/
    toc             regenerate the README's table of chapters from the notebooks
    colab           (re)write every notebook's Colab badge and set-up cell
    run-notebooks   execute the notebooks headless, with a table of timings
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _doctor(args: argparse.Namespace) -> int:
    from course_utils.environment import report

    return 0 if report() else 1


def _assets(args: argparse.Namespace) -> int:
    from course_utils.assets import write_assets

    paths = write_assets(out_dir=args.out, names=args.names or None, force=args.force)
    for path in paths:
        print(f"wrote {path}")
    return 0


def _exercises(args: argparse.Namespace) -> int:
    from course_utils.exercises import write_exercises

    found = write_exercises()
    notebooks = sorted({e.notebook for e in found})
    print(f"wrote learner copies to exercises/: {len(found)} exercises, {len(notebooks)} notebooks")
    for exercise in found:
        print(f"  {exercise.notebook}  Exercise {exercise.number}: {exercise.task}")
    return 0


def _toc(args: argparse.Namespace) -> int:
    from course_utils.toc import README, update_readme

    changed = update_readme()
    print(f"{'updated' if changed else 'already up to date:'} {README.name}")
    return 0


def _colab(args: argparse.Namespace) -> int:
    from course_utils import colab
    from course_utils.exercises import write_exercises
    from course_utils.toc import update_readme

    changed = colab.update_notebooks(repo=args.repo)
    write_exercises()
    update_readme()
    repo = colab.repository()
    print(f"Colab badges and set-up cells point at github.com/{repo}")
    print(f"changed {len(changed)} notebooks; regenerated exercises/ and the README table")
    return 0


def _run_notebooks(args: argparse.Namespace) -> int:
    from course_utils.runner import BUILD_DIR, format_table, run_notebooks

    results = run_notebooks(
        build_dir=args.build_dir or BUILD_DIR, only=args.only, fast=args.fast, timeout=args.timeout
    )
    print(format_table(results))
    print(f"executed copies and HTML: {args.build_dir or BUILD_DIR}")
    return 0 if all(r.ok for r in results) else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m course_utils", description="Tools for the Learning 3D Vision course."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    doctor = commands.add_parser("doctor", help="check this machine for the course")
    doctor.set_defaults(run=_doctor)

    assets = commands.add_parser("assets", help="regenerate the course meshes in data/")
    assets.add_argument("names", nargs="*", help="assets to write (default: all)")
    assets.add_argument("--out", type=Path, default=None, help="folder (default: data/)")
    assets.add_argument("--force", action="store_true", help="replace files that differ")
    assets.set_defaults(run=_assets)

    commands.add_parser(
        "exercises", help="write the learner copies of the notebooks to exercises/"
    ).set_defaults(run=_exercises)
    commands.add_parser(
        "toc", help="regenerate the README's chapter table from the notebooks"
    ).set_defaults(run=_toc)

    colab = commands.add_parser("colab", help="rewrite the Colab badges and set-up cells")
    colab.add_argument("--repo", help="OWNER/NAME of a fork on GitHub (default: pyproject.toml's)")
    colab.set_defaults(run=_colab)

    run = commands.add_parser("run-notebooks", help="execute the notebooks headless, in order")
    run.add_argument("--fast", action="store_true", help="small sizes (COURSE_FAST=1)")
    run.add_argument("--only", nargs="+", metavar="NN", help="only these, e.g. --only 03 04")
    run.add_argument("--build-dir", type=Path, default=None, help="output folder (default: build/)")
    run.add_argument("--timeout", type=int, default=3600, help="seconds one cell may take")
    run.set_defaults(run=_run_notebooks)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a command; errors a user can fix are printed as one line, with exit code 1."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (FileExistsError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
