"""Checks for the exercises of chapter 06 (differentiable rendering)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from course_utils.checks._core import CheckFailed, call, expect_close, run_check

__all__ = ["check_camera_step", "check_soft_iou_loss", "check_soft_silhouette"]


def _close(got: object, expected: torch.Tensor, atol: float = 1e-4) -> bool:
    """Whether ``got`` is a tensor of ``expected``'s shape and values (no exception)."""
    if not torch.is_tensor(got) or tuple(got.shape) != tuple(expected.shape):
        return False
    got = got.detach().cpu().to(expected.dtype)
    return bool(torch.allclose(got, expected, atol=atol, rtol=1e-4))


# ---------------------------------------------------------------- Exercise 6.1
def _random_fragments(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(dists, pix_to_face)`` of shape (2, 5, 6, 4), as a rasterizer returns them.

    Faces are sorted nearest first, so missing ones (-1) come last; their ``dists`` are -1,
    as in PyTorch3D's fragments.
    """
    generator = torch.Generator().manual_seed(seed)
    shape = (2, 5, 6, 4)
    found = torch.rand(shape, generator=generator).sort(dim=-1, descending=True).values > 0.3
    pix_to_face = torch.where(found, torch.randint(0, 50, shape, generator=generator), -1)
    dists = (torch.rand(shape, generator=generator) * 2 - 1) * 2e-3  # around the edges
    dists = torch.where(found, dists, -torch.ones(()))
    return dists, pix_to_face


def _rendered_fragments() -> tuple[torch.Tensor, torch.Tensor]:
    """``(dists, pix_to_face)`` of a small sphere rendered with a blur radius."""
    from course_utils.p3d import renderer, utils

    R, T = renderer.look_at_view_transform(dist=2.7, elev=20.0, azim=30.0)
    cameras = renderer.FoVPerspectiveCameras(R=R, T=T)
    settings = renderer.RasterizationSettings(
        image_size=24, blur_radius=math.log(1 / 1e-4 - 1) * 1e-3, faces_per_pixel=20
    )
    fragments = renderer.MeshRasterizer(cameras=cameras, raster_settings=settings)(
        utils.ico_sphere(1)
    )
    return fragments.dists.detach(), fragments.pix_to_face


def _library_alpha(dists: torch.Tensor, pix_to_face: torch.Tensor, sigma: float) -> torch.Tensor:
    """``renderer.sigmoid_alpha_blend``'s alpha for these fragments: ``(N, H, W)``."""
    from course_utils.p3d import renderer

    # Fragments is not exported by pytorch3d.renderer itself: take it from its module.
    fragments = renderer.mesh.rasterizer.Fragments(
        pix_to_face=pix_to_face,
        zbuf=torch.ones_like(dists),
        bary_coords=torch.full((*dists.shape, 3), 1 / 3, dtype=dists.dtype),
        dists=dists,
    )
    colors = torch.zeros(*dists.shape, 3, dtype=dists.dtype)
    blend = renderer.BlendParams(sigma=sigma)
    return renderer.sigmoid_alpha_blend(colors, fragments, blend)[..., 3]


def _soft_silhouette_hint(got: object, dists, pix_to_face, sigma) -> str:
    """A hint for the usual mistakes of the soft silhouette."""
    found = pix_to_face >= 0
    prob = torch.sigmoid(-dists / sigma)
    masked = prob * found
    mistakes = [
        (
            1 - torch.prod(1 - prob, dim=-1),
            "slots without a face (pix_to_face == -1) hold dists = -1, which looks like "
            "'deep inside': set their probability to 0 with the mask pix_to_face >= 0",
        ),
        (
            1 - torch.prod(1 - torch.sigmoid(dists / sigma) * found, dim=-1),
            "the sign is flipped: dists is negative *inside* a face, where the coverage "
            "should be close to 1, so use sigmoid(-dists / sigma)",
        ),
        (
            torch.prod(1 - masked, dim=-1),
            "that is the probability that *no* face covers the pixel; alpha is 1 minus it",
        ),
        (
            masked.sum(dim=-1),
            "adding the probabilities can exceed 1; combine them as independent events: "
            "alpha = 1 - prod_k (1 - p_k)",
        ),
        (
            masked.max(dim=-1).values,
            "the largest probability alone ignores the other faces; alpha = 1 - prod_k (1 - p_k)",
        ),
    ]
    if torch.is_tensor(got) and tuple(got.shape) == (*dists.shape[:3], 1):
        return "return (N, H, W), one alpha per pixel: drop the last axis (prod(dim=-1))"
    for wrong, hint in mistakes:
        if _close(got, wrong):
            return hint
    return (
        "per face p_k = sigmoid(-dists / sigma), 0 where pix_to_face < 0; "
        "then alpha = 1 - prod over the K faces of (1 - p_k)"
    )


def check_soft_silhouette(soft_silhouette: Callable[..., Any]) -> bool:
    """Exercise 6.1: ``soft_silhouette(dists, pix_to_face, sigma) -> (N, H, W)`` alpha.

    ``dists`` and ``pix_to_face`` are ``(N, H, W, K)`` fragments; the answer must equal the
    alpha channel of ``renderer.sigmoid_alpha_blend``.
    """

    def attempt() -> str:
        cases = [
            ("random fragments, sigma = 1e-4", *_random_fragments(0), 1e-4),
            ("random fragments, sigma = 1e-3", *_random_fragments(1), 1e-3),
            ("a rendered sphere, sigma = 1e-3", *_rendered_fragments(), 1e-3),
        ]
        for name, dists, pix_to_face, sigma in cases:
            expected = _library_alpha(dists, pix_to_face, sigma)
            got = call(soft_silhouette, dists.clone(), pix_to_face.clone(), sigma)
            hint = _soft_silhouette_hint(got, dists, pix_to_face, sigma)
            expect_close(got, expected, f"alpha for {name}", hint, atol=1e-5)
        return "equal to renderer.sigmoid_alpha_blend's alpha, gaps (-1) and all."

    return run_check("Exercise 6.1 (a soft silhouette by hand)", attempt)


# ---------------------------------------------------------------- Exercise 6.2
def _iou_cases() -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    """(name, predicted (N, H, W), target (N, H, W)) pairs."""
    generator = torch.Generator().manual_seed(6)
    square = torch.zeros(1, 8, 8)
    square[0, 2:6, 2:6] = 1.0
    shifted = torch.zeros(1, 8, 8)
    shifted[0, 2:6, 4:8] = 1.0  # half of it overlaps
    elsewhere = torch.zeros(1, 8, 8)
    elsewhere[0, 6:8, 0:2] = 1.0
    soft = torch.rand(3, 10, 12, generator=generator)
    masks = (torch.rand(3, 10, 12, generator=generator) > 0.5).float()
    masks[2] *= 0.0
    masks[2, :2] = 1.0  # a view with a much smaller target: per-view IoUs differ a lot
    return [
        ("a perfect match", square, square.clone()),
        ("a square half on its target", shifted, square),
        ("no overlap at all", elsewhere, square),
        ("three soft silhouettes against masks", soft, masks),
    ]


def _soft_iou_loss(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    intersection = (predicted * target).flatten(1).sum(1)
    union = (predicted + target - predicted * target).flatten(1).sum(1)
    return 1 - (intersection / union).mean()


def check_soft_iou_loss(soft_iou_loss: Callable[..., Any]) -> bool:
    """Exercise 6.2: ``soft_iou_loss(predicted, target) -> ()`` = 1 - mean soft IoU per view."""

    def attempt() -> str:
        for name, predicted, target in _iou_cases():
            expected = _soft_iou_loss(predicted, target)
            leaf = predicted.clone().requires_grad_(True)
            got = call(soft_iou_loss, leaf, target.clone())
            inter = (predicted * target).flatten(1).sum(1)
            union = (predicted + target - predicted * target).flatten(1).sum(1)
            hint = (
                "per view: IoU = sum(p t) / sum(p + t - p t) over its pixels; the loss is "
                "1 - the mean of the views' IoUs"
            )
            if _close(got, 1 - expected):
                hint = "that is the IoU itself; a loss must fall as the overlap grows: 1 - IoU"
            elif _close(got, 1 - inter.sum() / union.sum()):
                hint = (
                    "you pooled the pixels of all views; take each view's IoU (sum over its "
                    "pixels only, flatten(1).sum(1)) and then the mean over views"
                )
            elif _close(got, 1 - (inter / (predicted + target).flatten(1).sum(1)).mean()):
                hint = "the union is sum(p + t - p t): subtract the intersection once"
            elif name.startswith("three") and _close(
                got, _soft_iou_loss((predicted > 0.5).float(), target)
            ):
                hint = (
                    "don't threshold the prediction: (p > 0.5) has no gradient; use the soft "
                    "values p in [0, 1] directly"
                )
            if torch.is_tensor(got) and got.dim() == 1:
                hint = "return one number (a 0-d tensor): the mean over views"
            expect_close(got, expected, f"the loss for {name}", hint, atol=1e-5)
            if name.startswith("three"):
                if not got.requires_grad:
                    raise CheckFailed(
                        "the loss has no gradient w.r.t. the predicted silhouettes",
                        "use torch operations on the soft values (no thresholds, no .item(), "
                        "no numpy), so autograd can follow",
                    )
                (gradient,) = torch.autograd.grad(got, leaf)
                reference = predicted.clone().requires_grad_(True)
                (expected_gradient,) = torch.autograd.grad(
                    _soft_iou_loss(reference, target), reference
                )
                expect_close(
                    gradient, expected_gradient, "its gradient w.r.t. the prediction",
                    "compute the loss from the soft values with torch operations only",
                    atol=1e-6,
                )  # fmt: skip
        return "0 for a perfect match, 1 for no overlap, per-view IoUs averaged, with gradients."

    return run_check("Exercise 6.2 (a soft IoU loss)", attempt)


# ---------------------------------------------------------------- Exercise 6.3
def _camera_problem() -> tuple[Callable[[torch.Tensor, torch.Tensor], torch.Tensor], Any]:
    """A small silhouette renderer ``(R (1, 3, 3), T (1, 3)) -> (H, W)`` and a target."""
    from course_utils.p3d import renderer, utils

    sphere = utils.ico_sphere(2)
    # An egg with a bump: its outline depends on where you look from.
    verts = sphere.verts_packed() * torch.tensor([0.6, 1.0, 0.8])
    verts = verts + 0.5 * torch.relu(verts[:, :1]) ** 2 * torch.tensor([1.0, 0.0, 0.0])
    mesh = sphere.update_padded(verts[None])
    sigma = 1e-4
    settings = renderer.RasterizationSettings(
        image_size=32, blur_radius=math.log(1 / 1e-4 - 1) * sigma, faces_per_pixel=20
    )
    shader = renderer.SoftSilhouetteShader(blend_params=renderer.BlendParams(sigma=sigma))

    def render_silhouette(R: torch.Tensor, T: torch.Tensor) -> torch.Tensor:
        cameras = renderer.FoVPerspectiveCameras(R=R, T=T)
        rasterizer = renderer.MeshRasterizer(cameras=cameras, raster_settings=settings)
        return shader(rasterizer(mesh), mesh)[0, ..., 3]

    R, T = renderer.look_at_view_transform(dist=3.0, elev=25.0, azim=40.0)
    target = render_silhouette(R, T).detach()
    return render_silhouette, target


def _reference_step(position, target, render_silhouette, optimizer, mean=False, sign=-1.0):
    """The solution (``mean``/``sign`` switch to common mistakes, for the hints)."""
    from course_utils.p3d import renderer

    optimizer.zero_grad()
    R = renderer.look_at_rotation(position[None])
    T = sign * (position[None] @ R[0])
    error = (render_silhouette(R, T) - target) ** 2
    loss = error.mean() if mean else error.sum()
    loss.backward()
    optimizer.step()
    return loss.item()


def _steps(step_fn, start, target, render_silhouette, count=2):
    """Run ``count`` steps with SGD from ``start``; returns (losses, positions)."""
    position = start.clone().requires_grad_(True)
    optimizer = torch.optim.SGD([position], lr=2e-3)
    losses, positions = [], []
    for _ in range(count):
        got = call(step_fn, position, target, render_silhouette, optimizer)
        losses.append(got)
        positions.append(position.detach().clone())
    return losses, positions


def check_camera_step(camera_step: Callable[..., Any]) -> bool:
    """Exercise 6.3: ``camera_step(position, target, render_silhouette, optimizer) -> float``."""

    def attempt() -> str:
        render_silhouette, target = _camera_problem()
        start = torch.tensor([1.0, 2.0, 2.5])
        expected_losses, expected_positions = _steps(
            _reference_step, start, target, render_silhouette
        )
        losses, positions = _steps(camera_step, start, target, render_silhouette)
        for i, (got, expected) in enumerate(zip(losses, expected_losses)):
            if torch.is_tensor(got) and got.dim() == 0:
                got = got.item()
            if not isinstance(got, float):
                raise CheckFailed(
                    f"step {i + 1} returned {type(got).__name__}, expected the loss as a float",
                    "end with `return loss.item()`",
                )
            hint = (
                "build R = renderer.look_at_rotation(position[None]) and T from "
                "'the camera centre goes to the view origin': position @ R + T = 0; "
                "the loss is the *sum* over pixels of the squared difference"
            )
            if math.isclose(got, expected * target.numel(), rel_tol=1e-3) or math.isclose(
                got * target.numel(), expected, rel_tol=1e-3
            ):
                hint = "use the sum over pixels of the squared difference (not the mean)"
            if i == 0:
                wrong_T = _steps(
                    lambda *a: _reference_step(*a, sign=1.0), start, target, render_silhouette, 1
                )[0][0]
                if math.isclose(got, wrong_T, rel_tol=1e-4):
                    hint = (
                        "T has the wrong sign: the centre C must go to the origin of view "
                        "space, C @ R + T = 0, so T = -C @ R"
                    )
            if i == 1 and torch.equal(positions[0], start):
                raise CheckFailed(
                    "the camera did not move", "call loss.backward() and then optimizer.step()"
                )
            if not math.isclose(got, expected, rel_tol=1e-4, abs_tol=1e-4):
                raise CheckFailed(
                    f"the loss of step {i + 1} should be {expected:.4f}, got {got:.4f}", hint
                )
        expect_close(
            positions[0], expected_positions[0], "the position after one step",
            "compute the loss from the rendered silhouette, call loss.backward(), then "
            "optimizer.step()",
            atol=1e-5,
        )  # fmt: skip
        expect_close(
            positions[1], expected_positions[1], "the position after a second step",
            "start every step with optimizer.zero_grad(): otherwise the gradients of all "
            "earlier steps add up",
            atol=1e-5,
        )  # fmt: skip
        return "the loss and the camera's moves match two steps of the reference."

    return run_check("Exercise 6.3 (one step of camera optimisation)", attempt)
