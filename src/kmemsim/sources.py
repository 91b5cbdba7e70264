"""Facts of each kernel's source that its output shows: where its reports say they are (the
``file:line`` its might_sleep() checks print) and the names of its vm counters.

A might_sleep() report names the source line of the check (``__might_sleep(__FILE__,
__LINE__)``), so the same misuse prints another place on every kernel: 6.x checks in the
inline might_alloc() of include/linux/sched/mm.h, 2.6 in the allocator itself.  The table is
per kernel version, resolved once per machine (``k.sites``), as the GFP and SLAB_* flags
are; a ``None`` site means the kernel has no check there (2.6.24's SLUB allocated without
might_sleep(); only the page allocator behind it checked).

Each entry names the line read in that kernel's source (/work/classic-build trees)."""
from __future__ import annotations

__all__ = ["SITES", "for_kernel", "VMSTAT_ITEMS", "vmstat_items"]

Site = tuple[str, int] | None

#: kernel version -> check -> (file, line) or None
SITES: dict[str, dict[str, Site]] = {
    "6.18": {
        "page_alloc": ("include/linux/sched/mm.h", 321),  # might_alloc(), from prepare_alloc_pages()
        "slab_alloc": ("include/linux/sched/mm.h", 321),  # slab_pre_alloc_hook() -> might_alloc()
        "mempool_alloc": ("include/linux/sched/mm.h", 321),
    },
    "6.6": {
        "page_alloc": ("include/linux/sched/mm.h", 306),  # might_alloc() of 6.6
        "slab_alloc": ("include/linux/sched/mm.h", 306),  # mm/slab.h:709 slab_pre_alloc_hook()
        "mempool_alloc": ("include/linux/sched/mm.h", 306),  # mm/mempool.c:388
    },
    "2.6.24": {
        "page_alloc": ("mm/page_alloc.c", 1467),  # __alloc_pages(): might_sleep_if(wait)
        "slab_alloc": None,  # mm/slub.c slab_alloc() has no might_sleep (SLAB's: mm/slab.c:3052)
        "mempool_alloc": ("mm/mempool.c", 209),
    },
    "2.6.11": {
        "page_alloc": ("mm/page_alloc.c", 709),  # __alloc_pages(): might_sleep_if(wait)
        "slab_alloc": ("mm/slab.c", 2082),  # cache_alloc_debugcheck_before(): 2.6.11 had only SLAB
        "mempool_alloc": ("mm/mempool.c", 197),
    },
}


def for_kernel(version: str) -> dict[str, Site]:
    """The sites of a kernel version (6.18's for a version without its own table)."""
    return SITES.get(version, SITES["6.18"])


# --------------------------------------------------------------------------- vm counter names
#: The vm counters a kernel prints in /proc/vmstat and /proc/zoneinfo, as its config builds
#: them (mm/vmstat.c vmstat_text[]): zone, numa, node and event items.  6.18's are the
#: reference host's (kmemsim.views.procfs); 6.6's are the QEMU captures' (allnoconfig + SMP:
#: no NUMA, no ZSMALLOC, no THP, no COMPACTION/MIGRATION, no HUGETLB, no SWAP, no MEMCG), read
#: from tests/data/classic/linux-6.6-x86_64/slab-1g-smp2/vmstat.txt and zoneinfo.txt.
VMSTAT_ITEMS: dict[str, dict[str, tuple[str, ...]]] = {
    "6.6": {
        "zone": tuple("nr_free_pages nr_zone_inactive_anon nr_zone_active_anon nr_zone_inactive_file "
                      "nr_zone_active_file nr_zone_unevictable nr_zone_write_pending nr_mlock nr_bounce "
                      "nr_free_cma".split()),
        "numa": (),
        "node": tuple("nr_inactive_anon nr_active_anon nr_inactive_file nr_active_file nr_unevictable "
                      "nr_slab_reclaimable nr_slab_unreclaimable nr_isolated_anon nr_isolated_file workingset_nodes "
                      "workingset_refault_anon workingset_refault_file workingset_activate_anon "
                      "workingset_activate_file workingset_restore_anon workingset_restore_file "
                      "workingset_nodereclaim nr_anon_pages nr_mapped nr_file_pages nr_dirty nr_writeback "
                      "nr_writeback_temp nr_shmem nr_shmem_hugepages nr_shmem_pmdmapped nr_file_hugepages "
                      "nr_file_pmdmapped nr_anon_transparent_hugepages nr_vmscan_write nr_vmscan_immediate_reclaim "
                      "nr_dirtied nr_written nr_throttled_written nr_kernel_misc_reclaimable nr_foll_pin_acquired "
                      "nr_foll_pin_released nr_kernel_stack nr_page_table_pages nr_sec_page_table_pages".split()),
        "events": tuple("nr_dirty_threshold nr_dirty_background_threshold pgpgin pgpgout pswpin pswpout pgalloc_dma "
                        "pgalloc_dma32 pgalloc_normal pgalloc_movable allocstall_dma allocstall_dma32 "
                        "allocstall_normal allocstall_movable pgskip_dma pgskip_dma32 pgskip_normal pgskip_movable "
                        "pgfree pgactivate pgdeactivate pglazyfree pgfault pgmajfault pglazyfreed pgrefill pgreuse "
                        "pgsteal_kswapd pgsteal_direct pgsteal_khugepaged pgdemote_kswapd pgdemote_direct "
                        "pgdemote_khugepaged pgscan_kswapd pgscan_direct pgscan_khugepaged pgscan_direct_throttle "
                        "pgscan_anon pgscan_file pgsteal_anon pgsteal_file pginodesteal slabs_scanned "
                        "kswapd_inodesteal kswapd_low_wmark_hit_quickly kswapd_high_wmark_hit_quickly pageoutrun "
                        "pgrotated drop_pagecache drop_slab oom_kill unevictable_pgs_culled unevictable_pgs_scanned "
                        "unevictable_pgs_rescued unevictable_pgs_mlocked unevictable_pgs_munlocked "
                        "unevictable_pgs_cleared unevictable_pgs_stranded direct_map_level2_splits "
                        "direct_map_level3_splits nr_unstable".split()),
    },
}


def vmstat_items(version: str) -> dict[str, tuple[str, ...]] | None:
    """The vm counter names of a kernel version, or None for the model's own (6.18's) lists."""
    return VMSTAT_ITEMS.get(version)
