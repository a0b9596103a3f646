"""The checks of chapter 01 spot the likely mistakes and say so (the right answers and the
stubs are tested for every chapter in ``test_course_tools.py``)."""

from __future__ import annotations

import pytest
import torch

from course_utils import checks
from course_utils.checks.chapter01 import CUBE_VERTS

# A right answer: the sides as squares a, b, c, d (counter-clockwise from outside), split.
SIDES = [(0, 2, 3, 1), (0, 4, 6, 2), (0, 1, 5, 4), (4, 5, 7, 6), (1, 3, 7, 5), (2, 6, 7, 3)]
CUBE = torch.tensor([face for a, b, c, d in SIDES for face in ([a, b, c], [a, c, d])])


def _flip(faces: torch.Tensor, rows: list[int]) -> torch.Tensor:
    flipped = faces.clone()
    flipped[rows] = flipped[rows][:, [0, 2, 1]]
    return flipped


def test_the_cube_answer_is_closed_and_outward():
    v0, v1, v2 = CUBE_VERTS[CUBE].unbind(dim=1)
    normals = torch.linalg.cross(v1 - v0, v2 - v0, dim=1)
    assert ((normals * (v0 + v1 + v2)).sum(dim=1) > 0).all()
    assert checks.check_cube_faces(lambda: CUBE) is True
    # Another order of the faces, or of the corners within a face, is just as right.
    assert checks.check_cube_faces(lambda: CUBE.flip(0)[:, [1, 2, 0]]) is True


@pytest.mark.parametrize(
    "answer, expected_words",
    [
        (lambda: _flip(CUBE, list(range(12))), "swap two indices in every face"),
        (lambda: _flip(CUBE, [3, 8]), "face(s) [3, 8] point inwards"),
        (lambda: CUBE[:6], "split each side into 2 triangles"),
        (lambda: CUBE.float(), "should be integers"),
        (lambda: CUBE + 1, "indices start at 0"),
        (lambda: torch.cat([CUBE[:11], torch.tensor([[0, 3, 5]])]), "cuts through"),
        (lambda: torch.cat([CUBE[:11], torch.tensor([[2, 2, 3]])]), "repeats a vertex"),
        # Two triangles of one side that share a side edge instead of the diagonal.
        (lambda: torch.cat([torch.tensor([[0, 2, 3], [0, 2, 1]]), CUBE[2:]]), "used by"),
        (lambda: torch.cat([CUBE[:10], CUBE[:2]]), "exactly 2 triangles"),
        (lambda: CUBE.tolist(), "expected a torch.Tensor"),
    ],
)
def test_cube_check_names_the_mistake(answer, expected_words, capsys):
    assert checks.check_cube_faces(answer) is False
    out = capsys.readouterr().out
    assert out.startswith("❌ Exercise 1.1") and expected_words in out


def _counts(mesh) -> torch.Tensor:
    edges = mesh.edges_packed()
    return torch.bincount(mesh.faces_packed_to_edges_packed().flatten(), minlength=len(edges))


@pytest.mark.parametrize(
    "answer, expected_words",
    [
        (lambda mesh: torch.ones(len(mesh.edges_packed())), "every count is 1"),
        (lambda mesh: _counts(mesh).sort().values, "wrong order"),
        (lambda mesh: 2 * _counts(mesh), "twice too big"),
        (lambda mesh: torch.ones(len(mesh.faces_packed())), "one number per face"),
        (lambda mesh: _counts(mesh).tolist(), "should be a torch.Tensor"),
    ],
)
def test_edge_count_check_names_the_mistake(answer, expected_words, capsys):
    assert checks.check_edge_use_counts(answer) is False
    out = capsys.readouterr().out
    assert out.startswith("❌ Exercise 1.2") and expected_words in out


def test_edge_counts_may_be_any_integer_or_float_dtype(capsys):
    assert checks.check_edge_use_counts(lambda mesh: _counts(mesh).int()) is True
    assert checks.check_edge_use_counts(lambda mesh: _counts(mesh).float()) is True


def _pack(verts_list, faces_list, shift=True, pad_value=0.0):
    offsets = torch.cumsum(torch.tensor([0] + [len(v) for v in verts_list[:-1]]), dim=0)
    faces = [f + o if shift else f for f, o in zip(faces_list, offsets.tolist())]
    padded = torch.full((len(verts_list), max(len(v) for v in verts_list), 3), pad_value)
    for n, v in enumerate(verts_list):
        padded[n, : len(v)] = v
    return torch.cat(verts_list), torch.cat(faces), padded


@pytest.mark.parametrize(
    "answer, expected_words",
    [
        (lambda v, f: _pack(v, f, shift=False), "without shifting"),
        (lambda v, f: _pack(v, f, pad_value=-1.0), "fill the rest with zeros"),
        (lambda v, f: _pack(v, f)[:2], "a tuple of 3 tensors"),
        (lambda v, f: (_pack(v, f)[0], _pack(v, f)[1], _pack(v, f)[2][:, :3]), "(N, max V_n, 3)"),
        (lambda v, f: (torch.stack(v[:1]), *_pack(v, f)[1:]), "torch.cat(verts_list)"),
    ],
)
def test_pack_and_pad_check_names_the_mistake(answer, expected_words, capsys):
    assert checks.check_pack_and_pad(answer) is False
    out = capsys.readouterr().out
    assert out.startswith("❌ Exercise 1.3") and expected_words in out


def test_pack_and_pad_accepts_a_right_answer(capsys):
    assert checks.check_pack_and_pad(_pack) is True
