"""Chapter 07: fusion of projections, the pseudo-renderer, cached targets, the decoder.

Known answers: a plane at a known depth, two points on one pixel, finite-difference
gradients, fused ground-truth projections of a cube lying on the cube, a decoder that
outputs the ground truth scoring a zero fixed-view loss, and a short run through the
course's ``train``/``evaluate``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from course_utils.datasets.generate import CAMERA_DIST, FOV
from course_utils.p3d import structures
from course_utils.projections import (
    depth_to_xyz,
    fixed_viewpoints,
    fuse,
    novel_viewpoints,
    pseudo_render,
    render_depth,
    upsample_nearest,
    viewpoint_cameras,
)

pytestmark = pytest.mark.usefixtures("one_thread")

FRONT = [(0.0, 0.0)]  # camera at (0, 0, 2) looking down -Z: view z = 2 - world z


def test_viewpoints_are_the_cube_corners_and_side_faces_and_distinct_novel_views():
    cams = viewpoint_cameras(fixed_viewpoints())
    centres = cams.get_camera_center()  # (12, 3)
    corner = CAMERA_DIST / math.sqrt(3)
    assert torch.allclose(centres[:8].abs(), torch.full((8, 3), corner), atol=1e-3)
    assert len({tuple(torch.sign(c).tolist()) for c in centres[:8]}) == 8  # all 8 corners
    # the 4 side faces: on the X and Z axes at the camera distance, at height 0
    side = centres[8:]
    assert torch.allclose(side[:, 1], torch.zeros(4), atol=1e-5)
    assert torch.allclose(side.abs().amax(1), torch.full((4,), CAMERA_DIST), atol=1e-5)
    assert torch.allclose(side.abs().sum(1), torch.full((4,), CAMERA_DIST), atol=1e-5)
    assert torch.cdist(centres, centres).add(torch.eye(12) * 9).min() > 1.0  # all distinct
    novel = viewpoint_cameras(novel_viewpoints(16)).get_camera_center()
    assert torch.cdist(novel, centres).min() > 0.15  # none is a fixed viewpoint (>4° apart)


def test_a_plane_of_points_renders_its_depth_exactly():
    # a dense grid on the plane world z = 0.25 (view depth 1.75) fills the image's centre
    s = torch.linspace(-0.2, 0.2, 161)
    yy, xx = torch.meshgrid(s, s, indexing="ij")
    plane = torch.stack([xx, yy, torch.full_like(xx, 0.25)], -1).reshape(1, -1, 3)
    out = pseudo_render(plane, viewpoint_cameras(FRONT), image_size=32)
    # the plane spans NDC |x| <= 0.2 / (1.75 tan 15°) = 0.426 -> pixels 9..22 fully covered
    centre = slice(10, 22)
    assert out.mask[0, centre, centre].all()
    depths = out.depth[0][out.mask[0]]
    assert torch.allclose(depths, torch.full_like(depths, 1.75), rtol=0, atol=1e-6)
    assert not out.mask[0, :4].any() and (out.depth[0][~out.mask[0]] == 0).all()
    assert (out.index[0][~out.mask[0]] == -1).all()


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_two_points_on_one_pixel_keep_the_nearer(order):
    camera = torch.tensor([0.0, 0.0, CAMERA_DIST])
    near = torch.tensor([0.1, 0.07, 0.5])
    far = camera + 1.4 * (near - camera)  # the same ray, farther: the same pixel
    pts = torch.stack([near, far])[list(order)][None]
    out = pseudo_render(pts, viewpoint_cameras(FRONT), image_size=16, upsample=2)
    assert int(out.mask.sum()) == 1
    assert torch.isclose(out.depth[out.mask], torch.tensor(1.5)).all()
    assert int(out.index[out.mask]) == order.index(0)  # the index of the near point


def test_pixel_of_a_point_follows_the_ndc_convention():
    # NDC +X is left: a point at world +x (seen from +Z: the camera's left is world -x)
    # lands right of the centre; world +y (up) lands in the upper half.
    out = pseudo_render(torch.tensor([[[0.2, 0.2, 0.0]]]), viewpoint_cameras(FRONT), 8)
    row, col = out.mask[0].nonzero()[0].tolist()
    assert row < 4 and col >= 4


def test_gradients_reach_only_the_kept_points_and_match_finite_differences():
    gen = torch.Generator().manual_seed(0)
    # 40 points; pairs 0..9 are hidden behind 10..19 on the same rays
    front = torch.rand(20, 3, generator=gen, dtype=torch.float64) * 0.6 - 0.3
    camera = torch.tensor([0.0, 0.0, CAMERA_DIST], dtype=torch.float64)
    behind = camera + 1.3 * (front[:10] - camera)
    pts = torch.cat([behind, front])[None].requires_grad_(True)
    cams = viewpoint_cameras(FRONT)
    cams = type(cams)(R=cams.R.double(), T=cams.T.double(), fov=FOV)
    weights = torch.rand(64, 64, generator=gen, dtype=torch.float64)

    def loss(p):
        return (pseudo_render(p, cams, image_size=64).depth[0] * weights).sum()

    value = loss(pts)
    value.backward()
    kept = set(pseudo_render(pts.detach(), cams, 64).index[0].unique().tolist()) - {-1}
    assert kept.isdisjoint(range(10)) and len(kept) >= 15  # hidden ones are not kept
    grad = pts.grad[0]
    assert torch.all(grad[:10] == 0)
    for i in sorted(kept)[:6]:
        for axis in range(3):
            eps = 1e-6
            plus, minus = pts.detach().clone(), pts.detach().clone()
            plus[0, i, axis] += eps
            minus[0, i, axis] -= eps
            numeric = (loss(plus) - loss(minus)) / (2 * eps)
            assert torch.isclose(grad[i, axis], numeric, rtol=1e-5, atol=1e-8), (i, axis)


@pytest.mark.parametrize("cameras_per_cloud", [1, 3])
def test_pseudo_render_matches_a_z_buffer_per_image(cameras_per_cloud):
    # Batched, k cameras per cloud, some points invalid, features carried: every image must
    # equal the two-scatter z-buffer (zbuffer) of that cloud alone, seen by that camera.
    from course_utils.p3d import renderer
    from course_utils.projections import project_to_pixels, zbuffer

    gen = torch.Generator().manual_seed(3)
    B, P, k, S = 2, 3000, cameras_per_cloud, 24
    pts = torch.rand(B, P, 3, generator=gen) - 0.5
    pts[:, :5] = torch.tensor([0.0, 0.0, 5.0])  # behind every camera: never drawn
    valid = torch.rand(B, P, generator=gen) > 0.3
    feats = torch.rand(B, P, 2, generator=gen)
    views = viewpoint_cameras([(37.0 * i, 20.0 - 15.0 * i) for i in range(B * k)])
    out = pseudo_render(pts, views, S // 2, upsample=2, valid=valid, features=feats)
    assert out.depth.shape == (B * k, S, S) and out.features.shape == (B * k, S, S, 2)
    for image in range(B * k):
        b = image // k
        cam = renderer.FoVPerspectiveCameras(R=views.R[image : image + 1],
                                             T=views.T[image : image + 1], fov=FOV)  # fmt: skip
        pixel, z, inside = project_to_pixels(pts[b : b + 1], cam, S)
        keep = (inside & valid[b : b + 1])[0]
        ids = keep.nonzero().squeeze(1)
        expected = zbuffer(pixel[0, ids], z[0, ids], S * S)  # index into ids
        expected = torch.where(expected >= 0, ids[expected.clamp(min=0)], -1).view(S, S)
        assert torch.equal(out.index[image].long(), expected)
        assert torch.equal(out.mask[image], expected >= 0)
        hit = expected >= 0
        assert torch.allclose(out.depth[image][hit], z[0][expected[hit]], atol=1e-6)
        assert (out.depth[image][~hit] == 0).all()
        assert torch.equal(out.features[image][hit], feats[b][expected[hit]])


def test_pseudo_render_checks_its_inputs():
    cams = viewpoint_cameras(FRONT * 3)
    with pytest.raises(ValueError, match="3 cameras for 2 point clouds"):
        pseudo_render(torch.zeros(2, 4, 3), cams, 8)
    with pytest.raises(ValueError, match="valid must be"):
        pseudo_render(torch.zeros(1, 4, 3), cams, 8, valid=torch.ones(1, 5, dtype=torch.bool))


def _cube(half: float = 0.3):
    verts = torch.tensor(
        [[x, y, z] for x in (-half, half) for y in (-half, half) for z in (-half, half)],
        dtype=torch.float32,
    )
    faces = torch.tensor(
        [[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
         [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]]
    )  # fmt: skip
    return structures.Meshes(verts=[verts], faces=[faces])


def test_fused_ground_truth_projections_lie_on_the_surface():
    half, size = 0.3, 48
    cams = viewpoint_cameras(fixed_viewpoints())
    n = len(cams)
    depth = render_depth(_cube(half).extend(n), cams, size)  # (12, S, S)
    xyz = depth_to_xyz(depth, cams)
    points, valid = fuse(xyz, depth > 0, cams)
    cloud = points[0][valid[0]]
    assert len(cloud) > n * size * size * 0.15
    # distance to the cube's surface
    inside = half - cloud.abs().max(dim=1).values
    outside = (cloud.abs() - half).clamp(min=0).norm(dim=1)
    dist = torch.where(inside > 0, inside, outside)
    # one pixel's footprint at the farthest depth seen: 2 z tan(fov / 2) / S
    footprint = 2 * float(depth.max()) * math.tan(math.radians(FOV) / 2) / size
    assert float(dist.max()) < footprint
    assert float(dist.max()) < 1e-3  # in fact exact up to float rounding
    # every face is seen by some corner camera
    for axis in range(3):
        for sign in (-1, 1):
            assert (torch.isclose(cloud[:, axis], torch.tensor(sign * half), atol=1e-3)).sum() > 50


def test_fuse_checks_its_inputs():
    cams = viewpoint_cameras(fixed_viewpoints()[:2])
    with pytest.raises(ValueError, match="3 views but there are 2 cameras"):
        fuse(torch.zeros(1, 3, 4, 4, 3), None, cams)
    with pytest.raises(ValueError, match="masks must be"):
        fuse(torch.zeros(1, 2, 4, 4, 3), torch.zeros(1, 2, 4, 5, dtype=torch.bool), cams)


def test_upsample_nearest_repeats_pixels():
    image = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert upsample_nearest(image, 2).tolist() == [
        [1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]
    ]  # fmt: skip


# ------------------------------------------------------------------ targets and decoder
@pytest.fixture(scope="module")
def course_data(tmp_path_factory):
    from course_utils.datasets import ShapeDataset

    root = tmp_path_factory.mktemp("cache")
    ds = ShapeDataset("train", num_shapes=12, image_size=32, points_per_shape=500,
                      cache_dir=root / "shapes", progress=False)  # fmt: skip
    return ds, root


def test_targets_are_cached_atomically_and_match_a_fresh_render(course_data):
    from course_utils.datasets import collate_shapes
    from course_utils.datasets.projection_targets import WithProjectionTargets

    ds, root = course_data
    wrapped = WithProjectionTargets(ds, fixed_size=16, novel_size=16, num_novel=4,
                                    progress=False, cache_dir=root / "proj")  # fmt: skip
    files = list((root / "proj").rglob("*.npz"))
    assert len(files) == 1 and not list((root / "proj").rglob("*.tmp*"))
    mtime = files[0].stat().st_mtime_ns
    again = WithProjectionTargets(ds, fixed_size=16, novel_size=16, num_novel=4,
                                  progress=False, cache_dir=root / "proj")  # fmt: skip
    assert files[0].stat().st_mtime_ns == mtime  # read, not rendered again
    item = again[0]
    assert item["fixed_depth"].shape == (12, 16, 16) and item["novel_depth"].shape == (4, 16, 16)
    batch = collate_shapes([wrapped[0]])
    meshes = structures.Meshes(verts=[batch["verts"][0]], faces=[batch["faces"][0]])
    fresh = render_depth(meshes.extend(12), viewpoint_cameras(fixed_viewpoints()), 16)
    assert torch.equal(fresh > 0, item["fixed_depth"] > 0)
    assert torch.allclose(fresh, item["fixed_depth"], atol=1e-3)  # float16 offsets
    # another configuration gets another file
    WithProjectionTargets(ds, fixed_size=16, novel_size=16, num_novel=2,
                          progress=False, cache_dir=root / "proj")  # fmt: skip
    assert len(list((root / "proj").rglob("*.npz"))) == 2


def test_a_decoder_that_outputs_the_ground_truth_has_no_fixed_view_loss(course_data):
    from course_utils.datasets.projection_targets import WithProjectionTargets
    from course_utils.models.projection_decoder import (
        ProjectionDecoder,
        Projections,
        projection_loss,
    )

    ds, root = course_data
    decoder = ProjectionDecoder(8, channels=(8, 4, 4), novel_size=16, num_novel=4)
    wrapped = WithProjectionTargets(ds, fixed_size=16, novel_size=16, num_novel=4,
                                    progress=False, cache_dir=root / "proj")  # fmt: skip
    fixed = torch.stack([wrapped[i]["fixed_depth"] for i in range(2)])
    novel = torch.stack([wrapped[i]["novel_depth"] for i in range(2)])
    mask = fixed > 0
    perfect = Projections(depth_to_xyz(fixed, decoder.cameras()), torch.where(mask, 20.0, -20.0))
    _, parts = projection_loss(decoder, perfect, fixed, novel, novel_per_step=4, upsample=1)
    assert float(parts["fixed_l1"]) < 1e-6 and float(parts["fixed_bce"]) < 1e-6
    # at novel views the fused truth is on the surface; at 16² the sparse cloud lets some
    # pixels see a back surface through the gaps, so the mean error is not 0, but small
    assert float(parts["novel_l1"]) < 0.05
    wrong = Projections(perfect.xyz + 0.1, perfect.logits)
    _, wrong_parts = projection_loss(decoder, wrong, fixed, novel, novel_per_step=4, upsample=1)
    assert math.isclose(float(wrong_parts["fixed_l1"]), 0.3, rel_tol=1e-4)  # |0.1| x 3 axes
    assert float(wrong_parts["novel_l1"]) > 2 * float(parts["novel_l1"])


def _tiny_projections_config(novel_after: float):
    from course_utils.models import LossConfig, ModelConfig

    return ModelConfig(
        decoder="projections", latent_dim=16, input_size=32,
        encoder_options={"channels": [8, 16]},
        decoder_options={"channels": [16, 8, 8], "novel_size": 16, "num_novel": 4},
        loss=LossConfig(novel_per_step=1, upsample=2, novel_after=novel_after),
    )  # fmt: skip


def test_projection_decoder_trains_and_evaluates_through_the_course_loop(
    course_data, tmp_path, monkeypatch
):
    from course_utils import evaluation
    from course_utils.training import TrainConfig, load_checkpoint, train

    ds, root = course_data
    monkeypatch.setenv("COURSE_CACHE_DIR", str(root))
    model = _tiny_projections_config(novel_after=0.0)  # all terms at once
    config = TrainConfig(model=model, epochs=1, batch_size=4, lr=3e-3, device="cpu")
    result = train(config, ds, None, out_dir=tmp_path, progress=False)
    assert result.history["parts"]["fixed_l1"] and np.isfinite(result.history["train_loss"][0])
    assert set(result.history["parts"]) == {"fixed_l1", "fixed_bce", "novel_l1", "novel_bce"}
    resumed = train(dataclass_replace(config, epochs=2), ds, None, out_dir=tmp_path,
                    resume=True, progress=False)  # fmt: skip
    assert load_checkpoint(tmp_path)["epoch"] == 2 and len(resumed.history["epoch"]) == 2
    records = evaluation.evaluate_model(resumed.model, ds, progress=False)
    assert len(records) == len(ds) and all(0 <= r["f1@0.05"] <= 1 for r in records)
    preds = evaluation.predictions_from_model(resumed.model, ds[0]["image"][None])
    assert preds[0].points.shape[1] == 3


def test_novel_views_join_the_loss_at_novel_after(course_data, tmp_path, monkeypatch):
    """The paper's two stages: fixed views only, then the pseudo-rendered novel views too."""
    from course_utils.training import TrainConfig, train

    ds, root = course_data
    monkeypatch.setenv("COURSE_CACHE_DIR", str(root))
    model = _tiny_projections_config(novel_after=0.5)
    config = TrainConfig(model=model, epochs=2, batch_size=4, device="cpu")
    result = train(config, ds, None, out_dir=None, progress=False)
    parts = result.history["parts"]
    assert result.model.progress == 1.0  # after training every term is on again
    # epoch 1 is the first half of the steps: fixed views only; epoch 2 has all four terms
    assert all(np.isfinite(parts[name]).all() for name in ("fixed_l1", "fixed_bce"))
    for name in ("novel_l1", "novel_bce"):
        assert np.isnan(parts[name][0]) and np.isfinite(parts[name][1]), parts


def test_by_default_every_point_is_on_its_pixels_ray():
    from course_utils.models.projection_decoder import ProjectionDecoder

    torch.manual_seed(0)
    decoder = ProjectionDecoder(8, channels=(8, 4, 4), num_views=3)  # free_xy=False
    assert decoder.head.out_channels == 3 * 2  # depth and mask logit per view
    out = decoder(torch.randn(2, 8) * 5)
    xyz = out.xyz  # (2, 3, 16, 16, 3)
    assert xyz[..., 2].std() > 1e-3  # the depths do vary
    on_ray = xyz[..., :2] / xyz[..., 2:]  # x / z and y / z: the pixel's ray
    assert torch.allclose(on_ray, decoder.ray.expand_as(on_ray), atol=1e-6)
    free = ProjectionDecoder(8, channels=(8, 4, 4), num_views=3, free_xy=True)
    with torch.no_grad():
        free.head.weight.normal_()
    moved = free(torch.randn(2, 8)).xyz
    moved_ray = moved[..., :2] / moved[..., 2:]
    assert not torch.allclose(moved_ray, free.ray.expand_as(on_ray), atol=1e-3)


def test_projections_from_depths_make_their_points_on_the_rays_when_read():
    from course_utils.models.projection_decoder import Projections

    rays = torch.tensor([[[0.5, -0.25]]])  # (S=1, S=1, 2)
    depth = torch.tensor([[[[2.0]]]])  # (B=1, N=1, 1, 1)
    out = Projections(logits=torch.zeros(1, 1, 1, 1), depth=depth, rays=rays)
    assert out._xyz is None  # not built until read
    assert torch.equal(out.xyz, torch.tensor([[[[[1.0, -0.5, 2.0]]]]]))
    assert torch.equal(Projections(out.xyz, out.logits).depth, depth)
    with pytest.raises(TypeError, match="depth and rays"):
        Projections(logits=out.logits, depth=depth)


def test_the_fixed_view_l1_on_the_rays_is_the_l1_of_the_points():
    """Depth-only loss: |xyz - xyz_gt|_1 = |z - z_gt| (1 + |ray_x| + |ray_y|) on one ray."""
    from course_utils.models.projection_decoder import (
        ProjectionDecoder,
        Projections,
        projection_loss,
    )

    torch.manual_seed(0)
    decoder = ProjectionDecoder(8, channels=(8, 4, 4), num_views=2, direct=4)
    target = torch.rand(3, 2, 16, 16) + 1.5
    target[target < 1.9] = 0  # background
    out = decoder(torch.randn(3, 8))
    from_points = Projections(out.xyz, out.logits)  # the general path, through xyz
    _, fast = projection_loss(decoder, out, target, None, w_novel=0)
    _, slow = projection_loss(decoder, from_points, target, None, w_novel=0)
    assert torch.allclose(fast["fixed_l1"], slow["fixed_l1"], rtol=1e-5)
    shifted = Projections(logits=out.logits, depth=target + 0.1, rays=decoder.ray)
    _, parts = projection_loss(decoder, shifted, target, None, w_novel=0)
    weight = (1 + decoder.ray.abs().sum(-1)).expand_as(target)[target > 0]
    assert math.isclose(float(parts["fixed_l1"]), 0.1 * float(weight.mean()), rel_tol=1e-4)


def test_the_direct_coarse_maps_are_upsampled_and_added_to_the_convolutions():
    from course_utils.models.projection_decoder import ProjectionDecoder

    decoder = ProjectionDecoder(8, channels=(8, 4, 4), num_views=2, direct=4).eval()
    with torch.no_grad():
        decoder.head.weight.zero_()
        decoder.head.bias.zero_()
        decoder.direct_fc.weight.zero_()
        coarse = decoder.direct_fc.bias.view(2, 2, 4, 4)  # (view, (dz, logit), 4, 4)
        coarse[0, 0] = 0.25  # view 0: depth offset 0.25 everywhere
        coarse[1, 1, :, :2] = -3.0  # view 1: left half outside the mask ...
        coarse[1, 1, :, 2:] = 3.0  # ... right half inside
    out = decoder(torch.randn(2, 8))
    assert torch.allclose(out.depth[:, 0], torch.full((2, 16, 16), CAMERA_DIST + 0.25))
    assert torch.allclose(out.depth[:, 1], torch.full((2, 16, 16), CAMERA_DIST))
    assert (out.logits[:, 1, :, :6] == -3).all() and (out.logits[:, 1, :, 10:] == 3).all()
    # bilinear between the two halves: monotonic, through 0 at the centre line
    middle = out.logits[0, 1, 0, 6:10]
    assert (middle.diff() > 0).all() and math.isclose(float(middle[1] + middle[2]), 0, abs_tol=1e-5)
    with pytest.raises(ValueError, match="direct must be in 0..16"):
        ProjectionDecoder(8, channels=(8, 4, 4), direct=32)


def test_a_projections_checkpoint_without_the_direct_maps_says_to_retrain():
    from course_utils.models import build_model

    options = {"channels": [8, 4, 4], "num_views": 2}
    old = build_model(decoder="projections", latent_dim=8, input_size=32,
                      encoder_options={"channels": [4, 8]},
                      decoder_options={**options, "direct": 0})  # fmt: skip
    new = build_model(decoder="projections", latent_dim=8, input_size=32,
                      encoder_options={"channels": [4, 8]}, decoder_options=options)  # fmt: skip
    with pytest.raises(ValueError, match="without the decoder's direct coarse maps"):
        new.load_state_dict(old.state_dict())
    new.load_state_dict(build_model(new.config).state_dict())  # a current one loads


def test_overfitting_a_tiny_batch_drives_the_projection_loss_down(course_data, monkeypatch):
    from course_utils.datasets import collate_shapes
    from course_utils.models import build_model

    ds, root = course_data
    monkeypatch.setenv("COURSE_CACHE_DIR", str(root))
    torch.manual_seed(0)
    model = build_model(
        decoder="projections", latent_dim=16, input_size=32,
        encoder_options={"channels": [8, 16], "norm": "group"},
        decoder_options={"channels": [16, 8, 8], "novel_size": 16, "num_novel": 4},
    )  # fmt: skip
    batch = collate_shapes([model.decoder.prepare_data(ds, progress=False)[i] for i in range(4)])
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    history = []
    for _ in range(30):
        loss, parts = model.loss(batch, generator=torch.Generator().manual_seed(0))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(float(loss.detach()))
    assert min(history[-3:]) < 0.65 * history[0], history  # a clear fall, room for rounding


def dataclass_replace(config, **changes):
    import dataclasses

    return dataclasses.replace(config, **changes)


def test_cli_refuses_the_projections_decoder_on_data_without_meshes(tmp_path, capsys):
    from course_utils.tools.cli import main

    argv = ["train", "--decoder", "projections", "--dataset", "toy", "--num-shapes", "10",
            "--image-size", "32", "--input-size", "32", "--epochs", "1", "--batch-size", "4",
            "--out", str(tmp_path / "run"), "--quiet"]  # fmt: skip
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "projections decoder trains on the course's ShapeDataset" in err
    assert err.strip().count("\n") == 0


@pytest.mark.parametrize(("decoder", "given", "expected"),
                         [("projections", None, 8), ("points", None, 32), ("projections", "4", 4)])
def test_cli_batch_size_defaults_to_8_for_projections(
    tmp_path, monkeypatch, decoder, given, expected
):
    import course_utils.training as training
    from course_utils.tools.cli import main

    seen = {}

    def fake_train(config, *args, **kwargs):
        seen["batch_size"] = config.batch_size
        raise KeyboardInterrupt  # stop here: only the settings matter

    monkeypatch.setattr(training, "train", fake_train)
    argv = ["train", "--decoder", decoder, "--dataset", "toy", "--num-shapes", "10",
            "--image-size", "32", "--epochs", "1", "--out", str(tmp_path / "run"), "--quiet"]
    main(argv + (["--batch-size", given] if given else []))
    assert seen["batch_size"] == expected
