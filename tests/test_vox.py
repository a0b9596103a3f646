"""MagicaVoxel .vox files: byte-exact against a hand-assembled file, round trips, errors."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from course_utils.vox import load_vox, save_vox, vox_bytes


def _hand_made() -> bytes:
    """A 2 x 3 x 4 (MagicaVoxel x, y, z) model with two red voxels, assembled by hand."""
    size = b"SIZE" + struct.pack("<ii", 12, 0) + struct.pack("<iii", 2, 3, 4)
    voxels = bytes([0, 2, 0, 1, 1, 0, 3, 1])  # (x, y, z, index) twice
    xyzi = b"XYZI" + struct.pack("<ii", 4 + 8, 0) + struct.pack("<i", 2) + voxels
    palette = bytearray(1024)
    palette[0:4] = bytes([255, 0, 0, 255])
    rgba = b"RGBA" + struct.pack("<ii", 1024, 0) + bytes(palette)
    children = size + xyzi + rgba
    main = b"MAIN" + struct.pack("<ii", 0, len(children)) + children
    return b"VOX " + struct.pack("<i", 150) + main


def _course_grid() -> torch.Tensor:
    """The same two voxels in the course's voxels[z, y, x] order (Z=3, Y=4, X=2).

    MagicaVoxel (x, y, z) -> course (z = Z-1-y, y = z, x = x):
    (1, 0, 3) -> [2, 3, 1] and (0, 2, 0) -> [0, 0, 0].
    """
    grid = torch.zeros(3, 4, 2, dtype=torch.bool)
    grid[2, 3, 1] = True
    grid[0, 0, 0] = True
    return grid


def test_byte_exact_against_hand_assembled_file(tmp_path: Path) -> None:
    grid = _course_grid()
    path = save_vox(tmp_path / "two.vox", grid, colors=torch.tensor([1.0, 0.0, 0.0]))
    # save_vox lists voxels in the course's C order: [0,0,0] first, then [2,3,1]
    expected = _hand_made()
    assert path.read_bytes() == expected
    assert len(expected) == 8 + 12 + (12 + 12) + (12 + 12) + (12 + 1024)


def test_load_hand_assembled_file(tmp_path: Path) -> None:
    path = tmp_path / "hand.vox"
    path.write_bytes(_hand_made())
    occupancy, colours = load_vox(path)
    assert torch.equal(occupancy, _course_grid())
    assert colours is not None
    assert colours[2, 3, 1].tolist() == [255, 0, 0]
    assert colours[1, 1, 1].tolist() == [0, 0, 0]


def test_up_stays_up_and_front_faces_minus_y() -> None:
    """A voxel at the top (course +Y) and front (course +Z) of the grid."""
    grid = torch.zeros(5, 5, 5, dtype=torch.bool)
    grid[4, 4, 2] = True  # z = front, y = top, x = middle
    data = vox_bytes(grid)
    x, y, z, i = data[-4:]
    assert (x, y, z, i) == (2, 0, 4, 1)  # MagicaVoxel: top is z = 4, front is y = 0


def test_round_trip_with_colours(tmp_path: Path) -> None:
    gen = torch.Generator().manual_seed(0)
    grid = torch.rand(7, 9, 11, generator=gen) > 0.6
    colours = (torch.rand(7, 9, 11, 3, generator=gen) * 4).floor().to(torch.uint8) * 60
    path = save_vox(tmp_path / "a" / "grid.vox", grid, colours)  # 64 colours: stored exactly
    back, back_colours = load_vox(path)
    assert torch.equal(back, grid)
    assert torch.equal(back_colours[grid], colours[grid])
    assert not list(path.parent.glob(".*tmp*"))  # the atomic write left nothing behind


def test_many_colours_are_quantised_close(tmp_path: Path) -> None:
    gen = torch.Generator().manual_seed(1)
    grid = torch.ones(8, 8, 8, dtype=torch.bool)
    colours = torch.rand(8, 8, 8, 3, generator=gen)
    back, back_colours = load_vox(save_vox(tmp_path / "c.vox", grid, colours))
    assert torch.equal(back, grid)
    error = (back_colours.float() / 255 - colours).abs().max()
    # 512 random colours need 2 bits per channel (64 <= 255 bins): at most half a bin, 32/255
    assert 0 < error <= 32.5 / 255


def test_probabilities_threshold_at_half() -> None:
    grid = torch.tensor([[[0.2, 0.7]]])
    assert vox_bytes(grid) == vox_bytes(torch.tensor([[[False, True]]]))


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="1 to 256"):
        vox_bytes(torch.zeros(257, 1, 1, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"\(Z, Y, X\)"):
        vox_bytes(torch.zeros(2, 2))
    with pytest.raises(ValueError, match="colors must be"):
        vox_bytes(torch.ones(2, 2, 2), np.zeros((2, 2, 3)))
    bad = tmp_path / "bad.vox"
    bad.write_bytes(b"PNG...." * 5)
    with pytest.raises(ValueError, match="not a MagicaVoxel"):
        load_vox(bad)
    bad.write_bytes(_hand_made()[:-100])
    with pytest.raises(ValueError, match="runs past the end"):
        load_vox(bad)
    # an existing file survives a failed write
    good = save_vox(tmp_path / "keep.vox", torch.ones(1, 1, 1))
    before = good.read_bytes()
    with pytest.raises(ValueError):
        save_vox(good, torch.zeros(300, 1, 1))
    assert good.read_bytes() == before
