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
                perf  9888 [000]  9652.710461:  kmem:kmalloc: call_site=sched_setaffinity+0x10c ptr=0xffff88810...
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
skipped.  So is a field out of its range: a pointer outside 64 bits, an
``order`` above :data:`MAX_ORDER_LIMIT`, a CPU at or above :data:`MAX_CPUS`, a
pfn outside 52 bits of physical address.  The bytes are read by
:mod:`kmemsim.trace.source` (gzip, line-length and decompression limits, damage).

Two implementations read the common lines, with identical results: the compiled
scanner :mod:`kmemsim.trace._kmemscan` (a C extension, built when a compiler is
there) and the pure-Python fast path below; each takes a line only when every
field matches its grammar (:data:`FAST_GRAMMAR`), and hands anything else to
the general path, written once, in Python.
"""
from __future__ import annotations

import importlib
import io
import itertools
import re
import sys
import warnings
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator
from pathlib import Path
from types import ModuleType
from typing import IO, Any

from ..records import Record
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
from .source import GZIP_MAGIC, Source, TraceInputError, open_source

#: What this kmemsim uses of the compiled module, by type (tests/test_trace_engines.py checks
#: that every scanner method used here and slab-core method used in stat.py is listed).  A build that
#: lacks any of it (a ``.so`` left in a checkout by an older kmemsim, not rebuilt by ``pip
#: install -e .``) is not used: the pure-Python engine runs instead, with a warning.
SCANNER_API: dict[str, tuple[str, ...]] = {
    "Scanner": ("attach", "fmt", "note_ts", "pending", "pending_site", "scan", "set_layouts",
                "take_callchain_lines", "take_counts", "take_unordered"),
    "SlabCore": ("caller_stat", "lifetime_hist", "live_objects", "live_totals", "page_counters",
                 "process", "ptr_stat", "waste"),
    "EventBuf": ("append", "extend"),
}
#: the records the scanner makes, by shape (its classes; an EventBuf's)
_RECORD_CLASSES = (SlabAlloc, SlabFree, PageAlloc, PageFree)
#: the fewest events of an EventBuf that batches(packed=True) gives, but the last
PACKED_BATCH = 4096


class StaleScannerWarning(RuntimeWarning):
    """The compiled scanner on the path is older than this kmemsim; the Python engine runs."""


def _missing_api(mod: Any) -> list[str]:
    """The names of :data:`SCANNER_API` that ``mod`` lacks (``Type.name``)."""
    out = []
    for tname, names in SCANNER_API.items():
        t = getattr(mod, tname, None)
        out += [f"{tname}.{n}" for n in names if t is None or not hasattr(t, n)]
    return out


def _load_compiled() -> ModuleType | None:
    try:  # the compiled scanner, when it was built (setup.py; optional)
        mod = importlib.import_module("kmemsim.trace._kmemscan")  # an extension module
    except ImportError:  # pragma: no cover - depends on the build
        return None
    missing = _missing_api(mod)
    if missing:
        warnings.warn(
            f"kmemsim: the compiled trace scanner {getattr(mod, '__file__', '?')} was built from an "
            f"older kmemsim (it lacks {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}); "
            "using the pure-Python engine (same output, slower). Rebuild it: pip install -e .",
            StaleScannerWarning, stacklevel=2)
        return None
    return mod


_kmemscan: ModuleType | None = _load_compiled()

__all__ = [
    "FORMATS",
    "ENGINES",
    "ParseStats",
    "TraceReader",
    "open_trace",
    "parse",
    "compiled_scanner",
    "sniff_stacks",
    "ALLOC_FUNC_RE",
    "FAST_GRAMMAR",
    "MAX_ORDER_LIMIT",
    "MAX_CPUS",
    "TraceFormatError",
    "TraceInputError",
]

#: the formats :class:`TraceReader` reads; ``auto`` detects one of them.
FORMATS = ("auto", "ftrace", "perf-script", "trace-cmd")
#: how the common lines are read: ``auto`` (compiled if built, else python), ``compiled``,
#: ``python`` (the pure-Python fast path), ``general`` (every line by the general path: tests)
ENGINES = ("auto", "compiled", "python", "general")

#: Limits on an event's fields (larger is a malformed line): the page order, at most
#: ``SECTION_SIZE_BITS - PAGE_SHIFT`` (15 on x86_64; the kernel checks ``MAX_PAGE_ORDER +
#: PAGE_SHIFT <= SECTION_SIZE_BITS``; 6.18 x86_64 has MAX_PAGE_ORDER 10) ...
MAX_ORDER_LIMIT = 15
#: ... the CPU (x86 CONFIG_NR_CPUS is at most 8192, with MAXSMP) ...
MAX_CPUS = 8192
#: ... pfns within 52 bits of physical address, pointers and sizes within 64 bits.
PFN_LIMIT = 1 << 52
WORD_LIMIT = 1 << 64

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
#: frames of the tracing machinery itself, left out of the stacks kept for ``--folded``
TRACE_FRAME_RE = re.compile(r"^(?:trace_event_raw_event_|perf_trace_|__traceiter_|trace_call_bpf|perf_tp_event)")


class _LazyRe:
    """A regex of the general path, compiled on first use: the compiled scanner and the fast
    path read most traces without any of them (compiling the 16 is 1.3 ms of every import).
    ``match``, ``search`` and ``sub`` are then the compiled pattern's own bound methods."""

    __slots__ = ("pattern", "flags", "rx", "match", "search", "sub")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern = pattern
        self.flags = flags

    def __getattr__(self, name: str) -> Any:  # an attribute not set yet: the first use
        rx = self.rx = re.compile(self.pattern, self.flags)
        self.match, self.search, self.sub = rx.match, rx.search, rx.sub
        return rx if name == "rx" else getattr(rx, name)


# --------------------------------------------------------------------------- lines

#: comm-pid (ftrace, trace-cmd) or "comm tid" (perf), an optional tgid column,
#: [cpu], optional irq flags, the timestamp, the event name and its fields.
_HEAD_RE = _LazyRe(
    r"\s*(?P<task>.+?)\s+(?:\(\s*[-\d]+\)\s+)?\[(?P<cpu>\d+)\]\s+(?:(?P<flags>\S+)\s+)?"
    r"(?P<ts>\d+(?:\.\d+)?):\s+(?P<event>\S+?):(?:\s+|$)(?P<body>.*?)\s*$"
)
#: trace-cmd report -l (latency format): "bash-10934   0.....  9800.635054: kmalloc: ..."
_HEAD_LAT_RE = _LazyRe(
    r"\s*(?P<task>.+?)\s+(?P<cpu>\d+)(?P<flags>[^\s\d]\S*)\s+"
    r"(?P<ts>\d+\.\d+):\s+(?P<event>\S+?):(?:\s+|$)(?P<body>.*?)\s*$"
)
#: perf script without the cpu field: "perf  9888  9652.710461: kmem:kmalloc: ..."
_HEAD_NOCPU_RE = _LazyRe(
    r"\s*(?P<task>.+?)\s+(?P<ts>\d+\.\d+):\s+(?P<event>\S+?):(?:\s+|$)(?P<body>.*?)\s*$"
)
_TGID_RE = _LazyRe(r"\s\(\s*[-\d]+\)(?=\s|$)")
_PERF_TASK_RE = _LazyRe(r"^(?P<comm>.*?)\s*(?P<pid>\d+)(?:/(?P<tid>\d+))?$")
_LOST_RE = _LazyRe(
    r"CPU:\s*(?P<cpu>\d+)\s*\[\s*(?:LOST\s+(?P<n1>\d+)\s+EVENTS|(?P<n2>\d+)\s+EVENTS\s+DROPPED"
    r"|EVENTS\s+DROPPED|LOST\s+EVENTS)\s*\]",
    re.IGNORECASE,
)
_LOST_ANY_RE = _LazyRe(r"\bLOST\s+(?P<n>\d+)\s+(?:EVENTS|CHUNKS)\b", re.IGNORECASE)
_ENTRIES_RE = _LazyRe(r"entries-in-buffer/entries-written:\s*(\d+)/(\d+)(?:\s+#P:(\d+))?")
#: kmemsim record's note of events overwritten in the ring buffer
_OVERRUN_RE = _LazyRe(r"^# kmemsim-record: overrun: (\d+)")
_TRACECMD_INFO_RE = _LazyRe(r"^(?:cpus=\d+|version\s*=\s*\d+|CPU\s+\d+\s+is\s+empty|trace-cmd:.*)$")
_PERF_FRAME_RE = _LazyRe(r"^\s*(?P<addr>[0-9a-fA-F]+)\s+(?P<sym>\S+)")

# Fallbacks of the general path for the fields of each event shape, in every era's order;
# anything else goes through the generic key=value reader.
_SLAB_ALLOC_RE = _LazyRe(
    r"call_site=(\S+) ptr=(\S+)(?: name=(\S+))? bytes_req=(\d+) bytes_alloc=(\d+) gfp_flags=(\S*)"
    r"(?: node=(-?\d+))?(?: accounted=(true|false))?$"
)
_SLAB_FREE_RE = _LazyRe(r"call_site=(\S+) ptr=(\S+)(?: name=(\S+))?$")
_PAGE_ALLOC_RE = _LazyRe(r"page=(\S+) pfn=(\S+) order=(\d+) migratetype=(-?\d+) gfp_flags=(\S*)$")
_PAGE_FREE_RE = _LazyRe(r"page=(\S+) pfn=(\S+) order=(\d+)(?: cold=\d+)?$")
_PAGE_MOVE_RE = _LazyRe(r"page=(\S+) pfn=(\S+) order=(\d+) migratetype=(-?\d+)(?: percpu_refill=(-?\d+))?$")

_NS_SCALE = tuple(10 ** (9 - n) for n in range(10))
#: the event token of a line ("kmalloc:", perf's "kmem:kmalloc:") -> (event, shape)
_SHAPES = {
    **dict.fromkeys(sorted(SLAB_ALLOC_EVENTS), 0),
    **dict.fromkeys(sorted(SLAB_FREE_EVENTS), 1),
    "mm_page_alloc": 2,
    "mm_page_free": 3,
    "mm_page_free_batched": 3,
}
_FAST_EVENTS = {
    **{f"{e}:": (e, c) for e, c in _SHAPES.items()},
    **{f"kmem:{e}:": (e, c) for e, c in _SHAPES.items()},
}
_SHAPE_CLASS = {0: SlabAlloc, 1: SlabFree, 2: PageAlloc, 3: PageFree}
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
#: The grammar of each field's value on the fast path (the compiled scanner implements the
#: same, by hand: ``_kmemscan.c``); a line with a value outside it goes to the general path,
#: which reads it or says what is wrong.  Other values (call_site, gfp_flags, fields the
#: records do not take) are any printable ASCII without spaces.
FAST_GRAMMAR = {
    "ptr": r"(?:0[xX])?[0-9a-fA-F]{1,16}|\(null\)|\(nil\)|NULL",
    "page": r"(?:0[xX])?[0-9a-fA-F]{1,16}|\(null\)|\(nil\)|NULL",
    "bytes_req": r"[0-9]{1,18}",
    "bytes_alloc": r"[0-9]{1,18}",
    "order": r"1[0-5]|[0-9]",
    "migratetype": r"-?[0-9]{1,9}",
    "node": r"-?[0-9]{1,9}",
    "pfn": r"0[xX][0-9a-fA-F]{1,13}|[0-9]{1,15}",
    "accounted": r"true|false",
    "name": r"[!-~]+",
    # flag names; a hex token (unknown bits, or a kernel printing numbers) goes to the general
    # path, which checks that it fits gfp_t's 32 bits
    "gfp_flags": r"(?:[!-/1-~]|0(?![xX]))*",
}
_ANY_VALUE = r"[!-~]*"


def _learn_layout(shape: int, body: str) -> tuple | None:
    """(regex match, group indexes, keys) for lines whose fields come in ``body``'s
    order: each ``key=value`` becomes ``key=(grammar)``, a field the record wants
    but the layout lacks an empty group; ``keys`` is ((key, slot), ...) with the
    record field's slot (-1: not taken) for the compiled scanner."""
    keys: list[str] = []
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
    for k in keys:
        if k not in wanted:
            segs.append(f"{re.escape(k)}={_ANY_VALUE}")
            continue
        empty = ""
        if in_order:  # a field this layout lacks: an empty group where the record wants it
            for w in wanted[: wanted.index(k)]:
                if w not in present and w not in order:
                    empty += "()"
                    order.append(w)
        segs.append(f"{empty}{re.escape(k)}=({FAST_GRAMMAR.get(k, _ANY_VALUE)})")
        order.append(k)
    tail = ""
    for w in wanted:
        if w not in order:
            tail += "()"
            order.append(w)
    rx = re.compile(" ".join(segs) + tail + r"\n?$")
    idx = tuple(order.index(k) + 1 for k in wanted)
    spec = tuple((k, wanted.index(k) if k in wanted else -1) for k in keys)
    return (rx.match, None if idx == tuple(range(1, len(wanted) + 1)) else idx, spec)


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


def _fast_ts(ts_s: str) -> int | None:
    """The fast path's timestamp ``"5430.231547:"`` (digits, at most one dot, below 2**63 ns) or None."""
    t = ts_s[:-1]
    a, dot, b = t.partition(".")
    if not a.isdigit() or (dot and not b.isdigit()):
        return None
    v = _ts_ns(t)
    return None if v >> 63 else v


def _int32(s: str, what: str) -> int:
    v = int(s)
    if not -(1 << 31) <= v < 1 << 31:
        raise ValueError(f"{what}={s} is outside 32 bits")
    return v


def _ptr(s: str) -> int:
    """A ``%p`` value: hashed or real hex, with or without ``0x``; NULL spellings are 0."""
    if s in _NULLS:
        return 0
    v = int(s, 16)
    if not 0 <= v < WORD_LIMIT:
        raise ValueError(f"pointer {s} is outside 64 bits")
    return v


def _pfn(s: str) -> int:
    """``pfn=0x%lx`` (5.5+) or ``pfn=%lu`` (before), within 52 bits of physical address."""
    v = int(s, 16) if s[:2] in ("0x", "0X") else int(s)
    if not 0 <= v < PFN_LIMIT:
        raise ValueError(f"pfn={s} is outside 52 bits of physical address")
    return v


def _order(s: str, what: str = "order") -> int:
    v = int(s)
    if not 0 <= v <= MAX_ORDER_LIMIT:
        raise ValueError(f"{what}={s} is outside 0..{MAX_ORDER_LIMIT} (no kernel's MAX_PAGE_ORDER is larger)")
    return v


def _size(s: str, what: str) -> int:
    v = int(s)
    if not 0 <= v < WORD_LIMIT:
        raise ValueError(f"{what}={s} is outside 64 bits")
    return v


def _gfp(s: str) -> str:
    """A ``gfp_flags`` value: names and hex tokens (``GFP_KERNEL|0x80000000``); a hex token must
    fit gfp_t (32 bits)."""
    if "0x" in s or "0X" in s:
        for tok in s.split("|"):
            t = tok.strip()
            if t[:2] in ("0x", "0X"):
                try:
                    v = int(t, 16)
                except ValueError:
                    raise ValueError(f"gfp_flags={s}: {t} is not a hex number") from None
                if v >> 32:
                    raise ValueError(f"gfp_flags={s}: {t} does not fit gfp_t (32 bits)")
    return s


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


def compiled_scanner() -> Any:
    """The compiled scanner module (``kmemsim.trace._kmemscan``), or None when it was not built."""
    return _kmemscan


# --------------------------------------------------------------------------- input


def open_trace(path: str | Path | IO[str] | IO[bytes]) -> tuple[IO[str], str]:
    """(text stream, name) for a path (gzip detected by its magic bytes, or by a
    ``.gz`` name when the file is empty), ``-`` for stdin, or an open stream.  (The readers
    use :func:`kmemsim.trace.source.open_source`, which has the limits; this is for callers
    that want a text stream.)"""
    import gzip

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
        raw = io.BufferedReader(raw)
        head = raw.peek(2)[:2]
    if head == GZIP_MAGIC:
        return io.TextIOWrapper(gzip.GzipFile(fileobj=raw), encoding="utf-8", errors="replace"), str(name)  # type: ignore[arg-type]
    return io.TextIOWrapper(raw, encoding="utf-8", errors="replace"), str(name)  # type: ignore[type-var]


class ParseStats(Record):
    """What a :class:`TraceReader` saw, filled as it reads."""

    __match_args__ = ("format", "lines", "events", "unknown", "lost_events", "lost_markers", "overwritten", "cpus",
                       "malformed", "malformed_examples", "callchain_lines", "header", "general_path", "engine",
                       "compression", "damage", "unordered")

    #: "ftrace", "perf-script" or "trace-cmd" once detected; "" before the first event.
    format: str = ""
    lines: int = 0
    #: records yielded, per kind (complete once the iteration ends or is closed)
    events: Counter
    #: well-formed event lines of events the parsers do not model, per event name
    unknown: Counter
    #: events the lost-event markers report (markers without a number count 0 here)
    lost_events: int = 0
    lost_markers: int = 0
    #: ftrace header: entries-written minus entries-in-buffer (overwritten in the ring buffer)
    overwritten: int = 0
    #: CPUs the header names (ftrace ``#P:``, trace-cmd ``cpus=``); 0 if unknown
    cpus: int = 0
    #: malformed lines skipped (``lenient=True`` only) and the first few (lineno, reason)
    malformed: int = 0
    malformed_examples: list
    #: callchain lines read (perf script -g, ftrace stacktrace)
    callchain_lines: int = 0
    #: an ftrace header was present (``# tracer:``)
    header: bool = False
    #: event lines read by the general path (the first of each layout, and lines the
    #: fast path does not fit); the rest took the fast path
    general_path: int = 0
    #: which fast path read the common lines: "compiled", "python" or "general"
    engine: str = ""
    #: "gzip" or "plain" (files and binary streams); "" for lines given as text
    compression: str = ""
    #: damage to the compressed input that ``lenient=True`` survived (what was lost)
    damage: str | None = None
    #: events whose timestamp is before an earlier event's: what perf counts as "out of order
    #: events" when its ordered queue had already flushed past them (and then delivers them
    #: anyway, in the order perf script prints them)
    unordered: int = 0

    def __init__(self, format: str = "", lines: int = 0, events: Counter | None = None, unknown: Counter | None = None,
                 lost_events: int = 0, lost_markers: int = 0, overwritten: int = 0, cpus: int = 0, malformed: int = 0,
                 malformed_examples: list | None = None, callchain_lines: int = 0, header: bool = False,
                 general_path: int = 0, engine: str = "", compression: str = "", damage: str | None = None,
                 unordered: int = 0) -> None:
        vars(self).update(format=format, lines=lines, events=Counter() if events is None else events,
                          unknown=Counter() if unknown is None else unknown, lost_events=lost_events,
                          lost_markers=lost_markers, overwritten=overwritten, cpus=cpus, malformed=malformed,
                          malformed_examples=[] if malformed_examples is None else malformed_examples,
                          callchain_lines=callchain_lines, header=header, general_path=general_path, engine=engine,
                          compression=compression, damage=damage, unordered=unordered)

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
        if self.unordered:
            parts.append(f"out of order events: {self.unordered}")
        if self.damage:
            parts.append(f"DAMAGED INPUT: {self.damage}")
        return "; ".join(parts)


def _source_lines(source: Source) -> Iterator[list[str]]:
    """Lists of the lines (str, no newline) of a Source's blocks."""
    for block in source.blocks():
        lines = str(block, "utf-8", "replace").split("\n")
        if lines[-1] == "":
            lines.pop()
        yield lines
        source.lines += len(lines)


def _chunked(lines: Iterable[str], n: int = 4096) -> Iterator[list[str]]:
    it = iter(lines)
    while True:
        chunk = list(itertools.islice(it, n))
        if not chunk:
            return
        yield chunk


class TraceReader:
    """Iterate the kmem events of a trace; :attr:`stats` fills as it goes.

    >>> r = TraceReader(["  sh-1  [000] .....  1.000001: kfree: call_site=f+0x1/0x2 ptr=00000000000000ab"])
    >>> [(e.kind, e.ptr) for e in r]
    [('kfree', 171)]
    >>> r.stats.format
    'ftrace'

    ``source``: a path, ``-``, an open stream, or any iterable of lines.
    ``fmt``: one of :data:`FORMATS`; a given format that the first event line
    contradicts is an error.  ``lenient``: count and skip malformed lines (and
    survive damaged compressed input) instead of raising :class:`TraceFormatError`
    (:class:`~kmemsim.trace.source.TraceInputError`).  ``stacks``: keep each event's
    stack (ftrace ``<stack trace>`` blocks, perf script callchains) for
    :meth:`batches` (``batch_stacks``).  ``engine``: one of :data:`ENGINES`.
    ``progress(done, total)``: called as the file is read (bytes).
    ``limits``: ``max_line``, ``max_ratio``, ``ratio_grace`` of :class:`~kmemsim.trace.source.Source`.
    """

    def __init__(
        self,
        source: str | Path | IO[str] | IO[bytes] | Iterable[str],
        *,
        fmt: str = "auto",
        lenient: bool = False,
        name: str | None = None,
        stacks: bool = False,
        engine: str = "auto",
        progress: Callable[[int, int | None], None] | None = None,
        **limits: Any,
    ) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown trace format {fmt!r}: expected one of {', '.join(FORMATS)}")
        if engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r}: expected one of {', '.join(ENGINES)}")
        if engine == "compiled" and _kmemscan is None:
            raise ValueError("engine='compiled': the compiled scanner was not built (no C compiler at install)")
        self._source = source
        self.fmt = fmt
        self.lenient = lenient
        self.stacks = stacks
        self.engine = engine
        self.progress = progress
        self.limits = limits
        self.stats = ParseStats()
        if name is None:
            name = str(source) if isinstance(source, (str, Path)) else getattr(source, "name", "<lines>")
        self.name = str(name)
        #: with ``stacks``: the stack of each event of the batch :meth:`batches` last gave
        #: (a tuple of function names, innermost first, or None)
        self.batch_stacks: list[tuple[str, ...] | None] = []
        #: the Source reading a file or binary stream (None for lines given as text)
        self.source: Source | None = None
        #: a compiled slab core (set by KmemStat while it reads): the compiled scanner feeds it the
        #: slab events directly, and the batches hold only the other events
        self._core: Any = None

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
        return self._iter()

    def _iter(self) -> Iterator[Event]:
        gen = self.batches()
        counts = self.stats.events
        it: Iterator[Event] = iter(())
        try:
            for batch in gen:
                it = iter(batch)
                yield from it
        finally:
            gen.close()
            for ev in it:  # abandoned inside a batch: the rest was not given out
                counts[ev[0]] -= 1
                if not counts[ev[0]]:
                    del counts[ev[0]]

    def batches(self, packed: bool = False) -> Generator[list[Event], None, None]:
        """The events in lists (a few thousand at a time): what :class:`~kmemsim.trace.stat.KmemStat`
        reads, faster than one at a time.  With ``stacks``, :attr:`batch_stacks` holds the
        stack of each event of the list just given.  ``packed``: where the compiled scanner
        reads, each batch is a ``_kmemscan.EventBuf`` instead of a list -- the events packed
        for the compiled replay core, which makes no records of them; ``len()``, ``[i]`` and
        ``[i:j]`` give the same records a list holds (elsewhere: lists)."""
        src = self._source
        self._init_state()
        st = self.stats
        if isinstance(src, (str, Path)) or (hasattr(src, "read") and not _is_text(src)):
            source = open_source(src, lenient=self.lenient, progress=self.progress, **self.limits)  # type: ignore[arg-type]
            if self.name in ("<lines>", str(src)):
                self.name = source.name
            source.name = self.name
            self.source = source
            engine = self.engine
            if engine == "auto":
                engine = "compiled" if _kmemscan is not None and not self.stacks else "python"
            if self.stacks and engine == "compiled":
                engine = "python"  # stacks are kept by the Python path
            st.engine = engine
            try:
                if engine == "compiled":
                    yield from self._run_compiled(source, packed)
                else:
                    yield from self._run_python(_source_lines(source), engine == "general")
            finally:
                source.close()
                st.compression = source.compression
                st.damage = source.damage
            return
        st.engine = "general" if self.engine == "general" else "python"
        lines = src if not hasattr(src, "read") else iter(src)
        yield from self._run_python(_chunked(lines), self.engine == "general")  # type: ignore[arg-type]

    # ------------------------------------------------------------------ the state both paths share

    def _init_state(self) -> None:
        #: an event whose callchain may follow (mm_page_alloc; every event with ``stacks``)
        self._pending: Event | None = None
        #: the page allocation's caller found in that callchain
        self._pending_site: str | None = None
        #: with ``stacks``: the frames read for the pending event; ``_user_frames``: skipping
        self._frames: list[str] = []
        self._user_frames = False
        self._lineno = 0
        self._counts: dict[str, int] = dict.fromkeys((*KMEM_EVENTS, "lost"), 0)
        self._task_cache: dict[str, tuple[str, int]] = {}
        # event -> [event, shape, fields match, group order, [other layouts], [layout keys]]; a
        # layout is learnt from the first line of the event that the general path reads
        self._layouts: dict[str, list] = {}
        self._fast_events = {
            etok: self._layouts.setdefault(e, [e, c, None, None, [], []]) for etok, (e, c) in _FAST_EVENTS.items()
        }
        self._layouts_changed = False
        self._fast_ok = False  # once the format is known
        self._fast_fmt = 0
        #: the latest timestamp so far and the events that came before it (out of order); the
        #: compiled scanner keeps its own while it reads (``_note_ts`` is then its note_ts)
        self._max_ts = -1
        self._unordered = 0
        self._note_ts: Callable[[int], None] = self._note_ts_py

    def _note_ts_py(self, ts: int) -> None:
        if ts < 0:
            return
        if ts < self._max_ts:
            self._unordered += 1
        else:
            self._max_ts = ts

    def _flush(self, out: list, stacks: list | None) -> None:
        """Give out the pending event (with its page call site, its stack)."""
        ev = self._pending
        if ev is None:
            return
        if self._pending_site is not None:
            ev = tuple.__new__(PageAlloc, (*ev[:9], self._pending_site))
        out.append(ev)
        if stacks is not None:
            stacks.append(tuple(self._frames) if self._frames else None)
            self._frames = []
        self._pending = None

    def _emit(self, ev: Event, code: int, out: list, stacks: list | None) -> None:
        self._flush(out, stacks)
        if code == 2 or stacks is not None:
            self._pending = ev
            self._pending_site = None
            self._user_frames = False
        else:
            out.append(ev)

    def _frame(self, line: str) -> None:
        """A callchain line: perf's ``\\t addr sym+off (dso)`` or ftrace's `` => sym+off/len``."""
        self.stats.callchain_lines += 1
        ev = self._pending
        if ev is None:
            return
        if line[:1] == "\t":
            fm = _PERF_FRAME_RE.match(line)
            sym = fm.group("sym") if fm else ""
        else:
            sym = line[4:].strip()
        func = sym.partition("+")[0]
        if self._pending_site is None and ev[0] == "mm_page_alloc":
            if func and func != "[unknown]" and not ALLOC_FUNC_RE.match(func):
                self._pending_site = func
        if self.stacks and func and not self._user_frames and not TRACE_FRAME_RE.match(func):
            self._frames.append(func)

    # ------------------------------------------------------------------ the pure-Python path

    def _run_python(self, line_lists: Iterable[list[str]], general_only: bool = False) -> Iterator[list[Event]]:  # noqa: C901
        """The main loop, kept flat for speed: the fast path inline, the rest by :meth:`_general`."""
        counts = self._counts
        new = tuple.__new__
        nulls = _NULLS
        fast_events = self._fast_events
        cpu_cache: dict[str, int] = {f"[{c:03d}]": c for c in range(256)}
        task_cache = self._task_cache
        get_task = self._task
        general = self._general
        frame = self._frame
        stack_mode = self.stacks
        fast_ok = False
        fast_fmt = 0
        nsplit, nparts = 5, 6
        lineno = self._lineno
        pending: Any = None
        ev: Any
        max_ts = self._max_ts
        unordered = self._unordered
        try:
            for lines in line_lists:
                out: list[Event] = []
                stacks: list | None = [] if stack_mode else None
                for line in lines:
                    lineno += 1
                    # ------------------------------------------------------ callchains, first
                    c4 = line[:4]
                    if c4[:1] == "\t" or c4 == " => ":
                        self._pending = pending
                        frame(line)
                        continue
                    # ------------------------------------------------------ the common events, fastest:
                    # split the head off at whitespace, then the fields with a regex made for
                    # the layout this trace prints (learnt from its first line of each event)
                    if fast_ok and line.isascii():
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
                                event, code, lay_match, idx, more, _keys = fe
                                f = lay_match(body) if lay_match is not None else None
                                if f is None and more:
                                    for lay_match, idx in more:  # noqa: B007 - idx is used below
                                        f = lay_match(body)
                                        if f is not None:
                                            break
                                t = ts_s[:-1].replace(".", "", 1)
                                if ts_s[-8:-7] == "." and 7 <= len(t) <= 15 and t.isdigit():
                                    ts = int(t) * 1000
                                else:
                                    ts = _fast_ts(ts_s)  # type: ignore[assignment]
                                    if ts is None:
                                        f = None
                                if f is not None and fast_fmt == 1 and not task.isdigit():
                                    f = None
                                if f is not None:
                                    if fast_fmt == 1:
                                        pid = int(task)
                                    else:
                                        tp = task_cache.get(task)
                                        if tp is None:
                                            tp = get_task(task)
                                            if len(task_cache) < 65536:
                                                task_cache[task] = tp
                                        comm, pid = tp
                                    g = f.groups() if idx is None else f.group(*idx)
                                    if code == 0:
                                        cs, p, cname, req, alloc, gfp, node, acc = g
                                        ev = new(SlabAlloc, (
                                            event, ts, cpu, pid, comm, cs, 0 if p in nulls else int(p, 16), int(req),
                                            int(alloc), gfp, int(node) if node else None, cname or None,
                                            (acc == "true") if acc else None,
                                        ))  # fmt: skip
                                    elif code == 1:
                                        cs, p, cname = g
                                        ptr = 0 if p in nulls else int(p, 16)
                                        ev = new(SlabFree, (event, ts, cpu, pid, comm, cs, ptr, cname or None))
                                    elif code == 2:
                                        page, pfn, order, mt, gfp = g
                                        pfn_i = int(pfn, 16) if pfn[:2] in ("0x", "0X") else int(pfn)
                                        if pfn_i == 0 and (not page or page in nulls or int(page, 16) == 0):
                                            pfn_i = -1
                                        ev = new(PageAlloc, (
                                            event, ts, cpu, pid, comm, pfn_i, int(order), int(mt), gfp, None
                                        ))  # fmt: skip
                                    else:
                                        pfn, order = g
                                        ev = new(PageFree, (
                                            event, ts, cpu, pid, comm,
                                            int(pfn, 16) if pfn[:2] in ("0x", "0X") else int(pfn),
                                            int(order) if order else 0,
                                        ))  # fmt: skip
                                    counts[event] += 1
                                    if ts < max_ts:
                                        unordered += 1
                                    else:
                                        max_ts = ts
                                    if pending is not None:
                                        self._pending = pending
                                        self._flush(out, stacks)
                                        pending = None
                                    if code == 2 or stack_mode:
                                        pending = ev
                                        self._pending_site = None
                                        self._user_frames = False
                                    else:
                                        out.append(ev)
                                    continue
                    # ------------------------------------------------------ everything else
                    self._pending = pending
                    self._lineno = lineno
                    self._max_ts, self._unordered = max_ts, unordered
                    general(line, out, stacks)
                    max_ts, unordered = self._max_ts, self._unordered
                    pending = self._pending
                    if not fast_ok and self._fast_ok and not general_only:
                        fast_ok = True
                        fast_fmt = self._fast_fmt
                        nsplit, nparts = (4, 5) if fast_fmt == 2 else (5, 6)
                if stacks is not None:
                    self.batch_stacks = stacks
                yield out
            self._pending = pending
            pending = None
            out = []
            stacks = [] if stack_mode else None
            self._flush(out, stacks)
            if out:
                if stacks is not None:
                    self.batch_stacks = stacks
                yield out
        finally:
            self._pending = pending
            self._max_ts, self._unordered = max_ts, unordered
            self._finish(lineno)

    def _finish(self, lineno: int) -> None:
        """Counts into :attr:`stats` (an event still pending was never given out)."""
        st = self.stats
        if self._pending is not None:
            self._counts[self._pending[0]] -= 1
            self._pending = None
        for k, n in self._counts.items():
            if n:
                st.events[k] += n
        self._counts = dict.fromkeys(self._counts, 0)
        st.lines = lineno
        st.unordered += self._unordered
        self._unordered = 0

    # ------------------------------------------------------------------ the compiled path

    def _scanner(self) -> Any:
        assert _kmemscan is not None
        tokens = {etok.encode(): (e, c) for etok, (e, c) in _FAST_EVENTS.items()}
        return _kmemscan.Scanner(
            tokens,
            _RECORD_CLASSES,
            self._task,
            lambda func: ALLOC_FUNC_RE.match(func) is not None,
            self._task_cache,
        )

    def _run_compiled(self, source: Source, packed: bool = False) -> Iterator[list[Event]]:
        """Blocks of lines through the compiled scanner; the lines it hands back (the first of
        each layout, anything unusual) through :meth:`_general`, as the pure path does.
        ``packed``: into EventBufs (:meth:`batches`)."""
        sc = self._scanner()
        assert _kmemscan is not None
        buf = _kmemscan.EventBuf if packed and self._core is None else None
        general = self._general
        core = self._core
        if core is not None:
            sc.attach(core)
        sc.note_ts(self._max_ts)  # (-1: none yet)
        self._note_ts = sc.note_ts  # the general path's events, in trace order with the scanner's
        lineno = 0
        out: Any = None
        try:
            for block in source.blocks():
                if out is None:
                    out = [] if buf is None else buf(_RECORD_CLASSES)
                pos = 0
                n = len(block)
                while pos < n:
                    pos, nl, status, end = sc.scan(block, pos, out)
                    lineno += nl
                    if status == 0:
                        break
                    line = str(block[pos:end], "utf-8", "replace")
                    pos = end + 1
                    lineno += 1
                    self._pending, self._pending_site = sc.pending, sc.pending_site
                    self._lineno = lineno
                    k = len(out)
                    try:
                        if line[:1] == "\t" or line.startswith(" => "):
                            self._frame(line)
                        else:
                            general(line, out, None)
                    finally:
                        sc.pending, sc.pending_site = self._pending, self._pending_site
                        self._pending = None  # the scanner holds it
                    if core is not None and len(out) > k:  # slab events go to the core in trace order
                        new = out[k:]
                        del out[k:]
                        out.extend(core.process(new))
                    if self._layouts_changed:
                        self._layouts_changed = False
                        for event, lay in self._layouts.items():
                            if lay[5]:
                                sc.set_layouts(event, lay[5])
                    if self._fast_ok and sc.fmt < 0:
                        sc.fmt = self._fast_fmt
                source.lines = lineno
                # an EventBuf goes once it holds a batch's worth (a block can be one line: the one
                # across the read's boundary), so that the core's look-ahead finds its events in it
                # or the next one (replay._rebuf())
                if buf is None or len(out) >= PACKED_BATCH:
                    yield out
                    out = None
            if out:
                yield out
            self._pending, self._pending_site = sc.pending, sc.pending_site
            sc.pending = sc.pending_site = None
            out = []
            self._flush(out, None)
            if out:
                yield out
        finally:
            if sc.pending is not None:
                self._pending = sc.pending
            for k, v in sc.take_counts().items():
                self._counts[k] += v
            self.stats.callchain_lines += sc.take_callchain_lines()
            self._unordered += sc.take_unordered()
            self._note_ts = self._note_ts_py
            self._finish(lineno)

    # ------------------------------------------------------------------ the general path

    def _general(self, line: str, out: list, stacks: list | None) -> None:  # noqa: C901
        """One line the fast path did not take: any head, any field order, headers, lost
        markers, stack-trace markers; errors name the line."""
        st = self.stats
        lineno = self._lineno
        c0 = line[:1]
        # "<task> [cpu] [flags] <sec.usec>: <event>: <fields>" by string operations,
        # then (below) the regexes for what they cannot read
        event = None
        task = body = ""
        cpu = ts = 0
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
                            int(frac) * _NS_SCALE[len(frac)] if len(frac) <= 9 else int(frac[:9])
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
            s = line.strip()
            if not s:
                return
            if s[0] == "#":
                self._header(s, lineno)
                return
            m = _HEAD_RE.match(line) or _HEAD_LAT_RE.match(line) or _HEAD_NOCPU_RE.match(line)
            if m is None:
                lm = _LOST_RE.search(s) or _LOST_ANY_RE.search(s)
                if lm is not None:
                    lost = self._lost(lm, s)
                    self._flush(out, stacks)
                    self._counts["lost"] += 1
                    out.append(lost)
                    if stacks is not None:
                        stacks.append(None)
                    return
                if _TRACECMD_INFO_RE.match(s):
                    if s.startswith("cpus="):
                        st.cpus = int(s[5:])
                        self._detect("trace-cmd", lineno, line)
                    return
                if s.endswith("<stack trace>") or s.endswith("<user stack trace>"):
                    st.callchain_lines += 1
                    self._user_frames = s.endswith("<user stack trace>")
                    return
                self._bad(lineno, "not a trace event line", line)
                return
            gd = m.groupdict()
            event = gd["event"]
            body = gd["body"]
            task = gd["task"]
            cpu = int(gd["cpu"]) if gd.get("cpu") is not None else -1
            ts = _ts_ns(gd["ts"])
            if not st.format:
                self._detect(
                    "perf-script" if ":" in event else ("trace-cmd" if m.re is not _HEAD_RE.rx else "ftrace"),
                    lineno,
                    line,
                )
        self._flush(out, stacks)
        if cpu >= MAX_CPUS:
            self._bad(lineno, f"CPU {cpu} is outside 0..{MAX_CPUS - 1}", line)
            return
        if ts >> 63:
            self._bad(lineno, "the timestamp is beyond 2**63 nanoseconds", line)
            return
        if ":" in event:
            system, _, event = event.rpartition(":")
            if system != "kmem":
                st.unknown[f"{system}:{event}"] += 1
                return
        # ---------------------------------------------------------- the task
        tp = self._task_cache.get(task)
        if tp is None:
            tp = self._task(task)
            if len(self._task_cache) < 65536:
                self._task_cache[task] = tp
        comm, pid = tp
        if body[:1] == "(":  # trace-cmd's kmem plugin: "(func+off) call_site=..."
            body = body.partition(") ")[2]
        # ---------------------------------------------------------- the fields
        code = 0
        ev: Event
        try:
            if event in SLAB_ALLOC_EVENTS:
                f = _SLAB_ALLOC_RE.match(body)
                if f is not None:
                    cs, p, cname, req, alloc, gfp, node, acc = f.groups()
                else:
                    d = _fields(body)
                    cs, p, cname, req, alloc = d["call_site"], d["ptr"], d.get("name"), d["bytes_req"], d["bytes_alloc"]
                    gfp, node, acc = d.get("gfp_flags", ""), d.get("node"), d.get("accounted")
                ev = SlabAlloc(
                    event, ts, cpu, pid, comm, cs, _ptr(p), _size(req, "bytes_req"), _size(alloc, "bytes_alloc"),
                    _gfp(gfp), _int32(node, "node") if node is not None else None, cname,
                    _bool(acc) if acc is not None else None,
                )  # fmt: skip
            elif event in SLAB_FREE_EVENTS:
                code = 1
                f = _SLAB_FREE_RE.match(body)
                if f is not None:
                    cs, p, cname = f.groups()
                else:
                    d = _fields(body)
                    cs, p, cname = d["call_site"], d["ptr"], d.get("name")
                ev = SlabFree(event, ts, cpu, pid, comm, cs, _ptr(p), cname)
            elif event in PAGE_ALLOC_EVENTS:
                code = 2
                f = _PAGE_ALLOC_RE.match(body)
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
                ev = PageAlloc(
                    event, ts, cpu, pid, comm, pfn_i, _order(order), _int32(mt, "migratetype"), _gfp(gfp), None
                )
            elif event in PAGE_FREE_EVENTS:
                code = 3
                f = _PAGE_FREE_RE.match(body)
                if f is not None:
                    _page, pfn, order = f.groups()
                else:
                    d = _fields(body)
                    pfn, order = d["pfn"], d.get("order", "0")
                ev = PageFree(event, ts, cpu, pid, comm, _pfn(pfn), _order(order))
            elif event in PAGE_MOVE_EVENTS:
                code = 4
                f = _PAGE_MOVE_RE.match(body)
                if f is not None:
                    _page, pfn, order, mt, refill = f.groups()
                else:
                    d = _fields(body)
                    pfn, order, mt, refill = d["pfn"], d["order"], d["migratetype"], d.get("percpu_refill")
                if event == "mm_page_pcpu_drain":
                    refill = None
                ev = PageMove(
                    event, ts, cpu, pid, comm, _pfn(pfn), _order(order), int(mt),
                    int(refill) if refill is not None else None,
                )  # fmt: skip
            elif event in EXTFRAG_EVENTS:
                code = 5
                d = _fields(body)
                ev = ExtFrag(
                    event, ts, cpu, pid, comm, _pfn(d["pfn"]), _order(d["alloc_order"], "alloc_order"),
                    _order(d["fallback_order"], "fallback_order"), int(d.get("pageblock_order", "-1")),
                    int(d["alloc_migratetype"]), int(d["fallback_migratetype"]), int(d.get("fragmenting", "-1")),
                    int(d.get("change_ownership", "-1")),
                )  # fmt: skip
            else:
                st.unknown[event] += 1
                return
        except KeyError as e:
            self._bad(lineno, f"{event}: no field {e.args[0]}=", line)
            return
        except ValueError as e:
            self._bad(lineno, f"{event}: {e}", line)
            return
        self._counts[event] += 1
        self._note_ts(ts)
        st.general_path += 1
        lay = self._layouts.get(event)
        if lay is not None and len(lay[4]) < 3 and line.isascii():
            learnt = _learn_layout(lay[1], body)
            if learnt is not None:
                pair = learnt[:2]
                if lay[2] is None:
                    lay[2], lay[3] = pair
                    lay[5].append(learnt[2])
                    self._layouts_changed = True
                elif pair != (lay[2], lay[3]) and pair not in lay[4]:
                    lay[4].append(pair)
                    lay[5].append(learnt[2])
                    self._layouts_changed = True
        if not self._fast_ok and st.format:
            self._fast_ok = True
            self._fast_fmt = {"ftrace": 0, "perf-script": 1}.get(st.format, 2)
        self._emit(ev, code, out, stacks)

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



def sniff_stacks(path: str | Path, nbytes: int = 1 << 20) -> bool:
    """Whether the start of the trace file ``path`` has stacks: perf script callchain lines
    (a tab first), ftrace's ``<stack trace>`` blocks (`` => func`` lines).  False for ``-``
    (standard input cannot be read twice) and for a file that cannot be read."""
    if str(path) == "-":
        return False
    try:
        src = open_source(path)
        try:
            for block in src.blocks():
                head = bytes(block[:nbytes])
                return b"\n\t" in head or head.startswith(b"\t") or b"\n => " in head or b"<stack trace>" in head
        finally:
            src.close()
    except (OSError, TraceInputError):
        return False
    return False


def _is_text(src: Any) -> bool:
    return isinstance(src, io.TextIOBase) or hasattr(src, "encoding")


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
