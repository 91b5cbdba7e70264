"""Record kmem tracepoints of a command through tracefs (what ``kmemsim record`` does).

Like ``perf kmem record`` (whose event sets ``--slab`` and ``--page`` choose
from) but with no tool beyond the kernel's tracefs:

1. check everything that can be checked without changing anything: root, the
   options (``buffer_kb``, pids, comm names), the command (found on ``PATH`` and
   executable), the output (:mod:`kmemsim.fileio`: no symlink there, no existing
   file without ``force``, a writable directory: the temporary file is made now)
   and the events (read from tracefs' ``events/``; if tracefs is not mounted it is
   mounted on /sys/kernel/tracing to look, and unmounted at the end);
2. make a private trace instance ``instances/kmemsim-record-<pid>`` (its own ring
   buffer, options, filters and event switches: the global tracing state is not
   touched); on a kernel without instances, use the global buffer, saving every
   file it changes and writing the saved values back at the end;
3. set the instance up: ``buffer_size_kb``, ``options/stacktrace`` (``-g``),
   ``set_event_pid`` with ``options/event-fork`` (``--pid``, ``--tree``; without
   them ``set_event_notrace_pid`` leaves kmemsim's own draining out), an event
   filter ``comm == "NAME"`` on every event (``--comm``; tracefs' generic
   ``comm`` field: ``common_comm`` does not exist), then the events;
4. run the command in its own process group (given the terminal when kmemsim has
   it, so that Ctrl-C and Ctrl-Z reach the command as usual) and meanwhile drain
   the instance's ``trace_pipe`` into the output (gzip when its name ends in
   ``.gz``) so that the ring buffer does not overflow; lost-event markers
   (``CPU:1 [LOST n EVENTS]``) stay in the text; progress goes to a callback;
5. stop tracing, drain what is left, and undo steps 3 to 1.

**Every way out undoes everything**: the normal end, a failing command, an error
in an option, a missing command, an unwritable output, and SIGINT, SIGTERM or
SIGHUP at any moment.  While it runs, those three signals only set a flag (no
exception can fall between two steps of the setup or the cleanup); the loop then
passes the signal to the command's process group, then SIGTERM after 3 s and
SIGKILL after 5 s (a second signal: SIGKILL at once); what is left of the group
when the command ends gets SIGTERM, then SIGKILL.  The trace recorded until then
is kept (``interrupted``, ``signal`` in the result).  Only SIGKILL of kmemsim
itself leaves an instance behind: :func:`kmemsim.trace.tracefs.stale_instances`
finds those of dead recorders, and ``record`` names them in a notice.

The output is ftrace text with a ``# tracer: nop`` first line and ``#
kmemsim-record:`` comment lines (command, events, filters, kernel, CPUs,
overruns), which :mod:`kmemsim.trace.parse` reads; it appears under its name only
when complete (written to a temporary file and renamed).
"""
from __future__ import annotations

import os
import platform
import re
import select
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kmemsim.errors import KmemsimError
from kmemsim.fileio import AtomicOutput, OutputError, check_output, open_output
from kmemsim.trace.tracefs import TRACEFS_CANDIDATES, TracefsError, TraceSession, stale_instances
from kmemsim.trace.tracefs import find_tracefs as _find_tracefs

__all__ = [
    "DEFAULT_OUTPUT",
    "PAGE_EVENTS",
    "SLAB_EVENTS",
    "RecordError",
    "RecordResult",
    "find_tracefs",
    "record",
    "resolve_events",
]

#: perf kmem record's sets (tools/perf/builtin-kmem.c ``slab_events``/``page_events``);
#: the ``*_node`` events exist before 6.1 only and are enabled when present.
SLAB_EVENTS = ("kmalloc", "kmalloc_node", "kfree", "kmem_cache_alloc", "kmem_cache_alloc_node", "kmem_cache_free")
PAGE_EVENTS = ("mm_page_alloc", "mm_page_free")
_OPTIONAL = frozenset({"kmalloc_node", "kmem_cache_alloc_node"})

#: ``kmemsim record`` without ``-o``: gzip-compressed (the parsers read it as is).
DEFAULT_OUTPUT = "trace.txt.gz"
INSTANCE_PREFIX = "kmemsim-record"
#: gzip level of the output: level 3 compresses trace text ~15x at ~130 MB/s (level 9: ~20x at ~30 MB/s).
COMPRESSLEVEL = 3
#: TASK_COMM_LEN - 1: the kernel keeps this many bytes of a task's name.
COMM_MAX = 15
#: Seconds the command's group has after the forwarded signal before SIGTERM, then SIGKILL.
TERM_AFTER, KILL_AFTER = 3.0, 5.0
_DRAIN_MAX = 4 << 20


class RecordError(KmemsimError):
    """Recording is impossible here (not root, no tracefs, a bad option, a missing command,
    an unwritable output), or the tracing state could not be restored."""


@dataclass
class RecordResult:
    events: int = 0
    bytes: int = 0
    lost_markers: int = 0
    overrun: int = 0
    #: The command's exit status (negative: killed by that signal); None without a command.
    returncode: int | None = None
    seconds: float = 0.0
    enabled: list[str] = field(default_factory=list)
    #: kmemsim got SIGINT, SIGTERM or SIGHUP (``signal`` says which) and stopped early.
    interrupted: bool = False
    signal: int | None = None
    output: Path | None = None
    #: Processes left in the command's group at its end, stopped by kmemsim.
    leftover: int = 0
    #: Notes for the user (stale instances of killed recorders, the global buffer, ...).
    notices: list[str] = field(default_factory=list)
    #: The host snapshot written after the recording (``snapshot=``), or None.
    snapshot: Path | None = None


def find_tracefs() -> Path | None:
    """The mounted tracefs among this module's ``TRACEFS_CANDIDATES``, or None."""
    return _find_tracefs(TRACEFS_CANDIDATES)


def resolve_events(tracefs: Path, slab: bool, page: bool, extra: tuple[str, ...] = ()) -> list[str]:
    """``system/event`` names to enable: the slab and page sets (both when neither is
    asked for and no -e is given) and each ``-e`` (``kmem/NAME``, ``kmem:NAME`` or
    ``NAME`` of kmem); an event this kernel lacks is an error naming what it has."""
    want: list[str] = []
    if not slab and not page and not extra:
        slab = page = True
    if slab:
        want += list(SLAB_EVENTS)
    if page:
        want += list(PAGE_EVENTS)
    out: list[str] = []
    for e in want:
        if (tracefs / "events" / "kmem" / e / "enable").exists():
            out.append(f"kmem/{e}")
        elif e not in _OPTIONAL:
            raise RecordError(f"this kernel has no kmem/{e} trace event")
    for e in extra:
        name = e.replace(":", "/")
        if "/" not in name:
            name = f"kmem/{name}"
        parts = name.split("/")
        if len(parts) != 2 or not all(re.fullmatch(r"[A-Za-z0-9_.-]+", p) and p not in (".", "..") for p in parts):
            raise RecordError(f"-e {e!r}: not an event name (SYSTEM/NAME, SYSTEM:NAME or NAME of kmem)")
        if not (tracefs / "events" / name / "enable").exists():
            system = parts[0]
            have = sorted(p.name for p in (tracefs / "events" / system).glob("*") if (p / "enable").exists())
            raise RecordError(
                f"no trace event {name}" + (f"; {system} has: {', '.join(have)}" if have else f" (no system {system})")
            )
        if name not in out:
            out.append(name)
    return out


# ---------------------------------------------------------------------------- checks


def _check_command(command: list[str]) -> str:
    """The executable ``command[0]`` runs (as execvp finds it), or a RecordError."""
    name = command[0]
    if not name:
        raise RecordError("the command is an empty string")
    if name.startswith("-"):
        raise RecordError(f"unknown option {name!r} (the command to trace follows --)")
    if "/" in name:
        path = Path(name)
        if not path.exists():
            raise RecordError(f"{name}: no such file")
        if path.is_dir() or not os.access(path, os.X_OK):
            raise RecordError(f"{name}: not an executable file")
        return name
    found = shutil.which(name)
    if found is None:
        raise RecordError(f"{name}: command not found (PATH={os.environ.get('PATH', '')})")
    return found


def _mem_available_kb() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _check_buffer(buffer_kb: Any) -> int:
    if isinstance(buffer_kb, bool) or not isinstance(buffer_kb, int) or buffer_kb < 1:
        raise RecordError(f"--buffer-kb {buffer_kb!r}: must be a whole number of KiB, at least 1")
    ncpu = os.cpu_count() or 1
    avail = _mem_available_kb()
    if avail is not None and buffer_kb * ncpu > avail // 2:
        raise RecordError(
            f"--buffer-kb {buffer_kb}: {ncpu} CPUs x {buffer_kb} KiB is more than half of the memory "
            f"available ({avail} KiB); at most {max(1, avail // 2 // ncpu)}"
        )
    return buffer_kb


def _check_pids(pids: tuple[int | str, ...]) -> list[int]:
    """The pids (``"1,2"`` strings allowed) and all threads of each: set_event_pid filters tasks."""
    out: list[int] = []
    for item in pids:
        for part in str(item).split(","):
            part = part.strip()
            if not part.isdigit() or int(part) <= 0:
                raise RecordError(f"--pid {item!r}: not a process id")
            pid = int(part)
            task = Path(f"/proc/{pid}/task")
            try:
                tids = sorted(int(t.name) for t in task.iterdir() if t.name.isdigit())
            except OSError:
                raise RecordError(f"--pid {pid}: no such process") from None
            for t in tids or [pid]:
                if t not in out:
                    out.append(t)
    return out


def _comm_filter(comms: tuple[str, ...]) -> str | None:
    """The event filter for ``--comm`` names (``*``, ``?`` and ``[`` make a glob)."""
    if not comms:
        return None
    parts = []
    for c in comms:
        if not c or any(ch in c for ch in '"\\') or any(ord(ch) < 32 or ord(ch) == 127 for ch in c):
            raise RecordError(f"--comm {c!r}: a task name, without quotes, backslashes or control characters")
        glob = any(ch in c for ch in "*?[")
        if not glob and len(c.encode()) > COMM_MAX:
            raise RecordError(
                f"--comm {c!r}: {len(c.encode())} bytes, but the kernel keeps only the first {COMM_MAX} of a "
                f"task's name (TASK_COMM_LEN); use {c.encode()[:COMM_MAX].decode(errors='ignore')!r}"
            )
        parts.append(f'comm {"~" if glob else "=="} "{c}"')
    return " || ".join(parts)


# ---------------------------------------------------------------------------- processes


def _group_members(pgid: int, exclude: int) -> list[int]:
    """Live processes of process group ``pgid`` (zombies and ``exclude`` left out)."""
    out: list[int] = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return out
    for name in entries:
        if not name.isdigit() or int(name) == exclude:
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        rest = stat[stat.rfind(b")") + 2:].split()
        if len(rest) > 2 and rest[0] not in (b"Z", b"X") and int(rest[2]) == pgid:
            out.append(int(name))
    return out


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class _Stop:
    """SIGINT, SIGTERM and SIGHUP only set a flag while ``record`` runs."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.count = 0
        self.old: dict[int, Any] = {}

    def handler(self, signum: int, frame: object) -> None:
        if self.signum is None:
            self.signum = signum
        self.count += 1

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signals reach only the main thread; a caller in a thread keeps its own handling
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            self.old[sig] = signal.signal(sig, self.handler)

    def uninstall(self) -> None:
        for sig, old in self.old.items():
            signal.signal(sig, old)
        self.old.clear()


class _Interrupted(Exception):
    """Internal: a stop signal arrived during the setup."""


# ---------------------------------------------------------------------------- record


def record(
    command: list[str] | tuple[str, ...],
    output: str | Path = DEFAULT_OUTPUT,
    *,
    slab: bool = False,
    page: bool = False,
    events: tuple[str, ...] = (),
    buffer_kb: int = 8192,
    stacktrace: bool = False,
    pids: tuple[int | str, ...] = (),
    comms: tuple[str, ...] = (),
    tree: bool = False,
    force: bool = False,
    progress: Callable[[RecordResult], None] | None = None,
    progress_interval: float = 0.5,
    snapshot: str | Path | None = None,
    snapshot_root: str | Path = "/",
    hash_ptr: bool = False,
) -> RecordResult:
    """Trace ``command`` into ``output``; see the module docstring.

    ``stacktrace``: a kernel stack trace after every event.  ``pids``: trace only
    these processes (their threads, and what they fork from now on); ``tree``: only
    the command and what it forks; ``comms``: only tasks of these names (globs
    with ``*?[``).  Without a command, ``pids`` are traced until a signal or until
    they have all exited.  ``force`` replaces an existing output file (and snapshot).

    Pointers are printed as they are (``options/hash-ptr`` off in the instance, 6.4+), as
    perf kmem record's are: replay then places a slab page by its pfn rather than guessing it
    from the order and gfp of the allocation after it; ``hash_ptr`` keeps ftrace's hashed
    ``%p`` (a trace to share without the kernel's addresses).

    ``snapshot``: also a host snapshot (:mod:`kmemsim.capture`), read into memory once the
    tracing instance is set up, just before tracing starts, and written after the recording
    (``PATH.tar.gz``: one archive, else a directory), so that ``replay --host PATH`` starts
    from the state the trace starts from.  Writing a snapshot's 7,000 files allocates the very
    filesystem-cache objects it has just counted as free; written after the recording, those
    writes are neither in the snapshot's counts nor in the trace (docs/traces.md, "The
    snapshot's own writes").  ``snapshot_root``: the host's ``/`` (a fake root in tests).

    Raises :class:`RecordError` (before changing anything when recording is
    impossible)."""
    command = list(command)
    res = RecordResult()
    # -- 1. checks: nothing changes yet
    if tree and not command:
        raise RecordError("--tree traces a COMMAND and what it starts: give one after --")
    if not command and not pids:
        raise RecordError("no command to run (kmemsim record [-o FILE] -- COMMAND...) and no --pid to trace")
    if platform.system() != "Linux":
        raise RecordError("recording needs Linux tracefs")
    if os.geteuid() != 0:
        raise RecordError("recording needs root: tracefs control files are root-only (try sudo)")
    _check_buffer(buffer_kb)
    pid_list = _check_pids(pids)
    comm_filter = _comm_filter(comms)
    if command:
        _check_command(command)
    out_path = Path(output)
    try:
        check_output(out_path, force=force)
    except OutputError as e:
        raise RecordError(str(e)) from None
    snap_path = Path(snapshot) if snapshot is not None else None
    if snap_path is not None:
        _check_snapshot_output(snap_path, out_path, force)
    candidates = TRACEFS_CANDIDATES
    top = _find_tracefs(candidates)
    if top is None and not candidates[0].is_dir():
        raise RecordError(f"no tracefs: {candidates[0]} does not exist (is CONFIG_TRACING built in?)")
    if top is not None:
        names = resolve_events(top, slab, page, events)
        _check_features(top, stacktrace, bool(pid_list) or tree)

    stop = _Stop()
    stop.install()
    out: AtomicOutput | None = None
    t: TraceSession | None = None
    proc: subprocess.Popen[bytes] | None = None
    term = _Terminal()
    fd: int | None = None
    started = write_failed = False
    failure: BaseException | None = None
    host: Any = None  # the snapshot read before tracing (kmemsim.capture.HostRead)
    try:
        try:
            out = open_output(out_path, "wb", force=force, gzip=out_path.name.endswith(".gz"),
                              compresslevel=COMPRESSLEVEL)  # fmt: skip
        except OutputError as e:
            raise RecordError(str(e)) from None
        res.output = out_path
        # -- 2. the instance
        t = TraceSession(INSTANCE_PREFIX, candidates, make_instance=False)
        if top is None:  # mounted just now: check what could not be checked before
            names = resolve_events(t.top, slab, page, events)
            _check_features(t.top, stacktrace, bool(pid_list) or tree)
        stale = stale_instances(t.top, INSTANCE_PREFIX)
        if stale:
            res.notices.append(
                f"instances left by recorders that were killed (SIGKILL): {', '.join(p.name for p in stale)}; "
                f"remove them with: rmdir {' '.join(str(p) for p in stale)}"
            )
        _check_stop(stop)
        t.make_instance()
        if t.instance is None:
            res.notices.append(f"no trace instance ({t.instance_error}); using the global buffer, restored afterwards")
        _check_stop(stop)
        # -- 3. the setup
        res.enabled = names
        t.write("tracing_on", "0")
        _write_buffer_size(t, buffer_kb)
        t.write("trace", "")
        if stacktrace:
            t.write("options/stacktrace", "1")
        if not hash_ptr and (t.root / "options" / "hash-ptr").exists():
            t.write("options/hash-ptr", "0")  # the real pointers, as perf script prints them
        if pid_list or tree:
            t.write("options/event-fork", "1")
            t.write("set_event_pid", " ".join(map(str, pid_list)))
        elif (t.root / "set_event_notrace_pid").exists():  # 5.10+: leave kmemsim's own reads out
            t.write("set_event_notrace_pid", str(os.getpid()))
        for name in names:
            if comm_filter:
                t.write(f"events/{name}/filter", comm_filter)
            t.enable(name)
        _check_stop(stop)
        _write_header(out, command, names, t, stacktrace, pid_list, tree, comm_filter, snap_path)
        fd = os.open(t.root / "trace_pipe", os.O_RDONLY | os.O_NONBLOCK)
        drain = _Drain(fd, out, res)
        if snap_path is not None:
            # the host as the trace will start from it: the ring buffer is allocated, tracing is
            # off (kmemsim's own reads are not traced), nothing is written until the end
            host = _read_host(snapshot_root)
            _check_stop(stop)
        # -- 4. run
        t0 = time.monotonic()
        if not tree:
            t.write("tracing_on", "1")
        if command:
            proc = _start(command, t, tree, term)
        started = True
        _run(proc, pid_list, drain, stop, term, res, progress, progress_interval)
        res.seconds = time.monotonic() - t0
        # -- 5. the end
        t.write("tracing_on", "0")
        drain.rest()
        res.overrun = t.overrun()
        if res.overrun:
            out.write(f"# kmemsim-record: overrun: {res.overrun} events overwritten in the ring buffer\n".encode())
        if res.signal is not None:
            out.write(f"# kmemsim-record: stopped by {signal.Signals(res.signal).name}\n".encode())
        _report(progress, res)
    except _Interrupted:
        res.interrupted = True
        res.signal = stop.signum
    except OutputError as e:  # writing the trace failed (a full disk): what was written is incomplete
        write_failed = True
        failure = RecordError(str(e) + ("; recording stopped" if started else ""))
    except TracefsError as e:
        failure = RecordError(str(e) + ("; recording stopped" if started else ""))
    except BaseException as e:  # RecordError, or KeyboardInterrupt where no handler could be installed
        failure = e
    # -- cleanup: every way out comes here
    errors: list[str] = []
    try:
        term.take_back()
    except Exception:
        pass
    if proc is not None:
        res.leftover = _finish_command(proc)
        res.returncode = proc.returncode
    if fd is not None:
        os.close(fd)
    if t is not None:
        errors += t.restore()
    stop.uninstall()
    if out is not None:
        if started and not write_failed:
            try:
                out.commit()
            except OutputError as e:
                errors.append(str(e))
        else:
            out.discard()
    if stop.signum is not None:
        res.interrupted, res.signal = True, stop.signum
    if failure is None and not errors and host is not None and snap_path is not None and started:
        try:
            res.snapshot = _write_snapshot(host, snap_path, force)
        except (KmemsimError, OSError) as e:
            errors.append(f"the trace is written to {out_path}, but not the host snapshot: {e}")
    if failure is not None:
        if errors and isinstance(failure, KmemsimError):
            raise RecordError(f"{failure}; also: {'; '.join(errors)}") from None
        raise failure
    if errors:
        raise RecordError("; ".join(errors))
    return res


def _snapshot_is_tar(path: Path) -> bool:
    return path.name.endswith((".tar.gz", ".tgz"))


def _check_snapshot_output(path: Path, trace: Path, force: bool) -> None:
    """``--snapshot PATH`` can be written (before anything changes): a new or empty directory
    (with ``force``: an earlier snapshot), or an archive ``*.tar.gz`` that does not exist (with
    ``force``: a file), never the trace file itself."""
    from kmemsim.capture import check_snapshot_dir

    if path.resolve() == trace.resolve():
        raise RecordError(f"--snapshot {path}: the same path as the trace file")
    try:
        if _snapshot_is_tar(path):
            check_output(path, force=force)
        else:
            check_snapshot_dir(path, force)
    except (KmemsimError, OSError) as e:
        raise RecordError(f"--snapshot {path}: {e}") from None


def _read_host(root: str | Path) -> Any:
    from kmemsim.capture import read

    try:
        return read(root, note="read by kmemsim record once its trace instance was set up, just before tracing "
                               "started; written after the recording")  # fmt: skip
    except (KmemsimError, OSError) as e:
        raise RecordError(f"--snapshot: {e}") from None


def _write_snapshot(host: Any, path: Path, force: bool) -> Path:
    """Write the snapshot read before the recording: a directory, or one ``.tar.gz`` archive
    (its members under the archive's name less the suffix, as ``kmemsim snapshot --tar``'s)."""
    import tempfile

    from kmemsim.capture import make_tarball, write

    if not _snapshot_is_tar(path):
        return write(host, path, force=force)
    stem = path.name.removesuffix(".tar.gz").removesuffix(".tgz")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".kmemsim-snapshot-", dir=path.parent) as td:
        d = write(host, Path(td) / (stem or "snapshot"))
        return make_tarball(d, path, force=force)


def _check_stop(stop: _Stop) -> None:
    if stop.signum is not None:
        raise _Interrupted()


def _check_features(top: Path, stacktrace: bool, pid_filter: bool) -> None:
    if stacktrace and not (top / "options" / "stacktrace").exists():
        raise RecordError(f"-g: this kernel's tracefs has no {top}/options/stacktrace")
    if pid_filter:
        for f in ("set_event_pid", "options/event-fork"):
            if not (top / f).exists():
                raise RecordError(f"--pid/--tree: this kernel's tracefs has no {top}/{f}")


def _write_buffer_size(t: TraceSession, buffer_kb: int) -> None:
    try:
        t.write("buffer_size_kb", str(buffer_kb))
    except TracefsError as e:
        raise RecordError(f"--buffer-kb {buffer_kb}: the kernel refused it ({e})") from None


def _write_header(out: AtomicOutput, command: list[str], names: list[str], t: TraceSession, stacktrace: bool,
                  pid_list: list[int], tree: bool, comm_filter: str | None,
                  snapshot: Path | None = None) -> None:  # fmt: skip
    u = os.uname()
    lines = ["# tracer: nop", "#"]
    if command:
        lines.append(f"# kmemsim-record: command: {' '.join(command)}")
    lines.append(f"# kmemsim-record: events: {' '.join(names)}")
    filters = []
    if pid_list:
        filters.append(f"pids {' '.join(map(str, pid_list))} and what they fork")
    if tree:
        filters.append("the command and what it forks")
    if comm_filter:
        filters.append(comm_filter)
    lines.append(f"# kmemsim-record: tasks: {'; '.join(filters) if filters else 'all'}")
    if stacktrace:
        lines.append("# kmemsim-record: stack traces: options/stacktrace")
    if snapshot is not None:
        lines.append(f"# kmemsim-record: host snapshot: {snapshot} (read just before tracing started, "
                     "written after the recording)")  # fmt: skip
    where = "instance " + t.instance.name if t.instance else "global buffer"
    lines.append(f"# kmemsim-record: Linux {u.release} {u.machine}, {os.cpu_count()} CPUs, {where}")
    out.write(("\n".join(lines) + "\n").encode())


class _Drain:
    """Copies trace_pipe to the output, whole lines at a time."""

    def __init__(self, fd: int, out: AtomicOutput, res: RecordResult) -> None:
        self.fd, self.out, self.res = fd, out, res
        self.pending = b""

    def __call__(self, wait: float) -> None:
        try:
            r, _, _ = select.select([self.fd], [], [], wait)
        except InterruptedError:  # pragma: no cover - PEP 475 retries select
            return
        if not r:
            return
        # trace_pipe returns at most a page per read: read until it is empty (EAGAIN), up to
        # _DRAIN_MAX bytes, then write them in one go.
        chunks: list[bytes] = []
        size = 0
        while size < _DRAIN_MAX:
            try:
                chunk = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if not chunks:
            time.sleep(min(wait, 0.05))  # a plain file (tests) reads as EOF, not EAGAIN
            return
        data = self.pending + b"".join(chunks)
        cut = data.rfind(b"\n") + 1
        self.pending = data[cut:]
        if cut:
            body = data[:cut]
            self.out.write(body)
            self.res.bytes += cut
            stack = body.count(b"\n => ") + body.startswith(b" => ") + body.count(b"stack trace>\n")
            self.res.events += body.count(b"\n") - stack
            self.res.lost_markers += body.count(b"[LOST ")

    def rest(self) -> None:
        """What is left in the ring buffer after tracing stopped."""
        self(0.05)
        for _ in range(200):
            before = self.res.bytes
            self(0.01)
            if self.res.bytes == before:
                break
        if self.pending:
            self.out.write(self.pending + b"\n")
            self.res.bytes += len(self.pending)
            self.pending = b""


class _Terminal:
    """The controlling terminal (standard input, when it is one), handed to the command's
    group while kmemsim is in the foreground, and taken back at the end."""

    def __init__(self) -> None:
        self.fd: int | None = None
        self.old_ttou: Any = None
        self.given_to: int | None = None
        try:
            if threading.current_thread() is threading.main_thread() and os.isatty(0):
                os.tcgetpgrp(0)
                self.fd = 0
        except OSError:
            self.fd = None

    def prepare(self) -> None:
        """Ignore SIGTTOU while the command may have the terminal: kmemsim, then in the
        background, may still write progress to it and must take it back (tcsetpgrp)."""
        if self.fd is not None and self.old_ttou is None:
            self.old_ttou = signal.signal(signal.SIGTTOU, signal.SIG_IGN)

    def foreground(self) -> bool:
        """kmemsim's process group holds the terminal (a shell ran it in the foreground)."""
        try:
            return self.fd is not None and os.tcgetpgrp(self.fd) == os.getpgrp()
        except OSError:
            return False

    def give(self, pgid: int) -> None:
        """Hand the terminal to ``pgid``, if kmemsim holds it."""
        if self.fd is None or not self.foreground():
            return
        self.prepare()
        try:
            os.tcsetpgrp(self.fd, pgid)
            self.given_to = pgid
        except OSError:
            pass

    def take_back(self) -> None:
        """Take the terminal back from the command's group (only if that group holds it)."""
        if self.fd is not None and self.given_to is not None:
            try:
                if os.tcgetpgrp(self.fd) == self.given_to:
                    os.tcsetpgrp(self.fd, os.getpgrp())
            except OSError:
                pass
            self.given_to = None
        if self.old_ttou is not None:
            signal.signal(signal.SIGTTOU, self.old_ttou)
            self.old_ttou = None


def _start(command: list[str], t: TraceSession, tree: bool, term: _Terminal) -> subprocess.Popen[bytes]:
    """Start the command in its own process group (with the terminal, if kmemsim has it);
    with ``tree`` the child adds itself to set_event_pid and turns tracing on before exec."""
    pid_file = str(t.root / "set_event_pid")
    on_file = str(t.root / "tracing_on")
    tty = term.fd if term.foreground() else None  # the child takes the terminal itself: no race

    def child() -> None:  # runs in the child between fork and exec
        os.setpgid(0, 0)
        if tty is not None:
            old = signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTTOU])
            try:
                os.tcsetpgrp(tty, os.getpid())
            except OSError:
                pass
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
        for sig in (signal.SIGTTOU, signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        if tree:
            fdp = os.open(pid_file, os.O_WRONLY | os.O_APPEND)
            os.write(fdp, f"{os.getpid()}\n".encode())
            os.close(fdp)
            fdo = os.open(on_file, os.O_WRONLY)
            os.write(fdo, b"1\n")
            os.close(fdo)

    term.prepare()
    try:
        proc = subprocess.Popen(command, preexec_fn=child)
    except FileNotFoundError:
        raise RecordError(f"{command[0]}: command not found") from None
    except PermissionError:
        raise RecordError(f"{command[0]}: permission denied") from None
    except OSError as e:
        raise RecordError(f"{command[0]}: cannot run it: {e.strerror or e}") from None
    except subprocess.SubprocessError as e:
        raise RecordError(f"{command[0]}: could not set up the traced process: {e}") from None
    if tty is not None:
        term.given_to = proc.pid  # the child took it before exec
    return proc


Progress = Callable[[RecordResult], None]


def _report(progress: Progress | None, res: RecordResult) -> Progress | None:
    if progress is None:
        return None
    try:
        progress(res)
        return progress
    except Exception:  # a closed terminal (SIGHUP) must not end the recording
        return None


def _run(proc: subprocess.Popen[bytes] | None, pid_list: list[int], drain: _Drain, stop: _Stop, term: _Terminal,
         res: RecordResult, progress: Callable[[RecordResult], None] | None, interval: float) -> None:  # fmt: skip
    """Drain until the command ends (or, without one, the pids), or a signal stops it."""
    last = 0.0
    stopping_since: float | None = None
    escalated = 0
    while True:
        drain(0.1)
        now = time.monotonic()
        if progress is not None and now - last >= interval:
            progress = _report(progress, res)
            last = now
        if proc is not None:
            info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WSTOPPED | os.WCONTINUED | os.WNOHANG | os.WNOWAIT)
            if info is not None and info.si_code in (os.CLD_EXITED, os.CLD_KILLED, os.CLD_DUMPED):
                return
            if info is not None and info.si_code in (os.CLD_STOPPED, os.CLD_CONTINUED, os.CLD_TRAPPED):
                os.waitid(os.P_PID, proc.pid, os.WSTOPPED | os.WCONTINUED | os.WNOHANG)  # consume it
                if info.si_code == os.CLD_STOPPED and term.fd is not None and stop.signum is None:
                    _job_stop(proc, term)  # only with a terminal: a job-control shell can continue us
        elif not any(os.path.exists(f"/proc/{p}") for p in pid_list):
            return
        if stop.signum is not None:
            res.signal = stop.signum
            res.interrupted = True
            if proc is None:
                return
            if stopping_since is None:
                stopping_since = now
                _killpg(proc.pid, stop.signum)
                _killpg(proc.pid, signal.SIGCONT)
            elif stop.count > 1 or now - stopping_since > KILL_AFTER:
                if escalated < 2:
                    _killpg(proc.pid, signal.SIGKILL)
                    escalated = 2
            elif now - stopping_since > TERM_AFTER and escalated < 1:
                _killpg(proc.pid, signal.SIGTERM)
                escalated = 1


def _job_stop(proc: subprocess.Popen[bytes], term: _Terminal) -> None:
    """The command stopped (Ctrl-Z, or reading the terminal from the background): stop
    kmemsim too, so that the shell sees the job stopped; once continued (fg or bg), hand
    the terminal to the command if kmemsim is in the foreground, and continue it."""
    term.take_back()
    term.prepare()
    os.kill(os.getpid(), signal.SIGTSTP)  # discarded in an orphaned process group: no one could continue us
    term.give(proc.pid)
    _killpg(proc.pid, signal.SIGCONT)


def _finish_command(proc: subprocess.Popen[bytes]) -> int:
    """Stop what is left of the command's group and reap the command; returns how many
    other processes of the group were still there."""
    pgid = proc.pid
    if proc.returncode is None:
        info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        if info is None or info.si_code not in (os.CLD_EXITED, os.CLD_KILLED, os.CLD_DUMPED):
            # An error ended the recording while the command runs: it goes too.
            _killpg(pgid, signal.SIGTERM)
            _killpg(pgid, signal.SIGCONT)
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline:
                info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
                if info is not None:
                    break
                time.sleep(0.02)
            else:
                _killpg(pgid, signal.SIGKILL)
    # The leader is a zombie (or about to be): the group id cannot be reused yet.
    left = _group_members(pgid, exclude=proc.pid)
    if left:
        _killpg(pgid, signal.SIGTERM)
        _killpg(pgid, signal.SIGCONT)
        deadline = time.monotonic() + 2
        while _group_members(pgid, exclude=proc.pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        if _group_members(pgid, exclude=proc.pid):
            _killpg(pgid, signal.SIGKILL)
    if proc.returncode is None:
        while True:
            try:
                _, status = os.waitpid(proc.pid, 0)
                proc.returncode = os.waitstatus_to_exitcode(status)
                break
            except ChildProcessError:
                proc.returncode = proc.returncode if proc.returncode is not None else -signal.SIGKILL
                break
            except InterruptedError:  # pragma: no cover
                continue
    return len(left)
