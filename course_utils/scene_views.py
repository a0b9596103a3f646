"""Multi-view training data for radiance fields and splatting (chapters 09 and 10).

A radiance field (NeRF, a voxel grid, 3D Gaussians) is fitted to photographs whose cameras
are known exactly. The course makes them itself: it renders one of its textured assets from
``N`` cameras on a Fibonacci spiral around it with the course renderer, and keeps for every
view the RGB image, the object mask, the view-space depth and the camera. Every
``N / num_test``-th view is held out (interleaved with the training views, so the held-out
cameras are surrounded by training cameras) to measure novel-view quality with PSNR.

    views = make_scene_views("mug", num_views=60, image_size=128)
    views.images[views.train]        # (N_train, H, W, 3) RGB in [0, 1]
    cameras = views.cameras(views.test)   # FoVPerspectiveCameras of the held-out views

Why the lighting is *fixed in the world* and has no highlights: a radiance field stores one
colour per point (and direction). A light that moved with the camera would change a
surface's colour from view to view, which no static scene can explain; a world-fixed light
with Lambertian (diffuse + ambient) shading gives every surface point one colour seen from
anywhere, like a real object under fixed lights (the view-dependent case is a NeRF option).

Why 2x supersampling: each pixel averages four samples, so edges are anti-aliased as a
camera's pixels integrate light. A radiance field renders soft edges; targets with jagged
edges would cap its PSNR for no reason.

Renders are cached (``.npz`` under ``config.cache_dir() / "scene_views"``, keyed by
every argument and a format version, written atomically); a corrupt cache file is rebuilt.
"""

from __future__ import annotations

import hashlib
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["SceneViews", "make_scene_views", "psnr", "CACHE_VERSION"]

#: Bump when the renders change (lighting, camera placement, file layout): old caches are
#: then ignored rather than silently reused.
CACHE_VERSION = 1

_FIELDS = ("images", "masks", "depths", "R", "T")


@dataclass
class SceneViews:
    """Images of one object from N known cameras, with train / held-out splits.

    Attributes:
        images: ``(N, H, W, 3)`` float32 RGB in [0, 1]; background pixels are ``background``.
        masks: ``(N, H, W)`` float32, 1 where the pixel sees the object (at least half of its
            supersamples), else 0.
        depths: ``(N, H, W)`` float32 view-space z of the surface (PyTorch3D's zbuf), 0 on
            the background.
        R, T: ``(N, 3, 3)`` and ``(N, 3)`` world-to-view transforms, PyTorch3D's row-vector
            convention ``X_view = X_world @ R + T``.
        fov: vertical field of view in degrees of the ``FoVPerspectiveCameras``.
        znear, zfar: view depths that enclose the whole object from every camera (the
            cameras' clipping planes and the natural ray-sampling bounds).
        background: the RGB background colour of ``images``.
        train, test: indices of the training and the held-out views.
        dist: distance of every camera from the origin (the object is centred there and
            scaled to a bounding radius of 1).
    """

    images: torch.Tensor
    masks: torch.Tensor
    depths: torch.Tensor
    R: torch.Tensor
    T: torch.Tensor
    fov: float
    znear: float
    zfar: float
    background: tuple[float, float, float]
    train: list[int]
    test: list[int]
    dist: float = 2.7
    extras: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.R.shape[0])

    @property
    def image_size(self) -> int:
        """S of the S x S images."""
        return int(self.images.shape[1])

    def cameras(self, index: Any = None, device: str | torch.device = "cpu") -> Any:
        """``FoVPerspectiveCameras`` of some views (``course_utils.p3d.renderer``).

        Args:
            index: an int, a list / tensor of indices or a slice; None: all views.
            device: where the cameras live.
        """
        from course_utils.p3d import renderer

        if index is None:
            index = slice(None)
        elif isinstance(index, int):
            index = [index]
        R, T = self.R[index].to(device), self.T[index].to(device)
        return renderer.FoVPerspectiveCameras(
            R=R, T=T, fov=self.fov, znear=self.znear, zfar=self.zfar, device=device
        )

    def to(self, device: str | torch.device) -> SceneViews:
        """A copy with every tensor on ``device``."""
        moved = {name: getattr(self, name).to(device) for name in _FIELDS}
        return SceneViews(
            **moved, fov=self.fov, znear=self.znear, zfar=self.zfar, background=self.background,
            train=list(self.train), test=list(self.test), dist=self.dist, extras=dict(self.extras),
        )  # fmt: skip


def psnr(a: torch.Tensor, b: torch.Tensor, max_value: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB between two images (or batches) in [0, ``max_value``].

    ``PSNR = 10 log10(max^2 / MSE)`` over every element; identical inputs give ``inf``.
    Shapes must match.
    """
    if a.shape != b.shape:
        raise ValueError(f"psnr: shapes differ, {tuple(a.shape)} vs {tuple(b.shape)}")
    mse = float(((a.detach().double() - b.detach().double()) ** 2).mean())
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(max_value**2 / mse)


def split_views(num_views: int, num_test: int) -> tuple[list[int], list[int]]:
    """Interleaved train / held-out indices: ``num_test`` views evenly spaced in [0, N)."""
    if not 0 <= num_test < num_views:
        raise ValueError(f"num_test={num_test} must be in [0, num_views={num_views})")
    if num_test == 0:
        return list(range(num_views)), []
    step = num_views / num_test
    test = sorted({int(step * k + step / 2) for k in range(num_test)})
    train = [i for i in range(num_views) if i not in set(test)]
    return train, test


def _cache_path(key: dict[str, Any]) -> Path:
    from course_utils.config import cache_dir

    text = ",".join(f"{k}={key[k]}" for k in sorted(key))
    digest = hashlib.sha1(text.encode()).hexdigest()[:12]
    name = f"{key['mesh']}_{key['image_size']}_v{CACHE_VERSION}_{digest}.npz"
    return cache_dir() / "scene_views" / name


def _load(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays of a cache file, or None when it is missing or unreadable."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in (*_FIELDS, "meta")}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    return arrays


def _render(
    mesh_name: str, num_views: int, image_size: int, fov: float, dist: float, turn: float,
    background: tuple[float, float, float], supersample: int, batch: int,
    specular: float = 0.0, shininess: float = 30.0,
    light_direction: tuple[float, float, float] = (0.4, 1.0, 0.6),
) -> dict[str, torch.Tensor]:  # fmt: skip
    """Render images, masks, depths and cameras of ``num_views`` spiral views."""
    from course_utils.multiview import load_target, spiral_views
    from course_utils.p3d import renderer

    mesh = load_target(mesh_name)
    elev, azim = spiral_views(num_views, turn)
    R, T = renderer.look_at_view_transform(dist=dist, elev=elev, azim=azim)
    size = image_size * supersample
    settings = renderer.RasterizationSettings(image_size=size, blur_radius=0.0, faces_per_pixel=1)
    # A world-fixed light from above-front-left, diffuse only: view-independent colours
    # (with ``specular`` > 0, a Phong highlight that moves over the surface with the camera).
    lights = renderer.DirectionalLights(
        ambient_color=((0.55, 0.55, 0.55),), diffuse_color=((0.5, 0.5, 0.5),),
        specular_color=((specular,) * 3,), direction=(tuple(light_direction),),
    )  # fmt: skip
    materials = renderer.Materials(specular_color=((1.0, 1.0, 1.0),), shininess=shininess)
    blend = renderer.BlendParams(background_color=background)
    images, masks, depths = [], [], []
    with torch.no_grad():
        for start in range(0, num_views, batch):
            index = list(range(start, min(start + batch, num_views)))
            cameras = renderer.FoVPerspectiveCameras(R=R[index], T=T[index], fov=fov)
            meshes = mesh.extend(len(index))
            fragments = renderer.MeshRasterizer(cameras=cameras, raster_settings=settings)(meshes)
            shader = renderer.HardPhongShader(
                cameras=cameras, lights=lights, materials=materials, blend_params=blend
            )
            rgb = shader(fragments, meshes)[..., :3].clamp(0, 1)  # (B, s, s, 3)
            hit = (fragments.pix_to_face[..., 0] >= 0).float()  # (B, s, s)
            zbuf = torch.where(hit > 0, fragments.zbuf[..., 0], torch.zeros_like(hit))

            def pool(x: torch.Tensor) -> torch.Tensor:  # (B, s, s, C) -> (B, S, S, C)
                x = x.permute(0, 3, 1, 2)
                return torch.nn.functional.avg_pool2d(x, supersample).permute(0, 2, 3, 1)

            coverage = pool(hit[..., None])[..., 0]
            images.append(pool(rgb))
            masks.append((coverage >= 0.5).float())
            # Mean depth of the covered supersamples (0 where none is covered).
            depth_sum = pool(zbuf[..., None])[..., 0]
            mean_depth = depth_sum / coverage.clamp(min=1e-8)
            depths.append(torch.where(coverage > 0, mean_depth, depth_sum))
    masks_t = torch.cat(masks)
    return {
        "images": torch.cat(images).float(),
        "masks": masks_t,
        "depths": torch.cat(depths).float() * masks_t,
        "R": R.float(),
        "T": T.float(),
    }


def make_scene_views(
    mesh: str = "mug",
    num_views: int = 60,
    image_size: int = 128,
    num_test: int = 10,
    seed: int = 0,
    cache: bool = True,
    *,
    fov: float = 45.0,
    dist: float = 2.7,
    background: tuple[float, float, float] = (1.0, 1.0, 1.0),
    supersample: int = 2,
    batch: int = 8,
    specular: float = 0.0,
    shininess: float = 30.0,
    light_direction: tuple[float, float, float] = (0.4, 1.0, 0.6),
) -> SceneViews:
    """Render (or load from the cache) ``num_views`` views of a normalised course mesh.

    Args:
        mesh: a course asset with a texture: ``"mug"`` or ``"die"`` (``data/``), centred
            and scaled to a bounding radius of 1 (:func:`course_utils.multiview.load_target`).
        num_views: N, cameras on a Fibonacci spiral around the origin at distance ``dist``.
        image_size: S for S x S images.
        num_test: how many views are held out, interleaved among the training views.
        seed: turns the whole spiral by ``seed`` golden angles, so another seed gives other
            viewpoints (seed 0: the course's standard views).
        cache: load from / save to the course cache folder.
        fov: vertical field of view in degrees.
        dist: camera distance from the origin.
        background: RGB of pixels that see no object.
        supersample: render at ``supersample * S`` and average down (anti-aliasing).
        batch: views rasterized together (more: faster, more memory).
        specular: strength of a Phong highlight of the world-fixed light (0: none, the
            course's default). A highlight sits where the light's mirror direction meets
            the camera, so it moves over the surface from view to view: a *view-dependent*
            appearance that only a radiance field with a direction input can reproduce.
        shininess: Phong exponent of the highlight (larger: smaller, sharper).
        light_direction: world direction towards the light (the default lights from
            above-front-left).

    Returns:
        A :class:`SceneViews`; ``znear, zfar = dist -+ 1.05`` bound the object (radius 1).
    """
    if num_views < 1 or image_size < 8 or supersample < 1:
        raise ValueError(
            f"make_scene_views: need num_views >= 1, image_size >= 8, supersample >= 1; got "
            f"{num_views}, {image_size}, {supersample}"
        )
    if not (math.isfinite(specular) and specular >= 0 and shininess > 0):
        raise ValueError(
            f"make_scene_views: need specular >= 0 and shininess > 0; got {specular}, {shininess}"
        )
    if dist <= 1.1:
        raise ValueError(f"make_scene_views: dist={dist} puts the camera inside the object")
    train, test = split_views(num_views, num_test)
    turn = (seed * 180.0 * (3.0 - math.sqrt(5.0))) % 360.0
    background = tuple(float(c) for c in background)  # type: ignore[assignment]
    key = {
        "mesh": mesh, "num_views": num_views, "image_size": image_size, "fov": float(fov),
        "dist": float(dist), "turn": round(turn, 6), "background": background,
        "supersample": supersample, "version": CACHE_VERSION,
    }  # fmt: skip
    if specular > 0:  # only then: the keys (and cache files) of matte scenes stay as they were
        key.update(specular=float(specular), shininess=float(shininess))
    light_direction = tuple(float(c) for c in light_direction)  # type: ignore[assignment]
    if light_direction != (0.4, 1.0, 0.6):
        key["light"] = light_direction
    path = _cache_path(key) if cache else None
    arrays = _load(path) if path is not None else None
    if arrays is not None and arrays["images"].shape[:3] == (num_views, image_size, image_size):
        tensors = {name: torch.from_numpy(np.ascontiguousarray(arrays[name])) for name in _FIELDS}
    else:
        tensors = _render(
            mesh, num_views, image_size, fov, dist, turn, background, supersample, batch,
            specular, shininess, light_direction,
        )  # fmt: skip
        if path is not None:
            from course_utils.atomic import temporary_path

            with temporary_path(path) as tmp:
                with open(tmp, "wb") as handle:
                    np.savez_compressed(
                        handle, meta=np.array(repr(sorted(key.items()))),
                        **{name: tensors[name].numpy() for name in _FIELDS},
                    )  # fmt: skip
    margin = 1.05
    return SceneViews(
        **tensors, fov=float(fov), znear=dist - margin, zfar=dist + margin,
        background=background, train=train, test=test, dist=float(dist),  # type: ignore[arg-type]
    )  # fmt: skip
