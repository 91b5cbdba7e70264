"""The page allocator: buddy free areas, pcp lists, watermarks, fast and slow paths.

Models mm/page_alloc.c of Linux 6.18 (and mm/mm_init.c, mm/vmscan.c's kswapd
wakeup seam); the linux-2.6-i386 profile runs the same engine on its own zones
(DMA, Normal, HighMem) and GFP bits.  What differs between kernels is chosen by the
machine's features (``k.features``, kmemsim.features) once, when the allocator is
built: the watermark check (``zone_watermark_order0``), the slow path
(``reclaim_retry_watermark``), the watermark and pcp formulas (``watermark_scale_factor``,
``watermark_share_gaps``, ``zoneinfo_managed``, ``zone_batch_*``, ``pcp_high_*``),
min_free_kbytes (``min_free_kbytes_256m``, ``khugepaged_*``), watermark boosting,
the highatomic reserve and the allocation-failure report.

Layers, fast path first (the kernel's structure, kept)::

    get_free_pages / alloc_pages
      -> _alloc(gfp, order)
           prepare: gfp_zone, gfp_migratetype, zonelist     (cached per gfp mask)
           get_page_from_freelist(ALLOC_WMARK_LOW)          fast path
             zone_watermark_fast -> rmqueue
                rmqueue_pcplist: pop the pcp list head      order <= 3: a few operations
                  (empty: rmqueue_bulk refills a batch)     slow: buddy
                rmqueue_buddy: __rmqueue                    order > 3
                   __rmqueue_smallest -> expand             split, keep the low half
                   __rmqueue_claim / __rmqueue_steal        fallback to other migratetypes
           __alloc_pages_slowpath                           wake kswapd, min watermark with the
                                                            ALLOC_* reductions, direct compaction
                                                            (counted), direct reclaim, retries,
                                                            the OOM killer (kmemsim.mm.vmscan,
                                                            oom_kill), warn_alloc, NULL
    free_pages / __free_pages
      -> put_page_testzero -> free_frozen_pages
           pcp order: free_frozen_page_commit               push on the pcp list head,
                                                            free_pcppages_bulk when count >= high
           else: __free_one_page                            merge with the buddy while it is free

Simplified, and said so:
  * one node, no cpusets or mempolicies, no CMA, no page isolation users yet;
  * the slow path follows 6.18 (2.6.24's own order before ``reclaim_retry_watermark``); reclaim,
    kswapd, compaction (a counted step) and the OOM killer live in
    kmemsim.mm.vmscan and kmemsim.mm.oom_kill (``self.k.vmscan``); a loop that
    nothing can end (__GFP_NOFAIL, GFP_NOFS with nothing to kill) raises
    KernelBug("alloc_livelock") instead of spinning in Python;
  * the 6.7+ pcp ``high`` auto-tuning is modelled (alloc_factor, free_count,
    ZONE_BELOW_HIGH), decay_pcp_high runs only when ``k.vmstat_update()`` is called;
    earlier kernels get fixed ``high`` values (high_min == high_max) through the same code;
  * every kernel runs 6.15+'s fallback (__rmqueue_claim / __rmqueue_steal) and 6.x's pcp
    free logic; the releases before differ there and are not modelled yet.
"""
from __future__ import annotations

import operator
from collections.abc import Callable
from math import isqrt
from typing import TYPE_CHECKING, Any

from ..errors import InvariantError, UsageError
from ..records import Record
from .memmap import SECTION_PAGES_SHIFT
from .mmzone import (
    MIGRATE_HIGHATOMIC,
    MIGRATE_ISOLATE,
    MIGRATE_MOVABLE,
    MIGRATE_PCPTYPES,
    MIGRATE_RECLAIMABLE,
    MIGRATE_UNMOVABLE,
    WMARK_HIGH,
    WMARK_LOW,
    WMARK_MIN,
    WMARK_PROMO,
    PcpList,
    PerCpuPages,
    Zone,
)
from .page import PG, Owner

if TYPE_CHECKING:  # pragma: no cover
    from ..machine import Machine as Kernel

PAGE_ALLOC_COSTLY_ORDER = 3
SWAP_CLUSTER_MAX = 32
PCP_BATCH_SCALE_MAX = 5
#: The last-level cache the model's CPUs share: the reference host's L3 (AMD EPYC, 32 MiB shared
#: by its 2 CPUs, /sys/devices/system/cpu/cpu0/cache/index3).  Only PCPF_FREE_HIGH_BATCH reads it.
LLC_BYTES = 32 << 20

# ALLOC_* (mm/internal.h, 6.18)
ALLOC_WMARK_MIN, ALLOC_WMARK_LOW, ALLOC_WMARK_HIGH = 0, 1, 2
ALLOC_WMARK_MASK = 3
ALLOC_NO_WATERMARKS = 0x04
ALLOC_OOM = 0x08
ALLOC_NON_BLOCK = 0x10
ALLOC_MIN_RESERVE = 0x20
ALLOC_CPUSET = 0x40
ALLOC_CMA = 0x80
ALLOC_NOFRAGMENT = 0x100
ALLOC_HIGHATOMIC = 0x200
ALLOC_KSWAPD = 0x800
ALLOC_RESERVES = ALLOC_NON_BLOCK | ALLOC_MIN_RESERVE | ALLOC_HIGHATOMIC | ALLOC_OOM
# the slow path's retry constants (mm/internal.h, include/linux/compaction.h; kmemsim.mm.vmscan)
MAX_RECLAIM_RETRIES = 16
COMPACT_SKIPPED, COMPACT_DEFERRED = 1, 2
DEF_COMPACT_PRIORITY, INIT_COMPACT_PRIORITY = 1, 2  # COMPACT_PRIO_SYNC_LIGHT, COMPACT_PRIO_ASYNC

# fallbacks[] (6.15+)
FALLBACKS = {
    MIGRATE_UNMOVABLE: (MIGRATE_RECLAIMABLE, MIGRATE_MOVABLE),
    MIGRATE_MOVABLE: (MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE),
    MIGRATE_RECLAIMABLE: (MIGRATE_UNMOVABLE, MIGRATE_MOVABLE),
}
RMQUEUE_NORMAL, RMQUEUE_CLAIM, RMQUEUE_STEAL = 0, 2, 3


class GfpContext(Record):
    """prepare_alloc_pages() for one gfp mask, cached: what the fast path needs."""

    __match_args__ = ("gfp", "highest_zoneidx", "zonelist", "migratetype", "fast_flags", "zero", "comp",
                      "can_direct_reclaim", "fast0", "cold")

    gfp: int
    highest_zoneidx: int
    zonelist: list[Zone]
    migratetype: int
    fast_flags: int  # ALLOC_WMARK_LOW | nofragment | kswapd
    zero: bool
    comp: bool
    can_direct_reclaim: bool
    fast0: Zone | None  # the zone the pcp fast paths (kmemsim.mm.fastpath) may use, else None
    cold: int = 0  # 2.6: __GFP_COLD, the index of the pcp list (pcp[cold])

    def __init__(self, gfp: int, highest_zoneidx: int, zonelist: list[Zone], migratetype: int, fast_flags: int,
                 zero: bool, comp: bool, can_direct_reclaim: bool, fast0: Zone | None, cold: int = 0) -> None:
        vars(self).update(gfp=gfp, highest_zoneidx=highest_zoneidx, zonelist=zonelist, migratetype=migratetype,
                          fast_flags=fast_flags, zero=zero, comp=comp, can_direct_reclaim=can_direct_reclaim,
                          fast0=fast0, cold=cold)


#: the engine's migratetype of each kernel's MIGRATE_* name (2.6.24's RESERVE: HIGHATOMIC's slot)
_ENGINE_MT = {
    "MIGRATE_UNMOVABLE": MIGRATE_UNMOVABLE, "MIGRATE_MOVABLE": MIGRATE_MOVABLE,
    "MIGRATE_RECLAIMABLE": MIGRATE_RECLAIMABLE, "MIGRATE_HIGHATOMIC": MIGRATE_HIGHATOMIC,
    "MIGRATE_RESERVE": MIGRATE_HIGHATOMIC, "MIGRATE_ISOLATE": MIGRATE_ISOLATE,
}


def _migratetype_map(kernel_migratetypes: dict[str, int]) -> tuple[int, ...]:
    """The engine's migratetype of each value of a kernel's ``enum migratetype``; a kernel
    without migratetypes (before 2.6.24) has one free list per order, the engine's MOVABLE one."""
    if not kernel_migratetypes:
        return (MIGRATE_MOVABLE,)
    table = [MIGRATE_UNMOVABLE] * (max(kernel_migratetypes.values()) + 1)
    for name, value in kernel_migratetypes.items():
        table[value] = _ENGINE_MT[name]
    return tuple(table)


def rounddown_pow_of_two(n: int) -> int:
    return 1 << (n.bit_length() - 1) if n > 0 else 0


class PageAllocator:
    """One machine's page allocator: its zones and the algorithms over them."""

    def __init__(self, k: Kernel, zone_layout: list[tuple[str, int, int]], *, tunables: dict[str, Any]):
        self.k = k
        self.gfpset = k.gfp
        self.bits = k.gfp.bits
        #: MAX_ORDER - 1 (2.6) / MAX_PAGE_ORDER (6.x): 10 on both architectures modelled
        max_order = self.max_order = 10
        #: pageblock_order: HUGETLB_PAGE_ORDER (i386 non-PAE: 4 MiB pages, 10; x86_64: 2 MiB, 9)
        pageblock_order = self.pageblock_order = k.arch.hugetlb_page_order
        self.pageblock_nr_pages = 1 << pageblock_order
        f = k.features
        #: the orders the per-CPU lists hold: order 0 only before 5.14; then 0..PAGE_ALLOC_COSTLY_ORDER
        #: and the pageblock (THP) order
        pcp_orders: tuple[int, ...] = (0, 1, 2, 3, pageblock_order) if f.pcp_high_order else (0,)
        self.pcp_orders = pcp_orders
        self.tunables = tunables
        #: the engine's migratetype (mmzone's MIGRATE_*, 6.18's numbering) of each of this kernel's
        #: MIGRATE_* values: 2.6.24 numbers them UNMOVABLE, RECLAIMABLE, MOVABLE, RESERVE, ISOLATE
        #: (its RESERVE has the slot of 6.18's HIGHATOMIC)
        self.migratetype_map: tuple[int, ...] = _migratetype_map(k.gfp.migratetypes)
        # ---- what differs between kernels, chosen once (kmemsim.features)
        self._highatomic = f.highatomic  # ALLOC_HIGHATOMIC, MIGRATE_HIGHATOMIC (4.4)
        self._boost = f.watermark_boost
        self._warn_symbolic = f.warn_alloc_symbolic
        self._min_free_kbytes_max = 262144 if f.min_free_kbytes_256m else 65536
        self._free_highatomic = f.free_highatomic_unusable
        #: 2.6: a hot and a cold list per CPU (pcp[2]) instead of one list per migratetype and order
        self.pcp26 = f.pcp_cold_list
        self._pcp_low = f.pcp_low_mark  # 2.6.11: refill while count <= low, trim before adding
        self._bulk_in_order = f.pcp_bulk_in_order  # 2.6.24: rmqueue_bulk() keeps physical order
        self._merge_tail = f.buddy_merge_tail  # buddy_merge_likely(): a likely merge goes to the tail
        self._show_mem_on_fail = f.warn_alloc_show_mem
        #: 2.6.24: the migratetype each page on a pcp list was given (page_private(page))
        self.pcp_private: dict[int, int] = {}
        #: 2.6.24: free pages whose count a second free took to -1 (reported when reallocated)
        self.neg_count: set[int] = set()
        self._cold = 0  # the pcp list of the allocation under way (GfpContext.cold)
        #: __zone_watermark_ok(z, order, mark, highest_zoneidx, alloc_flags, free_pages)
        self.zone_watermark_ok: Callable[[Zone, int, int, int, int, int], bool] = (
            self._watermark_ok_order0 if f.zone_watermark_order0 else self._watermark_ok_per_order)
        self._order0_shortcut = f.zone_watermark_order0  # zone_watermark_fast()'s order-0 test
        self._unusable_free: Callable[[Zone, int, int], int] = (
            self._unusable_free_highatomic if self._free_highatomic else self._unusable_free_reserved)
        #: __alloc_pages_slowpath(ctx, order): the pfn or -1
        self.slowpath: Callable[[GfpContext, int], int] = (
            self._slowpath_retry if f.reclaim_retry_watermark else self._slowpath_26)
        # transitional: mm/vmscan.py reads the watermark check under its old private name
        top = max(end for _, _, end in zone_layout)
        #: the migratetype of every pageblock, by pfn >> pageblock_order; all start MOVABLE
        self.pageblock_mt = bytearray([MIGRATE_MOVABLE]) * ((top >> pageblock_order) + 1)
        self.zones: list[Zone] = [
            Zone(idx=i, name=name, zone_start_pfn=start, spanned_pages=end - start,
                 max_order=max_order, pageblock_order=pageblock_order, pageblock_mt=self.pageblock_mt,
                 free_highatomic_unusable=self._free_highatomic)
            for i, (name, start, end) in enumerate(zone_layout)
        ]
        self.nr_zones = len(self.zones)
        for z in self.zones:
            z.lowmem_reserve = [0] * self.nr_zones
            z.refresh_fast_marks()
        #: allocated blocks: head pfn -> order (a split or exact allocation has one entry per page)
        self.allocated: dict[int, int] = {}
        self.compound: set[int] = set()  # heads of __GFP_COMP allocations
        self.vm_events: dict[str, int] = {"allocstall": 0, "pgalloc_fail": 0}

        self.kswapd_wakeups = 0
        self._gfp_cache: dict[int, GfpContext] = {}
        #: gfp -> (zone, highest_zoneidx, migratetype, zero, comp): the pcp fast paths' view of a context
        self.fast0: dict[int, tuple[Zone, int, int, bool, bool]] = {}
        self._ratelimit_until = -1
        self._ratelimit_missed = 0
        self.min_free_kbytes = 0
        self.user_min_free_kbytes = -1
        self.totalreserve_pages = 0
        self._ncpus = len(k.cpus)
        # pcp list index, order_to_pindex() (6.18.2 mm/page_alloc.c:657-674; pindex_to_order() 676-688):
        # MIGRATE_PCPTYPES * order + mt for orders 0-3 (NR_LOWORDER_PCP_LISTS = 12); the THP order,
        # HPAGE_PMD_ORDER (= pageblock_order here), NR_LOWORDER_PCP_LISTS + (mt == MOVABLE): NR_PCP_LISTS
        # = 14 (include/linux/mmzone.h:720-727).  pcp_allowed_order() (690-699) is ``order in pcp_orders``.
        self._pindex: dict[tuple[int, int], int] = {}
        #: order -> the pcp list index of each pcp migratetype (UNMOVABLE, MOVABLE, RECLAIMABLE):
        #: order_to_pindex() as a table, for the fast paths (kmemsim.mm.fastpath); none on 2.6
        self.pcp_pindex: dict[int, tuple[int, ...]] = {}
        if self.pcp26:
            # 2.6: pcp[0] the hot list, pcp[1] the cold one, both order 0 and every migratetype
            self.nr_pcp_lists = 2
            self._pindex_order = {0: 0, 1: 0}
        else:
            for o in pcp_orders:
                for mt in range(MIGRATE_PCPTYPES):
                    self._pindex[(o, mt)] = (MIGRATE_PCPTYPES * o + mt) if o <= PAGE_ALLOC_COSTLY_ORDER else (
                        MIGRATE_PCPTYPES * (PAGE_ALLOC_COSTLY_ORDER + 1) + (mt == MIGRATE_MOVABLE))
            self.nr_pcp_lists = max(self._pindex.values()) + 1 if self._pindex else 0
            self._pindex_order = {v: o for (o, _), v in self._pindex.items()}
            self.pcp_pindex = {
                o: tuple(self._pindex[(o, mt)] for mt in range(MIGRATE_PCPTYPES)) for o in pcp_orders}
        for z in self.zones:
            z.pcp = [PerCpuPages(cpu=c, lists=[[] for _ in range(self.nr_pcp_lists)],
                                 temp=[PcpList(), PcpList()] if self.pcp26 else [])
                     for c in range(self._ncpus)]
        self._ref = k.memmap  # refcount lives in struct page
        # fault injection (kmemsim.mm.fault_inject sets it): should_fail_alloc_page() while it can fire
        self.should_fail_alloc_page: Callable[[int, int], bool] | None = None

    # ================================================================ boot
    def build_zone_chunks(self) -> None:
        """pfn >> 12 (16 MiB) -> the zone, for chunks inside one zone: the free fast path's
        page_zone().  Chunks that straddle a zone boundary are left out (slow path)."""
        self.zone_chunk: dict[int, Zone] = {}
        for z in self.zones:
            if not z.spanned_pages:
                continue
            first = -(-z.zone_start_pfn >> 12)
            last = z.zone_end_pfn >> 12
            for c in range(first, last):
                self.zone_chunk[c] = z

    def zone_of(self, pfn: int) -> Zone:
        for z in self.zones:
            if z.spanned_pages and z.zone_start_pfn <= pfn < z.zone_end_pfn:
                return z
        raise KeyError(pfn)

    def free_all_bootmem(self, ranges: list[tuple[int, int]]) -> None:
        """memblock_free_all(): hand every free pfn range to the buddy in the largest
        aligned blocks (__free_pages_memory), each freed to the tail (FPI_TO_TAIL).
        2.6 (the hot and cold lists): :meth:`free_all_bootmem26`."""
        if self.pcp26:
            self.free_all_bootmem26(ranges)
            return
        for start, end in ranges:
            for z in self.zones:
                a, b = max(start, z.zone_start_pfn), min(end, z.zone_end_pfn)
                if a < b:
                    z.managed_pages += b - a
                    self._free_range(z, a, b)

    def free_all_bootmem26(self, ranges: list[tuple[int, int]]) -> None:
        """2.6 mem_init() on CPU 0: free_all_bootmem_core() (mm/bootmem.c, 2.6.11 lines 276-307,
        the same in 2.6.24) frees lowmem in words of the bootmem bitmap: a word of 32 free pages
        as one order-5 block (__free_pages), else each free page alone (__free_page ->
        free_hot_page: onto CPU 0's hot list); then set_highmem_pages_init() frees every
        highmem page alone, in pfn order (one_highpage_init()).  So after boot CPU 0's hot
        lists hold pages, and zone free counts leave them out, as the real kernel's did."""
        free = sorted(ranges)
        word = 32  # BITS_PER_LONG
        prev = self.k.cpu
        self.k.cpu = 0
        try:
            for z in self.zones:
                if not z.spanned_pages:
                    continue
                runs = [(max(a, z.zone_start_pfn), min(b, z.zone_end_pfn)) for a, b in free
                        if a < z.zone_end_pfn and b > z.zone_start_pfn]
                if z.name in ("HighMem", "Movable"):
                    for a, b in runs:
                        for pfn in range(a, b):
                            z.managed_pages += 1
                            self.free_hot_cold_page(z, pfn, 0)
                    continue
                pending: set[int] = set()
                for a, b in runs:
                    pending.update(range(a, b))
                for chunk in range(z.zone_start_pfn - z.zone_start_pfn % word, z.zone_end_pfn, word):
                    if all(chunk + i in pending for i in range(word)):
                        z.managed_pages += word
                        self.free_one_page(z, chunk, 5, z.get_pageblock_migratetype(chunk))
                        continue
                    for pfn in range(chunk, chunk + word):
                        if pfn in pending:
                            z.managed_pages += 1
                            self.free_hot_cold_page(z, pfn, 0)
        finally:
            self.k.cpu = prev

    def _free_range(self, z: Zone, start: int, end: int) -> None:
        """__free_pages_memory(): ``[start, end)`` in the largest aligned blocks, each freed to
        the tail.  A block of MAX_ORDER has no buddy to merge with: __free_one_page() only
        accounts it and adds it to its list's tail.  So a run of them of one ordinary
        migratetype (most of a machine's memory) is added at once, as one at a time would."""
        mo = self.max_order
        size, pb_order, pageblock_mt = 1 << mo, self.pageblock_order, z.pageblock_mt
        while start < end:
            order = min(mo, (start & -start).bit_length() - 1 if start else mo)
            while start + (1 << order) > end:
                order -= 1
            mt = z.get_pageblock_migratetype(start)
            if order == mo and pb_order <= mo and mt not in (MIGRATE_ISOLATE, MIGRATE_HIGHATOMIC):
                stop = start + ((end - start) & -size)  # the run of MAX_ORDER blocks from start
                run = range(start, stop, size)
                if pageblock_mt[start >> pb_order : stop >> pb_order : size >> pb_order].count(mt) == len(run):
                    z.account_freepages(len(run) << mo, mt)
                    z.add_blocks_to_free_list(run, mo, mt)
                    start = stop
                    continue
            self.free_one_page(z, start, order, mt, to_tail=True)
            start += 1 << order

    def set_present(self, memory: list[tuple[int, int]], *, holes: bool = True, struct_page: int = 64) -> None:
        """The zones' present_pages: the memory each spans (``holes``: the firmware map's holes
        are absent; 2.6 i386 registered 0..max_pfn as one range, so none are), less the pages of
        its own struct pages before 3.8 (features.zone_present_less_memmap, free_area_init_core())."""
        less_memmap = self.k.features.zone_present_less_memmap
        for z in self.zones:
            if holes:
                z.present_pages = sum(max(0, min(e, z.zone_end_pfn) - max(s, z.zone_start_pfn)) for s, e in memory)
            else:
                z.present_pages = z.spanned_pages
            z.memmap_pages = (z.spanned_pages * struct_page) >> self.k.page_shift if less_memmap else 0
            if z.present_pages >= z.memmap_pages:
                z.present_pages -= z.memmap_pages
            if self.pcp26:
                self.setup_pageset26(z)  # free_area_init_core(): the pagesets exist before mem_init()

    def zone_boot_lines(self) -> list[tuple[str, int]]:
        """What free_area_init*() printed about the zones, (text, log level): 2.6.11's
        free_area_init_core() (mm/page_alloc.c:1640-1641, every zone) and 2.6.24's
        free_area_init_nodes()/free_area_init_core() (the PFN ranges, the early node map, the
        memmap and LIFO lines of mm/page_alloc.c:3350-3366 and zone_pcp_init()); none for 6.x,
        whose boot lines the model does not print.  The zonelist line is build_all_zonelists()'s."""
        if not self.pcp26:
            return []
        debug, warn = 7, 4
        total = sum(z.spanned_pages for z in self.zones)
        out: list[tuple[str, int]] = []
        if not self.k.features.zone_present_less_memmap:  # 2.6.11
            out.append((f"On node 0 totalpages: {total}", debug))
            for z in self.zones:
                out.append((f"  {z.name} zone: {z.present_pages} pages, LIFO batch:{self.zone_batchsize(z)}", debug))
            out.append(("Built 1 zonelists", warn))
            return out
        top = max(z.zone_end_pfn for z in self.zones)
        out.append((f"Entering add_active_range(0, 0, {top}) 0 entries of 256 used", debug))
        out.append(("Zone PFN ranges:", warn))
        for z in self.zones:
            if z.name != "Movable":
                out.append((f"  {z.name:<8} {z.zone_start_pfn:8d} -> {z.zone_end_pfn:8d}", warn))
        out.append(("Movable zone start PFN for each node", warn))
        out.append(("early_node_map[1] active PFN ranges", warn))
        out.append((f"  {0:3d}: {0:8d} -> {top:8d}", warn))
        out.append((f"On node 0 totalpages: {total}", debug))
        for z in self.zones:
            out.append((f"  {z.name} zone: {z.memmap_pages} pages used for memmap", debug))
            if z.idx == 0:
                out.append((f"  {z.name} zone: 0 pages reserved", debug))  # dma_reserve
            if z.present_pages:
                out.append((f"  {z.name} zone: {z.present_pages} pages, LIFO batch:{self.zone_batchsize(z)}", debug))
        normal = self._zone_index("Normal")
        hm = max(z.idx for z in self.zones)
        zonelist = [z for z in self.zones if z.idx <= max(normal, hm) and z.populated]
        pages = sum(z.present_pages - z.wmark(WMARK_HIGH) for z in zonelist)  # nr_free_pagecache_pages()
        out.append((f"Built 1 zonelists in Zone order, mobility grouping on.  Total pages: {pages}", warn))
        return out

    # ================================================================ buddy core
    def free_one_page(self, z: Zone, pfn: int, order: int, mt: int, to_tail: bool = False) -> None:
        """__free_one_page(): merge with free buddies, then add to the free list."""
        z.account_freepages(1 << order, mt)
        buddy_map = z.buddy
        max_order = self.max_order
        pb_order = self.pageblock_order
        buddy_pfn = pfn
        while order < max_order:
            buddy_pfn = pfn ^ (1 << order)
            ent = buddy_map.get(buddy_pfn)
            if ent is None or ent[0] != order:
                break
            if not z.contains(buddy_pfn):
                break
            buddy_mt = ent[1]
            if order >= pb_order and mt != buddy_mt:
                if not (mt < MIGRATE_PCPTYPES and buddy_mt < MIGRATE_PCPTYPES):
                    break
            z.del_from_free_list(buddy_pfn, order, buddy_mt)
            if buddy_mt != mt:
                if order >= pb_order:
                    for b in range(buddy_pfn, buddy_pfn + (1 << order), self.pageblock_nr_pages):
                        z.set_pageblock_migratetype(b, mt)
                # the merged neighbour's pages now count under mt
                if buddy_mt == MIGRATE_HIGHATOMIC:
                    z.nr_free_highatomic -= 1 << order
                if mt == MIGRATE_HIGHATOMIC:
                    z.nr_free_highatomic += 1 << order
                if MIGRATE_HIGHATOMIC in (mt, buddy_mt):
                    z.refresh_fast_marks()
            pfn &= buddy_pfn
            order += 1
        if not to_tail and self._merge_tail:
            to_tail = self._buddy_merge_likely(z, pfn, buddy_pfn, order)
        z.add_to_free_list(pfn, order, mt, to_tail)

    def _buddy_merge_likely(self, z: Zone, pfn: int, buddy_pfn: int, order: int) -> bool:
        """buddy_merge_likely(): put at the tail if the parent's buddy is free."""
        if order >= self.max_order - 1:
            return False
        higher = buddy_pfn & pfn
        hb = higher ^ (1 << (order + 1))
        ent = z.buddy.get(hb)
        return ent is not None and ent[0] == order + 1

    def expand(self, z: Zone, pfn: int, low: int, high: int, mt: int) -> None:
        """expand(): split a 2^high block, keeping the lowest 2^low pages."""
        size = 1 << high
        while high > low:
            high -= 1
            size >>= 1
            z.add_to_free_list(pfn + size, high, mt, tail=False)

    def rmqueue_smallest(self, z: Zone, order: int, mt: int) -> int:
        """__rmqueue_smallest(): the first block of the smallest order that has one."""
        fl = z.free_list
        for o in range(order, self.max_order + 1):
            lst = fl[o][mt]
            if lst:
                pfn = next(iter(lst))
                z.del_from_free_list(pfn, o, mt)
                self.expand(z, pfn, order, o, mt)
                z.account_freepages(-(1 << order), mt)
                tp = self.k.tp
                if tp.mm_page_alloc_zone_locked:  # Tracepoints: flags unannotated
                    tp.trace_mm_page_alloc_zone_locked(pfn, order, mt,
                                                       int(order in self.pcp_orders and mt < MIGRATE_PCPTYPES))
                return pfn
        return -1

    def _find_suitable_fallback(self, z: Zone, order: int, mt: int, claimable: bool) -> int:
        if claimable and not self._should_try_claim_block(order, mt):
            return -2
        if z.nr_free[order] == 0:
            return -1
        for fmt in FALLBACKS[mt]:
            if z.free_list[order][fmt]:
                return fmt
        return -1

    def _should_try_claim_block(self, order: int, start_mt: int) -> bool:
        pb = self.pageblock_order
        return order >= pb or order >= pb // 2 or start_mt in (MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE)

    def _move_freepages_block(self, z: Zone, block_pfn: int, old_mt: int | None, new_mt: int) -> int:
        """Move every free block inside the pageblock at ``block_pfn`` to ``new_mt``'s lists."""
        start = block_pfn & ~(self.pageblock_nr_pages - 1)
        end = start + self.pageblock_nr_pages
        moved = 0
        pfn = start
        while pfn < end:
            ent = z.buddy.get(pfn)
            if ent is None:
                pfn += 1
                continue
            order, mt = ent
            if mt != new_mt:
                z.move_to_free_list(pfn, order, mt, new_mt)
                n = 1 << order
                if mt == MIGRATE_HIGHATOMIC:
                    z.nr_free_highatomic -= n
                if new_mt == MIGRATE_HIGHATOMIC:
                    z.nr_free_highatomic += n
                if MIGRATE_HIGHATOMIC in (mt, new_mt):
                    z.refresh_fast_marks()
            moved += 1 << order
            pfn += 1 << order
        z.set_pageblock_migratetype(start, new_mt)
        return moved

    def _free_pages_in_block(self, z: Zone, block: int) -> int:
        """Free buddy pages inside the pageblock starting at ``block`` (a walk by block size)."""
        end = block + self.pageblock_nr_pages
        buddy = z.buddy
        n = 0
        pfn = block
        while pfn < end:
            ent = buddy.get(pfn)
            if ent is None:
                pfn += 1
            else:
                n += 1 << ent[0]
                pfn += 1 << ent[0]
        return n

    def _rmqueue_claim(self, z: Zone, order: int, mt: int, flags: int) -> int:
        """__rmqueue_claim(): take the largest fallback block and try to claim its pageblock."""
        pb = self.pageblock_order
        min_order = pb if (order < pb and flags & ALLOC_NOFRAGMENT) else order
        for cur in range(self.max_order, min_order - 1, -1):
            fmt = self._find_suitable_fallback(z, cur, mt, True)
            if fmt == -1:
                continue
            if fmt == -2:
                break
            pfn = next(iter(z.free_list[cur][fmt]))
            got = self._try_to_claim_block(z, pfn, cur, order, mt, fmt, flags)
            if got >= 0:
                return got
        return -1

    def _try_to_claim_block(self, z: Zone, pfn: int, cur: int, order: int, start: int, block_type: int,
                            flags: int) -> int:
        pb = self.pageblock_order
        if cur >= pb:
            z.del_from_free_list(pfn, cur, block_type)
            z.account_freepages(-(1 << cur), block_type)
            for b in range(pfn, pfn + (1 << cur), self.pageblock_nr_pages):
                z.set_pageblock_migratetype(b, start)
            z.account_freepages(1 << cur, start)
            self.expand(z, pfn, order, cur, start)
            z.account_freepages(-(1 << order), start)
            if self.k.tp.mm_page_alloc_extfrag:  # Tracepoints: flags unannotated
                self.k.tp.trace_mm_page_alloc_extfrag(pfn, order, cur, pb, start, block_type)
            return pfn
        block = pfn & ~(self.pageblock_nr_pages - 1)
        # prep_move_freepages_block(): the whole pageblock must lie in the zone
        if not (z.contains(block) and z.contains(block + self.pageblock_nr_pages - 1)):
            return -1
        if self._boost_watermark(z) and flags & ALLOC_KSWAPD:
            self.wake_kswapd(z)  # ZONE_BOOSTED_WATERMARK: rmqueue() wakes kswapd
        free_pages = self._free_pages_in_block(z, block)
        movable_pages = self.k.vmscan.lru_pages_in_block(block, self.pageblock_nr_pages)
        if start == MIGRATE_MOVABLE:
            alike = movable_pages
        elif block_type == MIGRATE_MOVABLE:
            alike = self.pageblock_nr_pages - free_pages - movable_pages
        else:
            alike = 0
        if free_pages + alike >= 1 << (pb - 1):
            self._move_freepages_block(z, block, None, start)
            got = self.rmqueue_smallest(z, order, start)
            if got >= 0 and self.k.tp.mm_page_alloc_extfrag:  # Tracepoints: flags unannotated
                self.k.tp.trace_mm_page_alloc_extfrag(got, order, cur, pb, start, block_type)
            return got
        return -1

    def _rmqueue_steal(self, z: Zone, order: int, mt: int) -> int:
        """__rmqueue_steal(): the smallest fallback block, split, pieces keep their type."""
        for cur in range(order, self.max_order + 1):
            fmt = self._find_suitable_fallback(z, cur, mt, False)
            if fmt < 0:
                continue
            pfn = next(iter(z.free_list[cur][fmt]))
            z.del_from_free_list(pfn, cur, fmt)
            self.expand(z, pfn, order, cur, fmt)
            z.account_freepages(-(1 << order), fmt)
            if self.k.tp.mm_page_alloc_extfrag:  # Tracepoints: flags unannotated
                self.k.tp.trace_mm_page_alloc_extfrag(pfn, order, cur, self.pageblock_order, mt, fmt)
            return pfn
        return -1

    def _boost_watermark(self, z: Zone) -> bool:
        factor = self.tunables.get("watermark_boost_factor", 0)
        if not factor or not self._boost or 4 * self.pageblock_nr_pages > z.managed_pages:
            return False
        max_boost = z.watermark[WMARK_HIGH] * factor // 10000
        if not max_boost:
            return False
        max_boost = max(self.pageblock_nr_pages, max_boost)
        z.watermark_boost = min(z.watermark_boost + self.pageblock_nr_pages, max_boost)
        z.refresh_fast_marks()
        return True

    def rmqueue(self, z: Zone, order: int, mt: int, flags: int, mode: list[int] | None = None) -> int:
        """__rmqueue(): normal lists, then claim a fallback block, then steal."""
        if mode is None:
            mode = [RMQUEUE_NORMAL]
        if mode[0] == RMQUEUE_NORMAL:
            pfn = self.rmqueue_smallest(z, order, mt)
            if pfn >= 0:
                return pfn
            mode[0] = RMQUEUE_CLAIM
        if mode[0] == RMQUEUE_CLAIM:
            pfn = self._rmqueue_claim(z, order, mt, flags)
            if pfn >= 0:
                mode[0] = RMQUEUE_NORMAL
                return pfn
            mode[0] = RMQUEUE_STEAL
        if not flags & ALLOC_NOFRAGMENT:
            pfn = self._rmqueue_steal(z, order, mt)
            if pfn >= 0:
                mode[0] = RMQUEUE_STEAL
                return pfn
        return -1

    def rmqueue_buddy(self, z: Zone, order: int, mt: int, flags: int) -> int:
        pfn = -1
        if flags & ALLOC_HIGHATOMIC:
            pfn = self.rmqueue_smallest(z, order, MIGRATE_HIGHATOMIC)
        if pfn < 0:
            pfn = self.rmqueue(z, order, mt, flags)
            if pfn < 0 and flags & (ALLOC_OOM | ALLOC_NON_BLOCK):
                pfn = self.rmqueue_smallest(z, order, MIGRATE_HIGHATOMIC)
        return pfn

    # ================================================================ pcp
    def _nr_pcp_alloc(self, pcp: PerCpuPages, z: Zone, order: int) -> int:
        """nr_pcp_alloc() (6.18.2 mm/page_alloc.c:3197-3245): how many blocks a refill takes, in
        blocks of the order (batch >> order, at least 2); only order 0 grows alloc_factor."""
        high = pcp.high = min(pcp.high_max, max(pcp.high_min, pcp.high))
        if high < pcp.batch:
            return 1
        batch = pcp.batch if order else pcp.batch << pcp.alloc_factor
        if pcp.high_min != pcp.high_max and not z.below_high:
            high = pcp.high = min(high + batch, pcp.high_max)
        if order == 0:
            max_nr_alloc = max(high - pcp.count - pcp.batch, pcp.batch)
            if batch <= max_nr_alloc and pcp.alloc_factor < PCP_BATCH_SCALE_MAX:
                pcp.alloc_factor += 1
            batch = min(batch, max_nr_alloc)
        if batch > 1:
            batch = max(batch >> order, 2)
        return batch

    def rmqueue_bulk(self, z: Zone, order: int, count: int, mt: int, flags: int) -> list[int]:
        """rmqueue_bulk() (6.18.2 mm/page_alloc.c:2514-2549): up to ``count`` blocks from the buddy,
        in allocation order (the caller adds them to the list's tail, list_add_tail)."""
        out = []
        mode = [RMQUEUE_NORMAL]
        for _ in range(count):
            pfn = self.rmqueue(z, order, mt, flags, mode)
            if pfn < 0:
                break
            out.append(pfn)
        return out

    def free_pcppages_bulk(self, z: Zone, count: int, pcp: PerCpuPages, pindex: int) -> None:
        """free_pcppages_bulk() (6.18.2 mm/page_alloc.c:1442-1493): ``count`` pages (not blocks) back
        to the buddy, round robin over the lists starting at ``pindex``, each list's coldest (tail)
        blocks first; a block of order n counts 2^n pages."""
        lists = pcp.lists
        n = self.nr_pcp_lists
        count = min(count, pcp.count)
        pindex -= 1  # "Ensure requested pindex is drained first"
        while count > 0:
            pindex = (pindex + 1) % n  # then round robin
            lst = lists[pindex]
            while not lst:
                pindex = (pindex + 1) % n
                lst = lists[pindex]
            order = self._pindex_order[pindex]
            nr_pages = 1 << order
            take = min(len(lst), -(-count // nr_pages))
            cold = lst[:take]  # the tail of the list: the coldest pages
            del lst[:take]
            count -= take * nr_pages
            pcp.count -= take * nr_pages
            tp = self.k.tp
            for pfn in cold:
                mt = z.get_pageblock_migratetype(pfn)
                if tp.mm_page_pcpu_drain:  # Tracepoints: flags unannotated
                    tp.trace_mm_page_pcpu_drain(pfn, order, mt)
                self.free_one_page(z, pfn, order, mt)

    def _nr_pcp_free(self, pcp: PerCpuPages, batch: int, high: int, free_high: bool) -> int:
        """nr_pcp_free() (6.18.2 mm/page_alloc.c:2740-2763): pages to drain, free_count clamped to
        [batch, high - batch]; as many as possible (up to batch << 5) for a free_high drain."""
        if free_high:
            return min(pcp.count, batch << PCP_BATCH_SCALE_MAX)
        if high < batch:
            return 1
        return min(max(pcp.free_count, batch), high - batch)

    def _nr_pcp_high(self, pcp: PerCpuPages, z: Zone, batch: int, free_high: bool) -> int:
        """nr_pcp_high() (6.18.2 mm/page_alloc.c:2765-2811): the count at which a free drains, in
        pages, with pcp->high's auto-tuning (ZONE_RECLAIM_ACTIVE, 2784-2792, is not modelled)."""
        high_min, high_max = pcp.high_min, pcp.high_max
        high = pcp.high = min(high_max, max(high_min, pcp.high))
        if high == 0:
            return 0
        if free_high:
            pcp.high = max(high - (batch << PCP_BATCH_SCALE_MAX), high_min)
            return 0
        # (ZONE_RECLAIM_ACTIVE is not modelled: reclaim arrives with the contexts issue)
        if high_min == high_max:
            return high
        if z.below_high:
            pcp.high = max(high - max(pcp.free_count, batch), high_min)
            high = max(pcp.count, high_min)
        elif pcp.count >= high:
            need_high = pcp.free_count + batch
            if pcp.high < need_high:
                pcp.high = min(high_max, max(high_min, need_high))
        return high

    def pcp_free(self, z: Zone, pfn: int, order: int, mt: int) -> None:
        """free_frozen_page_commit() (6.18.2 mm/page_alloc.c:2813-2882; 5.14-6.14's
        free_unref_page_commit()): onto the head of the list of (order, migratetype), count in
        pages; a run of high-order (1-3) frees sets free_high and drains as much as it may;
        bulk-free from this list past ``high``.  (PGFREE is counted by the caller, _release.)"""
        pcp = z.pcp[self.k.cpu]
        pcp.touched = True
        pcp.alloc_factor >>= 1
        if mt >= MIGRATE_PCPTYPES:
            mt = MIGRATE_MOVABLE  # highatomic pages go to the movable list
        pindex = self._pindex[(order, mt)]
        pcp.lists[pindex].append(pfn)
        nr = 1 << order
        pcp.count += nr
        batch = pcp.batch
        free_high = False
        if order and order <= PAGE_ALLOC_COSTLY_ORDER:
            # PCPF_PREV_FREE_HIGH_ORDER is pcp.free_high, PCPF_FREE_HIGH_BATCH pcp.free_high_batch
            free_high = (pcp.free_count >= batch + pcp.high_min // 2 and pcp.free_high
                         and (not pcp.free_high_batch or pcp.count >= batch))
            pcp.free_high = True
        elif pcp.free_high:
            pcp.free_high = False
        if pcp.free_count < (batch << PCP_BATCH_SCALE_MAX):
            pcp.free_count += nr
        high = self._nr_pcp_high(pcp, z, batch, free_high)
        if pcp.count >= high:
            self.free_pcppages_bulk(z, self._nr_pcp_free(pcp, batch, high, free_high), pcp, pindex)
            if z.below_high and self.zone_watermark_ok(z, 0, z.wmark(WMARK_HIGH), self.nr_zones - 1, 0,
                                                       z.free_pages):
                z.below_high = False
                z.refresh_fast_marks()

    def setup_pcp_cacheinfo(self) -> None:
        """setup_pcp_cacheinfo() -> zone_pcp_update_cacheinfo() (6.18.2 mm/page_alloc.c:6077-6105), run
        when the CPUs' cache information comes up, after the pagesets have their batch:
        PCPF_FREE_HIGH_BATCH is set when the CPU's slice of its last-level cache holds more than
        3 * batch pages.  The slice is ``llc->size / nr_shared`` (drivers/base/cacheinfo.c
        update_per_cpu_data_slice_size_cpu()); the model's CPUs share one LLC of
        :data:`LLC_BYTES`, the reference host's.  Only kernels whose pcp lists hold high orders
        read the flag (free_frozen_page_commit()'s free_high)."""
        if not self.k.features.pcp_high_order:
            return
        slice_pages = (LLC_BYTES // self._ncpus) >> self.k.page_shift
        for z in self.zones:
            if z.populated:
                for pcp in z.pcp:
                    pcp.free_high_batch = slice_pages > 3 * pcp.batch

    def drain_pages_zone(self, z: Zone, cpu: int) -> None:
        pcp = z.pcp[cpu]
        if self.pcp26:
            for cold in (0, 1):
                self._free_pcp26_bulk(z, pcp, cold, pcp.temp[cold].count)
            return
        while pcp.count:
            self.free_pcppages_bulk(z, min(pcp.count, pcp.batch << PCP_BATCH_SCALE_MAX), pcp, 0)

    def drain_all_pages(self, zone: Zone | None = None) -> None:
        """drain_all_pages(): every CPU's pcp lists back to the buddy."""
        for z in [zone] if zone else self.zones:
            for cpu in range(self._ncpus):
                self.drain_pages_zone(z, cpu)

    def decay_pcp_high(self) -> None:
        """decay_pcp_high() for every pcp: the vmstat worker's periodic shrink (none on 2.6)."""
        if self.pcp26:
            return
        for z in self.zones:
            for pcp in z.pcp:
                if pcp.high > pcp.high_min:
                    pcp.high = max(pcp.count - (pcp.batch << PCP_BATCH_SCALE_MAX), pcp.high - (pcp.high >> 3),
                                   pcp.high_min)
                if pcp.count > pcp.high:
                    self.free_pcppages_bulk(z, pcp.count - pcp.high, pcp, 0)

    # ================================================================ 2.6: hot and cold lists
    # struct per_cpu_pageset { struct per_cpu_pages pcp[2]; } (2.6.11, 2.6.24 include/linux/mmzone.h):
    # pcp[0] is the hot list, pcp[1] the cold one; each holds order-0 pages of every migratetype.
    # Python list end = list head, as for 6.x's lists: list_add = append, list->next = lst[-1],
    # list->prev (the tail, the coldest) = lst[0].

    def setup_pageset26(self, z: Zone) -> None:
        """The pcp marks of 2.6: 2.6.11 free_area_init_core() (mm/page_alloc.c:1616-1639: hot low
        2*batch, high 6*batch; cold low 0, high 2*batch; batch the same), 2.6.24 setup_pageset()
        (mm/page_alloc.c:2601-2618: hot high 6*batch, batch max(1, batch); cold high 2*batch,
        batch max(1, batch/2)), with batch = zone_batchsize(), which may be 0 on 2.6.24."""
        batch = self.zone_batchsize(z)
        for pcp in z.pcp:
            hot, cold = pcp.temp
            if self._pcp_low:
                hot.low, hot.high, hot.batch = 2 * batch, 6 * batch, batch
                cold.low, cold.high, cold.batch = 0, 2 * batch, batch
            else:
                hot.low, hot.high, hot.batch = 0, 6 * batch, max(1, batch)
                cold.low, cold.high, cold.batch = 0, 2 * batch, max(1, batch // 2)
            pcp.batch = hot.batch
            pcp.high = pcp.high_min = pcp.high_max = hot.high

    def _pcp26_add_bulk(self, lst: list[int], got: list[int], mt: int) -> None:
        """rmqueue_bulk()'s placement: 2.6.24 list_add() after the previous page, so the list from
        its head reads got[0], got[1] ... then the old pages; 2.6.11 list_add_tail() each."""
        if self._bulk_in_order:
            lst.extend(reversed(got))
        else:
            lst[:0] = reversed(got)
        if self.migratetype_map != (MIGRATE_MOVABLE,):
            for pfn in got:
                self.pcp_private[pfn] = mt  # set_page_private(page, migratetype)

    def _rmqueue_pcp26(self, z: Zone, mt: int, cold: int) -> int:
        """buffered_rmqueue() of an order-0 page: pcp[cold] of this CPU.  2.6.11 refills a batch
        while count <= low and takes the head; 2.6.24 refills an empty list, then takes the first
        page of the migratetype from the head (another batch when there is none)."""
        pcp = z.pcp[self.k.cpu]
        pcp.touched = True
        t = pcp.temp[cold]
        lst = pcp.lists[cold]
        if self._pcp_low:
            if t.count <= t.low:
                got = self.rmqueue_bulk(z, 0, t.batch, mt, 0)
                self._pcp26_add_bulk(lst, got, mt)
                t.count += len(got)
                pcp.count += len(got)
            if not t.count:
                return -1
            idx = len(lst) - 1
        else:
            if not t.count:
                got = self.rmqueue_bulk(z, 0, t.batch, mt, 0)
                if not got:
                    return -1
                self._pcp26_add_bulk(lst, got, mt)
                t.count += len(got)
                pcp.count += len(got)
            priv = self.pcp_private
            idx = next((i for i in range(len(lst) - 1, -1, -1) if priv.get(lst[i], mt) == mt), -1)
            if idx < 0:  # none of this migratetype: allocate more to the list
                got = self.rmqueue_bulk(z, 0, t.batch, mt, 0)
                self._pcp26_add_bulk(lst, got, mt)
                t.count += len(got)
                pcp.count += len(got)
                idx = len(lst) - 1
        pfn = lst.pop(idx)
        self.pcp_private.pop(pfn, None)
        t.count -= 1
        pcp.count -= 1
        return pfn

    def free_hot_cold_page(self, z: Zone, pfn: int, cold: int) -> None:
        """free_hot_cold_page(): onto the head of pcp[cold].  2.6.11 first gives a batch back
        when count >= high (mm/page_alloc.c:582-585); 2.6.24 adds, then trims a batch when
        count >= high (mm/page_alloc.c:1007-1013)."""
        pcp = z.pcp[self.k.cpu]
        pcp.touched = True
        t = pcp.temp[cold]
        lst = pcp.lists[cold]
        if self._pcp_low:
            if t.count >= t.high:
                self._free_pcp26_bulk(z, pcp, cold, t.batch)
            lst.append(pfn)
            t.count += 1
            pcp.count += 1
            return
        lst.append(pfn)
        if self.migratetype_map != (MIGRATE_MOVABLE,):
            self.pcp_private[pfn] = z.get_pageblock_migratetype(pfn)
        t.count += 1
        pcp.count += 1
        if t.count >= t.high:
            self._free_pcp26_bulk(z, pcp, cold, t.batch)

    def _free_pcp26_bulk(self, z: Zone, pcp: PerCpuPages, cold: int, count: int) -> None:
        """free_pages_bulk(zone, count, &pcp->list, 0): ``count`` pages from the tail of the list
        back to the buddy, each to its pageblock's free list."""
        lst = pcp.lists[cold]
        count = min(count, len(lst))
        take = lst[:count]
        del lst[:count]
        pcp.temp[cold].count -= count
        pcp.count -= count
        tp = self.k.tp
        for pfn in take:
            self.pcp_private.pop(pfn, None)
            mt = z.get_pageblock_migratetype(pfn)
            if tp.mm_page_pcpu_drain:  # Tracepoints: flags unannotated
                tp.trace_mm_page_pcpu_drain(pfn, 0, mt)
            self.free_one_page(z, pfn, 0, mt)

    # ================================================================ watermarks
    def _unusable_free_highatomic(self, z: Zone, order: int, flags: int) -> int:
        """__zone_watermark_unusable_free() (6.12+): the free pages of the highatomic reserve."""
        u = (1 << order) - 1
        if not flags & ALLOC_RESERVES:
            u += z.nr_free_highatomic
        return u

    def _unusable_free_reserved(self, z: Zone, order: int, flags: int) -> int:
        """__zone_watermark_unusable_free() (4.4-6.11): every reserved highatomic pageblock."""
        u = (1 << order) - 1
        if not flags & ALLOC_RESERVES:
            u += z.nr_reserved_highatomic
        return u

    def _watermark_ok_order0(self, z: Zone, order: int, mark: int, hz: int, flags: int, free: int) -> bool:
        """__zone_watermark_ok() (4.4+, as in 6.18): the order-0 watermark, then a free block of
        the order on a list the allocation may use."""
        m = mark
        free -= self._unusable_free(z, order, flags)
        if flags & ALLOC_RESERVES:
            if flags & ALLOC_MIN_RESERVE:
                m -= m // 2
                if flags & ALLOC_NON_BLOCK:
                    m -= m // 4
            if flags & ALLOC_OOM:
                m -= m // 2
        if free <= m + z.lowmem_reserve[hz]:
            return False
        if order == 0:
            return True
        for o in range(order, self.max_order + 1):
            if not z.nr_free[o]:
                continue
            fl = z.free_list[o]
            for mt in range(MIGRATE_PCPTYPES):
                if fl[mt]:
                    return True
            if flags & (ALLOC_HIGHATOMIC | ALLOC_OOM) and fl[MIGRATE_HIGHATOMIC]:
                return True
        return False

    def _watermark_ok_per_order(self, z: Zone, order: int, mark: int, hz: int, flags: int, free: int) -> bool:
        """zone_watermark_ok() before 4.4 (2.6.24's): ALLOC_HIGH halves min, ALLOC_HARDER takes a
        quarter off; then every lower order's free pages are taken off and min halved at each."""
        m = mark
        free -= (1 << order) - 1
        if flags & ALLOC_MIN_RESERVE:
            m -= m // 2
        if flags & ALLOC_NON_BLOCK:
            m -= m // 4
        if free <= m + z.lowmem_reserve[hz]:
            return False
        for o in range(order):
            free -= z.nr_free[o] << o
            m >>= 1
            if free <= m:
                return False
        return True

    def _zone_watermark_fast(self, z: Zone, order: int, mark: int, hz: int, flags: int) -> bool:
        """zone_watermark_fast(): an order-0 request passes at once above the mark (4.4+ check)."""
        free = z.free_pages
        if order == 0 and self._order0_shortcut:
            unusable = self._unusable_free(z, 0, flags)
            if free - min(free, unusable) > mark + z.lowmem_reserve[hz]:
                return True
        if self.zone_watermark_ok(z, order, mark, hz, flags, free):
            return True
        if (order == 0 and flags & ALLOC_MIN_RESERVE and z.watermark_boost
                and (flags & ALLOC_WMARK_MASK) == ALLOC_WMARK_MIN):
            return self.zone_watermark_ok(z, 0, z.watermark[WMARK_MIN], hz, flags, free)
        return False

    def calculate_min_free_kbytes(self) -> None:
        """sqrt(lowmem_kbytes * 16), at least 128 and at most 64 MiB (256 MiB from 5.7)."""
        lowmem_kbytes = self.nr_free_buffer_pages() * (self.k.page_size >> 10)
        new = isqrt(lowmem_kbytes * 16)
        if new > self.user_min_free_kbytes:
            self.min_free_kbytes = min(max(new, 128), self._min_free_kbytes_max)

    def nr_free_buffer_pages(self) -> int:
        """Σ over zones up to gfp_zone(GFP_USER) of max(0, managed - high watermark) (present
        pages before 3.8: 2.6.24 nr_free_zone_pages())."""
        normal = self._zone_index("Normal")
        return sum(max(0, self._wm_base(z) - z.wmark(WMARK_HIGH)) for z in self.zones if z.idx <= normal)

    def _zone_index(self, name: str) -> int:
        for z in self.zones:
            if z.name == name:
                return z.idx
        raise KeyError(name)

    def set_recommended_min_free_kbytes(self) -> None:
        """mm/khugepaged.c: raise min_free_kbytes so THP allocations can find pageblocks."""
        normal = self._zone_index("Normal")
        nr_zones = sum(1 for z in self.zones if z.populated and z.idx <= normal)
        pb = self.pageblock_nr_pages
        rec = pb * nr_zones * 2 + pb * nr_zones * MIGRATE_PCPTYPES * MIGRATE_PCPTYPES
        rec = min(rec, self.nr_free_buffer_pages() // 20)
        rec_kb = rec << (self.k.page_shift - 10)
        if rec_kb > self.min_free_kbytes:
            self.min_free_kbytes = rec_kb

    def setup_per_zone_wmarks(self) -> None:
        """__setup_per_zone_wmarks() (2.6: setup_per_zone_pages_min()): min split over the lowmem
        zones by size, a capped min for highmem; low and high min plus 1/4 and 1/2 of the zone's
        share (2.6.11: 5/4 and 6/4 of min), from 4.6 spaced by vm.watermark_scale_factor."""
        f = self.k.features
        shift = self.k.page_shift - 10
        pages_min = self.min_free_kbytes >> shift
        hm = self.highmem_like()
        lowmem_pages = sum(self._wm_base(z) for z in self.zones if z.idx not in hm)
        wsf = self.tunables.get("watermark_scale_factor", 10)
        for z in self.zones:
            base = self._wm_base(z)
            tmp = pages_min * base // lowmem_pages if lowmem_pages else 0
            wm = z.watermark
            if z.idx in hm:
                wm[WMARK_MIN] = min(max(base // 1024, SWAP_CLUSTER_MAX), 128)
            else:
                wm[WMARK_MIN] = tmp
            if f.watermark_scale_factor:
                delta = max(tmp >> 2, z.managed_pages * wsf // 10000)
                z.watermark_boost = 0
                wm[WMARK_LOW] = wm[WMARK_MIN] + delta
                wm[WMARK_HIGH] = wm[WMARK_LOW] + delta
                wm[WMARK_PROMO] = wm[WMARK_HIGH] + delta
            else:
                if f.watermark_share_gaps:
                    wm[WMARK_LOW] = wm[WMARK_MIN] + (tmp >> 2)
                    wm[WMARK_HIGH] = wm[WMARK_MIN] + (tmp >> 1)
                else:
                    wm[WMARK_LOW] = wm[WMARK_MIN] * 5 // 4
                    wm[WMARK_HIGH] = wm[WMARK_MIN] * 6 // 4
                wm[WMARK_PROMO] = wm[WMARK_HIGH]
        self.calculate_totalreserve_pages()
        for z in self.zones:
            z.refresh_fast_marks()
            self.zone_pcp_update(z)

    def _wm_base(self, z: Zone) -> int:
        """The zone size the watermarks and lowmem_reserve scale with: managed pages from 3.8,
        present pages before."""
        return z.managed_pages if self.k.features.zoneinfo_managed else z.present_pages

    def highmem_like(self) -> set[int]:
        """The indices of the zones is_highmem() counts (HighMem, and Movable, which holds only
        movable pages): their min watermark is capped, not a share of min_free_kbytes."""
        return {z.idx for z in self.zones if z.name in ("HighMem", "Movable")}


    def setup_per_zone_lowmem_reserve(self) -> None:
        ratios = self.tunables["lowmem_reserve_ratio"]
        for i, zi in enumerate(self.zones[:-1]):
            ratio = ratios[i] if i < len(ratios) else 0
            clear = ratio == 0 or self._wm_base(zi) == 0
            acc = 0
            for j in range(i + 1, self.nr_zones):
                acc += self._wm_base(self.zones[j])
                zi.lowmem_reserve[j] = 0 if clear else acc // max(ratio, 1)
        for z in self.zones:
            z.refresh_fast_marks()
        self.calculate_totalreserve_pages()

    def calculate_totalreserve_pages(self) -> None:
        total = 0
        for i, z in enumerate(self.zones):
            m = max([z.lowmem_reserve[j] for j in range(i, self.nr_zones)] + [0])
            m += z.wmark(WMARK_HIGH)
            total += min(m, z.managed_pages)
        self.totalreserve_pages = total

    def zone_batchsize(self, z: Zone) -> int:
        """zone_batchsize(): about a thousandth of the zone, at most 1 MiB of pages (512 KiB
        before 4.19, 256 KiB before 2.6.18), a quarter of it clamped to 2^n - 1 (from 2.6.12)."""
        f = self.k.features
        pages = z.managed_pages if f.zoneinfo_managed else z.present_pages
        cap = (1 << 20) if f.zone_batch_1m else (512 << 10) if f.zone_batch_512k else (256 << 10)
        b = min(pages >> 10, cap // self.k.page_size)
        b //= 4
        if b < 1:
            b = 1
        if f.zone_batch_pow2:
            b = rounddown_pow_of_two(b + b // 2) - 1
        return b

    def zone_highsize(self, z: Zone, batch: int, f: int) -> int:
        total = z.wmark(WMARK_LOW) if f == 0 else z.managed_pages // f
        return max(total // self._ncpus, 4 * batch)

    def zone_pcp_update(self, z: Zone) -> None:
        """zone_set_pageset_high_and_batch() (2.6: setup_pageset())."""
        if self.pcp26:
            self.setup_pageset26(z)
            return
        features = self.k.features
        batch = max(1, self.zone_batchsize(z))
        f = self.tunables.get("percpu_pagelist_high_fraction", 0)
        if not features.pcp_high_from_wmark:
            # pageset_set_batch() / 2.6.24 setup_pageset(): the (hot) list holds up to 6 * batch
            # pages (2.6's cold list, 2 * batch, is not modelled: frees and allocations use the hot one)
            high_min = high_max = 6 * batch
        elif f or not features.pcp_high_autotune:
            high_min = high_max = self.zone_highsize(z, batch, f)
        else:
            high_min = self.zone_highsize(z, batch, 0)
            high_max = self.zone_highsize(z, batch, 8)  # MIN_PERCPU_PAGELIST_HIGH_FRACTION
        if not z.populated:
            batch, high_min, high_max = 1, 0, 0
        for pcp in z.pcp:
            pcp.batch, pcp.high_min, pcp.high_max = batch, high_min, high_max
            if pcp.touched:  # keep the fast path's invariant: high within [high_min, high_max]
                pcp.high = min(high_max, max(high_min, pcp.high))

    def init_watermarks(self) -> None:
        """init_per_zone_wmark_min() and, with THP, khugepaged's recommendation."""
        given = self.tunables.get("min_free_kbytes")
        if given is not None:
            self.min_free_kbytes = self.user_min_free_kbytes = given
        else:
            self.calculate_min_free_kbytes()
        self.setup_per_zone_wmarks()
        self.setup_per_zone_lowmem_reserve()
        f = self.k.features
        if not f.khugepaged_min_free_kbytes:
            return
        # hugepage_init(): THP is off below 512 MiB of RAM and khugepaged never starts;
        # otherwise start_stop_khugepaged() calls set_recommended_min_free_kbytes(), which
        # with THP disabled (6.1+) just recomputes min_free_kbytes (the watermarks now exist)
        totalram = sum(z.managed_pages for z in self.zones)
        if totalram < (512 << 20) // self.k.page_size:
            return
        if self.tunables.get("transparent_hugepage", "never") != "never":
            old = self.min_free_kbytes
            self.set_recommended_min_free_kbytes()
            if self.min_free_kbytes > old and self.user_min_free_kbytes >= 0:
                self.k.printk(f"raising min_free_kbytes from {old} to {self.min_free_kbytes} to help "
                              "transparent hugepage allocations")
        elif f.khugepaged_recalc_min_free_kbytes:
            self.calculate_min_free_kbytes()
        else:
            return
        self.setup_per_zone_wmarks()

    # ================================================================ gfp
    def prepare(self, gfp: int) -> GfpContext:
        """prepare_alloc_pages() for ``gfp``: validated once, then cached."""
        b = self.bits
        if isinstance(gfp, bool) or not isinstance(gfp, int) or gfp < 0:
            raise UsageError(f"gfp_mask {gfp!r}: expected a GFP mask (an int such as GFP_KERNEL)")
        if gfp & ~b.valid:
            raise UsageError(
                f"gfp_mask {gfp:#x}: bits {gfp & ~b.valid:#x} are not GFP flags of {self.k.profile.name}"
            )
        hz = self.gfpset.zone(gfp)
        hz = min(hz, self.nr_zones - 1)
        mt = self.migratetype_map[self.gfpset.migratetype(gfp)]  # the kernel's numbering -> the engine's
        if b.movable_mask and gfp & b.movable_mask == b.movable_mask:  # 2.6.11: no mobility bits
            mt = self._both_mobility_bits(gfp)
        zonelist = [z for z in reversed(self.zones[: hz + 1]) if z.populated and z.name != "Device"]
        flags = ALLOC_WMARK_LOW
        if b.kswapd_reclaim == 0 or gfp & b.kswapd_reclaim:
            flags |= ALLOC_KSWAPD
        # alloc_flags_nofragment(): Normal is preferred and DMA32 is populated (x86_64)
        if zonelist and zonelist[0].name == "Normal" and any(z.name == "DMA32" and z.populated for z in self.zones):
            flags |= ALLOC_NOFRAGMENT
        ctx = GfpContext(
            gfp=gfp,
            highest_zoneidx=hz,
            zonelist=zonelist,
            migratetype=mt,
            fast_flags=flags,
            zero=bool(gfp & b.zero),
            comp=bool(gfp & b.comp),
            can_direct_reclaim=bool(gfp & b.direct_reclaim),
            fast0=(zonelist[0] if zonelist and mt < MIGRATE_PCPTYPES and 0 in self.pcp_orders and not self.pcp26
                   else None),
            cold=int(bool(gfp & b.cold)),
        )
        self._gfp_cache[gfp] = ctx
        if ctx.fast0 is not None:
            self.fast0[gfp] = (ctx.fast0, ctx.highest_zoneidx, ctx.migratetype, ctx.zero, ctx.comp)
        return ctx

    def _both_mobility_bits(self, gfp: int) -> int:
        """__GFP_MOVABLE and __GFP_RECLAIMABLE together: 6.18's gfp_migratetype() warns
        (include/linux/gfp.h:22, VM_WARN_ON) and goes on with their sum, MIGRATE_HIGHATOMIC,
        whose row of fallbacks[] (mm/page_alloc.c:1907, MIGRATE_PCPTYPES rows) does not
        exist: the kernel reads past the array.  2.6.24's allocflags_to_migratetype() WARNs
        (include/linux/gfp.h:110) and gets MIGRATE_RESERVE.  The model prints the warning
        (once per mask: the context is cached) and serves the request as MIGRATE_UNMOVABLE."""
        if self.k.features.highatomic:
            where = "include/linux/gfp.h:22 gfp_migratetype+0x0/0x0"
        else:
            where = "include/linux/gfp.h:110 allocflags_to_migratetype+0x0/0x0"
        self.k.report.warn(where)
        return MIGRATE_UNMOVABLE

    def gfp_to_alloc_flags(self, gfp: int, order: int) -> int:
        b = self.bits
        f = ALLOC_WMARK_MIN | ALLOC_CPUSET
        if gfp & b.high:
            f |= ALLOC_MIN_RESERVE
        if b.kswapd_reclaim == 0 or gfp & b.kswapd_reclaim:
            f |= ALLOC_KSWAPD
        if not gfp & b.direct_reclaim:
            if not gfp & b.nomemalloc:
                f |= ALLOC_NON_BLOCK
                if order > 0 and f & ALLOC_MIN_RESERVE and self._highatomic:
                    f |= ALLOC_HIGHATOMIC  # MIGRATE_HIGHATOMIC exists since 4.4
            if f & ALLOC_MIN_RESERVE:
                f &= ~ALLOC_CPUSET
        return f

    # ================================================================ allocation
    def get_page_from_freelist(self, ctx: GfpContext, order: int, flags: int) -> int:
        """get_page_from_freelist(): the first zone of the zonelist that passes its watermark."""
        hz = ctx.highest_zoneidx
        self._cold = ctx.cold
        while True:
            for z in ctx.zonelist:
                if not z.below_high:
                    if self._zone_watermark_fast(z, order, z.wmark(WMARK_HIGH), hz, flags):
                        pfn = self._rmqueue_zone(z, order, ctx.migratetype, flags)
                        if pfn >= 0:
                            return pfn
                        continue
                    z.below_high = True
                    z.refresh_fast_marks()
                mark = z.wmark(flags & ALLOC_WMARK_MASK) if not flags & ALLOC_NO_WATERMARKS else 0
                if not (flags & ALLOC_NO_WATERMARKS) and not self._zone_watermark_fast(z, order, mark, hz, flags):
                    continue
                pfn = self._rmqueue_zone(z, order, ctx.migratetype, flags)
                if pfn >= 0:
                    return pfn
            if flags & ALLOC_NOFRAGMENT:
                flags &= ~ALLOC_NOFRAGMENT
                continue
            return -1

    def _rmqueue_zone(self, z: Zone, order: int, mt: int, flags: int) -> int:
        """rmqueue() (6.18.2 mm/page_alloc.c:3327-3354): the pcp list for pcp_allowed_order() orders,
        else (or when the list cannot be refilled) the buddy under the zone lock (rmqueue_buddy())."""
        pfn = -1
        if self.pcp26:
            if order == 0:
                pfn = self._rmqueue_pcp26(z, mt, self._cold)
        elif order in self.pcp_orders and mt < MIGRATE_PCPTYPES:
            pfn = self._rmqueue_pcplist(z, order, mt, flags)
        if pfn < 0:
            pfn = self.rmqueue_buddy(z, order, mt, flags)
        if pfn >= 0:
            z.pgalloc += 1 << order
            if flags & ALLOC_HIGHATOMIC and order > 0:
                self._reserve_highatomic_pageblock(z, pfn, order)
        return pfn

    def _rmqueue_pcplist(self, z: Zone, order: int, mt: int, flags: int) -> int:
        """rmqueue_pcplist() + __rmqueue_pcplist() (6.18.2 mm/page_alloc.c:3248-3312): halve
        free_count, pop the head of the list of (order, migratetype), refilling an empty list with
        nr_pcp_alloc() blocks from the buddy; count in pages.  The fast path of
        :mod:`kmemsim.mm.fastpath` does exactly this when the list is not empty."""
        pcp = z.pcp[self.k.cpu]
        pcp.touched = True
        pcp.free_count >>= 1
        lst = pcp.lists[self._pindex[(order, mt)]]
        if not lst:
            batch = self._nr_pcp_alloc(pcp, z, order)
            got = self.rmqueue_bulk(z, order, batch, mt, flags)
            if not got:
                return -1
            lst[:0] = reversed(got)  # appended at the tail; the head is got[0]
            pcp.count += len(got) << order
        pcp.count -= 1 << order
        return lst.pop()

    def _reserve_highatomic_pageblock(self, z: Zone, pfn: int, order: int) -> None:
        """reserve_highatomic_pageblock() after a successful ALLOC_HIGHATOMIC allocation."""
        pb = self.pageblock_nr_pages
        if z.managed_pages // 100 < pb:
            return
        max_managed = -(-(z.managed_pages // 100) // pb) * pb
        if z.nr_reserved_highatomic >= max_managed:
            return
        mt = z.get_pageblock_migratetype(pfn)
        if mt >= MIGRATE_PCPTYPES:
            return
        if order < self.pageblock_order:
            block = pfn & ~(pb - 1)
            if not (z.contains(block) and z.contains(block + pb - 1)):
                return  # move_freepages_block() == -1
            self._move_freepages_block(z, pfn, mt, MIGRATE_HIGHATOMIC)
            z.nr_reserved_highatomic += pb
        else:
            for b in range(pfn, pfn + (1 << order), pb):
                z.set_pageblock_migratetype(b, MIGRATE_HIGHATOMIC)
            z.nr_reserved_highatomic += 1 << order
        z.refresh_fast_marks()  # before 6.12 the reserved pages count, not the free ones

    def unreserve_highatomic_pageblock(self, ctx: GfpContext, force: bool) -> bool:
        """unreserve_highatomic_pageblock(): give one highatomic block per zone of the
        allocation's zonelist back, retyped to the allocation's migratetype (keeping one
        pageblock reserved unless ``force``)."""
        done = False
        pb = self.pageblock_nr_pages
        for z in ctx.zonelist:
            if not force and z.nr_reserved_highatomic <= pb:
                continue
            for o in range(self.max_order + 1):
                lst = z.free_list[o][MIGRATE_HIGHATOMIC]
                if not lst:
                    continue
                pfn = next(iter(lst))
                size = max(pb, 1 << o)
                z.nr_reserved_highatomic -= min(size, z.nr_reserved_highatomic)
                z.refresh_fast_marks()
                if o < self.pageblock_order:
                    self._move_freepages_block(z, pfn & ~(pb - 1), MIGRATE_HIGHATOMIC, ctx.migratetype)
                else:
                    z.move_to_free_list(pfn, o, MIGRATE_HIGHATOMIC, ctx.migratetype)
                    z.nr_free_highatomic -= 1 << o
                    for blk in range(pfn, pfn + (1 << o), pb):
                        z.set_pageblock_migratetype(blk, ctx.migratetype)
                    z.refresh_fast_marks()
                done = True
                break
        return done

    def alloc(self, gfp: int, order: int) -> int:
        """__alloc_pages(): the pfn of a new block, or -1.  Fast path, then slow path."""
        if order < 0 or order > self.max_order or isinstance(order, bool):
            if isinstance(order, int) and not isinstance(order, bool) and order > self.max_order:
                if self.pcp26:
                    return -1  # 2.6 alloc_pages_node(): "if (unlikely(order >= MAX_ORDER)) return NULL;"
                if not gfp & self.bits.nowarn:
                    # WARN_ON_ONCE_GFP(order > MAX_PAGE_ORDER, gfp)
                    self.k.report.warn_once("order > MAX_PAGE_ORDER", "__alloc_frozen_pages_noprof+0x0/0x0")
                return -1
            raise UsageError(f"order {order!r}: expected 0..{self.max_order}")
        self.k.sched.might_alloc(gfp)  # prepare_alloc_pages()
        ctx = self._gfp_cache.get(gfp) or self.prepare(gfp)
        if self.should_fail_alloc_page is not None and self.should_fail_alloc_page(gfp, order):
            pfn = -1  # prepare_alloc_pages() failed: NULL at once, no warn_alloc
        else:
            pfn = self.get_page_from_freelist(ctx, order, ctx.fast_flags)
            if pfn < 0:
                pfn = self.slowpath(ctx, order)
            if pfn >= 0:
                self.prep_new_page(pfn, order, ctx)
        if self.k.tp.mm_page_alloc:  # Tracepoints: flags unannotated
            self.k.tp.trace_mm_page_alloc(pfn, order, gfp, ctx.migratetype)
        return pfn

    def prep_new_page(self, pfn: int, order: int, ctx: GfpContext) -> None:
        """post_alloc_hook + prep_compound_page: refcount 1, zeroing, compound marks.
        2.6.24's prep_new_page() first checks the page: one freed twice (its count went to -1,
        :meth:`_free_unallocated26`) is reported now, fixed up, and handed out anyway."""
        if self.neg_count and pfn in self.neg_count:
            self.neg_count.discard(pfn)
            self.bad_page26(pfn, count=-1, function="prep_new_page")
        self.allocated[pfn] = order
        self.set_ref(pfn, 1)
        if ctx.zero:
            self.k.phys.fill(pfn << self.k.page_shift, 0, self.k.page_size << order)
        if ctx.comp and order:
            self.compound.add(pfn)
            self.k.memmap.set(pfn, "flags", PG.head)

    def set_ref(self, pfn: int, v: int) -> None:
        sec = self._ref.sections[pfn >> SECTION_PAGES_SHIFT]
        arrays = sec.arrays if sec.arrays is not None else sec.materialise()
        arrays[1][pfn & ((1 << SECTION_PAGES_SHIFT) - 1)] = v

    def get_ref(self, pfn: int) -> int:
        sec = self._ref.sections[pfn >> SECTION_PAGES_SHIFT]
        if sec.arrays is None:
            return sec.uniform[1]  # type: ignore[index]
        return sec.arrays[1][pfn & ((1 << SECTION_PAGES_SHIFT) - 1)]

    # ================================================================ slow path
    def _slowpath_retry(self, ctx: GfpContext, order: int) -> int:
        """__alloc_pages_slowpath() of 6.18, the ``slowpath`` of kernels with
        ``reclaim_retry_watermark`` (see :meth:`_slowpath_26` for the one before): wake
        kswapd, the ALLOC_* reductions, direct compaction (counted), direct reclaim,
        should_reclaim_retry / should_compact_retry, the OOM killer, __GFP_NOFAIL."""
        rc = self.k.vmscan
        b = self.bits
        gfp = ctx.gfp
        can_direct_reclaim = ctx.can_direct_reclaim
        can_compact = bool(gfp & b.io)  # gfp_compaction_allowed(): CONFIG_COMPACTION && __GFP_IO
        nofail = bool(gfp & b.nofail)
        costly_order = order > PAGE_ALLOC_COSTLY_ORDER
        if nofail:
            # __GFP_NOFAIL must not be used for order > 1 or without direct reclaim (WARN_ON_ONCE)
            if order > 1:
                self.k.report.warn_once("nofail order", "__alloc_pages_slowpath+0x0/0x0")
            if not can_direct_reclaim:
                self.k.report.warn_once("nofail atomic", "__alloc_pages_slowpath+0x0/0x0")
        # restart:
        compact = [DEF_COMPACT_PRIORITY, 0]  # compact_priority, compaction_retries
        compact_result = COMPACT_SKIPPED
        no_progress_loops = 0
        stuck = _Livelock(self, ctx, order)
        flags = self.gfp_to_alloc_flags(gfp, order)
        if not ctx.zonelist:
            return self._nopage(ctx, order, nofail, stuck)
        if flags & ALLOC_KSWAPD:
            self.wake_all_kswapds(order, ctx)
        pfn = self.get_page_from_freelist(ctx, order, flags)
        if pfn >= 0:
            return pfn
        if can_direct_reclaim and can_compact and (costly_order or (order > 0 and ctx.migratetype != MIGRATE_MOVABLE)) \
                and not self._pfmemalloc_flags(gfp):
            # direct_compact: not in interfaces.Reclaim yet
            pfn, compact_result = rc.direct_compact(ctx, order, flags, INIT_COMPACT_PRIORITY)
            if pfn >= 0:
                return pfn
            if costly_order and gfp & b.noretry:
                if compact_result in (COMPACT_SKIPPED, COMPACT_DEFERRED):
                    return self._nopage(ctx, order, nofail, stuck)
                compact[0] = INIT_COMPACT_PRIORITY
        while True:  # retry:
            if flags & ALLOC_KSWAPD:
                self.wake_all_kswapds(order, ctx)
            reserve_flags = self._pfmemalloc_flags(gfp)
            if reserve_flags:
                flags = reserve_flags | (flags & ALLOC_KSWAPD)
            pfn = self.get_page_from_freelist(ctx, order, flags)
            if pfn >= 0:
                return pfn
            if not can_direct_reclaim or rc.memalloc:  # atomic callers end here; no reclaim recursion
                return self._nopage(ctx, order, nofail, stuck)
            # __alloc_pages_direct_reclaim()
            progress = rc.perform_reclaim(ctx.zonelist, order, gfp, ctx.highest_zoneidx)
            if progress:
                pfn = self.get_page_from_freelist(ctx, order, flags)
                if pfn < 0:  # pages pinned on pcp lists or in highatomic reserves
                    self.unreserve_highatomic_pageblock(ctx, False)
                    self.drain_all_pages()
                    pfn = self.get_page_from_freelist(ctx, order, flags)
                if pfn >= 0:
                    return pfn
            pfn, result = rc.direct_compact(ctx, order, flags, compact[0])  # not in interfaces.Reclaim yet
            if result >= 0:
                compact_result = result
            if pfn >= 0:
                return pfn
            if gfp & b.noretry:
                return self._nopage(ctx, order, nofail, stuck)
            if costly_order and (not can_compact or not gfp & b.retry_mayfail):
                return self._nopage(ctx, order, nofail, stuck)
            no_progress_loops = self.should_reclaim_retry(ctx, order, flags, bool(progress), no_progress_loops)
            if no_progress_loops >= 0:
                continue
            no_progress_loops = -no_progress_loops - 1
            # should_compact_retry: not in interfaces.Reclaim yet
            if progress and can_compact and rc.should_compact_retry(ctx, order, compact_result, compact):
                continue
            # Reclaim has failed us, start killing things
            pfn, oom_progress = self._may_oom(ctx, order)
            if pfn >= 0:
                return pfn
            cur = rc.current()
            if cur is not None and cur.oom_victim and (flags & ALLOC_OOM or gfp & b.nomemalloc):
                return self._nopage(ctx, order, nofail, stuck)
            if oom_progress:
                no_progress_loops = 0
                if stuck.looping("oom"):  # nothing changed since the last time: nobody can help
                    return self._nopage(ctx, order, nofail, stuck, livelock=True)
                continue
            return self._nopage(ctx, order, nofail, stuck)

    def _nopage(self, ctx: GfpContext, order: int, nofail: bool, stuck: _Livelock, livelock: bool = False) -> int:
        """nopage: __GFP_NOFAIL loops (with a little of the reserves); others warn and fail."""
        if livelock and not nofail:
            if self.k.vmscan.userspace:
                stuck.fail()  # raises: the kernel would loop here forever
            self.vm_events["pgalloc_fail"] += 1
            self.warn_alloc(ctx.gfp, order)  # no user space: the allocation fails instead
            return -1
        if nofail and ctx.can_direct_reclaim:
            while True:
                flags = ALLOC_MIN_RESERVE | ALLOC_CPUSET  # __alloc_pages_cpuset_fallback()
                pfn = self.get_page_from_freelist(ctx, order, flags)
                if pfn >= 0:
                    return pfn
                if stuck.looping("nofail"):
                    stuck.fail()
                pfn = self.slowpath_retry_nofail(ctx, order)
                if pfn >= 0:
                    return pfn
        self.vm_events["pgalloc_fail"] += 1
        self.warn_alloc(ctx.gfp, order)
        return -1

    def slowpath_retry_nofail(self, ctx: GfpContext, order: int) -> int:
        """cond_resched(); goto retry -- one more pass of reclaim and the OOM killer for a
        __GFP_NOFAIL allocation."""
        rc = self.k.vmscan
        flags = self.gfp_to_alloc_flags(ctx.gfp, order)
        if flags & ALLOC_KSWAPD:
            self.wake_all_kswapds(order, ctx)
        pfn = self.get_page_from_freelist(ctx, order, flags)
        if pfn >= 0:
            return pfn
        if rc.memalloc:
            return -1
        if rc.perform_reclaim(ctx.zonelist, order, ctx.gfp, ctx.highest_zoneidx):
            pfn = self.get_page_from_freelist(ctx, order, flags)
            if pfn >= 0:
                return pfn
        pfn, _ = self._may_oom(ctx, order)
        return pfn

    def _pfmemalloc_flags(self, gfp: int) -> int:
        """__gfp_pfmemalloc_flags(): NO_WATERMARKS for __GFP_MEMALLOC and PF_MEMALLOC
        (reclaim, kswapd), ALLOC_OOM for an OOM victim; 0 with __GFP_NOMEMALLOC."""
        b = self.bits
        if gfp & b.nomemalloc:
            return 0
        if gfp & b.memalloc:
            return ALLOC_NO_WATERMARKS
        rc = self.k.vmscan
        sched = self.k.sched
        in_interrupt = sched.in_interrupt()
        if rc.memalloc and (not in_interrupt or sched.in_serving_softirq()):
            return ALLOC_NO_WATERMARKS
        if not in_interrupt:
            cur = rc.current()
            if cur is not None and cur.oom_victim:
                return ALLOC_OOM
        return 0

    def should_reclaim_retry(self, ctx: GfpContext, order: int, flags: int, progress: bool, loops: int) -> int:
        """should_reclaim_retry(): the new no_progress_loops if a retry is viable, else
        -(no_progress_loops + 1) after unreserving the highatomic blocks."""
        if progress and order <= PAGE_ALLOC_COSTLY_ORDER:
            loops = 0
        else:
            loops += 1
        ret = False
        if loops <= MAX_RECLAIM_RETRIES:
            rc = self.k.vmscan
            for z in ctx.zonelist:
                available = rc.zone_reclaimable_pages(z.idx) + z.free_pages
                if self.zone_watermark_ok(z, order, z.wmark(WMARK_MIN), ctx.highest_zoneidx, flags, available):
                    ret = True
                    break
            sched = self.k.sched
            if sched.runq:
                sched.cond_resched()
        if not ret:
            # before OOM, exhaust highatomic_reserve: a block given back is worth a retry
            # (6.18 returns unreserve_highatomic_pageblock(ac, true))
            if self.unreserve_highatomic_pageblock(ctx, True):
                return loops
            return -loops - 1
        return loops

    def _may_oom(self, ctx: GfpContext, order: int) -> tuple[int, bool]:
        """__alloc_pages_may_oom(): (pfn or -1, did_some_progress)."""
        b = self.bits
        gfp = ctx.gfp
        rc = self.k.vmscan
        # one more try at the high watermark: a parallel kill may have freed memory
        pfn = self.get_page_from_freelist(ctx, order, ALLOC_WMARK_HIGH | ALLOC_CPUSET)
        if pfn >= 0:
            return pfn, False
        if order > PAGE_ALLOC_COSTLY_ORDER:  # the OOM killer will not help higher order allocs
            return -1, False
        if gfp & (b.retry_mayfail | b.thisnode):
            return -1, False
        if ctx.highest_zoneidx < self._zone_index("Normal"):  # not for lowmem
            return -1, False
        if not rc.userspace:
            killed = False  # no user space is modelled: nothing for out_of_memory() to consider
        else:
            killed = rc.out_of_memory(gfp, order, ctx.highest_zoneidx)
        if killed:
            if gfp & b.nofail:
                pfn = self.get_page_from_freelist(ctx, order, ALLOC_NO_WATERMARKS | ALLOC_CPUSET)
            return pfn, True
        if gfp & b.nofail:
            if not gfp & b.nowarn:  # WARN_ON_ONCE_GFP(gfp_mask & __GFP_NOFAIL, gfp_mask)
                self.k.report.warn_once("nofail oom", "__alloc_pages_may_oom+0x0/0x0")
            pfn = self.get_page_from_freelist(ctx, order, ALLOC_NO_WATERMARKS | ALLOC_CPUSET)
            return pfn, True
        return -1, False

    def _slowpath_26(self, ctx: GfpContext, order: int) -> int:
        """2.6.24 __alloc_pages() after the first pass: wake kswapd, the min watermark with
        ALLOC_HARDER/ALLOC_HIGH, PF_MEMALLOC reserves, try_to_free_pages, the OOM killer
        for __GFP_FS allocations without progress, and the retry rule: orders up to 3,
        __GFP_REPEAT and __GFP_NOFAIL retry (unless __GFP_NORETRY).  2.6.11 (mm/page_alloc.c
        __alloc_pages(), lines 688-855) is the same but for ``costly_order_slowpath``: it
        OOM-kills for every order and drains no pcp lists after reclaim."""
        b = self.bits
        gfp = ctx.gfp
        rc = self.k.vmscan
        stuck = _Livelock(self, ctx, order)
        costly = self.k.features.costly_order_slowpath  # 2.6.11 OOM-kills for any order
        while True:  # restart:
            if not ctx.zonelist:
                break
            for z in ctx.zonelist:  # wakeup_kswapd() for every zone of the zonelist
                if not self.zone_watermark_ok(z, order, z.wmark(WMARK_LOW), 0, 0, z.free_pages):
                    rc.wakeup_kswapd(z, gfp, order, ctx.highest_zoneidx)
            rc.kswapd_catch_up()
            flags = self.gfp_to_alloc_flags(gfp, order)
            pfn = self.get_page_from_freelist(ctx, order, flags)
            if pfn >= 0:
                return pfn
            restart = False
            while True:  # rebalance:
                victim = rc.current()
                if rc.memalloc or (victim is not None and victim.oom_victim):
                    if not gfp & b.nomemalloc:
                        pfn = self.get_page_from_freelist(ctx, order, ALLOC_NO_WATERMARKS)
                        if pfn >= 0:
                            return pfn
                    break  # nopage (__GFP_NOFAIL's congestion_wait loop is not modelled)
                if not ctx.can_direct_reclaim:
                    break
                progress = rc.perform_reclaim(ctx.zonelist, order, gfp, ctx.highest_zoneidx)
                if order and costly:  # 2.6.24: drain_all_local_pages() after a higher-order reclaim
                    self.drain_all_pages()
                if progress:
                    pfn = self.get_page_from_freelist(ctx, order, flags)
                    if pfn >= 0:
                        return pfn
                elif gfp & b.fs and not gfp & b.noretry:
                    pfn = self.get_page_from_freelist(ctx, order, ALLOC_WMARK_HIGH | ALLOC_CPUSET)
                    if pfn >= 0:
                        return pfn
                    if costly and order > PAGE_ALLOC_COSTLY_ORDER:
                        break  # 2.6.24: "The OOM killer will not help higher order allocs so fail"
                    if rc.userspace:
                        rc.out_of_memory(gfp, order, len(self.zones) - 1)
                        restart = True
                        if stuck.looping("oom"):
                            stuck.fail()
                        break
                    if not gfp & b.nofail:
                        break  # (the model's rule: no process to kill, the allocation fails)
                    # __GFP_NOFAIL with no process to kill: do_retry below loops for ever
                do_retry = not gfp & b.noretry and (order <= PAGE_ALLOC_COSTLY_ORDER or gfp & b.retry_mayfail
                                                     or gfp & b.nofail)
                if not do_retry:
                    break
                if stuck.looping("retry"):  # congestion_wait() and again, with nothing changing
                    if not rc.userspace and not gfp & b.nofail:
                        break
                    stuck.fail()
            if not restart:
                break
        self.vm_events["pgalloc_fail"] += 1
        self.warn_alloc(gfp, order)
        return -1

    def wake_all_kswapds(self, order: int, ctx: GfpContext) -> None:
        """wake_all_kswapds(): wakeup_kswapd() once for the node of the zonelist (and, on a
        machine with a CPU to spare, kswapd's work is done by the time we look again)."""
        rc = self.k.vmscan
        if ctx.zonelist:
            z = next((z for z in ctx.zonelist if z.managed_pages), None)
            if z is not None:
                rc.wakeup_kswapd(z, ctx.gfp, order, ctx.highest_zoneidx)
        rc.kswapd_catch_up()

    def wake_kswapd(self, zone: Zone | None = None) -> None:
        """rmqueue()'s wakeup for ZONE_BOOSTED_WATERMARK: wakeup_kswapd(zone, 0, 0, zone_idx)."""
        rc = self.k.vmscan
        z = zone if zone is not None else next(z for z in self.zones if z.managed_pages)
        rc.wakeup_kswapd(z, 0, 0, z.idx)

    def warn_alloc_ratelimit(self) -> bool:
        """``__ratelimit(&nopage_rs)`` of warn_alloc(): one report per 10 s of the machine clock
        (every warn_alloc() caller shares it, vmalloc's too); a report let through after
        suppressed ones first prints "warn_alloc: N callbacks suppressed"."""
        k = self.k
        hz = k.profile.hz
        jiffies = k.clock.ns * hz // 1_000_000_000
        if jiffies < self._ratelimit_until:
            self._ratelimit_missed += 1
            return False
        if self._ratelimit_missed:
            k.printk(f"warn_alloc: {self._ratelimit_missed} callbacks suppressed", 4)
            self._ratelimit_missed = 0
        self._ratelimit_until = jiffies + 10 * hz
        return True

    def warn_alloc(self, gfp: int, order: int) -> None:
        """warn_alloc(): "page allocation failure" with the mode, stack and show_mem, rate limited
        (the 5.0+ one-line form with the flags' names with ``warn_alloc_symbolic``, else 2.6's)."""
        if gfp & self.bits.nowarn:
            return
        if gfp & self.bits.dma and not any(z.managed_pages for z in self.zones if z.name == "DMA"):
            return  # (gfp_mask & __GFP_DMA) && !has_managed_dma()
        if not self.warn_alloc_ratelimit():
            return
        k = self.k
        rc = self.k.vmscan
        comm = rc.current_task().comm
        if not self._warn_symbolic:
            lines = [f"{comm}: page allocation failure. order:{order}, mode:{gfp:#x}"]
        else:
            lines = [
                f"{comm}: page allocation failure: order:{order}, mode:{gfp:#x}({self.gfpset.format(gfp)}), "
                "nodemask=(null),cpuset=/,mems_allowed=0"
            ]
        with rc.as_current():
            lines += k.report.dump_stack_lines()
        k.printk("\n".join(lines), 4)
        if self._show_mem_on_fail:  # 2.6.11 printed the report and the stack only
            k.printk("\n".join(self.show_mem_lines(min(self.gfpset.zone(gfp), self.nr_zones - 1))), 4)

    def show_mem_lines(self, max_zone_idx: int | None = None) -> list[str]:
        """__show_mem() (mm/show_mem.c): the Mem-Info block, zones up to ``max_zone_idx``
        (kmemsim.mm.oom_kill.show_mem_lines)."""
        from .oom_kill import show_mem_lines

        return show_mem_lines(self.k, max_zone_idx)


    # ================================================================ freeing
    def free(self, pfn: int, order: int, *, batched: bool = False) -> None:
        """__free_pages(page, order): drop a reference; free the block when it was the last.

        ``batched``: a folio freed by reclaim or truncation, which 6.18 frees through
        free_unref_folios() (its tracepoint, mm_page_free_batched, is not modelled)."""
        if order < 0 or order > self.max_order:
            raise UsageError(f"order {order!r}: expected 0..{self.max_order}")
        k = self.k
        if not k.memmap.pfn_valid(pfn):
            k.report.page_fault(k.arch.page_struct_addr(pfn), write=True)
        alloc_order = self.allocated.get(pfn)
        if alloc_order is None:
            if self.pcp26:
                self._free_unallocated26(pfn)
                return
            self.bad_page(pfn, self._why_not_allocated(pfn))
            return
        ref = self.get_ref(pfn)
        if ref <= 0:
            self.bad_page(pfn, "nonzero _refcount")
            return
        if ref > 1:
            self.set_ref(pfn, ref - 1)
            if pfn not in self.compound and order:
                # ___free_pages(): someone else holds the head page; free the tail halves now
                self.allocated[pfn] = 0
                tp = self.k.tp
                for o in range(order - 1, -1, -1):
                    if tp.mm_page_free:  # Tracepoints: flags unannotated
                        tp.trace_mm_page_free(pfn + (1 << o), o)
                    self._release(pfn + (1 << o), o)
            return
        if pfn in self.compound and alloc_order != order:
            self.bad_page(pfn, f"compound page of order {alloc_order} freed with order {order}")
            return
        if alloc_order != order:
            self.bad_page(pfn, f"freeing order {order}, allocated as order {alloc_order}")
            return
        if self.k.tp.mm_page_free and not batched:  # Tracepoints: flags unannotated
            self.k.tp.trace_mm_page_free(pfn, order)  # free_pages_prepare()
        self.set_ref(pfn, 0)
        del self.allocated[pfn]
        if pfn in self.compound:
            self.compound.discard(pfn)
            self.k.memmap.set(pfn, "flags", 0)
        self._release(pfn, order)

    def _release(self, pfn: int, order: int) -> None:
        """free_frozen_pages(): give the block back, through the pcp list when it may."""
        z = self.zone_of(pfn)
        z.pgfree += 1 << order
        mt = z.get_pageblock_migratetype(pfn)
        if self.pcp26 and order == 0:
            self.free_hot_cold_page(z, pfn, 0)  # __free_pages() of an order-0 page: free_hot_page()
        elif order in self.pcp_orders and mt != MIGRATE_ISOLATE:
            self.pcp_free(z, pfn, order, mt)
        elif order > self.pageblock_order:
            # split_large_buddy(): pageblock-sized chunks, each with its own migratetype
            for blk in range(pfn, pfn + (1 << order), self.pageblock_nr_pages):
                self.free_one_page(z, blk, self.pageblock_order, z.get_pageblock_migratetype(blk))
        else:
            self.free_one_page(z, pfn, order, mt)

    def free_to_buddy_tail(self, pfn: int, order: int) -> None:
        """__free_pages_ok(page, order, FPI_TO_TAIL): bypass the pcp lists (make_alloc_exact)."""
        if self.k.tp.mm_page_free:  # Tracepoints: flags unannotated
            self.k.tp.trace_mm_page_free(pfn, order)
        z = self.zone_of(pfn)
        z.pgfree += 1 << order
        self.free_one_page(z, pfn, order, z.get_pageblock_migratetype(pfn), to_tail=True)

    def _why_not_allocated(self, pfn: int) -> str:
        if self._free_block_of(pfn) is not None:
            return "nonzero mapcount"  # PGTY_buddy shares _mapcount's storage: a free page
        if self._on_pcp(pfn):
            return "nonzero _refcount"  # refcount 0 on a pcp list: the put underflows
        head = self.head_of(pfn)
        if head is not None:
            return "nonzero _refcount"  # a tail page: refcount 0, the put underflows
        owner = self.k.memmap.get(pfn, "owner")
        if owner in (Owner.RESERVED, Owner.HOLE):
            return "PAGE_FLAGS_CHECK_AT_FREE flag(s) set"  # PG_reserved
        return "nonzero _refcount"

    def _free_block_of(self, pfn: int) -> tuple[int, int] | None:
        """The free buddy block containing pfn, as (head, order)."""
        try:
            z = self.zone_of(pfn)
        except KeyError:
            return None
        for o in range(self.max_order + 1):
            head = pfn & ~((1 << o) - 1)
            ent = z.buddy.get(head)
            if ent is not None and ent[0] >= o and head + (1 << ent[0]) > pfn:
                return head, ent[0]
        return None

    def _on_pcp(self, pfn: int) -> bool:
        try:
            z = self.zone_of(pfn)
        except KeyError:
            return False
        for pcp in z.pcp:
            for pi, lst in enumerate(pcp.lists):
                o = self._pindex_order[pi]
                base = pfn & ~((1 << o) - 1)
                if base in lst:
                    return True
        return False

    def head_of(self, pfn: int) -> int | None:
        """The head pfn of the allocated block containing ``pfn`` (itself if a head)."""
        for o in range(self.max_order + 1):
            head = pfn & ~((1 << o) - 1)
            ao = self.allocated.get(head)
            if ao is not None and head + (1 << ao) > pfn:
                return head
        return None

    def bad_page(self, pfn: int, reason: str) -> None:
        """bad_page(): "BUG: Bad page state", dump_page, taint B; the page is not freed (2.6:
        :meth:`bad_page26`'s form)."""
        k = self.k
        if self.pcp26:
            self.bad_page26(pfn, count=self.get_ref(pfn) if k.memmap.pfn_valid(pfn) else 0,
                            function="__free_pages_ok")
            return
        ref = self.get_ref(pfn) if k.memmap.pfn_valid(pfn) else 0
        flags = PG(k.memmap.get(pfn, "flags")) if k.memmap.pfn_valid(pfn) else PG(0)
        zone = self.zone_of(pfn).idx if self._safe_zone(pfn) else 0
        zone_bits = f"node=0|zone={zone}"
        names = "|".join(f.name for f in PG if f & flags and f.name)
        lines = [
            f"BUG: Bad page state in process {k.current.comm}  pfn:{pfn:05x}",
            f"page: refcount:{ref} mapcount:0 mapping:0000000000000000 index:0x0 pfn:{pfn:#x}",
            f"flags: {int(flags) | (zone << 62):#x}({names + '|' if names else ''}{zone_bits})",
            f"page dumped because: {reason}",
        ]
        lines += k.report.dump_stack_lines()
        k.taint.add("B")
        k.report.bug(lines + ["Disabling lock debugging due to kernel taint"], kind="bad_page")

    # ---- 2.6: what a free of a page that is not allocated does, and the report's form
    def _free_unallocated26(self, pfn: int) -> None:
        """__free_pages() of a page that is free (freed twice), a tail of a block, or reserved.

        2.6.11 (mm/page_alloc.c:900-907): a PG_reserved page is skipped silently; any other
        has count 0 and put_page_testzero()'s BUG_ON(page_count(p) == 0) fires: "kernel BUG at
        include/linux/mm.h:299!".  2.6.24 (line 1683, no CONFIG_DEBUG_VM): a reserved page's
        count 1 drops to 0 and free_pages_check() reports it ("Bad page state", PG_reserved)
        and keeps it; any other count 0 becomes -1 silently, and the page is reported when it
        is next allocated (prep_new_page)."""
        k = self.k
        reserved = k.memmap.get(pfn, "owner") in (Owner.RESERVED, Owner.HOLE)
        if self._pcp_low:  # 2.6.11
            if reserved:
                return
            # include/asm-i386/bug.h BUG(): handle_BUG() prints the two lines (arch/i386/kernel/
            # traps.c:285-286 of 2.6.11), then die() names trap 6 (report.py: "invalid operand")
            k.report.bug(["------------[ cut here ]------------", "kernel BUG at include/linux/mm.h:299!"],
                         kind="put_page_testzero", oops=True, oops_str="invalid opcode")
        if reserved:
            self.bad_page26(pfn, count=0, function="free_pages_check")
            return
        self.neg_count.add(pfn)  # atomic_dec_and_test(&page->_count): 0 -> -1, nothing freed

    def page_flags26(self, pfn: int) -> int:
        """page->flags of a 2.6 i386 page as bad_page() prints it: the zone in the top bits
        (2.6.24: ZONES_PGSHIFT 30; 2.6.11: NODEZONE_SHIFT 29, MAX_NODES_SHIFT 1 without
        DISCONTIGMEM), PG_reserved (bit 10 in 2.6.24, 11 in 2.6.11) and 2.6.11's PG_highmem (8)."""
        zone = self.zone_of(pfn).idx if self._safe_zone(pfn) else 0
        reserved = self.k.memmap.get(pfn, "owner") in (Owner.RESERVED, Owner.HOLE)
        if self._pcp_low:
            flags = zone << 29 | (1 << 11 if reserved else 0)
            if self.k.arch.is_highmem_pfn(pfn):
                flags |= 1 << 8
            return flags
        return zone << 30 | (1 << 10 if reserved else 0)

    def bad_page26(self, pfn: int, *, count: int, function: str, mapcount: int = 0) -> None:
        """bad_page() of 2.6: 2.6.24 "Bad page state in process '%s'" with the struct page and
        its 32-bit flags, "Trying to fix it up ...", "Backtrace:" and the stack (mm/page_alloc.c
        :221-245); 2.6.11 "Bad page state at %s (in process '%s', page %p)" (lines 91-112).  Taint
        B; with on_bug="raise" a KernelBug."""
        k = self.k
        page = k.arch.page_struct_addr(pfn)
        flags = self.page_flags26(pfn)
        if self._pcp_low:
            lines = [f"Bad page state at {function} (in process '{k.current.comm}', page {page:08x})",
                     f"flags:0x{flags:08x} mapping:00000000 mapcount:{mapcount} count:{count}",
                     "Backtrace:", *k.report.dump_stack_lines(), "Trying to fix it up, but a reboot is needed"]
        else:
            lines = [f"Bad page state in process '{k.current.comm}'",
                     f"page:{page:08x} flags:0x{flags:08x} mapping:00000000 mapcount:{mapcount} count:{count}",
                     "Trying to fix it up, but a reboot is needed", "Backtrace:", *k.report.dump_stack_lines()]
        k.taint.add("B")
        k.report.bug(lines, kind="bad_page")

    def _safe_zone(self, pfn: int) -> bool:
        try:
            self.zone_of(pfn)
            return True
        except KeyError:
            return False

    # ================================================================ refcounts, compound, split
    def get_page(self, pfn: int) -> None:
        head = self.head_of(pfn)
        if head is None:
            self.bad_page(pfn, "get_page() on a page that is not allocated")
            return
        target = head if head in self.compound else pfn
        self.set_ref(target, self.get_ref(target) + 1)

    def put_page(self, pfn: int) -> None:
        head = self.head_of(pfn)
        if head is None:
            self.bad_page(pfn, self._why_not_allocated(pfn))
            return
        target = head if head in self.compound else pfn
        if target != head and pfn != head:
            self.bad_page(pfn, "nonzero _refcount")
            return
        ref = self.get_ref(target)
        if ref > 1:
            self.set_ref(target, ref - 1)
            return
        self.free(head, self.allocated[head])

    def split_page(self, pfn: int, order: int) -> None:
        """split_page(): a non-compound block becomes 2^order order-0 pages, refcount 1 each."""
        if pfn in self.compound:
            raise UsageError(f"split_page: pfn {pfn:#x} is a compound page (VM_BUG_ON_PAGE with DEBUG_VM)")
        if self.allocated.get(pfn) != order:
            raise UsageError(f"split_page: pfn {pfn:#x} is not an allocated block of order {order}")
        for i in range(1 << order):
            self.allocated[pfn + i] = 0
            if i:
                self.set_ref(pfn + i, 1)  # the head keeps its count

    # ================================================================ invariants
    def check(self) -> None:
        """Every invariant; raises :class:`InvariantError` naming the first problems."""
        errs = self.problems()
        if errs:
            raise InvariantError("page_alloc", "; ".join(errs[:5]))

    def problems(self) -> list[str]:
        """Every broken invariant, as text (empty: consistent)."""
        errs: list[str] = []
        for z in self.zones:
            errs += z.check()
        # every managed page is in exactly one place: a free block, a pcp list, or allocated
        spans: list[tuple[int, int, str]] = []
        for z in self.zones:
            spans += [(pfn, pfn + (1 << o), "buddy") for pfn, (o, _) in z.buddy.items()]
            for pcp in z.pcp:
                n = 0
                where = f"pcp cpu{pcp.cpu}"
                for pi, lst in enumerate(pcp.lists):
                    o = self._pindex_order[pi]
                    n += len(lst) << o
                    spans += [(pfn, pfn + (1 << o), where) for pfn in lst]
                if n != pcp.count:
                    errs.append(f"{z.name} pcp cpu{pcp.cpu}: count {pcp.count} but lists hold {n}")
        get_ref, compound = self.get_ref, self.compound
        allocated = self.allocated
        spans += [(pfn, pfn + (1 << o), "allocated") for pfn, o in allocated.items()]
        # refcount <= 0: get_ref() inline, by section (a uniform one, or its array)
        sections, shift, low = self._ref.sections, SECTION_PAGES_SHIFT, (1 << SECTION_PAGES_SHIFT) - 1
        for pfn in allocated:
            sec = sections[pfn >> shift]
            rc = sec.uniform[1] if sec.arrays is None else sec.arrays[1][pfn & low]  # type: ignore[index]
            if rc <= 0 and pfn not in compound:
                errs.append(f"allocated pfn {pfn:#x} has refcount {get_ref(pfn)}")
        # overlaps: by start alone (int keys, and the comparisons in C); only when there is one,
        # the full order of (start, end, where) to name the first, as always
        spans.sort(key=_span_start)
        starts, ends = list(map(_span_start, spans)), list(map(_span_end, spans))
        if any(map(operator.lt, starts[1:], ends)):
            spans.sort()
            for (a0, a1, w1), (b0, _, w2) in zip(spans, spans[1:], strict=False):
                if b0 < a1:
                    errs.append(f"pfns {b0:#x}.. are both {w1} (from {a0:#x}) and {w2}")
                    break
        covered = sum(ends) - sum(starts)
        managed = sum(z.managed_pages for z in self.zones)
        if covered != managed:
            errs.append(f"{covered} pages are free, on pcp lists or allocated, but {managed} are managed")
        mm = self.k.memmap
        for a, _, what in spans[:: max(1, len(spans) // 2000)]:  # sampled: owner must be MANAGED
            if mm.get(a, "owner") != Owner.MANAGED:
                errs.append(f"pfn {a:#x} ({what}) is not a managed page in the memmap")
                break
        return errs


_span_start = operator.itemgetter(0)
_span_end = operator.itemgetter(1)

#: The node counters whose change means that something may have freed memory.
_PROGRESS_STATS = ("nr_inactive_anon", "nr_active_anon", "nr_inactive_file", "nr_active_file", "nr_unevictable",
                   "_swap_free", "nr_writeback", "nr_dirty")


class _Livelock:
    """Detects a slow-path loop that nothing can end: the allocation retries with the
    machine unchanged and no other task runnable.  A real kernel would spin there
    forever (waiting for another task to free memory); the model sleeps a jiffy while
    other tasks can run, and otherwise raises KernelBug("alloc_livelock")."""

    __slots__ = ("pa", "ctx", "order", "last", "count")

    def __init__(self, pa: PageAllocator, ctx: GfpContext, order: int):
        self.pa = pa
        self.ctx = ctx
        self.order = order
        self.last: tuple[int, ...] | None = None
        self.count = 0

    def _signature(self) -> tuple[int, ...]:
        pa = self.pa
        k = pa.k
        ns = k.node_stats.get  # the LRU sizes, dirty and writeback pages, free swap (kmemsim.mm.vmscan)
        return (sum(z.free_pages + z.pcp_count for z in pa.zones), *(ns(n) for n in _PROGRESS_STATS),
                len(k.vmscan.processes))

    def looping(self, where: str) -> bool:
        """One more turn of the loop; True when it has gone round unchanged and no other
        task can change anything (after letting them run)."""
        sig = self._signature()
        if sig != self.last:
            self.last, self.count = sig, 0
            return False
        self.count += 1
        if self.count < 2:
            return False
        sched = self.pa.k.sched
        if sched.others_can_progress() and not sched.in_atomic():
            sched.schedule_timeout(1)  # let the others run: a free may come
            self.count = 0
            return False
        return True

    def fail(self) -> None:
        k = self.pa.k
        gfp = self.ctx.gfp
        comm = self.pa.k.vmscan.current_task().comm
        where = "__alloc_pages" if self.pa.pcp26 else "__alloc_pages_slowpath"  # 2.6: one function
        text = (f"kmemsim: {comm} would loop forever in {where} (order:{self.order}, "
                f"mode:{gfp:#x}({self.pa.gfpset.format(gfp)})): it may not fail, reclaim frees nothing, the OOM "
                "killer cannot help it, and no other task can run to free memory")
        k.printk(text, 3)
        from ..errors import KernelBug

        raise KernelBug("alloc_livelock", text)
