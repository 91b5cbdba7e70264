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
    Feature("trace_kmem_cache_alloc_name", "6.18", "the kmem_cache_alloc tracepoint prints the cache's name=%s "
            "after ptr= (kmem_cache_free has printed it since 5.12)",
            "include/trace/events/kmem.h TRACE_EVENT(kmem_cache_alloc): absent in 6.6, present in 6.18 (Wander "
            "Lairson Costa, 'kmem/tracing: Add kmem name to kmem_cache_alloc tracepoint', posted 2025-08)"),
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
            "mm_page_alloc/free ...)", "02af61bb50f5"),
    Feature("dma_api_debug", "2.6.30", "CONFIG_DMA_API_DEBUG: the DMA-API debugging checks and their reports",
            "f2f45e5f3c92"),
    Feature("failslab", "2.6.20", "failslab fault injection for the slab allocator", "933e312e73f8"),
    Feature("fault_inject_fail_nth", "4.10", "/proc/<pid>/fail-nth", "e41d58185f14"),
    # (DMA, ioremap, resources, fault injection: add here)
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
