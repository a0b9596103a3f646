"""Command line: ``python -m course_utils <command>`` (``--help`` on any command).

Commands:
    doctor          check this machine for the course (exit code 1 when something FAILs)
    assets          regenerate the course's meshes in data/
    exercises       write the learner copies (solutions replaced by stubs) to exercises/
    toc             regenerate the README's table of chapters from the notebooks
    colab           (re)write every notebook's Colab badge and set-up cell
    run-notebooks   execute the notebooks headless, with a table of timings
    train           train a single-view 3D reconstruction model (chapter 05)
    evaluate        evaluate a trained checkpoint: F1@tau, Chamfer, IoU, baselines
    reconstruct     one photo -> a mesh (.ply/.obj) or MagicaVoxel voxels (.vox) (chapter 08)
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path

from course_utils.threads import apply_thread_policy, describe, training_threads

# Before torch is imported by any command: OpenMP reads its settings when it starts.
apply_thread_policy()


class UsageError(Exception):
    """A command line that cannot work as given: one line on stderr, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, with bad command lines reported in one line (no usage block) + exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


# ------------------------------------------------------------------ argument types
# argparse calls these on the raw strings; an ArgumentTypeError becomes
# "python -m course_utils train: error: argument --x: <message>" and exit code 2.
def int_in_range(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse ``type=`` accepting whole numbers in ``[low, high]``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low or (high is not None and value > high):
            span = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"must be {span}, got {value}")
        return value

    return parse


def positive_float(text: str) -> float:
    """An argparse ``type=`` accepting finite numbers > 0 (not nan, not inf)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, got {text!r}")
    return value


def available_device(text: str) -> str:
    """An argparse ``type=`` accepting ``cpu``, ``cuda``, ``cuda:N`` or ``mps`` when present."""
    import torch

    try:
        device = torch.device(text)
    except (RuntimeError, ValueError):
        device = None
    if device is None or device.type not in ("cpu", "cuda", "mps"):
        raise argparse.ArgumentTypeError(f"unknown device {text!r}; use cpu, cuda, cuda:N or mps")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise argparse.ArgumentTypeError(
                f"{text!r} asked for, but this PyTorch sees no CUDA GPU "
                f"(torch {torch.__version__}, CUDA build: {torch.version.cuda or 'no'}); use cpu"
            )
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise argparse.ArgumentTypeError(
                f"{text!r} asked for, but there are only {count} CUDA devices (0..{count - 1})"
            )
    if device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise argparse.ArgumentTypeError(f"{text!r} asked for, but MPS is not available")
    return text


def decoder_name(text: str) -> str:
    """An argparse ``type=`` accepting the known single-view decoders and chapter 08's depth."""
    from course_utils.models import DECODERS  # the one list of decoders

    if text not in (*DECODERS, "depth"):
        raise argparse.ArgumentTypeError(
            f"unknown decoder {text!r}; choose one of {', '.join(DECODERS)}, depth"
        )
    return text


def _backup_name(path: Path) -> Path:
    """``last.pt`` -> ``last.pt.bak`` (``last.pt.bak2``, ... if that exists already)."""
    candidate, k = path.with_name(path.name + ".bak"), 2
    while candidate.exists():
        candidate, k = path.with_name(f"{path.name}.bak{k}"), k + 1
    return candidate


def _doctor(args: argparse.Namespace) -> int:
    from course_utils.tools.environment import report

    return 0 if report() else 1


def _assets(args: argparse.Namespace) -> int:
    from course_utils.assets import write_assets

    paths = write_assets(out_dir=args.out, names=args.names or None, force=args.force)
    for path in paths:
        print(f"wrote {path}")
    return 0


def _exercises(args: argparse.Namespace) -> int:
    from course_utils.tools.exercises import write_exercises

    found = write_exercises()
    notebooks = sorted({e.notebook for e in found})
    print(f"wrote learner copies to exercises/: {len(found)} exercises, {len(notebooks)} notebooks")
    for exercise in found:
        print(f"  {exercise.notebook}  Exercise {exercise.number}: {exercise.task}")
    return 0


def _toc(args: argparse.Namespace) -> int:
    from course_utils.tools.toc import README, update_readme

    changed = update_readme()
    print(f"{'updated' if changed else 'already up to date:'} {README.name}")
    return 0


def _colab(args: argparse.Namespace) -> int:
    from course_utils.tools import colab
    from course_utils.tools.exercises import write_exercises
    from course_utils.tools.toc import update_readme

    changed = colab.update_notebooks(repo=args.repo)
    write_exercises()
    update_readme()
    repo = colab.repository()
    print(f"Colab badges and set-up cells point at github.com/{repo}")
    print(f"changed {len(changed)} notebooks; regenerated exercises/ and the README table")
    return 0


def _run_notebooks(args: argparse.Namespace) -> int:
    from course_utils.tools.runner import BUILD_DIR, format_table, run_notebooks

    # the kernels inherit this process's environment, and with it the thread policy
    print(f"thread settings: {describe()}")
    results = run_notebooks(
        build_dir=args.build_dir or BUILD_DIR, only=args.only, fast=args.fast, timeout=args.timeout
    )
    print(format_table(results))
    print(f"executed copies and HTML: {args.build_dir or BUILD_DIR}")
    return 0 if all(r.ok for r in results) else 1


#: ``train --batch-size`` per decoder where it differs from 32 (chapter 07's benchmarks:
#: in 10 CPU-minutes batch 8 beat batch 32 clearly, F1@0.05 78.8 against 62.5; chapter 08's:
#: batch 16 reached a lower validation AbsRel than 32 or 8)
DEFAULT_BATCH = {"projections": 8, "depth": 16}
#: ``train --train-views`` per decoder where it differs from 1 (chapter 08's benchmarks: four
#: views of each training shape overfit less than one; the held-out splits keep one view)
DEFAULT_TRAIN_VIEWS = {"depth": 4}


def _train(args: argparse.Namespace) -> int:
    import torch

    from course_utils.config import FAST, OUTPUT_DIR
    from course_utils.models import DECODERS, ModelConfig
    from course_utils.training import CHECKPOINT_NAME, TrainConfig, make_dataset, train

    if args.decoder not in (*DECODERS, "depth"):
        raise ValueError(
            f"unknown decoder {args.decoder!r}; choose one of {', '.join(DECODERS)}, depth"
        )
    out = args.out or (
        OUTPUT_DIR / "photo_to_3d" / "depth"
        if args.decoder == "depth"
        else OUTPUT_DIR / "single_view" / args.decoder
    )
    existing = out / CHECKPOINT_NAME
    if existing.exists() and not (args.resume or args.force):
        raise UsageError(
            f"{existing} already holds a trained model; add --resume to continue it, --force "
            "to start over (the old one is kept as *.bak), or choose another --out folder"
        )
    epochs = args.epochs
    if epochs is None:
        epochs = 1000 if args.minutes is not None else (2 if FAST else 20)
    num_shapes = args.num_shapes if args.num_shapes is not None else (40 if FAST else 2000)
    data = {
        "dataset": args.dataset,
        "num_shapes": num_shapes,
        "image_size": args.image_size,
        "seed": args.data_seed,
    }
    train_views = args.train_views or DEFAULT_TRAIN_VIEWS.get(args.decoder, 1)
    if train_views != 1:  # more views of the training shapes only (make_dataset)
        data["train_views_per_shape"] = train_views
    if args.decoder == "depth":  # chapter 08: the same renders, with their true depth
        data["targets"] = "depth"
    model = ModelConfig(
        decoder=args.decoder,
        encoder=args.encoder,
        weights_path=args.weights,
        input_size=args.input_size,
    )
    config = TrainConfig(
        model=model,
        epochs=epochs,
        batch_size=args.batch_size or DEFAULT_BATCH.get(args.decoder, 32),
        lr=args.lr,
        minutes=args.minutes,
        clock=args.clock,
        seed=args.seed,
        device=args.device,
        data=data,
    )
    train_data = make_dataset(data, "train")
    val_data = make_dataset(data, "val")
    # record the sizes the dataset resolved (its defaults depend on fast mode), so that
    # `evaluate` rebuilds exactly the same data
    params = getattr(train_data, "params", {})
    data["image_size"] = params.get("image_size", data["image_size"])
    if "points_per_shape" in params:
        data["points_per_shape"] = params["points_per_shape"]
    # Leave a core free by default, so a notebook beside the training job stays fast.
    threads = training_threads(args.threads)
    torch.set_num_threads(threads)
    print(
        f"training {args.decoder} on {len(train_data)} "
        + (f"views ({train_views} per shape)" if train_views != 1 else "shapes")
        + f" (val {len(val_data)}), "
        f"up to {epochs} epochs" + (
            f" or {args.minutes:g} {'CPU-' if args.clock == 'cpu' else ''}minutes"
            if args.minutes else ""
        )
        + f", {threads} thread{'s' if threads > 1 else ''}"
    )
    if args.force and existing.exists():
        backup = _backup_name(existing)
        os.replace(existing, backup)
        print(f"--force: the previous checkpoint is kept as {backup}")
    try:
        result = train(
            config, train_data, val_data, out_dir=out, resume=args.resume, progress=not args.quiet
        )
    except ImportError as error:  # e.g. --encoder resnet18 without torchvision
        raise ValueError(str(error)) from None
    except KeyboardInterrupt:
        print(
            f"\ninterrupted; the last finished epoch is in {out / CHECKPOINT_NAME} "
            "(continue with --resume)",
            file=sys.stderr,
        )
        return 130
    history = result.history
    if history["epoch"]:
        print(
            f"epochs {history['epoch'][-1]}, train loss {history['train_loss'][-1]:.4g}, "
            f"val loss {history['val_loss'][-1]:.4g}, {history['seconds'][-1]:.0f} s "
            f"({result.stopped})"
        )
    if result.checkpoint is None or not Path(result.checkpoint).is_file():
        print(f"error: no checkpoint was written to {out} ({result.stopped})", file=sys.stderr)
        return 1
    print(f"checkpoint: {result.checkpoint}")
    print(f"evaluate it: python -m course_utils evaluate {result.checkpoint}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from course_utils.evaluation import evaluate_checkpoint
    from course_utils.training import CHECKPOINT_NAME, load_checkpoint, make_dataset

    path = Path(args.checkpoint)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    state = load_checkpoint(path)  # a clear error for a missing or broken file
    config = state.get("config")
    if not isinstance(config, dict) or not isinstance(config.get("data") or {}, dict):
        raise ValueError(
            f"{path} is not a checkpoint written by `train`: its 'config' is not a mapping "
            "with the run's settings"
        )
    data = dict(config.get("data") or {})
    if args.num_shapes is not None:
        data["num_shapes"] = args.num_shapes
    if not data:
        raise ValueError(f"{path} does not say which dataset it was trained on")
    if state["config"]["model"].get("decoder") == "depth":  # chapter 08's depth network
        from course_utils.depth import evaluate_depth
        from course_utils.training import load_model

        scores = evaluate_depth(load_model(path)[0], make_dataset(data, args.split))
        print(", ".join(f"{name} {value:.4f}" for name, value in scores.items()))
        return 0
    test_data = make_dataset(data, args.split)
    train_data = None if args.no_baselines else make_dataset(data, "train")
    report = evaluate_checkpoint(
        path,
        test_data,
        train_data,
        out_dir=args.out,
        baselines=not args.no_baselines,
        progress=not args.quiet,
        figures=not args.no_figures,
    )
    print(f"{args.split} split: {len(test_data)} shapes, checkpoint after {state['epoch']} epochs")
    print(report["table"])
    print()
    print("F1@0.05 (%) per category:")
    print(report["category_table"])
    print("wrote " + ", ".join(str(f) for f in report["files"]))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m course_utils", description="Tools for the Learning 3D Vision course."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    doctor = commands.add_parser("doctor", help="check this machine for the course")
    doctor.set_defaults(run=_doctor)

    assets = commands.add_parser(
        "assets", help="regenerate the course data (meshes, RGB-D views) in data/"
    )
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
    run.add_argument(
        "--timeout", type=int_in_range(1), default=3600, help="seconds one cell may take"
    )
    run.set_defaults(run=_run_notebooks)

    train = commands.add_parser(
        "train", help="train a single-view 3D reconstruction model (chapter 05)"
    )
    train.add_argument(
        "--decoder",
        required=True,
        type=decoder_name,
        metavar="NAME",
        help="voxels-mlp, voxels-conv, points, mesh, implicit (05), projections (07), depth (08)",
    )
    train.add_argument(
        "--epochs",
        type=int_in_range(1, 1_000_000),
        default=None,
        help="epochs (default 20; 2 in fast mode; 1000 with --minutes)",
    )
    train.add_argument(
        "--minutes", type=positive_float, default=None, help="time budget in minutes (> 0)"
    )
    train.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="what --minutes counts: wall-clock time, or this process's CPU time (fair on a "
        "machine shared with other jobs)",
    )
    train.add_argument(
        "--num-shapes",
        type=int_in_range(10, 1_000_000),
        default=None,
        help="shapes in the dataset, all splits, at least 10 (default 2000; 40 in fast mode)",
    )
    train.add_argument(
        "--image-size",
        type=int_in_range(8, 1024),
        default=None,
        help="rendered image size (default 128; 64 in fast mode)",
    )
    train.add_argument(
        "--train-views",
        type=int_in_range(1, 64),
        default=None,
        help="rendered views of each training shape (default 4 for depth, else 1; the "
        "validation and test shapes keep one view each)",
    )
    train.add_argument(
        "--input-size",
        type=int_in_range(1, 1024),
        default=64,
        help="the encoder resizes images to this size (default 64)",
    )
    train.add_argument(
        "--out",
        type=Path,
        default=None,
        help="checkpoint folder (default outputs/single_view/DECODER)",
    )
    again = train.add_mutually_exclusive_group()
    again.add_argument(
        "--resume", action="store_true", help="continue from the checkpoint in --out"
    )
    again.add_argument(
        "--force",
        action="store_true",
        help="start over although --out holds a checkpoint (it is kept as last.pt.bak)",
    )
    train.add_argument("--seed", type=int_in_range(0, 2**32 - 1), default=0, help="seed")
    train.add_argument(
        "--batch-size", type=int_in_range(1, 65_536), default=None,
        help="shapes per step (default 32; 8 for projections and 16 for depth: more, smaller "
        "steps learn more in the same minutes)",
    )  # fmt: skip
    train.add_argument("--lr", type=positive_float, default=1e-3, help="learning rate (> 0)")
    train.add_argument(
        "--encoder", default="conv", choices=("conv", "resnet18"), help="conv (default) or resnet18"
    )
    train.add_argument("--weights", default=None, help="local ResNet-18 weights (.pth)")
    train.add_argument(
        "--device",
        type=available_device,
        default=None,
        help="cpu, cuda, cuda:N or mps, if present (default: the fastest)",
    )
    train.add_argument(
        "--dataset", default="course", choices=("course", "toy"), help="course (default) or toy"
    )
    seed = int_in_range(0, 2**32 - 1)  # what numpy's seed accepts
    train.add_argument("--data-seed", type=seed, default=0, help="dataset seed")
    train.add_argument(
        "--threads",
        type=int_in_range(1, 1024),
        default=None,
        help="CPU threads (default: one fewer than the cores, so a notebook beside it stays fast)",
    )
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.set_defaults(run=_train)

    evaluate = commands.add_parser(
        "evaluate", help="evaluate a checkpoint: F1@tau, Chamfer, IoU and baselines"
    )
    evaluate.add_argument("checkpoint", help="a last.pt written by train (or its folder)")
    evaluate.add_argument("--split", default="test", choices=("train", "val", "test"))
    evaluate.add_argument(
        "--out",
        type=Path,
        default=None,
        help="where metrics.json/.csv and figures go (default: next to it)",
    )
    evaluate.add_argument(
        "--num-shapes",
        type=int_in_range(10, 1_000_000),
        default=None,
        help="override the dataset size stored in the checkpoint",
    )
    evaluate.add_argument(
        "--no-baselines", action="store_true", help="skip the mean-shape and retrieval baselines"
    )
    evaluate.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    evaluate.add_argument("--quiet", action="store_true", help="no progress bars")
    evaluate.set_defaults(run=_evaluate)

    reconstruct = commands.add_parser(
        "reconstruct", help="one photo -> a mesh (.ply/.obj) or voxels (.vox) (chapter 08)"
    )
    reconstruct.add_argument("image", type=_existing_file, help="the photo (PNG, JPEG ...)")
    reconstruct.add_argument("--method", required=True, choices=("depth", "voxels"))
    reconstruct.add_argument(
        "--out", required=True, type=_output_file, help="FILE.ply or .obj (depth), .vox (voxels)"
    )
    reconstruct.add_argument(
        "--checkpoint", default=None, help="the trained model (default: train's default --out)"
    )
    reconstruct.add_argument(
        "--poisson", default="builtin", choices=("builtin", "open3d"), help="surface solver"
    )
    reconstruct.add_argument(
        "--elevation", type=float, default=None, metavar="DEG",
        help="degrees the camera looked down on the object (depth method; default 25)",
    )  # fmt: skip
    reconstruct.add_argument("--force", action="store_true", help="replace an existing --out")
    reconstruct.add_argument("--quiet", action="store_true", help="no progress bar")
    reconstruct.set_defaults(run=_reconstruct)
    return parser


def _existing_file(value: str) -> Path:
    """argparse type: a path that exists and is a file (else exit 2 with one line)."""
    path = Path(value)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"no file at {value}")
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{value} is not a file")
    return path


def _output_file(value: str) -> Path:
    """argparse type: an output file ending in .ply, .obj or .vox."""
    path = Path(value)
    if path.suffix.lower() not in (".ply", ".obj", ".vox"):
        raise argparse.ArgumentTypeError(
            f"{value}: the output must end in .ply or .obj (mesh) or .vox (voxels)"
        )
    return path


def _reconstruct(args: argparse.Namespace) -> int:
    from course_utils.photo3d import reconstruct_file

    result = reconstruct_file(
        args.image, args.method, args.out, checkpoint=args.checkpoint, force=args.force,
        poisson=args.poisson, progress=not args.quiet, elevation=args.elevation,
    )  # fmt: skip
    for note in result["notes"]:
        print(f"note: {note}")
    print(f"wrote {result['out']}: {result['summary']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run a command; errors a user can fix are printed as one line.

    Exit codes: 0 done; 2 the command line cannot work (a bad argument value, or ``train``
    into a folder holding a checkpoint without ``--resume``/``--force``); 1 a file or
    the run failed (missing or corrupt checkpoint, existing files, a FAIL in ``doctor``).
    """
    parser = build_parser()
    args = parser.parse_args(argv)  # bad values: one line and SystemExit(2)
    try:
        return args.run(args)
    except UsageError as error:
        print(f"{parser.prog} {args.command}: error: {error}", file=sys.stderr)
        return 2
    except (FileExistsError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
