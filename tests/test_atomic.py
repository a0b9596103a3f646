"""course_utils.atomic: the old file or the new one, never a torn one, with normal permissions."""

from __future__ import annotations

import os
import stat

import pytest

from course_utils.atomic import atomic_write, temporary_path, write_text_atomic


def test_a_failed_write_leaves_the_old_bytes_and_no_temporary_file(tmp_path):
    target = tmp_path / "mesh.obj"
    target.write_bytes(b"old contents")
    with pytest.raises(RuntimeError), atomic_write(target) as handle:
        handle.write(b"half of the new")
        raise RuntimeError("disk full")
    assert target.read_bytes() == b"old contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mesh.obj"]


def test_temporary_path_keeps_the_suffix_and_replaces_on_success(tmp_path):
    target = tmp_path / "frame.png"
    with temporary_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".png" and tmp != target
        tmp.write_bytes(b"png bytes")
    assert target.read_bytes() == b"png bytes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frame.png"]


def test_a_new_file_gets_the_mode_open_would_give(tmp_path):
    umask = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "new.txt", "hello")
        (tmp_path / "plain.txt").write_text("hello")
    finally:
        os.umask(umask)
    mode = stat.S_IMODE((tmp_path / "new.txt").stat().st_mode)
    assert mode == stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode) == 0o644


def test_a_replaced_file_keeps_its_mode(tmp_path):
    target = tmp_path / "script.sh"
    target.write_text("old")
    target.chmod(0o750)
    write_text_atomic(target, "new")
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o750
