"""The checks of chapter 05 accept right answers, reject stubs and name the likely mistakes
(the notebook's own solutions and stubs are tested for every chapter in
``test_course_tools.py``)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from course_utils import checks
from course_utils.models import VoxelConvDecoder
from course_utils.p3d import ops


def _stub(*args):
    raise NotImplementedError("Exercise 5.N: your code here")


# ---------------------------------------------------------------- Exercise 5.1
class _Decoder(nn.Module):
    """A Pix2Vox-style decoder with optional mistakes."""

    def __init__(
        self,
        latent_dim: int,
        channels,
        squeeze: bool = True,
        ups: int | None = None,
        start: int = 4,
        kernel: int = 4,
    ) -> None:
        super().__init__()
        channels = list(channels)
        self.c0, self.start, self.squeeze = channels[0], start, squeeze
        self.fc = nn.Linear(latent_dim, channels[0] * start**3)
        pairs = list(zip(channels[:-1], channels[1:]))
        if ups is not None:
            pairs = (pairs + [(channels[-1], channels[-1])] * 4)[:ups]
        layers = []
        for c_in, c_out in pairs:
            layers += [
                nn.ConvTranspose3d(c_in, c_out, kernel, stride=2, padding=1),
                nn.BatchNorm3d(c_out),
                nn.ReLU(),
            ]
        self.up = nn.Sequential(*layers)
        self.head = nn.Conv3d(pairs[-1][1] if pairs else channels[0], 1, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        s = self.start
        out = self.head(self.up(torch.relu(self.fc(z)).view(-1, self.c0, s, s, s)))
        return out[:, 0] if self.squeeze else out


class _Upsampling(nn.Module):
    """Doubles with trilinear interpolation instead of transposed convolutions."""

    def __init__(self, latent_dim: int, channels) -> None:
        super().__init__()
        self.c0, self.n = channels[0], len(channels) - 1
        self.fc = nn.Linear(latent_dim, channels[0] * 64)
        self.head = nn.Conv3d(channels[0], 1, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.fc(z).view(-1, self.c0, 4, 4, 4)
        x = nn.functional.interpolate(x, scale_factor=2**self.n, mode="trilinear")
        return self.head(x)[:, 0]


class _Constant(_Decoder):
    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return super().forward(torch.zeros_like(z))


def test_voxel_decoder_check_accepts_the_library_decoder(capsys):
    assert checks.check_voxel_decoder(lambda d, c: VoxelConvDecoder(d, channels=c)) is True
    assert checks.check_voxel_decoder(lambda d, c: _Decoder(d, c)) is True
    assert "fewer than the MLP decoder" in capsys.readouterr().out


@pytest.mark.parametrize(
    "answer, expected_words",
    [
        (_stub, "not done yet"),
        (lambda d, c: _Decoder(d, c, squeeze=False), "drop it"),
        (lambda d, c: _Decoder(d, c, ups=len(c) - 2), "one doubling too few"),
        (lambda d, c: _Decoder(d, c, ups=len(c)), "one doubling too many"),
        (lambda d, c: _Decoder(d, c, kernel=3), "exactly doubles"),
        (lambda d, c: _Upsampling(d, c), "ConvTranspose3d layers"),
        (lambda d, c: _Constant(d, c), "same grid for two different latents"),
        (lambda d, c: "decoder", "should return a torch.nn.Module"),
    ],
)
def test_voxel_decoder_check_names_the_mistake(answer, expected_words, capsys):
    assert checks.check_voxel_decoder(answer) is False
    out = capsys.readouterr().out
    assert out.startswith("❌ Exercise 5.1") and expected_words in out


# ---------------------------------------------------------------- Exercise 5.2
def _deform(v, raw, m):
    return v + m * torch.tanh(raw.view(raw.shape[0], -1, 3))


def test_deform_sphere_check_accepts_the_mesh_decoder_formula():
    assert checks.check_deform_sphere(_deform) is True


@pytest.mark.parametrize(
    "answer, expected_words",
    [
        (_stub, "not done yet"),
        (lambda v, raw, m: v + m * raw.view(raw.shape[0], -1, 3), "torch.tanh"),
        (lambda v, raw, m: v + torch.tanh(raw.view(raw.shape[0], -1, 3)), "scale tanh"),
        (lambda v, raw, m: m * torch.tanh(raw.view(raw.shape[0], -1, 3)), "add them"),
        (
            lambda v, raw, m: v + m * torch.tanh(raw.view(raw.shape[0], 3, -1).transpose(1, 2)),
            ".view(B, V, 3)",
        ),
        (lambda v, raw, m: v + m * torch.sigmoid(raw.view(raw.shape[0], -1, 3)), "sigmoid"),
        (lambda v, raw, m: _deform(v, raw, m)[0], "shape"),
        (lambda v, raw, m: _deform(v, raw.detach(), m), "autograd"),
    ],
)
def test_deform_sphere_check_names_the_mistake(answer, expected_words, capsys):
    assert checks.check_deform_sphere(answer) is False
    out = capsys.readouterr().out
    assert out.startswith("❌ Exercise 5.2") and expected_words in out


# ---------------------------------------------------------------- Exercise 5.3
def _shares(pred, gt, tau, squared_mistake=False):
    d_pred = ops.knn_points(pred[None], gt[None], K=1).dists[0, :, 0]
    d_gt = ops.knn_points(gt[None], pred[None], K=1).dists[0, :, 0]
    limit = tau if squared_mistake else tau**2
    return (d_pred < limit).float().mean(), (d_gt < limit).float().mean()


def _f1(pred, gt, tau, squared_mistake=False, guard=True, mean="harmonic"):
    precision, recall = _shares(pred, gt, tau, squared_mistake)
    if mean == "arithmetic":
        return (precision + recall) / 2
    if guard and float(precision + recall) == 0:
        return torch.tensor(0.0)
    return 2 * precision * recall / (precision + recall)


def test_f1_check_accepts_a_right_answer_and_the_library():
    from course_utils.evaluation import point_metrics

    assert checks.check_f1_score(_f1) is True
    assert checks.check_f1_score(lambda p, g, t: point_metrics(p, g, [t])[f"f1@{t:g}"]) is True


@pytest.mark.parametrize(
    "answer, expected_words",
    [
        (_stub, "not done yet"),
        (lambda p, g, t: _f1(p, g, t, squared_mistake=True), "tau**2"),
        (lambda p, g, t: _f1(p, g, t, guard=False), "don't divide"),
        (lambda p, g, t: 100 * _f1(p, g, t), "not a percentage"),
        (lambda p, g, t: _f1(p, g, t, mean="arithmetic"), "harmonic mean"),
        (lambda p, g, t: _shares(p, g, t)[0], "precision only"),
        (lambda p, g, t: _shares(p, g, t)[1], "recall only"),
        (lambda p, g, t: torch.stack(_shares(p, g, t)), "one number"),
    ],
)
def test_f1_check_names_the_mistake(answer, expected_words, capsys):
    assert checks.check_f1_score(answer) is False
    out = capsys.readouterr().out
    assert out.startswith("❌ Exercise 5.3") and expected_words in out
