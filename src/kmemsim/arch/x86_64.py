"""x86_64, 4-level paging, Linux 6.18: address layout, translations, boot memory.

Models (6.18):
  arch/x86/include/asm/page_64_types.h, pgtable_64_types.h, fixmap.h,
  arch/x86/mm/physaddr.c (__phys_addr, __virt_addr_valid),
  arch/x86/kernel/setup.c + e820.c (max_pfn, the first-page and low-1M reservations),
  arch/x86/mm/fault.c (show_fault_oops) and arch/x86/kernel/dumpstack.c (__die_header).

Simplified, and said so:
  * no KASLR (as booted with ``nokaslr``): every base is the documented default
    and phys_base is 0, so _text is 0xffffffff81000000 at physical 16 MiB;
  * memblock reservations are the ones that shape the memory map: the low 1 MiB,
    the kernel image (sizes from the reference host), and the vmemmap
    (64 bytes per present page); smaller early allocations are not modelled.

Address map (Documentation/arch/x86/x86_64/mm.rst, 4-level)::

    0000000000000000 - 00007fffffffefff   user space (TASK_SIZE_MAX)
    0000800000000000 - ffff7fffffffffff   non-canonical
    ffff800000000000 - ffff87ffffffffff   guard hole (hypervisor)
    ffff880000000000 - ffff887fffffffff   LDT remap for PTI
    ffff888000000000 - ffffc87fffffffff   direct map of all physical memory (64 TiB)
    ffffc90000000000 - ffffe8ffffffffff   vmalloc/ioremap (32 TiB)
    ffffea0000000000 - ffffeaffffffffff   vmemmap (struct page array)
    fffffe0000000000 - fffffe7fffffffff   cpu_entry_area
    ffffff0000000000 - ffffff7fffffffff   %esp fixup stacks
    ffffffef00000000 - fffffffeffffffff   EFI runtime services
    ffffffff80000000 - ffffffffbfffffff   kernel text mapping (1 GiB with RANDOMIZE_BASE)
    ffffffffc0000000 - fffffffffeffffff   modules
    FIXADDR_START    - ffffffffff7fffff   fixmap (incl. the vsyscall page at ffffffffff600000)
"""
from __future__ import annotations

from ..layout import Layout, Region, fill_holes
from .base import Arch, ArchSetup, MemblockRegion
from .e820 import ISA_END, E820Entry, ram_ranges

MASK64 = (1 << 64) - 1
PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
TB = 1 << 40

TASK_SIZE_MAX = (1 << 47) - PAGE_SIZE
GUARD_HOLE_BASE = 0xFFFF800000000000
LDT_BASE_ADDR = 0xFFFF880000000000
PAGE_OFFSET = 0xFFFF888000000000  # __PAGE_OFFSET_BASE_L4
MAX_PHYSMEM_BITS = 46
DIRECT_MAP_SIZE = 1 << MAX_PHYSMEM_BITS  # 64 TiB
VMALLOC_START = 0xFFFFC90000000000  # __VMALLOC_BASE_L4
VMALLOC_SIZE_TB = 32
VMALLOC_END = VMALLOC_START + (VMALLOC_SIZE_TB << 40) - 1  # inclusive, as the kernel defines it
VMEMMAP_START = 0xFFFFEA0000000000  # __VMEMMAP_BASE_L4
CPU_ENTRY_AREA_BASE = 0xFFFFFE0000000000  # -4 << P4D_SHIFT
P4D_SIZE = 1 << 39
ESPFIX_BASE_ADDR = 0xFFFFFF0000000000  # -2 << P4D_SHIFT
EFI_VA_START = (-4 << 30) & MASK64
EFI_VA_END = (-68 << 30) & MASK64
START_KERNEL_MAP = 0xFFFFFFFF80000000  # __START_KERNEL_map
KERNEL_IMAGE_SIZE = 1 << 30  # 1 GiB with CONFIG_RANDOMIZE_BASE
MODULES_VADDR = START_KERNEL_MAP + KERNEL_IMAGE_SIZE
MODULES_END = 0xFFFFFFFFFF000000
VSYSCALL_ADDR = 0xFFFFFFFFFF600000
FIXADDR_TOP = 0xFFFFFFFFFF7FF000  # round_up(VSYSCALL_ADDR + PAGE_SIZE, PMD_SIZE) - PAGE_SIZE
#: __end_of_permanent_fixed_addresses of 6.18's enum fixed_addresses for the reference
#: config: VSYSCALL_PAGE at 511, DBGP, EARLYCON, APIC, 128 IO-APIC slots, 2 GHES = 645.
FIXADDR_PAGES = 645
FIXADDR_SIZE = FIXADDR_PAGES << PAGE_SHIFT
FIXADDR_START = FIXADDR_TOP - FIXADDR_SIZE
STRUCT_PAGE_SIZE = 64
X86_PHYS_BITS = 48  # boot_cpu_data.x86_phys_bits of the reference host (AMD EPYC)
MAX_ARCH_PFN = 1 << (MAX_PHYSMEM_BITS - PAGE_SHIFT)
PHYS_BASE = 0

# Kernel image of the reference host's 6.18 build (/proc/iomem), at CONFIG_PHYSICAL_START.
KERNEL_IMAGE = {
    "Kernel code": (0x1000000, 0x22090C8),
    "Kernel rodata": (0x2400000, 0x2E09000),
    "Kernel data": (0x3000000, 0x327C040),
    "Kernel bss": (0x3B34000, 0x3C58000),
}
KERNEL_START = 0x1000000
KERNEL_END = 0x3C58000


def setup(e820: list[E820Entry], ram: int, nr_cpus: int, tunables: dict, section_shift: int) -> ArchSetup:
    log: list[str] = []
    # e820__memblock_setup + trim_bios_range(): the first page is never RAM to Linux.
    memory = []
    for s, e in ram_ranges(e820):
        s = max(s, PAGE_SIZE)
        if s < e:
            memory.append((s, e))
    log.append("e820: update [mem 0x00000000-0x00000fff] usable ==> reserved")
    log.append("e820: remove [mem 0x000a0000-0x000fffff] usable")
    max_pfn = max(e for _, e in memory) >> PAGE_SHIFT
    log.append(f"last_pfn = {max_pfn:#x} max_arch_pfn = {MAX_ARCH_PFN:#x}")
    if max_pfn > 1 << (32 - PAGE_SHIFT):
        # setup_arch(): max_low_pfn = e820__end_of_low_ram_pfn(), printed the same way
        low_end = max(e for s, e in memory if e <= 1 << 32) >> PAGE_SHIFT
        log.append(f"last_pfn = {low_end:#x} max_arch_pfn = {MAX_ARCH_PFN:#x}")

    present = set()
    for s, e in memory:
        for nr in range((s >> PAGE_SHIFT) >> section_shift, (((e - 1) >> PAGE_SHIFT) >> section_shift) + 1):
            present.add(nr)

    reserved = [
        MemblockRegion(0, ISA_END, "low 1M (BIOS, real mode trampoline)"),
        MemblockRegion(KERNEL_START, KERNEL_END, "kernel image"),
    ]
    # vmemmap: one struct page (64 B) per page of each present section, allocated
    # top-down from the end of memory as memblock does by default.
    memmap_bytes = len(present) * (1 << section_shift) * STRUCT_PAGE_SIZE
    top = max(e for _, e in memory)
    reserved.append(MemblockRegion(top - memmap_bytes, top, "vmemmap (struct pages)"))
    if top - memmap_bytes <= KERNEL_END:
        raise ValueError("memmap does not fit")

    high_memory = PAGE_OFFSET + (max_pfn << PAGE_SHIFT)
    layout = Layout(
        arch="x86_64",
        bits=64,
        task_size=TASK_SIZE_MAX,
        page_offset=PAGE_OFFSET,
        high_memory=high_memory,
        direct_map_end=PAGE_OFFSET + DIRECT_MAP_SIZE,
        vmalloc_start=VMALLOC_START,
        vmalloc_end=VMALLOC_END,
        kernel_text=START_KERNEL_MAP + KERNEL_START - PHYS_BASE,
        kernel_end=START_KERNEL_MAP + KERNEL_END - PHYS_BASE,
        kernel_map=START_KERNEL_MAP,
        modules=MODULES_VADDR,
        modules_end=MODULES_END,
        fixaddr_start=FIXADDR_START,
        fixaddr_top=FIXADDR_TOP,
        vmemmap_base=VMEMMAP_START,
        cpu_entry_area_base=CPU_ENTRY_AREA_BASE,
        ldt_base=LDT_BASE_ADDR,
        espfix_base=ESPFIX_BASE_ADDR,
        efi_va_start=EFI_VA_START,
        efi_va_end=EFI_VA_END,
        vsyscall=VSYSCALL_ADDR,
        regions=fill_holes(
            [
                Region(0, TASK_SIZE_MAX, "user space", "TASK_SIZE_MAX", "user"),
                Region(TASK_SIZE_MAX, 1 << 47, "guard page", kind="guard"),
                Region(1 << 47, GUARD_HOLE_BASE, "non-canonical addresses", "#GP on access", "hole"),
                Region(GUARD_HOLE_BASE, LDT_BASE_ADDR, "guard hole", "reserved for hypervisor", "guard"),
                Region(LDT_BASE_ADDR, LDT_BASE_ADDR + P4D_SIZE, "LDT remap for PTI"),
                Region(PAGE_OFFSET, high_memory, "direct map: RAM", "PAGE_OFFSET .. high_memory", "direct"),
                Region(high_memory, PAGE_OFFSET + DIRECT_MAP_SIZE, "direct map: room for more RAM", "up to 64 TiB",
                       "direct"),
                Region(VMALLOC_START, VMALLOC_END + 1, "vmalloc/ioremap", "VMALLOC_START .. VMALLOC_END", "vmalloc"),
                Region(VMEMMAP_START, VMEMMAP_START + TB, "vmemmap", "struct page array"),
                Region(CPU_ENTRY_AREA_BASE, CPU_ENTRY_AREA_BASE + P4D_SIZE, "cpu_entry_area"),
                Region(ESPFIX_BASE_ADDR, ESPFIX_BASE_ADDR + P4D_SIZE, "%esp fixup stacks"),
                Region(EFI_VA_END, EFI_VA_START, "EFI runtime services"),
                Region(START_KERNEL_MAP, MODULES_VADDR, "kernel text mapping", "__START_KERNEL_map, _text at +16M"),
                Region(MODULES_VADDR, MODULES_END, "modules"),
                Region(FIXADDR_START, FIXADDR_TOP + PAGE_SIZE, "fixmap", "incl. vsyscall page"),
            ],
            1 << 64,
        ),
    )
    mapped = [(0, ISA_END)] + [(s, e) for s, e in memory if e > ISA_END]
    return ArchSetup(
        max_pfn=max_pfn,
        max_low_pfn=max_pfn,
        layout=layout,
        memory=memory,
        mapped=_merge(mapped),
        reserved=reserved,
        kernel_image=dict(KERNEL_IMAGE),
        boot_log=log,
        present_sections=present,
    )


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted(ranges):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


class X86_64(Arch):
    name = "x86_64"

    def zone_layout(self) -> list[tuple[str, int, int]]:
        """arch/x86/mm/init.c zone_sizes_init() + free_area_init(): (name, start_pfn, end_pfn).

        MAX_DMA_PFN = 16 MiB, MAX_DMA32_PFN = 4 GiB; ZONE_MOVABLE is empty without
        kernelcore=/movablecore=, ZONE_DEVICE holds no boot memory (and is not there at all
        without CONFIG_ZONE_DEVICE: ``zone_device``, the profile's).
        """
        start = min(s for s, _ in self.setup.memory) >> PAGE_SHIFT
        mp = self.max_pfn
        out = []
        for name, limit in (("DMA", 1 << 12), ("DMA32", 1 << 20), ("Normal", mp)):
            end = max(min(limit, mp), start)
            out.append((name, start, end))
            start = end
        if self.zone_movable:
            out.append(("Movable", 0, 0))
        if self.zone_device:
            out.append(("Device", 0, 0))
        return out

    def pa(self, vaddr: int) -> int:
        """__pa() = __phys_addr_nodebug(): the carry trick of asm/page_64.h."""
        y = (vaddr - START_KERNEL_MAP) & MASK64
        if vaddr > y:  # vaddr >= __START_KERNEL_map: a kernel-image address
            return (y + PHYS_BASE) & MASK64
        return (y + (START_KERNEL_MAP - PAGE_OFFSET)) & MASK64

    def pa_debug_bug_line(self, vaddr: int) -> int | None:
        """The line of arch/x86/mm/physaddr.c whose VIRTUAL_BUG_ON fires in __phys_addr()
        (CONFIG_DEBUG_VIRTUAL), or None.  With the reference CPU's 48 physical address
        bits, vmalloc addresses pass (their __pa is < 2^48): only user-space addresses
        and addresses beyond the kernel image are caught."""
        y = (vaddr - START_KERNEL_MAP) & MASK64
        if vaddr > y:
            return 23 if y >= KERNEL_IMAGE_SIZE else None
        x = (y + (START_KERNEL_MAP - PAGE_OFFSET)) & MASK64
        return 28 if (x > y) or (x >> X86_PHYS_BITS) else None

    def virt_addr_valid(self, vaddr: int, pfn_valid) -> bool:
        """__virt_addr_valid() of arch/x86/mm/physaddr.c."""
        y = (vaddr - START_KERNEL_MAP) & MASK64
        if vaddr > y:
            x = (y + PHYS_BASE) & MASK64
            if y >= KERNEL_IMAGE_SIZE:
                return False
        else:
            x = (y + (START_KERNEL_MAP - PAGE_OFFSET)) & MASK64
            if x > y or (x >> X86_PHYS_BITS):
                return False
        return pfn_valid(x >> PAGE_SHIFT)

    def page_struct_addr(self, pfn: int) -> int:
        return (VMEMMAP_START + pfn * STRUCT_PAGE_SIZE) & MASK64

    def direct_phys(self, vaddr: int) -> int | None:
        off = vaddr - PAGE_OFFSET
        if 0 <= off < self.lowmem_bytes:
            return off
        if self.layout.kernel_text <= vaddr < self.layout.kernel_end:
            return vaddr - START_KERNEL_MAP + PHYS_BASE
        return None

    @staticmethod
    def canonical(addr: int) -> bool:
        return addr < (1 << 47) or addr >= GUARD_HOLE_BASE

    def noncanonical(self, addr: int, n: int) -> int | None:
        if not self.canonical(addr):
            return addr
        if n and not self.canonical(addr + n - 1):
            return addr + n - 1
        return None
