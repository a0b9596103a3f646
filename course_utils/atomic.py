"""Atomic file writes: a file the course writes is either the old one or the new one.

Every file the course writes (meshes, textures, checkpoints, JSON, images, GIFs, caches)
goes through :func:`atomic_write`: the bytes go to a temporary file in the *same folder*
(``os.replace`` is only atomic within one file system), are flushed and fsynced, and
the temporary file then replaces the target in one step. A crash, a full disk or an
exception half-way leaves the previous file byte-identical and no temporary file behind.

This module imports nothing from the course, so every layer (``p3d``, the lesson helpers,
the tools) can use it.

Example:
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_write(folder / "hello.txt", "w") as handle:
    ...     _ = handle.write("hello")
    >>> (folder / "hello.txt").read_text()
    'hello'
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_write", "write_bytes_atomic", "write_text_atomic", "temporary_path"]


def _target_mode(path: Path) -> int:
    """The permission bits ``path`` keeps (if it exists) or would get from ``open()``."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextlib.contextmanager
def temporary_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a fresh temporary path beside ``path``; on success it replaces ``path``.

    For writers that insist on opening a file name themselves (``imageio``, ``PIL``,
    ``numpy.savez``): write to the yielded path; when the ``with`` block ends without an
    exception the file is fsynced and moved over ``path``. On an exception it is deleted
    and ``path`` is untouched. The yielded name keeps ``path``'s suffix, so writers that
    choose a format from the extension still do.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}"
    )
    os.close(fd)
    tmp = Path(tmp_name)
    # mkstemp makes the file private (0600); give it the mode a plain open() would (or the
    # mode of the file it replaces), so other programs and users can read it as usual.
    os.chmod(tmp, _target_mode(path))
    try:
        yield tmp
        with open(tmp, "rb+") as handle:  # make sure the writer's bytes reached the disk
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike[str],
    mode: str = "wb",
    encoding: str | None = None,
    newline: str | None = None,
) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path`` for writing; replace ``path`` when done.

    Args:
        path: the file to (re)write. Its folder is created if missing.
        mode: ``"wb"`` (default) or ``"w"`` (text; ``encoding`` defaults to UTF-8).
        encoding, newline: as for :func:`open` in text mode.

    Yields:
        The open file handle. When the ``with`` block ends normally the data is flushed,
        fsynced and moved over ``path`` with ``os.replace``; when it raises, the temporary
        file is removed and ``path`` keeps its old bytes.
    """
    if mode not in ("w", "wb", "wt"):
        raise ValueError(f"atomic_write: mode must be 'w' or 'wb', got {mode!r}")
    if "b" not in mode and encoding is None:
        encoding = "utf-8"
    with temporary_path(path) as tmp:
        with open(tmp, mode, encoding=encoding, newline=newline) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns ``Path(path)``."""
    with atomic_write(path, "wb") as handle:
        handle.write(data)
    return Path(path)


def write_text_atomic(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8 by default); returns ``Path(path)``."""
    with atomic_write(path, "w", encoding=encoding) as handle:
        handle.write(text)
    return Path(path)
