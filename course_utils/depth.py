"""Depth from one image (chapter 08): training data, metrics, the network, pretrained models.

* :class:`DepthViews` — chapter 05's :class:`~course_utils.datasets.ShapeDataset` views
  with their **true depth**: each view's mesh is rasterized again with the view's camera
  and the rasterizer's ``zbuf`` (view-space ``z``) is kept, 0 on the background. Rendered
  once per dataset and cached next to the shapes (``depth_<S>.npz``, written atomically).
* :func:`depth_metrics` — the standard monocular-depth scores on the true object's
  pixels: **AbsRel** ``mean(|d̂ - d| / d)`` and **δ<1.25**, the share of pixels with
  ``max(d̂/d, d/d̂) < 1.25`` (Eigen et al. 2014).
* :func:`evaluate_depth` — those scores (and the mask's IoU) of a model on a dataset.
* :func:`depth_to_points` — lift a predicted depth map to a coloured world-space cloud
  with chapter 03's :func:`~course_utils.rgbd.unproject_depth_image`.
* :func:`pretrained_depth` — an optional pretrained depth model through ``transformers``'
  ``pipeline("depth-estimation")`` (DPT, GLPN, Depth Anything); see its docstring for
  relative versus metric depth.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from course_utils.atomic import temporary_path

__all__ = [
    "DepthViews",
    "render_depth",
    "depth_metrics",
    "evaluate_depth",
    "predict_depth",
    "depth_to_points",
    "camera_centre",
    "pretrained_depth",
    "align_scale",
    "run_depth_pipeline",
    "disparity_to_depth",
    "reliable_pixels",
    "predict_depth_scale",
    "confident_pixels",
]


def render_depth(verts: list[torch.Tensor], faces: list[torch.Tensor], R: torch.Tensor,
                 T: torch.Tensor, fov: torch.Tensor, image_size: int) -> torch.Tensor:  # fmt: skip
    """``(B, S, S)`` view-space depth of B meshes seen by B cameras (0 where nothing is seen).

    The same rasterizer settings as the dataset's renders (back faces culled), so the
    depth lines up with the images pixel for pixel.
    """
    from course_utils.p3d import renderer, structures

    meshes = structures.Meshes(verts=list(verts), faces=list(faces))
    cameras = renderer.FoVPerspectiveCameras(R=R, T=T, fov=fov)
    rasterizer = renderer.MeshRasterizer(
        cameras=cameras,
        raster_settings=renderer.RasterizationSettings(image_size=image_size, cull_backfaces=True),
    )
    with torch.no_grad():
        fragments = rasterizer(meshes)
    seen = fragments.pix_to_face[..., 0] >= 0
    return torch.where(seen, fragments.zbuf[..., 0], torch.zeros(()))


class DepthViews(Dataset):
    """A :class:`~course_utils.datasets.ShapeDataset` whose items also hold their true depth.

    Item ``i`` is the shape dataset's item ``i`` plus ``"depth"`` float32 ``(1, S, S)``
    (view-space ``z``, 0 on the background). The depth maps are rendered on construction
    (in batches; a ``tqdm`` bar) and cached in the shape dataset's folder.

    Args:
        shapes: the split of a ``ShapeDataset`` (it must have ``folder`` and ``split``
            to cache; any dataset of course items works without caching).
        progress: show the progress bar.
    """

    def __init__(self, shapes: Any, progress: bool = True, batch_size: int = 32) -> None:
        from tqdm.auto import tqdm

        from course_utils.datasets import collate_shapes

        self.shapes = shapes
        self.params = getattr(shapes, "params", {})
        self.collate_fn = collate_shapes
        first = shapes[0]
        size = int(first["image"].shape[-1])
        folder = getattr(shapes, "folder", None)
        split = getattr(shapes, "split", None)
        views = getattr(shapes, "views_per_shape", 1)
        cache = (
            Path(folder) / f"depth_{split}_{size}_v{views}.npz"
            if folder is not None and split is not None
            else None
        )
        if cache is not None and cache.is_file():
            with np.load(cache) as data:
                depth = torch.from_numpy(data["depth"])
            if len(depth) == len(shapes):
                self.depth = depth
                return
        maps = []
        for start in tqdm(range(0, len(shapes), batch_size), desc="rendering depth",
                          disable=not progress, leave=False):  # fmt: skip
            items = [shapes[i] for i in range(start, min(start + batch_size, len(shapes)))]
            maps.append(render_depth(
                [it["verts"] for it in items], [it["faces"] for it in items],
                torch.stack([it["R"] for it in items]), torch.stack([it["T"] for it in items]),
                torch.tensor([float(it["fov"]) for it in items]), size,
            ))  # fmt: skip
        self.depth = torch.cat(maps).float()
        if cache is not None:
            with temporary_path(cache) as tmp:
                np.savez_compressed(tmp, depth=self.depth.numpy())

    def __len__(self) -> int:
        return len(self.shapes)

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = dict(self.shapes[index])
        item["depth"] = self.depth[index][None]
        return item


def depth_metrics(
    pred: torch.Tensor, true: torch.Tensor, mask: torch.Tensor
) -> dict[str, torch.Tensor]:
    """AbsRel and δ<1.25 per image, on the pixels where ``mask`` is set and ``true > 0``.

    Args:
        pred, true: ``(B, H, W)`` (or ``(B, 1, H, W)``) depth maps, same units.
        mask: the same shape, bool: the pixels to score (the true object's).

    Returns:
        ``{"abs_rel": (B,), "delta1": (B,)}`` (NaN for an image without scored pixels).

    Example:
        >>> true = torch.full((1, 2, 2), 2.0)
        >>> pred = torch.tensor([[[2.0, 2.2], [2.0, 3.0]]])
        >>> m = depth_metrics(pred, true, torch.ones(1, 2, 2, dtype=torch.bool))
        >>> round(float(m["abs_rel"][0]), 4), float(m["delta1"][0])
        (0.15, 0.75)
    """
    pred, true, mask = (t.reshape(t.shape[0], -1) for t in (pred, true, mask))
    valid = mask.bool() & (true > 0)
    count = valid.sum(1).float()
    safe_true = torch.where(valid, true, torch.ones(()))
    safe_pred = torch.where(valid, pred.clamp(min=1e-6), torch.ones(()))
    rel = ((safe_pred - safe_true).abs() / safe_true) * valid
    ratio = torch.maximum(safe_pred / safe_true, safe_true / safe_pred)
    good = ((ratio < 1.25) & valid).sum(1).float()
    return {"abs_rel": rel.sum(1) / count, "delta1": good / count}


def _camera_args(model: Any, R: torch.Tensor | None, batch: int) -> tuple[Any, ...]:
    """``(R,)`` for a model that reads the camera (``camera_up``), else ``()``."""
    if not getattr(model, "camera_up", False):
        return ()
    if R is None:
        return (None,)
    R = torch.as_tensor(R, dtype=torch.float32)
    R = R[None] if R.dim() == 2 else R
    if len(R) == 1:  # one camera for the whole batch; other sizes are checked by the model
        R = R.expand(batch, *R.shape[1:])
    return (R.to(model.device),)


def predict_depth(
    model: Any, images: torch.Tensor, flip: bool = False, R: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(B, 3, S, S)`` -> depth ``(B, S, S)`` and mask probabilities ``(B, S, S)`` (no grad).

    ``flip=True`` also runs the mirrored images (left-right) and averages the two
    predictions, mirrored back (test-time augmentation, as in Godard et al. 2017): a
    mirrored photo is a photo of the mirrored object, whose depth is the mirrored depth,
    so both answers estimate the same map and their errors partly cancel; it costs a
    second forward pass.

    ``R``: the cameras' world-to-view rotations, ``(B, 3, 3)`` or one ``(3, 3)`` for all
    (a course item's ``"R"``), for a model that reads the camera's elevation
    (:class:`~course_utils.models.depth.DepthNet`'s ``camera_up``, its default); other
    models ignore it. None: the elevation of :func:`course_utils.photo3d.default_camera`
    (25 degrees), the camera a photo's depth is unprojected with. Give the true camera
    whenever you know it: a network told the wrong elevation reads the shape tilted.
    """
    model.eval()
    images = images.to(model.device)
    args = _camera_args(model, R, len(images))
    with torch.no_grad():
        depth, logits = model(images, *args)
        if flip:
            depth_m, logits_m = model(images.flip(-1), *args)
            depth, logits = (depth + depth_m.flip(-1)) / 2, (logits + logits_m.flip(-1)) / 2
    return depth[:, 0].cpu(), torch.sigmoid(logits[:, 0]).cpu()


def predict_depth_scale(
    model: Any, images: torch.Tensor, R: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """``(B, 3, S, S)`` -> depth, mask probabilities and the predicted error scale ``b``,
    each ``(B, S, S)`` (no grad). ``b`` is None for a model without an uncertainty output
    (:class:`~course_utils.models.depth.DepthNet` with ``uncertainty=False``, or any
    model without a ``predict`` method). ``R`` as in :func:`predict_depth`."""
    if not hasattr(model, "predict"):
        depth, prob = predict_depth(model, images, R=R)
        return depth, prob, None
    model.eval()
    with torch.no_grad():
        args = _camera_args(model, R, len(images))
        depth, logits, scale = model.predict(images.to(model.device), *args)
    return (
        depth[:, 0].cpu(), torch.sigmoid(logits[:, 0]).cpu(),
        scale[:, 0].cpu() if scale is not None else None,
    )  # fmt: skip


def confident_pixels(
    scale: torch.Tensor, mask: torch.Tensor, max_scale: float = 0.02, min_keep: float = 0.3
) -> torch.Tensor:
    """``(S, S)`` bool: the pixels of ``mask`` whose predicted error scale ``b`` is at most
    ``max_scale`` (scene units) — the depths the network itself trusts.

    ``b`` is the mean absolute depth error the network expects at a pixel
    (:func:`~course_utils.models.depth.laplace_nll`), so ``max_scale`` compares directly
    with the precision threshold τ. When fewer than ``min_keep`` of the mask's pixels pass
    (a view the network finds hard everywhere), the ``min_keep`` most confident ones are
    kept instead, so that there is still something to build a surface from.

    Example:
        >>> scale = torch.tensor([[0.01, 0.03], [0.05, 0.015]])
        >>> confident_pixels(scale, torch.ones(2, 2, dtype=torch.bool)).tolist()
        [[True, False], [False, True]]
        >>> confident_pixels(scale, torch.ones(2, 2, dtype=torch.bool), 0.001, 0.5).tolist()
        [[True, False], [False, True]]
    """
    if scale.shape != mask.shape or scale.dim() != 2:
        raise ValueError(
            f"scale and mask must both be (S, S), got {tuple(scale.shape)} and {tuple(mask.shape)}"
        )
    if not 0.0 <= min_keep <= 1.0:
        raise ValueError(f"min_keep must be in [0, 1], got {min_keep}")
    mask = mask.bool()
    keep = mask & (scale <= max_scale)
    count = int(mask.sum())
    need = math.ceil(min_keep * count)
    if int(keep.sum()) < need:
        # the `need` smallest scales on the mask (ties broken by position)
        order = torch.where(mask, scale, torch.tensor(float("inf"))).flatten().argsort()
        keep = torch.zeros(scale.numel(), dtype=torch.bool)
        keep[order[:need]] = True
        keep = keep.reshape(scale.shape) & mask
    return keep


def evaluate_depth(model: Any, dataset: Any, batch_size: int = 32) -> dict[str, float]:
    """Mean AbsRel, δ<1.25 (on the true object's pixels) and mask IoU over a dataset
    (each view predicted with its own camera ``R``, for a network that reads it)."""
    from torch.utils.data import DataLoader

    loader = DataLoader(dataset, batch_size=batch_size, collate_fn=dataset.collate_fn)
    scores: dict[str, list[torch.Tensor]] = {"abs_rel": [], "delta1": [], "mask_iou": []}
    for batch in loader:
        depth, prob = predict_depth(model, batch["image"], R=batch.get("R"))
        true_mask = batch["mask"][:, 0] > 0.5
        metrics = depth_metrics(depth, batch["depth"][:, 0], true_mask)
        scores["abs_rel"].append(metrics["abs_rel"])
        scores["delta1"].append(metrics["delta1"])
        pred_mask = prob > 0.5
        inter = (pred_mask & true_mask).flatten(1).sum(1).float()
        union = (pred_mask | true_mask).flatten(1).sum(1).float().clamp(min=1)
        scores["mask_iou"].append(inter / union)
    return {key: float(torch.cat(values).nanmean()) for key, values in scores.items()}


def reliable_pixels(
    depth: torch.Tensor, mask: torch.Tensor, fov: float, erode: int = 1, max_slope: float = 4.0
) -> torch.Tensor:
    """``(S, S)`` bool: the pixels of ``mask`` whose depth can be trusted when lifted to 3D.

    A depth network smooths what it cannot resolve: at the silhouette and where one part
    hides another, its depth slides from the near surface to the far one over a few pixels,
    and those pixels unproject to "flying" points in the empty space between. Two rules drop
    them:

    * **away from the edge**: the mask is eroded by ``erode`` pixels (a ``(2e+1)²`` min-pool),
      so the blurred rim of the predicted silhouette goes;
    * **no depth cliffs**: a pixel goes when its depth differs from one of its 8 neighbours
      (inside the mask) by more than ``max_slope`` pixel footprints, the footprint being the
      width one pixel covers at that depth, ``2 z tan(fov / 2) / S``. A surface seen at an
      angle θ from its normal climbs ``tan θ`` footprints per pixel, so ``max_slope = 4``
      keeps every surface up to 76° from the view direction and drops grazing surfaces and
      jumps between parts.

    Args:
        depth: ``(S, S)`` view-space depth; mask: ``(S, S)`` bool; fov: the camera's vertical
            field of view in degrees (square images).
        erode: pixels taken off the mask's border (0: none).
        max_slope: the largest depth step between neighbours, in pixel footprints.

    Example:
        >>> depth = torch.full((64, 64), 2.0)
        >>> depth[:, 32:] = 2.5  # a step of 0.5, 30 footprints of 0.017, between columns 31, 32
        >>> keep = reliable_pixels(depth, torch.ones(64, 64, dtype=torch.bool), fov=30, erode=0)
        >>> keep[0, 29:35].tolist()
        [True, True, False, False, True, True]
    """
    import torch.nn.functional as F  # noqa: N812 - the usual name

    if depth.dim() != 2 or mask.shape != depth.shape:
        raise ValueError(
            f"depth and mask must both be (S, S), got {tuple(depth.shape)} and {tuple(mask.shape)}"
        )
    mask = mask.bool() & (depth > 0)
    keep = mask.clone()
    if erode > 0:
        outside = (~mask).float()[None, None]
        keep &= F.max_pool2d(outside, 2 * erode + 1, 1, erode, ceil_mode=False)[0, 0] == 0
    # the largest and smallest depth among the 8 neighbours inside the mask
    inf = torch.tensor(float("inf"), dtype=depth.dtype)
    high = F.max_pool2d(torch.where(mask, depth, -inf)[None, None], 3, 1, 1)[0, 0]
    low = -F.max_pool2d(torch.where(mask, -depth, -inf)[None, None], 3, 1, 1)[0, 0]
    step = torch.maximum(high - depth, depth - low)
    footprint = 2 * depth * math.tan(math.radians(float(fov)) / 2) / depth.shape[-1]
    return keep & (step <= max_slope * footprint)


def camera_centre(R: torch.Tensor, T: torch.Tensor) -> torch.Tensor:
    """World position ``(3,)`` of a camera ``X_view = X_world @ R + T``: ``-T @ R^T``."""
    return -(T.reshape(1, 3) @ R.reshape(3, 3).T)[0]


def depth_to_points(
    image: torch.Tensor, depth: torch.Tensor, mask: torch.Tensor, R: torch.Tensor,
    T: torch.Tensor, fov: float,
) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """Lift a depth map to world points with its image's colours (chapter 03's unprojection).

    Args:
        image: ``(3, S, S)`` in [0, 1]; depth: ``(S, S)`` view-space z; mask: ``(S, S)``
            bool; R ``(3, 3)``, T ``(3,)``, fov (degrees): the camera.

    Returns:
        ``points`` ``(P, 3)`` and ``colours`` ``(P, 3)``.
    """
    from course_utils.p3d import renderer
    from course_utils.rgbd import unproject_depth_image

    cameras = renderer.FoVPerspectiveCameras(R=R[None], T=T[None], fov=float(fov))
    return unproject_depth_image(image.permute(1, 2, 0), mask, depth, cameras)


def align_scale(pred: torch.Tensor, true: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The median ratio ``median(true / pred)`` on ``mask``: the scale that turns a depth known
    only up to scale into metric depth, when a reference is available (evaluation only)."""
    valid = mask & (pred > 0) & (true > 0)
    return (true[valid] / pred[valid]).median()


def pretrained_depth(
    model: str | Any = "Intel/dpt-hybrid-midas", image_processor: Any = None, device: int = -1
) -> Any:
    """A pretrained monocular depth model through ``transformers`` (optional, needs internet).

    ``transformers.pipeline("depth-estimation", model=...)`` downloads the weights the first
    time (e.g. ``"Intel/dpt-hybrid-midas"``, ``"vinvino02/glpn-nyu"``,
    ``"depth-anything/Depth-Anything-V2-Small-hf"``) and returns a callable:
    ``pipe(pil_image)`` gives ``{"predicted_depth": tensor (H', W'), "depth": PIL image}``.

    **Relative versus metric depth.** Models trained on many datasets at once (MiDaS/DPT,
    Depth Anything) predict *relative inverse depth* (disparity): larger means nearer, and
    only up to an unknown scale and shift — the image alone cannot tell a toy car from a
    real one. Models trained on one sensor (GLPN on NYU, ZoeDepth, Depth Anything's
    ``-Metric-`` variants) predict *metric depth* in metres, valid for scenes like their
    training set. Before unprojecting, turn the output into depth (``1 / disparity`` for
    the relative kind), then fix the scale: with a known distance (the object is about 2
    units away, as in the course's renders) or :func:`align_scale` against a reference.

    Args:
        model: a model name on the Hugging Face hub, or a model object already built
            (the tests build a tiny random one from a config: nothing is downloaded).
        image_processor: the processor for a model object (e.g. ``DPTImageProcessor()``).
        device: -1 for the CPU, 0 for the first GPU.

    Raises:
        ImportError: ``transformers`` is not installed (``pip install transformers``).
    """
    try:
        from transformers import pipeline
    except ImportError as error:
        raise ImportError(
            "pretrained depth needs transformers: pip install 'learning-3d-vision[chapter08]'"
        ) from error
    return pipeline("depth-estimation", model=model, image_processor=image_processor, device=device)


def run_depth_pipeline(pipe: Any, image: torch.Tensor) -> torch.Tensor:
    """Run a ``transformers`` depth pipeline on a ``(3, H, W)`` image in [0, 1].

    Returns:
        ``(H, W)`` float32: the model's raw output (``predicted_depth``) resized to the
        image — depth in metres for metric models, relative inverse depth (disparity) for
        MiDaS/DPT and Depth Anything; see :func:`pretrained_depth`.
    """
    from PIL import Image

    array = (image.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()
    raw = pipe(Image.fromarray(array))["predicted_depth"].float()
    raw = raw.reshape(1, 1, *raw.shape[-2:])
    size = tuple(image.shape[-2:])
    return torch.nn.functional.interpolate(raw, size=size, mode="bilinear")[0, 0]


def disparity_to_depth(
    disparity: torch.Tensor, mask: torch.Tensor, median_depth: float = 2.0
) -> torch.Tensor:
    """Relative inverse depth -> depth with a chosen scale: ``1 / disparity``, scaled so its
    median on ``mask`` is ``median_depth`` (e.g. the course camera's distance, 2).

    The shift that relative models also leave open is ignored (assumed 0): good enough
    for an object that is small compared with its distance to the camera.

    Example:
        >>> disparity = torch.tensor([[1.0, 0.5], [0.25, 1.0]])
        >>> disparity_to_depth(disparity, torch.ones(2, 2, dtype=torch.bool))
        tensor([[2., 4.],
                [8., 2.]])
    """
    depth = 1.0 / disparity.clamp(min=1e-6)
    return depth * (median_depth / depth[mask].median())
