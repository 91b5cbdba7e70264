"""/proc views of the page allocator: buddyinfo, pagetypeinfo, zoneinfo, meminfo, vmstat,
and debugfs extfrag/{extfrag_index,unusable_index}.

Models mm/vmstat.c (frag_show_print, pagetypeinfo_show*, zoneinfo_show_print,
vmstat_show, extfrag_show_print, unusable_show_print) and fs/proc/meminfo.c
(meminfo_proc_show) of Linux 6.18.  Views read state and never change it.  Counter
names and their order are the 6.18 host's (tests/data/host-6.18/snapshot.tar.gz);
counters of subsystems the model does not have yet print 0.

What a kernel has is chosen by its features (kmemsim.features) when the files are
registered: /proc/zoneinfo exists from 2.6.13 (``proc_zoneinfo``) and /proc/pagetypeinfo
from 2.6.24 (``migratetypes``); zoneinfo has the 6.x layout with per-node counters
(``node_vmstat``, 4.8) -- its promo line from 6.12, its pcp high_min/high_max from 6.7 --
and before that 2.6.24's (populated zones, "scanned", "prev_priority"; the hot and cold
pcp lists until 2.6.25).  /proc/vmstat and /proc/meminfo are modelled in the 6.x layout
only: before ``node_vmstat`` reading them says they are not modelled yet.  The 6.x
zoneinfo is 6.1-6.18's (with "boost" and "cma"); the variants of 4.8-6.0 and the 2.6
layouts between 2.6.13 and 4.7 other than the cold list are not modelled.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..arch.direct_map import direct_map_lines, init_mem_mapping
from ..errors import UsageError
from ..mm.mmzone import WMARK_HIGH, WMARK_LOW, WMARK_MIN, WMARK_PROMO
from ..mm.vmstat import fragmentation_index, unusable_free_index
from ..start_kernel import memmap_boot_pages

if TYPE_CHECKING:  # pragma: no cover
    from ..machine import Machine as Kernel
    from ..mm.mmzone import Zone

NODE_STAT_ITEMS = (
    "nr_inactive_anon nr_active_anon nr_inactive_file nr_active_file nr_unevictable nr_slab_reclaimable "
    "nr_slab_unreclaimable nr_isolated_anon nr_isolated_file workingset_nodes workingset_refault_anon "
    "workingset_refault_file workingset_activate_anon workingset_activate_file workingset_restore_anon "
    "workingset_restore_file workingset_nodereclaim nr_anon_pages nr_mapped nr_file_pages nr_dirty nr_writeback "
    "nr_shmem nr_shmem_hugepages nr_shmem_pmdmapped nr_file_hugepages nr_file_pmdmapped "
    "nr_anon_transparent_hugepages nr_vmscan_write nr_vmscan_immediate_reclaim nr_dirtied nr_written "
    "nr_throttled_written nr_kernel_misc_reclaimable nr_foll_pin_acquired nr_foll_pin_released nr_kernel_stack "
    "nr_page_table_pages nr_sec_page_table_pages nr_iommu_pages nr_swapcached pgpromote_success "
    "pgpromote_candidate pgpromote_candidate_nrl pgdemote_kswapd pgdemote_direct pgdemote_khugepaged "
    "pgdemote_proactive nr_hugetlb nr_balloon_pages nr_kernel_file_pages"
).split()
ZONE_STAT_ITEMS = (
    "nr_free_pages nr_free_pages_blocks nr_zone_inactive_anon nr_zone_active_anon nr_zone_inactive_file "
    "nr_zone_active_file nr_zone_unevictable nr_zone_write_pending nr_mlock nr_zspages nr_free_cma"
).split()
NUMA_STAT_ITEMS = "numa_hit numa_miss numa_foreign numa_interleave numa_local numa_other".split()
VM_EVENT_ITEMS = (
    "nr_dirty_threshold nr_dirty_background_threshold nr_memmap_pages nr_memmap_boot_pages pgpgin pgpgout "
    "pswpin pswpout pgalloc_dma pgalloc_dma32 pgalloc_normal pgalloc_movable pgalloc_device allocstall_dma "
    "allocstall_dma32 allocstall_normal allocstall_movable allocstall_device pgskip_dma pgskip_dma32 "
    "pgskip_normal pgskip_movable pgskip_device pgfree pgactivate pgdeactivate pglazyfree pgfault pgmajfault "
    "pglazyfreed pgrefill pgreuse pgsteal_kswapd pgsteal_direct pgsteal_khugepaged pgsteal_proactive "
    "pgscan_kswapd pgscan_direct pgscan_khugepaged pgscan_proactive pgscan_direct_throttle pgscan_anon "
    "pgscan_file pgsteal_anon pgsteal_file zone_reclaim_success zone_reclaim_failed pginodesteal slabs_scanned "
    "kswapd_inodesteal kswapd_low_wmark_hit_quickly kswapd_high_wmark_hit_quickly pageoutrun pgrotated "
    "drop_pagecache drop_slab oom_kill numa_pte_updates numa_huge_pte_updates numa_hint_faults "
    "numa_hint_faults_local numa_pages_migrated pgmigrate_success pgmigrate_fail thp_migration_success "
    "thp_migration_fail thp_migration_split compact_migrate_scanned compact_free_scanned compact_isolated "
    "compact_stall compact_fail compact_success compact_daemon_wake compact_daemon_migrate_scanned "
    "compact_daemon_free_scanned htlb_buddy_alloc_success htlb_buddy_alloc_fail unevictable_pgs_culled "
    "unevictable_pgs_scanned unevictable_pgs_rescued unevictable_pgs_mlocked unevictable_pgs_munlocked "
    "unevictable_pgs_cleared unevictable_pgs_stranded thp_fault_alloc thp_fault_fallback "
    "thp_fault_fallback_charge thp_collapse_alloc thp_collapse_alloc_failed thp_file_alloc thp_file_fallback "
    "thp_file_fallback_charge thp_file_mapped thp_split_page thp_split_page_failed thp_deferred_split_page "
    "thp_underused_split_page thp_split_pmd thp_scan_exceed_none_pte thp_scan_exceed_swap_pte "
    "thp_scan_exceed_share_pte thp_split_pud thp_zero_page_alloc thp_zero_page_alloc_failed thp_swpout "
    "thp_swpout_fallback balloon_inflate balloon_deflate balloon_migrate swap_ra swap_ra_hit swpin_zero "
    "swpout_zero ksm_swpin_copy cow_ksm zswpin zswpout zswpwb direct_map_level2_splits direct_map_level3_splits "
    "direct_map_level2_collapses direct_map_level3_collapses nr_unstable"
).split()


def _not_modelled(k: Kernel, name: str) -> Callable[[], str]:
    """The read function of a /proc file whose layout for this kernel is not modelled yet."""
    def read() -> str:
        raise UsageError(f"/proc/{name} of {k.profile.name} is not modelled yet (Linux {k.profile.kernel_version} "
                         "predates per-node vm counters, 4.8: its layout differs)")
    return read


# --------------------------------------------------------------------- counters
def zone_stats(k: Kernel, z: Zone) -> dict[str, int]:
    """The zone's vm_stat counters (NR_FREE_PAGES ... NR_FREE_CMA_PAGES)."""
    pa = k.page_alloc
    blocks = sum(n << o for o, n in enumerate(z.nr_free) if o >= pa.pageblock_order) if z.free_pages else 0
    # NR_FREE_PAGES_BLOCKS counts free pages in blocks of pageblock order or more, not isolated
    out = dict.fromkeys(ZONE_STAT_ITEMS, 0)
    out["nr_free_pages"] = z.free_pages
    out["nr_free_pages_blocks"] = blocks
    out.update(k.vmscan.zone_stats(z))  # the LRU lists and dirty/writeback pages of the zone
    return out


def numa_stats(k: Kernel, z: Zone) -> dict[str, int]:
    out = dict.fromkeys(NUMA_STAT_ITEMS, 0)
    out["numa_hit"] = out["numa_local"] = z.pgalloc
    return out


def node_stats(k: Kernel) -> dict[str, int]:
    return {name: k.node_stats.get(name) for name in NODE_STAT_ITEMS}


def stat_threshold(k: Kernel, z: Zone) -> int:
    """calculate_normal_threshold() (mm/vmstat.c)."""
    mem = z.managed_pages >> (27 - k.page_shift)
    return min(125, 2 * len(k.cpus).bit_length() * (1 + mem.bit_length()))


# --------------------------------------------------------------------- /proc/buddyinfo
def buddyinfo(k: Kernel) -> str:
    """frag_show_print(): nr_free per order of every populated zone."""
    out = []
    for z in k.page_alloc.zones:
        if z.populated:
            out.append(f"Node 0, zone {z.name:>8} " + "".join(f"{n:6d} " for n in z.nr_free) + "\n")
    return "".join(out)


# --------------------------------------------------------------------- /proc/pagetypeinfo
def pagetypeinfo(k: Kernel) -> str:
    """pagetypeinfo_show(): free blocks per migratetype and order, then pageblocks per type."""
    pa = k.page_alloc
    # the kernel's migratetypes in its own order (2.6.24: Unmovable, Reclaimable, Movable, Reserve,
    # Isolate) and the engine's list of each (the engine numbers them as 6.18 does)
    names = k.gfp.migratetype_names
    order_mt = pa.migratetype_map
    out = [f"Page block order: {pa.pageblock_order}\n", f"Pages per block:  {pa.pageblock_nr_pages}\n", "\n"]
    out.append(f"{'Free pages count per migrate type at order':<43s} "
               + "".join(f"{o:6d} " for o in range(pa.max_order + 1)) + "\n")
    for z in pa.zones:
        if not z.populated:
            continue
        for name, mt in zip(names, order_mt, strict=True):
            row = f"Node {0:4d}, zone {z.name:>8}, type {name:>12} "
            for o in range(pa.max_order + 1):
                n = len(z.free_list[o][mt])
                row += f"{'>' if n >= 100000 else ''}{min(n, 100000):6d} "
            out.append(row + "\n")
    out.append(f"\n{'Number of blocks type ':<23s}" + "".join(f"{n:>12} " for n in names) + "\n")
    for z in pa.zones:
        if not z.populated:
            continue
        counts = [0] * len(names)
        # pagetypeinfo_showblockcount_print(): from zone_start_pfn in pageblock steps, every
        # pfn with an online struct page of this zone (memory, not a hole)
        memory = k.arch.setup.memory
        s = k.page_shift
        for pfn in range(z.zone_start_pfn, z.zone_end_pfn, pa.pageblock_nr_pages):
            if not any(a >> s <= pfn < b >> s for a, b in memory):
                continue
            counts[z.pageblock_mt[pfn >> pa.pageblock_order]] += 1
        row = f"Node 0, zone {z.name:>8} " + "".join(f"{counts[mt]:12d} " for mt in order_mt)
        out.append(row + "\n")
    return "".join(out)


# --------------------------------------------------------------------- /proc/zoneinfo
ZONE_STAT_ITEMS_2_6 = (
    "nr_free_pages nr_inactive nr_active nr_anon_pages nr_mapped nr_file_pages nr_dirty nr_writeback "
    "nr_slab_reclaimable nr_slab_unreclaimable nr_page_table_pages nr_unstable nr_bounce nr_vmscan_write"
).split()


def zoneinfo_2_6(k: Kernel) -> str:
    """2.6.24 zoneinfo_show_print(): populated zones only; the hot and cold pcp lists (one
    list, "cpu: N" alone, without ``pcp_cold_list``)."""
    pa = k.page_alloc
    cold_list = k.features.pcp_cold_list
    out = []
    for z in pa.zones:
        if not z.populated:
            continue
        out.append(f"Node 0, zone {z.name:>8}")
        out.append(
            f"\n  pages free     {z.free_pages}\n        min      {z.watermark[WMARK_MIN]}"
            f"\n        low      {z.watermark[WMARK_LOW]}\n        high     {z.watermark[WMARK_HIGH]}"
            f"\n        scanned  0 (a: 0 i: 0)\n        spanned  {z.spanned_pages}\n        present  {z.present_pages}"
        )
        stats = dict.fromkeys(ZONE_STAT_ITEMS_2_6, 0)
        stats["nr_free_pages"] = z.free_pages
        for name, v in stats.items():
            out.append(f"\n    {name:<12} {v}")
        out.append("\n        protection: (" + ", ".join(str(v) for v in z.lowmem_reserve) + ")")
        out.append("\n  pagesets")
        mem = z.present_pages >> (27 - k.page_shift)
        thr = min(125, 2 * len(k.cpus).bit_length() * (1 + mem.bit_length()))
        for pcp in z.pcp:
            batch = pcp.batch
            if cold_list:
                # pcp 0 is the hot list (modelled); pcp 1 the cold one (setup_pageset sizes, empty)
                for j, (count, high, b) in enumerate(((pcp.count, 6 * batch, batch),
                                                      (0, 2 * batch, max(1, batch // 2)))):
                    out.append(f"\n    cpu: {pcp.cpu} pcp: {j}\n              count: {count}"
                               f"\n              high:  {high}\n              batch: {b}")
            else:
                out.append(f"\n    cpu: {pcp.cpu}\n              count: {pcp.count}"
                           f"\n              high:  {pcp.high_max}\n              batch: {batch}")
            out.append(f"\n  vm stats threshold: {thr}")
        out.append(f"\n  all_unreclaimable: 0\n  prev_priority:     12\n  start_pfn:         {z.zone_start_pfn}\n")
    return "".join(out)


def zoneinfo(k: Kernel) -> str:
    """zoneinfo_show_print() (4.8+) for every zone of node 0, populated or not."""
    pa = k.page_alloc
    promo = k.features.zoneinfo_promo
    high_min_max = k.features.pcp_high_autotune
    out = []
    first_populated = next((z for z in pa.zones if z.populated), None)
    for z in pa.zones:
        out.append(f"Node 0, zone {z.name:>8}")
        if z is first_populated:
            out.append("\n  per-node stats")
            for name, v in node_stats(k).items():
                out.append(f"\n      {name:<12} {v}")
        out.append(f"\n  pages free     {z.free_pages}")
        out.append(f"\n        boost    {z.watermark_boost}")
        out.append(f"\n        min      {z.wmark(WMARK_MIN)}")
        out.append(f"\n        low      {z.wmark(WMARK_LOW)}")
        out.append(f"\n        high     {z.wmark(WMARK_HIGH)}")
        if promo:
            out.append(f"\n        promo    {z.wmark(WMARK_PROMO)}")
        out.append(f"\n        spanned  {z.spanned_pages}")
        out.append(f"\n        present  {z.present_pages}")
        out.append(f"\n        managed  {z.managed_pages}")
        out.append("\n        cma      0")
        out.append("\n        protection: (" + ", ".join(str(v) for v in z.lowmem_reserve) + ")")
        if not z.populated:
            out.append("\n")
            continue
        for name, v in zone_stats(k, z).items():
            out.append(f"\n      {name:<12} {v}")
        for name, v in numa_stats(k, z).items():
            out.append(f"\n      {name:<12} {v}")
        out.append("\n  pagesets")
        thr = stat_threshold(k, z)
        for pcp in z.pcp:
            high = pcp.high if pcp.touched else 0
            if high_min_max:
                out.append(
                    f"\n    cpu: {pcp.cpu}\n              count:    {pcp.count}\n              high:     {high}"
                    f"\n              batch:    {pcp.batch}\n              high_min: {pcp.high_min}"
                    f"\n              high_max: {pcp.high_max}"
                )
            else:
                out.append(f"\n    cpu: {pcp.cpu}\n              count: {pcp.count}\n              high:  {high}"
                           f"\n              batch: {pcp.batch}")
            out.append(f"\n  vm stats threshold: {thr}")
        out.append(f"\n  node_unreclaimable:  {k.node_stats.get('_node_unreclaimable')}"
                   f"\n  start_pfn:           {z.zone_start_pfn}\n")
    return "".join(out)


# --------------------------------------------------------------------- /proc/vmstat
def vmstat(k: Kernel) -> str:
    """vmstat_show(): zone, numa and node counters, then the events."""
    pa = k.page_alloc
    vals: dict[str, int] = dict.fromkeys(ZONE_STAT_ITEMS + NUMA_STAT_ITEMS, 0)
    for z in pa.zones:
        for name, v in zone_stats(k, z).items():
            vals[name] += v
        for name, v in numa_stats(k, z).items():
            vals[name] += v
    vals.update(node_stats(k))
    events = dict.fromkeys(VM_EVENT_ITEMS, 0)
    for z in pa.zones:
        key = f"pgalloc_{z.name.lower()}"
        if key in events:
            events[key] = z.pgalloc
    events["pgfree"] = sum(z.pgfree for z in pa.zones)
    for name, v in pa.vm_events.items():  # reclaim, kswapd, compaction, OOM (kmemsim.mm.vmscan)
        if name in events:
            events[name] = v
    events["nr_memmap_boot_pages"] = memmap_boot_pages(k)
    events["nr_dirty_background_threshold"], events["nr_dirty_threshold"] = global_dirty_limits(k)
    vals.update(events)
    return "".join(f"{name} {v}\n" for name, v in vals.items())


# --------------------------------------------------------------------- dirty limits
def dirty_limits(free: int, totalreserve: int, file_pages: int, highmem_dirtyable: int, page_size: int,
                 ratio: int = 20, bg_ratio: int = 10, nbytes: int = 0, bg_bytes: int = 0) -> tuple[int, int]:
    """(bg_thresh, thresh) in pages, as mm/page-writeback.c of 6.18 computes them for the global
    domain: global_dirtyable_memory() = free - min(free, totalreserve_pages) + the file LRU pages
    - the highmem part, + 1; then domain_dirty_limits() with the ratios taken per PAGE_SIZE
    ("(vm_dirty_ratio * PAGE_SIZE) / 100") or the byte values rounded up to pages, thresh capped
    at UINT_MAX and bg_thresh halved from thresh when it is not below it (the reader of
    /proc/vmstat is no RT task)."""
    avail = free - min(free, totalreserve) + file_pages
    avail -= highmem_dirtyable
    avail += 1  # "Ensure that we never return 0"
    if nbytes:
        thresh = -(-nbytes // page_size)
    else:
        thresh = (ratio * page_size // 100) * avail // page_size
    if bg_bytes:
        bg_thresh = -(-bg_bytes // page_size)
    else:
        bg_thresh = (bg_ratio * page_size // 100) * avail // page_size
    thresh = min(thresh, (1 << 32) - 1)
    if bg_thresh >= thresh:
        bg_thresh = thresh // 2
    return bg_thresh, thresh


def global_dirty_limits(k: Kernel) -> tuple[int, int]:
    """global_dirty_limits(&bg, &thresh) of this machine (vmstat_start() prints them as
    nr_dirty_background_threshold and nr_dirty_threshold)."""
    pa = k.page_alloc
    free = k.pages.nr_free_pages()
    ns = k.node_stats.get
    file_pages = ns("nr_inactive_file") + ns("nr_active_file")
    # highmem_dirtyable_memory() (vm_highmem_is_dirtyable is 0): free pages above the high
    # watermark plus the file LRU pages of each populated highmem zone, at most the total
    high = 0
    total = free - min(free, pa.totalreserve_pages) + file_pages
    for z in pa.zones:
        if z.name == "HighMem" and z.managed_pages:
            zs = zone_stats(k, z)
            n = zs["nr_free_pages"]
            n -= min(n, z.wmark(WMARK_HIGH))
            high += n + zs["nr_zone_inactive_file"] + zs["nr_zone_active_file"]
    t = k.tunables
    return dirty_limits(free, pa.totalreserve_pages, file_pages, min(high, total), k.page_size,
                        t.get("dirty_ratio", 20), t.get("dirty_background_ratio", 10),
                        t.get("dirty_bytes", 0), t.get("dirty_background_bytes", 0))


def direct_map(k: Kernel) -> dict[str, int]:
    """The DirectMap sizes in kB (kmemsim.arch.direct_map): the direct map as init_mem_mapping()
    builds it from memblock's memory with what is reserved then (the low 1M, the BIOS page and
    the kernel image; the struct page arrays and a host snapshot's other reservations come
    later), with 1G pages on x86_64 ("Using GB pages for direct mapping", as on the reference
    host) and PSE pages without PAE on i386."""
    setup = k.arch.setup
    reserved = [(r.start, r.end) for r in setup.reserved if r.name.startswith(("low 1M", "BIOS", "kernel"))]
    if k.profile.arch == "x86_64":
        return init_mem_mapping(setup.memory, reserved, setup.max_pfn, bits=64, gbpages=True)
    return init_mem_mapping(setup.memory, reserved, setup.max_pfn, bits=32, max_low_pfn=setup.max_low_pfn)


# --------------------------------------------------------------------- /proc/meminfo
def si_mem_available(k: Kernel) -> int:
    """si_mem_available() (mm/show_mem.c): free - reserves + the reclaimable part of caches."""
    pa = k.page_alloc
    wmark_low = sum(z.wmark(WMARK_LOW) for z in pa.zones)
    available = k.pages.nr_free_pages() - pa.totalreserve_pages
    pagecache = k.node_stats.get("nr_active_file") + k.node_stats.get("nr_inactive_file")
    pagecache -= min(pagecache // 2, wmark_low)
    available += pagecache
    reclaimable = k.node_stats.get("nr_slab_reclaimable") + k.node_stats.get("nr_kernel_misc_reclaimable")
    available += reclaimable - min(reclaimable // 2, wmark_low)
    return max(available, 0)


def meminfo(k: Kernel) -> str:
    """meminfo_proc_show() (fs/proc/meminfo.c), 6.18 fields in order."""
    pa = k.page_alloc
    kb = k.page_size >> 10
    total = sum(z.managed_pages for z in pa.zones)
    ns = k.node_stats.get
    lines: list[tuple[str, int | None, bool]] = []

    def kb_(label: str, pages: int) -> None:
        lines.append((label, pages * kb, True))

    kb_("MemTotal", total)
    kb_("MemFree", k.pages.nr_free_pages())
    kb_("MemAvailable", si_mem_available(k))
    kb_("Buffers", 0)
    kb_("Cached", max(0, ns("nr_file_pages") - ns("nr_swapcached")))
    kb_("SwapCached", ns("nr_swapcached"))
    kb_("Active", ns("nr_active_anon") + ns("nr_active_file"))
    kb_("Inactive", ns("nr_inactive_anon") + ns("nr_inactive_file"))
    kb_("Active(anon)", ns("nr_active_anon"))
    kb_("Inactive(anon)", ns("nr_inactive_anon"))
    kb_("Active(file)", ns("nr_active_file"))
    kb_("Inactive(file)", ns("nr_inactive_file"))
    kb_("Unevictable", ns("nr_unevictable"))
    kb_("Mlocked", 0)
    kb_("SwapTotal", ns("_swap_total"))
    kb_("SwapFree", ns("_swap_free"))
    kb_("Zswap", 0)
    kb_("Zswapped", 0)
    kb_("Dirty", ns("nr_dirty"))
    kb_("Writeback", ns("nr_writeback"))
    kb_("AnonPages", ns("nr_anon_pages"))
    kb_("Mapped", ns("nr_mapped"))
    kb_("Shmem", ns("nr_shmem"))
    kb_("KReclaimable", ns("nr_slab_reclaimable") + ns("nr_kernel_misc_reclaimable"))
    kb_("Slab", ns("nr_slab_reclaimable") + ns("nr_slab_unreclaimable"))
    kb_("SReclaimable", ns("nr_slab_reclaimable"))
    kb_("SUnreclaim", ns("nr_slab_unreclaimable"))
    lines.append(("KernelStack", ns("nr_kernel_stack"), True))  # already in kB
    kb_("PageTables", ns("nr_page_table_pages"))
    kb_("SecPageTables", 0)
    kb_("NFS_Unstable", 0)
    kb_("Bounce", 0)
    kb_("WritebackTmp", 0)
    kb_("CommitLimit", total // 2 + ns("_swap_total"))  # vm.overcommit_ratio 50, plus swap
    kb_("Committed_AS", 0)
    lay = k.layout
    lines.append(("VmallocTotal", (lay.vmalloc_end - lay.vmalloc_start) >> 10, True))
    kb_("VmallocUsed", k.node_stats.get("_vmalloc_nr_pages"))
    kb_("VmallocChunk", 0)
    kb_("Percpu", 0)
    for label in ("AnonHugePages", "ShmemHugePages", "ShmemPmdMapped", "FileHugePages", "FilePmdMapped", "Balloon"):
        kb_(label, 0)
    for label in ("HugePages_Total", "HugePages_Free", "HugePages_Rsvd", "HugePages_Surp"):
        lines.append((label, 0, False))
    lines.append(("Hugepagesize", 2048, True))
    lines.append(("Hugetlb", 0, True))
    for label, kb_value in direct_map_lines(direct_map(k)):
        lines.append((label, kb_value, True))
    out = []
    for label, value, is_kb in lines:
        if is_kb:
            out.append(f"{label + ':':<15} {value:>8} kB\n")
        else:
            out.append(f"{label + ':':<15} {value:>5}\n")
    return "".join(out)


# --------------------------------------------------------------------- debugfs extfrag
def _fixed3(v: int, width2: bool) -> str:
    """``"%2d.%03d "`` (or ``"%d.%03d "``) of v / 1000 and v % 1000 with C's truncating division;
    the indices are -1000 or 0..1000, so the remainder is never negative."""
    whole = int(v / 1000)
    frac = v - whole * 1000
    return f"{whole:2d}.{frac:03d} " if width2 else f"{whole}.{frac:03d} "


def extfrag_index(k: Kernel) -> str:
    out = []
    for z in k.page_alloc.zones:
        if z.populated:
            out.append(f"Node 0, zone {z.name:>8} "
                       + "".join(_fixed3(fragmentation_index(z, o), True) for o in range(z.max_order + 1)) + "\n")
    return "".join(out)


def unusable_index(k: Kernel) -> str:
    out = []
    for z in k.page_alloc.zones:
        if z.populated:
            out.append(f"Node 0, zone {z.name:>8} "
                       + "".join(_fixed3(unusable_free_index(z, o), False) for o in range(z.max_order + 1)) + "\n")
    return "".join(out)


def _reader(k: Kernel, fn: Callable[[Kernel], str]) -> Callable[[], str]:
    return lambda: fn(k)


def proc_init(k: Kernel) -> None:
    """The page allocator's and vmstat's /proc files (mm/vmstat.c, fs/proc/meminfo.c) and
    debugfs extfrag/ (mm/vmstat.c extfrag_debug_init), as this kernel has them."""
    f = k.features
    views: list[tuple[str, Callable[[Kernel], str]]] = [("buddyinfo", buddyinfo)]
    if f.migratetypes:
        views.append(("pagetypeinfo", pagetypeinfo))
    if f.proc_zoneinfo:
        views.append(("zoneinfo", zoneinfo if f.node_vmstat else zoneinfo_2_6))
    for name, fn in views:
        k.procfs.create(name, _reader(k, fn))
    for name, fn in (("vmstat", vmstat), ("meminfo", meminfo)):
        k.procfs.create(name, _reader(k, fn) if f.node_vmstat else _not_modelled(k, name))
    k.debugfs_fs.create("extfrag/extfrag_index", lambda: extfrag_index(k))
    k.debugfs_fs.create("extfrag/unusable_index", lambda: unusable_index(k))
