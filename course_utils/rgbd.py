"""RGB-D views of a small scene, and lifting depth images back to coloured 3D points.

An RGB-D camera (a Kinect, a phone's depth sensor) gives, for every pixel, a colour *and*
the distance to the surface seen there. With the camera's pose and field of view, each
pixel becomes a 3D point: that is **unprojection**, the inverse of the projection of
chapter 02, and the subject of chapter 03.

The course makes its own RGB-D data: the mug and the die on a checkered floor, rendered by
the course's renderer from four viewpoints (:func:`render_rgbd_views`), stored in
``data/rgbd_scene.npz`` and loaded with :func:`load_rgbd`. Per view it holds:

===============  ==================  =========================================================
key              array               meaning
===============  ==================  =========================================================
``rgb``          uint8 (V, H, W, 3)  the colour image (row 0 at the top)
``depth``        uint16 (V, H, W)    view-space depth ``z`` (the rasterizer's ``zbuf``) in
                                     units of ``depth_scale``; 0 where no surface was seen,
                                     as real sensors store it
``depth_scale``  float32 ()          scene units per depth step (0.001: millimetres if the
                                     scene unit is a metre)
``mask``         bool (V, H, W)      foreground: pixels that see the mug or the die
``R``, ``T``     float32 (V, 3, 3),  world-to-view transform, ``X_view = X_world @ R + T``
                 (V, 3)
``fov``          float32 (V,)        vertical field of view in degrees
``znear``,       float32 (V,)        the cameras' clipping planes
``zfar``
``image_size``   int64 (2,)          ``(H, W)``
===============  ==================  =========================================================

The cameras are ``FoVPerspectiveCameras(R=R, T=T, fov=fov, znear=znear, zfar=zfar)``; the
images are not square (H < W, like a real sensor's 480 x 640), so the image's shorter
side, its height, spans [-1, 1] in NDC.

``python -m course_utils assets`` regenerates the file (with the other course assets).
"""

from __future__ import annotations

import io as _io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from course_utils.atomic import write_bytes_atomic
from course_utils.config import DATA_DIR

#: The file in ``data/`` and its image size ``(H, W)``.
RGBD_FILE = "rgbd_scene.npz"
IMAGE_SIZE = (144, 192)
#: Scene units per step of the stored uint16 depth.
DEPTH_SCALE = 0.001
#: The viewpoints: (azimuth, elevation) in degrees, distance 2.6 from the look-at point.
VIEWS = ((20.0, 30.0), (110.0, 20.0), (200.0, 35.0), (290.0, 25.0))
LOOK_AT = (0.0, -0.15, 0.0)
DISTANCE = 2.6
FOV = 50.0


# ------------------------------------------------------------------ pixels and rays
def ndc_grid(
    height: int, width: int, dtype: torch.dtype = torch.float32, device: Any = "cpu"
) -> torch.Tensor:
    """NDC ``(x, y)`` of every pixel centre of an ``H x W`` image (PyTorch3D's convention).

    NDC +X points left and +Y up; the shorter side spans [-1, 1] and the longer one
    ``[-L/S, L/S]``, so pixels are square; row 0 is the top (+Y) and column 0 the left (+X)
    edge. The centre of pixel (row ``i``, column ``j``) is therefore at

        x = (W - 1 - 2 j) / min(H, W),    y = (H - 1 - 2 i) / min(H, W).

    Args:
        height, width: image size in pixels.
        dtype, device: of the result.

    Returns:
        ``(H, W, 2)``: ``[..., 0]`` is x, ``[..., 1]`` is y.

    Example:
        >>> ndc_grid(2, 4)[..., 0]
        tensor([[ 1.5000,  0.5000, -0.5000, -1.5000],
                [ 1.5000,  0.5000, -0.5000, -1.5000]])
        >>> ndc_grid(2, 4)[:, 0, 1]
        tensor([ 0.5000, -0.5000])
    """
    if height < 1 or width < 1:
        raise ValueError(f"ndc_grid: the image size must be positive, got {height} x {width}")
    short = float(min(height, width))
    cols = torch.arange(width, dtype=dtype, device=device)
    rows = torch.arange(height, dtype=dtype, device=device)
    x = (width - 1 - 2 * cols) / short  # (W,) decreasing: +X is the left edge
    y = (height - 1 - 2 * rows) / short  # (H,) decreasing: +Y is the top edge
    return torch.stack(torch.meshgrid(x, y, indexing="xy"), dim=-1)


def unproject_depth_image(
    image: torch.Tensor, mask: torch.Tensor, depth: torch.Tensor, cameras: Any
) -> tuple[torch.Tensor, torch.Tensor]:
    """Lift the masked pixels of one RGB-D view to coloured points in world coordinates.

    Each pixel centre's NDC ``(x, y)`` (:func:`ndc_grid`) and its depth go through
    ``cameras.unproject_points(..., world_coordinates=True)``: the pixel's ray is followed
    to view-space depth ``z`` (for a perspective camera ``x_view = x_ndc * z * tan(fov/2)``,
    likewise y), then the camera's pose is undone, ``X_world = (X_view - T) @ R^T``.

    Args:
        image: ``(H, W, C)`` colours (or any per-pixel features).
        mask: ``(H, W)`` bool, the pixels to lift. Pixels whose depth is not positive (no
            measurement) are skipped even where the mask is set.
        depth: ``(H, W)`` view-space depth ``z`` (the rasterizer's ``zbuf``), in scene units.
        cameras: one camera (``len(cameras) == 1``) defined in NDC, e.g.
            ``FoVPerspectiveCameras``, that took the picture.

    Returns:
        ``points`` ``(P, 3)`` in world coordinates and ``colours`` ``(P, C)``, one row per
        lifted pixel, in row-major pixel order.

    Raises:
        ValueError: shapes that do not fit, several cameras, or screen-space cameras.
    """
    if depth.dim() != 2:
        raise ValueError(f"depth must be an (H, W) image, got shape {tuple(depth.shape)}")
    height, width = depth.shape
    if mask.shape != depth.shape:
        raise ValueError(
            f"mask {tuple(mask.shape)} and depth {tuple(depth.shape)} must have the same shape"
        )
    if image.dim() != 3 or image.shape[:2] != depth.shape:
        raise ValueError(
            f"image must be (H, W, C) = ({height}, {width}, C), got {tuple(image.shape)}"
        )
    if len(cameras) != 1:
        raise ValueError(f"unproject_depth_image lifts one view: got {len(cameras)} cameras")
    if not cameras.in_ndc():
        raise ValueError("unproject_depth_image needs cameras defined in NDC (in_ndc() True)")
    keep = mask.bool() & (depth > 0)
    xy = ndc_grid(height, width, dtype=depth.dtype, device=depth.device)[keep]  # (P, 2)
    xy_depth = torch.cat([xy, depth[keep][:, None]], dim=1)  # (P, 3): NDC x, y, view z
    points = cameras.unproject_points(xy_depth[None], world_coordinates=True)[0]
    return points, image[keep]


# ------------------------------------------------------------------ the data
@dataclass
class RGBDViews:
    """V RGB-D views of one scene, with their cameras (torch tensors, one device).

    Attributes:
        images: ``(V, H, W, 3)`` float colours in [0, 1].
        depth: ``(V, H, W)`` float view-space depth in scene units; 0 where nothing was seen.
        mask: ``(V, H, W)`` bool foreground (the objects, not the floor).
        R: ``(V, 3, 3)``, T: ``(V, 3)``: world-to-view transforms.
        fov: ``(V,)`` vertical fields of view in degrees.
        znear, zfar: ``(V,)`` clipping planes.
    """

    images: torch.Tensor
    depth: torch.Tensor
    mask: torch.Tensor
    R: torch.Tensor
    T: torch.Tensor
    fov: torch.Tensor
    znear: torch.Tensor
    zfar: torch.Tensor

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def image_size(self) -> tuple[int, int]:
        """``(H, W)``."""
        return int(self.images.shape[1]), int(self.images.shape[2])

    def cameras(self, index: int | slice | None = None) -> Any:
        """``FoVPerspectiveCameras`` of every view, or of view(s) ``index``."""
        from course_utils.p3d import renderer

        select = slice(None) if index is None else index
        if isinstance(select, int):
            select = slice(select, select + 1 if select != -1 else None)
        return renderer.FoVPerspectiveCameras(
            R=self.R[select],
            T=self.T[select],
            fov=self.fov[select],
            znear=self.znear[select],
            zfar=self.zfar[select],
            device=self.R.device,
        )

    def to(self, device: str | torch.device) -> RGBDViews:
        """A copy on ``device``."""
        return RGBDViews(**{k: v.to(device) for k, v in vars(self).items()})


def arrays_to_views(arrays: dict[str, np.ndarray], device: str | torch.device = "cpu") -> RGBDViews:
    """Turn the stored arrays (the ``.npz`` layout in the module docstring) into tensors."""
    depth = arrays["depth"].astype(np.float32) * np.float32(arrays["depth_scale"])

    def tensor(key: str) -> torch.Tensor:
        return torch.from_numpy(np.asarray(arrays[key], dtype=np.float32))

    return RGBDViews(
        images=torch.from_numpy(arrays["rgb"].astype(np.float32) / 255.0),
        depth=torch.from_numpy(depth),
        mask=torch.from_numpy(arrays["mask"].astype(bool)),
        R=tensor("R"),
        T=tensor("T"),
        fov=tensor("fov"),
        znear=tensor("znear"),
        zfar=tensor("zfar"),
    ).to(device)


def load_rgbd(path: str | Path | None = None, device: str | torch.device = "cpu") -> RGBDViews:
    """Load RGB-D views (default: the course's ``data/rgbd_scene.npz``).

    The file is read with ``allow_pickle=False``: it holds plain arrays only.
    """
    path = Path(path) if path is not None else DATA_DIR / RGBD_FILE
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing; regenerate the course assets with `python -m course_utils assets`"
        )
    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    return arrays_to_views(arrays, device)


# ------------------------------------------------------------------ the generator
def _textured(mesh: Any, device: torch.device) -> Any:
    """A course ``TexturedMesh`` (numpy) as a ``Meshes`` with a ``TexturesUV``."""
    from course_utils.p3d import renderer, structures

    def t(array: np.ndarray, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array)).to(dtype=dtype, device=device)

    return structures.Meshes(
        verts=[t(mesh.verts)],
        faces=[t(mesh.faces, torch.int64)],
        textures=renderer.TexturesUV(
            maps=[t(mesh.texture)],
            faces_uvs=[t(mesh.faces_uvs, torch.int64)],
            verts_uvs=[t(mesh.verts_uvs)],
        ),
    )


def _placed(mesh: Any, scale: float, yaw_degrees: float, offset: tuple[float, ...]) -> Any:
    """The mesh scaled, turned about +Y by ``yaw_degrees`` and moved by ``offset``."""
    a = math.radians(yaw_degrees)
    # Row-vector rotation about +Y: x' = x cos a + z sin a, z' = -x sin a + z cos a.
    rot = torch.tensor(
        [[math.cos(a), 0.0, -math.sin(a)], [0.0, 1.0, 0.0], [math.sin(a), 0.0, math.cos(a)]],
        device=mesh.device,
    )
    verts = mesh.verts_packed() * scale @ rot + torch.tensor(offset, device=mesh.device)
    return mesh.update_padded(verts[None])


def _floor(device: torch.device, half: float = 1.0, y: float = -0.5, cells: int = 10) -> Any:
    """A square floor at height ``y`` with a two-tone checker texture (UV-mapped)."""
    from course_utils.p3d import renderer, structures

    verts = torch.tensor(
        [[-half, y, half], [half, y, half], [half, y, -half], [-half, y, -half]], device=device
    )
    faces = torch.tensor([[0, 1, 2], [0, 2, 3]], device=device)  # counter-clockwise from above
    texels = 16
    index = torch.arange(cells * texels, device=device) // texels
    checker = ((index[:, None] + index[None, :]) % 2).float()[..., None]
    light = torch.tensor([0.86, 0.80, 0.70], device=device)
    dark = torch.tensor([0.55, 0.42, 0.32], device=device)
    image = light * (1 - checker) + dark * checker  # (H, W, 3)
    uvs = torch.tensor([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]], device=device)
    return structures.Meshes(
        verts=[verts],
        faces=[faces],
        textures=renderer.TexturesUV(maps=[image], faces_uvs=[faces], verts_uvs=[uvs]),
    )


def rgbd_scene(device: str | torch.device = "cpu") -> tuple[Any, Any]:
    """The scene of the RGB-D views: the mug and a half-size die on a checkered floor.

    Built from the course's generators (:mod:`course_utils.asset_meshes`), not from ``data/``.

    Returns:
        ``(scene, objects)``: the whole scene as one mesh, and the mug and the die (the
        foreground) as one mesh. The scene's first faces are the objects', so a pixel
        sees the foreground when its ``pix_to_face`` is below ``objects``' face count.
    """
    from course_utils import asset_meshes
    from course_utils.p3d import structures

    device = torch.device(device)
    mug = _placed(_textured(asset_meshes.build_mug(), device), 1.0, -30.0, (-0.3, 0.0, -0.1))
    die = _placed(_textured(asset_meshes.build_die(), device), 0.5, 25.0, (0.55, -0.25, 0.35))
    objects = structures.join_meshes_as_scene([mug, die])
    scene = structures.join_meshes_as_scene([mug, die, _floor(device)])
    return scene, objects


def render_rgbd_views(
    image_size: tuple[int, int] = IMAGE_SIZE, views: tuple[tuple[float, float], ...] = VIEWS
) -> dict[str, np.ndarray]:
    """Render the scene of :func:`rgbd_scene` into RGB-D views (the ``.npz`` arrays).

    The light is fixed in the world and has no specular part, so a surface point has the
    same colour in every view (like a matte object under room light): the views' point
    clouds then agree in colour as well as in position.

    Returns:
        The arrays described in the module docstring.
    """
    from course_utils.p3d import renderer

    device = torch.device("cpu")
    scene, objects = rgbd_scene(device)
    azim = torch.tensor([a for a, _ in views])
    elev = torch.tensor([e for _, e in views])
    R, T = renderer.look_at_view_transform(
        dist=DISTANCE, elev=elev, azim=azim, at=(LOOK_AT,), device=device
    )
    num = len(views)
    cameras = renderer.FoVPerspectiveCameras(R=R, T=T, fov=FOV, device=device)
    lights = renderer.PointLights(
        location=((1.5, 3.0, 2.0),),
        ambient_color=((0.55, 0.55, 0.55),),
        diffuse_color=((0.5, 0.5, 0.5),),
        specular_color=((0.0, 0.0, 0.0),),
        device=device,
    )
    mesh_renderer = renderer.MeshRendererWithFragments(
        rasterizer=renderer.MeshRasterizer(
            cameras=cameras,
            raster_settings=renderer.RasterizationSettings(image_size=tuple(image_size)),
        ),
        shader=renderer.HardPhongShader(
            device=device,
            cameras=cameras,
            lights=lights,
            blend_params=renderer.BlendParams(background_color=(1.0, 1.0, 1.0)),
        ),
    )
    with torch.no_grad():
        images, fragments = mesh_renderer(scene.extend(num))
    faces_per_scene = scene.faces_packed().shape[0]
    face = fragments.pix_to_face[..., 0]  # (V, H, W) packed over the V scene copies
    seen = face >= 0
    local_face = torch.where(seen, face % faces_per_scene, -1)
    mask = seen & (local_face < objects.faces_packed().shape[0])
    zbuf = torch.where(seen, fragments.zbuf[..., 0], 0.0)
    depth = torch.round(zbuf / DEPTH_SCALE).clamp(0, 65535).to(torch.int64).numpy()
    rgb = torch.round(images[..., :3].clamp(0, 1) * 255).to(torch.uint8).numpy()
    return {
        "rgb": rgb,
        "depth": depth.astype(np.uint16),
        "depth_scale": np.array(DEPTH_SCALE, dtype=np.float32),
        "mask": mask.numpy(),
        "R": R.numpy().astype(np.float32),
        "T": T.numpy().astype(np.float32),
        "fov": np.full(num, FOV, dtype=np.float32),
        "znear": cameras.znear.numpy().astype(np.float32).reshape(num),
        "zfar": cameras.zfar.numpy().astype(np.float32).reshape(num),
        "image_size": np.array(image_size, dtype=np.int64),
    }


def write_rgbd(path: str | Path) -> Path:
    """Render the views and write them with ``np.savez_compressed`` (no pickled objects).

    The bytes are deterministic: the arrays are, and the zip entries carry a fixed date.
    """
    path = Path(path)
    arrays = render_rgbd_views()
    buffer = _io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    write_bytes_atomic(path, buffer.getvalue())
    return path
