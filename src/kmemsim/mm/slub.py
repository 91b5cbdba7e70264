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

SLAB_TYPESAFE_BY_RCU (6.18 free_slab()): an object freed is reused at once, but a slab
discarded from such a cache gives its pages back only after an RCU grace period
(``call_rcu(&slab->rcu_head, rcu_free_slab)``): it leaves the cache's counts at once
(``dec_slabs_node()``) and NR_SLAB_* when its pages go (``__free_slab()``).

Bulk frees (kmem_cache_free_bulk(), kfree_bulk()) group objects by slab as
``build_detached_freelist()`` does, and trace no event; nor do kfree_nolock() and the
batches of kfree_rcu() (:class:`KfreeRcu`, the CONFIG_KVFREE_RCU_BATCHED part of
mm/slab_common.c).  :attr:`Slub.untraced_frees` counts such frees by cause and
:attr:`Slub.untraced_free_hooks` are told of each (the replay's hooks).

kmalloc_nolock()/kfree_nolock() (6.18) run in any context, NMIs included: a bucket whose
per-CPU lock the interrupted code holds is -EBUSY (the next bucket is tried once), a
free that cannot take a lock is deferred to irq_work (``defer_free()``).  Which lock the
interrupted code holds is known where it takes it (:attr:`Slub.locks_held`), and
:attr:`Slub.nmi_probe`, when set, is called at the points where an NMI may come (tests:
perf's overflow handler of slub_kunit).

Simplified, and said so: one node; no memcg accounting of objects (SLAB_ACCOUNT
only selects the kmalloc-cg caches); no sheaves (6.18's optional per-CPU arrays
are off by default).

Debug caches (any SLAB_DEBUG_FLAGS, from the cache's flags or ``slab_debug=``) never
get a CPU slab: each allocation and free takes the node lists under the checks of
``kmemsim.mm.slub_debug`` (``alloc_single_from_partial``/``free_to_partial_list``),
so the fast paths fall through to the slow ones for them by construction.
"""
from __future__ import annotations

import random
import struct
import sys
from array import array
from collections import Counter
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ..errors import InvariantError, KmemsimError, UsageError
from ..records import Record
from ..sched import WQ_HIGHPRI, WQ_MEM_RECLAIM, WQ_UNBOUND, RcuWork
from ..slab_flags import ZERO_SIZE_PTR
from . import slub_geometry as geo
from .slab_util import ctor_caller
from .slub_debug import SLUB_RED_INACTIVE, SlubDebug

if TYPE_CHECKING:  # pragma: no cover
    from ..machine import Machine as Kernel
    from .slub_geometry import CacheGeometry


#: ERR_PTR(-EBUSY): __slab_alloc()'s signal to kmalloc_nolock() to try the next bucket
EBUSY = -16


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

    def _repr_html_(self) -> str | None:
        """Jupyter's rich display, drawn by kmemsim.explore (a tool above this layer: imported by name)."""
        import importlib

        return importlib.import_module("kmemsim.explore.jupyter").repr_html(self)


class KmemCacheCpu(Record):
    """struct kmem_cache_cpu: a CPU's freelist, its slab and its partial slabs."""

    __slots__ = __match_args__ = ("freelist", "slab", "partial")
    freelist: int
    slab: Slab | None
    partial: list[Slab]  # head is the end of the list

    def __init__(self, freelist: int = 0, slab: Slab | None = None, partial: list[Slab] | None = None) -> None:
        self.freelist = freelist
        self.slab = slab
        self.partial = [] if partial is None else partial


class KmemCache(Record, eq=False):
    """struct kmem_cache."""

    __slots__ = __match_args__ = ("name", "object_size", "size", "align", "inuse", "offset", "order", "objects",
                                  "min_order", "min_objects", "min_partial", "cpu_partial", "cpu_partial_slabs",
                                  "flags", "ctor", "random", "allocflags", "geometry", "useroffset", "usersize",
                                  "refcount", "aliases", "cpu_slab", "partial", "nr_slabs", "total_objects",
                                  "random_seq", "kmalloc", "red_left_pad", "debug", "full", "alloc_slab_pages")
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
    useroffset: int
    usersize: int
    refcount: int
    aliases: list[str]
    cpu_slab: list[KmemCacheCpu]
    partial: list[Slab]  # node partial list, head first
    nr_slabs: int
    total_objects: int
    random_seq: list[int] | None
    kmalloc: bool
    red_left_pad: int
    debug: bool  # kmem_cache_debug(): any SLAB_DEBUG_FLAGS
    full: list[Slab]  # n->full, kept for SLAB_STORE_USER caches
    #: pages new_slab() took from the page allocator so far (CONFIG_SLUB_STATS' alloc_slab, in pages)
    alloc_slab_pages: int

    def __init__(self, name: str, object_size: int, size: int, align: int, inuse: int, offset: int, order: int,
                 objects: int, min_order: int, min_objects: int, min_partial: int, cpu_partial: int,
                 cpu_partial_slabs: int, flags: int, ctor: Callable[[int], None] | None, random: int, allocflags: int,
                 geometry: CacheGeometry, useroffset: int = 0, usersize: int = 0, refcount: int = 1,
                 aliases: list[str] | None = None, cpu_slab: list[KmemCacheCpu] | None = None,
                 partial: list[Slab] | None = None, nr_slabs: int = 0, total_objects: int = 0,
                 random_seq: list[int] | None = None, kmalloc: bool = False, red_left_pad: int = 0,
                 debug: bool = False, full: list[Slab] | None = None, alloc_slab_pages: int = 0) -> None:
        self.name = name
        self.object_size = object_size
        self.size = size
        self.align = align
        self.inuse = inuse
        self.offset = offset
        self.order = order
        self.objects = objects
        self.min_order = min_order
        self.min_objects = min_objects
        self.min_partial = min_partial
        self.cpu_partial = cpu_partial
        self.cpu_partial_slabs = cpu_partial_slabs
        self.flags = flags
        self.ctor = ctor
        self.random = random
        self.allocflags = allocflags
        self.geometry = geometry
        self.useroffset = useroffset
        self.usersize = usersize
        self.refcount = refcount
        self.aliases = [] if aliases is None else aliases
        self.cpu_slab = [] if cpu_slab is None else cpu_slab
        self.partial = [] if partial is None else partial
        self.nr_slabs = nr_slabs
        self.total_objects = total_objects
        self.random_seq = random_seq
        self.kmalloc = kmalloc
        self.red_left_pad = red_left_pad
        self.debug = debug
        self.full = [] if full is None else full
        self.alloc_slab_pages = alloc_slab_pages

    def __repr__(self) -> str:
        return f"<kmem_cache {self.name} size={self.size} objects/slab={self.objects} order={self.order}>"

    def _repr_html_(self) -> str | None:
        """Jupyter's rich display, drawn by kmemsim.explore (a tool above this layer: imported by name)."""
        import importlib

        return importlib.import_module("kmemsim.explore.jupyter").repr_html(self)


#: the frames hold little-endian words (struct "<Q"): a native array is the same bytes only here
_LITTLE_ENDIAN = sys.byteorder == "little"


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
        self._put_word = struct.Struct("<Q" if word == 8 else "<I").pack_into
        self._swab_type = "Q" if word == 8 else "I" if array("I").itemsize == 4 else "L"
        #: swab() of free-pointer addresses, computed once each (shared with the fast paths)
        self.swab_cache: dict[int, int] = {}
        # fault injection (kmemsim.mm.fault_inject sets it): should_failslab() while failslab can
        # fire; SLAB_FAILSLAB is kept beside s->flags (it is 0 in the host config's flag values)
        self.should_failslab: Callable[[KmemCache, int], bool] | None = None
        self.failslab_caches: set[KmemCache] = set()
        #: frees that 6.18 traces no event for, by cause ("kfree_bulk", "kmem_cache_free_bulk",
        #: "kfree_rcu", "kfree_nolock"), and the allocations (kmalloc_nolock); the hooks are
        #: called as hook(cause, object address, cache) for each such free
        self.untraced_frees: Counter[str] = Counter()
        self.untraced_allocs: Counter[str] = Counter()
        self.untraced_free_hooks: list[Callable[[str, int, KmemCache | None], None]] = []
        #: slabs of SLAB_TYPESAFE_BY_RCU caches discarded and waiting for their grace period, by pfn
        self.rcu_free_slabs: dict[int, Slab] = {}
        #: frees of objects of such a slab (a double free the kernel does not see: dropped)
        self.stale_frees = 0
        #: the locks the running code holds, as ("cpu_slab", cache id, cpu) and ("list_lock", cache
        #: id): what kmalloc_nolock() and kfree_nolock() find taken in an NMI
        self.locks_held: set[tuple[Any, ...]] = set()
        #: called as nmi_probe(where) where an NMI may come in (None: never)
        self.nmi_probe: Callable[[str], None] | None = None
        #: kmalloc_nolock() buckets found busy and retried, kfree_nolock() frees deferred
        self.nolock_stats: Counter[str] = Counter()
        #: defer_free(): objects freed by kfree_nolock() that wait for the irq_work, per CPU
        self.deferred: list[list[tuple[KmemCache, int]]] = [[] for _ in k.cpus]
        #: kfree_rcu() / kvfree_rcu() (mm/slab_common.c, CONFIG_KVFREE_RCU_BATCHED)
        self.kfree_rcu_impl = KfreeRcu(self)
        self._constructing: set[KmemCache] = set()  # caches whose constructor runs on a new slab now

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
    def _new_slab(self, s: KmemCache, gfp: int, taken: list[int] | None = None, take: int = 0) -> Slab | None:
        """new_slab() and allocate_slab() of 6.18 mm/slub.c: what the page allocator is asked.

        ``taken``, ``take``: the first ``take`` objects of the new free list are taken off it
        and appended to ``taken`` (``slab.freelist`` is then the next one; ``inuse`` is the
        caller's), as reading them off the list just written would.

        new_slab() (mm/slub.c:3279) fixes GFP_SLAB_BUG_MASK bits with kmalloc_fix_flags()'s
        warning and keeps only ``gfp & (GFP_RECLAIM_MASK | GFP_CONSTRAINT_MASK)`` of the
        caller's flags (:3286: no __GFP_ZERO, __GFP_ACCOUNT, zone or migratetype bits);
        allocate_slab() (:3206) adds ``s->allocflags`` (calculate_sizes(), :7970: ``s->allocflags
        = __GFP_COMP``, plus GFP_DMA for SLAB_CACHE_DMA and __GFP_RECLAIMABLE for
        SLAB_RECLAIM_ACCOUNT); the first try (:3224), at the cache's order, adds __GFP_NOWARN |
        __GFP_NORETRY and drops __GFP_NOFAIL (and when it may reclaim directly above the
        minimum order, reclaims not at all but takes __GFP_NOMEMALLOC); then the minimum
        order with ``flags`` as they are (:3236).  A buffer_head slab page (GFP_NOFS from the
        caller, SLAB_RECLAIM_ACCOUNT) is thus ``GFP_NOFS|__GFP_RECLAIMABLE|__GFP_NOWARN|
        __GFP_NORETRY|__GFP_COMP``, migratetype 2, as a real 6.18 trace shows it."""
        k = self.k
        b = self.bits
        bug = gfp & (b.dma32 | b.highmem | ~b.valid)  # GFP_SLAB_BUG_MASK (mm/internal.h)
        if bug:
            site = k.sites.get("slab_gfp_bug")
            if site is not None:  # 2.6: BUG_ON(flags & GFP_SLAB_BUG_MASK) when the cache grows
                k.report.bug(["------------[ cut here ]------------", f"kernel BUG at {site[0]}:{site[1]}!"],
                             kind="slab_gfp_bug", oops=True, oops_str="invalid opcode")  # (2.6.11's name: report.py)
                return None
            gfp = self.kmalloc_fix_flags(gfp, bug)  # mm/slub.c:3281
        if s.ctor is not None and gfp & b.zero:
            # mm/slub.c:3284 WARN_ON_ONCE(s->ctor && (flags & __GFP_ZERO))
            k.report.warn_once(f"new_slab ctor zero {s.name}", "mm/slub.c:3284 new_slab+0x0/0x0")
        flags = (gfp & (b.reclaim_mask | b.constraint_mask)) | s.allocflags | b.comp
        alloc_gfp = (flags | b.nowarn | b.noretry) & ~b.nofail
        order, objects = s.order, s.objects
        if alloc_gfp & b.direct_reclaim and order > s.min_order:
            alloc_gfp = (alloc_gfp | b.nomemalloc) & ~b.reclaim
        # __alloc_pages(): with the pcp fast path in front while get_free_pages' runs (no tracing,
        # fault injection or atomic context: kmemsim.dispatch), the same allocation
        alloc = k.pages.alloc_pfn if k.dispatch.active("get_free_pages") == "fast" else None
        if alloc is None:
            alloc = k.page_alloc.alloc
        pfn = alloc(alloc_gfp, order)
        if pfn < 0:
            order, objects = s.min_order, s.min_objects
            pfn = alloc(flags, order)
            if pfn < 0:
                return None
        s.alloc_slab_pages += 1 << order
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
            idx = seq[pos:] + seq[:pos]  # seq[(pos + i) % objects] for each i
        base = addr + s.red_left_pad  # fixup_red_left()
        objs = [base + i * s.size for i in idx]
        if s.debug:
            self.dbg.setup_slab_debug(s, slab)
            for o in objs:
                self.dbg.setup_object_debug(s, o)
        if s.ctor is not None:
            self._run_ctor(s, slab, objs, gfp)
        self._link_free_objects(s, objs, idx)
        slab.freelist = objs[0]
        if taken is not None and take > 0:
            take = min(take, len(objs))
            taken += objs[:take]
            slab.freelist = objs[take] if take < len(objs) else 0
        return slab

    def _link_free_objects(self, s: KmemCache, objs: list[int], idx: list[int] | None = None) -> None:
        """set_freepointer() down a new slab's free list: each object's free pointer to the
        next, the last one's to NULL; the same words written in the same order, in one loop.
        No object is its own successor here, so set_freepointer()'s BUG_ON cannot fire.

        ``idx``: each object's index in the slab (a permutation of them all).  When every free
        pointer lies in one frame, word-aligned at a stride of whole words, the words are
        written in one strided store, by index; the frame holds the same bytes as after the
        writes one at a time (the only frame touched, materialised first either way)."""
        word, po, off_s = self.word, self._page_offset, s.offset
        shift, mask, limit = self._page_shift, self._page_mask, self._word_limit
        frames, phys, put = self._frames, self.k.phys, self._put_word
        addrs = [a + off_s for a in objs]
        nexts = [*objs[1:], 0]
        if self.hardened:  # freelist_ptr_encode(): ptr ^ s->random ^ swab(ptr_addr)
            swabbed = array(self._swab_type, addrs)
            swabbed.byteswap()  # swab() of every address at once (the values _swab() caches)
            self.swab_cache.update(zip(addrs, swabbed, strict=True))
            rnd = s.random
            nexts = [fp ^ rnd ^ v for fp, v in zip(nexts, swabbed, strict=True)]
        n = len(objs)
        if idx is not None and n > 1 and s.size % word == 0 and _LITTLE_ENDIAN:
            lo = min(addrs)
            off = lo - po
            last = off + (n - 1) * s.size  # the highest object's free pointer
            if off >= 0 and not off % word and off >> shift == last >> shift and (last & mask) <= limit:
                vals = [0] * n
                for i, fp in zip(idx, nexts, strict=True):
                    vals[i] = fp  # the free pointer of object i, in address order
                f = frames.get(off >> shift) or phys.frame(off >> shift)
                start, stride = (off & mask) // word, s.size // word
                with memoryview(f) as m, m.cast(self._swab_type) as words:  # type: ignore[call-overload]
                    words[start : start + n * stride : stride] = array(self._swab_type, vals)
                return
        for addr, fp in zip(addrs, nexts, strict=True):
            off = addr - po
            if (off & mask) <= limit:
                put(frames.get(off >> shift) or phys.frame(off >> shift), off & mask, fp)
            else:  # a word across two frames
                phys.write(off, fp.to_bytes(word, "little"))

    def _run_ctor(self, s: KmemCache, slab: Slab, objs: list[int], gfp: int) -> None:
        """setup_object(): the constructor on every object of a new slab.

        A C constructor cannot fail (``void (*ctor)(void *)``); a Python one can raise, or
        allocate from its own cache while its first slab is being made (in the kernel an
        endless recursion).  Either way the new slab is given back as if it had never been
        made and the error propagates: a kmemsim error as it is, any other exception as
        a UsageError naming the cache, chained to it (docs/api-names.md)."""
        constructing = self._constructing
        if s in constructing:
            self._unmake_slab(s, slab)
            raise UsageError(f"kmem_cache_alloc({s.name}): the constructor allocates from its own cache while "
                             "the cache's new slab is being made (in the kernel: an endless recursion)")
        constructing.add(s)
        ctor = s.ctor
        assert ctor is not None
        try:
            for o in sorted(objs):
                self.call_ctor(ctor, s, o, gfp)  # the kernel's signature (slab_util.ctor_caller)
        except BaseException as e:
            self._unmake_slab(s, slab)
            if isinstance(e, KmemsimError) or not isinstance(e, Exception):
                raise
            raise UsageError(f"kmem_cache_alloc({s.name}): the constructor "
                             f"{getattr(s.ctor, '__name__', s.ctor)!s} raised {e!r}; the new slab was freed") from e
        finally:
            constructing.discard(s)

    def _unmake_slab(self, s: KmemCache, slab: Slab) -> None:
        """Undo _new_slab(): no object of the slab was handed out, so its pages go straight back."""
        s.nr_slabs -= 1
        s.total_objects -= slab.objects
        for p in range(slab.pfn, slab.pfn + (1 << slab.order)):
            if self.slab_of.get(p) is slab:
                del self.slab_of[p]
        slab.where = "freed"
        self.k.page_alloc.free(slab.pfn, slab.order)

    def kmalloc_fix_flags(self, gfp: int, invalid: int) -> int:
        """kmalloc_fix_flags() (6.18 mm/slab_common.c:1022): the bits of GFP_SLAB_BUG_MASK
        go, with the kernel's warning and a stack dump."""
        k = self.k
        flags = gfp & ~invalid
        k.printk(f"Unexpected gfp: {invalid:#x} ({k.gfp.format(invalid)}). Fixing up to gfp: {flags:#x} "
                 f"({k.gfp.format(flags)}). Fix your code!", 4)
        k.printk("\n".join(k.report.dump_stack_lines()), 4)
        return flags

    def init_cache_random_seq(self, count: int) -> list[int]:
        """init_cache_random_seq(): a Fisher-Yates permutation of 0..count-1."""
        seq = list(range(count))
        # random.shuffle() is this very loop (for i from count - 1 down to 1: j = a random index
        # up to i, swap), drawing j as randrange(i + 1) would: the same permutation
        self.rng.shuffle(seq)
        return seq

    def _discard_slab(self, s: KmemCache, slab: Slab) -> None:
        """discard_slab(): dec_slabs_node(), then free_slab(): the pages go back to the page
        allocator (after checking the padding and every object in a SLAB_CONSISTENCY_CHECKS
        cache); for SLAB_TYPESAFE_BY_RCU only after a grace period (call_rcu(rcu_free_slab))."""
        if s.flags & geo.SLAB_CONSISTENCY_CHECKS:
            self.dbg.slab_pad_check(s, slab)
            for i in range(slab.objects):
                self.dbg.check_object(s, slab, slab.addr + i * s.size + s.red_left_pad, SLUB_RED_INACTIVE)
        s.nr_slabs -= 1
        s.total_objects -= slab.objects
        if s.flags & geo.SLAB_TYPESAFE_BY_RCU:
            slab.where = "rcu_free"
            self.rcu_free_slabs[slab.pfn] = slab
            self.k.sched.rcu.call_rcu(self._rcu_free_slab, slab)
            return
        self._free_slab_pages(slab)

    def _free_slab_pages(self, slab: Slab) -> None:
        """__free_slab(): the slab's pages are no slab any more and go to the page allocator."""
        for p in range(slab.pfn, slab.pfn + (1 << slab.order)):
            del self.slab_of[p]
        slab.where = "freed"
        self.k.page_alloc.free(slab.pfn, slab.order)

    def _rcu_free_slab(self, slab: Slab) -> None:
        """rcu_free_slab(): the grace period ended, the pages go."""
        del self.rcu_free_slabs[slab.pfn]
        self._free_slab_pages(slab)

    def rcu_free_pages(self, reclaimable: bool) -> int:
        """Pages of slabs waiting for their grace period (still NR_SLAB_RECLAIMABLE_B or
        NR_SLAB_UNRECLAIMABLE_B: __free_slab() unaccounts them)."""
        return sum(1 << sl.order for sl in self.rcu_free_slabs.values()
                   if bool(sl.cache.flags & geo.SLAB_RECLAIM_ACCOUNT) == reclaimable)

    def _count_free(self, s: KmemCache, head: int) -> int:
        n = 0
        while head:
            n += 1
            head = self.get_freepointer(s, head)
        return n

    # ================================================================ alloc
    def slab_alloc(self, s: KmemCache, gfp: int, orig_size: int) -> int:
        """slab_alloc_node(): the CPU freelist head, else ___slab_alloc()."""
        self.k.sched.might_alloc(gfp, "slab_alloc")  # slab_pre_alloc_hook()
        if self.should_failslab is not None and self.should_failslab(s, gfp):
            return 0  # slab_pre_alloc_hook() -> NULL: no slab_out_of_memory report
        if self.nmi_probe is not None:
            self.nmi_probe("slab_alloc")
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
        list, the node partial list, or a new slab.  The CPU slab's lock is held while it
        looks at the CPU slab and the CPU partial list (local_lock_cpu_slab())."""
        key = ("cpu_slab", id(s), self.k.cpu)
        self.locks_held.add(key)
        try:
            if self.nmi_probe is not None:
                self.nmi_probe("___slab_alloc")
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
        finally:
            self.locks_held.discard(key)
        allow_spin = bool(gfp & self.bits.reclaim)  # gfpflags_allow_spinning()
        slab = None
        if allow_spin or ("list_lock", id(s)) not in self.locks_held:  # spin_trylock_irqsave(&n->list_lock)
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
            old, old_fl = c.slab, c.freelist
            c.slab, c.freelist = None, 0
            if allow_spin:
                self._deactivate_slab(s, old, old_fl)
            else:
                # "Reentrant slub cannot take locks, defer": defer_deactivate_slab(), by irq_work
                old.where = "deferred"
                self.k.sched.irq_work_queue(lambda: self._deactivate_slab(s, old, old_fl))
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
        more onto the CPU partial list (under the node's list_lock)."""
        key = ("list_lock", id(s))
        self.locks_held.add(key)
        try:
            if self.nmi_probe is not None:
                self.nmi_probe("get_partial_node")
            return self._get_partial_locked(s, c)
        finally:
            self.locks_held.discard(key)

    def _get_partial_locked(self, s: KmemCache, c: KmemCacheCpu) -> Slab | None:
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
        if drain and self.nmi_probe is not None:  # local_lock_cpu_slab() of a free
            key = ("cpu_slab", id(s), self.k.cpu)
            self.locks_held.add(key)
            try:
                self.nmi_probe("put_cpu_partial")
            finally:
                self.locks_held.discard(key)
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
        if self.nmi_probe is not None:
            self.nmi_probe("slab_free")
        if s.debug:
            self._free_to_partial_list(s, slab, obj)  # a slab waiting for RCU: "Object already free"
            return
        if slab.where == "rcu_free":
            # every object of a discarded slab is free: this is a double free, which the kernel
            # writes into a slab it has let go of without noticing; the model drops it
            self.stale_frees += 1
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

    # ================================================================ bulk frees (no trace event)
    def _untraced(self, cause: str, obj: int, s: KmemCache | None) -> None:
        self.untraced_frees[cause] += 1
        for hook in self.untraced_free_hooks:
            hook(cause, obj, s)

    def kmem_cache_free_bulk(self, s: KmemCache | None, objects: Iterable[int], *,
                             cause: str = "kmem_cache_free_bulk") -> None:
        """kmem_cache_free_bulk(s, size, p): free the objects of ``p`` (a list of addresses) as
        6.18 does: build_detached_freelist() takes the last object, then the objects of the same
        slab among the others (looking at most 3 other slabs' objects ahead), and frees each such
        group with one do_slab_free(); ``s`` None is kfree_bulk() (each object's own cache; a large
        kmalloc goes back to the page allocator).  No kmem_cache_free/kfree event is traced."""
        k = self.k
        if s is not None and (not isinstance(s, KmemCache) or s not in self.caches):
            raise UsageError(f"kmem_cache_free_bulk: {s!r} is not a live cache made by kmem_cache_create()")
        if isinstance(objects, (str, bytes)) or not isinstance(objects, Iterable):
            raise UsageError(f"kmem_cache_free_bulk: {objects!r} is not a list of object addresses")
        p = list(objects)
        for x in p:
            if isinstance(x, bool) or not isinstance(x, int) or x <= ZERO_SIZE_PTR:
                raise UsageError(f"kmem_cache_free_bulk: {x!r} is not an object address")
        size = len(p)
        while size:
            size -= 1
            obj = p[size]
            slab, _ = self.object_of(obj)
            if slab is None:
                if s is None:  # free_large_kmalloc()
                    order = k.slab.large.pop(obj, None)
                    if order is None:
                        k.report.warn_once("free_large_kmalloc", "mm/slub.c:6760 free_large_kmalloc+0x0/0x0")
                        continue
                    self._untraced(cause, obj, None)
                    k.page_alloc.free((obj - k.layout.page_offset) >> k.page_shift, order)
                    continue
                k.report.warn_once("virt_to_cache", "mm/slub.c:6717 kmem_cache_free_bulk+0x0/0x0",
                                   "virt_to_cache: Object is not a Slab page!")
                continue
            cache = slab.cache
            if s is not None and cache is not s and (self.hardened or s.flags & geo.SLAB_CONSISTENCY_CHECKS):
                k.report.warn("mm/slub.c:6731 kmem_cache_free_bulk+0x0/0x0",
                              f"cache_from_obj: Wrong slab cache. {s.name} but object is from {cache.name}")
            group = [obj]
            lookahead = 3
            same = size
            while size:
                size -= 1
                o = p[size]
                if self.object_of(o)[0] is slab:
                    group.append(o)
                    same -= 1
                    if size != same:
                        p[size], p[same] = p[same], p[size]
                    continue
                lookahead -= 1
                if not lookahead:
                    break
            size = same
            # one detached freelist, head (the last added) to tail (obj): freeing tail first and the
            # head last leaves the same list the kernel's single do_slab_free() does
            for o in group:
                self._untraced(cause, o, cache)
                self.slab_free(cache, slab, o)

    def kfree_bulk(self, objects: Iterable[int]) -> None:
        """kfree_bulk(size, p) = kmem_cache_free_bulk(NULL, size, p)."""
        self.kmem_cache_free_bulk(None, objects, cause="kfree_bulk")

    # ================================================================ kmalloc_nolock / kfree_nolock
    def kmalloc_nolock(self, size: int, gfp_mask: int = 0, node: int = -1) -> int:
        """kmalloc_nolock(size, gfp, node) (6.18): kmalloc from any context, NMIs included, taking
        no lock it would have to wait for: ``gfp`` is 0 or __GFP_ACCOUNT/__GFP_ZERO/__GFP_NO_OBJ_EXT;
        a bucket whose CPU slab lock the interrupted code holds is busy (-EBUSY) and the next
        bucket is tried once; no might_sleep, no failslab, no trace event.  NULL (0) above 8 KiB."""
        k = self.k
        b = self.bits
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise UsageError(f"kmalloc_nolock: size {size!r} must be a non-negative int")
        if node not in (-1, 0):
            raise UsageError(f"kmalloc_nolock: node {node} does not exist (this machine has node 0)")
        if gfp_mask & ~(b.account | b.zero | b.no_obj_ext):
            # VM_WARN_ON_ONCE(gfp_flags & ~(__GFP_ACCOUNT | __GFP_ZERO | __GFP_NO_OBJ_EXT))
            raise UsageError(f"kmalloc_nolock: gfp {k.gfp.format(gfp_mask)} has flags other than "
                             "__GFP_ACCOUNT, __GFP_ZERO and __GFP_NO_OBJ_EXT")
        if size == 0:
            return ZERO_SIZE_PTR
        alloc_gfp = b.nowarn | b.nomemalloc | gfp_mask
        can_retry = True
        while True:
            if size > geo.KMALLOC_MAX_CACHE_SIZE:
                return 0
            s = k.slab.kmalloc_cache_for(size, alloc_gfp)
            locked = ("cpu_slab", id(s), k.cpu) in self.locks_held  # local_lock_is_locked(&s->cpu_slab->lock)
            obj = EBUSY if k.sched.in_nmi() and locked else self._slab_alloc_nolock(s, alloc_gfp, size, locked)
            if obj == EBUSY:
                self.nolock_stats["ebusy"] += 1
                if can_retry:
                    size = s.object_size + 1  # pick the next kmalloc bucket
                    can_retry = False
                    continue
                return 0
            if obj:
                self.untraced_allocs["kmalloc_nolock"] += 1
                if gfp_mask & b.zero:
                    k.phys.fill(obj - k.layout.page_offset, 0, s.object_size)
            return obj

    def _slab_alloc_nolock(self, s: KmemCache, gfp: int, orig_size: int, locked: bool) -> int:
        """__slab_alloc_node() without slab_pre_alloc_hook(): the lockless fast path, else
        __slab_alloc(), which is -EBUSY while the CPU slab's lock is taken."""
        c = s.cpu_slab[self.k.cpu]
        obj = c.freelist
        if obj and c.slab is not None and not s.debug:
            c.freelist = self.get_freepointer(s, obj)
            return obj
        if locked:
            return EBUSY
        if s.debug:
            return self._debug_alloc(s, gfp, orig_size)
        return self._slab_alloc_slow(s, gfp, c)

    def kfree_nolock(self, obj: int) -> None:
        """kfree_nolock(p) (6.18), for objects of kmalloc_nolock(): onto the CPU freelist when
        the object is of the CPU slab and its lock is free; else defer_free(): the object waits
        on a per-CPU list for irq_work (free_deferred_objects() -> __slab_free()).  No trace."""
        k = self.k
        if isinstance(obj, bool) or not isinstance(obj, int):
            raise UsageError(f"kfree_nolock: {obj!r} is not an address")
        if obj <= ZERO_SIZE_PTR:
            return
        slab, _ = self.object_of(obj)
        if slab is None:
            k.report.warn_once("kfree_nolock large", "mm/slub.c:6874 kfree_nolock+0x0/0x0",
                               "large_kmalloc is not supported by kfree_nolock()")
            return
        s = slab.cache
        self._untraced("kfree_nolock", obj, s)
        c = s.cpu_slab[k.cpu]
        locked = ("cpu_slab", id(s), k.cpu) in self.locks_held
        if slab is not c.slab or (k.sched.in_nmi() and locked):
            self.nolock_stats["deferred"] += 1
            self._defer_free(s, obj)
            return
        self.set_freepointer(s, obj, c.freelist)
        c.freelist = obj

    def _defer_free(self, s: KmemCache, obj: int) -> None:
        """defer_free(): llist_add(obj + s->offset) -- the link is written in the object's free
        pointer word, raw -- and irq_work_queue() for the first one."""
        k = self.k
        lst = self.deferred[k.cpu]
        at = obj + s.offset
        nxt = lst[-1][1] + lst[-1][0].offset if lst else 0
        k.phys.write(at - k.layout.page_offset, nxt.to_bytes(self.word, "little"))
        lst.append((s, obj))
        if len(lst) == 1:
            cpu = k.cpu
            k.sched.irq_work_queue(lambda: self._free_deferred_objects(cpu))

    def _free_deferred_objects(self, cpu: int) -> None:
        """free_deferred_objects(): each object's free pointer set to NULL, then __slab_free()."""
        lst, self.deferred[cpu] = self.deferred[cpu], []
        for s, obj in reversed(lst):  # llist_del_all(): the newest first
            slab, _ = self.object_of(obj)
            if slab is None:
                continue
            self.set_freepointer(s, obj, 0)
            if s.debug:
                self._free_to_partial_list(s, slab, obj)
            else:
                self._slab_free_slow(s, slab, obj, s.cpu_slab[self.k.cpu])

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
        """The cache's slabs (not those waiting for an RCU grace period to free their pages)."""
        seen = {id(sl): sl for sl in self.slab_of.values() if sl.cache is s and sl.where != "rcu_free"}
        return list(seen.values())

    # ================================================================ invariants
    def check(self) -> None:
        """Every invariant; raises :class:`InvariantError` naming the first problems."""
        errs = self.problems()
        if errs:
            raise InvariantError("slub", "; ".join(errs[:5]))
        self.kfree_rcu_impl.check()

    # ================================================================ kfree_rcu (the API)
    def _rcu_target(self, ptr: int, what: str) -> None:
        k = self.k
        if isinstance(ptr, bool) or not isinstance(ptr, int):
            raise UsageError(f"{what}: {ptr!r} is not an address")
        if self.object_of(ptr)[0] is None and ptr not in k.slab.large and not k.is_vmalloc_addr(ptr):
            raise UsageError(f"{what}: {ptr:#x} is no object of kmalloc, kmem_cache_alloc, kvmalloc or vmalloc")

    def kfree_rcu(self, ptr: int, offset: int = 0) -> None:
        """kfree_rcu(ptr, rhf): free the object after an RCU grace period; ``offset`` is the
        place of its struct rcu_head (offsetof(typeof(*ptr), rhf), below 4096).  Any context;
        no trace event for the free, which 6.18 batches (kmemsim.mm.slub.KfreeRcu)."""
        if ptr == 0:
            return
        self._rcu_target(ptr, "kfree_rcu")
        w = self.word
        if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset < 4096 or offset % w:
            raise UsageError(f"kfree_rcu: offset {offset!r} of the rcu_head must be a multiple of {w} below "
                             "4096 (BUILD_BUG_ON(offsetof(...) >= 4096))")
        slab, start = self.object_of(ptr)
        if slab is not None and offset + 2 * w > slab.cache.object_size:
            raise UsageError(f"kfree_rcu: an rcu_head at {offset} does not fit in a {slab.cache.object_size}-byte "
                             f"object of {slab.cache.name}")
        self.kfree_rcu_impl.kvfree_call_rcu(ptr, offset)

    def kvfree_rcu(self, ptr: int) -> None:
        """kvfree_rcu(ptr) / kvfree_rcu_mightsleep(ptr): the head-less form, which may sleep: a
        new page for the pointers, or a grace period waited for here and the free done at once."""
        if ptr == 0:
            return
        self._rcu_target(ptr, "kvfree_rcu")
        self.kfree_rcu_impl.kvfree_call_rcu(ptr, None)

    def kvfree_rcu_barrier(self) -> None:
        """kvfree_rcu_barrier(): wait until every kfree_rcu()/kvfree_rcu() so far has freed."""
        self.kfree_rcu_impl.kvfree_rcu_barrier()

    def problems(self) -> list[str]:
        """Every broken invariant, as text (empty: consistent)."""
        errs: list[str] = []
        for pfn, sl in self.rcu_free_slabs.items():
            if sl.where != "rcu_free" or sl.pfn != pfn or not sl.cache.flags & geo.SLAB_TYPESAFE_BY_RCU:
                errs.append(f"{sl} waits for RCU but is not a discarded SLAB_TYPESAFE_BY_RCU slab")
            elif self.k.page_alloc.head_of(pfn) != pfn or self.slab_of.get(pfn) is not sl:
                errs.append(f"{sl} waits for RCU but its pages are not its own")
        pending = sum(len(d) for d in self.deferred)
        if pending and not self.k.sched.irq_work:
            errs.append(f"{pending} objects wait for defer_free()'s irq_work, which is not queued")
        # every cache's slabs (those of self.slabs(s)), from one pass over the pages
        by_cache: dict[int, dict[int, Slab]] = {}
        for sl in self.slab_of.values():
            if sl.where != "rcu_free":
                d = by_cache.get(id(sl.cache))
                if d is None:
                    d = by_cache[id(sl.cache)] = {}
                d[id(sl)] = sl
        for s in self.caches:
            slabs = list(by_cache.get(id(s), {}).values())
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
        """Walk a freelist, checking each pointer lies on an object of ``slab``; stop on a cycle.

        The common case first, without a set of the objects seen: a slab whose free pointers
        are all whole words of lowmem (read as get_freepointer() reads them) and a list that
        ends within ``slab.objects`` steps, each on an object.  A list that does not (it
        leaves the slab's objects, or is longer: it has a cycle) is walked again by
        :meth:`_walk_checked`, which names the first bad pointer; both read the same words
        in the same order, so they touch the same frames."""
        if not head:
            return 0  # an empty list (a full slab)
        size, objects = s.size, slab.objects
        base = slab.addr + s.red_left_pad
        po = self._page_offset
        delta = s.offset - po  # off = head + delta: the free pointer's offset in lowmem
        first, start = base + delta, head
        if first >= 0 and first + (objects - 1) * size < self._lowmem and not (first | size) % self.word:
            span = objects * size
            get_word, frames, frame, swab = self._get_word, self._frames, self.k.phys.frame, self._swab
            shift, mask, hardened, rnd, sc = self._page_shift, self._page_mask, self.hardened, s.random, self.swab_cache
            n = 0
            while head:
                d = head - base
                if n == objects or not 0 <= d < span or d % size:
                    break
                n += 1
                off = head + delta
                head = get_word(frames.get(off >> shift) or frame(off >> shift), off & mask)[0]
                if hardened:
                    head ^= rnd ^ (sc.get(off + po) or swab(off + po))
            else:
                return n
        return self._walk_checked(s, slab, start, errs, what)

    def _walk_checked(self, s: KmemCache, slab: Slab, head: int, errs: list[str], what: str) -> int:
        """:meth:`_walk` of any list: every pointer checked against the objects seen."""
        if not head:
            return 0  # an empty list (a full slab)
        seen = set()
        n = 0
        size = s.size
        base = slab.addr + s.red_left_pad
        end = base + slab.objects * size
        # get_freepointer(), its common case inline: a word inside one lowmem frame
        get_freepointer, get_word, frames, frame = self.get_freepointer, self._get_word, self._frames, self.k.phys.frame
        po, lowmem, shift, mask, limit = self._page_offset, self._lowmem, self._page_shift, self._page_mask, \
            self._word_limit
        off_s, hardened, rnd, sc = s.offset, self.hardened, s.random, self.swab_cache
        while head:
            if head in seen:
                errs.append(f"{s.name}: {what} of {slab} has a cycle at {head:#x}")
                return n
            if not (base <= head < end) or (head - base) % size:
                errs.append(f"{s.name}: {what} of {slab} points outside its objects: {head:#x}")
                return n
            seen.add(head)
            n += 1
            addr = head + off_s
            off = addr - po
            if 0 <= off < lowmem and (off & mask) <= limit:
                head = get_word(frames.get(off >> shift) or frame(off >> shift), off & mask)[0]
                if hardened:
                    head ^= rnd ^ (sc.get(addr) or self._swab(addr))
            else:
                head = get_freepointer(s, head)
        return n


# ===================================================================== kfree_rcu() batching
KFREE_N_BATCHES = 2
FREE_N_CHANNELS = 2
RCU_MIN_CACHED_OBJS = 5  # rcu_min_cached_objs (module_param)
RCU_DELAY_PAGE_CACHE_FILL_MSEC = 5000


class Bnode(Record, eq=False):
    """struct kvfree_rcu_bulk_data: one page of pointers waiting for a grace period."""

    __match_args__ = ("page", "records", "gp_snap")

    page: int  # the page's address (__get_free_page())
    records: list[int]
    gp_snap: int = 0  # get_state_synchronize_rcu_full() at the last record

    def __init__(self, page: int, records: list[int] | None = None, gp_snap: int = 0) -> None:
        vars(self).update(page=page, records=[] if records is None else records, gp_snap=gp_snap)


class KfreeRcuCpuWork(Record, eq=False):
    """struct kfree_rcu_cpu_work: one batch waiting for its grace period (queue_rcu_work())."""

    __match_args__ = ("rcu_work", "bulk_head_free", "head_free", "head_free_gp_snap")

    rcu_work: Any
    bulk_head_free: list[list[Bnode]]
    head_free: list[tuple[int, int]]  # (ptr, rcu_head offset), newest first
    head_free_gp_snap: int = 0

    def __init__(self, rcu_work: Any, bulk_head_free: list[list[Bnode]] | None = None,
                 head_free: list[tuple[int, int]] | None = None, head_free_gp_snap: int = 0) -> None:
        vars(self).update(rcu_work=rcu_work, bulk_head_free=[[], []] if bulk_head_free is None else bulk_head_free,
                          head_free=[] if head_free is None else head_free, head_free_gp_snap=head_free_gp_snap)


class KfreeRcuCpu(Record, eq=False):
    """struct kfree_rcu_cpu: a CPU's kfree_rcu() objects not yet in a batch."""

    __match_args__ = ("cpu", "bulk_head", "bulk_count", "head", "head_gp_snap", "krw_arr", "monitor_work",
                       "page_cache_work", "work_in_progress", "backoff_page_cache_fill", "bkvcache")

    cpu: int
    bulk_head: list[list[Bnode]]  # newest page first
    bulk_count: list[int]
    head: list[tuple[int, int]]  # channel 3: (ptr, offset), newest first
    head_gp_snap: int = 0
    krw_arr: list[KfreeRcuCpuWork]
    monitor_work: Any = None
    page_cache_work: Any = None
    work_in_progress: bool = False
    backoff_page_cache_fill: bool = False
    bkvcache: list[int]  # cached pages for bnodes

    def __init__(self, cpu: int, bulk_head: list[list[Bnode]] | None = None, bulk_count: list[int] | None = None,
                 head: list[tuple[int, int]] | None = None, head_gp_snap: int = 0,
                 krw_arr: list[KfreeRcuCpuWork] | None = None, monitor_work: Any = None, page_cache_work: Any = None,
                 work_in_progress: bool = False, backoff_page_cache_fill: bool = False,
                 bkvcache: list[int] | None = None) -> None:
        vars(self).update(cpu=cpu, bulk_head=[[], []] if bulk_head is None else bulk_head,
                          bulk_count=[0, 0] if bulk_count is None else bulk_count, head=[] if head is None else head,
                          head_gp_snap=head_gp_snap, krw_arr=[] if krw_arr is None else krw_arr,
                          monitor_work=monitor_work, page_cache_work=page_cache_work,
                          work_in_progress=work_in_progress, backoff_page_cache_fill=backoff_page_cache_fill,
                          bkvcache=[] if bkvcache is None else bkvcache)

    def count(self) -> int:
        """krc_count()."""
        return len(self.head) + sum(self.bulk_count)


class KfreeRcu:
    """kfree_rcu()/kvfree_rcu() as 6.18 batches them (mm/slab_common.c, CONFIG_KVFREE_RCU_BATCHED,
    the reference host's config).

    kvfree_call_rcu() puts the pointer on this CPU's page of pointers (a ``Bnode``, one page from
    the page allocator holding KVFREE_BULK_MAX_ENTR pointers: 507 on x86_64, 1019 on i386;
    channel 1 for slab objects, 2 for vmalloc ones).  With an rcu_head (kfree_rcu(p, rhf),
    ``offset`` its place in the object) no page is allocated on the spot: without a cached page
    the object goes on the rcu_head list (channel 3, the head written into the object) and the
    page-cache work fills the cache (5 pages).  Without one (kvfree_rcu(p), may sleep) a page is
    allocated, and if that fails the caller waits for a grace period and frees at once.

    The monitor work (a delayed work on the "kvfree_rcu_reclaim" workqueue) runs
    KFREE_DRAIN_JIFFIES (5 s) after the first object, or one jiffy once a page is full: it frees
    what a grace period already covers, then hands the rest to one of two batches
    (queue_rcu_work(): a grace period, then kfree_rcu_work() in the workqueue's worker).  The
    pages are freed with kfree_bulk() -- no kfree event is traced (Slub.untraced_frees counts
    them as "kfree_rcu") -- and vmalloc pointers with vfree(); the rcu_head list with kvfree(),
    which traces kfree.  kvfree_rcu_barrier() (kmem_cache_destroy() calls it first) flushes it
    all.  Not modelled: the sheaves path (kfree_rcu_sheaf(), for caches with sheaves), the
    shrinker, CONFIG_DEBUG_OBJECTS_RCU_HEAD's double-call check.
    """

    def __init__(self, slub: Slub):
        self.slub = slub
        self.k = k = slub.k
        word = slub.word
        # (PAGE_SIZE - sizeof(struct kvfree_rcu_bulk_data)) / sizeof(void *): list_head (2 words),
        # struct rcu_gp_oldstate (2 words), nr_records (1 word)
        self.bulk_max_entr = (k.page_size - 5 * word) // word
        self.drain_jiffies = 5 * k.profile.hz  # KFREE_DRAIN_JIFFIES
        sched = k.sched
        self.wq = sched.alloc_workqueue("kvfree_rcu_reclaim", WQ_UNBOUND | WQ_MEM_RECLAIM)
        self.highpri_wq = sched.alloc_workqueue("events_highpri", WQ_HIGHPRI)  # system_highpri_wq
        self.krc: list[KfreeRcuCpu] = []
        for cpu in range(len(k.cpus)):
            krcp = KfreeRcuCpu(cpu)
            for _ in range(KFREE_N_BATCHES):
                krwp = KfreeRcuCpuWork(rcu_work=None)
                krwp.rcu_work = RcuWork(sched.init_work(self._kfree_rcu_work, krwp))
                krcp.krw_arr.append(krwp)
            krcp.monitor_work = sched.init_delayed_work(self._kfree_rcu_monitor, krcp)
            krcp.page_cache_work = sched.init_delayed_work(self._fill_page_cache_func, krcp)
            self.krc.append(krcp)
        #: objects queued, freed in bulk (untraced), freed from the rcu_head list (traced kfree),
        #: freed at once after synchronize_rcu() (headless, no page)
        self.stats = {"queued": 0, "bulk_freed": 0, "list_freed": 0, "inline_freed": 0, "pages": 0}

    # ------------------------------------------------------------------ helpers
    def _page_gfp(self) -> int:
        b = self.slub.bits
        return b.kernel | b.noretry | b.nomemalloc | b.nowarn  # GFP_KERNEL | __GFP_NORETRY | ...

    def _get_page(self) -> int:
        """__get_free_page(GFP_KERNEL | __GFP_NORETRY | __GFP_NOMEMALLOC | __GFP_NOWARN)."""
        k = self.k
        pfn = k.page_alloc.alloc(self._page_gfp(), 0)
        if pfn < 0:
            return 0
        self.stats["pages"] += 1
        return k.layout.page_offset + (pfn << k.page_shift)

    def _free_page(self, addr: int) -> None:
        k = self.k
        self.stats["pages"] -= 1
        k.page_alloc.free((addr - k.layout.page_offset) >> k.page_shift, 0)

    def _rcu(self) -> Any:
        return self.k.sched.rcu

    def need_offload_krc(self, krcp: KfreeRcuCpu) -> bool:
        return any(krcp.bulk_head) or bool(krcp.head)

    @staticmethod
    def need_wait_for_krwp_work(krwp: KfreeRcuCpuWork) -> bool:
        return any(krwp.bulk_head_free) or bool(krwp.head_free)

    def pending(self) -> int:
        """Objects given to kfree_rcu() and not yet freed."""
        n = sum(krcp.count() for krcp in self.krc)
        for krcp in self.krc:
            for krwp in krcp.krw_arr:
                n += len(krwp.head_free) + sum(len(b.records) for lst in krwp.bulk_head_free for b in lst)
        return n

    # ------------------------------------------------------------------ kvfree_call_rcu()
    def kvfree_call_rcu(self, ptr: int, offset: int | None) -> None:
        """kvfree_call_rcu(head, ptr): ``offset`` is the rcu_head's place in the object (None: the
        head-less kvfree_rcu(ptr), which may sleep)."""
        k = self.k
        if offset is None:
            k.sched.might_sleep_at("mm/slab_common.c", 1973)  # might_sleep()
        krcp = self.krc[k.cpu]
        self.stats["queued"] += 1
        success = self._add_ptr_to_bulk(krcp, ptr, can_alloc=offset is None)
        if not success:
            self._run_page_cache_worker(krcp)
            if offset is None:
                # "Inline kvfree() after synchronize_rcu()": the caller's CPU passes a quiescent state
                self._rcu().synchronize_rcu()
                self.stats["inline_freed"] += 1
                k.util.kvfree(ptr)
                return
            # channel 3: head->func = ptr; head->next = krcp->head (written in the object)
            w = self.slub.word
            head = ptr + offset
            nxt = (krcp.head[0][0] + krcp.head[0][1]) if krcp.head else 0
            k.write(head, nxt.to_bytes(w, "little") + ptr.to_bytes(w, "little"))
            krcp.head.insert(0, (ptr, offset))
            krcp.head_gp_snap = self._rcu().get_state_synchronize_rcu()
        self._schedule_delayed_monitor_work(krcp)

    def _add_ptr_to_bulk(self, krcp: KfreeRcuCpu, ptr: int, can_alloc: bool) -> bool:
        """add_ptr_to_bulk_krc_lock(): onto the CPU's newest page of the channel, a cached page
        or (head-less only) a new one when it is full or missing."""
        idx = 1 if self.k.is_vmalloc_addr(ptr) else 0
        heads = krcp.bulk_head[idx]
        bnode = heads[0] if heads else None
        if bnode is None or len(bnode.records) == self.bulk_max_entr:
            page = krcp.bkvcache.pop(0) if krcp.bkvcache else 0  # get_cached_bnode()
            if not page and can_alloc:
                page = self._get_page()
            if not page:
                return False
            bnode = Bnode(page)
            heads.insert(0, bnode)  # list_add()
        bnode.records.append(ptr)
        bnode.gp_snap = self._rcu().get_state_synchronize_rcu()
        krcp.bulk_count[idx] += 1
        return True

    def _schedule_delayed_monitor_work(self, krcp: KfreeRcuCpu) -> None:
        """__schedule_delayed_monitor_work(): one jiffy once a page's worth waits, else 5 s; an
        armed monitor is only brought forward."""
        sched = self.k.sched
        delay = 1 if krcp.count() >= self.bulk_max_entr else self.drain_jiffies
        mw = krcp.monitor_work
        if sched.delayed_work_pending(mw):
            expires = sched.delayed_work_expires(mw)
            if expires is not None:
                left = (expires - self.k.jiffies) & ((1 << self.k.layout.bits) - 1)
                if delay < left:
                    sched.mod_delayed_work(self.wq, mw, delay)
            return
        sched.queue_delayed_work(self.wq, mw, delay)

    def _run_page_cache_worker(self, krcp: KfreeRcuCpu) -> None:
        """run_page_cache_worker(): fill the page cache from a work (at once through the hrtimer's
        0 ns, or after rcu_delay_page_cache_fill_msec while the shrinker asked to back off)."""
        if krcp.work_in_progress:
            return
        krcp.work_in_progress = True
        sched = self.k.sched
        if krcp.backoff_page_cache_fill:
            sched.queue_delayed_work(self.wq, krcp.page_cache_work,
                                     sched.msecs_to_jiffies(RCU_DELAY_PAGE_CACHE_FILL_MSEC))
        else:
            sched.queue_delayed_work(self.highpri_wq, krcp.page_cache_work, 0)

    def _fill_page_cache_func(self, work: Any) -> None:
        """fill_page_cache_func(): up to rcu_min_cached_objs pages into the CPU's cache."""
        krcp: KfreeRcuCpu = work.data
        nr_pages = 1 if krcp.backoff_page_cache_fill else RCU_MIN_CACHED_OBJS
        for _ in range(len(krcp.bkvcache), nr_pages):
            page = self._get_page()
            if not page:
                break
            if not self._put_cached_bnode(krcp, page):
                self._free_page(page)
                break
        krcp.work_in_progress = False
        krcp.backoff_page_cache_fill = False

    @staticmethod
    def _put_cached_bnode(krcp: KfreeRcuCpu, page: int) -> bool:
        if len(krcp.bkvcache) >= RCU_MIN_CACHED_OBJS:
            return False
        krcp.bkvcache.insert(0, page)
        return True

    # ------------------------------------------------------------------ the monitor and the batches
    def _kfree_rcu_monitor(self, work: Any) -> None:
        """kfree_rcu_monitor(): free what a grace period already covers, batch the rest, and
        come back while something is left."""
        krcp: KfreeRcuCpu = work.data
        self._drain_ready(krcp)
        self._queue_batch(krcp)
        if self.need_offload_krc(krcp):
            self._schedule_delayed_monitor_work(krcp)

    def _drain_ready(self, krcp: KfreeRcuCpu) -> None:
        """kvfree_rcu_drain_ready(): the pages (oldest first) and the rcu_head list whose grace
        period has already passed are freed now."""
        rcu = self._rcu()
        ready: list[list[Bnode]] = [[], []]
        for i in range(FREE_N_CHANNELS):
            for bnode in reversed(list(krcp.bulk_head[i])):
                if not rcu.poll_state_synchronize_rcu(bnode.gp_snap):
                    break
                krcp.bulk_count[i] -= len(bnode.records)
                krcp.bulk_head[i].remove(bnode)
                ready[i].insert(0, bnode)  # list_move() to the head
        head_ready: list[tuple[int, int]] = []
        if krcp.head and rcu.poll_state_synchronize_rcu(krcp.head_gp_snap):
            head_ready, krcp.head = krcp.head, []
        for i in range(FREE_N_CHANNELS):
            for bnode in ready[i]:
                self._kvfree_rcu_bulk(krcp, bnode, i)
        if head_ready:
            self._kvfree_rcu_list(head_ready)

    def _queue_batch(self, krcp: KfreeRcuCpu) -> bool:
        """kvfree_rcu_queue_batch(): hand the CPU's objects to a free batch (both channels and the
        rcu_head list) and queue it after a grace period; False if both batches are busy."""
        rcu = self._rcu()
        for krwp in krcp.krw_arr:
            if self.need_wait_for_krwp_work(krwp):
                continue
            if not self.need_offload_krc(krcp):
                continue
            for j in range(FREE_N_CHANNELS):
                if not krwp.bulk_head_free[j]:
                    krcp.bulk_count[j] = 0
                    krwp.bulk_head_free[j], krcp.bulk_head[j] = krcp.bulk_head[j], []
            if not krwp.head_free:
                krwp.head_free, krcp.head = krcp.head, []
                krwp.head_free_gp_snap = rcu.get_state_synchronize_rcu()
            return self.k.sched.queue_rcu_work(self.wq, krwp.rcu_work)
        return False

    def _kfree_rcu_work(self, work: Any) -> None:
        """kfree_rcu_work(): after the batch's grace period, in the workqueue's worker."""
        krwp: KfreeRcuCpuWork = work.data
        krcp = next(c for c in self.krc if krwp in c.krw_arr)
        bulk_head = krwp.bulk_head_free
        krwp.bulk_head_free = [[], []]
        head, krwp.head_free = krwp.head_free, []
        for i in range(FREE_N_CHANNELS):
            for bnode in bulk_head[i]:
                self._kvfree_rcu_bulk(krcp, bnode, i)
        if head and self._rcu().poll_state_synchronize_rcu(krwp.head_free_gp_snap):
            self._kvfree_rcu_list(head)

    def _kvfree_rcu_bulk(self, krcp: KfreeRcuCpu, bnode: Bnode, idx: int) -> None:
        """kvfree_rcu_bulk(): kfree_bulk() of a slab page's pointers (no trace), vfree() of a
        vmalloc page's; the page back to the cache or the page allocator."""
        k = self.k
        if not self._rcu().poll_state_synchronize_rcu(bnode.gp_snap):
            k.report.warn_once("kvfree_rcu_bulk gp", "mm/slab_common.c:1514 kvfree_rcu_bulk+0x0/0x0")
        else:
            self.stats["bulk_freed"] += len(bnode.records)
            if idx == 0:
                self.slub.kmem_cache_free_bulk(None, bnode.records, cause="kfree_rcu")
            else:
                for ptr in bnode.records:
                    self.slub._untraced("kfree_rcu", ptr, None)
                    k.vmalloc_impl.vfree(ptr)
        if not self._put_cached_bnode(krcp, bnode.page):
            self._free_page(bnode.page)

    def _kvfree_rcu_list(self, head: list[tuple[int, int]]) -> None:
        """kvfree_rcu_list(): kvfree() of each object of the rcu_head list (a traced kfree)."""
        for ptr, _offset in head:
            self.stats["list_freed"] += 1
            self.k.util.kvfree(ptr)

    # ------------------------------------------------------------------ the barrier
    def kvfree_rcu_barrier(self) -> None:
        """kvfree_rcu_barrier(): every kfree_rcu() so far is freed when it returns (each CPU's
        objects batched, the batches' grace periods waited for and their works flushed)."""
        sched = self.k.sched
        for krcp in self.krc:
            if not self.need_offload_krc(krcp):
                continue
            while True:
                queued = self._queue_batch(krcp)
                if queued or not self.need_offload_krc(krcp):
                    break
                for krwp in krcp.krw_arr:
                    sched.flush_rcu_work(krwp.rcu_work)
        for krcp in self.krc:
            sched.cancel_delayed_work_sync(krcp.monitor_work)
            for krwp in krcp.krw_arr:
                sched.flush_rcu_work(krwp.rcu_work)

    def check(self) -> None:
        for krcp in self.krc:
            for i in range(FREE_N_CHANNELS):
                n = sum(len(b.records) for b in krcp.bulk_head[i])
                if n != krcp.bulk_count[i]:
                    raise InvariantError("kfree_rcu", f"cpu{krcp.cpu} channel {i + 1}: bulk_count "
                                         f"{krcp.bulk_count[i]} but {n} pointers on its pages")
                for b in krcp.bulk_head[i]:
                    if not 0 < len(b.records) <= self.bulk_max_entr:
                        raise InvariantError("kfree_rcu", f"cpu{krcp.cpu}: a page with {len(b.records)} pointers")
            if len(krcp.bkvcache) > RCU_MIN_CACHED_OBJS:
                raise InvariantError("kfree_rcu", f"cpu{krcp.cpu}: {len(krcp.bkvcache)} cached pages")
            if self.need_offload_krc(krcp) and not krcp.monitor_work.work.pending \
                    and not krcp.monitor_work.work.running:
                raise InvariantError("kfree_rcu", f"cpu{krcp.cpu}: objects wait and no monitor work is armed")
