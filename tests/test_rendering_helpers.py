"""The course's one-call rendering helpers: render, turntable, GIFs, grids, the live viewer."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import imageio.v3 as iio  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_utils import assets, rendering  # noqa: E402
from course_utils.p3d import structures, utils  # noqa: E402


def foreground(image: np.ndarray) -> np.ndarray:
    """Pixels that are not the white background."""
    return (np.asarray(image, dtype=np.float64) < 250).any(axis=-1)


def test_turntable_circles_the_object_and_keeps_it_framed():
    die = assets.load_asset("die")
    frames = rendering.turntable(die, num_views=8, image_size=64)
    assert len(frames) == 8
    assert all(f.shape == (64, 64, 3) and f.dtype == np.uint8 for f in frames)
    for frame in frames:
        mask = foreground(frame)
        rows, cols = np.nonzero(mask)
        assert 0.1 < mask.mean() < 0.7  # framed: visible, not cropped
        assert rows.min() > 0 and cols.min() > 0 and rows.max() < 63 and cols.max() < 63
        assert abs(cols.mean() - 31.5) < 6 and abs(rows.mean() - 31.5) < 6
    # Azimuth 0 looks along -Z at the +Z side: the red 1 is in the middle of the image
    # (a little low: the camera is 20 degrees above, looking at the die's centre).
    middle = frames[0][34:40, 29:35].reshape(-1, 3).astype(int)
    assert ((middle[:, 0] > 150) & (middle[:, 1] < 80)).mean() > 0.7
    # Half a turn later the camera sees the -Z side (six dark pips, no red).
    opposite = frames[4][16:48, 16:48].reshape(-1, 3).astype(int)
    assert not ((opposite[:, 0] > 150) & (opposite[:, 1] < 80)).any()
    assert (opposite.max(axis=1) < 80).mean() > 0.05


def test_render_lights_what_the_camera_sees_and_colours_untextured_meshes():
    sphere = utils.ico_sphere(3)  # no textures: drawn in the default light grey
    image = rendering.render(sphere, azim=[0.0, 90.0], elev=[0.0, 0.0], image_size=48)
    assert image.shape == (2, 48, 48, 3) and image.dtype == torch.float32
    centre = image[:, 20:28, 20:28].reshape(2, -1, 3).mean(dim=1)
    # Headlight: the sphere's middle faces the camera and is brightly lit in every view.
    expected = torch.tensor(rendering.DEFAULT_COLOUR)
    assert (centre > 0.7 * expected).all()
    assert torch.allclose(image[:, 0, 0], torch.ones(2, 3))  # background corner


def test_point_clouds_render_with_their_colours():
    torch.manual_seed(0)
    points = torch.randn(3000, 3) * 0.3
    red = torch.tensor([1.0, 0.0, 0.0]).expand(3000, 3)
    cloud = structures.Pointclouds(points=[points], features=[red])
    image = rendering.render(cloud, image_size=64, point_radius=0.03)[0]
    covered = (image < 0.99).any(dim=-1)
    assert covered.float().mean() > 0.05
    # Alpha compositing without a background behind the points: (alpha * red, 0, 0).
    assert image[covered][:, 1:].abs().max() < 1e-5
    assert image[covered][:, 0].mean() > 0.3


def test_save_gif_round_trip(tmp_path):
    frames = [np.full((16, 16, 3), v, dtype=np.uint8) for v in (0, 120, 250)]
    path = rendering.save_gif(frames, tmp_path / "sub" / "grey.gif", fps=10, loop=0)
    back = iio.imread(path, index=None)
    assert back.shape[0] == 3
    assert [int(f[..., :3].mean()) for f in back] == pytest.approx([0, 120, 250], abs=2)
    meta = iio.immeta(path)
    assert meta.get("duration") == pytest.approx(100, abs=1) and meta.get("loop") == 0
    with pytest.raises(ValueError, match=".gif"):
        rendering.save_gif(frames, tmp_path / "grey.png")


def test_grid_show_and_viewer():
    import ipywidgets

    mug = assets.load_asset("mug")
    figure = rendering.show(mug, num_views=4, image_size=32)
    assert len([ax for ax in figure.axes if ax.images]) == 4
    grid = rendering.image_grid([np.zeros((4, 4, 3))] * 5, titles=list("abcde"), cols=3)
    assert len(grid.axes) == 6 and grid.axes[0].get_title() == "a"

    viewer = rendering.interactive_viewer(mug, image_size=48)
    assert isinstance(viewer, ipywidgets.VBox)
    image = viewer.children[0].children[0]
    sliders = {s.description: s for s in viewer.children[1:]}
    assert set(sliders) == {"azimuth", "elevation", "distance", "fov"}
    before = image.value
    sliders["azimuth"].value = 120.0  # moving a slider re-renders
    assert image.value != before and image.value[:4] == b"\x89PNG"
