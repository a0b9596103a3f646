"""Chapter 08 targets: depth network AbsRel, reconstructed-surface precision, built-in vs Open3D.

Usage (after ``python -m course_utils train --decoder depth --minutes 10``)::

    python benchmarks/bench_photo_to_3d.py [--checkpoint outputs/photo_to_3d/depth]
                                           [--views 20] [--resolution 64]

Prints a Markdown table (paste it into ``benchmarks/README.md``):

* the depth network and a constant-depth baseline on the test split: AbsRel, δ<1.25, mask IoU;
* the reconstructed surface of ``--views`` held-out views, from the network's depth and from
  the true depth, with the built-in spectral Poisson and with Open3D's screened Poisson (both
  trimmed by the same density rule): precision at τ = 0.02 (2 % of the bounding-box
  diagonal) against the true mesh, completeness against the visible true surface, F1, and
  seconds per view.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from course_utils import depth, photo3d, point_processing, training
from course_utils.config import OUTPUT_DIR


class ConstantDepth(torch.nn.Module):
    """Baseline: depth 2 (the camera distance) everywhere, every pixel on the object."""

    kind, device = "depth", torch.device("cpu")

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.full_like(images[:, :1], 2.0), torch.full_like(images[:, :1], 10.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=str(OUTPUT_DIR / "photo_to_3d" / "depth"))
    parser.add_argument("--views", type=int, default=20)
    parser.add_argument("--resolution", type=int, default=64)
    args = parser.parse_args()

    net, state = training.load_model(args.checkpoint, device="cpu")
    data = dict(state["config"]["data"])
    test = training.make_dataset(data, "test")
    history = state["history"]
    print(
        f"checkpoint: {state['epoch']} epochs, {history['seconds'][-1] / 60:.1f} min of "
        f"training ({state.get('stopped')}), {torch.get_num_threads()} threads now"
    )
    print("\n| depth on the test split | AbsRel | δ<1.25 | mask IoU |\n|---|---|---|---|")
    for name, model in (("depth network", net), ("constant depth 2", ConstantDepth())):
        s = depth.evaluate_depth(model, test)
        print(f"| {name} | {s['abs_rel']:.4f} | {s['delta1']:.4f} | {s['mask_iou']:.3f} |")

    o3d, message = point_processing.open3d_status()
    methods = ["builtin"] + (["open3d"] if o3d is not None else [])
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    for i in range(min(args.views, len(test))):
        item = test[i]
        camera = (item["R"], item["T"], item["fov"])
        true_mask = item["depth"][0] > 0
        visible, _ = depth.depth_to_points(item["image"], item["depth"][0], true_mask, *camera)
        truth = photo3d.mesh_points(item["verts"], item["faces"], 20000)
        pred, prob = depth.predict_depth(net, item["image"][None])
        inputs = {
            "network depth": (pred[0], prob[0] > 0.5),
            "true depth": (item["depth"][0], true_mask),
        }
        for source, (depth_map, mask) in inputs.items():
            for method in methods:
                start = time.perf_counter()
                try:
                    rec = photo3d.depth_pipeline(
                        item["image"],
                        depth_map,
                        mask,
                        camera,
                        poisson=method,
                        resolution=args.resolution,
                    )
                    sampled = photo3d.mesh_points(rec.trimmed_verts, rec.trimmed_faces, 5000)
                    scores = photo3d.surface_scores(sampled, truth, visible, 0.02)
                except ValueError:  # too few pixels predicted on the object
                    scores = {"precision": 0.0, "completeness": 0.0, "f1": 0.0}
                scores["seconds"] = time.perf_counter() - start
                results.setdefault((source, method), []).append(scores)
        print(f"view {i + 1} done", flush=True)
    print(
        f"\n{message}; {args.views} test views, Poisson grid {args.resolution} "
        f"(Open3D: octree depth {round(np.log2(args.resolution))})"
    )
    print("\n| input | Poisson | precision % | completeness % | F1 | s / view |")
    print("|---|---|---|---|---|---|")
    for (source, method), rows in results.items():
        mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
        print(
            f"| {source} | {method} | {mean['precision']:.1f} | {mean['completeness']:.1f} | "
            f"{mean['f1']:.1f} | {mean['seconds']:.2f} |"
        )
    if o3d is not None:
        for source in ("network depth", "true depth"):
            ours = [r["f1"] for r in results[(source, "builtin")]]
            theirs = [r["f1"] for r in results[(source, "open3d")]]
            gap = np.array(theirs) - np.array(ours)
            print(
                f"\n{source}: Open3D F1 - built-in F1 = {gap.mean():+.1f} points on average "
                f"(per view: min {gap.min():+.1f}, max {gap.max():+.1f})"
            )


if __name__ == "__main__":
    main()
