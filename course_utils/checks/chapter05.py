"""Checks for the exercises of chapter 05 (single-view 3D reconstruction)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from course_utils.checks._core import CheckFailed, call, expect_close, run_check

__all__ = ["check_voxel_decoder", "check_deform_sphere", "check_f1_score"]


# ---------------------------------------------------------------- Exercise 5.1
def _voxel_output(decoder: Any, latent: torch.Tensor, what: str) -> torch.Tensor:
    """Run the learner's decoder on ``latent``; fail clearly if it is not a module or crashes."""
    if not isinstance(decoder, nn.Module):
        raise CheckFailed(
            f"{what} should return a torch.nn.Module, got {type(decoder).__name__}",
            "build the layers and return them, e.g. in an nn.Sequential (don't call it yet)",
        )
    return decoder(latent)


def _voxel_shape_hint(got: torch.Tensor, batch: int, resolution: int) -> str:
    """The likely mistake behind a wrong output shape."""
    shape = tuple(got.shape)
    if shape == (batch, 1, resolution, resolution, resolution):
        return "the last convolution leaves one channel axis: drop it, e.g. out[:, 0]"
    if len(shape) == 4 and shape[0] == batch and shape[1] != resolution:
        if shape[1] * 2 == resolution:
            return "one doubling too few: every channel step after the first is one upsampling"
        if shape[1] == 2 * resolution:
            return "one doubling too many: len(channels) - 1 upsamplings, not len(channels)"
        return (
            "ConvTranspose3d(kernel_size=4, stride=2, padding=1) exactly doubles the side; "
            "other kernel/padding choices give other sizes"
        )
    if len(shape) == 5:
        return "end with a 1x1x1 Conv3d to one channel, then drop the channel axis"
    return (
        "Linear(latent_dim, channels[0] * 4**3), view as (B, channels[0], 4, 4, 4), then one "
        "ConvTranspose3d(kernel 4, stride 2, padding 1) + BatchNorm3d + ReLU per step, a 1x1x1 "
        "Conv3d to one channel, and drop the channel axis"
    )


def check_voxel_decoder(voxel_decoder) -> bool:
    """Exercise 5.1: ``voxel_decoder(latent_dim, channels)`` -> an ``nn.Module`` mapping
    ``(B, latent_dim)`` to ``(B, R, R, R)`` logits, ``R = 4 * 2 ** (len(channels) - 1)``,
    with one stride-2 ``ConvTranspose3d`` per doubling."""

    def attempt() -> str:
        from course_utils.models import VoxelMLPDecoder

        cases = [(8, (16, 8, 4)), (12, (8, 8, 4, 4)), (256, (128, 64, 32, 8))]
        for latent_dim, channels in cases:
            resolution = 4 * 2 ** (len(channels) - 1)
            what = f"voxel_decoder({latent_dim}, {channels})"
            torch.manual_seed(0)
            decoder = call(voxel_decoder, latent_dim, channels)
            latent = torch.randn(3, latent_dim)
            got = _voxel_output(decoder, latent, what)
            if not torch.is_tensor(got):
                raise CheckFailed(
                    f"{what}(latent) should return a tensor, got {type(got).__name__}",
                    "the module's forward must return the logits",
                )
            expected = (3, resolution, resolution, resolution)
            if tuple(got.shape) != expected:
                raise CheckFailed(
                    f"{what} maps (3, {latent_dim}) latents to {tuple(got.shape)}, expected "
                    f"{expected}",
                    _voxel_shape_hint(got, 3, resolution),
                )
            ups = [
                m for m in decoder.modules()
                if isinstance(m, nn.ConvTranspose3d) and tuple(m.stride) == (2, 2, 2)
            ]  # fmt: skip
            if len(ups) != len(channels) - 1:
                raise CheckFailed(
                    f"{what} has {len(ups)} stride-2 ConvTranspose3d layers, expected "
                    f"{len(channels) - 1} (one per doubling 4 -> 8 -> ... -> {resolution})",
                    "upsample with nn.ConvTranspose3d(c_in, c_out, kernel_size=4, stride=2, "
                    "padding=1), not with interpolation or a big linear layer",
                )
            if torch.allclose(got[0], got[1]):
                raise CheckFailed(
                    f"{what} gives the same grid for two different latents",
                    "the first layer must read the latent (Linear(latent_dim, ...))",
                )
        # Differentiable, and far smaller than the MLP decoder at 32³.
        latent = torch.randn(2, 256, requires_grad=True)
        got = decoder(latent)
        got.square().mean().backward()
        if latent.grad is None or not bool(latent.grad.abs().sum() > 0):
            raise CheckFailed(
                "no gradient reaches the latent", "use torch layers only, no .detach()"
            )
        weights = sum(p.numel() for p in decoder.parameters())
        mlp = sum(p.numel() for p in VoxelMLPDecoder(256, hidden=(256,)).parameters())
        if weights >= mlp:
            raise CheckFailed(
                f"voxel_decoder(256, (128, 64, 32, 8)) has {weights:,} weights, no fewer than "
                f"the MLP decoder's {mlp:,}",
                "the point of 3D convolutions is sharing weights across space: the only big "
                "layer should be the first Linear, to channels[0] * 4**3 features",
            )
        return (
            f"16³ and 32³ grids of logits from stride-2 transposed convolutions; at 32³ it has "
            f"{weights:,} weights, {mlp / weights:.1f}x fewer than the MLP decoder."
        )

    return run_check("Exercise 5.1 (a 3D transposed-convolution voxel decoder)", attempt)


# ---------------------------------------------------------------- Exercise 5.2
def _deform_cases() -> list[tuple[str, torch.Tensor, torch.Tensor, float]]:
    """(name, sphere_verts (V, 3), raw (B, 3 V), max_offset)."""
    from course_utils.p3d import utils

    generator = torch.Generator().manual_seed(5)
    sphere = utils.ico_sphere(1).verts_packed() * 0.35  # 42 vertices
    return [
        ("a batch of 2, ico_sphere(1)", sphere, torch.randn(2, 3 * 42, generator=generator), 0.6),
        (
            "one shape with large raw outputs, max_offset 0.1",
            sphere,
            5 * torch.randn(1, 3 * 42, generator=generator),
            0.1,
        ),
    ]


def _deform_hint(got: torch.Tensor, verts: torch.Tensor, raw: torch.Tensor, m: float) -> str:
    """The likely mistake behind wrong deformed vertices."""
    B, V = raw.shape[0], verts.shape[0]
    per_vertex = raw.view(B, V, 3)
    mistakes = [
        (verts + m * per_vertex, "squash the raw outputs with torch.tanh first: |offset| <= max"),
        (verts + torch.tanh(per_vertex), "scale tanh(...) by max_offset"),
        (m * torch.tanh(per_vertex), "these are the offsets: add them to the sphere's vertices"),
        (
            verts + m * torch.tanh(raw.view(B, 3, V).transpose(1, 2)),
            "raw holds x, y, z of vertex 0, then of vertex 1 ...: reshape with .view(B, V, 3)",
        ),
        (
            verts + m * torch.sigmoid(per_vertex),
            "sigmoid only moves vertices one way (0..1): tanh gives offsets in both directions",
        ),
    ]
    for value, hint in mistakes:
        if value.shape == got.shape and torch.allclose(got.detach().cpu(), value, atol=1e-5):
            return hint
    return "verts = sphere_verts + max_offset * tanh(raw.view(B, V, 3)), shape (B, V, 3)"


def check_deform_sphere(deform_sphere) -> bool:
    """Exercise 5.2: ``deform_sphere(sphere_verts, raw, max_offset)`` -> ``(B, V, 3)``:
    ``sphere_verts + max_offset * tanh(raw.view(B, V, 3))``, as :class:`MeshDecoder` does."""

    def attempt() -> str:
        for name, verts, raw, m in _deform_cases():
            B, V = raw.shape[0], verts.shape[0]
            expected = verts + m * torch.tanh(raw.view(B, V, 3))
            got = call(deform_sphere, verts.clone(), raw.clone(), m)
            if torch.is_tensor(got) and got.shape == expected.shape:
                if not torch.allclose(got.detach().cpu().float(), expected, atol=1e-5):
                    raise CheckFailed(
                        f"the vertices for {name} are wrong", _deform_hint(got, verts, raw, m)
                    )
            expect_close(got, expected, f"the vertices for {name}", atol=1e-5)
            moved = (got.detach() - verts).abs().max()
            if float(moved) > m + 1e-6:
                raise CheckFailed(f"a vertex moved {float(moved):.3f} > max_offset {m}")
        _, verts, raw, m = _deform_cases()[0]
        raw = raw.clone().requires_grad_()
        got = call(deform_sphere, verts, raw, m)
        if not got.requires_grad:
            raise CheckFailed(
                "the vertices do not depend on raw through autograd",
                "use torch operations (tanh, view), no .detach() or numpy",
            )
        (grad,) = torch.autograd.grad(got.sum(), raw)
        expected_grad = (m * (1 - torch.tanh(raw.detach()) ** 2)).view_as(raw)
        expect_close(grad, expected_grad, "the gradient w.r.t. raw", atol=1e-5)
        return (
            "every vertex of the sphere moves by max_offset * tanh(its 3 raw outputs), "
            "gradient included."
        )

    return run_check("Exercise 5.2 (the mesh decoder's offsets)", attempt)


# ---------------------------------------------------------------- Exercise 5.3
def _f1_cases() -> list[tuple[str, torch.Tensor, torch.Tensor, float]]:
    """(name, pred (P1, 3), gt (P2, 3), tau): known answers, then random clouds."""
    generator = torch.Generator().manual_seed(7)
    gt = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [2.0, 0.0, 0.0], [3.0, 0.0, 0.0]])
    # pred: the first two gt points 0.03 away, plus one far point. At tau = 0.05:
    # precision 2/3, recall 2/4, F1 = 2 (2/3)(1/2) / (2/3 + 1/2) = 4/7.
    pred = torch.tensor([[0.0, 0.03, 0.0], [1.0, 0.0, 0.03], [5.0, 5.0, 5.0]])
    noisy = torch.rand(300, 3, generator=generator) - 0.5
    return [
        ("3 predicted and 4 true points (precision 2/3, recall 1/2)", pred, gt, 0.05),
        ("the same points, tau = 0.02 (nothing within it)", pred, gt, 0.02),
        (
            "300 true points and a noisy copy of 200 of them, tau = 0.03",
            noisy[:200] + 0.02 * torch.randn(200, 3, generator=generator),
            noisy,
            0.03,
        ),
    ]


def _share_within(a: torch.Tensor, b: torch.Tensor, tau: float) -> torch.Tensor:
    return (torch.cdist(a.double(), b.double()).min(dim=1).values < tau).double().mean()


def _f1_reference(pred: torch.Tensor, gt: torch.Tensor, tau: float) -> torch.Tensor:
    precision, recall = _share_within(pred, gt, tau), _share_within(gt, pred, tau)
    if float(precision + recall) == 0:
        return torch.tensor(0.0, dtype=torch.float64)
    return 2 * precision * recall / (precision + recall)


def _f1_hint(got: torch.Tensor, pred: torch.Tensor, gt: torch.Tensor, tau: float) -> str:
    """The likely mistake behind a wrong F-score."""
    if bool(torch.isnan(got)):
        return "when nothing is within tau, precision + recall = 0: return 0, don't divide by it"
    precision, recall = _share_within(pred, gt, tau), _share_within(gt, pred, tau)
    right = _f1_reference(pred, gt, tau)
    mistakes = [
        (
            _f1_reference(pred, gt, tau**0.5),
            "knn_points gives *squared* distances: compare them with tau**2, not tau",
        ),
        (100 * right, "return a fraction in [0, 1], not a percentage"),
        ((precision + recall) / 2, "F1 is the harmonic mean 2 P R / (P + R), not (P + R) / 2"),
        (precision, "that is the precision only; F1 combines it with the recall"),
        (recall, "that is the recall only; F1 combines it with the precision"),
    ]
    for value, hint in mistakes:
        if abs(float(got) - float(value)) < 1e-5:
            return hint
    return (
        "precision = share of pred within tau of gt, recall = share of gt within tau of pred, "
        "F1 = 2 P R / (P + R)"
    )


def check_f1_score(f1_score) -> bool:
    """Exercise 5.3: ``f1_score(pred, gt, tau)`` -> the F-score at ``tau`` (a fraction), as
    :func:`course_utils.evaluation.point_metrics` computes it."""

    def attempt() -> str:
        for name, pred, gt, tau in _f1_cases():
            expected = _f1_reference(pred, gt, tau)
            got = call(f1_score, pred.clone(), gt.clone(), tau)
            if isinstance(got, (int, float)):
                got = torch.tensor(float(got))
            if not torch.is_tensor(got) or got.numel() != 1:
                raise CheckFailed(
                    f"the F-score of {name} should be one number, got "
                    f"{type(got).__name__}"
                    + (f" of shape {tuple(got.shape)}" if torch.is_tensor(got) else ""),
                    "return a 0-d tensor or a float",
                )
            got = got.detach().double().cpu().reshape(())
            if not torch.isclose(got, expected, atol=1e-5) or bool(torch.isnan(got)):
                raise CheckFailed(
                    f"the F-score of {name} is wrong: expected {float(expected):.4f}, "
                    f"got {float(got):.4f}",
                    _f1_hint(got, pred, gt, tau),
                )
        return "matches the F-score of the evaluation (4/7 on the known case, 0 when none is near)."

    return run_check("Exercise 5.3 (F1@tau)", attempt)
