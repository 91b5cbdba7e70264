"""Highmem: kmap, kmap_atomic and kmap_local -- kernel addresses for pages outside the direct map.

Models, per profile:

* linux-2.6-i386 (2.6.24, CONFIG_HIGHMEM4G, non-PAE): mm/highmem.c (pkmap_count,
  last_pkmap_nr, flush_all_zero_pkmaps, map_new_virtual, kmap_high, kunmap_high, the
  page_address_htable of HASHED_PAGE_VIRTUAL), arch/x86/mm/highmem_32.c (kmap, kunmap,
  kmap_atomic_prot, kunmap_atomic, kmap_atomic_to_page), include/asm-x86/highmem.h
  (LAST_PKMAP 1024, PKMAP_BASE, PKMAP_NR, PKMAP_ADDR), include/asm-x86/kmap_types.h (the 13
  km_type slots per CPU) and include/asm-x86/fixmap_32.h (FIX_KMAP_BEGIN..FIX_KMAP_END,
  ``__fix_to_virt(x) = FIXADDR_TOP - (x << PAGE_SHIFT)``), read in a 2.6.24 tree.
  BUG line numbers were counted in a 2.6.24 copy of each file.
* linux-6.18-x86_64: include/linux/highmem-internal.h without CONFIG_HIGHMEM (6.17-rc3
  tree, unchanged in 6.18): every page is lowmem, ``kmap()`` and ``kmap_local_page()`` are
  ``page_address()``, ``kmap_atomic()`` is preempt_disable + pagefault_disable +
  page_address, ``kunmap()`` does nothing.

The pkmap window is LAST_PKMAP real PTEs at PKMAP_BASE in the kernel page tables (the
same :class:`kmemsim.mm.pgtable.PageTables` vmalloc uses), and each kmap_atomic slot is
a real fixmap PTE, so ``k.read``/``k.write`` through a kmap address reach the page's
bytes and an access through an unmapped slot oopses.  ``pkmap_count[i]`` means what the
kernel says: 0 free and unmapped, 1 mapped but unused (its PTE stays until the next
wrap of ``last_pkmap_nr`` flushes it: page_address() still answers), n > 1: n - 1 users.

kmap_local_page() (5.11+, mm/highmem.c __kmap_local_pfn_prot / kunmap_local_indexed) is
offered on the i386 profile although 2.6.24 had no such call: a per-CPU stack of slots
(the task is pinned by migrate_disable) over the same fixmap window the km_type slots
use, so kmap_local nesting depth is KM_TYPE_NR (the window the 2.6.24 layout has) instead
of 6.x's KM_MAX_IDX = 16, a kmap_local slot and a kmap_atomic type can collide (the
kernel's BUG_ON(!pte_none)), and its reports have the 6.x form.

What changed between kernels is asked of ``k.features``: ``kmap_atomic_pte_check``
(2.6.24 BUGs on a busy km_type slot and clears the slot at kunmap_atomic; 2.6.11 did
neither and left the PTE), ``kmap_atomic_stack`` (2.6.37: kmap_atomic slots are the same
per-CPU stack kmap_local uses, no km_type), ``generic_kmap`` (5.8: kunmap() may sleep
instead of BUG()ing in interrupt context).  CONFIG_HIGHMEM is the architecture's (the
layout has a pkmap window).  The BUG and might_sleep line numbers are 2.6.24's for the
code before the stack-based kmap_atomic and 6.18's after (6.6's no-HIGHMEM kmap() has its
might_sleep() at line 169, not 172; 2.6.11's arch/i386/mm/highmem.c has it at line 5):
those are data of one source file, not modelled per release.

Contexts: kmap_atomic raises the preempt count (``sched.preempt_disable()``; 2.6.24's
pagefault_disable *is* inc_preempt_count; 6.x's pagefault_disable() is a per-task count
the model does not keep, since a fault in kernel code is an oops anyway), so allocations
inside it are atomic; kmap() calls might_sleep with the kernel's file and line; a kmap
that finds every pkmap entry busy sleeps on pkmap_map_wait through the scheduler
(``k.sched``) and is woken by kunmap_high -- when no other task can ever kunmap, the
scheduler's hung-task report ends the wait.

Simplified, and said so:
  * the pkmap page table and the fixmap's kmap PTE table are built at boot from bootmem
    by the kernel (permanent_kmaps_init, kmap_init); here they are allocated from the
    page allocator (GFP_KERNEL|__GFP_ZERO, like the vmalloc page tables) by the first
    kmap that needs them, so a boot is unchanged;
  * flush_all_zero_pkmaps clears the PTEs through the page tables, which flush the
    model's TLB (kmemsim.mm.pgtable); kmap_flush_tlb / arch_flush_lazy_mmu_mode are no-ops;
  * after a BUG the model's state is what it was before the call (the kernel may have
    changed a count before dying with kmap_lock held);
  * no kmap_atomic_pfn, kmap_atomic_prot with another prot, kmap_high_get, kmap_local_folio.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

from ..args import check_addr
from ..errors import InvariantError, UsageError
from .page import Owner, Page

if TYPE_CHECKING:  # pragma: no cover
    from ..machine import Machine as Kernel
    from ..sched import Task, WaitQueueHead
    from .pgtable import PageTables

__all__ = ["Highmem", "highmem_init", "KM_TYPES", "KM_TYPE_NR", "KM_USER0", "KM_USER1"]

NULL = 0

# include/asm-x86/kmap_types.h (2.6.24, no CONFIG_DEBUG_HIGHMEM fences)
KM_TYPES = ("KM_BOUNCE_READ", "KM_SKB_SUNRPC_DATA", "KM_SKB_DATA_SOFTIRQ", "KM_USER0", "KM_USER1",
            "KM_BIO_SRC_IRQ", "KM_BIO_DST_IRQ", "KM_PTE0", "KM_PTE1", "KM_IRQ0", "KM_IRQ1",
            "KM_SOFTIRQ0", "KM_SOFTIRQ1")
(KM_BOUNCE_READ, KM_SKB_SUNRPC_DATA, KM_SKB_DATA_SOFTIRQ, KM_USER0, KM_USER1, KM_BIO_SRC_IRQ,
 KM_BIO_DST_IRQ, KM_PTE0, KM_PTE1, KM_IRQ0, KM_IRQ1, KM_SOFTIRQ0, KM_SOFTIRQ1) = range(len(KM_TYPES))
KM_TYPE_NR = len(KM_TYPES)

#: 2.6.24 source lines of the BUGs and might_sleep()s (counted in a 2.6.24 copy; they agree
#: with the 2.6.24 tree)
_LINES_2_6 = {
    "kmap_might_sleep": ("arch/x86/mm/highmem_32.c", 6),
    "kunmap_in_interrupt": ("arch/x86/mm/highmem_32.c", 15),
    "kmap_atomic_pte_none": ("arch/x86/mm/highmem_32.c", 42),
    "kunmap_high_no_vaddr": ("mm/highmem.c", 196),
    "kunmap_high_zero": ("mm/highmem.c", 206),
}
#: 6.18 x86_64 (no CONFIG_HIGHMEM): kmap()'s might_sleep() in include/linux/highmem-internal.h
#: (line counted in the 6.17-rc3 file; the file did not change for 6.18)
_KMAP_MIGHT_SLEEP_6 = ("include/linux/highmem-internal.h", 172)
#: the CONFIG_HIGHMEM kmap() and kunmap() of include/linux/highmem-internal.h (6.6 and 6.18)
_KMAP_MIGHT_SLEEP_HIGHMEM = ("include/linux/highmem-internal.h", 44)
_KUNMAP_MIGHT_SLEEP_HIGHMEM = ("include/linux/highmem-internal.h", 55)


class Highmem:
    """kmap and friends for one machine: ``Highmem(k)``; the Kernel delegates to it.

    ``pkmap_count``, ``last_pkmap_nr`` and ``page_virtual`` (the page_address hash: pfn ->
    pkmap address) are the kernel's state; ``slots[cpu][idx]`` is the page mapped in fixmap
    kmap slot ``idx`` of that CPU ("atomic" by km_type, "local" by kmap_local's stack, or
    "stale": an atomic slot whose PTE kunmap_atomic left, before ``kmap_atomic_pte_check``);
    ``local_stack[cpu]`` the kmap_local slots in push order; ``atomic[cpu]`` the
    kmap_atomic calls not yet undone (the preempt count they hold).  Construction
    registers nothing: :func:`highmem_init` does.
    """

    _pkmap_wait: WaitQueueHead | None

    def __init__(self, k: Kernel):
        self.k = k
        feat = k.features
        self.pte_check = feat.kmap_atomic_pte_check
        self.atomic_stack = feat.kmap_atomic_stack
        self.generic_kmap = feat.generic_kmap
        self.preempt = k.sched
        lay = k.layout
        self.page_shift = k.page_shift
        self.page_size = k.page_size
        #: CONFIG_HIGHMEM: the profile has a pkmap window (every i386 machine, even a 160 MB one)
        self.config_highmem = lay.pkmap_base is not None
        ncpu = len(k.cpus)
        self.atomic: list[list[tuple[int | None, int]]] = [[] for _ in range(ncpu)]  # (km_type, vaddr)
        self.slots: list[dict[int, tuple[int, str]]] = [{} for _ in range(ncpu)]  # idx -> (pfn, kind)
        self.local_stack: list[list[int]] = [[] for _ in range(ncpu)]  # slot idx, innermost last
        self._warned: set[str] = set()
        self._tables_ready = False
        self.kmap_sleeps = 0  # times a kmap slept on pkmap_map_wait
        #: kmap_local mappings of tasks that are not running: task -> [(slot idx, pfn)]
        #: (the kernel's current->kmap_ctrl, saved and restored at every context switch)
        self.task_saved: dict[Task, list[tuple[int, int]]] = {}
        self.flushes = 0  # flush_all_zero_pkmaps() runs
        if self.config_highmem:
            from ..arch import i386

            self.PKMAP_BASE: int = lay.pkmap_base  # type: ignore[assignment]
            self.LAST_PKMAP: int = lay.last_pkmap  # type: ignore[assignment]
            self.FIXADDR_TOP = lay.fixaddr_top
            # enum fixed_addresses (2.6.24 fixmap_32.h, the profile's config): FIX_HOLE, FIX_VDSO,
            # FIX_DBGP_BASE, FIX_EARLYCON_MEM_BASE, FIX_APIC_BASE, FIX_IO_APIC_BASE_0..END, FIX_KMAP_BEGIN
            self.FIX_KMAP_BEGIN = 5 + i386.MAX_IO_APICS
            self.KM_PER_CPU = i386.KM_TYPE_NR
            self.FIX_KMAP_END = self.FIX_KMAP_BEGIN + self.KM_PER_CPU * k.profile.nr_cpus - 1
            if self.fix_to_virt(self.FIX_KMAP_END) < lay.fixaddr_start:
                raise InvariantError("highmem", "FIX_KMAP_END lies below FIXADDR_START")
            self.pkmap_count = [0] * self.LAST_PKMAP
            self.last_pkmap_nr = 0
            self.page_virtual: dict[int, int] = {}
            self._pkmap_wait = None  # wait_queue_head_t pkmap_map_wait, made when first needed
        else:
            self.PKMAP_BASE = 0  # no pkmap window
            self.LAST_PKMAP = 0
            self.pkmap_count = []
            self.last_pkmap_nr = 0
            self.page_virtual = {}

    # ================================================================ helpers
    @property
    def pt(self) -> PageTables:
        return self.k.vmalloc_impl.pt

    def fix_to_virt(self, idx: int) -> int:
        """__fix_to_virt(idx)."""
        return self.FIXADDR_TOP - (idx << self.page_shift)

    def PKMAP_ADDR(self, nr: int) -> int:  # noqa: N802 - kernel name
        return self.PKMAP_BASE + (nr << self.page_shift)

    def PKMAP_NR(self, vaddr: int) -> int:  # noqa: N802 - kernel name
        return (vaddr - self.PKMAP_BASE) >> self.page_shift

    def slot_vaddr(self, cpu: int, idx: int) -> int:
        """The fixmap address of kmap slot ``idx`` of ``cpu``: FIX_KMAP_BEGIN + idx + KM_TYPE_NR*cpu."""
        return self.fix_to_virt(self.FIX_KMAP_BEGIN + idx + self.KM_PER_CPU * cpu)

    def _slot_of(self, vaddr: int) -> tuple[int, int] | None:
        """(cpu, idx) of a fixmap kmap slot address (any address inside the page), or None."""
        if not self.config_highmem:
            return None
        fix = (self.FIXADDR_TOP - (vaddr & -self.page_size)) >> self.page_shift
        n = fix - self.FIX_KMAP_BEGIN
        if vaddr > self.FIXADDR_TOP + self.page_size - 1 or not 0 <= n < self.KM_PER_CPU * len(self.k.cpus):
            return None
        return divmod(n, self.KM_PER_CPU)

    def _page(self, page: Page, what: str) -> int:
        if not isinstance(page, Page):
            raise UsageError(f"{what}: {page!r} is not a struct page (a kmemsim Page, e.g. from k.alloc_page())")
        if page._k is not self.k:
            raise UsageError(f"{what}: {page!r} belongs to another machine")
        if not self.k.memmap.pfn_valid(page.pfn):
            raise UsageError(f"{what}: {page!r} has no struct page on this machine")
        return page.pfn

    def _addr(self, addr: int, what: str) -> int:
        if isinstance(addr, Page):
            raise UsageError(f"{what}() takes the address kmap returned, not the struct page")
        check_addr(addr, what, self.k.layout.bits)
        return addr

    def is_highmem(self, pfn: int) -> bool:
        """PageHighMem()."""
        return self.k.arch.is_highmem_pfn(pfn)

    def _lowmem_address(self, pfn: int) -> int:
        return self.k.arch.va(pfn << self.page_shift)

    def _might_sleep(self) -> None:
        """kmap()'s might_sleep(): arch/x86/mm/highmem_32.c before the generic kmap (5.8),
        include/linux/highmem-internal.h after, and there the !CONFIG_HIGHMEM kmap()."""
        if not self.config_highmem:
            site = _KMAP_MIGHT_SLEEP_6
        elif not self.generic_kmap:
            site = _LINES_2_6["kmap_might_sleep"]
        else:
            site = _KMAP_MIGHT_SLEEP_HIGHMEM
        self.k.sched.might_sleep_at(*site)

    def _bug(self, site: str, func: str) -> NoReturn:
        """BUG()/BUG_ON(): the oops; the caller's task dies (always raises).  The code before
        the stack-based kmap_atomic prints 2.6.24's file and line."""
        if not self.atomic_stack and site in _LINES_2_6:
            file, line = _LINES_2_6[site]
            first = f"kernel BUG at {file}:{line}!"
        else:
            first = f"Kernel BUG at {func}+0x0/0x0 [verbose debug info unavailable]"
        self.k.report.bug(["------------[ cut here ]------------", first], kind="kmap_bug", oops=True,
                          oops_str="invalid opcode", err=0)
        raise AssertionError("an oops returned")  # pragma: no cover - report.bug(oops=True) raises

    def _warn_once(self, key: str, func: str) -> None:
        """WARN_ON_ONCE() in 6.x code (kunmap_local_indexed)."""
        if key in self._warned:
            return
        self._warned.add(key)
        self.k.report.warn(f"{func}+0x0/0x0")

    # ------------------------------------------------------------------ PTEs
    def _ensure_tables(self) -> None:
        """The pkmap and fixmap PTE tables.  The kernel builds them at boot from bootmem
        (permanent_kmaps_init, kmap_init), so no calling context applies: here they come
        from the page allocator on first use with GFP_ATOMIC | __GFP_ZERO (no might_sleep,
        lowmem), which works inside kmap_atomic and interrupts too."""
        if self._tables_ready:
            return
        pt = self.pt
        b = self.k.gfp.bits
        gfp = b.atomic | b.zero
        for addr in (self.PKMAP_BASE, self.fix_to_virt(self.FIX_KMAP_BEGIN), self.fix_to_virt(self.FIX_KMAP_END)):
            if pt.table_for(addr, len(pt.levels) - 1, True, gfp) < 0:
                self.k.report.bug(["kmemsim: no free page for the kmap page tables (the kernel's come from bootmem)"],
                                  kind="kmap_pgtable", oops=True, oops_str="Oops", err=0)
        self._tables_ready = True

    def _set_pte(self, vaddr: int, pfn: int) -> None:
        """set_pte_at(&init_mm, vaddr, ptep, mk_pte(page, kmap_prot)); kmap_prot = PAGE_KERNEL."""
        self._ensure_tables()
        pt = self.pt
        if pt.vmap_pages_range(vaddr, vaddr + self.page_size, pt.page_kernel, [pfn]) < 0:  # pragma: no cover
            raise InvariantError("highmem", f"kmap PTE at {vaddr:#x} could not be set")

    def _pte_clear(self, vaddr: int) -> None:
        self.pt.vunmap_range(vaddr, vaddr + self.page_size)

    def _pte_table(self, vaddr: int) -> list[int] | None:
        """Every entry of the PTE table that maps ``vaddr`` (None if the table does not exist)."""
        pt = self.pt
        tbl = pt.table_for(vaddr, len(pt.levels) - 1, False)
        if tbl < 0:
            return None
        return pt.table_entries(tbl)

    def _pte(self, vaddr: int) -> int:
        """The PTE value at vaddr (0 when none or when its table does not exist yet)."""
        e, _level = self.pt.lookup_address(vaddr)
        return e or 0

    # ================================================================ page_address
    def page_address(self, pfn: int) -> int:
        """page_address(): the direct-map address of a lowmem page; for a highmem page its
        pkmap address while it has one (pkmap_count >= 1), else NULL."""
        if not self.is_highmem(pfn):
            return self._lowmem_address(pfn)
        return self.page_virtual.get(pfn, NULL)

    # ================================================================ kmap / kunmap (pkmap)
    def kmap(self, page: Page) -> int:
        """kmap(page): a kernel address for any page; may sleep.  Lowmem: page_address()."""
        pfn = self._page(page, "kmap")
        self._might_sleep()
        if not self.is_highmem(pfn):
            return self._lowmem_address(pfn)
        return self.kmap_high(pfn)

    def kmap_high(self, pfn: int) -> int:
        """kmap_high(): reuse the page's pkmap entry or map a new one; one more user."""
        vaddr = self.page_virtual.get(pfn, NULL)
        if not vaddr:
            vaddr = self._map_new_virtual(pfn)
        self.pkmap_count[self.PKMAP_NR(vaddr)] += 1  # BUG_ON(count < 2) cannot fire here
        return vaddr

    def _map_new_virtual(self, pfn: int) -> int:
        """map_new_virtual(): the next entry with pkmap_count 0 after last_pkmap_nr, flushing
        every count-1 entry when the cursor wraps to 0; sleeps when all are in use."""
        L = self.LAST_PKMAP
        counts = self.pkmap_count
        while True:  # start:
            count = L
            while True:
                self.last_pkmap_nr = (self.last_pkmap_nr + 1) & (L - 1)
                if not self.last_pkmap_nr:
                    self.flush_all_zero_pkmaps()
                    count = L
                if not counts[self.last_pkmap_nr]:
                    vaddr = self.PKMAP_ADDR(self.last_pkmap_nr)
                    self._set_pte(vaddr, pfn)
                    counts[self.last_pkmap_nr] = 1
                    self.page_virtual[pfn] = vaddr  # set_page_address()
                    return vaddr
                count -= 1
                if count:
                    continue
                break
            # Sleep for somebody else to unmap their entries
            self._sleep_on_pkmap(pfn)
            vaddr = self.page_virtual.get(pfn, NULL)  # somebody else might have mapped it
            if vaddr:
                return vaddr
            # goto start

    def _sleep_on_pkmap(self, pfn: int) -> None:
        from ..sched import TASK_UNINTERRUPTIBLE, WaitQueueHead

        sched = self.k.sched
        if self._pkmap_wait is None:
            self._pkmap_wait = WaitQueueHead("pkmap_map_wait")
        self.kmap_sleeps += 1
        sched.prepare_to_wait(self._pkmap_wait, TASK_UNINTERRUPTIBLE)
        try:
            sched.schedule()
        finally:
            sched.finish_wait(self._pkmap_wait)

    def flush_all_zero_pkmaps(self) -> None:
        """flush_all_zero_pkmaps(): unmap every entry with pkmap_count 1 (mapped, unused)."""
        self.flushes += 1
        counts = self.pkmap_count
        for i in range(self.LAST_PKMAP):
            if counts[i] != 1:
                continue
            counts[i] = 0
            vaddr = self.PKMAP_ADDR(i)
            pfn = self.pt.entry_pfn(self._pte(vaddr))  # BUG_ON(pte_none()) cannot fire here
            self._pte_clear(vaddr)
            del self.page_virtual[pfn]  # set_page_address(page, NULL)

    def kmap_flush_unused(self) -> None:
        """kmap_flush_unused(): flush_all_zero_pkmaps() under kmap_lock (no-op without HIGHMEM)."""
        if self.config_highmem:
            self.flush_all_zero_pkmaps()

    def kunmap(self, page: Page) -> None:
        """kunmap(page): one user less of the page's pkmap entry (lowmem: nothing)."""
        pfn = self._page(page, "kunmap")
        if not self.config_highmem:
            return  # 6.18 without CONFIG_HIGHMEM: only kunmap_flush_on_unmap, not on x86
        if not self.generic_kmap:
            if self.k.sched.in_interrupt():
                self._bug("kunmap_in_interrupt", "kunmap")  # if (in_interrupt()) BUG();
        else:
            self.k.sched.might_sleep_at(*_KUNMAP_MIGHT_SLEEP_HIGHMEM)
        if not self.is_highmem(pfn):
            return
        self.kunmap_high(pfn)

    def kunmap_high(self, pfn: int) -> None:
        """kunmap_high(): drop a user; at 1 wake a kmap waiting for an entry; 0 is a BUG."""
        vaddr = self.page_virtual.get(pfn, NULL)
        if not vaddr:
            self._bug("kunmap_high_no_vaddr", "kunmap_high")  # BUG_ON(!vaddr)
        nr = self.PKMAP_NR(vaddr)
        if self.pkmap_count[nr] - 1 == 0:
            self._bug("kunmap_high_zero", "kunmap_high")  # "A count must never go down to zero without a TLB flush!"
        self.pkmap_count[nr] -= 1
        if self.pkmap_count[nr] == 1 and self._pkmap_wait is not None and len(self._pkmap_wait):
            self.k.sched.wake_up(self._pkmap_wait)

    # ================================================================ kmap_atomic
    def _km_type(self, km_type: str | int | None, what: str) -> int | None:
        if self.atomic_stack:
            if km_type is not None:
                raise UsageError(f"{what}: {self.k.profile.name} has no km_type argument (ignored from 2.6.37, "
                                 f"removed in 3.6); call {what}(page) / kunmap_atomic(addr)")
            return None
        if km_type is None:
            raise UsageError(f"{what}: linux-{self.k.profile.kernel_version} needs the km_type slot, e.g. "
                             f"{what}(..., 'KM_USER0') (one of {', '.join(KM_TYPES)})")
        if isinstance(km_type, str):
            if km_type not in KM_TYPES:
                raise UsageError(f"{what}: unknown km_type {km_type!r}; one of {', '.join(KM_TYPES)}")
            return KM_TYPES.index(km_type)
        if isinstance(km_type, bool) or not isinstance(km_type, int) or not 0 <= km_type < KM_TYPE_NR:
            raise UsageError(f"{what}: km_type {km_type!r} is not 0..{KM_TYPE_NR - 1} (enum km_type)")
        return km_type

    def kmap_atomic(self, page: Page, km_type: str | int | None = None) -> int:
        """kmap_atomic(page) (6.18) / kmap_atomic(page, type) (2.6.24): preemption and page
        faults off until kunmap_atomic; a highmem page gets its CPU's fixmap slot (its
        km_type's, or from 2.6.37 the next one of the kmap_local stack)."""
        pfn = self._page(page, "kmap_atomic")
        t = self._km_type(km_type, "kmap_atomic")
        cpu = self.k.cpu
        high = self.is_highmem(pfn)
        if self.atomic_stack:
            # preempt_disable(); pagefault_disable(); __kmap_local_page_prot()
            self.preempt.preempt_disable()
            vaddr = self._kmap_local_push(pfn) if high else self._lowmem_address(pfn)
            self.atomic[cpu].append((None, vaddr))
            return vaddr
        if t is None:  # pragma: no cover - _km_type() requires it
            raise UsageError("kmap_atomic: no km_type")
        overwrite = False
        if high:
            vaddr = self.slot_vaddr(cpu, t)
            rec = self.slots[cpu].get(t)
            busy = rec is not None or bool(self._pte(vaddr))
            if busy and (self.pte_check or (rec is not None and rec[1] == "local")):
                self._bug("kmap_atomic_pte_none", "kmap_atomic_prot")  # BUG_ON(!pte_none(*(kmap_pte-idx)))
            overwrite = busy  # 2.6.11: set_pte() over whatever the slot held
        else:
            vaddr = self._lowmem_address(pfn)
        self.preempt.preempt_disable()  # 2.6.24: pagefault_disable() is inc_preempt_count()
        if high:
            if overwrite:
                self._pte_clear(vaddr)
            self._set_pte(vaddr, pfn)
            self.slots[cpu][t] = (pfn, "atomic")
        self.atomic[cpu].append((t, vaddr))
        return vaddr

    def kunmap_atomic(self, addr: int, km_type: str | int | None = None) -> None:
        """kunmap_atomic(addr) / kunmap_atomic(addr, type): clear the slot the address is
        in (2.6.24: only when it is this type's slot; 2.6.11: none), then page faults and
        preemption on."""
        addr = self._addr(addr, "kunmap_atomic")
        t = self._km_type(km_type, "kunmap_atomic")
        cpu = self.k.cpu
        vaddr = addr & -self.page_size
        # preemption first: an unbalanced preempt_enable is refused before anything changes
        self.preempt.preempt_enable()
        if self.atomic_stack:
            if self.config_highmem:
                self._kunmap_local_indexed(addr)  # kunmap_local_indexed()
            # (6.18 without HIGHMEM: kunmap_local_indexed is not called, nothing to clear)
        elif self.config_highmem and t is not None:
            rec = self.slots[cpu].get(t)
            if self.pte_check:
                if vaddr == self.slot_vaddr(cpu, t) and rec is not None:
                    self._pte_clear(vaddr)  # kpte_clear_flush(): whoever mapped the slot
                    del self.slots[cpu][t]
                # (2.6.24, another address: nothing -- the BUG_ONs need CONFIG_DEBUG_HIGHMEM)
            elif rec is not None and rec[1] == "atomic":
                self.slots[cpu][t] = (rec[0], "stale")  # 2.6.11: the PTE stays until the slot is reused
        stack = self.atomic[cpu]
        for i in range(len(stack) - 1, -1, -1):
            if stack[i][0] == t:
                del stack[i]
                break

    def kmap_atomic_to_page(self, addr: int) -> Page:
        """kmap_atomic_to_page() (2.6.24) / kmap_to_page() (6.x): the page behind a kmap address."""
        return self.kmap_to_page(addr)

    def kmap_to_page(self, addr: int) -> Page:
        """kmap_to_page(addr): the struct page mapped at a pkmap or fixmap kmap address, else
        virt_to_page(addr)."""
        addr = self._addr(addr, "kmap_to_page")
        if self.config_highmem:
            in_pkmap = self.PKMAP_BASE <= addr < self.PKMAP_ADDR(self.LAST_PKMAP)
            if in_pkmap or self._slot_of(addr) is not None:
                return Page(self.k, self.pt.entry_pfn(self._pte(addr & -self.page_size)))
        return self.k.virt_to_page(addr)

    # ================================================================ kmap_local (6.x semantics)
    def kmap_local_page(self, page: Page) -> int:
        """kmap_local_page(page): a CPU-local mapping, unmapped in reverse order with
        kunmap_local; lowmem (and every page on x86_64): page_address()."""
        pfn = self._page(page, "kmap_local_page")
        if not self.is_highmem(pfn):
            return self._lowmem_address(pfn)
        return self._kmap_local_push(pfn)

    def _kmap_local_push(self, pfn: int) -> int:
        """__kmap_local_pfn_prot(): the next slot of this CPU's stack maps ``pfn``."""
        cpu = self.k.cpu
        stack = self.local_stack[cpu]
        idx = len(stack)  # kmap_local_idx_push(): idx + 1 after the push
        if idx + 1 >= self.KM_PER_CPU:
            self._bug("kmap_local_push", "__kmap_local_pfn_prot")  # BUG_ON(kmap_ctrl.idx >= KM_MAX_IDX)
        vaddr = self.slot_vaddr(cpu, idx)
        rec = self.slots[cpu].get(idx)
        if rec is not None and rec[1] == "stale":  # a km_type slot 2.6.11 left mapped: free for the taking
            self._pte_clear(vaddr)
            del self.slots[cpu][idx]
        if idx in self.slots[cpu] or self._pte(vaddr):
            self._bug("kmap_local_pte_none", "__kmap_local_pfn_prot")  # BUG_ON(!pte_none())
        self._set_pte(vaddr, pfn)
        self.slots[cpu][idx] = (pfn, "local")
        stack.append(idx)
        return vaddr

    def kunmap_local(self, addr: int) -> None:
        """kunmap_local(addr): undo the innermost kmap_local_page of this CPU (6.x
        kunmap_local_indexed: a wrong address is WARN_ON_ONCE, and the innermost slot is
        unmapped anyway; with nothing mapped the pop is a BUG)."""
        addr = self._addr(addr, "kunmap_local")
        if not self.config_highmem:
            return  # 6.18 without HIGHMEM: nothing (no ARCH_HAS_FLUSH_ON_KUNMAP on x86)
        self._kunmap_local_indexed(addr)

    def _kunmap_local_indexed(self, addr: int) -> None:
        vaddr = addr & -self.page_size
        if vaddr < self.fix_to_virt(self.FIX_KMAP_END) or vaddr > self.fix_to_virt(self.FIX_KMAP_BEGIN):
            if vaddr < self.k.layout.page_offset:
                self._warn_once("kunmap_local user", "kunmap_local_indexed")  # WARN_ON_ONCE(addr < PAGE_OFFSET)
            return
        cpu = self.k.cpu
        stack = self.local_stack[cpu]
        top = stack[-1] if stack else -1
        if vaddr != self.slot_vaddr(cpu, top):
            self._warn_once("kunmap_local order", "kunmap_local_indexed")
        if not stack:
            self._bug("kmap_local_pop", "kunmap_local_indexed")  # kmap_local_idx_pop(): BUG_ON(idx < 0)
        if top in self.slots[cpu]:
            self._pte_clear(self.slot_vaddr(cpu, top))  # pte_clear() of the innermost slot, whatever was passed
            del self.slots[cpu][top]
        stack.pop()

    def sched_switch(self, prev: Task, nxt: Task) -> None:
        """__kmap_local_sched_out(prev) / __kmap_local_sched_in(nxt): the local mappings
        belong to the task, not the CPU; the outgoing task's PTEs are cleared and the
        incoming task's put back (kernel/... mm/highmem.c)."""
        cpu = prev.cpu
        stack = self.local_stack[cpu]
        if stack:
            saved = []
            for idx in stack:
                pfn, _kind = self.slots[cpu][idx]
                self._pte_clear(self.slot_vaddr(cpu, idx))
                del self.slots[cpu][idx]
                saved.append((idx, pfn))
            stack.clear()
            self.task_saved[prev] = saved
        back = self.task_saved.pop(nxt, None)
        if back:
            cpu = nxt.cpu
            for idx, pfn in back:
                self._set_pte(self.slot_vaddr(cpu, idx), pfn)
                self.slots[cpu][idx] = (pfn, "local")
                self.local_stack[cpu].append(idx)

    # ================================================================ views and invariants
    def pkmap_users(self) -> dict[int, int]:
        """pfn -> users (pkmap_count - 1) of every page in the pkmap window."""
        return {pfn: self.pkmap_count[self.PKMAP_NR(v)] - 1 for pfn, v in self.page_virtual.items()}

    def check(self) -> None:
        """pkmap_count agrees with the pkmap PTEs and page_address(); every fixmap kmap slot's
        PTE is the recorded page; every page in use through a kmap is an allocated page;
        kmap_local stacks in order; the kmap_atomic calls per CPU are within the preempt count."""
        k = self.k
        if not self.config_highmem:
            if any(self.slots) or any(self.local_stack):
                raise InvariantError("highmem", "kmap slots in use on a machine without CONFIG_HIGHMEM")
            self._check_atomic()
            return
        pt = self.pt
        seen: dict[int, int] = {}
        ptes = self._pte_table(self.PKMAP_BASE)  # PKMAP_BASE is PMD aligned: one whole PTE table
        for i, c in enumerate(self.pkmap_count):
            vaddr = self.PKMAP_ADDR(i)
            e = ptes[i] if ptes is not None else 0
            if c < 0:
                raise InvariantError("highmem", f"pkmap_count[{i}] = {c}")
            if c == 0:
                if e:
                    raise InvariantError("highmem", f"pkmap entry {i} ({vaddr:#x}) is free but its PTE is {e:#x}")
                continue
            if not e & 1:
                raise InvariantError("highmem", f"pkmap entry {i} ({vaddr:#x}) has count {c} but no PTE")
            pfn = pt.entry_pfn(e)
            if self.page_virtual.get(pfn) != vaddr:
                raise InvariantError("highmem", f"pkmap entry {i} maps pfn {pfn:#x} but page_address() says "
                                                f"{self.page_virtual.get(pfn, 0):#x}")
            if pfn in seen:
                raise InvariantError("highmem", f"pfn {pfn:#x} is in pkmap entries {seen[pfn]} and {i}")
            seen[pfn] = i
            if c >= 2:
                self._check_page(pfn, f"pkmap entry {i}")
        if len(seen) != len(self.page_virtual):
            raise InvariantError("highmem", f"{len(self.page_virtual)} pages have a pkmap address but "
                                            f"{len(seen)} entries are mapped")
        if not 0 <= self.last_pkmap_nr < self.LAST_PKMAP:
            raise InvariantError("highmem", f"last_pkmap_nr {self.last_pkmap_nr}")
        for cpu in range(len(k.cpus)):
            slots = self.slots[cpu]
            for idx in range(self.KM_PER_CPU):
                vaddr = self.slot_vaddr(cpu, idx)
                e = self._pte(vaddr)
                rec = slots.get(idx)
                if rec is None:
                    if e:
                        raise InvariantError("highmem", f"cpu{cpu} kmap slot {idx} ({vaddr:#x}) is mapped "
                                                        f"({e:#x}) but not recorded")
                    continue
                if not e & 1 or pt.entry_pfn(e) != rec[0]:
                    raise InvariantError("highmem", f"cpu{cpu} kmap slot {idx} ({vaddr:#x}) should map pfn "
                                                    f"{rec[0]:#x}, PTE is {e:#x}")
                if rec[1] != "stale":  # a stale slot may map a page freed since
                    self._check_page(rec[0], f"cpu{cpu} kmap slot {idx}")
            stack = self.local_stack[cpu]
            if stack != list(range(len(stack))) or len(stack) >= self.KM_PER_CPU:
                raise InvariantError("highmem", f"cpu{cpu} kmap_local stack {stack} is not 0..n-1 below "
                                                f"KM_MAX_IDX {self.KM_PER_CPU}")
        self._check_atomic()

    def _check_page(self, pfn: int, where: str) -> None:
        k = self.k
        if not k.memmap.pfn_valid(pfn) or k.memmap.get(pfn, "owner") != Owner.MANAGED:
            raise InvariantError("highmem", f"{where} maps pfn {pfn:#x}, not a managed page")
        if k.page_alloc.head_of(pfn) is None:
            raise InvariantError("highmem", f"{where} maps pfn {pfn:#x}, which is not allocated")

    def _check_atomic(self) -> None:
        pcs = self.k.sched.pc
        for cpu, stack in enumerate(self.atomic):
            if (pcs[cpu] & 0xFF) < len(stack):
                raise InvariantError("highmem", f"cpu{cpu} holds {len(stack)} kmap_atomic mappings but its "
                                                f"preempt count is {pcs[cpu]:#x} (unbalanced kunmap_atomic "
                                                "or preempt_enable)")

    def report(self) -> str:
        """A short text of the kmap state (for the tour and debugging)."""
        if not self.config_highmem:
            return "no CONFIG_HIGHMEM: every page is in the direct map; kmap() is page_address()"
        used = sum(1 for c in self.pkmap_count if c > 1)
        idle = sum(1 for c in self.pkmap_count if c == 1)
        out = [f"pkmap: {self.LAST_PKMAP} entries at {self.PKMAP_BASE:#010x}: {used} in use, {idle} mapped "
               f"but unused, last_pkmap_nr={self.last_pkmap_nr}, {self.flushes} flushes"]
        for cpu, slots in enumerate(self.slots):
            for idx, (pfn, kind) in sorted(slots.items()):
                name = f"local[{idx}]" if kind == "local" else KM_TYPES[idx] + (" (stale)" if kind == "stale" else "")
                out.append(f"cpu{cpu} {name:<20} {self.slot_vaddr(cpu, idx):#010x} -> pfn {pfn:#x}")
        return "\n".join(out)


def highmem_init(k: Kernel) -> None:
    """page_address_init() and kmap_init(): kmap, kmap_atomic and kmap_local (``k.highmem_impl``),
    its invariants, and with CONFIG_HIGHMEM the context-switch hook of the kmap_local mappings."""
    h = k.highmem_impl = Highmem(k)
    k.checks.register("highmem", h.check)
    if h.config_highmem:
        k.sched.switch_hooks.append(h.sched_switch)
