"""Typed records for the kmem tracepoint events, one NamedTuple per event shape.

The events and their fields are those of ``include/trace/events/kmem.h``; the
parsers (:mod:`kmemsim.trace.parse`) fill them from any era's text:

====================  ==========================================================
record                events (``kind``)
====================  ==========================================================
:class:`SlabAlloc`    ``kmalloc``, ``kmem_cache_alloc``, and before 6.1
                      ``kmalloc_node``, ``kmem_cache_alloc_node``
:class:`SlabFree`     ``kfree``, ``kmem_cache_free``
:class:`PageAlloc`    ``mm_page_alloc``
:class:`PageFree`     ``mm_page_free``, ``mm_page_free_batched``
:class:`PageMove`     ``mm_page_alloc_zone_locked``, ``mm_page_pcpu_drain``
:class:`ExtFrag`      ``mm_page_alloc_extfrag``
:class:`Lost`         ``CPU:N [LOST n EVENTS]`` markers (``kind == "lost"``)
====================  ==========================================================

Every record starts with the same five fields: ``kind`` (the kernel's event
name, without the ``kmem:`` system prefix perf prints), ``ts`` (nanoseconds, as
printed: the text has microseconds, so the last three digits are usually 0),
``cpu``, ``pid`` (the thread id; -1 when the format has none) and ``comm`` (""
when the format has none).  Fields an era's format does not print are ``None``
(``node`` before 6.1 on ``kmalloc``, ``name`` before 6.18 on
``kmem_cache_alloc``, ``accounted`` before 5.19).

Pointers are ints: ftrace prints ``%p`` hashed (consistent within a boot, so
allocations and frees still pair), perf script and trace-cmd print the real
address.  NULL (``(null)``, ``(nil)``, zeros) is 0.  ``call_site`` is the text
as printed (``%pS``: ``sym+0x1a/0x60`` in ftrace, ``sym+0x1a`` in perf script
and trace-cmd, bare hex ``c104deff`` before 5.x).

Format history (kernel versions), from ``include/trace/events/kmem.h``:

- 2.6.32 .. 5.4: ``call_site=%lx`` (hex, no ``0x``); page events print
  ``pfn=%lu`` (decimal); ``mm_page_free_batched`` ended with ``cold=%d`` until
  4.15; the ``*_node`` events carry ``node=%d``.
- 5.5: ``call_site=%pS`` (symbol+offset/length) and ``pfn=0x%lx``
  ("mm/tracing: unify PFN format strings").
- 5.12: ``kmem_cache_free`` gains ``name=%s``.
- 5.19: the allocation events gain ``accounted=%s``.
- 6.1: ``kmalloc_node`` and ``kmem_cache_alloc_node`` are gone; ``kmalloc`` and
  ``kmem_cache_alloc`` carry ``node=%d`` (commit 11e9734bcb6a, "mm/slab_common:
  unify NUMA and UMA version of tracepoints").
- 6.18 (not in 6.12): ``kmem_cache_alloc`` gains ``name=%s`` after ``ptr``
  ("kmem/tracing: Add kmem name to kmem_cache_alloc tracepoint").
"""
# No ``from __future__ import annotations`` here: the records' field types are then real types,
# not strings that typing.NamedTuple compiles one by one into ForwardRefs (0.4 ms of every import).
from typing import NamedTuple

from kmemsim.errors import KmemsimError

__all__ = [
    "TraceFormatError",
    "SlabAlloc",
    "SlabFree",
    "PageAlloc",
    "PageFree",
    "PageMove",
    "ExtFrag",
    "Lost",
    "Event",
    "SLAB_ALLOC_EVENTS",
    "SLAB_FREE_EVENTS",
    "PAGE_ALLOC_EVENTS",
    "PAGE_FREE_EVENTS",
    "PAGE_MOVE_EVENTS",
    "EXTFRAG_EVENTS",
    "KMEM_EVENTS",
    "NUMA_NO_NODE",
]

#: ``include/linux/numa.h``: an allocation that may come from any node.
NUMA_NO_NODE = -1


class TraceFormatError(KmemsimError, ValueError):
    """A trace line that no supported format explains; the message names file and line."""

    def __init__(self, source: str, lineno: int, reason: str, line: str):
        self.source = source
        self.lineno = lineno
        self.reason = reason
        self.line = line
        shown = line if len(line) <= 200 else line[:200] + "..."
        super().__init__(f"{source}:{lineno}: {reason}\n    {shown}")


class SlabAlloc(NamedTuple):
    """``kmalloc``/``kmem_cache_alloc`` (and the pre-6.1 ``*_node`` variants)."""

    kind: str
    ts: int
    cpu: int
    pid: int
    comm: str
    call_site: str
    ptr: int
    bytes_req: int
    bytes_alloc: int
    gfp_flags: str
    #: ``node=`` (6.1+, and the ``*_node`` events before); ``None`` when not printed.
    node: int | None
    #: the cache (``kmem_cache_alloc`` since 6.18); ``None`` when not printed.
    name: str | None
    #: ``accounted=`` (5.19+); ``None`` when not printed.
    accounted: bool | None


class SlabFree(NamedTuple):
    """``kfree``/``kmem_cache_free``."""

    kind: str
    ts: int
    cpu: int
    pid: int
    comm: str
    call_site: str
    ptr: int
    #: the cache (``kmem_cache_free`` since 5.12); ``None`` when not printed.
    name: str | None


class PageAlloc(NamedTuple):
    """``mm_page_alloc``: ``pfn`` is -1 for a failed allocation (the raw field is -1UL
    and the text prints a NULL ``page``)."""

    kind: str
    ts: int
    cpu: int
    pid: int
    comm: str
    pfn: int
    order: int
    migratetype: int
    gfp_flags: str
    #: the first caller outside the page allocator, from a callchain (perf script
    #: with ``-g``, ftrace's ``stacktrace`` option); ``None`` without one.
    call_site: str | None


class PageFree(NamedTuple):
    """``mm_page_free`` and ``mm_page_free_batched`` (always order 0)."""

    kind: str
    ts: int
    cpu: int
    pid: int
    comm: str
    pfn: int
    order: int


class PageMove(NamedTuple):
    """``mm_page_alloc_zone_locked`` (buddy to the caller or a pcp list) and
    ``mm_page_pcpu_drain`` (pcp list back to the buddy)."""

    kind: str
    ts: int
    cpu: int
    pid: int
    comm: str
    pfn: int
    order: int
    migratetype: int
    #: ``percpu_refill=`` of ``mm_page_alloc_zone_locked``; ``None`` for the drain.
    percpu_refill: int | None


class ExtFrag(NamedTuple):
    """``mm_page_alloc_extfrag``: an allocation fell back to another migratetype."""

    kind: str
    ts: int
    cpu: int
    pid: int
    comm: str
    pfn: int
    alloc_order: int
    fallback_order: int
    pageblock_order: int
    alloc_migratetype: int
    fallback_migratetype: int
    fragmenting: int
    change_ownership: int


class Lost(NamedTuple):
    """A ``CPU:N [LOST n EVENTS]`` marker: ``count`` is -1 when the marker gives no number."""

    kind: str
    ts: int
    cpu: int
    pid: int
    comm: str
    # the field shadows tuple.count(); the trace tools read it by name (ev.count)
    count: int  # type: ignore[assignment]


Event = SlabAlloc | SlabFree | PageAlloc | PageFree | PageMove | ExtFrag | Lost

SLAB_ALLOC_EVENTS = frozenset({"kmalloc", "kmem_cache_alloc", "kmalloc_node", "kmem_cache_alloc_node"})
SLAB_FREE_EVENTS = frozenset({"kfree", "kmem_cache_free"})
PAGE_ALLOC_EVENTS = frozenset({"mm_page_alloc"})
PAGE_FREE_EVENTS = frozenset({"mm_page_free", "mm_page_free_batched"})
PAGE_MOVE_EVENTS = frozenset({"mm_page_alloc_zone_locked", "mm_page_pcpu_drain"})
EXTFRAG_EVENTS = frozenset({"mm_page_alloc_extfrag"})
#: every event the parsers turn into a record; others are counted as unknown.
KMEM_EVENTS = (
    SLAB_ALLOC_EVENTS | SLAB_FREE_EVENTS | PAGE_ALLOC_EVENTS | PAGE_FREE_EVENTS | PAGE_MOVE_EVENTS | EXTFRAG_EVENTS
)
