"""The buddy allocator, pcp lists, watermarks and the page API (6.18 and 2.6.24 profiles)."""
import pytest

import kmemsim
from kmemsim import KernelBug, UsageError, gfp
from kmemsim.gfp import (
    FLAGS_2_6,
    GFP_ATOMIC,
    GFP_DMA,
    GFP_DMA32,
    GFP_HIGHUSER_MOVABLE,
    GFP_KERNEL,
    GFP_NOWAIT,
)

ZERO = getattr(gfp, "__GFP_ZERO")
COMP = getattr(gfp, "__GFP_COMP")
NOWARN = getattr(gfp, "__GFP_NOWARN")
K26 = FLAGS_2_6["GFP_KERNEL"]


def snapshot(k):
    """Every free block of every zone: (zone, head pfn, order); buddyinfo is its count per order."""
    return sorted((z.name, pfn, o) for z in k.page_alloc.zones for pfn, (o, _) in z.buddy.items())


def nr_free(k, zone):
    return next(z for z in k.page_alloc.zones if z.name == zone).nr_free


def test_zones_of_a_1g_x86_64_machine():
    k = kmemsim.boot()
    zs = {z.name: z for z in k.page_alloc.zones}
    assert [z.name for z in k.page_alloc.zones] == ["DMA", "DMA32", "Normal", "Movable", "Device"]
    dma = zs["DMA"]
    assert (dma.zone_start_pfn, dma.spanned_pages, dma.present_pages, dma.managed_pages) == (1, 4095, 3998, 3840)
    assert zs["DMA32"].zone_start_pfn == 4096 and zs["DMA32"].spanned_pages == (1 << 18) - 4096
    assert not zs["Normal"].populated  # 1 GiB has no memory above 4 GiB
    # the reference host's DMA zone has exactly these free blocks after boot
    assert zs["DMA"].nr_free == [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 3]
    # unpopulated Movable: min=low=high=promo=32 (clamp of 0 to SWAP_CLUSTER_MAX)
    assert zs["Movable"].watermark == [32, 32, 32, 32]
    # boot took only the vmalloc page tables (64 PUD pages, preallocate_vmalloc_pages) and the
    # vmap_area slab page; the pcp lists hold the rest of that batch
    for z in k.page_alloc.zones:
        assert sum(n << o for o, n in enumerate(z.nr_free)) == z.free_pages
        assert z.free_pages + z.pcp_count + z.pgalloc - z.pgfree == z.managed_pages
    assert zs["DMA32"].pgalloc == 64 + 1
    k.check()


def test_zones_of_i386_with_highmem():
    k = kmemsim.boot("linux-2.6-i386", ram="1G")
    zs = {z.name: z for z in k.page_alloc.zones}
    assert [z.name for z in k.page_alloc.zones] == ["DMA", "Normal", "HighMem", "Movable"]
    assert zs["Normal"].zone_start_pfn == 4096 and zs["Normal"].zone_end_pfn == 896 * 256
    # 2.6.24 free_area_init_core(): present_pages leave out the zone's struct pages (32 B each)
    assert zs["HighMem"].present_pages == 128 * 256 - (128 * 256 * 32 >> 12)
    page = k.alloc_pages(FLAGS_2_6["GFP_HIGHUSER"], 0)
    assert k.page_zone(page) == "HighMem" and k.page_address(page) == 0
    assert k.page_zone(k.virt_to_page(k.get_free_pages(FLAGS_2_6["GFP_HIGHUSER"], 0))) == "Normal"
    k.check()


@pytest.mark.parametrize(
    "mask,zone",
    [(GFP_KERNEL, "Normal"), (GFP_DMA, "DMA"), (GFP_DMA32 | GFP_KERNEL, "DMA32"), (GFP_HIGHUSER_MOVABLE, "Normal"),
     (GFP_ATOMIC, "Normal")],
)
def test_gfp_zone_selects_the_zone(mask, zone):
    k = kmemsim.boot(ram="8G")
    page = k.alloc_pages(mask, 0)
    assert k.page_zone(page) == zone
    k.free_pages_struct(page, 0)
    k.check()


def test_kernel_falls_back_to_dma32_when_normal_is_empty():
    k = kmemsim.boot(ram="1G")
    assert k.page_zone(k.alloc_pages(GFP_KERNEL, 0)) == "DMA32"


def test_split_keeps_the_low_half_and_merge_restores():
    k = kmemsim.boot(ram="1G")
    before = snapshot(k)
    dma = nr_free(k, "DMA").copy()
    movable = GFP_DMA | getattr(gfp, "__GFP_MOVABLE")
    addr = k.get_free_pages(movable, 4)  # order 4 bypasses the pcp lists
    # all pageblocks start MOVABLE: the smallest block with room (order 8 at pfn 0x100)
    # is split into orders 4, 5, 6, 7 and the low 16 pages are handed out
    assert dma == [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 3]
    assert nr_free(k, "DMA") == [0, 0, 0, 0, 1, 1, 1, 1, 0, 1, 3]
    assert k.pa(addr) == 0x100 << 12
    k.free_pages(addr, 4)
    assert snapshot(k) == before  # merged all the way back
    # an UNMOVABLE request falls back: __rmqueue_claim takes the LARGEST movable block
    # (order 10 at pfn 0x400) and claims its pageblocks
    addr = k.get_free_pages(GFP_DMA, 4)
    assert k.pa(addr) == 0x400 << 12
    assert nr_free(k, "DMA") == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2]
    z = k.page_alloc.zones[0]
    assert z.get_pageblock_migratetype(0x400) == 0 and z.get_pageblock_migratetype(0x600) == 0
    k.free_pages(addr, 4)
    k.check()


def test_pcp_lists_cache_order0_pages():
    k = kmemsim.boot(ram="8G")
    a = k.get_free_pages(GFP_KERNEL, 0)
    normal = next(z for z in k.page_alloc.zones if z.name == "Normal")
    pcp = normal.pcp[0]
    assert pcp.count > 0  # the refill brought a batch
    b = k.get_free_pages(GFP_KERNEL, 0)
    assert b == a + 4096  # the batch came in ascending order, the head first
    k.free_pages(b, 0)
    assert k.get_free_pages(GFP_KERNEL, 0) == b  # LIFO: the hot page comes back
    with k.on_cpu(1):
        c = k.get_free_pages(GFP_KERNEL, 0)
    assert normal.pcp[1].count > 0 and c not in (a, b)
    k.check()


def test_free_everything_and_drain_gives_back_boot_state():
    k = kmemsim.boot(ram="2G")
    k.drain_all_pages()  # boot's own allocations left part of a pcp batch
    before = snapshot(k)
    got = []
    for i in range(400):
        order = i % 6
        mask = (GFP_KERNEL, GFP_DMA, GFP_ATOMIC, GFP_HIGHUSER_MOVABLE)[i % 4]
        a = k.get_free_pages(mask, order)
        if a:
            got.append((a, order))
    for i, (a, o) in enumerate(got):
        with k.on_cpu(i % 2):
            k.free_pages(a, o)
    k.check()
    k.drain_all_pages()
    assert snapshot(k) == before
    k.check()


def test_zeroed_and_stale_pages():
    k = kmemsim.boot()
    a = k.get_free_pages(GFP_KERNEL, 1)
    assert k.read(a, 8192) != bytes(8192)  # stale bytes
    z = k.get_zeroed_page(GFP_KERNEL)
    assert k.read(z, 4096) == bytes(4096)
    b = k.get_free_pages(GFP_KERNEL | ZERO, 2)
    assert k.read(b, 16384) == bytes(16384)


def test_refcounts_and_compound_pages():
    k = kmemsim.boot()
    p = k.alloc_pages(GFP_KERNEL | COMP, 2)
    assert p.refcount == 1 and p.flags & kmemsim.PG.head
    k.get_page(p + 3)  # a tail reference counts on the head
    assert p.refcount == 2
    k.put_page(p + 1)
    assert p.refcount == 1
    k.put_page(p + 2)  # the last reference frees the whole compound page
    assert k.page_alloc.allocated.get(p.pfn) is None
    k.check()


def test_non_compound_free_with_extra_reference_frees_the_tail_halves():
    k = kmemsim.boot()
    p = k.alloc_pages(GFP_KERNEL, 2)
    k.get_page(p)
    k.free_pages_struct(p, 2)  # ___free_pages(): head still referenced
    assert p.refcount == 1
    assert k.page_alloc.allocated[p.pfn] == 0  # only the head page is left
    k.put_page(p)
    k.check()


def test_split_page_and_alloc_pages_exact():
    k = kmemsim.boot()
    p = k.alloc_pages(GFP_KERNEL, 2)
    k.split_page(p, 2)
    for i in range(4):
        assert (p + i).refcount == 1
    for i in range(4):
        k.free_page_struct(p + i)
    free_before = k.nr_free_pages() + sum(z.pcp_count for z in k.page_alloc.zones)
    a = k.alloc_pages_exact(5 * 4096, GFP_KERNEL)
    used = free_before - (k.nr_free_pages() + sum(z.pcp_count for z in k.page_alloc.zones))
    assert used == 5  # 8 pages taken, 3 given back at once
    k.free_pages_exact(a, 5 * 4096)
    k.check()


def test_double_free_is_a_bad_page_state():
    k = kmemsim.boot()
    a = k.get_free_pages(GFP_KERNEL, 4)
    k.free_pages(a, 4)
    with pytest.raises(KernelBug) as e:
        k.free_pages(a, 4)
    pfn = k.virt_to_pfn(a)
    assert e.value.report.splitlines()[0] == f"BUG: Bad page state in process insmod  pfn:{pfn:05x}"
    assert "page dumped because: nonzero mapcount" in e.value.report
    k.check()


@pytest.mark.parametrize("case", ["double_pcp", "wrong_order", "tail", "reserved"])
def test_bad_frees_in_report_mode_keep_the_machine_consistent(case):
    k = kmemsim.boot(on_bug="report")
    a = k.get_free_pages(GFP_KERNEL, 2)
    if case == "double_pcp":
        b = k.get_free_pages(GFP_KERNEL, 0)
        k.free_pages(b, 0)
        k.free_pages(b, 0)
    elif case == "wrong_order":
        k.free_pages(a, 3)
    elif case == "tail":
        k.free_pages(a + 4096, 0)
    else:
        k.free_pages(k.va(0x1000000), 0)  # the kernel image
    assert "BUG: Bad page state in process insmod" in k.dmesg()
    assert "Disabling lock debugging due to kernel taint" in k.dmesg()
    assert "B" in k.taint
    k.free_pages(a, 2) if case != "tail" else None
    k.check()


def test_free_null_is_ignored_and_bad_arguments():
    k = kmemsim.boot()
    k.free_pages(0, 3)
    assert k.get_free_pages("GFP_KERNEL", 0)  # a string of the machine's names is its bits
    with pytest.raises(UsageError, match="GFP_KERNAL"):
        k.get_free_pages("GFP_KERNAL", 0)
    with pytest.raises(UsageError, match="not GFP flags"):
        k.get_free_pages(1 << 30, 0)
    with pytest.raises(UsageError):
        k.get_free_pages(GFP_KERNEL, -1)
    with pytest.raises(UsageError, match="free_pages_struct"):
        k.free_pages(k.alloc_pages(GFP_KERNEL, 0), 0)


def test_order_above_max_warns_once_and_fails():
    k = kmemsim.boot()
    assert k.alloc_pages(GFP_KERNEL, 11) is None
    assert k.get_free_pages(GFP_KERNEL, 12) == 0
    log = k.dmesg()
    assert log.count("WARNING: CPU: 0 PID: 1000 at __alloc_frozen_pages_noprof") == 1
    assert k.alloc_pages(GFP_KERNEL | NOWARN, 11) is None


def exhaust(k, mask, order=0):
    n = 0
    while k.get_free_pages(mask | NOWARN, order):
        n += 1
    return n


def test_atomic_dips_below_min_where_kernel_and_nowait_stop():
    k = kmemsim.boot(ram="128M")
    z = next(z for z in k.page_alloc.zones if z.name == "DMA32")
    exhaust(k, GFP_KERNEL)
    after_kernel = z.free_pages
    assert after_kernel <= z.watermark[0] + 64  # stopped near min (drained pcp pages came back)
    exhaust(k, GFP_NOWAIT)
    after_nowait = z.free_pages
    assert after_nowait >= z.watermark[0] * 0 and after_nowait <= after_kernel
    n_atomic = exhaust(k, GFP_ATOMIC)
    assert n_atomic > 0  # GFP_ATOMIC takes pages below the min watermark
    assert z.free_pages <= z.watermark[0] - z.watermark[0] // 2 - (z.watermark[0] - z.watermark[0] // 2) // 4 + 64
    k.check()


def test_warn_alloc_message():
    k = kmemsim.boot(ram="128M")
    exhaust(k, GFP_ATOMIC)
    assert k.get_free_pages(GFP_ATOMIC, 0) == 0
    log = k.dmesg()
    assert (
        "insmod: page allocation failure: order:0, mode:0x820(GFP_ATOMIC), nodemask=(null),cpuset=/,mems_allowed=0"
        in log
    )
    assert "Mem-Info:" in log and "lowmem_reserve[]: 0 0 0 0 0" in log
    assert "Node 0 DMA32: " in log
    # rate limited: a second failure at the same time prints nothing new
    n = log.count("page allocation failure")
    k.get_free_pages(GFP_ATOMIC, 0)
    assert k.dmesg().count("page allocation failure") == n
    k.clock.advance(11 * 10**9)
    k.get_free_pages(GFP_ATOMIC, 0)
    assert k.dmesg().count("page allocation failure") == n + 1
    assert "warn_alloc: 1 callbacks suppressed" in k.dmesg()


def test_i386_2_6_failure_message_format():
    k = kmemsim.boot("linux-2.6-i386", ram="64M")
    while k.get_free_pages(FLAGS_2_6["GFP_ATOMIC"] | FLAGS_2_6["__GFP_NOWARN"], 0):
        pass
    k.get_free_pages(FLAGS_2_6["GFP_ATOMIC"], 0)
    assert "insmod: page allocation failure. order:0, mode:0x20" in k.dmesg()


def test_nofail_above_order_1_warns_once():
    k = kmemsim.boot(ram="128M")
    nofail = getattr(gfp, "__GFP_NOFAIL")
    while k.get_free_pages(GFP_KERNEL | NOWARN, 3):
        pass
    k.get_free_pages(GFP_KERNEL | nofail | NOWARN, 3)
    k.get_free_pages(GFP_KERNEL | nofail | NOWARN, 3)
    assert k.dmesg().count("WARNING: CPU: 0 PID: 1000 at __alloc_pages_slowpath") == 1


def _free_range_block_by_block(pa, z, start, end):
    """__free_pages_memory() as the model did it before freeing runs of MAX_ORDER blocks at once:
    every aligned block by __free_one_page(), to the tail."""
    mo = pa.max_order
    while start < end:
        order = min(mo, (start & -start).bit_length() - 1 if start else mo)
        while start + (1 << order) > end:
            order -= 1
        pa.free_one_page(z, start, order, z.get_pageblock_migratetype(start), to_tail=True)
        start += 1 << order


def _zone_state(k):
    return [(z.name, z.free_pages, z.nr_free_highatomic, list(z.nr_free), list(z.buddy.items()),
             [[list(lst) for lst in by_mt] for by_mt in z.free_list]) for z in k.page_alloc.zones]


def _boot_both_ways(monkeypatch, **kw):
    new = kmemsim.boot(**kw)
    with monkeypatch.context() as m:
        m.setattr(type(new.page_alloc), "_free_range", _free_range_block_by_block)
        old = kmemsim.boot(**kw)
    return new, old


@pytest.mark.parametrize("kw", [{}, {"ram": "3G"}, {"profile": "linux-6.6-x86_64", "ram": "700M"},
                                {"profile": "linux-2.6.24-i386"}, {"host": "example"}])
def test_boot_frees_memory_to_the_buddy_as_block_by_block(monkeypatch, kw):
    if kw.get("host") == "example":
        from kmemsim.examples import example_path

        kw = {"host": str(example_path("snapshot"))}
    new, old = _boot_both_ways(monkeypatch, **kw)
    assert _zone_state(new) == _zone_state(old)
    for view in ("buddyinfo", "pagetypeinfo", "zoneinfo"):
        assert new.proc(view) == old.proc(view)
    new.check()


@pytest.mark.slow
def test_boot_frees_memory_to_the_buddy_as_block_by_block_on_every_corpus_host(monkeypatch):
    from conftest import DATA

    for snap in sorted((DATA / "corpus").glob("*/snapshot.tar.gz")):
        new, old = _boot_both_ways(monkeypatch, host=str(snap))
        assert _zone_state(new) == _zone_state(old), snap
