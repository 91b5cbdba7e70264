"""The Mem-info block of the 2.6 kernels: show_free_areas() and i386's show_mem().

Models, for the profiles with 2.6's hot and cold per-CPU lists (``features.pcp_cold_list``):

* 2.6.11 mm/page_alloc.c show_free_areas() (lines 1158-1266): the per-CPU lines of every
  zone with their low, high and batch marks (``pcp_low_mark``), "Free pages:", one Active
  line, then every zone (populated or not) and its free lists.  2.6.11's page allocation
  failure printed no Mem-info (``warn_alloc_show_mem``), and its OOM killer printed this
  block alone after "oom-killer: gfp_mask=0x%x" (mm/oom_kill.c:275-276);
* 2.6.24 arch/x86/mm/pgtable_32.c show_mem() (lines 27-72): "Mem-info:", show_free_areas()
  (mm/page_alloc.c:1787-1883, populated zones only, the hot and cold lists' high, batch and
  count), "Free swap:", and the page counts of the memory map.

The 6.x block is mm/oom_kill.py's ``show_mem_lines`` (6.18's __show_mem), which hands the
2.6 kernels to :func:`show_mem_lines_26`.  Configuration, as the captures' kernels
(tests/data/classic): no NUMA (no "Node N" prefix), and show_swap_cache_info() only when
the machine has swap (the captures' kernels had no CONFIG_SWAP).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .mmzone import WMARK_HIGH, WMARK_LOW, WMARK_MIN
from .page import PG

if TYPE_CHECKING:  # pragma: no cover
    from ..machine import Machine as Kernel

__all__ = ["show_free_areas_26", "show_mem_lines_26"]


def _free_lists(k: Kernel, z, kb: int) -> str:  # noqa: ANN001 - a Zone
    total = 0
    parts = []
    for o in range(k.page_alloc.max_order + 1):
        n = z.nr_free[o]
        total += n << o
        parts.append(f"{n}*{kb << o}kB ")
    return f"{z.name}: " + "".join(parts) + f"= {total * kb}kB"


def show_free_areas_26(k: Kernel) -> list[str]:
    """show_free_areas() of 2.6.11 (``pcp_low_mark``) or of 2.6.24."""
    pa = k.page_alloc
    kb = k.page_size >> 10
    ns = k.node_stats.get
    rc = k.vmscan
    out: list[str] = []
    old = k.features.pcp_low_mark
    zones = pa.zones if old else [z for z in pa.zones if z.populated]
    active = inactive = 0
    zlru = {}
    for z in pa.zones:
        s = rc.zone_stats(z)
        a = s["nr_zone_active_anon"] + s["nr_zone_active_file"]
        i = s["nr_zone_inactive_anon"] + s["nr_zone_inactive_file"]
        zlru[z.idx] = (a, i)
        active += a
        inactive += i
    free = sum(z.free_pages for z in pa.zones)
    slab = ns("nr_slab_reclaimable") + ns("nr_slab_unreclaimable")
    for z in zones:
        if old:
            if not z.present_pages:
                out.append(f"{z.name} per-cpu: empty")
                continue
            out.append(f"{z.name} per-cpu:")
            for pcp in z.pcp:
                for temp, t in zip(("hot", "cold"), pcp.temp, strict=True):
                    out.append(f"cpu {pcp.cpu} {temp}: low {t.low}, high {t.high}, batch {t.batch}")
        else:
            out.append(f"{z.name} per-cpu:")
            for pcp in z.pcp:
                hot, cold = pcp.temp
                out.append(f"CPU {pcp.cpu:4d}: Hot: hi:{hot.high:5d}, btch:{hot.batch:4d} usd:{hot.count:4d}   "
                           f"Cold: hi:{cold.high:5d}, btch:{cold.batch:4d} usd:{cold.count:4d}")
    if old:
        high_free = sum(z.free_pages for z in pa.zones if z.idx in pa.highmem_like())
        out.append("")
        out.append(f"Free pages: {free * kb:11d}kB ({high_free * kb}kB HighMem)")
        out.append(f"Active:{active} inactive:{inactive} dirty:{ns('nr_dirty')} writeback:{ns('nr_writeback')} "
                   f"unstable:0 free:{free} slab:{slab} mapped:{ns('nr_mapped')} "
                   f"pagetables:{ns('nr_page_table_pages')}")
    else:
        out.append(f"Active:{active} inactive:{inactive} dirty:{ns('nr_dirty')} writeback:{ns('nr_writeback')} "
                   "unstable:0")
        out.append(f" free:{free} slab:{slab} mapped:{ns('nr_mapped')} pagetables:{ns('nr_page_table_pages')} "
                   "bounce:0")
    unreclaimable = "yes" if ns("_node_unreclaimable") else "no"
    for z in zones:
        a, i = zlru[z.idx]
        out.append(f"{z.name} free:{z.free_pages * kb}kB min:{z.watermark[WMARK_MIN] * kb}kB "
                   f"low:{z.watermark[WMARK_LOW] * kb}kB high:{z.watermark[WMARK_HIGH] * kb}kB active:{a * kb}kB "
                   f"inactive:{i * kb}kB present:{z.present_pages * kb}kB pages_scanned:0 "
                   f"all_unreclaimable? {unreclaimable if z.populated else 'no'}")
        out.append("lowmem_reserve[]: " + " ".join(str(v) for v in z.lowmem_reserve))
    for z in zones:
        out.append(f"{z.name}: empty" if not z.present_pages else _free_lists(k, z, kb))
    if ns("_swap_total"):  # show_swap_cache_info(): CONFIG_SWAP (the captures' kernels had none)
        out.append("Swap cache: add 0, delete 0, find 0/0, race 0+0")
        out.append(f"Free swap  = {ns('_swap_free') * kb}kB")
        out.append(f"Total swap = {ns('_swap_total') * kb}kB")
    return out


def show_mem_lines_26(k: Kernel) -> list[str]:
    """show_mem() of 2.6 i386: 2.6.24's "Mem-info:" block with the memory map's page counts;
    2.6.11's OOM killer and failure report called show_free_areas() alone."""
    if k.features.pcp_low_mark:
        return show_free_areas_26(k)
    pa = k.page_alloc
    kb = k.page_size >> 10
    ns = k.node_stats.get
    out = ["Mem-info:", *show_free_areas_26(k), f"Free swap:       {ns('_swap_free') * kb:6d}kB"]
    mm = k.memmap
    total = k.max_pfn  # node_spanned_pages: FLATMEM, every pfn below max_pfn
    reserved = mm.count("flags", 0, total).get(PG.reserved, 0)
    highmem = sum(z.spanned_pages for z in pa.zones if z.idx in pa.highmem_like())
    shared = sum(max(0, pa.get_ref(pfn) - 1) for pfn in pa.allocated)
    out += [
        f"{total} pages of RAM",
        f"{highmem} pages of HIGHMEM",
        f"{reserved} reserved pages",
        f"{shared} pages shared",
        f"{ns('nr_swapcached')} pages swap cached",
        f"{ns('nr_dirty')} pages dirty",
        f"{ns('nr_writeback')} pages writeback",
        f"{ns('nr_mapped')} pages mapped",
        f"{ns('nr_slab_reclaimable') + ns('nr_slab_unreclaimable')} pages slab",
        f"{ns('nr_page_table_pages')} pages pagetables",
    ]
    return out
