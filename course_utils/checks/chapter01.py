"""Checks for the exercises of chapter 01 (meshes)."""

from __future__ import annotations

import torch

from course_utils.checks._core import CheckFailed, call, expect_close, run_check

__all__ = ["check_cube_faces", "check_edge_use_counts", "check_pack_and_pad"]

#: The cube of Exercise 1.1: vertex i sits at (x, y, z) = (bit 0, bit 1, bit 2 of i) - 1/2.
CUBE_VERTS = (
    torch.tensor(
        [[(i >> 0) & 1, (i >> 1) & 1, (i >> 2) & 1] for i in range(8)], dtype=torch.float32
    )
    - 0.5
)

_SIDE_NAMES = {
    (0, -1): "-X",
    (0, 1): "+X",
    (1, -1): "-Y",
    (1, 1): "+Y",
    (2, -1): "-Z",
    (2, 1): "+Z",
}


def _edge_uses(faces: torch.Tensor) -> dict[tuple[int, int], int]:
    """How many faces use each undirected edge ``(i, j)``, ``i < j``."""
    uses: dict[tuple[int, int], int] = {}
    for a, b, c in faces.tolist():
        for i, j in ((a, b), (b, c), (c, a)):
            key = (min(i, j), max(i, j))
            uses[key] = uses.get(key, 0) + 1
    return uses


def _check_cube(got: object) -> str:
    """Raise :class:`CheckFailed` with a hint unless ``got`` is a closed, outward cube."""
    if not torch.is_tensor(got):
        raise CheckFailed(
            f"expected a torch.Tensor of shape (12, 3), got {type(got).__name__}",
            "return torch.tensor([[a, b, c], ...]) with one row per triangle",
        )
    if tuple(got.shape) != (12, 3):
        hint = "a cube has 6 square sides, and each square is 2 triangles: 12 rows of 3 indices"
        if got.dim() == 2 and got.shape[0] == 6:
            hint = "a square is not a triangle: split each side into 2 triangles (12 in all)"
        raise CheckFailed(f"the faces should have shape (12, 3), got {tuple(got.shape)}", hint)
    if got.dtype.is_floating_point or got.dtype == torch.bool:
        raise CheckFailed(
            f"the faces are indices and should be integers, got {got.dtype}",
            "build them with torch.tensor([[0, 2, 1], ...]) (int64) or .long()",
        )
    faces = got.detach().cpu().long()
    if faces.min() < 0 or faces.max() > 7:
        raise CheckFailed(
            f"the cube has vertices 0..7, your faces use {int(faces.min())}..{int(faces.max())}",
            "indices start at 0 (unlike an OBJ file, which starts at 1)",
        )
    verts = CUBE_VERTS
    sides: list[str] = []
    for k, face in enumerate(faces.tolist()):
        if len(set(face)) < 3:
            raise CheckFailed(
                f"face {k} = {face} repeats a vertex: it is a line, not a triangle",
                "a triangle needs three different corners",
            )
        corners = verts[face]
        shared = [
            (axis, int(corners[0, axis].sign()))
            for axis in range(3)
            if bool((corners[:, axis] == corners[0, axis]).all())
        ]
        if not shared:
            raise CheckFailed(
                f"face {k} = {face} cuts through the inside of the cube",
                "the three corners of a face must lie on one side of the cube: share an x, "
                "a y or a z coordinate (look at the table of vertices)",
            )
        sides.append(_SIDE_NAMES[shared[0]])
    counts = {name: sides.count(name) for name in _SIDE_NAMES.values()}
    wrong = {name: n for name, n in counts.items() if n != 2}
    if wrong:
        raise CheckFailed(
            "every side needs exactly 2 triangles; yours have "
            + ", ".join(f"{name}: {n}" for name, n in wrong.items()),
            "list the 4 corners of each side, then split that square along a diagonal",
        )
    uses = _edge_uses(faces)
    bad = {edge: n for edge, n in uses.items() if n != 2}
    if bad:
        edge, n = next(iter(bad.items()))
        raise CheckFailed(
            f"edge {edge} is used by {n} triangle(s); in a closed cube every edge is shared "
            "by exactly 2",
            "the two triangles of a side must share its diagonal: e.g. [a, b, c] and "
            "[a, c, d] for the corners a, b, c, d in order around the square",
        )
    v0, v1, v2 = verts[faces].unbind(dim=1)
    normals = torch.linalg.cross(v1 - v0, v2 - v0, dim=1)
    centres = (v0 + v1 + v2) / 3
    inwards = [k for k in range(12) if float((normals[k] * centres[k]).sum()) < 0]
    if len(inwards) == 12:
        raise CheckFailed(
            "all your faces point inwards (their normals point into the cube)",
            "your winding is clockwise seen from outside: swap two indices in every face, "
            "e.g. [a, b, c] -> [a, c, b]",
        )
    if inwards:
        raise CheckFailed(
            f"face(s) {inwards} point inwards: "
            + ", ".join(f"{faces[k].tolist()} on side {sides[k]}" for k in inwards),
            "seen from outside the cube, the corners must go counter-clockwise: swap two "
            "indices of those faces",
        )
    return "12 triangles, every edge shared by two, every normal pointing out: a closed cube."


def check_cube_faces(cube_faces) -> bool:
    """Exercise 1.1: ``cube_faces() -> (12, 3)`` int64 faces of the unit cube, outwards."""

    def attempt() -> str:
        return _check_cube(call(cube_faces))

    return run_check("Exercise 1.1 (the cube's faces)", attempt)


def _edge_cases() -> list[tuple[str, object]]:
    """Meshes whose edges are used 1, 2 or 3 times (closed, open, non-manifold, batched)."""
    from course_utils.p3d import structures, utils

    tetra_verts = torch.tensor([[1.0, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]) / 2
    tetra_faces = torch.tensor([[0, 1, 2], [0, 2, 3], [0, 3, 1], [1, 3, 2]])
    triangle = (torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]]), torch.tensor([[0, 1, 2]]))
    # Three triangles hinged on one edge (0, 1), like the pages of a book.
    book = (
        torch.tensor([[0.0, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1], [-1, 0, -1]]),
        torch.tensor([[0, 1, 2], [0, 3, 1], [1, 0, 4]]),
    )
    sphere = utils.ico_sphere(2)
    sphere_verts, sphere_faces = sphere.verts_packed(), sphere.faces_packed()
    keep = sphere_verts[sphere_faces][:, :, 1].min(dim=1).values < 0.7  # cut off the top cap
    holed = (sphere_verts, sphere_faces[keep])

    def mesh(*parts: tuple[torch.Tensor, torch.Tensor]) -> object:
        return structures.Meshes(verts=[v for v, _ in parts], faces=[f for _, f in parts])

    return [
        ("a closed tetrahedron", mesh((tetra_verts, tetra_faces))),
        ("a single triangle", mesh(triangle)),
        ("three triangles sharing one edge", mesh(book)),
        ("an ico_sphere(2) with a hole", mesh(holed)),
        (
            "a batch (triangle + tetrahedron + holed sphere)",
            mesh(triangle, (tetra_verts, tetra_faces), holed),
        ),
    ]


def check_edge_use_counts(edge_use_counts) -> bool:
    """Exercise 1.2: ``edge_use_counts(mesh) -> (E,)`` faces using each edge of ``edges_packed``."""

    def attempt() -> str:
        for name, mesh in _edge_cases():
            edges = mesh.edges_packed()
            expected = torch.bincount(
                mesh.faces_packed_to_edges_packed().flatten(), minlength=len(edges)
            )
            got = call(edge_use_counts, mesh)
            hint = (
                "flatten mesh.faces_packed_to_edges_packed() (each face's 3 edge indices) and "
                "count how often each edge index appears: torch.bincount(..., minlength=E)"
            )
            if torch.is_tensor(got):
                shape = tuple(got.shape)
                if shape == (len(mesh.faces_packed()),) or shape == (len(mesh.verts_packed()),):
                    what = "face" if shape[0] == len(mesh.faces_packed()) else "vertex"
                    hint = (
                        f"you returned one number per {what}; return one per edge, in the order "
                        "of mesh.edges_packed()"
                    )
                elif shape == tuple(expected.shape):
                    values = got.detach().cpu().long()
                    if bool((values == 1).all()) and not bool((expected == 1).all()):
                        hint = (
                            "every count is 1: edges_packed() lists each edge once; count how "
                            "often each appears in faces_packed_to_edges_packed()"
                        )
                    elif torch.equal(values.sort().values, expected.sort().values):
                        hint = (
                            "the right counts in the wrong order: count e must belong to "
                            "edges_packed()[e] (torch.bincount keeps that order; sorting does not)"
                        )
                    elif torch.equal(values, 2 * expected):
                        hint = "your counts are twice too big: each face has 3 edges, not 6"
            expect_close(got, expected.float(), f"the edge counts of {name}", hint)
        return (
            "right on a closed tetrahedron, a triangle, a 'book' of three pages, a holed "
            "sphere and a batch."
        )

    return run_check("Exercise 1.2 (edge use counts)", attempt)


def _pack_cases() -> list[tuple[str, list[torch.Tensor], list[torch.Tensor]]]:
    """Lists of meshes of different sizes (verts, faces)."""
    from course_utils.p3d import utils

    generator = torch.Generator().manual_seed(1)
    tetra_verts = torch.tensor([[1.0, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]) / 2
    tetra_faces = torch.tensor([[0, 1, 2], [0, 2, 3], [0, 3, 1], [1, 3, 2]])
    triangle = (torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]]) + 2, torch.tensor([[0, 1, 2]]))
    sphere = utils.ico_sphere(1)
    random_verts = torch.rand(7, 3, generator=generator)
    random_faces = torch.randint(0, 7, (5, 3), generator=generator)
    return [
        (
            "[tetrahedron, cube]",
            [tetra_verts, CUBE_VERTS.clone()],
            [tetra_faces, torch.tensor([[0, 2, 1], [1, 2, 3], [4, 5, 6], [5, 7, 6]])],
        ),
        (
            "[ico_sphere(1), triangle, random]",
            [sphere.verts_packed(), triangle[0], random_verts],
            [sphere.faces_packed(), triangle[1], random_faces],
        ),
        ("[one triangle]", [triangle[0]], [triangle[1]]),
    ]


def check_pack_and_pad(pack_and_pad) -> bool:
    """Exercise 1.3: ``pack_and_pad(verts_list, faces_list)`` -> packed verts, packed faces,
    padded verts, as ``Meshes`` computes them."""
    from course_utils.p3d import structures

    def attempt() -> str:
        for name, verts_list, faces_list in _pack_cases():
            mesh = structures.Meshes(verts=verts_list, faces=faces_list)
            got = call(
                pack_and_pad, [v.clone() for v in verts_list], [f.clone() for f in faces_list]
            )
            if not isinstance(got, (tuple, list)) or len(got) != 3:
                raise CheckFailed(
                    f"expected a tuple of 3 tensors, got {type(got).__name__}",
                    "return verts_packed, faces_packed, verts_padded",
                )
            verts_packed, faces_packed, verts_padded = got
            expect_close(
                verts_packed,
                mesh.verts_packed(),
                f"verts_packed of {name}",
                "stack all the vertices one mesh after the other: torch.cat(verts_list)",
            )
            hint = (
                "faces_packed index into verts_packed: shift the faces of mesh n by the number "
                "of vertices in meshes 0..n-1"
            )
            if torch.is_tensor(faces_packed) and faces_packed.shape == mesh.faces_packed().shape:
                if torch.equal(faces_packed.cpu().long(), torch.cat(faces_list)):
                    hint = (
                        "you concatenated the faces without shifting them: the faces of mesh n "
                        "must add the number of vertices of the meshes before it"
                    )
            expect_close(faces_packed, mesh.faces_packed().float(), f"faces_packed of {name}", hint)
            num_verts = max(len(v) for v in verts_list)
            hint = (
                f"the shape is (N, max V_n, 3) = ({len(verts_list)}, {num_verts}, 3), and mesh n "
                "fills rows 0..V_n-1 of its slice"
            )
            if torch.is_tensor(verts_padded) and verts_padded.shape == mesh.verts_padded().shape:
                inside = torch.zeros(verts_padded.shape[:2], dtype=torch.bool)
                for n, v in enumerate(verts_list):
                    inside[n, : len(v)] = True
                expected = mesh.verts_padded()
                if torch.allclose(verts_padded.detach().cpu().float()[inside], expected[inside]):
                    hint = "the vertices are right but the padding is not: fill the rest with zeros"
            expect_close(verts_padded, mesh.verts_padded(), f"verts_padded of {name}", hint)
        return "packed vertices, shifted packed faces and zero-padded vertices all match Meshes."

    return run_check("Exercise 1.3 (pack and pad)", attempt)
