"""Matplotlib views of meshes, and the environment report (doctor)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_utils import assets, plotting  # noqa: E402
from course_utils.p3d import utils  # noqa: E402
from course_utils.tools import environment  # noqa: E402
from course_utils.tools.cli import main as cli_main  # noqa: E402


def test_textured_triangles_take_colours_from_the_texture():
    die = assets.load_asset("die")
    triangles, colours = plotting.textured_triangles(die, min_faces=3000)
    assert triangles.shape == (3072, 3, 3) and colours.shape == (3072, 3)  # 12 * 4**4
    # Split triangles cover the same surface: the total area is still 6.
    cross = np.cross(triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0])
    assert np.linalg.norm(cross, axis=1).sum() / 2 == pytest.approx(6.0, rel=1e-6)
    # The big red 1 sits in the middle of the +Z side.
    centres = triangles.mean(axis=1)
    middle_of_front = (np.abs(centres[:, :2]).max(axis=1) < 0.05) & (centres[:, 2] > 0.49)
    assert middle_of_front.any()
    red = colours[middle_of_front]
    assert (red[:, 0] > 0.6).all() and (red[:, 1] < 0.3).all()

    blob = assets.load_asset("blob")
    triangles, colours = plotting.textured_triangles(blob)
    features = blob.textures.verts_features_packed()[blob.faces_packed()].mean(dim=1)
    np.testing.assert_allclose(colours, features.double().numpy(), atol=1e-6)
    assert plotting.textured_triangles(utils.ico_sphere(0))[1] is None  # no texture


def test_plot_mesh_culls_faces_turned_away():
    sphere = utils.ico_sphere(2)
    ax = plotting.plot_mesh(sphere, title="sphere")
    ax.figure.canvas.draw()  # 3-D collections make their 2-D paths when drawn
    drawn = len(ax.collections[0].get_paths())
    # About half of a closed sphere faces the viewer; the rest is culled.
    assert 0.35 * 320 < drawn < 0.65 * 320
    wire = plotting.plot_mesh(sphere, wireframe=True)
    wire.figure.canvas.draw()
    assert len(wire.collections[0].get_paths()) == 320  # a wireframe shows every face
    plt.close("all")


def test_plot_pointcloud_keeps_up_as_up():
    points = torch.tensor([[0.0, 0.0, 0.0], [0.0, 2.0, 0.0]])  # second point is above (+Y)
    ax = plotting.plot_pointcloud(points)
    offsets = ax.collections[0]._offsets3d  # matplotlib's (x, y, z) of the points
    assert offsets[2][1] == 2.0  # matplotlib's vertical axis shows course y
    plt.close("all")


def test_environment_report_passes_here(capsys):
    checks = environment.run_checks()
    names = [c.name for c in checks]
    assert names[:3] == ["python", "torch", "backend"]
    assert {"numpy", "pymcubes", "ipywidgets", "widgets", "data folder"} <= set(names)
    assert all(c.status in ("OK", "WARN", "FAIL") for c in checks)
    assert environment.report(checks) == all(c.status != "FAIL" for c in checks)
    assert "OK    python" in capsys.readouterr().out


def test_a_missing_package_is_a_fail_with_the_fix(monkeypatch, capsys):
    monkeypatch.setattr(
        environment,
        "DEPENDENCIES",
        environment.DEPENDENCIES + [("not-a-real-package", "not_a_real_package", "chapter 99")],
    )
    assert cli_main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  not-a-real-package" in out and "pip install not-a-real-package" in out
    assert "1 FAIL" in out
