"""Page allocator: order-0 and order-3 get_free_pages/free_pages pairs, each as a ratio to its anchor.

Measured side by side in one process (interleaved rounds, best of 7, CPU time):

* the anchor of the fast paths: a minimal Python free list (a list of pfns, pop and
  append) -- no zones, no watermarks, no struct pages: the floor of what Python can do;
* order-0 pairs (the pcp fast path of kmemsim.mm.fastpath) against that floor;
* order-3 pairs (the pcp list of order 3, 5.14+) against order-0 pairs: the target is
  0.75 or more;
* 64 order-0 pages held then freed, and order-4 pairs (not a pcp order: the buddy's
  split and merge on every pair), against order-0 pairs;

and the process's peak RSS.
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
    get, free = k.get_free_pages, k.free_pages

    def order0(n):
        for _ in range(n):
            free(get(GFP_KERNEL, 0), 0)

    def order0_batch(n):
        held = []
        for _ in range(n // 64):
            for _ in range(64):
                held.append(get(GFP_KERNEL, 0))
            for a in held:
                free(a, 0)
            held.clear()

    def order3(n):
        for _ in range(n):
            free(get(GFP_KERNEL, 3), 3)

    def order4(n):
        for _ in range(n):
            free(get(GFP_KERNEL, 4), 4)

    order0(1000)  # warm the pcp lists
    order3(1000)
    r = rates({"floor": (floor_fn(), 400_000), "order0": (order0, 40_000), "order3": (order3, 40_000),
               "order0_batch": (order0_batch, 40_000), "order4": (order4, 10_000)})  # fmt: skip
    o0 = r["order0"]
    out(f"anchor: minimal Python free list         {r['floor']:12,.0f} pairs/s")
    out(f"order-0 get_free_pages/free_pages        {o0:12,.0f} pairs/s  {o0 / r['floor']:6.3f} x the free list")
    out(f"order-3 get_free_pages/free_pages        {r['order3']:12,.0f} pairs/s  {r['order3'] / o0:6.3f} x order-0 "
        "(target >= 0.75)")
    out(f"order-0, 64 held then freed              {r['order0_batch']:12,.0f} pairs/s  "
        f"{r['order0_batch'] / o0:6.3f} x order-0")
    out(f"order-4 (buddy: split and merge)         {r['order4']:12,.0f} pairs/s  {r['order4'] / o0:6.3f} x order-0")
    out(f"peak RSS                                 {peak_rss_mib():12,.1f} MiB")
    k.check()


if __name__ == "__main__":
    main(print)
