"""Command line: ``python -m course_utils <command>``.

Commands:
    doctor   check this machine for the course (exit code 1 when something FAILs)
    assets   regenerate the course's meshes in data/ (``--force`` to replace changed files)
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

    try:
        paths = write_assets(out_dir=args.out, names=args.names or None, force=args.force)
    except (FileExistsError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for path in paths:
        print(f"wrote {path}")
    return 0


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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
