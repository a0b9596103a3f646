"""Built-in ``pytorch3d.renderer.implicit``: ray sampling, raymarching, implicit renderers.

==========================  ================================================================
module                      what it holds
==========================  ================================================================
``utils``                   ``RayBundle``, ``ray_bundle_to_ray_points``
``raysampling``             ``MultinomialRaysampler``, ``NDCMultinomialRaysampler``,
                            ``MonteCarloRaysampler``
``raymarching``             ``EmissionAbsorptionRaymarcher``, ``AbsorptionOnlyRaymarcher``
``renderer``                ``ImplicitRenderer``, ``VolumeRenderer``, ``VolumeSampler``
``harmonic_embedding``      ``HarmonicEmbedding`` (NeRF's positional encoding)
==========================  ================================================================
"""

from course_utils.p3d.builtin.renderer.implicit import (
    harmonic_embedding,
    raymarching,
    raysampling,
    renderer,
    utils,
)

_MODULES = (utils, raysampling, raymarching, renderer, harmonic_embedding)
__all__ = sorted({name for module in _MODULES for name in module.__all__})
globals().update({name: getattr(module, name) for module in _MODULES for name in module.__all__})
