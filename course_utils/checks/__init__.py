"""Exercise checks: ``check_<name>(your_function)`` prints ✅ or ❌ with a hint.

Each chapter's checks live in ``chapterNN.py`` and are listed in its ``__all__``; all of
them are importable from here::

    from course_utils import checks
    checks.check_face_areas(face_areas)

A check never raises because of the learner's code: errors, a stub that still raises
``NotImplementedError``, a wrong shape or a wrong value each get one clear line.
"""

from course_utils.checks import (
    chapter00,
    chapter01,
    chapter02,
    chapter03,
    chapter04,
    chapter05,
    chapter06,
    chapter07,
    chapter08,
    chapter09,
    chapter10,
)
from course_utils.checks._core import yours_or_library

_CHAPTERS = (
    chapter00, chapter01, chapter02, chapter03, chapter04, chapter05, chapter06, chapter07,
    chapter08, chapter09, chapter10,
)

#: every check, by name (the tests run each against its solution and its stub)
CHECKS = {name: getattr(module, name) for module in _CHAPTERS for name in module.__all__}

globals().update(CHECKS)
__all__ = [*sorted(CHECKS), "yours_or_library"]
