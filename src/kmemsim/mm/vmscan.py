"""Page reclaim: the LRU lists, direct reclaim, kswapd, shrinkers, compaction as a count.

Models mm/vmscan.c of Linux 6.18 (``try_to_free_pages``, ``do_try_to_free_pages``,
``shrink_zones``, ``shrink_node``, ``prepare_scan_control``, ``get_scan_count``,
``shrink_lruvec``, ``shrink_list``, ``shrink_inactive_list``, ``shrink_active_list``,
``isolate_lru_folios``, ``shrink_folio_list``, ``folio_check_references``,
``pageout``, ``__remove_mapping``, ``inactive_is_low``, ``zone_reclaimable_pages``,
``balance_pgdat``, ``kswapd_shrink_node``, ``pgdat_balanced``,
``prepare_kswapd_sleep``, ``kswapd_try_to_sleep``, ``kswapd``, ``wakeup_kswapd``),
mm/shrinker.c (``shrinker_alloc``/``shrinker_register``/``shrinker_free``,
``do_shrink_slab``, ``shrink_slab``), mm/swap.c (``lru_note_cost``), fs/drop_caches.c
and the counted step of mm/compaction.c (``compaction_suitable``,
``try_to_compact_pages``).  The page allocator's ``__alloc_pages_slowpath`` (in
page_alloc.py) calls in through :class:`Reclaim`.

``k.vmscan`` is a :class:`Reclaim`, which holds the parts reclaim works on, each an
object of its own: the node's :class:`Lruvec` (``.lru``: the folios, the LRU lists,
the node counters, the reverse map), the swap (``.swapfile``, mm/swap.py), the page
cache (``.pagecache``, mm/filemap.py), the simulated processes (``.procs``) and the
OOM killer (``.oom``, mm/oom_kill.py: one of two implementations, chosen at boot by
the ``oom_score_adj`` feature).  The kernel API's page cache, process, swap and OOM
calls are thin methods of :class:`Reclaim` that hand over to them.

One node: the LRU lists are the node's lruvec (CONFIG_LRU_GEN is off on the
reference host, so the two-list active/inactive LRU is the one that runs), each
an ordered dict from the tail (oldest, reclaimed first) to the head (newest); the
per-zone counts (NR_ZONE_INACTIVE_ANON ...) are kept beside them.

Simplified, and said so:

* no memcg, no workingset shadow entries (refaults never force deactivation), no
  mlock (no unevictable pages), no VM_EXEC protection, no MADV_FREE, no large folios;
* a mapped page is referenced when its "young" bit is set (the fault that mapped
  it, ``k.process_touch``); the rmap walk clears it;
* reclaim never sleeps: the throttles (reclaim_throttle, throttle_direct_reclaim,
  too_many_isolated) are not modelled; the time a sleeping reclaimer would give
  the disk is modelled by completing queued writeback at the start of each
  direct-reclaim call and each kswapd run (see kmemsim.mm.filemap);
* compaction is a counted step: ``compact_stall`` when a zone is suitable,
  ``compact_success`` when the allocation then succeeds, ``compact_fail``
  otherwise -- no page is migrated, and deferral is not modelled;
* kswapd is a thread-less kernel thread of the scheduler (``kswapd0``): a wakeup
  records its order and zone and makes it runnable.  On a machine with more than
  one CPU it is taken to run at once on another CPU: its work is done at the slow
  path's next safe point (right after the wakeup, never inside rmqueue() or an
  atomic section);
  ``k.vmscan.kswapd_mode`` = "sched" leaves it to the scheduler (the current task
  yields: direct reclaim calls cond_resched first, as __perform_reclaim does;
  ``k.run()``), "manual" to ``k.run_kswapd()``.  Its short sleep (HZ/10) is
  measured on the machine clock, so a wakeup in the same jiffies is premature
  (kswapd_low_wmark_hit_quickly);
* ZONE_RECLAIM_ACTIVE (pcp high shrinking while kswapd runs) is not modelled;
* every profile runs this 6.18 reclaim (2.6.24's shrink_zone()/balance_pgdat(), which
  also wrote dirty file pages from reclaim, are not modelled).
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from contextlib import AbstractContextManager
from math import isqrt
from typing import TYPE_CHECKING, Any

from ..errors import InvariantError, UsageError
from ..printk import KERN_INFO
from ..records import Record
from .filemap import (
    FOLIO_FLAGS,
    AddressSpace,
    Folio,
    PageCache,
    PG_active,
    PG_dirty,
    PG_lru,
    PG_reclaim,
    PG_referenced,
    PG_swapbacked,
    PG_workingset,
    PG_writeback,
)
from .mmzone import WMARK_HIGH, WMARK_MIN
from .oom_kill import OomKiller, OomKillerBadness, OomKillerScoreAdj, Process, Processes
from .swap import Swap, SwapInfo

if TYPE_CHECKING:  # pragma: no cover
    from ..machine import Machine as Kernel
    from ..sched import Task
    from .mmzone import Zone

LRU_INACTIVE_ANON, LRU_ACTIVE_ANON, LRU_INACTIVE_FILE, LRU_ACTIVE_FILE, LRU_UNEVICTABLE = range(5)
LRU_NAMES = ("inactive_anon", "active_anon", "inactive_file", "active_file", "unevictable")
DEF_PRIORITY = 12
SWAP_CLUSTER_MAX = 32
SWAP_CLUSTER_MAX_SKIPPED = SWAP_CLUSTER_MAX << 10
MAX_RECLAIM_RETRIES = 16
PF_MEMALLOC = 0x00000800  # include/linux/sched.h: the task is reclaiming (may use the reserves)
MAX_SWAPPINESS = 200
PAGE_ALLOC_COSTLY_ORDER = 3

# shrinkers (include/linux/shrinker.h)
SHRINK_STOP = (1 << 64) - 1
SHRINK_EMPTY = (1 << 64) - 2
SHRINK_BATCH = 128
DEFAULT_SEEKS = 2

# folio_check_references()
FOLIOREF_RECLAIM, FOLIOREF_RECLAIM_CLEAN, FOLIOREF_KEEP, FOLIOREF_ACTIVATE = range(4)
# get_scan_count()
SCAN_EQUAL, SCAN_FRACT, SCAN_ANON, SCAN_FILE = range(4)
DEACTIVATE_ANON, DEACTIVATE_FILE = 1, 2
# enum compact_result / compact_priority (include/linux/compaction.h)
COMPACT_NOT_SUITABLE_ZONE, COMPACT_SKIPPED, COMPACT_DEFERRED, COMPACT_NO_SUITABLE_PAGE, COMPACT_CONTINUE, \
    COMPACT_COMPLETE, COMPACT_PARTIAL_SKIPPED, COMPACT_CONTENDED, COMPACT_SUCCESS = range(9)
COMPACT_PRIO_SYNC_FULL, COMPACT_PRIO_SYNC_LIGHT, COMPACT_PRIO_ASYNC = 0, 1, 2
MIN_COMPACT_PRIORITY = COMPACT_PRIO_SYNC_FULL
MIN_COMPACT_COSTLY_PRIORITY = COMPACT_PRIO_SYNC_LIGHT
DEF_COMPACT_PRIORITY = COMPACT_PRIO_SYNC_LIGHT
INIT_COMPACT_PRIORITY = COMPACT_PRIO_ASYNC
MAX_COMPACT_RETRIES = 16

# kswapd's sleep (kswapd_try_to_sleep)
KSWAPD_ASLEEP, KSWAPD_SHORT_SLEEP, KSWAPD_WOKEN = range(3)

#: /proc/vmstat events this module counts (procfs shows pa.vm_events under these names)
EVENTS = (
    "pgscan_kswapd pgscan_direct pgsteal_kswapd pgsteal_direct pgscan_anon pgscan_file pgsteal_anon pgsteal_file "
    "pgrefill pgactivate pgdeactivate pgrotated pageoutrun kswapd_low_wmark_hit_quickly "
    "kswapd_high_wmark_hit_quickly slabs_scanned pswpin pswpout drop_pagecache drop_slab oom_kill compact_stall "
    "compact_fail compact_success pgfault pgmajfault allocstall"
).split()


class Shrinker(Record, eq=False):
    """struct shrinker: ``count_objects(shrinker, sc)`` -> freeable objects (0 or
    SHRINK_EMPTY when none), ``scan_objects(shrinker, sc)`` -> objects freed or
    SHRINK_STOP.  ``sc`` is a :class:`ShrinkControl`."""

    __match_args__ = ("name", "count_objects", "scan_objects", "seeks", "batch", "private_data", "nr_deferred",
                       "registered")

    name: str
    count_objects: Callable[[Shrinker, ShrinkControl], int]
    scan_objects: Callable[[Shrinker, ShrinkControl], int]
    seeks: int = DEFAULT_SEEKS
    batch: int = 0
    private_data: Any = None
    nr_deferred: int = 0
    registered: bool = False

    def __init__(self, name: str, count_objects: Callable[[Shrinker, ShrinkControl], int],
                 scan_objects: Callable[[Shrinker, ShrinkControl], int], seeks: int = DEFAULT_SEEKS, batch: int = 0,
                 private_data: Any = None, nr_deferred: int = 0, registered: bool = False) -> None:
        vars(self).update(name=name, count_objects=count_objects, scan_objects=scan_objects, seeks=seeks, batch=batch,
                          private_data=private_data, nr_deferred=nr_deferred, registered=registered)


class ShrinkControl(Record):
    """struct shrink_control: what a shrinker is asked to do."""

    __match_args__ = ("gfp_mask", "nid", "nr_to_scan", "nr_scanned")

    gfp_mask: int
    nid: int = 0
    nr_to_scan: int = 0
    nr_scanned: int = 0

    def __init__(self, gfp_mask: int, nid: int = 0, nr_to_scan: int = 0, nr_scanned: int = 0) -> None:
        vars(self).update(gfp_mask=gfp_mask, nid=nid, nr_to_scan=nr_to_scan, nr_scanned=nr_scanned)


class ReclaimStat(Record):
    __match_args__ = ("nr_dirty", "nr_unqueued_dirty", "nr_congested", "nr_writeback", "nr_immediate", "nr_pageout",
                       "nr_activate", "nr_ref_keep")
    nr_dirty: int = 0
    nr_unqueued_dirty: int = 0
    nr_congested: int = 0
    nr_writeback: int = 0
    nr_immediate: int = 0
    nr_pageout: int = 0
    nr_activate: list[int]
    nr_ref_keep: int = 0

    def __init__(self, nr_dirty: int = 0, nr_unqueued_dirty: int = 0, nr_congested: int = 0, nr_writeback: int = 0,
                 nr_immediate: int = 0, nr_pageout: int = 0, nr_activate: list[int] | None = None,
                 nr_ref_keep: int = 0) -> None:
        vars(self).update(nr_dirty=nr_dirty, nr_unqueued_dirty=nr_unqueued_dirty, nr_congested=nr_congested,
                          nr_writeback=nr_writeback, nr_immediate=nr_immediate, nr_pageout=nr_pageout,
                          nr_activate=[0, 0] if nr_activate is None else nr_activate, nr_ref_keep=nr_ref_keep)


class ScanControl:
    """struct scan_control."""

    __slots__ = ("nr_to_reclaim", "gfp_mask", "reclaim_idx", "order", "priority", "may_writepage", "may_unmap",
                 "may_swap", "may_deactivate", "force_deactivate", "skipped_deactivate", "no_cache_trim_mode",
                 "cache_trim_mode", "cache_trim_mode_failed", "file_is_tiny", "compaction_ready", "memcg_full_walk",
                 "nr_scanned", "nr_reclaimed", "kswapd", "anon_cost", "file_cost", "nr")

    def __init__(self, *, gfp_mask: int, order: int, reclaim_idx: int, nr_to_reclaim: int = SWAP_CLUSTER_MAX,
                 priority: int = DEF_PRIORITY, may_writepage: bool = True, may_unmap: bool = True,
                 may_swap: bool = True, kswapd: bool = False):
        self.nr_to_reclaim = nr_to_reclaim
        self.gfp_mask = gfp_mask
        self.reclaim_idx = reclaim_idx
        self.order = order
        self.priority = priority
        self.may_writepage = may_writepage
        self.may_unmap = may_unmap
        self.may_swap = may_swap
        self.may_deactivate = 0
        self.force_deactivate = False
        self.skipped_deactivate = False
        self.no_cache_trim_mode = False
        self.cache_trim_mode = False
        self.cache_trim_mode_failed = False
        self.file_is_tiny = False
        self.compaction_ready = False
        self.memcg_full_walk = False
        self.nr_scanned = 0
        self.nr_reclaimed = 0
        self.kswapd = kswapd
        self.anon_cost = 0
        self.file_cost = 0
        self.nr = {"dirty": 0, "unqueued_dirty": 0, "congested": 0, "writeback": 0, "immediate": 0,
                   "file_taken": 0, "taken": 0}


class Lruvec:
    """The node's lruvec (``k.vmscan.lru``): every folio (``folios``, by pfn) on its LRU
    list (``lists``, an ordered dict each from the tail to the head), the list sizes of
    the node (``nr_lru``) and of each zone (``zone_lru``), the node_stat counters of its
    pages (``stat``: __lruvec_stat_mod_folio's NR_ANON_MAPPED, NR_FILE_PAGES ...), the
    zones' write-pending pages, and the reverse map (``folio.mappers``: try_to_unmap)."""

    def __init__(self, k: Kernel):
        self.k = k
        pa = self.pa = k.page_alloc
        self.lists: list[OrderedDict[int, Folio]] = [OrderedDict() for _ in range(5)]
        self.nr_lru = [0] * 5
        self.zone_lru: dict[int, list[int]] = {z.idx: [0] * 5 for z in pa.zones}
        self.zone_write_pending: dict[int, int] = {z.idx: 0 for z in pa.zones}
        self.folios: dict[int, Folio] = {}
        self.stat = dict.fromkeys(("nr_anon_pages", "nr_mapped", "nr_file_pages", "nr_dirty", "nr_writeback",
                                   "nr_shmem", "nr_vmscan_write", "nr_vmscan_immediate_reclaim", "nr_dirtied",
                                   "nr_written"), 0)

    def new_folio(self, pfn: int, mapping: Any, index: int, flags: int) -> Folio:
        z = self.pa.zone_of(pfn)
        folio = Folio(pfn, z.idx, mapping, index, flags)
        self.folios[pfn] = folio
        return folio

    def free_folio(self, folio: Folio) -> None:
        """free_unref_folios(): the page goes back to the page allocator."""
        del self.folios[folio.pfn]
        if folio.swap is not None:
            folio.swap = None
        self.k.memmap.set(folio.pfn, "flags", 0)
        self.pa.free(folio.pfn, 0, batched=True)  # free_unref_folios()

    def sync_flags(self, folio: Folio) -> None:
        """Mirror the folio's PG_ bits into its struct page."""
        mm = self.k.memmap
        old = mm.get(folio.pfn, "flags")
        mm.set(folio.pfn, "flags", (old & ~FOLIO_FLAGS) | (folio.flags & FOLIO_FLAGS))

    def add(self, folio: Folio, tail: bool = False) -> None:
        """lruvec_add_folio() (or lruvec_add_folio_tail()): onto the list its flags name."""
        lru = (0 if folio.flags & PG_swapbacked else 2) + (1 if folio.flags & PG_active else 0)
        folio.lru = lru
        d = self.lists[lru]
        d[folio.pfn] = folio
        if tail:
            d.move_to_end(folio.pfn, last=False)
        self.nr_lru[lru] += 1
        self.zone_lru[folio.zid][lru] += 1
        folio.flags |= PG_lru
        self.sync_flags(folio)

    def delete(self, folio: Folio) -> None:
        """lruvec_del_folio(): off its list (the folio is isolated)."""
        lru = folio.lru
        del self.lists[lru][folio.pfn]
        self.nr_lru[lru] -= 1
        self.zone_lru[folio.zid][lru] -= 1
        folio.lru = -1
        folio.flags &= ~PG_lru

    def pages_in_block(self, start: int, nr: int) -> int:
        """PageLRU pages in pfns [start, start + nr)."""
        folios = self.folios
        if len(folios) < nr:
            return sum(1 for pfn, f in folios.items() if start <= pfn < start + nr and f.lru >= 0)
        return sum(1 for pfn in range(start, start + nr) if pfn in folios and folios[pfn].lru >= 0)

    def size(self, lru: int, zone_idx: int) -> int:
        """lruvec_lru_size(): pages on ``lru`` in zones up to ``zone_idx``."""
        return sum(c[lru] for i, c in self.zone_lru.items() if i <= zone_idx)

    # ---------------------------------------------------------------- the reverse map (mm/rmap.c)
    def unmap_folio(self, folio: Folio) -> None:
        """try_to_unmap(): remove the page from every page table that maps it; an
        anonymous page in the swap cache leaves a swap entry behind."""
        if not folio.mappers:
            return
        for p in folio.mappers:
            if folio.anon:
                del p.anon[folio.index]
                self.stat["nr_anon_pages"] -= 1
                if folio.swap is not None:
                    p.swapents[folio.index] = folio.swap
            elif folio.mapping.shmem:
                p.shmem_maps.pop(folio, None)
            else:
                p.file_maps.pop(folio, None)
        if not folio.anon:
            self.stat["nr_mapped"] -= 1
        folio.mappers = []
        folio.young = False

    def unmap_one(self, folio: Folio, p: Process) -> None:
        """One process's mapping of a file or shmem page goes (munmap, exit)."""
        folio.mappers.remove(p)
        if folio.mapping.shmem:
            p.shmem_maps.pop(folio, None)
        else:
            p.file_maps.pop(folio, None)
        if not folio.mappers:
            self.stat["nr_mapped"] -= 1

    # ---------------------------------------------------------------- counters and checks
    def node_stat(self, name: str) -> int:
        i = LRU_NAMES.index(name[3:]) if name[3:] in LRU_NAMES else -1
        if i >= 0:
            return self.nr_lru[i]
        return self.stat.get(name, 0)

    def zone_stats(self, zid: int) -> dict[str, int]:
        c = self.zone_lru[zid]
        return {"nr_zone_inactive_anon": c[0], "nr_zone_active_anon": c[1], "nr_zone_inactive_file": c[2],
                "nr_zone_active_file": c[3], "nr_zone_unevictable": c[4],
                "nr_zone_write_pending": self.zone_write_pending[zid]}

    def problems(self) -> list[str]:
        """The lists, their sizes, the struct pages (a sample of a big page cache), the
        counters recounted from the folios, and each folio's owner knowing it."""
        errs: list[str] = []
        pa = self.pa
        counts = [0] * 5
        zcounts = {z.idx: [0] * 5 for z in pa.zones}
        seen: set[int] = set()
        for lru, d in enumerate(self.lists):
            for pfn, folio in d.items():
                if folio.pfn != pfn or folio.lru != lru:
                    errs.append(f"{folio!r} is on list {LRU_NAMES[lru]} but says {folio.lru}")
                want = (0 if folio.flags & PG_swapbacked else 2) + (1 if folio.flags & PG_active else 0)
                if want != lru:
                    errs.append(f"{folio!r} is on {LRU_NAMES[lru]} but its flags say {LRU_NAMES[want]}")
                if pfn in seen:
                    errs.append(f"pfn {pfn:#x} is on two LRU lists")
                seen.add(pfn)
                counts[lru] += 1
                zcounts[folio.zid][lru] += 1
        if counts != self.nr_lru:
            errs.append(f"LRU sizes {self.nr_lru} but the lists hold {counts}")
        for idx, c in zcounts.items():
            if c != self.zone_lru[idx]:
                errs.append(f"zone {idx} LRU sizes {self.zone_lru[idx]} but its pages are {c}")
        if seen != set(self.folios):
            errs.append(f"{len(self.folios)} folios but {len(seen)} on the LRU lists")
        stat = dict.fromkeys(("nr_anon_pages", "nr_mapped", "nr_file_pages", "nr_dirty", "nr_writeback", "nr_shmem"),
                             0)
        wp = {z.idx: 0 for z in pa.zones}
        mm = self.k.memmap
        step = max(1, len(self.folios) // 4000)  # struct pages: a sample of a big page cache
        for i, folio in enumerate(self.folios.values()):
            if pa.allocated.get(folio.pfn) != 0:
                errs.append(f"{folio!r} is not an allocated order-0 page")
                continue
            if i % step == 0:
                if mm.get(folio.pfn, "refcount") < 1:
                    errs.append(f"{folio!r} has refcount {mm.get(folio.pfn, 'refcount')}")
                if (mm.get(folio.pfn, "flags") & FOLIO_FLAGS) != (folio.flags & FOLIO_FLAGS):
                    errs.append(f"{folio!r}: struct page flags {mm.get(folio.pfn, 'flags'):#x} differ")
            if folio.anon:
                p: Process = folio.mapping
                if p.anon.get(folio.index) is not folio or folio.mappers != [p]:
                    errs.append(f"{folio!r} is not mapped by its process")
                stat["nr_anon_pages"] += 1
            else:
                f: AddressSpace = folio.mapping
                if f.pages.get(folio.index) is not folio:
                    errs.append(f"{folio!r} is not in its file's page cache")
                stat["nr_file_pages"] += 1
                if f.shmem:
                    stat["nr_shmem"] += 1
                else:
                    if folio.flags & PG_dirty:
                        stat["nr_dirty"] += 1
                        wp[folio.zid] += 1
                    if folio.flags & PG_writeback:
                        stat["nr_writeback"] += 1
                        wp[folio.zid] += 1
                if folio.mappers:
                    stat["nr_mapped"] += 1
                for p in folio.mappers:
                    if folio not in (p.shmem_maps if f.shmem else p.file_maps):
                        errs.append(f"{folio!r} lists {p!r} as a mapper but the process does not map it")
        for name, v in stat.items():
            if self.stat[name] != v:
                errs.append(f"{name} is {self.stat[name]} but the pages say {v}")
        if wp != self.zone_write_pending:
            errs.append(f"write-pending per zone {self.zone_write_pending} but the pages say {wp}")
        return errs


class Reclaim:
    """One machine's reclaimable memory and the code that reclaims it (``k.vmscan``).

    It holds the parts, each with its own interface, and runs reclaim and kswapd over
    them: ``lru`` (:class:`Lruvec`: the folios, the LRU lists, the node counters, rmap),
    ``swapfile`` (:class:`~kmemsim.mm.swap.Swap`), ``pagecache``
    (:class:`~kmemsim.mm.filemap.PageCache`), ``procs``
    (:class:`~kmemsim.mm.oom_kill.Processes`) and ``oom`` (the machine's OOM killer,
    :class:`~kmemsim.mm.oom_kill.OomKillerScoreAdj` or ``OomKillerBadness`` by the
    ``oom_score_adj`` feature).  The kernel API's calls into them are the thin methods
    of this class (``k.page_cache_add`` -> ``pagecache.page_cache_add`` ...)."""

    def __init__(self, k: Kernel):
        self.k = k
        pa = self.pa = k.page_alloc
        b = k.gfp.bits
        feat = k.features
        self.gfp_io, self.gfp_fs, self.gfp_kernel = b.io, b.fs, b.kernel
        # the gfp of user pages: GFP_HIGHUSER_MOVABLE (GFP_HIGHUSER before __GFP_MOVABLE);
        # folio allocations add __GFP_COMP; anonymous faults add __GFP_ZERO
        user = b.highuser_movable if feat.movable_user_pages else k.gfp.value("GFP_HIGHUSER")
        #: mapping_gfp_mask() of files and shmem (as filemap_alloc_folio() allocates them)
        gfp_pagecache = user | (b.comp if feat.pagecache_folios else 0)
        gfp_anon = user | b.zero | (b.comp if feat.anon_folios else 0)
        self.ev = pa.vm_events
        for name in EVENTS:
            self.ev.setdefault(name, 0)
        for z in pa.zones:
            self.ev.setdefault(f"allocstall_{z.name.lower()}", 0)
            self.ev.setdefault(f"pgskip_{z.name.lower()}", 0)
        # the parts
        self.lru = Lruvec(k)
        self.swapfile = Swap(k)
        self.pagecache = PageCache(k, self.lru, self.swapfile, gfp_pagecache, b.write)
        self.procs = Processes(k, self.lru, self.pagecache, self.swapfile, gfp_anon)
        oom_killer = OomKillerScoreAdj if feat.oom_score_adj else OomKillerBadness
        self.oom: OomKiller = oom_killer(k, self.lru, self.swapfile, self.procs)
        # reclaim's own state
        self.swappiness = 60  # vm.swappiness
        self.laptop_mode = 0
        self.anon_cost = 0
        self.file_cost = 0
        self.shrinkers: list[Shrinker] = []
        self.kswapd_running = False
        # pgdat->kswapd_order, kswapd_highest_zoneidx (MAX_NR_ZONES: none), kswapd_failures
        self.max_nr_zones = len(pa.zones)
        self.kswapd_order = 0
        self.kswapd_highest_zoneidx = self.max_nr_zones
        self.kswapd_prev_zoneidx = self.max_nr_zones - 1
        self.kswapd_failures = 0
        self.kswapd_state = KSWAPD_ASLEEP
        self.kswapd_deadline = 0
        self.kswapd_premature = False  # woken within the short sleep (kswapd_low_wmark_hit_quickly)
        self.pgdat_dirty = False  # PGDAT_DIRTY
        self.pgdat_writeback = False  # PGDAT_WRITEBACK
        #: When a woken kswapd does its work (a choice of the model, see the module docstring):
        #: "cpu" -- at the allocator's next safe point (the slow path, right after waking it),
        #: as if it ran at once on another, idle CPU (the default with more than one CPU);
        #: "sched" -- only when the scheduler runs it (the current task yields, k.run());
        #: "manual" -- only on k.run_kswapd() (to watch direct reclaim, or kswapd step by step)
        self.kswapd_mode = "cpu" if len(k.cpus) > 1 else "sched"
        #: the kswapd0 kthread (kswapd_init() starts it)
        self.kswapd_task: Task | None = None

    # ================================================================ PF_MEMALLOC
    @property
    def memalloc(self) -> bool:
        """PF_MEMALLOC of the current task (reclaim, kswapd): per task, as in the kernel."""
        return bool(self.k.current.flags & PF_MEMALLOC)

    @memalloc.setter
    def memalloc(self, on: bool) -> None:
        cur = self.k.current
        cur.flags = (cur.flags | PF_MEMALLOC) if on else (cur.flags & ~PF_MEMALLOC)

    # ================================================================ what the others read
    @property
    def swap(self) -> SwapInfo | None:
        """The swap area that is on, or None."""
        return self.swapfile.si

    @property
    def files(self) -> dict[str, AddressSpace]:
        """The page cache's files by name."""
        return self.pagecache.files

    @property
    def writeback_queue(self) -> OrderedDict[int, Folio]:
        """The writes queued and not yet completed."""
        return self.pagecache.writeback_queue

    @property
    def processes(self) -> list[Process]:
        """The simulated processes, in creation order (for_each_process)."""
        return self.procs.tasks

    @property
    def userspace(self) -> bool:
        """A process was ever spawned: the OOM killer has a user space to choose from."""
        return self.procs.userspace

    @property
    def nr_lru(self) -> list[int]:
        """The node's LRU list sizes (inactive_anon, active_anon, inactive_file, active_file,
        unevictable)."""
        return self.lru.nr_lru

    @property
    def stat(self) -> dict[str, int]:
        """The node_stat counters of the LRU pages (nr_anon_pages, nr_dirty ...)."""
        return self.lru.stat

    def current(self) -> Process | None:
        """``current`` as a user process: the one whose page fault is allocating, or None."""
        return self.procs.current()

    def current_task(self) -> Task:
        """The task to name in a report: the faulting process's, else the machine's current."""
        return self.procs.current_task()

    def as_current(self) -> AbstractContextManager[None]:
        """``with``: the faulting process is the machine's current task (for dump_stack)."""
        return self.procs.as_current()

    def lru_pages_in_block(self, start: int, nr: int) -> int:
        """PageLRU pages in pfns [start, start + nr): movable pages for try_to_claim_block()."""
        return self.lru.pages_in_block(start, nr)

    def zone_stats(self, z: Any) -> dict[str, int]:
        """The zone's LRU and write-pending counters (NR_ZONE_INACTIVE_ANON ...)."""
        return self.lru.zone_stats(z.idx)

    # ================================================================ the page cache (mm/filemap.py)
    def page_cache_add(self, name: Any, nr_pages: int, dirty: bool = False) -> int:
        """Read (or, ``dirty``, write) ``nr_pages`` new pages of ``name`` into the page cache
        (``filemap_add_folio`` + ``folio_add_lru``; a write also ``folio_mark_dirty``).
        Each page is allocated with the mapping's gfp and may reclaim or OOM-kill to get
        it; returns how many pages were added (fewer if an allocation failed)."""
        return self.pagecache.page_cache_add(name, nr_pages, dirty)

    def mark_page_accessed(self, name: Any, index: int | None = None) -> int:
        """A read of page ``index`` of the file (all its cached pages when None) hits the
        page cache: folio_mark_accessed() on each; returns how many pages were touched."""
        return self.pagecache.mark_page_accessed(name, index)

    def set_page_dirty(self, name: Any, index: int | None = None) -> int:
        """A write to page ``index`` of the file (every cached page when None): the pages
        become dirty; returns how many were dirtied now."""
        return self.pagecache.set_page_dirty(name, index)

    def truncate(self, name: Any) -> int:
        """truncate_inode_pages(): drop every page of the file (mapped ones are unmapped
        first); returns the number of pages freed.  The file stays (empty)."""
        return self.pagecache.truncate(name)

    def unlink(self, name: Any) -> int:
        """Delete the file: its pages are freed (a shmem file's swap slots too)."""
        return self.pagecache.unlink(name)

    def sync(self) -> int:
        """sync(): write every dirty page and wait for the writes; returns pages written."""
        return self.pagecache.sync()

    def run_writeback(self) -> int:
        """Let the flusher and the disk run now: queued writes complete (dirty pages are
        not started; see :meth:`sync`).  Returns the writes completed."""
        return self.pagecache.run_writeback()

    def wakeup_flusher_threads(self, reason: str = "vmscan") -> int:
        """wakeup_flusher_threads(): the flusher writes every dirty file page; each moves
        from PG_dirty to PG_writeback (folio_clear_dirty_for_io + folio_start_writeback)
        and its write is queued.  Returns how many writes were queued."""
        return self.pagecache.wakeup_flusher_threads(reason)

    # ================================================================ processes (mm/oom_kill.py)
    def spawn_process(self, name: str, rss: Any = 0, *, file: Any = 0, shmem: Any = 0, swap: Any = 0,
                      vm: Any = None, oom_score_adj: int = 0, uid: int = 0, d_state: bool = False) -> Process:
        """A new user process ``name`` that touches ``rss`` of anonymous memory, maps
        ``file`` of a file named after it (page cache, shared with other processes of
        that name) and ``shmem`` of a shmem segment of its own, with ``swap`` of its
        anonymous memory already on the swap device.  Sizes are bytes or strings
        ("16M").  ``vm`` is the total VM size (at least what it touches).  Its pages
        are allocated as its page faults would (and may reclaim, or OOM-kill -- itself
        included); the Process is returned either way."""
        return self.procs.spawn(name, rss, file=file, shmem=shmem, swap=swap, vm=vm, oom_score_adj=oom_score_adj,
                                uid=uid, d_state=d_state)

    def process(self, pid_or_proc: Any) -> Process:
        """The Process itself, or the one with this pid (UsageError if none)."""
        return self.procs.process(pid_or_proc)

    def process_fault(self, proc: Any, size: Any) -> int:
        """The process touches ``size`` more of anonymous memory (page faults: one
        GFP_HIGHUSER_MOVABLE|__GFP_COMP|__GFP_ZERO page each, which may reclaim and
        OOM-kill).  Returns the pages faulted in (fewer if the process was killed)."""
        return self.procs.fault(proc, size)

    def process_swapin(self, proc: Any, nr_pages: int | None = None) -> int:
        """The process touches its swapped-out pages again (do_swap_page: a major fault,
        PSWPIN, the slot freed); returns how many came back."""
        return self.procs.swapin(proc, nr_pages)

    def process_touch(self, proc: Any) -> int:
        """The process accesses every page it maps (the ptes become young, as the CPU sets
        the accessed bit): reclaim's rmap walk will find them referenced."""
        return self.procs.touch(proc)

    def kill_process(self, proc: Any) -> int:
        """kill -9: the process exits (exit_mmap) and its memory comes back: anonymous
        pages and swap entries are freed, file pages are unmapped (they stay cached),
        its shmem segment is removed.  Returns the pages freed."""
        return self.procs.kill(proc)

    # ================================================================ the OOM killer (mm/oom_kill.py)
    def totalpages(self) -> int:
        """constrained_alloc(): totalram_pages() + total_swap_pages."""
        return self.oom.totalpages()

    def oom_badness(self, p: Process, totalpages: int) -> int:
        """The points this kernel's OOM killer gives ``p``: oom_badness() (2.6.36+), or
        badness() before (``totalpages`` unused)."""
        return self.oom.badness(p, totalpages)

    def out_of_memory(self, gfp: int, order: int, hz: int) -> bool:
        """out_of_memory(): kill the "best" process; True if memory is on its way back
        (or the caller should retry anyway).  ``order`` -1 is SysRq-f."""
        return self.oom.out_of_memory(gfp, order, hz)

    @property
    def sysctl_panic_on_oom(self) -> int:
        """vm.panic_on_oom."""
        return self.oom.sysctl_panic_on_oom

    @sysctl_panic_on_oom.setter
    def sysctl_panic_on_oom(self, v: int) -> None:
        self.oom.sysctl_panic_on_oom = v

    @property
    def sysctl_oom_kill_allocating_task(self) -> int:
        """vm.oom_kill_allocating_task."""
        return self.oom.sysctl_oom_kill_allocating_task

    @sysctl_oom_kill_allocating_task.setter
    def sysctl_oom_kill_allocating_task(self, v: int) -> None:
        self.oom.sysctl_oom_kill_allocating_task = v

    @property
    def sysctl_oom_dump_tasks(self) -> int:
        """vm.oom_dump_tasks."""
        return self.oom.sysctl_oom_dump_tasks

    @sysctl_oom_dump_tasks.setter
    def sysctl_oom_dump_tasks(self, v: int) -> None:
        self.oom.sysctl_oom_dump_tasks = v

    # ================================================================ swap
    def swapon(self, size: Any, name: str = "/dev/kmemsim-swap") -> SwapInfo:
        """swapon(): a swap area of ``size`` (bytes or "64M")."""
        return self.swapfile.swapon(size, name)

    def swapoff(self) -> int:
        """swapoff(): every swapped page comes back into memory (try_to_unuse); raises
        UsageError (-ENOMEM) and leaves swap on if memory is short."""
        if self.swapfile.si is None:
            raise UsageError("swapoff: no swap area is on")
        procs = self.procs.tasks
        need = sum(len(p.swapents) for p in procs) + sum(len(f.swapped) for f in self.pagecache.files.values())
        free = sum(z.free_pages for z in self.pa.zones)
        if need > free:
            raise UsageError(f"swapoff: -ENOMEM: {need} swapped pages, {free} free pages")
        n = 0
        for p in list(procs):
            n += self.procs.swapin(p)
        n += self.pagecache.shmem_swapin_all()
        self.swapfile.swapoff()
        return n

    def can_reclaim_anon_pages(self) -> bool:
        return self.swapfile.nr_free > 0

    def zone_reclaimable_pages(self, zid: int) -> int:
        c = self.lru.zone_lru[zid]
        nr = c[LRU_INACTIVE_FILE] + c[LRU_ACTIVE_FILE]
        if self.can_reclaim_anon_pages():
            nr += c[LRU_INACTIVE_ANON] + c[LRU_ACTIVE_ANON]
        return nr

    # ================================================================ shrinkers (mm/shrinker.c)
    def shrinker_alloc(self, name: str, count_objects: Callable[[Shrinker, ShrinkControl], int],
                       scan_objects: Callable[[Shrinker, ShrinkControl], int], *,
                       seeks: int = DEFAULT_SEEKS, batch: int = 0, private_data: Any = None) -> Shrinker:
        """shrinker_alloc(flags, fmt, ...) with its two callbacks set (6.7+ API)."""
        if not callable(count_objects) or not callable(scan_objects):
            raise UsageError("shrinker_alloc: count_objects and scan_objects must be callables")
        if isinstance(seeks, bool) or not isinstance(seeks, int) or seeks < 0:
            raise UsageError(f"shrinker_alloc: seeks {seeks!r} must be an int >= 0")
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 0:
            raise UsageError(f"shrinker_alloc: batch {batch!r} must be an int >= 0")
        return Shrinker(str(name), count_objects, scan_objects, seeks, batch, private_data)

    def shrinker_register(self, s: Shrinker) -> None:
        """shrinker_register(): shrink_slab() calls it from now on."""
        if not isinstance(s, Shrinker):
            raise UsageError(f"shrinker_register: {s!r} is not a Shrinker (make one with shrinker_alloc)")
        if s.registered:
            raise UsageError(f"shrinker_register: {s.name} is already registered")
        s.registered = True
        self.shrinkers.append(s)

    def shrinker_free(self, s: Shrinker) -> None:
        """shrinker_free(): unregister (if registered) and free."""
        if s.registered:
            self.shrinkers.remove(s)
            s.registered = False

    def do_shrink_slab(self, sc: ShrinkControl, s: Shrinker, priority: int) -> int:
        freeable = s.count_objects(s, sc)
        if freeable == 0 or freeable == SHRINK_EMPTY:
            return freeable
        batch_size = s.batch or SHRINK_BATCH
        nr = s.nr_deferred
        s.nr_deferred = 0
        if s.seeks:
            delta = (freeable >> priority) * 4 // s.seeks
        else:
            delta = freeable // 2
        total_scan = nr >> priority
        total_scan += delta
        total_scan = min(total_scan, 2 * freeable)
        freed = scanned = 0
        while total_scan >= batch_size or total_scan >= freeable:
            nr_to_scan = min(batch_size, total_scan)
            sc.nr_to_scan = nr_to_scan
            sc.nr_scanned = nr_to_scan
            ret = s.scan_objects(s, sc)
            if ret == SHRINK_STOP:
                break
            freed += ret
            self.ev["slabs_scanned"] += sc.nr_scanned
            total_scan -= sc.nr_scanned
            scanned += sc.nr_scanned
            if sc.nr_scanned <= 0:
                break  # a shrinker that scans nothing would loop forever
        next_deferred = max(nr + delta - scanned, 0)
        s.nr_deferred += min(next_deferred, 2 * freeable)
        return freed

    def shrink_slab(self, gfp: int, priority: int = 0) -> int:
        """shrink_slab(): every registered shrinker; returns the objects freed."""
        freed = 0
        for s in list(self.shrinkers):
            ret = self.do_shrink_slab(ShrinkControl(gfp_mask=gfp), s, priority)
            if ret == SHRINK_EMPTY:
                ret = 0
            freed += ret
        return freed

    def slab_pages(self) -> int:
        ns = self.k.node_stats.get
        return ns("nr_slab_reclaimable") + ns("nr_slab_unreclaimable")

    def drop_caches(self, mode: int) -> None:
        """echo mode > /proc/sys/vm/drop_caches: 1 drops clean unmapped page cache, 2 the
        shrinkable slab (drop_slab), 3 both."""
        if mode not in (1, 2, 3):
            raise UsageError(f"drop_caches: {mode!r}: write 1, 2 or 3")
        if mode & 1:
            self.pagecache.invalidate_clean()
            self.ev["drop_pagecache"] += 1
        if mode & 2:
            shift = 0
            while True:  # drop_slab()
                freed = self.shrink_slab(self.gfp_kernel, 0)
                if (freed >> shift) <= 1:
                    break
                shift += 1
            self.ev["drop_slab"] += 1
        cur = self.k.current
        self.k.printk(f"{cur.comm} ({cur.pid}): drop_caches: {mode}", KERN_INFO)

    # ================================================================ scanning
    def lru_note_cost(self, file: bool, nr_io: int, nr_rotated: int) -> None:
        """lru_note_cost(): IO and rotations make a list costlier to reclaim; halve both
        costs when they exceed a quarter of the LRU."""
        cost = nr_io * SWAP_CLUSTER_MAX + nr_rotated
        if file:
            self.file_cost += cost
        else:
            self.anon_cost += cost
        lrusize = sum(self.lru.nr_lru[:4])
        if self.file_cost + self.anon_cost > lrusize // 4:
            self.file_cost //= 2
            self.anon_cost //= 2

    def inactive_is_low(self, inactive_lru: int) -> bool:
        inactive = self.lru.nr_lru[inactive_lru]
        active = self.lru.nr_lru[inactive_lru + 1]
        gb = (inactive + active) >> (30 - self.k.page_shift)
        ratio = isqrt(10 * gb) if gb else 1
        return inactive * ratio < active

    def prepare_scan_control(self, sc: ScanControl) -> None:
        sc.anon_cost = self.anon_cost
        sc.file_cost = self.file_cost
        if not sc.force_deactivate:
            sc.may_deactivate = 0
            if self.inactive_is_low(LRU_INACTIVE_ANON):
                sc.may_deactivate |= DEACTIVATE_ANON
            if self.inactive_is_low(LRU_INACTIVE_FILE):
                sc.may_deactivate |= DEACTIVATE_FILE
        else:
            sc.may_deactivate = DEACTIVATE_ANON | DEACTIVATE_FILE
        file = self.lru.nr_lru[LRU_INACTIVE_FILE]
        sc.cache_trim_mode = bool(file >> sc.priority and not sc.may_deactivate & DEACTIVATE_FILE
                                  and not sc.no_cache_trim_mode)
        free = sum(z.free_pages for z in self.pa.zones)
        file = self.lru.nr_lru[LRU_ACTIVE_FILE] + self.lru.nr_lru[LRU_INACTIVE_FILE]
        total_high = sum(z.wmark(WMARK_HIGH) for z in self.pa.zones if z.managed_pages)
        anon = self.lru.nr_lru[LRU_INACTIVE_ANON]
        sc.file_is_tiny = bool(file + free <= total_high and not sc.may_deactivate & DEACTIVATE_ANON
                               and anon >> sc.priority)

    def get_scan_count(self, sc: ScanControl) -> list[int]:
        swappiness = self.swappiness
        fraction = [0, 0]
        denominator = 1
        if not sc.may_swap or not self.can_reclaim_anon_pages():
            balance = SCAN_FILE
        elif not sc.priority and swappiness:
            balance = SCAN_EQUAL
        elif sc.file_is_tiny:
            balance = SCAN_ANON
        elif sc.cache_trim_mode:
            balance = SCAN_FILE
        else:
            balance = SCAN_FRACT
            total_cost = sc.anon_cost + sc.file_cost
            anon_cost = total_cost + sc.anon_cost
            file_cost = total_cost + sc.file_cost
            total_cost = anon_cost + file_cost
            ap = swappiness * (total_cost + 1) // (anon_cost + 1)
            fp = (MAX_SWAPPINESS - swappiness) * (total_cost + 1) // (file_cost + 1)
            fraction = [ap, fp]
            denominator = ap + fp
        nr = [0, 0, 0, 0]
        for lru in range(4):
            file = lru >= LRU_INACTIVE_FILE
            scan = self.lru.size(lru, sc.reclaim_idx) >> sc.priority
            if balance == SCAN_FRACT:
                scan = scan * fraction[file] // denominator
            elif balance in (SCAN_FILE, SCAN_ANON) and (balance == SCAN_FILE) != file:
                scan = 0
            nr[lru] = scan
        return nr

    def shrink_lruvec(self, sc: ScanControl) -> None:
        nr = self.get_scan_count(sc)
        targets = list(nr)
        nr_reclaimed = 0
        nr_to_reclaim = sc.nr_to_reclaim
        proportional_reclaim = not sc.kswapd and sc.priority == DEF_PRIORITY
        while nr[LRU_INACTIVE_ANON] or nr[LRU_ACTIVE_FILE] or nr[LRU_INACTIVE_FILE]:
            for lru in range(4):
                if nr[lru]:
                    nr_to_scan = min(nr[lru], SWAP_CLUSTER_MAX)
                    nr[lru] -= nr_to_scan
                    nr_reclaimed += self.shrink_list(lru, nr_to_scan, sc)
            if nr_reclaimed < nr_to_reclaim or proportional_reclaim:
                continue
            nr_file = nr[LRU_INACTIVE_FILE] + nr[LRU_ACTIVE_FILE]
            nr_anon = nr[LRU_INACTIVE_ANON] + nr[LRU_ACTIVE_ANON]
            if not nr_file or not nr_anon:
                break
            if nr_file > nr_anon:
                scan_target = targets[LRU_INACTIVE_ANON] + targets[LRU_ACTIVE_ANON] + 1
                lru = LRU_INACTIVE_ANON
                percentage = nr_anon * 100 // scan_target
            else:
                scan_target = targets[LRU_INACTIVE_FILE] + targets[LRU_ACTIVE_FILE] + 1
                lru = LRU_INACTIVE_FILE
                percentage = nr_file * 100 // scan_target
            nr[lru] = nr[lru + 1] = 0
            lru = LRU_INACTIVE_FILE if lru == LRU_INACTIVE_ANON else LRU_INACTIVE_ANON
            for ll in (lru, lru + 1):
                nr_scanned = targets[ll] - nr[ll]
                nr[ll] = targets[ll] * (100 - percentage) // 100
                nr[ll] -= min(nr[ll], nr_scanned)
        sc.nr_reclaimed += nr_reclaimed
        if self.can_reclaim_anon_pages() and self.inactive_is_low(LRU_INACTIVE_ANON):
            self.shrink_active_list(SWAP_CLUSTER_MAX, sc, LRU_ACTIVE_ANON)

    def shrink_list(self, lru: int, nr_to_scan: int, sc: ScanControl) -> int:
        if lru in (LRU_ACTIVE_ANON, LRU_ACTIVE_FILE):
            if sc.may_deactivate & (1 << (lru >= LRU_INACTIVE_FILE)):
                self.shrink_active_list(nr_to_scan, sc, lru)
            else:
                sc.skipped_deactivate = True
            return 0
        return self.shrink_inactive_list(nr_to_scan, sc, lru)

    def isolate_lru_folios(self, nr_to_scan: int, sc: ScanControl, lru: int) -> tuple[list[Folio], int]:
        lruvec = self.lru
        src = lruvec.lists[lru]
        nr_lru, zone_lru = lruvec.nr_lru, lruvec.zone_lru
        taken: list[Folio] = []
        back: list[Folio] = []
        scan = total_scan = max_nr_skipped = 0
        zone_names = {z.idx: z.name.lower() for z in self.pa.zones}
        while scan < nr_to_scan and src:
            _, folio = src.popitem(last=False)
            nr_lru[lru] -= 1
            zone_lru[folio.zid][lru] -= 1
            total_scan += 1
            if max_nr_skipped < SWAP_CLUSTER_MAX_SKIPPED and folio.zid > sc.reclaim_idx:
                self.ev[f"pgskip_{zone_names[folio.zid]}"] += 1
                back.append(folio)
                max_nr_skipped += 1
                continue
            scan += 1
            if not sc.may_unmap and folio.mappers:
                back.append(folio)
                continue
            folio.lru = -1
            folio.flags &= ~PG_lru
            taken.append(folio)
        for folio in back:  # splice the skipped folios back at the head
            src[folio.pfn] = folio
            nr_lru[lru] += 1
            zone_lru[folio.zid][lru] += 1
        return taken, total_scan

    def shrink_inactive_list(self, nr_to_scan: int, sc: ScanControl, lru: int) -> int:
        file = lru == LRU_INACTIVE_FILE
        taken, nr_scanned = self.isolate_lru_folios(nr_to_scan, sc, lru)
        who = "kswapd" if sc.kswapd else "direct"
        ev = self.ev
        ev[f"pgscan_{who}"] += nr_scanned
        ev["pgscan_file" if file else "pgscan_anon"] += nr_scanned
        if not taken:
            return 0
        nr_reclaimed, stat, keep = self.shrink_folio_list(taken, sc)
        for folio in keep:  # move_folios_to_lru()
            self.lru.add(folio)
        ev[f"pgsteal_{who}"] += nr_reclaimed
        ev["pgsteal_file" if file else "pgsteal_anon"] += nr_reclaimed
        self.lru_note_cost(file, stat.nr_pageout, nr_scanned - nr_reclaimed)
        if stat.nr_unqueued_dirty == len(taken):
            self.pagecache.wakeup_flusher_threads("vmscan")
        n = sc.nr
        n["dirty"] += stat.nr_dirty
        n["congested"] += stat.nr_congested
        n["unqueued_dirty"] += stat.nr_unqueued_dirty
        n["writeback"] += stat.nr_writeback
        n["immediate"] += stat.nr_immediate
        n["taken"] += len(taken)
        if file:
            n["file_taken"] += len(taken)
        return nr_reclaimed

    def shrink_active_list(self, nr_to_scan: int, sc: ScanControl, lru: int) -> None:
        file = lru == LRU_ACTIVE_FILE
        taken, nr_scanned = self.isolate_lru_folios(nr_to_scan, sc, lru)
        self.ev["pgrefill"] += nr_scanned
        for folio in taken:
            if folio.mappers and folio.young:
                folio.young = False  # folio_referenced() clears the young bits (no VM_EXEC rotation)
            folio.flags = (folio.flags & ~PG_active) | PG_workingset
        for folio in taken:
            self.lru.add(folio)
        self.ev["pgdeactivate"] += len(taken)
        self.lru_note_cost(file, 0, 0)

    def folio_check_references(self, folio: Folio) -> int:
        referenced_ptes = 1 if folio.mappers and folio.young else 0
        folio.young = False
        referenced_folio = bool(folio.flags & PG_referenced)
        folio.flags &= ~PG_referenced
        if referenced_ptes:
            folio.flags |= PG_referenced
            if referenced_folio:
                return FOLIOREF_ACTIVATE
            return FOLIOREF_KEEP
        if referenced_folio and not folio.flags & PG_swapbacked:
            return FOLIOREF_RECLAIM_CLEAN
        return FOLIOREF_RECLAIM

    def may_enter_fs(self, folio: Folio, gfp: int) -> bool:
        if gfp & self.gfp_fs:
            return True
        return folio.swap is not None and bool(gfp & self.gfp_io)

    def shrink_folio_list(self, folios: list[Folio], sc: ScanControl) -> tuple[int, ReclaimStat, list[Folio]]:
        st = ReclaimStat()
        keep: list[Folio] = []
        nr_reclaimed = 0
        gfp = sc.gfp_mask
        for folio in folios:
            sc.nr_scanned += 1
            fl = folio.flags
            file_lru = not fl & PG_swapbacked
            action = "free"
            if not sc.may_unmap and folio.mappers:
                keep.append(folio)
                continue
            dirty = file_lru and bool(fl & PG_dirty)
            writeback = file_lru and bool(fl & PG_writeback)
            if dirty or writeback:
                st.nr_dirty += 1
            if dirty and not writeback:
                st.nr_unqueued_dirty += 1
            if writeback and fl & PG_reclaim:
                st.nr_congested += 1
            if fl & PG_writeback:
                if sc.kswapd and fl & PG_reclaim and self.pgdat_writeback:
                    st.nr_immediate += 1
                else:
                    folio.flags |= PG_reclaim
                    st.nr_writeback += 1
                action = "activate"
            references = FOLIOREF_RECLAIM
            if action == "free":
                references = self.folio_check_references(folio)
                if references == FOLIOREF_ACTIVATE:
                    action = "activate"
                elif references == FOLIOREF_KEEP:
                    st.nr_ref_keep += 1
                    action = "keep"
            if action == "free" and folio.anon and folio.swap is None:
                if not gfp & self.gfp_io:
                    action = "keep"
                else:
                    slot = self.swapfile.alloc()
                    if slot is None:
                        action = "activate"
                    else:
                        folio.swap = slot
                        folio.flags |= PG_dirty  # folio_mark_dirty()
            if action == "free" and folio.mappers:
                self.lru.unmap_folio(folio)  # try_to_unmap() succeeds in the model
            if action == "free" and folio.flags & PG_dirty:
                if file_lru and (not sc.kswapd or not folio.flags & PG_reclaim or not self.pgdat_dirty):
                    self.lru.stat["nr_vmscan_immediate_reclaim"] += 1
                    folio.flags |= PG_reclaim
                    action = "activate"
                elif references == FOLIOREF_RECLAIM_CLEAN or not self.may_enter_fs(folio, gfp) \
                        or not sc.may_writepage:
                    action = "keep"
                else:
                    res = self.pageout(folio)
                    if res == "activate":
                        action = "activate"
                    elif res == "keep":
                        action = "keep"
                    else:
                        st.nr_pageout += 1
            if action == "free":
                if self.remove_mapping(folio):
                    nr_reclaimed += 1
                    self.lru.free_folio(folio)
                    continue
                action = "keep"
            if folio.anon and not folio.mappers:
                self.remap_anon(folio)  # (cannot happen with may_writepage set; kept safe)
            if action == "activate":
                folio.flags |= PG_active
                st.nr_activate[int(file_lru)] += 1
            keep.append(folio)
        self.ev["pgactivate"] += st.nr_activate[0] + st.nr_activate[1]
        return nr_reclaimed, st, keep

    def remap_anon(self, folio: Folio) -> None:
        """An anonymous folio reclaim unmapped but keeps goes back into its process."""
        p = folio.mapping
        slot = p.swapents.pop(folio.index, None)
        if slot is not None:
            self.swapfile.free_slot(slot)
        folio.swap = None
        p.anon[folio.index] = folio
        folio.mappers = [p]
        self.lru.stat["nr_anon_pages"] += 1

    def pageout(self, folio: Folio) -> str:
        """pageout(): 6.18 writes only swap-backed pages from reclaim (swap_writeout,
        shmem_writeout); a dirty file page is left to the flusher (PAGE_ACTIVATE)."""
        if not folio.flags & PG_swapbacked:
            return "activate"
        if not folio.anon:  # shmem_writeout(): its own swap slot, or back to the active list
            slot = self.swapfile.alloc()
            if slot is None:
                return "activate"
            folio.swap = slot
        folio.flags &= ~PG_dirty  # folio_clear_dirty_for_io()
        # swap_writeout() to a synchronous device: the bytes are on swap when it returns
        assert folio.swap is not None
        self.swapfile.write(folio.swap, self.k.phys.peek(folio.pfn))
        self.ev["pswpout"] += 1
        self.lru.stat["nr_vmscan_write"] += 1
        return "success"

    def remove_mapping(self, folio: Folio) -> bool:
        """__remove_mapping(): a dirty page cannot go; the page leaves the page cache or
        the swap cache (an anonymous page's slot stays with its swap entry)."""
        if folio.flags & PG_dirty:
            return False
        if folio.anon:
            return True  # __swap_cache_del_folio(): the pte holds the slot now
        if not folio.mapping.shmem and folio.flags & PG_writeback:
            return False
        self.pagecache.delete_from_cache(folio)
        return True

    # ================================================================ shrink_node and friends
    def shrink_node(self, sc: ScanControl) -> None:
        while True:
            sc.nr = dict.fromkeys(sc.nr, 0)
            nr_reclaimed = sc.nr_reclaimed
            self.prepare_scan_control(sc)
            self.shrink_lruvec(sc)
            if self.shrinkers:
                slab_before = self.slab_pages()
                self.shrink_slab(sc.gfp_mask, sc.priority)
                sc.nr_reclaimed += max(0, slab_before - self.slab_pages())  # flush_reclaim_state()
            nr_node_reclaimed = sc.nr_reclaimed - nr_reclaimed
            if sc.kswapd:
                n = sc.nr
                if n["writeback"] and n["writeback"] == n["taken"]:
                    self.pgdat_writeback = True
                if n["unqueued_dirty"] and n["unqueued_dirty"] == n["file_taken"]:
                    self.pgdat_dirty = True
            if not self.should_continue_reclaim(nr_node_reclaimed, sc):
                break
        if nr_node_reclaimed:
            self.kswapd_failures = 0
        elif sc.cache_trim_mode:
            sc.cache_trim_mode_failed = True

    def should_continue_reclaim(self, nr_reclaimed: int, sc: ScanControl) -> bool:
        """Reclaim/compaction for high orders: keep reclaiming until compaction could run."""
        in_rc = bool(sc.gfp_mask & self.gfp_io) and sc.order and (
            sc.order > PAGE_ALLOC_COSTLY_ORDER or sc.priority < DEF_PRIORITY - 2)
        if not in_rc or not nr_reclaimed:
            return False
        for z in self.pa.zones:
            if z.idx > sc.reclaim_idx or not z.managed_pages:
                continue
            wm = z.wmark(WMARK_MIN)
            if self.zone_watermark_ok(z, sc.order, wm, sc.reclaim_idx, 0, z.free_pages):
                return False
            if self.compaction_suitable(z, sc.order, wm, sc.reclaim_idx):
                return False
        inactive = self.lru.nr_lru[LRU_INACTIVE_FILE]
        if self.can_reclaim_anon_pages():
            inactive += self.lru.nr_lru[LRU_INACTIVE_ANON]
        return inactive > 2 << sc.order

    def shrink_zones(self, zonelist: list[Zone], sc: ScanControl) -> None:
        done_node = False
        for z in zonelist:
            if z.idx > sc.reclaim_idx:
                continue
            if sc.order > PAGE_ALLOC_COSTLY_ORDER and self.compaction_ready(z, sc):
                sc.compaction_ready = True
                continue
            if done_node:
                continue  # one node: shrink it once
            done_node = True
            self.shrink_node(sc)

    def do_try_to_free_pages(self, zonelist: list[Zone], sc: ScanControl) -> int:
        initial_priority = sc.priority
        names = {z.idx: z.name.lower() for z in self.pa.zones}
        while True:
            self.ev[f"allocstall_{names[min(sc.reclaim_idx, self.max_nr_zones - 1)]}"] += 1
            self.ev["allocstall"] += 1
            while True:
                sc.nr_scanned = 0
                self.shrink_zones(zonelist, sc)
                if sc.nr_reclaimed >= sc.nr_to_reclaim or sc.compaction_ready:
                    break
                if sc.priority < DEF_PRIORITY - 2:
                    sc.may_writepage = True
                sc.priority -= 1
                if sc.priority < 0:
                    break
            if sc.nr_reclaimed:
                return sc.nr_reclaimed
            if sc.compaction_ready:
                return 1
            if not sc.memcg_full_walk:  # the kernel retries once walking every memcg
                sc.priority = initial_priority
                sc.memcg_full_walk = True
                continue
            if sc.skipped_deactivate:
                sc.priority = initial_priority
                sc.force_deactivate = True
                sc.skipped_deactivate = False
                continue
            return 0

    def try_to_free_pages(self, zonelist: list[Zone], order: int, gfp: int, reclaim_idx: int) -> int:
        """try_to_free_pages(): direct reclaim of SWAP_CLUSTER_MAX pages for an allocation."""
        self.pagecache.complete_writeback()  # the disk had a throttle interval since the last pass
        sc = ScanControl(gfp_mask=gfp, order=order, reclaim_idx=reclaim_idx, may_writepage=not self.laptop_mode)
        return self.do_try_to_free_pages(zonelist, sc)

    def perform_reclaim(self, zonelist: list[Zone], order: int, gfp: int, reclaim_idx: int) -> int:
        """__perform_reclaim(): cond_resched (kswapd may run), PF_MEMALLOC, reclaim."""
        self.cond_resched()
        prev = self.memalloc
        self.memalloc = True
        try:
            progress = self.try_to_free_pages(zonelist, order, gfp, reclaim_idx)
        finally:
            self.memalloc = prev
        self.cond_resched()
        return progress

    def cond_resched(self) -> None:
        """cond_resched() in reclaim: let a runnable task (kswapd) run first."""
        sched = self.k.sched
        if sched.runq:
            sched.cond_resched()

    # transitional: the page allocator's old private name for it; goes once it no longer calls it

    # ================================================================ compaction (counted)
    def zone_watermark_ok(self, z: Zone, order: int, mark: int, hz: int, flags: int, free: int) -> bool:
        """__zone_watermark_ok() of the page allocator.  The one call into a private member of
        another subsystem: the page allocator's Protocol should declare this service (and
        get_page_from_freelist, used by direct_compact); asked of the lead."""
        return self.pa.zone_watermark_ok(z, order, mark, hz, flags, free)

    def compaction_suitable(self, z: Any, order: int, watermark: int, hz: int, free: int | None = None) -> bool:
        """compaction_suitable(): enough order-0 pages to migrate into (watermark +
        compact_gap), and for costly orders a fragmentation index above the threshold."""
        if free is None:
            free = z.free_pages
        wm = watermark + (2 << order)
        if order > PAGE_ALLOC_COSTLY_ORDER:
            wm += z.watermark[1] - z.watermark[0]
        if not self.zone_watermark_ok(z, 0, wm, hz, 0x80, free):  # ALLOC_CMA
            return False
        if order > PAGE_ALLOC_COSTLY_ORDER:
            from .vmstat import fragmentation_index

            fi = fragmentation_index(z, order)
            if 0 <= fi <= 500:  # vm.extfrag_threshold
                return False
        return True

    def compaction_ready(self, z: Any, sc: ScanControl) -> bool:
        if not sc.gfp_mask & self.gfp_io:
            return False
        if self.zone_watermark_ok(z, sc.order, z.wmark(WMARK_MIN), sc.reclaim_idx, 0, z.free_pages):
            return True
        return self.compaction_suitable(z, sc.order, z.wmark(WMARK_HIGH), sc.reclaim_idx)

    def try_to_compact_pages(self, ctx: Any, order: int, flags: int) -> int:
        """try_to_compact_pages(): the best result over the zonelist (no page moves)."""
        if not ctx.gfp & self.gfp_io:
            return COMPACT_SKIPPED
        rc = COMPACT_SKIPPED
        for z in ctx.zonelist:
            wm = z.wmark(WMARK_MIN)
            if self.zone_watermark_ok(z, order, wm, ctx.highest_zoneidx, flags, z.free_pages):
                status = COMPACT_SUCCESS
            elif not self.compaction_suitable(z, order, wm, ctx.highest_zoneidx):
                status = COMPACT_SKIPPED
            else:
                status = COMPACT_COMPLETE  # the scanners met: nothing was migrated
            rc = max(rc, status)
            if status == COMPACT_SUCCESS:
                break
        return rc

    def direct_compact(self, ctx: Any, order: int, flags: int, prio: int) -> tuple[int, int]:
        """__alloc_pages_direct_compact(): (pfn or -1, compact_result)."""
        if not order:
            return -1, -1  # the result is left as it was
        result = self.try_to_compact_pages(ctx, order, flags)
        if result == COMPACT_SKIPPED:
            return -1, result
        self.ev["compact_stall"] += 1
        pfn = self.pa.get_page_from_freelist(ctx, order, flags)  # (see zone_watermark_ok)
        if pfn >= 0:
            self.ev["compact_success"] += 1
            return pfn, result
        self.ev["compact_fail"] += 1
        return -1, result

    def compaction_zonelist_suitable(self, ctx: Any, order: int) -> bool:
        for z in ctx.zonelist:
            available = self.zone_reclaimable_pages(z.idx) + z.free_pages
            if self.compaction_suitable(z, order, z.wmark(WMARK_MIN), ctx.highest_zoneidx, available):
                return True
        return False

    def should_compact_retry(self, ctx: Any, order: int, result: int, state: list[int]) -> bool:
        """should_compact_retry(); ``state`` is [compact_priority, compaction_retries]."""
        if not order:
            return False
        if result == COMPACT_SKIPPED:
            return self.compaction_zonelist_suitable(ctx, order)
        if result == COMPACT_SUCCESS:
            max_retries = MAX_COMPACT_RETRIES // 4 if order > PAGE_ALLOC_COSTLY_ORDER else MAX_COMPACT_RETRIES
            state[1] += 1
            if state[1] <= max_retries:
                return True
        min_priority = MIN_COMPACT_COSTLY_PRIORITY if order > PAGE_ALLOC_COSTLY_ORDER else MIN_COMPACT_PRIORITY
        if state[0] > min_priority:
            state[0] -= 1
            state[1] = 0
            return True
        return False

    # ================================================================ kswapd
    def pgdat_balanced(self, order: int, hz: int) -> bool:
        mark = -1
        for z in self.pa.zones:
            if z.idx > hz or not z.managed_pages:
                continue
            mark = z.wmark(WMARK_HIGH)
            if self.zone_watermark_ok(z, order, mark, hz, 0, z.free_pages):
                return True
        return mark == -1

    def pgdat_watermark_boosted(self, hz: int) -> bool:
        return any(z.watermark_boost for z in self.pa.zones if z.idx <= hz and z.managed_pages)

    def wakeup_kswapd(self, zone: Any, gfp: int, order: int, hz: int) -> None:
        """wakeup_kswapd(): record the request; wake kswapd unless it is running, the
        node is hopeless, or balanced and not boosted."""
        if not zone.managed_pages:
            return
        cur = self.kswapd_highest_zoneidx
        if cur == self.max_nr_zones or cur < hz:
            self.kswapd_highest_zoneidx = hz
        if self.kswapd_order < order:
            self.kswapd_order = order
        if self.kswapd_running or self.kswapd_state == KSWAPD_WOKEN:
            return  # !waitqueue_active(): kswapd is not asleep
        if self.kswapd_failures >= MAX_RECLAIM_RETRIES or (
                self.pgdat_balanced(order, hz) and not self.pgdat_watermark_boosted(hz)):
            return
        premature = self.kswapd_state == KSWAPD_SHORT_SLEEP and self.k.jiffies < self.kswapd_deadline
        self.kswapd_state = KSWAPD_WOKEN
        self.kswapd_premature = premature
        self.pa.kswapd_wakeups += 1
        if self.kswapd_task is not None and self.kswapd_mode != "manual":
            self.k.sched.wake_up_process(self.kswapd_task)

    def kswapd_work(self) -> None:
        """One wakeup of kswapd: balance the node, then try to sleep (kswapd())."""
        if self.kswapd_state != KSWAPD_WOKEN or self.kswapd_running:
            return
        self.kswapd_running = True
        prev = self.memalloc
        self.memalloc = True  # PF_MEMALLOC | PF_KSWAPD
        try:
            if self.kswapd_premature:
                self.ev["kswapd_low_wmark_hit_quickly"] += 1
            alloc_order, hz = self._kswapd_request(self.kswapd_prev_zoneidx)
            for _ in range(10_000):  # kswapd() gives up on a node after MAX_RECLAIM_RETRIES failures
                reclaim_order = self.balance_pgdat(alloc_order, hz)
                # kswapd_try_to_sleep(): for what balance_pgdat stopped at, or for what was
                # asked meanwhile (pgdat->kswapd_order, kswapd_highest_zoneidx)
                if reclaim_order < alloc_order:
                    s_order, s_hz = reclaim_order, hz
                else:
                    s_order = self.kswapd_order
                    s_hz = hz if self.kswapd_highest_zoneidx == self.max_nr_zones else self.kswapd_highest_zoneidx
                if self.prepare_kswapd_sleep(s_order, s_hz):
                    self.kswapd_state = KSWAPD_SHORT_SLEEP
                    self.kswapd_deadline = self.k.jiffies + max(1, self.k.profile.hz // 10)
                    break
                self.ev["kswapd_high_wmark_hit_quickly"] += 1
                if reclaim_order < alloc_order:
                    alloc_order = reclaim_order
                else:
                    alloc_order, hz = self._kswapd_request(s_hz)
        finally:
            self.memalloc = prev
            self.kswapd_running = False
            if self.kswapd_state == KSWAPD_WOKEN:
                self.kswapd_state = KSWAPD_ASLEEP

    def kswapd_catch_up(self) -> None:
        """The slow path's safe point: a woken kswapd on another CPU has done its work."""
        if self.kswapd_mode == "cpu" and self.kswapd_state == KSWAPD_WOKEN and not self.kswapd_running:
            if self.k.sched.in_atomic():
                return  # the model runs kswapd on this Python thread: not inside an atomic section
            self.run_kswapd()

    def _kswapd_request(self, prev_hz: int) -> tuple[int, int]:
        """Read and reset pgdat->kswapd_order and kswapd_highest_zoneidx."""
        order = self.kswapd_order
        hz = self.kswapd_highest_zoneidx
        if hz == self.max_nr_zones:
            hz = prev_hz
        self.kswapd_prev_zoneidx = hz
        self.kswapd_order = 0
        self.kswapd_highest_zoneidx = self.max_nr_zones
        return order, hz

    def run_kswapd(self) -> bool:
        """Run kswapd's pending work now (what the kswapd0 kthread does when it is
        scheduled); False if it was not woken."""
        if self.kswapd_state != KSWAPD_WOKEN:
            return False
        task = self.kswapd_task
        k = self.k
        prev_cur = k.current
        if task is not None:
            k.current = task
            sched = k.sched
            if task in sched.runq:
                sched.runq.remove(task)
                task.state = 1  # TASK_INTERRUPTIBLE: back to sleep after the work
                task.woken = False
        try:
            self.kswapd_work()
        finally:
            k.current = prev_cur
        return True

    def prepare_kswapd_sleep(self, order: int, hz: int) -> bool:
        if self.kswapd_failures >= MAX_RECLAIM_RETRIES:
            return True
        if self.pgdat_balanced(order, hz):
            self.pgdat_dirty = self.pgdat_writeback = False  # clear_pgdat_congested()
            return True
        return False

    def kswapd_age_node(self, sc: ScanControl) -> None:
        if self.can_reclaim_anon_pages() and self.inactive_is_low(LRU_INACTIVE_ANON):
            self.shrink_active_list(SWAP_CLUSTER_MAX, sc, LRU_ACTIVE_ANON)

    def kswapd_shrink_node(self, sc: ScanControl) -> bool:
        nr_reclaimed = sc.nr_reclaimed
        sc.nr_to_reclaim = sum(max(z.wmark(WMARK_HIGH), SWAP_CLUSTER_MAX) for z in self.pa.zones
                               if z.idx <= sc.reclaim_idx and z.managed_pages)
        self.shrink_node(sc)
        if sc.order and sc.nr_reclaimed >= 2 << sc.order:
            sc.order = 0
        return max(sc.nr_scanned, sc.nr_reclaimed - nr_reclaimed) >= sc.nr_to_reclaim

    def balance_pgdat(self, order: int, hz: int) -> int:
        """balance_pgdat(): reclaim until an eligible zone is above its high watermark
        (the boosted one first); returns the order it finished at."""
        self.pagecache.complete_writeback()
        sc = ScanControl(gfp_mask=self.gfp_kernel, order=order, reclaim_idx=hz, may_unmap=True, kswapd=True)
        self.ev["pageoutrun"] += 1
        zone_boosts = {z.idx: z.watermark_boost for z in self.pa.zones if z.idx <= hz and z.managed_pages}
        nr_boost_reclaim = sum(zone_boosts.values())
        boosted = bool(nr_boost_reclaim)
        while True:  # restart:
            sc.priority = DEF_PRIORITY
            goto = ""
            while True:
                nr_reclaimed = sc.nr_reclaimed
                raise_priority = True
                sc.reclaim_idx = hz
                balanced = self.pgdat_balanced(sc.order, hz)
                if not balanced and nr_boost_reclaim:
                    nr_boost_reclaim = 0  # imbalanced: ignore the boost, reclaim for real
                    goto = "restart"
                    break
                if not nr_boost_reclaim and balanced:
                    goto = "out"
                    break
                if nr_boost_reclaim and sc.priority == DEF_PRIORITY - 2:
                    raise_priority = False
                sc.may_writepage = not self.laptop_mode and not nr_boost_reclaim
                sc.may_swap = not nr_boost_reclaim
                self.kswapd_age_node(sc)
                if sc.priority < DEF_PRIORITY - 2:
                    sc.may_writepage = True
                sc.nr_scanned = 0
                if self.kswapd_shrink_node(sc):
                    raise_priority = False
                nr_reclaimed = sc.nr_reclaimed - nr_reclaimed
                nr_boost_reclaim -= min(nr_boost_reclaim, nr_reclaimed)
                if nr_boost_reclaim and not nr_reclaimed:
                    break
                if raise_priority or not nr_reclaimed:
                    sc.priority -= 1
                if sc.priority < 1:
                    break
            if goto == "restart":
                continue
            if goto == "out":
                break
            if not sc.nr_reclaimed and sc.priority < 1 and not sc.no_cache_trim_mode and sc.cache_trim_mode_failed:
                sc.no_cache_trim_mode = True
                continue
            if not sc.nr_reclaimed:
                self.kswapd_failures += 1
            break
        if boosted:
            for z in self.pa.zones:
                b = zone_boosts.get(z.idx, 0)
                if b:
                    z.watermark_boost -= min(z.watermark_boost, b)
                    z.refresh_fast_marks()
        return sc.order

    # ================================================================ checks
    def check_lru(self) -> None:
        """The lruvec: lists, sizes, struct pages, counters, rmap."""
        raise_problems("vmscan", self.lru.problems())

    def check_pagecache(self) -> None:
        raise_problems("filemap", self.pagecache.problems())

    def check_processes(self) -> None:
        raise_problems("processes", self.procs.problems())

    def check_swap(self) -> None:
        """Every slot in use is held by exactly one pte or shmem file."""
        errs: list[str] = []
        owners: dict[int, str] = {}
        for slot, who in (*self.procs.swap_owners(), *self.pagecache.swap_owners()):
            if slot in owners:
                errs.append(f"swap slot {slot} is used by {owners[slot]} and {who}")
            owners[slot] = who
        raise_problems("swap", errs + self.swapfile.problems(owners))

    def check(self) -> None:
        """Every invariant of reclaim's parts (the checks kswapd_init registers)."""
        self.check_lru()
        self.check_pagecache()
        self.check_processes()
        self.check_swap()


def raise_problems(subsystem: str, errs: list[str]) -> None:
    if errs:
        raise InvariantError(subsystem, "; ".join(errs[:5]))


def kswapd_init(k: Kernel) -> None:
    """kswapd_init(): reclaim, kswapd, swap, the page cache and the OOM killer (``k.vmscan``),
    right after the page allocator so that every later allocation can reclaim; starts the
    kswapd0 kthread and registers the node counters and the invariant checks."""
    rc = k.vmscan = Reclaim(k)
    rc.kswapd_task = k.sched.kthread_work_task("kswapd0", rc.kswapd_work)
    lru, swap = rc.lru, rc.swapfile
    for name in ("nr_inactive_anon", "nr_active_anon", "nr_inactive_file", "nr_active_file", "nr_unevictable",
                 "nr_anon_pages", "nr_mapped", "nr_file_pages", "nr_dirty", "nr_writeback", "nr_shmem",
                 "nr_vmscan_write", "nr_vmscan_immediate_reclaim", "nr_dirtied", "nr_written"):
        k.node_stats.register(name, (lambda n: lambda: lru.node_stat(n))(name))
    k.node_stats.register("_swap_total", lambda: swap.total)
    k.node_stats.register("_swap_free", lambda: swap.nr_free)
    k.node_stats.register("_node_unreclaimable", lambda: int(rc.kswapd_failures >= MAX_RECLAIM_RETRIES))
    k.checks.register("vmscan", rc.check_lru)
    k.checks.register("filemap", rc.check_pagecache)
    k.checks.register("processes", rc.check_processes)
    k.checks.register("swap", rc.check_swap)
