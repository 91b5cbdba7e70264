"""Page allocator: order-0 (pcp path) and order-3 alloc/free pairs per second (best of 5 runs).

Beside them, in the same run, the floor of what Python can do for the same job:
a minimal free list (a Python list of pfns, pop and append) -- no zones, no
watermarks, no struct pages.  Targets on the reference machine: >= 1,000,000
order-0 pairs/s and >= 200,000 order-3 pairs/s.
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
    base = floor_rate()
    r0 = rate(order0, 200_000)
    r0b = rate(order0_batch, 200_000)
    r3 = rate(order3, 100_000)
    r4 = rate(order4, 50_000)
    out(f"floor: minimal Python free list      {base:12,.0f} pairs/s")
    out(f"order-0 get_free_pages/free_pages    {r0:12,.0f} pairs/s  ({r0 / base:.3f} of floor; target 1,000,000)")
    out(f"order-0, 64 held then freed          {r0b:12,.0f} pairs/s")
    out(f"order-3 (pcp)                        {r3:12,.0f} pairs/s  (target 200,000)")
    out(f"order-4 (buddy: split and merge)     {r4:12,.0f} pairs/s")
    k.check()


if __name__ == "__main__":
    main(print)
