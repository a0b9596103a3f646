"""``Meshes``: a batch of triangle meshes of different sizes, as in PyTorch3D.

A triangle mesh is a vertex tensor ``verts`` of shape ``(V, 3)`` (float, one xyz row per
vertex) and a face tensor ``faces`` of shape ``(F, 3)`` (int64, three vertex indices per
triangle, counter-clockwise when seen from outside, so ``(v1 - v0) x (v2 - v0)`` points
outwards). A batch of N meshes of different sizes is offered in three views:

* list: ``verts_list()[n]`` is ``(V_n, 3)``, ``faces_list()[n]`` is ``(F_n, 3)`` indexing
  into mesh n's own vertices;
* packed: ``verts_packed()`` is ``(sum V_n, 3)``; ``faces_packed()`` is ``(sum F_n, 3)``
  and indexes into the *packed* vertices (mesh n's faces are offset by the number of
  vertices before it);
* padded: ``verts_padded()`` is ``(N, max V_n, 3)`` padded with 0; ``faces_padded()`` is
  ``(N, max F_n, 3)`` padded with -1, indexing into each mesh's own vertices.

Derived quantities (normals, areas, edges) are computed on first use from the packed view,
with vectorised tensor operations, and cached. Everything is differentiable with respect
to the vertex positions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from course_utils.p3d.builtin.common import Device, make_device
from course_utils.p3d.builtin.structures.batching import (
    batch_indices,
    list_to_padded,
    padded_bounding_boxes,
    padded_to_list,
    padded_to_packed_index,
)

IndexLike = int | slice | Sequence[int] | torch.Tensor


def _check_verts_faces_pair(verts: torch.Tensor, faces: torch.Tensor, n: int) -> None:
    """Validate one mesh of a list input; errors name the mesh and the problem."""
    if verts.dim() != 2 or verts.shape[1] != 3:
        raise ValueError(f"Meshes: verts[{n}] must have shape (V, 3), got {tuple(verts.shape)}")
    if faces.dim() != 2 or faces.shape[1] != 3:
        raise ValueError(
            f"Meshes: faces[{n}] must have shape (F, 3) (triangles), got {tuple(faces.shape)}; "
            "split polygons into triangles first"
        )
    if faces.dtype == torch.bool:
        raise ValueError(f"Meshes: faces[{n}] must be an integer tensor, got {faces.dtype}")
    # As PyTorch3D, float faces are converted to int64, but only whole numbers are indices.
    if faces.dtype.is_floating_point and not bool((faces == faces.round()).all()):
        raise ValueError(
            f"Meshes: faces[{n}] is a {faces.dtype} tensor with fractional values; faces are "
            "vertex indices (whole numbers, ideally an int64 tensor)"
        )
    if faces.numel() > 0:
        low, high = int(faces.min()), int(faces.max())
        if low < 0 or high >= verts.shape[0]:
            bad = low if low < 0 else high
            raise ValueError(
                f"Meshes: faces[{n}] refers to vertex {bad}, but mesh {n} has "
                f"{verts.shape[0]} vertices (valid indices 0..{verts.shape[0] - 1})"
            )


class Meshes:
    """A batch of N triangle meshes, possibly of different sizes (PyTorch3D's ``Meshes``).

    Args:
        verts: a list of N float tensors ``(V_n, 3)``, or a padded tensor ``(N, V, 3)``
            (then every mesh has V vertices).
        faces: a list of N int64 tensors ``(F_n, 3)`` with indices into the matching
            ``verts[n]``, or a padded tensor ``(N, F, 3)`` whose unused rows are -1 and sit
            at the end.
        textures: optional ``TexturesVertex`` / ``TexturesUV`` with batch size N; carried
            through indexing, ``extend``, ``to``, ``clone`` and joins.
        verts_normals: optional per-vertex normals (list of ``(V_n, 3)`` or ``(N, V, 3)``),
            used instead of computed ones.

    Example:
        >>> import torch
        >>> verts = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
        >>> faces = torch.tensor([[0, 1, 2]])
        >>> mesh = Meshes(verts=[verts], faces=[faces])
        >>> mesh.faces_areas_packed()
        tensor([0.5000])
        >>> mesh.faces_normals_packed()
        tensor([[0., 0., 1.]])
    """

    #: The names of the batch's internal tensors and flags (as PyTorch3D's class attribute
    #: of this name): code that copies a batch's cached state iterates over it.
    _INTERNAL_TENSORS = [
        "_verts_packed",
        "_verts_padded",
        "_num_verts_per_mesh",
        "_faces_packed",
        "_faces_padded",
        "_faces_areas_packed",
        "_verts_normals_packed",
        "_faces_normals_packed",
        "_num_faces_per_mesh",
        "_edges_packed",
        "_edges_packed_to_mesh_idx",
        "_faces_packed_to_edges_packed",
        "_num_edges_per_mesh",
        "valid",
        "equisized",
    ]

    def __init__(
        self,
        verts: Sequence[torch.Tensor] | torch.Tensor,
        faces: Sequence[torch.Tensor] | torch.Tensor,
        textures: Any = None,
        *,
        verts_normals: Sequence[torch.Tensor] | torch.Tensor | None = None,
    ) -> None:
        self.textures = textures
        self._verts_list: list[torch.Tensor] | None = None
        self._faces_list: list[torch.Tensor] | None = None
        self._verts_padded: torch.Tensor | None = None
        self._faces_padded: torch.Tensor | None = None
        self._clear_derived()

        if isinstance(verts, (list, tuple)) and isinstance(faces, (list, tuple)):
            self._init_from_lists(list(verts), list(faces))
        elif torch.is_tensor(verts) and torch.is_tensor(faces):
            self._init_from_padded(verts, faces)
        else:
            raise ValueError(
                "Meshes: verts and faces must both be lists of tensors or both be padded "
                f"tensors; got {type(verts).__name__} and {type(faces).__name__}"
            )

        if verts_normals is not None:
            self._set_given_verts_normals(verts_normals)
        if textures is not None:
            self._attach_textures(textures)

    # ------------------------------------------------------------------ construction
    def _clear_derived(self) -> None:
        """Forget every cached view derived from the vertex positions or topology."""
        self._verts_packed: torch.Tensor | None = None
        self._faces_packed: torch.Tensor | None = None
        self._verts_normals_packed: torch.Tensor | None = None
        self._faces_normals_packed: torch.Tensor | None = None
        self._faces_areas_packed: torch.Tensor | None = None
        self._edges_packed: torch.Tensor | None = None
        self._faces_packed_to_edges_packed: torch.Tensor | None = None
        self._edges_packed_to_mesh_idx: torch.Tensor | None = None
        self._num_edges_per_mesh: torch.Tensor | None = None
        # Index maps between the packed and per-mesh views, filled with the packed tensors
        # (as PyTorch3D's ``_compute_packed`` does) so ``update_padded`` can share them.
        self._verts_packed_to_mesh_idx: torch.Tensor | None = None
        self._faces_packed_to_mesh_idx: torch.Tensor | None = None
        self._mesh_to_verts_packed_first_idx: torch.Tensor | None = None
        self._mesh_to_faces_packed_first_idx: torch.Tensor | None = None
        self._mesh_to_edges_packed_first_idx: torch.Tensor | None = None

    def _init_from_lists(self, verts: list[torch.Tensor], faces: list[torch.Tensor]) -> None:
        if len(verts) != len(faces):
            raise ValueError(
                f"Meshes: got {len(verts)} vertex tensors but {len(faces)} face tensors"
            )
        self._N = len(verts)
        if self._N == 0:
            self.device = torch.device("cpu")
            self._verts_list, self._faces_list = [], []
            self._num_verts_per_mesh = torch.zeros(0, dtype=torch.int64)
            self._num_faces_per_mesh = torch.zeros(0, dtype=torch.int64)
            self._V = self._F = 0
        else:
            self.device = verts[0].device
            for n, (v, f) in enumerate(zip(verts, faces)):
                if not torch.is_tensor(v) or not torch.is_tensor(f):
                    raise ValueError(f"Meshes: verts[{n}] and faces[{n}] must be tensors")
                if v.device != self.device or f.device != self.device:
                    raise ValueError(
                        f"Meshes: all tensors must be on one device; verts[0] is on "
                        f"{self.device}, verts[{n}]/faces[{n}] on {v.device}/{f.device}"
                    )
                _check_verts_faces_pair(v, f, n)
            self._verts_list = verts
            self._faces_list = [f.to(torch.int64) for f in faces]
            self._num_verts_per_mesh = torch.tensor(
                [v.shape[0] for v in verts], dtype=torch.int64, device=self.device
            )
            self._num_faces_per_mesh = torch.tensor(
                [f.shape[0] for f in faces], dtype=torch.int64, device=self.device
            )
            self._V = int(self._num_verts_per_mesh.max())
            self._F = int(self._num_faces_per_mesh.max())
        self.valid = self._num_faces_per_mesh > 0
        self.equisized = (
            self._N > 0
            and bool((self._num_verts_per_mesh == self._V).all())
            and bool((self._num_faces_per_mesh == self._F).all())
        )

    def _init_from_padded(self, verts: torch.Tensor, faces: torch.Tensor) -> None:
        if verts.dim() != 3 or verts.shape[2] != 3:
            raise ValueError(f"Meshes: padded verts must be (N, V, 3), got {tuple(verts.shape)}")
        if faces.dim() != 3 or faces.shape[2] != 3:
            raise ValueError(f"Meshes: padded faces must be (N, F, 3), got {tuple(faces.shape)}")
        if faces.shape[0] != verts.shape[0]:
            raise ValueError(
                f"Meshes: padded verts hold {verts.shape[0]} meshes, faces {faces.shape[0]}"
            )
        if faces.dtype.is_floating_point and not bool((faces == faces.round()).all()):
            raise ValueError(
                f"Meshes: faces is a {faces.dtype} tensor with fractional values; faces are "
                "vertex indices (whole numbers, ideally an int64 tensor)"
            )
        self.device = verts.device
        self._N, self._V, self._F = verts.shape[0], verts.shape[1], faces.shape[1]
        faces = faces.to(torch.int64)
        real_faces = (faces > -1).all(dim=2)  # (N, F): rows that are not padding
        self._num_faces_per_mesh = real_faces.sum(dim=1)
        # Padding must be at the end: the first F_n rows real, the rest all -1.
        expected = (
            torch.arange(self._F, device=self.device)[None] < self._num_faces_per_mesh[:, None]
        )
        if not torch.equal(real_faces, expected) or bool(
            ((faces < 0) & real_faces[..., None]).any()
        ):
            raise ValueError(
                "Meshes: padded faces must list each mesh's real faces first and fill the "
                "rest with -1 rows"
            )
        if real_faces.any() and int(faces.max()) >= self._V:
            raise ValueError(
                f"Meshes: faces refer to vertex {int(faces.max())}, but the padded verts "
                f"have {self._V} per mesh"
            )
        self._num_verts_per_mesh = torch.full(
            (self._N,), self._V, dtype=torch.int64, device=self.device
        )
        self._verts_padded = verts
        self._faces_padded = faces
        self.valid = self._num_faces_per_mesh > 0
        self.equisized = bool((self._num_faces_per_mesh == self._F).all())

    def _set_given_verts_normals(self, normals: Sequence[torch.Tensor] | torch.Tensor) -> None:
        if torch.is_tensor(normals):
            if normals.shape != (self._N, self._V, 3):
                raise ValueError(
                    f"Meshes: verts_normals must be (N, V, 3) = {(self._N, self._V, 3)}, "
                    f"got {tuple(normals.shape)}"
                )
            normals = padded_to_list(normals, self._num_verts_per_mesh.tolist())
        normals = list(normals)
        counts = self._num_verts_per_mesh.tolist()
        if len(normals) != self._N or any(n.shape != (c, 3) for n, c in zip(normals, counts)):
            raise ValueError("Meshes: verts_normals must match verts mesh by mesh, shape (V_n, 3)")
        self._verts_normals_packed = torch.cat(normals, dim=0) if normals else None

    def _attach_textures(self, textures: Any) -> None:
        batch = getattr(textures, "_N", None)
        if batch is not None and batch != self._N:
            raise ValueError(
                f"Meshes: textures do not match the dimensions of Meshes: they hold {batch} "
                f"meshes but the mesh batch has {self._N}"
            )
        textures._num_faces_per_mesh = self._num_faces_per_mesh.tolist()
        textures._num_verts_per_mesh = self._num_verts_per_mesh.tolist()
        textures.valid = self.valid
        check = getattr(textures, "_check_mesh_sizes", None)
        if check is not None:
            check(self._num_verts_per_mesh.tolist(), self._num_faces_per_mesh.tolist())

    # ------------------------------------------------------------------ basics
    def __len__(self) -> int:
        return self._N

    def __getitem__(self, index: IndexLike) -> Meshes:
        """Select meshes: an int, a slice, a list of ints, or a 1-D long/bool tensor."""
        chosen = batch_indices(index, self._N, "mesh")
        verts = self.verts_list()
        faces = self.faces_list()
        textures = None if self.textures is None else self.textures[chosen]
        return self.__class__(
            verts=[verts[i] for i in chosen], faces=[faces[i] for i in chosen], textures=textures
        )

    def isempty(self) -> bool:
        """True when the batch has no meshes or no mesh has a face."""
        return self._N == 0 or not bool(self.valid.any())

    def __repr__(self) -> str:
        return (
            f"Meshes(N={self._N}, verts={self._num_verts_per_mesh.tolist()}, "
            f"faces={self._num_faces_per_mesh.tolist()}, device={self.device})"
        )

    # ------------------------------------------------------------------ list view
    def verts_list(self) -> list[torch.Tensor]:
        """List of N tensors ``(V_n, 3)``."""
        if self._verts_list is None:
            self._verts_list = padded_to_list(self._verts_padded, self._num_verts_per_mesh.tolist())
        return self._verts_list

    def faces_list(self) -> list[torch.Tensor]:
        """List of N int64 tensors ``(F_n, 3)``, indices into each mesh's own vertices."""
        if self._faces_list is None:
            self._faces_list = padded_to_list(self._faces_padded, self._num_faces_per_mesh.tolist())
        return self._faces_list

    # ------------------------------------------------------------------ packed view
    def verts_packed(self) -> torch.Tensor:
        """All vertices, ``(sum V_n, 3)``."""
        if self._verts_packed is None:
            if self._N == 0:
                self._verts_packed = torch.zeros((0, 3), device=self.device)
            elif self._verts_list is None and self.equisized_verts:
                self._verts_packed = self._verts_padded.reshape(-1, 3)
            else:
                self._verts_packed = torch.cat(self.verts_list(), dim=0)
            self._compute_packed_indices()
        return self._verts_packed

    def _compute_packed_indices(self) -> None:
        """Fill the cached packed <-> per-mesh index maps (they depend on the sizes only)."""
        self.verts_packed_to_mesh_idx()
        self.faces_packed_to_mesh_idx()
        self.mesh_to_verts_packed_first_idx()
        self.mesh_to_faces_packed_first_idx()

    @property
    def equisized_verts(self) -> bool:
        return self._N > 0 and bool((self._num_verts_per_mesh == self._V).all())

    def faces_packed(self) -> torch.Tensor:
        """All faces, ``(sum F_n, 3)`` int64, indices into :meth:`verts_packed`."""
        if self._faces_packed is None:
            if self._N == 0:
                self._faces_packed = torch.zeros((0, 3), dtype=torch.int64, device=self.device)
            else:
                offsets = self.mesh_to_verts_packed_first_idx()
                faces = torch.cat(self.faces_list(), dim=0)
                self._faces_packed = faces + offsets[self.faces_packed_to_mesh_idx()][:, None]
            self._compute_packed_indices()
        return self._faces_packed

    def num_verts_per_mesh(self) -> torch.Tensor:
        """``(N,)`` int64: V_n."""
        return self._num_verts_per_mesh

    def num_faces_per_mesh(self) -> torch.Tensor:
        """``(N,)`` int64: F_n."""
        return self._num_faces_per_mesh

    def mesh_to_verts_packed_first_idx(self) -> torch.Tensor:
        """``(N,)`` int64: row of :meth:`verts_packed` where mesh n's vertices start."""
        if self._mesh_to_verts_packed_first_idx is None:
            counts = self._num_verts_per_mesh
            self._mesh_to_verts_packed_first_idx = torch.cumsum(counts, dim=0) - counts
        return self._mesh_to_verts_packed_first_idx

    def mesh_to_faces_packed_first_idx(self) -> torch.Tensor:
        """``(N,)`` int64: row of :meth:`faces_packed` where mesh n's faces start."""
        if self._mesh_to_faces_packed_first_idx is None:
            counts = self._num_faces_per_mesh
            self._mesh_to_faces_packed_first_idx = torch.cumsum(counts, dim=0) - counts
        return self._mesh_to_faces_packed_first_idx

    def verts_packed_to_mesh_idx(self) -> torch.Tensor:
        """``(sum V_n,)`` int64: the mesh each packed vertex belongs to."""
        if self._verts_packed_to_mesh_idx is None:
            self._verts_packed_to_mesh_idx = torch.repeat_interleave(
                torch.arange(self._N, device=self.device), self._num_verts_per_mesh
            )
        return self._verts_packed_to_mesh_idx

    def faces_packed_to_mesh_idx(self) -> torch.Tensor:
        """``(sum F_n,)`` int64: the mesh each packed face belongs to."""
        if self._faces_packed_to_mesh_idx is None:
            self._faces_packed_to_mesh_idx = torch.repeat_interleave(
                torch.arange(self._N, device=self.device), self._num_faces_per_mesh
            )
        return self._faces_packed_to_mesh_idx

    def verts_padded_to_packed_idx(self) -> torch.Tensor:
        """``(sum V_n,)`` int64: ``verts_padded().view(-1, 3)[idx]`` equals the packed verts."""
        return padded_to_packed_index(self._num_verts_per_mesh, self._V)

    # ------------------------------------------------------------------ padded view
    def verts_padded(self) -> torch.Tensor:
        """``(N, max V_n, 3)``, padded with 0."""
        if self._verts_padded is None:
            if self._N == 0:
                self._verts_padded = torch.zeros((0, 0, 3), device=self.device)
            else:
                self._verts_padded = list_to_padded(
                    self.verts_list(), (self._V, 3), pad_value=0.0, equisized=self.equisized
                )
        return self._verts_padded

    def faces_padded(self) -> torch.Tensor:
        """``(N, max F_n, 3)`` int64, padded with -1; indices into each mesh's own vertices."""
        if self._faces_padded is None:
            if self._N == 0:
                self._faces_padded = torch.zeros((0, 0, 3), dtype=torch.int64, device=self.device)
            else:
                self._faces_padded = list_to_padded(
                    self.faces_list(), (self._F, 3), pad_value=-1, equisized=self.equisized
                )
        return self._faces_padded

    # ------------------------------------------------------------------ geometry
    # PyTorch3D's cache-filling methods, under its names (code and tests call them).
    def _compute_packed(self, refresh: bool = False) -> None:
        """Fill (or with ``refresh`` recompute) the packed vertices and faces."""
        if refresh:
            self._verts_packed = None
            self._faces_packed = None
        self.verts_packed()
        self.faces_packed()

    def _compute_padded(self, refresh: bool = False) -> None:
        """Fill (or with ``refresh`` recompute from the list view) the padded tensors."""
        if refresh and self._verts_list is not None:
            self._verts_padded = None
            self._faces_padded = None
        self.verts_padded()
        self.faces_padded()

    def _compute_vertex_normals(self, refresh: bool = False) -> None:
        """Fill (or with ``refresh`` recompute) the vertex normals."""
        if refresh:
            self._verts_normals_packed = None
        self.verts_normals_packed()

    def laplacian_packed(self, refresh: bool = False) -> torch.Tensor:
        """``(sum V_n, sum V_n)`` sparse uniform Laplacian of the packed mesh.

        See ``ops.laplacian``; ``refresh`` is accepted for PyTorch3D compatibility.
        """
        from course_utils.p3d.builtin.ops.laplacian_matrices import laplacian

        return laplacian(self.verts_packed(), self.edges_packed())

    def _compute_face_areas_normals(self, refresh: bool = False) -> None:
        # The cross product of two edges is perpendicular to the face, points outwards for
        # counter-clockwise faces, and its length is twice the triangle's area.
        verts = self.verts_packed()
        faces = self.faces_packed()
        v0, v1, v2 = verts[faces].unbind(1)
        cross = torch.linalg.cross(v1 - v0, v2 - v0, dim=1)
        norm = cross.norm(dim=1)
        self._faces_areas_packed = norm / 2
        self._faces_normals_packed = cross / norm.clamp(min=1e-6)[:, None]

    def faces_normals_packed(self) -> torch.Tensor:
        """``(sum F_n, 3)`` unit face normals, ``(v1 - v0) x (v2 - v0)`` normalised."""
        if self._faces_normals_packed is None:
            self._compute_face_areas_normals()
        return self._faces_normals_packed

    def faces_areas_packed(self) -> torch.Tensor:
        """``(sum F_n,)`` triangle areas."""
        if self._faces_areas_packed is None:
            self._compute_face_areas_normals()
        return self._faces_areas_packed

    def faces_normals_list(self) -> list[torch.Tensor]:
        """List of N tensors ``(F_n, 3)``: unit face normals per mesh."""
        return list(self.faces_normals_packed().split(self._num_faces_per_mesh.tolist(), 0))

    def faces_normals_padded(self) -> torch.Tensor:
        """``(N, max F_n, 3)`` unit face normals, padded with 0."""
        return list_to_padded(self.faces_normals_list(), (self._F, 3), pad_value=0.0)

    def has_verts_normals(self) -> bool:
        """True once vertex normals were given or computed."""
        return self._verts_normals_packed is not None

    def verts_normals_packed(self) -> torch.Tensor:
        """``(sum V_n, 3)`` unit vertex normals.

        A vertex normal is the normalised sum of the (unnormalised) normals of the faces
        around it, so each face counts in proportion to its area — large faces dominate,
        slivers barely matter. Vertices in no face get the zero vector.
        """
        if self._verts_normals_packed is None:
            verts = self.verts_packed()
            faces = self.faces_packed()
            v0, v1, v2 = verts[faces].unbind(1)
            face_normals = torch.linalg.cross(v1 - v0, v2 - v0, dim=1)  # |n| = 2 * area
            summed = torch.zeros_like(verts)
            for corner in range(3):  # three scatter-adds, one per triangle corner
                summed = summed.index_add(0, faces[:, corner], face_normals)
            self._verts_normals_packed = torch.nn.functional.normalize(summed, eps=1e-6, dim=1)
        return self._verts_normals_packed

    def verts_normals_list(self) -> list[torch.Tensor]:
        """List of N tensors ``(V_n, 3)``: unit vertex normals per mesh."""
        return list(self.verts_normals_packed().split(self._num_verts_per_mesh.tolist(), 0))

    def verts_normals_padded(self) -> torch.Tensor:
        """``(N, max V_n, 3)`` unit vertex normals, padded with 0."""
        return list_to_padded(self.verts_normals_list(), (self._V, 3), pad_value=0.0)

    def get_bounding_boxes(self) -> torch.Tensor:
        """``(N, 3, 2)``: per mesh, the min (column 0) and max (column 1) of x, y, z."""
        return padded_bounding_boxes(self.verts_padded(), self._num_verts_per_mesh)

    # ------------------------------------------------------------------ edges
    def _compute_edges_packed(self) -> None:
        """Unique undirected edges of the packed mesh, and each face's three edges.

        Each face contributes its three edges, written (smaller index, larger index) so
        that the two faces sharing an edge produce the same pair. Encoding a pair as one
        integer ``v0 * V + v1`` lets ``torch.unique`` find the distinct edges (sorted) and,
        through ``return_inverse``, which unique edge each face side is.
        """
        faces = self.faces_packed()
        num_faces = faces.shape[0]
        num_verts = self.verts_packed().shape[0]
        v0, v1, v2 = faces.unbind(1)
        # Edge k of a face is the one opposite corner k: (v1, v2), (v2, v0), (v0, v1).
        sides = torch.cat(
            [torch.stack([v1, v2], 1), torch.stack([v2, v0], 1), torch.stack([v0, v1], 1)], 0
        )
        sides = sides.sort(dim=1).values
        keys = sides[:, 0] * num_verts + sides[:, 1]
        unique_keys, inverse = torch.unique(keys, sorted=True, return_inverse=True)
        self._edges_packed = torch.stack([unique_keys // num_verts, unique_keys % num_verts], 1)
        self._faces_packed_to_edges_packed = inverse.reshape(3, num_faces).t()
        verts_to_mesh = self.verts_packed_to_mesh_idx()
        self._edges_packed_to_mesh_idx = verts_to_mesh[self._edges_packed[:, 0]]
        self._num_edges_per_mesh = torch.bincount(self._edges_packed_to_mesh_idx, minlength=self._N)
        self._mesh_to_edges_packed_first_idx = (
            torch.cumsum(self._num_edges_per_mesh, dim=0) - self._num_edges_per_mesh
        )

    def edges_packed(self) -> torch.Tensor:
        """``(E, 2)`` int64: unique edges (i, j) with i < j, sorted, into :meth:`verts_packed`."""
        if self._edges_packed is None:
            self._compute_edges_packed()
        return self._edges_packed

    def faces_packed_to_edges_packed(self) -> torch.Tensor:
        """``(sum F_n, 3)`` int64: column k is the edge opposite corner k of each face."""
        if self._faces_packed_to_edges_packed is None:
            self._compute_edges_packed()
        return self._faces_packed_to_edges_packed

    def edges_packed_to_mesh_idx(self) -> torch.Tensor:
        """``(E,)`` int64: the mesh each packed edge belongs to."""
        if self._edges_packed_to_mesh_idx is None:
            self._compute_edges_packed()
        return self._edges_packed_to_mesh_idx

    def num_edges_per_mesh(self) -> torch.Tensor:
        """``(N,)`` int64: number of unique edges of each mesh."""
        if self._num_edges_per_mesh is None:
            self._compute_edges_packed()
        return self._num_edges_per_mesh

    def mesh_to_edges_packed_first_idx(self) -> torch.Tensor:
        """``(N,)`` int64: row of :meth:`edges_packed` where mesh n's edges start."""
        if self._mesh_to_edges_packed_first_idx is None:
            self._compute_edges_packed()
        return self._mesh_to_edges_packed_first_idx

    def sample_textures(self, fragments: Any) -> torch.Tensor:
        """Colours (or features) of the faces seen at each pixel, from the mesh's textures.

        Args:
            fragments: the rasterizer's output (``pix_to_face``, ``bary_coords`` ...).

        Returns:
            ``(N, H, W, K, C)`` texels, one per pixel and per face kept at that pixel.
        """
        if self.textures is None:
            raise ValueError(
                "Meshes has no textures: pass textures=TexturesVertex(...) or TexturesUV(...) "
                "when building it, or use a shader that needs none (SoftSilhouetteShader)"
            )
        # ``mesh.textures`` may have been replaced after construction: check it again (as
        # PyTorch3D does) before using it.
        self._attach_textures(self.textures)
        return self.textures.sample_textures(fragments, faces_packed=self.faces_packed())

    # ------------------------------------------------------------------ new meshes
    def _with_verts_list(self, verts: list[torch.Tensor]) -> Meshes:
        """A new Meshes with these vertices, this batch's faces and (shared) textures."""
        return self.__class__(verts=verts, faces=self.faces_list(), textures=self.textures)

    def offset_verts(self, vert_offsets_packed: torch.Tensor) -> Meshes:
        """Return a new batch with every vertex moved.

        Args:
            vert_offsets_packed: ``(sum V_n, 3)`` per-vertex offsets, or ``(3,)`` one
                offset for all vertices.
        """
        verts = self.verts_packed()
        if vert_offsets_packed.shape == (3,):
            vert_offsets_packed = vert_offsets_packed.expand_as(verts)
        if vert_offsets_packed.shape != verts.shape:
            raise ValueError(
                f"offset_verts: offsets must be (3,) or {tuple(verts.shape)}, "
                f"got {tuple(vert_offsets_packed.shape)}"
            )
        new_packed = verts + vert_offsets_packed
        return self._with_verts_list(list(new_packed.split(self._num_verts_per_mesh.tolist(), 0)))

    def offset_verts_(self, vert_offsets_packed: torch.Tensor) -> Meshes:
        """In-place :meth:`offset_verts`: replaces this batch's vertices, returns self."""
        new = self.offset_verts(vert_offsets_packed)
        # One offset for every vertex is a translation: normals do not change, so given
        # (or computed) normals are kept, as in PyTorch3D. Per-vertex offsets drop them.
        normals = self._verts_normals_packed if vert_offsets_packed.dim() == 1 else None
        self._replace_verts(new.verts_list())
        self._verts_normals_packed = normals
        return self

    def scale_verts(self, scale: float | torch.Tensor) -> Meshes:
        """Return a new batch with mesh n's vertices multiplied by ``scale`` (or ``scale[n]``)."""
        if not torch.is_tensor(scale):
            scale = torch.full((self._N,), float(scale), device=self.device)
        elif scale.dim() == 0:
            scale = scale.expand(self._N)
        if scale.shape != (self._N,):
            raise ValueError(
                f"scale_verts: scale must be a number or shape ({self._N},), "
                f"got {tuple(scale.shape)}"
            )
        verts = [v * scale[n] for n, v in enumerate(self.verts_list())]
        return self._with_verts_list(verts)

    def scale_verts_(self, scale: float | torch.Tensor) -> Meshes:
        """In-place :meth:`scale_verts`; returns self."""
        self._replace_verts(self.scale_verts(scale).verts_list())
        return self

    def _replace_verts(self, verts_list: list[torch.Tensor]) -> None:
        faces = self.faces_list()
        self._verts_list, self._faces_list = verts_list, faces
        self._verts_padded = None
        self._faces_padded = None
        self._clear_derived()

    def update_padded(self, new_verts_padded: torch.Tensor) -> Meshes:
        """Return a batch with the same faces and textures and new padded vertices.

        Everything that depends on the topology only (faces, sizes, the packed index maps,
        edges, ``valid``) is shared with this batch rather than recomputed, as in
        PyTorch3D; everything that depends on positions (normals, areas) is recomputed
        when asked for.

        Args:
            new_verts_padded: ``(N, max V_n, 3)``; padding rows are ignored. Gradients flow
                from the new meshes back into this tensor (the usual way to deform a mesh
                batch predicted by a network).
        """
        expected = (self._N, self._V, 3)
        if not torch.is_tensor(new_verts_padded) or new_verts_padded.shape != expected:
            got = tuple(new_verts_padded.shape) if torch.is_tensor(new_verts_padded) else None
            raise ValueError(f"update_padded: new_verts_padded must be {expected}, got {got}")
        new = self.__class__.__new__(self.__class__)
        new.textures = self.textures
        new.device = self.device
        new._N, new._V, new._F = self._N, self._V, self._F
        new._clear_derived()
        new._verts_list = None
        new._verts_padded = new_verts_padded
        # The faces are shared (the same tensors), padded view included.
        new._faces_padded = self.faces_padded()
        new._faces_list = self._faces_list
        for name in ("_num_verts_per_mesh", "_num_faces_per_mesh", "valid", "equisized"):
            setattr(new, name, getattr(self, name))
        shared = (
            "_faces_packed",
            "_verts_packed_to_mesh_idx",
            "_faces_packed_to_mesh_idx",
            "_mesh_to_verts_packed_first_idx",
            "_mesh_to_faces_packed_first_idx",
            "_edges_packed",
            "_edges_packed_to_mesh_idx",
            "_mesh_to_edges_packed_first_idx",
            "_faces_packed_to_edges_packed",
            "_num_edges_per_mesh",
        )
        for name in shared:
            setattr(new, name, getattr(self, name))
        return new

    def clone(self) -> Meshes:
        """A deep copy (tensors cloned, still attached to the autograd graph)."""
        textures = None if self.textures is None else self.textures.clone()
        return self.__class__(
            verts=[v.clone() for v in self.verts_list()],
            faces=[f.clone() for f in self.faces_list()],
            textures=textures,
        )

    def detach(self) -> Meshes:
        """A copy whose tensors are detached from the autograd graph."""
        textures = None if self.textures is None else self.textures.detach()
        return self.__class__(
            verts=[v.detach() for v in self.verts_list()],
            faces=[f.detach() for f in self.faces_list()],
            textures=textures,
        )

    def to(self, device: Device, copy: bool = False) -> Meshes:
        """The batch on ``device`` (self when already there and ``copy`` is False)."""
        device = make_device(device)
        if device == self.device and not copy:
            return self
        textures = None if self.textures is None else self.textures.to(device)
        return self.__class__(
            verts=[v.to(device) for v in self.verts_list()],
            faces=[f.to(device) for f in self.faces_list()],
            textures=textures,
        )

    def cpu(self) -> Meshes:
        return self.to("cpu")

    def cuda(self) -> Meshes:
        return self.to("cuda")

    def extend(self, N: int) -> Meshes:  # noqa: N803 - PyTorch3D's argument name
        """Repeat each mesh N times: ``[m0, m0, ..., m1, m1, ...]`` (N x len(self) meshes)."""
        if not isinstance(N, int) or N <= 0:
            raise ValueError(f"extend: N must be a positive int, got {N!r}")
        verts = [v.clone() for v in self.verts_list() for _ in range(N)]
        faces = [f.clone() for f in self.faces_list() for _ in range(N)]
        textures = None if self.textures is None else self.textures.extend(N)
        return self.__class__(verts=verts, faces=faces, textures=textures)

    def submeshes(self, face_indices: Any) -> Meshes:
        """Cut each mesh into sub-meshes made of chosen faces (PyTorch3D's ``submeshes``).

        Args:
            face_indices: one entry per mesh of the batch, each a list of 1-D int64 tensors
                (the faces of one sub-mesh each; an empty list keeps no sub-mesh of that
                mesh), or a ``(num_submeshes_n, faces)`` int64 tensor; or one
                ``(N, num_submeshes, faces)`` tensor for the whole batch.

        Returns:
            A ``Meshes`` of ``sum_n num_submeshes_n`` meshes, in order. Each keeps only the
            vertices its faces use (in increasing order of their old index), with faces
            renumbered accordingly; textures follow (``textures.submeshes``).

        Raises:
            ValueError: ``face_indices`` does not have one entry per mesh.
        """
        if len(face_indices) != self._N:
            raise ValueError(
                "You must specify exactly one set of submeshes for each mesh in this "
                f"Meshes object: got {len(face_indices)} sets for {self._N} meshes"
            )
        sub_verts, sub_faces, sub_verts_ids = [], [], []
        for n, (chosen, faces, verts) in enumerate(
            zip(face_indices, self.faces_list(), self.verts_list())
        ):
            sub_verts_ids.append([])
            for ids in chosen:
                kept = faces[ids]
                if kept.numel() and (int(ids.min()) < -faces.shape[0]):
                    raise IndexError(f"submeshes: face index out of range for mesh {n}")
                # The vertices the kept faces use, sorted; the inverse renumbers the faces.
                vertex_ids, new_faces = torch.unique(kept, sorted=True, return_inverse=True)
                sub_verts.append(verts[vertex_ids])
                sub_faces.append(new_faces.reshape(-1, 3))
                sub_verts_ids[-1].append(vertex_ids)
        textures = None
        if self.textures is not None:
            textures = self.textures.submeshes(sub_verts_ids, face_indices)
        return self.__class__(verts=sub_verts, faces=sub_faces, textures=textures)

    def get_mesh_verts_faces(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(verts (V_n, 3), faces (F_n, 3))`` of mesh ``index``."""
        if not isinstance(index, int) or not 0 <= index < self._N:
            raise ValueError(f"get_mesh_verts_faces: index must be an int in [0, {self._N})")
        return self.verts_list()[index], self.faces_list()[index]

    def split(self, split_sizes: Sequence[int]) -> list[Meshes]:
        """Split into consecutive sub-batches of the given sizes."""
        if sum(split_sizes) != self._N:
            raise ValueError(f"split: sizes {list(split_sizes)} do not add up to {self._N}")
        out, start = [], 0
        for size in split_sizes:
            out.append(self[list(range(start, start + size))])
            start += size
        return out


def join_meshes_as_batch(meshes: Sequence[Meshes], include_textures: bool = True) -> Meshes:
    """Concatenate several ``Meshes`` batches into one batch (mesh count adds up).

    Args:
        meshes: batches to join, all on one device.
        include_textures: join the textures too; they must then all be of one type
            (or all None).
    """
    if isinstance(meshes, Meshes):
        raise ValueError("join_meshes_as_batch expects a list of Meshes, not one Meshes")
    meshes = list(meshes)
    if not meshes:
        raise ValueError("join_meshes_as_batch: nothing to join")
    device = meshes[0].device
    if any(m.device != device for m in meshes):
        raise ValueError("join_meshes_as_batch: all meshes must be on the same device")
    verts = [v for m in meshes for v in m.verts_list()]
    faces = [f for m in meshes for f in m.faces_list()]
    textures = None
    if include_textures:
        textures = _join_textures([m.textures for m in meshes], "join_batch")
    return Meshes(verts=verts, faces=faces, textures=textures)


def join_meshes_as_scene(
    meshes: Meshes | Sequence[Meshes], include_textures: bool = True
) -> Meshes:
    """Merge every mesh of a batch (or of a list of batches) into a single mesh.

    The result has one mesh whose vertices are all the packed vertices and whose faces are
    the packed faces — a "scene" that the renderer draws as one object.
    """
    if not isinstance(meshes, Meshes):
        meshes = join_meshes_as_batch(meshes, include_textures=include_textures)
    if len(meshes) == 0:
        raise ValueError("join_meshes_as_scene: the batch is empty")
    textures = None
    if include_textures and meshes.textures is not None:
        textures = meshes.textures.join_scene()
    return Meshes(verts=[meshes.verts_packed()], faces=[meshes.faces_packed()], textures=textures)


def _join_textures(textures: list[Any], method: str) -> Any:
    """Join a list of textures (all None, or all of one class) with that class's method."""
    if all(t is None for t in textures):
        return None
    if any(t is None for t in textures):
        raise ValueError("cannot join meshes with textures and meshes without textures")
    kinds = {type(t) for t in textures}
    if len(kinds) != 1:
        names = sorted(k.__name__ for k in kinds)
        raise ValueError(f"cannot join meshes with different texture types: {names}")
    return getattr(textures[0], method)(textures[1:])
