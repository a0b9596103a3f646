"""Shading: the colour of each face at each pixel, from lights, materials and textures.

All three functions light surface points with the Phong model (see
:mod:`~course_utils.p3d.builtin.renderer.lighting`)::

    colour = (ambient + diffuse) * texel + specular

where ``ambient = material.ambient * light.ambient``, ``diffuse = material.diffuse *
light.diffuse * max(n . l, 0)`` and ``specular = material.specular * light.specular *
max(r . v, 0) ** shininess``. The specular term is *added*, not multiplied by the
texel: highlights take the light's colour, not the surface's. They differ in *where*
the lighting is evaluated:

* :func:`phong_shading` — per pixel: the position and vertex normal are interpolated to
  each pixel, then lit. Smooth shapes and sharp highlights; the most work.
* :func:`gouraud_shading` — per vertex: the vertices are lit, and the resulting colours
  interpolated across each face. Cheaper; highlights smear across faces.
* :func:`flat_shading` — per face: each face is lit once at its centroid with its face
  normal, so facets are visible.

Positions and normals are in world coordinates; the camera position is the camera centre.
Each function returns ``(N, H, W, K, C)`` colours, one per pixel and per face kept at it,
for a blend function to combine.
"""

from __future__ import annotations

from typing import Any

import torch

from course_utils.p3d.builtin.ops.interp_face_attrs import interpolate_face_attributes
from course_utils.p3d.builtin.renderer.mesh.textures import TexturesVertex
from course_utils.p3d.builtin.renderer.utils import per_batch_view

__all__ = ["flat_shading", "gouraud_shading", "phong_shading"]


def _apply_lighting(
    points: torch.Tensor,
    normals: torch.Tensor,
    lights: Any,
    camera_position: torch.Tensor,
    materials: Any,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The three Phong terms at each point, coloured by the light and the material.

    Args:
        points: ``(N, H, W, K, 3)`` or packed ``(P, 3)`` world positions.
        normals: same shape, surface normals (need not be unit length).
        lights: a lights object (``PointLights`` ...), batch size 1 or N (or P if packed).
        camera_position: ``(N, 3)``, ``(1, 3)`` (or ``(P, 3)``) camera centres.
        materials: a ``Materials`` object, batch size 1 or N (or P if packed).

    Returns:
        ``(ambient, diffuse, specular)``: ambient ``(N, 1, 1, 1, C)`` (or ``(1, C)`` /
        ``(P, C)`` when packed); diffuse and specular the shape of ``points`` with C
        channels.
    """
    light_diffuse = lights.diffuse(normals=normals, points=points)
    light_specular = lights.specular(
        normals=normals,
        points=points,
        camera_position=camera_position,
        shininess=materials.shininess,
    )
    ambient = per_batch_view(materials.ambient_color * lights.ambient_color, light_diffuse)
    diffuse = per_batch_view(materials.diffuse_color, light_diffuse) * light_diffuse
    specular = per_batch_view(materials.specular_color, light_specular) * light_specular
    return ambient, diffuse, specular


def _check_not_empty(meshes: Any) -> None:
    if meshes.isempty():
        raise ValueError("cannot shade an empty Meshes (it has no faces)")


def phong_shading(
    meshes: Any,
    fragments: Any,
    lights: Any,
    cameras: Any,
    materials: Any,
    texels: torch.Tensor,
) -> torch.Tensor:
    """Per-pixel (Phong) shading.

    The world position and the vertex normal are interpolated to each pixel with its
    barycentric coordinates; the normal is renormalised and the pixel lit.

    Args:
        meshes: the ``Meshes`` that were rasterized (world coordinates).
        fragments: rasterizer output (``pix_to_face``, ``bary_coords``).
        lights: lights object; cameras: cameras object (for the camera centre);
            materials: ``Materials``.
        texels: ``(N, H, W, K, C)`` surface colours, e.g. ``meshes.sample_textures(...)``.

    Returns:
        ``(N, H, W, K, C)`` shaded colours ``(ambient + diffuse) * texels + specular``.
    """
    _check_not_empty(meshes)
    faces = meshes.faces_packed()  # (F, 3)
    faces_verts = meshes.verts_packed()[faces]  # (F, 3, 3)
    faces_normals = meshes.verts_normals_packed()[faces]  # (F, 3, 3)
    pix_to_face, bary = fragments.pix_to_face, fragments.bary_coords
    pixel_points = interpolate_face_attributes(pix_to_face, bary, faces_verts)
    pixel_normals = interpolate_face_attributes(pix_to_face, bary, faces_normals)
    ambient, diffuse, specular = _apply_lighting(
        pixel_points, pixel_normals, lights, cameras.get_camera_center(), materials
    )
    return (ambient + diffuse) * texels + specular


def gouraud_shading(
    meshes: Any,
    fragments: Any,
    lights: Any,
    cameras: Any,
    materials: Any,
) -> torch.Tensor:
    """Per-vertex (Gouraud) shading: light the vertices, interpolate the colours.

    Args:
        meshes: ``Meshes`` with ``TexturesVertex`` (the vertex colours to light).
        fragments: rasterizer output.
        lights, cameras, materials: as in :func:`phong_shading`; with several meshes each
            vertex uses the parameters of its own mesh.

    Returns:
        ``(N, H, W, K, C)`` interpolated shaded vertex colours (zeros where no face).

    Raises:
        ValueError: if the meshes' textures are not ``TexturesVertex``.
    """
    _check_not_empty(meshes)
    if not isinstance(meshes.textures, TexturesVertex):
        found = type(meshes.textures).__name__ if meshes.textures is not None else "no textures"
        raise ValueError(
            f"Gouraud shading lights vertex colours, so the meshes need "
            f"textures=TexturesVertex(verts_features=...); got {found}"
        )
    verts = meshes.verts_packed()  # (V, 3)
    normals = meshes.verts_normals_packed()  # (V, 3)
    colors = meshes.textures.verts_features_packed()  # (V, C)
    camera_position = cameras.get_camera_center()  # (N, 3) or (1, 3)
    if len(meshes) > 1:
        # Give every packed vertex the lights / materials / camera of its mesh.
        mesh_of_vertex = meshes.verts_packed_to_mesh_idx()  # (V,)
        lights = lights.clone().gather_props(mesh_of_vertex)
        materials = materials.clone().gather_props(mesh_of_vertex)
        if camera_position.shape[0] > 1:
            camera_position = camera_position[mesh_of_vertex]
    ambient, diffuse, specular = _apply_lighting(verts, normals, lights, camera_position, materials)
    shaded = colors * (ambient + diffuse) + specular  # (V, C)
    return interpolate_face_attributes(
        fragments.pix_to_face, fragments.bary_coords, shaded[meshes.faces_packed()]
    )


def flat_shading(
    meshes: Any,
    fragments: Any,
    lights: Any,
    cameras: Any,
    materials: Any,
    texels: torch.Tensor,
) -> torch.Tensor:
    """Per-face (flat) shading: light each face at its centroid with its face normal.

    Args:
        meshes, fragments, lights, cameras, materials, texels: as in :func:`phong_shading`.

    Returns:
        ``(N, H, W, K, C)`` shaded colours; every pixel of a face has the same lighting.
    """
    _check_not_empty(meshes)
    faces = meshes.faces_packed()
    centroids = meshes.verts_packed()[faces].mean(dim=1)  # (F, 3)
    face_normals = meshes.faces_normals_packed()  # (F, 3)
    pix_to_face = fragments.pix_to_face
    empty = (pix_to_face < 0)[..., None]
    index = pix_to_face.clamp(min=0)
    zeros = centroids.new_zeros(())
    pixel_points = torch.where(empty, zeros, centroids[index])  # (N, H, W, K, 3)
    pixel_normals = torch.where(empty, zeros, face_normals[index])
    ambient, diffuse, specular = _apply_lighting(
        pixel_points, pixel_normals, lights, cameras.get_camera_center(), materials
    )
    return (ambient + diffuse) * texels + specular
