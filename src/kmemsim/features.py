"""Kernel features: what changed between the kernels kmemsim models, by name.

A subsystem never compares version strings.  It asks the machine's :class:`Features`
(``k.features.vmap_area``), resolved once at boot from the profile's kernel version, as
drgn's helpers choose their implementation per kernel once.  Each feature names the
release that introduced it (and, where it went away, the release that removed it) and
the commit or source it follows, so that a reader can check it and a new profile gets
every behaviour right by its version alone.

To add one: a :class:`Feature` in :data:`FEATURES` and an annotation of the same name
on :class:`Features` (a test checks that they agree); then ask for it where the
behaviour differs.  ``kmemsim features [--profile P]`` and ``docs/profiles.md`` list
them.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .errors import ConfigError
from .records import FrozenRecord

__all__ = ["Feature", "FEATURES", "Features", "parse_version", "feature_table", "SITES", "sites_for_kernel",
           "VMSTAT_ITEMS", "vmstat_items"]


def parse_version(text: str) -> tuple[int, ...]:
    """``"2.6.24"`` -> (2, 6, 24); ``"6.18"`` -> (6, 18)."""
    try:
        return tuple(int(p) for p in text.split("."))
    except ValueError:
        raise ConfigError(f"kernel version {text!r}: expected numbers separated by dots") from None


class Feature(FrozenRecord):
    """One behaviour a kernel release brought (``since``) and maybe a later one took away
    (``until``, the first release without it)."""

    __match_args__ = ("name", "since", "doc", "commit", "until")
    name: str
    since: str
    doc: str
    commit: str = ""  # the introducing commit (12 hex digits), or the source followed
    until: str | None = None

    def __init__(self, name: str, since: str, doc: str, commit: str = "", until: str | None = None) -> None:
        vars(self).update(name=name, since=since, doc=doc, commit=commit, until=until)

    def present(self, version: tuple[int, ...]) -> bool:
        if version < parse_version(self.since):
            return False
        return self.until is None or version < parse_version(self.until)


#: Every feature, in the order the kernels gained them.
FEATURES: tuple[Feature, ...] = (
    # ---- page allocator
    Feature("migratetypes", "2.6.24", "free lists split by mobility (MIGRATE_UNMOVABLE, RECLAIMABLE, MOVABLE, "
            "RESERVE) and per-pageblock migratetypes; /proc/pagetypeinfo", "b2a0ac8875a0"),
    Feature("zone_movable", "2.6.23", "ZONE_MOVABLE (kernelcore=/movablecore=)", "2a1e274acf0b"),
    Feature("zoneinfo_managed", "3.8", "zones count managed pages apart from present ones (watermarks from "
            "managed_pages)", "9feedc9d831e"),
    Feature("highatomic", "4.4", "MIGRATE_HIGHATOMIC replaces MIGRATE_RESERVE: high-order atomic reserve",
            "0aaa29a56e4f"),
    Feature("watermark_scale_factor", "4.6", "watermarks spaced by vm.watermark_scale_factor", "795ae7a0de6b"),
    Feature("pcp_high_order", "5.14", "the per-CPU lists hold orders 1-3 and THP order too (NR_PCP_LISTS)",
            "44042b449872"),
    Feature("pcp_high_autotune", "6.7", "pcp high auto-tuning between high_min and high_max "
            "(vm.percpu_pagelist_high_fraction sets high_min)", "90b41691b988"),
    # (page allocator: add here)
    # Evidence below names the trees read: /work/classic-build (2.6.11, 2.6.24, 6.6, 6.18) and
    # public snapshots of 2.6.12.1, 2.6.18, 2.6.20, 2.6.34, 4.4, 4.10, 4.19, 5.0, 5.4, 5.7, 5.11,
    # 6.1, 6.11.11, 6.12 and 6.13.2.  "since" is the release the change is known from; where the
    # trees only bracket it, the doc says so.
    Feature("zone_batch_pow2", "2.6.12", "zone_batchsize() clamps the pcp batch to 2^n - 1 (2.6.12 rounded it up, "
            "(1 << fls(b + b/2)) - 1, until a fix before 2.6.18; modelled in the fixed form, rounded down)",
            "mm/page_alloc.c free_area_init_core()/zone_batchsize(): no clamp in 2.6.11, fls() in 2.6.12.1, "
            "fls() - 1 in 2.6.18"),
    Feature("zone_batch_512k", "2.6.18", "the pcp batch is at most 512 KiB of pages (before: 256 KiB); "
            "between 2.6.12 and 2.6.18 the release is unverified",
            "mm/page_alloc.c zone_batchsize(): 256 * 1024 in 2.6.12.1, 512 * 1024 in 2.6.18 and 2.6.24"),
    Feature("watermark_share_gaps", "2.6.18", "the low and high watermarks are min plus a quarter and a half of "
            "the zone's share of min_free_kbytes, also for highmem, whose min is capped (before: 5/4 and 6/4 of "
            "min); between 2.6.12 and 2.6.18 the release is unverified",
            "mm/page_alloc.c setup_per_zone_pages_min(): pages_min * 5 / 4 in 2.6.11 and 2.6.12.1, "
            "pages_min + (tmp >> 2) in 2.6.18 and 2.6.24"),
    Feature("proc_zoneinfo", "2.6.13", "/proc/zoneinfo",
            "fs/proc/proc_misc.c: absent in 2.6.11 and 2.6.12.1; mm/vmstat.c zoneinfo_show() in 2.6.18"),
    Feature("trap6_invalid_operand", "2.6.0", "die() names trap 6 (the ud2 of BUG()) 'invalid operand'; later "
            "i386 kernels say 'invalid opcode' (2.6.24 does; the release between is not verified here)",
            "arch/i386/kernel/traps.c of 2.6.11: DO_ERROR_INFO( 6, SIGILL, \"invalid operand\", invalid_op, ...)",
            until="2.6.24"),
    Feature("pcp_cold_list", "2.6.0", "each pageset has a hot and a cold list (pcp[0], pcp[1]; /proc/zoneinfo "
            "prints both)", "include/linux/mmzone.h struct per_cpu_pageset: pcp[2] in 2.6.24, one pcp in 2.6.34",
            until="2.6.25"),
    Feature("pcp_low_mark", "2.6.0", "each per-CPU list has a low mark as well as high and batch: an order-0 "
            "allocation refills a batch (to the list's tail) while count <= low, and a free first gives a batch "
            "back when count >= high and then adds the page (the hot list: low 2*batch, high 6*batch; the cold "
            "one: low 0, high 2*batch); Mem-info prints 'cpu N hot: low L, high H, batch B'.  After: refill only "
            "an empty list, add and then trim; the release between 2.6.11 and 2.6.18 is unverified",
            "mm/page_alloc.c free_area_init_core(), buffered_rmqueue(), free_hot_cold_page(), "
            "show_free_areas() of 2.6.11 against zone_pcp_init()/setup_pageset() of 2.6.18 and 2.6.24",
            until="2.6.18"),
    Feature("warn_alloc_show_mem", "2.6.18", "the page allocation failure report ends with show_mem() (the "
            "Mem-info block); before, dump_stack() alone; the release between 2.6.11 and 2.6.18 is unverified",
            "mm/page_alloc.c __alloc_pages() nopage: of 2.6.11 and 2.6.18"),
    Feature("zoned_vm_counters", "2.6.18", "the vm counters are per zone (zone_page_state: nr_free_pages, "
            "nr_inactive, nr_active, nr_anon_pages, nr_mapped, nr_file_pages, nr_slab_*, ...): /proc/vmstat "
            "starts with them, Mem-info prints 'Active:.. inactive:.. dirty:.. writeback:.. unstable:..' then ' "
            "free:.. slab:.. mapped:.. pagetables:.. bounce:..'; before, the global page_state (/proc/vmstat "
            "starts with nr_dirty, nr_writeback, nr_unstable, nr_page_table_pages, nr_mapped, nr_slab; Mem-info "
            "has 'Free pages:' and one Active line).  The model prints 2.6.24's layouts from 2.6.18 to 4.7 "
            "(the fields added between are not modelled)",
            "mm/vmstat.c of 2.6.18 and 2.6.24 against mm/page_alloc.c vmstat_show(), show_free_areas() of 2.6.11"),
    Feature("zone_present_less_memmap", "2.6.24", "a zone's present_pages leave out the pages its own struct "
            "pages take ('DMA zone: 32 pages used for memmap' in the boot log), so the watermarks, "
            "lowmem_reserve and the pcp batch are computed from fewer pages; from 3.8 that count is "
            "managed_pages (zoneinfo_managed) and present_pages is memory again.  Absent in 2.6.18, present in "
            "2.6.24: the release between is unverified",
            "mm/page_alloc.c free_area_init_core(): 2.6.18 realsize = size - holes, 2.6.24 realsize -= "
            "memmap_pages (line 3350)", until="3.8"),
    Feature("costly_order_slowpath", "2.6.24", "__alloc_pages() does not call the OOM killer for an order above "
            "PAGE_ALLOC_COSTLY_ORDER (it fails instead) and drains the per-CPU lists after reclaiming for a "
            "higher order; before, out_of_memory() and restart for every order (2.6.11, 2.6.18)",
            "mm/page_alloc.c __alloc_pages(): 2.6.11 lines 826-839, the 2.6.18 tree, 2.6.24 (order > "
            "PAGE_ALLOC_COSTLY_ORDER, drain_all_local_pages())"),
    Feature("pcp_bulk_in_order", "2.6.24", "rmqueue_bulk() adds each page after the previous one (list_add "
            "on the last added), so a refilled pcp list hands pages out in physical order; before, "
            "list_add_tail() (2.6.11, 2.6.18)",
            "mm/page_alloc.c rmqueue_bulk(): list_add_tail in 2.6.18, list_add + list = &page->lru in 2.6.24"),
    Feature("buddy_merge_tail", "2.6.35", "__free_one_page() puts a freed block at the tail of its free list "
            "when its buddy of the next order is free (likely to merge soon), so allocations take other "
            "blocks first; before, every freed block went to the head.  The release is the kernel's history "
            "(Corrado Zoccolo's 'reduce fragmentation in buddy allocator by adding buddies that are merging to "
            "the tail of the free lists'), bracketed here by 2.6.24 without and 6.6 with",
            "mm/page_alloc.c __free_one_page(): list_add in 2.6.24, buddy_merge_likely() in 6.6"),
    Feature("khugepaged_min_free_kbytes", "2.6.38", "transparent hugepages: when khugepaged starts (THP enabled, "
            "512 MiB of RAM or more) set_recommended_min_free_kbytes() raises min_free_kbytes so that THP "
            "allocations find free pageblocks (the 512 MiB rule is verified from 4.19 on)",
            "mm/huge_memory.c hugepage_init(), mm/khugepaged.c: absent in 2.6.34, present in 4.19"),
    Feature("zone_watermark_order0", "4.4", "__zone_watermark_ok() checks the order-0 watermark and then only "
            "that a block of the order is free on a list the allocation may use; zone_watermark_fast() takes "
            "order-0 requests at once (before: a loop took every lower order's free pages off and halved min at "
            "each; the reserve reductions modelled are 6.18's, 4.4-6.2's ALLOC_HARDER ones are unverified)",
            "mm/page_alloc.c __zone_watermark_ok(): the per-order loop in 2.6.24 and 2.6.34, the order-0 check "
            "in 4.4"),
    Feature("reclaim_retry_watermark", "4.7", "__alloc_pages_slowpath() retries reclaim while a zone could meet "
            "its min watermark with its reclaimable pages, at most MAX_RECLAIM_RETRIES times without progress "
            "(should_reclaim_retry, should_compact_retry), then the OOM killer (before: retry every order <= "
            "PAGE_ALLOC_COSTLY_ORDER while reclaim made progress, the OOM killer when it made none; the 6.18 "
            "slow path is modelled for every release from 4.7)",
            "mm/page_alloc.c should_reclaim_retry(): absent in 4.4, present in 4.10"),
    Feature("node_vmstat", "4.8", "vm counters per node as well as per zone (node_stat_item): /proc/zoneinfo "
            "opens with 'per-node stats', /proc/vmstat lists zone, numa and node counters; the model prints "
            "/proc/vmstat and /proc/meminfo only in this era's (6.x) layout",
            "mm/vmstat.c NR_VM_NODE_STAT_ITEMS: absent in 4.4, present in 4.10"),
    Feature("zone_batch_1m", "4.19", "the pcp batch is at most 1 MiB of pages (before: 512 KiB)",
            "mm/page_alloc.c zone_batchsize(): 512 * 1024 in 4.4, 1024 * 1024 in 4.19"),
    Feature("watermark_boost", "5.0", "a fallback that steals a pageblock boosts the zone's watermarks "
            "(boost_watermark(), vm.watermark_boost_factor) and wakes kswapd",
            "mm/page_alloc.c boost_watermark(): absent in 4.19, present in 5.0"),
    Feature("warn_alloc_symbolic", "5.0", "the allocation-failure report is one line with the flags' names: "
            "'<comm>: page allocation failure: order:N, mode:0x..(GFP_..), nodemask=(null),cpuset=/,"
            "mems_allowed=0' (the form is complete in 5.0: 4.19 printed the cpuset on a line of its own, 4.4 no "
            "names; the model prints 2.6's 'page allocation failure. order:N, mode:0x..' before 5.0)",
            "mm/page_alloc.c warn_alloc(), kernel/cgroup/cpuset.c cpuset_print_current_mems_allowed() in 4.4, "
            "4.19 and 5.0"),
    Feature("min_free_kbytes_256m", "5.7", "the computed min_free_kbytes is capped at 256 MiB (before: 64 MiB)",
            "mm/page_alloc.c init_per_zone_wmark_min(): 65536 in 5.4, 262144 in 5.7"),
    Feature("pcp_high_from_wmark", "5.14", "pcp->high is the zone's low watermark (or managed pages / "
            "vm.percpu_pagelist_high_fraction) split across the CPUs, at least 4 * batch (before: 6 * batch)",
            "mm/page_alloc.c zone_highsize(): 6 * new_batch in 5.11, zone_highsize() in 6.1"),
    Feature("khugepaged_recalc_min_free_kbytes", "6.1", "with THP disabled, set_recommended_min_free_kbytes() "
            "recomputes min_free_kbytes once the watermarks exist; absent in 5.11, the release between is "
            "unverified", "mm/khugepaged.c set_recommended_min_free_kbytes(): in 6.1, not in 5.11"),
    Feature("free_highatomic_unusable", "6.12", "the watermark checks set aside the free pages of the highatomic "
            "reserve (zone->nr_free_highatomic; before: every reserved highatomic pageblock, "
            "nr_reserved_highatomic)", "mm/page_alloc.c __zone_watermark_unusable_free(): in 6.12, not in 6.11.11"),
    Feature("zoneinfo_promo", "6.12", "/proc/zoneinfo prints the promo watermark",
            "mm/vmstat.c zoneinfo_show_print(): in 6.12, not in 6.11.11"),
    # ---- GFP
    Feature("reclaim_flags_split", "4.4", "__GFP_WAIT split into __GFP_DIRECT_RECLAIM and __GFP_KSWAPD_RECLAIM",
            "d0164adc89f6"),
    Feature("gfp_cold", "2.6.0", "__GFP_COLD: cold pages from the tail of the pcp list", "", until="4.15"),
    # ---- slab
    Feature("slab_obj_exts", "6.10", "slab objects carry an obj_exts array (memcg, alloc tags); "
            "__GFP_NO_OBJ_EXT", "21c690a349ba"),
    Feature("kmem_cache_dtor", "2.6.0", "kmem_cache_create(name, size, align, flags, ctor, dtor) takes a destructor, "
            "run on each object of a slab before its pages are freed (later kernels: a dtor is a UsageError)",
            "include/linux/slab.h kmem_cache_create(): dtor in 2.6.11 and 2.6.20, gone in 2.6.24 (the kernel "
            "history's 'Slab allocators: Drop support for destructors', 2.6.23)", until="2.6.23"),
    # (slab: add here)
    # Which slab allocators a kernel offers (slab_allocator=slab|slub|slob, the Kconfig choice) and its default.
    # Trees read: 2.6.11, 2.6.12.1 (mm/slab.c only), 2.6.18, 2.6.20 (slab, slob), 2.6.24 (slab, slob, slub),
    # 6.1 (all three), 6.6 (slab, slub), 6.18 (slub).
    Feature("slab_allocator_slab", "2.6.0", "CONFIG_SLAB: the SLAB allocator (mm/slab.c) can be built "
            "(slab_allocator=slab); SLAB_DEPRECATED in 6.5, removed in 6.8",
            "mm/slab.c in the 2.6.11, 2.6.24 and 6.6 trees, not in 6.18; the releases are the kernel history's",
            until="6.8"),
    Feature("slab_allocator_slob", "2.6.16", "CONFIG_SLOB: the SLOB allocator (mm/slob.c, for EMBEDDED) can be built "
            "(slab_allocator=slob); removed in 6.4",
            "mm/slob.c absent in 2.6.12.1, present in 2.6.18, 2.6.24 and 6.1, absent in 6.6; 2.6.16 and 6.4 are "
            "the kernel history's", until="6.4"),
    Feature("slab_allocator_slub", "2.6.22", "CONFIG_SLUB: the SLUB allocator (mm/slub.c) can be built "
            "(slab_allocator=slub)", "mm/slub.c absent in 2.6.20, present in 2.6.24; 2.6.22 is the kernel history's"),
    Feature("slub_default", "2.6.23", "SLUB is the default slab allocator (before: SLAB)",
            "init/Kconfig 'Choose SLAB allocator' default SLUB in 2.6.24; 2.6.23 is the kernel history's"),
    Feature("slub_small_page_orders", "2.6.22", "SLUB's calculate_order() of the first releases: with 4 KiB pages "
            "DEFAULT_MAX_ORDER 1 and DEFAULT_MIN_OBJECTS 4 (slub_max_order/slub_min_objects defaults), waste "
            "fractions 1/8 then 1/4 and min_objects halved (later: up to PAGE_ALLOC_COSTLY_ORDER, min_objects "
            "4 * (fls(nr_cpus) + 1), fractions from 1/16); the 2.6.24 SLUB capture's kmalloc-512 is 8 objects "
            "in one page, kmalloc-2048 4 in two; absent in 6.6 (the release between is not verified here)",
            "mm/slub.c DEFAULT_MAX_ORDER, slab_order(), calculate_order() of 2.6.24 against 6.6", until="2.6.25"),
    Feature("slub_kmalloc_half_page", "2.6.24", "SLUB's kmalloc caches are kmalloc-8 ... kmalloc-2048 (with 96 and "
            "192), named in bytes: a request above PAGE_SIZE / 2 goes to the page allocator; no -rcl- or -cg- "
            "kinds, and a GFP_DMA kmalloc gets a kmalloc_dma-<size> cache made at its first use (the 2.6.24 SLUB "
            "captures list kmalloc-2048 as the largest, and no DMA cache after boot); 6.6 has kmalloc-8 ... "
            "kmalloc-8k in four kinds (the release between is not verified here)",
            "include/linux/slub_def.h kmalloc(), mm/slub.c dma_kmalloc_cache() of 2.6.24 against 6.6",
            until="2.6.25"),
    # SLAB (mm/slab.c) across its life: 2.6.11 -> 2.6.24 -> 6.6.  Where the trees only bracket a change the
    # doc says so and "since" is the first tree read with it.
    Feature("slab_numa_lists", "2.6.18", "the NUMA-aware SLAB: per-node kmem_list3 lists kmalloc'd beside the "
            "cache, with their own colour_next and free_limit; struct slab carries nodeid (28 bytes on i386); "
            "cachep->shared is a tunable of its own, printed as sharedfactor, and a node's shared array exists "
            "only when shared > 0 (before: the lists inside kmem_cache, a shared array of batchcount*shared "
            "entries always, sharedfactor printed as shared->limit / batchcount).  Absent in 2.6.12.1, present "
            "in 2.6.18 (Christoph Lameter's NUMA slab allocator of 2005; the release between is unverified)",
            "mm/slab.c struct kmem_list3, s_show(), alloc_kmemlist() of 2.6.18 and 2.6.24 against 2.6.11"),
    Feature("slab_bufctl_uint", "2.6.18", "kmem_bufctl_t is an unsigned int on i386 (before: unsigned short, so "
            "2.6.11 fits 119 objects of 32 bytes in a page where 2.6.24 fits 113); absent in 2.6.12.1, present in "
            "2.6.18 (the release between is unverified)",
            "include/asm-i386/types.h (2.6.11, 2.6.12.1) against mm/slab.c typedef (2.6.18, 2.6.24)"),
    Feature("slabinfo_write_lenient", "2.6.18", "a /proc/slabinfo write with bad tunables (limit < 1, batchcount "
            "< 1 or > limit, shared < 0) for an existing cache is accepted and ignored (res = 0: the count is "
            "returned; before: -EINVAL); absent in 2.6.12.1, present in 2.6.18",
            "mm/slab.c slabinfo_write() of 2.6.11/2.6.12.1 against 2.6.18, 2.6.24 and 6.6"),
    Feature("slab_duplicate_name_null", "2.6.18", "kmem_cache_create() of a name already in use prints "
            "'kmem_cache_create: duplicate cache <name>' with a stack dump and returns NULL (before: the same "
            "line, then BUG()); absent in 2.6.12.1, present in 2.6.18 (the dump_stack and KERN_ERR of 2.6.24)",
            "mm/slab.c kmem_cache_create() of 2.6.11 and 2.6.24"),
    Feature("slab_shared_possible_cpus", "2.6.24", "SLAB gives a cache a shared array (sharedfactor 8) only when "
            "more than one CPU is possible (before: whenever CONFIG_SMP, so 2.6.11 prints 8 with one CPU); "
            "#ifdef CONFIG_SMP in 2.6.20, num_possible_cpus() > 1 in 2.6.24",
            "mm/slab.c enable_cpucache() of 2.6.11, 2.6.20 and 2.6.24"),
    Feature("zero_size_ptr", "2.6.24", "kmalloc(0) returns ZERO_SIZE_PTR ((void *)16), which kfree() ignores "
            "(before: an object of the smallest general cache); absent in 2.6.20, present in 2.6.24 (2.6.23 by "
            "the kernel history)", "include/linux/slab.h ZERO_SIZE_PTR; mm/slab.c __find_general_cachep()"),
    Feature("slab_gfp_zero", "2.6.24", "the slab allocators honour __GFP_ZERO (kmem_cache_alloc/kmalloc zero the "
            "object; before, kzalloc() and kcalloc() memset the object themselves and SLAB ignored the flag); absent "
            "in 2.6.20's mm/slab.c, present in 2.6.24 (2.6.23 by the kernel history)",
            "mm/slab.c __cache_alloc() of 2.6.24; mm/util.c __kzalloc() of 2.6.18 and 2.6.20"),
    Feature("kmalloc_max_order", "2.6.24", "SLAB's general caches go up to KMALLOC_MAX_SIZE (2^(MAX_ORDER + "
            "PAGE_SHIFT - 1), 4 MiB on x86) and cache orders up to KMALLOC_MAX_ORDER (before: up to size-131072, "
            "slabs of at most 2^5 pages, MAX_GFP_ORDER); absent in 2.6.20, present in 2.6.24",
            "include/linux/kmalloc_sizes.h, mm/slab.c calculate_slab_order() of 2.6.20 and 2.6.24"),
    Feature("slab_ctor_flags", "2.6.0", "a slab constructor is ctor(obj, cache, flags) with SLAB_CTOR_CONSTRUCTOR "
            "(| SLAB_CTOR_ATOMIC when the allocation may not sleep) (2.6.11, 2.6.20); later ctor(cache, obj) "
            "(2.6.24) and ctor(obj) (2.6.34 and 6.x)",
            "include/linux/slab.h kmem_cache_create() of 2.6.11, 2.6.20, 2.6.24; 2.6.24's change is the kernel "
            "history's 'Slab API: remove useless ctor parameter and reorder parameters'", until="2.6.24"),
    Feature("slab_ctor_cache_first", "2.6.24", "a slab constructor is ctor(cache, obj) (before: ctor(obj, cache, "
            "flags); after: ctor(obj), as 2.6.34 and 6.x have it; 2.6.27 by the kernel history)",
            "include/linux/slab.h kmem_cache_create() of 2.6.24 and 2.6.34", until="2.6.27"),
    Feature("slab_freelist_index", "4.4", "SLAB keeps its slab management in struct page: a freelist_idx_t "
            "(unsigned char) index array at the end of the slab, off the slab, or (OBJFREELIST) inside a free "
            "object; no struct slab or kmem_bufctl_t any more, objects start at the colour offset; off-slab only "
            "when the freelist's kmalloc cache is at most half the object size; the per-CPU arrays come from the "
            "percpu allocator, not kmalloc.  Absent in 2.6.34, present in 4.4 (Joonsoo Kim's 3.15 series by the "
            "kernel history); the model follows 6.6",
            "mm/slab.c cache_estimate(), set_objfreelist_slab_cache(), set_off_slab_cache() of 4.10 and 6.6"),
    Feature("slab_common_kmalloc", "4.4", "SLAB's general caches are the common kmalloc caches of "
            "mm/slab_common.c, named kmalloc-<size> (kmalloc-96 and kmalloc-192 among them), with the kmem_cache "
            "destroy report and create path of slab_common.c (before: size-<N> and size-<N>(DMA) from "
            "kmalloc_sizes.h); absent in 2.6.34, present in 4.4 (3.9 by the kernel history)",
            "mm/slab_common.c create_kmalloc_caches(), kmalloc_info[] of 4.4 and 6.6"),
    Feature("kmalloc_short_names", "5.4", "kmalloc cache names use k and M for whole KiB and MiB (kmalloc-1k; "
            "before kmalloc-1024), and reclaimable kmalloc-rcl-<size> caches exist; kmalloc-1024 in 4.10, "
            "kmalloc-1k and kmalloc-rcl- in 5.4 (4.20 by the kernel history)",
            "mm/slab_common.c kmalloc_info[] of 4.10, 5.4 and 6.6"),
    Feature("slab_kmalloc_large", "6.1", "SLAB's kmalloc caches stop at KMALLOC_SHIFT_HIGH = PAGE_SHIFT + 1 "
            "(kmalloc-8k) and larger kmalloc() goes to the page allocator as SLUB's does (__kmalloc_large_node, "
            "__GFP_COMP); before, SLAB's caches went to KMALLOC_MAX_SIZE; the SLAB branch of include/linux/slab.h "
            "in 5.11 and 6.1", "include/linux/slab.h KMALLOC_SHIFT_HIGH, mm/slab_common.c __do_kmalloc_node() of "
            "6.1 and 6.6"),
    Feature("trace_kmem_cache_alloc_name", "6.18", "the kmem_cache_alloc tracepoint prints the cache's name=%s "
            "after ptr= (kmem_cache_free has printed it since 5.12)",
            "include/trace/events/kmem.h TRACE_EVENT(kmem_cache_alloc): absent in 6.6, present in 6.18 (Wander "
            "Lairson Costa, 'kmem/tracing: Add kmem name to kmem_cache_alloc tracepoint', posted 2025-08)"),
    # ---- vmalloc
    Feature("vmap_area", "2.6.28", "vmap areas in a red-black tree with lazy TLB purging (before: the vmlist "
            "list of vm_structs)", "db64fe02258f"),
    Feature("proc_vmallocinfo", "2.6.26", "/proc/vmallocinfo (merged for 2.6.26: still under review in March 2008)",
            "a10aa579878f"),
    Feature("vzalloc", "2.6.37", "vzalloc() and vzalloc_node()", "e1ca7788dec6"),
    Feature("vfree_atomic", "4.10", "vfree_atomic()", "bf22e37a6413"),
    # (vmalloc, page tables, highmem: add here)
    Feature("vmalloc_node", "2.6.16", "vmalloc_node(): vmalloc on a given NUMA node (absent in the 2.6.11 tree, "
            "present in 2.6.24; the release is not verified)", "mm/vmalloc.c vmalloc_node()"),
    Feature("vmalloc_user", "2.6.18", "vmalloc_user() and vmalloc_32_user(): zeroed VM_USERMAP areas for "
            "remap_vmalloc_range() (absent in the 2.6.11 tree, present in 2.6.24; the release is not verified)",
            "mm/vmalloc.c vmalloc_user(), vmalloc_32_user()"),
    Feature("vm_struct_requested_size", "6.15", "struct vm_struct has requested_size (for vrealloc): 72 bytes on "
            "x86_64, kmalloc-96 (before: 64, kmalloc-64; 6.6 include/linux/vmalloc.h); also in 6.14.y and "
            "6.12.y stable", "a0309faf1cb0"),
    Feature("vmap_nodes", "6.9", "vmap nodes: per-node busy and lazy trees and size-segregated pools of purged "
            "areas, nr_vmap_nodes = clamp(num_possible_cpus, 1, 128) on 64-bit; purged areas merge back in "
            "reverse order (before: one busy tree, one purge list merged in address order, no pools; 6.6 "
            "mm/vmalloc.c __purge_vmap_area_lazy)", "72210662c5a2"),
    Feature("vmap_fail_range_msg", "6.11", "alloc_vmap_area() failure prints 'vmalloc_node_range for size N "
            "failed: Address range restricted to S - E' (before: 'vmap allocation for size N failed: use "
            "vmalloc=<size> to increase size', 6.6); the patch was posted against 6.10-rc1, the release is "
            "inferred, not verified", "mm/vmalloc.c alloc_vmap_area()"),
    Feature("ptr_hashing", "4.15", "%p prints a hashed id instead of the address (ptr_to_id(), lib/vsprintf.c; "
            "2.6.24 printed the raw pointer)", "ad67b74d2469"),
    Feature("pte_alloc_gfp_repeat", "2.6.0", "kernel PTE tables come from __get_free_page(GFP_KERNEL | "
            "__GFP_REPEAT | __GFP_ZERO) (2.6.11 and 2.6.24 arch/.../pgtable.c pte_alloc_one_kernel; 6.6: "
            "GFP_PGTABLE_KERNEL = GFP_KERNEL | __GFP_ZERO); the release that dropped __GFP_REPEAT (Michal "
            "Hocko's __GFP_REPEAT removal, 4.7) is not verified", "arch/x86/mm/pgtable_32.c pte_alloc_one_kernel()",
            until="4.7"),
    Feature("pgtable_pmd_accounting", "5.10", "PMD page tables, kernel ones included, are counted in NR_PAGETABLE "
            "(meminfo PageTables) by pgtable_pmd_page_ctor() (6.6 include/asm-generic/pgalloc.h pmd_alloc_one)",
            "b2b29d6d0119"),
    Feature("pgtable_upper_accounting", "6.14", "PUD, P4D and PGD page tables are counted in NR_PAGETABLE too "
            "(Kevin Brodsky, 'Account page tables at all levels', v2 posted 2025-01-03; the release is inferred, "
            "not verified; 6.6's __pud_alloc_one() has no ctor)", "include/asm-generic/pgalloc.h __pud_alloc_one()"),
    Feature("kernel_pte_accounting", "6.16", "kernel PTE tables (pte_alloc_one_kernel) run the pagetable ctor and "
            "are counted in NR_PAGETABLE (Kevin Brodsky, 'mm: Call ctor/dtor for kernel PTEs', v2 posted "
            "2025-04-08; the release is inferred, not verified; 6.18 include/linux/mm.h pagetable_pte_ctor(mm, "
            "ptdesc) skips only the ptlock for init_mm)", "include/asm-generic/pgalloc.h __pte_alloc_one_kernel()"),
    Feature("preallocate_vmalloc_pgtables", "5.9", "x86_64 allocates every PUD (P4D) table of the vmalloc area at "
            "boot (preallocate_vmalloc_pages(), arch/x86/mm/init_64.c) instead of syncing the PGDs later",
            "6eb82f994026"),
    Feature("lookup_address_none_level", "6.10", "lookup_address() reports the level of the none entry it stopped "
            "at (PG_LEVEL_256T/512G/1G/2M); before, the level of the last present entry above (PG_LEVEL_NONE at "
            "the top; 6.6 arch/x86/mm/pat/set_memory.c). Kirill Shutemov, 'x86/mm: Return correct level from "
            "lookup_address() if pte is none', v9 posted 2024-03-25; the release is inferred, not verified",
            "arch/x86/mm/pat/set_memory.c lookup_address_in_pgd_attr()"),
    Feature("kmap_atomic_pte_check", "2.6.21", "kmap_atomic() BUGs on a slot whose PTE is in use and "
            "kunmap_atomic() clears the slot's PTE (kpte_clear_flush) without CONFIG_DEBUG_HIGHMEM; 2.6.11 did "
            "neither. In the 2.6.24 tree, not in 2.6.11; 2.6.21 (the VMI paravirt kpte_clear_flush) is inferred, "
            "not verified", "arch/x86/mm/highmem_32.c kmap_atomic_prot(), kunmap_atomic()"),
    Feature("kmap_atomic_stack", "2.6.37", "kmap_atomic() slots are a per-CPU stack and the km_type argument is "
            "ignored (the deprecated two-argument form went away in 3.6, 1285e4c8a751; the model refuses it from "
            "2.6.37); before, one fixmap slot per km_type per CPU", "3e4d3af501cc"),
    Feature("generic_kmap", "5.8", "kmap()/kunmap() are generic (include/linux/highmem.h, highmem-internal.h "
            "from 5.11): kunmap() may sleep instead of BUG()ing in interrupt context (Ira Weiny, 'Remove "
            "duplicated kmap code', rebased on 5.7-rc4; the release is inferred, not verified); before, "
            "arch/x86/mm/highmem_32.c", "include/linux/highmem-internal.h kmap(), kunmap()"),
    # ---- reclaim, swap, OOM
    # (reclaim: add here)
    Feature("movable_user_pages", "2.6.23", "page cache and anonymous user pages are __GFP_MOVABLE: mapping_gfp_mask() "
            "GFP_HIGHUSER_PAGECACHE (= GFP_HIGHUSER_MOVABLE), anonymous faults "
            "alloc_zeroed_user_highpage_movable() (before: GFP_HIGHUSER, as 2.6.11's fs/inode.c and "
            "include/asm-i386/page.h have it)", "769848c03895"),
    Feature("pagecache_folios", "5.16", "page cache pages are allocated as folios: filemap_alloc_folio() -> "
            "folio_alloc(), which adds __GFP_COMP (before: __page_cache_alloc() = alloc_pages(gfp, 0), "
            "include/linux/pagemap.h of 2.6.24); the model gives shmem the same gfp, whose own conversion to "
            "folios came a little later (unverified between 5.16 and 6.6)",
            "mm/filemap.c filemap_alloc_folio(), mm/mempolicy.c folio_alloc() of 6.6; the folio series of 5.16"),
    Feature("anon_folios", "6.3", "anonymous faults allocate a folio: do_anonymous_page() -> "
            "vma_alloc_zeroed_movable_folio() -> vma_alloc_folio(), which adds __GFP_COMP (before: "
            "alloc_zeroed_user_highpage_movable(), no __GFP_COMP); 6.3 is from the kernel's history, bracketed "
            "here by 2.6.24 (without) and 6.6 (with)",
            "arch/x86/include/asm/page.h vma_alloc_zeroed_movable_folio(), mm/memory.c do_anonymous_page() of 6.6"),
    Feature("oom_score_adj", "2.6.36", "the OOM killer's rewrite: oom_badness() from rss, swap entries and page "
            "tables with oom_score_adj -1000..1000, and its report (before: badness() from total_vm, /4 for root, "
            "shifted by oomkilladj -16..15, -17 OOM_DISABLE, as in 2.6.11 and 2.6.24).  The model's oom_badness() "
            "and report are 6.18's (oom_badness() is the same in 6.6; the scale and root bonus of 2.6.36-5.8 are "
            "not modelled)", "a63d83f427fb"),
    # ---- contexts, tasks, mempool
    # (contexts: add here)
    Feature("oom_report_header", "2.6.24", "the OOM killer's report opens with '<comm> invoked oom-killer: "
            "gfp_mask=0x%x, order=%d, oomkilladj=%d' and a stack dump, shows show_mem() and ends 'Out of memory: "
            "kill process N (comm) score S or a child' / 'Killed process N (comm)'; before, 'oom-killer: "
            "gfp_mask=0x%x', show_free_areas() and 'Out of Memory: Killed process N (comm).'.  Absent in 2.6.11, "
            "present in 2.6.24: the release between is unverified",
            "mm/oom_kill.c out_of_memory(), __oom_kill_task() of 2.6.11 (lines 192, 275) and 2.6.24"),
    Feature("warn_on_warning_at", "2.6.24", "a WARN_ON() prints 'WARNING: at file:line func()' and the stack "
            "(include/asm-generic/bug.h of 2.6.24, no taint); before, 'Badness in func at file:line' (2.6.11).  From "
            "dumpstack_6x the 6.x '------------[ cut here ]------------' / 'WARNING: CPU: c PID: p at ...' report with "
            "taint W.  Absent in 2.6.11, present in 2.6.24: the release between is unverified",
            "include/asm-generic/bug.h WARN_ON() of 2.6.11 (line 26) and 2.6.24 (line 35)"),
    Feature("dump_stack_header", "2.6.24", "i386 dump_stack() opens with 'Pid: %d, comm: %.20s %s %s %.*s' "
            "(pid, comm, taint, release, version) and ends with ' ======================='; before, the "
            "bare call trace (show_trace()).  Absent in 2.6.11, present in 2.6.24: the release between is "
            "unverified", "arch/i386/kernel/traps.c dump_stack() of 2.6.11 (line 194); arch/x86/kernel/traps_32.c "
            "dump_stack() of 2.6.24"),
    Feature("sched_bug_prefix", "2.6.16", "the scheduler's debug reports begin with 'BUG: ' ('BUG: sleeping "
            "function called from invalid context at f:l', 'BUG: scheduling while atomic: comm/pid/0xcount'); "
            "before, 'Debug: sleeping function ...' and 'scheduling while atomic: comm/0xcount/pid'. The "
            "prefix came with Ingo Molnar's 'make bug messages more consistent' (2006-01, 2.6.16); the pid "
            "before the count is 2.6.24's order, and when it changed between 2.6.16 and 2.6.24 is unverified",
            "kernel/sched.c __might_sleep(), schedule() of 2.6.11 and __schedule_bug() of 2.6.24"),
    Feature("might_resched", "5.16", "__might_resched(): the sleeping-function report's second line is "
            "'in_atomic(): %d, irqs_disabled(): %d, non_block: %d, pid: %d, name: %s', followed by "
            "'preempt_count: %x, expected: %x' and 'RCU nest depth: %d, expected: %u'; before, 2.6.x's "
            "'in_atomic():%d, irqs_disabled():%d' alone (the releases between, which added pid/name and "
            "non_block one by one, are not modelled: they print the 2.6 form here)",
            "kernel/sched/core.c __might_resched() (6.6, 6.18) against kernel/sched.c __might_sleep() (2.6.24); "
            "Thomas Gleixner's 'sched: Make might_sleep() output less confusing' series, 5.16"),
    Feature("sched_show_task_labels", "5.9", "sched_show_task() labels its fields ('task:%-15.15s state:%c "
            "stack:%-5lu pid:%-5d ppid:%-6d flags:0x%08lx'); the model's hung-task report then follows 6.x "
            "(the taint and release line, the Call Trace); before, 2.6's '%-13.13s %c' row. 2.6.24 had no "
            "hung-task detector at all (it came in 2.6.25): the model still reports a task that can never be "
            "woken, in that early form, instead of hanging", "cc172ff301d8"),
    Feature("sched_show_task_tgid", "6.7", "sched_show_task() prints tgid:%-5d after pid: (not in 6.6)",
            "9b46f1abc6d4"),
    # ---- tracing, debugging, devices
    Feature("kmem_tracepoints", "2.6.32", "the kmem tracepoints (kmalloc, kfree, kmem_cache_alloc/free, "
            "mm_page_alloc/free ...)",
            "include/trace/events/kmem.h; the page events from Mel Gorman's 'tracing, page-allocator: Add trace "
            "events for page allocation and page freeing' series (2009-09, 2.6.32)"),
    Feature("dma_api_debug", "2.6.30", "CONFIG_DMA_API_DEBUG: the DMA-API debugging checks and their reports",
            "f2f45e5f3c92"),
    Feature("failslab", "2.6.20", "failslab fault injection for the slab allocator (SLAB's should_failslab; "
            "SLUB got it in 2.6.31: failslab_slub)", "mm/slab.c should_failslab(), lib/fault-inject.c"),
    Feature("fault_inject_fail_nth", "4.13", "/proc/<pid>/fail-nth: systematic fault injection (absent in 4.9, "
            "present in 4.14 trees read here)", "fs/proc/base.c proc_fail_nth_operations, lib/fault-inject.c"),
    # (DMA, ioremap, resources, fault injection: add here)
    # I/O resources (kernel/resource.c, arch/x86/kernel/e820*.c, setup*.c)
    Feature("resource_size_t", "2.6.18", "struct resource holds resource_size_t and __release_region() warns "
            "'Trying to free nonexistent resource <%016llx-%016llx>' (before: unsigned long, <%08lx-%08lx>)",
            "kernel/resource.c __release_region(): 2.6.11 <%08lx-%08lx>, 2.6.24 <%016llx-%016llx>; "
            "the release is the kernel history's, not pinned in a tree here"),
    Feature("release_region_pa", "6.6", "__release_region() prints the range with %pa ('<0x%016llx-...>'); "
            "introducing release not pinned: 3.14 still prints %016llx, 6.6 is the first read with %pa",
            "kernel/resource.c __release_region(): 3.14 vs 6.6"),
    Feature("iomem_kernel_bss", "2.6.24", "a 'Kernel bss' resource beside 'Kernel code' and 'Kernel data'",
            "2.6.24 arch/x86/kernel/e820_32.c legacy_init_iomem_resources(bss_resource); 2.6.11 "
            "arch/i386/kernel/setup.c has code and data only (tests/data/classic/*/iomem.txt)"),
    Feature("iomem_exclusive", "2.6.26", "__request_region() takes flags: request_mem_region_exclusive() "
            "(IORESOURCE_EXCLUSIVE) and IORESOURCE_MUXED", "kernel/resource.c __request_region(): no flags in "
            "2.6.24, flags in 3.14 and 6.6; the release is the kernel history's (Arjan van de Ven's MMIO "
            "exclusivity), not pinned here"),
    Feature("e820_reserve_resources_late", "2.6.28", "x86 builds iomem from the e820 table in two passes: the "
            "kernel image resources are inserted first and adopted by the RAM range inserted over them, the "
            "busy ranges at once, the other reserved ranges late with insert_resource_expand_to_fit and a "
            "'RAM buffer' after each RAM range; the first page is reserved; names 'System RAM', 'Reserved', "
            "'Kernel rodata'.  Before: i386's legacy_init_iomem_resources() requested each e820 range below 4 "
            "GiB and the kernel's resources inside its RAM range.  The tree of a release between 2.6.28 and "
            "6.6 is unverified (its parts came in several releases)",
            "2.6.24 arch/x86/kernel/e820_32.c; 6.6 arch/x86/kernel/e820.c e820__reserve_resources(_late), "
            "setup.c (tests/data/classic/linux-6.6-x86_64/slab-1g-smp2/iomem.txt)"),
    Feature("iores_sysram", "4.6", "IORESOURCE_SYSRAM and I/O resource descriptors: System RAM is known by "
            "its flag (not its name), and __request_region() gives a region its parent's type, ext-type bits "
            "and descriptor (the type inheritance alone may be older: 3.14 sets IORESOURCE_BUSY | flags only)",
            "include/linux/ioport.h, kernel/resource.c __request_region_locked() of 6.6; 3.14 and 2.6.24 "
            "without; the release is the kernel history's"),
    Feature("iomem_hide_unprivileged", "4.15", "/proc/iomem shows zeros for the addresses to readers "
            "without CAP_SYS_ADMIN", "kernel/resource.c r_show(): file_ns_capable() in 6.6, not in 3.14; "
            "the release is the kernel history's"),
    # ioremap (arch/x86/mm/ioremap*.c, arch/x86/include/asm/io.h, arch/x86/lib/iomem.c)
    Feature("x86_pat", "2.6.26", "x86 PAT: ioremap() reserves a memory type for the physical range "
            "(memtype_reserve/memtype_free: 'conflicting memory types', 'ioremap error for ...'), refuses RAM "
            "that is not reserved, maps with the cache mode's PAT bits and is UC- by default (before: "
            "__ioremap(phys, size, 0) cached, ioremap_nocache() PCD).  The ioremap of a release between "
            "2.6.26 and 6.6 is unverified (2.6.25 already made ioremap() uncached)",
            "2.6.24 arch/x86/mm/ioremap_32.c __ioremap(); 6.6 arch/x86/mm/ioremap.c __ioremap_caller()"),
    Feature("ioremap_cache", "2.6.25", "ioremap_cache() (write-back)",
            "absent in 2.6.24 include/asm-x86/io_32.h, present in 6.6 arch/x86/include/asm/io.h"),
    Feature("ioremap_wc", "2.6.26", "ioremap_wc() (write-combining, with PAT)",
            "absent in 2.6.24 include/asm-x86/io_32.h, present in 6.6 arch/x86/include/asm/io.h"),
    Feature("ioremap_uc", "4.1", "ioremap_uc() (strong UC)",
            "absent in 2.6.24, present in 6.6 arch/x86/include/asm/io.h; the release is the kernel history's"),
    Feature("ioremap_nocache", "2.6.0", "ioremap_nocache() (removed when ioremap() itself was uncached "
            "everywhere)", "2.6.11 include/asm-i386/io.h, 2.6.24 include/asm-x86/io_32.h; gone in 6.6",
            until="5.6"),
    Feature("iounmap_is_ioremap_addr", "6.11", "iounmap() refuses an address outside the ioremap range with "
            "WARN_ON_ONCE(!is_ioremap_addr()) (before: it returned quietly at or below high_memory, WARNed "
            "'iounmap() called for ISA range not obtained using ioremap()' and said 'iounmap: bad address' "
            "for the rest)", "arch/x86/mm/ioremap.c iounmap(): 6.6 vs 6.18; the release is the kernel "
            "history's, not pinned here"),
    Feature("x86_iomem_memcpy", "5.0", "memcpy_fromio()/memcpy_toio() are arch/x86/lib/iomem.c's: a byte and "
            "a word to align the I/O side, then rep movsl (before: i386's __memcpy, rep movsl from the start)",
            "2.6.24 include/asm-x86/io_32.h; 6.6 arch/x86/lib/iomem.c; the release is the kernel history's, "
            "not pinned here"),
    # DMA (kernel/dma/, include/linux/dma-mapping.h, arch/x86/kernel/pci-dma*.c)
    Feature("dma_direct", "4.16", "x86 maps DMA through the generic dma-direct code: dma_capable() mask "
            "checks with 'DMA addr ... overflow', dma_mapping_error() that reports DMA_MAPPING_ERROR, vmalloc "
            "memory refused, coherent memory from the zone the mask needs with DMA32/DMA retries, freed by the "
            "handle.  Before: i386's inline dma_map_single() = virt_to_phys() and pci-dma_32.c's GFP_DMA rule. "
            "The DMA layer of a release between 2.6.24 and 6.6 is unverified (x86 had nommu dma_ops from "
            "2.6.26; DMA_MAPPING_ERROR and the vmalloc check came after 4.16)",
            "2.6.24 include/asm-x86/dma-mapping_32.h, arch/x86/kernel/pci-dma_32.c; 6.6 kernel/dma/mapping.c, "
            "direct.c, include/linux/dma-mapping.h"),
    Feature("dma_map_phys", "6.18", "streaming DMA maps go through dma_map_phys(); dma-debug records them as "
            "'phy' entries and its dump prints P=0x%016llx (before: dma_map_page_attrs(), 'single' entries, "
            "'P=%llx N=%lx')", "6.18 include/linux/dma-mapping.h dma_map_phys(); 6.6 kernel/dma/debug.c"),
    # fault injection (lib/fault-inject.c, mm/failslab.c, mm/fail_page_alloc.c, fs/libfs.c, lib/random32.c)
    Feature("fail_page_alloc", "2.6.20", "the fault-injection framework (lib/fault-inject.c, "
            "/proc/<pid>/make-it-fail) and fail_page_alloc",
            "2.6.24 lib/fault-inject.c, mm/page_alloc.c fail_page_alloc; none in 2.6.11"),
    Feature("failslab_slub", "2.6.31", "SLUB calls should_failslab() (before, only SLAB had failslab)",
            "2.6.24 mm/slub.c without should_failslab(); 6.6 mm/slab.h slab_pre_alloc_hook(); the release is "
            "the kernel history's"),
    Feature("fault_prob0_shortcut", "2.6.32", "should_fail() returns at once for probability 0 (before, space "
            "and the interval count moved even then); introducing release not pinned: absent in 2.6.24, "
            "present in 2.6.32, the first read with it", "lib/fault-inject.c should_fail(): 2.6.24 vs 2.6.32"),
    Feature("fault_inject_ratelimit", "4.6", "fault attributes' verbose_ratelimit_interval_ms/_burst knobs; "
            "fail_dump() is rate limited and prints 'FAULT_INJECTION: forcing a failure.' with the name, "
            "interval, probability, space and times (before: one line)", "lib/fault-inject.c fail_dump(), "
            "fault_create_debugfs_attr(): 3.14 without, 4.9 with; the release is the kernel history's"),
    Feature("fault_stacktrace_early", "6.1", "should_fail_ex() checks the stack filter before space and "
            "interval, and for a fail-nth failure too (before: last, after the draw)", "lib/fault-inject.c: "
            "4.14 last, 6.6 early; the release is the kernel history's, not pinned here"),
    Feature("should_fail_ex", "6.1", "should_fail_ex() with FAULT_NOWARN: failslab and fail_page_alloc fail "
            "__GFP_NOWARN allocations without fail_dump()", "6.6 lib/fault-inject.c, mm/failslab.c, "
            "mm/fail_page_alloc.c; 2.6.24 and 4.14 should_fail() without; the release is the kernel history's"),
    Feature("fault_attr_xul", "5.5", "the stack-filter range knobs (require-start ...) print in hex "
            "(debugfs_create_xul; before: decimal ulongs)", "lib/fault-inject.c: 4.14 debugfs_create_ul, 6.6 "
            "debugfs_create_xul; the release is the kernel history's, not pinned here"),
    Feature("debugfs_strict_parse", "6.1", "debugfs knob writes are parsed strictly: simple_attr_write with "
            "kstrtoull/kstrtoll (-EINVAL, -ERANGE; signed for atomic_t) and write_file_bool with kstrtobool "
            "(y/n/1/0/on/off, else -EINVAL).  Before: simple_strtol() of the leading digits and a bool's "
            "first character (y/Y/1, n/N/0; anything else ignored).  The pieces came between 2.6.24 and 6.6 "
            "(kstrtoull in 5.x, the signed attributes last): a release between is unverified",
            "fs/libfs.c simple_attr_write(), fs/debugfs/file.c: 2.6.24 vs 6.6"),
    Feature("prandom_lfsr113", "3.13", "prandom_u32 is the four-word LFSR113 generator (before: random32(), "
            "three-word taus88); fault injection draws from it (6.6's get_random_u32_below() is modelled by "
            "it too)", "lib/random32.c: 2.6.24 __random32 (taus88), 6.6 lfsr113; the release is the kernel "
            "history's"),
    # ---- boot and reports
    Feature("e820_mem_format", "3.4", "the firmware map prints as 'BIOS-e820: [mem 0x...-0x...] usable' "
            "(before: ' BIOS-e820: <start> - <end> (usable)'); the change is Bjorn Helgaas's series printing "
            "physical addresses the same way everywhere",
            "arch/x86/kernel/e820.c e820_print_map() (2.6.24 e820_32.c print_memory_map); 6.6 e820__print_table"),
    Feature("dumpstack_6x", "5.16", "die(), __warn() and dump_stack() print the 6.x way: 'Oops: ...', "
            "'CPU: n UID: u PID: p Comm: c', 'RIP:', the call trace inside <TASK> markers (the last piece, "
            "arrived in 5.16); before, the 2.6 i386 way ('Oops: 0002 [#1] SMP', 'Pid: p, comm: c', 'EIP is at')",
            "arch/x86/kernel/dumpstack.c, lib/dump_stack.c"),
)


class Features:
    """The features of one kernel version, resolved once (``k.features``).

    Every feature of :data:`FEATURES` is a bool attribute; ``version`` is the kernel's
    release as a tuple.  Asking for a name that is not a feature is an AttributeError."""

    __slots__ = ("version", *(f.name for f in FEATURES))

    version: tuple[int, ...]

    if TYPE_CHECKING:  # every feature is a bool; the names are checked by tests/test_features.py
        def __getattr__(self, name: str) -> bool: ...

    def __init__(self, kernel_version: str) -> None:
        version = parse_version(kernel_version)
        object.__setattr__(self, "version", version)
        for f in FEATURES:
            object.__setattr__(self, f.name, f.present(version))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("a machine's features are fixed at boot")

    def __repr__(self) -> str:
        on = [f.name for f in FEATURES if getattr(self, f.name)]
        return f"<Features {'.'.join(map(str, self.version))}: {', '.join(on)}>"

    def items(self) -> list[tuple[Feature, bool]]:
        """Every feature with whether this kernel has it."""
        return [(f, getattr(self, f.name)) for f in FEATURES]


def _span(f: Feature) -> str:
    return f.since + (f"-{f.until}" if f.until else "+")


def feature_table(kernels: Sequence[tuple[str, str]]) -> str:
    """Every feature as a Markdown table: name, the releases that have it, one column per
    ``(label, kernel_version)`` of ``kernels`` (yes or -), what it is and the source it follows
    (``docs/profiles.md`` embeds it for the profiles; ``kmemsim features`` prints it)."""
    head = "| feature | kernels | " + " | ".join(label for label, _ in kernels) + " | what | source |"
    rows = [head, "|---|---|" + "---|" * len(kernels) + "---|---|"]
    versions = [parse_version(v) for _, v in kernels]
    for f in FEATURES:
        marks = " | ".join("yes" if f.present(v) else "-" for v in versions)
        src = f"`{f.commit}`" if re.fullmatch(r"[0-9a-f]{12}", f.commit) else f.commit
        rows.append(f"| `{f.name}` | {_span(f)} | {marks} | {f.doc.replace('|', '/')} | {src.replace('|', '/')} |")
    return "\n".join(rows)


# =========================================================================== sources
# Facts of each kernel's source that its output shows: where its reports say they are (the
# ``file:line`` its might_sleep() checks print) and the names of its vm counters.
#
# A might_sleep() report names the source line of the check (``__might_sleep(__FILE__,
# __LINE__)``), so the same misuse prints another place on every kernel: 6.x checks in the
# inline might_alloc() of include/linux/sched/mm.h, 2.6 in the allocator itself.  The table is
# per kernel version, resolved once per machine (``k.sites``), as the GFP and SLAB_* flags
# are; a ``None`` site means the kernel has no check there (2.6.24's SLUB allocated without
# might_sleep(); only the page allocator behind it checked).
#
# Each entry names the line read in that kernel's source (the public 2.6.11, 2.6.24, 6.6 trees).


Site = tuple[str, int] | None

#: kernel version -> check -> (file, line) or None
SITES: dict[str, dict[str, Site]] = {
    "6.18": {
        "page_alloc": ("include/linux/sched/mm.h", 321),  # might_alloc(), from prepare_alloc_pages()
        "slab_alloc": ("include/linux/sched/mm.h", 321),  # slab_pre_alloc_hook() -> might_alloc()
        "slab_alloc_slab": ("include/linux/sched/mm.h", 321),  # (6.18 has no SLAB: removed in 6.8)
        "mempool_alloc": ("include/linux/sched/mm.h", 321),
    },
    "6.6": {
        "page_alloc": ("include/linux/sched/mm.h", 306),  # might_alloc() of 6.6
        "slab_alloc": ("include/linux/sched/mm.h", 306),  # mm/slab.h:709 slab_pre_alloc_hook()
        "slab_alloc_slab": ("include/linux/sched/mm.h", 306),  # SLAB's slab_alloc() -> slab_pre_alloc_hook()
        "mempool_alloc": ("include/linux/sched/mm.h", 306),  # mm/mempool.c:388
    },
    "2.6.24": {
        "page_alloc": ("mm/page_alloc.c", 1467),  # __alloc_pages(): might_sleep_if(wait)
        "slab_alloc": None,  # mm/slub.c slab_alloc() has no might_sleep (SLAB's: mm/slab.c:3052)
        "slab_alloc_slab": ("mm/slab.c", 3052),  # SLAB: cache_alloc_debugcheck_before(): might_sleep_if(wait)
        "mempool_alloc": ("mm/mempool.c", 209),
        "slab_gfp_bug": ("mm/slub.c", 1086),  # new_slab(): BUG_ON(flags & GFP_SLAB_BUG_MASK)
    },
    "2.6.11": {
        "page_alloc": ("mm/page_alloc.c", 709),  # __alloc_pages(): might_sleep_if(wait)
        "slab_alloc": ("mm/slab.c", 2082),  # cache_alloc_debugcheck_before(): 2.6.11 had only SLAB
        "slab_alloc_slab": ("mm/slab.c", 2082),
        "mempool_alloc": ("mm/mempool.c", 197),
        # cache_grow(): "if (flags & ~(SLAB_DMA|SLAB_LEVEL_MASK|SLAB_NO_GROW)) BUG();" (lines 1791-1792)
        "slab_gfp_bug": ("mm/slab.c", 1792),
    },
}


def sites_for_kernel(version: str) -> dict[str, Site]:
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
