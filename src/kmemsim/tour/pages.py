"""Tour chapter: the page allocator -- orders, split and merge, zones, GFP_ATOMIC reserves."""
from __future__ import annotations

from collections.abc import Callable

import kmemsim

Out = Callable[[str], None]


def _buddy(k: kmemsim.Kernel, out: Out, zone: str) -> None:
    for line in k.proc("buddyinfo").splitlines():
        if f"zone {zone:>8}" in line:
            out("   " + line)


def chapter(out: Out) -> None:
    k = kmemsim.boot()
    out("The page allocator hands out blocks of 2^order pages from per-zone free lists.")
    out("/proc/buddyinfo counts the free blocks of each order (0 .. 10) in each zone:")
    for line in k.proc("buddyinfo").splitlines():
        out("   " + line)
    out("")

    out("1. __get_free_pages() returns an address; alloc_pages() returns the struct page:")
    g = k.gfp  # the GFP flags of this machine's kernel
    addr = k.get_free_pages(g.GFP_KERNEL, 2)
    page = k.alloc_pages(g.GFP_KERNEL, 2)
    assert page is not None
    out(f"   get_free_pages(GFP_KERNEL, 2) = {addr:#x}   (direct map, 4 pages)")
    out(f"   alloc_pages(GFP_KERNEL, 2)    = {page!r}, page_address = {k.page_address(page):#x}")
    out(f"   zone: {k.page_zone(page)} (a 1 GiB machine has no Normal zone: RAM ends below 4 GiB)")
    k.free_pages(addr, 2)
    k.free_pages_struct(page, 2)
    out("")

    z32 = next(z for z in k.page_alloc.zones if z.name == "DMA32")
    order = next(o for o in range(4, 11) if z32.nr_free[o] == 0)
    src = next(o for o in range(order, 11) if z32.nr_free[o])
    out(f"2. A split and a merge, seen in buddyinfo. DMA32 has no free block of order {order}")
    out("   (orders above 3 skip the per-CPU lists and go straight to the buddy lists):")
    movable = g.GFP_KERNEL | g.__GFP_MOVABLE
    _buddy(k, out, "DMA32")
    a = k.get_free_pages(movable, order)
    out(f"   get_free_pages(GFP_KERNEL|__GFP_MOVABLE, {order}) = {a:#x}: an order-{src} block was split")
    out(f"   in halves down to order {order}; the low half is returned, the high halves are free:")
    _buddy(k, out, "DMA32")
    k.free_pages(a, order)
    out("   free_pages() merges the block with its free buddy (pfn ^ (1 << order)) again:")
    _buddy(k, out, "DMA32")
    out("")

    out("3. GFP_DMA takes ZONE_DMA, the first 16 MiB, for ISA-era devices:")
    d = k.get_free_pages(g.GFP_DMA, 0)
    out(f"   get_free_pages(GFP_DMA, 0) = {d:#x}  (physical {k.pa(d):#x}, zone {k.page_zone(k.virt_to_page(d))})")
    k.free_pages(d, 0)
    out("")

    out("4. Watermarks. Each zone keeps free pages in reserve: min, low, high.")
    small = kmemsim.boot(ram="128M")
    z = next(z for z in small.page_alloc.zones if z.name == "DMA32")
    wm = z.watermark
    out(f"   128 MiB machine, DMA32: min {wm[0]}  low {wm[1]}  high {wm[2]} pages "
        f"(min_free_kbytes {small.page_alloc.min_free_kbytes})")
    sg = small.gfp
    steps = [("GFP_KERNEL", sg.GFP_KERNEL), ("GFP_NOWAIT", sg.GFP_NOWAIT), ("GFP_ATOMIC", sg.GFP_ATOMIC)]
    for name, mask in steps:
        n = 0
        while small.get_free_pages(mask | sg.__GFP_NOWARN, 0):
            n += 1
        out(f"   {name:<10} allocates {n:6d} more pages, then fails with {z.free_pages:5d} free")
    floor = wm[0] - wm[0] // 2 - (wm[0] - wm[0] // 2) // 4
    batch = z.pcp[0].batch
    out("   GFP_KERNEL stops at min, then reclaims; this machine has nothing to reclaim and no")
    out("   process to kill, so it fails.  GFP_NOWAIT may not sleep but gets no reserve either;")
    out("   GFP_ATOMIC (__GFP_HIGH, non-blocking) may dip into the reserve:")
    out(f"   min - min/2 - (min/2)/4 = {floor} pages is its watermark. A per-CPU refill takes a batch")
    out(f"   ({batch} pages, doubled by each refill in a row, up to 32x) past one check, so the zone")
    out("   can end that much lower; pages left on the per-CPU lists stay there (6.18 drains them")
    out("   only after reclaim made progress).")
    out("")

    out("5. When even GFP_ATOMIC finds nothing, the kernel says so (once per 10 s):")
    mark = len(small.log)
    small.get_free_pages(sg.GFP_ATOMIC, 0)
    for line in small.log.dmesg(since=mark).splitlines()[:3]:
        out("   " + line)
    out("   ... (the call trace and the Mem-Info dump follow in dmesg)")
