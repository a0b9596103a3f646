"""Gaussians to and from ``.ply`` files in the layout 3D Gaussian splatting viewers read.

The reference implementation (Kerbl et al. 2023) saves a point cloud whose vertices carry
every parameter *before* its activation, as little-endian float32 columns::

    x y z                     centre
    nx ny nz                  unused (zeros), kept because viewers expect them
    f_dc_0 f_dc_1 f_dc_2      degree-0 SH coefficient per RGB channel
    f_rest_0 ... f_rest_{3(K-1)-1}   higher SH coefficients, channel-major: all of red's,
                              then green's, then blue's
    opacity                   opacity *logit*
    scale_0 scale_1 scale_2   *log* standard deviations
    rot_0 rot_1 rot_2 rot_3   quaternion (w, x, y, z), not necessarily normalised

Web and desktop viewers (SuperSplat, antimatter15/splat, the SIBR viewer) open such files.
A table of fixed-size rows maps onto a NumPy structured dtype, so writing and reading are
one ``tobytes`` / ``frombuffer`` each. Files are written atomically.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch

from course_utils.atomic import atomic_write
from course_utils.splats.gaussians import Gaussians

__all__ = ["save_gaussians_ply", "load_gaussians_ply", "ply_property_names"]


def ply_property_names(sh_degree: int) -> list[str]:
    """The vertex properties of a 3DGS ``.ply`` with colours of ``sh_degree``, in file order."""
    rest = 3 * ((sh_degree + 1) ** 2 - 1)
    return (
        ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"]
        + [f"f_rest_{i}" for i in range(rest)]
        + ["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"]
    )


def save_gaussians_ply(gaussians: Gaussians, path: str | os.PathLike[str]) -> Path:
    """Write ``gaussians`` to ``path`` (binary little-endian float32, atomically).

    Returns:
        ``Path(path)``.
    """
    g = gaussians.detach().to("cpu")
    p, k = len(g), g.sh.shape[1]
    names = ply_property_names(g.sh_degree)
    columns = [
        g.means,
        torch.zeros(p, 3),
        g.sh[:, 0, :],
        g.sh[:, 1:, :].transpose(1, 2).reshape(p, 3 * (k - 1)),  # channel-major
        g.opacity_logits[:, None],
        g.log_scales,
        g.quats,
    ]
    table = torch.cat([c.to(torch.float32) for c in columns], 1).numpy()
    rows = np.empty(p, dtype=[(name, "<f4") for name in names])
    for i, name in enumerate(names):
        rows[name] = table[:, i]
    header = "\n".join(
        [
            "ply",
            "format binary_little_endian 1.0",
            "comment 3D Gaussians (Learning 3D Vision, chapter 10)",
        ]
        + [f"element vertex {p}"]
        + [f"property float {name}" for name in names]
        + ["end_header\n"]
    )
    with atomic_write(path, "wb") as handle:
        handle.write(header.encode("ascii"))
        handle.write(rows.tobytes())
    return Path(path)


_TYPES = {"float": "f4", "float32": "f4", "double": "f8", "float64": "f8"}


def load_gaussians_ply(path: str | os.PathLike[str]) -> Gaussians:
    """Read a 3DGS ``.ply`` (as written by :func:`save_gaussians_ply` or the reference code).

    Raises:
        ValueError: naming the file (and header line) when it is not a binary 3DGS ``.ply``:
            another format, a missing property, a list property, a truncated body.
    """
    path = Path(path)
    data = path.read_bytes()
    end = data.find(b"end_header")
    if not data.startswith(b"ply") or end < 0:
        raise ValueError(f"{path}: not a PLY file (it must start with 'ply' and have 'end_header')")
    body_start = data.index(b"\n", end) + 1
    lines = data[:body_start].decode("ascii", errors="replace").splitlines()
    fmt, count, props, element = None, None, [], None
    for number, line in enumerate(lines, 1):
        tokens = line.split()
        if not tokens or tokens[0] in ("comment", "obj_info", "ply", "end_header"):
            continue
        if tokens[0] == "format":
            fmt = tokens[1] if len(tokens) > 1 else ""
            if fmt not in ("binary_little_endian", "binary_big_endian"):
                raise ValueError(f"{path}, line {number}: format {fmt!r}; 3DGS files are binary")
        elif tokens[0] == "element":
            element = tokens[1] if len(tokens) > 1 else ""
            if element == "vertex":
                try:
                    count = int(tokens[2])
                except (IndexError, ValueError):
                    raise ValueError(
                        f"{path}, line {number}: bad vertex count in {line!r}"
                    ) from None
        elif tokens[0] == "property" and element == "vertex":
            if len(tokens) != 3 or tokens[1] not in _TYPES:
                raise ValueError(
                    f"{path}, line {number}: expected 'property float <name>', got {line!r}"
                )
            props.append((tokens[2], _TYPES[tokens[1]]))
        elif tokens[0] == "property":
            continue
        else:
            raise ValueError(f"{path}, line {number}: unexpected header line {line!r}")
    if count is None:
        raise ValueError(f"{path}: no 'element vertex' in the header")
    names = [n for n, _ in props]
    needed = ["x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity"] + [
        f"scale_{i}" for i in range(3)
    ]
    needed += [f"rot_{i}" for i in range(4)]
    missing = [n for n in needed if n not in names]
    if missing:
        raise ValueError(f"{path}: not a 3D Gaussian splatting PLY; missing properties {missing}")
    rest = sorted(
        (n for n in names if n.startswith("f_rest_")), key=lambda n: int(n.split("_")[-1])
    )
    k = len(rest) // 3 + 1
    if len(rest) % 3 or k not in (1, 4, 9, 16):
        raise ValueError(f"{path}: {len(rest)} f_rest_* properties do not make an SH degree")
    endian = "<" if fmt == "binary_little_endian" else ">"
    dtype = np.dtype([(n, endian + t) for n, t in props])
    if len(data) - body_start < count * dtype.itemsize:
        raise ValueError(
            f"{path}: the header declares {count} Gaussians ({count * dtype.itemsize} bytes) "
            f"but the file holds {len(data) - body_start} bytes of data (truncated?)"
        )
    rows = np.frombuffer(data, dtype=dtype, count=count, offset=body_start)

    def stack(cols: list[str]) -> torch.Tensor:
        return torch.from_numpy(np.stack([rows[c].astype(np.float32) for c in cols], 1))

    sh_rest = (
        stack(rest).reshape(count, 3, k - 1).transpose(1, 2) if k > 1 else torch.zeros(count, 0, 3)
    )
    sh = torch.cat([stack(["f_dc_0", "f_dc_1", "f_dc_2"])[:, None, :], sh_rest], 1)
    if k == 16:  # degree 3 (the reference default): the course renders up to degree 2
        sh = sh[:, :9]
    gaussians = Gaussians(
        means=stack(["x", "y", "z"]),
        log_scales=stack(["scale_0", "scale_1", "scale_2"]),
        quats=stack(["rot_0", "rot_1", "rot_2", "rot_3"]),
        opacity_logits=stack(["opacity"])[:, 0],
        sh=sh.contiguous(),
    )
    if not all(math.isfinite(float(t.abs().sum())) for t in gaussians.parameters()):
        raise ValueError(f"{path}: the file holds NaN or infinite values")
    return gaussians
