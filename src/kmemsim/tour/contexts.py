"""Tour chapter: calling contexts -- who may sleep, GFP_KERNEL versus GFP_ATOMIC, mempool."""
from __future__ import annotations

from collections.abc import Callable

import kmemsim

Out = Callable[[str], None]


def _report(k: kmemsim.Kernel, start: str, n: int) -> list[str]:
    """The first n lines of the last report in dmesg that starts with ``start``."""
    lines = [line.split("] ", 1)[1] for line in k.dmesg().splitlines()]
    i = max(j for j, line in enumerate(lines) if line.startswith(start))
    return lines[i:i + n]


def chapter(out: Out) -> None:
    k = kmemsim.boot(on_bug="report")
    out("Code runs in a context: a task (process context) may sleep; an interrupt handler,")
    out("a softirq (tasklets, timers) or code holding a spinlock may not.  preempt_count says which:")
    lock = k.spinlock("dev_lock")
    rows = [("process context", lambda: None)]
    out(f"   {'context':<28} {'preempt_count':>13}  in_interrupt  in_atomic  irqs_disabled")

    def show(name: str) -> None:
        out(f"   {name:<28} {k.preempt_count():>#13x}  {k.in_interrupt()!s:>12}  {k.in_atomic()!s:>9}  "
            f"{k.irqs_disabled()!s:>13}")

    show(rows[0][0])
    k.spin_lock(lock)
    show("spin_lock held")
    k.spin_unlock(lock)
    flags = k.spin_lock_irqsave(lock)
    show("spin_lock_irqsave held")
    k.spin_unlock_irqrestore(lock, flags)
    k.local_bh_disable()
    show("local_bh_disable")
    k.local_bh_enable()
    with k.softirq():
        show("softirq (tasklet, timer)")
    with k.hardirq():
        show("hardirq (interrupt handler)")
    out("")

    out("1. GFP_KERNEL may sleep (direct reclaim), so it is wrong in an interrupt handler.")
    out("   With CONFIG_DEBUG_ATOMIC_SLEEP the kernel says so at once, even when memory is plentiful:")
    with k.hardirq():
        p = k.kmalloc(128, k.gfp.GFP_KERNEL)
        q = k.kmalloc(128, k.gfp.GFP_ATOMIC)
    for line in _report(k, "BUG: sleeping function", 4):
        out(f"   {line}")
    out("   GFP_ATOMIC in the same handler is silent: it never sleeps.")
    k.kfree(p)
    k.kfree(q)
    out("")

    out("2. GFP_ATOMIC may dig into the reserves below the min watermark; GFP_NOWAIT may not.")
    k2 = kmemsim.boot(ram="128M")
    c = k2.kmem_cache_create("my_request", 192)
    assert c is not None
    pool = k2.mempool_create_slab_pool(2, c)  # made at driver init, while memory is plentiful
    assert pool is not None
    g = k2.gfp
    nowarn = g.__GFP_NOWARN
    z = next(z for z in k2.page_alloc.zones if z.name == "DMA32")
    held = []
    for name, mask in (("GFP_KERNEL|__GFP_NORETRY", g.GFP_KERNEL | g.__GFP_NORETRY),
                       ("GFP_NOWAIT", g.GFP_NOWAIT), ("GFP_ATOMIC", g.GFP_ATOMIC)):
        n = 0
        while a := k2.get_free_pages(mask | nowarn, 0):
            held.append(a)
            n += 1
        out(f"   {name:<26} got {n:6d} pages, then failed with {z.free_pages:4d} free in DMA32 "
            f"(min {z.watermark[0]})")
    out("")

    out("3. mempool: a driver preallocates a few elements so that its process-context")
    out("   allocations cannot fail.  Memory is exhausted above, and all of the pool is in use:")
    taken = []
    while e := k2.mempool_alloc(pool, g.GFP_ATOMIC):
        taken.append(e)
    out(f"   mempool_alloc(pool, GFP_ATOMIC) after {len(taken)} elements: NULL (it may not sleep)")
    log = []

    def irq_completion() -> None:  # a request completes 30 ms later and is given back
        k2.msleep(30)
        log.append(k2.jiffies)
        k2.mempool_free(taken.pop(), pool)

    k2.kthread_run(irq_completion, "io_done")
    j = k2.jiffies
    e = k2.mempool_alloc(pool, g.GFP_KERNEL)
    out(f"   mempool_alloc(pool, GFP_KERNEL) sleeps in state D and returns {e:#x}")
    out(f"   {k2.jiffies - j} jiffies later, woken by the io_done task's mempool_free() "
        f"(HZ={k2.HZ}: msleep(30) is {k2.msecs_to_jiffies(30)}+1 jiffies)")
    k2.mempool_free(e, pool)
    for a in held:
        k2.free_pages(a, 0)
    k2.check()
    k2.shutdown()
    out("")
    oom(out)


def oom(out: Out) -> None:
    k = kmemsim.boot(ram="256M")
    out("4. Reclaim and the OOM killer.  A 256 MiB machine with 16 MiB of page cache and three")
    out("   processes; one of them keeps touching memory.  kswapd and direct reclaim evict the page")
    out("   cache first; when nothing is left to reclaim, the OOM killer picks the task with the")
    out("   highest oom_badness (its rss, swap and page tables, adjusted by oom_score_adj):")
    k.page_cache_add("/var/log/syslog", 4096)
    k.spawn_process("postgres", "60M")
    k.spawn_process("nginx", "20M", oom_score_adj=-500)
    hog = k.spawn_process("memhog", "40M")
    mark = len(k.log)
    while hog in k.processes:
        k.process_fault(hog, "8M")
    lines = [line.split("] ", 1)[1] for line in k.log.dmesg(since=mark).splitlines()]
    out(f"   {lines[0]}")
    out("   ... (the call trace and the Mem-Info dump) ...")
    i = next(i for i, line in enumerate(lines) if line.startswith("Tasks state"))
    j = next(i for i, line in enumerate(lines) if line.startswith("Out of memory: Killed"))
    for line in lines[i:j + 1]:
        out(f"   {line}")
    vm = dict(line.split() for line in k.proc("vmstat").splitlines())
    out(f"   vmstat: pgscan_kswapd {vm['pgscan_kswapd']}, pgsteal_kswapd {vm['pgsteal_kswapd']}, "
        f"pgscan_direct {vm['pgscan_direct']}, oom_kill {vm['oom_kill']}; "
        f"MemFree after the kill: {k.nr_free_pages() * 4} kB")
    k.check()
