"""Kernel page tables (init_mm): the tables every vmalloc, vmap and ioremap address goes through.

Models, per profile:

* linux-6.18-x86_64: 4-level paging (the reference host runs a CONFIG_PGTABLE_LEVELS=5
  kernel with 5-level paging off, so the P4D level is folded into the PGD at run time):
  PGD (bits 47..39) -> PUD (38..30) -> PMD (29..21) -> PTE (20..12), 512 eight-byte
  entries per 4 KiB table.  arch/x86/include/asm/pgtable_types.h (6.18) bits;
  mm/vmalloc.c vmap_pages_range / vmap_range_noflush / vunmap_range_noflush;
  arch/x86/mm/pat/set_memory.c lookup_address; arch/x86/mm/init_64.c
  preallocate_vmalloc_pages (every PUD table under VMALLOC_START..VMEMORY_END is
  allocated at boot so the PGD entries never change); include/asm-generic/pgalloc.h
  (kernel page tables come from GFP_PGTABLE_KERNEL = GFP_KERNEL | __GFP_ZERO and, since
  6.14's pagetable ctor for kernel tables, are counted in NR_PAGETABLE = meminfo PageTables).
* linux-2.6-i386: 2-level non-PAE paging (2.6.24): PGD (bits 31..22, "pmd folded") ->
  PTE (21..12), 1024 four-byte entries per table; PTE tables for the vmalloc area come
  from pte_alloc_one_kernel() = __get_free_page(GFP_KERNEL|__GFP_REPEAT|__GFP_ZERO) on
  demand and are not counted in NR_PAGETABLE (2.6.24 counted only user page tables).

What differs between kernels is asked of ``k.features``: the page-table gfp
(``pte_alloc_gfp_repeat``), which levels NR_PAGETABLE counts (``pgtable_pmd_accounting``
5.10, ``pgtable_upper_accounting`` 6.14, ``kernel_pte_accounting`` 6.16: so 6.6 counts
its kernel PMD tables only), the boot-time PUD tables of x86_64
(``preallocate_vmalloc_pgtables``) and the level lookup_address() reports for a none entry
(``lookup_address_none_level``).  What differs between i386 and x86_64 (levels, entry
size, NX, PAGE_KERNEL) is the architecture's.

Every table is a real page: the top level (init_top_pgt / swapper_pg_dir) lives in the
kernel image, every lower table is a page from the page allocator, and each entry is
stored little-endian in that page's bytes in ``k.phys``.  A stray write through the
direct-map alias of a table page changes the mapping, as on real hardware -- and, as
on real hardware, an access already cached in the TLB does not see it until the next
flush.

Simplified, and said so:
  * only what vmalloc, vmap and ioremap create is in the tables; the direct map and
    the kernel text mapping are not materialised: :meth:`lookup_address` answers for
    them with the large-page entry the kernel built at boot (1G/2M on x86_64 as
    split_mem_range() cuts it, 4M PSE pages on i386), computed, not read;
  * the top-level table sits at the start of the kernel's .data (x86_64) or .bss
    (i386) region of the modelled image; the real symbol address differs;
  * the TLB caches present 4 KiB translations only and is flushed whole whenever a
    present entry changes (vunmap_range, _write), so a cleared entry is gone at once
    (the lazy vmap TLB flush is counted by the vmap layer); page-table pages are never
    freed (as in the kernel, except for huge-mapping replacement, not modelled).
"""
from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from ..args import check_addr
from ..errors import InvariantError, UsageError

if TYPE_CHECKING:  # pragma: no cover
    from ..machine import Machine as Kernel

# arch/x86/include/asm/pgtable_types.h: _PAGE_BIT_*
_PAGE_PRESENT = 1 << 0
_PAGE_RW = 1 << 1
_PAGE_USER = 1 << 2
_PAGE_PWT = 1 << 3
_PAGE_PCD = 1 << 4
_PAGE_ACCESSED = 1 << 5
_PAGE_DIRTY = 1 << 6
_PAGE_PSE = 1 << 7  # a leaf at PUD/PMD level (in a PTE the same bit is _PAGE_PAT)
_PAGE_PAT = 1 << 7
_PAGE_GLOBAL = 1 << 8
_PAGE_SOFTW1 = 1 << 9
_PAGE_SPECIAL = _PAGE_SOFTW1
_PAGE_PAT_LARGE = 1 << 12
_PAGE_NX = 1 << 63  # x86_64 (and PAE); 0 on non-PAE i386

# enum pg_level (6.18 arch/x86/include/asm/pgtable_types.h; 2.6.24 had NONE, 4K, 2M)
PG_LEVEL_NONE, PG_LEVEL_4K, PG_LEVEL_2M, PG_LEVEL_1G, PG_LEVEL_512G, PG_LEVEL_256T = range(6)
PG_LEVEL_NAMES = ("PG_LEVEL_NONE", "PG_LEVEL_4K", "PG_LEVEL_2M", "PG_LEVEL_1G", "PG_LEVEL_512G", "PG_LEVEL_256T")

#: _PAGE_TABLE: what pmd_populate_kernel/pud_populate/p4d_populate write (x86, both eras)
_PAGE_TABLE = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY
_KERNPG_TABLE = _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY

#: __PAGE_KERNEL (6.18, x86_64, PTI off so _PAGE_GLOBAL stays, no SME): 0x8000000000000163
PAGE_KERNEL_64 = _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_GLOBAL | _PAGE_NX
PAGE_KERNEL_RO_64 = PAGE_KERNEL_64 & ~_PAGE_RW
PAGE_KERNEL_EXEC_64 = PAGE_KERNEL_64 & ~_PAGE_NX
#: PAGE_KERNEL_NOCACHE/IO: ioremap()'s _PAGE_CACHE_MODE_UC_MINUS = PCD
PAGE_KERNEL_IO_64 = PAGE_KERNEL_64 | _PAGE_PCD
#: 2.6.24 i386 non-PAE: _PAGE_KERNEL | _PAGE_GLOBAL (cpu_has_pge), no NX bit: 0x163
PAGE_KERNEL_32 = _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_GLOBAL
PAGE_KERNEL_RO_32 = PAGE_KERNEL_32 & ~_PAGE_RW


def pgprot_nx(prot: int) -> int:
    """pgprot_nx(): add _PAGE_NX (vmap maps with it)."""
    return prot | _PAGE_NX


def pte_flags_str(entry: int) -> str:
    """The flags of an entry in the order and spelling of the kernel's
    arch/x86/mm/dump_pagetables.c printk_prot(): "RW GLB NX pte" style."""
    out = ["USR" if entry & _PAGE_USER else "   ", "RW" if entry & _PAGE_RW else "ro",
           "PWT" if entry & _PAGE_PWT else "   ", "PCD" if entry & _PAGE_PCD else "   ",
           "PSE" if entry & _PAGE_PSE else "   ", "GLB" if entry & _PAGE_GLOBAL else "   ",
           "NX" if entry & _PAGE_NX else "x "]
    return " ".join(out)


class PageTableCorrupt(InvariantError):
    """The kernel page tables disagree with their own bookkeeping."""

    def __init__(self, message: str):
        super().__init__("pgtable", message)


class _Level:
    """One paging level: its name, the address bits it decodes, and the PG_LEVEL of a
    leaf (large page) at that level, or None if a leaf is not allowed there."""

    __slots__ = ("name", "shift", "leaf_level", "walk_level")

    def __init__(self, name: str, shift: int, leaf_level: int | None, walk_level: int):
        self.name = name
        self.shift = shift
        self.leaf_level = leaf_level
        self.walk_level = walk_level  # *level as lookup_address() sets it on reaching here


class PageTables:
    """init_mm's page tables for one machine: map, unmap, walk, check.

    Construction runs preallocate_vmalloc_pages() on an x86_64 kernel that has it
    (``preallocate_vmalloc_pgtables``: 64 PUD tables for the 32 TiB vmalloc area).
    ``warn(where)`` reports the WARN_ONs of the mapping code (default: the machine's
    WARNING; the vmalloc layer passes the format of its kernel).
    """

    levels: tuple[_Level, ...]

    def __init__(self, k: Kernel, *, warn: Callable[[str], None] | None = None):
        self.k = k
        self.page_shift = k.page_shift
        self.page_size = 1 << k.page_shift
        self.x86_64 = k.profile.arch == "x86_64"
        feat = k.features
        #: lookup_address() reports the level of a none entry (6.10+), not of the entry above it
        self.none_level = feat.lookup_address_none_level
        if self.x86_64:
            # P4D folded at run time (4-level paging): pgd entry == p4d entry
            self.levels = (
                _Level("pgd", 39, None, PG_LEVEL_512G),
                _Level("pud", 30, PG_LEVEL_1G, PG_LEVEL_1G),
                _Level("pmd", 21, PG_LEVEL_2M, PG_LEVEL_2M),
                _Level("pte", 12, PG_LEVEL_4K, PG_LEVEL_4K),
            )
            self.entry_size, self.ptrs = 8, 512
            self.fmt = "<Q"
            self.phys_mask = ((1 << 52) - 1) & ~(self.page_size - 1)  # PTE_PFN_MASK
            self.page_kernel = PAGE_KERNEL_64
            self.page_kernel_ro = PAGE_KERNEL_RO_64
            self.page_kernel_io = PAGE_KERNEL_IO_64
            self.nx = _PAGE_NX
            top_phys = k.arch.setup.kernel_image["Kernel data"][0]  # init_top_pgt (see module doc)
        else:
            self.levels = (
                _Level("pgd", 22, PG_LEVEL_2M, PG_LEVEL_2M),  # 4 MiB PSE pages; 2.6.24 calls them 2M
                _Level("pte", 12, PG_LEVEL_4K, PG_LEVEL_4K),
            )
            self.entry_size, self.ptrs = 4, 1024
            self.fmt = "<I"
            self.phys_mask = 0xFFFFF000
            self.page_kernel = PAGE_KERNEL_32
            self.page_kernel_ro = PAGE_KERNEL_RO_32
            self.page_kernel_io = PAGE_KERNEL_32 | _PAGE_PCD
            self.nx = 0
            top_phys = k.arch.setup.kernel_image["Kernel bss"][0]  # swapper_pg_dir
        self.top_pfn = (top_phys + self.page_size - 1) >> self.page_shift
        self.addr_mask = (1 << k.layout.bits) - 1
        self._struct = struct.Struct(self.fmt)
        self._empty = bytes(self.page_size)  # a table of none entries: nothing to walk
        #: the model's TLB: virtual page -> (physical page base, writable), filled by
        #: translate() from present 4 KiB PTEs, flushed whenever a present entry changes
        #: (vunmap_range, _write); a stray write into a page table is not seen until the
        #: next flush -- as on a real CPU
        self._tlb: dict[int, tuple[int, bool]] = {}
        b = k.gfp.bits
        if feat.pte_alloc_gfp_repeat:
            self.gfp_pgtable = b.kernel | b.retry_mayfail | b.zero  # GFP_KERNEL|__GFP_REPEAT|__GFP_ZERO
        else:
            self.gfp_pgtable = b.kernel | b.zero  # GFP_PGTABLE_KERNEL
        #: pfn -> index of the level the table serves (1 = the level below the PGD, ...)
        self.tables: dict[int, int] = {}
        self.nr_tables = [0] * len(self.levels)
        #: the level indexes whose tables NR_PAGETABLE counts (the top table is static)
        counted = {"pmd": feat.pgtable_pmd_accounting, "pud": feat.pgtable_upper_accounting,
                   "pte": feat.kernel_pte_accounting}
        self.counted_levels = frozenset(i for i, L in enumerate(self.levels) if i and counted[L.name])
        self.failed_allocs = 0
        #: WARN reporter of the mapping code
        self.warn: Callable[[str], None] = warn if warn is not None else k.report.warn
        # the top table is static kernel data: clear it once (it is .data/.bss)
        k.phys.fill(self.top_pfn << self.page_shift, 0, self.page_size)
        if self.x86_64 and feat.preallocate_vmalloc_pgtables:
            self.preallocate_vmalloc_pages()

    # ------------------------------------------------------------------ raw entries
    def _read(self, table_pfn: int, idx: int) -> int:
        f = self.k.phys.frames.get(table_pfn)
        if f is None:
            f = self.k.phys.frame(table_pfn)
        return self._struct.unpack_from(f, idx * self.entry_size)[0]

    def _write(self, table_pfn: int, idx: int, value: int) -> None:
        self._tlb.clear()  # an entry changes: flush_tlb_kernel_range()
        f = self.k.phys.frames.get(table_pfn)
        if f is None:
            f = self.k.phys.frame(table_pfn)
        self._struct.pack_into(f, idx * self.entry_size, value)

    def _index(self, addr: int, lvl: int) -> int:
        return (addr >> self.levels[lvl].shift) & (self.ptrs - 1)

    def entry_pfn(self, entry: int) -> int:
        return (entry & self.phys_mask) >> self.page_shift

    @property
    def nr_pagetable_pages(self) -> int:
        """Pages of lower-level tables taken from the page allocator."""
        return len(self.tables)

    def nr_page_table_pages(self) -> int:
        """What NR_PAGETABLE (meminfo PageTables) counts of these tables: all of them
        in 6.18, the PMD tables in 6.6, none in 2.6.24 (kernel tables were not accounted)."""
        counted = self.counted_levels
        if len(counted) == len(self.levels) - 1:
            return len(self.tables)
        return sum(self.nr_tables[i] for i in counted)

    def table_entries(self, table_pfn: int) -> list[int]:
        """Every entry of the table page ``table_pfn``, in index order."""
        f = self.k.phys.frames.get(table_pfn)
        if f is None:
            f = self.k.phys.frame(table_pfn)
        return [e for (e,) in self._struct.iter_unpack(f)]

    # ------------------------------------------------------------------ table allocation
    def _alloc_table(self, lvl: int, gfp: int | None = None) -> int:
        """__pud_alloc/__pmd_alloc/__pte_alloc_kernel: a zeroed page for a table of
        level ``lvl`` (with ``gfp_pgtable`` unless ``gfp`` is given); -1 when the page
        allocator fails."""
        pfn = self.k.page_alloc.alloc(self.gfp_pgtable if gfp is None else gfp, 0)
        if pfn < 0:
            self.failed_allocs += 1
            return -1
        self.tables[pfn] = lvl
        self.nr_tables[lvl] += 1
        return pfn

    def table_for(self, addr: int, lvl: int, alloc: bool, gfp: int | None = None) -> int:
        """The pfn of the table of level ``lvl`` covering ``addr``; allocates (and
        populates the entries above) when ``alloc``, with ``gfp`` if given; -1 if absent
        or out of memory, -2 if a leaf (huge) entry is in the way."""
        pfn = self.top_pfn
        for i in range(lvl):
            idx = self._index(addr, i)
            e = self._read(pfn, idx)
            if not e & _PAGE_PRESENT:
                if e:
                    return -2  # not present but not none: "bad"
                if not alloc:
                    return -1
                new = self._alloc_table(i + 1, gfp)
                if new < 0:
                    return -1
                self._write(pfn, idx, (new << self.page_shift) | _PAGE_TABLE)
                pfn = new
                continue
            if self.levels[i].leaf_level is not None and e & _PAGE_PSE:
                return -2  # a huge leaf is in the way
            pfn = self.entry_pfn(e)
        return pfn

    #: the former name (tests/test_ioremap.py uses it)

    def preallocate_vmalloc_pages(self) -> None:
        """preallocate_vmalloc_pages() (arch/x86/mm/init_64.c): a PUD table under every
        PGD entry of VMALLOC_START..VMEMORY_END (= VMALLOC_END without KMSAN)."""
        lay = self.k.layout
        step = 1 << self.levels[0].shift
        addr = lay.vmalloc_start
        while addr <= lay.vmalloc_end:
            if self.table_for(addr, 1, True) < 0:
                self.k.report.panic("Failed to pre-allocate pud pages for vmalloc area")
            addr = ((addr + 1) + step - 1) & -step

    # ------------------------------------------------------------------ mapping
    # vmap_pages_range() -> vmap_small_pages_range_noflush(): for each PTE of
    # [addr, end): allocate the PUD/PMD/PTE tables on the way down (*_alloc_track),
    # then per page: WARN_ON(!pte_none) -> -EBUSY, WARN_ON(!page) -> -ENOMEM,
    # WARN_ON(!pfn_valid) -> -EINVAL, else set_pte_at(mk_pte(page, prot)).
    # The caller's gfp does not reach the table allocations (they are GFP_KERNEL).
    def vmap_pages_range(self, addr: int, end: int, prot: int, pfns: list[int]) -> int:
        """Map ``pfns[i]`` at ``addr + i * PAGE_SIZE`` for [addr, end).  0 or -errno.

        Pages already mapped before an error stay mapped (the caller unmaps, as
        __vmalloc_area_node's failure path does through vfree)."""
        if addr >= end:
            raise UsageError(f"vmap_pages_range: {addr:#x} >= {end:#x} (BUG_ON(addr >= end))")
        ps = self.page_size
        nr = 0
        k = self.k
        last = len(self.levels) - 1
        span = 1 << self.levels[last - 1].shift  # what one PTE table covers
        esz = self.entry_size
        unpack, pack = self._struct.unpack_from, self._struct.pack_into
        pfn_valid = k.memmap.pfn_valid
        npfns = len(pfns)
        a = addr
        while a < end:
            nxt = min(end, (a + span) & -span)
            tbl = self.table_for(a, last, True)
            if tbl < 0:
                return -12  # -ENOMEM
            f = k.phys.frames.get(tbl) or k.phys.frame(tbl)
            off = self._index(a, last) * esz
            while a < nxt:
                if unpack(f, off)[0]:
                    self.warn("vmap_pages_pte_range+0x0/0x0")  # WARN_ON(!pte_none(ptep_get(pte)))
                    return -16  # -EBUSY
                pfn = pfns[nr] if nr < npfns else None
                if pfn is None:
                    self.warn("vmap_pages_pte_range+0x0/0x0")  # WARN_ON(!page)
                    return -12
                if not pfn_valid(pfn):
                    self.warn("vmap_pages_pte_range+0x0/0x0")  # WARN_ON(!pfn_valid(page_to_pfn(page)))
                    return -22
                pack(f, off, (pfn << self.page_shift) | prot)
                nr += 1
                off += esz
                a += ps
        return 0

    # vmap_range_noflush(): ioremap's mapping of a physical range, PTE by PTE or with
    # PMD/PUD leaf entries where max_page_shift, alignment and the CPU allow
    # (vmap_try_huge_pmd/pud); an already-present PTE is a BUG ("remapping already
    # mapped page" + dump_page when the pfn has a struct page).
    def vmap_range(self, addr: int, end: int, phys_addr: int, prot: int, max_page_shift: int | None = None) -> int:
        """Map the physical range at ``phys_addr`` to [addr, end).  0 or -ENOMEM."""
        if addr >= end:
            raise UsageError(f"vmap_range: {addr:#x} >= {end:#x} (BUG_ON(addr >= end))")
        if max_page_shift is None:
            max_page_shift = self.page_shift
        ps = self.page_size
        nl = len(self.levels)
        a, phys = addr, phys_addr
        while a < end:
            done = False
            # try the largest leaf first: PUD (1G), PMD (2M) on x86_64
            for lvl in range(1, nl - 1) if self.x86_64 else ():
                shift = self.levels[lvl].shift
                size = 1 << shift
                if max_page_shift >= shift and a % size == 0 and phys % size == 0 and end - a >= size:
                    tbl = self.table_for(a, lvl, True)
                    if tbl < 0:
                        return -12
                    idx = self._index(a, lvl)
                    if self._read(tbl, idx) & _PAGE_PRESENT:
                        continue  # pud_present && !pud_free_pmd_page: fall back to smaller
                    self._write(tbl, idx, phys | prot | _PAGE_PSE)
                    a += size
                    phys += size
                    done = True
                    break
            if done:
                continue
            tbl = self.table_for(a, nl - 1, True)
            if tbl < 0:
                return -12
            idx = self._index(a, nl - 1)
            if self._read(tbl, idx):
                pfn = phys >> self.page_shift
                lines = []
                if self.k.memmap.pfn_valid(pfn):
                    lines.append(f"page: refcount:0 mapcount:0 mapping:0000000000000000 index:0x0 pfn:{pfn:#x}")
                    lines.append("page dumped because: remapping already mapped page")
                lines += ["------------[ cut here ]------------", "kernel BUG at mm/vmalloc.c:112!"]
                self.k.report.bug(lines, kind="vmap_range", oops=True, oops_str="invalid opcode", err=0)
            self._write(tbl, idx, phys | prot)
            a += ps
            phys += ps
        return 0

    # vunmap_range_noflush(): clear every present entry of [start, end) (huge PMD/PUD
    # leaves with pmd_clear_huge/pud_clear_huge); WARN_ON(!pte_none && !pte_present).
    # Page-table pages stay, as in the kernel.
    def vunmap_range(self, start: int, end: int) -> int:
        """Clear the mappings of [start, end); returns how many PTE-sized pages were mapped."""
        self._tlb.clear()
        if start >= end:
            raise UsageError(f"vunmap_range: {start:#x} >= {end:#x} (BUG_ON(addr >= end))")
        ps = self.page_size
        nl = len(self.levels)
        esz = self.entry_size
        unpack, pack = self._struct.unpack_from, self._struct.pack_into
        cleared = 0
        a = start
        while a < end:
            pfn = self.top_pfn
            lvl = 0
            while True:
                shift = self.levels[lvl].shift
                size = 1 << shift
                idx = self._index(a, lvl)
                e = self._read(pfn, idx)
                if lvl == nl - 1:
                    # the PTE table: clear this and the following entries of the table
                    stop = min(end, (a + (1 << self.levels[lvl - 1].shift)) & -(1 << self.levels[lvl - 1].shift)) \
                        if nl > 1 else end
                    f = self.k.phys.frames.get(pfn) or self.k.phys.frame(pfn)
                    off = idx * esz
                    while a < stop:
                        e = unpack(f, off)[0]
                        if e:
                            if not e & _PAGE_PRESENT:
                                self.warn("vunmap_pte_range+0x0/0x0")
                            pack(f, off, 0)
                            cleared += 1
                        off += esz
                        a += ps
                    break
                if not e:
                    a = min(end, (a + size) & -size)  # *_none_or_clear_bad: skip
                    break
                leaf = e & _PAGE_PSE and self.levels[lvl].leaf_level is not None
                if leaf:
                    if (a & (size - 1)) or end - a < size:
                        self.warn(f"vunmap_{self.levels[lvl].name}_range+0x0/0x0")  # WARN_ON(next - addr < SIZE)
                    self._write(pfn, idx, 0)
                    cleared += size >> self.page_shift
                    a = min(end, (a + size) & -size)
                    break
                pfn = self.entry_pfn(e)
                lvl += 1
        return cleared

    # ------------------------------------------------------------------ walking
    # lookup_address(): walk to the entry that maps ``addr`` and say at which level
    # it is: (entry, PG_LEVEL_*), or (None, level reached) when an upper entry is
    # none.  Like the kernel, a none PTE in an existing PTE table gives (0, PG_LEVEL_4K).
    def lookup_address(self, addr: int) -> tuple[int | None, int]:
        check_addr(addr, "address", self.k.layout.bits)
        synth = self._direct_map_entry(addr)
        if synth is not None:
            return synth
        pfn = self.top_pfn
        nl = len(self.levels)
        if not self.none_level:
            # before 6.10: a none entry gives the level of the entry above it, PG_LEVEL_NONE
            # at the top; a leaf its own level (2.6.24 arch/x86/mm/pageattr_32.c, which had
            # no !present test yet: a not-present upper entry is walked as a table)
            for lvl in range(nl):
                L = self.levels[lvl]
                e = self._read(pfn, self._index(addr, lvl))
                if lvl == nl - 1:
                    return e, PG_LEVEL_4K
                if not e:
                    return None, self.levels[lvl - 1].walk_level if lvl else PG_LEVEL_NONE
                if L.leaf_level is not None and e & _PAGE_PSE:
                    return e, L.walk_level
                pfn = self.entry_pfn(e)
        for lvl in range(nl):
            L = self.levels[lvl]
            e = self._read(pfn, self._index(addr, lvl))
            if lvl == nl - 1:
                return e, PG_LEVEL_4K
            if not e:
                return None, L.walk_level
            if (L.leaf_level is not None and e & _PAGE_PSE) or not e & _PAGE_PRESENT:
                return e, L.walk_level
            pfn = self.entry_pfn(e)
        return None, PG_LEVEL_NONE  # pragma: no cover

    def _direct_map_entry(self, addr: int) -> tuple[int, int] | None:
        """The boot-time large-page entry of a direct-map or kernel-text address."""
        arch = self.k.arch
        phys = arch.direct_phys(addr)
        if phys is None:
            return None
        if not self.x86_64:
            base = phys & ~((4 << 20) - 1)
            return base | self.page_kernel | _PAGE_PSE, PG_LEVEL_2M
        lay = self.k.layout
        if lay.kernel_text <= addr < lay.kernel_end:
            base = phys & ~((2 << 20) - 1)
            return base | PAGE_KERNEL_EXEC_64 | _PAGE_PSE, PG_LEVEL_2M  # __PAGE_KERNEL_LARGE_EXEC
        for size, level in ((1 << 30, PG_LEVEL_1G), (2 << 20, PG_LEVEL_2M)):
            base = phys & ~(size - 1)
            if any(s <= base and base + size <= e for s, e in arch.setup.mapped):
                return base | self.page_kernel | _PAGE_PSE, level
        return (phys & ~(self.page_size - 1)) | self.page_kernel, PG_LEVEL_4K

    def level_size(self, level: int) -> int:
        return {PG_LEVEL_4K: self.page_size, PG_LEVEL_2M: (2 << 20) if self.x86_64 else (4 << 20),
                PG_LEVEL_1G: 1 << 30, PG_LEVEL_512G: 1 << 39}.get(level, 0)

    def slow_virt_to_phys(self, addr: int) -> int | None:
        """slow_virt_to_phys(): the physical address behind any mapped kernel address
        (the kernel BUGs when unmapped; this returns None)."""
        e, level = self.lookup_address(addr)
        if e is None or not e & _PAGE_PRESENT:
            return None
        size = self.level_size(level)
        return (e & self.phys_mask & ~(size - 1)) | (addr & (size - 1))

    def translate(self, addr: int, write: bool) -> int | None:
        """The physical address an access at ``addr`` reaches, or None if it faults
        (not present, or a write to a read-only mapping)."""
        ps = self.page_size
        hit = self._tlb.get(addr // ps)
        if hit is not None:
            if write and not hit[1]:
                return None
            return hit[0] | (addr & (ps - 1))
        e, level = self.lookup_address(addr)
        if e is None or not e & _PAGE_PRESENT:
            return None
        size = self.level_size(level)
        phys = (e & self.phys_mask & ~(size - 1)) | (addr & (size - 1))
        if level == PG_LEVEL_4K and self.k.arch.direct_phys(addr) is None:
            self._tlb[addr // ps] = (phys & ~(ps - 1), bool(e & _PAGE_RW))
        if write and not e & _PAGE_RW:
            return None
        return phys

    def vmalloc_to_pfn_raw(self, addr: int) -> int | None:
        """vmalloc_to_page()'s walk: the pfn mapped at ``addr`` or None (huge leaves
        give the sub-page, as the kernel's ``pmd_page(*pmd) + offset`` does)."""
        phys = self.slow_virt_to_phys(addr)
        return None if phys is None else phys >> self.page_shift

    def mappings(self, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int, int]]:
        """Every present leaf entry in [start, end): (virtual address, entry, PG_LEVEL)."""
        if end is None:
            end = self.addr_mask + 1
        yield from self._walk(self.top_pfn, 0, 0, start, end)

    def _walk(self, pfn: int, lvl: int, base: int, start: int, end: int) -> Iterator[tuple[int, int, int]]:
        L = self.levels[lvl]
        size = 1 << L.shift
        nl = len(self.levels)
        f = self.k.phys.frames.get(pfn)
        if f is None or f == self._empty:
            return
        top_bits = self.k.layout.bits
        for idx, (e,) in enumerate(self._struct.iter_unpack(f)):
            if not e:
                continue
            va = base + idx * size
            if lvl == 0 and top_bits == 64 and va >= (1 << 47):
                va |= ~((1 << 48) - 1) & self.addr_mask  # sign-extend the upper half
            if va + size <= start or va >= end:
                continue
            if lvl == nl - 1 or (L.leaf_level is not None and e & _PAGE_PSE):
                if e & _PAGE_PRESENT:
                    yield va, e, L.leaf_level or PG_LEVEL_4K  # (a leaf level is never PG_LEVEL_NONE)
                continue
            yield from self._walk(self.entry_pfn(e), lvl + 1, va, start, end)

    # ------------------------------------------------------------------ invariants
    def check(self) -> None:
        """Every table reachable exactly once from the top, at the level it was made
        for; every table page allocated; no entry points at a table of the wrong level."""
        seen: dict[int, int] = {}
        stack = [(self.top_pfn, 0)]
        nl = len(self.levels)
        while stack:
            pfn, lvl = stack.pop()
            f = self.k.phys.frames.get(pfn)
            if f is None or lvl == nl - 1 or f == self._empty:
                continue
            for idx, (e,) in enumerate(self._struct.iter_unpack(f)):
                if not e:
                    continue
                if not e & _PAGE_PRESENT:
                    raise PageTableCorrupt(f"{self.levels[lvl].name} table {pfn:#x}[{idx}] = {e:#x}: "
                                           "not present, not none")
                L = self.levels[lvl]
                if L.leaf_level is not None and e & _PAGE_PSE:
                    continue
                child = self.entry_pfn(e)
                if child not in self.tables:
                    raise PageTableCorrupt(
                        f"{L.name} table {pfn:#x}[{idx}] = {e:#x} points at pfn {child:#x}, not a page-table page")
                if self.tables[child] != lvl + 1:
                    raise PageTableCorrupt(f"pfn {child:#x} is a {self.levels[self.tables[child]].name} table "
                                           f"but {L.name} entry {pfn:#x}[{idx}] uses it as a "
                                           f"{self.levels[lvl + 1].name} table")
                if child in seen:
                    raise PageTableCorrupt(f"table pfn {child:#x} is linked twice")
                seen[child] = lvl + 1
                stack.append((child, lvl + 1))
        if len(seen) != len(self.tables):
            missing = sorted(set(self.tables) - set(seen))[:3]
            raise PageTableCorrupt(f"{len(self.tables) - len(seen)} page-table pages are unreachable: "
                                   f"{', '.join(hex(p) for p in missing)}")
        pa = self.k.page_alloc
        for pfn in self.tables:
            if pa.allocated.get(pfn) != 0:
                raise PageTableCorrupt(f"page-table page {pfn:#x} is not an allocated order-0 page")
