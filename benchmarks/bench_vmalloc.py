"""vmalloc: vmalloc(4 pages)/vfree, vmalloc(16 KiB) and (1 MiB) pairs per second, \
and vmap-area alloc/free with 10k live areas.

Beside them the page allocator's order-0 pair for the same machine (a vmalloc of 4
pages does 4 of those plus the address-space work, the page tables and two kmallocs)
and the floor of what Python can do (a minimal free list).  Best of 5 runs.
"""
from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import floor_rate, rate  # noqa: E402


def main(out) -> None:
    import kmemsim
    from kmemsim.gfp import GFP_KERNEL
    from kmemsim.mm.vmap_area import VmapAllocator

    k = kmemsim.boot(ram="4G")
    v = k.vmalloc_impl
    vmalloc, vfree = v.vmalloc, v.vfree
    get, free = k.get_free_pages, k.free_pages

    def pair(size):
        def run(n):
            for _ in range(n):
                vfree(vmalloc(size))
        return run

    def order0(n):
        for _ in range(n):
            free(get(GFP_KERNEL, 0), 0)

    pair(4 * 4096)(2000)  # warm up: page tables, pools, slabs
    base = floor_rate()
    o0 = rate(order0, 100_000)
    p4 = rate(pair(4 * 4096), 20_000)
    p1m = rate(pair(1 << 20), 500)
    k.check()

    # the address allocator alone: 10,000 live areas, then random free + alloc pairs
    a = VmapAllocator(vmalloc_start=k.layout.vmalloc_start, vmalloc_end=k.layout.vmalloc_end,
                      nr_possible_cpus=2)
    rnd = random.Random(1)
    lo, hi = k.layout.vmalloc_start, k.layout.vmalloc_end
    live = [a.alloc_vmap_area(rnd.randint(1, 16) * 4096, 1, lo, hi) for _ in range(10_000)]

    def va_pairs(n):
        for _ in range(n):
            i = rnd.randrange(len(live))
            va = a.find_unlink_vmap_area(live[i].va_start)
            a.free_vmap_area_noflush(va)
            live[i] = a.alloc_vmap_area(rnd.randint(1, 16) * 4096, 1, lo, hi)

    va = rate(va_pairs, 20_000)
    a.check()

    # access throughput: 1 MiB through the vmalloc page tables versus the direct map
    buf_v = k.vmalloc(1 << 20)
    buf_d = k.get_free_pages(GFP_KERNEL, 8)
    chunk = bytes(range(256)) * 16

    def rw(base_addr, size):
        def run(n):
            for i in range(n):
                a = base_addr + (i * 4096) % size
                k.write(a, chunk)
                k.read(a, 4096)
        return run

    small = bytes(8)

    def rw8(base_addr):
        def run(n):
            for i in range(n):
                a = base_addr + (i * 8) % 65536
                k.write(a, small)
                k.read(a, 8)
        return run

    thr_v = rate(rw(buf_v, 1 << 20), 5000) * 8192 / (1 << 20)
    thr_d = rate(rw(buf_d, 1 << 20), 5000) * 8192 / (1 << 20)
    small_v = rate(rw8(buf_v), 50_000)
    small_d = rate(rw8(buf_d), 50_000)
    k.vfree(buf_v)
    k.free_pages(buf_d, 8)

    out(f"floor: minimal Python free list                {base:12,.0f} pairs/s")
    out(f"page allocator order-0 get/free                {o0:12,.0f} pairs/s")
    out(f"vmalloc(16 KiB)/vfree (4 pages)                {p4:12,.0f} pairs/s  ({o0 / p4:.0f}x an order-0 pair)")
    out(f"vmalloc(1 MiB)/vfree (256 pages)               {p1m:12,.0f} pairs/s")
    out(f"vmap area free+alloc, 10k live, lazy purge     {va:12,.0f} pairs/s  ({a.nr_purges} purges)")
    out(f"4 KiB write+read through vmalloc page tables   {thr_v:12,.0f} MiB/s  "
        f"(direct map: {thr_d:,.0f} MiB/s, ratio {thr_v / thr_d:.2f})")
    out(f"8 B write+read pairs through vmalloc           {small_v:12,.0f} pairs/s  "
        f"(direct map: {small_d:,.0f} pairs/s, ratio {small_v / small_d:.2f})")


if __name__ == "__main__":
    main(print)
