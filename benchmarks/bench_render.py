"""Rendering speed of the course's built-in PyTorch3D implementation, against PyTorch3D.

Runs the workloads of PyTorch3D's recorded CPU timings (see ``benchmarks/README.md``) and
prints, for each, the built-in backend's median time, PyTorch3D's recorded time, the
speed-up, and the time in units of a 1024 x 1024 float32 matmul measured in the same run
(a yardstick for comparing machines). When real PyTorch3D is installed it is timed side by
side and the measured ratio is printed too. It also measures the peak memory of a 512²
render of a 100k-face mesh and the time of a 36-frame turntable GIF.

    python benchmarks/bench_render.py            # everything (about a minute)
    python benchmarks/bench_render.py --quick    # fewer repeats

The ~6k-face mesh is the course's mug (6,432 faces; PyTorch3D's figures are for the
5,856-face cow, which the course does not ship). Pass ``--mesh path/to/cow.obj`` to time
the cow itself.
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

#: PyTorch3D 0.7.9 on a 2-core CPU machine (median of 3; see benchmarks/README.md).
PYTORCH3D_SECONDS = {
    "hard raster, ~6k faces, 256²": 0.98,
    "hard raster, ~6k faces, 512²": 4.1,
    "hard raster, ico_sphere(4), 512²": 3.3,
    "hard raster, ico_sphere(5), 512²": 12.8,
    "Phong render, ~6k faces, 512²": 3.75,
    "soft silhouette fwd+bwd, ico_sphere(4), 128², K=50": 4.65,
    "points, 20k, 256², K=8": 1.75,
}


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``fn`` after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def backend_modules(backend: str):
    """``(renderer, structures, utils, io)`` of one backend, imported directly."""
    if backend == "pytorch3d":
        return tuple(
            importlib.import_module(f"pytorch3d.{m}")
            for m in ("renderer", "structures", "utils", "io")
        )
    return tuple(
        importlib.import_module(f"course_utils.p3d.builtin.{m}")
        for m in ("renderer", "structures", "utils", "io")
    )


def workloads(backend: str, mesh_path: Path | None) -> dict[str, Callable[[], object]]:
    """The benchmark workloads for ``backend``, as zero-argument callables."""
    renderer, structures, utils, io = backend_modules(backend)
    if mesh_path is not None:
        mesh = io.load_objs_as_meshes([str(mesh_path)])
    else:
        from course_utils.assets import asset_path

        mesh = io.load_objs_as_meshes([str(asset_path("mug"))])
    R, T = renderer.look_at_view_transform(2.7, 10, 150)
    cameras = renderer.FoVPerspectiveCameras(R=R, T=T)

    def hard(m, size):
        rasterizer = renderer.MeshRasterizer(
            cameras=cameras, raster_settings=renderer.RasterizationSettings(image_size=size)
        )
        return lambda: rasterizer(m)

    phong = renderer.MeshRenderer(
        rasterizer=renderer.MeshRasterizer(
            cameras=cameras, raster_settings=renderer.RasterizationSettings(image_size=512)
        ),
        shader=renderer.HardPhongShader(
            cameras=cameras, lights=renderer.PointLights(location=((2.0, 2.0, -2.0),))
        ),
    )

    sphere = utils.ico_sphere(4)
    sigma = 1e-4
    soft = renderer.MeshRenderer(
        rasterizer=renderer.MeshRasterizer(
            cameras=cameras,
            raster_settings=renderer.RasterizationSettings(
                image_size=128, blur_radius=math.log(1.0 / 1e-4 - 1.0) * sigma, faces_per_pixel=50
            ),
        ),
        shader=renderer.SoftSilhouetteShader(blend_params=renderer.BlendParams(sigma=sigma)),
    )

    def soft_step():
        verts = sphere.verts_packed().clone().requires_grad_(True)
        image = soft(structures.Meshes(verts=[verts], faces=[sphere.faces_packed()]))
        image[..., 3].mean().backward()

    torch.manual_seed(0)
    points = structures.Pointclouds(
        points=[torch.randn(20000, 3) * 0.5], features=[torch.rand(20000, 3)]
    )
    point_renderer = renderer.PointsRenderer(
        rasterizer=renderer.PointsRasterizer(
            cameras=cameras,
            raster_settings=renderer.PointsRasterizationSettings(
                image_size=256, radius=0.01, points_per_pixel=8
            ),
        ),
        compositor=renderer.AlphaCompositor(),
    )
    return {
        "hard raster, ~6k faces, 256²": hard(mesh, 256),
        "hard raster, ~6k faces, 512²": hard(mesh, 512),
        "hard raster, ico_sphere(4), 512²": hard(utils.ico_sphere(4), 512),
        "hard raster, ico_sphere(5), 512²": hard(utils.ico_sphere(5), 512),
        "Phong render, ~6k faces, 512²": lambda: phong(mesh),
        "soft silhouette fwd+bwd, ico_sphere(4), 128², K=50": soft_step,
        "points, 20k, 256², K=8": lambda: point_renderer(points),
    }


PEAK_MEMORY_SCRIPT = """
import resource, sys, torch
sys.path.insert(0, {repo!r})
from course_utils.p3d.builtin import renderer, utils
mesh = utils.torus(0.3, 1.0, 200, 250)  # 100,000 faces
R, T = renderer.look_at_view_transform(2.7, 10, 150)
rasterizer = renderer.MeshRasterizer(
    cameras=renderer.FoVPerspectiveCameras(R=R, T=T),
    raster_settings=renderer.RasterizationSettings(image_size=512),
)
import gc
gc.collect()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
fragments = rasterizer(mesh)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(before / 1024, after / 1024)
"""


def peak_memory_mb() -> tuple[float, float]:
    """Peak resident memory (MB) of a fresh process before and after a 512² render of a
    100k-face mesh (the process holds torch and the mesh before the render starts)."""
    result = subprocess.run(
        [sys.executable, "-c", PEAK_MEMORY_SCRIPT.format(repo=str(REPO))],
        capture_output=True,
        text=True,
        check=True,
    )
    before, after = (float(v) for v in result.stdout.split())
    return before, after


def turntable_seconds() -> float:
    """Seconds to render a 36-frame 256² turntable of the mug and save it as a GIF."""
    from course_utils.assets import load_asset
    from course_utils.rendering import save_gif, turntable

    mesh = load_asset("mug")
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        frames = turntable(mesh, num_views=36, image_size=256)
        save_gif(frames, Path(folder) / "mug.gif", fps=12)
        return time.perf_counter() - start


def matmul_seconds(repeats: int) -> float:
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    return median_seconds(lambda: a @ b, repeats * 4)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats instead of 7")
    parser.add_argument(
        "--mesh", type=Path, default=None, help="an OBJ to use as the ~6k-face mesh"
    )
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else 7
    threads = torch.get_num_threads()
    unit = matmul_seconds(repeats)
    print(f"torch {torch.__version__}, {threads} threads, 1024² matmul = {unit * 1e3:.1f} ms")
    ours = {name: median_seconds(fn, repeats) for name, fn in workloads("torch", args.mesh).items()}
    real = None
    try:
        importlib.import_module("pytorch3d._C")
        real = {
            name: median_seconds(fn, max(1, repeats // 2))
            for name, fn in workloads("pytorch3d", args.mesh).items()
        }
    except ImportError:
        pass

    header = (
        f"{'workload':<52} {'built-in s':>10} {'matmuls':>8} {'PyTorch3D s':>11} {'speed-up':>8}"
    )
    if real:
        header += f" {'measured PyTorch3D s':>21} {'measured speed-up':>18}"
    print(header)
    for name, seconds in ours.items():
        line = (
            f"{name:<52} {seconds:>10.4f} {seconds / unit:>8.1f} "
            f"{PYTORCH3D_SECONDS[name]:>11.2f} {PYTORCH3D_SECONDS[name] / seconds:>7.0f}x"
        )
        if real:
            line += f" {real[name]:>21.3f} {real[name] / seconds:>17.0f}x"
        print(line)
    before, after = peak_memory_mb()
    print(
        f"peak memory of a process rendering a 100k-face mesh at 512²: {after:.0f} MB "
        f"({before:.0f} MB before the render: torch and the mesh)"
    )
    print(f"36-frame 256² turntable GIF of the mug: {turntable_seconds():.2f} s")


if __name__ == "__main__":
    os.environ.setdefault("COURSE_BACKEND", "torch")
    main()
