"""kmap / kmap_atomic / kmap_local_page and page_address (kmemsim.mm.highmem), both profiles."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import kmemsim
from kmemsim import DMA_BIDIRECTIONAL, DMA_BIT_MASK, DMA_FROM_DEVICE, DMA_TO_DEVICE
from kmemsim.errors import InvariantError, KernelBug, Oops, UsageError
from kmemsim.features import Features
from kmemsim.gfp import GFP_KERNEL
from kmemsim.mm.highmem import KM_TYPE_NR, KM_USER0, KM_USER1, Highmem

PS = 4096


@pytest.fixture
def k32():
    k = kmemsim.boot("linux-2.6-i386", ram="1G")
    yield k
    k.shutdown()


def highpage(k):
    p = k.alloc_page(k.gfp.value("GFP_HIGHUSER"))
    assert p is not None and k.PageHighMem(p)
    return p


def in_pkmap(k, addr):
    lay = k.layout
    return lay.pkmap_base <= addr < lay.pkmap_base + lay.last_pkmap * PS


# ------------------------------------------------------------------ kmap / kunmap on i386
def test_kmap_of_a_highmem_page_is_in_the_pkmap_window_and_reaches_its_bytes(k32):
    k = k32
    p = highpage(k)
    assert k.page_address(p) == 0  # not kmapped: page_address() is NULL
    a = k.kmap(p)
    assert in_pkmap(k, a) and a % PS == 0
    assert k.page_address(p) == a  # set_page_address()
    k.write(a + 100, b"through the pkmap window")
    b = k.kmap(p)  # a second user: the same entry
    assert b == a and k.highmem_impl.pkmap_count[k.highmem_impl.PKMAP_NR(a)] == 3
    assert k.read(b + 100, 24) == b"through the pkmap window"
    # the bytes are the page's: physical memory has them
    assert k.phys.read((p.pfn << 12) + 100, 24) == b"through the pkmap window"
    assert k.kmap_to_page(a + 5) == p
    e, level = k.lookup_address(a)
    assert e & 1 and (e >> 12) == p.pfn and e & 0xFFF == 0x163  # PAGE_KERNEL, 2.6.24 i386
    k.kunmap(p)
    k.kunmap(p)
    k.check()


def test_kmap_of_a_lowmem_page_is_its_page_address(k32):
    k = k32
    p = k.alloc_page(k.gfp.value("GFP_KERNEL"))
    assert not k.PageHighMem(p)
    assert k.kmap(p) == k.page_address(p) == k.layout.page_offset + (p.pfn << 12)
    assert k.kmap_atomic(p, "KM_USER0") == k.page_address(p)
    k.kunmap_atomic(k.page_address(p), "KM_USER0")
    k.kunmap(p)
    assert k.highmem_impl.pkmap_count == [0] * 1024


def test_the_160m_machine_has_a_pkmap_window_but_no_highmem():
    k = kmemsim.boot("linux-2.6-i386", ram="160M")
    assert k.layout.vmalloc_start == 0xCA800000
    assert k.max_pfn == k.max_low_pfn  # every page is lowmem
    p = k.alloc_page(k.gfp.value("GFP_HIGHUSER"))
    assert not k.PageHighMem(p)
    assert k.kmap(p) == k.page_address(p) != 0
    k.kunmap(p)
    assert k.highmem_impl.config_highmem and not any(k.highmem_impl.pkmap_count)
    k.check()


def test_a_count_of_one_keeps_the_mapping_until_the_wrap_flushes_it(k32):
    k, hm = k32, k32.highmem_impl
    p = highpage(k)
    a = k.kmap(p)
    k.kunmap(p)
    assert hm.pkmap_count[hm.PKMAP_NR(a)] == 1
    assert k.page_address(p) == a  # still mapped (the TLB may hold it; so does the PTE)
    assert k.kmap(p) == a  # a new kmap reuses it
    k.kunmap(p)
    k.kmap_flush_unused()
    assert k.page_address(p) == 0 and hm.pkmap_count[hm.PKMAP_NR(a)] == 0
    with pytest.raises(Oops):
        k.read(a, 1)  # the PTE is gone: an access oopses
    assert "BUG: unable to handle kernel paging request at virtual address" in k.dmesg()
    k.check()


def test_last_pkmap_nr_wraps_and_flush_all_zero_pkmaps_reclaims_idle_entries(k32):
    k, hm = k32, k32.highmem_impl
    pages = [highpage(k) for _ in range(1100)]
    addrs = []
    for p in pages[:1023]:  # entries 1..1023: then the cursor wraps to 0
        addrs.append(k.kmap(p))
        k.kunmap(p)  # count 1: mapped, unused
    assert addrs == [hm.PKMAP_ADDR(i) for i in range(1, 1024)]
    assert hm.flushes == 0
    a = k.kmap(pages[1023])  # wraps: flush_all_zero_pkmaps() first, then entry 0
    assert hm.flushes == 1 and a == hm.PKMAP_ADDR(0)
    assert all(k.page_address(p) == 0 for p in pages[:1023])
    assert k.kmap(pages[1024]) == hm.PKMAP_ADDR(1)
    k.check()


def test_kmap_sleeps_when_every_entry_is_busy_and_nothing_can_free_one(k32):
    k, hm = k32, k32.highmem_impl
    pages = [highpage(k) for _ in range(1025)]
    for p in pages[:1024]:
        k.kmap(p)
    before = (list(hm.pkmap_count), dict(hm.page_virtual))
    with pytest.raises(KernelBug) as e:
        k.kmap(pages[1024])  # map_new_virtual() sleeps on pkmap_map_wait; nobody can wake it
    assert e.value.kind == "hung_task"
    assert "INFO: task insmod:1000 blocked for more than 120 seconds." in k.dmesg()
    assert (list(hm.pkmap_count), dict(hm.page_virtual)) == before  # only the cursor moved
    assert hm.last_pkmap_nr == 1023 and k.page_address(pages[1024]) == 0
    k.check()


def test_a_sleeping_kmap_is_woken_by_a_kunmap_in_another_task(k32):
    k, hm = k32, k32.highmem_impl
    pages = [highpage(k) for _ in range(1025)]
    for p in pages[:1024]:
        k.kmap(p)

    def freer():
        k.msleep(10)
        k.kunmap(pages[7])  # count 2 -> 1: wake_up(&pkmap_map_wait)

    t = k.kthread_run(freer, "freer")
    a = k.kmap(pages[1024])  # sleeps, the freer runs, the wrap flushes entry 8
    assert hm.kmap_sleeps == 1 and k.page_address(pages[7]) == 0
    assert a == hm.PKMAP_ADDR(8) and k.page_address(pages[1024]) == a
    k.kthread_stop(t)
    k.check()


def test_double_kunmap_and_kunmap_of_an_unmapped_page_are_bugs(k32):
    k = k32
    p = highpage(k)
    with pytest.raises(Oops):
        k.kunmap(p)  # BUG_ON(!vaddr)
    assert "kernel BUG at mm/highmem.c:196!" in k.dmesg()
    k.kmap(p)
    k.kunmap(p)
    with pytest.raises(Oops):
        k.kunmap(p)  # the count would reach 0 without a TLB flush
    assert "kernel BUG at mm/highmem.c:206!" in k.dmesg()
    k.check()


def test_kunmap_in_interrupt_is_a_bug_on_2_6_24(k32):
    k = k32
    p = highpage(k)
    k.kmap(p)
    with k.hardirq():
        with pytest.raises(Oops):
            k.kunmap(p)
    assert "kernel BUG at arch/x86/mm/highmem_32.c:15!" in k.dmesg()


def test_kmap_inside_kmap_atomic_is_sleeping_in_atomic_context(k32):
    k = k32
    p, q = highpage(k), highpage(k)
    a = k.kmap_atomic(p, KM_USER0)
    with pytest.raises(KernelBug) as e:
        k.kmap(q)
    assert e.value.kind == "sleeping_in_atomic"
    assert "BUG: sleeping function called from invalid context at arch/x86/mm/highmem_32.c:6" in k.dmesg()
    assert k.page_address(q) == 0  # nothing was mapped
    k.kunmap_atomic(a, KM_USER0)
    k.check()


# ------------------------------------------------------------------ kmap_atomic on i386
def test_kmap_atomic_uses_the_cpus_km_type_fixmap_slot(k32):
    k = k32
    p, q = highpage(k), highpage(k)
    a = k.kmap_atomic(p, KM_USER0)
    # __fix_to_virt(FIX_KMAP_BEGIN + KM_USER0 + KM_TYPE_NR * cpu); FIX_KMAP_BEGIN = 69 here
    assert a == 0xFFFFF000 - ((69 + KM_USER0) << 12) and k.layout.fixaddr_start <= a
    assert k.preempt_count() == 1 and k.in_atomic()
    assert k.page_address(p) == 0  # an atomic kmap is not page_address()
    with k.on_cpu(1):
        b = k.kmap_atomic(q, "KM_USER1")
        assert b == 0xFFFFF000 - ((69 + KM_USER1 + KM_TYPE_NR) << 12)
        k.write(b, b"cpu1")
        k.kunmap_atomic(b, KM_USER1)
    k.write(a, b"cpu0")
    assert k.kmap_to_page(a) == p
    k.kunmap_atomic(a, KM_USER0)
    assert k.preempt_count() == 0
    with pytest.raises(Oops):
        k.read(a, 4)  # kpte_clear_flush() removed the mapping
    assert k.phys.read(p.pfn << 12, 4) == b"cpu0" and k.phys.read(q.pfn << 12, 4) == b"cpu1"
    k.check()


def test_reusing_a_busy_km_type_slot_is_the_bug_on_pte_none(k32):
    k = k32
    p, q = highpage(k), highpage(k)
    k.kmap_atomic(p, KM_USER0)
    with pytest.raises(Oops):
        k.kmap_atomic(q, KM_USER0)
    assert "kernel BUG at arch/x86/mm/highmem_32.c:42!" in k.dmesg()
    assert k.preempt_count() == 1  # the failed call changed nothing


def test_kunmap_atomic_with_the_wrong_type_leaves_the_slot_mapped(k32):
    k = k32
    p, q = highpage(k), highpage(k)
    a = k.kmap_atomic(p, KM_USER0)
    k.kunmap_atomic(a, KM_USER1)  # not this type's slot: 2.6.24 only re-enables page faults
    assert k.preempt_count() == 0 and k.read(a, 1) is not None
    with pytest.raises(Oops):
        k.kmap_atomic(q, KM_USER0)  # the stale slot is found later


def test_km_type_is_required_on_2_6_24_and_refused_on_6_18(k32):
    p = highpage(k32)
    with pytest.raises(UsageError, match="KM_USER0"):
        k32.kmap_atomic(p)
    with pytest.raises(UsageError, match="unknown km_type"):
        k32.kmap_atomic(p, "KM_NOPE")
    k = kmemsim.boot()
    with pytest.raises(UsageError, match="no km_type"):
        k.kmap_atomic(k.alloc_page(GFP_KERNEL), KM_USER0)
    with pytest.raises(UsageError, match="not a struct page"):
        k.kmap(0x1000)


def test_2_6_11_kmap_atomic_neither_checks_nor_clears_the_slot(k32):
    k = k32
    k.features = Features("2.6.11")
    h = Highmem(k)  # the kmap of a 2.6.11 kernel on this machine
    p, q = highpage(k), highpage(k)
    a = h.kmap_atomic(p, KM_USER0)
    k.write(a, b"2611")
    h.kunmap_atomic(a, KM_USER0)
    assert k.preempt_count() == 0
    assert k.read(a, 4) == b"2611"  # the PTE stays (2.6.11 cleared it only with CONFIG_DEBUG_HIGHMEM)
    assert h.slots[0][KM_USER0] == (p.pfn, "stale")
    h.check()
    b = h.kmap_atomic(q, KM_USER0)  # no BUG_ON(!pte_none()): set_pte() over the stale entry
    assert b == a and h.kmap_to_page(b) == q
    h.kunmap_atomic(b, KM_USER0)
    k.free_pages_struct(p, 0)  # a stale slot may map a freed page
    h.check()


def test_from_2_6_37_kmap_atomic_takes_the_next_slot_of_the_kmap_local_stack(k32):
    k = k32
    k.features = Features("6.6")
    h = Highmem(k)  # what a 6.6 i386 kernel with CONFIG_HIGHMEM does
    p, q = highpage(k), highpage(k)
    with pytest.raises(UsageError, match="no km_type"):
        h.kmap_atomic(p, KM_USER0)
    a = h.kmap_atomic(p)
    b = h.kmap_local_page(q)
    assert (a, b) == (h.slot_vaddr(0, 0), h.slot_vaddr(0, 1)) and h.local_stack[0] == [0, 1]
    assert k.preempt_count() == 1 and h.kmap_to_page(a) == p
    h.kunmap_local(b)
    h.kunmap_atomic(a)
    assert k.preempt_count() == 0 and h.local_stack[0] == [] and not h.slots[0]
    h.check()
    # the generic kmap()/kunmap() (5.8): might_sleep() in include/linux/highmem-internal.h, no BUG
    h.kmap(p)
    with k.hardirq(), pytest.raises(KernelBug):
        h.kunmap(p)
    assert "sleeping function called from invalid context at include/linux/highmem-internal.h:55" in k.dmesg()


# ------------------------------------------------------------------ kmap_local on i386
def test_kmap_local_is_a_per_cpu_stack_unmapped_in_reverse(k32):
    k, hm = k32, k32.highmem_impl
    ps = [highpage(k) for _ in range(3)]
    addrs = [k.kmap_local_page(p) for p in ps]
    assert addrs == [hm.slot_vaddr(0, i) for i in range(3)]
    assert k.preempt_count() == 0  # kmap_local disables migration, not preemption
    for a, p in zip(addrs, ps, strict=True):
        k.write(a, p.pfn.to_bytes(4, "little"))
    for a in reversed(addrs):
        k.kunmap_local(a + 123)  # any address inside the page
    assert hm.local_stack[0] == [] and not hm.slots[0]
    assert [k.phys.read(p.pfn << 12, 4) for p in ps] == [p.pfn.to_bytes(4, "little") for p in ps]
    k.check()


def test_kunmap_local_out_of_order_warns_once_and_unmaps_the_innermost(k32):
    k, hm = k32, k32.highmem_impl
    a = k.kmap_local_page(highpage(k))
    b = k.kmap_local_page(highpage(k))
    k.kunmap_local(a)  # wrong order: WARN_ON_ONCE, and slot 1 (b) is what goes
    assert "WARNING: at kunmap_local_indexed()" in k.dmesg()  # 2.6.24's WARN_ON form
    assert hm.local_stack[0] == [0] and k.read(a, 1) is not None
    with pytest.raises(Oops):
        k.read(b, 1)
    k.kunmap_local(a)
    with pytest.raises(Oops):
        k.kunmap_local(a)  # nothing left to pop: BUG_ON(idx < 0)
    k.check()


def test_kmap_local_nesting_is_bounded(k32):
    k = k32
    for _ in range(KM_TYPE_NR - 1):
        k.kmap_local_page(highpage(k))
    with pytest.raises(Oops):
        k.kmap_local_page(highpage(k))  # BUG_ON(idx >= KM_MAX_IDX)


# ------------------------------------------------------------------ x86_64: everything is lowmem
def test_on_x86_64_every_kmap_is_page_address():
    k = kmemsim.boot()
    p = k.alloc_page(GFP_KERNEL)
    addr = k.page_address(p)
    assert k.kmap(p) == addr and k.kmap_local_page(p) == addr
    assert k.kmap_atomic(p) == addr and k.preempt_count() == 1
    k.kunmap_atomic(addr)
    k.kunmap_local(addr)
    k.kunmap(p)
    assert k.preempt_count() == 0 and not k.highmem_impl.config_highmem
    with pytest.raises(UsageError):
        k.kunmap_atomic(addr)  # unbalanced: preempt_count would go negative
    with pytest.raises(KernelBug):
        with k.atomic():
            k.kmap(p)  # might_sleep() in kmap
    assert "at include/linux/highmem-internal.h:172" in k.dmesg()
    k.check()


def test_check_notices_a_pkmap_pte_changed_behind_its_back(k32):
    k = k32
    p = highpage(k)
    a = k.kmap(p)
    k.vmalloc_impl.pt.vunmap_range(a, a + PS)  # a stray pte_clear
    with pytest.raises(InvariantError, match="no PTE"):
        k.check()


def test_check_notices_a_kmapped_page_that_was_freed(k32):
    k = k32
    p = highpage(k)
    k.kmap(p)
    k.free_page_struct(p)
    with pytest.raises(InvariantError, match="not allocated"):
        k.check()


# ------------------------------------------------------------------ stateful: kmaps and DMA together
class KmapDmaMachine(RuleBasedStateMachine):
    """Random kmap/kunmap/kmap_atomic/kmap_local and DMA map/unmap/alloc on both profiles."""

    @initialize(profile=st.sampled_from(["linux-6.18-x86_64", "linux-2.6-i386"]))
    def boot(self, profile):
        self.k = kmemsim.boot(profile, ram="1G")
        self.classic = profile.startswith("linux-2.6")
        g = self.k.gfp
        self.gfp_page = g.value("GFP_HIGHUSER") if self.classic else GFP_KERNEL
        self.gfp_kernel = g.value("GFP_KERNEL")
        self.pages = []  # [page, tag]
        self.kmapped = []  # pages with a kmap() reference (repeats allowed)
        self.atomic = []  # (addr, km_type, page)
        self.local = []  # (addr, page)
        self.dev32 = self.k.dma_device("dev32", DMA_BIT_MASK(32))
        self.dev24 = self.k.dma_device("dev24", DMA_BIT_MASK(24))
        self.streams = []  # (dev, dma_addr, size, dir, buffer or None)
        self.coherent = []  # (dev, size, cpu, handle)
        self.tag = 0

    def _busy(self, page):
        return (page in self.kmapped or any(p == page for _, _, p in self.atomic)
                or any(p == page for _, p in self.local))

    def _gfp(self, gfp):
        """Inside a kmap_atomic section only atomic allocations are allowed."""
        if not self.atomic:
            return gfp
        return self.k.gfp.value("GFP_ATOMIC") | (self.k.gfp.mask(gfp) & self.k.gfp.value("__GFP_HIGHMEM"))

    @rule()
    def alloc(self):
        p = self.k.alloc_page(self._gfp(self.gfp_page))
        if p is not None:
            self.tag += 1
            self.pages.append([p, self.tag])
            self.k.phys.write(p.pfn << 12, self.tag.to_bytes(4, "little"))

    @precondition(lambda self: self.pages)
    @rule(data=st.data())
    def free(self, data):
        i = data.draw(st.integers(0, len(self.pages) - 1))
        p = self.pages[i][0]
        if not self._busy(p):
            self.k.free_page_struct(p)
            del self.pages[i]

    @precondition(lambda self: self.pages and not self.atomic)  # kmap() may sleep
    @rule(data=st.data())
    def kmap(self, data):
        p, tag = data.draw(st.sampled_from(self.pages))
        a = self.k.kmap(p)
        assert self.k.read(a, 4) == tag.to_bytes(4, "little")
        assert self.k.page_address(p) == a
        self.kmapped.append(p)

    @precondition(lambda self: self.kmapped)
    @rule(data=st.data())
    def kunmap(self, data):
        p = self.kmapped.pop(data.draw(st.integers(0, len(self.kmapped) - 1)))
        self.k.kunmap(p)

    @precondition(lambda self: self.pages and len(self.atomic) < 3)
    @rule(data=st.data())
    def kmap_atomic(self, data):
        p, tag = data.draw(st.sampled_from(self.pages))
        t = None
        if self.classic:  # a free slot type that kmap_local's stack (depth <= 3) never reaches
            t = next(x for x in ("KM_USER0", "KM_USER1", "KM_IRQ0") if x not in {a[1] for a in self.atomic})
        a = self.k.kmap_atomic(p, t)
        assert self.k.read(a, 4) == tag.to_bytes(4, "little")
        self.atomic.append((a, t, p))

    @precondition(lambda self: self.atomic)
    @rule()
    def kunmap_atomic(self):
        a, t, _ = self.atomic.pop()
        self.k.kunmap_atomic(a, t)

    @precondition(lambda self: self.pages and len(self.local) < 3)
    @rule(data=st.data())
    def kmap_local(self, data):
        p, tag = data.draw(st.sampled_from(self.pages))
        a = self.k.kmap_local_page(p)
        assert self.k.read(a, 4) == tag.to_bytes(4, "little")
        self.local.append((a, p))

    @precondition(lambda self: self.local)
    @rule()
    def kunmap_local(self):
        a, _ = self.local.pop()
        self.k.kunmap_local(a)

    @rule(size=st.integers(1, 3000), wide=st.booleans(), d=st.sampled_from([DMA_TO_DEVICE, DMA_FROM_DEVICE,
                                                                              DMA_BIDIRECTIONAL]))
    def dma_map(self, size, wide, d):
        k = self.k
        buf = k.kmalloc(size, self._gfp(self.gfp_kernel))
        if not buf:
            return
        dev = self.dev32 if wide else self.dev24
        h = k.dma_map_single(dev, buf, size, d)
        if k.dma_mapping_error(dev, h):
            assert not self.classic and dev is self.dev24 and k.pa(buf) + size > 1 << 24
            k.kfree(buf)
            return
        assert h == k.pa(buf)
        self.streams.append((dev, h, size, d, buf))

    @precondition(lambda self: self.pages)
    @rule(data=st.data())
    def dma_map_page(self, data):
        p, _ = data.draw(st.sampled_from(self.pages))
        h = self.k.dma_map_page(self.dev32, p, 16, 256, DMA_TO_DEVICE)
        if not self.k.dma_mapping_error(self.dev32, h):
            assert h == (p.pfn << 12) + 16
            self.streams.append((self.dev32, h, 256, DMA_TO_DEVICE, None))

    @precondition(lambda self: self.streams)
    @rule(data=st.data())
    def dma_unmap(self, data):
        dev, h, size, d, buf = self.streams.pop(data.draw(st.integers(0, len(self.streams) - 1)))
        self.k.dma_unmap_single(dev, h, size, d)
        if buf is not None:
            self.k.kfree(buf)

    @rule(size=st.integers(1, 3 * PS), wide=st.booleans())
    def dma_alloc_coherent(self, size, wide):
        dev = self.dev32 if wide else self.dev24
        cpu, h = self.k.dma_alloc_coherent(dev, size, self._gfp(self.gfp_kernel))
        if cpu:
            assert self.k.read(cpu, size) == bytes(size)
            assert h + size <= (1 << 32 if wide else 1 << 24)
            self.coherent.append((dev, size, cpu, h))

    @precondition(lambda self: self.coherent)
    @rule()
    def dma_free_coherent(self):
        self.k.dma_free_coherent(*self.coherent.pop(0))

    @invariant()
    def consistent(self):
        if hasattr(self, "k"):
            self.k.check()
            assert self.k.preempt_count() == len(self.atomic)

    def teardown(self):
        if hasattr(self, "k"):
            self.k.shutdown()


TestKmapDmaStateful = KmapDmaMachine.TestCase
TestKmapDmaStateful.settings = settings(max_examples=20, stateful_step_count=25, deadline=None,
                                        suppress_health_check=[HealthCheck.too_slow])


def test_kmap_local_slots_belong_to_the_task_and_follow_context_switches():
    """Two tasks on one CPU each kmap_local a highmem page: the same fixmap slot, each
    seeing its own page, because the switch saves and restores the task's mappings
    (__kmap_local_sched_out/in)."""
    k = kmemsim.boot("linux-2.6-i386", ram="1G")
    g = k.gfp.value("GFP_HIGHUSER")
    p1, p2 = k.alloc_page(g), k.alloc_page(g)
    k.phys.write(p1.pfn << 12, b"P1")
    k.phys.write(p2.pfn << 12, b"P2")
    seen = {}

    def worker():
        b = k.kmap_local_page(p2)
        seen["b"] = b
        k.msleep(20)
        seen["worker"] = k.read(b, 2)
        k.kunmap_local(b)

    a = k.kmap_local_page(p1)
    k.kthread_run(worker, "w")
    k.msleep(5)  # the worker maps p2 and sleeps
    assert seen["b"] == a and k.read(a, 2) == b"P1"
    k.check()
    k.kunmap_local(a)  # legal: the caller's own innermost mapping
    k.run()
    assert seen["worker"] == b"P2" and "WARNING" not in k.dmesg()
    k.check()
    k.shutdown()
