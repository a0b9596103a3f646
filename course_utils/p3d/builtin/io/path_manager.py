"""PyTorch3D's ``path_manager`` arguments (an ``iopath`` ``PathManager``) for local files.

PyTorch3D's io functions read and write through an ``iopath.common.file_io.PathManager``.
The built-in backend reads local files only, so a path manager is accepted when it can
give a local path (``get_local_path``) for a path without a URL scheme; anything else
raises ``NotImplementedError`` naming the argument.
"""

from __future__ import annotations

import os
from typing import Any

from course_utils.p3d.builtin.common import unsupported

__all__ = ["local_path"]


def local_path(f: Any, path_manager: Any) -> Any:
    """``f`` itself, or the local path ``path_manager`` gives for it (see the module doc)."""
    if path_manager is None or not isinstance(f, (str, os.PathLike)):
        return f  # no manager, or an open file: nothing to resolve
    name = os.fspath(f)
    if "://" in name or not hasattr(path_manager, "get_local_path"):
        raise unsupported(
            "path_manager", type(path_manager).__name__, "Only local paths can be used."
        )
    return path_manager.get_local_path(name)
