"""Take a snapshot of this host's memory-management views (as root): ``kmemsim snapshot``.

What a snapshot holds and how it is read back is :mod:`kmemsim.snapshot`
(:data:`~kmemsim.snapshot.FILES`, :func:`~kmemsim.snapshot.load`); this module
only reads the live host (or a fake root in tests) and writes the directory and
its ``.tar.gz``.

Writing is safe as root in a shared directory (:mod:`kmemsim.fileio`): the
directory is built under a temporary name beside it and renamed into place, the
archive is written to a temporary file and renamed; a symlink at either name is
never followed; an existing archive, or an earlier snapshot directory, is
replaced only with ``force`` (``--force``), and a non-empty directory that is not
a snapshot never.
"""
from __future__ import annotations

import datetime as _dt
import errno
import os
import re
import shutil
import stat
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .errors import ConfigError
from .fileio import check_output, current_umask, open_output
from .snapshot import FILES, SLAB_DIR, SNAPSHOT_FILE, SYSCTLS, posix_normpath

__all__ = ["take", "make_tarball", "iter_snapshot_paths", "tarball_path", "check_snapshot_dir"]

_SYSCTL_FILES = tuple(f"proc/sys/vm/{n}" for n in SYSCTLS)
_PLAIN_FILES = [f for f in FILES if not f.endswith("/")]

# Slab attributes that live in debugfs on current kernels but in sysfs on older
# ones, where reading them can fail (they need slub_debug=U): skipped on any error.
_OPTIONAL_SLAB_ATTRS = frozenset({"alloc_calls", "free_calls"})
# Errors that mean "this attribute cannot be read", not "the snapshot is broken".
_SKIP_ERRNOS = frozenset({errno.EIO, errno.EPERM, errno.EACCES})



def _read_bytes(path: Path) -> bytes:
    """Read a whole file (one ``read`` loop; /proc and sysfs files report size 0 or 4096)."""
    with open(path, "rb", buffering=0) as f:
        chunks = []
        while True:
            b = f.read(1 << 16)
            if not b:
                break
            chunks.append(b)
    return b"".join(chunks)


def _read_required(root: Path, rel: str) -> bytes:
    path = root / rel
    try:
        return _read_bytes(path)
    except FileNotFoundError:
        raise ConfigError(f"{path}: missing (a snapshot needs it)") from None
    except PermissionError as e:
        raise ConfigError(
            f"{path}: not readable ({e.strerror}); run as root (pagetypeinfo and slabinfo are mode 0400)"
        ) from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror or e}") from None


_WMARK_LINE = re.compile(
    rb"^(?:Node \d+, zone +\S+|        (?:min|low|high|promo|managed) +\d+|        protection: .*)$", re.M
)


def _wmark_signature(zoneinfo: bytes) -> list[bytes]:
    """The lines of zoneinfo that the watermark computation produces or reads."""
    return _WMARK_LINE.findall(zoneinfo)


def _read_slab_tree(root: Path) -> tuple[dict[str, bytes], dict[str, str], set[str], list[str]]:
    """Read ``sys/kernel/slab``: (files, alias links, cache dirs, skipped attributes)."""
    slab = root / SLAB_DIR
    try:
        entries = sorted(os.listdir(slab))
    except FileNotFoundError:
        raise ConfigError(f"{slab}: missing (a snapshot needs the slab tree; is this a SLUB kernel?)") from None
    except OSError as e:
        raise ConfigError(f"{slab}: cannot list: {e.strerror or e}") from None
    files: dict[str, bytes] = {}
    links: dict[str, str] = {}
    dirs: set[str] = {SLAB_DIR}
    skipped: list[str] = []
    for name in entries:
        p = slab / name
        rel = f"{SLAB_DIR}/{name}"
        try:
            st = os.lstat(p)
        except FileNotFoundError:
            continue  # the cache went away while we walked the tree
        if stat.S_ISLNK(st.st_mode):
            target = os.readlink(p)
            if os.path.isabs(target):
                target = os.path.relpath(target, "/" + SLAB_DIR)
            links[rel] = target
            continue
        if not stat.S_ISDIR(st.st_mode):
            raise ConfigError(f"{p}: unexpected entry in the slab tree (not a cache directory or alias)")
        try:
            attrs = sorted(os.listdir(p))
        except FileNotFoundError:
            continue
        dirs.add(rel)
        for attr in attrs:
            ap = p / attr
            try:
                ast = os.lstat(ap)
            except FileNotFoundError:
                continue
            if not stat.S_ISREG(ast.st_mode):
                continue
            if not ast.st_mode & 0o444:
                continue  # write-only attribute
            try:
                files[f"{rel}/{attr}"] = _read_bytes(ap)
            except FileNotFoundError:
                continue
            except OSError as e:
                if attr in _OPTIONAL_SLAB_ATTRS or e.errno in _SKIP_ERRNOS:
                    skipped.append(f"{name}/{attr} ({errno.errorcode.get(e.errno or 0, e.errno)})")
                    continue
                raise ConfigError(f"{ap}: cannot read: {e.strerror or e}") from None
    # Drop aliases whose cache disappeared during the walk.
    for rel, target in list(links.items()):
        dest = posix_normpath(f"{SLAB_DIR}/{target}")
        if dest not in dirs or dest == SLAB_DIR:
            del links[rel]
            skipped.append(f"{rel.rsplit('/', 1)[1]} -> {target} (dangling alias)")
    return files, links, dirs, skipped


def _release(root: Path, is_live: bool) -> str:
    try:
        return _read_bytes(root / "proc/sys/kernel/osrelease").decode().strip()
    except OSError:
        return os.uname().release if is_live else "unknown"


def check_snapshot_dir(out_dir: str | os.PathLike[str], force: bool = False) -> bool:
    """Check that a snapshot may be written to ``out_dir``; True when it replaces an earlier one.

    Nothing there, or an empty directory, is fine; an earlier snapshot directory
    (one with a ``SNAPSHOT`` file) only with ``force``; a symlink, a file or any
    other non-empty directory never.
    """
    out = Path(out_dir)
    try:
        st = os.lstat(out)
    except FileNotFoundError:
        return False
    except OSError as e:
        raise ConfigError(f"{out}: cannot look at it: {e.strerror or e}") from None
    if stat.S_ISLNK(st.st_mode):
        raise ConfigError(f"{out}: is a symbolic link; kmemsim does not write through links (choose another name)")
    if not stat.S_ISDIR(st.st_mode):
        raise ConfigError(f"{out}: exists and is not a directory")
    try:
        empty = not any(os.scandir(out))
    except OSError as e:
        raise ConfigError(f"{out}: cannot list it: {e.strerror or e}") from None
    if empty:
        return False
    try:
        is_snapshot = stat.S_ISREG(os.lstat(out / SNAPSHOT_FILE).st_mode)
    except OSError:
        is_snapshot = False
    if not is_snapshot:
        raise ConfigError(f"{out}: exists and is not an empty directory (nor a snapshot that --force could replace)")
    if not force:
        raise ConfigError(
            f"{out}: exists and is not an empty directory: an earlier snapshot (use --force to replace it)"
        )
    return True


def take(
    out_dir: str | os.PathLike[str],
    root: str | os.PathLike[str] = "/",
    note: str | None = None,
    *,
    force: bool = False,
) -> Path:
    """Copy the files of :data:`FILES` from a host into ``out_dir`` and return it:
    :func:`write` of :func:`read`.

    ``root`` is the host's ``/`` (a fake root directory in tests).  zoneinfo and
    the vm sysctls are read first, back to back, and zoneinfo is read again
    afterwards: if ``managed``, the watermarks or ``protection`` moved (lazily
    deferred memory init), the pair is read again, up to five times.  Slab
    attributes that cannot be read (EIO/EPERM), write-only ones and failing
    ``alloc_calls``/``free_calls`` are skipped; alias symlinks are kept as
    relative symlinks.  A ``SNAPSHOT`` file records the date, ``uname -r`` and
    notes.  Raises :class:`ConfigError` if a required file is missing or
    unreadable, if ``out_dir`` is not empty (with ``force``: unless it is an
    earlier snapshot, which is replaced), or, on the live host, when not root.

    The directory is written under a temporary name beside ``out_dir`` and
    renamed into place when complete (see the module docstring).
    """
    check_snapshot_dir(Path(out_dir), force)
    return write(read(root, note), out_dir, force=force)


@dataclass
class HostRead:
    """What :func:`read` read of a host, in memory: the snapshot before it is written."""

    contents: dict[str, bytes]
    links: dict[str, str]
    dirs: set[str]
    meta_lines: list[str]


def read(root: str | os.PathLike[str] = "/", note: str | None = None) -> HostRead:
    """Read the files of a snapshot (:func:`take`) into memory, writing nothing.  Writing
    7,000 files allocates slab objects (a disk filesystem's inodes, dentries, extent and
    page-cache nodes): whoever records a trace after the snapshot (tools/capture_corpus.py)
    reads first and :func:`write` s after the recording, so that the state the snapshot
    shows is the one the trace starts from."""
    rootp = Path(root)
    is_live = rootp.resolve() == Path("/")
    if is_live and hasattr(os, "geteuid") and os.geteuid() != 0:
        raise ConfigError(
            "taking a snapshot of this host needs root: /proc/pagetypeinfo, /proc/slabinfo and "
            "/sys/kernel/slab/*/* are mode 0400, and /proc/iomem and /proc/vmallocinfo hide addresses otherwise"
        )
    if not rootp.is_dir():
        raise ConfigError(f"{rootp}: no such root directory")

    contents: dict[str, bytes] = {}
    stable = False
    attempts = 0
    while attempts < 5:
        attempts += 1
        zoneinfo = _read_required(rootp, "proc/zoneinfo")
        sysctls = {rel: _read_required(rootp, rel) for rel in _SYSCTL_FILES}
        again = _read_required(rootp, "proc/zoneinfo")
        if _wmark_signature(zoneinfo) == _wmark_signature(again):
            stable = True
            break
    contents["proc/zoneinfo"] = zoneinfo
    contents.update(sysctls)
    for rel in _PLAIN_FILES:
        if rel not in contents:
            contents[rel] = _read_required(rootp, rel)
    slab_files, slab_links, slab_dirs, skipped = _read_slab_tree(rootp)
    contents.update(slab_files)

    notes = [
        "proc/zoneinfo and proc/sys/vm/{" + ",".join(SYSCTLS) + "} were read first, back to back; "
        + (
            f"a second read of zoneinfo right after showed the same managed pages and watermarks (attempt {attempts})"
            if stable
            else f"zoneinfo's managed pages or watermarks kept changing over {attempts} attempts: "
            "the sysctls may not match the watermarks"
        ),
        "buddyinfo, pagetypeinfo, vmstat and the rest were read after them, one file at a time: "
        "free-page counters are not from one instant",
    ]
    if note:
        notes.append(note)
    meta_lines = [
        "kmemsim host snapshot",
        f"date: {_dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()}",
        f"uname -r: {_release(rootp, is_live)}",
        f"root: {rootp if not is_live else '/'}",
        f"files: {len(contents)} (+ {len(slab_links)} slab alias symlinks)",
        f"slab caches: {len(slab_dirs) - 1}",
    ]
    if skipped:
        shown = ", ".join(skipped[:20]) + (f", ... ({len(skipped) - 20} more)" if len(skipped) > 20 else "")
        meta_lines.append(f"skipped: {len(skipped)} unreadable slab attributes or dangling aliases: {shown}")
    meta_lines += [f"note: {n}" for n in notes]
    return HostRead(contents, slab_links, set(slab_dirs), meta_lines)


def write(snap: HostRead, out_dir: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Write what :func:`read` read as the snapshot directory ``out_dir`` (see :func:`take`)."""
    out = Path(out_dir)
    check_snapshot_dir(out, force)
    contents, slab_links, slab_dirs, meta_lines = snap.contents, snap.links, snap.dirs, snap.meta_lines
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name[:180]}.", suffix=".part", dir=out.parent))
    except OSError as e:
        raise ConfigError(f"{out}: cannot write the snapshot: {e.strerror or e}") from None
    try:
        os.chmod(tmp, 0o777 & ~current_umask())
        for d in sorted(slab_dirs):
            (tmp / d).mkdir(parents=True, exist_ok=True)
        for rel, data in contents.items():
            dest = tmp / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            with open(dest, "xb") as f:
                f.write(data)
        for rel, target in slab_links.items():
            os.symlink(target, tmp / rel)
        with open(tmp / SNAPSHOT_FILE, "x", encoding="utf-8") as f:
            f.write("\n".join(meta_lines) + "\n")
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ConfigError(f"{out}: cannot write the snapshot: {e.strerror or e}") from None
    _install_dir(tmp, out, force)
    return out


def _install_dir(tmp: Path, out: Path, force: bool) -> None:
    """Rename the finished directory ``tmp`` to ``out`` (an empty directory there is replaced;
    with ``force``, an earlier snapshot too).  On failure ``tmp`` is kept and named."""
    replacing = check_snapshot_dir(out, force)  # again: something may have appeared meanwhile
    old: Path | None = None
    try:
        if replacing:
            old = Path(tempfile.mkdtemp(prefix=f".{out.name[:180]}.", suffix=".old", dir=out.parent))
            os.rename(out, old)  # replaces the empty directory mkdtemp made
        os.rename(tmp, out)
    except OSError as e:
        if old is not None and not out.exists():
            try:
                os.rename(old, out)
                old = None
            except OSError:
                pass
        raise ConfigError(
            f"{out}: cannot put the snapshot in place ({e.strerror or e}); it is kept in {tmp}"
            + (f" and the earlier one in {old}" if old is not None else "")
        ) from None
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def iter_snapshot_paths(snapshot_dir: str | os.PathLike[str]) -> Iterator[Path]:
    """Every file and symlink of a snapshot directory (for counting and archiving)."""
    root = Path(snapshot_dir)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames) + sorted(filenames):
            p = Path(dirpath) / name
            if p.is_symlink() or p.is_file():
                yield p


def tarball_path(snapshot_dir: str | os.PathLike[str]) -> Path:
    """Where :func:`make_tarball` writes by default: ``<dir>.tar.gz`` beside the directory."""
    src = Path(snapshot_dir).resolve()
    return src.with_name(src.name + ".tar.gz")


def make_tarball(
    snapshot_dir: str | os.PathLike[str], dest: str | os.PathLike[str] | None = None, *, force: bool = False
) -> Path:
    """Archive a snapshot directory as ``<dir>.tar.gz`` (or ``dest``); :func:`load` reads it.

    Members are stored under the directory's name, sorted, owned by root, with
    symlinks kept as symlinks.  The archive is written safely
    (:mod:`kmemsim.fileio`): never through a symlink, and over an existing file
    only with ``force``.
    """
    src = Path(snapshot_dir)
    if not (src / SNAPSHOT_FILE).is_file():
        raise ConfigError(f"{src}: not a snapshot directory (no {SNAPSHOT_FILE} file)")
    name = src.resolve().name
    target = Path(dest) if dest is not None else tarball_path(src)

    def norm(ti: tarfile.TarInfo) -> tarfile.TarInfo:
        ti.uid = ti.gid = 0
        ti.mtime = int(ti.mtime)  # a float mtime costs a pax header per member
        ti.uname = ti.gname = "root"
        if ti.isdir():
            ti.mode = 0o755
        elif ti.isfile():
            ti.mode = 0o644
        return ti

    check_output(target, force=force)
    with open_output(target, "wb", force=force, gzip=True, compresslevel=9) as out:
        try:
            with tarfile.open(fileobj=out.file, mode="w|", format=tarfile.GNU_FORMAT) as tf:
                for dirpath, dirnames, filenames in os.walk(src):
                    dirnames.sort()
                    base = Path(dirpath)
                    arc_base = PurePosixPath(name) / base.relative_to(src).as_posix()
                    tf.add(base, arcname=str(arc_base), recursive=False, filter=norm)
                    for sub in dirnames:
                        if (base / sub).is_symlink():
                            tf.add(base / sub, arcname=str(arc_base / sub), recursive=False, filter=norm)
                    for fn in sorted(filenames):
                        tf.add(base / fn, arcname=str(arc_base / fn), recursive=False, filter=norm)
        except OSError as e:
            raise ConfigError(f"{target}: cannot write the archive: {e.strerror or e}") from None
    return target
