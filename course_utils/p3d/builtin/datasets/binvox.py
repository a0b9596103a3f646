"""A reader for Patrick Min's ``.binvox`` voxel files (R2N2's ShapeNetVox32), NumPy only."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["BinvoxGrid", "read_binvox"]


@dataclass
class BinvoxGrid:
    """A binvox voxel grid.

    Attributes:
        data: ``(D, D, D)`` bool indexed ``[x, y, z]`` (the file stores ``[x, z, y]``, y
            fastest; :func:`read_binvox` swaps the last two axes, as ``binvox_rw`` does).
        translate: ``(3,)`` and ``scale``: the grid spans ``translate + [0, scale]³`` in
            the model's coordinates.
    """

    data: np.ndarray
    translate: np.ndarray
    scale: float


def read_binvox(path: str | Path) -> BinvoxGrid:
    """Read a ``.binvox`` file (Patrick Min's format) without any third-party reader.

    The file is a short text header, then run-length encoded bytes::

        #binvox 1
        dim 32 32 32
        translate -0.5 -0.5 -0.5
        scale 1.0
        data
        <value byte><count byte><value byte><count byte>...   (counts 1-255)

    Voxels are listed with x slowest and y fastest: index ``x * D*D + z * D + y``.

    Raises:
        ValueError: for a malformed header or a wrong number of voxels (naming the file).
    """
    path = Path(path)
    raw = path.read_bytes()
    lines, pos = [], 0
    while len(lines) < 5:
        end = raw.find(b"\n", pos)
        if end < 0:
            raise ValueError(f"{path}: the binvox header ends early (got {lines})")
        lines.append(raw[pos:end].strip().decode("ascii", errors="replace"))
        pos = end + 1
        if lines[-1] == "data":
            break
    header = {line.split(" ", 1)[0]: line.split()[1:] for line in lines}
    if not lines[0].startswith("#binvox") or "dim" not in header or lines[-1] != "data":
        raise ValueError(
            f"{path}: not a binvox file (expected '#binvox 1', 'dim D D D', "
            f"..., 'data'; got {lines})"
        )
    dims = [int(d) for d in header["dim"]]
    if len(dims) != 3 or len(set(dims)) != 1:
        raise ValueError(f"{path}: only cubic grids are supported, got dim {dims}")
    translate = np.array([float(t) for t in header.get("translate", ["0", "0", "0"])])
    scale = float(header.get("scale", ["1"])[0])
    pairs = np.frombuffer(raw[pos:], dtype=np.uint8)
    if len(pairs) % 2:
        raise ValueError(f"{path}: the voxel data has an odd number of bytes ({len(pairs)})")
    values, counts = pairs[0::2], pairs[1::2]
    dense = np.repeat(values.astype(bool), counts.astype(np.int64))
    n = dims[0]
    if dense.size != n**3:
        raise ValueError(f"{path}: the runs give {dense.size} voxels, expected {n}³ = {n**3}")
    return BinvoxGrid(dense.reshape(n, n, n).transpose(0, 2, 1), translate, scale)
