"""Record kmem tracepoints of a command through tracefs (what ``kmemsim record`` does).

Like ``perf kmem record`` (whose event sets ``--slab`` and ``--page`` choose
from) but with no tool beyond the kernel's tracefs:

1. find tracefs at /sys/kernel/tracing or /sys/kernel/debug/tracing, mounting it
   on /sys/kernel/tracing if nothing is mounted (and unmounting it at the end);
2. make a private trace instance ``instances/kmemsim-record-<pid>`` (its own ring
   buffer and event switches: the global tracing state is not touched); on a
   kernel without instances, use the global buffer, saving every file it
   changes and writing the saved values back at the end;
3. enable the events, run the command, and meanwhile drain the instance's
   ``trace_pipe`` into the output (gzip when its name ends in ``.gz``) so the
   ring buffer does not overflow; lost-event markers (``CPU:1 [LOST n
   EVENTS]``) stay in the text; progress (events, bytes) goes to a callback;
4. stop tracing, drain what is left, and undo steps 2 and 1 -- in a ``finally``,
   so also when the command fails or the user presses Ctrl-C.

The output is ftrace text with a ``# tracer: nop`` first line and ``#
kmemsim-record:`` comment lines (command, events, kernel, CPUs, overruns),
which :mod:`kmemsim.trace.parse` reads.
"""
from __future__ import annotations

import gzip
import os
import platform
import select
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from kmemsim.errors import KmemsimError
from kmemsim.trace.tracefs import TRACEFS_CANDIDATES, TracefsError, TraceSession
from kmemsim.trace.tracefs import find_tracefs as _find_tracefs

__all__ = ["RecordError", "RecordResult", "record", "SLAB_EVENTS", "PAGE_EVENTS", "find_tracefs"]

#: perf kmem record's sets (tools/perf/builtin-kmem.c ``slab_events``/``page_events``);
#: the ``*_node`` events exist before 6.1 only and are enabled when present.
SLAB_EVENTS = ("kmalloc", "kmalloc_node", "kfree", "kmem_cache_alloc", "kmem_cache_alloc_node", "kmem_cache_free")
PAGE_EVENTS = ("mm_page_alloc", "mm_page_free")
_OPTIONAL = frozenset({"kmalloc_node", "kmem_cache_alloc_node"})


class RecordError(KmemsimError):
    """Recording is impossible here (not root, no tracefs, unknown event)."""


@dataclass
class RecordResult:
    events: int = 0
    bytes: int = 0
    lost_markers: int = 0
    overrun: int = 0
    returncode: int | None = None
    seconds: float = 0.0
    enabled: list[str] = field(default_factory=list)
    interrupted: bool = False


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
        want += [e for e in SLAB_EVENTS]
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
        if not (tracefs / "events" / name / "enable").exists():
            system = name.split("/")[0]
            have = sorted(p.name for p in (tracefs / "events" / system).glob("*") if (p / "enable").exists())
            raise RecordError(
                f"no trace event {name}" + (f"; {system} has: {', '.join(have)}" if have else f" (no system {system})")
            )
        if name not in out:
            out.append(name)
    return out


def record(
    command: list[str],
    output: str | Path,
    *,
    slab: bool = False,
    page: bool = False,
    events: tuple[str, ...] = (),
    buffer_kb: int = 8192,
    progress: Callable[[RecordResult], None] | None = None,
    progress_interval: float = 0.5,
) -> RecordResult:
    """Trace ``command`` into ``output``; see the module docstring.  Raises
    :class:`RecordError` before changing anything when recording is impossible."""
    if not command:
        raise RecordError("no command to run (kmemsim record -o FILE -- COMMAND...)")
    if platform.system() != "Linux":
        raise RecordError("recording needs Linux tracefs")
    if os.geteuid() != 0:
        raise RecordError("recording needs root: tracefs control files are root-only (try sudo)")
    top = find_tracefs()
    if top is None and not TRACEFS_CANDIDATES[0].is_dir():
        raise RecordError(f"no tracefs: {TRACEFS_CANDIDATES[0]} does not exist (is CONFIG_TRACING built in?)")
    out_path = Path(output)
    res = RecordResult()
    try:
        t = TraceSession("kmemsim-record", TRACEFS_CANDIDATES)
    except TracefsError as e:
        raise RecordError(str(e)) from None
    t.write("tracing_on", "0")
    t.write("buffer_size_kb", str(buffer_kb))
    (t.root / "trace").write_text("\n")
    proc: subprocess.Popen | None = None
    f: IO[str] | None = None
    try:
        names = resolve_events(t.top, slab, page, events)
        res.enabled = names
        opener = gzip.open if out_path.name.endswith(".gz") else open
        f = opener(out_path, "wt", encoding="utf-8")  # type: ignore[operator]
        u = os.uname()
        f.write("# tracer: nop\n#\n")
        f.write(f"# kmemsim-record: command: {' '.join(command)}\n")
        f.write(f"# kmemsim-record: events: {' '.join(names)}\n")
        f.write(f"# kmemsim-record: Linux {u.release} {u.machine}, {os.cpu_count()} CPUs, "
                f"{'instance ' + t.instance.name if t.instance else 'global buffer'}\n")  # fmt: skip
        for name in names:
            t.enable(name)
        fd = os.open(t.root / "trace_pipe", os.O_RDONLY | os.O_NONBLOCK)
        pending = b""
        try:
            t0 = time.monotonic()
            t.write("tracing_on", "1")
            proc = subprocess.Popen(command)
            last = 0.0

            def drain(wait: float) -> None:
                nonlocal pending
                r, _, _ = select.select([fd], [], [], wait)
                if not r:
                    return
                while True:
                    try:
                        chunk = os.read(fd, 1 << 16)
                    except BlockingIOError:
                        break
                    if not chunk:
                        break
                    data = pending + chunk
                    cut = data.rfind(b"\n") + 1
                    pending = data[cut:]
                    text = data[:cut].decode("utf-8", "replace")
                    f.write(text)  # type: ignore[union-attr]
                    res.bytes += cut
                    res.events += text.count("\n")
                    res.lost_markers += text.count("[LOST ")
                    if len(chunk) < (1 << 16):
                        break

            try:
                while proc.poll() is None:
                    drain(0.1)
                    now = time.monotonic()
                    if progress is not None and now - last >= progress_interval:
                        progress(res)
                        last = now
            except KeyboardInterrupt:
                res.interrupted = True
                if proc.poll() is None:
                    proc.send_signal(signal.SIGINT)
                    try:
                        proc.wait(timeout=5)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()
            res.returncode = proc.returncode
            (t.root / "tracing_on").write_text("0\n")
            res.seconds = time.monotonic() - t0
            drain(0.05)
            for _ in range(100):  # what is left in the ring buffer
                before = res.bytes
                drain(0.01)
                if res.bytes == before:
                    break
            if pending:
                f.write(pending.decode("utf-8", "replace"))
            res.overrun = t.overrun()
            if res.overrun:
                f.write(f"# kmemsim-record: overrun: {res.overrun} events overwritten in the ring buffer\n")
            if progress is not None:
                progress(res)
        finally:
            os.close(fd)
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        if f is not None:
            f.close()
        errors = t.restore()
        if errors:
            raise RecordError("could not restore the tracing state: " + "; ".join(errors))
    return res
