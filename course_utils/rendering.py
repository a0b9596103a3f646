"""One-call rendering for the course: quick looks, turntables, GIFs, grids, a live viewer.

These helpers hide the renderer set-up that is not the lesson (chapter 02 builds it step by
step). They work for ``Meshes`` (Phong-shaded, with a light at the camera so the visible
side is always lit; meshes without textures are drawn light grey) and ``Pointclouds``
(alpha-composited discs, coloured by their features). By default the camera looks at the
centre of the object's bounding box from a distance that frames it.

    frames = turntable(mesh, num_views=36)      # list of (H, W, 3) uint8 images
    save_gif(frames, "outputs/mug.gif", fps=12)
    show(mesh)                                  # four views in a matplotlib figure
    interactive_viewer(mesh)                    # sliders: azimuth, elevation, distance, fov
"""

from __future__ import annotations

import io as _io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from course_utils.atomic import temporary_path

DEFAULT_COLOUR = (0.75, 0.78, 0.85)


def _is_pointcloud(obj: Any) -> bool:
    return hasattr(obj, "points_packed")


def _single_scene(obj: Any) -> Any:
    """A batch of meshes or clouds is drawn as one scene (all elements together)."""
    from course_utils.p3d import structures

    if len(obj) == 1:
        return obj
    if _is_pointcloud(obj):
        return structures.join_pointclouds_as_scene(obj)
    return structures.join_meshes_as_scene(obj)


def _with_colour(mesh: Any, colour: Sequence[float] = DEFAULT_COLOUR) -> Any:
    """The mesh itself if it has textures, else a copy coloured ``colour`` per vertex."""
    from course_utils.p3d import renderer, structures

    if mesh.textures is not None:
        return mesh
    verts = mesh.verts_list()
    features = [
        torch.tensor(colour, dtype=v.dtype, device=v.device).expand(len(v), 3) for v in verts
    ]
    return structures.Meshes(
        verts=verts, faces=mesh.faces_list(), textures=renderer.TexturesVertex(features)
    )


def framing(obj: Any, fov: float = 60.0, margin: float = 1.15) -> tuple[torch.Tensor, float]:
    """Centre of ``obj``'s bounding box and a camera distance that keeps it in view.

    The bounding sphere of radius r fits in a field of view ``fov`` at distance
    ``r / sin(fov / 2)``; ``margin`` leaves a little room around it.

    Returns:
        ``centre`` ``(3,)`` and the distance.
    """
    points = obj.points_packed() if _is_pointcloud(obj) else obj.verts_packed()
    points = points.detach()
    low, high = points.min(dim=0).values, points.max(dim=0).values
    centre = (low + high) / 2
    radius = float((points - centre).norm(dim=1).max().clamp(min=1e-6))
    return centre, margin * radius / math.sin(math.radians(fov) / 2)


def _views(
    obj: Any,
    azim: float | Sequence[float],
    elev: float | Sequence[float],
    dist: float | None,
    fov: float,
    at: Sequence[float] | None,
) -> Any:
    """Cameras (one per view) around ``obj``."""
    from course_utils.p3d import renderer

    device = obj.device
    centre, fitted = framing(obj, fov)
    target = (
        torch.as_tensor(at, dtype=torch.float32, device=device).reshape(1, 3)
        if at is not None
        else centre[None].float()
    )
    R, T = renderer.look_at_view_transform(
        dist=fitted if dist is None else dist, elev=elev, azim=azim, at=target, device=device
    )
    return renderer.FoVPerspectiveCameras(R=R, T=T, fov=fov, device=device)


def render(
    obj: Any,
    azim: float | Sequence[float] = 30.0,
    elev: float | Sequence[float] = 20.0,
    dist: float | None = None,
    fov: float = 60.0,
    image_size: int = 256,
    at: Sequence[float] | None = None,
    background: Sequence[float] = (1.0, 1.0, 1.0),
    point_radius: float = 0.01,
) -> torch.Tensor:
    """Render a mesh or point cloud from one or several viewpoints.

    Args:
        obj: ``Meshes`` or ``Pointclouds`` (a batch is drawn as one scene).
        azim, elev: camera angles in degrees (numbers, or sequences for several views).
        dist: camera distance; None frames the object.
        fov: vertical field of view in degrees.
        image_size: S for S x S images.
        at: the point looked at; None: the bounding-box centre.
        background: RGB of empty pixels.
        point_radius: disc radius of each point, in NDC units (point clouds only).

    Returns:
        ``(V, S, S, 3)`` float images in [0, 1] on the CPU, one per view.
    """
    from course_utils.p3d import renderer

    obj = _single_scene(obj)
    cameras = _views(obj, azim, elev, dist, fov, at)
    views = len(cameras)
    background = tuple(float(c) for c in background)
    if _is_pointcloud(obj):
        if obj.features_packed() is None:
            colours = torch.tensor(DEFAULT_COLOUR, device=obj.device).expand(
                len(obj.points_packed()), 3
            )
            obj = type(obj)(points=obj.points_list(), features=[colours])
        points_renderer = renderer.PointsRenderer(
            rasterizer=renderer.PointsRasterizer(
                cameras=cameras,
                raster_settings=renderer.PointsRasterizationSettings(
                    image_size=image_size, radius=point_radius, points_per_pixel=8
                ),
            ),
            compositor=renderer.AlphaCompositor(background_color=background),
        )
        images = points_renderer(obj.extend(views))
    else:
        mesh = _with_colour(obj)
        # A light at each camera ("headlight"): whatever side we look at is lit.
        lights = renderer.PointLights(location=cameras.get_camera_center(), device=obj.device)
        mesh_renderer = renderer.MeshRenderer(
            rasterizer=renderer.MeshRasterizer(
                cameras=cameras,
                raster_settings=renderer.RasterizationSettings(image_size=image_size),
            ),
            shader=renderer.HardPhongShader(
                cameras=cameras,
                lights=lights,
                blend_params=renderer.BlendParams(background_color=background),
                device=obj.device,
            ),
        )
        images = mesh_renderer(mesh.extend(views))
    return images[..., :3].detach().clamp(0, 1).cpu()


def to_uint8(images: torch.Tensor) -> list[np.ndarray]:
    """``(V, H, W, 3)`` floats in [0, 1] -> list of V ``(H, W, 3)`` uint8 arrays."""
    return [np.asarray((image.numpy() * 255).round(), dtype=np.uint8) for image in images]


def turntable(
    obj: Any,
    num_views: int = 36,
    elev: float = 20.0,
    dist: float | None = None,
    fov: float = 60.0,
    image_size: int = 256,
    views_per_batch: int = 12,
    **kwargs: Any,
) -> list[np.ndarray]:
    """Frames of a camera circling the object around +Y (a full turn, evenly spaced).

    Args:
        obj: ``Meshes`` or ``Pointclouds``.
        num_views: number of frames.
        elev, dist, fov, image_size: as in :func:`render`.
        views_per_batch: frames rendered together (more is faster, uses more memory).
        **kwargs: passed to :func:`render` (``at``, ``background``, ``point_radius``).

    Returns:
        ``num_views`` ``(S, S, 3)`` uint8 frames.
    """
    azims = [360.0 * i / num_views for i in range(num_views)]
    frames: list[np.ndarray] = []
    for start in range(0, num_views, views_per_batch):
        batch = azims[start : start + views_per_batch]
        images = render(
            obj,
            azim=batch,
            elev=[elev] * len(batch),
            dist=dist,
            fov=fov,
            image_size=image_size,
            **kwargs,
        )
        frames += to_uint8(images)
    return frames


def save_gif(
    frames: Sequence[np.ndarray], path: str | Path, fps: float = 12.0, loop: int = 0
) -> Path:
    """Write frames as an animated GIF (with imageio).

    Identical consecutive frames are merged by the GIF writer (their durations add up),
    so timing is kept but the file holds fewer frames.

    Args:
        frames: ``(H, W, 3)`` uint8 images (or floats in [0, 1]).
        path: the ``.gif`` file to write; its folder is created.
        fps: frames per second.
        loop: how many times to play (0: forever).

    Returns:
        The path written.
    """
    import imageio.v3 as iio

    path = Path(path)
    if path.suffix.lower() != ".gif":
        raise ValueError(f"save_gif writes .gif files, got {path.name!r}")
    if not frames:
        raise ValueError("save_gif: no frames to write")
    images = [
        np.asarray((np.clip(f, 0, 1) * 255).round(), dtype=np.uint8)
        if np.asarray(f).dtype != np.uint8
        else np.asarray(f)
        for f in frames
    ]
    with temporary_path(path) as tmp:  # atomic: an old GIF survives a failed write
        iio.imwrite(tmp, np.stack(images), extension=".gif", duration=1000.0 / fps, loop=loop)
    return path


class GifImage:
    """An animated GIF shown by a notebook: the file's bytes inlined as base64.

    The output carries ``image/gif`` and an HTML ``<img>`` with a ``data:`` URL: every
    front end (JupyterLab, VS Code, Colab) shows one of them, and HTML exports
    (``python -m course_utils run-notebooks``, ``jupyter nbconvert --to html``) keep the
    HTML one, so the GIF plays there too. (``IPython.display.Image`` gives only
    ``image/gif``, which nbconvert's HTML export drops, leaving the text
    ``<IPython.core.display.Image object>``.)
    """

    def __init__(self, data: bytes, width: int | None = None, name: str = "") -> None:
        if data[:6] not in (b"GIF87a", b"GIF89a"):
            raise ValueError(f"{name or 'the data'} is not a GIF file (no GIF87a/GIF89a header)")
        self.data, self.width, self.name = data, width, name

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> tuple[dict, dict]:
        import base64
        import html

        encoded = base64.b64encode(self.data).decode("ascii")
        size = f' width="{int(self.width)}"' if self.width else ""
        alt = html.escape(self.name or "animation", quote=True)
        tag = f'<img src="data:image/gif;base64,{encoded}"{size} alt="{alt}"/>'
        data = {"image/gif": encoded, "text/html": tag, "text/plain": f"<GIF {self.name}>"}
        metadata = {"image/gif": {"width": int(self.width)}} if self.width else {}
        return data, metadata


def show_gif(path: str | Path, width: int | None = None) -> GifImage:
    """Display a GIF in a notebook (make it the last line of the cell).

    Returns:
        A :class:`GifImage`: it plays in the notebook and in its HTML export.
    """
    path = Path(path)
    return GifImage(path.read_bytes(), width=width, name=path.name)


def image_grid(
    images: Sequence[Any],
    titles: Sequence[str] | None = None,
    cols: int | None = None,
    size: float = 3.0,
) -> Any:
    """Show images in a grid with matplotlib; returns the figure.

    Args:
        images: ``(H, W, 3|4)`` arrays or tensors (floats in [0, 1] or uint8), or a
            ``(V, H, W, C)`` tensor.
        titles: one title per image.
        cols: images per row (default: all in one row, at most 6).
        size: inches per image.
    """
    import matplotlib.pyplot as plt

    images = list(images)
    cols = cols or min(len(images), 6)
    rows = math.ceil(len(images) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i >= len(images):
            continue
        image = (
            images[i].detach().cpu().numpy()
            if torch.is_tensor(images[i])
            else np.asarray(images[i])
        )
        ax.imshow(np.clip(image, 0, 1) if image.dtype != np.uint8 else image)
        if titles is not None and i < len(titles):
            ax.set_title(titles[i])
    fig.tight_layout()
    return fig


def show(
    obj: Any, num_views: int = 4, elev: float = 20.0, image_size: int = 256, **kwargs: Any
) -> Any:
    """A quick look: ``num_views`` renders around the object in one figure; returns it."""
    azims = [30.0 + 360.0 * i / num_views for i in range(num_views)]
    images = render(obj, azim=azims, elev=[elev] * num_views, image_size=image_size, **kwargs)
    return image_grid(images, titles=[f"azim {a:.0f}°" for a in azims])


def _png_bytes(image: torch.Tensor) -> bytes:
    from PIL import Image

    buffer = _io.BytesIO()
    Image.fromarray(to_uint8(image[None])[0]).save(buffer, format="PNG")
    return buffer.getvalue()


def interactive_viewer(obj: Any, image_size: int = 256, **kwargs: Any) -> Any:
    """Sliders for azimuth, elevation, distance and field of view that re-render live.

    Args:
        obj: ``Meshes`` or ``Pointclouds``.
        image_size: S for S x S renders (256 renders in a few tens of milliseconds).
        **kwargs: passed to :func:`render` (``background``, ``point_radius``, ``at``).

    Returns:
        An ipywidgets ``VBox``; display it (the last expression of a cell shows it).
    """
    import ipywidgets as widgets

    _, fitted = framing(_single_scene(obj))
    azim = widgets.FloatSlider(value=30.0, min=-180.0, max=180.0, step=5.0, description="azimuth")
    elev = widgets.FloatSlider(value=20.0, min=-89.0, max=89.0, step=5.0, description="elevation")
    dist = widgets.FloatSlider(
        value=round(fitted, 2),
        min=round(fitted * 0.3, 2),
        max=round(fitted * 3, 2),
        step=0.05,
        description="distance",
    )
    fov = widgets.FloatSlider(value=60.0, min=10.0, max=120.0, step=1.0, description="fov")
    image = widgets.Image(format="png", width=image_size, height=image_size)

    def update(_change: Any = None) -> None:
        frame = render(
            obj,
            azim=azim.value,
            elev=elev.value,
            dist=dist.value,
            fov=fov.value,
            image_size=image_size,
            **kwargs,
        )[0]
        image.value = _png_bytes(frame)

    for slider in (azim, elev, dist, fov):
        slider.observe(update, names="value")
    update()
    return widgets.VBox([widgets.HBox([image]), azim, elev, dist, fov])
