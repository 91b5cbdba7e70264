"""SLOB: the Simple List Of Blocks allocator of Linux 2.6.24 (slab_allocator=slob).

Models mm/slob.c of 2.6.24 (Matt Mackall's SLOB, as it was between the removal of the
bigblock list in 2.6.23 and the three free lists of 2.6.25), line by line, in real
bytes: the free blocks of a page carry their own size and next-block offset, and the
kmalloc header is a word in front of the block, so a stray write corrupts SLOB exactly
as it corrupted the kernel.

The heap::

    free_slob_pages --> slob_page --> slob_page --> ...   every page with free room
                        (struct page: units free, free = first free block, PG_active
                        = a slob page, PG_private = on free_slob_pages)

    one page, 2048 SLOB_UNITs of 2 bytes (slobidx_t is s16 for 4 KiB pages):

    base                                                              base + PAGE_SIZE
    |[used ][free: units, next][used......][free 1 unit: -next][used][free: units, next]|
            ^ sp->free ------------------> ^ --------------------------> ^ -> next = end

    a free block of more than one unit:  s[0] = its size in units, s[1] = next - base
    a free block of one unit:            s[0] = -(next - base)
    the last block's next is the page's end (slob_last: next is page aligned)

* slob_alloc(size, gfp, align): first fit over the pages on free_slob_pages (skipping
  pages with fewer free units than asked), splitting a block's head off to align it;
  after a hit the list is rotated to start at the page after the previous one (Knuth's
  roving pointer); no room anywhere: a new page (alloc_pages(gfp & ~__GFP_ZERO, 0)).
* slob_free(block, size): a page whose every unit comes back goes to the page allocator
  at once; a full page becomes partially free with this one block; otherwise the block
  is put back in address order and merged with the blocks beside it.
* kmalloc(size): below PAGE_SIZE - 4, slob_alloc(size + 4) with the request size in the
  4-byte header (ARCH_KMALLOC_MINALIGN = __alignof__(unsigned long)); above, a compound
  page block from the page allocator with the size in page->private.  kfree() tells them
  apart by PG_active.  kmalloc(0) is ZERO_SIZE_PTR.
* kmem_cache_*: the cache descriptor itself (20 bytes on i386) is a SLOB block; objects
  below a page come from slob_alloc with the cache's alignment (SLOB_ALIGN = the L1 line
  with SLAB_HWCACHE_ALIGN, else ARCH_SLAB_MINALIGN), larger ones straight from the page
  allocator; the constructor runs on every allocation, ``ctor(cache, obj)``.

2.6.24's own oddities, kept (the source is the reference; each cited by line):

* a failed small kmalloc returns ``(void *)m + align`` with m NULL: 4, not NULL
  (mm/slob.c:414); kfree(4) is ignored (ZERO_OR_NULL_PTR);
* ksize() of a small kmalloc reads the s16 just before the block -- the high half of the
  4-byte size header -- and adds SLOB_UNIT: 2 for any request below 64 KiB
  (mm/slob.c:456); krealloc() (mm/util.c), trusting it, always moves the object and
  copies min(2, new_size) bytes;
* kmem_cache_alloc() calls the constructor even when the allocation failed, with NULL
  (mm/slob.c:532);
* kmem_cache_create() passes its SLAB_* flags as slob_alloc()'s gfp (mm/slob.c:499),
  checks no size and no duplicate name; kmem_cache_destroy() frees the descriptor whatever
  objects remain (mm/slob.c:525): SLOB has no complaint to print;
* kmem_cache_shrink() returns 0 and does nothing.

There is no /proc/slabinfo and no /sys/slab (the 2.6.24 SLOB capture lists both as
absent), and SLOB pages are not counted as slab pages (meminfo's Slab: 0 kB).

Not modelled: NUMA node ids (one node), SLAB_DESTROY_BY_RCU's call_rcu delay (the free is
immediate; the RCU footer is still added to the object size).  A free list corrupted into
a loop is reported as the soft lockup the kernel's endless walk would have caused.

Invariants (``k.check()``, "slob"): every slob page is an order-0 block allocated to it;
its free list runs in increasing address order inside the page (free blocks may touch: a
block freed in front of the first one is not merged) and its blocks add up to its free
units; a page is on free_slob_pages iff it has free units; no page is entirely free;
every large kmalloc block is allocated with its order.
"""
from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import InvariantError, UsageError
from ..slab_flags import ZERO_SIZE_PTR
from .slab_util import cache_line_size, ctor_caller, krealloc_ksize, reraise_ctor_error, soft_lockup

if TYPE_CHECKING:  # pragma: no cover
    from ..machine import Machine as Kernel

__all__ = ["SlobAllocator", "SlobCache", "SlobPage", "slob_init", "SLOB_UNIT"]

#: sizeof(slob_t): slobidx_t is s16 while PAGE_SIZE <= 32767 * 2 (mm/slob.c:69)
SLOB_UNIT = 2
_S16 = struct.Struct("<h")


@dataclass(eq=False)
class SlobPage:
    """struct slob_page (overlaid on struct page): a page of the SLOB heap."""

    pfn: int
    addr: int  # page_address
    units: int = 0  # free units left in the page
    free: int = 0  # address of the first free slob_t
    on_list: bool = False  # PG_private: on free_slob_pages

    def __repr__(self) -> str:
        return f"<slob_page pfn={self.pfn:#x} units={self.units}>"


@dataclass(eq=False)
class SlobCache:
    """struct kmem_cache of SLOB: size, align, flags, name, ctor -- and where the descriptor
    lives (a SLOB block of its own)."""

    name: str
    size: int
    align: int
    flags: int
    ctor: Callable[..., None] | None
    addr: int  # the descriptor's block

    @property
    def object_size(self) -> int:
        return self.size

    def __repr__(self) -> str:
        return f"<kmem_cache {self.name} size={self.size} align={self.align} (SLOB)>"


class SlobAllocator:
    """The SLOB heap of one machine (``k.slab_impl`` with slab_allocator=slob)."""

    name = "slob"

    def __init__(self, k: Kernel) -> None:
        self.k = k
        self.bits = k.gfp.bits
        self.page_size = k.page_size
        self.units_per_page = k.page_size // SLOB_UNIT  # SLOB_UNITS(PAGE_SIZE)
        self.word = k.layout.bits // 8
        #: max(ARCH_KMALLOC_MINALIGN, ARCH_SLAB_MINALIGN) = __alignof__(unsigned long)
        self.align = self.word
        self.slob_align = cache_line_size(k)  # SLOB_ALIGN = L1_CACHE_BYTES
        #: sizeof(struct kmem_cache): size, align (unsigned int), flags, name, ctor (longs/pointers)
        self.cache_struct_size = 8 + 3 * self.word
        #: sizeof(struct slob_rcu): rcu_head (two pointers) + int size
        self.slob_rcu_size = 2 * self.word + 4
        self.free_slob_pages: list[SlobPage] = []  # the list, head first
        self.pages: dict[int, SlobPage] = {}  # pfn -> slob page (PG_active)
        self.large: dict[int, int] = {}  # kmalloc above a page: address -> order (compound)
        self.large_size: dict[int, int] = {}  # ... and its size (page->private)
        self.kmalloc_caches: dict[str, list[Any]] = {}  # SLOB has no general caches
        self.cache_list: list[SlobCache] = []  # SLOB keeps no list; kmemsim does, newest first
        self.should_failslab: Callable[[Any, int], bool] | None = None  # 2.6.24 SLOB had no failslab
        self._failslab_caches: set[Any] = set()
        self.call_ctor = ctor_caller(k)
        self._hwcache = k.slab_flags.value_or_zero("SLAB_HWCACHE_ALIGN")
        self._rcu = k.slab_flags.value_or_zero("SLAB_DESTROY_BY_RCU") or k.slab_flags.value_or_zero(
            "SLAB_TYPESAFE_BY_RCU")
        self._panic = k.slab_flags.value_or_zero("SLAB_PANIC")

    # ---- what the common layer reads
    @property
    def caches(self) -> list[SlobCache]:
        return self.cache_list

    @property
    def by_name(self) -> dict[str, SlobCache]:
        out: dict[str, SlobCache] = {}
        for c in reversed(self.cache_list):  # the newest of a name wins
            out[c.name] = c
        return out

    @property
    def failslab_caches(self) -> set[Any]:
        return self._failslab_caches

    # ================================================================ slob_t in memory (the direct map)
    def _read(self, addr: int, n: int) -> bytes:
        return self.k.phys.read(addr - self.k.layout.page_offset, n)

    def _write(self, addr: int, data: bytes) -> None:
        self.k.phys.write(addr - self.k.layout.page_offset, data)

    def _units_at(self, s: int) -> int:
        return int(_S16.unpack(self._read(s, 2))[0])

    def _set_units(self, s: int, v: int) -> None:
        # slobidx_t is s16: C truncates what does not fit (a kfree() of a pointer without
        # kmalloc's size header can ask for that); k.check() then finds the damaged heap
        self._write(s, _S16.pack(((v + 0x8000) & 0xFFFF) - 0x8000))

    def _read_u32(self, addr: int) -> int:
        return int.from_bytes(self._read(addr, 4), "little")

    def _write_u32(self, addr: int, v: int) -> None:
        self._write(addr, (v & 0xFFFFFFFF).to_bytes(4, "little"))

    def set_slob(self, s: int, size: int, nxt: int) -> None:
        """set_slob(): encode a free block's size and the offset of the next one."""
        base = s & ~(self.page_size - 1)
        offset = (nxt - base) // SLOB_UNIT
        if size > 1:
            self._set_units(s, size)
            self._set_units(s + SLOB_UNIT, offset)
        else:
            self._set_units(s, -offset)

    def slob_units(self, s: int) -> int:
        u = self._units_at(s)
        return u if u > 0 else 1

    def slob_next(self, s: int) -> int:
        base = s & ~(self.page_size - 1)
        u = self._units_at(s)
        nxt = -u if u < 0 else self._units_at(s + SLOB_UNIT)
        return base + nxt * SLOB_UNIT

    def slob_last(self, s: int) -> bool:
        return not self.slob_next(s) & (self.page_size - 1)

    # ================================================================ the heap
    def _soft_lockup(self) -> None:
        """An endless walk of a corrupted free list: the watchdog's report, then the
        operation is abandoned."""
        soft_lockup(self.k)

    def _new_page(self, gfp: int, order: int) -> int:
        """slob_new_page(): page_address of a new block, or 0."""
        k = self.k
        pfn = k.page_alloc.alloc(gfp, order)
        if pfn < 0:
            return 0
        return k.layout.page_offset + (pfn << k.page_shift)

    def slob_page_alloc(self, sp: SlobPage, size: int, align: int) -> int:
        """slob_page_alloc(): first fit inside one page, fragmenting the head to align."""
        prev = 0
        cur = sp.free
        units = -(-size // SLOB_UNIT)
        for _ in range(self.units_per_page + 1):
            avail = self.slob_units(cur)
            delta = 0
            aligned = cur
            if align:
                aligned = -(-cur // align) * align
                delta = (aligned - cur) // SLOB_UNIT
            if avail >= units + delta:  # room enough?
                if delta:  # need to fragment head to align?
                    nxt = self.slob_next(cur)
                    self.set_slob(aligned, avail - delta, nxt)
                    self.set_slob(cur, delta, aligned)
                    prev = cur
                    cur = aligned
                    avail = self.slob_units(cur)
                nxt = self.slob_next(cur)
                if avail == units:  # exact fit? unlink
                    if prev:
                        self.set_slob(prev, self.slob_units(prev), nxt)
                    else:
                        sp.free = nxt
                else:  # fragment
                    if prev:
                        self.set_slob(prev, self.slob_units(prev), cur + units * SLOB_UNIT)
                    else:
                        sp.free = cur + units * SLOB_UNIT
                    self.set_slob(cur + units * SLOB_UNIT, avail - units, nxt)
                sp.units -= units
                if not sp.units:
                    self._clear_page_free(sp)
                return cur
            if self.slob_last(cur):
                return 0
            prev, cur = cur, self.slob_next(cur)
        self._soft_lockup()
        return 0

    def _clear_page_free(self, sp: SlobPage) -> None:
        if sp.on_list:
            self.free_slob_pages.remove(sp)
            sp.on_list = False

    def _set_page_free(self, sp: SlobPage) -> None:
        self.free_slob_pages.insert(0, sp)  # list_add: at the head
        sp.on_list = True

    def slob_alloc(self, size: int, gfp: int, align: int) -> int:
        """slob_alloc(): a block of ``size`` bytes aligned to ``align``, or 0."""
        units = -(-size // SLOB_UNIT)
        b = 0
        for i, sp in enumerate(list(self.free_slob_pages)):
            if sp.units < units:  # enough room on this page?
                continue
            b = self.slob_page_alloc(sp, size, align)
            if not b:
                continue
            # improve fragment distribution: start the next search at prev->next
            # (list_move_tail(&free_slob_pages, prev->next), Knuth vol 1, 2.5)
            lst = self.free_slob_pages
            if 0 < i < len(lst):
                self.free_slob_pages = lst[i:] + lst[:i]
            break
        if not b:
            b = self._new_page(gfp & ~self.bits.zero, 0)
            if not b:
                return 0
            k = self.k
            sp = SlobPage(pfn=(b - k.layout.page_offset) >> k.page_shift, addr=b)
            self.pages[sp.pfn] = sp  # set_slob_page(): PG_active
            sp.units = self.units_per_page
            sp.free = b
            self.set_slob(b, self.units_per_page, b + self.page_size)
            self._set_page_free(sp)
            b = self.slob_page_alloc(sp, size, align)
            if not b:  # BUG_ON(!b): a new page always fits what is below a page
                self.k.report.bug(["------------[ cut here ]------------", "kernel BUG at mm/slob.c:322!"],
                                  kind="slob_bug", oops=True, oops_str="invalid opcode")
        if gfp & self.bits.zero:
            self.k.phys.fill(b - self.k.layout.page_offset, 0, size)
        return b

    def slob_free(self, block: int, size: int) -> None:
        """slob_free(): give a block back, merging it with its neighbours."""
        if block <= ZERO_SIZE_PTR:
            return
        k = self.k
        if not size:  # BUG_ON(!size)
            k.report.bug(["------------[ cut here ]------------", "kernel BUG at mm/slob.c:349!"],
                         kind="slob_bug", oops=True, oops_str="invalid opcode")
        sp = self.pages.get((block - k.layout.page_offset) >> k.page_shift)
        if sp is None:
            # virt_to_page() of something that is not a slob page: the kernel scribbles over a
            # struct page it does not own; kmemsim stops at the report of the bad page
            k.pages.free_pages(block & ~(self.page_size - 1), 0)
            return
        b = block
        units = -(-size // SLOB_UNIT)
        if sp.units + units == self.units_per_page:
            # go directly to the page allocator
            self._clear_page_free(sp)
            del self.pages[sp.pfn]  # clear_slob_page(), free_slob_page()
            k.page_alloc.free(sp.pfn, 0)
            return
        if not sp.on_list:
            # this slob page is about to become partially free
            sp.units = units
            sp.free = b
            self.set_slob(b, units, (b + self.units_per_page * SLOB_UNIT) & ~(self.page_size - 1))
            self._set_page_free(sp)
            return
        # otherwise the page is already partially free: find the reinsertion point
        sp.units += units
        if b < sp.free:
            self.set_slob(b, units, sp.free)
            sp.free = b
            return
        prev = sp.free
        nxt = self.slob_next(prev)
        for _ in range(self.units_per_page + 1):
            if not b > nxt:
                break
            prev = nxt
            nxt = self.slob_next(prev)
        else:
            self._soft_lockup()
            return
        if not self.slob_last(prev) and b + units * SLOB_UNIT == nxt:
            units += self.slob_units(nxt)
            self.set_slob(b, units, self.slob_next(nxt))
        else:
            self.set_slob(b, units, nxt)
        if prev + self.slob_units(prev) * SLOB_UNIT == b:
            units = self.slob_units(b) + self.slob_units(prev)
            self.set_slob(prev, units, self.slob_next(b))
        else:
            self.set_slob(prev, self.slob_units(prev), b)

    # ================================================================ kmalloc
    def kmalloc(self, size: int, mask: int) -> int:
        """__kmalloc_node(): a header word and slob_alloc below a page, compound pages above."""
        align = self.align
        if size < self.page_size - align:
            if not size:
                return ZERO_SIZE_PTR
            m = self.slob_alloc(size + align, mask, align)
            if m:
                self._write_u32(m, size)
            return m + align  # m + align even when m is NULL (mm/slob.c:414): 4
        k = self.k
        order = max(0, ((size - 1) >> k.page_shift).bit_length())
        ret = self._new_page(mask | self.bits.comp, order)
        if ret:
            self.large[ret] = order
            self.large_size[ret] = size  # page->private
        return ret

    def kfree(self, block: int) -> None:
        """kfree(): a slob page's block goes back with its header's size; else put_page()."""
        if block <= ZERO_SIZE_PTR:
            return
        k = self.k
        if (block - k.layout.page_offset) >> k.page_shift in self.pages:
            m = block - self.align
            self.slob_free(m, self._read_u32(m) + self.align)
            return
        order = self.large.pop(block, None)
        if order is not None:
            del self.large_size[block]
            k.page_alloc.free((block - k.layout.page_offset) >> k.page_shift, order)  # put_page(): the last ref
            return
        k.pages.free_pages(block & ~(self.page_size - 1), 0)  # put_page() of a page kmalloc never gave

    def ksize(self, block: int) -> int:
        """ksize(): the s16 before the block plus SLOB_UNIT (2 for small kmallocs, see the
        module docstring); page->private for large ones."""
        k = self.k
        if not block:  # BUG_ON(!block)
            k.report.bug(["------------[ cut here ]------------", "kernel BUG at mm/slob.c:450!"],
                         kind="slob_bug", oops=True, oops_str="invalid opcode")
        if block == ZERO_SIZE_PTR:
            return 0
        if (block - k.layout.page_offset) >> k.page_shift in self.pages:
            return self._units_at(block - SLOB_UNIT) + SLOB_UNIT
        return self.large_size.get(block, 0)

    def krealloc(self, obj: int, new_size: int, gfp: int) -> int:
        return krealloc_ksize(self, self.k, obj, new_size, gfp)

    def kmalloc_size_roundup(self, size: int) -> int:
        raise UsageError("kmalloc_size_roundup() came in 6.1; SLOB of 2.6.24 has no such function")

    def kmalloc_cache_for(self, size: int, gfp: int) -> Any:
        return None  # SLOB has no general caches

    def slab_pages(self, reclaimable: bool) -> int:
        return 0  # SLOB pages are not accounted as slab (NR_SLAB_*): meminfo's Slab: 0 kB

    def cache_usage(self, s: SlobCache) -> tuple[int, int, int]:
        return 0, 0, s.size  # SLOB counts nothing per cache

    def cache_of(self, addr: int) -> SlobCache | None:
        return None  # a SLOB block does not know its cache

    def object_start(self, addr: int) -> int | None:
        return None

    # ================================================================ kmem_cache
    def check_cache(self, cache: object, what: str) -> None:
        if not isinstance(cache, SlobCache):
            raise UsageError(f"{what}: {cache!r} is not a cache made by kmem_cache_create()")
        if cache not in self.cache_list:
            raise UsageError(f"{what}: cache {cache.name} was destroyed")

    def create_cache(self, name: str, size: int, align: int = 0, flags: int = 0,
                     ctor: Callable[..., None] | None = None, *, dtor: Callable[..., None] | None = None,
                     ) -> SlobCache | None:
        """kmem_cache_create(): the descriptor is a SLOB block (allocated with ``flags`` as its gfp)."""
        addr = self.slob_alloc(self.cache_struct_size, flags & self.bits.valid, 0)
        if not addr:
            if flags & self._panic:
                self.k.report.panic(f"Cannot create slab cache {name}")
            return None
        if flags & self._rcu:
            size += self.slob_rcu_size  # room for the rcu footer at the end of the object
        calign = self.slob_align if flags & self._hwcache else 0
        calign = max(calign, self.align, align)  # ARCH_SLAB_MINALIGN, then the caller's
        c = SlobCache(name=name, size=size, align=calign, flags=flags, ctor=ctor, addr=addr)
        self._write_u32(addr, size)
        self._write_u32(addr + 4, calign)
        self.cache_list.insert(0, c)
        return c

    def destroy_cache(self, c: SlobCache) -> None:
        """kmem_cache_destroy(): the descriptor's block is freed, whatever objects remain."""
        self.cache_list.remove(c)
        self.slob_free(c.addr, self.cache_struct_size)

    def cache_alloc(self, c: SlobCache, gfp: int) -> int:
        """kmem_cache_alloc_node(): slob_alloc below a page, pages above; then the ctor,
        whatever the allocation gave."""
        self.k.sched.might_alloc(gfp)
        if c.size < self.page_size:
            b = self.slob_alloc(c.size, gfp, c.align)
        else:
            b = self._new_page(gfp, max(0, ((c.size - 1) >> self.k.page_shift).bit_length()))
        if c.ctor is not None:
            try:
                self.call_ctor(c.ctor, c, b, gfp)
            except BaseException as e:
                if b:  # a constructor that raises: the object goes back, the error goes on
                    self._cache_free(c, b)
                reraise_ctor_error(c.name, c.ctor, e, "the object was freed")
        return b

    def _cache_free(self, c: SlobCache, b: int) -> None:
        if c.size < self.page_size:
            self.slob_free(b, c.size)
        else:
            order = max(0, ((c.size - 1) >> self.k.page_shift).bit_length())
            self.k.pages.free_pages(b, order)

    def cache_free(self, c: SlobCache, b: int) -> None:
        """kmem_cache_free(): SLAB_DESTROY_BY_RCU's delay is not modelled (freed at once)."""
        self._cache_free(c, b)

    def shrink_cache(self, c: SlobCache) -> int:
        return 0

    def cache_size(self, c: SlobCache) -> int:
        return c.size

    # ================================================================ invariants
    def check(self) -> None:
        errs = self.problems()
        if errs:
            raise InvariantError("slob", "; ".join(errs[:5]))

    def problems(self) -> list[str]:
        """Every broken invariant, as text (empty: consistent)."""
        errs: list[str] = []
        pa = self.k.page_alloc
        seen = set()
        for sp in self.free_slob_pages:
            if id(sp) in seen:
                errs.append(f"{sp} is twice on free_slob_pages")
            seen.add(id(sp))
            if not sp.on_list or self.pages.get(sp.pfn) is not sp:
                errs.append(f"{sp} on free_slob_pages is not a listed slob page")
        for pfn, sp in self.pages.items():
            if pa.head_of(pfn) != pfn:
                errs.append(f"{sp} is not a page allocated to SLOB")
            if sp.on_list != (sp.units > 0) or sp.on_list != (id(sp) in seen):
                errs.append(f"{sp} is {'' if sp.on_list else 'not '}on free_slob_pages with {sp.units} free units")
            if sp.units >= self.units_per_page:
                errs.append(f"{sp} is entirely free but kept")
            if sp.units > 0:
                errs += self._walk(sp)
        for addr, order in self.large.items():
            pfn = (addr - self.k.layout.page_offset) >> self.k.page_shift
            if pa.allocated.get(pfn) != order:
                errs.append(f"large kmalloc {addr:#x} is not an order-{order} block")
        return errs

    def _walk(self, sp: SlobPage) -> list[str]:
        errs = []
        cur = sp.free
        total = 0
        end = sp.addr + self.page_size
        prev_end = sp.addr - 1
        for _ in range(self.units_per_page + 1):
            if not sp.addr <= cur < end or cur & 1:
                return [f"{sp}: free block {cur:#x} outside the page"]
            if cur <= prev_end:
                errs.append(f"{sp}: free list out of address order at {cur:#x}")
                return errs
            n = self.slob_units(cur)
            total += n
            prev_end = cur + n * SLOB_UNIT - 1
            if self.slob_last(cur):
                break
            cur = self.slob_next(cur)
        else:
            return [f"{sp}: free list does not end"]
        if total != sp.units:
            errs.append(f"{sp}: free blocks hold {total} units, the page says {sp.units}")
        return errs


def slob_init(k: Kernel) -> SlobAllocator:
    """kmem_cache_init() of SLOB: slob_ready = 1.  Its check; no views, no slab counters."""
    impl = SlobAllocator(k)
    k.checks.register("slob", impl.check)
    return impl
