"""What every architecture provides to the machine.

An :class:`Arch` is computed once at boot from the profile, the e820 map and
the tunables (``setup_arch()`` in the kernel).  It owns the address layout and
the translations between kernel virtual, physical and struct page addresses,
with the kernel's semantics: ``pa``/``va`` are plain arithmetic that checks
nothing (unless CONFIG_DEBUG_VIRTUAL), ``virt_addr_valid`` is the careful test.
"""
from __future__ import annotations

from ..layout import Layout
from ..records import Record


class MemblockRegion(Record):
    __match_args__ = ("start", "end", "name")
    start: int  # bytes
    end: int
    name: str

    def __init__(self, start: int, end: int, name: str) -> None:
        vars(self).update(start=start, end=end, name=name)


class ArchSetup(Record):
    """What setup_arch() leaves behind."""

    __match_args__ = ("max_pfn", "max_low_pfn", "layout", "memory", "mapped", "reserved", "kernel_image", "boot_log",
                       "present_sections")

    max_pfn: int  # one past the highest usable RAM pfn
    max_low_pfn: int  # one past the highest directly mapped pfn
    layout: Layout
    memory: list[tuple[int, int]]  # memblock.memory: usable RAM [start, end) bytes
    mapped: list[tuple[int, int]]  # physical ranges the direct map covers and that hold bytes
    reserved: list[MemblockRegion]  # memblock.reserved at the end of boot
    kernel_image: dict[str, tuple[int, int]]  # "Kernel code" -> (start, end) physical
    boot_log: list[str]  # printk lines, in order
    present_sections: set[int]

    def __init__(self, max_pfn: int, max_low_pfn: int, layout: Layout, memory: list[tuple[int, int]],
                 mapped: list[tuple[int, int]], reserved: list[MemblockRegion],
                 kernel_image: dict[str, tuple[int, int]], boot_log: list[str] | None = None,
                 present_sections: set[int] | None = None) -> None:
        vars(self).update(max_pfn=max_pfn, max_low_pfn=max_low_pfn, layout=layout, memory=memory, mapped=mapped,
                          reserved=reserved, kernel_image=kernel_image, boot_log=[] if boot_log is None else boot_log,
                          present_sections=set() if present_sections is None else present_sections)


class Arch:
    """Translations and facts for one booted machine; subclassed per architecture."""

    name = "?"
    page_shift = 12
    #: CONFIG_ZONE_DEVICE: the profile's (x86_64 only; set by setup_arch)
    zone_device = True
    #: ZONE_MOVABLE exists (2.6.23+, features.zone_movable; set by setup_arch)
    zone_movable = True
    #: do the firmware map's holes count as absent pages of a zone (zone present_pages)?
    zone_holes = True
    #: sizeof(struct page)
    struct_page_size = 64

    def __init__(self, setup: ArchSetup):
        self.setup = setup
        self.layout = setup.layout
        self.max_pfn = setup.max_pfn
        self.max_low_pfn = setup.max_low_pfn
        self.page_offset = setup.layout.page_offset
        #: bytes of the direct map that translate linearly: [page_offset, page_offset + lowmem_bytes)
        self.lowmem_bytes = setup.max_low_pfn << self.page_shift

    # -- translations (kernel semantics: arithmetic, no checks) ---------------
    def pa(self, vaddr: int) -> int:  # __pa()
        raise NotImplementedError

    def va(self, paddr: int) -> int:  # __va()
        return (paddr + self.page_offset) & self.mask

    def page_struct_addr(self, pfn: int) -> int:
        raise NotImplementedError

    def virt_addr_valid(self, vaddr: int, pfn_valid) -> bool:
        """virt_addr_valid(): may ``vaddr`` be given to virt_to_page()?"""
        raise NotImplementedError

    def pa_debug_bug_line(self, vaddr: int) -> int | None:
        """Where CONFIG_DEBUG_VIRTUAL's __pa() would BUG for ``vaddr`` (a source line), or None."""
        return None

    def direct_phys(self, vaddr: int) -> int | None:
        """Physical address behind a direct-map or kernel-image address, else None."""
        raise NotImplementedError

    def is_highmem_pfn(self, pfn: int) -> bool:
        return pfn >= self.max_low_pfn

    #: HUGETLB_PAGE_ORDER, which is pageblock_order: HPAGE_SHIFT - PAGE_SHIFT
    hugetlb_page_order = 9

    def zone_layout(self) -> list[tuple[str, int, int]]:
        """The zones as (name, start_pfn, end_pfn), in zone index order."""
        raise NotImplementedError

    def noncanonical(self, addr: int, n: int) -> int | None:
        """The first address of [addr, addr + n) that is not canonical (a #GP), or None."""
        return None

    @property
    def mask(self) -> int:
        return (1 << self.layout.bits) - 1

