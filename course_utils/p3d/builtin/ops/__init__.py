"""Built-in ``pytorch3d.ops``: geometric operations.

Each module lists its public names in ``__all__``; they are re-exported here. More
operations (nearest neighbours, sampling, cubify ...) arrive with the chapters that teach
them; asking ``course_utils.p3d.ops`` for a missing name raises an ``AttributeError`` that
says so.
"""

from course_utils.p3d.builtin.ops import interp_face_attrs

_MODULES = (interp_face_attrs,)

__all__ = sorted({name for module in _MODULES for name in module.__all__})
globals().update({name: getattr(module, name) for module in _MODULES for name in module.__all__})
