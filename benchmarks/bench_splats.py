"""Chapter 10 targets: Gaussian rasterizer speed and splat fitting quality against time.

Measures, in one run on this machine:

1. forward render of 100k Gaussians at 256² (target <= 1 s) and forward + backward
   (target <= 3 s): random Gaussians in the unit ball, sizes like those of a fitted scene,
   seen by a 45° camera at distance 2.7; median of ``--repeats``;
2. held-out PSNR of a splat fit to chapter 09's mug scene (60 views at 128², 10 held out)
   after ``--fit-seconds`` of training (target >= 30 dB within 5 CPU-minutes), with the
   budget counted in this process's CPU time (``time.process_time``), so that other jobs
   on a shared machine do not eat into it;
3. unless ``--skip-fields``: chapter 09's grid field and MLP NeRF with the same CPU-time
   budget on the same views, for the PSNR-against-time ratios.

    python benchmarks/bench_splats.py                      # everything (~20 CPU-minutes)
    python benchmarks/bench_splats.py --fit-seconds 60 --fit splats   # a quick look
    python benchmarks/bench_splats.py --skip-render --fit nerf        # one fit only

The three fits are independent: on a shared machine run them as three processes
(``--skip-render --fit splats`` etc.); each counts only its own CPU time.

One thread (``torch.set_num_threads(1)``) unless ``--threads``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def random_gaussians(count: int, seed: int = 0):
    from course_utils.splats import Gaussians

    gen = torch.Generator().manual_seed(seed)
    direction = torch.randn(count, 3, generator=gen)
    radius = torch.rand(count, 1, generator=gen) ** (1 / 3)
    means = direction / direction.norm(dim=1, keepdim=True) * radius
    g = Gaussians.from_points(means, torch.rand(count, 3, generator=gen), 0.01, 0.5, sh_degree=1)
    g.log_scales = torch.log(0.004 + 0.012 * torch.rand(count, 3, generator=gen))
    g.quats = torch.randn(count, 4, generator=gen)
    g.sh[:, 1:] = 0.1 * torch.randn(count, 3, 3, generator=gen)
    return g


def median_seconds(fn, repeats: int, clock=time.perf_counter) -> float:
    """Median time of ``fn`` after a warm-up call, by ``clock`` (wall, or this process's CPU
    time: with one thread the CPU time is what an idle machine's wall time would be)."""
    fn()
    times = []
    for _ in range(repeats):
        start = clock()
        fn()
        times.append(clock() - start)
    return statistics.median(times)


def bench_render(count: int, size: int, repeats: int) -> dict:
    from course_utils.p3d import renderer
    from course_utils.splats import rasterize as rast
    from course_utils.splats import render_gaussians

    g = random_gaussians(count)
    R, T = renderer.look_at_view_transform(2.7, 20.0, 30.0)
    cam = renderer.FoVPerspectiveCameras(R=R, T=T, fov=45.0)
    with torch.no_grad():
        proj = rast.project_gaussians(g, cam, (size, size))
        plan, _ = rast._plan(proj, size, size, rast.CHUNK_PAIRS)
        pairs = int((plan.cols * plan.rows).sum())

    def forward():
        with torch.no_grad():
            render_gaussians(g, cam, size)

    g.requires_grad_()

    def forward_backward():
        out = render_gaussians(g, cam, size)
        (out.images.sum() + out.alphas.sum()).backward()
        for t in g.parameters():
            t.grad = None

    return {
        "gaussians": count, "size": size, "candidate_pairs": pairs,
        "forward_wall_s": median_seconds(forward, repeats),
        "forward_cpu_s": median_seconds(forward, repeats, time.process_time),
        "forward_backward_wall_s": median_seconds(forward_backward, repeats),
        "forward_backward_cpu_s": median_seconds(forward_backward, repeats, time.process_time),
    }  # fmt: skip


def bench_fit(seconds: float, methods: list[str]) -> dict:
    from course_utils.scene_views import make_scene_views
    from course_utils.splats.fit import fit_gaussians

    views = make_scene_views("mug", num_views=60, image_size=128, num_test=10)
    result: dict = {}
    if "splats" not in methods:
        return _bench_fields(views, seconds, methods, result)
    wall, cpu = time.perf_counter(), time.process_time()
    fit = fit_gaussians(views, seconds=seconds, eval_every=seconds / 5, clock="cpu", progress=False)
    result["splats"] = {
        "history_cpu_s_psnr": fit.history,
        "steps": fit.steps,
        "gaussians": len(fit.gaussians),
        "wall_s_including_evaluation": time.perf_counter() - wall,
        "cpu_s_including_evaluation": time.process_time() - cpu,
        "load_average_1_5_15_min_at_end": os.getloadavg(),
    }
    return _bench_fields(views, seconds, methods, result)


def _bench_fields(views, seconds: float, methods: list[str], result: dict) -> dict:
    from course_utils import radiance_fields

    trainers = {"grid": radiance_fields.train_grid_field, "nerf": radiance_fields.train_nerf}
    for name in methods:
        if name in trainers:
            _, history = trainers[name](
                views, seconds, eval_every=seconds / 5, progress=False, clock="cpu"
            )
            result[name] = {"history_cpu_s_psnr": history}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fit-seconds", type=float, default=300.0)
    parser.add_argument(
        "--fit", nargs="*", default=["splats", "grid", "nerf"], choices=["splats", "grid", "nerf"],
        help="which fits to run (none: only the render timings)",
    )  # fmt: skip
    parser.add_argument("--skip-render", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if args.fit_seconds <= 0 or args.repeats < 1 or args.threads < 1:
        parser.error("--fit-seconds, --repeats and --threads must be positive")
    torch.set_num_threads(args.threads)
    matmul = torch.randn(1024, 1024)
    report = {
        "threads": args.threads,
        "matmul_1024_wall_s": median_seconds(lambda: matmul @ matmul, 5),
        "matmul_1024_cpu_s": median_seconds(lambda: matmul @ matmul, 5, time.process_time),
    }
    if not args.skip_render:
        report["render"] = bench_render(100_000, 256, args.repeats)
        print(json.dumps(report, indent=1), flush=True)
    if args.fit:
        report["fit"] = bench_fit(args.fit_seconds, args.fit)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
