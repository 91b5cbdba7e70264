"""The model's own kmem tracepoints: a Kernel writes the events Linux 6.18 writes.

    >>> import io, kmemsim
    >>> k = kmemsim.boot()
    >>> out = io.StringIO()
    >>> with k.tracing(out):                              # or k.trace_start(out) ... k.trace_stop()
    ...     p = k.kmalloc(100, k.gfp.GFP_KERNEL)
    ...     k.kfree(p)
    >>> print(out.getvalue())                              # doctest: +SKIP
            insmod-1000    [000] .....     1.000000: kmalloc: call_site=<module>+0x0/0x0 \
    ptr=ffff8880... bytes_req=100 bytes_alloc=128 gfp_flags=GFP_KERNEL node=-1 accounted=false
            insmod-1000    [000] .....     1.000000: kfree: call_site=<module>+0x0/0x0 ptr=ffff8880...

(one line each; the first is folded here).

Events and where the model has their moment (include/trace/events/kmem.h and
mm/{slub,slab_common,page_alloc}.c of Linux 6.18):

=============================  =====================================================
event                          emitted when
=============================  =====================================================
``kmalloc``                    kmalloc/kzalloc/kmalloc_node/kcalloc/krealloc/kmemdup/
                               kstrdup/kvmalloc's kmalloc, after the allocation
                               (``bytes_alloc`` = the kmalloc cache's ``s->size``, or
                               ``PAGE_SIZE << order`` above 8 KiB; a failure has ptr 0;
                               ``kmalloc(0)`` traces nothing, as in __do_kmalloc_node)
``kmem_cache_alloc``           kmem_cache_alloc/zalloc: ``bytes_req`` = ``s->object_size``,
                               ``bytes_alloc`` = ``s->size``, ``name`` = ``s->name``
                               (a merged cache prints its target's name, as the kernel;
                               only where the kernel prints it: feature
                               ``trace_kmem_cache_alloc_name``, 6.18)
``kfree``, ``kmem_cache_free`` before the free (``kfree(NULL)`` traces too, as 6.18)
``mm_page_alloc``              every page allocation that reaches the page allocator:
                               alloc_pages, __get_free_pages (``__GFP_HIGHMEM``
                               stripped), slab pages (new_slab), large kmalloc, page
                               tables, vmalloc pages; a failure has pfn -1;
                               ``migratetype`` is the request's (gfp_migratetype)
``mm_page_free``               when the last reference goes (free_pages_prepare), before
                               the block reaches the pcp list or the buddy
``mm_page_alloc_zone_locked``  each block __rmqueue_smallest() takes from the buddy
                               (``percpu_refill`` as 6.18 computes it: a pcp order and
                               a pcp migratetype)
``mm_page_pcpu_drain``         each block free_pcppages_bulk() gives back to the buddy
``mm_page_alloc_extfrag``      a fallback to another migratetype (__rmqueue_claim after
                               try_to_claim_block succeeds, and __rmqueue_steal)
=============================  =====================================================

``mm_page_free_batched`` is never emitted: the model has no release_pages()/
free_unref_folios() batch.  A large kmalloc traces one ``kmalloc`` event (6.18's
``__kmalloc`` of a variable size above 8 KiB traces two, one from
``__kmalloc_large_node_noprof``; the model cannot tell a constant size from a variable
one).

``call_site`` is the innermost Python caller outside kmemsim's core, printed as the
model prints ``%pS`` elsewhere (``func+0x0/0x0``; ``kmemsim+0x0/0x0`` when only
kmemsim's own code is on the stack), ``ptr`` the real address (as a kernel booted with
``no_hash_pointers`` prints it), the time the machine clock, the task ``k.current``,
the CPU ``k.cpu``; gfp flags are printed by :meth:`kmemsim.gfp.GfpSet.format_trace`
(show_gfp_flags); ``node`` is -1 (NUMA_NO_NODE) and ``accounted`` follows 6.18:
``__GFP_ACCOUNT`` in the flags, or for ``kmem_cache_alloc`` a SLAB_ACCOUNT cache.

How it costs nothing when off: each event is a statement at its call site, as
``trace_kmalloc(...)`` is in mm/slub.c -- ``if tp.kmalloc: tp.trace_kmalloc(...)`` in
the model's general paths -- so a disabled event costs one attribute test; while any
event is on, the allocation fast paths step aside (``k.dispatch``, reason
``"tracing"``) so that every call takes the general path that traces.  Page frees of
folios (reclaim, truncation) go through 6.18's ``free_unref_folios()``, which traces
``mm_page_free_batched``; the model has no moment for that event, so they trace nothing.

The 2.6.24 profile has no kmem tracepoints (they arrived in 2.6.32): tracing it is
refused.  The sink is a text stream (one line each, ``trace_pipe`` style, no
header), a callable taking each line, or a list, which receives the
:mod:`kmemsim.tracepoints.events` records themselves.
"""
from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..report import call_site
from .emit import ftrace_line
from .events import KMEM_EVENTS, ExtFrag, PageAlloc, PageFree, PageMove, SlabAlloc, SlabFree

if TYPE_CHECKING:  # pragma: no cover
    from ..machine import Machine
    from ..mm.slub import KmemCache

__all__ = ["Tracepoints", "EMITTED_EVENTS", "tracepoints_init"]

#: the events the model emits (``mm_page_free_batched`` has no moment in the model).
EMITTED_EVENTS = frozenset(KMEM_EVENTS - {"kmalloc_node", "kmem_cache_alloc_node", "mm_page_free_batched"})

_FLAGS = ("kmalloc", "kmem_cache_alloc", "kfree", "kmem_cache_free", "mm_page_alloc", "mm_page_free",
          "mm_page_alloc_zone_locked", "mm_page_pcpu_drain", "mm_page_alloc_extfrag")


class Tracepoints:
    """The kmem tracepoints of one machine (``k.tp``).

    Each event name is an attribute that is True while the event is enabled; the
    ``trace_*`` methods write one event and are called only then.  ``counts`` counts the
    events written, by name; ``events`` is the set enabled.  Start with
    :meth:`start` (``k.trace_start``), stop with :meth:`stop`.
    """

    __slots__ = (*_FLAGS, "m", "events", "counts", "sink", "active", "_write", "_records", "_cache_alloc_name")

    # one bool per event of _FLAGS: True while it is enabled (tested at the call sites)
    kmalloc: bool
    kmem_cache_alloc: bool
    kfree: bool
    kmem_cache_free: bool
    mm_page_alloc: bool
    mm_page_free: bool
    mm_page_alloc_zone_locked: bool
    mm_page_pcpu_drain: bool
    mm_page_alloc_extfrag: bool

    def __init__(self, m: Machine) -> None:
        self.m = m
        for name in _FLAGS:
            setattr(self, name, False)
        self.events: frozenset[str] = frozenset()
        self.counts: Counter[str] = Counter()
        self.sink: Any = None
        self.active = False
        self._write: Callable[[Any], None] = lambda ev: None
        self._records = False
        self._cache_alloc_name = m.features.trace_kmem_cache_alloc_name

    # ------------------------------------------------------------------ on and off
    def start(self, sink: Any, events: Any = None) -> Tracepoints:
        """Turn the kmem tracepoints on: each event to ``sink`` -- a text stream (one ftrace
        line each), a callable (taking each line) or a list (taking the event records)."""
        m = self.m
        if not m.features.kmem_tracepoints:
            raise UsageError(f"{m.profile.name}: Linux {m.profile.kernel_version} has no kmem tracepoints "
                             "(they arrived in 2.6.32)")
        if self.active:
            raise UsageError("trace_start: tracing is already on for this machine (trace_stop() first)")
        if events is None:
            enabled = set(EMITTED_EVENTS)
        else:
            enabled = set()
            for e in [events] if isinstance(events, str) else events:
                name = str(e).removeprefix("kmem:").removeprefix("kmem/")
                if name not in KMEM_EVENTS:
                    raise UsageError(f"trace_start: {e!r} is not a kmem event ({', '.join(sorted(KMEM_EVENTS))})")
                enabled.add(name)
        if isinstance(sink, list):
            self._write = sink.append
            self._records = True
        elif hasattr(sink, "write"):
            w = sink.write
            self._write = lambda ev: w(ftrace_line(ev) + "\n")
            self._records = False
        elif callable(sink):
            self._write = lambda ev: sink(ftrace_line(ev))
            self._records = False
        else:
            raise UsageError(f"trace sink {sink!r}: expected a text stream, a callable or a list")
        self.sink = sink
        self.events = frozenset(enabled)
        self.counts = Counter()
        # the general paths hold the tracepoints: the fast paths step aside while tracing
        m.dispatch.suspend("tracing")
        for name in _FLAGS:
            setattr(self, name, name in enabled)
        self.active = True
        return self

    def stop(self) -> Tracepoints:
        """Turn every event off (nothing to do when tracing is off)."""
        for name in _FLAGS:
            setattr(self, name, False)
        if self.active:
            self.m.dispatch.resume("tracing")
        self.active = False
        return self

    @contextlib.contextmanager
    def tracing(self, sink: Any, events: Any = None) -> Iterator[Tracepoints]:
        """``with k.tracing(sink) as tr:`` -- the kmem tracepoints on inside the block."""
        self.start(sink, events)
        try:
            yield self
        finally:
            self.stop()

    # ------------------------------------------------------------------ writing events
    def _emit(self, ev: Any) -> None:
        self.counts[ev[0]] += 1
        self._write(ev)

    def _head(self) -> tuple[int, int, int, str]:
        m = self.m
        return m.clock.ns, m.cpu, m.current.pid, m.current.comm

    def trace_kmalloc(self, ptr: int, bytes_req: int, bytes_alloc: int, gfp: int) -> None:
        """trace_kmalloc() (mm/slub.c, 6.18): node -1, accounted = __GFP_ACCOUNT in gfp."""
        t, cpu, pid, comm = self._head()
        self._emit(SlabAlloc("kmalloc", t, cpu, pid, comm, call_site(), ptr, bytes_req, bytes_alloc,
                             self.m.gfp.format_trace(gfp), -1, None, bool(gfp & self.m.gfp.bits.account)))

    def trace_kmem_cache_alloc(self, ptr: int, cache: KmemCache, gfp: int, accounted: bool) -> None:
        """trace_kmem_cache_alloc(): bytes_req = s->object_size, bytes_alloc = s->size."""
        t, cpu, pid, comm = self._head()
        self._emit(SlabAlloc("kmem_cache_alloc", t, cpu, pid, comm, call_site(), ptr, cache.object_size,
                             cache.size, self.m.gfp.format_trace(gfp), -1,
                             cache.name if self._cache_alloc_name else None, accounted))

    def trace_kfree(self, ptr: int) -> None:
        t, cpu, pid, comm = self._head()
        self._emit(SlabFree("kfree", t, cpu, pid, comm, call_site(), ptr, None))

    def trace_kmem_cache_free(self, ptr: int, name: str | None) -> None:
        t, cpu, pid, comm = self._head()
        self._emit(SlabFree("kmem_cache_free", t, cpu, pid, comm, call_site(), ptr, name))

    def trace_mm_page_alloc(self, pfn: int, order: int, gfp: int, migratetype: int) -> None:
        t, cpu, pid, comm = self._head()
        self._emit(PageAlloc("mm_page_alloc", t, cpu, pid, comm, pfn, order, migratetype,
                             self.m.gfp.format_trace(gfp), None))

    def trace_mm_page_free(self, pfn: int, order: int) -> None:
        t, cpu, pid, comm = self._head()
        self._emit(PageFree("mm_page_free", t, cpu, pid, comm, pfn, order))

    def trace_mm_page_alloc_zone_locked(self, pfn: int, order: int, migratetype: int, percpu_refill: int) -> None:
        t, cpu, pid, comm = self._head()
        self._emit(PageMove("mm_page_alloc_zone_locked", t, cpu, pid, comm, pfn, order, migratetype, percpu_refill))

    def trace_mm_page_pcpu_drain(self, pfn: int, order: int, migratetype: int) -> None:
        t, cpu, pid, comm = self._head()
        self._emit(PageMove("mm_page_pcpu_drain", t, cpu, pid, comm, pfn, order, migratetype, None))

    def trace_mm_page_alloc_extfrag(self, pfn: int, alloc_order: int, fallback_order: int, pageblock_order: int,
                                    alloc_migratetype: int, fallback_migratetype: int) -> None:
        t, cpu, pid, comm = self._head()
        self._emit(ExtFrag("mm_page_alloc_extfrag", t, cpu, pid, comm, pfn, alloc_order, fallback_order,
                           pageblock_order, alloc_migratetype, fallback_migratetype,
                           int(fallback_order < pageblock_order), int(alloc_migratetype == fallback_migratetype)))


def tracepoints_init(m: Machine) -> None:
    """The kmem tracepoints, all off (``k.tp``)."""
    m.tp = Tracepoints(m)
