"""The machine's swap: slots for anonymous and shmem pages written out by reclaim.

Models the accounting side of mm/swapfile.c (``swap_info_struct``, ``swap_map``,
``total_swap_pages``, ``nr_swap_pages``/``get_nr_swap_pages()``, ``folio_alloc_swap``,
``swap_free``, the "Adding ...k swap" line of ``swapon``) and the numbers
mm/swap_state.c's ``show_swap_cache_info()`` prints, Linux 6.18.  :class:`Swap` is the
machine's swap (``k.vmscan.swapfile``): at most one :class:`SwapInfo` device is on; the
page cache, the processes and reclaim take and give back its slots, and reclaim's
``swapoff`` brings the swapped pages back before the device goes.

Simplified, and said so:

* one swap device (``k.swapon(size)``), no priorities, no clusters: a slot is the
  lowest free one;
* the device behaves like zram (``SWP_SYNCHRONOUS_IO``): a write issued by
  reclaim (``swap_writeout``) completes before ``pageout()`` returns, so the page is
  freed in the same reclaim pass, and a swap-in reads synchronously and frees the
  slot at once (the swap cache is bypassed).  Hence the swap cache is always empty
  (``nr_swapcached`` 0, "0 pages in swap cache");
* the data are real: the page's bytes go to the slot and come back on swap-in.
"""
from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Any

from .. import units
from ..errors import UsageError
from ..printk import KERN_INFO

if TYPE_CHECKING:  # pragma: no cover
    from ..machine import Machine


def size_to_pages(size: Any, what: str, page_size: int) -> int:
    """Pages (rounded up) of a size given as bytes or a string such as "16M"; 0 for None."""
    if size is None:
        return 0
    if isinstance(size, bool):
        raise UsageError(f"{what}={size!r}: expected a size in bytes or a string such as '16M'")
    try:
        b = units.memparse(size, what)
    except Exception as e:  # ConfigError from memparse
        raise UsageError(str(e)) from None
    if b < 0:
        raise UsageError(f"{what}={size!r}: must not be negative")
    return -(-b // page_size)


class SwapInfo:
    """struct swap_info_struct of the one swap device: its slots and their contents."""

    __slots__ = ("name", "pages", "inuse", "_next", "_freed", "data", "page_size")

    def __init__(self, name: str, pages: int, page_size: int):
        if pages < 1:
            raise UsageError(f"swapon {name}: a swap area needs at least one page, got {pages}")
        self.name = name
        self.pages = pages  # total_swap_pages contributed by this device
        self.inuse = 0  # si->inuse_pages
        self._next = 0  # slots below have been handed out at least once
        self._freed: list[int] = []  # freed slots, reused lowest-first (kept as a heap)
        self.data: dict[int, bytes] = {}  # slot -> the page's bytes (only slots that were written)
        self.page_size = page_size

    @property
    def free(self) -> int:
        """nr_swap_pages for this device."""
        return self.pages - self.inuse

    def alloc(self) -> int | None:
        """folio_alloc_swap() for one page: a free slot, or None when the device is full."""
        if self._freed:
            slot = heapq.heappop(self._freed)
        elif self._next < self.pages:
            slot = self._next
            self._next += 1
        else:
            return None
        self.inuse += 1
        return slot

    def free_slot(self, slot: int) -> None:
        """swap_free(): the slot is free again."""
        self.data.pop(slot, None)
        heapq.heappush(self._freed, slot)
        self.inuse -= 1

    def full(self) -> bool:
        """vm_swap_full(): more than half of swap in use."""
        return self.inuse * 2 > self.pages

    def check(self, owners: dict[int, str]) -> list[str]:
        """Every slot in use has exactly one owner (a pte of a process or a shmem file)."""
        errs = []
        if len(owners) != self.inuse:
            errs.append(f"swap: {self.inuse} slots in use but {len(owners)} swap entries exist")
        free = set(self._freed)
        if len(free) != len(self._freed):
            errs.append("swap: a slot is on the free list twice")
        for slot, who in owners.items():
            if slot in free or not 0 <= slot < self._next:
                errs.append(f"swap: slot {slot} used by {who} is free")
                break
        if self.inuse != self._next - len(self._freed):
            errs.append(f"swap: inuse {self.inuse} != handed out {self._next} - freed {len(self._freed)}")
        return errs


class Swap:
    """The machine's swap (mm/swapfile.c's swap_info[], one entry here): the device that
    is on, if any, and the slot operations everyone else uses."""

    __slots__ = ("k", "si")

    def __init__(self, k: Machine):
        self.k = k
        self.si: SwapInfo | None = None  # the swap area that is on

    @property
    def total(self) -> int:
        """total_swap_pages."""
        return self.si.pages if self.si is not None else 0

    @property
    def nr_free(self) -> int:
        """get_nr_swap_pages()."""
        return self.si.free if self.si is not None else 0

    def swapon(self, size: Any, name: str) -> SwapInfo:
        """sys_swapon(): a swap area of ``size`` (bytes or "64M"), page 0 its header."""
        if self.si is not None:
            raise UsageError(f"swapon {name}: the model has one swap area and {self.si.name} is on")
        pages = size_to_pages(size, "size", self.k.page_size) - 1  # page 0 holds the swap header
        if pages < 1:
            raise UsageError(f"swapon {name}: {size!r} is too small for a swap area (two pages at least)")
        self.si = SwapInfo(name, pages, self.k.page_size)
        kb = self.k.page_size >> 10
        self.k.printk(f"Adding {pages * kb}k swap on {name}.  Priority:-2 extents:1 across:{pages * kb}k ", KERN_INFO)
        return self.si

    def swapoff(self) -> None:
        """The end of sys_swapoff(): the device goes; every slot must have come back."""
        if self.si is None:
            raise UsageError("swapoff: no swap area is on")
        if self.si.inuse:
            raise UsageError("swapoff: -ENOMEM: swapped pages could not come back")
        self.si = None

    def alloc(self) -> int | None:
        """folio_alloc_swap(): a free slot, or None (no swap, or it is full)."""
        return self.si.alloc() if self.si is not None else None

    def free_slot(self, slot: int) -> None:
        """swap_free() of a slot of the device that is on."""
        assert self.si is not None, "a swap slot without a swap area"
        self.si.free_slot(slot)

    def write(self, slot: int, data: bytes) -> None:
        """swap_writeout() to the synchronous device: the page's bytes are in the slot."""
        assert self.si is not None, "a swap slot without a swap area"
        self.si.data[slot] = data

    def read(self, slot: int) -> bytes | None:
        """The bytes written to ``slot`` (None if it was never written: a zero page)."""
        assert self.si is not None, "a swap slot without a swap area"
        return self.si.data.get(slot)

    def problems(self, owners: dict[int, str]) -> list[str]:
        """The slots in use are exactly those some pte or shmem file holds (``owners``)."""
        if self.si is not None:
            return self.si.check(owners)
        return [f"{len(owners)} swap entries but no swap area"] if owners else []
