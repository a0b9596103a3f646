"""Chapter 08 targets: depth network AbsRel, reconstructed-surface precision, built-in vs Open3D.

Usage (after ``python -m course_utils train --decoder depth --minutes 10 --clock cpu``)::

    python benchmarks/bench_photo_to_3d.py [--checkpoint outputs/photo_to_3d/depth]
                                           [--views 20] [--start 0] [--resolution 64]
                                           [--json rows.json] [--skip-depth-scores]
                                           [--split val]
    python benchmarks/bench_photo_to_3d.py --merge rows_a.json rows_b.json ...

Prints Markdown tables (paste them into ``benchmarks/README.md``):

* the depth network and a constant-depth baseline on the test split: AbsRel, δ<1.25, mask IoU;
* the reconstructed surface of test views ``start .. start + views - 1`` (``--split val``:
  validation views), from the network's
  depth and from the true depth, with the built-in spectral Poisson and with Open3D's
  screened Poisson (both trimmed by the same density rule). The pipeline's default lifts
  every pixel of the predicted mask ("all" in the table); "confident" lifts only the pixels
  whose predicted error scale is at most ``photo3d.CONFIDENT_SCALE``
  (:func:`course_utils.depth.confident_pixels`), "edge" adds the edge filter
  (:func:`course_utils.depth.reliable_pixels`) instead: precision at τ = 0.02 (2 % of the
  bounding-box diagonal) against the true mesh, completeness against the visible true
  surface, F1, and the **CPU seconds** per view (``time.process_time``; run with
  ``OMP_NUM_THREADS=1``).

``--json`` also writes the per-view rows, so that slices of the test views run as separate
processes can be merged into one table with ``--merge``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from course_utils import depth, photo3d, point_processing, training
from course_utils.atomic import temporary_path
from course_utils.config import OUTPUT_DIR

#: (input, Poisson, pixel filter) rows of the surface table, in order.
CASES = (
    ("network depth", "builtin", "all"),
    ("network depth", "open3d", "all"),
    ("network depth", "builtin", "confident"),
    ("network depth", "builtin", "edge"),
    ("true depth", "builtin", "all"),
    ("true depth", "open3d", "all"),
)


class ConstantDepth(torch.nn.Module):
    """Baseline: depth 2 (the camera distance) everywhere, every pixel on the object."""

    kind, device = "depth", torch.device("cpu")

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.full_like(images[:, :1], 2.0), torch.full_like(images[:, :1], 10.0)


def surface_rows(net, test, start: int, count: int, resolution: int) -> list[dict]:
    """One row per (view, case): the scores and the CPU seconds of the pipeline."""
    o3d, _ = point_processing.open3d_status()
    rows = []
    for i in range(start, min(start + count, len(test))):
        item = test[i]
        camera = (item["R"], item["T"], item["fov"])
        true_mask = item["depth"][0] > 0
        visible, _ = depth.depth_to_points(item["image"], item["depth"][0], true_mask, *camera)
        truth = photo3d.mesh_points(item["verts"], item["faces"], 20000)
        pred, prob, scale = depth.predict_depth_scale(net, item["image"][None], R=item["R"])
        inputs = {
            "network depth": (pred[0], prob[0] > 0.5, None if scale is None else scale[0]),
            "true depth": (item["depth"][0], true_mask, None),
        }
        for source, method, pixel_filter in CASES:
            if method == "open3d" and o3d is None:
                continue
            if pixel_filter == "confident" and scale is None:
                continue  # a network without the uncertainty output
            depth_map, mask, b = inputs[source]
            max_scale = photo3d.CONFIDENT_SCALE if pixel_filter == "confident" else None
            start_cpu, start_wall = time.process_time(), time.perf_counter()
            try:
                rec = photo3d.depth_pipeline(
                    item["image"], depth_map, mask, camera, poisson=method,
                    resolution=resolution, max_slope=4.0 if pixel_filter == "edge" else None,
                    scale=b, max_scale=max_scale,
                )  # fmt: skip
                scores = {"kept": float(rec.mask.sum()) / max(int(mask.sum()), 1)}
                sampled = photo3d.mesh_points(rec.trimmed_verts, rec.trimmed_faces, 5000)
                scores.update(photo3d.surface_scores(sampled, truth, visible, 0.02))
            except ValueError:  # too few pixels predicted on the object
                scores = {"precision": 0.0, "completeness": 0.0, "f1": 0.0, "kept": 0.0}
            scores["cpu_s"] = time.process_time() - start_cpu
            scores["wall_s"] = time.perf_counter() - start_wall
            rows.append({"view": i, "input": source, "poisson": method,
                         "pixels": pixel_filter, **scores})  # fmt: skip
        print(f"view {i} done, load average {os.getloadavg()[0]:.1f}", flush=True)
    return rows


def print_tables(rows: list[dict]) -> None:
    views = sorted({r["view"] for r in rows})
    print(f"\n{len(views)} held-out views ({views[0]}..{views[-1]})")
    print("\n| input | Poisson | pixels lifted | share kept | precision % | completeness % | F1 "
          "| CPU s / view | wall s / view |\n|---|---|---|---|---|---|---|---|---|")  # fmt: skip
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["input"], r["poisson"], r["pixels"]), []).append(r)
    for (source, method, pixels), group in groups.items():
        mean = {k: float(np.mean([r[k] for r in group])) for k in
                ("kept", "precision", "completeness", "f1", "cpu_s", "wall_s")}  # fmt: skip
        print(f"| {source} | {method} | {pixels} | {mean['kept']:.2f} | {mean['precision']:.1f} | "
              f"{mean['completeness']:.1f} | {mean['f1']:.1f} | {mean['cpu_s']:.2f} | "
              f"{mean['wall_s']:.2f} |")  # fmt: skip
    for source, pixels in (("network depth", "all"), ("true depth", "all")):
        ours = groups.get((source, "builtin", pixels))
        theirs = groups.get((source, "open3d", pixels))
        if not ours or not theirs:
            continue
        gap = np.array([r["f1"] for r in theirs]) - np.array([r["f1"] for r in ours])
        print(f"\n{source}: Open3D F1 - built-in F1 = {gap.mean():+.1f} points on average "
              f"(per view: min {gap.min():+.1f}, max {gap.max():+.1f}; {len(gap)} views)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=str(OUTPUT_DIR / "photo_to_3d" / "depth"))
    parser.add_argument("--views", type=int, default=20)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument(
        "--split", default="test", choices=("val", "test"),
        help="held-out views to score (val: to choose settings before the test views are run)",
    )  # fmt: skip
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--json", type=Path, help="also write the per-view rows here")
    parser.add_argument("--skip-depth-scores", action="store_true")
    parser.add_argument("--merge", nargs="+", type=Path, help="print the tables of --json files")
    args = parser.parse_args()
    if args.merge:
        print_tables([row for path in args.merge for row in json.loads(path.read_text())])
        return

    torch.set_num_threads(1)
    net, state = training.load_model(args.checkpoint, device="cpu")
    data = dict(state["config"]["data"])
    test = training.make_dataset(data, args.split)  # one view per held-out shape
    history = state["history"]
    print(
        f"checkpoint: {state['epoch']} epochs, {history['seconds'][-1] / 60:.1f} min of "
        f"training ({state['config'].get('clock', 'wall')} clock; {state.get('stopped')}), "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    if not args.skip_depth_scores:
        print(f"\n| depth on the {args.split} split | AbsRel | δ<1.25 | mask IoU |")
        print("|---|---|---|---|")
        for name, model in (("depth network", net), ("constant depth 2", ConstantDepth())):
            s = depth.evaluate_depth(model, test)
            print(f"| {name} | {s['abs_rel']:.4f} | {s['delta1']:.4f} | {s['mask_iou']:.3f} |")

    _, message = point_processing.open3d_status()
    print(f"\n{message}; Poisson grid {args.resolution} "
          f"(Open3D: octree depth {round(np.log2(args.resolution))})")  # fmt: skip
    start_cpu = time.process_time()
    rows = surface_rows(net, test, args.start, args.views, args.resolution)
    print(f"surface table: {time.process_time() - start_cpu:.0f} CPU s")
    if args.json:
        with temporary_path(args.json) as tmp:
            Path(tmp).write_text(json.dumps(rows, indent=1))
    print_tables(rows)


if __name__ == "__main__":
    main()
