"""A tracefs session whose every change is undone: the one implementation behind
``kmemsim record`` and the capture scripts in tools/.

:class:`TraceSession` finds tracefs (/sys/kernel/tracing, then
/sys/kernel/debug/tracing), mounting it on /sys/kernel/tracing when nothing is
mounted and unmounting it again in :meth:`TraceSession.restore`.  It traces into a
private instance ``instances/<prefix>-<pid>`` (its own ring buffer, options, event
switches, filters and ``set_event_pid``, so the global tracing state is not
touched) or, on a kernel without instances, into the global buffer -- then every
control file it writes is saved first and written back by ``restore()``, which
also clears ``trace``.

Signals: the steps that create or remove state (mounting, ``mkdir``/``rmdir`` of
the instance, the whole of ``restore()``) run with SIGINT, SIGTERM and SIGHUP
deferred (:func:`signals_deferred`), so that a Ctrl-C cannot fall between making
the instance and remembering it; a signal that arrives meanwhile is handled right
after, when the session knows what to undo (a failing constructor undoes its own
partial work).
:func:`raise_on_termination` makes SIGTERM and SIGHUP raise ``KeyboardInterrupt``
like SIGINT, so that a script's ``finally: session.restore()`` also runs for them.

Only instances this process made are ever touched; :func:`stale_instances` lists
``<prefix>-<pid>`` instances whose process is gone (a recorder killed by SIGKILL)
so that a caller can mention them, and leaves them alone.
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kmemsim.errors import KmemsimError

__all__ = [
    "TRACEFS_CANDIDATES",
    "TracefsError",
    "TraceSession",
    "find_tracefs",
    "raise_on_termination",
    "signals_deferred",
    "stale_instances",
]

TRACEFS_CANDIDATES = (Path("/sys/kernel/tracing"), Path("/sys/kernel/debug/tracing"))

#: The signals that end a recording (deferred while state is created or removed).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class TracefsError(KmemsimError):
    """No tracefs here, it cannot be mounted, or a control file refused a value."""


def find_tracefs(candidates: tuple[Path, ...] = TRACEFS_CANDIDATES) -> Path | None:
    """The first mounted tracefs among ``candidates``, or None."""
    for p in candidates:
        if (p / "trace").exists():
            return p
    return None


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP back for the ``with`` block.

    Their handlers are replaced, for the block, by one that only notes the signal;
    at the end the original handlers are put back and each noted signal is handled
    as it would have been, after the block's work is complete: a Python handler is
    called (``KeyboardInterrupt`` is raised there), an ignored signal is dropped,
    and for a default action (ending the process) ``SystemExit(128 + signal)`` is
    raised, so that the callers' ``finally`` blocks still run.  This works whatever threads the
    process has (a signal mask would not: a library's thread may take the signal),
    because Python runs signal handlers in the main thread only.  Outside the main
    thread no signal handler can interrupt the block, and it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []

    def note(signum: int, frame: object) -> None:
        pending.append(signum)

    old: dict[int, Any] = {sig: signal.signal(sig, note) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        for signum in dict.fromkeys(pending):
            handler = old[signum]
            if callable(handler):
                handler(signum, None)
            elif handler == signal.SIG_DFL:  # the default action would end the process: end it, but
                raise SystemExit(128 + signum)  # through the callers' finally blocks (and restore)


def raise_on_termination() -> None:
    """Make SIGTERM and SIGHUP raise ``KeyboardInterrupt`` (as SIGINT does), so that
    ``finally`` blocks run; only in the main thread (elsewhere it does nothing)."""
    if threading.current_thread() is not threading.main_thread():
        return

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)


def _put(path: Path, text: str) -> None:
    """Write a control file that must already exist (never create one)."""
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stale_instances(top: Path, prefix: str) -> list[Path]:
    """Instances ``<prefix>-<pid>`` under ``top`` whose process no longer exists."""
    out: list[Path] = []
    try:
        entries = list((top / "instances").iterdir())
    except OSError:
        return out
    for p in entries:
        m = re.fullmatch(re.escape(prefix) + r"-(\d+)", p.name)
        if m and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
            out.append(p)
    return sorted(out)


class TraceSession:
    """A trace buffer (instance or global) whose every change is undone by restore().

    ``make_instance=False`` only finds (or mounts) tracefs: call
    :meth:`make_instance` when ready, e.g. after checking the events at ``top``.
    """

    def __init__(
        self,
        instance_prefix: str,
        candidates: tuple[Path, ...] = TRACEFS_CANDIDATES,
        *,
        make_instance: bool = True,
    ) -> None:
        self.prefix = instance_prefix
        self.mounted_by_us: Path | None = None
        self.instance: Path | None = None
        self.saved: list[tuple[Path, str]] = []  # (file, old value), restored in reverse
        self.enabled: list[str] = []
        self.instance_error: OSError | None = None
        self.restored = False
        top = find_tracefs(candidates)
        self.top = self.root = top if top is not None else candidates[0]
        try:
            with signals_deferred():
                if top is None:
                    self._mount(candidates[0])
                if make_instance:
                    self._mkdir()
        except BaseException:
            self.restore()
            raise

    def _mount(self, target: Path) -> None:
        if not target.is_dir():
            raise TracefsError(f"no tracefs: {target} does not exist (is CONFIG_TRACING built into this kernel?)")
        r = subprocess.run(["mount", "-t", "tracefs", "nodev", str(target)], capture_output=True, text=True)
        if r.returncode == 0:
            self.mounted_by_us = target
        if r.returncode != 0 or not (target / "trace").exists():
            raise TracefsError(f"no tracefs mounted, and `mount -t tracefs nodev {target}` failed: {r.stderr.strip()}")
        self.top = self.root = target

    def _mkdir(self) -> None:
        inst = self.top / "instances" / f"{self.prefix}-{os.getpid()}"
        try:
            inst.mkdir()
        except OSError as e:
            self.instance_error = e
            return
        self.instance = self.root = inst

    def make_instance(self) -> None:
        """Make the private instance now (``make_instance=False``); on failure (no
        instances on this kernel) trace into the global buffer (``instance_error``)."""
        if self.instance is None and self.instance_error is None:
            with signals_deferred():
                self._mkdir()

    def read(self, rel: str) -> str:
        return (self.root / rel).read_text()

    def write(self, rel: str, value: str) -> None:
        """Write a control file, remembering its old value the first time (global buffer only).

        Raises :class:`TracefsError` naming the file, the value and the kernel's reason."""
        path = self.root / rel
        try:
            if self.instance is None and rel != "trace" and all(p != path for p, _ in self.saved):
                self.saved.append((path, self._restorable(rel, path.read_text())))
            with open(path, "w") as f:
                f.write(value + "\n")
        except OSError as e:
            why = e.strerror or str(e)
            if e.errno == errno.EINVAL and rel.endswith("/filter"):
                try:  # the kernel explains a filter it cannot parse in the file itself
                    why += ": " + " ".join(path.read_text().split())
                except OSError:
                    pass
            raise TracefsError(f"{path}: cannot write {value!r}: {why}") from None

    @staticmethod
    def _restorable(rel: str, old: str) -> str:
        old = old.strip()
        if rel.endswith("/filter"):
            return "0" if old in ("", "none") else old  # writing 0 clears a filter
        if rel in ("set_event_pid", "set_event_notrace_pid"):
            return " ".join(old.split())  # one pid a line; "" (a truncating write) clears it
        if rel == "buffer_size_kb":
            m = re.search(r"expanded:\s*(\d+)", old)  # "7 (expanded: 1408)": not yet allocated
            return m.group(1) if m else old.split()[0]
        return old.split()[0] if old else "0"

    def enable(self, event: str) -> None:
        """Enable ``system/event``."""
        self.write(f"events/{event}/enable", "1")
        self.enabled.append(event)

    def cpus(self) -> list[int]:
        return sorted(int(p.name[3:]) for p in (self.root / "per_cpu").glob("cpu[0-9]*"))

    def overrun(self) -> int:
        """Events overwritten before being read, summed over CPUs."""
        total = 0
        for st in (self.root / "per_cpu").glob("cpu[0-9]*/stats"):
            m = re.search(r"overrun:\s*(\d+)", st.read_text())
            total += int(m.group(1)) if m else 0
        return total

    def restore(self) -> list[str]:
        """Undo everything (once; signals deferred meanwhile); returns what could not be undone."""
        if self.restored:
            return []
        with signals_deferred():
            self.restored = True
            return self._restore()

    def _restore(self) -> list[str]:
        errors: list[str] = []
        if self.instance is not None:
            try:
                _put(self.instance / "tracing_on", "0\n")
            except FileNotFoundError:
                pass  # already gone (or not a real tracefs): rmdir is what counts
            except OSError as e:
                errors.append(f"tracing_on: {e}")
            for ev in self.enabled:
                try:
                    _put(self.instance / "events" / ev / "enable", "0\n")
                except OSError as e:
                    errors.append(f"{ev}: {e}")
            err = self._rmdir(self.instance)
            if err:
                errors.append(err)
        elif self.saved:
            for path, old in reversed(self.saved):  # tracing_on, written first, comes back last
                try:
                    _put(path, old + "\n")
                except OSError as e:
                    errors.append(f"{path}: {e}")
            try:
                _put(self.top / "trace", "\n")  # drop our events from the global buffer
            except OSError as e:
                errors.append(f"trace: {e}")
        if self.mounted_by_us is not None:
            r = subprocess.run(["umount", str(self.mounted_by_us)], capture_output=True, text=True)
            if r.returncode != 0:
                errors.append(f"umount {self.mounted_by_us}: {r.stderr.strip()}")
        return errors

    @staticmethod
    def _rmdir(inst: Path) -> str | None:
        """Remove the instance, retrying while it is busy (a reader still has a file open)."""
        for attempt in range(30):
            try:
                inst.rmdir()
                return None
            except FileNotFoundError:
                return None
            except OSError as e:
                if e.errno != errno.EBUSY or attempt == 29:
                    try:  # at least give the ring buffer's memory back
                        _put(inst / "tracing_on", "0\n")
                        _put(inst / "buffer_size_kb", "1\n")
                    except OSError:
                        pass
                    return f"rmdir {inst}: {e.strerror or e} (remove it with: rmdir {inst})"
                time.sleep(0.1)
        return None
