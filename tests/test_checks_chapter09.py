"""The check of chapter 09 spots the likely mistakes and says so (solution and stub are
tested for every chapter in ``test_course_tools.py``)."""

from __future__ import annotations

import pytest
import torch

from course_utils import checks


def _right(alpha):
    transmittance = torch.cumprod(1 - alpha, dim=-1)
    transmittance = torch.cat([torch.ones_like(alpha[..., :1]), transmittance[..., :-1]], dim=-1)
    return alpha * transmittance


def test_check_accepts_the_raymarcher_weights() -> None:
    from course_utils.p3d import renderer

    def library(alpha):
        onehot = torch.eye(alpha.shape[-1], dtype=alpha.dtype).expand(*alpha.shape, -1)
        return renderer.EmissionAbsorptionRaymarcher()(alpha[..., None], onehot, eps=0.0)[..., :-1]

    assert checks.check_emission_absorption_weights(_right) is True
    assert checks.check_emission_absorption_weights(library) is True


@pytest.mark.parametrize(
    "answer, expected_words",
    [
        (lambda a: a * torch.cumprod(1 - a, -1), "includes the sample itself"),
        (lambda a: a * torch.exp(-torch.cumsum(a, -1)), "not exp(-sum"),
        (lambda a: _right(a) / a.clamp(min=1e-12), "that is the transmittance"),
        (lambda a: _right(a).detach(), "no gradient"),
        (lambda a: _right(a).sum(-1), "shape"),
    ],
)
def test_check_explains_wrong_answers(answer, expected_words, capsys) -> None:
    assert checks.check_emission_absorption_weights(answer) is False
    assert expected_words in capsys.readouterr().out
