"""The model's own kmem tracepoints: a Kernel writes the events Linux 6.18 writes.

    >>> import io, kmemsim
    >>> from kmemsim.gfp import GFP_KERNEL
    >>> k = kmemsim.boot()
    >>> out = io.StringIO()
    >>> with k.tracing(out):                              # or k.trace_start(out) ... k.trace_stop()
    ...     p = k.kmalloc(100, GFP_KERNEL)
    ...     k.kfree(p)
    >>> print(out.getvalue())                              # doctest: +SKIP
            insmod-1000    [000] .....     1.000000: kmalloc: call_site=<module>+0x0/0x0 ptr=ffff8880... bytes_req=100 bytes_alloc=128 gfp_flags=GFP_KERNEL node=-1 accounted=false
            insmod-1000    [000] .....     1.000000: kfree: call_site=<module>+0x0/0x0 ptr=ffff8880...

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
                               (a merged cache prints its target's name, as the kernel)
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

How it costs nothing when off: tracing swaps traced wrappers in as *instance
attributes* over the machine's entry points (``k.kmalloc``, ``k.kfree``,
``k.kmem_cache_alloc``, ... and the page allocator's ``alloc``, ``free``,
``rmqueue_smallest``, ...) and :meth:`KmemTracer.stop` puts the originals back;
no code of the fast paths tests anything.  Wrappers nest: only the outermost slab
entry (and, separately, the outermost page entry) of a call emits, so kzalloc or
a fast path falling back to its slow path gives one event.

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
from .emit import ftrace_line
from .events import KMEM_EVENTS, ExtFrag, PageAlloc, PageFree, PageMove, SlabAlloc, SlabFree

if TYPE_CHECKING:  # pragma: no cover
    from ..kernel import Kernel

__all__ = ["KmemTracer", "trace_start", "trace_stop", "tracing", "EMITTED_EVENTS"]

#: the events the model emits (``mm_page_free_batched`` has no moment in the model).
EMITTED_EVENTS = frozenset(KMEM_EVENTS - {"kmalloc_node", "kmem_cache_alloc_node", "mm_page_free_batched"})

_MISSING = object()


def _call_site() -> str:
    from ..kernel import user_frames

    f = user_frames(1)
    return f"{f[0][0]}+0x0/0x0" if f else "kmemsim+0x0/0x0"


class KmemTracer:
    """The tracing state of one machine; made by :meth:`Kernel.trace_start`.

    ``counts`` counts the events written, by name; ``events`` is the set enabled.
    """

    def __init__(self, k: Kernel, sink: Any, events: Any = None):
        if k.profile.kernel_version.startswith("2."):
            raise UsageError(
                f"{k.profile.name}: Linux {k.profile.kernel_version} has no kmem tracepoints (they arrived in 2.6.32)"
            )
        if events is None:
            enabled = set(EMITTED_EVENTS)
        else:
            enabled = set()
            for e in [events] if isinstance(events, str) else events:
                name = str(e).removeprefix("kmem:").removeprefix("kmem/")
                if name not in KMEM_EVENTS:
                    raise UsageError(f"trace_start: {e!r} is not a kmem event ({', '.join(sorted(KMEM_EVENTS))})")
                enabled.add(name)
        self.k = k
        self.events = frozenset(enabled)
        self.counts: Counter = Counter()
        if isinstance(sink, list):
            self._write: Callable[[Any], None] = sink.append
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
        self._saved: list[tuple[object, str, object]] = []
        self._slab_busy = False
        self._page_busy = False
        self.active = False

    # ------------------------------------------------------------------ emitting
    def _head(self) -> tuple:
        k = self.k
        return (k.clock.ns, k._cpu, k.current.pid, k.current.comm)

    def _emit(self, ev: Any) -> None:
        self.counts[ev[0]] += 1
        self._write(ev)

    # ------------------------------------------------------------------ install
    def _swap(self, obj: object, name: str, make: Callable[[Callable], Callable]) -> None:
        old = obj.__dict__.get(name, _MISSING)
        inner = getattr(obj, name)
        new = make(inner)
        new.__doc__ = getattr(inner, "__doc__", None)
        new.__wrapped__ = inner  # type: ignore[attr-defined]
        setattr(obj, name, new)
        self._saved.append((obj, name, old))

    def start(self) -> KmemTracer:
        k = self.k
        if getattr(k, "_kmem_tracer", None) is not None:
            raise UsageError("trace_start: tracing is already on for this machine (trace_stop() first)")
        # the wrappers wrap the general paths: the allocation fast paths step aside while
        # tracing (so that atomic-context checks and fault injection still see every call)
        k.fastpath_suspend("tracing")
        ev = self.events
        slab_ev = ev & {"kmalloc", "kmem_cache_alloc", "kfree", "kmem_cache_free"}
        page_ev = ev & {"mm_page_alloc", "mm_page_free"}
        if slab_ev:
            self._install_slab()
        if page_ev:
            self._install_pages()
        if "mm_page_alloc_zone_locked" in ev:
            self._install_zone_locked()
        if "mm_page_pcpu_drain" in ev:
            self._install_pcpu_drain()
        if "mm_page_alloc_extfrag" in ev:
            self._install_extfrag()
        k._kmem_tracer = self  # type: ignore[attr-defined]
        self.active = True
        return self

    def stop(self) -> KmemTracer:
        """Put every original entry point back (in reverse order of the swaps)."""
        for obj, name, old in reversed(self._saved):
            if old is _MISSING:
                try:
                    delattr(obj, name)
                except AttributeError:
                    pass
            else:
                setattr(obj, name, old)
        self._saved.clear()
        if getattr(self.k, "_kmem_tracer", None) is self:
            self.k._kmem_tracer = None  # type: ignore[attr-defined]
        if self.active:
            self.k.fastpath_resume("tracing")
        self.active = False
        return self

    # ------------------------------------------------------------------ slab events
    def _install_slab(self) -> None:
        k = self.k
        tr = self
        ev = self.events
        slab = k.slab
        slub = k.slub
        account = k.page_alloc.bits.account
        slab_account = slub.geo.SLAB_ACCOUNT
        max_cache = slub.geo.KMALLOC_MAX_CACHE_SIZE
        fmt = k.gfp.format_trace
        page_size = k.page_size
        page_shift = k.page_shift
        on_kmalloc = "kmalloc" in ev
        on_cache = "kmem_cache_alloc" in ev
        on_kfree = "kfree" in ev
        on_cfree = "kmem_cache_free" in ev

        def kmalloc_alloc(size: int) -> int:
            if size > max_cache:
                return page_size << max(0, (size - 1).bit_length() - page_shift)
            return -1

        def emit_kmalloc(size: Any, gfp: Any, p: int, cache: Any = None) -> None:
            if not on_kmalloc or type(size) is not int or size <= 0 or type(gfp) is not int:
                return
            alloc = kmalloc_alloc(size)
            if alloc < 0:
                s = cache if cache is not None else slab.kmalloc_cache_for(size, gfp)
                alloc = s.size
            t, cpu, pid, comm = tr._head()
            tr._emit(SlabAlloc("kmalloc", t, cpu, pid, comm, _call_site(), p, size, alloc, fmt(gfp), -1, None,
                               bool(gfp & account)))  # fmt: skip

        def wrap_kmalloc(inner: Callable) -> Callable:
            def kmalloc(size: int, gfp_mask: int) -> int:
                if tr._slab_busy:
                    return inner(size, gfp_mask)
                tr._slab_busy = True
                try:
                    p = inner(size, gfp_mask)
                finally:
                    tr._slab_busy = False
                emit_kmalloc(size, gfp_mask, p)
                return p

            return kmalloc

        def wrap_kmalloc_cache(inner: Callable) -> Callable:
            def kmalloc_cache(cache: Any, gfp_mask: int, size: int) -> int:
                if tr._slab_busy:
                    return inner(cache, gfp_mask, size)
                tr._slab_busy = True
                try:
                    p = inner(cache, gfp_mask, size)
                finally:
                    tr._slab_busy = False
                emit_kmalloc(size, gfp_mask, p, cache)
                return p

            return kmalloc_cache

        def wrap_cache_alloc(inner: Callable, zero: int) -> Callable:
            def kmem_cache_alloc(cache: Any, gfp_mask: int) -> int:
                if tr._slab_busy:
                    return inner(cache, gfp_mask)
                tr._slab_busy = True
                try:
                    p = inner(cache, gfp_mask)
                finally:
                    tr._slab_busy = False
                if on_cache:
                    g = gfp_mask | zero
                    t, cpu, pid, comm = tr._head()
                    tr._emit(SlabAlloc(
                        "kmem_cache_alloc", t, cpu, pid, comm, _call_site(), p, cache.object_size, cache.size,
                        fmt(g), -1, cache.name, bool(g & account or cache.flags & slab_account),
                    ))  # fmt: skip
                return p

            return kmem_cache_alloc

        def wrap_kfree(inner: Callable) -> Callable:
            def kfree(obj: int) -> None:
                if tr._slab_busy:
                    return inner(obj)
                if on_kfree and type(obj) is int:
                    t, cpu, pid, comm = tr._head()
                    tr._emit(SlabFree("kfree", t, cpu, pid, comm, _call_site(), obj, None))
                tr._slab_busy = True
                try:
                    return inner(obj)
                finally:
                    tr._slab_busy = False

            return kfree

        def wrap_cache_free(inner: Callable) -> Callable:
            def kmem_cache_free(cache: Any, obj: int) -> None:
                if tr._slab_busy:
                    return inner(cache, obj)
                if on_cfree and type(obj) is int and obj:
                    sl, _ = slub.object_of(obj)
                    real = sl.cache if sl is not None else cache  # cache_from_obj()
                    t, cpu, pid, comm = tr._head()
                    tr._emit(SlabFree("kmem_cache_free", t, cpu, pid, comm, _call_site(), obj,
                                      getattr(real, "name", None)))  # fmt: skip
                tr._slab_busy = True
                try:
                    return inner(cache, obj)
                finally:
                    tr._slab_busy = False

            return kmem_cache_free

        zero = slub.GFP_ZERO
        self._swap(k, "kmalloc", wrap_kmalloc)
        self._swap(slab, "kmalloc", wrap_kmalloc)  # kzalloc and the slow paths call it directly
        self._swap(k, "kmalloc_cache", wrap_kmalloc_cache)
        self._swap(k, "kmem_cache_alloc", lambda inner: wrap_cache_alloc(inner, 0))
        # kmem_cache_zalloc goes to slab_alloc directly: trace it as kmem_cache_alloc of gfp|__GFP_ZERO
        self._swap(k, "kmem_cache_zalloc", lambda inner: wrap_cache_alloc(inner, zero))
        self._swap(k, "kfree", wrap_kfree)
        self._swap(slab, "kfree", wrap_kfree)
        self._swap(k, "kmem_cache_free", wrap_cache_free)
        vm = getattr(k, "vmalloc_impl", None)
        if vm is not None:
            # vmalloc_init() took the machine's kmalloc/kfree before tracing could wrap them
            self._swap(vm, "_kmalloc", lambda inner: lambda size, gfp_mask: k.kmalloc(size, gfp_mask))
            self._swap(vm, "_kfree", lambda inner: lambda obj: k.kfree(obj))

    # ------------------------------------------------------------------ page events
    def _install_pages(self) -> None:
        k = self.k
        tr = self
        pa = k.page_alloc
        ev = self.events
        on_alloc = "mm_page_alloc" in ev
        on_free = "mm_page_free" in ev
        allocated = pa.allocated
        fmt = k.gfp.format_trace
        highmem = pa.bits.highmem
        page_offset = k.layout.page_offset
        lowmem = k.arch.lowmem_bytes
        shift = k.page_shift
        get_ref = pa._get_ref

        def emit_alloc(gfp: int, order: int, pfn: int) -> None:
            if not on_alloc or type(gfp) is not int or type(order) is not int:
                return
            ctx = pa._gfp_cache.get(gfp)
            if ctx is None:
                return  # refused before allocating (a bad mask or order): no tracepoint either
            t, cpu, pid, comm = tr._head()
            tr._emit(PageAlloc("mm_page_alloc", t, cpu, pid, comm, pfn if pfn >= 0 else -1, order,
                               ctx.migratetype, fmt(gfp), None))  # fmt: skip

        def will_free(pfn: int, order: int) -> bool:
            return allocated.get(pfn) == order and get_ref(pfn) == 1

        def emit_free(pfn: int, order: int) -> None:
            if on_free:
                t, cpu, pid, comm = tr._head()
                tr._emit(PageFree("mm_page_free", t, cpu, pid, comm, pfn, order))

        def wrap_alloc(inner: Callable) -> Callable:
            def alloc(gfp: int, order: int) -> int:
                if tr._page_busy:
                    return inner(gfp, order)
                tr._page_busy = True
                try:
                    pfn = inner(gfp, order)
                finally:
                    tr._page_busy = False
                emit_alloc(gfp, order, pfn)
                return pfn

            return alloc

        def wrap_free(inner: Callable) -> Callable:
            def free(pfn: int, order: int) -> None:
                if tr._page_busy:
                    return inner(pfn, order)
                freeing = type(pfn) is int and type(order) is int and will_free(pfn, order)
                if freeing:
                    emit_free(pfn, order)
                split = not freeing and type(pfn) is int and order and allocated.get(pfn) == order
                tr._page_busy = True
                try:
                    inner(pfn, order)
                finally:
                    tr._page_busy = False
                if split and allocated.get(pfn) == 0:
                    # ___free_pages(): another reference holds the head; the tail halves go now
                    for o in range(order - 1, -1, -1):
                        emit_free(pfn + (1 << o), o)

            return free

        def wrap_to_tail(inner: Callable) -> Callable:
            def free_to_buddy_tail(pfn: int, order: int) -> None:
                if not tr._page_busy:
                    emit_free(pfn, order)  # __free_pages_ok(FPI_TO_TAIL) -> free_pages_prepare
                tr._page_busy = True
                try:
                    return inner(pfn, order)
                finally:
                    tr._page_busy = False

            return free_to_buddy_tail

        def wrap_get_free_pages(inner: Callable) -> Callable:
            def get_free_pages(gfp_mask: int, order: int = 0) -> int:
                if tr._page_busy:
                    return inner(gfp_mask, order)
                tr._page_busy = True
                try:
                    addr = inner(gfp_mask, order)
                finally:
                    tr._page_busy = False
                if type(gfp_mask) is int:
                    emit_alloc(gfp_mask & ~highmem, order, (addr - page_offset) >> shift if addr else -1)
                return addr

            return get_free_pages

        def wrap_free_pages(inner: Callable) -> Callable:
            def free_pages(addr: int, order: int = 0) -> None:
                if tr._page_busy:
                    return inner(addr, order)
                if type(addr) is int and type(order) is int:
                    off = addr - page_offset
                    if 0 <= off < lowmem and not off & ((1 << shift) - 1) and will_free(off >> shift, order):
                        emit_free(off >> shift, order)
                tr._page_busy = True
                try:
                    return inner(addr, order)
                finally:
                    tr._page_busy = False

            return free_pages

        self._swap(pa, "alloc", wrap_alloc)
        self._swap(pa, "free", wrap_free)
        self._swap(pa, "free_to_buddy_tail", wrap_to_tail)
        self._swap(k, "get_free_pages", wrap_get_free_pages)
        self._swap(k, "free_pages", wrap_free_pages)

    def _install_zone_locked(self) -> None:
        tr = self
        pa = self.k.page_alloc
        pcp_orders = set(pa.pcp_orders)
        from ..mm.mmzone import MIGRATE_PCPTYPES

        def wrap(inner: Callable) -> Callable:
            def rmqueue_smallest(z: Any, order: int, mt: int) -> int:
                pfn = inner(z, order, mt)
                if pfn >= 0:
                    t, cpu, pid, comm = tr._head()
                    tr._emit(PageMove("mm_page_alloc_zone_locked", t, cpu, pid, comm, pfn, order, mt,
                                      int(order in pcp_orders and mt < MIGRATE_PCPTYPES)))  # fmt: skip
                return pfn

            return rmqueue_smallest

        self._swap(pa, "rmqueue_smallest", wrap)

    def _install_pcpu_drain(self) -> None:
        tr = self
        pa = self.k.page_alloc

        def wrap(inner: Callable) -> Callable:
            def free_pcppages_bulk(z: Any, count: int, pcp: Any, pindex: int) -> None:
                before = [list(lst) for lst in pcp.lists]
                inner(z, count, pcp, pindex)
                n = len(before)
                for i in range(n):  # free_pcppages_bulk's round robin starts at pindex
                    pi = (pindex + i) % n
                    old = before[pi]
                    gone = len(old) - len(pcp.lists[pi])
                    if gone <= 0:
                        continue
                    order = pa._pindex_order[pi]
                    for pfn in old[:gone]:  # drains take the cold end, index 0
                        t, cpu, pid, comm = tr._head()
                        tr._emit(PageMove("mm_page_pcpu_drain", t, cpu, pid, comm, pfn, order,
                                          z.get_pageblock_migratetype(pfn), None))  # fmt: skip

            return free_pcppages_bulk

        self._swap(pa, "free_pcppages_bulk", wrap)

    def _install_extfrag(self) -> None:
        tr = self
        pa = self.k.page_alloc
        pb = pa.pageblock_order

        def emit(z: Any, pfn: int, order: int, cur: int, start: int, fallback: int) -> None:
            t, cpu, pid, comm = tr._head()
            tr._emit(ExtFrag("mm_page_alloc_extfrag", t, cpu, pid, comm, pfn, order, cur, pb, start, fallback,
                             int(cur < pb), int(start == fallback)))  # fmt: skip

        def wrap_claim(inner: Callable) -> Callable:
            def try_to_claim_block(z: Any, pfn: int, cur: int, order: int, start: int, block_type: int,
                                   flags: int) -> int:  # fmt: skip
                got = inner(z, pfn, cur, order, start, block_type, flags)
                if got >= 0:
                    emit(z, got, order, cur, start, block_type)
                return got

            return try_to_claim_block

        def wrap_steal(inner: Callable) -> Callable:
            def rmqueue_steal(z: Any, order: int, mt: int) -> int:
                found = None
                for cur in range(order, pa.max_order + 1):  # the block __rmqueue_steal will take
                    fmt = pa._find_suitable_fallback(z, cur, mt, False)
                    if fmt >= 0:
                        found = (cur, fmt)
                        break
                got = inner(z, order, mt)
                if got >= 0 and found is not None:
                    emit(z, got, order, found[0], mt, found[1])
                return got

            return rmqueue_steal

        self._swap(pa, "_try_to_claim_block", wrap_claim)
        self._swap(pa, "_rmqueue_steal", wrap_steal)


# ---------------------------------------------------------------------------- the Kernel's methods


def trace_start(k: Kernel, sink: Any, events: Any = None) -> KmemTracer:
    """Start writing ``k``'s kmem events to ``sink``; returns the :class:`KmemTracer`."""
    return KmemTracer(k, sink, events).start()


def trace_stop(k: Kernel) -> KmemTracer | None:
    """Stop tracing ``k`` (a no-op when it is off); returns the tracer that was on."""
    tr = getattr(k, "_kmem_tracer", None)
    if tr is not None:
        tr.stop()
    return tr


@contextlib.contextmanager
def tracing(k: Kernel, sink: Any, events: Any = None) -> Iterator[KmemTracer]:
    """``with k.tracing(sink) as tr:`` -- tracing on inside the block only."""
    tr = trace_start(k, sink, events)
    try:
        yield tr
    finally:
        tr.stop()
