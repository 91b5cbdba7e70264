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
