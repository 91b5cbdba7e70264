"""kmemsim.fileio: outputs are written to a temporary file and renamed; symlinks are never
followed; an existing file is replaced only with force; errors name the path and lose nothing."""
from __future__ import annotations

import errno
import gzip
import os
import stat
from pathlib import Path

import pytest

from kmemsim import fileio
from kmemsim.errors import ConfigError
from kmemsim.fileio import OutputError, check_output, open_output, write_bytes, write_text


def leftovers(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir() if p.name.endswith(".part"))


def test_write_new_file(tmp_path):
    out = tmp_path / "a.txt"
    assert write_text(out, "hello\n") == out
    assert out.read_text() == "hello\n"
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask
    assert leftovers(tmp_path) == []


def test_existing_file_needs_force(tmp_path):
    out = tmp_path / "a.bin"
    out.write_bytes(b"old")
    with pytest.raises(OutputError, match=r"a\.bin: already exists \(use --force") as ei:
        write_bytes(out, b"new")
    assert isinstance(ei.value, ConfigError) and ei.value.path == out
    assert out.read_bytes() == b"old" and leftovers(tmp_path) == []
    write_bytes(out, b"new", force=True)
    assert out.read_bytes() == b"new" and leftovers(tmp_path) == []


def test_force_replaces_the_name_not_a_hard_linked_file(tmp_path):
    other = tmp_path / "other"
    other.write_bytes(b"keep")
    out = tmp_path / "out"
    os.link(other, out)
    write_bytes(out, b"new", force=True)
    assert out.read_bytes() == b"new" and other.read_bytes() == b"keep"


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("dangling", [False, True])
def test_symlink_at_the_target_is_never_followed(tmp_path, force, dangling):
    victim = tmp_path / "victim"
    if not dangling:
        victim.write_bytes(b"precious")
    out = tmp_path / "out.tar.gz"
    out.symlink_to(victim)
    with pytest.raises(OutputError, match="out.tar.gz: is a symbolic link"):
        write_bytes(out, b"x", force=force)
    with pytest.raises(OutputError, match="is a symbolic link"):
        check_output(out, force=force)
    assert out.is_symlink()
    assert victim.read_bytes() == b"precious" if not dangling else not victim.exists()


def test_directory_fifo_and_device_are_refused(tmp_path):
    (tmp_path / "d").mkdir()
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(OutputError, match="d: is a directory"):
        write_bytes(tmp_path / "d", b"x", force=True)
    with pytest.raises(OutputError, match="fifo: is a FIFO"):
        write_bytes(tmp_path / "fifo", b"x", force=True)
    with pytest.raises(OutputError, match="null: is a device"):
        check_output("/dev/null", force=True)


def test_missing_or_bad_directory(tmp_path):
    with pytest.raises(OutputError, match=r"nodir/x: directory .*nodir does not exist"):
        write_bytes(tmp_path / "nodir" / "x", b"x")
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputError, match="file/x: .*is not a directory"):
        write_bytes(tmp_path / "file" / "x", b"x")
    with pytest.raises(OutputError, match="not a file name"):
        check_output(tmp_path / "..")


def test_unwritable_directory(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "access", lambda *a, **k: False)
    with pytest.raises(OutputError, match="is not writable"):
        check_output(tmp_path / "x")

    def denied(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(fileio.tempfile, "mkstemp", denied)
    with pytest.raises(OutputError, match=r"x: directory .* is not writable"):
        write_bytes(tmp_path / "x", b"x")


def test_an_error_while_writing_leaves_the_target_as_it_was(tmp_path):
    out = tmp_path / "out"
    out.write_bytes(b"old")
    with pytest.raises(RuntimeError), open_output(out, force=True) as f:
        f.write(b"half")
        raise RuntimeError("boom")
    assert out.read_bytes() == b"old" and leftovers(tmp_path) == []


def test_a_full_disk_is_a_clear_error(tmp_path, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fileio.os, "fsync", full)
    with pytest.raises(OutputError, match="out: cannot write: No space left on device"):
        write_bytes(tmp_path / "out", b"data")
    assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []


def test_a_file_appearing_meanwhile_is_not_overwritten_and_nothing_is_lost(tmp_path):
    out = tmp_path / "out"
    f = open_output(out)
    f.write(b"recorded")
    out.write_bytes(b"theirs")
    with pytest.raises(OutputError, match="appeared while kmemsim was writing it; what was written is kept in") as ei:
        f.commit()
    assert out.read_bytes() == b"theirs"
    (kept,) = leftovers(tmp_path)
    assert str(tmp_path / kept) in str(ei.value) and (tmp_path / kept).read_bytes() == b"recorded"


def test_a_symlink_appearing_meanwhile_is_not_followed_even_with_force(tmp_path):
    out, victim = tmp_path / "out", tmp_path / "victim"
    victim.write_bytes(b"precious")
    f = open_output(out, force=True)
    f.write(b"recorded")
    out.symlink_to(victim)
    with pytest.raises(OutputError, match="is a symbolic link now; what was written is kept"):
        f.commit()
    assert victim.read_bytes() == b"precious" and out.is_symlink()


def test_without_hard_links_it_checks_then_renames(tmp_path, monkeypatch):
    def no_link(*a, **k):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(fileio.os, "link", no_link)
    write_bytes(tmp_path / "out", b"1")
    assert (tmp_path / "out").read_bytes() == b"1" and leftovers(tmp_path) == []
    f = open_output(tmp_path / "out2")
    (tmp_path / "out2").write_bytes(b"theirs")
    with pytest.raises(OutputError, match="appeared while"):
        f.commit()
    assert (tmp_path / "out2").read_bytes() == b"theirs"


def test_gzip_text_and_commit_twice(tmp_path):
    out = tmp_path / "t.txt.gz"
    f = open_output(out, "w", gzip=True, compresslevel=3)
    f.write("line 1\n")
    f.write("line 2\n")
    assert f.commit() == out and f.commit() == out
    f.discard()  # after a commit: nothing to do
    assert gzip.decompress(out.read_bytes()) == b"line 1\nline 2\n"
    assert out.read_bytes()[4:8] == b"\0\0\0\0"  # no time stamp: reproducible
    plain = tmp_path / "t.txt"
    with open_output(plain, "w") as g:
        g.write("x\n")
    assert plain.read_text() == "x\n" and leftovers(tmp_path) == []


def test_bad_mode():
    with pytest.raises(ValueError):
        open_output("x", "a")
