"""Chapter 09 targets: voxel-grid radiance field against NeRF, held-out PSNR vs wall time.

Both fields are trained, one after the other in the same process, on the same cached
multi-view renders of the mug (``scene_views.make_scene_views``: 60 views at 128², 10
held out), with the trainers of ``course_utils.radiance_fields`` and their defaults. Each
trainer records ``(training seconds, held-out PSNR on 3 held-out views)`` every
budget/``--evals`` seconds and, to resolve early times, at 2 s x 1.25^k (evaluation time
is not counted; every evaluation is printed as it happens, with the process's CPU and wall
time and the load). This script reports, per field, the first time it reached 25 and
28 dB, its final PSNR on all held-out views, and the ratio of the times to 25 dB.
``--grid-seconds 0`` or ``--nerf-seconds 0`` leaves a field out.

    python benchmarks/bench_radiance_fields.py                       # 3 + 15 minutes
    python benchmarks/bench_radiance_fields.py --nerf-seconds 300    # shorter NeRF run
    python benchmarks/bench_radiance_fields.py --json results.json
    python benchmarks/bench_radiance_fields.py --clock cpu   # budgets in CPU seconds
    nice -n 10 python benchmarks/bench_radiance_fields.py --clock cpu --nerf-seconds 0

Targets (issue "Chapter 09"): grid ≥ 28 dB in ≤ 180 s; NeRF ≥ 25 dB in ≤ 900 s; the grid
reaches 25 dB at least 10x sooner. Run on an idle machine: with ``--clock wall`` other
jobs on the cores slow both fields down (the load average is printed); ``--clock cpu``
counts only this process's CPU seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def first_time_at(history: list[tuple[float, float]], level: float) -> float | None:
    """Training seconds of the first evaluation at or above ``level`` dB (None: never)."""
    for seconds, value in history:
        if value >= level:
            return seconds
    return None


def eval_times(budget: float, first: float = 2.0, factor: float = 1.25) -> list[float]:
    """Training times for extra evaluations: ``first * factor**k`` below ``budget``, so the
    time a level is first reached is known to within ``factor`` early on as well."""
    times, t = [], first
    while t < budget:
        times.append(round(t, 2))
        t *= factor
    return times


def log(name: str):
    """Print every evaluation at once, with this process's CPU and wall time (a long run
    that is stopped early still leaves its curve in the log)."""
    start_wall = time.perf_counter()

    def on_eval(seconds: float, value: float) -> None:
        print(
            f"{name} eval: {seconds:.1f} s trained, {value:.2f} dB; process CPU "
            f"{time.process_time():.0f} s, wall {time.perf_counter() - start_wall:.0f} s, "
            f"load {os.getloadavg()[0]:.1f}",
            flush=True,
        )

    return on_eval


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid-seconds", type=float, default=180.0)
    parser.add_argument("--nerf-seconds", type=float, default=900.0)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--num-views", type=int, default=60)
    parser.add_argument("--evals", type=int, default=12, help="evaluations per run")
    parser.add_argument(
        "--eval-views", type=int, default=3,
        help="held-out views in the periodic evaluations (all of them at the end)",
    )  # fmt: skip
    parser.add_argument(
        "--clock", choices=("wall", "cpu"), default="wall",
        help="budgets and times in wall seconds, or in CPU seconds of this process (fair "
        "on a shared machine; with one thread, CPU seconds = single-core seconds)",
    )  # fmt: skip
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    if args.grid_seconds < 0 or args.nerf_seconds < 0 or args.grid_seconds + args.nerf_seconds <= 0:
        parser.error("--grid-seconds and --nerf-seconds must be >= 0, one of them > 0")

    import torch

    from course_utils import radiance_fields, scene_views

    torch.manual_seed(0)
    views = scene_views.make_scene_views(
        "mug", num_views=args.num_views, image_size=args.image_size
    )
    subset = views.test[: args.eval_views]
    results: dict = {
        "image_size": args.image_size, "train_views": len(views.train),
        "test_views": len(views.test), "torch_threads": torch.get_num_threads(),
        "load_average_start": os.getloadavg(), "clock": args.clock,
    }  # fmt: skip
    runs = []
    if args.grid_seconds > 0:
        runs.append(("grid", radiance_fields.train_grid_field, args.grid_seconds))
    if args.nerf_seconds > 0:
        runs.append(("nerf", radiance_fields.train_nerf, args.nerf_seconds))
    for name, train, seconds in runs:
        start = time.perf_counter()
        every = seconds / args.evals
        field, history = train(
            views, seconds, eval_every=every, eval_views=subset, progress=False, clock=args.clock,
            eval_at=eval_times(seconds), on_eval=log(name),
        )  # fmt: skip
        final = radiance_fields.held_out_psnr(field, views)
        results[name] = {
            "budget_s": seconds, "history": history, "final_psnr_all_test": final,
            "t25_s": first_time_at(history, 25.0), "t28_s": first_time_at(history, 28.0),
            "wall_s": time.perf_counter() - start, "load_average_after": os.getloadavg(),
            "parameters": sum(p.numel() for p in field.parameters()),
        }  # fmt: skip
        if args.json is not None:  # after every run: a long run's first part is kept
            from course_utils.atomic import write_text_atomic

            write_text_atomic(args.json, json.dumps(results, indent=2))
        rounded = [(round(s, 1), round(p, 2)) for s, p in history]
        print(
            f"{name}: final held-out PSNR {final:.2f} dB; 25 dB at {results[name]['t25_s']} s; "
            f"28 dB at {results[name]['t28_s']} s; history {rounded}",
            flush=True,
        )
    results["load_average_end"] = os.getloadavg()
    if "nerf" in results and "grid" in results:
        g, n = results["grid"]["t25_s"], results["nerf"]["t25_s"]
        results["ratio_t25_nerf_over_grid"] = (n / g) if (g and n) else None
        print(f"time to 25 dB, NeRF / grid: {results['ratio_t25_nerf_over_grid']}")
    print(f"load average: start {results['load_average_start']}, end {results['load_average_end']}")
    if args.json is not None:
        from course_utils.atomic import write_text_atomic

        write_text_atomic(args.json, json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
