"""The page cache: files, their folios, dirtying and writeback.

Models mm/filemap.c (``filemap_add_folio``, ``__filemap_remove_folio``,
``folio_mark_accessed``), mm/page-writeback.c (``folio_mark_dirty`` with
``folio_account_dirtied``, ``folio_start_writeback``/``folio_end_writeback``,
``folio_rotate_reclaimable`` of mm/swap.c) and the flusher (fs/fs-writeback.c
``wakeup_flusher_threads``), Linux 6.18.

:class:`PageCache` (``k.vmscan.pagecache``) holds the files and the writeback queue; it
puts its folios on the node's LRU lists through the :class:`~kmemsim.mm.vmscan.Lruvec`
it is given, and frees a shmem file's swap slots through the machine's
:class:`~kmemsim.mm.swap.Swap`.

A :class:`Folio` is the model's record of one order-0 page that sits on an LRU
list: a page cache page of a file (``mapping`` an :class:`AddressSpace`), a shmem
page (an AddressSpace with ``shmem``), or an anonymous page of a simulated
process (``mapping`` the :class:`~kmemsim.mm.oom_kill.Process`).  The page itself
comes from the page allocator (refcount 1, owner MANAGED); its PG_lru, PG_active,
PG_referenced, PG_dirty, PG_writeback, PG_reclaim, PG_swapbacked and
PG_workingset bits are mirrored in the memmap, so ``k.pfn_to_page(pfn).flags``
shows them.

Simplified, and said so:

* folios are order 0 (no large folios, no THP); no buffer heads, no readahead;
* a file is an :class:`AddressSpace` with a name and an inode number, not a
  filesystem; page cache pages are allocated with the mapping's gfp
  (GFP_HIGHUSER_MOVABLE -- GFP_HIGHUSER without the ``movable_user_pages`` feature --,
  plus __GFP_COMP where the ``pagecache_folios`` feature makes them folios, plus
  __GFP_WRITE, where the kernel has it, for a page dirtied by a write; the __GFP_COLD
  of 2.6's readahead, page_cache_alloc_cold(), is not added);
* writeback is an I/O queue: the flusher (``wakeup_flusher_threads``, ``k.sync()``)
  starts writeback of every dirty page (PG_dirty -> PG_writeback); the disk
  completes the queued writes when reclaim next starts a pass (the kernel sleeps
  at least one throttle interval between passes) or on ``k.run_writeback()``;
  there is no dirty throttling (balance_dirty_pages) and no periodic writeback.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from .page import PG

if TYPE_CHECKING:  # pragma: no cover
    from ..machine import Machine
    from .swap import Swap
    from .vmscan import Lruvec

#: the PG_ bits the model keeps for LRU folios (mirrored into the memmap), as plain ints
PG_referenced, PG_uptodate, PG_dirty, PG_lru, PG_active = (int(PG.referenced), int(PG.uptodate), int(PG.dirty),
                                                           int(PG.lru), int(PG.active))
PG_workingset, PG_reclaim, PG_swapbacked, PG_writeback = (int(PG.workingset), int(PG.reclaim), int(PG.swapbacked),
                                                          int(PG.writeback))
FOLIO_FLAGS = (PG_referenced | PG_uptodate | PG_dirty | PG_lru | PG_active | PG_workingset | PG_reclaim
               | PG_swapbacked | PG_writeback)


class Folio:
    """One LRU page: where it is listed, what maps it, and its flags."""

    __slots__ = ("pfn", "zid", "lru", "flags", "mapping", "index", "swap", "mappers", "young")

    def __init__(self, pfn: int, zid: int, mapping: Any, index: int, flags: int):
        self.pfn = pfn
        self.zid = zid  # page_zonenum()
        self.lru = -1  # the LRU list it is on, -1 when isolated
        self.flags = flags
        self.mapping = mapping  # AddressSpace (file, shmem) or Process (anon)
        self.index = index  # page index in the file, or in the process's anonymous memory
        self.swap: int | None = None  # the swap slot while in the swap cache
        self.mappers: list[Any] = []  # processes whose page tables map it (folio_mapcount)
        self.young = False  # some pte that maps it is young (accessed since the last rmap walk)

    @property
    def anon(self) -> bool:
        """folio_test_anon()."""
        return not isinstance(self.mapping, AddressSpace)

    def __repr__(self) -> str:
        flags = PG(self.flags & FOLIO_FLAGS)
        return f"<folio pfn={self.pfn:#x} {flags.format()} {self.mapping!r}[{self.index}]>"


class AddressSpace:
    """struct address_space of a simulated file (or a shmem file): its page cache."""

    __slots__ = ("name", "ino", "shmem", "pages", "swapped", "gfp", "next_index", "deleted")

    def __init__(self, name: str, ino: int, shmem: bool, gfp: int):
        self.name = name
        self.ino = ino
        self.shmem = shmem
        self.pages: dict[int, Folio] = {}  # the i_pages xarray: index -> folio
        self.swapped: dict[int, int] = {}  # shmem: index -> swap slot of a page written to swap
        self.gfp = gfp  # mapping_gfp_mask()
        self.next_index = 0
        self.deleted = False

    @property
    def nrpages(self) -> int:
        return len(self.pages)

    def __repr__(self) -> str:
        return f"<{'shmem' if self.shmem else 'file'} {self.name!r} ino={self.ino} nrpages={len(self.pages)}>"


class PageCache:
    """The page cache of one machine: its files (``files``, by name) and the writeback queue."""

    def __init__(self, k: Machine, lru: Lruvec, swap: Swap, gfp: int, gfp_write: int):
        self.k = k
        self.pa = k.page_alloc
        self.lru = lru
        self.swap = swap
        #: mapping_gfp_mask() of a new file (and of shmem); a write adds __GFP_WRITE
        self.gfp = gfp
        self.gfp_write = gfp_write
        self.ev = self.pa.vm_events
        self.files: dict[str, AddressSpace] = {}
        self.next_ino = 10
        #: writes the flusher started and the disk has not completed, oldest first
        self.writeback_queue: OrderedDict[int, Folio] = OrderedDict()

    # ------------------------------------------------------------------ files
    def file(self, name: Any, *, create: bool = True, shmem: bool = False) -> AddressSpace:
        """The file called ``name`` (an AddressSpace is returned as is); made on first use."""
        if isinstance(name, AddressSpace):
            if name.deleted:
                raise UsageError(f"{name!r} was deleted")
            return name
        if not isinstance(name, str) or not name:
            raise UsageError(f"file {name!r}: expected a name (a non-empty str) or an AddressSpace")
        f = self.files.get(name)
        if f is None:
            if not create:
                raise UsageError(f"file {name!r}: no such file in the page cache")
            self.next_ino += 1
            f = self.files[name] = AddressSpace(name, self.next_ino, shmem, self.gfp)
        elif f.shmem != shmem and create:
            raise UsageError(f"file {name!r} exists and is {'a shmem' if f.shmem else 'a regular'} file")
        return f

    def page_cache_add(self, name: Any, nr_pages: int, dirty: bool = False) -> int:
        """Read (or, ``dirty``, write) ``nr_pages`` new pages of ``name`` into the page cache
        (``filemap_add_folio`` + ``folio_add_lru``; a write also ``folio_mark_dirty``).
        Each page is allocated with the mapping's gfp and may reclaim or OOM-kill to get
        it; returns how many pages were added (fewer if an allocation failed)."""
        f = self.file(name)
        if f.shmem:
            raise UsageError(f"{f!r} is a shmem file: its pages belong to the process that maps it")
        if isinstance(nr_pages, bool) or not isinstance(nr_pages, int) or nr_pages < 0:
            raise UsageError(f"page_cache_add: nr_pages {nr_pages!r} must be an int >= 0")
        gfp = self.gfp | (self.gfp_write if dirty else 0)
        n = 0
        for _ in range(nr_pages):
            folio = self.filemap_alloc_folio(f, gfp)
            if folio is None:
                break
            if dirty:
                self.folio_mark_dirty(folio)
            n += 1
        return n

    def filemap_alloc_folio(self, f: AddressSpace, gfp: int, index: int | None = None) -> Folio | None:
        """Allocate a page and add it at ``index`` (the next free one) of ``f``, on the
        inactive LRU list (a shmem page on the anon list, swap-backed)."""
        pfn = self.pa.alloc(gfp, 0)
        if pfn < 0:
            return None
        if f.deleted:  # the file went away while we reclaimed (an OOM kill of its owner)
            self.pa.free(pfn, 0)
            return None
        if index is None:
            index = f.next_index
        f.next_index = max(f.next_index, index + 1)
        flags = PG_uptodate | (PG_swapbacked | PG_dirty if f.shmem else 0)
        lru = self.lru
        folio = lru.new_folio(pfn, f, index, int(flags))
        f.pages[index] = folio
        lru.stat["nr_file_pages"] += 1
        if f.shmem:
            lru.stat["nr_shmem"] += 1
        lru.add(folio)
        return folio

    def filemap_remove_folio(self, folio: Folio) -> None:
        """__filemap_remove_folio() + free: the page leaves the cache and goes back to the
        page allocator (the caller has unmapped it and taken it off the LRU)."""
        f: AddressSpace = folio.mapping
        del f.pages[folio.index]
        stat = self.lru.stat
        stat["nr_file_pages"] -= 1
        if f.shmem:
            stat["nr_shmem"] -= 1
        elif folio.flags & PG_dirty:
            self.account_cleaned(folio)
        if folio.flags & PG_writeback:
            self.folio_end_writeback(folio, freeing=True)
        self.lru.free_folio(folio)

    def delete_from_cache(self, folio: Folio) -> None:
        """__remove_mapping()'s page cache part for a clean folio reclaim frees: it leaves its
        file (a shmem page leaves its swap slot behind in the file, as a swap entry)."""
        f: AddressSpace = folio.mapping
        stat = self.lru.stat
        if f.shmem:
            f.swapped[folio.index] = folio.swap  # type: ignore[assignment]
            folio.swap = None
            del f.pages[folio.index]
            stat["nr_file_pages"] -= 1
            stat["nr_shmem"] -= 1
            return
        del f.pages[folio.index]
        stat["nr_file_pages"] -= 1

    def truncate(self, name: Any) -> int:
        """truncate_inode_pages(): drop every page of the file (mapped ones are unmapped
        first); returns the number of pages freed.  The file stays (empty)."""
        f = name if isinstance(name, AddressSpace) else self.file(name, create=False)
        lru = self.lru
        n = 0
        for folio in list(f.pages.values()):
            lru.unmap_folio(folio)
            if folio.lru >= 0:
                lru.delete(folio)
            self.filemap_remove_folio(folio)
            n += 1
        for slot in f.swapped.values():
            self.swap.free_slot(slot)
        f.swapped.clear()
        f.next_index = 0
        return n

    def unlink(self, name: Any) -> int:
        """Delete the file: its pages are freed (a shmem file's swap slots too)."""
        f = name if isinstance(name, AddressSpace) else self.files.get(name)
        if f is None or f.deleted:
            raise UsageError(f"unlink {name!r}: no such file")
        n = self.truncate(f)
        f.deleted = True
        self.files.pop(f.name, None)
        return n

    def invalidate_clean(self) -> None:
        """drop_caches 1: invalidate_mapping_pages() of every file -- the clean, unmapped
        pages of regular files leave the cache (dirty, under writeback or mapped ones stay)."""
        lru = self.lru
        for f in list(self.files.values()):
            if f.shmem:
                continue
            for folio in list(f.pages.values()):
                if folio.mappers or folio.flags & (PG_dirty | PG_writeback):
                    continue  # invalidate_mapping_pages() skips them
                if folio.lru >= 0:
                    lru.delete(folio)
                self.filemap_remove_folio(folio)

    def shmem_swapin_all(self) -> int:
        """try_to_unuse()'s shmem part: every shmem page on swap comes back into its file
        (stopping at the first allocation that fails); returns how many came back."""
        n = 0
        for f in list(self.files.values()):
            for index, slot in sorted(f.swapped.items()):
                folio = self.filemap_alloc_folio(f, self.gfp, index)
                if folio is None:
                    break
                del f.swapped[index]
                self.swap.free_slot(slot)
                self.ev["pswpin"] += 1
                n += 1
        return n

    # ------------------------------------------------------------------ access, dirtying
    def folio_mark_accessed(self, folio: Folio) -> None:
        """folio_mark_accessed(): inactive,unreferenced -> inactive,referenced ->
        active,unreferenced (the second access activates the folio)."""
        if not folio.flags & PG_active and folio.flags & PG_referenced:
            if folio.lru >= 0:  # folio_activate()
                lru = self.lru
                lru.delete(folio)
                folio.flags = (folio.flags | PG_active) & ~PG_referenced
                lru.add(folio)
                self.ev["pgactivate"] += 1
            else:
                folio.flags = (folio.flags | PG_active) & ~PG_referenced
        elif not folio.flags & PG_referenced:
            folio.flags |= PG_referenced
        self.lru.sync_flags(folio)

    def mark_page_accessed(self, name: Any, index: int | None = None) -> int:
        """A read of page ``index`` of the file (all its cached pages when None) hits the
        page cache: folio_mark_accessed() on each; returns how many pages were touched."""
        f = self.file(name, create=False)
        folios = list(f.pages.values()) if index is None else [f.pages[index]] if index in f.pages else []
        if index is not None and not folios:
            raise UsageError(f"{f!r}: page {index} is not in the page cache")
        for folio in folios:
            self.folio_mark_accessed(folio)
        return len(folios)

    def folio_mark_dirty(self, folio: Folio) -> None:
        """folio_mark_dirty(): PG_dirty, and for a file page NR_FILE_DIRTY and NR_DIRTIED
        (folio_account_dirtied); shmem pages are swap-backed and are not counted."""
        if folio.flags & PG_dirty:
            return
        folio.flags |= PG_dirty
        if not folio.anon and not folio.mapping.shmem:
            lru = self.lru
            lru.stat["nr_dirty"] += 1
            lru.stat["nr_dirtied"] += 1
            lru.zone_write_pending[folio.zid] += 1
        self.lru.sync_flags(folio)

    def set_page_dirty(self, name: Any, index: int | None = None) -> int:
        """A write to page ``index`` of the file (every cached page when None): the pages
        become dirty; returns how many were dirtied now."""
        f = self.file(name, create=False)
        folios = list(f.pages.values()) if index is None else [f.pages[index]] if index in f.pages else []
        if index is not None and not folios:
            raise UsageError(f"{f!r}: page {index} is not in the page cache")
        n = 0
        for folio in folios:
            if not folio.flags & PG_dirty:
                self.folio_mark_dirty(folio)
                n += 1
        return n

    def account_cleaned(self, folio: Folio) -> None:
        """folio_account_cleaned(): a dirty file page is no longer dirty without a write."""
        self.lru.stat["nr_dirty"] -= 1
        self.lru.zone_write_pending[folio.zid] -= 1

    # ------------------------------------------------------------------ writeback
    def wakeup_flusher_threads(self, reason: str = "vmscan") -> int:
        """wakeup_flusher_threads(): the flusher writes every dirty file page; each moves
        from PG_dirty to PG_writeback (folio_clear_dirty_for_io + folio_start_writeback)
        and its write is queued.  Returns how many writes were queued."""
        stat = self.lru.stat
        sync_flags = self.lru.sync_flags
        n = 0
        for f in self.files.values():
            if f.shmem:
                continue
            for folio in f.pages.values():
                if folio.flags & PG_dirty and not folio.flags & PG_writeback:
                    folio.flags = (folio.flags & ~PG_dirty) | PG_writeback
                    stat["nr_dirty"] -= 1
                    stat["nr_writeback"] += 1  # write-pending stays: dirty -> writeback
                    self.writeback_queue[folio.pfn] = folio
                    sync_flags(folio)
                    n += 1
        return n

    def complete_writeback(self) -> int:
        """The disk finishes every queued write: folio_end_writeback() on each (a folio
        marked PG_reclaim by reclaim is rotated to the tail of the inactive list)."""
        n = 0
        while self.writeback_queue:
            _, folio = self.writeback_queue.popitem(last=False)
            self.folio_end_writeback(folio)
            n += 1
        return n

    def folio_end_writeback(self, folio: Folio, freeing: bool = False) -> None:
        if not folio.flags & PG_writeback:
            return
        lru = self.lru
        self.writeback_queue.pop(folio.pfn, None)
        folio.flags &= ~PG_writeback
        lru.stat["nr_writeback"] -= 1
        lru.stat["nr_written"] += 1
        lru.zone_write_pending[folio.zid] -= 1
        if freeing:
            return
        if folio.flags & PG_reclaim:
            folio.flags &= ~PG_reclaim
            # folio_rotate_reclaimable(): clean, on the LRU -> tail of the inactive list
            if folio.lru >= 0 and not folio.flags & PG_dirty:
                lru.delete(folio)
                folio.flags &= ~PG_active
                lru.add(folio, tail=True)
                self.ev["pgrotated"] += 1
        lru.sync_flags(folio)

    def sync(self) -> int:
        """sync(): write every dirty page and wait for the writes; returns pages written."""
        self.wakeup_flusher_threads("sync")
        return self.complete_writeback()

    def run_writeback(self) -> int:
        """Let the flusher and the disk run now: queued writes complete (dirty pages are
        not started; see :meth:`sync`).  Returns the writes completed."""
        return self.complete_writeback()

    # ------------------------------------------------------------------ checks
    def swap_owners(self) -> Iterator[tuple[int, str]]:
        """(slot, owner) of every swap entry a shmem file holds."""
        for f in self.files.values():
            for slot in f.swapped.values():
                yield slot, f.name

    def problems(self) -> list[str]:
        """Every page of every file is a folio of the lruvec that says it is there; every
        queued write is of a folio under writeback."""
        errs: list[str] = []
        folios = self.lru.folios
        for f in self.files.values():
            for index, folio in f.pages.items():
                if folios.get(folio.pfn) is not folio or folio.mapping is not f or folio.index != index:
                    errs.append(f"{f!r}[{index}] holds {folio!r}, which is not its page")
        for pfn, folio in self.writeback_queue.items():
            if not folio.flags & PG_writeback or folios.get(pfn) is not folio:
                errs.append(f"{folio!r} is queued for writeback but is not under writeback")
        return errs
