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

import importlib
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:  # pragma: no cover
    from .stat import KmemStat, StatOptions

#: Names imported on first use (PEP 562): a replay reads traces but never computes perf kmem
#: stat's report, so it does not load :mod:`kmemsim.trace.stat`.
_LAZY = {"KmemStat": "stat", "StatOptions": "stat"}


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{mod}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

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
