"""MagicaVoxel ``.vox`` files: write a voxel grid that opens in MagicaVoxel, read one back.

The format (version 150, little-endian) is a RIFF-like tree of chunks. Every chunk is

    4-byte id | int32 content size N | int32 children size M | N bytes content | M bytes children

and the file is ``b"VOX " | int32 150 | MAIN chunk``. ``MAIN`` has no content; its children
are, for one model:

* ``SIZE``: three int32, the grid size along MagicaVoxel's x, y, z (each at most 256);
* ``XYZI``: int32 number of voxels, then 4 bytes per voxel: x, y, z, colour index (1-255);
* ``RGBA`` (optional): the palette, 256 x 4 bytes; its entry ``k`` is the colour of index
  ``k + 1`` (index 0 means "empty", so the last entry is unused). Without it MagicaVoxel
  uses its default palette.

Files saved by MagicaVoxel itself also hold scene-graph chunks (``nTRN``, ``nGRP``,
``nSHP``, ``LAYR``, ``MATL`` ...); :func:`load_vox` skips them and reads the first model.

**Axes.** The course's voxel grids are indexed ``voxels[z, y, x]`` in the course frame
(+Y up, the object's front towards +Z; chapter 05). MagicaVoxel is **Z-up**. The mapping is
a rotation (no mirror, so the shape is not turned inside out):

    MagicaVoxel x = course x,   MagicaVoxel y = -course z,   MagicaVoxel z = course y

so in index terms ``vox[x, y, z] = voxels[Z - 1 - y, z, x]`` with ``Z`` the course grid's
depth: up stays up, and the object's front faces MagicaVoxel's -y.

Example:
    >>> import tempfile, pathlib
    >>> grid = torch.zeros(2, 3, 4, dtype=torch.bool); grid[0, 2, 1] = True
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "one.vox"
    >>> _ = save_vox(path, grid)
    >>> back, colours = load_vox(path)
    >>> bool((back == grid).all()), colours is None
    (True, True)
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import numpy as np
import torch

from course_utils.atomic import write_bytes_atomic

__all__ = ["save_vox", "load_vox", "vox_bytes", "course_to_vox_indices", "MAX_SIZE"]

VERSION = 150
#: MagicaVoxel's largest model: 256 voxels along each axis (indices are bytes).
MAX_SIZE = 256


def _chunk(chunk_id: bytes, content: bytes, children: bytes = b"") -> bytes:
    return chunk_id + struct.pack("<ii", len(content), len(children)) + content + children


def course_to_vox_indices(zyx: np.ndarray, depth: int) -> np.ndarray:
    """Course indices ``(N, 3)`` as ``(z, y, x)`` -> MagicaVoxel ``(N, 3)`` ``(x, y, z)``.

    ``depth`` is the course grid's size along z (``voxels.shape[0]``).
    """
    z, y, x = zyx[:, 0], zyx[:, 1], zyx[:, 2]
    return np.stack([x, depth - 1 - z, y], axis=1)


def _palette(colours: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(N, 3)`` uint8 colours -> ``(K, 3)`` palette (K <= 255) and ``(N,)`` indices 1..K.

    Exact when there are at most 255 distinct colours; otherwise the colours are rounded
    to fewer bits per channel until they fit (a uniform quantisation, deterministic).
    """
    for bits in range(8, 0, -1):
        drop = 8 - bits
        # round to the centre of each bin so that dark and light colours keep their tone
        q = (colours >> drop) << drop | ((1 << drop) >> 1)
        palette, index = np.unique(q.reshape(-1, 3), axis=0, return_inverse=True)
        if len(palette) <= 255:
            return palette.astype(np.uint8), index.reshape(-1).astype(np.uint8) + 1
    raise AssertionError("unreachable: 1 bit per channel gives 8 colours")


def _as_numpy(value: Any) -> np.ndarray:
    return value.detach().cpu().numpy() if torch.is_tensor(value) else np.asarray(value)


def vox_bytes(occupancy: Any, colors: Any = None) -> bytes:
    """The bytes of a ``.vox`` file for a course voxel grid (see :func:`save_vox`)."""
    occ = _as_numpy(occupancy)
    if occ.ndim != 3:
        raise ValueError(f"occupancy must be a (Z, Y, X) grid, got shape {occ.shape}")
    if max(occ.shape) > MAX_SIZE or min(occ.shape) < 1:
        raise ValueError(
            f"a .vox model holds 1 to {MAX_SIZE} voxels per axis; the grid is {occ.shape}"
        )
    occ = occ > 0.5 if occ.dtype != np.bool_ else occ
    zyx = np.argwhere(occ)  # (N, 3) in C order: z, then y, then x
    xyz = course_to_vox_indices(zyx, occ.shape[0]).astype(np.uint8)
    chunks = [_chunk(b"SIZE", struct.pack("<3i", occ.shape[2], occ.shape[0], occ.shape[1]))]
    if colors is None:
        index = np.ones(len(zyx), dtype=np.uint8)
        palette = None
    else:
        col = _as_numpy(colors)
        if col.shape == (3,):
            col = np.broadcast_to(col, (*occ.shape, 3))
        if col.shape != (*occ.shape, 3):
            raise ValueError(f"colors must be (3,) or {(*occ.shape, 3)}, got {col.shape}")
        if col.dtype != np.uint8:
            if col.size and (np.nanmin(col) < 0 or np.nanmax(col) > 1):
                raise ValueError("float colors must lie in [0, 1] (or pass uint8 in 0..255)")
            col = np.round(np.nan_to_num(col) * 255).astype(np.uint8)
        palette, index = _palette(col[occ])
    body = struct.pack("<i", len(zyx)) + np.concatenate([xyz, index[:, None]], axis=1).tobytes()
    chunks.append(_chunk(b"XYZI", body))
    if palette is not None:
        rgba = np.zeros((256, 4), dtype=np.uint8)
        rgba[: len(palette), :3] = palette
        rgba[: len(palette), 3] = 255
        chunks.append(_chunk(b"RGBA", rgba.tobytes()))
    return b"VOX " + struct.pack("<i", VERSION) + _chunk(b"MAIN", b"", b"".join(chunks))


def save_vox(path: str | Path, occupancy: Any, colors: Any = None) -> Path:
    """Write a course voxel grid as a MagicaVoxel ``.vox`` file (atomically).

    Args:
        path: the file to write (its folder is created; an existing file is replaced only
            once the new one is complete).
        occupancy: ``(Z, Y, X)`` grid in the course's ``voxels[z, y, x]`` order: bool, or
            probabilities (occupied where > 0.5). Each axis at most 256.
        colors: None (every voxel palette index 1, MagicaVoxel's default palette), one
            colour ``(3,)``, or per-voxel colours ``(Z, Y, X, 3)``: float in [0, 1] or
            uint8. At most 255 distinct colours are stored exactly; more are quantised.

    Returns:
        ``Path(path)``.
    """
    return write_bytes_atomic(path, vox_bytes(occupancy, colors))


def _read_chunks(data: bytes, start: int, end: int, name: str) -> list[tuple[bytes, bytes, int]]:
    """The chunks between ``start`` and ``end``: ``(id, content, children offset)``."""
    chunks = []
    pos = start
    while pos < end:
        if pos + 12 > end:
            raise ValueError(f"{name}: truncated chunk header at byte {pos}")
        chunk_id = data[pos : pos + 4]
        n, m = struct.unpack_from("<ii", data, pos + 4)
        if n < 0 or m < 0 or pos + 12 + n + m > end:
            raise ValueError(f"{name}: chunk {chunk_id!r} at byte {pos} runs past the end")
        chunks.append((chunk_id, data[pos + 12 : pos + 12 + n], pos + 12 + n))
        pos += 12 + n + m
    return chunks


def load_vox(path: str | Path) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Read the first model of a ``.vox`` file back into the course's axes.

    Returns:
        ``occupancy`` ``(Z, Y, X)`` bool (``voxels[z, y, x]``, the inverse of
        :func:`save_vox`'s axis mapping) and ``colors`` ``(Z, Y, X, 3)`` uint8 from the
        file's palette (zero where empty), or None when the file has no ``RGBA`` chunk.

    Raises:
        FileNotFoundError: no file.
        ValueError: not a ``.vox`` file, or a truncated/corrupted one (says where).
    """
    path = Path(path)
    data = path.read_bytes()
    if len(data) < 20 or data[:4] != b"VOX ":
        raise ValueError(f"{path} is not a MagicaVoxel .vox file (no 'VOX ' header)")
    top = _read_chunks(data, 8, len(data), str(path))
    if not top or top[0][0] != b"MAIN":
        raise ValueError(f"{path}: the first chunk must be MAIN")
    main_end = top[0][2] + struct.unpack_from("<i", data, 16)[0]
    children = _read_chunks(data, top[0][2], main_end, str(path))
    size = xyzi = rgba = None
    for chunk_id, content, _ in children:
        if chunk_id == b"SIZE" and size is None:
            if len(content) < 12:
                raise ValueError(f"{path}: SIZE chunk too short")
            size = struct.unpack_from("<3i", content)
        elif chunk_id == b"XYZI" and xyzi is None:
            count = struct.unpack_from("<i", content)[0] if len(content) >= 4 else -1
            if count < 0 or len(content) < 4 + 4 * count:
                raise ValueError(f"{path}: XYZI chunk shorter than its voxel count")
            xyzi = np.frombuffer(content, dtype=np.uint8, count=4 * count, offset=4)
            xyzi = xyzi.reshape(count, 4).astype(np.int64)
        elif chunk_id == b"RGBA" and rgba is None and len(content) >= 1024:
            rgba = np.frombuffer(content, dtype=np.uint8, count=1024).reshape(256, 4)
    if size is None or xyzi is None:
        raise ValueError(f"{path}: no SIZE/XYZI model in the file")
    sx, sy, sz = size
    if not (1 <= min(size) and max(size) <= MAX_SIZE):
        raise ValueError(f"{path}: model size {size} outside 1..{MAX_SIZE}")
    x, y, z, index = xyzi.T
    if len(x) and (x.max() >= sx or y.max() >= sy or z.max() >= sz):
        raise ValueError(f"{path}: a voxel lies outside the model size {size}")
    depth = sy  # course z runs along MagicaVoxel -y
    occupancy = torch.zeros(depth, sz, sx, dtype=torch.bool)
    cz, cy, cx = torch.from_numpy(depth - 1 - y), torch.from_numpy(z), torch.from_numpy(x)
    occupancy[cz, cy, cx] = True
    colors = None
    if rgba is not None:
        colors = torch.zeros(depth, sz, sx, 3, dtype=torch.uint8)
        table = torch.from_numpy(rgba[:, :3].copy())
        colors[cz, cy, cx] = table[torch.from_numpy((index - 1) % 256)]
    return occupancy, colors
