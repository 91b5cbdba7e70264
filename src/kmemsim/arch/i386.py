"""i386 (32-bit x86), Linux 2.6.24, non-PAE HIGHMEM4G: layout, lowmem/highmem, translations.

Models (2.6.24):
  include/asm-x86/page_32.h (PAGE_OFFSET, MAXMEM, __pa/__va, virt_addr_valid),
  include/asm-x86/pgtable_32.h (VMALLOC_OFFSET/START/END, PKMAP_BASE),
  include/asm-x86/fixmap_32.h (FIXADDR_TOP/START), include/asm-x86/highmem.h (LAST_PKMAP),
  arch/x86/kernel/setup_32.c (find_max_low_pfn, setup_memory, parse_vmalloc, highmem=),
  arch/x86/mm/init_32.c (mem_init's "virtual kernel memory layout"),
  arch/x86/mm/fault_32.c (no_context oops text).

The classic picture (3G/1G split)::

    0x00000000 - 0xbfffffff   user space (TASK_SIZE = PAGE_OFFSET)
    0xc0000000 - high_memory  lowmem: the direct map of the first <= 896 MB of RAM
    high_memory + 8 MB gap    VMALLOC_OFFSET: catches overruns off the direct map
    VMALLOC_START - _END      vmalloc (and ioremap, modules)
    2 pages                   guard
    PKMAP_BASE (4 MB)         persistent kmap window for highmem pages
    FIXADDR_START - TOP       fixmap (kmap_atomic slots, APIC, ...)

Lowmem is MAXMEM = 4 GB - PAGE_OFFSET - __VMALLOC_RESERVE = 896 MB with the
default 128 MB reserve; ``vmalloc=SIZE`` makes the reserve SIZE (2.6.24; 6.x adds 8 MB).  RAM
above MAXMEM is ZONE_HIGHMEM, reachable only through kmap.

Simplified: memblock/bootmem reservations are page 0, the kernel image, and
mem_map[] (32-byte struct pages placed at 16 MB as alloc_bootmem_node does);
the bootmem bitmap and early page tables are not modelled.
"""
from __future__ import annotations

from ..errors import ConfigError
from ..layout import Layout, Region, fill_holes
from .base import Arch, ArchSetup, MemblockRegion
from .e820 import ISA_END, E820Entry, ram_ranges

MASK32 = 0xFFFFFFFF
PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
MB = 1 << 20
PMD_SIZE = 4 * MB  # 2-level: the PMD is folded into the PGD (PGDIR_SHIFT 22)
PMD_MASK = ~(PMD_SIZE - 1) & MASK32

VMSPLIT_PAGE_OFFSET = {"3G": 0xC0000000, "3G_OPT": 0xB0000000, "2G": 0x80000000, "2G_OPT": 0x78000000, "1G": 0x40000000}
VMALLOC_OFFSET = 8 * MB
VMALLOC_RESERVE_DEFAULT = 128 * MB  # __VMALLOC_RESERVE
LAST_PKMAP = 1024  # non-PAE: one page table of persistent kmaps (4 MB)
FIXADDR_TOP = 0xFFFFF000
MAX_NONPAE_PFN = 1 << 20
MAX_PAE_BYTES = 64 << 30
STRUCT_PAGE_SIZE = 32
MAX_DMA_ADDRESS_PHYS = 16 * MB

# enum fixed_addresses of 2.6.24 fixmap_32.h for the profile's config
# (LOCAL_APIC, IO_APIC with MAX_IO_APICS 64, HIGHMEM with KM_TYPE_NR * NR_CPUS kmap
# slots, ACPI, PCI_MMCONFIG); see docs/layout.md for the count.
KM_TYPE_NR = 13
NR_FIX_BTMAPS = 16
MAX_IO_APICS = 64
FIX_ACPI_PAGES = 4


def fixmap_pages(nr_cpus: int) -> tuple[int, int]:
    """(__end_of_permanent_fixed_addresses, __end_of_fixed_addresses) for NR_CPUS."""
    permanent = (
        1  # FIX_HOLE
        + 1  # FIX_VDSO
        + 1  # FIX_DBGP_BASE
        + 1  # FIX_EARLYCON_MEM_BASE
        + 1  # FIX_APIC_BASE
        + MAX_IO_APICS  # FIX_IO_APIC_BASE_0 .. END
        + KM_TYPE_NR * nr_cpus  # FIX_KMAP_BEGIN .. END
        + FIX_ACPI_PAGES  # FIX_ACPI_BEGIN .. END
        + 1  # FIX_PCIE_MCFG
    )
    total = permanent + NR_FIX_BTMAPS + 1  # FIX_BTMAP_*, FIX_WP_TEST
    return permanent, total


KERNEL_PHYS_START = 0x100000  # CONFIG_PHYSICAL_START of 2.6.24
# A typical 2.6.24 i386 image: .text, .data, then .init (freed after boot) and .bss.
KERNEL_IMAGE = {
    "Kernel code": (0x100000, 0x32B000),
    "Kernel data": (0x32B000, 0x3F8000),
    "Kernel init": (0x3F8000, 0x434000),
    "Kernel bss": (0x434000, 0x4A4000),
}
KERNEL_END = 0x4A4000


def setup(e820: list[E820Entry], ram: int, nr_cpus: int, tunables: dict, section_shift: int) -> ArchSetup:
    log: list[str] = []
    page_offset = VMSPLIT_PAGE_OFFSET[tunables.get("vmsplit", "3G")]  # 2.6.11: always 3G
    reserve = VMALLOC_RESERVE_DEFAULT
    if tunables.get("vmalloc") is not None:
        reserve = tunables["vmalloc"]  # 2.6.24 parse_vmalloc(): __VMALLOC_RESERVE = memparse(arg)
    maxmem = ((1 << 32) - page_offset - reserve)  # MAXMEM = -__PAGE_OFFSET - __VMALLOC_RESERVE
    if maxmem < 16 * MB:
        raise ConfigError(
            f"vmalloc={tunables.get('vmalloc')} leaves {max(maxmem, 0) >> 20} MB of lowmem with "
            f"PAGE_OFFSET {page_offset:#x}; the kernel needs at least 16 MB of lowmem"
        )
    maxmem_pfn = maxmem >> PAGE_SHIFT

    memory = [(s, e) for s, e in ram_ranges(e820)]
    max_pfn = max(e for _, e in memory) >> PAGE_SHIFT

    # find_max_low_pfn() of arch/x86/kernel/setup_32.c (2.6.24)
    highmem_pages = -1 if tunables.get("highmem") is None else tunables["highmem"] >> PAGE_SHIFT
    max_low_pfn = max_pfn
    if max_low_pfn > maxmem_pfn:
        if highmem_pages == -1:
            highmem_pages = max_pfn - maxmem_pfn
        if highmem_pages + maxmem_pfn < max_pfn:
            max_pfn = maxmem_pfn + highmem_pages
        if highmem_pages + maxmem_pfn > max_pfn:
            log.append(
                f"only {(max_pfn - maxmem_pfn) >> 8}MB highmem pages available, ignoring highmem "
                f"size of {highmem_pages >> 8}MB."
            )
            highmem_pages = 0
        max_low_pfn = maxmem_pfn
        if max_pfn > MAX_NONPAE_PFN:
            max_pfn = MAX_NONPAE_PFN
            log.append("Warning only 4GB will be used.")
            log.append("Use a HIGHMEM64G enabled kernel.")
    else:
        if highmem_pages == -1:
            highmem_pages = 0
        if highmem_pages >= max_pfn:
            log.append(
                f"highmem size specified ({highmem_pages >> 8}MB) is bigger than pages available "
                f"({max_pfn >> 8}MB)!."
            )
            highmem_pages = 0
        if highmem_pages:
            if max_low_pfn - highmem_pages < (64 * MB) >> PAGE_SHIFT:
                log.append(
                    f"highmem size {highmem_pages >> 8}MB results in smaller than 64MB lowmem, ignoring it."
                )
                highmem_pages = 0
            max_low_pfn -= highmem_pages

    # setup_memory(): the split as the boot log reports it
    highstart_pfn = highend_pfn = max_pfn
    if max_pfn > max_low_pfn:
        highstart_pfn = max_low_pfn
    log.append(f"{(highend_pfn - highstart_pfn) >> 8}MB HIGHMEM available.")
    log.append(f"{max_low_pfn >> 8}MB LOWMEM available.")
    high_memory = page_offset + (highstart_pfn << PAGE_SHIFT)

    memory = [(s, min(e, max_pfn << PAGE_SHIFT)) for s, e in memory if s < (max_pfn << PAGE_SHIFT)]

    permanent, total = fixmap_pages(nr_cpus)
    fixaddr_start = FIXADDR_TOP - (permanent << PAGE_SHIFT)
    fixaddr_boot_start = FIXADDR_TOP - (total << PAGE_SHIFT)
    pkmap_base = (fixaddr_boot_start - PAGE_SIZE * (LAST_PKMAP + 1)) & PMD_MASK
    vmalloc_end = pkmap_base - 2 * PAGE_SIZE
    unwrapped = (high_memory + 2 * VMALLOC_OFFSET - 1) & ~(VMALLOC_OFFSET - 1)
    vmalloc_start = unwrapped & MASK32
    if unwrapped >= vmalloc_end:  # (past 4G, VMALLOC_START wraps to 0: as empty)
        given = tunables.get("vmalloc")
        why = (f"vmalloc={given} is too small: " if given is not None else "")
        raise ConfigError(
            f"{why}no room for vmalloc: lowmem ends at {high_memory:#010x}, VMALLOC_START (8 MB "
            f"VMALLOC_OFFSET on) would be {unwrapped:#x} and VMALLOC_END is {vmalloc_end:#010x} "
            f"(PAGE_OFFSET {page_offset:#x}); __VMALLOC_RESERVE must also hold the gap, pkmap and fixmap"
        )

    # mem_map[]: FLATMEM, one 32-byte struct page per pfn below max_pfn, placed at
    # MAX_DMA_ADDRESS (16 MB) by alloc_bootmem_node() when lowmem allows.
    memmap_bytes = (max_pfn * STRUCT_PAGE_SIZE + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)
    lowmem_end = max_low_pfn << PAGE_SHIFT
    memmap_phys = MAX_DMA_ADDRESS_PHYS if lowmem_end >= MAX_DMA_ADDRESS_PHYS + memmap_bytes else KERNEL_END
    if memmap_phys + memmap_bytes > lowmem_end:
        raise ConfigError(
            f"ram={ram >> 20}M: mem_map[] ({memmap_bytes >> 10} KB) and the kernel do not fit in "
            f"{lowmem_end >> 20} MB of lowmem"
        )
    reserved = [
        MemblockRegion(0, PAGE_SIZE, "BIOS data page"),
        MemblockRegion(KERNEL_PHYS_START, KERNEL_END, "kernel image"),
        MemblockRegion(memmap_phys, memmap_phys + memmap_bytes, "mem_map[] (struct pages)"),
    ]
    present = set(range(0, ((max_pfn - 1) >> section_shift) + 1))  # FLATMEM: every pfn < max_pfn

    user_end = page_offset
    layout = Layout(
        arch="i386",
        bits=32,
        task_size=user_end,
        page_offset=page_offset,
        high_memory=high_memory,
        direct_map_end=page_offset + maxmem,
        vmalloc_start=vmalloc_start,
        vmalloc_end=vmalloc_end,
        kernel_text=page_offset + KERNEL_PHYS_START,
        kernel_end=page_offset + KERNEL_END,
        kernel_map=page_offset,
        modules=vmalloc_start,
        modules_end=vmalloc_end,
        fixaddr_start=fixaddr_start,
        fixaddr_top=FIXADDR_TOP,
        vmalloc_offset=VMALLOC_OFFSET,
        pkmap_base=pkmap_base,
        last_pkmap=LAST_PKMAP,
        mem_map=page_offset + memmap_phys,
        regions=fill_holes(
            [
                Region(0, user_end, "user space", "TASK_SIZE = PAGE_OFFSET", "user"),
                Region(page_offset, high_memory, "lowmem: direct map of RAM", "PAGE_OFFSET .. high_memory", "direct"),
                Region(high_memory, vmalloc_start, "VMALLOC_OFFSET gap", "unmapped, catches overruns", "guard"),
                Region(vmalloc_start, vmalloc_end, "vmalloc/ioremap/modules", "VMALLOC_START .. VMALLOC_END",
                       "vmalloc"),
                Region(vmalloc_end, vmalloc_end + 2 * PAGE_SIZE, "guard pages", kind="guard"),
                Region(pkmap_base, pkmap_base + LAST_PKMAP * PAGE_SIZE, "pkmap: persistent kmap window",
                       "LAST_PKMAP = 1024", "kernel"),
                Region(fixaddr_boot_start, fixaddr_start, "fixmap: boot-time mappings", "FIX_BTMAP"),
                Region(fixaddr_start, FIXADDR_TOP + PAGE_SIZE, "fixmap", "kmap_atomic slots, APIC, ..."),
            ],
            1 << 32,
        ),
    )
    backed = [(0, ISA_END)] + [(s, e) for s, e in memory if e > ISA_END]
    return ArchSetup(
        max_pfn=max_pfn,
        max_low_pfn=max_low_pfn,
        layout=layout,
        memory=memory,
        mapped=sorted(backed),
        reserved=reserved,
        kernel_image=dict(KERNEL_IMAGE),
        boot_log=log,
        present_sections=present,
    )


class I386(Arch):
    name = "i386"
    hugetlb_page_order = 10  # non-PAE: 4 MiB pages (HPAGE_SHIFT 22)

    def zone_layout(self) -> list[tuple[str, int, int]]:
        """2.6.24 zone_sizes_init() (2.6.11: arch/i386/mm/init.c the same): DMA below 16 MB,
        Normal up to max_low_pfn, HighMem above; ZONE_MOVABLE (2.6.23+, ``zone_movable``) is
        empty without kernelcore=."""
        dma = min(1 << 12, self.max_low_pfn)
        out = [
            ("DMA", 0, dma),
            ("Normal", dma, self.max_low_pfn),
            ("HighMem", self.max_low_pfn, self.max_pfn),
        ]
        if self.zone_movable:
            out.append(("Movable", 0, 0))
        return out

    def pa(self, vaddr: int) -> int:
        """__pa(x) = x - PAGE_OFFSET, 32-bit arithmetic."""
        return (vaddr - self.page_offset) & MASK32

    def virt_addr_valid(self, vaddr: int, pfn_valid) -> bool:
        """2.6.24 page_32.h: ``pfn_valid(__pa(kaddr) >> PAGE_SHIFT)`` and nothing more.

        So it answers True for a vmalloc address whose __pa happens to land on a
        RAM pfn -- a known weakness fixed by __virt_addr_valid() in 2.6.29.
        """
        return pfn_valid(self.pa(vaddr) >> PAGE_SHIFT)

    def page_struct_addr(self, pfn: int) -> int:
        return (self.layout.mem_map + pfn * STRUCT_PAGE_SIZE) & MASK32  # type: ignore[operator]

    def direct_phys(self, vaddr: int) -> int | None:
        off = vaddr - self.page_offset
        if 0 <= off < self.lowmem_bytes:
            return off
        return None
