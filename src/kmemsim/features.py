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

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import ConfigError

__all__ = ["Feature", "FEATURES", "Features", "parse_version"]


def parse_version(text: str) -> tuple[int, ...]:
    """``"2.6.24"`` -> (2, 6, 24); ``"6.18"`` -> (6, 18)."""
    try:
        return tuple(int(p) for p in text.split("."))
    except ValueError:
        raise ConfigError(f"kernel version {text!r}: expected numbers separated by dots") from None


@dataclass(frozen=True)
class Feature:
    """One behaviour a kernel release brought (``since``) and maybe a later one took away
    (``until``, the first release without it)."""

    name: str
    since: str
    doc: str
    commit: str = ""  # the introducing commit (12 hex digits), or the source followed
    until: str | None = None

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
    Feature("pcp_cold_list", "2.6.0", "each pageset has a hot and a cold list (pcp[0], pcp[1]; /proc/zoneinfo "
            "prints both)", "include/linux/mmzone.h struct per_cpu_pageset: pcp[2] in 2.6.24, one pcp in 2.6.34",
            until="2.6.25"),
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
    Feature("kmem_cache_dtor", "2.6.0", "kmem_cache_create() takes a destructor", "", until="2.6.23"),
    # (slab: add here)
    # ---- vmalloc
    Feature("vmap_area", "2.6.28", "vmap areas in a red-black tree with lazy TLB purging (before: the vmlist "
            "list of vm_structs)", "db64fe02258f"),
    Feature("proc_vmallocinfo", "2.6.25", "/proc/vmallocinfo", "a10aa579878f"),
    Feature("vzalloc", "2.6.37", "vzalloc() and vzalloc_node()", "e1ca7788dec6"),
    Feature("vfree_atomic", "4.10", "vfree_atomic()", "bf22e37a6413"),
    # (vmalloc, page tables, highmem: add here)
    # ---- reclaim, swap, OOM
    # (reclaim: add here)
    # ---- contexts, tasks, mempool
    # (contexts: add here)
    # ---- tracing, debugging, devices
    Feature("kmem_tracepoints", "2.6.32", "the kmem tracepoints (kmalloc, kfree, kmem_cache_alloc/free, "
            "mm_page_alloc/free ...)", "02af61bb50f5"),
    Feature("dma_api_debug", "2.6.30", "CONFIG_DMA_API_DEBUG: the DMA-API debugging checks and their reports",
            "f2f45e5f3c92"),
    Feature("failslab", "2.6.20", "failslab fault injection for the slab allocator", "933e312e73f8"),
    Feature("fault_inject_fail_nth", "4.10", "/proc/<pid>/fail-nth", "e41d58185f14"),
    # (DMA, ioremap, resources, fault injection: add here)
    # ---- reports
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
