"""The check of chapter 10's compositing exercise passes right answers and fails the stub
and the likely mistakes, saying which."""

from __future__ import annotations

import torch

from course_utils import checks


def _right(colors, alphas, background):
    trans = torch.cumprod(torch.cat([alphas.new_ones(1), 1 - alphas]), 0)
    color = (alphas * trans[:-1]) @ colors + trans[-1] * background
    return color, trans[-1]


def test_accepts_front_to_back_compositing(capsys):
    assert checks.check_composite(_right) is True
    assert "✅" in capsys.readouterr().out


def test_fails_the_stub(capsys):
    def stub(colors, alphas, background):
        raise NotImplementedError("Exercise 10.1")

    assert checks.check_composite(stub) is False
    assert "not done yet" in capsys.readouterr().out


def test_names_back_to_front(capsys):
    def backwards(colors, alphas, background):
        return _right(colors.flip(0), alphas.flip(0), background)

    assert checks.check_composite(backwards) is False
    assert "back to front" in capsys.readouterr().out


def test_names_a_missing_background(capsys):
    def no_background(colors, alphas, background):
        color, trans = _right(colors, alphas, background)
        return color - trans * background, trans

    assert checks.check_composite(no_background) is False
    assert "background" in capsys.readouterr().out
