"""The 3DGS ``.ply`` layout: exact round trip, the property order viewers expect, bad files."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils.splats import Gaussians
from course_utils.splats.ply import load_gaussians_ply, ply_property_names, save_gaussians_ply


def _gaussians(p=7, k=4):
    gen = torch.Generator().manual_seed(0)
    return Gaussians(
        torch.randn(p, 3, generator=gen),
        torch.randn(p, 3, generator=gen),
        torch.randn(p, 4, generator=gen),
        torch.randn(p, generator=gen),
        torch.randn(p, k, 3, generator=gen),
    )


@pytest.mark.parametrize("k", [1, 4, 9])
def test_round_trip_is_exact(tmp_path, k):
    g = _gaussians(k=k)
    path = save_gaussians_ply(g, tmp_path / "splats.ply")
    back = load_gaussians_ply(path)
    for a, b in zip(g.parameters(), back.parameters()):
        assert torch.equal(a, b)
    assert [p.name for p in tmp_path.iterdir()] == ["splats.ply"]  # no temporary file left


def test_layout_is_the_reference_one(tmp_path):
    g = _gaussians(p=2, k=4)
    path = save_gaussians_ply(g, tmp_path / "s.ply")
    data = path.read_bytes()
    header, body = data.split(b"end_header\n")
    props = [
        line.split()[-1]
        for line in header.decode().splitlines()
        if line.startswith("property float")
    ]
    assert props == ply_property_names(1)
    assert (
        props[9:18] == [f"f_rest_{i}" for i in range(9)] and len(props) == 3 + 3 + 3 + 9 + 1 + 3 + 4
    )
    rows = np.frombuffer(body, dtype=np.dtype([(n, "<f4") for n in props]))
    # f_rest is channel-major: f_rest_0..2 are red's three degree-1 coefficients.
    assert (
        rows["f_rest_1"][1] == g.sh[1, 2, 0].item() and rows["f_rest_3"][0] == g.sh[0, 1, 1].item()
    )
    assert (
        rows["opacity"][0] == g.opacity_logits[0].item()
        and rows["rot_0"][1] == g.quats[1, 0].item()
    )
    assert (rows["nx"] == 0).all()


def test_bad_files_are_named(tmp_path):
    path = save_gaussians_ply(_gaussians(), tmp_path / "s.ply")
    truncated = tmp_path / "cut.ply"
    truncated.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match="cut.ply.*truncated"):
        load_gaussians_ply(truncated)
    mesh = tmp_path / "mesh.ply"
    mesh.write_text("ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nend_header\n0\n")
    with pytest.raises(ValueError, match="mesh.ply, line 2"):
        load_gaussians_ply(mesh)
    points = tmp_path / "points.ply"
    points.write_bytes(
        b"ply\nformat binary_little_endian 1.0\nelement vertex 0\nproperty float x\nend_header\n"
    )
    with pytest.raises(ValueError, match="missing properties"):
        load_gaussians_ply(points)
