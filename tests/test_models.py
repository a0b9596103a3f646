"""Single-view models (``course_utils.models``): shapes, conventions, gradients, overfitting.

Every model here is tiny (a few thousand to a few hundred thousand weights) and the data
is :class:`~course_utils.models.ToyShapes`, so the whole file runs in seconds.
"""

from __future__ import annotations

import pytest
import torch

from course_utils.models import (
    DECODERS,
    ConvEncoder,
    ImplicitDecoder,
    LossConfig,
    MeshDecoder,
    ModelConfig,
    ToyShapes,
    build_model,
    losses,
    torchvision_available,
    voxel_centres,
)
from course_utils.models.toy import collate_items
from course_utils.p3d import ops, utils

#: Small decoders: the same architectures, a fraction of the width.
TINY = {
    "voxels-mlp": {"hidden": [32]},
    "voxels-conv": {"channels": [8, 8, 4, 4]},
    "points": {"num_points": 256, "hidden": [128]},
    "mesh": {"level": 2, "hidden": [128]},
    "implicit": {"hidden": 64, "num_blocks": 1},
}
#: Chapter 05's decoders, which train on the toy data (chapter 07's ``projections`` needs
#: rendered depth targets of real meshes: tests/test_projections.py).
CHAPTER05 = [name for name in DECODERS if name in TINY]


# Tiny models: one thread is faster than two waiting on each other (see conftest.py).
pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_config(decoder: str) -> ModelConfig:
    return ModelConfig(
        decoder=decoder,
        latent_dim=32,
        input_size=32,
        encoder_options={"channels": [8, 16, 32], "norm": "group"},
        decoder_options=TINY[decoder],
        loss=LossConfig(gt_points=256, mesh_samples=256, num_uniform=256, num_near=256),
    )


@pytest.fixture(scope="module")
def batch() -> dict:
    data = ToyShapes(4, image_size=32, points_per_shape=400)
    return collate_items([data[i] for i in range(4)])


# ------------------------------------------------------------------ shapes and conventions
@pytest.mark.parametrize("decoder", CHAPTER05)
def test_output_shape_of_each_decoder(decoder, batch):
    torch.manual_seed(0)
    model = build_model(tiny_config(decoder)).eval()
    with torch.no_grad():
        out = model(batch["image"])
    if model.kind in ("voxels", "implicit"):
        assert out.shape == (4, 32, 32, 32)
    elif model.kind == "points":
        assert out.shape == (4, 256, 3)
    else:
        assert len(out) == 4
        assert out.verts_padded().shape == (4, 162, 3)  # ico_sphere(2)
        assert out.faces_padded().shape == (4, 320, 3)
    if model.kind == "implicit":
        with torch.no_grad():
            at_points = model(batch["image"], torch.rand(4, 10, 3) - 0.5)
        assert at_points.shape == (4, 10)
    else:
        with pytest.raises(ValueError, match="implicit"):
            model(batch["image"], torch.zeros(4, 10, 3))


def test_encoder_accepts_any_image_size_and_checks_channels():
    encoder = ConvEncoder(latent_dim=16, channels=(4, 8), input_size=32).eval()
    assert encoder(torch.rand(2, 3, 128, 128)).shape == (2, 16)
    assert encoder(torch.rand(2, 3, 20, 20)).shape == (2, 16)
    with pytest.raises(ValueError, match=r"\(B, 3, S, S\)"):
        encoder(torch.rand(2, 1, 32, 32))


def test_mesh_decoder_with_zero_offsets_returns_the_ico_sphere():
    decoder = MeshDecoder(latent_dim=8, level=2, hidden=[16], radius=1.0)
    last = decoder.net[-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.zero_()
    meshes = decoder(torch.randn(3, 8))
    sphere = utils.ico_sphere(2)
    for verts, faces in zip(meshes.verts_list(), meshes.faces_list()):
        torch.testing.assert_close(verts, sphere.verts_packed())
        assert torch.equal(faces, sphere.faces_packed())


def test_untrained_mesh_decoder_starts_near_the_sphere():
    torch.manual_seed(0)
    decoder = MeshDecoder(latent_dim=8, level=1, hidden=[16], radius=0.35)
    radii = decoder(torch.randn(2, 8)).verts_padded().norm(dim=-1)
    assert (radii - 0.35).abs().max() < 0.02  # small random offsets, not a crumpled mesh


def test_implicit_grid_logits_follow_the_voxel_convention():
    centres = voxel_centres(32)
    # [k, j, i] is (x_i, y_j, z_k): the x coordinate grows along the last axis
    assert centres[0, 0, 1, 0] > centres[0, 0, 0, 0]
    assert centres[0, 1, 0, 1] > centres[0, 0, 0, 1]
    assert centres[1, 0, 0, 2] > centres[0, 0, 0, 2]
    assert centres[0, 0, 0].tolist() == pytest.approx([-0.5 + 1 / 64] * 3)
    # the dataset's convention: cubify(voxels, align="corner").scale_verts(0.5) fills the same box
    voxels = torch.zeros(1, 32, 32, 32)
    voxels[0, 3, 5, 30] = 1.0
    cube = ops.cubify(voxels, 0.5, align="corner").scale_verts(0.5)
    torch.testing.assert_close(cube.verts_packed().mean(0), centres[3, 5, 30])


def test_implicit_local_features_read_the_grid_in_the_voxel_convention():
    # a 16³ grid whose two channels hold the x and z coordinates of each cell centre
    centres = voxel_centres(16)  # (16, 16, 16, 3), [k, j, i] -> (x_i, y_j, z_k)
    grid = torch.stack([centres[..., 0], centres[..., 2]])[None]  # (1, 2, 16, 16, 16)
    at = centres[2:4, 5, 7:10].reshape(1, -1, 3)  # a few cell centres
    features = ImplicitDecoder.local_features(grid, at)
    torch.testing.assert_close(features, at[..., [0, 2]])  # exactly the cells' values
    # between two centres: the linear interpolation; beyond the box: the border value
    between = torch.tensor([[[0.5 * (centres[0, 0, 3, 0] + centres[0, 0, 4, 0]), 0.0, 0.0]]])
    beyond = torch.tensor([[[0.9, 0.0, -0.9]]])
    assert float(ImplicitDecoder.local_features(grid, between)[0, 0, 0]) == pytest.approx(
        float(between[0, 0, 0])
    )
    far = ImplicitDecoder.local_features(grid, beyond)[0, 0]
    assert far.tolist() == pytest.approx([0.5 - 1 / 32, -0.5 + 1 / 32])


@pytest.mark.parametrize("grid_channels", [0, 8])
def test_implicit_grid_logits_equal_the_queries_at_the_voxel_centres(grid_channels):
    torch.manual_seed(0)
    decoder = ImplicitDecoder(16, hidden=32, num_blocks=2, grid_channels=grid_channels).eval()
    assert (decoder.grid is None) == (grid_channels == 0)
    assert decoder.fc_p.in_features == 3 + 6 * 4 + grid_channels
    latent = torch.randn(2, 16)
    with torch.no_grad():
        grid = decoder.grid_logits(latent, resolution=8, chunk_size=100)  # 512 in 6 chunks
        direct = decoder(latent, voxel_centres(8).view(1, -1, 3).expand(2, -1, -1))
    assert grid.shape == (2, 8, 8, 8)
    torch.testing.assert_close(grid.view(2, -1), direct)
    assert not torch.allclose(grid[0], grid[1])  # the latent matters


def test_implicit_decoder_starts_at_its_prior_and_checks_its_arguments():
    torch.manual_seed(0)
    decoder = ImplicitDecoder(8, hidden=16, num_blocks=1, init_occupancy=0.25).eval()
    with torch.no_grad():
        p = torch.sigmoid(decoder(torch.randn(3, 8), torch.rand(3, 200, 3) - 0.5))
    assert (p - 0.25).abs().max() < 0.1  # tiny output weights: about the prior everywhere
    with pytest.raises(ValueError, match=r"\(B, Q, 3\)"):
        decoder(torch.randn(3, 8), torch.rand(2, 10, 3))
    with pytest.raises(ValueError, match=">= 0"):
        ImplicitDecoder(8, grid_channels=-1)


def test_occupancy_at_voxel_centres_returns_the_voxels():
    voxels = (torch.rand(2, 32, 32, 32) > 0.5).float()
    centres = voxel_centres(32).view(1, -1, 3).expand(2, -1, -1)
    values = losses.occupancy_at(voxels, centres)
    torch.testing.assert_close(values, voxels.view(2, -1))
    far = losses.occupancy_at(torch.ones(1, 32, 32, 32), torch.tensor([[[0.0, 0.0, 0.7]]]))
    assert float(far) == 0.0  # outside the grid is empty


def test_sample_queries_are_in_the_box_and_near_the_surface():
    g = torch.Generator().manual_seed(0)
    surface = torch.rand(2, 50, 3) - 0.5
    queries = losses.sample_queries(surface, num_uniform=100, num_near=60, sigma=0.01, generator=g)
    assert queries.shape == (2, 160, 3)
    assert queries[:, :100].abs().max() <= 0.55
    near = torch.cdist(queries[:, 100:], surface).min(dim=-1).values
    assert near.max() < 0.06  # 6 sigma


def test_voxel_bce_weights_the_occupied_voxels():
    logits = torch.zeros(1, 2, 2, 2)
    full = torch.ones(1, 2, 2, 2)
    log2 = torch.log(torch.tensor(2.0))
    torch.testing.assert_close(losses.voxel_bce_loss(logits, full, pos_weight=1.0), log2)
    torch.testing.assert_close(losses.voxel_bce_loss(logits, full, pos_weight=3.0), 3 * log2)
    torch.testing.assert_close(losses.voxel_bce_loss(logits, 0 * full, pos_weight=3.0), log2)


def test_mesh_loss_parts_and_weights():
    sphere = utils.ico_sphere(2)
    target = ops.sample_points_from_meshes(sphere, 500)
    total, parts = losses.mesh_loss(sphere, target, num_samples=500, w_edge=0.0)
    assert set(parts) == {"chamfer", "laplacian", "normal"}
    far, _ = losses.mesh_loss(sphere.scale_verts(2.0), target, num_samples=500, w_edge=0.0)
    assert parts["chamfer"] < 0.03  # the same sphere sampled twice: only sampling noise
    assert far > 1.5  # radius 2 vs 1: about 1² each way
    expected = parts["chamfer"] + 0.1 * parts["laplacian"] + 0.01 * parts["normal"]
    torch.testing.assert_close(total, expected)


# ------------------------------------------------------------------ building models
def test_build_model_errors_and_config_round_trip():
    with pytest.raises(ValueError, match="unknown decoder 'pointz'"):
        build_model(decoder="pointz")
    with pytest.raises(ValueError, match="unknown encoder"):
        build_model(decoder="points", encoder="vgg")
    config = tiny_config("mesh")
    again = ModelConfig.from_dict(config.to_dict())
    assert again.to_dict() == config.to_dict()
    with pytest.raises(ValueError, match="unknown model settings"):
        ModelConfig.from_dict({**config.to_dict(), "colour": "red"})


@pytest.mark.skipif(torchvision_available(), reason="torchvision is installed")
def test_resnet_encoder_without_torchvision_says_how_to_install_it():
    with pytest.raises(ImportError, match="pip install torchvision"):
        build_model(decoder="points", encoder="resnet18")


# ------------------------------------------------------------------ gradients and fitting
@pytest.mark.parametrize("decoder", CHAPTER05)
def test_gradients_reach_the_encoder(decoder, batch):
    torch.manual_seed(0)
    model = build_model(tiny_config(decoder))
    loss, parts = model.loss(batch, generator=torch.Generator().manual_seed(0))
    assert loss.dim() == 0 and torch.isfinite(loss)
    assert all(isinstance(v, float) for v in parts.values())
    loss.backward()
    first_conv = model.encoder.blocks[0][0].weight
    assert first_conv.grad is not None and first_conv.grad.abs().sum() > 0


#: (steps, learning rate, required final/initial loss ratio)
OVERFIT = {
    "voxels-mlp": (20, 3e-3, 0.6),
    "voxels-conv": (15, 3e-2, 0.6),
    "points": (25, 3e-3, 0.2),
    "mesh": (25, 3e-3, 0.5),
    "implicit": (40, 1e-2, 0.6),
}


@pytest.mark.parametrize("decoder", CHAPTER05)
def test_overfitting_a_tiny_batch_drives_the_loss_down(decoder, batch):
    steps, lr, ratio = OVERFIT[decoder]
    torch.manual_seed(0)
    model = build_model(tiny_config(decoder))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for _ in range(steps):
        # the same random choices (point subsets, queries) every step: a fixed target to fit
        torch.manual_seed(1)
        loss, _ = model.loss(batch, generator=torch.Generator().manual_seed(0))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(float(loss.detach()))
    final = min(history[-3:])
    assert final < ratio * history[0], f"{decoder}: {history[0]:.4g} -> {final:.4g}"


# ------------------------------------------------------------------ the toy stand-in
def test_toy_items_have_the_dataset_format_and_repeat():
    data = ToyShapes(3, image_size=24, points_per_shape=100, seed=5)
    item = data[2]
    assert item["image"].shape == (3, 24, 24) and item["image"].dtype == torch.float32
    assert 0.0 <= float(item["image"].min()) and float(item["image"].max()) <= 1.0
    assert item["mask"].shape == (1, 24, 24)
    assert item["voxels"].shape == (32, 32, 32) and 0 < item["voxels"].sum() < 32**3
    assert item["points"].shape == item["normals"].shape == (100, 3)
    assert item["faces"].dtype == torch.int64
    low, high = item["verts"].min(0).values, item["verts"].max(0).values
    assert float((high - low).norm()) == pytest.approx(1.0, abs=1e-5)  # diagonal 1
    again = ToyShapes(3, image_size=24, points_per_shape=100, seed=5)[2]
    assert torch.equal(item["points"], again["points"])
    assert torch.equal(item["image"], again["image"])
    batch = collate_items([data[0], data[1]])
    assert batch["image"].shape == (2, 3, 24, 24) and isinstance(batch["verts"], list)
