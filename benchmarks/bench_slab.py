"""SLUB: kmalloc(64)/kfree and kmem_cache_alloc/kmem_cache_free pairs, each as a ratio to its anchor.

Measured side by side in one process (interleaved rounds, best of 7, CPU time): the
anchor, a minimal Python free list (the floor of what Python can do); the fast paths of
kmemsim.mm.fastpath (debugging off) against it; 256 objects held then freed (new slabs,
partial lists) against the kmalloc pair; with slab_debug=FZPU every operation takes the
checked slow path (alloc_single_from_partial, free_to_partial_list: poison, red zones,
tracks with the Python call site), also against the kmalloc pair.  Then the peak RSS.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import floor_fn, peak_rss_mib, rates  # noqa: E402


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

    kd = kmemsim.boot(ram="4G", slab_debug="FZPU")
    dk, df = kd.kmalloc, kd.kfree

    def pair_debug(n):
        for _ in range(n):
            df(dk(64, GFP_KERNEL))

    pair_kmalloc(1000)
    pair_debug(100)
    r = rates({"floor": (floor_fn(), 400_000), "kmalloc": (pair_kmalloc, 40_000), "cache": (pair_cache, 40_000),
               "batch": (batch_kmalloc, 40_000), "debug": (pair_debug, 2_000)})  # fmt: skip
    base, a = r["floor"], r["kmalloc"]
    out(f"anchor: minimal Python free list         {base:12,.0f} pairs/s")
    out(f"kmalloc(64)/kfree                        {a:12,.0f} pairs/s  {a / base:6.3f} x the free list")
    c64 = r["cache"]
    out(f"kmem_cache_alloc/free (64 B)             {c64:12,.0f} pairs/s  {c64 / base:6.3f} x the free list")
    out(f"kmalloc(64) x256 then kfree x256         {r['batch']:12,.0f} pairs/s  {r['batch'] / a:6.3f} x kmalloc/kfree "
        "(new slabs, partial lists)")
    out(f"kmalloc(64)/kfree with slab_debug=FZPU   {r['debug']:12,.0f} pairs/s  {r['debug'] / a:6.3f} x kmalloc/kfree")
    out(f"peak RSS                                 {peak_rss_mib():12,.1f} MiB")
    k.check()
    kd.check()


if __name__ == "__main__":
    main(print)
