"""Streaming parsers for kmem traces: ftrace text, ``perf script`` text, ``trace-cmd report``.

One generator reads all three (the format is detected from the first lines, or
given), a line at a time, in constant memory: it keeps only the current line
and, for ``mm_page_alloc``, the event whose callchain lines may follow.  A file
whose first two bytes are the gzip magic (``1f 8b``) is decompressed on the
fly, whatever its name; ``-`` is standard input.

The three formats, as the tools print them (versions checked on the reference
host: Linux 6.18, perf 6.1, trace-cmd 3.1.6)::

    ftrace (tracefs trace / trace_pipe; kernel/trace/trace_output.c):
              sh-31488   [000] .....  5430.231547: kmalloc: call_site=... ptr=00000000af27a959 ...
      with options/record-tgid:  sh-31488  (  31488) [000] .....  5430.2...
      before the irq-info flags:  sh-31488   [000]  5430.231547: kmalloc: ...
      with options/stacktrace:    <the event line>  then  sh-31488 [000] ..... 5430.2: <stack trace>
                                  followed by " => func+0x1a/0x60" lines
    perf script (-F comm,tid,cpu,time,event,trace[,ip,sym]):
                perf  9888 [000]  9652.710461:          kmem:kmalloc: call_site=sched_setaffinity+0x10c ptr=0xffff8881042d3180 ...
      with -g:  "\\tffffffff8161f42b __alloc_frozen_pages_noprof" callchain lines after the event
    trace-cmd report (with libtraceevent's kmem plugin, which prints the call site first):
      cpus=2
                bash-10934 [000]  9800.635054: kmalloc:              (tracepoint_add_func+0x10d) call_site=...
      with -l:  bash-10934   0.....  9800.635054: kmalloc: ...

Every kmem event of every era is understood (see :mod:`kmemsim.tracepoints.events`
for the format history); the fields are read by name, so an unknown extra field
or a new order of fields does not break the parser.  Events of other systems or
unknown kmem events are counted in :attr:`ParseStats.unknown` and skipped.
Markers of lost events (ftrace's ``CPU:1 [LOST 1234 EVENTS]``, trace-cmd's
``CPU:1 [1234 EVENTS DROPPED]``, any ``LOST n events``) are yielded as
:class:`~kmemsim.tracepoints.events.Lost` records and counted; ftrace's header line
``entries-in-buffer/entries-written: A/B`` also tells of ``B - A`` events
overwritten in the ring buffer (:attr:`ParseStats.overwritten`).

A line that none of this explains raises :class:`TraceFormatError` naming the
file and line; with ``lenient=True`` it is counted in
:attr:`ParseStats.malformed` (the first few kept in ``malformed_examples``) and
skipped.
"""
from __future__ import annotations

import gzip
import io
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ..tracepoints.events import (
    EXTFRAG_EVENTS,
    KMEM_EVENTS,
    PAGE_ALLOC_EVENTS,
    PAGE_FREE_EVENTS,
    PAGE_MOVE_EVENTS,
    SLAB_ALLOC_EVENTS,
    SLAB_FREE_EVENTS,
    Event,
    ExtFrag,
    Lost,
    PageAlloc,
    PageFree,
    PageMove,
    SlabAlloc,
    SlabFree,
    TraceFormatError,
)

__all__ = [
    "FORMATS",
    "ParseStats",
    "TraceReader",
    "open_trace",
    "parse",
    "ALLOC_FUNC_RE",
    "TraceFormatError",
]

#: the formats :class:`TraceReader` reads; ``auto`` detects one of them.
FORMATS = ("auto", "ftrace", "perf-script", "trace-cmd")

GZIP_MAGIC = b"\x1f\x8b"

#: Frames of the page allocator itself, skipped when a callchain names the caller
#: of an ``mm_page_alloc``.  perf kmem's pattern (``tools/perf/builtin-kmem.c``
#: ``build_alloc_func_list``) is ``^_?_?(alloc|get_free|get_zeroed)_pages?``;
#: on 6.x kernels the first frame is ``__alloc_frozen_pages_noprof`` or a folio
#: allocator, which that pattern misses (perf 6.1 then names every page
#: allocation after the page allocator's own entry point), so kmemsim also skips
#: the ``frozen``, ``_noprof``/``_mpol`` and folio allocators.
ALLOC_FUNC_RE = re.compile(
    r"^_?_?(?:alloc|get_free|get_zeroed)_(?:frozen_)?pages?|^(?:trace_event_raw_event_|perf_trace_|__traceiter_)"
    r"|^_?_?folio_alloc|^(?:vma_)?alloc_(?:anon_)?folio|^folio_prealloc|^alloc_pages_mpol"
)

# --------------------------------------------------------------------------- lines

#: comm-pid (ftrace, trace-cmd) or "comm tid" (perf), an optional tgid column,
#: [cpu], optional irq flags, the timestamp, the event name and its fields.
_HEAD_RE = re.compile(
    r"\s*(?P<task>.+?)\s+(?:\(\s*[-\d]+\)\s+)?\[(?P<cpu>\d+)\]\s+(?:(?P<flags>\S+)\s+)?"
    r"(?P<ts>\d+(?:\.\d+)?):\s+(?P<event>\S+?):(?:\s+|$)(?P<body>.*?)\s*$"
)
#: trace-cmd report -l (latency format): "bash-10934   0.....  9800.635054: kmalloc: ..."
_HEAD_LAT_RE = re.compile(
    r"\s*(?P<task>.+?)\s+(?P<cpu>\d+)(?P<flags>[^\s\d]\S*)\s+"
    r"(?P<ts>\d+\.\d+):\s+(?P<event>\S+?):(?:\s+|$)(?P<body>.*?)\s*$"
)
#: perf script without the cpu field: "perf  9888  9652.710461: kmem:kmalloc: ..."
_HEAD_NOCPU_RE = re.compile(
    r"\s*(?P<task>.+?)\s+(?P<ts>\d+\.\d+):\s+(?P<event>\S+?):(?:\s+|$)(?P<body>.*?)\s*$"
)
_TGID_RE = re.compile(r"\s\(\s*[-\d]+\)(?=\s|$)")
_PERF_TASK_RE = re.compile(r"^(?P<comm>.*?)\s*(?P<pid>\d+)(?:/(?P<tid>\d+))?$")
_LOST_RE = re.compile(
    r"CPU:\s*(?P<cpu>\d+)\s*\[\s*(?:LOST\s+(?P<n1>\d+)\s+EVENTS|(?P<n2>\d+)\s+EVENTS\s+DROPPED"
    r"|EVENTS\s+DROPPED|LOST\s+EVENTS)\s*\]",
    re.IGNORECASE,
)
_LOST_ANY_RE = re.compile(r"\bLOST\s+(?P<n>\d+)\s+(?:EVENTS|CHUNKS)\b", re.IGNORECASE)
_ENTRIES_RE = re.compile(r"entries-in-buffer/entries-written:\s*(\d+)/(\d+)(?:\s+#P:(\d+))?")
#: kmemsim record's note of events overwritten in the ring buffer
_OVERRUN_RE = re.compile(r"^# kmemsim-record: overrun: (\d+)")
_TRACECMD_INFO_RE = re.compile(r"^(?:cpus=\d+|version\s*=\s*\d+|CPU\s+\d+\s+is\s+empty|trace-cmd:.*)$")
_PERF_FRAME_RE = re.compile(r"^\s*(?P<addr>[0-9a-fA-F]+)\s+(?P<sym>\S+)")

# Fast paths for the fields of each event shape, in every era's order; anything
# else goes through the generic key=value reader.
_SLAB_ALLOC_RE = re.compile(
    r"call_site=(\S+) ptr=(\S+)(?: name=(\S+))? bytes_req=(\d+) bytes_alloc=(\d+) gfp_flags=(\S*)"
    r"(?: node=(-?\d+))?(?: accounted=(true|false))?$"
)
_SLAB_FREE_RE = re.compile(r"call_site=(\S+) ptr=(\S+)(?: name=(\S+))?$")
_PAGE_ALLOC_RE = re.compile(r"page=(\S+) pfn=(\S+) order=(\d+) migratetype=(-?\d+) gfp_flags=(\S*)$")
_PAGE_FREE_RE = re.compile(r"page=(\S+) pfn=(\S+) order=(\d+)(?: cold=\d+)?$")
_PAGE_MOVE_RE = re.compile(r"page=(\S+) pfn=(\S+) order=(\d+) migratetype=(-?\d+)(?: percpu_refill=(-?\d+))?$")

_NS_SCALE = tuple(10 ** (9 - n) for n in range(10))
#: the event token of a line ("kmalloc:", perf's "kmem:kmalloc:") -> (event, shape)
_SHAPES = {
    **dict.fromkeys(SLAB_ALLOC_EVENTS, 0),
    **dict.fromkeys(SLAB_FREE_EVENTS, 1),
    "mm_page_alloc": 2,
    "mm_page_free": 3,
    "mm_page_free_batched": 3,
}
_FAST_EVENTS = {
    **{f"{e}:": (e, c) for e, c in _SHAPES.items()},
    **{f"kmem:{e}:": (e, c) for e, c in _SHAPES.items()},
}
#: the fields each shape's record takes, in the record's order; a layout lacking
#: one of the optional ones gives "" for it
_SHAPE_FIELDS = {
    0: ("call_site", "ptr", "name", "bytes_req", "bytes_alloc", "gfp_flags", "node", "accounted"),
    1: ("call_site", "ptr", "name"),
    2: ("page", "pfn", "order", "migratetype", "gfp_flags"),
    3: ("pfn", "order"),
}
_SHAPE_REQUIRED = {
    0: {"call_site", "ptr", "bytes_req", "bytes_alloc"},
    1: {"call_site", "ptr"},
    2: {"pfn", "order", "migratetype"},
    3: {"pfn"},
}


def _learn_layout(shape: int, body: str) -> tuple | None:
    """(regex match, group indexes) for lines whose fields come in ``body``'s
    order: each ``key=value`` becomes ``key=([^ ]*)``, a field the record
    wants but the layout lacks an empty group at the end."""
    keys = []
    for tok in body.split():
        k, eq, _v = tok.partition("=")
        if not eq or not k or k in keys:
            return None
        keys.append(k)
    if not _SHAPE_REQUIRED[shape] <= set(keys):
        return None
    wanted = _SHAPE_FIELDS[shape]
    present = [k for k in keys if k in wanted]
    in_order = present == [k for k in wanted if k in present]
    segs: list[str] = []
    order: list[str] = []  # the record's fields in the order of the regex's groups
    for i, k in enumerate(keys):
        # "[^ ]" is much faster in CPython's re than "[^ \\n]": only the last value may meet the newline
        cls = "[^ \\n]*" if i == len(keys) - 1 else "[^ ]*"
        if k not in wanted:
            segs.append(f"{re.escape(k)}={cls}")
            continue
        empty = ""
        if in_order:  # a field this layout lacks: an empty group where the record wants it
            for w in wanted[: wanted.index(k)]:
                if w not in present and w not in order:
                    empty += "()"
                    order.append(w)
        segs.append(f"{empty}{re.escape(k)}=({cls})")
        order.append(k)
    tail = ""
    for w in wanted:
        if w not in order:
            tail += "()"
            order.append(w)
    rx = re.compile(" ".join(segs) + tail + r"\n?$")
    idx = tuple(order.index(k) + 1 for k in wanted)
    return (rx.match, None if idx == tuple(range(1, len(wanted) + 1)) else idx)

_NULLS = frozenset({"(null)", "(nil)", "0", "0x0", "NULL"})


def _ts_ns(s: str) -> int:
    """``"5430.231547"`` -> 5430231547000 (nanoseconds, exactly: no float on the way)."""
    i = s.find(".")
    if i < 0:
        return int(s) * 1_000_000_000
    frac = s[i + 1 :]
    if len(frac) > 9:
        frac = frac[:9]
    return int(s[:i]) * 1_000_000_000 + int(frac) * _NS_SCALE[len(frac)]


def _ptr(s: str) -> int:
    """A ``%p`` value: hashed or real hex, with or without ``0x``; NULL spellings are 0."""
    if s in _NULLS:
        return 0
    return int(s, 16)


def _pfn(s: str) -> int:
    """``pfn=0x%lx`` (5.5+) or ``pfn=%lu`` (before)."""
    return int(s, 16) if s[:2] in ("0x", "0X") else int(s)


def _bool(s: str) -> bool:
    if s == "true":
        return True
    if s == "false":
        return False
    raise ValueError(f"accounted={s!r} is neither true nor false")


def _fields(body: str) -> dict[str, str]:
    """The generic reader: ``key=value`` tokens (a leading ``(...)`` token, the
    trace-cmd kmem plugin's call site, is dropped)."""
    out: dict[str, str] = {}
    for tok in body.split():
        k, eq, v = tok.partition("=")
        if eq:
            out[k] = v
    return out


# --------------------------------------------------------------------------- input


def open_trace(path: str | Path | IO[str] | IO[bytes]) -> tuple[IO[str], str]:
    """(text stream, name) for a path (gzip detected by its magic bytes, or by a
    ``.gz`` name when the file is empty), ``-`` for stdin, or an open stream."""
    if isinstance(path, (str, Path)):
        name = str(path)
        if name == "-":
            raw = sys.stdin.buffer
            head = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
            if head == GZIP_MAGIC:
                return io.TextIOWrapper(gzip.GzipFile(fileobj=raw), encoding="utf-8", errors="replace"), "<stdin>"
            return io.TextIOWrapper(raw, encoding="utf-8", errors="replace"), "<stdin>"
        f = open(path, "rb")  # noqa: SIM115 - returned to the caller
        head = f.read(2)
        f.seek(0)
        if head == GZIP_MAGIC:
            return io.TextIOWrapper(gzip.GzipFile(fileobj=f), encoding="utf-8", errors="replace"), name
        return io.TextIOWrapper(f, encoding="utf-8", errors="replace"), name
    name = getattr(path, "name", "<stream>")
    if isinstance(path, io.TextIOBase) or hasattr(path, "encoding"):
        return path, str(name)  # type: ignore[return-value]
    raw = path
    if hasattr(raw, "peek"):
        head = raw.peek(2)[:2]
    elif raw.seekable():
        head = raw.read(2)
        raw.seek(-len(head), io.SEEK_CUR)
    else:
        raw = io.BufferedReader(raw)  # type: ignore[arg-type]
        head = raw.peek(2)[:2]
    if head == GZIP_MAGIC:
        return io.TextIOWrapper(gzip.GzipFile(fileobj=raw), encoding="utf-8", errors="replace"), str(name)  # type: ignore[arg-type]
    return io.TextIOWrapper(raw, encoding="utf-8", errors="replace"), str(name)  # type: ignore[arg-type]


@dataclass
class ParseStats:
    """What a :class:`TraceReader` saw, filled as it reads."""

    #: "ftrace", "perf-script" or "trace-cmd" once detected; "" before the first event.
    format: str = ""
    lines: int = 0
    #: records yielded, per kind (complete once the iteration ends or is closed)
    events: Counter = field(default_factory=Counter)
    #: well-formed event lines of events the parsers do not model, per event name
    unknown: Counter = field(default_factory=Counter)
    #: events the lost-event markers report (markers without a number count 0 here)
    lost_events: int = 0
    lost_markers: int = 0
    #: ftrace header: entries-written minus entries-in-buffer (overwritten in the ring buffer)
    overwritten: int = 0
    #: CPUs the header names (ftrace ``#P:``, trace-cmd ``cpus=``); 0 if unknown
    cpus: int = 0
    #: malformed lines skipped (``lenient=True`` only) and the first few (lineno, reason)
    malformed: int = 0
    malformed_examples: list = field(default_factory=list)
    #: callchain lines read (perf script -g, ftrace stacktrace)
    callchain_lines: int = 0
    #: an ftrace header was present (``# tracer:``)
    header: bool = False
    #: event lines read by the general path (the first of each layout, and lines the
    #: fast path does not fit); the rest took the fast path
    general_path: int = 0

    @property
    def total_events(self) -> int:
        return sum(self.events.values())

    def summary(self) -> str:
        """One paragraph for the end of a report."""
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.events.items()) if k != "lost")
        parts = [f"{self.lines} lines, format {self.format or 'unknown'}: {kinds or 'no events'}"]
        if self.unknown:
            parts.append(
                "unknown events skipped: " + ", ".join(f"{k} {n}" for k, n in sorted(self.unknown.items()))
            )
        if self.lost_markers or self.overwritten:
            parts.append(
                f"lost events: {self.lost_events} in {self.lost_markers} markers"
                + (f", {self.overwritten} overwritten in the ring buffer" if self.overwritten else "")
            )
        if self.malformed:
            parts.append(f"malformed lines skipped: {self.malformed}")
        return "; ".join(parts)


class TraceReader:
    """Iterate the kmem events of a trace; :attr:`stats` fills as it goes.

    >>> r = TraceReader(["  sh-1  [000] .....  1.000001: kfree: call_site=f+0x1/0x2 ptr=00000000000000ab"])
    >>> [(e.kind, e.ptr) for e in r]
    [('kfree', 171)]
    >>> r.stats.format
    'ftrace'

    ``source``: a path, ``-``, an open stream, or any iterable of lines.
    ``fmt``: one of :data:`FORMATS`; a given format that the first event line
    contradicts is an error.  ``lenient``: count and skip malformed lines
    instead of raising :class:`TraceFormatError`.
    """

    def __init__(
        self,
        source: str | Path | IO[str] | IO[bytes] | Iterable[str],
        *,
        fmt: str = "auto",
        lenient: bool = False,
        name: str | None = None,
    ) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown trace format {fmt!r}: expected one of {', '.join(FORMATS)}")
        self._source = source
        self.fmt = fmt
        self.lenient = lenient
        self.stats = ParseStats()
        if name is None:
            name = str(source) if isinstance(source, (str, Path)) else getattr(source, "name", "<lines>")
        self.name = str(name)

    # ------------------------------------------------------------------ errors

    def _bad(self, lineno: int, reason: str, line: str) -> None:
        if not self.lenient:
            raise TraceFormatError(self.name, lineno, reason, line.rstrip("\n"))
        st = self.stats
        st.malformed += 1
        if len(st.malformed_examples) < 5:
            st.malformed_examples.append((lineno, reason))

    def _detect(self, fmt: str, lineno: int, line: str) -> None:
        st = self.stats
        if st.format:
            return
        if self.fmt != "auto" and fmt != self.fmt:
            # ftrace and trace-cmd lines can look alike: trust the caller when only those two differ
            if {fmt, self.fmt} <= {"ftrace", "trace-cmd"}:
                st.format = self.fmt
                return
            raise TraceFormatError(self.name, lineno, f"expected {self.fmt} text, this line is {fmt} text", line)
        st.format = fmt

    # ------------------------------------------------------------------ iteration

    def __iter__(self) -> Iterator[Event]:
        src = self._source
        if isinstance(src, (str, Path)) or hasattr(src, "read"):
            stream, name = open_trace(src)  # type: ignore[arg-type]
            if self.name in ("<lines>", str(src)):
                self.name = name
            close = isinstance(src, (str, Path)) and str(src) != "-"
            return self._events(stream, stream if close else None)
        return self._events(src)  # type: ignore[arg-type]

    def _events(self, lines: Iterable[str], close: IO[str] | None = None) -> Iterator[Event]:  # noqa: C901
        """The main loop, kept flat for speed; ``close`` is closed at the end."""
        st = self.stats
        events: dict[str, int] = dict.fromkeys((*KMEM_EVENTS, "lost"), 0)
        unknown = st.unknown
        slab_alloc_match = _SLAB_ALLOC_RE.match
        slab_free_match = _SLAB_FREE_RE.match
        page_alloc_match = _PAGE_ALLOC_RE.match
        page_free_match = _PAGE_FREE_RE.match
        new = tuple.__new__
        nulls = _NULLS
        scale = _NS_SCALE
        slab_allocs, slab_frees = SLAB_ALLOC_EVENTS, SLAB_FREE_EVENTS
        pending: PageAlloc | None = None  # an mm_page_alloc whose callchain may follow
        pending_site: str | None = None
        lineno = 0
        task_cache: dict[str, tuple[str, int]] = {}
        # event -> [event, shape, fields match, group order, [other layouts]]; a layout is
        # learnt from the first line of the event that the general path reads
        layouts: dict[str, list] = {}
        fast_events = {
            etok: layouts.setdefault(e, [e, c, None, None, []]) for etok, (e, c) in _FAST_EVENTS.items()
        }
        cpu_cache: dict[str, int] = {f"[{c:03d}]": c for c in range(256)}
        node_int = {str(n): n for n in range(-1, 64)}.__getitem__
        fast_ok = False  # once the format is known
        fast_fmt = 0
        nsplit, nparts = 5, 6
        try:
            for line in lines:
                lineno += 1
                # ---------------------------------------------------------- the common events, fastest:
                # split the head off at whitespace, then the fields with a regex made for
                # the layout this trace prints (learnt from its first line of each event)
                if fast_ok:
                    parts = line.split(None, nsplit)
                    if len(parts) == nparts:
                        if fast_fmt == 0:  # ftrace: task [cpu] flags ts: event: fields
                            task, cpu_s, _fl, ts_s, etok, body = parts
                        elif fast_fmt == 1:  # perf script: comm tid [cpu] ts: kmem:event: fields
                            comm, task, cpu_s, ts_s, etok, body = parts
                        else:  # trace-cmd: task [cpu] ts: event: fields
                            task, cpu_s, ts_s, etok, body = parts
                            if body[:1] == "(":
                                body = body.partition(") ")[2]
                        fe = fast_events.get(etok)
                        cpu = cpu_cache.get(cpu_s)
                        if fe is not None and cpu is not None and ts_s[-1:] == ":":
                            event, code, lay_match, idx, more = fe
                            f = lay_match(body) if lay_match is not None else None
                            if f is None and more:
                                for lay_match, idx in more:
                                    f = lay_match(body)
                                    if f is not None:
                                        break
                            if f is not None:
                                try:
                                    ts = (
                                        int(ts_s[:-1].replace(".", "")) * 1000
                                        if ts_s[-8:-7] == "."
                                        else _ts_ns(ts_s[:-1])
                                    )
                                    if fast_fmt == 1:
                                        pid = int(task)
                                    else:
                                        tp = task_cache.get(task)
                                        if tp is None:
                                            tp = task_cache[task] = self._task(task)
                                        comm, pid = tp
                                    if code == 0:
                                        cs, p, cname, req, alloc, gfp, node, acc = f.groups() if idx is None else f.group(*idx)
                                        ev = new(SlabAlloc, (
                                            event, ts, cpu, pid, comm, cs, 0 if p in nulls else int(p, 16), int(req),
                                            int(alloc), gfp, node_int(node) if node else None, cname or None,
                                            (acc == "true") if acc else None,
                                        ))  # fmt: skip
                                    elif code == 1:
                                        cs, p, cname = f.groups() if idx is None else f.group(*idx)
                                        ev = new(SlabFree, (
                                            event, ts, cpu, pid, comm, cs, 0 if p in nulls else int(p, 16), cname or None
                                        ))  # fmt: skip
                                    elif code == 2:
                                        page, pfn, order, mt, gfp = f.groups() if idx is None else f.group(*idx)
                                        pfn_i = _pfn(pfn)
                                        if pfn_i == 0 and (not page or _ptr(page) == 0):
                                            pfn_i = -1
                                        ev = new(PageAlloc, (event, ts, cpu, pid, comm, pfn_i, int(order), int(mt), gfp, None))
                                    else:
                                        pfn, order = f.groups() if idx is None else f.group(*idx)
                                        ev = new(PageFree, (event, ts, cpu, pid, comm, _pfn(pfn), int(order)))
                                except ValueError:
                                    pass  # the general path below says what is wrong
                                else:
                                    if pending is not None:
                                        yield pending if pending_site is None else new(PageAlloc, (*pending[:9], pending_site))
                                        pending = None
                                    events[event] += 1
                                    if code == 2:
                                        pending = ev
                                        pending_site = None
                                        continue
                                    yield ev
                                    continue
                # ---------------------------------------------------------- callchains
                c0 = line[:1]
                if c0 == "\t" or line.startswith(" => "):
                    st.callchain_lines += 1
                    if pending is not None and pending_site is None:
                        if c0 == "\t":
                            fm = _PERF_FRAME_RE.match(line)
                            sym = fm.group("sym") if fm else ""
                        else:
                            sym = line[4:].strip()
                        func = sym.partition("+")[0]
                        if func and func != "[unknown]" and not ALLOC_FUNC_RE.match(func):
                            pending_site = func
                    continue
                # ---------------------------------------------------------- the general path: the head
                # "<task> [cpu] [flags] <sec.usec>: <event>: <fields>" by string operations,
                # then (below) the regexes for what they cannot read
                event = None
                if c0 != "#":
                    i = line.find(": ")
                    if i > 0:
                        parts = line[:i].split()
                        np = len(parts)
                        if np >= 3:
                            ts_s = parts[-1]
                            cpu_s = parts[-2]
                            flags = None
                            ntask = np - 2
                            if cpu_s[0] != "[" and np >= 4:
                                flags = cpu_s
                                cpu_s = parts[-3]
                                ntask = np - 3
                            dot = ts_s.find(".")
                            rest = line[i + 2 :].lstrip()
                            j = rest.find(": ")
                            if (
                                cpu_s[0] == "["
                                and cpu_s[-1] == "]"
                                and cpu_s[1:-1].isdigit()
                                and dot > 0
                                and ts_s[:dot].isdigit()
                                and ts_s[dot + 1 :].isdigit()
                                and (j > 0 or rest.rstrip().endswith(":"))
                            ):
                                cpu = int(cpu_s[1:-1])
                                frac = ts_s[dot + 1 :]
                                ts = int(ts_s[:dot]) * 1_000_000_000 + (
                                    int(frac) * scale[len(frac)] if len(frac) <= 9 else int(frac[:9])
                                )
                                if j > 0:
                                    event = rest[:j]
                                    body = rest[j + 2 :].strip()
                                else:
                                    event = rest.rstrip()[:-1]
                                    body = ""
                                task = parts[0] if ntask == 1 else " ".join(parts[:ntask])
                                if not st.format:
                                    self._detect(
                                        "perf-script" if ":" in event else ("ftrace" if flags is not None else "trace-cmd"),
                                        lineno,
                                        line,
                                    )
                if event is None:
                    # ------------------------------------------------------ everything else
                    s = line.strip()
                    if not s:
                        continue
                    if s[0] == "#":
                        self._header(s, lineno)
                        continue
                    m = _HEAD_RE.match(line) or _HEAD_LAT_RE.match(line) or _HEAD_NOCPU_RE.match(line)
                    if m is None:
                        lm = _LOST_RE.search(s) or _LOST_ANY_RE.search(s)
                        if lm is not None:
                            ev = self._lost(lm, s)
                            if pending is not None:
                                yield pending if pending_site is None else new(PageAlloc, (*pending[:9], pending_site))
                                pending = None
                            events["lost"] += 1
                            yield ev
                            continue
                        if _TRACECMD_INFO_RE.match(s):
                            if s.startswith("cpus="):
                                st.cpus = int(s[5:])
                                self._detect("trace-cmd", lineno, line)
                            continue
                        if s.endswith("<stack trace>") or s.endswith("<user stack trace>"):
                            st.callchain_lines += 1
                            continue
                        self._bad(lineno, "not a trace event line", line)
                        continue
                    gd = m.groupdict()
                    event = gd["event"]
                    body = gd["body"]
                    task = gd["task"]
                    cpu = int(gd["cpu"]) if gd.get("cpu") is not None else -1
                    ts_s = gd["ts"]
                    dot = ts_s.find(".")
                    ts = _ts_ns(ts_s)
                    if not st.format:
                        self._detect(
                            "perf-script" if ":" in event else ("trace-cmd" if m.re is not _HEAD_RE else "ftrace"),
                            lineno,
                            line,
                        )
                if pending is not None:
                    yield pending if pending_site is None else new(PageAlloc, (*pending[:9], pending_site))
                    pending = None
                if ":" in event:
                    system, _, event = event.rpartition(":")
                    if system != "kmem":
                        unknown[f"{system}:{event}"] += 1
                        continue
                # ---------------------------------------------------------- the task
                tp = task_cache.get(task)
                if tp is None:
                    tp = self._task(task)
                    if len(task_cache) < 65536:
                        task_cache[task] = tp
                comm, pid = tp
                if body[:1] == "(":  # trace-cmd's kmem plugin: "(func+off) call_site=..."
                    body = body.partition(") ")[2]
                # ---------------------------------------------------------- the fields
                kind_code = 0
                try:
                    if event in slab_allocs:
                        f = slab_alloc_match(body)
                        if f is not None:
                            cs, p, cname, req, alloc, gfp, node, acc = f.groups()
                            ev = new(SlabAlloc, (
                                event, ts, cpu, pid, comm, cs, 0 if p in nulls else int(p, 16), int(req), int(alloc),
                                gfp, int(node) if node is not None else None, cname,
                                (acc == "true") if acc is not None else None,
                            ))  # fmt: skip
                        else:
                            d = _fields(body)
                            node = d.get("node")
                            acc = d.get("accounted")
                            ev = SlabAlloc(
                                event, ts, cpu, pid, comm, d["call_site"], _ptr(d["ptr"]), int(d["bytes_req"]),
                                int(d["bytes_alloc"]), d.get("gfp_flags", ""),
                                int(node) if node is not None else None, d.get("name"),
                                _bool(acc) if acc is not None else None,
                            )  # fmt: skip
                    elif event in slab_frees:
                        f = slab_free_match(body)
                        if f is not None:
                            cs, p, cname = f.groups()
                            ev = new(SlabFree, (event, ts, cpu, pid, comm, cs, 0 if p in nulls else int(p, 16), cname))
                        else:
                            d = _fields(body)
                            ev = SlabFree(event, ts, cpu, pid, comm, d["call_site"], _ptr(d["ptr"]), d.get("name"))
                    elif event in PAGE_ALLOC_EVENTS:
                        kind_code = 2
                        f = page_alloc_match(body)
                        if f is not None:
                            page, pfn, order, mt, gfp = f.groups()
                        else:
                            d = _fields(body)
                            page, pfn, order, mt, gfp = (
                                d.get("page"), d["pfn"], d["order"], d["migratetype"], d.get("gfp_flags", "")
                            )  # fmt: skip
                        pfn_i = _pfn(pfn)
                        if pfn_i == 0 and (page is None or _ptr(page) == 0):
                            pfn_i = -1  # a failed allocation: NULL page, and the raw pfn field is -1UL
                        ev = PageAlloc(event, ts, cpu, pid, comm, pfn_i, int(order), int(mt), gfp, None)
                    elif event in PAGE_FREE_EVENTS:
                        f = page_free_match(body)
                        if f is not None:
                            _page, pfn, order = f.groups()
                        else:
                            d = _fields(body)
                            pfn, order = d["pfn"], d.get("order", "0")
                        ev = PageFree(event, ts, cpu, pid, comm, _pfn(pfn), int(order))
                    elif event in PAGE_MOVE_EVENTS:
                        f = _PAGE_MOVE_RE.match(body)
                        if f is not None:
                            _page, pfn, order, mt, refill = f.groups()
                        else:
                            d = _fields(body)
                            pfn, order, mt, refill = d["pfn"], d["order"], d["migratetype"], d.get("percpu_refill")
                        if event == "mm_page_pcpu_drain":
                            refill = None
                        ev = PageMove(
                            event, ts, cpu, pid, comm, _pfn(pfn), int(order), int(mt),
                            int(refill) if refill is not None else None,
                        )  # fmt: skip
                    elif event in EXTFRAG_EVENTS:
                        d = _fields(body)
                        ev = ExtFrag(
                            event, ts, cpu, pid, comm, _pfn(d["pfn"]), int(d["alloc_order"]), int(d["fallback_order"]),
                            int(d.get("pageblock_order", "-1")), int(d["alloc_migratetype"]),
                            int(d["fallback_migratetype"]), int(d.get("fragmenting", "-1")),
                            int(d.get("change_ownership", "-1")),
                        )  # fmt: skip
                    else:
                        unknown[event] += 1
                        continue
                except KeyError as e:
                    self._bad(lineno, f"{event}: no field {e.args[0]}=", line)
                    continue
                except ValueError as e:
                    self._bad(lineno, f"{event}: {e}", line)
                    continue
                events[event] += 1
                st.general_path += 1
                lay = layouts.get(event)
                if lay is not None and len(lay[4]) < 3:
                    learnt = _learn_layout(lay[1], body)
                    if learnt is not None:
                        if lay[2] is None:
                            lay[2], lay[3] = learnt
                        elif learnt != (lay[2], lay[3]) and learnt not in lay[4]:
                            lay[4].append(learnt)
                if not fast_ok and st.format:
                    fast_ok = True
                    fast_fmt = {"ftrace": 0, "perf-script": 1}.get(st.format, 2)
                    nsplit, nparts = (4, 5) if fast_fmt == 2 else (5, 6)
                if kind_code == 2:  # mm_page_alloc: held until its callchain, if any, is read
                    pending = ev
                    pending_site = None
                    continue
                yield ev
            if pending is not None:
                yield pending if pending_site is None else new(PageAlloc, (*pending[:9], pending_site))
        finally:
            for k, n in events.items():
                if n:
                    st.events[k] += n
            st.lines = lineno
            if close is not None:
                close.close()

    # ------------------------------------------------------------------ pieces

    def _task(self, task: str) -> tuple[str, int]:
        """(comm, pid) of the task column: ``comm-pid`` (ftrace, trace-cmd) or
        ``comm tid``/``comm pid/tid`` (perf script)."""
        task = _TGID_RE.sub(" ", task).strip()
        m = _PERF_TASK_RE.match(task)
        if m is not None and (m.group("comm") == "" or task[m.start("pid") - 1 : m.start("pid")].isspace()):
            tid = m.group("tid") or m.group("pid")
            return m.group("comm").strip(), int(tid)
        comm, dash, pid = task.rpartition("-")
        if dash and pid.isdigit():
            return comm.strip(), int(pid)
        return task.strip(), -1

    def _header(self, s: str, lineno: int) -> None:
        st = self.stats
        if s.startswith("# tracer:"):
            st.header = True
            self._detect("ftrace", lineno, s)
            return
        m = _OVERRUN_RE.search(s)
        if m:
            st.overwritten += int(m.group(1))
            return
        m = _ENTRIES_RE.search(s)
        if m:
            in_buf, written = int(m.group(1)), int(m.group(2))
            st.overwritten += max(0, written - in_buf)
            if m.group(3):
                st.cpus = int(m.group(3))

    def _lost(self, m: re.Match[str], s: str) -> Lost:
        st = self.stats
        gd = m.groupdict()
        n_s = gd.get("n1") or gd.get("n2") or gd.get("n")
        n = int(n_s) if n_s else -1
        st.lost_markers += 1
        if n > 0:
            st.lost_events += n
        cpu = int(gd["cpu"]) if gd.get("cpu") else -1
        return Lost("lost", -1, cpu, -1, "", n)


def parse(
    source: str | Path | IO[str] | IO[bytes] | Iterable[str],
    *,
    fmt: str = "auto",
    lenient: bool = False,
    stats: ParseStats | None = None,
) -> Iterator[Event]:
    """Generator of the events of ``source`` (see :class:`TraceReader`).

    Pass ``stats`` to have a :class:`ParseStats` filled as the generator runs.
    """
    r = TraceReader(source, fmt=fmt, lenient=lenient)
    if stats is not None:
        r.stats = stats
    return iter(r)
