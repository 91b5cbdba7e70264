"""Kernel page tables (kmemsim.mm.pgtable): x86_64 4-level (6.18) and i386 2-level (2.6.24)."""
from __future__ import annotations

import struct

import pytest

import kmemsim
from kmemsim.features import Features
from kmemsim.mm.pgtable import (
    _PAGE_PSE,
    PAGE_KERNEL_32,
    PAGE_KERNEL_64,
    PG_LEVEL_1G,
    PG_LEVEL_2M,
    PG_LEVEL_4K,
    PG_LEVEL_512G,
    PG_LEVEL_NONE,
    PageTableCorrupt,
    PageTables,
)

PS = 4096


@pytest.fixture()
def k64():
    return kmemsim.boot()


@pytest.fixture()
def k32():
    return kmemsim.boot("linux-2.6-i386", ram="1G")


def test_page_kernel_values():
    assert PAGE_KERNEL_64 == 0x8000000000000163  # __PP|__RW|___A|__NX|___D|___G
    assert PAGE_KERNEL_32 == 0x163  # non-PAE: no NX bit, _PAGE_GLOBAL with PGE


def test_preallocated_vmalloc_puds_are_page_tables(k64):
    free = k64.nr_free_pages() + sum(z.pcp_count for z in k64.page_alloc.zones)
    pt = PageTables(k64)
    # 32 TiB of vmalloc space / 512 GiB per PGD entry = 64 PUD tables
    assert pt.nr_pagetable_pages == 64 and pt.nr_page_table_pages() == 64
    assert all(lvl == 1 for lvl in pt.tables.values())
    assert k64.nr_free_pages() + sum(z.pcp_count for z in k64.page_alloc.zones) == free - 64
    pt.check()


def test_map_walk_and_entries_in_physical_memory(k64):
    pt = PageTables(k64)
    lay = k64.layout
    addr = lay.vmalloc_start + 0x5000
    pfns = [k64.page_alloc.alloc(k64.gfp.GFP_KERNEL, 0) for _ in range(3)]
    # an empty PUD entry under a preallocated PUD table: lookup stops at PG_LEVEL_1G
    assert pt.lookup_address(addr) == (None, PG_LEVEL_1G)
    assert pt.vmap_pages_range(addr, addr + 3 * PS, pt.page_kernel, pfns) == 0
    assert pt.nr_pagetable_pages == 64 + 2  # a PMD table and a PTE table
    for i, pfn in enumerate(pfns):
        e, level = pt.lookup_address(addr + i * PS)
        assert level == PG_LEVEL_4K and e == (pfn << 12) | PAGE_KERNEL_64
        assert pt.slow_virt_to_phys(addr + i * PS + 123) == (pfn << 12) + 123
    # a none PTE in an existing PTE table: the kernel returns the pte pointer at 4K
    assert pt.lookup_address(addr + 3 * PS) == (0, PG_LEVEL_4K)
    # the PTE is 8 little-endian bytes in the PTE table page, readable through the direct map
    pte_pfn = next(p for p, lvl in pt.tables.items() if lvl == 3)
    idx = ((addr >> 12) & 511) * 8
    raw = k64.read(k64.va(pte_pfn << 12) + idx, 8)
    assert struct.unpack("<Q", raw)[0] == (pfns[0] << 12) | PAGE_KERNEL_64
    # a stray write through that alias changes the mapping, as on hardware
    k64.write(k64.va(pte_pfn << 12) + idx, struct.pack("<Q", (pfns[2] << 12) | PAGE_KERNEL_64))
    assert pt.vmalloc_to_pfn_raw(addr) == pfns[2]
    pt.check()
    assert pt.vunmap_range(addr, addr + 4 * PS) == 3
    assert pt.lookup_address(addr) == (0, PG_LEVEL_4K)
    assert list(pt.mappings(lay.vmalloc_start, lay.vmalloc_end)) == []
    assert pt.nr_pagetable_pages == 66  # tables are never freed


def test_mapping_over_a_present_pte_warns_and_fails(k64):
    pt = PageTables(k64)
    addr = k64.layout.vmalloc_start
    pfn = k64.page_alloc.alloc(k64.gfp.GFP_KERNEL, 0)
    assert pt.vmap_pages_range(addr, addr + PS, pt.page_kernel, [pfn]) == 0
    assert pt.vmap_pages_range(addr, addr + PS, pt.page_kernel, [pfn]) == -16  # -EBUSY
    assert "WARNING: CPU: 0 PID: 1000 at vmap_pages_pte_range" in k64.dmesg()


def test_huge_pmd_mapping_of_a_physical_range(k64):
    pt = PageTables(k64)
    addr = k64.layout.vmalloc_start + (4 << 20)
    phys = 0x40000000 + (2 << 20)  # not RAM: device memory, as ioremap maps
    assert pt.vmap_range(addr, addr + (4 << 20), phys, pt.page_kernel_io, max_page_shift=30) == 0
    e, level = pt.lookup_address(addr + (2 << 20) + 0x1234)
    assert level == PG_LEVEL_2M and e & _PAGE_PSE
    assert pt.slow_virt_to_phys(addr + (2 << 20) + 0x1234) == phys + (2 << 20) + 0x1234
    assert [lvl for _, _, lvl in pt.mappings(addr, addr + (4 << 20))] == [PG_LEVEL_2M, PG_LEVEL_2M]
    assert pt.vunmap_range(addr, addr + (4 << 20)) == 1024
    assert pt.slow_virt_to_phys(addr) is None
    pt.check()


def test_direct_map_lookup_is_the_boot_large_page(k64):
    pt = PageTables(k64)
    e, level = pt.lookup_address(k64.va(0x40001234 - 0x40000000 + 0x2000_0000))  # 512 MiB in
    assert level in (PG_LEVEL_2M, PG_LEVEL_1G) and e & _PAGE_PSE
    assert pt.slow_virt_to_phys(k64.va(0x1234567)) == 0x1234567
    text = k64.layout.kernel_text
    assert pt.slow_virt_to_phys(text + 0x42) == k64.pa(text) + 0x42


def test_check_finds_a_table_linked_twice(k64):
    pt = PageTables(k64)
    addr = k64.layout.vmalloc_start
    pfn = k64.page_alloc.alloc(k64.gfp.GFP_KERNEL, 0)
    pt.vmap_pages_range(addr, addr + PS, pt.page_kernel, [pfn])
    pud_pfn = pt.entry_pfn(pt._read(pt.top_pfn, (addr >> 39) & 511))
    e = pt._read(pud_pfn, (addr >> 30) & 511)
    pt._write(pud_pfn, ((addr >> 30) & 511) + 1, e)  # the same PMD table under two PUD entries
    with pytest.raises(PageTableCorrupt, match="linked twice"):
        pt.check()


def test_i386_two_level_tables(k32):
    pt = PageTables(k32)
    assert pt.nr_pagetable_pages == 0  # no preallocation on i386
    lay = k32.layout
    addr = lay.vmalloc_start
    pfn = k32.page_alloc.alloc(k32.gfp.GFP_KERNEL, 0)
    assert pt.lookup_address(addr) == (None, 0)  # 2.6.24: PG_LEVEL_NONE and NULL
    assert pt.vmap_pages_range(addr, addr + PS, pt.page_kernel, [pfn]) == 0
    assert pt.nr_pagetable_pages == 1 and pt.nr_page_table_pages() == 0  # 2.6.24 did not count them
    e, level = pt.lookup_address(addr)
    assert level == PG_LEVEL_4K and e == (pfn << 12) | 0x163
    tbl = next(iter(pt.tables))
    raw = k32.read(k32.va(tbl << 12) + ((addr >> 12) & 1023) * 4, 4)
    assert struct.unpack("<I", raw)[0] == e
    # the PGD entry is _PAGE_TABLE (0x67) | the PTE table, 4 bytes in swapper_pg_dir
    assert pt._read(pt.top_pfn, addr >> 22) == (tbl << 12) | 0x67
    # lowmem is 4M PSE pages
    e, level = pt.lookup_address(lay.page_offset + 0x500000)
    assert level == PG_LEVEL_2M and e == 0x400000 | 0x1E3
    pt.check()


def test_6_6_counts_only_kernel_pmd_tables_and_reports_the_level_above_a_none_entry(k64):
    k64.features = Features("6.6")
    pt = PageTables(k64)
    assert pt.gfp_pgtable == k64.gfp.value("GFP_KERNEL") | k64.gfp.value("__GFP_ZERO")  # GFP_PGTABLE_KERNEL
    # the preallocated PUD tables (5.9+) have no pagetable ctor before 6.14
    assert pt.nr_pagetable_pages == 64 and pt.nr_page_table_pages() == 0
    addr = k64.layout.vmalloc_start + 0x5000
    assert pt.lookup_address(0x1000) == (None, PG_LEVEL_NONE)  # none at the top (6.18: PG_LEVEL_512G)
    assert pt.lookup_address(addr) == (None, PG_LEVEL_512G)  # a none PUD entry (6.18: PG_LEVEL_1G)
    pfn = k64.page_alloc.alloc(k64.gfp.GFP_KERNEL, 0)
    assert pt.vmap_pages_range(addr, addr + PS, pt.page_kernel, [pfn]) == 0
    assert pt.nr_pagetable_pages == 66 and pt.nr_page_table_pages() == 1  # the PMD table; not the PTE table
    assert pt.lookup_address(addr + (2 << 20)) == (None, PG_LEVEL_1G)  # a none PMD entry (6.18: PG_LEVEL_2M)
    assert pt.lookup_address(addr) == ((pfn << 12) | PAGE_KERNEL_64, PG_LEVEL_4K)
    pt.check()


def test_2_6_24_kernel_pte_tables_come_with_gfp_repeat(k32):
    pt = PageTables(k32)
    g = k32.gfp
    assert pt.gfp_pgtable == g.value("GFP_KERNEL") | g.value("__GFP_REPEAT") | g.value("__GFP_ZERO")
