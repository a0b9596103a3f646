"""Speed and memory of the built-in nearest-neighbour ops and chamfer, against PyTorch3D.

Runs the workloads of PyTorch3D's recorded CPU timings (see ``benchmarks/README.md``):
``knn_points`` 10k x 10k (K=1), ``chamfer_distance`` forward + backward 10k x 10k and
``knn_points`` on a batch of 4 clouds of 1k points, and prints for each the built-in
backend's median time, the time in units of a 1024 x 1024 float32 matmul measured in the
same run, PyTorch3D's recorded time and the speed-up. When real PyTorch3D is installed it
is timed side by side. Finally a fresh process runs ``knn_points`` on 100k x 100k points
and reports its peak memory (a dense distance matrix would need 40 GB).

    python benchmarks/bench_ops.py            # about half a minute
    python benchmarks/bench_ops.py --quick    # fewer repeats
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

#: PyTorch3D 0.7.9 on a 2-core CPU machine (median of 3; see benchmarks/README.md).
PYTORCH3D_SECONDS = {
    "knn_points 10k x 10k, K=1": 0.23,
    "chamfer fwd+bwd 10k x 10k": 0.465,
    "knn_points batch 4, 1k x 1k, K=1": 0.0097,
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


def workloads(backend: str) -> dict[str, Callable[[], object]]:
    """The benchmark workloads for ``backend`` (``"torch"`` or ``"pytorch3d"``)."""
    prefix = "pytorch3d" if backend == "pytorch3d" else "course_utils.p3d.builtin"
    ops = importlib.import_module(f"{prefix}.ops")
    loss = importlib.import_module(f"{prefix}.loss")
    g = torch.Generator().manual_seed(0)
    p1, p2 = torch.randn(1, 10_000, 3, generator=g), torch.randn(1, 10_000, 3, generator=g)
    b1, b2 = torch.randn(4, 1_000, 3, generator=g), torch.randn(4, 1_000, 3, generator=g)

    def chamfer_step() -> None:
        x = p1.clone().requires_grad_(True)
        y = p2.clone().requires_grad_(True)
        value, _ = loss.chamfer_distance(x, y)
        value.backward()

    return {
        "knn_points 10k x 10k, K=1": lambda: ops.knn_points(p1, p2, K=1),
        "chamfer fwd+bwd 10k x 10k": chamfer_step,
        "knn_points batch 4, 1k x 1k, K=1": lambda: ops.knn_points(b1, b2, K=1),
    }


PEAK_MEMORY_SCRIPT = """
import resource, sys, time, torch
sys.path.insert(0, {repo!r})
from course_utils.p3d.builtin import ops
g = torch.Generator().manual_seed(0)
p1 = torch.randn(1, 100_000, 3, generator=g)
p2 = torch.randn(1, 100_000, 3, generator=g)
ops.knn_points(p1[:, :10], p2[:, :10])  # load everything first
def resident_mb():
    try:  # current resident memory (Linux); the peak so far elsewhere
        with open("/proc/self/status") as status:
            line = next(line for line in status if line.startswith("VmRSS:"))
        return float(line.split()[1]) / 1024
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
before = resident_mb()
start = time.perf_counter()
out = ops.knn_points(p1, p2, K=1)
seconds = time.perf_counter() - start
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(before, after, seconds)
"""


def peak_memory() -> tuple[float, float, float]:
    """``(MB before, MB peak, seconds)``: resident memory of a fresh process just before
    ``knn_points`` on 100k x 100k points (K=1), its peak resident memory after the call
    (which includes importing torch), and the time of the call."""
    result = subprocess.run(
        [sys.executable, "-c", PEAK_MEMORY_SCRIPT.format(repo=str(REPO))],
        capture_output=True,
        text=True,
        check=True,
    )
    before, after, seconds = (float(v) for v in result.stdout.split())
    return before, after, seconds


def matmul_seconds(repeats: int) -> float:
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    return median_seconds(lambda: a @ b, repeats * 4)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats instead of 9")
    parser.add_argument("--no-memory", action="store_true", help="skip the 100k x 100k run")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else 9
    unit = matmul_seconds(repeats)
    threads = torch.get_num_threads()
    print(f"torch {torch.__version__}, {threads} threads, 1024² matmul = {unit * 1e3:.1f} ms")
    ours = {name: median_seconds(fn, repeats) for name, fn in workloads("torch").items()}
    real = None
    try:
        importlib.import_module("pytorch3d._C")
        real = {name: median_seconds(fn, repeats) for name, fn in workloads("pytorch3d").items()}
    except ImportError:
        pass

    header = (
        f"{'workload':<34} {'built-in s':>10} {'matmuls':>8} {'PyTorch3D s':>11} {'speed-up':>8}"
    )
    if real:
        header += f" {'measured PyTorch3D s':>21} {'measured speed-up':>18}"
    print(header)
    for name, seconds in ours.items():
        line = (
            f"{name:<34} {seconds:>10.4f} {seconds / unit:>8.1f} "
            f"{PYTORCH3D_SECONDS[name]:>11.4f} {PYTORCH3D_SECONDS[name] / seconds:>7.1f}x"
        )
        if real:
            line += f" {real[name]:>21.4f} {real[name] / seconds:>17.1f}x"
        print(line)
    if not args.no_memory:
        before, after, seconds = peak_memory()
        print(
            f"knn_points 100k x 100k, K=1: {seconds:.1f} s; peak memory of the whole process "
            f"{after:.0f} MB ({before:.0f} MB resident just before the call; a dense "
            "distance matrix would need 40,000 MB)"
        )


if __name__ == "__main__":
    os.environ.setdefault("COURSE_BACKEND", "torch")
    main()
