"""SLUB: object caches over slabs of pages, with per-CPU slabs and lockless freelists.

Models mm/slub.c and mm/slab_common.c of Linux 6.18 (the linux-2.6-i386 profile
runs the same allocator with 32-bit sizes until the classic SLAB arrives: 2.6.24's
own SLUB -- no per-CPU partial lists, /sys/slab -- is not modelled).

Structures (one machine)::

    kmem_cache                      a cache of equal objects
      cpu_slab[cpu]                 struct kmem_cache_cpu
        freelist                    lockless list of free objects of ``slab``
        slab                        the CPU slab (frozen)
        partial                     per-CPU partial slabs (unfrozen, 6.8+)
      node                          struct kmem_cache_node (one node)
        partial                     partially used slabs, nr_partial
        nr_slabs, total_objects
    slab                            struct slab over 2^order pages
      freelist                      free objects not on a cpu freelist
      inuse, objects, frozen

Slab states (each slab is in exactly one)::

      new_slab ──> CPU (frozen) ──deactivate──> node partial ──get_partial──> CPU
                      │                              │   ^
                      └── all used: full (no list) ──┘   │ a free makes a full slab partial:
                                  │                      │ onto the CPU partial list, which
                                  └──── free ──> CPU partial ─┘ drains to the node when full
      empty and nr_partial >= min_partial ──> discard_slab (pages back to the buddy)

The free pointer lives *in the free object's own bytes* at ``s->offset``, encoded
with CONFIG_SLAB_FREELIST_HARDENED as ``ptr ^ s->random ^ swab(ptr_addr)``, so a
write into a freed object corrupts the freelist exactly as in the kernel.

Fast paths (slab_alloc_node / do_slab_free): pop from or push onto the CPU
freelist; everything else (___slab_alloc, __slab_free) is the slow path.

Simplified, and said so: one node; no memcg accounting of objects (SLAB_ACCOUNT
only selects the kmalloc-cg caches); no RCU delay for SLAB_TYPESAFE_BY_RCU (the
flag only places the free pointer outside the object); no sheaves (6.18's
optional per-CPU arrays are off by default).

Debug caches (any SLAB_DEBUG_FLAGS, from the cache's flags or ``slab_debug=``) never
get a CPU slab: each allocation and free takes the node lists under the checks of
``kmemsim.mm.slub_debug`` (``alloc_single_from_partial``/``free_to_partial_list``),
so the fast paths fall through to the slow ones for them by construction.
"""
from __future__ import annotations

import random
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING

from ..errors import InvariantError
from . import slub_geometry as geo
from .slab_util import ctor_caller
from .slub_debug import SLUB_RED_INACTIVE, SlubDebug

if TYPE_CHECKING:  # pragma: no cover
    from ..machine import Machine as Kernel
    from .slub_geometry import CacheGeometry


class Slab:
    """struct slab: 2^order pages of one cache."""

    __slots__ = ("cache", "pfn", "order", "addr", "objects", "inuse", "freelist", "frozen", "where", "slabs")

    def __init__(self, cache: KmemCache, pfn: int, order: int, addr: int, objects: int):
        self.cache = cache
        self.pfn = pfn
        self.order = order
        self.addr = addr  # page_address of the first page
        self.objects = objects
        self.inuse = 0
        self.freelist = 0  # object address, 0 = NULL
        self.frozen = False
        self.where = "new"  # cpu | cpu_partial | node_partial | full
        self.slabs = 0  # on a CPU partial list: slabs in the list from here (slab->slabs)

    def __repr__(self) -> str:
        return f"<slab {self.cache.name} pfn={self.pfn:#x} inuse={self.inuse}/{self.objects} {self.where}>"


@dataclass(slots=True)
class KmemCacheCpu:
    freelist: int = 0
    slab: Slab | None = None
    partial: list[Slab] = field(default_factory=list)  # head is the end of the list


@dataclass(slots=True, eq=False)
class KmemCache:
    """struct kmem_cache."""

    name: str
    object_size: int
    size: int
    align: int
    inuse: int
    offset: int
    order: int
    objects: int
    min_order: int
    min_objects: int
    min_partial: int
    cpu_partial: int
    cpu_partial_slabs: int
    flags: int
    ctor: Callable[[int], None] | None
    random: int
    allocflags: int
    geometry: CacheGeometry  # the slub_geometry.CacheGeometry it was made from
    useroffset: int = 0
    usersize: int = 0
    refcount: int = 1
    aliases: list[str] = field(default_factory=list)
    cpu_slab: list[KmemCacheCpu] = field(default_factory=list)
    partial: list[Slab] = field(default_factory=list)  # node partial list, head first
    nr_slabs: int = 0
    total_objects: int = 0
    random_seq: list[int] | None = None
    kmalloc: bool = False
    red_left_pad: int = 0
    debug: bool = False  # kmem_cache_debug(): any SLAB_DEBUG_FLAGS
    full: list[Slab] = field(default_factory=list)  # n->full, kept for SLAB_STORE_USER caches

    def __repr__(self) -> str:
        return f"<kmem_cache {self.name} size={self.size} objects/slab={self.objects} order={self.order}>"


class Slub:
    """The slab allocator of one machine."""

    def __init__(self, k: Kernel, *, hardened: bool, randomize: bool, nomerge: bool,
                 min_order: int, max_order: int, min_objects: int, word: int):
        self.k = k
        self.hardened = hardened
        self.randomize = randomize
        self.nomerge = nomerge
        self.slub_min_order = min_order
        self.slub_max_order = max_order
        self.slub_min_objects = min_objects
        self.word = word
        self.rng = random.Random(k.seed ^ 0x51AB)
        self.caches: list[KmemCache] = []  # slab_caches, newest first
        self.by_name: dict[str, KmemCache] = {}
        self.slab_of: dict[int, Slab] = {}  # pfn -> slab, for every page of every slab
        #: the cache geometry module (kmemsim.mm.slub_geometry): flags, kmalloc classes, layout
        self.geo: ModuleType = geo
        #: the GFP bits SLUB acts on (k.gfp.bits)
        self.bits = k.gfp.bits
        self.dbg = SlubDebug(self)
        #: how this kernel calls a constructor: ctor(obj) in 6.x, ctor(cache, obj) in 2.6.24's
        #: setup_object() (mm/slub.c, ``s->ctor(s, object)``, 2.6.23-rc1 to 2.6.26)
        self.call_ctor = ctor_caller(k)
        self._lowmem = k.arch.lowmem_bytes
        self._page_offset = k.layout.page_offset
        self._page_shift = k.page_shift
        self._page_mask = k.page_size - 1
        self._word_limit = k.page_size - word
        self._frames = k.phys.frames
        self._get_word = struct.Struct("<Q" if word == 8 else "<I").unpack_from
        #: swab() of free-pointer addresses, computed once each (shared with the fast paths)
        self.swab_cache: dict[int, int] = {}
        # fault injection (kmemsim.mm.fault_inject sets it): should_failslab() while failslab can
        # fire; SLAB_FAILSLAB is kept beside s->flags (it is 0 in the host config's flag values)
        self.should_failslab: Callable[[KmemCache, int], bool] | None = None
        self.failslab_caches: set[KmemCache] = set()

    # ================================================================ freelist encoding
    def _swab(self, addr: int) -> int:
        """swab() of an unsigned long (swab64 on x86_64, swab32 on i386), cached per address."""
        v = self.swab_cache.get(addr)
        if v is None:
            v = self.swab_cache[addr] = int.from_bytes(addr.to_bytes(self.word, "little"), "big")
        return v

    def freeptr_encode(self, s: KmemCache, ptr: int, ptr_addr: int) -> int:
        """freelist_ptr_encode(): ptr ^ s->random ^ swab(ptr_addr) when hardened."""
        if self.hardened:
            return ptr ^ s.random ^ self._swab(ptr_addr)
        return ptr

    def get_freepointer(self, s: KmemCache, obj: int) -> int:
        """get_freepointer(): the next free object, read from the object's own bytes."""
        addr = obj + s.offset
        off = addr - self._page_offset
        if 0 <= off < self._lowmem and (off & self._page_mask) <= self._word_limit:
            frame = self._frames.get(off >> self._page_shift) or self.k.phys.frame(off >> self._page_shift)
            raw = self._get_word(frame, off & self._page_mask)[0]
        else:
            # a corrupted freelist handed out a wild pointer: the load faults (or #GP)
            raw = int.from_bytes(self.k.read(addr, self.word), "little")
        if self.hardened:
            return raw ^ s.random ^ (self.swab_cache.get(addr) or self._swab(addr))
        return raw

    def set_freepointer(self, s: KmemCache, obj: int, fp: int) -> None:
        addr = obj + s.offset
        if self.hardened and obj == fp:
            # set_freepointer(): BUG_ON(object == fp) -- naive detection of double free
            self.k.report.bug(["------------[ cut here ]------------", "kernel BUG at mm/slub.c:503!"],
                       kind="slab_double_free", oops=True, oops_str="invalid opcode")
        self.k.phys.write(addr - self._page_offset, self.freeptr_encode(s, fp, addr).to_bytes(self.word, "little"))

    # ================================================================ slabs
    def _new_slab(self, s: KmemCache, gfp: int) -> Slab | None:
        """allocate_slab(): the cache's order with NORETRY/NOWARN, then its minimum order."""
        k = self.k
        b = self.bits
        flags = gfp | s.allocflags
        alloc_gfp = (flags | b.nowarn | b.noretry) & ~b.nofail
        order, objects = s.order, s.objects
        if alloc_gfp & b.direct_reclaim and order > s.min_order:
            alloc_gfp = (alloc_gfp | b.nomemalloc) & ~b.reclaim
        if order:
            alloc_gfp |= b.comp
        pfn = k.page_alloc.alloc(alloc_gfp & ~b.zero, order)
        if pfn < 0:
            order, objects = s.min_order, s.min_objects
            f2 = (flags | b.comp) if order else flags & ~b.comp
            pfn = k.page_alloc.alloc(f2 & ~b.zero, order)
            if pfn < 0:
                return None
        addr = k.layout.page_offset + (pfn << k.page_shift)
        slab = Slab(s, pfn, order, addr, objects)
        for p in range(pfn, pfn + (1 << order)):
            self.slab_of[p] = slab
        s.nr_slabs += 1
        s.total_objects += objects
        # the free list: shuffled (CONFIG_SLAB_FREELIST_RANDOM) or in address order
        idx = list(range(objects))
        if self.randomize and s.random_seq is not None and objects > 1:
            seq = s.random_seq if len(s.random_seq) == objects else self.init_cache_random_seq(objects)
            pos = self.rng.randrange(objects)
            idx = [seq[(pos + i) % objects] for i in range(objects)]
        base = addr + s.red_left_pad  # fixup_red_left()
        objs = [base + i * s.size for i in idx]
        if s.debug:
            self.dbg.setup_slab_debug(s, slab)
            for o in objs:
                self.dbg.setup_object_debug(s, o)
        if s.ctor is not None:
            for o in sorted(objs):
                self.call_ctor(s.ctor, s, o, gfp)  # setup_object(): constructors run when the slab is made
        for a, nxt in zip(objs, objs[1:], strict=False):
            self.set_freepointer(s, a, nxt)
        self.set_freepointer(s, objs[-1], 0)
        slab.freelist = objs[0]
        return slab

    def init_cache_random_seq(self, count: int) -> list[int]:
        """init_cache_random_seq(): a Fisher-Yates permutation of 0..count-1."""
        seq = list(range(count))
        for i in range(count - 1, 0, -1):
            j = self.rng.randrange(i + 1)
            seq[i], seq[j] = seq[j], seq[i]
        return seq

    def _discard_slab(self, s: KmemCache, slab: Slab) -> None:
        """discard_slab(): the pages go back to the page allocator (free_slab() checks
        the padding and every object first in a SLAB_CONSISTENCY_CHECKS cache)."""
        if s.flags & geo.SLAB_CONSISTENCY_CHECKS:
            self.dbg.slab_pad_check(s, slab)
            for i in range(slab.objects):
                self.dbg.check_object(s, slab, slab.addr + i * s.size + s.red_left_pad, SLUB_RED_INACTIVE)
        s.nr_slabs -= 1
        s.total_objects -= slab.objects
        for p in range(slab.pfn, slab.pfn + (1 << slab.order)):
            del self.slab_of[p]
        slab.where = "freed"
        self.k.page_alloc.free(slab.pfn, slab.order)

    def _count_free(self, s: KmemCache, head: int) -> int:
        n = 0
        while head:
            n += 1
            head = self.get_freepointer(s, head)
        return n

    # ================================================================ alloc
    def slab_alloc(self, s: KmemCache, gfp: int, orig_size: int) -> int:
        """slab_alloc_node(): the CPU freelist head, else ___slab_alloc()."""
        self.k.sched.might_alloc(gfp)  # slab_pre_alloc_hook()
        if self.should_failslab is not None and self.should_failslab(s, gfp):
            return 0  # slab_pre_alloc_hook() -> NULL: no slab_out_of_memory report
        if s.debug:
            return self._debug_alloc(s, gfp, orig_size)
        c = s.cpu_slab[self.k.cpu]
        obj = c.freelist
        if obj and c.slab is not None:
            c.freelist = self.get_freepointer(s, obj)
        else:
            obj = self._slab_alloc_slow(s, gfp, c)
            if not obj:
                return 0
        if gfp & self.bits.zero:
            self.k.phys.fill(obj - self.k.layout.page_offset, 0, s.object_size)
        return obj

    def _slab_alloc_slow(self, s: KmemCache, gfp: int, c: KmemCacheCpu) -> int:
        """___slab_alloc(): refill the CPU freelist from the CPU slab, the CPU partial
        list, the node partial list, or a new slab."""
        slab = c.slab
        if slab is not None:
            freelist = c.freelist
            if not freelist:
                freelist = self._get_freelist(slab)
            if freelist:
                c.freelist = self.get_freepointer(s, freelist)
                return freelist
            slab.frozen = False
            slab.where = "full"
            c.slab = None
        # new_slab: per-CPU partial slabs first
        while c.partial:
            slab = c.partial.pop()
            freelist = self._get_freelist(slab)
            slab.frozen = True
            slab.where = "cpu"
            c.slab = slab
            c.freelist = self.get_freepointer(s, freelist)
            return freelist
        slab = self._get_partial(s, c)
        if slab is None:
            slab = self._new_slab(s, gfp)
            if slab is None:
                self._slab_out_of_memory(s, gfp)
                return 0
        freelist = slab.freelist
        slab.freelist = 0
        slab.inuse = slab.objects
        slab.frozen = True
        slab.where = "cpu"
        if c.slab is not None:
            self._deactivate_slab(s, c.slab, c.freelist)
        c.slab = slab
        c.freelist = self.get_freepointer(s, freelist)
        return freelist

    def _debug_alloc(self, s: KmemCache, gfp: int, orig_size: int) -> int:
        """___slab_alloc() for a debug cache: one object from the first node partial slab
        that passes alloc_debug_processing() (alloc_single_from_partial), else from a new
        slab (alloc_single_from_new_slab); then the track and slab_post_alloc_hook()."""
        d = self.dbg
        obj = 0
        for _attempt in range(64):  # "goto new_objects"; a fresh slab failing its checks is rare
            for slab in list(s.partial):
                obj = self._alloc_single_from_partial(s, slab, orig_size)
                if obj:
                    break
            if obj:
                break
            new = self._new_slab(s, gfp)
            if new is None:
                self._slab_out_of_memory(s, gfp)
                d.finish()
                return 0
            obj = self._alloc_single_from_new_slab(s, new, orig_size)
            if obj:
                break
        if not obj:
            d.finish()
            return 0
        if s.flags & geo.SLAB_STORE_USER:
            addr, handle = d.caller()
            d.set_track(s, obj, 0, addr, handle)
        if gfp & self.bits.zero:
            zero = s.object_size
            if s.flags & (geo.SLAB_STORE_USER | geo.SLAB_RED_ZONE) and s.flags & geo.SLAB_KMALLOC:
                zero = orig_size  # the rest is the kmalloc red zone
            self.k.phys.fill(obj - self.k.layout.page_offset, 0, zero)
        d.finish()
        return obj

    def _alloc_single_from_partial(self, s: KmemCache, slab: Slab, orig_size: int) -> int:
        obj = slab.freelist
        slab.freelist = self.get_freepointer(s, obj)
        slab.inuse += 1
        if not self.dbg.alloc_debug_processing(s, slab, obj, orig_size):
            s.partial.remove(slab)  # isolated: frozen, all objects "used"
            return 0
        if slab.inuse == slab.objects:
            s.partial.remove(slab)
            self._add_full(s, slab)
        return obj

    def _alloc_single_from_new_slab(self, s: KmemCache, slab: Slab, orig_size: int) -> int:
        obj = slab.freelist
        slab.freelist = self.get_freepointer(s, obj)
        slab.inuse = 1
        if not self.dbg.alloc_debug_processing(s, slab, obj, orig_size):
            return 0
        if slab.inuse == slab.objects:
            self._add_full(s, slab)
        else:
            slab.where = "node_partial"
            s.partial.insert(0, slab)  # DEACTIVATE_TO_HEAD
        return obj

    def _add_full(self, s: KmemCache, slab: Slab) -> None:
        """add_full(): the node's full list is kept only for SLAB_STORE_USER caches."""
        slab.where = "full"
        if s.flags & geo.SLAB_STORE_USER:
            s.full.append(slab)

    def _free_to_partial_list(self, s: KmemCache, slab: Slab, obj: int) -> None:
        """free_to_partial_list(): a debug cache's free, under free_debug_processing()."""
        d = self.dbg
        addr, handle = d.caller() if s.flags & geo.SLAB_STORE_USER else (0, 0)
        if d.free_debug_processing(s, slab, obj, addr, handle):
            prior = slab.freelist
            slab.inuse -= 1
            self.set_freepointer(s, obj, prior)
            slab.freelist = obj
            empty = slab.inuse == 0 and len(s.partial) >= s.min_partial
            if not prior:  # it was full
                if slab in s.full:
                    s.full.remove(slab)
                if not empty:
                    slab.where = "node_partial"
                    s.partial.append(slab)  # FREE_ADD_PARTIAL, to the tail
            elif empty:
                s.partial.remove(slab)
            if empty:
                self._discard_slab(s, slab)
        d.finish()

    @staticmethod
    def _get_freelist(slab: Slab) -> int:
        """get_freelist(): take the slab's whole freelist; the slab is then all in use."""
        fl = slab.freelist
        slab.freelist = 0
        slab.inuse = slab.objects
        return fl

    def _get_partial(self, s: KmemCache, c: KmemCacheCpu) -> Slab | None:
        """get_partial_node(): the first node partial slab, plus up to cpu_partial_slabs/2
        more onto the CPU partial list."""
        got = None
        filled = 0
        while s.partial:
            slab = s.partial.pop(0)
            if got is None:
                got = slab
                if s.cpu_partial == 0:
                    break
            else:
                self._put_cpu_partial(s, slab, c, drain=False)
                filled += 1
                if filled > s.cpu_partial_slabs // 2:
                    break
        return got

    def _put_cpu_partial(self, s: KmemCache, slab: Slab, c: KmemCacheCpu, drain: bool) -> None:
        """put_cpu_partial(): push on the CPU partial list; a full list drains to the node."""
        if c.partial and drain and len(c.partial) >= s.cpu_partial_slabs:
            old, c.partial = c.partial, []
            self._put_partials(s, old)
        slab.frozen = False
        slab.where = "cpu_partial"
        c.partial.append(slab)

    def _put_partials(self, s: KmemCache, slabs: list[Slab]) -> None:
        """__put_partials(): to the node partial list, or discarded when empty and enough are kept."""
        for slab in reversed(slabs):
            if not slab.inuse and len(s.partial) >= s.min_partial:
                self._discard_slab(s, slab)
            else:
                slab.where = "node_partial"
                s.partial.append(slab)

    def _deactivate_slab(self, s: KmemCache, slab: Slab, freelist: int) -> None:
        """deactivate_slab(): give the CPU freelist back to the slab and unfreeze it."""
        n = 0
        head = freelist
        last = 0
        while head:
            n += 1
            last = head
            head = self.get_freepointer(s, head)
        remote = slab.freelist != 0
        if last:
            self.set_freepointer(s, last, slab.freelist)
            slab.freelist = freelist
        slab.inuse -= n
        slab.frozen = False
        if not slab.inuse and len(s.partial) >= s.min_partial:
            slab.where = "empty"
            self._discard_slab(s, slab)
        elif slab.freelist:
            slab.where = "node_partial"
            if remote:
                s.partial.append(slab)  # DEACTIVATE_TO_TAIL
            else:
                s.partial.insert(0, slab)  # DEACTIVATE_TO_HEAD
        else:
            slab.where = "full"

    def _slab_out_of_memory(self, s: KmemCache, gfp: int) -> None:
        """slab_out_of_memory(): the "SLUB: Unable to allocate memory on node" report."""
        if gfp & self.bits.nowarn:
            return
        k = self.k
        free = sum(self._count_free(s, sl.freelist) for sl in s.partial)
        k.printk(
            f"SLUB: Unable to allocate memory on node -1, gfp={gfp:#x}({k.gfp.format(gfp)})\n"
            f"  cache: {s.name}, object size: {s.object_size}, buffer size: {s.size}, "
            f"default order: {s.order}, min order: {s.min_order}\n"
            f"  node 0: slabs: {s.nr_slabs}, objs: {s.total_objects}, free: {free}",
            4,
        )

    # ================================================================ free
    def slab_free(self, s: KmemCache, slab: Slab, obj: int) -> None:
        """do_slab_free(): onto the CPU freelist if this is the CPU slab, else __slab_free()."""
        if s.debug:
            self._free_to_partial_list(s, slab, obj)
            return
        c = s.cpu_slab[self.k.cpu]
        if slab is c.slab:
            self.set_freepointer(s, obj, c.freelist)
            c.freelist = obj
            return
        self._slab_free_slow(s, slab, obj, c)

    def _slab_free_slow(self, s: KmemCache, slab: Slab, obj: int, c: KmemCacheCpu) -> None:
        """__slab_free(): onto the slab's own freelist; fix the slab's list if it changes state."""
        prior = slab.freelist
        self.set_freepointer(s, obj, prior)
        slab.freelist = obj
        slab.inuse -= 1
        if slab.frozen:
            return  # another CPU's slab: it takes the objects back when it runs dry
        if not prior:  # the slab was full
            if s.cpu_partial:
                self._put_cpu_partial(s, slab, c, drain=True)
                return
            slab.where = "node_partial"
            s.partial.append(slab)  # FREE_ADD_PARTIAL, to the tail
            return
        if slab.where != "node_partial":
            return  # on a CPU partial list: it stays there
        if not slab.inuse and len(s.partial) >= s.min_partial:
            s.partial.remove(slab)
            self._discard_slab(s, slab)

    # ================================================================ shrink / flush
    def flush_cpu_slabs(self, s: KmemCache) -> None:
        """flush_all(): every CPU slab deactivated, every CPU partial list to the node."""
        for c in s.cpu_slab:
            if c.slab is not None:
                slab, fl = c.slab, c.freelist
                c.slab, c.freelist = None, 0
                self._deactivate_slab(s, slab, fl)
            if c.partial:
                old, c.partial = c.partial, []
                self._put_partials(s, old)

    def shrink(self, s: KmemCache) -> None:
        """__kmem_cache_shrink(): flush, then free every empty slab on the node list."""
        self.flush_cpu_slabs(s)
        keep = []
        for slab in s.partial:
            if slab.inuse == 0:
                self._discard_slab(s, slab)
            else:
                keep.append(slab)
        # sorted by fullness: the fullest first (so that allocation fills them)
        keep.sort(key=lambda sl: sl.objects - sl.inuse)
        s.partial = keep

    # ================================================================ queries
    def object_of(self, addr: int) -> tuple[Slab | None, int]:
        """(slab, object start) for an address inside a slab, else (None, 0)."""
        off = addr - self.k.layout.page_offset
        slab = self.slab_of.get(off >> self.k.page_shift)
        if slab is None:
            return None, 0
        s = slab.cache
        idx = (addr - slab.addr) // s.size
        return slab, slab.addr + idx * s.size + s.red_left_pad

    def free_objects(self, s: KmemCache) -> int:
        """count_partial(): free objects on the node partial list."""
        return sum(sl.objects - sl.inuse for sl in s.partial)

    def slabs(self, s: KmemCache) -> list[Slab]:
        seen = {id(sl): sl for sl in self.slab_of.values() if sl.cache is s}
        return list(seen.values())

    # ================================================================ invariants
    def check(self) -> None:
        """Every invariant; raises :class:`InvariantError` naming the first problems."""
        errs = self.problems()
        if errs:
            raise InvariantError("slub", "; ".join(errs[:5]))

    def problems(self) -> list[str]:
        """Every broken invariant, as text (empty: consistent)."""
        errs: list[str] = []
        for s in self.caches:
            slabs = self.slabs(s)
            if len(slabs) != s.nr_slabs:
                errs.append(f"{s.name}: nr_slabs {s.nr_slabs} but {len(slabs)} slabs own pages")
            if sum(sl.objects for sl in slabs) != s.total_objects:
                errs.append(f"{s.name}: total_objects {s.total_objects} does not match its slabs")
            cpu_free: dict[int, int] = {}
            for cpu, c in enumerate(s.cpu_slab):
                if c.slab is not None:
                    if not c.slab.frozen or c.slab.where != "cpu":
                        errs.append(f"{s.name}: cpu{cpu} slab is not frozen")
                    n = self._walk(s, c.slab, c.freelist, errs, f"cpu{cpu} freelist")
                    cpu_free[id(c.slab)] = n
                elif c.freelist:
                    errs.append(f"{s.name}: cpu{cpu} has a freelist but no slab")
                for sl in c.partial:
                    if sl.where != "cpu_partial":
                        errs.append(f"{s.name}: {sl} on cpu{cpu} partial list")
            for sl in s.partial:
                if sl.where != "node_partial" or sl.frozen:
                    errs.append(f"{s.name}: {sl} on the node partial list")
                if sl.inuse >= sl.objects:
                    errs.append(f"{s.name}: full {sl} on the node partial list")
            if s.debug:
                if any(c.slab is not None or c.partial for c in s.cpu_slab):
                    errs.append(f"{s.name}: a debug cache has a CPU slab")
                for sl in s.full:
                    if sl.where != "full" or sl.inuse != sl.objects:
                        errs.append(f"{s.name}: {sl} on the full list")
                if s.flags & geo.SLAB_STORE_USER:
                    nfull = sum(1 for sl in slabs if sl.where == "full")
                    if nfull != len(s.full):
                        errs.append(f"{s.name}: {nfull} full slabs but {len(s.full)} on the full list")
            for sl in slabs:
                if sl.where == "isolated":  # a slab that failed its checks: frozen, all "used"
                    if not sl.frozen or sl.freelist or sl.inuse != sl.objects:
                        errs.append(f"{s.name}: isolated {sl} is not frozen and full")
                    continue
                n = self._walk(s, sl, sl.freelist, errs, "slab freelist")
                # every object is either in use or on exactly one freelist
                free = n + cpu_free.get(id(sl), 0)
                if sl.objects - sl.inuse != n:
                    errs.append(f"{s.name}: {sl} inuse {sl.inuse} but {n} objects on its freelist")
                if free > sl.objects:
                    errs.append(f"{s.name}: {sl} has {free} free objects")
                for p in range(sl.pfn, sl.pfn + (1 << sl.order)):
                    if self.k.page_alloc.head_of(p) != sl.pfn:
                        errs.append(f"{s.name}: page {p:#x} of {sl} is not allocated to it")
                        break
        return errs

    def _walk(self, s: KmemCache, slab: Slab, head: int, errs: list[str], what: str) -> int:
        """Walk a freelist, checking each pointer lies on an object of ``slab``; stop on a cycle."""
        seen = set()
        n = 0
        base = slab.addr + s.red_left_pad
        end = base + slab.objects * s.size
        while head:
            if head in seen:
                errs.append(f"{s.name}: {what} of {slab} has a cycle at {head:#x}")
                return n
            if not (base <= head < end) or (head - base) % s.size:
                errs.append(f"{s.name}: {what} of {slab} points outside its objects: {head:#x}")
                return n
            seen.add(head)
            n += 1
            head = self.get_freepointer(s, head)
        return n
