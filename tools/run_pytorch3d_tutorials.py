"""Run PyTorch3D's own tutorial notebooks on the course's built-in backend.

Usage (from the repository root)::

    python tools/run_pytorch3d_tutorials.py PATH_TO_PYTORCH3D_CHECKOUT [--quick N]
        [--tutorials fit_textured_mesh ...] [--images DIR] [--timeout SECONDS]

Runs the tutorials whose data ships inside a PyTorch3D clone (``docs/tutorials/data``:
the cow mesh, the teapot, the bundle-adjustment camera graph; ``docs/tutorials/utils``:
the plotting and cow-rendering helpers). Each runs in its own Jupyter kernel, in a
temporary folder holding copies of that data and of the helpers, with:

* a first cell that maps ``import pytorch3d.X`` onto ``course_utils.p3d.builtin.X``
  (:mod:`course_utils.p3d.alias`);
* the shell lines (``!pip install ...``, ``!wget ...``) turned into ``pass``: nothing is
  installed or downloaded;
* the one helper line that assumes a GPU (``.cuda()`` in ``camera_visualization.py``)
  moved to the cameras' device, as a CPU run with real PyTorch3D needs too;
* with ``--quick N``, every loop length the tutorial sets (``Niter = 2000``,
  ``n_iter = 300``, ``tqdm(range(200))``, ``n_frames=3*5``) and ``batch_size`` cut to at
  most N, so a check takes minutes and less memory (the NeRF tutorial's batch of 6
  views needs several GB on a CPU); without it the tutorials run as written (hours).

It prints one row per tutorial: ran to its end, or the cell and error it stopped at, the
kernel's CPU time, the wall time and the largest kernel's peak memory so far.
``--images DIR`` saves every image a tutorial shows (``DIR/<tutorial>_<cell>_<n>.png``)
so the renders can be looked at. The tutorials that
need data from the network (ShapeNet/R2N2, the dolphin and Pittsburgh point cloud
downloads, DensePose's SMPL model) and the Implicitron ones are listed, not run.
``scikit-image`` is only used by one tutorial, for ``img_as_ubyte``; when it is not
installed the first cell supplies that one function. Not part of the course's test
command: it needs PyTorch3D's source.
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

#: Tutorials whose data ships in the PyTorch3D checkout (docs/tutorials/data and utils).
OFFLINE = (
    "render_textured_meshes",
    "camera_position_optimization_with_differentiable_rendering",
    "fit_textured_mesh",
    "bundle_adjustment",
    "fit_textured_volume",
    "fit_simple_neural_radiance_field",
)

#: Tutorials not run, and why.
NOT_RUN = {
    "deform_source_mesh_to_target_mesh": "downloads dolphin.obj (dl.fbaipublicfiles.com)",
    "render_colored_points": "downloads PittsburghBridge/pointcloud.npz",
    "render_densepose": "needs DensePose's UV data and the SMPL model (licensed download)",
    "dataloaders_ShapeNetCore_R2N2": "needs the ShapeNetCore and R2N2 datasets (licensed)",
    "implicitron_config_system": "Implicitron is not part of the built-in backend",
    "implicitron_volumes": "Implicitron is not part of the built-in backend",
}

#: Lines of the tutorials' helper modules that assume a GPU, and their CPU-safe form (the
#: same fix is needed with real PyTorch3D on a CPU).
CPU_FIXES = {
    "camera_visualization.py": [
        ("get_camera_wireframe().cuda()[None]", "get_camera_wireframe().to(cameras.device)[None]")
    ],
}

#: Assignments of loop lengths that ``--quick`` shortens (``Niter = 2000`` ...).
_LOOP_LENGTH = re.compile(
    r"^(?P<head>\s*(?:Niter|n_iter|num_iter|n_iters|num_iters|n_frames|num_frames|batch_size)"
    r"\s*=\s*)"
    r"(?P<value>\d+)(?P<tail>.*)$"
)
#: ``n_frames=3*5`` keyword (or default) arguments: the rotating renders at the end.
_FRAMES_ARG = re.compile(r"\bn_frames\s*=\s*(\d+)(?:\s*\*\s*(\d+))?")
#: Terminal colour codes in kernel tracebacks.
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
#: ``tqdm(range(200))`` loops with a literal length.
_TQDM_RANGE = re.compile(r"tqdm\(range\((\d+)\)\)")

SETUP = """\
# Added by tools/run_pytorch3d_tutorials.py: PyTorch3D names from the course's backend.
import sys
import types

import torch

torch.set_num_threads(1)
from course_utils.p3d.alias import install

install()
try:
    import skimage  # noqa: F401
except ModuleNotFoundError:  # only img_as_ubyte is used (float [0, 1] image -> uint8)
    import numpy as np

    def img_as_ubyte(image):
        return (np.clip(np.asarray(image, dtype=np.float64), 0.0, 1.0) * 255 + 0.5).astype(
            np.uint8
        )

    sys.modules["skimage"] = types.SimpleNamespace(img_as_ubyte=img_as_ubyte)
"""


def rewrite_source(source: str, quick: int | None) -> str:
    """A code cell's source with shell lines disabled and (``quick``) loops shortened."""
    out = []
    for line in source.splitlines():
        stripped = line.lstrip()
        indent = line[: len(line) - len(stripped)]
        if stripped.startswith("!"):
            line = f"{indent}pass  # {stripped}"
        elif re.match(r"^[\w.]+\s*=\s*!", stripped):  # pip_list = !pip freeze
            name = stripped.split("=")[0].strip()
            line = f"{indent}{name} = []  # {stripped}"
        elif quick is not None:
            match = _LOOP_LENGTH.match(line)
            if match and int(match["value"]) > quick:
                line = f"{match['head']}{quick}{match['tail']}  # quick check"
            line = _TQDM_RANGE.sub(lambda m: f"tqdm(range({min(int(m[1]), quick)}))", line)
            line = _FRAMES_ARG.sub(
                lambda m: f"n_frames={min(int(m[1]) * int(m[2] or 1), quick)}", line
            )
        out.append(line)
    return "\n".join(out)


def prepare(notebook_path: Path, quick: int | None):
    """The tutorial as an ``nbformat`` notebook ready to run on the built-in backend."""
    import nbformat

    notebook = nbformat.read(notebook_path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.source = rewrite_source(cell.source, quick)
            cell.outputs = []
    notebook.cells.insert(0, nbformat.v4.new_code_cell(SETUP))
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return notebook


def stage(tutorials: Path, folder: Path) -> Path:
    """Lay out a tutorial's data and helpers in ``folder``; return the folder to run in.

    The notebooks read ``./data/...`` and import the helpers from their working folder;
    the helpers find the cow mesh at ``<helper folder>/../data``. So the tutorial runs in
    ``folder/run`` (holding ``data``, ``utils`` and the helpers), and ``folder/data``
    points at the same data. ``wget`` and ``curl`` on the ``PATH`` are stubs that fail:
    nothing is downloaded.
    """
    run = folder / "run"
    shutil.copytree(tutorials / "data", run / "data")
    (folder / "data").symlink_to(run / "data", target_is_directory=True)
    (run / "utils").mkdir()
    for helper in (tutorials / "utils").glob("*.py"):
        text = helper.read_text(encoding="utf-8")
        for old, new in CPU_FIXES.get(helper.name, []):
            text = text.replace(old, new)
        (run / "utils" / helper.name).write_text(text, encoding="utf-8")
        if helper.name != "__init__.py":  # the tutorials import them from the cwd too
            (run / helper.name).write_text(text, encoding="utf-8")
    stubs = folder / "no_downloads"
    stubs.mkdir()
    for tool in ("wget", "curl"):
        stub = stubs / tool
        stub.write_text(f"#!/bin/sh\necho '{tool}: no downloads in this check' >&2\nexit 1\n")
        stub.chmod(0o755)
    return run


def save_images(notebook, name: str, folder: Path) -> int:
    """Write every PNG a cell displayed to ``folder``; return how many."""
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for index, cell in enumerate(notebook.cells):
        for number, output in enumerate(cell.get("outputs", [])):
            data = output.get("data", {}) if isinstance(output, dict) else {}
            if "image/png" in data:
                target = folder / f"{name}_{index:02d}_{number}.png"
                tmp = target.with_suffix(".png.tmp")
                with open(tmp, "wb") as handle:
                    handle.write(base64.b64decode(data["image/png"]))
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, target)
                count += 1
    return count


def run_one(
    tutorials: Path, name: str, quick: int | None, timeout: int, images: Path | None
) -> dict[str, object]:
    """Run one tutorial; return its outcome, CPU and wall seconds."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    notebook = prepare(tutorials / f"{name}.ipynb", quick)
    result: dict[str, object] = {"name": name, "cells": len(notebook.cells) - 1}
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"p3d_{name[:20]}_") as tmp:
        run = stage(tutorials, Path(tmp))
        path = os.environ.get("PATH", "")
        os.environ["PATH"] = os.pathsep.join([str(Path(tmp) / "no_downloads"), path])
        client = NotebookClient(
            notebook,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(run)}},
        )
        try:
            client.execute()
            result["outcome"] = "ran to its end"
        except (CellExecutionError, CellTimeoutError) as error:
            failed = next(
                (
                    i
                    for i, cell in enumerate(notebook.cells)
                    if any(o.get("output_type") == "error" for o in cell.get("outputs", []))
                ),
                None,
            )
            lines = [ln for ln in str(error).splitlines() if ln.strip()]
            last = lines[-1] if lines else type(error).__name__
            where = f"cell {failed}" if failed is not None else "a cell"
            last = _ANSI.sub("", last)  # tracebacks come coloured
            result["outcome"] = f"stopped at {where}: {last}"
        except DeadKernelError:
            done = sum(1 for cell in notebook.cells if cell.get("outputs"))
            result["outcome"] = (
                f"kernel died after {done} cells with output (killed: out of memory?)"
            )
        finally:
            os.environ["PATH"] = path
        if images is not None:
            result["images"] = save_images(notebook, name, images)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result["cpu_s"] = (after.ru_utime - cpu_before.ru_utime) + (
        after.ru_stime - cpu_before.ru_stime
    )
    result["wall_s"] = time.perf_counter() - start
    # ru_maxrss of the children is the largest kernel so far (KiB on Linux).
    result["peak_mib"] = after.ru_maxrss / 1024
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path, help="path to a PyTorch3D clone")
    parser.add_argument("--tutorials", nargs="+", default=list(OFFLINE), help="which to run")
    parser.add_argument(
        "--quick", type=int, default=None, help="cut every loop the tutorials set to N steps"
    )
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    parser.add_argument("--images", type=Path, default=None, help="save shown images here")
    args = parser.parse_args(argv)

    tutorials = args.checkout / "docs" / "tutorials"
    if not (tutorials / "data").is_dir():
        parser.error(f"{args.checkout} is not a PyTorch3D checkout: no docs/tutorials/data")
    # The kernels import course_utils from this checkout and the helpers from their cwd.
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(REPO), os.environ.get("PYTHONPATH", "")]
    ).rstrip(os.pathsep)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ["COURSE_BACKEND"] = "torch"
    os.environ.pop("MPLBACKEND", None)  # the kernel's inline backend keeps the figures

    mode = "as written" if args.quick is None else f"quick: loops cut to {args.quick} steps"
    print(f"PyTorch3D tutorials on the built-in backend ({mode})\n")
    print(f"| {'tutorial':58} | result | kernel CPU s | wall s | peak MiB |")
    print(f"|{'-' * 60}|--------|-------------:|-------:|---------:|")
    finished = 0
    for name in args.tutorials:
        if name in NOT_RUN:
            print(f"| {name:58} | not run: {NOT_RUN[name]} | | | |")
            continue
        if not (tutorials / f"{name}.ipynb").is_file():
            print(f"| {name:58} | no such tutorial | | | |")
            continue
        result = run_one(tutorials, name, args.quick, args.timeout, args.images)
        finished += result["outcome"] == "ran to its end"
        print(
            f"| {name:58} | {result['outcome']} | {result['cpu_s']:.0f} | "
            f"{result['wall_s']:.0f} | {result['peak_mib']:.0f} |",
            flush=True,
        )
    for name, why in NOT_RUN.items():
        if name not in args.tutorials:
            print(f"| {name:58} | not run: {why} | | | |")
    print(
        f"\n{finished} of {len([t for t in args.tutorials if t not in NOT_RUN])} ran to their end."
    )
    return 0 if finished == len([t for t in args.tutorials if t not in NOT_RUN]) else 1


if __name__ == "__main__":
    sys.exit(main())
