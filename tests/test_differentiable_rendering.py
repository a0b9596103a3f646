"""Differentiable rendering (chapter 06): gradients w.r.t. cameras and textures, and a step.

The rasterizer tests check gradients w.r.t. vertices; these check the other parameters a
fit learns through the soft shaders — the camera's rotation (a log-rotation turned into
``R`` by ``so3_exp_map``), its translation and centre, per-vertex colours
(``TexturesVertex``) and a texture map (``TexturesUV``) — against central finite
differences on a tiny scene, and that a gradient step on the camera lowers the silhouette
loss. Everything goes through the facade, so the tests run on both backends. The built-in
backend works in float64 (tight tolerances); real PyTorch3D's rasterizer is float32-only,
so there the tests use float32 with a larger step and looser tolerances (the built-in
backend runs them in float32 too).
"""

from __future__ import annotations

import math

import pytest
import torch

from course_utils import multiview
from course_utils.p3d import BACKEND, renderer, structures, transforms, utils

DTYPES = [torch.float32] + ([torch.float64] if BACKEND == "torch" else [])
SIZE = 16
SIGMA = 1e-3


def fd_step(dtype: torch.dtype) -> float:
    return 1e-6 if dtype == torch.float64 else 1e-4


def tolerances(dtype: torch.dtype) -> dict[str, float]:
    return dict(rtol=1e-4, atol=1e-6) if dtype == torch.float64 else dict(rtol=5e-2, atol=1e-2)


def scene(dtype: torch.dtype) -> structures.Meshes:
    """A lumpy, coloured ico_sphere(1): 42 vertices, 80 faces, no symmetry."""
    generator = torch.Generator().manual_seed(0)
    sphere = utils.ico_sphere(1)
    verts = sphere.verts_packed().to(dtype)
    verts = verts * (1 + 0.15 * torch.rand(len(verts), 1, generator=generator, dtype=dtype))
    verts = verts * torch.tensor([0.9, 0.7, 0.8], dtype=dtype)
    colours = torch.rand(len(verts), 3, generator=generator, dtype=dtype)
    return structures.Meshes(
        verts=[verts],
        faces=[sphere.faces_packed()],
        textures=renderer.TexturesVertex(verts_features=[colours]),
    )


def base_pose(dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    R, T = renderer.look_at_view_transform(dist=2.5, elev=25.0, azim=30.0)
    return R.to(dtype), T.to(dtype)


def soft_images(mesh, R: torch.Tensor, T: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(1, S, S, 4) soft Phong RGBA and (1, S, S) soft silhouette of ``mesh``."""
    dtype = R.dtype
    cameras = renderer.FoVPerspectiveCameras(R=R, T=T)
    settings = multiview.soft_raster_settings(SIZE, sigma=SIGMA, faces_per_pixel=40)
    fragments = renderer.MeshRasterizer(cameras=cameras, raster_settings=settings)(mesh)
    lights = renderer.PointLights(
        location=torch.tensor([[1.0, 2.0, 3.0]], dtype=dtype),
        ambient_color=torch.full((1, 3), 0.4, dtype=dtype),
        diffuse_color=torch.full((1, 3), 0.5, dtype=dtype),
        specular_color=torch.full((1, 3), 0.2, dtype=dtype),
    )
    materials = renderer.Materials(
        ambient_color=torch.ones(1, 3, dtype=dtype),
        diffuse_color=torch.ones(1, 3, dtype=dtype),
        specular_color=torch.ones(1, 3, dtype=dtype),
        shininess=16.0,
    )
    blend = renderer.BlendParams(sigma=SIGMA, gamma=0.05)
    rgba = renderer.SoftPhongShader(
        cameras=cameras, lights=lights, materials=materials, blend_params=blend
    )(fragments, mesh)
    silhouette = renderer.SoftSilhouetteShader(blend_params=blend)(fragments, mesh)[..., 3]
    return rgba, silhouette


def weighted_sum(dtype: torch.dtype):
    """A fixed random linear read-out of the images: every pixel and channel counts."""
    generator = torch.Generator().manual_seed(1)
    w_rgba = torch.rand(1, SIZE, SIZE, 4, generator=generator, dtype=dtype)
    w_silhouette = torch.rand(1, SIZE, SIZE, generator=generator, dtype=dtype)

    def read(rgba: torch.Tensor, silhouette: torch.Tensor) -> torch.Tensor:
        # Colours premultiplied by alpha: where a face first enters a pixel's blur radius,
        # the pixel's RGB jumps from the background to that face's colour (PyTorch3D's
        # softmax blend weighs the background against the nearest face), but its alpha is
        # only ~1e-4 there, so alpha * RGB is continuous and finite differences hold.
        premultiplied = torch.cat([rgba[..., :3] * rgba[..., 3:], rgba[..., 3:]], dim=-1)
        return (w_rgba * premultiplied).sum() + (w_silhouette * silhouette).sum()

    return read


def numeric_gradient(fn, x: torch.Tensor, h: float, entries: list[int]) -> torch.Tensor:
    """Central differences of the scalar ``fn`` at ``x`` for the flat ``entries`` of ``x``."""
    values = []
    for i in entries:
        plus, minus = x.clone(), x.clone()
        plus.view(-1)[i] += h
        minus.view(-1)[i] -= h
        with torch.no_grad():
            values.append((fn(plus) - fn(minus)) / (2 * h))
    return torch.stack(values)


def assert_gradient(
    fn, x: torch.Tensor, dtype: torch.dtype, h: float | None = None, sample: int | None = None
) -> torch.Tensor:
    """Autograd's gradient of ``fn`` at ``x`` equals central differences; returns it.

    ``sample``: compare only the ``sample`` largest entries of the gradient and ``sample``
    others chosen at random (large parameter tensors); None: every entry.
    """
    leaf = x.clone().requires_grad_(True)
    (analytic,) = torch.autograd.grad(fn(leaf), leaf)
    flat = analytic.reshape(-1)
    entries = list(range(x.numel()))
    if sample is not None:
        largest = flat.abs().argsort(descending=True)[:sample].tolist()
        generator = torch.Generator().manual_seed(4)
        others = torch.randperm(x.numel(), generator=generator)[:sample].tolist()
        entries = sorted(set(largest + others))
    numeric = numeric_gradient(fn, x, h or fd_step(dtype), entries)
    assert numeric.abs().max() > 1e-3, "the test scene must actually depend on x"
    tol = tolerances(dtype)
    scale = float(numeric.abs().max())
    torch.testing.assert_close(flat[entries], numeric, rtol=tol["rtol"], atol=tol["atol"] * scale)
    return analytic


# ---------------------------------------------------------------- cameras
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_gradient_wrt_camera_rotation_and_translation(dtype):
    mesh = scene(dtype)
    R0, T0 = base_pose(dtype)
    read = weighted_sum(dtype)
    # Away from 0, where PyTorch3D's so3_exp_map clamps the angle.
    start = torch.tensor([0.05, -0.04, 0.03, 0.02, -0.03, 0.05], dtype=dtype)

    def loss(params: torch.Tensor) -> torch.Tensor:
        log_rotation, shift = params[:3], params[3:]
        R = transforms.so3_exp_map(log_rotation[None]) @ R0  # turn the camera a little
        return read(*soft_images(mesh, R, T0 + shift[None]))

    gradient = assert_gradient(loss, start, dtype)
    assert gradient[:3].abs().max() > 0 and gradient[3:].abs().max() > 0


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_gradient_wrt_camera_centre_with_look_at(dtype):
    # The parameterisation of chapter 06's camera fit: a centre C, R = look_at_rotation(C),
    # T = -C @ R. Only the silhouette is read, as in the fit.
    mesh = scene(dtype)
    generator = torch.Generator().manual_seed(2)
    weights = torch.rand(1, SIZE, SIZE, generator=generator, dtype=dtype)
    centre = torch.tensor([1.2, 1.0, 2.0], dtype=dtype)

    at = torch.zeros(1, 3, dtype=dtype)
    up = torch.tensor([[0.0, 1.0, 0.0]], dtype=dtype)

    def loss(position: torch.Tensor) -> torch.Tensor:
        R = renderer.look_at_rotation(position[None], at=at, up=up)
        T = -position[None] @ R[0]
        return (weights * soft_images(mesh, R, T)[1]).sum()

    assert_gradient(loss, centre, dtype)


# ---------------------------------------------------------------- textures
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_gradient_wrt_vertex_colours(dtype):
    mesh = scene(dtype)
    R, T = base_pose(dtype)
    read = weighted_sum(dtype)
    colours = mesh.textures.verts_features_padded()[0].detach()  # (V, 3)

    def loss(features: torch.Tensor) -> torch.Tensor:
        textured = structures.Meshes(
            verts=mesh.verts_list(),
            faces=mesh.faces_list(),
            textures=renderer.TexturesVertex(verts_features=[features]),
        )
        return read(*soft_images(textured, R, T))

    # The image is linear in the colours, so a large step is exact even in float32.
    gradient = assert_gradient(loss, colours, dtype, h=1e-2, sample=10)
    assert gradient.abs().sum() > 0


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_gradient_wrt_texture_map(dtype):
    mesh = scene(dtype)
    R, T = base_pose(dtype)
    read = weighted_sum(dtype)
    verts = mesh.verts_packed()
    # Planar UVs from x and y: every face samples a different part of a 6 x 6 map.
    low, high = verts[:, :2].min(dim=0).values, verts[:, :2].max(dim=0).values
    verts_uvs = (verts[:, :2] - low) / (high - low)
    generator = torch.Generator().manual_seed(3)
    texture_map = torch.rand(6, 6, 3, generator=generator, dtype=dtype)

    def loss(texels: torch.Tensor) -> torch.Tensor:
        textures = renderer.TexturesUV(
            maps=[texels], faces_uvs=[mesh.faces_packed()], verts_uvs=[verts_uvs]
        )
        textured = structures.Meshes(
            verts=mesh.verts_list(), faces=mesh.faces_list(), textures=textures
        )
        return read(*soft_images(textured, R, T))

    # Bilinear sampling is linear in the texels: a large step is exact.
    gradient = assert_gradient(loss, texture_map, dtype, h=1e-2, sample=10)
    assert (gradient.abs().sum(dim=-1) > 0).sum() >= 4  # several texels are seen


# ---------------------------------------------------------------- a step downhill
def test_one_gradient_step_on_the_camera_lowers_the_silhouette_loss():
    mesh = scene(torch.float32)
    R_true, T_true = base_pose(torch.float32)
    with torch.no_grad():
        target = soft_images(mesh, R_true, T_true)[1]
    # A wrong guess: turned by about 8 degrees and shifted.
    start = torch.tensor([0.08, -0.10, 0.05, 0.15, -0.10, 0.20])

    def loss(params: torch.Tensor) -> torch.Tensor:
        R = transforms.so3_exp_map(params[None, :3]) @ R_true
        return ((soft_images(mesh, R, T_true + params[None, 3:])[1] - target) ** 2).sum()

    params = start.clone().requires_grad_(True)
    before = loss(params)
    (gradient,) = torch.autograd.grad(before, params)
    assert gradient.norm() > 0
    with torch.no_grad():
        after = loss(start - 0.02 * gradient / gradient.norm())
        uphill = loss(start + 0.02 * gradient / gradient.norm())
    assert after < before < uphill
    # ... and a few more steps keep going down. (Not necessarily straight to the true
    # parameters: for a small object, turning the camera a little and sliding it sideways
    # change the silhouette almost alike, so the loss has long, flat valleys.)
    params = start.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([params], lr=0.02)
    for _ in range(30):
        optimizer.zero_grad()
        value = loss(params)
        value.backward()
        optimizer.step()
    assert loss(params.detach()) < 0.5 * before.detach()


# ---------------------------------------------------------------- the targets
def test_multiview_targets_match_their_cameras():
    mug = multiview.load_target("mug")
    verts = mug.verts_packed()
    assert math.isclose(float(verts.norm(dim=1).max()), 1.0, rel_tol=1e-5)
    centre = (verts.min(dim=0).values + verts.max(dim=0).values) / 2
    assert centre.abs().max() < 1e-5
    data = multiview.make_views(mug, num_views=6, image_size=32)
    assert data.images.shape == (6, 32, 32, 3) and data.silhouettes.shape == (6, 32, 32)
    assert len(data) == 6 and data.image_size == 32
    elev, azim = multiview.spiral_views(6)
    torch.testing.assert_close(data.elev, elev)
    assert float(elev.max()) < 90 and float(elev.min()) > -90 and elev.diff().lt(0).all()
    cameras, lights = data.cameras_and_lights([1, 4])
    torch.testing.assert_close(lights.location, cameras.get_camera_center())
    torch.testing.assert_close(cameras.get_camera_center().norm(dim=1), torch.full((2,), 2.7))
    # The masks are 0/1; where a mask is empty the image is the white background.
    assert set(data.masks.unique().tolist()) == {0.0, 1.0}
    empty = data.masks == 0
    torch.testing.assert_close(data.images[empty], torch.ones_like(data.images[empty]))
    # The soft silhouettes lie in [0, 1], are (almost) 1 inside the mask, and only spill a
    # pixel or so beyond it: their outline is the mask's, blurred by sigma.
    assert float(data.silhouettes.min()) >= 0 and float(data.silhouettes.max()) <= 1
    assert float(data.silhouettes[data.masks == 1].mean()) > 0.95
    spill = (data.silhouettes > 0.5) & (data.masks == 0)
    assert int(spill.sum()) < 0.1 * int(data.masks.sum())
    # The same mesh has IoU 1 with itself; a shifted copy less.
    iou_self = multiview.silhouette_iou(mug, mug, cameras, image_size=32)
    torch.testing.assert_close(iou_self, torch.ones(2))
    moved = mug.offset_verts(torch.tensor([0.3, 0.0, 0.0]).expand(len(verts), 3))
    assert (multiview.silhouette_iou(moved, mug, cameras, image_size=32) < 0.9).all()
    chosen = multiview.make_views(mug, image_size=16, elev=torch.tensor([0.0]), azim=[90.0])
    assert len(chosen) == 1 and float(chosen.azim[0]) == 90.0
    with pytest.raises(ValueError):
        multiview.make_views(mug, image_size=16, elev=torch.tensor([0.0]))
