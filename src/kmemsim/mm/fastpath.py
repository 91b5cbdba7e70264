"""The pcp fast paths of the page allocator, and SLUB's, apart from everything else.

``install_pages(k)`` gives two entry points of a booted machine a fast path in their
dispatch slots (:mod:`kmemsim.dispatch`), in front of the general
``Kernel.get_free_pages`` / ``Kernel.free_pages`` methods, for every order the
per-CPU lists hold (``pcp_allowed_order()``: order 0, and from 5.14 -- the
``pcp_high_order`` feature -- orders 1-3 and the THP order):

    get_free_pages(gfp, order)  rmqueue_pcplist() on a zone that passes
                                zone_watermark_fast() at its high watermark: pop the
                                head of this CPU's list of (order, migratetype),
                                refcount 1 (prep_new_page: zeroing, __GFP_COMP).
    free_pages(addr, order)     free_frozen_page_commit() without a bulk free:
                                refcount 0, push on the head of the list.

Each does exactly what the general path would do in that case -- the same
counters (pcp count in pages, free_count, alloc_factor, the PCPF_* flags,
pgalloc, pgfree) and the same list order -- and hands every other case unchanged
to the general method, the Kernel's, whose generated argument checks
(kmemsim.args) refuse what no kernel type holds: an empty list (a refill from the
buddy), a zone below its high watermark or without a free block of the order, a
free that would drain
(count reaching ``high``, or free_high after a run of high-order frees), a
highatomic or isolated pageblock, a bad address, an order the lists do not hold.
Follows Linux 6.18.2 mm/page_alloc.c: rmqueue_pcplist() and __rmqueue_pcplist()
(3248-3312), __zone_watermark_ok() (3519-3595; zone_watermark_fast() 3604-3647),
free_frozen_page_commit() (2813-2882) with nr_pcp_high() (2765-2811).  Closures
keep the machine's structures in local cells: attribute lookups on the Kernel are
the cost that matters at a million calls a second.  tests/test_fastpath.py checks,
over random sequences, that a machine with the fast paths and one without end in
the same state.

Invariant the free path relies on: a pcp list that has been used keeps
``high_min <= high <= high_max`` (``zone_pcp_update`` and every path that moves
``high`` clamp it); an unused one has ``high == 0`` and so takes the slow path.
"""
from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from ..flags import WORD_MASK, Flags
from .memmap import SECTION_PAGES_SHIFT
from .page import PG

if TYPE_CHECKING:  # pragma: no cover
    from ..machine import Machine as Kernel

_MASK = (1 << SECTION_PAGES_SHIFT) - 1
_ZERO = 0  # `order is _ZERO`: exactly the int 0 (False and 0.0 take the general path)
_COSTLY = 3  # PAGE_ALLOC_COSTLY_ORDER
_BATCH_SCALE_MAX = 5  # CONFIG_PCP_BATCH_SCALE_MAX


def install_pages(k: Kernel) -> None:
    """The pcp fast paths of 6.x (orders 0-3 and the THP order); a 2.6 kernel's hot and cold
    lists (``page_alloc.pcp26``) always take the general path."""
    if k.page_alloc.pcp26:
        return
    pa = k.page_alloc
    slow_get = k.dispatch.general("get_free_pages", k)  # the Kernel methods: argument checks first
    slow_free = k.dispatch.general("free_pages", k)
    fast_get = k.pages.fast_get
    refarr = k.memmap.refcount_arrays
    memmap_set = k.memmap.set
    allocated = pa.allocated
    compound = pa.compound
    zone_chunk = pa.zone_chunk
    pageblock_mt = pa.pageblock_mt
    fast0 = pa.fast0
    pindex = pa.pcp_pindex
    pa_alloc = pa.alloc
    pb_order = pa.pageblock_order
    fill = k.phys.fill
    page_offset = k.layout.page_offset
    lowmem_bytes = k.arch.lowmem_bytes
    shift = SECTION_PAGES_SHIFT
    assert k.page_shift == 12
    #: order -> the pcp list of each migratetype, for the orders above 0 the lists hold.  The
    #: watermark test below is __zone_watermark_ok()'s since 4.4 (zone_watermark_order0); every
    #: kernel with high orders on its pcp lists (5.14+) has it.
    high_orders: dict[int, tuple[int, ...]] = (
        {o: lists for o, lists in pa.pcp_pindex.items() if o} if k.features.zone_watermark_order0 else {})
    head = PG.head
    resolved = k.gfp.resolved

    def alloc_pfn(gfp: int, order: int) -> int:
        """``page_alloc.alloc(gfp, order)`` -- the pfn of a new block, or -1 -- for a caller inside
        the model that holds an int gfp mask and calls it only while get_free_pages' fast path
        is in its slot (the trace replay).  The steps of get_free_pages() below, for any order
        the pcp lists hold, keyed by the prepared mask with ``__GFP_HIGHMEM`` kept (alloc_pages(),
        not __get_free_pages()); every other case, and a mask the general path has not prepared
        yet, by the general path."""
        f = fast0.get(gfp)
        if f is not None and (order == 0 or order in high_orders):
            z, hz, mt, zero, comp = f
            # __zone_watermark_ok(): free pages less 2^order - 1 (and the highatomic ones, in
            # fast_high) above the high watermark and lowmem_reserve ...
            if z.free_pages - (1 << order) + 1 > z.fast_high[hz]:
                # ... and, above order 0, a free block of at least this order on a list the
                # allocation may use (the lists themselves are asked: see get_free_pages())
                if order:
                    fl = z.free_list[order]
                    if not (fl[0] or fl[1] or fl[2]):
                        for fl in z.free_list[order + 1:]:
                            if fl[0] or fl[1] or fl[2]:
                                break
                        else:
                            return pa_alloc(gfp, order)
                pcp = z.pcp[k.cpu]
                lst = pcp.lists[pindex[order][mt]]
                if lst:
                    pfn = lst[-1]
                    ra = refarr.get(pfn >> shift)
                    if ra is not None:
                        lst.pop()
                        ra[pfn & _MASK] = 1
                        pcp.count -= 1 << order
                        if pcp.free_count:
                            pcp.free_count >>= 1
                        z.pgalloc += 1 << order
                        allocated[pfn] = order
                        if zero:
                            fill(pfn << 12, 0, 4096 << order)
                        if comp and order:
                            compound.add(pfn)
                            memmap_set(pfn, "flags", head)
                        return pfn
        return pa_alloc(gfp, order)

    # The bodies below are written out in full, not shared through helpers: a Python
    # call costs as much as the work itself on these paths (measured: order-3 pairs through a
    # shared helper ran at 0.75x order 0, against 0.78x written out).
    def get_free_pages(_k: Kernel, gfp_mask: int, order: int = 0) -> int:
        # an int or a symbolic flag only: a float or a bool equal to a cached mask takes the
        # general path, which refuses it (kmemsim.args)
        if type(gfp_mask) is Flags:
            # symbolic flags (kmemsim.gfp): their bits once resolved, the key fast_get learns (the
            # Kernel method hands page_api the bits, not the expression)
            g = resolved.get(gfp_mask)
            if g is not None:
                gfp_mask = g
        if order is _ZERO and (type(gfp_mask) is int or type(gfp_mask) is Flags):
            f = fast_get.get(gfp_mask)
            if f is not None:
                z, hz, mt, zero, _ = f
                if z.free_pages > z.fast_high[hz]:  # not below high, and above it (mmzone.Zone)
                    pcp = z.pcp[_k.cpu]
                    lst = pcp.lists[mt]  # the pindex of order 0 is the migratetype
                    if lst:
                        pfn = lst[-1]
                        ra = refarr.get(pfn >> shift)
                        if ra is not None:
                            lst.pop()
                            ra[pfn & _MASK] = 1
                            pcp.count -= 1
                            if pcp.free_count:
                                pcp.free_count >>= 1
                            z.pgalloc += 1
                            allocated[pfn] = 0
                            if zero:
                                fill(pfn << 12, 0, 4096)
                            return page_offset + (pfn << 12)
        elif type(order) is int and (type(gfp_mask) is int or type(gfp_mask) is Flags):
            lists = high_orders.get(order)
            f = fast_get.get(gfp_mask)
            if lists is not None and f is not None:
                z, hz, mt, zero, comp = f
                # __zone_watermark_ok(): free pages less 2^order - 1 (and the highatomic ones, in
                # fast_high) above the high watermark and lowmem_reserve ...
                if z.free_pages - (1 << order) + 1 > z.fast_high[hz]:
                    # ... and a free block of at least this order on a list the allocation may use
                    # (MIGRATE_PCPTYPES: UNMOVABLE, MOVABLE, RECLAIMABLE; nr_free[o] is their sum
                    # and the highatomic and isolated blocks', so the lists themselves are asked)
                    fl = z.free_list[order]
                    if not (fl[0] or fl[1] or fl[2]):
                        for fl in z.free_list[order + 1:]:
                            if fl[0] or fl[1] or fl[2]:
                                break
                        else:
                            return slow_get(gfp_mask, order)
                    pcp = z.pcp[_k.cpu]
                    lst = pcp.lists[lists[mt]]
                    if lst:
                        pfn = lst[-1]
                        ra = refarr.get(pfn >> shift)
                        if ra is not None:
                            lst.pop()
                            ra[pfn & _MASK] = 1
                            pcp.count -= 1 << order
                            if pcp.free_count:
                                pcp.free_count >>= 1
                            z.pgalloc += 1 << order
                            allocated[pfn] = order
                            if zero:
                                fill(pfn << 12, 0, 4096 << order)
                            if comp:
                                compound.add(pfn)
                                memmap_set(pfn, "flags", head)
                            return page_offset + (pfn << 12)
        return slow_get(gfp_mask, order)

    def free_pages(_k: Kernel, addr: int, order: int = 0) -> None:
        if type(addr) is int:
            off = addr - page_offset
            if 0 < off < lowmem_bytes and not off & 4095:
                pfn = off >> 12
                ra = refarr.get(pfn >> shift)
                z = zone_chunk.get(pfn >> 12)  # a block of the pcp orders lies in one 16 MiB chunk
                if ra is not None and z is not None and ra[pfn & _MASK] == 1:
                    mt = pageblock_mt[pfn >> pb_order]
                    pcp = z.pcp[_k.cpu]
                    if order is _ZERO:
                        if mt < 3 and not z.below_high and pcp.count + 1 < pcp.high and allocated.get(pfn) == 0:
                            del allocated[pfn]
                            ra[pfn & _MASK] = 0
                            if pcp.alloc_factor:
                                pcp.alloc_factor >>= 1
                            if pcp.free_high:
                                pcp.free_high = False  # PCPF_PREV_FREE_HIGH_ORDER cleared by an order-0 free
                            if pcp.free_count < pcp.batch << 5:
                                pcp.free_count += 1
                            pcp.lists[mt].append(pfn)
                            pcp.count += 1
                            z.pgfree += 1
                            return
                    elif mt < 3 and type(order) is int and not z.below_high:
                        lists = high_orders.get(order)
                        if lists is not None:
                            nr = 1 << order
                            count = pcp.count + nr
                            if count < pcp.high and allocated.get(pfn) == order:
                                batch = pcp.batch
                                if order <= _COSTLY:
                                    # free_high: a run of high-order frees without allocations drains
                                    # (nr_pcp_high() returns 0): the general path does it
                                    if (pcp.free_high and pcp.free_count >= batch + (pcp.high_min >> 1)
                                            and (not pcp.free_high_batch or count >= batch)):
                                        return slow_free(addr, order)
                                    pcp.free_high = True  # PCPF_PREV_FREE_HIGH_ORDER
                                elif pcp.free_high:
                                    pcp.free_high = False
                                del allocated[pfn]
                                ra[pfn & _MASK] = 0
                                if pfn in compound:
                                    compound.discard(pfn)
                                    memmap_set(pfn, "flags", 0)
                                if pcp.alloc_factor:
                                    pcp.alloc_factor >>= 1
                                if pcp.free_count < batch << _BATCH_SCALE_MAX:
                                    pcp.free_count += nr
                                pcp.lists[lists[mt]].append(pfn)
                                pcp.count = count
                                z.pgfree += nr
                                return
        slow_free(addr, order)

    k.dispatch.install("get_free_pages", get_free_pages)
    k.pages.alloc_pfn = alloc_pfn
    k.dispatch.install("free_pages", free_pages)
    #: the closures and the state they hold, for the compiled replay core, which does their common
    #: cases itself while they are the functions it calls (trace/replay.py: Replay._core_spec())
    k.pages.pcp_state = (alloc_pfn, free_pages, fast0, high_orders, pindex, refarr, allocated, zone_chunk,
                         pageblock_mt, pb_order, lowmem_bytes, shift, page_offset)


def kmalloc_by_size(k: Kernel) -> tuple[int, list]:
    """SLUB's fast kmalloc table: the largest size a kmalloc cache serves (2.6.24: PAGE_SIZE / 2)
    and the normal kmalloc cache of every size up to it (index 0: None).  install_slab()'s
    kmalloc uses it, and so does the compiled replay core (trace/replay.py)."""
    slub = k.slub
    max_cache: int = getattr(k.slab_impl, "max_cache", slub.geo.KMALLOC_MAX_CACHE_SIZE)
    normal = k.slab.kmalloc_caches[""]
    return max_cache, [None, *map(normal.__getitem__, slub.geo.kmalloc_indexes(max_cache)[1:])]


def install_slab(k: Kernel) -> None:
    """The SLUB fast paths: slab_alloc_node() and do_slab_free() on the CPU slab.

    kmem_cache_alloc / kmalloc pop the CPU freelist head, reading the next free
    pointer from the object's own bytes (decoded when CONFIG_SLAB_FREELIST_HARDENED);
    kmem_cache_free / kfree push onto it when the object's slab is this CPU's slab,
    and onto the slab's own freelist (__slab_free without a list change) when it is
    another CPU's slab, on a CPU partial list, or a node partial slab that keeps an
    object in use.  Everything else -- an empty freelist, a full slab becoming
    partial, an empty slab to discard, large kmalloc, DMA/reclaimable/accounted
    kinds, debug caches, bad arguments, a double free the hardened check would
    catch -- goes to the general methods of Kernel.
    """
    from .slub import KmemCache

    general = k.dispatch.general  # the Kernel methods: argument checks first (kmemsim.args)
    slow_alloc = general("kmem_cache_alloc", k)
    slow_free = general("kmem_cache_free", k)
    slow_kmalloc = general("kmalloc", k)
    slow_kfree = general("kfree", k)
    slub = k.slub
    frames = k.phys.frames
    slab_of = slub.slab_of
    page_offset = k.layout.page_offset
    hardened = slub.hardened
    word = slub.word
    bits = k.gfp.bits
    zero_flag = bits.zero
    # kmalloc_type() is not KMALLOC_NORMAL, or bits outside gfp_t's 32 (a negative int has them
    # too): the general path, which picks the kind's cache or refuses the value (FlagSet.mask)
    not_word = ~WORD_MASK
    kind_flags = bits.dma | bits.reclaimable | bits.account | not_word
    fill = k.phys.fill
    max_cache, by_size = kmalloc_by_size(k)
    #: swab() of free-pointer addresses, computed once each (a cache of the fast paths' own: the
    #: values are those of SLUB's freelist_ptr_encode()/decode(), a pure function of the address)
    swab_cache: dict[int, int] = {}
    word_fmt = struct.Struct("<Q" if word == 8 else "<I")
    get_word = word_fmt.unpack_from
    put_word = word_fmt.pack_into
    bad_access = struct.error  # an unaligned wild pointer at a page's end: the slow path reports it

    resolved = k.gfp.resolved

    def swab(x: int) -> int:
        v = swab_cache[x] = int.from_bytes(x.to_bytes(word, "little"), "big")
        return v

    def free_to_slab(cache: KmemCache, slab, obj: int, off: int) -> bool:
        """__slab_free() without a list change -- another CPU's slab, a CPU partial slab, or
        a node partial slab that keeps an object in use: push onto the slab's own freelist.
        False when the general path must decide (full slab, empty slab, double free, a slab of
        SLAB_TYPESAFE_BY_RCU waiting for its grace period)."""
        prior = slab.freelist
        if prior and prior != obj and (slab.frozen or slab.inuse > 1
                                       or (slab.where != "node_partial" and slab.where != "rcu_free")):
            fp = off + cache.offset
            frame = frames.get(fp >> 12)
            if frame is not None and (fp & 4095) <= 4096 - word:
                if hardened:
                    a = fp + page_offset
                    prior ^= cache.random ^ (swab_cache.get(a) or swab(a))
                put_word(frame, fp & 4095, prior)
                slab.freelist = obj
                slab.inuse -= 1
                return True
        return False

    # The bodies below are written out in full, not shared through helpers: a Python
    # call costs as much as the work itself on these paths.
    def kmem_cache_alloc(_k: Kernel, cache: KmemCache, gfp_mask: int) -> int:
        if type(cache) is KmemCache and type(gfp_mask) is int and not gfp_mask & not_word:
            c = cache.cpu_slab[_k.cpu]
            obj = c.freelist
            if obj and c.slab is not None:
                fp = obj + cache.offset - page_offset
                frame = frames.get(fp >> 12)
                if frame is not None:
                    try:
                        nxt = get_word(frame, fp & 4095)[0]
                    except bad_access:
                        return slow_alloc(cache, gfp_mask)
                    if hardened:
                        a = fp + page_offset
                        nxt ^= cache.random ^ (swab_cache.get(a) or swab(a))
                    c.freelist = nxt
                    if gfp_mask & zero_flag:
                        fill(obj - page_offset, 0, cache.object_size)
                    return obj
        elif type(gfp_mask) is Flags:  # symbolic flags (kmemsim.gfp): their bits, once resolved
            g = resolved.get(gfp_mask)
            if g is not None:
                return kmem_cache_alloc(_k, cache, g)
        return slow_alloc(cache, gfp_mask)

    def kmalloc(_k: Kernel, size: int, gfp_mask: int) -> int:
        if type(size) is int and 0 < size <= max_cache and type(gfp_mask) is int and not gfp_mask & kind_flags:
            cache = by_size[size]
            c = cache.cpu_slab[_k.cpu]
            obj = c.freelist
            if obj and c.slab is not None:
                fp = obj + cache.offset - page_offset
                frame = frames.get(fp >> 12)
                if frame is not None:
                    try:
                        nxt = get_word(frame, fp & 4095)[0]
                    except bad_access:
                        return slow_kmalloc(size, gfp_mask)
                    if hardened:
                        a = fp + page_offset
                        nxt ^= cache.random ^ (swab_cache.get(a) or swab(a))
                    c.freelist = nxt
                    if gfp_mask & zero_flag:
                        fill(obj - page_offset, 0, cache.object_size)
                    return obj
        elif type(gfp_mask) is Flags:  # symbolic flags (kmemsim.gfp): their bits, once resolved
            g = resolved.get(gfp_mask)
            if g is not None:
                return kmalloc(_k, size, g)
        return slow_kmalloc(size, gfp_mask)

    def kmem_cache_free(_k: Kernel, cache: KmemCache, obj: int) -> None:
        if type(obj) is int:
            off = obj - page_offset
            slab = slab_of.get(off >> 12)
            if slab is not None and slab.cache is cache:
                c = cache.cpu_slab[_k.cpu]
                head = c.freelist
                if slab is c.slab and not (hardened and head == obj):
                    fp = off + cache.offset
                    frame = frames.get(fp >> 12)
                    if frame is not None and (fp & 4095) <= 4096 - word:
                        if hardened:
                            a = fp + page_offset
                            head ^= cache.random ^ (swab_cache.get(a) or swab(a))
                        put_word(frame, fp & 4095, head)
                        c.freelist = obj
                        return
                elif not cache.debug and free_to_slab(cache, slab, obj, off):
                    return
        slow_free(cache, obj)

    def kfree(_k: Kernel, obj: int) -> None:
        if type(obj) is int and obj > 16:
            off = obj - page_offset
            slab = slab_of.get(off >> 12)
            if slab is not None:
                cache = slab.cache
                c = cache.cpu_slab[_k.cpu]
                head = c.freelist
                if slab is c.slab and not (hardened and head == obj):
                    fp = off + cache.offset
                    frame = frames.get(fp >> 12)
                    if frame is not None and (fp & 4095) <= 4096 - word:
                        if hardened:
                            a = fp + page_offset
                            head ^= cache.random ^ (swab_cache.get(a) or swab(a))
                        put_word(frame, fp & 4095, head)
                        c.freelist = obj
                        return
                elif not cache.debug and free_to_slab(cache, slab, obj, off):
                    return
        slow_kfree(obj)

    for name, fn in (("kmem_cache_alloc", kmem_cache_alloc), ("kmem_cache_free", kmem_cache_free),
                     ("kmalloc", kmalloc), ("kfree", kfree)):
        k.dispatch.install(name, fn)
