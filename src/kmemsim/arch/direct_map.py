"""The direct map's page sizes: what /proc/meminfo's DirectMap4k/2M/4M/1G count.

Models how Linux 6.18 builds the direct mapping at boot and counts its pages
(``direct_pages_count[]``, arch/x86/mm/pat/set_memory.c ``update_page_count()``):

* arch/x86/mm/init.c ``init_mem_mapping()``: the ISA range [0, 1M) first (always mapped,
  holes and all), then ``memory_map_top_down(ISA_END_ADDRESS, end)``: from the top of the
  highest free PMD-aligned PMD_SIZE block memblock has (``memblock_phys_alloc_range()`` in
  top-down mode) down to 1M in steps that grow from PMD_SIZE to 512 MiB to 128 GiB
  (``get_new_step_size()``), then what lies above that block; each step maps the memblock
  memory ranges in it (``init_range_memory_mapping()``) with ``init_memory_mapping()``:
  ``split_mem_range()`` cuts a range into a 4k head, 2M (4M on i386 without PAE) and 1G
  runs and a 4k tail, ``adjust_range_page_size_mask()`` lets a small run use a big page
  when the whole big page is memblock memory, and the runs are mapped;
* arch/x86/mm/init_64.c ``phys_pud_init()``/``phys_pmd_init()``/``phys_pte_init()``: a new
  entry counts one page of its size, and so does an entry already there that is kept (an
  existing leaf of the size asked for, an existing PTE); an existing big leaf that a later
  run maps with smaller pages is split into a new table (its old count stays).  So a 1G
  page mapped by several steps counts several times: on the reference host, 24 GiB of RAM
  map as 26 GiB of pages (DirectMap4k 2048 kB, 2M 1046528 kB, 1G 26214400 kB at boot);
* arch/x86/mm/init_32.c ``kernel_physical_mapping_init()``: i386 maps a run with PSE pages
  only when its mask is exactly PG_LEVEL_2M and counts every PTE and PMD it sets.

Not modelled: the splits made after boot by set_memory_*() through the direct map's
aliases (mark_rodata_ro() on the kernel image's 2M pages, BPF, ftrace, modules), which move
pages from 1G to 2M and from 2M to 4k and keep the total.  The reference host shows one 1G
and 14 2M splits a few minutes after boot (DirectMap4k 30720 kB, 2M 2066432 kB, 1G
25165824 kB); QEMU's 6.6 guests of tests/data/classic five 2M splits.  The sums agree.
"""
from __future__ import annotations

from collections.abc import Iterable

__all__ = ["init_mem_mapping", "direct_map_lines"]

PAGE_SHIFT = 12
ISA_END_ADDRESS = 0x100000
LEVEL_4K, LEVEL_2M, LEVEL_1G = 1, 2, 3  # enum pg_level


def _round_up(x: int, a: int) -> int:
    return -(-x // a) * a


def _round_down(x: int, a: int) -> int:
    return x // a * a


class _Memblock:
    """The memblock memory regions (merged, sorted) and what is reserved when the direct map is
    built (``memblock_phys_alloc_range()`` allocates from memory minus reserved, top down)."""

    def __init__(self, memory: Iterable[tuple[int, int]], reserved: Iterable[tuple[int, int]]):
        self.memory = _merge(memory)
        self.reserved = _merge(reserved)

    def is_region_memory(self, base: int, size: int) -> bool:
        """memblock_is_region_memory(): [base, base + size) lies in one memory region."""
        end = base + size
        for s, e in self.memory:
            if s <= base < e:
                return e >= end
        return False

    def pfn_ranges(self) -> list[tuple[int, int]]:
        """for_each_mem_pfn_range(): PFN_UP(base) .. PFN_DOWN(end) of each region."""
        out = []
        for s, e in self.memory:
            a, b = _round_up(s, 1 << PAGE_SHIFT) >> PAGE_SHIFT, e >> PAGE_SHIFT
            if a < b:
                out.append((a, b))
        return out

    def alloc_top_down(self, size: int, align: int, start: int, end: int) -> int:
        """memblock_phys_alloc_range() in the default top-down mode: the highest aligned block
        of free memory in [start, end); 0 when there is none."""
        free: list[tuple[int, int]] = []
        for s, e in self.memory:
            cur = s
            for rs, re_ in self.reserved:
                if re_ <= cur or rs >= e:
                    continue
                if rs > cur:
                    free.append((cur, rs))
                cur = max(cur, re_)
            if cur < e:
                free.append((cur, e))
        for s, e in reversed(free):
            lo, hi = max(s, start), min(e, end)
            if hi - lo < size:
                continue
            cand = _round_down(hi - size, align)
            if cand >= lo:
                return cand
        return 0


def _merge(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for s, e in sorted(ranges):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


class _Mapper:
    """The kernel page tables of the direct map, as far as the counts need them."""

    def __init__(self, mb: _Memblock, *, bits: int, pmd_shift: int, page_size_mask: int, max_low_pfn: int):
        self.mb = mb
        self.bits = bits
        self.pmd_size = 1 << pmd_shift
        self.pud_size = 1 << 30
        self.page_size_mask = page_size_mask
        self.max_low_pfn = max_low_pfn
        self.count = {LEVEL_4K: 0, LEVEL_2M: 0, LEVEL_1G: 0}
        # x86_64: pud index -> "leaf" or {pmd index -> "leaf" or set of pte indexes}
        self.pud: dict[int, object] = {}
        # i386: pmd index -> "leaf" or set of pte indexes
        self.pmd32: dict[int, object] = {}

    # ------------------------------------------------------------------ init.c
    def split_mem_range(self, start: int, end: int) -> list[tuple[int, int, int]]:
        """split_mem_range(): [(start, end, page_size_mask)], adjusted and merged."""
        pmd_pfns = self.pmd_size >> PAGE_SHIFT
        pud_pfns = self.pud_size >> PAGE_SHIFT
        m2, m1 = 1 << LEVEL_2M, 1 << LEVEL_1G
        mask = self.page_size_mask
        mr: list[list[int]] = []

        def save(a: int, b: int, msk: int) -> None:
            if a < b:
                mr.append([a << PAGE_SHIFT, b << PAGE_SHIFT, msk])

        limit_pfn = end >> PAGE_SHIFT
        pfn = start_pfn = start >> PAGE_SHIFT
        if self.bits == 32:
            end_pfn = pmd_pfns if pfn == 0 else _round_up(pfn, pmd_pfns)
        else:
            end_pfn = _round_up(pfn, pmd_pfns)
        end_pfn = min(end_pfn, limit_pfn)
        if start_pfn < end_pfn:
            save(start_pfn, end_pfn, 0)
            pfn = end_pfn
        start_pfn = _round_up(pfn, pmd_pfns)
        if self.bits == 32:
            end_pfn = _round_down(limit_pfn, pmd_pfns)
        else:
            end_pfn = min(_round_up(pfn, pud_pfns), _round_down(limit_pfn, pmd_pfns))
        if start_pfn < end_pfn:
            save(start_pfn, end_pfn, mask & m2)
            pfn = end_pfn
        if self.bits == 64:
            start_pfn = _round_up(pfn, pud_pfns)
            end_pfn = _round_down(limit_pfn, pud_pfns)
            if start_pfn < end_pfn:
                save(start_pfn, end_pfn, mask & (m2 | m1))
                pfn = end_pfn
            start_pfn = _round_up(pfn, pmd_pfns)
            end_pfn = _round_down(limit_pfn, pmd_pfns)
            if start_pfn < end_pfn:
                save(start_pfn, end_pfn, mask & m2)
                pfn = end_pfn
        save(pfn, limit_pfn, 0)
        # adjust_range_page_size_mask() (before bootmem)
        for r in mr:
            if mask & m2 and not r[2] & m2:
                s, e = _round_down(r[0], self.pmd_size), _round_up(r[1], self.pmd_size)
                if not (self.bits == 32 and (e >> PAGE_SHIFT) > self.max_low_pfn) and \
                        self.mb.is_region_memory(s, e - s):
                    r[2] |= m2
            if mask & m1 and not r[2] & m1:
                s, e = _round_down(r[0], self.pud_size), _round_up(r[1], self.pud_size)
                if self.mb.is_region_memory(s, e - s):
                    r[2] |= m1
        # "try to merge same page size and continuous"
        out: list[list[int]] = []
        for r in mr:
            if out and out[-1][1] == r[0] and out[-1][2] == r[2]:
                out[-1][1] = r[1]
            else:
                out.append(r)
        return [(a, b, c) for a, b, c in out]

    def init_memory_mapping(self, start: int, end: int) -> None:
        for s, e, mask in self.split_mem_range(start, end):
            if self.bits == 64:
                self.phys_pud_init(s, e, mask)
            else:
                self.kernel_physical_mapping_init_32(s, e, mask)

    def init_range_memory_mapping(self, r_start: int, r_end: int) -> int:
        mapped = 0
        for sp, ep in self.mb.pfn_ranges():
            s = min(max(sp << PAGE_SHIFT, r_start), r_end)
            e = min(max(ep << PAGE_SHIFT, r_start), r_end)
            if s >= e:
                continue
            self.init_memory_mapping(s, e)
            mapped += e - s
        return mapped

    def memory_map_top_down(self, map_start: int, map_end: int) -> None:
        addr = self.mb.alloc_top_down(self.pmd_size, self.pmd_size, map_start, map_end)
        real_end = max(map_start, _round_down(map_end, self.pmd_size)) if not addr else addr + self.pmd_size
        step_size = self.pmd_size
        last_start = real_end
        mapped = 0
        while last_start > map_start:
            if last_start > step_size:
                start = max(_round_down(last_start - 1, step_size), map_start)
            else:
                start = map_start
            mapped += self.init_range_memory_mapping(start, last_start)
            last_start = start
            if mapped >= step_size:
                step_size <<= (self.pmd_size.bit_length() - 1) - PAGE_SHIFT - 1  # get_new_step_size()
        if real_end < map_end:
            self.init_range_memory_mapping(real_end, map_end)

    # ------------------------------------------------------------------ init_64.c
    def phys_pud_init(self, paddr: int, paddr_end: int, mask: int) -> None:
        while paddr < paddr_end:
            i = paddr // self.pud_size
            paddr_next = (i + 1) * self.pud_size
            cur = self.pud.get(i)
            if cur is not None:
                if cur != "leaf":
                    self.phys_pmd_init(cur, paddr, paddr_end, mask)  # type: ignore[arg-type]
                    paddr = paddr_next
                    continue
                if mask & (1 << LEVEL_1G):
                    self.count[LEVEL_1G] += 1
                    paddr = paddr_next
                    continue
                # split: a new PMD table below it (the 1G page counted stays counted)
            if mask & (1 << LEVEL_1G):
                self.count[LEVEL_1G] += 1
                self.pud[i] = "leaf"
                paddr = paddr_next
                continue
            table: dict[int, object] = {}
            self.pud[i] = table
            self.phys_pmd_init(table, paddr, paddr_end, mask)
            paddr = paddr_next

    def phys_pmd_init(self, table: dict[int, object], paddr: int, paddr_end: int, mask: int) -> None:
        pud_end = (paddr // self.pud_size + 1) * self.pud_size
        while paddr < paddr_end and paddr < pud_end:
            i = paddr // self.pmd_size
            paddr_next = (i + 1) * self.pmd_size
            cur = table.get(i)
            if cur is not None:
                if cur != "leaf":
                    self.phys_pte_init(cur, paddr, paddr_end)  # type: ignore[arg-type]
                    paddr = paddr_next
                    continue
                if mask & (1 << LEVEL_2M):
                    self.count[LEVEL_2M] += 1
                    paddr = paddr_next
                    continue
            if mask & (1 << LEVEL_2M):
                self.count[LEVEL_2M] += 1
                table[i] = "leaf"
                paddr = paddr_next
                continue
            ptes: set[int] = set()
            table[i] = ptes
            self.phys_pte_init(ptes, paddr, paddr_end)
            paddr = paddr_next

    def phys_pte_init(self, ptes: set[int], paddr: int, paddr_end: int) -> None:
        pmd_end = (paddr // self.pmd_size + 1) * self.pmd_size
        end = min(paddr_end, pmd_end)
        first, last = paddr >> PAGE_SHIFT, -(-end >> PAGE_SHIFT)
        # every PTE in the range counts, new or already there ("we will re-use the existing mapping")
        self.count[LEVEL_4K] += max(0, last - first)
        ptes.update(range(first, last))

    # ------------------------------------------------------------------ init_32.c
    def kernel_physical_mapping_init_32(self, start: int, end: int, mask: int) -> None:
        use_pse = mask == 1 << LEVEL_2M
        pfn, end_pfn = start >> PAGE_SHIFT, end >> PAGE_SHIFT
        pmd_pfns = self.pmd_size >> PAGE_SHIFT
        while pfn < end_pfn:
            if use_pse:
                pfn = _round_down(pfn, pmd_pfns)
                self.count[LEVEL_2M] += 1
                self.pmd32[pfn // pmd_pfns] = "leaf"
                pfn += pmd_pfns
                continue
            top = min(end_pfn, (pfn // pmd_pfns + 1) * pmd_pfns)
            self.count[LEVEL_4K] += top - pfn
            pfn = top


def init_mem_mapping(memory: Iterable[tuple[int, int]], reserved: Iterable[tuple[int, int]], max_pfn: int, *,
                     bits: int = 64, gbpages: bool = True, pse: bool = True, pae: bool = False,
                     max_low_pfn: int | None = None) -> dict[str, int]:
    """The direct map's pages in kB by size at the end of boot (``direct_pages_count[]`` as
    ``arch_report_meminfo()`` prints them): ``{"4k": kB, "2M" or "4M": kB[, "1G": kB]}``.

    ``memory`` is memblock.memory (the e820 RAM after the first page is taken away),
    ``reserved`` what memblock holds reserved when the direct map is built (the low 1M, the
    kernel image, the initrd), ``max_pfn`` the end of RAM; ``bits`` 64 (x86_64, 4-level)
    or 32 (i386, PAE or not); ``gbpages``: X86_FEATURE_GBPAGES with direct_gbpages (the
    "Using GB pages for direct mapping" of the boot log); ``pse``: X86_FEATURE_PSE (and
    no debug_pagealloc)."""
    mb = _Memblock(memory, reserved)
    mask = 0
    if pse:
        mask |= 1 << LEVEL_2M
    if bits == 64 and gbpages and pse:
        mask |= 1 << LEVEL_1G
    pmd_shift = 21 if bits == 64 or pae else 22
    low = max_pfn if max_low_pfn is None else max_low_pfn
    mapper = _Mapper(mb, bits=bits, pmd_shift=pmd_shift, page_size_mask=mask, max_low_pfn=low)
    end = (max_pfn if bits == 64 else low) << PAGE_SHIFT
    mapper.init_memory_mapping(0, ISA_END_ADDRESS)  # "the ISA range is always mapped regardless of holes"
    mapper.memory_map_top_down(ISA_END_ADDRESS, end)
    c = mapper.count
    out = {"4k": c[LEVEL_4K] << 2}
    if bits == 64 or pae:
        out["2M"] = c[LEVEL_2M] << 11
    else:
        out["4M"] = c[LEVEL_2M] << 12
    if mask & (1 << LEVEL_1G):
        out["1G"] = c[LEVEL_1G] << 20
    return out


def direct_map_lines(counts: dict[str, int]) -> list[tuple[str, int]]:
    """The DirectMap lines of /proc/meminfo, in arch_report_meminfo()'s order."""
    return [(f"DirectMap{size}", kb) for size, kb in counts.items()]

