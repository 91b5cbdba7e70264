"""struct page: flags, owners, and the ``Page`` handle.

Models include/linux/page-flags.h (6.18 bit numbers) and include/linux/mm_types.h.
The values live in :class:`kmemsim.mm.memmap.MemMap`; a :class:`Page` is a
small handle (a pfn and its machine) like drgn's ``Object`` of type
``struct page *``: cheap to make, compared by pfn, and reading through to the
arrays on each access.

``Page.ptr`` is the address of the struct page itself in the kernel's address
space (``vmemmap + pfn`` on x86_64, ``mem_map + pfn`` on i386), the value a
kernel prints for a ``struct page *``.
"""
from __future__ import annotations

import enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from ..machine import Machine as Kernel


class PG(enum.IntFlag):
    """Page flag bits, ``enum pageflags`` of 6.18 (include/linux/page-flags.h).

    The buddy allocator's "free" mark is a page *type* in 6.x, not a flag; it is
    kept by the page allocator's own records.
    """

    locked = 1 << 0
    writeback = 1 << 1
    referenced = 1 << 2
    uptodate = 1 << 3
    dirty = 1 << 4
    lru = 1 << 5
    head = 1 << 6
    waiters = 1 << 7
    active = 1 << 8
    workingset = 1 << 9
    owner_priv_1 = 1 << 10
    owner_2 = 1 << 11
    arch_1 = 1 << 12
    reserved = 1 << 13
    private = 1 << 14
    private_2 = 1 << 15
    reclaim = 1 << 16
    swapbacked = 1 << 17
    unevictable = 1 << 18
    dropbehind = 1 << 19
    mlocked = 1 << 20

    def format(self) -> str:
        """As the kernel's %pGp prints page flags: ``0x2000(reserved)``."""
        names = [f.name for f in PG if f & self and f.name]
        return f"{int(self):#x}({'|'.join(names)})" if names else f"{int(self):#x}()"


class Owner(enum.IntEnum):
    """Where a page is: every struct page is in exactly one place.

    Each allocator that takes pages adds its own value here; ``Kernel.check``
    verifies that the owners agree with each subsystem's records.
    """

    HOLE = 0  # a struct page with no memory behind it (e820 hole inside a section)
    RESERVED = 1  # memblock-reserved at boot: kernel image, memmap, firmware
    MANAGED = 2  # handed to the page allocator at boot: free, on a pcp list or allocated (its records say)


class Page:
    """A ``struct page *``: a handle on one pfn of one machine."""

    __slots__ = ("_k", "pfn")

    def __init__(self, kernel: Kernel, pfn: int):
        self._k = kernel
        self.pfn = pfn

    # identity
    def __eq__(self, other: object) -> bool:
        return isinstance(other, Page) and other.pfn == self.pfn and other._k is self._k

    def __hash__(self) -> int:
        return hash(self.pfn)

    def __repr__(self) -> str:
        return f"Page(pfn={self.pfn:#x})"

    def _repr_html_(self) -> str | None:
        """Jupyter's rich display, drawn by kmemsim.explore (a tool above this layer: imported by name)."""
        import importlib

        return importlib.import_module("kmemsim.explore.jupyter").repr_html(self)

    def __add__(self, n: int) -> Page:
        """``page + n``: the struct page n entries later, as in C."""
        return Page(self._k, self.pfn + n)

    def __sub__(self, n: int) -> Page:
        return Page(self._k, self.pfn - n)

    @property
    def ptr(self) -> int:
        """The struct page's own kernel virtual address."""
        return self._k.arch.page_struct_addr(self.pfn)

    # fields (reading a struct page that does not exist is a page fault, as in C)
    def _get(self, field: str) -> int:
        mm = self._k.memmap
        if not mm.pfn_valid(self.pfn):
            self._k.report.page_fault(self.ptr, write=False)
        return mm.get(self.pfn, field)

    @property
    def flags(self) -> PG:
        return PG(self._get("flags"))

    @property
    def refcount(self) -> int:
        """page_ref_count(page)."""
        return self._get("refcount")

    @property
    def mapcount(self) -> int:
        """page_mapcount(page): the kernel stores it -1 based."""
        return self._get("mapcount") + 1

    @property
    def private(self) -> int:
        return self._get("private")

    @property
    def owner(self) -> Owner:
        return Owner(self._get("owner"))

    def PageReserved(self) -> bool:  # noqa: N802 - kernel name
        return bool(self._get("flags") & PG.reserved)
