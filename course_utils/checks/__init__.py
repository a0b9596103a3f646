"""Exercise checks: ``check_<name>(your_function)`` prints ✅ or ❌ with a hint.

Each chapter's checks live in ``chapterNN.py``; they are all importable from here::

    from course_utils import checks
    checks.check_face_areas(face_areas)

A check never raises because of the learner's code: errors, a stub that still raises
``NotImplementedError``, a wrong shape or a wrong value each get one clear line.
"""

from course_utils.checks.chapter00 import check_face_areas, check_world_to_view

#: every check, by name (the tests run each against its solution and its stub)
CHECKS = {
    "check_face_areas": check_face_areas,
    "check_world_to_view": check_world_to_view,
}

__all__ = list(CHECKS)
