"""Baselines for single-view reconstruction: do the networks do more than recognise?

Both are scored like a model, in the same table
(:func:`~course_utils.evaluation.scoring.evaluate_predictor`):

* **mean shape** (:class:`MeanShapeBaseline`): the average of the training set's voxel
  grids, thresholded at the level (0.1 … 0.9) that maximises the mean IoU over the
  training shapes, meshed by marching cubes — one shape predicted for every image;
* **retrieval** (:class:`RetrievalBaseline`): the training shape whose image is nearest
  to the input image, either in **pixel** space (images resized to 32², Euclidean
  distance) or in the trained **encoder's latent** space. Its ground-truth surface points
  and voxels are the prediction.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812
from torch.utils.data import DataLoader, Dataset

from course_utils.evaluation.scoring import (
    NUM_POINTS,
    ShapePrediction,
    _collate_for,
    _sample,
    occupancy_to_mesh,
)

__all__ = ["MeanShapeBaseline", "RetrievalBaseline"]


def _pixel_features(images: torch.Tensor, size: int = 32) -> torch.Tensor:
    """``(B, 3, S, S)`` -> ``(B, 3 size²)``: the image resized (antialiased) and flattened."""
    small = F.interpolate(images.float(), size=(size, size), mode="bilinear",
                          align_corners=False, antialias=True)  # fmt: skip
    return small.flatten(1)


class MeanShapeBaseline:
    """Predict the same shape for every image: the thresholded mean training voxel grid.

    ``fit`` averages the training set's ``(32, 32, 32)`` grids into ``mean`` (the share of
    training shapes occupying each voxel) and picks the threshold in 0.1 … 0.9 that
    maximises the mean IoU with the training shapes; the grid ``mean >= threshold`` is
    meshed by marching cubes and 5,000 points are sampled on it once.

    Example:
        >>> from course_utils.models import ToyShapes
        >>> baseline = MeanShapeBaseline().fit(ToyShapes(4, image_size=16, points_per_shape=50))
        >>> baseline.mean.shape, 0.0 < baseline.threshold < 1.0
        (torch.Size([32, 32, 32]), True)
    """

    name = "mean shape"

    def __init__(self, num_points: int = NUM_POINTS, seed: int = 0) -> None:
        self.num_points, self.seed = num_points, seed
        self.mean: torch.Tensor | None = None
        self.threshold = 0.5
        self.prediction: ShapePrediction | None = None

    def fit(
        self, train_data: Dataset, batch_size: int = 64, progress: bool = False
    ) -> MeanShapeBaseline:
        from tqdm.auto import tqdm

        from course_utils.metrics import voxel_iou

        loader = DataLoader(train_data, batch_size=batch_size, collate_fn=_collate_for(train_data))
        grids = [
            batch["voxels"].bool()
            for batch in tqdm(loader, desc="mean shape", leave=False, disable=not progress)
        ]
        voxels = torch.cat(grids)
        self.mean = voxels.float().mean(0)
        best = -1.0
        for threshold in [i / 10 for i in range(1, 10)]:
            guess = (self.mean >= threshold).expand_as(voxels)
            iou = float(voxel_iou(guess, voxels).mean())
            if iou > best:
                best, self.threshold = iou, threshold
        occupancy = (self.mean >= self.threshold).float()
        mesh = occupancy_to_mesh(occupancy)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            points = _sample(mesh, self.num_points)
        self.prediction = ShapePrediction(points, occupancy, mesh)
        return self

    def __call__(self, batch: dict[str, Any]) -> list[ShapePrediction]:
        if self.prediction is None:
            raise RuntimeError("call fit(train_data) first")
        return [self.prediction] * len(batch["image"])


class RetrievalBaseline:
    """Nearest-neighbour retrieval: return the training shape whose image is closest.

    Args:
        train_data: the training set (the shapes that can be returned).
        model: with ``feature="latent"``, the trained model whose encoder embeds images.
        feature: ``"pixels"`` (images resized to 32², Euclidean distance) or ``"latent"``
            (the encoder's latent vectors, Euclidean distance).

    The retrieved item's own surface points and voxels are the prediction.
    """

    def __init__(
        self,
        train_data: Dataset,
        model: Any = None,
        feature: str = "pixels",
        batch_size: int = 64,
        progress: bool = False,
    ) -> None:
        from tqdm.auto import tqdm

        if feature not in ("pixels", "latent"):
            raise ValueError(f'feature must be "pixels" or "latent", got {feature!r}')
        if feature == "latent" and model is None:
            raise ValueError('feature="latent" needs the trained model')
        self.train_data, self.model, self.feature = train_data, model, feature
        self.name = f"retrieval ({feature})"
        loader = DataLoader(train_data, batch_size=batch_size, collate_fn=_collate_for(train_data))
        feats = [
            self.features(batch["image"])
            for batch in tqdm(loader, desc=self.name, leave=False, disable=not progress)
        ]
        self.bank = torch.cat(feats)  # (N_train, D)

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, S, S)`` -> ``(B, D)`` features on the CPU."""
        if self.feature == "pixels":
            return _pixel_features(images)
        self.model.eval()
        return self.model.encode(images.to(self.model.device)).float().cpu()

    def nearest(self, images: torch.Tensor) -> torch.Tensor:
        """``(B,)`` indices of the nearest training items."""
        return torch.cdist(self.features(images), self.bank).argmin(dim=1)

    def __call__(self, batch: dict[str, Any]) -> list[ShapePrediction]:
        predictions = []
        for index in self.nearest(batch["image"]).tolist():
            item = self.train_data[index]
            predictions.append(ShapePrediction(item["points"].float(), item["voxels"].float()))
        return predictions
