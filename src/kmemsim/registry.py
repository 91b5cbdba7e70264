"""What subsystems register with their machine at boot: invariant checks, the files of
/proc, /sys and debugfs, and node counters.

As the kernel's owners create their own views (mm/slab_common.c's
``proc_create("slabinfo", ...)``, mm/vmstat.c's ``proc_create_seq("buddyinfo", ...)``),
each kmemsim subsystem registers what it owns in its init function; the machine's
``k.proc()``, ``k.sysfs()``, ``k.debugfs()`` and ``k.check()`` only look things up.

* :class:`Checks`: named invariant checks.  The one contract: a check returns nothing
  when the subsystem is consistent and raises :class:`~kmemsim.errors.InvariantError`
  (naming the subsystem) when it is not.
* :class:`PseudoFS`: one pseudo filesystem (procfs, sysfs, debugfs): files with a
  read function (and an optional write function), and *directories served by a
  handler* for trees whose entries come and go (``/sys/kernel/slab/<cache>/<attr>``).
* :class:`NodeStats`: node_stat_item counters that a subsystem keeps
  (``nr_slab_reclaimable``); unregistered counters read 0, as the kernel's zeroed
  counters do.
"""
from __future__ import annotations

from collections.abc import Callable

from .errors import UsageError
from .records import Record

__all__ = ["Checks", "PseudoFS", "DirHandler", "NodeStats"]


class Checks:
    """The invariant checks of one machine, run in registration (boot) order."""

    def __init__(self) -> None:
        self._checks: dict[str, Callable[[], None]] = {}

    def register(self, name: str, fn: Callable[[], None]) -> None:
        if name in self._checks:
            raise ValueError(f"an invariant check named {name!r} is already registered")
        self._checks[name] = fn

    def run(self) -> None:
        for fn in self._checks.values():
            fn()

    def names(self) -> list[str]:
        return list(self._checks)


class DirHandler(Record):
    """A directory whose entries a subsystem serves: ``listdir(rel)`` names the entries under
    ``rel`` ("" is the directory itself), ``read(rel)`` and ``write(rel, value)`` serve a
    file; each raises :class:`UsageError` for a path that does not exist."""

    __match_args__ = ("listdir", "read", "write")

    listdir: Callable[[str], list[str]]
    read: Callable[[str], str]
    write: Callable[[str, str], None] | None = None

    def __init__(self, listdir: Callable[[str], list[str]], read: Callable[[str], str],
                 write: Callable[[str, str], None] | None = None) -> None:
        vars(self).update(listdir=listdir, read=read, write=write)


class _File(Record):
    __match_args__ = ("read", "write")
    read: Callable[[], str]
    write: Callable[[str], None] | None = None

    def __init__(self, read: Callable[[], str], write: Callable[[str], None] | None = None) -> None:
        vars(self).update(read=read, write=write)


class PseudoFS:
    """/proc, /sys or /sys/kernel/debug of one machine."""

    def __init__(self, name: str, mount: str) -> None:
        self.name = name
        self.mount = mount  # "/proc", "/sys", "/sys/kernel/debug"
        self._files: dict[str, _File] = {}
        self._dirs: dict[str, DirHandler] = {}

    # ------------------------------------------------------------------ registering
    def create(self, path: str, read: Callable[[], str], write: Callable[[str], None] | None = None) -> None:
        """A file at ``path`` (relative to the mount point)."""
        path = path.strip("/")
        if path in self._files:
            raise ValueError(f"{self.mount}/{path} is already registered")
        self._files[path] = _File(read, write)

    def create_dir(self, path: str, handler: DirHandler) -> None:
        """A directory whose contents ``handler`` serves."""
        path = path.strip("/")
        if path in self._dirs:
            raise ValueError(f"{self.mount}/{path}/ is already registered")
        self._dirs[path] = handler

    # ------------------------------------------------------------------ lookups
    def _rel(self, path: object) -> str:
        if not isinstance(path, str):
            raise UsageError(f"{self.name} path {path!r}: expected a string such as 'kernel/slab/kmalloc-64/order'")
        p = path.strip()
        if p.startswith(self.mount + "/") or p == self.mount:
            p = p[len(self.mount):]
        return p.strip("/")

    def _handler(self, rel: str) -> tuple[DirHandler, str] | None:
        for d, h in self._dirs.items():
            if rel == d or rel.startswith(d + "/"):
                return h, rel[len(d):].strip("/")
        return None

    def read(self, path: object) -> str:
        rel = self._rel(path)
        f = self._files.get(rel)
        if f is not None:
            return f.read()
        found = self._handler(rel)
        if found is not None:
            h, sub = found
            if sub:
                return h.read(sub)
            raise UsageError(f"{self.mount}/{rel}: is a directory; its entries: {', '.join(h.listdir(''))}")
        if self.is_dir(rel):
            raise UsageError(f"{self.mount}/{rel}: is a directory; its entries: {', '.join(self.listdir(rel))}")
        raise UsageError(f"{self.mount}/{rel}: no such file; known: {', '.join(self.listdir(''))}")

    def write(self, path: object, value: str) -> None:
        rel = self._rel(path)
        f = self._files.get(rel)
        if f is not None:
            if f.write is None:
                raise UsageError(f"{self.mount}/{rel}: not writable")
            f.write(value)
            return
        found = self._handler(rel)
        if found is not None and found[1]:
            h, sub = found
            if h.write is None:
                raise UsageError(f"{self.mount}/{rel}: not writable")
            h.write(sub, value)
            return
        raise UsageError(f"{self.mount}/{rel}: not modelled (or not writable in the model)")

    def is_dir(self, rel: str) -> bool:
        rel = rel.strip("/")
        if rel == "" or rel in self._dirs:
            return True
        prefix = rel + "/"
        return any(p.startswith(prefix) for p in self._files) or any(d.startswith(prefix) for d in self._dirs)

    def listdir(self, path: object = "") -> list[str]:
        """The entries of a directory (files and subdirectories), sorted."""
        rel = self._rel(path)
        found = self._handler(rel)
        if found is not None:
            h, sub = found
            return sorted(h.listdir(sub))
        if not self.is_dir(rel):
            raise UsageError(f"{self.mount}/{rel}: no such directory")
        prefix = rel + "/" if rel else ""
        names = {p[len(prefix):].split("/", 1)[0] for p in list(self._files) + list(self._dirs) if p.startswith(prefix)}
        return sorted(names)

    def files(self) -> list[str]:
        """Every statically registered file (paths relative to the mount point)."""
        return sorted(self._files)

    def walk(self, top: str = "") -> list[str]:
        """Every file under ``top`` (relative paths, sorted): the registered files and,
        entry by entry, what the handlers of directories serve (an entry whose listing
        fails is a file)."""
        out: list[str] = []

        def visit(rel: str) -> None:
            try:
                names = self.listdir(rel)
            except UsageError:
                out.append(rel)
                return
            for n in names:
                sub = f"{rel}/{n}" if rel else n
                if sub in self._files:
                    out.append(sub)
                else:
                    visit(sub)

        visit(self._rel(top))
        return sorted(out)


class NodeStats:
    """node_stat_item counters kept by subsystems (mm/vmstat.c's node_page_state())."""

    def __init__(self) -> None:
        self._fns: dict[str, Callable[[], int]] = {}

    def register(self, name: str, fn: Callable[[], int]) -> None:
        if name in self._fns:
            raise ValueError(f"node counter {name!r} is already registered")
        self._fns[name] = fn

    def get(self, name: str) -> int:
        fn = self._fns.get(name)
        return fn() if fn is not None else 0

    def names(self) -> list[str]:
        return sorted(self._fns)
