"""Built-in ``pytorch3d.renderer``: cameras, rasterizers, shaders, lights, textures, compositors.

Each module lists its public names in ``__all__``; this package re-exports all of them,
so ``course_utils.p3d.renderer.<Name>`` works for every name below, as in PyTorch3D.

==========================  ==================================================================
module                      what it holds
==========================  ==================================================================
``cameras``, ``look_at``    the four camera models, world/view/NDC/screen transforms, look-at
``mesh.rasterize_meshes``   the vectorised mesh rasterizer (``rasterize_meshes``)
``mesh.rasterizer``         ``RasterizationSettings``, ``MeshRasterizer``, ``Fragments``
``mesh.textures``           ``TexturesVertex``, ``TexturesUV`` (and their sampling)
``lighting``, ``materials`` ``PointLights``, ``DirectionalLights``, ``AmbientLights``, ``Materials``
``blending``                ``BlendParams`` and the hard / softmax / sigmoid blend functions
``mesh.shading``, ``shader``  Phong, Gouraud and flat shading; the shaders built on them
``mesh.renderer``           ``MeshRenderer``, ``MeshRendererWithFragments``
``points.*``                point rasterizer, compositors, ``PointsRenderer``
``implicit.*``              raysamplers, raymarchers, ``ImplicitRenderer``, ``VolumeRenderer``
==========================  ==================================================================
"""

from course_utils.p3d.builtin.renderer import (
    blending,
    cameras,
    implicit,
    lighting,
    look_at,
    materials,
    utils,
)
from course_utils.p3d.builtin.renderer.mesh import (
    clip,
    rasterize_meshes,
    rasterizer,
    renderer,
    shader,
    shading,
    textures,
)
from course_utils.p3d.builtin.renderer.points import compositor
from course_utils.p3d.builtin.renderer.points import rasterize_points as _rasterize_points
from course_utils.p3d.builtin.renderer.points import rasterizer as _points_rasterizer
from course_utils.p3d.builtin.renderer.points import renderer as _points_renderer

_MODULES = (
    utils,
    cameras,
    look_at,
    textures,
    rasterize_meshes,
    clip,
    rasterizer,
    lighting,
    materials,
    blending,
    shading,
    shader,
    renderer,
    _rasterize_points,
    _points_rasterizer,
    compositor,
    _points_renderer,
    implicit,
)

__all__ = sorted({name for module in _MODULES for name in module.__all__})
# PyTorch3D keeps the compositing functions in ``renderer.compositing``.
compositing = compositor
globals().update({name: getattr(module, name) for module in _MODULES for name in module.__all__})
