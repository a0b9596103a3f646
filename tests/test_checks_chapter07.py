"""The check of chapter 07 accepts a right z-buffer and names the likely mistakes (the
notebook's solution and stub are tested for every chapter in ``test_course_tools.py``)."""

from __future__ import annotations

import math

import torch

from course_utils import checks


def _zbuffer(nearest: str = "amin", ties: bool = True):
    """A z-buffer, right for the defaults, with one mistake otherwise."""

    def zbuffer(pixel: torch.Tensor, depth: torch.Tensor, num_pixels: int) -> torch.Tensor:
        fill = math.inf if nearest == "amin" else -math.inf
        zbuf = torch.full((num_pixels,), fill)
        zbuf.scatter_reduce_(0, pixel, depth, reduce=nearest, include_self=True)
        ids = torch.arange(len(pixel))
        chosen = depth == zbuf[pixel]
        winner = torch.full((num_pixels,), len(pixel))
        if ties:
            winner.scatter_reduce_(0, pixel[chosen], ids[chosen], reduce="amin")
        else:  # the last written wins: not deterministic, and not the lowest index
            winner[pixel[chosen]] = ids[chosen]
        return torch.where(winner < len(pixel), winner, -1)

    return zbuffer


def test_zbuffer_check_accepts_a_right_answer():
    assert checks.check_zbuffer(_zbuffer()) is True


def test_zbuffer_check_names_the_likely_mistakes(capsys):
    assert checks.check_zbuffer(_zbuffer(nearest="amax")) is False
    assert "smallest" in capsys.readouterr().out
    assert checks.check_zbuffer(_zbuffer(ties=False)) is False
    assert "lowest" in capsys.readouterr().out


def test_zbuffer_check_fails_a_stub_and_a_wrong_shape(capsys):
    def stub(pixel, depth, num_pixels):
        raise NotImplementedError("Exercise 7.1")

    assert checks.check_zbuffer(stub) is False
    assert "not done yet" in capsys.readouterr().out
    assert checks.check_zbuffer(lambda p, d, n: torch.zeros(n + 1)) is False
    assert "shape" in capsys.readouterr().out


def test_later_cells_use_the_learners_zbuffer_only_once_it_passes(capsys):
    from course_utils.projections import zbuffer as library

    right = _zbuffer()
    assert checks.check_zbuffer(right) is True
    assert checks.yours_or_library(right, library, "zbuffer") is right
    wrong = _zbuffer(nearest="amax")
    assert checks.check_zbuffer(wrong) is False
    assert checks.yours_or_library(wrong, library, "zbuffer") is library
    assert "course's version" in capsys.readouterr().out
