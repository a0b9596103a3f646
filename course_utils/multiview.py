"""Multi-view targets for differentiable rendering (chapter 06): one object, many cameras.

Fitting a shape, its colours or a camera to images needs images whose cameras are known
exactly. The course makes them itself: it renders one of its own textured assets from
``V`` viewpoints spread evenly over a sphere and keeps, for every view, the RGB image, the
silhouette (alpha) and the camera (with a light at the camera, so every visible side is
lit). Nothing is downloaded, and the true mesh is at hand to measure how good a fit is.

    data = make_views(load_target("mug"), num_views=20, image_size=128)
    data.images        # (V, S, S, 3) RGB in [0, 1], white background
    data.silhouettes   # (V, S, S) soft silhouettes in [0, 1], as a fit renders them
    data.masks         # (V, S, S) hard masks: 1 where a pixel sees the object
    cameras, lights = data.cameras_and_lights([0, 5])   # two of the views, for a renderer

Conventions: the target is centred on its bounding box and scaled to a bounding radius of
1 (:func:`normalize_mesh`), so ``ico_sphere`` starts at the right size and the camera
distance 2.7 of PyTorch3D's tutorials frames it. View directions come from a Fibonacci
spiral (:func:`spiral_views`): even coverage from above and below, no two views alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

__all__ = [
    "MultiViewData",
    "angle_between",
    "camera_step",
    "look_from",
    "soft_iou_loss",
    "frame_slider",
    "hard_masks",
    "label",
    "mask_overlay",
    "plot_camera_paths",
    "plot_gradient_panels",
    "plot_pixel_alpha",
    "sphere_uvs",
    "to_plot",
    "load_target",
    "make_views",
    "normalize_mesh",
    "silhouette_iou",
    "soft_raster_settings",
    "spiral_views",
]

#: PyTorch3D's recipe: faces further than this (squared NDC) from a pixel cover it with a
#: probability below 1e-4 (``blur_radius = log(1 / 1e-4 - 1) * sigma``).
_BLUR_LOGIT = math.log(1.0 / 1e-4 - 1.0)


def soft_raster_settings(image_size: int, sigma: float = 1e-4, faces_per_pixel: int = 50) -> Any:
    """``RasterizationSettings`` for soft rendering with edge width ``sigma``.

    The blur radius is where a face's coverage ``sigmoid(-d / sigma)`` falls to 1e-4:
    ``log(1 / 1e-4 - 1) * sigma`` (about 9.2 sigma), so no face that still matters is left
    out of a pixel's K candidates (SoftRas, Liu et al. 2019; PyTorch3D's tutorials).

    Args:
        image_size: S for S x S images.
        sigma: ``BlendParams.sigma``, in squared NDC units.
        faces_per_pixel: K, the faces kept per pixel (nearest first).
    """
    from course_utils.p3d import renderer

    return renderer.RasterizationSettings(
        image_size=image_size, blur_radius=_BLUR_LOGIT * sigma, faces_per_pixel=faces_per_pixel
    )


def normalize_mesh(mesh: Any) -> tuple[Any, torch.Tensor, float]:
    """Centre a mesh on its bounding box and scale it to a bounding radius of 1.

    Args:
        mesh: a ``Meshes`` holding one mesh (its texture is kept).

    Returns:
        ``(normalized, centre, scale)``: the new mesh, the old bounding-box centre ``(3,)``
        and the factor it was divided by, so ``old = new * scale + centre``.
    """
    verts = mesh.verts_packed()
    centre = (verts.min(dim=0).values + verts.max(dim=0).values) / 2
    scale = float((verts - centre).norm(dim=1).max())
    return mesh.update_padded(((verts - centre) / scale)[None]), centre, scale


def load_target(name: str = "mug", device: str | torch.device = "cpu") -> Any:
    """A course asset (``"mug"`` or ``"die"``), normalised by :func:`normalize_mesh`."""
    from course_utils import assets

    return normalize_mesh(assets.load_asset(name, device=device))[0]


def spiral_views(num_views: int, turn: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Evenly spread view directions: a Fibonacci spiral on the sphere.

    View ``i`` sits at height ``y = 1 - (2 i + 1) / V`` (so elevations run from almost
    straight above to almost straight below, never exactly at the poles where
    ``look_at_view_transform``'s "up" is undefined) and turns by the golden angle
    (about 137.5°) from one view to the next.

    Args:
        num_views: V.
        turn: an extra azimuth in degrees added to every view; a different ``turn`` gives
            a different set of views (e.g. held-out views for testing a fit).

    Returns:
        ``elev`` and ``azim`` in degrees, each ``(V,)`` float32.
    """
    i = torch.arange(num_views, dtype=torch.float64) + 0.5
    height = 1.0 - 2.0 * i / num_views
    elev = torch.rad2deg(torch.asin(height))
    azim = (torch.rad2deg(math.pi * (3.0 - math.sqrt(5.0)) * i) + turn) % 360.0
    return elev.float(), azim.float()


@dataclass
class MultiViewData:
    """Images of one object from V known cameras.

    Attributes:
        mesh: the target ``Meshes`` (one mesh) the views were rendered from.
        elev, azim: ``(V,)`` camera angles in degrees (``look_at_view_transform``).
        dist: the camera distance from the origin.
        R, T: ``(V, 3, 3)`` and ``(V, 3)`` world-to-view transforms.
        images: ``(V, S, S, 3)`` RGB in [0, 1] (``SoftPhongShader``, white background).
        silhouettes: ``(V, S, S)`` soft silhouettes in [0, 1] (``SoftSilhouetteShader``
            with the soft settings of a fit: ``sigma``, ``faces_per_pixel``).
        masks: ``(V, S, S)`` hard masks: 1 where a pixel centre sees the object, else 0.
        sigma: the ``BlendParams.sigma`` of both shaders.
        faces_per_pixel: K of the soft silhouettes' rasterizer.
    """

    mesh: Any
    elev: torch.Tensor
    azim: torch.Tensor
    dist: float
    R: torch.Tensor
    T: torch.Tensor
    images: torch.Tensor
    silhouettes: torch.Tensor
    masks: torch.Tensor
    sigma: float
    faces_per_pixel: int

    def __len__(self) -> int:
        return len(self.R)

    @property
    def image_size(self) -> int:
        return int(self.silhouettes.shape[-1])

    def cameras_and_lights(self, index: Any = None) -> tuple[Any, Any]:
        """``FoVPerspectiveCameras`` and ``PointLights`` (a light at each camera) of some views.

        Args:
            index: which views: an int, a list or tensor of indices, a slice; None: all.

        Returns:
            ``(cameras, lights)`` of the selected views, in that order.
        """
        from course_utils.p3d import renderer

        if index is None:
            index = slice(None)
        elif isinstance(index, int):
            index = [index]
        R, T = self.R[index], self.T[index]
        cameras = renderer.FoVPerspectiveCameras(R=R, T=T, device=R.device)
        lights = renderer.PointLights(location=cameras.get_camera_center(), device=R.device)
        return cameras, lights


def make_views(
    mesh: Any,
    num_views: int = 20,
    image_size: int = 128,
    dist: float = 2.7,
    turn: float = 0.0,
    sigma: float = 1e-4,
    faces_per_pixel: int = 50,
    views_per_batch: int = 10,
    elev: torch.Tensor | None = None,
    azim: torch.Tensor | None = None,
) -> MultiViewData:
    """Render a textured mesh from ``num_views`` spiral viewpoints: RGB, silhouettes, cameras.

    As in PyTorch3D's ``fit_textured_mesh`` tutorial, the RGB images are rendered crisp (no
    blur radius, one face per pixel) by ``SoftPhongShader`` with a point light at each
    camera, and the silhouettes by ``SoftSilhouetteShader`` with the *soft* settings a fit
    uses (:func:`soft_raster_settings` with ``sigma`` and ``faces_per_pixel``). Why soft
    targets: the soft silhouette of a finely meshed object reaches a little beyond its
    outline (every face near the outline adds some coverage), so a fit that matched its own
    soft render to a hard mask would come out slightly too thin; against soft targets the
    two effects cancel. The hard ``masks`` (what a segmented photograph would give) are kept
    for measuring a fit.

    Args:
        mesh: a ``Meshes`` holding one textured mesh (e.g. :func:`load_target`).
        num_views: V.
        image_size: S for S x S images.
        dist: camera distance from the origin (every camera looks at the origin).
        turn: passed to :func:`spiral_views` (another ``turn``: other viewpoints).
        sigma, faces_per_pixel: the soft settings of the silhouettes (and ``sigma`` of the
            RGB shader's blending).
        views_per_batch: views rendered together (more: faster, more memory).
        elev, azim: ``(V,)`` camera angles in degrees to use instead of the spiral (then
            ``num_views`` and ``turn`` are ignored); give both or neither.

    Returns:
        A :class:`MultiViewData` with everything detached.
    """
    from course_utils.p3d import renderer

    device = mesh.device
    if (elev is None) != (azim is None):
        raise ValueError("make_views: give both elev and azim, or neither")
    if elev is None:
        elev, azim = spiral_views(num_views, turn)
    elev = torch.as_tensor(elev, dtype=torch.float32).reshape(-1)
    azim = torch.as_tensor(azim, dtype=torch.float32).reshape(-1)
    if elev.shape != azim.shape:
        raise ValueError(f"make_views: {len(elev)} elevations but {len(azim)} azimuths")
    num_views = len(elev)
    R, T = renderer.look_at_view_transform(dist=dist, elev=elev, azim=azim, device=device)
    blend = renderer.BlendParams(sigma=sigma, gamma=1e-4)
    crisp = renderer.RasterizationSettings(image_size=image_size)  # K = 1, no blur
    soft = soft_raster_settings(image_size, sigma, faces_per_pixel)
    data = MultiViewData(
        mesh=mesh, elev=elev, azim=azim, dist=dist, R=R, T=T,
        images=torch.empty(0), silhouettes=torch.empty(0), masks=torch.empty(0),
        sigma=sigma, faces_per_pixel=faces_per_pixel,
    )  # fmt: skip
    images, silhouettes, masks = [], [], []
    with torch.no_grad():
        for start in range(0, num_views, views_per_batch):
            index = list(range(start, min(start + views_per_batch, num_views)))
            cameras, lights = data.cameras_and_lights(index)
            meshes = mesh.extend(len(index))
            fragments = renderer.MeshRasterizer(cameras=cameras, raster_settings=crisp)(meshes)
            phong = renderer.SoftPhongShader(
                device=device, cameras=cameras, lights=lights, blend_params=blend
            )
            images.append(phong(fragments, meshes)[..., :3])
            masks.append((fragments.pix_to_face[..., 0] >= 0).to(R.dtype))
            fragments = renderer.MeshRasterizer(cameras=cameras, raster_settings=soft)(meshes)
            shader = renderer.SoftSilhouetteShader(blend_params=blend)
            silhouettes.append(shader(fragments, meshes)[..., 3])
    data.images = torch.cat(images).clamp(0, 1)
    data.silhouettes = torch.cat(silhouettes)
    data.masks = torch.cat(masks)
    return data


def silhouette_iou(mesh: Any, target: Any, cameras: Any, image_size: int = 128) -> torch.Tensor:
    """Intersection over union of two meshes' hard silhouettes, seen by each camera.

    Hard rasterization (no blur, one face per pixel) gives crisp 0/1 masks, so the number
    says how well the outlines agree, whatever ``sigma`` a fit used.

    Args:
        mesh, target: ``Meshes`` holding one mesh each.
        cameras: V cameras.
        image_size: S for S x S masks.

    Returns:
        ``(V,)`` IoU per view, in [0, 1] (1 where both masks are empty).
    """
    from course_utils.p3d import renderer

    rasterizer = renderer.MeshRasterizer(
        cameras=cameras, raster_settings=renderer.RasterizationSettings(image_size=image_size)
    )
    views = len(cameras)
    with torch.no_grad():
        a = rasterizer(mesh.extend(views)).pix_to_face[..., 0] >= 0  # (V, S, S)
        b = rasterizer(target.extend(views)).pix_to_face[..., 0] >= 0
    intersection = (a & b).flatten(1).sum(1).float()
    union = (a | b).flatten(1).sum(1).float()
    return torch.where(union > 0, intersection / union.clamp(min=1), torch.ones_like(union))


# --- Pictures and plumbing of chapter 06 -------------------------------------------------
# The notebook keeps the lesson (losses, fitting loops, the camera step); what only draws or
# converts lives here, one hop away.


def hard_masks(mesh: Any, cameras: Any, image_size: int) -> torch.Tensor:
    """(V, S, S) 0/1 masks of one mesh seen by V cameras (hard rasterization, no gradient)."""
    from course_utils.p3d import renderer

    settings = renderer.RasterizationSettings(image_size=image_size)
    with torch.no_grad():
        fragments = renderer.MeshRasterizer(cameras=cameras, raster_settings=settings)(
            mesh.extend(len(cameras))
        )
    return (fragments.pix_to_face[..., 0] >= 0).float()


def mask_overlay(fit_mask: torch.Tensor, target_mask: torch.Tensor) -> torch.Tensor:
    """(S, S) 0/1 masks -> (S, S, 3) picture: white where both, red only target, blue only fit."""
    fit_mask, target_mask = fit_mask.cpu().bool(), target_mask.cpu().bool()
    picture = torch.zeros(*fit_mask.shape, 3)
    picture[fit_mask & target_mask] = 1.0
    picture[target_mask & ~fit_mask] = torch.tensor([0.9, 0.2, 0.2])
    picture[fit_mask & ~target_mask] = torch.tensor([0.2, 0.4, 0.9])
    return picture


def label(picture: Any, text: str) -> Any:
    """Write ``text`` in the top-left corner of an (H, W, 3) float picture; returns uint8."""
    import numpy as np
    from PIL import Image, ImageDraw

    from course_utils import rendering

    image = Image.fromarray(rendering.to_uint8(torch.as_tensor(picture)[None].clamp(0, 1))[0])
    ImageDraw.Draw(image).text((3, 2), text, fill=(0, 0, 0))
    return np.asarray(image)


def angle_between(a: torch.Tensor, b: torch.Tensor) -> float:
    """Angle in degrees between two (3,) directions."""
    cosine = torch.dot(a, b) / (a.norm() * b.norm())
    return math.degrees(math.acos(float(cosine.clamp(-1, 1))))


def to_plot(points: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """World (x, y, z) -> matplotlib 3-D axes (x, -z, y), as ``plotting.plot_mesh`` draws."""
    points = torch.as_tensor(points).detach().cpu().reshape(-1, 3)
    return points[:, 0], -points[:, 2], points[:, 1]


def sphere_uvs(
    sphere_verts: torch.Tensor, faces: torch.Tensor, width: int, wrap: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Longitude/latitude UVs of a unit sphere, one UV per face corner.

    Args:
        sphere_verts: (V, 3) points on the unit sphere (+Y up).
        faces: (F, 3) vertex indices.
        width, wrap: the texture map is ``width + wrap`` columns wide; its last ``wrap``
            columns repeat its first ones, so that faces straddling the map's seam (u = 0 = 1,
            the +Z meridian; their corners get ``u`` beyond 1) interpolate across the seam,
            not across the whole map.

    Returns:
        ``(3F, 2)`` verts_uvs in [0, 1] and ``(F, 3)`` faces_uvs for ``TexturesUV``. A corner
        exactly at a pole takes the mean longitude of its face's other corners.
    """
    x, y, z = sphere_verts.unbind(dim=1)
    u = (torch.atan2(x, z) / (2 * math.pi)) % 1.0  # (V,) longitude in [0, 1)
    v = 0.5 + torch.asin(y.clamp(-1, 1)) / math.pi  # (V,) latitude, v = 1 at the top
    corner_u, corner_v = u[faces], v[faces]  # (F, 3)
    pole = y[faces].abs() > 1 - 1e-6
    others = (corner_u * ~pole).sum(dim=1, keepdim=True) / (~pole).sum(dim=1, keepdim=True).clamp(
        min=1
    )
    corner_u = torch.where(pole, others, corner_u)
    straddles = (
        corner_u.max(dim=1, keepdim=True).values - corner_u.min(dim=1, keepdim=True).values > 0.5
    )
    corner_u = torch.where(
        straddles & (corner_u < 0.5), corner_u + 1.0, corner_u
    )  # past the right edge
    verts_uvs = torch.stack([corner_u * width / (width + wrap), corner_v], dim=-1).reshape(-1, 2)
    faces_uvs = torch.arange(3 * len(faces), device=faces.device).reshape(-1, 3)
    return verts_uvs, faces_uvs


def plot_pixel_alpha(hard: torch.Tensor, row: int, col: int, moves: Any, curves: dict) -> Any:
    """The watched pixel on the hard silhouette, and its alpha as the object slides."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8), gridspec_kw={"width_ratios": [1, 2]})
    axes[0].imshow(hard.cpu().numpy(), cmap="gray")
    axes[0].plot(col, row, "r+", ms=14, mew=2)
    axes[0].set(title="the pixel we watch (red)", xlabel="pixel column", ylabel="pixel row")
    for sigma, values in curves.items():
        name = "hard" if sigma is None else f"soft, σ = {sigma:g}"
        axes[1].plot(moves, values, "o-" if sigma is None else "-", ms=3, label=name)
    axes[1].set(xlabel="how far the mug moved to the right (pixels)", ylabel="alpha of the pixel")
    axes[1].set_title("one pixel's alpha as the mug slides across it")
    axes[1].legend()
    fig.tight_layout()
    return fig


def _arrows(
    ax: Any, verts: torch.Tensor, gradient: torch.Tensor, cameras: Any, image_size: int
) -> None:
    """-gradient of each vertex that has one, as an arrow in pixel coordinates."""
    size = gradient.norm(dim=1)
    if size.max() == 0:
        ax.text(
            0.5, 0.5, "every gradient is exactly 0", color="w", ha="center", transform=ax.transAxes
        )
        return
    keep = size > 0.02 * size.max()
    ahead = verts[keep] - 0.15 * gradient[keep] / size.max()  # a small move along -gradient
    screen = ((image_size, image_size),)
    start = cameras.transform_points_screen(verts[keep], image_size=screen)[:, :2].detach().cpu()
    end = cameras.transform_points_screen(ahead, image_size=screen)[:, :2].detach().cpu()
    ax.quiver(
        start[:, 0],
        start[:, 1],
        end[:, 0] - start[:, 0],
        end[:, 1] - start[:, 1],
        color="yellow",
        angles="xy",
        scale_units="xy",
        scale=1,
        width=0.006,
    )


def plot_gradient_panels(
    panels: dict, goal_alpha: torch.Tensor, verts: torch.Tensor, cameras: Any, image_size: int
) -> Any:
    """One column per setting: silhouette, d alpha / dx, and -d loss / d vertex as arrows.

    Args:
        panels: {name: (alpha (S, S), change (S, S), gradient (V, 3))}.
        goal_alpha: (S, S) the target silhouette, outlined in red on the arrow row.
        verts: (V, 3) the mesh's vertices; cameras: its one camera.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, len(panels), figsize=(3.5 * len(panels), 10.5), squeeze=False)
    for i, (name, (alpha, change, gradient)) in enumerate(panels.items()):
        axes[0, i].imshow(alpha.numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        axes[0, i].set_title(f"{name}: silhouette")
        limit = float(change.abs().max()) or 1.0
        axes[1, i].imshow(
            change.numpy(), cmap="RdBu", vmin=-limit, vmax=limit, interpolation="nearest"
        )
        axes[1, i].set_title(f"∂alpha/∂x (largest {limit:.0f})")
        axes[2, i].imshow(alpha.numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        axes[2, i].contour(goal_alpha.cpu().numpy(), levels=[0.5], colors="r", linewidths=1)
        _arrows(axes[2, i], verts, gradient, cameras, image_size)
        axes[2, i].set_title(f"-∂loss/∂vertex ({int((gradient.norm(dim=1) > 0).sum())} vertices)")
    for ax in axes.flat:
        ax.set_xlim(image_size * 0.45, image_size * 0.95)
        ax.set_ylim(image_size * 0.8, image_size * 0.3)  # zoom on the handle (rows grow downwards)
        ax.set_axis_off()
    fig.tight_layout()
    return fig


def plot_camera_paths(
    mesh: Any, losses: dict, paths: dict, true_position: torch.Tensor, overlays: dict
) -> Any:
    """Loss curves, the cameras' paths around the mesh in 3-D, and silhouette overlays.

    Args:
        losses, paths: {run name: list of losses}, {run name: (steps + 1, 3) camera centres}.
        true_position: (3,) the true camera centre (a black star).
        overlays: {title: (S, S, 3) picture} shown side by side in the last panel.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    from course_utils import plotting

    fig = plt.figure(figsize=(13, 4.5))
    ax = fig.add_subplot(1, 3, 1)
    for name, values in losses.items():
        ax.plot(values, label=name)
    ax.set(
        yscale="log",
        xlabel="step",
        ylabel="sum of squared differences",
        title="camera fit: the loss",
    )
    ax.legend()
    ax = fig.add_subplot(1, 3, 2, projection="3d", computed_zorder=False)
    plotting.plot_mesh(mesh, ax=ax, azim=-40, elev=25, texture_faces=4000)
    for (name, path), colour in zip(paths.items(), ["tab:blue", "tab:red"]):
        ax.plot(*to_plot(path), color=colour, lw=2, label=name)
        ax.scatter(*to_plot(path[0]), color=colour, marker="x", s=50, depthshade=False)
        ax.scatter(*to_plot(path[-1]), color=colour, s=50, depthshade=False)
    ax.scatter(
        *to_plot(true_position), color="k", marker="*", s=120, depthshade=False, label="true camera"
    )
    ax.set(
        xlim=(-3, 3),
        ylim=(-3, 3),
        zlim=(-3, 3),
        title="the cameras' paths (x: start, dot: end)",
    )
    ax.set_box_aspect((1, 1, 1))
    ax.legend(loc="upper left", fontsize=8)
    ax = fig.add_subplot(1, 3, 3)
    ax.imshow(np.concatenate([np.asarray(p) for p in overlays.values()], axis=1))
    ax.set_title(" | ".join(overlays))
    ax.set_axis_off()
    fig.tight_layout()
    return fig


def frame_slider(frames: list, description: str = "frame") -> Any:
    """Scrub through GIF frames with a slider; the last frame is also drawn as a static picture.

    Args:
        frames: (H, W, 3) uint8 pictures, e.g. a fit's progress frames.
        description: the slider's label.

    Returns:
        An ipywidgets ``VBox`` (display it), or None where ipywidgets is missing. The static
        picture keeps the fit's end visible on a page exported without its widgets.
    """
    import io

    import matplotlib.pyplot as plt
    from PIL import Image

    height, width = frames[-1].shape[:2]
    fig, ax = plt.subplots(figsize=(6, 6 * height / width + 0.4))
    ax.imshow(frames[-1])
    ax.set_title(f"the last {description}")
    ax.set_axis_off()
    plt.show()
    try:
        import ipywidgets as widgets
    except ImportError:
        return None

    def png(picture: Any) -> bytes:
        buffer = io.BytesIO()
        Image.fromarray(picture).save(buffer, format="PNG")
        return buffer.getvalue()

    slider = widgets.IntSlider(
        value=len(frames) - 1, min=0, max=len(frames) - 1, description=description
    )
    height, width = frames[0].shape[:2]
    image = widgets.Image(value=png(frames[-1]), format="png", width=2 * width, height=2 * height)
    slider.observe(
        lambda change: setattr(image, "value", png(frames[change["new"]])), names="value"
    )
    return widgets.VBox([image, slider])


def soft_iou_loss(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The course's soft IoU loss (exercise 6.2): (N, H, W) silhouettes -> () 1 - mean IoU.

    ``IoU_n = sum(p t) / sum(p + t - p t)`` over view n's pixels: differentiable, no thresholds.
    """
    intersection = (predicted * target).flatten(1).sum(dim=1)
    union = (predicted + target - predicted * target).flatten(1).sum(dim=1)
    return 1.0 - (intersection / union).mean()


def look_from(position: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(R (1, 3, 3), T (1, 3)) of a camera centred at the (3,) ``position``, looking at the origin.

    ``T = -C @ R`` puts the centre at the view origin (row vectors: ``C @ R + T = 0``).
    """
    from course_utils.p3d import renderer

    R = renderer.look_at_rotation(position[None])
    return R, -position[None] @ R[0]


def camera_step(
    position: torch.Tensor, target: torch.Tensor, render_silhouette: Any, optimizer: Any
) -> float:
    """The course's camera step (exercise 6.3): one gradient step on the (3,) camera centre.

    The loss is the sum over pixels of the squared difference between
    ``render_silhouette(R, T)`` (H, W) and ``target`` (H, W); returns it (before the step).
    """
    optimizer.zero_grad()
    R, T = look_from(position)
    value = ((render_silhouette(R, T) - target) ** 2).sum()
    value.backward()
    optimizer.step()
    return value.item()
