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
