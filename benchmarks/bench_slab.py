"""SLUB: kmalloc(64)/kfree and kmem_cache_alloc/kmem_cache_free pairs per second (best of 5).

Beside them the floor of what Python can do (a minimal free list).  Target on the
reference machine with debugging off: >= 1,000,000 pairs/s.  With slab_debug=FZPU
every operation takes the checked slow path (alloc_single_from_partial,
free_to_partial_list: poison, red zones, tracks with the Python call site).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import floor_rate, rate  # noqa: E402


def main(out) -> None:
    import kmemsim
    from kmemsim.gfp import GFP_KERNEL

    k = kmemsim.boot(ram="4G")
    kmalloc, kfree = k.kmalloc, k.kfree
    c = k.kmem_cache_create("bench_cache", 64)
    alloc, free = k.kmem_cache_alloc, k.kmem_cache_free

    def pair_kmalloc(n):
        for _ in range(n):
            kfree(kmalloc(64, GFP_KERNEL))

    def pair_cache(n):
        for _ in range(n):
            free(c, alloc(c, GFP_KERNEL))

    def batch_kmalloc(n):
        held = []
        for _ in range(n // 256):
            for _ in range(256):
                held.append(kmalloc(64, GFP_KERNEL))
            for p in held:
                kfree(p)
            held.clear()


    pair_kmalloc(1000)
    base = floor_rate()
    a = rate(pair_kmalloc, 100_000)
    b = rate(pair_cache, 100_000)
    cc = rate(batch_kmalloc, 100_000)
    out(f"floor: minimal Python free list          {base:12,.0f} pairs/s")
    out(f"kmalloc(64)/kfree                        {a:12,.0f} pairs/s  (target 1,000,000)")
    out(f"kmem_cache_alloc/free (64 B)             {b:12,.0f} pairs/s  (target 1,000,000)")
    out(f"kmalloc(64) x256 then kfree x256         {cc:12,.0f} pairs/s  (new slabs, partial lists)")
    k.check()

    kd = kmemsim.boot(ram="4G", slab_debug="FZPU")
    dk, df = kd.kmalloc, kd.kfree

    def pair_debug(n):
        for _ in range(n):
            df(dk(64, GFP_KERNEL))

    d = rate(pair_debug, 10_000)
    out(f"kmalloc(64)/kfree with slab_debug=FZPU   {d:12,.0f} pairs/s")
    kd.check()


if __name__ == "__main__":
    main(print)
