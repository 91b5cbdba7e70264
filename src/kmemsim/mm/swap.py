"""The swap device: slots for anonymous and shmem pages written out by reclaim.

Models the accounting side of mm/swapfile.c (``swap_info_struct``, ``swap_map``,
``total_swap_pages``, ``nr_swap_pages``/``get_nr_swap_pages()``) and the numbers
mm/swap_state.c's ``show_swap_cache_info()`` prints, Linux 6.18.

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

from ..errors import UsageError


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
        import heapq

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
        import heapq

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
