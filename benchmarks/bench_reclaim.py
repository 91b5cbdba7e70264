"""Memory pressure: page faults through reclaim, kswapd, swap and the OOM killer, per second.

A 256 MiB machine is filled with page cache; processes then fault in anonymous memory
until kswapd and direct reclaim have taken the cache, swapped anonymous pages out and the
OOM killer has killed the largest processes; each figure is best of 3 runs, each on a fresh
machine.  For scale, the same machine's plain order-0 allocation and free of pages that are
never reclaimed (the fast path) is printed beside them.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import rate  # noqa: E402


def pressure(mode: str, swap: str | None) -> tuple[float, dict]:
    """Fault in 2.5 machine-fulls of anonymous memory in 8 processes; pages/s and the counters."""
    import kmemsim

    k = kmemsim.boot(ram="256M")
    k.vmscan.kswapd_mode = mode
    if swap:
        k.swapon(swap)
    k.page_cache_add("cache", 20_000)
    k.page_cache_add("dirty", 10_000, dirty=True)
    procs = [k.spawn_process(f"app{i}", 0) for i in range(8)]
    t = time.perf_counter()
    faulted = 0
    for _rnd in range(20):
        for p in procs:
            if p.alive:
                faulted += k.process_fault(p, "4M")
    dt = time.perf_counter() - t
    ev = k.page_alloc.vm_events
    k.check()
    return faulted / dt, {n: ev[n] for n in ("pgsteal_kswapd", "pgsteal_direct", "pswpout", "oom_kill",
                                             "allocstall_movable")}


def main(out) -> None:
    import kmemsim
    from kmemsim.gfp import GFP_HIGHUSER_MOVABLE

    k = kmemsim.boot(ram="256M")
    get, free = k.get_free_pages, k.free_pages

    def order0(n):
        for _ in range(n):
            free(get(GFP_HIGHUSER_MOVABLE, 0), 0)

    base = rate(order0, 100_000)
    out(f"fast path: order-0 alloc+free (no reclaim)      {base:12,.0f} pairs/s")
    for mode, swap, what in (("cpu", "64M", "kswapd on another CPU, 64M swap"),
                             ("manual", "64M", "direct reclaim only, 64M swap"),
                             ("cpu", None, "kswapd on another CPU, no swap")):
        best, counts = 0.0, {}
        for _ in range(3):
            r, c = pressure(mode, swap)
            if r > best:
                best, counts = r, c
        out(f"faults under pressure, {what:<33} {best:10,.0f} pages/s  "
            + " ".join(f"{n}={v}" for n, v in counts.items()))
