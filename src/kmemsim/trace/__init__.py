"""Kernel kmem traces: parse them (ftrace text, perf script, trace-cmd report) and
compute the statistics ``perf kmem stat`` gives, and more.

    >>> from kmemsim.trace import parse, KmemStat
    >>> st = KmemStat()
    >>> st.process(parse("tests/data/host-6.18/kmem-trace.txt.gz"))   # doctest: +SKIP
    >>> print(st.report())                                             # doctest: +SKIP

See ``docs/traces.md`` for the formats, the limits on untrusted input, the
definitions, where kmemsim differs from perf, and ``--json``'s schema.
"""
from __future__ import annotations

from ..tracepoints.events import (
    KMEM_EVENTS,
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
from .parse import FORMATS, ParseStats, TraceReader, open_trace, parse
from .source import TraceInputError
from .stat import KmemStat, StatOptions

__all__ = [
    "KMEM_EVENTS",
    "Event",
    "ExtFrag",
    "Lost",
    "PageAlloc",
    "PageFree",
    "PageMove",
    "SlabAlloc",
    "SlabFree",
    "TraceFormatError",
    "TraceInputError",
    "FORMATS",
    "ParseStats",
    "TraceReader",
    "open_trace",
    "parse",
    "KmemStat",
    "StatOptions",
]
