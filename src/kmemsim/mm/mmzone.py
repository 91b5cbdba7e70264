"""Zones, free areas, per-CPU page lists: the structures of include/linux/mmzone.h.

The algorithms that move pages between them live in ``kmemsim.mm.page_alloc``;
this module holds the data and its invariants.

Picture of one zone (6.18)::

    struct zone
      _watermark[min, low, high, promo] + watermark_boost
      lowmem_reserve[MAX_NR_ZONES]          protection against fallback from higher zones
      free_area[0..MAX_PAGE_ORDER]          one per order
        free_list[migratetype]              blocks of 2^order pages, head first
        nr_free                             blocks of this order, all types
      pageblock_flags                       one migratetype per 2^pageblock_order pages
      per_cpu_pageset[cpu]                  lists of order 0-3 (and pageblock order) pages
      vm_stat[NR_FREE_PAGES ...]

Representation choices (each list keeps the kernel's order semantics):

* a free list is an ``OrderedDict`` pfn -> None whose *front is the list head*:
  ``list_add`` = insert + ``move_to_end(last=False)``, ``list_add_tail`` =
  insert, ``list_first_entry`` = ``next(iter(d))``, ``list_del`` = ``del``.
* ``Zone.buddy`` maps the head pfn of every free block to ``(order, mt)``:
  the kernel's ``PageBuddy(page)`` + ``buddy_order(page)``, and the list it is on.
* a pcp list is a Python list whose *end is the list head*: frees ``append``,
  allocations ``pop()`` (LIFO, hot), drains take from index 0 (the cold tail).

Invariants (``Zone.check``):
  nr_free[o] == sum of len(free_list[o][mt]) for every mt;
  every buddy entry is on exactly the list it names, lies inside the zone,
  is aligned to its order, and does not overlap another free block;
  no two free blocks of the same order are buddies that could merge
  (unless the pageblock rule forbids it);
  free_pages == sum of the non-isolated free blocks' pages.
"""
from __future__ import annotations

from collections import OrderedDict

from ..records import Record

MIGRATE_UNMOVABLE, MIGRATE_MOVABLE, MIGRATE_RECLAIMABLE, MIGRATE_HIGHATOMIC, MIGRATE_ISOLATE = range(5)
MIGRATE_PCPTYPES = 3
MIGRATE_TYPES = 5
MIGRATETYPE_NAMES = ("Unmovable", "Movable", "Reclaimable", "HighAtomic", "Isolate")

WMARK_MIN, WMARK_LOW, WMARK_HIGH, WMARK_PROMO = range(4)


class PcpList(Record):
    """2.6's struct per_cpu_pages: one list of order-0 pages and its marks (pcp[0] the hot list,
    pcp[1] the cold one).  ``low`` is 2.6.11's refill mark (0 on kernels without one)."""

    __slots__ = __match_args__ = ("count", "low", "high", "batch")
    count: int
    low: int
    high: int
    batch: int

    def __init__(self, count: int = 0, low: int = 0, high: int = 0, batch: int = 1) -> None:
        self.count = count
        self.low = low
        self.high = high
        self.batch = batch


class PerCpuPages(Record):
    """struct per_cpu_pages (6.7+): one per zone per CPU.  On 2.6 kernels (features.pcp_cold_list)
    it stands for struct per_cpu_pageset: ``lists`` are the hot and the cold list, ``temp`` their
    counts and marks, and ``count`` their sum."""

    __slots__ = __match_args__ = ("cpu", "lists", "count", "high", "high_min", "high_max", "batch", "alloc_factor",
                                  "free_count", "free_high", "free_high_batch", "touched", "temp")
    cpu: int
    lists: list[list[int]]
    count: int
    high: int
    high_min: int
    high_max: int
    batch: int
    alloc_factor: int
    free_count: int
    free_high: bool  # PCPF_PREV_FREE_HIGH_ORDER: the last free was of a high order
    #: PCPF_FREE_HIGH_BATCH: keep ``batch`` pages when draining for consecutive high-order frees;
    #: set at boot when the CPU's share of the last-level cache exceeds 3 * batch pages
    #: (zone_pcp_update_cacheinfo(), PageAllocator.setup_pcp_cacheinfo)
    free_high_batch: bool
    touched: bool  # a pageset never used prints high 0 in zoneinfo (DMA on a real machine)
    temp: list[PcpList]  # 2.6: pcp[0] hot, pcp[1] cold

    def __init__(self, cpu: int, lists: list[list[int]], count: int = 0, high: int = 0, high_min: int = 0,
                 high_max: int = 0, batch: int = 1, alloc_factor: int = 0, free_count: int = 0,
                 free_high: bool = False, free_high_batch: bool = False, touched: bool = False,
                 temp: list[PcpList] | None = None) -> None:
        self.cpu = cpu
        self.lists = lists
        self.count = count
        self.high = high
        self.high_min = high_min
        self.high_max = high_max
        self.batch = batch
        self.alloc_factor = alloc_factor
        self.free_count = free_count
        self.free_high = free_high
        self.free_high_batch = free_high_batch
        self.touched = touched
        self.temp = [] if temp is None else temp


class Zone(Record):
    """struct zone for one node; pfns are absolute."""

    __slots__ = __match_args__ = ("idx", "name", "zone_start_pfn", "spanned_pages", "present_pages", "managed_pages",
                                  "memmap_pages", "max_order", "pageblock_order", "nr_migratetypes", "watermark",
                                  "watermark_boost", "lowmem_reserve", "free_pages", "nr_free", "free_list", "buddy",
                                  "pageblock_mt", "pcp", "below_high", "nr_reserved_highatomic", "nr_free_highatomic",
                                  "pgalloc", "pgfree", "free_highatomic_unusable", "fast_high")
    _no_repr = ("nr_free", "free_list", "buddy", "pageblock_mt", "pcp", "fast_high")
    idx: int  # zone index (ZONE_DMA = 0, ...)
    name: str  # "DMA", "DMA32", "Normal", "HighMem", "Movable", "Device"
    zone_start_pfn: int
    spanned_pages: int
    present_pages: int
    managed_pages: int
    memmap_pages: int  # 2.6.24: the pages its struct pages take, left out of present_pages
    max_order: int
    pageblock_order: int
    nr_migratetypes: int
    watermark: list[int]
    watermark_boost: int
    lowmem_reserve: list[int]
    free_pages: int  # NR_FREE_PAGES
    nr_free: list[int]
    free_list: list[list[OrderedDict]]
    buddy: dict[int, tuple[int, int]]
    pageblock_mt: bytearray
    pcp: list[PerCpuPages]
    below_high: bool  # ZONE_BELOW_HIGH
    nr_reserved_highatomic: int
    nr_free_highatomic: int
    pgalloc: int  # vm event pgalloc_<zone>
    pgfree: int  # this zone's share of the vm event pgfree
    #: What the watermark checks set aside for the highatomic reserve: its free pages
    #: (nr_free_highatomic, 6.12+) or else every reserved pageblock (nr_reserved_highatomic)
    free_highatomic_unusable: bool
    #: The order-0 fast path's test, one number per highest_zoneidx: allocate straight from
    #: the pcp list when free_pages > fast_high[hz], i.e. when zone_watermark_fast() would
    #: pass at the high watermark: wmark_pages(HIGH) + lowmem_reserve[hz] + the highatomic
    #: pages it may not use -- or never, while ZONE_BELOW_HIGH is set.
    #: Every change of a term calls refresh_fast_marks().
    fast_high: list[int]

    def __init__(self, idx: int, name: str, zone_start_pfn: int, spanned_pages: int, present_pages: int = 0,
                 managed_pages: int = 0, memmap_pages: int = 0, max_order: int = 10, pageblock_order: int = 9,
                 nr_migratetypes: int = MIGRATE_TYPES, watermark: list[int] | None = None, watermark_boost: int = 0,
                 lowmem_reserve: list[int] | None = None, free_pages: int = 0, nr_free: list[int] | None = None,
                 free_list: list[list[OrderedDict]] | None = None, buddy: dict[int, tuple[int, int]] | None = None,
                 pageblock_mt: bytearray | None = None, pcp: list[PerCpuPages] | None = None, below_high: bool = False,
                 nr_reserved_highatomic: int = 0, nr_free_highatomic: int = 0, pgalloc: int = 0, pgfree: int = 0,
                 free_highatomic_unusable: bool = True, fast_high: list[int] | None = None) -> None:
        self.idx = idx
        self.name = name
        self.zone_start_pfn = zone_start_pfn
        self.spanned_pages = spanned_pages
        self.present_pages = present_pages
        self.managed_pages = managed_pages
        self.memmap_pages = memmap_pages
        self.max_order = max_order
        self.pageblock_order = pageblock_order
        self.nr_migratetypes = nr_migratetypes
        self.watermark = [0, 0, 0, 0] if watermark is None else watermark
        self.watermark_boost = watermark_boost
        self.lowmem_reserve = [] if lowmem_reserve is None else lowmem_reserve
        self.free_pages = free_pages
        self.nr_free = [] if nr_free is None else nr_free
        self.free_list = [] if free_list is None else free_list
        self.buddy = {} if buddy is None else buddy
        self.pageblock_mt = bytearray() if pageblock_mt is None else pageblock_mt
        self.pcp = [] if pcp is None else pcp
        self.below_high = below_high
        self.nr_reserved_highatomic = nr_reserved_highatomic
        self.nr_free_highatomic = nr_free_highatomic
        self.pgalloc = pgalloc
        self.pgfree = pgfree
        self.free_highatomic_unusable = free_highatomic_unusable
        self.fast_high = [] if fast_high is None else fast_high
        self.__post_init__()

    def refresh_fast_marks(self) -> None:
        if self.below_high:
            self.fast_high = [1 << 62] * len(self.lowmem_reserve)
            return
        highatomic = self.nr_free_highatomic if self.free_highatomic_unusable else self.nr_reserved_highatomic
        high = self.watermark[WMARK_HIGH] + self.watermark_boost + highatomic
        self.fast_high = [high + r for r in self.lowmem_reserve]

    def __post_init__(self) -> None:
        n = self.max_order + 1
        self.nr_free = [0] * n
        self.free_list = [[OrderedDict() for _ in range(self.nr_migratetypes)] for _ in range(n)]
        # pageblock_flags: indexed by absolute pfn >> pageblock_order (the allocator hands every
        # zone the same machine-wide array; a lone zone gets its own)
        if not self.pageblock_mt:
            end = self.zone_start_pfn + self.spanned_pages
            self.pageblock_mt = bytearray([MIGRATE_MOVABLE]) * ((end >> self.pageblock_order) + 1)

    def _repr_html_(self) -> str | None:
        """Jupyter's rich display, drawn by kmemsim.explore (a tool above this layer: imported by name)."""
        import importlib

        return importlib.import_module("kmemsim.explore.jupyter").repr_html(self)

    @property
    def zone_end_pfn(self) -> int:
        return self.zone_start_pfn + self.spanned_pages

    @property
    def populated(self) -> bool:
        return self.present_pages > 0

    def contains(self, pfn: int) -> bool:
        return self.zone_start_pfn <= pfn < self.zone_start_pfn + self.spanned_pages

    def get_pageblock_migratetype(self, pfn: int) -> int:
        return self.pageblock_mt[pfn >> self.pageblock_order]

    def set_pageblock_migratetype(self, pfn: int, mt: int) -> None:
        self.pageblock_mt[pfn >> self.pageblock_order] = mt

    def wmark(self, i: int) -> int:
        """wmark_pages(zone, i) = _watermark[i] + watermark_boost."""
        return self.watermark[i] + self.watermark_boost

    @property
    def pcp_count(self) -> int:
        return sum(p.count for p in self.pcp)

    # ------------------------------------------------------------ free lists
    def add_to_free_list(self, pfn: int, order: int, mt: int, tail: bool) -> None:
        """__add_to_free_list(): list_add_tail if ``tail`` else list_add at the head."""
        lst = self.free_list[order][mt]
        lst[pfn] = None
        if not tail:
            lst.move_to_end(pfn, last=False)
        self.buddy[pfn] = (order, mt)
        self.nr_free[order] += 1

    def add_blocks_to_free_list(self, pfns: range, order: int, mt: int) -> None:
        """__add_to_free_list() at the tail of each block of ``pfns`` in turn, at once."""
        self.free_list[order][mt].update(dict.fromkeys(pfns))
        self.buddy.update(dict.fromkeys(pfns, (order, mt)))
        self.nr_free[order] += len(pfns)

    def del_from_free_list(self, pfn: int, order: int, mt: int) -> None:
        del self.free_list[order][mt][pfn]
        del self.buddy[pfn]
        self.nr_free[order] -= 1

    def move_to_free_list(self, pfn: int, order: int, old_mt: int, new_mt: int) -> None:
        """move_to_free_list(): to the tail of the new type's list."""
        del self.free_list[order][old_mt][pfn]
        self.free_list[order][new_mt][pfn] = None
        self.buddy[pfn] = (order, new_mt)

    def account_freepages(self, nr: int, mt: int) -> None:
        if mt == MIGRATE_ISOLATE:
            return
        self.free_pages += nr
        if mt == MIGRATE_HIGHATOMIC:
            self.nr_free_highatomic += nr
            self.refresh_fast_marks()

    # ------------------------------------------------------------ checks
    def check(self) -> list[str]:
        """Inconsistencies of this zone's free areas (empty when consistent)."""
        errs: list[str] = []
        seen = 0
        free = 0
        for order in range(self.max_order + 1):
            n = 0
            for mt, lst in enumerate(self.free_list[order]):
                n += len(lst)
                for pfn in lst:
                    if self.buddy.get(pfn) != (order, mt):
                        errs.append(f"{self.name}: pfn {pfn:#x} on list order {order} type {mt} "
                                    f"but buddy says {self.buddy.get(pfn)}")
                    if pfn & ((1 << order) - 1):
                        errs.append(f"{self.name}: free block {pfn:#x} not aligned to order {order}")
                    if not (self.zone_start_pfn <= pfn and pfn + (1 << order) <= self.zone_end_pfn):
                        errs.append(f"{self.name}: free block {pfn:#x} order {order} outside the zone")
                    if mt != MIGRATE_ISOLATE:
                        free += 1 << order
            if n != self.nr_free[order]:
                errs.append(f"{self.name}: nr_free[{order}] = {self.nr_free[order]} but the lists hold {n}")
            seen += n
        if seen != len(self.buddy):
            errs.append(f"{self.name}: {len(self.buddy)} buddy entries but {seen} list entries")
        if free != self.free_pages:
            errs.append(f"{self.name}: NR_FREE_PAGES {self.free_pages} but the free lists hold {free}")
        # no overlap between free blocks
        blocks = sorted((p, p + (1 << o)) for p, (o, _) in self.buddy.items())
        for (a0, a1), (b0, _) in zip(blocks, blocks[1:], strict=False):
            if b0 < a1:
                errs.append(f"{self.name}: free blocks at {a0:#x} and {b0:#x} overlap")
        # no two mergeable buddies left unmerged below pageblock order
        for pfn, (order, mt) in self.buddy.items():
            if order >= self.max_order:
                continue
            b = pfn ^ (1 << order)
            if b in self.buddy and self.buddy[b][0] == order and pfn < b:
                bmt = self.buddy[b][1]
                if order < self.pageblock_order or (mt == bmt or (mt < MIGRATE_PCPTYPES and bmt < MIGRATE_PCPTYPES)):
                    if mt != MIGRATE_ISOLATE and bmt != MIGRATE_ISOLATE:
                        errs.append(f"{self.name}: buddies {pfn:#x} and {b:#x} of order {order} are both free")
        return errs
