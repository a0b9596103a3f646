"""The checks of chapter 08 accept right answers and name the likely mistakes."""

from __future__ import annotations

import torch

from course_utils import checks
from course_utils.p3d import ops
from course_utils.point_processing import estimate_normals, statistical_outlier_removal


def test_outlier_check(capsys) -> None:
    assert checks.check_outlier_mask(statistical_outlier_removal) is True

    def squared(points, k, std_ratio):  # squared distances averaged
        d = ops.knn_points(points[None], points[None], K=k + 1).dists[0, :, 1:].mean(1)
        return d <= d.mean() + std_ratio * d.std()

    assert checks.check_outlier_mask(squared) is False
    assert "square root" in capsys.readouterr().out

    def inverted(points, k, std_ratio):
        return ~statistical_outlier_removal(points, k, std_ratio)

    assert checks.check_outlier_mask(inverted) is False
    assert "True means *keep*" in capsys.readouterr().out


def test_normals_check(capsys) -> None:
    assert checks.check_pca_normals(estimate_normals) is True

    def unoriented(points, k, camera_centre):
        return -estimate_normals(points, k, camera_centre)

    assert checks.check_pca_normals(unoriented) is False
    assert "wrong sign" in capsys.readouterr().out

    def largest(points, k, camera_centre):
        knn = ops.knn_points(points[None], points[None], K=k, return_nn=True).knn[0]
        centred = knn - knn.mean(1, keepdim=True)
        return torch.linalg.eigh(centred.transpose(1, 2) @ centred).eigenvectors[..., 2]

    assert checks.check_pca_normals(largest) is False
    assert "smallest" in capsys.readouterr().out
