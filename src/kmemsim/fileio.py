"""Writing output files safely: a temporary file beside the target, renamed into place.

Every kmemsim command that writes a file the user named (``snapshot``, ``snapshot
--tar``, ``record -o``; later the reports) goes through this module, so that:

- **a symlink at the target is never followed** (nor replaced): kmemsim often runs
  as root, and ``-o /tmp/x`` must not become a write to whatever ``/tmp/x`` points
  at; a directory, FIFO, socket or device at the target is refused too;
- **an existing file is never overwritten** unless the caller passes ``force=True``
  (the commands' ``--force``);
- **a half-written file never appears**: the data goes to a temporary file in the
  target's own directory (``.NAME.XXXXXXXX.part``, mode 0600 while written), which
  is flushed, fsync'ed, given the usual mode (0666 less the umask) and then renamed
  to the target: readers see the old file or the complete new one.  Without
  ``force`` the final step is ``link()`` + ``unlink()``, which cannot replace a
  file that appeared meanwhile (on a file system without hard links: a check, then
  ``rename()``); with ``force``, ``rename()`` replaces the file (or a symlink that
  appeared meanwhile: the link itself, never its target);
- **an error is a** :class:`OutputError` (a :class:`~kmemsim.errors.ConfigError`)
  naming the path, never a traceback; an error while writing removes the temporary
  file and leaves the target as it was.  If the target appears while the data is
  being written, nothing is lost: the error names the temporary file that holds it.

API::

    from kmemsim import fileio

    fileio.check_output("out.txt")                 # fail early: raises OutputError
    fileio.write_text("out.txt", text)             # OutputError if out.txt exists
    fileio.write_bytes("a.tar.gz", data, force=True)
    with fileio.open_output("t.txt.gz", "w", gzip=True) as f:   # text, gzip-compressed
        f.write("...")                             # renamed into place when the block ends,
                                                   # removed if it raises
    out = fileio.open_output("t.txt", "wb")        # or by hand: out.commit() / out.discard()
"""
from __future__ import annotations

import errno
import gzip as _gzip
import io
import os
import stat
import tempfile
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from .errors import ConfigError

__all__ = ["OutputError", "AtomicOutput", "check_output", "current_umask", "open_output", "write_bytes", "write_text"]

_TMP_SUFFIX = ".part"


class OutputError(ConfigError):
    """An output file cannot be written (or must not be): the message names the path."""

    def __init__(self, path: str | os.PathLike[str], message: str) -> None:
        self.path = Path(path)
        super().__init__(f"{path}: {message}")


def current_umask() -> int:
    """The process umask, without changing it (``Umask:`` of /proc/self/status, Linux 4.7+)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o022)  # not thread-safe, but only where /proc is missing
    os.umask(old)
    return old


def _describe(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "is a directory"
    if stat.S_ISFIFO(mode):
        return "is a FIFO"
    if stat.S_ISSOCK(mode):
        return "is a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device"
    return "is not a regular file"


def _check_target(path: Path, force: bool) -> None:
    """Raise OutputError unless ``path`` may be (over)written; never follows a symlink at it."""
    if path.name in ("", ".", ".."):
        raise OutputError(path, "not a file name")
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except NotADirectoryError:
        raise OutputError(path, f"{path.parent} is not a directory") from None
    except OSError as e:
        raise OutputError(path, f"cannot look at it: {e.strerror or e}") from None
    if stat.S_ISLNK(st.st_mode):
        raise OutputError(path, "is a symbolic link; kmemsim does not write through or replace links "
                                "(remove it or choose another name)")
    if not stat.S_ISREG(st.st_mode):
        raise OutputError(path, f"{_describe(st.st_mode)}; kmemsim writes only regular files")
    if not force:
        raise OutputError(path, "already exists (use --force to replace it)")


def _check_parent(path: Path) -> Path:
    parent = path.parent
    try:
        st = os.stat(parent)
    except FileNotFoundError:
        raise OutputError(path, f"directory {parent} does not exist") from None
    except OSError as e:
        raise OutputError(path, f"cannot use directory {parent}: {e.strerror or e}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise OutputError(path, f"{parent} is not a directory")
    return parent


def check_output(path: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Check, before any work, that ``path`` can be written; return it as a Path.

    Raises :class:`OutputError` when something other than a regular file is there
    (a symlink, directory, FIFO, device ...), when a file is there and ``force`` is
    false, or when its directory is missing or not writable.  Writing may still
    fail later (a full disk, a file that appears meanwhile): :func:`open_output`
    checks again.
    """
    p = Path(path)
    _check_target(p, force)
    parent = _check_parent(p)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(p, f"directory {parent} is not writable")
    return p


class AtomicOutput:
    """A file being written to a temporary name, put in place by :meth:`commit`.

    Made by :func:`open_output`.  ``file`` is the stream (binary or text, maybe
    gzip); :meth:`write` and :meth:`flush` forward to it.  As a context manager it
    commits when the block ends normally and discards on an exception.  Both
    :meth:`commit` and :meth:`discard` may be called more than once; only the first
    one acts.
    """

    def __init__(self, path: Path, tmp: Path, raw: IO[bytes], file: IO[Any], force: bool) -> None:
        self.path = path
        self.tmp_path = tmp
        self.force = force
        self._raw = raw
        self.file = file
        self.closed = False
        self.committed = False

    # -- the stream ---------------------------------------------------------------------
    def write(self, data: Any) -> int:
        try:
            return int(self.file.write(data))
        except OSError as e:
            raise OutputError(self.path, f"cannot write: {e.strerror or e}") from None

    def flush(self) -> None:
        try:
            self.file.flush()
        except OSError as e:
            raise OutputError(self.path, f"cannot write: {e.strerror or e}") from None

    def __enter__(self) -> AtomicOutput:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        if et is None:
            self.commit()
        else:
            self.discard()

    # -- the end ------------------------------------------------------------------------
    def _close(self) -> None:
        """Flush every layer (text, gzip trailer), fsync and close the temporary file."""
        if self.closed:
            return
        self.closed = True
        try:
            f = self.file
            if isinstance(f, io.TextIOWrapper):
                f.flush()
                f = f.detach()  # do not let the text layer close what is below it
            if isinstance(f, _gzip.GzipFile):
                f.close()  # writes the trailer; leaves the raw file open
            self._raw.flush()
            os.fsync(self._raw.fileno())
        finally:
            self._raw.close()

    def discard(self) -> None:
        """Close and remove the temporary file; the target is left as it was."""
        if self.committed:
            return
        try:
            self._close()
        except (OSError, ValueError):
            pass
        try:
            os.unlink(self.tmp_path)
        except OSError:
            pass

    def _keep(self, why: str) -> OutputError:
        return OutputError(self.path, f"{why}; what was written is kept in {self.tmp_path}")

    def commit(self) -> Path:
        """Close the file and put it in place of the target; returns the target.

        If the target appeared meanwhile (without ``force``), or something other
        than a regular file is there now, the temporary file is kept and the error
        names it."""
        if self.committed:
            return self.path
        try:
            self._close()
        except (OSError, ValueError) as e:
            self.discard()
            raise OutputError(self.path, f"cannot write: {getattr(e, 'strerror', None) or e}") from None
        try:
            if self.force:
                st = os.lstat(self.path) if os.path.lexists(self.path) else None
                if st is not None and not stat.S_ISREG(st.st_mode):
                    what = "is a symbolic link" if stat.S_ISLNK(st.st_mode) else _describe(st.st_mode)
                    raise self._keep(f"{what} now")
                os.replace(self.tmp_path, self.path)
            else:
                _link_no_replace(self.tmp_path, self.path)
        except FileExistsError:
            raise self._keep("appeared while kmemsim was writing it") from None
        except OutputError:
            raise
        except OSError as e:
            self.discard()
            raise OutputError(self.path, f"cannot put the file in place: {e.strerror or e}") from None
        self.committed = True
        _fsync_dir(self.path.parent)
        return self.path


def _link_no_replace(src: Path, dst: Path) -> None:
    """Rename ``src`` to ``dst`` unless ``dst`` exists (FileExistsError)."""
    try:
        os.link(src, dst, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.EXDEV, errno.ENOSYS):
            raise
        # No hard links here (vfat, some FUSE file systems): check, then rename.
        if os.path.lexists(dst):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(dst)) from None
        os.rename(src, dst)
        return
    os.unlink(src)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def open_output(
    path: str | os.PathLike[str],
    mode: str = "wb",
    *,
    force: bool = False,
    gzip: bool = False,
    compresslevel: int = 6,
    encoding: str = "utf-8",
    newline: str | None = None,
) -> AtomicOutput:
    """Start writing ``path`` safely (see the module docstring); returns an :class:`AtomicOutput`.

    ``mode`` is ``"wb"`` (bytes) or ``"w"`` (text in ``encoding``); ``gzip=True``
    compresses the stream (``compresslevel`` 1-9, no name or time in the header).
    The target is checked now (:func:`check_output`) and again at commit.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"open_output: mode must be 'w' or 'wb', not {mode!r}")
    p = Path(path)
    _check_target(p, force)
    parent = _check_parent(p)
    prefix = "." + p.name[:180] + "."
    try:
        fd, tmpname = tempfile.mkstemp(prefix=prefix, suffix=_TMP_SUFFIX, dir=parent)
    except PermissionError:
        raise OutputError(p, f"directory {parent} is not writable") from None
    except OSError as e:
        raise OutputError(p, f"cannot create a file in {parent}: {e.strerror or e}") from None
    tmp = Path(tmpname)
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        raw: IO[bytes] = os.fdopen(fd, "wb")
    except OSError as e:
        os.close(fd)
        os.unlink(tmp)
        raise OutputError(p, f"cannot create a file in {parent}: {e.strerror or e}") from None
    stream: Any = raw
    if gzip:
        stream = _gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=compresslevel, mtime=0)
    if mode == "w":
        stream = io.TextIOWrapper(stream, encoding=encoding, newline=newline, write_through=False)
    return AtomicOutput(p, tmp, raw, stream, force)


def write_bytes(path: str | os.PathLike[str], data: bytes, *, force: bool = False) -> Path:
    """Write ``data`` to ``path`` safely (see the module docstring); returns the path."""
    with open_output(path, "wb", force=force) as f:
        f.write(data)
    return f.path


def write_text(path: str | os.PathLike[str], text: str, *, force: bool = False, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` safely (see the module docstring); returns the path."""
    with open_output(path, "w", force=force, encoding=encoding) as f:
        f.write(text)
    return f.path
