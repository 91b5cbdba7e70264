"""Tour chapter: the model's own kmem tracepoints, perf kmem stat's report, replay."""
from __future__ import annotations

from collections.abc import Callable

import kmemsim

Out = Callable[[str], None]


def driver_workload(k: kmemsim.Kernel) -> None:
    """A driver's life: buffers of several sizes, a cache of requests, DMA pages, a leak."""
    cache = k.kmem_cache_create("my_request", 184)
    assert cache is not None
    live = []
    for i in range(300):
        with k.on_cpu(i % 2):
            live.append(k.kmalloc(100 + 37 * (i % 9), k.gfp.GFP_KERNEL))
            live.append(k.kmem_cache_alloc(cache, k.gfp.GFP_ATOMIC if i % 3 else k.gfp.GFP_KERNEL))
            if i % 10 == 0:
                live.append(k.get_free_pages(k.gfp.GFP_KERNEL, 1))
    for i, p in enumerate(live):
        if i % 7 == 6:
            continue  # never freed: a leak for stat's "live at the end"
        with k.on_cpu((i + 1) % 2):  # freed on the other CPU half the time
            if k.is_vmalloc_addr(p):
                k.vfree(p)
            elif (slab := k.slub.object_of(p)[0]) is None:
                k.free_pages(p, 1)
            elif slab.cache is cache:
                k.kmem_cache_free(cache, p)
            else:
                k.kfree(p)


def chapter(out: Out) -> None:
    from kmemsim.trace import parse
    from kmemsim.trace.replay import replay
    from kmemsim.trace.stat import KmemStat, StatOptions

    k = kmemsim.boot()
    lines: list[str] = []
    with k.tracing(lines.append):
        driver_workload(k)
    out("With tracing on, the model writes the kernel's kmem tracepoint events in ftrace's text,")
    out(f"the same lines /sys/kernel/tracing/trace shows ({len(lines)} events here); the first three:")
    for line in lines[:3]:
        out(f"   {line.strip()[:110]}")
    out("")
    out("`kmemsim stat` reads such a trace (or perf script's, or trace-cmd's) and prints perf kmem")
    out("stat's report with perf's definitions -- and more: frees on another CPU, objects still live:")
    st = KmemStat(StatOptions()).process(parse(lines))
    report = st.report().splitlines()
    i = next(i for i, line in enumerate(report) if "SUMMARY" in line)
    for line in report[i:i + 20]:
        out(f"   {line}")
    out("")
    out("`kmemsim replay` feeds the trace into a fresh machine of the same profile: the model")
    out("rebuilds the allocator state the traced kernel had, and checks each bytes_alloc:")
    r = replay(lines)
    for line in r.summary(top=4).splitlines():
        if line.startswith(("bytes_alloc mismatches", "Slab:")):
            out(f"   {line}")
    same = r.k.proc("slabinfo").split("\n", 2)[2] == k.proc("slabinfo").split("\n", 2)[2]
    out(f"   the replayed machine's /proc/slabinfo equals the traced machine's: {same}")
    r.k.shutdown()
    k.shutdown()
    out("")
    out("A real trace from a 6.18 host, with a snapshot of the same host:")
    out("   python3 dev.py kmemsim replay tests/data/host-6.18/kmem-trace.txt.gz \\")
    out("        --host tests/data/host-6.18/snapshot.tar.gz")
