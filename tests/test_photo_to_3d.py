"""Chapter 08: true depth of the course's renders, the depth network through the training
loop, the photo reader, the pipelines and every error path of ``reconstruct``."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from course_utils.datasets import ShapeDataset
from course_utils.depth import (
    DepthViews,
    confident_pixels,
    depth_metrics,
    depth_to_points,
    evaluate_depth,
    predict_depth,
    predict_depth_scale,
    reliable_pixels,
)
from course_utils.metrics import f_score
from course_utils.models import ModelConfig
from course_utils.photo3d import (
    depth_pipeline,
    load_photo,
    mesh_points,
    save_coloured_mesh,
    surface_scores,
    voxel_colours,
)
from course_utils.tools.cli import main
from course_utils.training import TrainConfig, load_model, make_dataset, train
from course_utils.vox import load_vox

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def views(tmp_path_factory) -> DepthViews:
    cache = tmp_path_factory.mktemp("cache")
    shapes = ShapeDataset("train", num_shapes=12, image_size=48, points_per_shape=64,
                          cache_dir=cache, progress=False)  # fmt: skip
    return DepthViews(shapes, progress=False)


def test_true_depth_unprojects_onto_the_true_surface(views: DepthViews) -> None:
    for index in range(3):
        item = views[index]
        mask = item["depth"][0] > 0
        # the rendered mask and the depth's support agree (same rasterizer settings)
        assert (mask == (item["mask"][0] > 0.5)).float().mean() > 0.99
        points, colours = depth_to_points(item["image"], item["depth"][0], mask,
                                          item["R"], item["T"], item["fov"])  # fmt: skip
        surface = mesh_points(item["verts"], item["faces"], 60000)
        # every lifted pixel lies on the mesh (within the sampling's spacing)
        assert f_score(points, surface, 0.012).precision > 0.995
        assert torch.equal(colours, item["image"].permute(1, 2, 0)[mask])


def test_depth_cache_is_reused(views: DepthViews) -> None:
    again = DepthViews(views.shapes, progress=False)
    assert torch.equal(again.depth, views.depth)
    assert list(Path(views.shapes.folder).glob("depth_train_48_v1.npz"))


def test_depth_metrics_known_values() -> None:
    true = torch.tensor([[[2.0, 2.0], [4.0, 0.0]]])
    pred = torch.tensor([[[2.0, 3.0], [4.4, 9.0]]])
    scores = depth_metrics(pred, true, torch.ones(1, 2, 2, dtype=torch.bool))
    # the pixel without true depth is ignored: (0 + 0.5 + 0.1) / 3; 3/2 = 1.5 >= 1.25
    assert math.isclose(float(scores["abs_rel"][0]), 0.2, rel_tol=1e-6)
    assert math.isclose(float(scores["delta1"][0]), 2 / 3, rel_tol=1e-6)


def test_reliable_pixels_drop_a_depth_step_and_the_rim() -> None:
    # a 64² square of depth 2 on its left half, 2.3 on its right half, inside a 2-pixel border
    depth = torch.zeros(64, 64)
    depth[2:62, 2:32], depth[2:62, 32:62] = 2.0, 2.3
    mask = depth > 0
    # footprint at z = 2: 2 * 2 * tan(15°) / 64 = 0.0167; the 0.3 step is 18 footprints
    keep = reliable_pixels(depth, mask, fov=30.0, erode=0, max_slope=4.0)
    assert keep[10].nonzero()[:, 0].tolist() == [*range(2, 31), *range(33, 62)]
    assert keep[2:62].sum() == 60 * 58 and not keep[:2].any()  # 60 columns, less the step's 2
    # erosion by 2 takes 2 pixels off every side of the silhouette
    eroded = reliable_pixels(depth, mask, fov=30.0, erode=2, max_slope=4.0)
    assert eroded[10].nonzero()[:, 0].tolist() == [*range(4, 31), *range(33, 60)]
    assert not eroded[:4].any() and eroded[4].any() and not eroded[60:].any()
    # a slanted plane (3 footprints per pixel) is kept whole; 5 per pixel is a cliff
    footprint = 2 * math.tan(math.radians(15)) / 64  # per unit of depth
    ramp = 2.0 * (1 + 3 * footprint) ** torch.arange(64.0)  # step = 3 footprints of itself
    plane = ramp.expand(64, 64).contiguous()
    full = torch.ones(64, 64, dtype=torch.bool)
    assert reliable_pixels(plane, full, fov=30.0, erode=0, max_slope=4.0).all()
    steep = (2.0 * (1 + 5 * footprint) ** torch.arange(64.0)).expand(64, 64).contiguous()
    assert not reliable_pixels(steep, full, fov=30.0, erode=0, max_slope=4.0).any()
    with pytest.raises(ValueError, match="depth and mask"):
        reliable_pixels(depth, mask[:10], fov=30.0)


def test_predict_depth_flip_averages_the_mirrored_prediction() -> None:
    class ColumnDepth(torch.nn.Module):  # depth = 2 + column index / 10, mask logit = row
        device = torch.device("cpu")

        def forward(self, images):
            b, _, h, w = images.shape
            cols = torch.arange(w, dtype=torch.float32).expand(b, 1, h, w)
            rows = torch.arange(h, dtype=torch.float32)[:, None].expand(b, 1, h, w)
            return 2 + cols / 10, rows - 2.5

    images = torch.rand(2, 3, 6, 8)
    depth, prob = predict_depth(ColumnDepth(), images)
    assert torch.allclose(depth[0, 0], 2 + torch.arange(8.0) / 10)
    flipped, prob_flipped = predict_depth(ColumnDepth(), images, flip=True)
    # (c + (7 - c)) / 2 = 3.5 columns everywhere; the mask (by row) is unchanged by a flip
    assert torch.allclose(flipped, torch.full((2, 6, 8), 2.35))
    assert torch.allclose(prob_flipped, prob)


def test_depth_gradient_loss_known_values() -> None:
    from course_utils.models.depth import depth_loss

    true = torch.full((1, 1, 8, 8), 2.0)
    on = torch.ones(1, 1, 8, 8)
    logits = torch.full((1, 1, 8, 8), 20.0)  # sure of the mask: BCE ~ 0
    # a constant offset: L1 0.1, no gradient error
    _, parts = depth_loss(true + 0.1, logits, true, on, grad_weight=1.0)
    assert math.isclose(parts["depth_l1"], 0.1, rel_tol=1e-5) and parts["depth_grad"] < 1e-6
    # a step of 1 between columns 3 and 4: 1-apart pairs, 8 of 112 differ by 1; 4-apart
    # pairs, 32 of 64 (horizontal 8 x 4 rows, all cross) + 32 vertical (none) -> 32 / 64
    pred = true.clone()
    pred[..., 4:] += 1.0
    loss, parts = depth_loss(pred, logits, true, on, mask_weight=0.0, grad_weight=1.0)
    assert math.isclose(parts["depth_l1"], 0.5, rel_tol=1e-5)
    assert math.isclose(parts["depth_grad"], 8 / 112 + 32 / 64, rel_tol=1e-5)
    assert math.isclose(float(loss), 0.5 + 8 / 112 + 32 / 64, rel_tol=1e-5)


def test_laplace_nll_known_values_and_its_minimum() -> None:
    from course_utils.models.depth import MIN_SCALE, _laplace_regret, laplace_nll

    error = torch.tensor([0.1, -0.05, 0.0])
    scale = torch.tensor([0.2, 0.05, 0.01])
    # |e| / b + ln b by hand: 0.5 + ln 0.2, 1 + ln 0.05, 0 + ln 0.01
    expected = torch.tensor([0.5 - 1.6094379, 1 - 2.9957323, -4.6051702])
    assert torch.allclose(laplace_nll(error, scale), expected, atol=1e-6)
    # for one error the NLL is smallest at b = |e|: the scale learns the size of the error
    grid = torch.linspace(0.01, 0.5, 491)
    best = grid[laplace_nll(torch.full_like(grid, 0.13), grid).argmin()]
    assert abs(float(best) - 0.13) < 1e-3
    # the loss's term is measured from that minimum: 0 at b = |e| (or MIN_SCALE), > 0 elsewhere
    regret = _laplace_regret(torch.tensor([0.13, 0.13, 0.0]), torch.tensor([0.13, 0.3, MIN_SCALE]))
    assert torch.allclose(regret[[0, 2]], torch.zeros(2), atol=1e-6)
    assert math.isclose(float(regret[1]), 0.13 / 0.3 + math.log(0.3) - 1 - math.log(0.13),
                        rel_tol=1e-5)  # fmt: skip


def test_depth_loss_scale_term_trains_the_scale_not_the_depth() -> None:
    from course_utils.models.depth import depth_loss

    true = torch.full((1, 1, 4, 4), 2.0)
    on = torch.ones(1, 1, 4, 4)
    logits = torch.full((1, 1, 4, 4), 20.0)
    depth = (true + 0.1).requires_grad_()
    scale = torch.full((1, 1, 4, 4), 0.2, requires_grad=True)
    loss, parts = depth_loss(depth, logits, true, on, grad_weight=0.0, scale=scale,
                             scale_weight=1.0)  # fmt: skip
    regret = 0.1 / 0.2 + math.log(0.2) - (1 + math.log(0.1))
    assert math.isclose(parts["scale_nll"], regret, rel_tol=1e-5)
    assert math.isclose(float(loss.detach()), 0.1 + regret + 0.1 * parts["mask_bce"], rel_tol=1e-5)
    loss.backward()
    # the depth's gradient is the L1 term's alone (1/16 per pixel); b is pulled down to |e|
    assert torch.allclose(depth.grad, torch.full_like(depth, 1 / 16))
    assert torch.allclose(scale.grad, torch.full_like(scale, (1 / 0.2 - 0.1 / 0.04) / 16))


def test_augment_views_mirrors_image_depth_and_mask_together() -> None:
    from course_utils.models.depth import augment_views

    image = torch.rand(64, 3, 5, 6)
    depth = torch.arange(6.0).expand(64, 1, 5, 6) + 2  # depth grows to the right
    mask = torch.zeros(64, 1, 5, 6)
    mask[..., :2] = 1
    out = augment_views({"image": image, "depth": depth, "mask": mask},
                        torch.Generator().manual_seed(0))  # fmt: skip
    flipped = out["depth"][:, 0, 0, 0] == 7
    assert 10 < int(flipped.sum()) < 54  # about half of them
    assert torch.equal(out["mask"][flipped], mask[flipped].flip(-1))
    assert torch.equal(out["mask"][~flipped], mask[~flipped])
    for i in range(64):  # each image: mirrored as its depth, channels in some order
        back = out["image"][i].flip(-1) if flipped[i] else out["image"][i]
        order = [int((back[c] - image[i]).abs().flatten(1).sum(1).argmin()) for c in range(3)]
        assert sorted(order) == [0, 1, 2] and torch.equal(back, image[i, order])


def test_confident_pixels_keeps_the_planted_confident_region() -> None:
    mask = torch.zeros(8, 8, dtype=torch.bool)
    mask[1:7, 1:7] = True
    scale = torch.full((8, 8), 0.05)
    scale[2:5, 2:5] = 0.01  # the network is sure here only
    scale[0, 0] = 0.0  # sure, but off the mask
    keep = confident_pixels(scale, mask, max_scale=0.02, min_keep=0.0)
    assert torch.equal(keep, mask & (scale < 0.02)) and int(keep.sum()) == 9
    # a view it is unsure of everywhere still keeps its min_keep most confident share
    scale[1, 1:7] = torch.linspace(0.03, 0.04, 6)
    keep = confident_pixels(scale, mask, max_scale=0.001, min_keep=0.5)
    assert int(keep.sum()) == 18 and keep[2:5, 2:5].all() and keep[1, 1:7].all()
    with pytest.raises(ValueError, match="scale and mask"):
        confident_pixels(scale, mask[:4])
    with pytest.raises(ValueError, match="min_keep"):
        confident_pixels(scale, mask, min_keep=2.0)


def test_depth_net_predicts_a_positive_scale_and_refuses_the_other_head() -> None:
    from course_utils.models.depth import MIN_SCALE, DepthNet

    net = DepthNet(channels=(4, 8), input_size=16)
    depth, prob, scale = predict_depth_scale(net, torch.rand(2, 3, 20, 20))
    assert scale.shape == depth.shape == (2, 20, 20) and bool((scale >= MIN_SCALE).all())
    # the head starts near b = softplus(-3) ~ 0.05, the size of an untrained network's error
    assert 0.005 < float(scale.median()) < 0.5
    old = DepthNet(channels=(4, 8), input_size=16, uncertainty=False)
    assert predict_depth_scale(old, torch.rand(1, 3, 20, 20))[2] is None
    with pytest.raises(ValueError, match="without the uncertainty output"):
        net.load_state_dict(old.state_dict())


@pytest.mark.parametrize("azim", [0.0, 137.0])
@pytest.mark.parametrize("elev", [10.0, 25.0, 40.0])
def test_ray_elevation_known_values(elev: float, azim: float) -> None:
    from course_utils.models.depth import ray_elevation
    from course_utils.p3d.renderer import look_at_view_transform

    R, _ = look_at_view_transform(dist=2.0, elev=elev, azim=azim)
    size, fov = 9, 30.0
    sines = ray_elevation(R, size, fov)[0, 0]
    # the centre column's rays rise by atan(y tan(fov/2)) above the optical axis, which
    # points elev degrees below the horizon (NDC y of row r: 1 - (2r + 1) / size)
    y = 1 - (2 * torch.arange(size, dtype=torch.float64) + 1) / size
    angle = torch.atan(y * math.tan(math.radians(fov) / 2)) - math.radians(elev)
    assert torch.allclose(sines[:, size // 2].double(), torch.sin(angle), atol=1e-6)
    assert torch.allclose(sines, sines.flip(-1), atol=1e-6)  # mirroring keeps it
    assert bool((sines[:-1] > sines[1:]).all())  # higher rows look higher
    if elev == 25.0:  # None: the default camera's elevation (photo3d.default_camera)
        from course_utils.photo3d import default_camera

        assert torch.allclose(ray_elevation(None, size, fov), sines[None, None], atol=1e-6)
        assert torch.allclose(ray_elevation(default_camera()[0][None], size, fov)[0, 0], sines,
                              atol=1e-6)  # fmt: skip


def test_depth_net_reads_the_camera_elevation_and_checks_it() -> None:
    from course_utils.models.depth import DepthNet
    from course_utils.p3d.renderer import look_at_view_transform

    torch.manual_seed(0)
    net = DepthNet(channels=(4, 8), input_size=16).eval()
    images = torch.rand(2, 3, 16, 16)
    low, _ = look_at_view_transform(dist=2.0, elev=10.0, azim=30.0)
    high, _ = look_at_view_transform(dist=2.0, elev=40.0, azim=30.0)
    default, _ = look_at_view_transform(dist=2.0, elev=25.0, azim=-80.0)
    d_low, _ = predict_depth(net, images, R=low)  # one (3, 3) rotation for the batch
    d_high, _ = predict_depth(net, images, R=torch.cat([high, high]))
    d_none, _ = predict_depth(net, images)
    d_default, _ = predict_depth(net, images, R=default)
    assert not torch.allclose(d_low, d_high, atol=1e-4)  # the elevation is an input
    assert torch.allclose(d_none, d_default, atol=1e-6)  # None: 25 degrees, any azimuth
    with pytest.raises(ValueError, match=r"R must be \(B, 3, 3\) with B = 2"):
        net(images, low)
    three = torch.cat([low, low, low])  # a rotation too many: the model's clear error
    with pytest.raises(ValueError, match=r"with B = 2 images, got \(3, 3, 3\)"):
        predict_depth(net, images, R=three)
    blind = DepthNet(channels=(4, 8), input_size=16, camera_up=False).eval()
    assert torch.equal(predict_depth(blind, images, R=low)[0], predict_depth(blind, images)[0])


def test_depth_loss_on_a_batch_without_object_pixels_is_the_mask_term() -> None:
    from course_utils.models.depth import depth_loss

    depth = torch.full((2, 1, 8, 8), 2.5, requires_grad=True)
    logits = torch.zeros(2, 1, 8, 8)
    loss, parts = depth_loss(depth, logits, torch.zeros(2, 1, 8, 8), torch.zeros(2, 1, 8, 8),
                             scale=torch.full((2, 1, 8, 8), 0.05))  # fmt: skip
    assert parts["depth_l1"] == parts["depth_grad"] == parts["scale_nll"] == 0.0
    assert math.isclose(float(loss.detach()), 0.1 * math.log(2), rel_tol=1e-6)  # BCE of logit 0
    loss.backward()
    assert torch.equal(depth.grad, torch.zeros_like(depth))


def test_an_earlier_depth_checkpoint_gets_a_retrain_message() -> None:
    from course_utils.models.depth import DepthNet

    earlier = {"channels": (32, 64, 128, 256, 256), "head_channels": 32, "camera_up": False}
    state = DepthNet(**earlier).state_dict()
    with pytest.raises(ValueError, match=r"earlier version.*train --decoder depth --force"):
        DepthNet().load_state_dict(state)
    DepthNet(**earlier).load_state_dict(state)  # the constructor the message names fits


def test_training_views_keep_their_cameras_in_memory(views: DepthViews) -> None:
    from course_utils.training import InMemoryShapes

    kept = InMemoryShapes(views, views.collate_fn, progress=False)
    assert torch.equal(kept.tensors["R"], torch.stack([views[i]["R"] for i in range(len(views))]))
    assert torch.equal(kept.batch(torch.tensor([3]))["R"][0], views[3]["R"])


def tiny_depth_config(epochs: int = 3) -> TrainConfig:
    model = ModelConfig(decoder="depth", input_size=32, encoder_options={"channels": [8, 16, 16]})
    return TrainConfig(model=model, epochs=epochs, batch_size=4, lr=3e-3, seed=0,
                       data={"dataset": "course", "image_size": 48, "targets": "depth"})


def test_depth_network_trains_through_the_course_loop(views: DepthViews, tmp_path: Path) -> None:
    untrained = load_model_after(tiny_depth_config(0), views, tmp_path / "zero")
    result = train(tiny_depth_config(6), views, views, out_dir=tmp_path / "run", progress=False)
    assert result.history["train_loss"][-1] < result.history["train_loss"][0]
    model, state = load_model(result.checkpoint)
    assert model.kind == "depth" and state["epoch"] == 6
    before, after = evaluate_depth(untrained, views), evaluate_depth(model, views)
    assert after["abs_rel"] < before["abs_rel"]
    assert 0 <= after["delta1"] <= 1 and 0 <= after["mask_iou"] <= 1


def test_more_training_views_leave_the_held_out_views_as_they_were(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    data = {"dataset": "course", "num_shapes": 15, "image_size": 32, "points_per_shape": 64,
            "targets": "depth"}  # fmt: skip
    one = {s: make_dataset(data, s, progress=False) for s in ("train", "test")}
    three = {s: make_dataset({**data, "train_views_per_shape": 3}, s, progress=False)
             for s in ("train", "test")}  # fmt: skip
    n = len(one["train"])
    assert n >= 5 and len(three["train"]) == 3 * n and len(one["test"]) >= 1
    assert len(three["test"]) == len(one["test"])  # one view per held-out shape
    for i in range(len(one["train"])):  # view 0 is the one-view dataset's view, 1 and 2 are new
        a, b, c = one["train"][i], three["train"][3 * i], three["train"][3 * i + 1]
        assert torch.equal(a["image"], b["image"]) and torch.equal(a["depth"], b["depth"])
        assert int(c["shape_id"]) == int(a["shape_id"]) and not torch.equal(c["R"], a["R"])
        assert not torch.equal(c["depth"], a["depth"])
    assert torch.equal(one["test"][0]["image"], three["test"][0]["image"])
    train_ids = {int(three["train"][k]["shape_id"]) for k in range(len(three["train"]))}
    assert len(train_ids) == n and train_ids.isdisjoint(
        int(item["shape_id"]) for item in one["test"]
    )
    out = tmp_path / "run"  # the command line records the views in the checkpoint's data
    args = ["train", "--decoder", "depth", "--num-shapes", "15", "--image-size", "32",
            "--input-size", "32", "--epochs", "1", "--batch-size", "8", "--train-views", "3",
            "--out", str(out), "--quiet", "--threads", "1"]  # fmt: skip
    assert main(args) == 0
    val = len(make_dataset(data, "val", progress=False))
    assert f"on {3 * n} views (3 per shape) (val {val})" in capsys.readouterr().out
    assert load_model(out)[1]["config"]["data"]["train_views_per_shape"] == 3


def load_model_after(config: TrainConfig, views: DepthViews, out: Path):
    config.epochs = 1
    config.lr = 0.0  # no learning: the initial network
    return train(config, views, None, out_dir=out, progress=False).model


# ------------------------------------------------------------------ photos
def write(path: Path, array: np.ndarray, mode: str | None = None) -> Path:
    Image.fromarray(array, mode=mode).save(path)
    return path


def test_load_photo_converts_and_says_so(tmp_path: Path) -> None:
    gray = write(tmp_path / "g.png", np.full((40, 60), 128, np.uint8))
    photo = load_photo(gray, size=32)
    assert photo.image.shape == (3, 32, 32) and photo.mask is None
    assert torch.allclose(photo.image, torch.full_like(photo.image, 128 / 255), atol=1e-2)
    assert any("converted L to RGB" in n for n in photo.notes)
    assert any("cropped the centre 40 x 40" in n for n in photo.notes)
    rgba = np.zeros((32, 32, 4), np.uint8)
    rgba[8:24, 8:24] = (255, 0, 0, 255)
    photo = load_photo(write(tmp_path / "a.png", rgba), size=32)
    assert photo.mask.sum() == 16 * 16
    assert photo.image[:, 0, 0].tolist() == [1.0, 1.0, 1.0]  # transparent -> white
    assert photo.image[:, 16, 16].tolist() == [1.0, 0.0, 0.0]
    assert any("RGBA" in n for n in photo.notes)


def test_voxel_colours_come_from_the_image(views: DepthViews) -> None:
    item = views[0]
    occupancy = item["voxels"] > 0.5
    colours = voxel_colours(occupancy, item["image"], (item["R"], item["T"], item["fov"]))
    # the voxel nearest the camera projects onto the object: its colour is not the white
    # background
    centre = -0.5 + (torch.arange(32) + 0.5) / 32
    z, y, x = torch.meshgrid(centre, centre, centre, indexing="ij")
    grid = torch.stack([x, y, z], -1)
    cam = -(item["T"] @ item["R"].T)
    dist = (grid - cam).norm(dim=-1).masked_fill(~occupancy, 1e9)
    nearest = tuple(int(i) for i in np.unravel_index(int(dist.argmin()), dist.shape))
    assert colours[nearest].min() < 0.98


def test_pipeline_on_true_depth_reaches_the_precision_target(views: DepthViews) -> None:
    item = views[1]
    mask = item["depth"][0] > 0
    camera = (item["R"], item["T"], item["fov"])
    rec = depth_pipeline(item["image"], item["depth"][0], mask, camera, resolution=64)
    visible, _ = depth_to_points(item["image"], item["depth"][0], mask, *camera)
    sampled = mesh_points(rec.trimmed_verts, rec.trimmed_faces, 5000)
    scores = surface_scores(sampled, mesh_points(item["verts"], item["faces"], 30000), visible)
    assert scores["precision"] > 90 and scores["completeness"] > 80
    # the trimmed mesh is the visible side: the untrimmed one closes behind the object
    assert len(rec.trimmed_faces) < len(rec.faces)
    assert rec.trimmed_colours.shape == rec.trimmed_verts.shape


def test_save_coloured_mesh_ply_keeps_colours(tmp_path: Path) -> None:
    from course_utils.p3d.io import IO

    verts = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]])
    colours = torch.tensor([[1.0, 0, 0], [0, 1, 0], [0, 0, 1]])
    path = save_coloured_mesh(tmp_path / "t.ply", verts, torch.tensor([[0, 1, 2]]), colours)
    mesh = IO().load_mesh(path)
    assert torch.allclose(mesh.verts_packed(), verts)
    assert torch.allclose(mesh.textures.verts_features_packed(), colours)


# ------------------------------------------------------------------ the command
@pytest.fixture(scope="module")
def checkpoints(views: DepthViews, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("checkpoints")
    depth = train(tiny_depth_config(1), views, None, out_dir=root / "depth", progress=False)
    # a network that marks every pixel as object: the photo's alpha gives the mask
    head = depth.model.head[-1]
    state = torch.load(depth.checkpoint, weights_only=True)
    state["model"]["head.2.bias"] = torch.tensor([0.0, 10.0, -3.0])  # depth, mask, scale
    assert head.bias.shape == (3,)
    torch.save(state, depth.checkpoint)
    voxels_config = TrainConfig(
        model=ModelConfig(decoder="voxels-conv", latent_dim=8, input_size=32,
                          encoder_options={"channels": [4, 8]}),
        epochs=1, batch_size=4, data={"dataset": "toy", "image_size": 32},
    )  # fmt: skip
    from course_utils.models import ToyShapes

    voxels = train(voxels_config, ToyShapes(4, image_size=32), None, out_dir=root / "voxels",
                   progress=False)  # fmt: skip
    return {"depth": depth.checkpoint, "voxels": voxels.checkpoint}


@pytest.fixture()
def photo(tmp_path: Path) -> Path:
    rgba = np.zeros((64, 64, 4), np.uint8)
    yy, xx = np.mgrid[:64, :64]
    rgba[(yy - 32) ** 2 + (xx - 32) ** 2 < 20**2] = (200, 40, 40, 255)
    return write(tmp_path / "photo.png", rgba)


def test_reconstruct_depth_writes_a_coloured_ply(checkpoints, photo, tmp_path, capsys) -> None:
    from course_utils.p3d.io import IO

    out = tmp_path / "out" / "photo.ply"
    argv = ["reconstruct", str(photo), "--method", "depth", "--checkpoint",
            str(checkpoints["depth"]), "--out", str(out), "--quiet"]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "note: converted RGBA" in printed and f"wrote {out}" in printed
    mesh = IO().load_mesh(out)
    colours = mesh.textures.verts_features_packed()
    assert len(mesh.verts_packed()) > 50
    assert torch.allclose(colours.mean(0), torch.tensor([200, 40, 40]) / 255, atol=0.02)
    # the disc is about 2 units in front of the course's default camera
    assert main(argv) == 1  # exists now
    assert "exists; add --force" in capsys.readouterr().err
    assert main(argv + ["--force"]) == 0
    capsys.readouterr()
    # another elevation: the network is told it and the points are lifted with it
    assert main(argv + ["--force", "--elevation", "60"]) == 0
    assert "outside the 10-40 the depth network was trained on" in capsys.readouterr().out
    steeper = IO().load_mesh(out).verts_packed()
    assert steeper.shape != mesh.verts_packed().shape or not torch.allclose(
        steeper, mesh.verts_packed(), atol=1e-3
    )


def test_reconstruct_voxels_writes_a_vox(checkpoints, photo, tmp_path, capsys) -> None:
    out = tmp_path / "photo.vox"
    argv = ["reconstruct", str(photo), "--method", "voxels", "--checkpoint",
            str(checkpoints["voxels"]), "--out", str(out), "--quiet"]  # fmt: skip
    assert main(argv) == 0
    occupancy, colours = load_vox(out)
    assert occupancy.shape == (32, 32, 32)
    assert f"wrote {out}: {int(occupancy.sum())} voxels" in capsys.readouterr().out


@pytest.mark.parametrize(
    "case, code, message",
    [
        ("missing", 2, "no file at"),
        ("folder", 2, "is not a file"),
        ("not_image", 1, "is not an image file that Pillow can read"),
        ("truncated", 1, "cannot read image"),
        ("huge", 1, "megapixels); the limit is 60: refused"),
        ("extension", 2, "the output must end in .ply or .obj (mesh) or .vox"),
        ("wrong_extension", 1, "--method voxels writes .vox files, not 'x.ply'"),
        ("no_checkpoint", 1, "make one with: python -m course_utils train --decoder depth"),
        ("wrong_model", 1, "--method depth needs a depth model"),
        ("voxel_from_depth", 1, "the voxel method needs a voxels or implicit model"),
        ("elevation", 1, "--elevation must be between -90 and 90 degrees, got 95"),
    ],
)
def test_reconstruct_errors_are_one_line(case, code, message, checkpoints, photo, tmp_path,
                                         capsys) -> None:  # fmt: skip
    image, method, out = str(photo), "depth", str(tmp_path / "x.ply")
    checkpoint = str(checkpoints["depth"])
    if case == "missing":
        image = str(tmp_path / "nope.png")
    elif case == "folder":
        image = str(tmp_path)
    elif case == "not_image":
        image = str(tmp_path / "notes.png")
        Path(image).write_text("these are not pixels")
    elif case == "truncated":
        image = str(tmp_path / "cut.png")
        Path(image).write_bytes(photo.read_bytes()[:120])
    elif case == "huge":
        image = str(write(tmp_path / "huge.png", np.zeros((8000, 8000), bool), "1"))
    elif case == "extension":
        out = str(tmp_path / "x.stl")
    elif case == "wrong_extension":
        method = "voxels"
    elif case == "no_checkpoint":
        checkpoint = str(tmp_path / "none" / "last.pt")
    elif case == "wrong_model":
        checkpoint = str(checkpoints["voxels"])
    elif case == "voxel_from_depth":
        method, out = "voxels", str(tmp_path / "x.vox")
    argv = ["reconstruct", image, "--method", method, "--out", out, "--checkpoint", checkpoint,
            "--quiet"]  # fmt: skip
    if case == "elevation":
        argv += ["--elevation", "95"]
    if code == 2:
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
    else:
        assert main(argv) == code
    err = capsys.readouterr().err
    assert message in err
    assert len([line for line in err.splitlines() if "error" in line]) == 1
    assert not Path(out).exists()


# ------------------------------------------------------------------ pretrained (offline)
def test_pretrained_depth_pipeline_with_a_tiny_random_model(monkeypatch) -> None:
    """The real loading code, with a tiny GLPN built from a config: nothing is downloaded."""
    transformers = pytest.importorskip("transformers")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from course_utils.depth import disparity_to_depth, pretrained_depth, run_depth_pipeline

    torch.manual_seed(0)
    config = transformers.GLPNConfig(
        num_encoder_blocks=4, depths=[1, 1, 1, 1], hidden_sizes=[8, 16, 16, 16],
        decoder_hidden_size=16, num_attention_heads=[1, 1, 1, 1], sr_ratios=[8, 4, 2, 1],
        mlp_ratios=[2, 2, 2, 2],
    )  # fmt: skip
    model = transformers.GLPNForDepthEstimation(config).eval()
    processor = getattr(transformers, "GLPNImageProcessorPil", transformers.GLPNImageProcessor)
    pipe = pretrained_depth(model, processor())
    image = torch.rand(3, 40, 56)
    raw = run_depth_pipeline(pipe, image)
    assert raw.shape == (40, 56) and torch.isfinite(raw).all()
    # the pipeline's output is the model's own prediction, resized
    with torch.no_grad():
        inputs = processor()(images=[Image.fromarray(
            (image * 255).round().byte().permute(1, 2, 0).numpy())], return_tensors="pt")
        direct = model(**inputs).predicted_depth
    assert raw.std() > 0 and direct.numel() > 0
    depth = disparity_to_depth(raw.abs() + 0.1, torch.ones(40, 56, dtype=torch.bool))
    assert math.isclose(float(depth.median()), 2.0, rel_tol=1e-5)


# ------------------------------------------------------------------ Pix3D
from test_real_datasets import _write_mats, pix3d_root  # noqa: E402, F401 - the fake Pix3D


def test_pix3d_to_vox_on_a_tiny_fake_pix3d(pix3d_root: Path, tmp_path: Path) -> None:  # noqa: F811
    pytest.importorskip("scipy", reason="Pix3D's .mat voxels need scipy")
    from course_utils.datasets import Pix3D
    from course_utils.photo3d import pix3d_to_vox

    _write_mats(pix3d_root)
    truth = Pix3D(pix3d_root, "train", image_size=128, points_per_shape=100)[0]["voxels"]

    class Oracle(torch.nn.Module):  # "predicts" the true voxels of the fake dataset
        kind, device = "voxels", torch.device("cpu")

        def forward(self, images):
            return (truth[None] * 20 - 10).expand(len(images), -1, -1, -1)

    written = pix3d_to_vox(pix3d_root, Oracle(), tmp_path / "vox", count=2, split="train")
    assert [p.name for p, _ in written] == ["pix3d_train_000.vox", "pix3d_train_001.vox"]
    assert all(iou == pytest.approx(1.0) for _, iou in written)
    occupancy, colours = load_vox(written[0][0])
    assert torch.equal(occupancy, truth > 0.5)
    seen = colours[occupancy].float()
    # the fake photo's object is green (20, 160, 40): the voxels the camera sees are green
    assert ((seen[:, 1] > 120) & (seen[:, 0] < 60)).float().mean() > 0.5
