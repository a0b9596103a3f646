"""From one photo to a 3D file (chapter 08): reading the photo, the two pipelines, scores.

* :func:`load_photo` — read an image file for the course's networks: RGB, square, the
  size the network was trained at; grayscale is converted, RGBA is composited on white
  (its alpha becomes the mask), huge or broken files are refused with one clear line.
* :func:`depth_pipeline` — image -> depth + mask (:class:`~course_utils.models.depth.DepthNet`)
  -> coloured cloud -> outlier removal -> normals towards the camera -> Poisson (the
  course's spectral solver, or Open3D's) -> density trimming -> a coloured mesh.
* :func:`voxel_pipeline` — image -> chapter 05's voxel model -> occupancy, coloured by
  projecting each voxel into the image.
* :func:`surface_scores` — precision of a reconstruction at τ against the true visible
  surface, completeness, Chamfer.
* :func:`save_coloured_mesh` — ``.ply`` (vertex colours) or ``.obj``, written atomically.

The camera of a photo is unknown; the pipelines use :func:`default_camera`, the course's
typical viewpoint (distance 2 from the object, 25° above it, in front), unless given one;
the depth network is told the same elevation (``predict_depth(..., R=camera[0])``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from course_utils.atomic import temporary_path

__all__ = [
    "MAX_MEGAPIXELS",
    "CONFIDENT_SCALE",
    "Photo",
    "load_photo",
    "default_camera",
    "DepthReconstruction",
    "depth_pipeline",
    "voxel_pipeline",
    "voxel_colours",
    "surface_scores",
    "mesh_points",
    "save_coloured_mesh",
    "nearest_colours",
    "reconstruct_file",
    "pix3d_to_vox",
    "show_depth_maps",
    "show_uncertainty",
    "coloured_mesh",
    "density_colours",
    "plot_voxels",
]

#: The threshold on the predicted error scale ``b`` (scene units, = τ) that the chapter and
#: the benchmark try with ``depth_pipeline(scale=..., max_scale=CONFIDENT_SCALE)``. Not the
#: default: on held-out views the network is most confident exactly where it is wrong as a
#: whole (``benchmarks/README.md``, chapter 08), so the filter did not raise precision.
CONFIDENT_SCALE = 0.02

#: Larger images are refused (a phone photo is 12-50 megapixels; resize bigger ones).
MAX_MEGAPIXELS = 60.0


@dataclass
class Photo:
    """A photo ready for the networks: ``image`` ``(3, S, S)`` in [0, 1] (white background
    where it was transparent), ``mask`` ``(S, S)`` bool from the alpha channel or None, and
    ``notes``: what was changed (converted, composited, cropped)."""

    image: torch.Tensor
    mask: torch.Tensor | None
    notes: list[str] = field(default_factory=list)


def load_photo(path: str | Path, size: int = 128) -> Photo:
    """Read an image file, make it RGB, crop the centre square and resize it to ``size``.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: a folder, an unreadable file or one that is not an image, or an image
            over :data:`MAX_MEGAPIXELS` (one line saying which and what to do).
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no image at {path}")
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not an image file")
    notes: list[str] = []
    try:
        with Image.open(path) as handle:
            width, height = handle.size
            megapixels = width * height / 1e6
            if megapixels > MAX_MEGAPIXELS:
                raise ValueError(
                    f"{path} is {width} x {height} ({megapixels:.0f} megapixels); the limit is "
                    f"{MAX_MEGAPIXELS:.0f}: refused, resize it first"
                )
            handle.load()
            image = handle.copy()
    except UnidentifiedImageError:
        raise ValueError(f"{path} is not an image file that Pillow can read") from None
    except Image.DecompressionBombError as error:
        raise ValueError(f"{path}: refused, too many pixels ({error})") from None
    except (OSError, SyntaxError) as error:  # truncated or corrupted files, no permission
        raise ValueError(f"cannot read image {path}: {error}") from None
    mode = image.mode
    mask = None
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        alpha = np.asarray(rgba)[..., 3]
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba).convert("RGB")
        mask = alpha > 127
        notes.append(f"converted {mode} to RGB on a white background (alpha used as the mask)")
    elif mode != "RGB":
        image = image.convert("RGB")
        notes.append(f"converted {mode} to RGB")
    width, height = image.size
    side = min(width, height)
    if width != height:
        notes.append(f"cropped the centre {side} x {side} square of {width} x {height}")
    left, top = (width - side) // 2, (height - side) // 2
    image = image.crop((left, top, left + side, top + side))
    if side != size:
        image = image.resize((size, size), Image.Resampling.LANCZOS)
        notes.append(f"resized to {size} x {size}")
    tensor = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0).permute(2, 0, 1)
    mask_tensor = None
    if mask is not None:
        crop = mask[top : top + side, left : left + side].astype(np.uint8) * 255
        small = Image.fromarray(crop).resize((size, size), Image.Resampling.BILINEAR)
        mask_tensor = torch.from_numpy(np.asarray(small) > 127)
    return Photo(image=tensor.contiguous(), mask=mask_tensor, notes=notes)


def default_camera(
    elev: float | None = None, azim: float = 0.0, dist: float = 2.0
) -> tuple[Any, ...]:
    """``(R (3, 3), T (3,), fov)``: the course's typical camera (as in ``ShapeDataset``);
    ``elev`` None: the depth network's default elevation (``DEFAULT_ELEVATION``, 25°)."""
    from course_utils.datasets.generate import FOV
    from course_utils.models.depth import DEFAULT_ELEVATION
    from course_utils.p3d import renderer

    elev = DEFAULT_ELEVATION if elev is None else elev

    R, T = renderer.look_at_view_transform(dist=dist, elev=elev, azim=azim)
    return R[0], T[0], FOV


@dataclass
class DepthReconstruction:
    """Every step of :func:`depth_pipeline` (for pictures): ``depth`` ``(S, S)``,
    ``mask`` ``(S, S)`` (the pixels lifted, after the edge filter), the raw cloud
    ``points``/``colours`` ``(P, 3)``, ``keep`` ``(P,)``, ``normals`` ``(P', 3)`` of the
    kept points, the Poisson mesh ``verts``/``faces`` with ``density`` ``(V,)``, and the
    trimmed, coloured mesh ``trimmed_verts``, ``trimmed_faces``, ``trimmed_colours``;
    ``camera_centre`` ``(3,)``."""

    depth: torch.Tensor
    mask: torch.Tensor
    points: torch.Tensor
    colours: torch.Tensor
    keep: torch.Tensor
    normals: torch.Tensor
    verts: torch.Tensor
    faces: torch.Tensor
    density: torch.Tensor
    trimmed_verts: torch.Tensor
    trimmed_faces: torch.Tensor
    trimmed_colours: torch.Tensor
    camera_centre: torch.Tensor


def nearest_colours(
    verts: torch.Tensor, points: torch.Tensor, colours: torch.Tensor
) -> torch.Tensor:
    """``(V, 3)``: each vertex takes the colour of its nearest point (``knn_points``)."""
    from course_utils.p3d import ops

    if len(verts) == 0:
        return verts.new_zeros(0, 3)
    idx = ops.knn_points(verts[None].float(), points[None].float(), K=1).idx[0, :, 0]
    return colours[idx]


def depth_pipeline(
    image: torch.Tensor,
    depth: torch.Tensor,
    mask: torch.Tensor,
    camera: tuple[Any, ...] | None = None,
    poisson: str = "builtin",
    resolution: int = 64,
    k: int = 16,
    std_ratio: float = 2.0,
    trim: float = 0.4,
    progress: Any = None,
    erode: int = 1,
    max_slope: float | None = None,
    scale: torch.Tensor | None = None,
    max_scale: float | None = None,
    min_keep: float = 0.3,
) -> DepthReconstruction:
    """A depth map (predicted or true) -> cleaned cloud -> normals -> Poisson -> trimmed mesh.

    Args:
        image: ``(3, S, S)`` colours; depth: ``(S, S)`` view-space z; mask: ``(S, S)`` bool.
        camera: ``(R, T, fov)``; default :func:`default_camera`.
        poisson: ``"builtin"`` (:func:`~course_utils.point_processing.poisson_reconstruct`)
            or ``"open3d"`` (needs Open3D; also does the cleaning and the normals).
        resolution: the built-in solver's grid (Open3D: the octree depth ``log2``).
        k, std_ratio: neighbours for the outlier removal and the normals; its threshold.
        trim: both meshes keep the vertices whose relative density of the cleaned
            points is at least ``trim`` (:func:`~course_utils.point_processing.relative_density`).
        progress: an optional ``tqdm`` bar advanced once per step (5 steps).
        erode, max_slope: an optional edge filter: with a ``max_slope`` (e.g. 4), only the
            mask's pixels that :func:`~course_utils.depth.reliable_pixels` trusts are lifted
            (``erode`` pixels inside the silhouette, no depth step over ``max_slope`` pixel
            footprints). Off by default: on the course's held-out views it did not raise
            the precision of the network's surface (its errors are not at the edges) and it
            costs completeness (``benchmarks/README.md``, chapter 08).
        scale, max_scale, min_keep: an optional confidence filter: with the network's
            predicted error scale ``b`` ``(S, S)`` (:func:`~course_utils.depth.predict_depth_scale`)
            and a ``max_scale`` (e.g. :data:`CONFIDENT_SCALE`), only the pixels with
            ``b <= max_scale`` are lifted (at least the ``min_keep`` most confident share of
            the mask: :func:`~course_utils.depth.confident_pixels`). Off by default: it
            helps only where ``b`` tracks the error (``benchmarks/README.md``, chapter 08).
    """
    from course_utils.depth import (
        camera_centre,
        confident_pixels,
        depth_to_points,
        reliable_pixels,
    )
    from course_utils.point_processing import (
        estimate_normals,
        open3d_pipeline,
        poisson_reconstruct,
        statistical_outlier_removal,
        trim_by_density,
    )

    def step(name: str) -> None:
        if progress is not None:
            progress.set_postfix_str(name)
            progress.update(1)

    R, T, fov = camera if camera is not None else default_camera()
    centre = camera_centre(R, T)
    if max_slope is not None:
        mask = reliable_pixels(depth, mask, float(fov), erode=erode, max_slope=max_slope)
    if scale is not None and max_scale is not None:
        mask = confident_pixels(scale, mask, max_scale, min_keep)
    points, colours = depth_to_points(image, depth, mask, R, T, fov)
    if len(points) < 2 * k:
        raise ValueError(
            f"only {len(points)} pixels were found on the object: too few for a surface "
            "(is the object on a plain light background, filling the picture?)"
        )
    step("unprojected")
    if poisson == "open3d":
        octree = int(round(math.log2(resolution)))
        out = open3d_pipeline(
            points, centre, colours, k, std_ratio, depth=octree, trim_threshold=trim
        )
        keep, normals = out["keep"], out["normals"]
        verts, faces, density = out["verts"], out["faces"], out["density"]
        tv, tf = out["trimmed_verts"], out["trimmed_faces"]
        step("open3d")
    elif poisson == "builtin":
        keep = statistical_outlier_removal(points, k, std_ratio)
        step("outliers removed")
        normals = estimate_normals(points[keep], k, camera_centre=centre)
        step("normals")
        result = poisson_reconstruct(points[keep], normals, resolution=resolution)
        verts, faces, density = result.verts, result.faces, result.density
        tv, tf = trim_by_density(verts, faces, density, threshold=trim)
    else:
        raise ValueError(f'poisson must be "builtin" or "open3d", got {poisson!r}')
    step("Poisson")
    trimmed_colours = nearest_colours(tv, points[keep], colours[keep])
    step("coloured")
    return DepthReconstruction(
        depth=depth, mask=mask, points=points, colours=colours, keep=keep, normals=normals,
        verts=verts, faces=faces, density=density, trimmed_verts=tv, trimmed_faces=tf,
        trimmed_colours=trimmed_colours, camera_centre=centre,
    )  # fmt: skip


def voxel_colours(
    occupancy: torch.Tensor, image: torch.Tensor, camera: tuple[Any, ...] | None = None
) -> torch.Tensor:
    """``(Z, Y, X, 3)`` colours of a course voxel grid, seen through ``camera`` in ``image``.

    Each voxel centre (``-0.5 + (i + 0.5) / N`` per axis, ``voxels[z, y, x]``) is projected
    into the image (``(3, S, S)``) and takes the colour of its pixel: the side the photo
    shows gets the right colours; hidden voxels get the colour of what hides them.
    """
    from course_utils.p3d import renderer

    R, T, fov = camera if camera is not None else default_camera()
    n = occupancy.shape[0]
    c = -0.5 + (torch.arange(n, dtype=torch.float32) + 0.5) / n
    z, y, x = torch.meshgrid(c, c, c, indexing="ij")
    centres = torch.stack([x, y, z], dim=-1).reshape(-1, 3)
    cameras = renderer.FoVPerspectiveCameras(R=R[None], T=T[None], fov=float(fov))
    ndc = cameras.transform_points(centres[None])[0]
    size = image.shape[-1]
    col = ((size - 1 - ndc[:, 0] * size) / 2).round().long().clamp(0, size - 1)
    row = ((size - 1 - ndc[:, 1] * size) / 2).round().long().clamp(0, size - 1)
    colours = image[:, row, col].T.reshape(n, n, n, 3)
    return colours


def voxel_pipeline(
    model: Any, image: torch.Tensor, camera: tuple[Any, ...] | None = None, level: float = 0.5
) -> tuple[torch.Tensor, torch.Tensor]:
    """Chapter 05's voxel model on one image: ``occupancy`` ``(32, 32, 32)`` bool
    (``voxels[z, y, x]``) and ``colours`` ``(32, 32, 32, 3)`` from the image."""
    if getattr(model, "kind", None) not in ("voxels", "implicit"):
        raise ValueError(
            f"the voxel method needs a voxels or implicit model, this checkpoint holds a "
            f"{getattr(model, 'kind', type(model).__name__)!r} model"
        )
    model.eval()
    with torch.no_grad():
        logits = model(image[None].to(model.device))[0].cpu()
    occupancy = torch.sigmoid(logits) > level
    return occupancy, voxel_colours(occupancy, image, camera)


def mesh_points(
    verts: torch.Tensor, faces: torch.Tensor, num: int = 5000, seed: int = 0
) -> torch.Tensor:
    """``(num, 3)`` points sampled uniformly on a mesh (``sample_points_from_meshes``)."""
    from course_utils.p3d import ops, structures

    if len(faces) == 0:
        return verts.new_zeros(0, 3)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        mesh = structures.Meshes(verts=[verts.float()], faces=[faces])
        return ops.sample_points_from_meshes(mesh, num)[0]


def surface_scores(
    pred_points: torch.Tensor,
    true_points: torch.Tensor,
    visible_points: torch.Tensor,
    tau: float = 0.02,
) -> dict[str, float]:
    """Precision (%), completeness (%) and their F1 at ``tau``, and the Chamfer distance.

    A photo shows one side of the object, so the two halves of the F-score use different
    references:

    * **precision**: the share of the reconstruction's points within ``tau`` of the *true*
      surface (``true_points``, sampled on the whole true mesh): is what we built right?
    * **completeness**: the share of the *visible* true surface (``visible_points``, e.g.
      the true depth map unprojected) within ``tau`` of the reconstruction: did we build
      everything the photo shows? (Nobody can be complete on the hidden side.)
    * **chamfer**: PyTorch3D's (squared distances) between the reconstruction and the
      visible surface.

    ``tau`` is in scene units (the course's shapes have a bounding-box diagonal of 1, so
    0.02 is 2 % of it).
    """
    from course_utils.metrics import chamfer, f_score

    if len(pred_points) == 0:
        return {"precision": 0.0, "completeness": 0.0, "f1": 0.0, "chamfer": float("inf")}
    precision = 100 * float(f_score(pred_points, true_points, tau).precision)
    completeness = 100 * float(f_score(visible_points, pred_points, tau).precision)
    total = precision + completeness
    return {
        "precision": precision,
        "completeness": completeness,
        "f1": 2 * precision * completeness / total if total > 0 else 0.0,
        "chamfer": float(chamfer(pred_points, visible_points)),
    }


def save_coloured_mesh(
    path: str | Path, verts: torch.Tensor, faces: torch.Tensor, colours: torch.Tensor | None = None
) -> Path:
    """Write a mesh as ``.ply`` (binary, with vertex colours) or ``.obj`` (geometry),
    atomically; MeshLab and Blender open both."""
    from course_utils.p3d import renderer, structures
    from course_utils.p3d.io import IO

    path = Path(path)
    if path.suffix.lower() not in (".ply", ".obj"):
        raise ValueError(f"{path}: a mesh is written as .ply or .obj, not {path.suffix!r}")
    textures = None
    if colours is not None and path.suffix.lower() == ".ply":
        textures = renderer.TexturesVertex(verts_features=[colours.float().clamp(0, 1)])
    mesh = structures.Meshes(verts=[verts.float()], faces=[faces.long()], textures=textures)
    with temporary_path(path) as tmp:
        IO().save_mesh(mesh, tmp, colors_as_uint8=True)
    return path


# ------------------------------------------------------------------ the command
#: Where ``train`` puts each method's checkpoint by default (``outputs/...``).
DEFAULT_CHECKPOINTS = {"depth": ("photo_to_3d", "depth"), "voxels": ("single_view", "voxels-conv")}
OUTPUT_SUFFIXES = {"depth": (".ply", ".obj"), "voxels": (".vox",)}


def _train_command(method: str, checkpoint: Path) -> str:
    decoder = "depth" if method == "depth" else "voxels-conv"
    return f"python -m course_utils train --decoder {decoder} --out {checkpoint.parent}"


def reconstruct_file(
    image: str | Path,
    method: str,
    out: str | Path,
    checkpoint: str | Path | None = None,
    force: bool = False,
    poisson: str = "builtin",
    progress: bool = True,
    elevation: float | None = None,
) -> dict[str, Any]:
    """``python -m course_utils reconstruct``: one photo -> a ``.ply``/``.obj`` or ``.vox``.

    Checks everything that can be checked before the work starts (output extension,
    existing output, checkpoint, image, elevation), then runs :func:`depth_pipeline` or
    :func:`voxel_pipeline` with a progress bar and writes the file atomically.

    ``elevation``: how many degrees above the object the camera was (``--elevation``;
    None: :func:`default_camera`'s 25). The depth network is told it and the depth is
    unprojected with it; the course's networks saw 10 to 40 degrees in training.

    Returns:
        ``{"out": Path, "notes": [...], "summary": str}``.

    Raises:
        FileNotFoundError, FileExistsError, ValueError: one line naming the problem.
    """
    from tqdm.auto import tqdm

    from course_utils.config import OUTPUT_DIR
    from course_utils.training import CHECKPOINT_NAME, load_model

    if method not in OUTPUT_SUFFIXES:
        raise ValueError(f"unknown method {method!r}; use depth or voxels")
    if elevation is not None and not -90.0 < float(elevation) < 90.0:
        raise ValueError(f"--elevation must be between -90 and 90 degrees, got {elevation}")
    out = Path(out)
    if out.suffix.lower() not in OUTPUT_SUFFIXES[method]:
        raise ValueError(
            f"--method {method} writes {' or '.join(OUTPUT_SUFFIXES[method])} files, not "
            f"{out.name!r}"
        )
    if out.exists() and not force:
        raise FileExistsError(f"{out} exists; add --force to replace it")
    if out.exists() and out.is_dir():
        raise ValueError(f"{out} is a folder")
    path = Path(checkpoint) if checkpoint else OUTPUT_DIR.joinpath(*DEFAULT_CHECKPOINTS[method])
    if path.is_dir() or not path.suffix:
        path = path / CHECKPOINT_NAME
    if not path.is_file():
        raise FileNotFoundError(
            f"no checkpoint at {path}; make one with: {_train_command(method, path)}"
        )
    model, state = load_model(path, device="cpu")
    kind = getattr(model, "kind", "")
    if method == "depth" and kind != "depth":
        raise ValueError(f"{path} holds a {kind!r} model; --method depth needs a depth model")
    size = int((state["config"].get("data") or {}).get("image_size") or 128)
    photo = load_photo(image, size=size)
    notes = list(photo.notes)
    if method == "depth" and elevation is not None and not 10.0 <= float(elevation) <= 40.0:
        notes.append(
            f"an elevation of {elevation:g} degrees is outside the 10-40 the depth network "
            "was trained on: expect a rougher shape"
        )
    bar = tqdm(total=7 if method == "depth" else 3, desc=f"reconstruct ({method})",
               disable=not progress)  # fmt: skip
    bar.update(1)
    try:
        if method == "depth":
            from course_utils.depth import predict_depth

            camera = default_camera(elev=elevation)  # told to the network, used to unproject
            depth, prob = predict_depth(model, photo.image[None], R=camera[0])
            mask = prob[0] > 0.5
            if photo.mask is not None:
                mask &= photo.mask
            bar.update(1)
            rec = depth_pipeline(photo.image, depth[0], mask, camera, poisson=poisson, progress=bar)
            save_coloured_mesh(out, rec.trimmed_verts, rec.trimmed_faces, rec.trimmed_colours)
            summary = (
                f"{int(rec.keep.sum())} of {len(rec.keep)} points kept, mesh with "
                f"{len(rec.trimmed_verts)} vertices and {len(rec.trimmed_faces)} faces"
            )
        else:
            from course_utils.vox import save_vox

            occupancy, colours = voxel_pipeline(model, photo.image)
            bar.update(1)
            save_vox(out, occupancy, colours)
            summary = f"{int(occupancy.sum())} voxels of {occupancy.numel()}"
        bar.update(bar.total - bar.n)
    finally:
        bar.close()
    return {"out": out, "notes": notes, "summary": summary}


# ------------------------------------------------------------------ pictures
def show_depth_maps(
    images: list[torch.Tensor], depths: list[torch.Tensor], titles: list[str] | None = None,
    vmin: float = 1.4, vmax: float = 2.6,
) -> Any:  # fmt: skip
    """One column per view: the image ``(3, S, S)`` on top, its depth ``(S, S)`` below
    (colour map ``turbo``, near = blue; 0 = no depth, shown white). Returns the figure."""
    import matplotlib.pyplot as plt

    n = len(images)
    fig, axes = plt.subplots(2, n, figsize=(2.4 * n, 4.8), squeeze=False)
    for i in range(n):
        axes[0, i].imshow(images[i].permute(1, 2, 0).clamp(0, 1).numpy())
        depth = depths[i].detach().cpu().numpy().astype(float)
        shown = axes[1, i].imshow(np.where(depth > 0, depth, np.nan), cmap="turbo",
                                  vmin=vmin, vmax=vmax)  # fmt: skip
        if titles:
            axes[0, i].set_title(titles[i], fontsize=9)
        for ax in axes[:, i]:
            ax.axis("off")
    fig.colorbar(shown, ax=axes[1, :].tolist(), shrink=0.8, label="depth z")
    return fig


def show_uncertainty(
    images: list[torch.Tensor], errors: list[torch.Tensor], scales: list[torch.Tensor],
    titles: list[str] | None = None, vmax: float = 0.08, tau: float | None = 0.02,
) -> Any:  # fmt: skip
    """One column per view: the image ``(3, S, S)``, the true depth error ``|d̂ - d|``
    ``(S, S)`` and the network's predicted scale ``b`` ``(S, S)``, the two maps on the same
    colour scale (0 .. ``vmax`` scene units; NaN = not on the object, shown white). With
    ``tau``, a black contour marks where ``b = tau``. Returns the figure."""
    import matplotlib.pyplot as plt

    n = len(images)
    fig, axes = plt.subplots(3, n, figsize=(2.4 * n, 7.2), squeeze=False)
    for i in range(n):
        axes[0, i].imshow(images[i].permute(1, 2, 0).clamp(0, 1).numpy())
        for row, values in ((1, errors[i]), (2, scales[i])):
            shown = axes[row, i].imshow(values.detach().cpu().numpy().astype(float),
                                        cmap="magma", vmin=0.0, vmax=vmax)  # fmt: skip
        if tau is not None:
            b = np.nan_to_num(scales[i].detach().cpu().numpy().astype(float), nan=0.0)
            axes[2, i].contour(b, levels=[tau], colors="k", linewidths=0.6)
        if titles:
            axes[0, i].set_title(titles[i], fontsize=9)
        for ax in axes[:, i]:
            ax.axis("off")
    axes[1, 0].text(-0.1, 0.5, "true |error|", rotation=90, va="center", ha="right",
                    transform=axes[1, 0].transAxes)  # fmt: skip
    axes[2, 0].text(-0.1, 0.5, "predicted b", rotation=90, va="center", ha="right",
                    transform=axes[2, 0].transAxes)  # fmt: skip
    fig.colorbar(shown, ax=axes[1:, :].ravel().tolist(), shrink=0.8, label="scene units")
    return fig


def coloured_mesh(verts: torch.Tensor, faces: torch.Tensor, colours: torch.Tensor) -> Any:
    """A one-mesh ``Meshes`` with vertex colours ``(V, 3)`` (for ``plotting.plot_mesh``)."""
    from course_utils.p3d import renderer, structures

    return structures.Meshes(
        verts=[verts.float()], faces=[faces.long()],
        textures=renderer.TexturesVertex(verts_features=[colours.float().clamp(0, 1)]),
    )  # fmt: skip


def density_colours(density: torch.Tensor, cmap: str = "viridis") -> torch.Tensor:
    """``(V,)`` densities -> ``(V, 3)`` colours (low = dark purple, high = yellow), scaled
    between the 2nd and 98th percentiles."""
    import matplotlib

    d = density.detach().float().cpu()
    lo, hi = torch.quantile(d, 0.02), torch.quantile(d, 0.98)
    t = ((d - lo) / (hi - lo).clamp(min=1e-12)).clamp(0, 1).numpy()
    return torch.from_numpy(matplotlib.colormaps[cmap](t)[:, :3]).float()


def plot_voxels(
    occupancy: torch.Tensor, colours: torch.Tensor | None = None, ax: Any = None,
    title: str | None = None, elev: float = 20.0, azim: float = -60.0,
) -> Any:  # fmt: skip
    """Draw a course grid ``voxels[z, y, x]`` (course +Y up is drawn up) with matplotlib."""
    import matplotlib.pyplot as plt

    if ax is None:
        ax = plt.figure(figsize=(4, 4)).add_subplot(projection="3d")
    # plot axes (x, -z, y) as plotting.plot_pointcloud (and MagicaVoxel): up = course +Y
    filled = occupancy.permute(2, 0, 1).flip(1).cpu().numpy()
    facecolors = None
    if colours is not None:
        c = colours.float() / (255.0 if colours.dtype == torch.uint8 else 1.0)
        facecolors = c.permute(2, 0, 1, 3).flip(1).clamp(0, 1).cpu().numpy()
    ax.voxels(filled, facecolors=facecolors, edgecolor=(0, 0, 0, 0.15), linewidth=0.2)
    ax.view_init(elev=elev, azim=azim)
    ax.set_box_aspect((1, 1, 1))
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9)
    return ax


# ------------------------------------------------------------------ Pix3D
def pix3d_to_vox(
    root: str | Path, model: Any, out_dir: str | Path, count: int = 3, split: str = "test"
) -> list[tuple[Path, float]]:
    """Run a voxel model on the first ``count`` photos of a Pix3D split; write ``.vox`` files.

    Uses the course's :class:`~course_utils.datasets.Pix3D` loader (image on white, true
    voxels, camera), so the voxels are coloured from the photo with its own camera.

    Returns:
        ``[(path, IoU with the true voxels), ...]``.
    """
    from course_utils.datasets import Pix3D
    from course_utils.metrics import voxel_iou
    from course_utils.vox import save_vox

    dataset = Pix3D(root, split, image_size=128, points_per_shape=100)
    out_dir = Path(out_dir)
    written = []
    for index in range(min(count, len(dataset))):
        item = dataset[index]
        camera = (item["R"], item["T"], item["fov"])
        occupancy, colours = voxel_pipeline(model, item["image"], camera)
        path = save_vox(out_dir / f"pix3d_{split}_{index:03d}.vox", occupancy, colours)
        iou = float(voxel_iou(occupancy[None].float(), (item["voxels"] > 0.5)[None].float()))
        written.append((path, iou))
    return written
