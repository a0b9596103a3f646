"""Errors and file-access helpers shared by the OBJ, MTL and PLY readers.

Every problem found while reading a mesh file is reported as a :class:`MeshFileError`
that names the file and, for a parse error, the line number and the text of the line, and
says what was expected. ``MeshFileError`` subclasses ``ValueError``, the exception PyTorch3D
raises for bad files, so ``except ValueError`` works with either backend.

The helpers here also keep the readers inside the mesh's folder: a material or texture
file named by a mesh is only read when its resolved path lies in that folder, so a file
downloaded from the internet cannot make the course read ``/etc/passwd`` or ``../../x``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO as FileObject
from typing import Any, Union

#: What the readers accept as a file: a path (``str`` / ``pathlib.Path``) or an open file.
PathOrFile = Union[str, "os.PathLike[str]", FileObject[Any]]


class MeshFileError(ValueError):
    """A mesh or point-cloud file could not be read (or a value could not be written).

    Args:
        path: the file concerned (shown in the message).
        message: what is wrong and what was expected.
        line_number: 1-based line of the problem in a text file, if known.
        line: the text of that line, if known (shortened when very long).

    Attributes:
        path, message, line_number, line: as given, for programs that want to inspect them.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        message: str,
        line_number: int | None = None,
        line: str | None = None,
    ) -> None:
        self.path = str(path)
        self.message = message
        self.line_number = line_number
        self.line = line
        where = self.path
        if line_number is not None:
            where += f", line {line_number}"
        if line is not None:
            shown = line if len(line) <= 120 else line[:117] + "..."
            where += f" ({shown!r})"
        super().__init__(f"{where}: {message}")


def describe_source(f: Any) -> str:
    """A name for ``f`` to use in messages: the path, or a file object's ``name``."""
    if isinstance(f, (str, os.PathLike)):
        return os.fspath(f)
    name = getattr(f, "name", None)
    if isinstance(name, str):
        return name
    return f"<{type(f).__name__} object>"


def is_number(token: str) -> bool:
    """True when ``token`` reads as a float (``"1"``, ``"-2.5e3"``, ``"nan"``)."""
    try:
        float(token)
    except ValueError:
        return False
    return True


def is_path(f: Any) -> bool:
    """True when ``f`` is a path (``str``/``PathLike``) rather than an open file object."""
    return isinstance(f, (str, os.PathLike))


def read_source_bytes(f: PathOrFile) -> bytes:
    """Read the whole content of a path or an open (text or binary) file object.

    Raises:
        FileNotFoundError: ``f`` is a path that does not exist (the message names it).
        MeshFileError: ``f`` is a folder, or an object that cannot be read.
    """
    if is_path(f):
        path = Path(os.fspath(f))  # type: ignore[arg-type]
        if not path.exists():
            raise FileNotFoundError(f"no such file: {os.fspath(path)!r}")
        if path.is_dir():
            raise MeshFileError(path, "is a folder, expected a mesh file")
        return path.read_bytes()
    reader = getattr(f, "read", None)
    if reader is None:
        raise TypeError(
            f"expected a path (str or pathlib.Path) or an open file, got {type(f).__name__}"
        )
    data = reader()
    if isinstance(data, str):
        return data.encode("utf-8")
    return bytes(data)


def decode_text(data: bytes) -> str:
    """Decode the bytes of a text mesh file (OBJ, MTL) the way editors write them.

    A byte-order mark chooses the encoding (UTF-8, UTF-16 little/big-endian) and is
    dropped, so it never sticks to the first statement (``"\\ufeffv 1 2 3"`` would be an
    unknown keyword and silently lose the first vertex). Without a mark the bytes are read
    as UTF-8, and when they are not valid UTF-8 as Latin-1 (every byte is a character
    there, so an old file with accented material or texture names still reads the way its
    author wrote it).
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def base_folder(f: PathOrFile) -> Path:
    """The folder in which files referenced by ``f`` (materials, textures) are looked up.

    For a path it is the file's folder; for an open file object it is the current
    working directory, as PyTorch3D does (``data_dir = "./"``).
    """
    if is_path(f):
        return Path(os.fspath(f)).parent  # type: ignore[arg-type]
    return Path(".")


def contained(root: Path, path: Path) -> tuple[Path, bool]:
    """Resolve ``path``; say whether it lies inside the folder ``root``.

    Args:
        root: the containment boundary (the mesh's folder).
        path: a path already joined with its base folder (relative to the working
            directory, or absolute).

    Returns:
        ``(resolved_path, inside)``: the absolute, symlink-free path and whether it lies
        within ``root`` (also resolved). Paths escaping with ``..``, absolute paths
        elsewhere and symlinks pointing outside give ``inside=False``.
    """
    resolved = path.resolve()
    try:
        resolved.relative_to(root.resolve())
    except ValueError:
        return resolved, False
    return resolved, True
