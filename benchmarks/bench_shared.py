"""Speed on a shared laptop: the built-in backend timed idle and beside a training job.

The README tells learners to start chapter 05's training early with
``python -m course_utils train`` and keep working in the notebooks. This script measures
what that does to the notebooks' speed, in one run: four workloads a notebook calls
(a 512² hard render of the ~6k-face mug, a soft-silhouette forward + backward, ``knn_points``
and ``chamfer_distance`` on 10k × 10k points) are timed in a fresh process (median of 5
after a warm-up), first on the idle machine, then while one full-size
``train --decoder points`` job runs, under four thread settings:

* ``before``  — OpenMP's default waiting (threads spin) and a training job on every core;
* ``passive`` — ``OMP_WAIT_POLICY=PASSIVE`` for both, the training job still on every core;
* ``course``  — the course's policy (``course_utils/threads.py``): passive waiting and a
  training job that leaves one core free (the ``train`` command's default);
* ``short-spin`` — the alternative measured against it: GNU OpenMP's spinning cut to 10,000
  turns (``GOMP_SPINCOUNT``), one core left free.

It prints, per workload and setting, the idle time, the busy time and their ratio (the
target is at most 2.5× slower with the course's policy). Each setting starts its own
training job, and the timings start once the job is training (its dataset is ready).

    python benchmarks/bench_shared.py            # about 5 minutes on a 2-core machine
    python benchmarks/bench_shared.py --quick    # one setting pair (before, course)

Run it on an otherwise idle machine: other jobs on the cores change both columns.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

WORKLOADS = {
    "render 512², ~6k faces": ("bench_render", "hard raster, ~6k faces, 512²"),
    "soft silhouette fwd+bwd": (
        "bench_render",
        "soft silhouette fwd+bwd, ico_sphere(4), 128², K=50",
    ),
    "knn_points 10k x 10k": ("bench_ops", "knn_points 10k x 10k, K=1"),
    "chamfer fwd+bwd 10k x 10k": ("bench_ops", "chamfer fwd+bwd 10k x 10k"),
}

#: name -> (environment of the notebook process and the training job, training threads).
#: "before" sets the variable empty: OpenMP then waits its default way (spinning; GNU OpenMP
#: warns that the value is invalid), and the course's policy, which only fills in unset
#: variables, leaves it alone.
SETTINGS: dict[str, tuple[dict[str, str | None], str | None]] = {
    "before": ({"OMP_WAIT_POLICY": ""}, "all"),
    "passive": ({"OMP_WAIT_POLICY": "PASSIVE"}, "all"),
    "course": ({"OMP_WAIT_POLICY": "PASSIVE"}, None),
    # an alternative for GNU OpenMP only: spin 10,000 times (microseconds), then sleep
    "short-spin": ({"OMP_WAIT_POLICY": "", "GOMP_SPINCOUNT": "10000"}, None),
}


def child(repeats: int) -> None:
    """Time the workloads in this process and print them as JSON (run by :func:`measure`)."""
    # what OpenMP sees: read before torch (imported by the benchmarks) starts it
    policy = os.environ.get("OMP_WAIT_POLICY") or "unset (default: spin, then sleep)"
    import bench_ops
    import bench_render

    modules = {"bench_ops": bench_ops.workloads("torch"), "bench_render": None}
    modules["bench_render"] = bench_render.workloads("torch", None)
    results = {}
    for name, (module, key) in WORKLOADS.items():
        results[name] = bench_render.median_seconds(modules[module][key], repeats)
    import torch

    threads = f"torch {torch.get_num_threads()} threads, OMP_WAIT_POLICY {policy}"
    print(json.dumps({"seconds": results, "threads": threads}))


def environment(overrides: dict[str, str | None]) -> dict[str, str]:
    """This process's environment with ``overrides`` applied (``None`` removes a name)."""
    env = dict(os.environ)
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def measure(env: dict[str, str], repeats: int) -> dict:
    """Run :func:`child` in a fresh process (so OpenMP starts with ``env``)."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", "--repeats", str(repeats)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def start_training(env: dict[str, str], threads: str | None, out_dir: Path) -> subprocess.Popen:
    """Start a full-size ``train --decoder points`` job; return once it is training."""
    command = [sys.executable, "-m", "course_utils", "train", "--decoder", "points"]
    command += ["--minutes", "60", "--out", str(out_dir), "--quiet"]
    if threads == "all":
        command += ["--threads", str(os.cpu_count() or 1)]
    env = dict(env, COURSE_FAST="0")
    log = open(out_dir.with_suffix(".log"), "w")  # noqa: SIM115 - closed with the job
    job = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    job.log = log  # type: ignore[attr-defined]
    deadline = time.time() + 600
    while time.time() < deadline:  # the dataset is generated (or read) first
        text = out_dir.with_suffix(".log").read_text()
        if "training points" in text:
            time.sleep(10)  # past the first batches
            return job
        if job.poll() is not None:
            raise RuntimeError(f"the training job stopped:\n{text}")
        time.sleep(1)
    raise RuntimeError("the training job did not start training within 10 minutes")


def threads_text(threads: str | None) -> str:
    return "every core" if threads == "all" else "one core left free (the default)"


def stop(job: subprocess.Popen) -> None:
    job.terminate()
    job.wait(timeout=60)
    job.log.close()  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="only the before/course settings")
    args = parser.parse_args()
    if args.child:
        child(args.repeats)
        return
    names = ["before", "course"] if args.quick else list(SETTINGS)
    table = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            overrides, threads = SETTINGS[name]
            env = environment(overrides)
            idle = measure(env, args.repeats)
            job = start_training(env, threads, Path(tmp) / f"train_{name}")
            try:
                busy = measure(env, args.repeats)
            finally:
                stop(job)
            table[name] = (idle, busy)
            job_text = threads_text(threads)
            print(f"{name}: notebook {busy['threads']}; training job: {job_text}", flush=True)
    print()
    header = "| workload | " + " | ".join(
        f"{n} idle (s) | {n} busy (s) | {n} busy/idle" for n in names
    )
    print(header + " |")
    print("|---" * (1 + 3 * len(names)) + "|")
    for workload in WORKLOADS:
        cells = []
        for name in names:
            idle, busy = (table[name][0]["seconds"][workload], table[name][1]["seconds"][workload])
            cells += [f"{idle:.3f}", f"{busy:.3f}", f"{busy / idle:.1f}×"]
        print(f"| {workload} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
