"""The seed documents' checkable claims, each tried on the kernel the document is about.

kmemsim starts from four documents on Linux 2.6 memory allocation (the classic driver and
kernel books' chapters: kmalloc, get_free_pages, vmalloc, the slab layer, GFP flags,
mempool, ioremap).  ``docs/seed-claims.md`` lists their 90 checkable claims with a verdict
each; this file is where every verdict is tried.  A test named ``test_claim_NN_...`` checks
claim NN; a claim the model does not meet yet is a strict xfail naming what is missing, so
the day it is met the test fails until the verdict in the doc is updated too.

W: works; W-dagger (``wrong_in_seed``): works, and shows the document wrong for that kernel.
The 2.6 claims run on ``linux-2.6-i386`` (2.6.24, the kernel the model has had longest).
"""
from __future__ import annotations

import re

import pytest

import kmemsim
from kmemsim.errors import KernelBug, Oops, UsageError

P26 = "linux-2.6-i386"
P2611 = "linux-2.6.11-i386"
P618 = "linux-6.18-x86_64"
M = 1 << 20


def boot26(ram: str = "1G", **kw):
    return kmemsim.boot(P26, ram=ram, **kw)


def last_report(k, marker: str) -> str:
    text = k.dmesg()
    i = text.rfind(marker)
    assert i >= 0, f"no {marker!r} in dmesg"
    return text[i:]


# ------------------------------------------------------------------ address space (claims 1-12)

def test_claim_01_3g_1g_split():
    k = boot26()
    assert k.layout.page_offset == 0xC0000000 == k.layout.task_size


def test_claim_02_direct_map_holds_the_image_and_mem_map():
    k = boot26()
    lay = k.layout
    for addr in (lay.kernel_text, lay.kernel_end - 1, lay.mem_map):
        assert lay.page_offset <= addr < lay.high_memory
        assert k.va(k.pa(addr)) == addr


def test_claim_03_160mb_of_ram_is_3g_to_3g_plus_160m():
    k = boot26("160M")
    assert k.layout.high_memory == 0xC0000000 + 160 * M == 0xCA000000
    assert k.max_low_pfn == k.max_pfn == (160 * M) >> 12


def test_claim_04_vmalloc_starts_8mb_above_high_memory_and_the_gap_faults():
    k = boot26("160M")
    assert k.layout.vmalloc_start == 0xCA000000 + 8 * M
    with pytest.raises(Oops):
        k.read_u32(0xCA000000 + 4 * M)
    assert "unable to handle" in k.dmesg().lower()


def test_claim_05_wrong_in_seed_what_lies_above_vmalloc_on_2_6_24():
    """The seed: "128KB kept below 4G".  2.6.24: an 8 KiB guard (2 pages), then 4 MiB of
    pkmap (LAST_PKMAP 1024 pages), then the fixmap; far more than 128 KiB."""
    k = boot26()
    lay = k.layout
    assert lay.pkmap_base - lay.vmalloc_end == 2 * 4096
    assert lay.last_pkmap == 1024
    assert (1 << 32) - lay.vmalloc_end > 4 * M


def test_claim_06_07_pa_and_va_are_offset_arithmetic():
    k = boot26()
    for x in (0xC0000000, 0xC0100000, 0xC1234567, k.layout.high_memory - 1):
        assert k.pa(x) == x - 0xC0000000 == k.virt_to_phys(x)
        assert k.va(k.pa(x)) == x == k.phys_to_virt(x - 0xC0000000)


def test_claim_08_kmalloc_memory_is_in_the_direct_map_and_maps_nothing_new():
    k = boot26()
    areas = len(k.vmalloc_impl.areas())
    ptrs = [k.kmalloc(n, k.gfp.GFP_KERNEL) for n in (8, 100, 4096, 65536)]
    for p in ptrs:
        assert k.layout.page_offset < p < k.layout.high_memory
        assert k.va(k.pa(p)) == p
    assert len(k.vmalloc_impl.areas()) == areas


def test_claim_09_logical_and_virtual_addresses():
    k = boot26("160M")
    p = k.kmalloc(64, k.gfp.GFP_KERNEL)
    v = k.vmalloc(8192)
    assert k.virt_addr_valid(p) and not k.is_vmalloc_addr(p)
    assert k.is_vmalloc_addr(v) and not k.virt_addr_valid(v)
    # 2.6.24's virt_addr_valid() is pfn_valid(__pa(v) >> PAGE_SHIFT) (include/asm-x86/page_32.h):
    # with 1 GiB of RAM, __pa() of a vmalloc address lands on a valid pfn, so it says yes
    big = boot26("1G")
    v = big.vmalloc(8192)
    assert big.is_vmalloc_addr(v) and big.virt_addr_valid(v)


def test_claim_10_dma_normal_highmem_and_896mb_of_lowmem():
    k = boot26()
    populated = [z.name for z in k.page_alloc.zones if z.present_pages]
    assert populated == ["DMA", "Normal", "HighMem"]
    assert k.max_low_pfn << 12 == 896 * M
    dma = next(z for z in k.page_alloc.zones if z.name == "DMA")
    assert dma.zone_start_pfn + dma.spanned_pages == (16 * M) >> 12


# ------------------------------------------------------------------ kmalloc (claims 13-30)

def test_claim_13_14_kmalloc_returns_memory_with_its_old_content():
    k = boot26()
    p = k.kmalloc(128, k.gfp.GFP_KERNEL)
    k.write(p, b"secret!!")
    k.kfree(p)
    q = k.kmalloc(128, k.gfp.GFP_KERNEL)
    assert q == p  # LIFO: the object just freed
    data = k.read(q, 128)
    assert data != bytes(128)  # not zeroed


def test_claim_15_kmalloc_is_physically_contiguous():
    k = boot26()
    p = k.kmalloc(16384, k.gfp.GFP_KERNEL)
    pfns = [k.virt_to_pfn(p + i * 4096) for i in range(4)]
    assert pfns == list(range(pfns[0], pfns[0] + 4))


def test_claim_18_19_the_slab_layer_sits_on_the_page_allocator():
    """Seen in the kmem tracepoints (6.18; 2.6.24 had none: they came in 2.6.32)."""
    with pytest.raises(UsageError, match="no kmem tracepoints"), boot26().tracing([]):
        pass
    k = kmemsim.boot(P618)
    lines: list[str] = []
    with k.tracing(lines.append):
        ptrs = [k.kmalloc(2048, k.gfp.GFP_KERNEL) for _ in range(64)]
    text = "".join(lines)
    assert "kmalloc:" in text and "mm_page_alloc:" in text
    assert all(ptrs)


def test_claim_20_kfree_and_kfree_null():
    k = boot26()
    before = k.proc("buddyinfo")
    k.kfree(0)  # a no-op: nothing moves, nothing is reported
    assert k.proc("buddyinfo") == before and "BUG" not in k.dmesg()
    p = k.kmalloc(64, k.gfp.GFP_KERNEL)
    k.kfree(p)
    assert k.kmalloc(64, k.gfp.GFP_KERNEL) == p  # the freed object is the next one handed out
    k.check()


def test_claim_21_kmalloc_memory_is_dma_able():
    k = boot26()
    p = k.kmalloc(512, k.gfp.GFP_KERNEL | k.gfp.GFP_DMA)
    dev = k.dma_device("isa_card", dma_mask=kmemsim.DMA_BIT_MASK(24))
    h = k.dma_map_single(dev, p, 512, kmemsim.DMA_TO_DEVICE)
    assert h == k.pa(p) < 16 * M


def test_claim_22_23_kzalloc_is_kmalloc_with_gfp_zero():
    for k in (boot26(), kmemsim.boot(P618)):
        g = k.gfp
        p = k.kmalloc(100, g.GFP_KERNEL)
        k.memset(p, 0x5A, k.ksize(p))
        k.kfree(p)
        q = k.kzalloc(100, g.GFP_KERNEL)
        assert q == p and k.read(q, k.ksize(q)) == bytes(k.ksize(q))
        k.kfree(q)
        r = k.kmalloc(100, g.GFP_KERNEL | g.__GFP_ZERO)
        assert r == p and k.read(r, k.ksize(r)) == bytes(k.ksize(r))


def test_claim_24_kcalloc_overflows_to_null_and_zeroes():
    k = boot26()
    assert k.kcalloc(1 << 31, 4, k.gfp.GFP_KERNEL) == 0
    p = k.kcalloc(10, 12, k.gfp.GFP_KERNEL)
    assert p and k.read(p, 120) == bytes(120)


def test_claim_27_kmalloc_may_sleep_with_gfp_wait():
    k = boot26()
    with pytest.raises(KernelBug, match="sleeping function called from invalid context"), k.hardirq():
        k.kmalloc(64, k.gfp.GFP_KERNEL)
    assert "BUG: sleeping function called from invalid context" in k.dmesg()


def test_claim_28_should_failslab():
    k = kmemsim.boot(P618, failslab="1,100,0,1")
    assert k.kmalloc(64, k.gfp.GFP_KERNEL | k.gfp.__GFP_NOWARN) or True  # blocking calls are spared
    with k.hardirq():
        assert k.kmalloc(64, k.gfp.GFP_ATOMIC) == 0
    assert "FAULT_INJECTION: forcing a failure" in k.dmesg()
    with pytest.raises(kmemsim.ConfigError):
        boot26(failslab="1,100,0,1")  # 2.6.24's SLUB had no failslab


# ------------------------------------------------------------------ pages (claims 31-39)

def test_claim_31_buddy_blocks_split_and_merge():
    k = boot26()
    z = next(z for z in k.page_alloc.zones if z.name == "Normal")
    before = list(z.nr_free)
    order = next(o for o in range(1, 11) if before[o] == 0 and any(before[o + 1:]))
    a = k.get_free_pages(k.gfp.GFP_KERNEL, order)
    assert a and z.nr_free != before
    k.free_pages(a, order)
    k.drain_all_pages()
    assert list(z.nr_free) == before


def test_claim_32_get_free_page_and_virt_to_phys():
    k = boot26()
    a = k.get_free_page(k.gfp.GFP_KERNEL)
    assert a % 4096 == 0 and k.virt_to_phys(a) == a - 0xC0000000


def test_claim_33_wrong_in_seed_free_with_free_pages_not___free_pages():
    """The seed frees an address with __free_pages(); that takes a struct page."""
    k = boot26()
    a = k.get_free_page(k.gfp.GFP_KERNEL)
    with pytest.raises(UsageError, match="free_pages"):
        k.free_pages_struct(a, 0)
    k.free_page(a)
    k.check()


def test_claim_34_freeing_with_the_wrong_order_is_a_bad_page_state():
    k = boot26(on_bug="report")
    a = k.get_free_pages(k.gfp.GFP_KERNEL, 0)
    k.free_pages(a, 2)
    assert "Bad page state" in k.dmesg()


def test_claim_35_get_zeroed_page():
    k = boot26()
    a = k.get_free_page(k.gfp.GFP_KERNEL)
    k.memset(a, 0xFF, 4096)
    k.free_page(a)
    z = k.get_zeroed_page(k.gfp.GFP_KERNEL)
    assert z == a and k.read(z, 4096) == bytes(4096)


def test_claim_36_alloc_pages_returns_a_struct_page():
    k = boot26()
    page = k.alloc_pages(k.gfp.GFP_KERNEL, 1)
    assert isinstance(page, kmemsim.Page)
    assert k.page_address(page) == k.va(page.pfn << 12)


def test_claim_38_wrong_in_seed_an_order_10_block_exists():
    """The seed: at most 2^9 pages (2 MB).  2.6.24's MAX_ORDER is 11: order 10 (4 MB) works."""
    k = boot26()
    a = k.get_free_pages(k.gfp.GFP_KERNEL, 10)
    assert a and k.virt_to_pfn(a) % 1024 == 0


# ------------------------------------------------------------------ vmalloc (claims 40-51)

def test_claim_40_44_vmalloc_is_virtually_contiguous_and_physically_scattered():
    k = boot26("160M")  # no highmem: vmalloc's pages come from the lowmem just fragmented
    # fragment memory first so that consecutive pages are unlikely
    held = [k.get_free_page(k.gfp.GFP_KERNEL) for _ in range(64)]
    for a in held[::2]:
        k.free_page(a)
    v = k.vmalloc(16 * 4096)
    pfns = [k.vmalloc_to_pfn(v + i * 4096) for i in range(16)]
    assert len(set(pfns)) == 16
    assert pfns != list(range(pfns[0], pfns[0] + 16))
    k.write(v + 4096 - 2, b"abcd")  # across a page boundary
    assert k.read(v + 4096 - 2, 4) == b"abcd"
    k.vfree(v)
    k.check()


def test_claim_41_vmalloc_takes_highmem_pages():
    k = boot26()
    v = k.vmalloc(256 * 4096)
    zones = {k.page_zone(k.vmalloc_to_page(v + i * 4096)) for i in range(256)}
    assert "HighMem" in zones


def test_claim_42_vmalloc_of_zero_or_more_than_ram_fails():
    k = boot26("160M")
    assert k.vmalloc(0) == 0
    assert k.vmalloc(200 * M) == 0


def test_claim_43_the_vm_struct_lies_between_vmalloc_start_and_end_with_a_guard_page():
    k = boot26()
    v = k.vmalloc(3 * 4096)
    area = k.find_vm_area(v)
    assert area is not None
    assert k.layout.vmalloc_start <= area.addr < area.addr + area.size <= k.layout.vmalloc_end
    assert area.size == 4 * 4096  # three pages and the guard page


def test_claim_45_vmalloc_memory_is_not_for_dma():
    k = kmemsim.boot(P618)
    dev = k.dma_device("nic", dma_mask=kmemsim.DMA_BIT_MASK(32))
    v = k.vmalloc(8192)
    h = k.dma_map_single(dev, v, 8192, kmemsim.DMA_TO_DEVICE)
    assert k.dma_mapping_error(dev, h)


def test_claim_46_wrong_in_seed_vmalloc_is_not_built_on_slab():
    """Only vmalloc's bookkeeping (vm_struct, the pages array) comes from kmalloc; the pages
    themselves come from the page allocator (seen in 6.18's kmem tracepoints)."""
    k = kmemsim.boot(P618)
    lines: list[str] = []
    with k.tracing(lines.append):
        v = k.vmalloc(64 * 4096)
    kmallocs = [ln for ln in lines if " kmalloc: " in ln]
    pages = [ln for ln in lines if " mm_page_alloc: " in ln]
    assert len(pages) >= 64
    assert 0 < len(kmallocs) <= 3
    assert all(int(re.search(r"bytes_req=(\d+)", ln).group(1)) < 4096 for ln in kmallocs)  # type: ignore[union-attr]
    assert v


def test_claim_48_no_vmalloc_in_atomic_context():
    k = boot26()
    with pytest.raises((KernelBug, Oops)), k.hardirq():
        k.vmalloc(8192)
    assert "kernel BUG at mm/vmalloc.c" in k.dmesg() or "BUG: sleeping function" in k.dmesg()


def test_claim_49_vmap_areas_in_a_red_black_tree_on_6_18():
    assert kmemsim.boot(P618).features.vmap_area  # 2.6.28+: the vmap_area red-black tree
    assert not boot26().features.vmap_area  # 2.6.24: the sorted vmlist


def test_claim_50_vmalloc_32_stays_in_32_bit_addressable_memory():
    k = kmemsim.boot(P618, ram="8G")
    v = k.vmalloc_32(16 * 4096)
    assert {k.page_zone(k.vmalloc_to_page(v + i * 4096)) for i in range(16)} <= {"DMA", "DMA32"}
    k26 = boot26()
    v = k26.vmalloc_32(16 * 4096)
    assert {k26.page_zone(k26.vmalloc_to_page(v + i * 4096)) for i in range(16)} <= {"DMA", "Normal"}


# ------------------------------------------------------------------ GFP flags (claims 52-68)

def test_claim_52_composites_are_ors_of_gfp_bits():
    k = boot26()
    g = k.gfp
    assert g.GFP_KERNEL == g.__GFP_WAIT | g.__GFP_IO | g.__GFP_FS
    assert g.GFP_ATOMIC == g.__GFP_HIGH
    assert g.parse(g.format(g.GFP_KERNEL | g.__GFP_ZERO)) == g.GFP_KERNEL | g.__GFP_ZERO


def test_claim_53_54_gfp_atomic_never_sleeps_gfp_kernel_may():
    k = boot26(on_bug="report")
    with k.hardirq():
        assert k.kmalloc(64, k.gfp.GFP_ATOMIC)
    assert "sleeping function" not in k.dmesg()
    lock = k.spinlock("l")
    k.spin_lock(lock)
    k.kmalloc(64, k.gfp.GFP_KERNEL)  # 2.6.24's SLUB fast path checks nothing (claim 78)
    assert "sleeping function" not in k.dmesg()
    k.get_free_pages(k.gfp.GFP_KERNEL, 0)  # __alloc_pages(): might_sleep_if(wait)
    k.spin_unlock(lock)
    assert "BUG: sleeping function called from invalid context at mm/page_alloc.c:" in k.dmesg()
    # 2.6.11's SLAB checks on every kmalloc (cache_alloc_debugcheck_before, mm/slab.c)
    k = kmemsim.boot(P2611, on_bug="report")
    lock = k.spinlock("l")
    k.spin_lock(lock)
    k.kmalloc(64, k.gfp.GFP_KERNEL)
    k.spin_unlock(lock)
    assert "Debug: sleeping function called from invalid context at mm/slab.c:" in k.dmesg()


def test_claim_55_56_gfp_user_and_gfp_highuser():
    k = boot26()
    g = k.gfp
    assert g.GFP_USER == 0x200D0
    page = k.alloc_pages(g.GFP_HIGHUSER, 0)
    assert page is not None and k.page_zone(page) == "HighMem" and k.page_address(page) == 0


def test_claim_58_gfp_dma_takes_zone_dma():
    k = boot26()
    a = k.get_free_pages(k.gfp.GFP_DMA, 0)
    assert k.pa(a) < 16 * M and k.page_zone(k.virt_to_page(a)) == "DMA"


def test_claim_61_nowarn_suppresses_the_failure_report():
    k = boot26("160M")
    assert k.get_free_pages(k.gfp.GFP_ATOMIC | k.gfp.__GFP_NOWARN, 10) == 0 or True
    while k.get_free_pages(k.gfp.GFP_ATOMIC | k.gfp.__GFP_NOWARN, 6):
        pass
    assert "page allocation failure" not in k.dmesg()
    k.get_free_pages(k.gfp.GFP_ATOMIC, 6)
    assert "page allocation failure" in k.dmesg()


def test_claim_62_66_atomic_allocations_dip_into_the_reserve():
    free_left = {}
    for name in ("GFP_NOWAIT", "GFP_ATOMIC"):
        k = boot26("160M")
        g = k.gfp
        mask = getattr(g, name) if name != "GFP_NOWAIT" else 0
        while k.get_free_pages(mask | g.__GFP_NOWARN, 0):
            pass
        free_left[name] = sum(z.free_pages for z in k.page_alloc.zones)
    assert free_left["GFP_ATOMIC"] < free_left["GFP_NOWAIT"]


def test_claim_65_noretry_fails_without_retrying():
    """__GFP_NORETRY: fail rather than retry, and never invoke the OOM killer; a plain
    GFP_KERNEL request in the same state kills a process to succeed."""
    k = boot26("160M")
    g = k.gfp
    victim = k.spawn_process("victim", "40M")
    n = 0
    while k.get_free_pages(g.GFP_KERNEL | g.__GFP_NORETRY | g.__GFP_NOWARN, 0):
        n += 1
    assert n > 0 and victim.alive and "oom-killer" not in k.dmesg()
    assert k.get_free_pages(g.GFP_KERNEL, 0)  # without NORETRY: the OOM killer makes room
    assert not victim.alive and "oom-killer" in k.dmesg()
    k.check()


def test_claim_67_gfp_kernel_reclaims_page_cache_before_failing():
    k = kmemsim.boot(P618, ram="256M")
    k.page_cache_add("/var/log/big", 64 * M // 4096)  # pages, not bytes
    cached = k.node_stat("nr_file_pages")
    got = 0
    while got < 200 and k.get_free_pages(k.gfp.GFP_KERNEL, 8):
        got += 1
    assert k.node_stat("nr_file_pages") < cached  # the page cache was reclaimed for it


def test_claim_68_timers_and_tasklets_run_in_softirq():
    k = boot26()
    seen = []
    t = k.tasklet_setup(lambda data: seen.append(("tasklet", k.in_serving_softirq())))
    k.tasklet_schedule(t)
    timer = k.timer_setup(lambda tl: seen.append(("timer", k.in_serving_softirq())))
    k.mod_timer(timer, k.jiffies + 2)
    k.run(ms=100)
    assert ("tasklet", True) in seen and ("timer", True) in seen


# ------------------------------------------------------------------ slab caches (claims 69-79)

def test_claim_69_71_kmem_cache_create_with_a_constructor_and_destroy():
    k = boot26(on_bug="report")
    made = []

    def ctor(_cache, addr):  # 2.6.24's signature: ctor(struct kmem_cache *, void *)
        made.append(addr)
        k.write_u32(addr, 0xC0FFEE)

    cache = k.kmem_cache_create("my_dev", 72, 0, 0, ctor)
    obj = k.kmem_cache_alloc(cache, k.gfp.GFP_KERNEL)
    assert obj in made and k.read_u32(obj) == 0xC0FFEE
    k.kmem_cache_destroy(cache)  # with an object still allocated: the kernel complains
    assert re.search(r"my_dev|Objects remaining|still has objects", k.dmesg())


def test_claim_72_wrong_in_seed_poison_is_6b_then_a5():
    """The seed: SLAB_POISON fills with a5a5a5a5.  The kernel: POISON_FREE 0x6b over the
    object and POISON_END 0xa5 in its last byte."""
    k = boot26()
    cache = k.kmem_cache_create("poisoned", 64, 0, k.slab_flags.value("SLAB_POISON"))
    obj = k.kmem_cache_alloc(cache, k.gfp.GFP_KERNEL)
    k.kmem_cache_free(cache, obj)
    body = k.read(obj, 64)
    assert body[:63] == b"\x6b" * 63 and body[63] == 0xA5


@pytest.mark.parametrize("profile,checks", [
    (P26, "SLAB_DEBUG_FREE"),  # 2.6.24's name for SLUB's free-time checks
    (P618, "SLAB_CONSISTENCY_CHECKS")])
def test_claim_73_red_zones_are_checked_on_free(profile, checks):
    """SLUB checks an object's red zone on free only with consistency checks (slab_debug=F;
    2.6.24 called the flag SLAB_DEBUG_FREE): mm/slub.c free_debug_processing() ->
    free_consistency_checks() -> check_object().  With SLAB_RED_ZONE alone the zone is laid
    out (0xcc while allocated) but only validation looks at it."""
    k = kmemsim.boot(profile, on_bug="report")
    rz = k.slab_flags.value("SLAB_RED_ZONE")
    quiet = k.kmem_cache_create("rz_only", 64, 0, rz)
    obj = k.kmem_cache_alloc(quiet, k.gfp.GFP_KERNEL)
    assert k.read(obj + 64, 4) == b"\xcc" * 4
    k.write_u8(obj + 64, 0)  # one byte past the end
    k.kmem_cache_free(quiet, obj)
    assert "Redzone" not in k.dmesg()
    checked = k.kmem_cache_create("rz_checked", 64, 0, rz | k.slab_flags.value(checks))
    obj = k.kmem_cache_alloc(checked, k.gfp.GFP_KERNEL)
    k.write_u8(obj + 64, 0)
    k.kmem_cache_free(checked, obj)
    assert re.search(r"Redzone|Right Redzone overwritten", k.dmesg())


def test_claim_74_hwcache_align():
    k = boot26()
    cache = k.kmem_cache_create("aligned", 20, 0, k.slab_flags.value("SLAB_HWCACHE_ALIGN"))
    objs = [k.kmem_cache_alloc(cache, k.gfp.GFP_KERNEL) for _ in range(4)]
    assert all(o % 32 == 0 for o in objs)  # the cache line of the profile's CPU


def test_claim_75_slab_cache_dma_objects_in_zone_dma():
    k = boot26()
    cache = k.kmem_cache_create("isa", 128, 0, k.slab_flags.value("SLAB_CACHE_DMA"))
    obj = k.kmem_cache_alloc(cache, k.gfp.GFP_KERNEL)
    assert k.pa(obj) < 16 * M


def test_claim_76_store_user_records_the_allocating_caller():
    k = kmemsim.boot(P618)
    cache = k.kmem_cache_create("tracked", 64, 0, k.slab_flags.value("SLAB_STORE_USER"))
    k.kmem_cache_alloc(cache, k.gfp.GFP_KERNEL)
    assert "test_claim_76" in k.debugfs("slab/tracked/alloc_traces")


def test_claim_77_slab_panic():
    k = boot26()
    with pytest.raises(KernelBug):
        k.kmem_cache_create("x" * 8, 0xFFFFFF00, 0, k.slab_flags.value("SLAB_PANIC"))
    assert "Kernel panic" in k.dmesg()


def test_claim_79_a_slab_is_pages_cut_into_equal_objects():
    k = boot26()
    cache = k.kmem_cache_create("equal", 100, 0, 0)
    k.kmem_cache_alloc(cache, k.gfp.GFP_KERNEL)
    row = next(line for line in k.proc("slabinfo").splitlines() if line.startswith("equal "))
    f = row.split()
    objsize, objperslab, pagesperslab = int(f[3]), int(f[4]), int(f[5])
    assert objperslab * objsize <= pagesperslab * 4096 < (objperslab + 1) * objsize + 4096


# ------------------------------------------------------------------ mempool (claims 82-87)

def _pool(k, n):
    return k.mempool_create_page_pool(n, 0)


def test_claim_82_86_87_mempool_preallocates_refills_and_is_destroyed():
    k = boot26()
    pool = _pool(k, 4)
    assert pool.curr_nr == 4
    e = k.mempool_alloc(pool, k.gfp.GFP_KERNEL)
    k.mempool_free(e, pool)
    assert pool.curr_nr == 4
    k.mempool_destroy(pool)
    k.check()


def test_claim_83_85_mempool_alloc_tries_the_allocator_first_and_may_fail_in_irq():
    k = boot26("160M")
    pool = _pool(k, 2)
    g = k.gfp
    held = []
    while k.get_free_pages(g.GFP_ATOMIC | g.__GFP_NOWARN, 0):
        pass
    with k.hardirq():
        for _ in range(3):
            held.append(k.mempool_alloc(pool, g.GFP_ATOMIC))
    assert held[0] and held[1] and not held[2]  # the two reserved pages, then NULL
    assert pool.curr_nr == 0


# ------------------------------------------------------------------ ioremap (claims 88-90)

def test_claim_88_89_90_ioremap_maps_device_memory_without_ram_and_unmaps():
    from kmemsim.mm.ioremap import Register

    k = boot26()
    k.add_device("dev", 0xFEBF0000, 0x10000, [Register("R", 0x0, 4)])
    regs = k.ioremap(0xFEBF0000, 0x10000)
    assert k.is_vmalloc_addr(regs)
    area = k.find_vm_area(regs)
    assert area is not None and area.nr_pages == 0  # no RAM behind the 64 KiB
    assert k.vmalloc_to_pfn(regs) == 0xFEBF0  # the device's own pages
    k.writel(0x1234, regs)
    assert k.readl(regs) == 0x1234  # claim 89: through the accessors
    with pytest.raises(KernelBug) as e:  # claim 89: not by a plain load
        k.read_u32(regs)
    assert e.value.kind == "iomem_deref"
    k.iounmap(regs)
    with pytest.raises(Oops):
        k.readl(regs)


# ------------------------------------------------------------------ claims with no test above


def _active_objs(k) -> dict[str, int]:
    out = {}
    for line in k.proc("slabinfo").splitlines()[2:]:
        f = line.split()
        out[f[0]] = int(f[1])
    return out


@pytest.mark.parametrize("profile", [P26, P618])
def test_claim_47_vmalloc_kmallocs_its_metadata(profile):
    """vm_struct and the pages array come from kmalloc (GFP_KERNEL: vmalloc may sleep)."""
    k = kmemsim.boot(profile)
    before = _active_objs(k)
    v = k.vmalloc(64 * 4096)
    after = _active_objs(k)
    grew = {n for n in after if after[n] > before.get(n, 0)}
    assert v and any(n.startswith("kmalloc-") for n in grew), grew
    with pytest.raises((KernelBug, Oops)), k.hardirq():
        k.vmalloc(4096)


def test_claim_57_gfp_nofs_may_not_call_into_the_filesystem():
    """GFP_NOFS reclaims but, without __GFP_FS, out_of_memory() kills nobody: with nothing
    else to run the model says the allocation would loop forever (6.18)."""
    k = kmemsim.boot(P618, ram="128M")
    k.vmscan.kswapd_mode = "manual"
    g = k.gfp
    p = k.spawn_process("victim", "20M")
    with pytest.raises(KernelBug) as e:
        while k.get_free_pages(g.GFP_NOFS | g.__GFP_NOWARN, 0):
            pass
    assert e.value.kind == "alloc_livelock" and p.alive
    assert "invoked oom-killer" not in k.dmesg()


def test_claim_78_the_flags_are_checked_even_when_the_cache_has_objects():
    """The seed: the flags matter only when the cache must grow.  6.18 checks them on every
    call (might_alloc() in slab_pre_alloc_hook): GFP_KERNEL in a hardirq is reported even
    though the object comes from the CPU slab."""
    k = kmemsim.boot(P618, on_bug="report")
    c = k.kmem_cache_create("claim78", 96, 0, 0, None)
    k.kmem_cache_free(c, k.kmem_cache_alloc(c, k.gfp.GFP_KERNEL))  # the cache has free objects
    with k.hardirq():
        assert k.kmem_cache_alloc(c, k.gfp.GFP_KERNEL)
    assert "BUG: sleeping function called from invalid context" in k.dmesg()


def test_claim_84_mempool_alloc_sleeps_until_an_element_is_freed():
    """In process context mempool_alloc() does not fail: with the allocator failing and the
    reserve empty it sleeps until another task's mempool_free() (2.6.24, 128 MB)."""
    k = boot26("128M")
    c = k.kmem_cache_create("claim84", 512, 0, 0, None)
    pool = k.mempool_create_slab_pool(2, c)
    g = k.gfp
    held = []
    while a := k.get_free_pages(g.GFP_KERNEL | g.__GFP_NOWARN | g.__GFP_NORETRY, 0):
        held.append(a)  # nothing left for the cache to grow with
    taken = []
    while e := k.mempool_alloc(pool, g.GFP_ATOMIC):
        taken.append(e)
    assert pool.curr_nr == 0 and taken

    def io_done():  # an I/O completion giving one element back later
        k.msleep(40)
        k.mempool_free(taken.pop(), pool)

    k.kthread_run(io_done, "io_done")
    j = k.jiffies
    e = k.mempool_alloc(pool, g.GFP_KERNEL)
    assert e and pool.waits >= 1 and k.jiffies - j >= k.msecs_to_jiffies(40)
    assert "BUG" not in k.dmesg()
    k.mempool_free(e, pool)
    for a in held:
        k.free_pages(a, 0)
    k.check()


# ------------------------------------------------------------------ the classic kernels (issue 14)


def test_claim_16_17_kmalloc_runs_from_size_32_to_size_131072_on_2_6_11():
    """SLAB's general caches of 2.6.11 (include/linux/kmalloc_sizes.h): the smallest is 32
    bytes, the largest 128 KB; above it kmalloc returns NULL."""
    k = kmemsim.boot(P2611)
    g = k.gfp.GFP_KERNEL
    assert k.ksize(k.kmalloc(1, g)) == 32
    assert k.kmalloc(131072, g) and k.kmalloc(131073, g) == 0
    names = [line.split()[0] for line in k.proc("slabinfo").splitlines()[2:]]
    assert "size-32" in names and "size-131072" in names and "size-262144" not in names


def test_claim_25_slub_of_2_6_24_hands_big_kmallocs_to_the_page_allocator():
    """2.6.24's SLUB: kmalloc caches up to kmalloc-2048; above PAGE_SIZE / 2 __kmalloc()
    calls __get_free_pages() (include/linux/slub_def.h)."""
    k = boot26()
    g = k.gfp.GFP_KERNEL
    before = k.proc("slabinfo")
    p = k.kmalloc(2049, g)
    assert k.ksize(p) == 4096 and k.proc("slabinfo") == before  # no slab cache took it
    assert k.ksize(k.kmalloc(2048, g)) == 2048


def test_claim_37_an_order_at_or_above_max_order_is_null_silently_on_2_6():
    for profile in (P2611, P26):
        k = kmemsim.boot(profile, on_bug="report")
        mark = len(k.log)
        assert k.get_free_pages(k.gfp.GFP_KERNEL, 11) == 0
        assert k.log.dmesg(since=mark) == ""  # alloc_pages_node(): if (order >= MAX_ORDER) return NULL


@pytest.mark.parametrize("profile,where", [(P2611, "mm/slab.c:1792"), (P26, "mm/slub.c:1086")])
def test_claim_59_kmalloc_with_gfp_highmem_is_a_kernel_bug_on_2_6(profile, where):
    """The seed: __GFP_HIGHMEM is not for kmalloc.  2.6.11's cache_grow() and 2.6.24's
    new_slab() BUG() when a cache grows with it; 6.x fixes the flags with a warning."""
    k = kmemsim.boot(profile, ram="160M", on_bug="report")
    with pytest.raises(Oops):
        for _ in range(64):
            k.kmalloc(2048, k.gfp.GFP_KERNEL | k.gfp.__GFP_HIGHMEM)
    assert f"kernel BUG at {where}!" in k.dmesg()
    k = kmemsim.boot(P618, on_bug="report")
    assert k.kmalloc(5000, k.gfp.GFP_KERNEL | k.gfp.__GFP_HIGHMEM)
    assert "Fix your code!" in k.dmesg()


def test_claim_60_gfp_cold_takes_the_cold_list_on_2_6_and_is_gone_in_6_18():
    k = kmemsim.boot(P2611)
    g = k.gfp
    p = k.get_free_pages(g.GFP_KERNEL, 0)
    k.free_pages(p, 0)  # onto the hot list
    assert k.get_free_pages(g.GFP_KERNEL, 0) == p  # cache-hot: the same page back
    k.free_pages(p, 0)
    assert k.get_free_pages(g.GFP_KERNEL | g.__GFP_COLD, 0) != p  # from the cold list
    with pytest.raises(UsageError, match="__GFP_COLD"):
        kmemsim.boot(P618).gfp.value("__GFP_COLD")


def test_claim_70_the_seeds_kmem_cache_create_with_a_destructor():
    """2.6.11: kmem_cache_create(name, size, align, flags, ctor, dtor), the dtor run when a
    slab is destroyed; after 2.6.23 a destructor is refused with the reason."""
    k = kmemsim.boot(P2611)
    dtors = []
    c = k.kmem_cache_create("xjslab", 52, 0, 0, lambda *a: None, lambda *a: dtors.append(a))
    obj = k.kmem_cache_alloc(c, k.gfp.GFP_KERNEL)
    k.kmem_cache_free(c, obj)
    k.kmem_cache_destroy(c)
    assert dtors  # every object of the freed slab
    with pytest.raises(UsageError, match="2.6.23"):
        kmemsim.boot(P618).kmem_cache_create("xjslab", 52, 0, 0, None, lambda *a: None)


@pytest.mark.parametrize("profile,per_slab", [(P2611, ("119", "61", "31")), (P26, ("113", "59", "30"))])
def test_claim_80_the_2_6_slab_layer_the_seed_describes(profile, per_slab):
    """SLAB with the geometry and tunables the real kernels printed on 2 CPUs and 1 GB
    (tests/data/classic/<profile>/slab-1g-smp2/slabinfo.txt): size-32, size-64 and size-128
    hold 119, 61, 31 objects per one-page slab on 2.6.11 and 113, 59, 30 on 2.6.24 (whose
    slab descriptor is bigger), tunables 120 60 8."""
    k = kmemsim.boot(profile, ram="1G", cpus=2, slab_allocator="slab")
    assert k.slab.allocator == "slab"
    rows = {line.split()[0]: line.split() for line in k.proc("slabinfo").splitlines()[2:]}
    for name, n in zip(("size-32", "size-64", "size-128"), per_slab, strict=True):
        assert rows[name][4:6] == [n, "1"] and rows[name][8:11] == ["120", "60", "8"], rows[name]


@pytest.mark.parametrize("allocator", ["slab", "slub", "slob"])
def test_claim_81_2_6_24_offers_slab_slub_and_slob(allocator):
    k = kmemsim.boot(P26, slab_allocator=allocator)
    assert k.slab.allocator == allocator
    p = k.kmalloc(100, k.gfp.GFP_KERNEL)
    k.write(p, b"x" * 100)
    assert k.read(p, 100) == b"x" * 100
    if allocator != "slob":  # 2.6.24 SLOB ksize(): ((slob_t *)block - 1)->units + SLOB_UNIT, wrong until 2.6.27
        assert k.ksize(p) >= 100
    k.kfree(p)
    k.check()
    with pytest.raises(kmemsim.ConfigError):
        kmemsim.boot(P2611, slab_allocator="slub")  # 2.6.11 had SLAB only


def test_claim_63_gfp_repeat_is_a_2_6_flag_and_a_hint_on_6_18():
    assert boot26().gfp.value("__GFP_REPEAT") == 0x400 and kmemsim.boot(P2611).gfp.value("__GFP_REPEAT") == 0x400
    with pytest.raises(UsageError, match="__GFP_RETRY_MAYFAIL"):
        kmemsim.boot(P618).gfp.value("__GFP_REPEAT")


def test_the_claims_page_names_every_test_and_every_test_is_on_it():
    """docs/seed-claims.md: 90 rows; every W row names a test of this file that exists; every
    test_claim_* here is on the page; the counts line adds up."""
    from pathlib import Path

    page = (Path(__file__).parent.parent / "docs" / "seed-claims.md").read_text()
    rows = re.findall(r"^\| (\d+) \| (W†|W|P|X|M) \| .*\| (.*) \|$", page, re.M)
    assert [int(n) for n, _, _ in rows] == list(range(1, 91))
    mine = {name for name in globals() if name.startswith("test_claim_")}
    named = set(re.findall(r"`(test_claim_\w+)`", page))
    assert named == mine
    for n, verdict, tests in rows:
        if verdict.startswith("W"):
            assert tests.strip() != "—", f"claim {n} is {verdict} without a test"
    counts = {v: sum(1 for _, x, _ in rows if x == v) for v in ("W", "W†", "P", "X", "M")}
    assert (f"**Counts (90 claims):** W {counts['W'] + counts['W†']} ({counts['W†']} of them W†), "
            f"P {counts['P']}, X {counts['X']}, M {counts['M']}.") in page


@pytest.mark.parametrize("profile", [P2611, P26])
def test_claim_64_gfp_nofail_never_returns_null_on_2_6(profile):
    """__GFP_NOFAIL: __alloc_pages() retries for ever (do_retry), the OOM killer making room;
    with the last process killed out_of_memory() panics, as 2.6 did ("Out of memory and no
    killable processes..."); on a machine that never had a process to kill the model reports
    the endless loop instead of spinning."""
    k = kmemsim.boot(profile, ram="64M", on_bug="report")
    g = k.gfp
    nofail = g.GFP_KERNEL | g.__GFP_NOFAIL | g.__GFP_NOWARN
    victim = k.spawn_process("victim", "8M")
    with pytest.raises(KernelBug) as e:
        while k.get_free_pages(nofail, 0):
            pass
    assert not victim.alive and "Killed process" in k.dmesg()  # killed to make room first
    assert e.value.kind == "panic" and "Out of memory and no killable processes..." in str(e.value)
    k = kmemsim.boot(profile, ram="64M", on_bug="report")
    with pytest.raises(KernelBug) as e:
        while k.get_free_pages(nofail, 0):
            pass
    assert e.value.kind == "alloc_livelock" and "would loop forever in __alloc_pages " in str(e.value)
