"""The page allocator as its callers see it: include/linux/gfp.h's functions on a machine.

``alloc_pages()`` and friends hand out ``struct page`` handles (:class:`~kmemsim.mm.page.Page`),
``__get_free_pages()`` and friends kernel addresses; both end in the buddy allocator
(:mod:`kmemsim.mm.page_alloc`), which works in pfns.  The Kernel's methods of the same
names forward here (``k.get_free_pages`` runs :mod:`kmemsim.mm.fastpath` first when its
dispatch slot holds the fast path).

Follows Linux 6.18 mm/page_alloc.c: ``__get_free_pages`` strips ``__GFP_HIGHMEM``,
``free_pages(0, ...)`` is a no-op, ``alloc_pages_exact`` gives the unused tail back
(make_alloc_exact), ``__free_pages`` of a page that another reference holds frees the
tail halves of a non-compound block.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..args import check_addr
from ..errors import UsageError
from .page import Owner, Page

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable

    from ..machine import Machine
    from .mmzone import Zone
    from .page_alloc import PageAllocator

__all__ = ["PageAPI", "NULL"]

NULL = 0


class PageAPI:
    """alloc_pages, __get_free_pages, free_pages ... for one machine (``k.pages``)."""

    def __init__(self, k: Machine, pa: PageAllocator) -> None:
        self.k = k
        self.pa = pa
        #: gfp (as the caller passed it) -> the pcp fast paths' context (mm/fastpath.py):
        #: (zone, highest_zoneidx, migratetype, zero, comp)
        self.fast_get: dict[Any, tuple[Zone, int, int, bool, bool]] = {}
        #: ``pa.alloc(gfp, order)`` with the pcp fast path in front (mm/fastpath.py), for a caller
        #: holding an int mask while get_free_pages' fast path is in its slot; None before boot
        self.alloc_pfn: Callable[[int, int], int] | None = None
        #: the pcp fast paths' closures and the state they hold (mm/fastpath.py install_pages()),
        #: for the compiled replay core; None before boot and on 2.6's hot/cold lists
        self.pcp_state: tuple[Any, ...] | None = None

    def nr_free_pages(self) -> int:
        """NR_FREE_PAGES summed over zones (pages on pcp lists are not free to the buddy)."""
        return sum(z.free_pages for z in self.pa.zones)

    def alloc_pages(self, gfp_mask: int, order: int = 0) -> Page | None:
        """alloc_pages(gfp, order): a block of 2^order pages, or None (NULL).

        May sleep when ``gfp_mask`` allows direct reclaim.  The first page has
        refcount 1 (every page of a ``__GFP_COMP`` block belongs to the head).
        """
        pfn = self.pa.alloc(self.k.gfp.mask(gfp_mask, "alloc_pages: gfp_mask"), order)
        return None if pfn < 0 else Page(self.k, pfn)

    def alloc_page(self, gfp_mask: int) -> Page | None:
        """alloc_page(gfp) = alloc_pages(gfp, 0)."""
        return self.alloc_pages(gfp_mask, 0)

    def get_free_pages(self, gfp_mask: int, order: int = 0) -> int:
        """The kernel's ``__get_free_pages(gfp, order)``: the block's address, or 0 (NULL).

        ``__GFP_HIGHMEM`` is stripped: the memory must have a kernel address.  After boot
        the instance's ``get_free_pages`` is the pcp fast path of ``kmemsim.mm.fastpath``
        (orders the pcp lists hold), which falls back to this method.
        """
        pa = self.pa
        stripped = self.k.gfp.mask(gfp_mask, "get_free_pages: gfp_mask") & ~pa.bits.highmem
        pfn = pa.alloc(stripped, order)
        if gfp_mask not in self.fast_get and stripped in pa.fast0:
            self.fast_get[gfp_mask] = pa.fast0[stripped]
        if pfn < 0:
            return NULL
        return self.k.layout.page_offset + (pfn << self.k.page_shift)

    def get_free_page(self, gfp_mask: int) -> int:
        """The kernel's ``__get_free_page(gfp)``."""
        return self.get_free_pages(gfp_mask, 0)

    def get_zeroed_page(self, gfp_mask: int) -> int:
        """get_zeroed_page(gfp): one page of zeros."""
        return self.get_free_pages(self.k.gfp.mask(gfp_mask, "get_zeroed_page: gfp_mask") | self.pa.bits.zero, 0)

    def get_dma_pages(self, gfp_mask: int, order: int = 0) -> int:
        """The kernel's ``__get_dma_pages(gfp, order)``: from ZONE_DMA."""
        return self.get_free_pages(self.k.gfp.mask(gfp_mask, "__get_dma_pages: gfp_mask") | self.pa.bits.dma, order)

    def _addr_to_pfn(self, addr: int, what: str) -> int:
        if isinstance(addr, Page):
            raise UsageError(f"{what}() takes an address; for a struct page use free_pages_struct()")
        check_addr(addr, "addr", self.k.layout.bits)
        off = addr - self.k.layout.page_offset
        if not 0 <= off < self.k.arch.lowmem_bytes:
            # the kernel would compute virt_to_page() of garbage; say so plainly
            self.k.report.bug([f"{what}: {addr:#x} is not a direct-map address (virt_to_page() would be garbage)"],
                     kind="bad_free")
            return -1
        if off & (self.k.page_size - 1):
            self.k.report.bug([f"{what}: {addr:#x} is not page aligned"], kind="bad_free")
            return -1
        return off >> self.k.page_shift

    def free_pages(self, addr: int, order: int = 0) -> None:
        """free_pages(addr, order): NULL (0) is ignored.  After boot the instance's
        ``free_pages`` is the pcp fast path of ``kmemsim.mm.fastpath``."""
        if addr == 0:
            return
        pfn = self._addr_to_pfn(addr, "free_pages")
        if pfn >= 0:
            self.pa.free(pfn, order)

    def free_page(self, addr: int) -> None:
        """free_page(addr) = free_pages(addr, 0)."""
        self.free_pages(addr, 0)

    def free_pages_struct(self, page: Page, order: int = 0) -> None:
        """The kernel's ``__free_pages(page, order)`` (Python cannot name a method
        ``__free_pages``): drop one reference, free the block if it was the last."""
        if not isinstance(page, Page):
            raise UsageError("free_pages_struct() takes a Page; for an address use free_pages()")
        self.pa.free(page.pfn, order)

    def free_page_struct(self, page: Page) -> None:
        """The kernel's ``__free_page(page)``."""
        self.free_pages_struct(page, 0)

    def get_page(self, page: Page) -> None:
        """get_page(page): one more reference (on the head of a compound page)."""
        self.pa.get_page(page.pfn)

    def put_page(self, page: Page) -> None:
        """put_page(page): drop a reference; the last one frees the page (or compound block)."""
        self.pa.put_page(page.pfn)

    def split_page(self, page: Page, order: int) -> None:
        """split_page(page, order): a non-compound block becomes 2^order separately freed pages."""
        self.pa.split_page(page.pfn, order)

    def alloc_pages_exact(self, size: int, gfp_mask: int) -> int:
        """alloc_pages_exact(size, gfp): exactly ceil(size / PAGE_SIZE) pages; the rest of the
        power-of-two block is given back at once.  Returns the address or 0."""
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            raise UsageError(f"alloc_pages_exact: size {size!r} must be a positive integer")
        pa = self.pa
        order = max(0, (size - 1).bit_length() - self.k.page_shift)
        gfp_mask = self.k.gfp.mask(gfp_mask, "alloc_pages_exact: gfp_mask")
        if gfp_mask & (pa.bits.comp | pa.bits.highmem):
            self.k.report.warn_once("alloc_pages_exact gfp", "make_alloc_exact",
                                    "__GFP_COMP or __GFP_HIGHMEM passed to alloc_pages_exact")
            gfp_mask &= ~(pa.bits.comp | pa.bits.highmem)
        addr = self.get_free_pages(gfp_mask, order)
        if not addr:
            return NULL
        pfn = (addr - self.k.layout.page_offset) >> self.k.page_shift
        nr = -(-size // self.k.page_size)
        pa.split_page(pfn, order)
        for p in range(pfn + nr, pfn + (1 << order)):  # make_alloc_exact(): to the buddy tail
            del pa.allocated[p]
            pa.set_ref(p, 0)
            pa.free_to_buddy_tail(p, 0)
        return addr

    def free_pages_exact(self, addr: int, size: int) -> None:
        """free_pages_exact(virt, size): free each page of PAGE_ALIGN(size)."""
        nr = -(-size // self.k.page_size)
        for i in range(nr):
            self.free_page(addr + i * self.k.page_size)

    def drain_all_pages(self) -> None:
        """drain_all_pages(NULL): every CPU's pcp lists back to the buddy."""
        self.pa.drain_all_pages()

    def page_zone(self, page: Page) -> str:
        """The name of the zone a page belongs to (page_zone(page)->name)."""
        return self.pa.zone_of(page.pfn).name


def page_alloc_init(m: Machine) -> None:
    """build_all_zonelists() + memblock_free_all() + init_per_zone_wmark_min(): the zones and
    their free lists from the memory the firmware map and memblock left free, the watermarks,
    the per-CPU lists and their cache flag; then the pcp fast paths (:mod:`kmemsim.mm.fastpath`)."""
    from .fastpath import install_pages
    from .page_alloc import PageAllocator

    pa = PageAllocator(m, m.arch.zone_layout(), tunables=m.tunables)
    s = m.page_shift
    pa.set_present([(a >> s, b >> s) for a, b in m.arch.setup.memory], holes=m.arch.zone_holes,
                   struct_page=m.arch.struct_page_size)
    for text, level in pa.zone_boot_lines():
        m.printk(text, level)
    free = [(a, b) for a, b, o in m.memmap.runs("owner", 0, m.max_pfn) if o == Owner.MANAGED]
    pa.free_all_bootmem(free)
    pa.init_watermarks()
    pa.setup_pcp_cacheinfo()
    pa.build_zone_chunks()
    m.page_alloc = pa
    m.pages = PageAPI(m, pa)
    install_pages(m)
    m.checks.register("page_alloc", pa.check)
