"""Textures: how a batch of meshes carries colour (PyTorch3D's ``TexturesVertex`` / ``TexturesUV``).

* ``TexturesVertex`` stores one feature vector (usually RGB) per vertex; the renderer
  interpolates it across each triangle with barycentric coordinates. Simple, but colour
  detail is limited by the vertex count.
* ``TexturesUV`` stores an image (the texture *map*) per mesh plus, per face corner, a
  2-D texture coordinate (u, v) in [0, 1]² into that image. Detail is limited only by the
  image. Conventions as in PyTorch3D: u grows with the map's column index; v grows
  *upwards*, so v = 1 is the map's first (top) row; with ``align_corners=True`` the
  coordinates 0 and 1 fall on the centres of the border pixels.

Both hold a batch of N meshes' textures and follow their ``Meshes``: indexing, ``extend``,
``to``, ``clone``, ``detach`` and joins.

Sampling (``sample_textures(fragments)``, called by ``Meshes.sample_textures`` in the
shaders) gives the colour of every face seen at every pixel, ``(N, H, W, K, C)``:

* vertex textures interpolate the three corner colours with the pixel's barycentric
  coordinates;
* UV textures interpolate the corners' (u, v) the same way, then read the map there
  with bilinear filtering (``torch.nn.functional.grid_sample``). ``grid_sample`` wants
  x, y in [-1, 1] with y = -1 at the *top* row, so ``x = 2u - 1`` and ``y = 1 - 2v``
  (v grows upwards). Both steps are differentiable, w.r.t. the map too.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from course_utils.p3d.builtin.common import Device, make_device, unsupported
from course_utils.p3d.builtin.ops.interp_face_attrs import interpolate_face_attributes
from course_utils.p3d.builtin.structures.batching import (
    batch_indices,
    list_to_padded,
    padded_to_list,
)

IndexLike = int | slice | Sequence[int] | torch.Tensor

__all__ = ["Textures", "TexturesAtlas", "TexturesBase", "TexturesUV", "TexturesVertex"]


class TexturesBase:
    """What both texture classes share: batch size, device, and the meshes' sizes.

    ``Meshes`` writes ``_num_verts_per_mesh``, ``_num_faces_per_mesh`` and ``valid`` into
    its textures when they are attached, so padded inputs can be cut into per-mesh lists.
    """

    _N: int
    device: torch.device

    def __len__(self) -> int:
        return self._N

    def isempty(self) -> bool:
        return self._N == 0

    def _check_mesh_sizes(self, num_verts: list[int], num_faces: list[int]) -> None:
        """Called by ``Meshes`` on attach; subclasses check their sizes fit the meshes."""

    def sample_textures(self, fragments: Any, **kwargs: Any) -> torch.Tensor:
        """Texels ``(N, H, W, K, C)`` of the faces seen at each pixel (see subclasses)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement sample_textures")

    def _check_batch(self, fragments: Any) -> None:
        """The fragments must describe as many images as there are textured meshes."""
        images = fragments.pix_to_face.shape[0]
        if images != self._N:
            raise ValueError(
                f"{type(self).__name__}: fragments hold {images} images but the textures "
                f"belong to {self._N} meshes; rasterize the same Meshes the textures are in"
            )

    #: The tensor (or list-of-tensors) attributes that clone/detach copy, cache included.
    _TENSOR_ATTRIBUTES: tuple[str, ...] = ()

    def _copy_tensors(self, fn: Any) -> Any:
        """A shallow copy whose tensors (and cached list/padded views) are ``fn(tensor)``.

        As in PyTorch3D, the copy keeps whichever views were already computed.
        """
        out = self.__class__.__new__(self.__class__)
        out.__dict__.update(self.__dict__)
        for name in (*self._TENSOR_ATTRIBUTES, "valid"):
            value = getattr(self, name, None)
            if torch.is_tensor(value):
                setattr(out, name, fn(value))
            elif isinstance(value, list):
                setattr(out, name, [fn(v) for v in value])
        return out

    def submeshes(self, vertex_ids_list: Any, faces_ids_list: Any) -> TexturesBase:
        """The textures of ``Meshes.submeshes`` (see the subclasses)."""
        raise NotImplementedError(f"{type(self).__name__} does not support submeshes")

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")


class TexturesVertex(TexturesBase):
    """Per-vertex features (e.g. RGB colours) for a batch of meshes.

    Args:
        verts_features: a list of N tensors ``(V_n, C)`` or a padded tensor ``(N, V, C)``.
            Colours are RGB in [0, 1].

    Example:
        >>> import torch
        >>> textures = TexturesVertex(verts_features=[torch.ones(4, 3), torch.zeros(3, 3)])
        >>> textures.verts_features_padded().shape
        torch.Size([2, 4, 3])
    """

    def __init__(self, verts_features: Sequence[torch.Tensor] | torch.Tensor) -> None:
        if torch.is_tensor(verts_features):
            if verts_features.dim() != 3:
                raise ValueError(
                    "TexturesVertex: verts_features must be (N, V, C) or a list of (V, C), "
                    f"got shape {tuple(verts_features.shape)}"
                )
            self._N = verts_features.shape[0]
            self.device = verts_features.device
            self._verts_features_padded: torch.Tensor | None = verts_features
            self._verts_features_list: list[torch.Tensor] | None = None
            self._num_verts_per_mesh = [verts_features.shape[1]] * self._N
        elif isinstance(verts_features, (list, tuple)):
            features = list(verts_features)
            for n, f in enumerate(features):
                if not torch.is_tensor(f) or f.dim() != 2:
                    raise ValueError(f"TexturesVertex: verts_features[{n}] must be a (V, C) tensor")
            if len({f.shape[1] for f in features}) > 1:
                raise ValueError("TexturesVertex: every mesh needs the same number of channels")
            self._N = len(features)
            self.device = features[0].device if features else torch.device("cpu")
            self._verts_features_list = features
            self._verts_features_padded = None
            self._num_verts_per_mesh = [f.shape[0] for f in features]
        else:
            raise ValueError(
                "TexturesVertex: verts_features must be a tensor or a list of tensors, "
                f"got {type(verts_features).__name__}"
            )
        self.valid = torch.ones(self._N, dtype=torch.bool, device=self.device)
        self._num_faces_per_mesh: list[int] | None = None

    def _check_mesh_sizes(self, num_verts: list[int], num_faces: list[int]) -> None:
        if self._verts_features_list is not None:
            have = [f.shape[0] for f in self._verts_features_list]
            if have != list(num_verts):
                raise ValueError(
                    f"TexturesVertex: features for {have} vertices, but the meshes have "
                    f"{list(num_verts)}; give one feature row per vertex"
                )
        elif self._verts_features_padded.shape[1] < max(num_verts, default=0):
            raise ValueError(
                "TexturesVertex: textures do not match the dimensions of Meshes: padded "
                f"features hold {self._verts_features_padded.shape[1]} vertices per mesh, "
                f"fewer than the meshes' {max(num_verts)}"
            )

    def verts_features_list(self) -> list[torch.Tensor]:
        """List of N tensors ``(V_n, C)``."""
        if self._verts_features_list is None:
            self._verts_features_list = padded_to_list(
                self._verts_features_padded, self._num_verts_per_mesh
            )
        return self._verts_features_list

    def verts_features_packed(self) -> torch.Tensor:
        """``(sum V_n, C)``: features of the packed vertices."""
        return torch.cat(self.verts_features_list(), dim=0)

    def verts_features_padded(self) -> torch.Tensor:
        """``(N, max V_n, C)``, zero padded."""
        if self._verts_features_padded is None:
            if self._verts_features_list == []:  # an empty batch (e.g. tex[all-False mask])
                return torch.zeros((0, 0, 3), device=self.device)
            self._verts_features_padded = list_to_padded(self._verts_features_list, pad_value=0.0)
        return self._verts_features_padded

    def faces_verts_textures_packed(self, faces_packed: torch.Tensor) -> torch.Tensor:
        """``(F, 3, C)``: the features at the three corners of each packed face."""
        return self.verts_features_packed()[faces_packed]

    def sample_textures(
        self, fragments: Any, faces_packed: torch.Tensor | None = None, **kwargs: Any
    ) -> torch.Tensor:
        """Interpolate the vertex features at every pixel with its barycentric coordinates.

        Args:
            fragments: rasterizer output; uses ``pix_to_face`` ``(N, H, W, K)`` and
                ``bary_coords`` ``(N, H, W, K, 3)``.
            faces_packed: int64 ``(F, 3)`` packed faces of the meshes (indices into the
                packed vertices); ``Meshes.sample_textures`` passes them.

        Returns:
            ``(N, H, W, K, C)`` features; zeros where no face was found.
        """
        if faces_packed is None:
            raise ValueError(
                "TexturesVertex.sample_textures needs faces_packed=meshes.faces_packed(); "
                "or call meshes.sample_textures(fragments)"
            )
        self._check_batch(fragments)
        return interpolate_face_attributes(
            fragments.pix_to_face,
            fragments.bary_coords,
            self.faces_verts_textures_packed(faces_packed),
        )

    def _new(self, features: list[torch.Tensor]) -> TexturesVertex:
        return self.__class__(verts_features=features)

    def __getitem__(self, index: IndexLike) -> TexturesVertex:
        features = self.verts_features_list()
        return self._new([features[i] for i in batch_indices(index, self._N, "texture")])

    _TENSOR_ATTRIBUTES = ("_verts_features_padded", "_verts_features_list")

    def clone(self) -> TexturesVertex:
        return self._copy_tensors(torch.Tensor.clone)

    def detach(self) -> TexturesVertex:
        return self._copy_tensors(torch.Tensor.detach)

    def to(self, device: Device) -> TexturesVertex:
        device = make_device(device)
        if device == self.device:
            return self
        return self._new([f.to(device) for f in self.verts_features_list()])

    def extend(self, N: int) -> TexturesVertex:  # noqa: N803 - PyTorch3D's argument name
        """Repeat each mesh's features N times, matching ``Meshes.extend``."""
        return self._new([f.clone() for f in self.verts_features_list() for _ in range(N)])

    def join_batch(self, textures: Sequence[TexturesVertex]) -> TexturesVertex:
        """This batch followed by the batches in ``textures``."""
        features = list(self.verts_features_list())
        for t in textures:
            features += t.verts_features_list()
        return self._new(features)

    def submeshes(self, vertex_ids_list: Any, faces_ids_list: Any) -> TexturesVertex:
        """The textures of ``Meshes.submeshes``: each sub-mesh keeps its vertices' features.

        Args:
            vertex_ids_list: per mesh, the (sorted) vertex indices each sub-mesh keeps.
            faces_ids_list: unused.
        """
        features = self.verts_features_list()
        if len(vertex_ids_list) != len(features):
            raise IndexError("verts_features_list must be of the same length as vertex_ids_list.")
        return self._new([f[ids] for f, per in zip(features, vertex_ids_list) for ids in per])

    def join_scene(self) -> TexturesVertex:
        """One mesh's worth of features: all vertices' features packed."""
        return self._new([self.verts_features_packed()])


class TexturesUV(TexturesBase):
    """Texture maps with per-corner UV coordinates for a batch of meshes.

    Args:
        maps: ``(N, H, W, C)`` tensor, or a list of N ``(H_n, W_n, C)`` tensors (maps of
            different sizes are resized to the largest when a padded tensor is needed).
            With ``maps_ids``: several maps per mesh, ``(N, M, H, W, C)`` or a list of
            ``(M, H_n, W_n, C)``.
        faces_uvs: list of N integer ``(F_n, 3)`` tensors (or padded ``(N, F, 3)``): for
            each face corner, the row of ``verts_uvs`` holding its (u, v).
        verts_uvs: list of N ``(T_n, 2)`` tensors (or padded ``(N, T, 2)``) of (u, v) in
            [0, 1]. A UV vertex is distinct from a mesh vertex: a mesh vertex on a texture
            seam has one UV per side.
        maps_ids: optional, keyword only: which of the M maps each face reads, a list of N
            int64 ``(F_n,)`` tensors or a padded ``(N, F)`` tensor.
        padding_mode: how to sample outside [0, 1]: ``"border"`` (default), ``"zeros"``,
            ``"reflection"`` (as ``torch.nn.functional.grid_sample``).
        align_corners: whether 0 and 1 are the centres (True) or the outer edges (False)
            of the border pixels.
        sampling_mode: ``"bilinear"`` (default) or ``"nearest"``.

    As in PyTorch3D, ``faces_uvs`` is checked for shape here and for its values (whole
    numbers, rows of ``verts_uvs``) when the texture is first sampled.
    """

    def __init__(
        self,
        maps: torch.Tensor | Sequence[torch.Tensor],
        faces_uvs: torch.Tensor | Sequence[torch.Tensor],
        verts_uvs: torch.Tensor | Sequence[torch.Tensor],
        *,
        maps_ids: torch.Tensor | Sequence[torch.Tensor] | None = None,
        padding_mode: str = "border",
        align_corners: bool = True,
        sampling_mode: str = "bilinear",
    ) -> None:
        if padding_mode not in ("border", "zeros", "reflection"):
            raise ValueError(f"TexturesUV: unknown padding_mode {padding_mode!r}")
        if sampling_mode not in ("bilinear", "nearest"):
            raise unsupported("sampling_mode", sampling_mode)
        self.padding_mode = padding_mode
        self.align_corners = align_corners
        self.sampling_mode = sampling_mode

        multi = maps_ids is not None
        map_dims = 4 if multi else 3
        if torch.is_tensor(maps) and maps.dim() != map_dims + 1:
            wanted = "(N, M, H, W, C)" if multi else "(N, H, W, C)"
            why = (
                "maps_ids is given, so there are several maps per mesh"
                if multi
                else "one map per mesh (several maps per mesh need maps_ids)"
            )
            raise ValueError(
                f"TexturesUV: maps must be {wanted} ({why}); got shape {tuple(maps.shape)}"
            )
        self._faces_uvs_list = self._as_list(faces_uvs, "faces_uvs", dims=2)
        self._verts_uvs_list = self._as_list(verts_uvs, "verts_uvs", dims=2)
        self._maps_list = self._as_list(maps, "maps", dims=map_dims)
        sizes = {len(self._maps_list), len(self._faces_uvs_list), len(self._verts_uvs_list)}
        if len(sizes) != 1:
            raise ValueError(
                f"TexturesUV: maps, faces_uvs and verts_uvs describe {len(self._maps_list)}, "
                f"{len(self._faces_uvs_list)} and {len(self._verts_uvs_list)} meshes"
            )
        self._N = sizes.pop()
        self.device = self._faces_uvs_list[0].device if self._N else torch.device("cpu")
        for name in ("verts_uvs", "maps"):
            for n, t in enumerate(getattr(self, f"_{name}_list")):
                if t.device != self.device:
                    raise ValueError(
                        f"TexturesUV: {name}[{n}] is on {t.device} but faces_uvs on "
                        f"{self.device}; put them on one device"
                    )
        for n, (fu, vu) in enumerate(zip(self._faces_uvs_list, self._verts_uvs_list)):
            if fu.shape[-1] != 3:
                raise ValueError(f"TexturesUV: faces_uvs[{n}] must be an (F, 3) tensor")
            if vu.shape[-1] != 2:
                raise ValueError(f"TexturesUV: verts_uvs[{n}] must be a (T, 2) tensor of (u, v)")
        # Whole-number float indices become int64 (as Meshes does for faces); others are
        # kept as given and refused when the texture is sampled (PyTorch3D takes them).
        self._faces_uvs_list = [
            f.to(torch.int64) if f.is_floating_point() and bool((f == f.round()).all()) else f
            for f in self._faces_uvs_list
        ]
        self._num_faces_per_mesh = [f.shape[0] for f in self._faces_uvs_list]
        self._maps_ids_list = None if maps_ids is None else self._format_maps_ids(maps_ids)
        self.valid = torch.ones(self._N, dtype=torch.bool, device=self.device)
        self._num_verts_per_mesh: list[int] | None = None

    def _format_maps_ids(self, maps_ids: torch.Tensor | Sequence[torch.Tensor]) -> list:
        """``maps_ids`` as a list of N int64 ``(F_n,)`` tensors (checked)."""
        ids = self._as_list(maps_ids, "maps_ids", dims=1)
        if len(ids) != self._N:
            raise ValueError(
                f"TexturesUV: maps_ids describe {len(ids)} meshes, faces_uvs {self._N}"
            )
        for n, (mid, fu, m) in enumerate(zip(ids, self._faces_uvs_list, self._maps_list)):
            if mid.is_floating_point() or mid.shape[0] != fu.shape[0]:
                raise ValueError(
                    f"TexturesUV: maps_ids[{n}] must be an int64 ({fu.shape[0]},) tensor, one "
                    f"map index per face of faces_uvs[{n}]; got a {mid.dtype} tensor of "
                    f"shape {tuple(mid.shape)}"
                )
            if mid.device != self.device:
                raise ValueError("TexturesUV: maps_ids and faces_uvs must be on one device")
            if mid.numel() and (int(mid.min()) < 0 or int(mid.max()) >= m.shape[0]):
                raise ValueError(
                    f"TexturesUV: maps_ids[{n}] holds map {int(mid.max())} or "
                    f"{int(mid.min())}, but mesh {n} has {m.shape[0]} maps"
                )
        return [mid.to(torch.int64) for mid in ids]

    @staticmethod
    def _as_list(
        value: torch.Tensor | Sequence[torch.Tensor], name: str, dims: int
    ) -> list[torch.Tensor]:
        """Accept a padded ``(N, ...)`` tensor or a list of per-mesh tensors."""
        if torch.is_tensor(value):
            if value.dim() != dims + 1:
                raise ValueError(
                    f"TexturesUV: padded {name} must have {dims + 1} dimensions, "
                    f"got shape {tuple(value.shape)}"
                )
            return list(value.unbind(0))
        if not isinstance(value, (list, tuple)):
            raise ValueError(
                f"TexturesUV: {name} must be a tensor or a list of tensors, "
                f"got {type(value).__name__}"
            )
        items = list(value)
        for n, item in enumerate(items):
            if not torch.is_tensor(item) or item.dim() != dims:
                shape = tuple(item.shape) if torch.is_tensor(item) else type(item).__name__
                raise ValueError(
                    f"TexturesUV: {name}[{n}] must have {dims} dimensions, got {shape}"
                )
        return items

    def _check_mesh_sizes(self, num_verts: list[int], num_faces: list[int]) -> None:
        # A padded faces_uvs tensor may hold -1 rows past each mesh's real faces.
        have = [f.shape[0] for f in self._faces_uvs_list]
        if any(h < n for h, n in zip(have, num_faces)):
            raise ValueError(
                f"TexturesUV: faces_uvs hold {have} faces, the meshes have {list(num_faces)}"
            )
        self._faces_uvs_list = [f[:n] for f, n in zip(self._faces_uvs_list, num_faces)]
        if self._maps_ids_list is not None:
            self._maps_ids_list = [m[:n] for m, n in zip(self._maps_ids_list, num_faces)]
        self._num_faces_per_mesh = list(num_faces)

    # ------------------------------------------------------------------ views
    def maps_list(self) -> list[torch.Tensor]:
        """List of N maps ``(H_n, W_n, C)`` (``(M, H_n, W_n, C)`` with ``maps_ids``)."""
        return self._maps_list

    def maps_padded(self) -> torch.Tensor:
        """``(N, H, W, C)`` (``(N, M, H, W, C)`` with ``maps_ids``).

        Maps of different sizes are resized (bilinear) to the largest; with ``maps_ids``,
        meshes with fewer maps are padded with zero maps.
        """
        multi = self._maps_ids_list is not None
        if not self._maps_list:
            shape = (0, 0, 0, 0, 3) if multi else (0, 0, 0, 3)
            return torch.zeros(shape, device=self.device)
        height = max(m.shape[-3] for m in self._maps_list)
        width = max(m.shape[-2] for m in self._maps_list)
        count = max(m.shape[0] for m in self._maps_list) if multi else 1
        resized = []
        for m in self._maps_list:
            stack = m if multi else m[None]  # (M, H, W, C)
            if stack.shape[1:3] != (height, width):
                stack = F.interpolate(
                    stack.permute(0, 3, 1, 2),
                    size=(height, width),
                    mode="bilinear",
                    align_corners=self.align_corners,
                ).permute(0, 2, 3, 1)
            if stack.shape[0] < count:
                stack = torch.cat(
                    [stack, stack.new_zeros(count - stack.shape[0], *stack.shape[1:])]
                )
            resized.append(stack if multi else stack[0])
        return torch.stack(resized, dim=0)

    def maps_ids_list(self) -> list[torch.Tensor] | None:
        """List of N int64 ``(F_n,)`` map indices, or None (one map per mesh)."""
        return self._maps_ids_list

    def maps_ids_padded(self) -> torch.Tensor | None:
        """``(N, max F_n)`` int64 map indices padded with 0, or None (one map per mesh)."""
        if self._maps_ids_list is None:
            return None
        if not self._maps_ids_list:
            return torch.zeros((0, 0), dtype=torch.int64, device=self.device)
        return list_to_padded(self._maps_ids_list, pad_value=0)

    # PyTorch3D's private cache names (read, and sometimes replaced, by code and tests
    # written against it): views of the per-mesh lists the built-in class stores.
    @property
    def _maps_padded(self) -> torch.Tensor:
        return self.maps_padded()

    @_maps_padded.setter
    def _maps_padded(self, value: torch.Tensor) -> None:
        self._maps_list = list(value.unbind(0))

    @property
    def _faces_uvs_padded(self) -> torch.Tensor:
        return self.faces_uvs_padded()

    @_faces_uvs_padded.setter
    def _faces_uvs_padded(self, value: torch.Tensor) -> None:
        self._faces_uvs_list = [f[:n] for f, n in zip(value, self._num_faces_per_mesh)]

    @property
    def _verts_uvs_padded(self) -> torch.Tensor:
        return self.verts_uvs_padded()

    @_verts_uvs_padded.setter
    def _verts_uvs_padded(self, value: torch.Tensor) -> None:
        self._verts_uvs_list = list(value.unbind(0))

    @property
    def _maps_ids_padded(self) -> torch.Tensor | None:
        return self.maps_ids_padded()

    def faces_uvs_list(self) -> list[torch.Tensor]:
        """List of N ``(F_n, 3)`` indices into the matching ``verts_uvs``."""
        return self._faces_uvs_list

    def centers_for_image(self, index: int) -> torch.Tensor:
        """``(V, 2)`` pixel positions ``(x, y)`` in the texture image of mesh ``index``'s UVs.

        ``u = 0 / 1`` is the image's left / right pixel centre, ``v = 0 / 1`` its bottom /
        top row (``y = (1 - v) (H - 1)``), for drawing UVs over the map (one mesh only).
        """
        if self._N != 1:
            raise ValueError("This function only supports plotting textures for one mesh.")
        height, width = self.maps_padded().shape[-3:-1]
        uv = self.verts_uvs_list()[index].detach()
        scale = uv.new_tensor([width - 1, height - 1])
        return torch.stack([uv[:, 0], 1.0 - uv[:, 1]], dim=1) * scale

    def verts_uvs_list(self) -> list[torch.Tensor]:
        """List of N ``(T_n, 2)`` texture coordinates."""
        return self._verts_uvs_list

    def faces_uvs_padded(self) -> torch.Tensor:
        """``(N, max F_n, 3)`` padded with -1."""
        if not self._faces_uvs_list:
            return torch.zeros((0, 0, 3), dtype=torch.int64, device=self.device)
        return list_to_padded(self._faces_uvs_list, pad_value=-1)

    def verts_uvs_padded(self) -> torch.Tensor:
        """``(N, max T_n, 2)`` padded with 0."""
        if not self._verts_uvs_list:
            return torch.zeros((0, 0, 2), device=self.device)
        return list_to_padded(self._verts_uvs_list, pad_value=0.0)

    def _checked_faces_uvs(self) -> list[torch.Tensor]:
        """``faces_uvs``, refused with a clear message if they cannot index ``verts_uvs``."""
        for n, (fu, vu) in enumerate(zip(self._faces_uvs_list, self._verts_uvs_list)):
            if fu.is_floating_point():
                raise ValueError(
                    f"TexturesUV: faces_uvs[{n}] is a {fu.dtype} tensor with fractional "
                    "values; faces_uvs are row indices into verts_uvs (an int64 tensor)"
                )
            if fu.numel() and (int(fu.max()) >= vu.shape[0] or int(fu.min()) < 0):
                raise ValueError(
                    f"TexturesUV: faces_uvs[{n}] refers to uv {int(fu.max())} (or "
                    f"{int(fu.min())}), but verts_uvs[{n}] has {vu.shape[0]} rows"
                )
        return self._faces_uvs_list

    def faces_verts_uvs_packed(self) -> torch.Tensor:
        """``(sum F_n, 3, 2)``: the (u, v) at the three corners of every packed face."""
        faces_uvs = self._checked_faces_uvs()
        if not faces_uvs:
            return torch.zeros((0, 3, 2), device=self.device)
        return torch.cat([vu[fu] for fu, vu in zip(faces_uvs, self._verts_uvs_list)])

    # ------------------------------------------------------------------ sampling
    @staticmethod
    def _uv_to_grid(uvs: torch.Tensor) -> torch.Tensor:
        """(u, v) in [0, 1] to ``grid_sample``'s (x, y) in [-1, 1]: ``(2u - 1, 1 - 2v)``."""
        return torch.stack([2.0 * uvs[..., 0] - 1.0, 1.0 - 2.0 * uvs[..., 1]], dim=-1)

    def _map_index_to_grid(self, ids: torch.Tensor, count: int) -> torch.Tensor:
        """Map indices to ``grid_sample``'s depth coordinate at the centre of that map.

        At a map's centre the (trilinear) weights of its neighbours are zero, so each
        face reads exactly its own map, whichever ``align_corners``.
        """
        ids = ids.to(torch.get_default_dtype())
        if self.align_corners:
            return 2.0 * ids / (count - 1) - 1.0 if count > 1 else torch.zeros_like(ids)
        return (2.0 * ids + 1.0) / count - 1.0

    def _sample(self, uvs: torch.Tensor, ids: torch.Tensor | None) -> torch.Tensor:
        """Read the maps at ``uvs`` ``(N, P, Q, 2)`` (map ``ids`` ``(N, P, Q)``)."""
        maps = self.maps_padded()
        grid = self._uv_to_grid(uvs).to(maps.dtype)
        options = {
            "mode": self.sampling_mode,
            "padding_mode": self.padding_mode,
            "align_corners": self.align_corners,
        }
        if ids is None:
            texels = F.grid_sample(maps.permute(0, 3, 1, 2), grid, **options)  # (N, C, P, Q)
            return texels.permute(0, 2, 3, 1)
        # Several maps: a 3-D sample of the (M, H, W) stack, the depth picking the map.
        depth = self._map_index_to_grid(ids, maps.shape[1]).to(maps.dtype)
        grid3 = torch.cat([grid, depth[..., None]], dim=-1)[:, :, :, None]  # (N, P, Q, 1, 3)
        texels = F.grid_sample(maps.permute(0, 4, 1, 2, 3), grid3, **options)  # (N, C, P, Q, 1)
        return texels[..., 0].permute(0, 2, 3, 1)

    def sample_textures(self, fragments: Any, **kwargs: Any) -> torch.Tensor:
        """Colours of the texture maps at every pixel's interpolated (u, v).

        First the corners' (u, v) are interpolated with the pixel's barycentric
        coordinates, then mesh n's map (with ``maps_ids``: the face's map) is sampled
        there (bilinear by default, following ``padding_mode`` and ``align_corners``).

        Args:
            fragments: rasterizer output; uses ``pix_to_face`` ``(N, H, W, K)`` and
                ``bary_coords`` ``(N, H, W, K, 3)``.
            **kwargs: ignored (``faces_packed`` is not needed: the UV faces are stored).

        Returns:
            ``(N, H, W, K, C)`` texels. Pixels without a face read the map at
            (u, v) = (0, 0), as in PyTorch3D; the blend functions ignore them.
        """
        self._check_batch(fragments)
        pixel_uvs = interpolate_face_attributes(
            fragments.pix_to_face, fragments.bary_coords, self.faces_verts_uvs_packed()
        )  # (N, H, W, K, 2)
        N, H, W, K, _ = pixel_uvs.shape
        ids = None
        if self._maps_ids_list is not None:
            ids_packed = torch.cat(self._maps_ids_list) if self._maps_ids_list else None
            face = fragments.pix_to_face.clamp(min=0)
            ids = ids_packed[face] if ids_packed is not None and ids_packed.numel() else face * 0
            ids = ids.reshape(N, H, W * K)
        # Treat the K layers as K*W columns of one image per mesh: one grid_sample call.
        texels = self._sample(pixel_uvs.reshape(N, H, W * K, 2), ids)
        return texels.reshape(N, H, W, K, -1)

    def faces_verts_textures_packed(self) -> torch.Tensor:
        """``(sum F_n, 3, C)``: the map's colour at the three corners of each packed face."""
        faces_uvs = [vu[fu] for fu, vu in zip(self._checked_faces_uvs(), self._verts_uvs_list)]
        padded = list_to_padded(faces_uvs, pad_value=0.0)  # (N, max F, 3, 2)
        ids = None
        if self._maps_ids_list is not None:
            ids = list_to_padded(self._maps_ids_list, pad_value=0)[..., None].expand(-1, -1, 3)
        texels = self._sample(padded, ids)  # (N, max F, 3, C)
        return torch.cat([t[:n] for t, n in zip(texels, self._num_faces_per_mesh)], dim=0)

    # ------------------------------------------------------------------ new textures
    def _new(
        self,
        maps: list[torch.Tensor],
        faces_uvs: list[torch.Tensor],
        verts_uvs: list[torch.Tensor],
        maps_ids: list[torch.Tensor] | None = None,
    ) -> TexturesUV:
        return self.__class__(
            maps=maps,
            faces_uvs=faces_uvs,
            verts_uvs=verts_uvs,
            maps_ids=maps_ids,
            padding_mode=self.padding_mode,
            align_corners=self.align_corners,
            sampling_mode=self.sampling_mode,
        )

    def _map_all(self, fn) -> TexturesUV:
        new = self._new(
            [fn(m) for m in self._maps_list],
            [fn(f) for f in self._faces_uvs_list],
            [fn(v) for v in self._verts_uvs_list],
            None if self._maps_ids_list is None else [fn(m) for m in self._maps_ids_list],
        )
        new._num_faces_per_mesh = list(self._num_faces_per_mesh)
        new.valid = fn(self.valid)
        return new

    def _select(self, chosen: list[int]) -> TexturesUV:
        ids = self._maps_ids_list
        return self._new(
            [self._maps_list[i] for i in chosen],
            [self._faces_uvs_list[i] for i in chosen],
            [self._verts_uvs_list[i] for i in chosen],
            None if ids is None else [ids[i] for i in chosen],
        )

    def __getitem__(self, index: IndexLike) -> TexturesUV:
        return self._select(batch_indices(index, self._N, "texture"))

    def clone(self) -> TexturesUV:
        return self._map_all(lambda t: t.clone())

    def detach(self) -> TexturesUV:
        return self._map_all(lambda t: t.detach())

    def to(self, device: Device) -> TexturesUV:
        device = make_device(device)
        if device == self.device:
            return self
        return self._map_all(lambda t: t.to(device))

    def extend(self, N: int) -> TexturesUV:  # noqa: N803 - PyTorch3D's argument name
        """Repeat each mesh's texture N times, matching ``Meshes.extend``."""
        if not isinstance(N, int) or N <= 0:
            raise ValueError(f"extend: N must be a positive int, got {N!r}")
        return self._select([i for i in range(self._N) for _ in range(N)]).clone()

    def submeshes(self, vertex_ids_list: Any, faces_ids_list: Any) -> TexturesUV:
        """The textures of ``Meshes.submeshes``: each sub-mesh keeps its faces' UV corners.

        Args:
            vertex_ids_list: unused (UV vertices are indexed by ``faces_uvs``).
            faces_ids_list: per mesh, the face indices of each of its sub-meshes.

        Returns:
            A ``TexturesUV`` with one entry per sub-mesh: the chosen rows of
            ``faces_uvs`` (and ``maps_ids``), the mesh's whole ``verts_uvs`` and map(s).
        """
        if len(faces_ids_list) != self._N:
            raise IndexError("faces_uvs_padded must be of the same length as face_ids_list.")
        maps, faces_uvs, verts_uvs, ids = [], [], [], []
        for n, faces_ids in enumerate(faces_ids_list):
            for chosen in faces_ids:
                maps.append(self._maps_list[n])
                faces_uvs.append(self._faces_uvs_list[n][chosen])
                verts_uvs.append(self._verts_uvs_list[n])
                if self._maps_ids_list is not None:
                    ids.append(self._maps_ids_list[n][chosen])
        return self._new(maps, faces_uvs, verts_uvs, None if self._maps_ids_list is None else ids)

    def join_batch(self, textures: Sequence[TexturesUV]) -> TexturesUV:
        """This batch followed by the batches in ``textures`` (same settings required)."""
        maps, faces_uvs, verts_uvs = (
            list(self._maps_list),
            list(self._faces_uvs_list),
            list(self._verts_uvs_list),
        )
        multi = self._maps_ids_list is not None
        ids = list(self._maps_ids_list) if multi else None
        for t in textures:
            if not isinstance(t, TexturesUV):
                raise ValueError("All textures must be of type TexturesUV.")
            if (t.padding_mode, t.align_corners, t.sampling_mode) != (
                self.padding_mode,
                self.align_corners,
                self.sampling_mode,
            ):
                raise ValueError("join_batch: TexturesUV settings differ between batches")
            if (t.maps_ids_list() is not None) != multi:
                raise ValueError(
                    "join_batch: either every TexturesUV has maps_ids (several maps per "
                    "mesh) or none has"
                )
            maps += t.maps_list()
            faces_uvs += t.faces_uvs_list()
            verts_uvs += t.verts_uvs_list()
            if multi:
                ids += t.maps_ids_list()
        return self._new(maps, faces_uvs, verts_uvs, ids)

    def join_scene(self) -> TexturesUV:
        """One texture for the whole batch: maps placed side by side in a single atlas.

        The maps are laid left to right (top-aligned) in one image, and every (u, v) is
        remapped to the same texel in the atlas, so a joined scene samples exactly the
        colours its meshes had. Requires ``align_corners=True`` (texel centres at 0 and 1).
        """
        if self._maps_ids_list is not None:
            raise NotImplementedError(
                "join_scene of a TexturesUV with several maps per mesh (maps_ids) is not "
                "supported (nor in PyTorch3D); join_batch keeps them"
            )
        if not self.align_corners:
            raise unsupported("align_corners", False, "join_scene of TexturesUV needs True.")
        faces_uvs_list = self._checked_faces_uvs()
        heights = [m.shape[0] for m in self._maps_list]
        widths = [m.shape[1] for m in self._maps_list]
        total_h, total_w = max(heights), sum(widths)
        channels = self._maps_list[0].shape[2]
        atlas = self._maps_list[0].new_zeros((total_h, total_w, channels))
        new_verts_uvs, new_faces_uvs = [], []
        col, uv_offset = 0, 0
        for m, fu, vu in zip(self._maps_list, faces_uvs_list, self._verts_uvs_list):
            h, w = m.shape[:2]
            atlas[:h, col : col + w] = m
            # Texel coordinates within this map (column x, row y, top row y = 0) ...
            x = vu[:, 0] * (w - 1)
            y = (1 - vu[:, 1]) * (h - 1)
            # ... are shifted into the atlas and converted back to atlas (u, v).
            u = (x + col) / max(total_w - 1, 1)
            v = 1 - y / max(total_h - 1, 1)
            new_verts_uvs.append(torch.stack([u, v], dim=1))
            new_faces_uvs.append(fu + uv_offset)
            col += w
            uv_offset += vu.shape[0]
        return self._new([atlas], [torch.cat(new_faces_uvs, 0)], [torch.cat(new_verts_uvs, 0)])


def _list_to_padded_wrapper(
    x: Sequence[torch.Tensor], pad_size: Sequence[int] | None = None, pad_value: float = 0.0
) -> torch.Tensor:
    """``list_to_padded`` under PyTorch3D's private name (used by code that imports it)."""
    return list_to_padded(x, pad_size=pad_size, pad_value=pad_value)


class TexturesAtlas(TexturesBase):
    """One small ``R x R`` texture per face (a "texture atlas"), as SoftRas uses.

    Args:
        atlas: a list of N tensors ``(F_n, R, R, C)`` or a padded ``(N, F, R, R, C)``.

    Inside face ``f``, texel ``atlas[f, i, j]`` covers barycentric coordinates with
    ``w1 ~ (i + 1/3) / R``, ``w0 ~ (j + 1/3) / R`` for the cells below the grid's
    anti-diagonal; a cell above it stands for the mirrored lower-triangle cell
    ``(R - 1 - i, R - 1 - j)``. So ``atlas[f, 0, R-1]`` is the colour at vertex 0,
    ``atlas[f, R-1, 0]`` at vertex 1 and ``atlas[f, 0, 0]`` at vertex 2. Sampling picks the
    texel (nearest, no interpolation), as PyTorch3D does.
    """

    def __init__(self, atlas: Sequence[torch.Tensor] | torch.Tensor) -> None:
        if torch.is_tensor(atlas):
            if atlas.dim() != 5:
                raise ValueError(
                    f"TexturesAtlas: atlas must be (N, F, R, R, C), got {tuple(atlas.shape)}"
                )
            self._N = atlas.shape[0]
            self.device = atlas.device
            self._atlas_padded: torch.Tensor | None = atlas
            self._atlas_list: list[torch.Tensor] | None = None
            self._num_faces_per_mesh: list[int] | None = None
        elif isinstance(atlas, (list, tuple)):
            atlas = list(atlas)
            for n, a in enumerate(atlas):
                if not torch.is_tensor(a) or a.dim() != 4 or a.shape[1] != a.shape[2]:
                    raise ValueError(f"TexturesAtlas: atlas[{n}] must be an (F, R, R, C) tensor")
            self._N = len(atlas)
            self.device = atlas[0].device if atlas else torch.device("cpu")
            self._atlas_list = atlas
            self._atlas_padded = None
            self._num_faces_per_mesh = [a.shape[0] for a in atlas]
        else:
            raise ValueError(
                "TexturesAtlas: atlas must be a tensor or a list of tensors, "
                f"got {type(atlas).__name__}"
            )
        self.valid = torch.ones(self._N, dtype=torch.bool, device=self.device)

    def _check_mesh_sizes(self, num_verts: list[int], num_faces: list[int]) -> None:
        if self._atlas_list is not None:
            have = [a.shape[0] for a in self._atlas_list]
            if have != list(num_faces):
                raise ValueError(
                    f"TexturesAtlas: atlas for {have} faces, but the meshes have {list(num_faces)}"
                )

    def atlas_list(self) -> list[torch.Tensor]:
        """N tensors ``(F_n, R, R, C)``."""
        if self._atlas_list is None:
            sizes = self._num_faces_per_mesh
            if sizes is None:  # not attached to meshes: every mesh has all F faces
                sizes = [self._atlas_padded.shape[1]] * self._N
            self._atlas_list = padded_to_list(self._atlas_padded, sizes)
        return self._atlas_list

    def atlas_padded(self) -> torch.Tensor:
        """``(N, max F_n, R, R, C)``, zero padded."""
        if self._atlas_padded is None:
            if self._atlas_list == []:  # an empty batch, as PyTorch3D's (0, 0, 0, 0, 3)
                return torch.zeros((0, 0, 0, 0, 3), device=self.device)
            self._atlas_padded = list_to_padded(self._atlas_list, pad_value=0.0)
        return self._atlas_padded

    def atlas_packed(self) -> torch.Tensor:
        """``(sum F_n, R, R, C)``."""
        if self._atlas_list is None and self._num_faces_per_mesh is None:
            return self._atlas_padded.flatten(0, 1)
        return torch.cat(self.atlas_list(), dim=0)

    def _new(self, atlas: list[torch.Tensor]) -> TexturesAtlas:
        return self.__class__(atlas=atlas)

    def __getitem__(self, index: IndexLike) -> TexturesAtlas:
        atlas = self.atlas_list()
        return self._new([atlas[i] for i in batch_indices(index, self._N, "texture")])

    _TENSOR_ATTRIBUTES = ("_atlas_padded", "_atlas_list")

    def clone(self) -> TexturesAtlas:
        return self._copy_tensors(torch.Tensor.clone)

    def detach(self) -> TexturesAtlas:
        return self._copy_tensors(torch.Tensor.detach)

    def to(self, device: Device) -> TexturesAtlas:
        device = make_device(device)
        if device == self.device:
            return self
        return self._new([a.to(device) for a in self.atlas_list()])

    def extend(self, N: int) -> TexturesAtlas:  # noqa: N803 - PyTorch3D's argument name
        """Repeat each mesh's atlas N times, matching ``Meshes.extend``."""
        return self._new([a.clone() for a in self.atlas_list() for _ in range(N)])

    def join_batch(self, textures: Sequence[TexturesAtlas]) -> TexturesAtlas:
        atlas = list(self.atlas_list())
        for t in textures:
            atlas += t.atlas_list()
        return self._new(atlas)

    def submeshes(self, vertex_ids_list: Any, faces_ids_list: Any) -> TexturesAtlas:
        """The textures of ``Meshes.submeshes``: each sub-mesh keeps its faces' atlases.

        Args:
            vertex_ids_list: unused.
            faces_ids_list: per mesh, the face indices of each of its sub-meshes.
        """
        atlas = self.atlas_list()
        if len(faces_ids_list) != len(atlas):
            raise IndexError("faces_ids_list must be of the same length as atlas_list.")
        return self._new([a[ids] for a, per in zip(atlas, faces_ids_list) for ids in per])

    def join_scene(self) -> TexturesAtlas:
        return self._new([self.atlas_packed()])

    def faces_verts_textures_packed(self, faces_packed: torch.Tensor | None = None) -> torch.Tensor:
        """``(F, 3, C)``: the texels at the three corners of each packed face."""
        atlas = self.atlas_packed()
        return torch.stack([atlas[:, 0, -1], atlas[:, -1, 0], atlas[:, 0, 0]], dim=1)

    def sample_textures(self, fragments: Any, **kwargs: Any) -> torch.Tensor:
        """``(N, H, W, K, C)`` texels of the faces seen at each pixel; zeros where none."""
        self._check_batch(fragments)
        atlas = self.atlas_packed()
        size = atlas.shape[1]
        pix_to_face = fragments.pix_to_face
        hit = pix_to_face >= 0
        w01 = torch.where(hit[..., None], fragments.bary_coords[..., :2], 0.0)
        # Cell of (w0, w1) in the R x R grid; blur can push coordinates past 1: clamp.
        cell = (w01 * size).long().clamp(max=size - 1)
        lower = (w01.sum(-1) * size - cell.sum(-1).to(w01.dtype)) <= 1.0
        col = torch.where(lower, cell[..., 0], size - 1 - cell[..., 0])
        row = torch.where(lower, cell[..., 1], size - 1 - cell[..., 1])
        texels = atlas[pix_to_face.clamp(min=0), row, col]
        return texels * hit[..., None].to(texels.dtype)


def Textures(  # noqa: N802 - PyTorch3D's (deprecated) name
    maps: Sequence[torch.Tensor] | torch.Tensor | None = None,
    faces_uvs: torch.Tensor | None = None,
    verts_uvs: torch.Tensor | None = None,
    verts_rgb: torch.Tensor | None = None,
) -> TexturesBase:
    """Deprecated PyTorch3D constructor: ``TexturesUV`` from maps + UVs, else ``TexturesVertex``."""
    warnings.warn(
        "Textures is deprecated in PyTorch3D; use TexturesUV or TexturesVertex.",
        PendingDeprecationWarning,
        stacklevel=2,
    )
    if maps is not None and faces_uvs is not None and verts_uvs is not None:
        return TexturesUV(maps=maps, faces_uvs=faces_uvs, verts_uvs=verts_uvs)
    if verts_rgb is not None:
        return TexturesVertex(verts_features=verts_rgb)
    raise ValueError(
        "Textures either requires all three of (faces uvs, verts uvs, maps) or verts rgb"
    )
