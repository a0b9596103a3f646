"""The course's own assets in ``data/``: a textured die, a mug, an organic blob, RGB-D views.

Every mesh the early chapters load is made from code (:mod:`course_utils.asset_meshes`),
so the course needs no downloads and the assets carry no third-party licence.
``python -m course_utils assets`` (re)writes them into ``data/``; the output is
deterministic, and a test checks that the committed files are what the generator makes.

=========  ====================  ==========================================================
name       files                 what it shows
=========  ====================  ==========================================================
``die``    die.obj/.mtl/.png     a UV-textured cube with pips 1-6: orientation is obvious
                                 in every render (1 faces +Z, 2 +Y, 3 +X; opposite faces
                                 add up to 7). 4 vertices per side so each side is flat.
``mug``    mug.obj/.mtl/.png     a surface of revolution (the body, UV-mapped by angle and
                                 profile length) plus a handle swept along a curve.
``blob``   blob.ply              an organic-looking closed surface (a displaced icosphere)
                                 with a colour per vertex (PLY keeps vertex colours; OBJ
                                 has no standard field for them).
``rgbd``   rgbd_scene.npz        four RGB-D views (colour, depth, mask, camera) of the mug
                                 and the die on a floor, rendered by the course's renderer
                                 (:mod:`course_utils.rgbd`).
=========  ====================  ==========================================================

Conventions: +Y is up, the objects sit around the origin and fit in a box about 1-1.7
units across, so ``look_at_view_transform(dist=2.7, ...)`` frames them.
"""

from __future__ import annotations

import filecmp
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

# The generators live one module down, so the RGB-D scene (course_utils.rgbd) can use them
# without importing this module, which writes the RGB-D views: no import circle.
from course_utils.asset_meshes import (  # re-exported: assets.build_die() keeps working
    SEED,
    ColouredMesh,
    TexturedMesh,
    build_blob,
    build_die,
    build_mug,
)
from course_utils.atomic import write_bytes_atomic
from course_utils.config import DATA_DIR

__all__ = [
    "ASSETS",
    "asset_path",
    "load_asset",
    "write_assets",
    "SEED",
    "TexturedMesh",
    "ColouredMesh",
    "build_die",
    "build_mug",
    "build_blob",
]


# ------------------------------------------------------------------ writing
def _write_textured(mesh: TexturedMesh, path: Path) -> None:
    from course_utils.p3d import io

    io.save_obj(
        path,
        torch.from_numpy(mesh.verts).float(),
        torch.from_numpy(mesh.faces).long(),
        decimal_places=5,
        verts_uvs=torch.from_numpy(mesh.verts_uvs).float(),
        faces_uvs=torch.from_numpy(mesh.faces_uvs).long(),
        texture_map=torch.from_numpy(mesh.texture).float(),
    )


def _write_coloured(mesh: ColouredMesh, path: Path) -> None:
    from course_utils.p3d import io, renderer, structures

    colours = torch.from_numpy(np.round(mesh.colours * 255) / 255).float()
    meshes = structures.Meshes(
        verts=[torch.from_numpy(mesh.verts).float()],
        faces=[torch.from_numpy(mesh.faces).long()],
        textures=renderer.TexturesVertex([colours]),
    )
    io.IO().save_mesh(meshes, path, binary=False, colors_as_uint8=True, decimal_places=5)


def _write_rgbd(path: Path) -> None:
    from course_utils.rgbd import write_rgbd

    write_rgbd(path)


#: name -> (files it writes, function writing them into a folder)
ASSETS: dict[str, tuple[tuple[str, ...], Callable[[Path], None]]] = {
    "die": (
        ("die.obj", "die.mtl", "die.png"),
        lambda d: _write_textured(build_die(), d / "die.obj"),
    ),
    "mug": (
        ("mug.obj", "mug.mtl", "mug.png"),
        lambda d: _write_textured(build_mug(), d / "mug.obj"),
    ),
    "blob": (("blob.ply",), lambda d: _write_coloured(build_blob(), d / "blob.ply")),
    # Four RGB-D views of the mug and the die on a floor (chapter 03; see course_utils.rgbd).
    "rgbd": (("rgbd_scene.npz",), lambda d: _write_rgbd(d / "rgbd_scene.npz")),
}


def asset_path(name: str, data_dir: Path | None = None) -> Path:
    """Path of the main file of asset ``name`` (``die.obj``, ``mug.obj``, ``blob.ply``)."""
    if name not in ASSETS:
        raise ValueError(f"unknown course asset {name!r}; choose one of {sorted(ASSETS)}")
    path = Path(data_dir or DATA_DIR) / ASSETS[name][0][0]
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing; regenerate the course assets with `python -m course_utils assets`"
        )
    return path


def load_asset(name: str, device: str | torch.device = "cpu", data_dir: Path | None = None):
    """Load a course asset as a ``Meshes`` with its texture (UV map or vertex colours)."""
    from course_utils.p3d import io

    if name == "rgbd":
        raise ValueError(
            "the RGB-D views are not a mesh: load them with course_utils.rgbd.load_rgbd()"
        )

    return io.IO().load_mesh(asset_path(name, data_dir), device=device)


def write_assets(
    out_dir: Path | None = None, names: list[str] | None = None, force: bool = False
) -> list[Path]:
    """Generate the course assets into ``out_dir`` (default ``data/``).

    Files are built in a temporary folder first. A file that already exists with
    different content is only replaced with ``force=True`` — otherwise a ``FileExistsError``
    lists them, so nothing the user changed is overwritten silently. Identical files are
    left untouched.

    Returns:
        The paths written (or already up to date).
    """
    out_dir = Path(out_dir or DATA_DIR)
    names = list(names or ASSETS)
    for name in names:
        if name not in ASSETS:
            raise ValueError(f"unknown course asset {name!r}; choose from {sorted(ASSETS)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_dir = Path(tmp)
        for name in names:
            ASSETS[name][1](tmp_dir)
        files = [f for name in names for f in ASSETS[name][0]]
        changed = [
            out_dir / f
            for f in files
            if (out_dir / f).exists() and not filecmp.cmp(tmp_dir / f, out_dir / f, shallow=False)
        ]
        if changed and not force:
            raise FileExistsError(
                "these files exist and differ from what the generator makes: "
                + ", ".join(str(p) for p in changed)
                + ". Move them away or pass force=True (CLI: --force) to replace them."
            )
        for f in files:
            if not (out_dir / f).exists() or out_dir / f in changed:
                write_bytes_atomic(out_dir / f, (tmp_dir / f).read_bytes())
    return [out_dir / f for f in files]
