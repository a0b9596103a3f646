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
    camera_utils,
    cameras,
    compositing,
    fisheyecameras,
    implicit,
    lighting,
    look_at,
    materials,
    mesh,
    points,
    splatter_blend,
    utils,
)

_MODULES = (
    utils,
    cameras,
    camera_utils,
    fisheyecameras,
    look_at,
    lighting,
    materials,
    blending,
    compositing,
    splatter_blend,
    mesh,
    points,
    implicit,
)

__all__ = sorted({name for module in _MODULES for name in module.__all__})
globals().update({name: getattr(module, name) for module in _MODULES for name in module.__all__})
