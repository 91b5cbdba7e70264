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
